"""ProtectKernelTunables=, ProtectKernelModules=, ProtectKernelLogs=, ProtectControlGroups=,
ProtectHostname=, PrivateNetwork=, PrivateDevices=, ProtectProc= and ProcSubset= through
the daemon, on real
processes, against what each command saw under real systemd 252
(tests/data/oracle/capture-sandbox-252.md; the units and their probe in sandbox-units/).

The oracle is a container: its /sys, /proc/sys are read-only and it has no /proc/kcore
whatever the unit says, so those lines are checked here against the unit's settings, and
the others (namespaces, loopback, /sys/fs/cgroup, /proc/kmsg) against 252's lines.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pidone.linux import sandbox
from pidone.testing.harness import NamespaceDaemon
from tests.cli.oraclecap import DATA, read_captures
from tests.core.test_show_sandbox_caps import UNITS  # (every unit the capture ran)

pytestmark = pytest.mark.system

COMPARED = (
    "net=",
    "uts=",
    "links=",
    "mount /sys/fs/cgroup ",
    "kmsg-mode=",
    "proc-opts=",
    "proc-sys-exists=",
)
PROBE = DATA / "sandbox-units" / "sbx-probe.sh"


@pytest.fixture
def daemon(pidone_ns, tmp_path: Path) -> Iterator[NamespaceDaemon]:  # type: ignore[no-untyped-def]
    pidone_ns  # noqa: B018 - its checks (root, unshare, nsenter) skip or pass first
    if not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    units = {
        f"{u}.service": (DATA / "sandbox-units" / f"{u}.service")
        .read_text()
        .replace("/usr/local/bin/sbx-probe.sh", "/run/sbx-probe.sh")
        for u in UNITS
    }
    d = NamespaceDaemon(tmp_path / "sbx", units, isolated=True)
    try:
        d.__enter__()
        # The probe goes to the namespace's own /run (a tmpfs): a checkout under /tmp would
        # be hidden from sbx-dynamic by the PrivateTmp= that DynamicUser= implies.
        run = Path(f"/proc/{d.pid1}/root/run")
        (run / "sbx-probe.sh").write_bytes(PROBE.read_bytes())
        (run / "sbx-probe.sh").chmod(0o755)
        # the probe tells the manager's namespaces from private ones by these
        for kind in ("net", "uts"):
            own = os.readlink(f"/proc/{d.pid1}/ns/{kind}")
            Path(f"/proc/{d.pid1}/root/run/sbx-host-{kind}").write_text(own + "\n")
        yield d
    finally:
        d.close()


def _probe_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "=" in line or line.startswith("mount ")]


def _captured(unit: str) -> list[str]:
    for cap in read_captures("capture-sandbox-252.md"):
        if cap.command == f"journalctl -u {unit}.service -o cat --no-pager":
            return _probe_lines(cap.stdout)
    raise AssertionError(f"no journal capture of {unit}")


def _seen(d: NamespaceDaemon, unit: str) -> list[str]:
    started = d.cli("start", f"{unit}.service")
    assert started.returncode == 0, started.stderr
    out = d.cli("journal", "-u", f"{unit}.service", "-o", "cat", "--no-pager")
    return [line for line in _probe_lines(out.stdout) if "Not enforced" not in line]


@pytest.mark.parametrize("unit", UNITS)
def test_each_command_sees_what_252_gives_it(daemon: NamespaceDaemon, unit: str) -> None:
    seen = _seen(daemon, unit)
    want = _captured(unit)
    assert len(seen) == len(want), seen
    assert [s for s in seen if s.startswith(COMPARED)] == [
        w for w in want if w.startswith(COMPARED)
    ]
    tunables = unit in ("sbx-kernel", "sbx-tunables", "sbx-noaccess")
    as_root = unit not in (
        "sbx-proc",
        "sbx-noaccess",
        "sbx-dynamic",
    )  # (nobody may not write there anyway)
    for line in seen:  # what the container could not show
        if line.startswith("proc-sys=") and as_root:
            assert line == ("proc-sys=read-only" if tunables else "proc-sys=writable")
        if line.startswith(("mount /sys ", "mount /proc/sys ")) and tunables:
            assert line.endswith(" ro")
        if line.startswith("kcore-size=") and tunables:
            assert line in ("kcore-size=0", "kcore-size=")  # hidden, or no /proc/kcore


def test_the_network_namespace_goes_with_the_invocation(daemon: NamespaceDaemon) -> None:
    seen = _seen(daemon, "sbx-netns")
    assert seen.count("net=private") == 3  # ExecStartPre=, the + command, ExecStart=
    daemon.wait_state("sbx-netns.service", "inactive/dead")
    fd_dir = f"/proc/{daemon.pid1}/fd"
    held = [os.readlink(f"{fd_dir}/{fd}") for fd in os.listdir(fd_dir)]
    assert not [link for link in held if link.startswith("net:[")]


def test_status_names_only_what_is_not_enforced(daemon: NamespaceDaemon) -> None:
    _seen(daemon, "sbx-kernel")
    out = daemon.cli("journal", "-u", "sbx-kernel.service", "-o", "cat", "--no-pager").stdout
    # what this machine cannot enforce of sbx-kernel's settings (in the unit's order)
    enforced = sandbox.enforced_keys()
    missing = [f"{k}=yes" for k in ("ProtectKernelLogs", "ProtectClock") if k not in enforced]
    lines = [line for line in out.splitlines() if "Not enforced by pidone" in line]
    if missing:
        assert lines == [f"sbx-kernel.service: Not enforced by pidone: {', '.join(missing)}"]
    else:  # (seccomp, BPF device programs and the namespaces all available: nothing)
        assert lines == []
