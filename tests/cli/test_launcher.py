"""bin/pidone (sh) + bin/pidone-py: `python -IS`, and the package found without `site`.

Each test lays out an installation prefix as pip would (PREFIX/bin with the two scripts,
pidone-py's `#!python` rewritten to this interpreter; PREFIX/lib/pythonX.Y/site-packages)
and runs the real scripts.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import pidone

REPO_BIN = Path(__file__).resolve().parents[2] / "bin"
PACKAGE = Path(pidone.__file__).resolve().parent  # .../pidone
SITE = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"


def _prefix(tmp_path: Path) -> Path:
    """PREFIX/bin/{pidone,pidone-py} as pip installs them; an empty site-packages."""
    if shutil.which("sh") is None:
        pytest.skip("no /bin/sh")
    bindir = tmp_path / "prefix" / "bin"
    bindir.mkdir(parents=True)
    shutil.copy(REPO_BIN / "pidone", bindir / "pidone")
    text = (REPO_BIN / "pidone-py").read_text()
    assert text.startswith("#!python\n")
    (bindir / "pidone-py").write_text(f"#!{sys.executable}\n" + text.partition("\n")[2])
    for name in ("pidone", "pidone-py"):
        (bindir / name).chmod(0o755)
    (tmp_path / "prefix" / SITE).mkdir(parents=True)
    return tmp_path / "prefix"


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, env=env, **kw
    )  # type: ignore[call-overload]


def _imports(prefix: Path, *args: str) -> set[str]:
    """Modules imported by pidone-py run as bin/pidone runs it (`-X importtime`)."""
    helper = str(prefix / "bin" / "pidone-py")
    launched = f"--launched-as={prefix}/bin/pidone"
    done = _run([sys.executable, "-IS", "-X", "importtime", helper, launched, *args])
    return {
        line.rpartition("|")[2].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_regular_install_runs_without_site_and_finds_the_package(tmp_path: Path) -> None:
    prefix = _prefix(tmp_path)
    (prefix / SITE / "pidone").symlink_to(PACKAGE)
    done = _run([str(prefix / "bin" / "pidone"), "--version"])
    assert (done.returncode, done.stdout) == (0, f"pidone {pidone.__version__}\n")
    # a job verb: the real CLI path, up to the (failing) connect
    done = _run([str(prefix / "bin" / "pidone"), "start", "--runtime-dir", "/nonexistent", "x"])
    assert done.returncode == 1
    assert done.stderr == (
        "Failed to connect to pidone at /nonexistent/control.sock: No such file or directory\n"
    )
    imported = _imports(prefix, "start", "--runtime-dir", "/nonexistent", "x")
    assert "pidone.cli.jobs" in imported
    # no `site` (so no .pth files), and the job verbs load neither os nor socket nor json
    assert imported & {"site", "os", "socket", "json", "_distutils_hack"} == set()


def test_the_cli_process_is_the_interpreter_with_IS(tmp_path: Path) -> None:
    """What talks to the daemon is `PYTHON -IS PREFIX/bin/pidone-py --launched-as=...`
    (one exec after sh): the peer of the control socket, by SO_PEERCRED, says so."""
    prefix = _prefix(tmp_path)
    (prefix / SITE / "pidone").symlink_to(PACKAGE)
    runtime = tmp_path / "run"
    runtime.mkdir()
    seen: list[list[bytes]] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(runtime / "control.sock"))
        listener.listen(1)
        listener.settimeout(60)

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
                pid = struct.unpack("3i", creds)[0]
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    seen.append(f.read().split(b"\0")[:-1])

        thread = threading.Thread(target=serve)
        thread.start()
        done = _run([str(prefix / "bin" / "pidone"), "start", "--runtime-dir", str(runtime), "x"])
        thread.join(60)
    assert done.returncode == 1  # the listener hung up without a reply
    assert seen == [
        [
            sys.executable.encode(),
            b"-IS",
            str(prefix / "bin" / "pidone-py").encode(),
            f"--launched-as={prefix}/bin/pidone".encode(),
            b"start",
            b"--runtime-dir",
            str(runtime).encode(),
            b"x",
        ]
    ]


def test_job_verb_output_and_status_survive_the_fast_exit(tmp_path: Path) -> None:
    """pidone-py ends a job verb with _exit(2) after flushing: every line the daemon sent
    reaches the (buffered, piped) stderr, and the exit status is the daemon's."""
    from pidone.cli import client

    prefix = _prefix(tmp_path)
    (prefix / SITE / "pidone").symlink_to(PACKAGE)
    runtime = tmp_path / "run"
    runtime.mkdir()
    lines = [f"line {i}: " + "x" * 200 for i in range(50)]  # > one pipe buffer chunk of text
    reply = {"results": [{"unit": "x.service", "lines": lines, "exit_code": 5}]}

    def frame(obj: object) -> bytes:
        body = client.dumps(obj).encode()
        return len(body).to_bytes(4, "big") + body

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(runtime / "control.sock"))
        listener.listen(1)
        listener.settimeout(60)

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)  # hello + request, one write (cli/client.py)
                conn.sendall(
                    frame({"type": "hello", "version": 1, "software": "t"})
                    + frame({"type": "response", "id": 1, "ok": True, "result": reply})
                )

        thread = threading.Thread(target=serve)
        thread.start()
        done = _run([str(prefix / "bin" / "pidone"), "start", "--runtime-dir", str(runtime), "x"])
        thread.join(60)
    assert done.returncode == 5
    assert done.stderr == "".join(line + "\n" for line in lines)


