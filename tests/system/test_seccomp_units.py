"""systemd 252's seccomp settings through the daemon, on real processes: each
sec-*.service (tests/data/oracle/seccomp-exec/) runs sec-probe.py, which tries what its
setting forbids, and what the probe saw must be what it saw under real systemd 252
(tests/data/oracle/capture-seccomp-exec-252.md, made by capture-seccomp-exec.sh), as must
`show -p Result,ExecMainCode,ExecMainStatus` (sec-deny-kill dies of SIGSYS).

Every check is of something private to the probe (a socket, a mapping, a file it made, the
host name of a UTS namespace it made first), so a filter that fails to load cannot touch
the host.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pidone.linux import seccomp
from pidone.testing.harness import NamespaceDaemon
from tests.cli.oraclecap import DATA, Capture, capture_of

pytestmark = pytest.mark.system

UNIT_DIR = DATA / "seccomp-exec"
UNITS = sorted(p.stem for p in UNIT_DIR.glob("sec-*.service"))
CAPTURE = "capture-seccomp-exec-252.md"
SHOWN = "Result,ExecMainCode,ExecMainStatus"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamespaceDaemon]:
    if not seccomp.available():
        pytest.skip("this kernel or this process cannot load seccomp filters (prctl(2))")
    units = {
        f"{u}.service": (UNIT_DIR / f"{u}.service")
        .read_text()
        .replace("/usr/local/bin/sec-probe.py", "/run/sec-probe.py")
        for u in UNITS
    }
    d = NamespaceDaemon(tmp_path_factory.mktemp("sec"), units, isolated=True)
    try:
        d.__enter__()
        probe = Path(f"/proc/{d.pid1}/root/run/sec-probe.py")
        probe.write_bytes((UNIT_DIR / "sec-probe.py").read_bytes())
        probe.chmod(0o755)
        yield d
    finally:
        d.close()


def _capture(command: str) -> Capture:
    return capture_of(CAPTURE, command)


def _captured(command: str) -> list[str]:
    return _capture(command).stdout.splitlines()


def _probe_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "=" in line and " " not in line]


def test_every_unit_was_captured() -> None:
    assert len(UNITS) >= 21
    for u in UNITS:
        _captured(f"systemctl start {u}.service")


@pytest.mark.parametrize("unit", UNITS)
def test_the_probe_sees_what_252_lets_it_do(daemon: NamespaceDaemon, unit: str) -> None:
    name = f"{unit}.service"
    started = daemon.cli("start", name)
    want_rc = _capture(f"systemctl start {name}").exit_code
    assert started.returncode == want_rc, started.stderr
    seen = daemon.cli("journal", "-u", name, "-o", "cat", "--no-pager").stdout
    want = _captured(f"journalctl -u {name} -o cat --no-pager")
    assert _probe_lines(seen) == _probe_lines("\n".join(want))
    shown = daemon.cli("show", name, "-p", SHOWN).stdout.splitlines()
    assert shown == _captured(f"systemctl show {name} -p {SHOWN}")


def test_a_filtered_command_under_user_gets_no_new_privileges(daemon: NamespaceDaemon) -> None:
    # 252 context_has_no_new_privileges(): seccomp settings and no CAP_SYS_ADMIN left
    daemon.cli("start", "sec-user.service")
    seen = daemon.cli("journal", "-u", "sec-user.service", "-o", "cat", "--no-pager").stdout
    assert "nnp=1" in _probe_lines(seen)
