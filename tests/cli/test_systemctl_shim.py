"""The `systemctl` shim against the real systemctl 252 of this host, which (like pidone with no
daemon) has no manager to talk to: same stdout, stderr and exit code. Plus install-shims."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pidone.cli import shims
from pidone.cli.systemctl import split_verb

SHIM = "import sys; sys.argv[0] = 'systemctl'; from pidone.cli.main import main; sys.exit(main())"


def _real_systemctl() -> str:
    path = shutil.which("systemctl")
    if path is None:
        pytest.skip("systemctl is not installed")
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("this host runs systemd as PID 1: the no-manager answers differ")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A scratch --root tree with one static and one installable unit."""
    etc = tmp_path / "root" / "etc" / "systemd" / "system"
    etc.mkdir(parents=True)
    (etc / "y.service").write_text("[Service]\nExecStart=/bin/true\n")
    (etc / "z.service").write_text(
        "[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n"
    )
    return tmp_path / "root"


def _run(argv: list[str], env: dict[str, str]) -> tuple[str, str, int]:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    return proc.stdout, proc.stderr, proc.returncode


CASES = [
    ["status", "x"],
    ["status"],
    ["is-active", "x"],
    ["is-failed", "x"],
    ["show", "x"],
    ["start", "x"],
    ["stop", "x.service"],
    ["daemon-reload"],
    ["cat", "x"],
    ["list-units"],
    [],
    ["frobnicate"],
    ["is-system-running"],
    ["list-jobs"],
    ["list-dependencies", "x"],
    ["isolate", "rescue.target"],
    ["--root=ROOT", "status", "y"],
    ["--root", "ROOT", "start", "y"],
    ["--root=ROOT", "daemon-reload"],
    ["--root=ROOT", "is-enabled", "y"],
    ["--root=ROOT", "is-enabled", "z.service"],
    ["--root=ROOT", "is-enabled", "nope.service"],
]


@pytest.mark.differential
@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) or "(none)" for c in CASES])
def test_shim_matches_real_systemctl_without_manager(
    args: list[str], root: Path, tmp_path: Path
) -> None:
    real = _real_systemctl()
    argv = [a.replace("ROOT", str(root)) for a in args]
    env = dict(os.environ)
    env["PIDONE_RUNTIME_DIR"] = str(tmp_path / "no-daemon")  # nothing listens there
    env["LANG"] = "C.UTF-8"
    want = _run([real, *argv], env)
    got = _run([sys.executable, "-c", SHIM, *argv], env)
    assert got == want


def test_split_verb_skips_option_values() -> None:
    assert split_verb(["-p", "Id", "show", "x"]) == ("show", ["-p", "Id", "x"])
    assert split_verb(["--no-pager", "status", "-n", "3", "x"]) == (
        "status",
        ["--no-pager", "-n", "3", "x"],
    )
    assert split_verb(["--all"]) == (None, ["--all"])
    assert split_verb(["--root", "/r", "enable", "a"]) == ("enable", ["--root", "/r", "a"])


def test_install_shims_runs_as_systemctl(tmp_path: Path) -> None:
    made = shims.install(str(tmp_path), symlink=False)
    assert sorted(os.path.basename(p) for p in made) == ["journalctl", "systemctl"]
    env = dict(os.environ)
    env["PIDONE_RUNTIME_DIR"] = str(tmp_path / "none")
    out = subprocess.run(
        [str(tmp_path / "bin" / "systemctl"), "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0
    assert out.stdout.startswith("systemd 252 (pidone ")
    # installing again replaces our own shims
    assert shims.install(str(tmp_path), symlink=False) == made


def test_install_shims_links_to_a_compiled_pidone_by_default(tmp_path: Path) -> None:
    """A compiled `pidone` (ELF) gets links, whose job verbs skip the interpreter; a
    script `pidone` gets the Python shims; --script and --symlink override."""
    compiled = tmp_path / "compiled" / "pidone"
    script = tmp_path / "script" / "pidone"
    for path, head in ((compiled, b"\x7fELF\x02\x01\x01"), (script, b"#!/bin/sh\n")):
        path.parent.mkdir()
        path.write_bytes(head)
        path.chmod(0o755)
    shims.install(str(tmp_path / "a"), command=str(compiled))
    link = tmp_path / "a" / "bin" / "systemctl"
    assert link.is_symlink()
    assert os.readlink(link) == str(compiled)
    assert shims.is_shim(str(link))
    shims.install(str(tmp_path / "b"), command=str(script))
    assert not (tmp_path / "b" / "bin" / "systemctl").is_symlink()
    assert shims.MARKER in (tmp_path / "b" / "bin" / "journalctl").read_text()
    shims.install(str(tmp_path / "c"), command=str(compiled), symlink=False)
    assert not (tmp_path / "c" / "bin" / "systemctl").is_symlink()
    shims.install(str(tmp_path / "d"), command=str(script), symlink=True)
    assert os.readlink(tmp_path / "d" / "bin" / "systemctl") == str(script)


def test_install_shims_refuses_foreign_files(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    foreign = tmp_path / "bin" / "systemctl"
    foreign.write_text("#!/bin/sh\necho real\n")
    with pytest.raises(FileExistsError):
        shims.install(str(tmp_path), symlink=False)
    assert foreign.read_text() == "#!/bin/sh\necho real\n"
    assert shims.main(["--prefix", str(tmp_path)]) == 1
    assert shims.remove(str(tmp_path)) == []
    assert foreign.exists()
    shims.install(str(tmp_path), force=True, symlink=False)
    assert shims.is_shim(str(foreign))
    assert sorted(shims.remove(str(tmp_path))) == sorted(
        str(tmp_path / "bin" / n) for n in ("journalctl", "systemctl")
    )


def test_daemon_check_imports_no_socket_or_json(tmp_path: Path) -> None:
    """The shim checks for a daemon before every manager verb: through cli.client, so
    that check costs no `socket`/`json` imports (bench/cli.py, systemctl rows)."""
    import socket

    path = tmp_path / "control.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        listener.listen(4)
        heavy = "{'socket', 'json', 're', 'enum', 'typing'}"
        code = (
            "import sys; from pidone.cli import systemctl; "
            f"print(systemctl.daemon_answers({str(tmp_path)!r}), "
            f"systemctl.daemon_answers({str(tmp_path / 'none')!r}), "
            f"sorted(set(sys.modules) & {heavy}))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": ""},
            timeout=60,
        )
    finally:
        listener.close()
    assert out.stdout.strip() == "True False []"