def test_editable_install_reads_its_pth(tmp_path: Path) -> None:
    prefix = _prefix(tmp_path)
    (prefix / SITE / "__editable__.pidone-0.1.0.pth").write_text(f"{PACKAGE.parent}\n")
    done = _run([str(prefix / "bin" / "pidone"), "--version"], cwd=str(tmp_path))
    assert (done.returncode, done.stdout) == (0, f"pidone {pidone.__version__}\n")
    assert "site" not in _imports(prefix, "--version")


def test_editable_finder_line_is_run(tmp_path: Path) -> None:
    """setuptools' strict editable mode: the .pth holds an `import` line installing a finder."""
    prefix = _prefix(tmp_path)
    (prefix / SITE / "__editable___pidone_finder.py").write_text(
        f"import sys\ndef install():\n    sys.path.append({str(PACKAGE.parent)!r})\n"
    )
    (prefix / SITE / "__editable__.pidone-0.1.0.pth").write_text(
        "import __editable___pidone_finder; __editable___pidone_finder.install()\n"
    )
    done = _run([str(prefix / "bin" / "pidone"), "--version"])
    assert (done.returncode, done.stdout) == (0, f"pidone {pidone.__version__}\n")


def test_symlink_keeps_its_name_for_argv0_dispatch(tmp_path: Path) -> None:
    """`install-shims --symlink`: systemctl -> pidone, run from elsewhere, is systemctl."""
    prefix = _prefix(tmp_path)
    (prefix / SITE / "pidone").symlink_to(PACKAGE)
    other = tmp_path / "other"
    other.mkdir()
    (other / "systemctl").symlink_to(prefix / "bin" / "pidone")
    done = _run([str(other / "systemctl"), "--version"])
    assert done.returncode == 0
    assert done.stdout.startswith(f"systemd 252 (pidone {pidone.__version__})")


def test_unknown_layout_falls_back_to_site(tmp_path: Path) -> None:
    """Nothing under PREFIX/lib: `site` runs, and finds pidone where this interpreter has it."""
    prefix = _prefix(tmp_path)
    shutil.rmtree(prefix / "lib")
    done = _run([str(prefix / "bin" / "pidone"), "--version"])
    if done.returncode != 0 and "No module named 'pidone'" in done.stderr:
        pytest.skip("this interpreter has no installed pidone (run from a plain source tree)")
    assert (done.returncode, done.stdout) == (0, f"pidone {pidone.__version__}\n")


def test_source_checkout_runs_its_own_tree(tmp_path: Path) -> None:
    """bin/pidone of a checkout (pidone-py still says `#!python`): python3 with ../src."""
    python3 = shutil.which("python3")
    if python3 is None:
        pytest.skip("no python3 on PATH")
    tree = tmp_path / "checkout"
    (tree / "bin").mkdir(parents=True)
    for name in ("pidone", "pidone-py"):
        shutil.copy(REPO_BIN / name, tree / "bin" / name)
    # the checkout's own package, told apart from any installed one by its version
    shutil.copytree(PACKAGE, tree / "src" / "pidone", ignore=shutil.ignore_patterns("__pycache__"))
    init = tree / "src" / "pidone" / "__init__.py"
    init.write_text(init.read_text().replace(pidone.__version__, "9.9.9+checkout"))
    done = _run([str(tree / "bin" / "pidone"), "--version"], cwd=str(tmp_path))
    if "SyntaxError" in done.stderr:
        pytest.skip(f"{python3} is too old for pidone")
    assert (done.returncode, done.stdout) == (0, "pidone 9.9.9+checkout\n")
