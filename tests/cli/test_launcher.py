"""The `pidone` command + bin/pidone-py: `python -IS`, and the package found without `site`.

Each test lays out an installation prefix as pip would (PREFIX/bin with `pidone` and
pidone-py, pidone-py's `#!python` rewritten to this interpreter;
PREFIX/lib/pythonX.Y/site-packages) and runs the real programs, once with each launcher:
the sh script bin/pidone (installed where no C compiler is found) and the compiled one
(csrc/pidone.c, installed where one is). The last tests run both side by side on
pidone-py's first-line cases, with stand-in interpreters that print what they were given.
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
from tests.cli.launchers import compile_pidone

REPO_BIN = Path(__file__).resolve().parents[2] / "bin"
PACKAGE = Path(pidone.__file__).resolve().parent  # .../pidone
SITE = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("launcher") / "pidone"
    compile_pidone(target)
    return target


@pytest.fixture(params=["sh", "compiled"])
def launcher(request: pytest.FixtureRequest) -> Path:
    """The program installed as PREFIX/bin/pidone."""
    if request.param == "sh":
        if shutil.which("sh") is None:
            pytest.skip("no /bin/sh")
        return REPO_BIN / "pidone"
    path: Path = request.getfixturevalue("compiled")
    return path


def _prefix(tmp_path: Path, launcher: Path) -> Path:
    """PREFIX/bin/{pidone,pidone-py} as pip installs them; an empty site-packages."""
    bindir = tmp_path / "prefix" / "bin"
    bindir.mkdir(parents=True)
    shutil.copy(launcher, bindir / "pidone")
    text = (REPO_BIN / "pidone-py").read_text()
    assert text.startswith("#!python\n")
    (bindir / "pidone-py").write_text(f"#!{sys.executable}\n" + text.partition("\n")[2])
    for name in ("pidone", "pidone-py"):
        (bindir / name).chmod(0o755)
    (tmp_path / "prefix" / SITE).mkdir(parents=True)
    return tmp_path / "prefix"


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    """argv with this environment less PYTHON* (and PIDONE_NO_FAST=1 when `python_only`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIDONE_"))}
    if kw.pop("python_only", False):  # the job verbs through Python, as the script runs them
        env["PIDONE_NO_FAST"] = "1"
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


def test_regular_install_runs_without_site_and_finds_the_package(
    tmp_path: Path, launcher: Path
) -> None:
    prefix = _prefix(tmp_path, launcher)
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


def test_the_cli_process_is_the_interpreter_with_IS(tmp_path: Path, launcher: Path) -> None:
    """What talks to the daemon is `PYTHON -IS PREFIX/bin/pidone-py --launched-as=...`
    (one exec after sh): the peer of the control socket, by SO_PEERCRED, says so."""
    prefix = _prefix(tmp_path, launcher)
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
        done = _run(
            [str(prefix / "bin" / "pidone"), "start", "--runtime-dir", str(runtime), "x"],
            python_only=True,
        )
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


def test_job_verb_output_and_status_survive_the_fast_exit(tmp_path: Path, launcher: Path) -> None:
    """pidone-py ends a job verb with _exit(2) after flushing: every line the daemon sent
    reaches the (buffered, piped) stderr, and the exit status is the daemon's."""
    from pidone.cli import client

    prefix = _prefix(tmp_path, launcher)
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
        done = _run(
            [str(prefix / "bin" / "pidone"), "start", "--runtime-dir", str(runtime), "x"],
            python_only=True,
        )
        thread.join(60)
    assert done.returncode == 5
    assert done.stderr == "".join(line + "\n" for line in lines)


def test_editable_install_reads_its_pth(tmp_path: Path, launcher: Path) -> None:
    prefix = _prefix(tmp_path, launcher)
    (prefix / SITE / "__editable__.pidone-0.1.0.pth").write_text(f"{PACKAGE.parent}\n")
    done = _run([str(prefix / "bin" / "pidone"), "--version"], cwd=str(tmp_path))
    assert (done.returncode, done.stdout) == (0, f"pidone {pidone.__version__}\n")
    assert "site" not in _imports(prefix, "--version")


def test_editable_finder_line_is_run(tmp_path: Path, launcher: Path) -> None:
    """setuptools' strict editable mode: the .pth holds an `import` line installing a finder."""
    prefix = _prefix(tmp_path, launcher)
    (prefix / SITE / "__editable___pidone_finder.py").write_text(
        f"import sys\ndef install():\n    sys.path.append({str(PACKAGE.parent)!r})\n"
    )
    (prefix / SITE / "__editable__.pidone-0.1.0.pth").write_text(
        "import __editable___pidone_finder; __editable___pidone_finder.install()\n"
    )
    done = _run([str(prefix / "bin" / "pidone"), "--version"])
    assert (done.returncode, done.stdout) == (0, f"pidone {pidone.__version__}\n")


def test_symlink_keeps_its_name_for_argv0_dispatch(tmp_path: Path, launcher: Path) -> None:
    """`install-shims --symlink`: systemctl -> pidone, run from elsewhere, is systemctl."""
    prefix = _prefix(tmp_path, launcher)
    (prefix / SITE / "pidone").symlink_to(PACKAGE)
    other = tmp_path / "other"
    other.mkdir()
    (other / "systemctl").symlink_to(prefix / "bin" / "pidone")
    done = _run([str(other / "systemctl"), "--version"])
    assert done.returncode == 0
    assert done.stdout.startswith(f"systemd 252 (pidone {pidone.__version__})")


def test_unknown_layout_falls_back_to_site(tmp_path: Path, launcher: Path) -> None:
    """Nothing under PREFIX/lib: `site` runs, and finds pidone where this interpreter has it."""
    prefix = _prefix(tmp_path, launcher)
    shutil.rmtree(prefix / "lib")
    done = _run([str(prefix / "bin" / "pidone"), "--version"])
    if done.returncode != 0 and "No module named 'pidone'" in done.stderr:
        pytest.skip("this interpreter has no installed pidone (run from a plain source tree)")
    assert (done.returncode, done.stdout) == (0, f"pidone {pidone.__version__}\n")


def test_source_checkout_runs_its_own_tree(tmp_path: Path, launcher: Path) -> None:
    """bin/pidone of a checkout (pidone-py still says `#!python`): python3 with ../src."""
    python3 = shutil.which("python3")
    if python3 is None:
        pytest.skip("no python3 on PATH")
    tree = tmp_path / "checkout"
    (tree / "bin").mkdir(parents=True)
    shutil.copy(launcher, tree / "bin" / "pidone")
    shutil.copy(REPO_BIN / "pidone-py", tree / "bin" / "pidone-py")
    # the checkout's own package, told apart from any installed one by its version
    shutil.copytree(PACKAGE, tree / "src" / "pidone", ignore=shutil.ignore_patterns("__pycache__"))
    init = tree / "src" / "pidone" / "__init__.py"
    init.write_text(init.read_text().replace(pidone.__version__, "9.9.9+checkout"))
    done = _run([str(tree / "bin" / "pidone"), "--version"], cwd=str(tmp_path))
    if "SyntaxError" in done.stderr:
        pytest.skip(f"{python3} is too old for pidone")
    assert (done.returncode, done.stdout) == (0, "pidone 9.9.9+checkout\n")


# --- the two launchers side by side, with stand-in interpreters ------------------------------

SHOW_ARGS = (
    "#!/bin/sh\n"
    'printf \'<%s>\\n\' "$0" "$@"\n'
    'echo "PYTHONPATH=${PYTHONPATH-(unset)}"\n'
    "env | grep '^PIDONE' | sort\n"
    "exit 7\n"
)
ARGS = ["status", "a b", "", "*", "$HOME", "-IS", "ü", "--launched-as=x", "line\nbreak"]
FIRST_LINES = {
    "checkout": "#!python\n",  # python3 from PATH: the stand-in in tools/
    "interpreter": "#!TOOLS/interp\n",
    "interpreter with a space": "#!TOOLS/in terp\n",  # run as one path, as the script does
    "sh trampoline": "#!/bin/sh\n",
    "no #! line": "# not a shebang\n",
    "no newline": "#!TOOLS/interp",  # `read` fails at the end of the file: line is empty
}


def _layout(top: Path, launcher: Path, first_line: str) -> None:
    """TOP/prefix/bin/{pidone,pidone-py} (pidone-py prints what it was given unless its
    first line names an interpreter, which then does), TOP/tools/{python3,interp,in terp}
    stand-ins, TOP/links/systemctl -> TOP/links/chain -> TOP/prefix/bin/pidone."""
    tools = top / "tools"
    (top / "prefix" / "bin").mkdir(parents=True)
    tools.mkdir()
    (top / "links").mkdir()
    for name in ("python3", "interp", "in terp"):
        (tools / name).write_text(SHOW_ARGS)
        (tools / name).chmod(0o755)
    shutil.copy(launcher, top / "prefix" / "bin" / "pidone")
    helper = top / "prefix" / "bin" / "pidone-py"
    line = first_line.replace("TOOLS", str(tools))
    helper.write_text(line if not line.endswith("\n") else line + SHOW_ARGS.partition("\n")[2])
    helper.chmod(0o755)
    (top / "links" / "chain").symlink_to(top / "prefix" / "bin" / "pidone")
    (top / "links" / "systemctl").symlink_to(top / "links" / "chain")


@pytest.mark.parametrize("first_line", FIRST_LINES.values(), ids=FIRST_LINES.keys())
def test_both_launchers_run_the_same_command(
    tmp_path: Path, compiled: Path, first_line: str
) -> None:
    """Through a path, a relative path, PATH, and a chain of links named systemctl; with
    PYTHONPATH unset, empty or set; PIDONE_NO_FAST (a job verb to Python) and
    PIDONE_FAST_DECLINED (removed): the same program, arguments and environment."""
    outputs: dict[str, list[tuple[str, str, int]]] = {}
    for kind, launcher in (("sh", REPO_BIN / "pidone"), ("c", compiled)):
        top = tmp_path / kind
        _layout(top, launcher, first_line)
        path = f"{top / 'tools'}:{top / 'prefix' / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        base = {"PATH": path, "LC_ALL": "C.UTF-8"}
        runs = [
            ([str(top / "prefix" / "bin" / "pidone"), *ARGS], base),
            (["prefix/bin/pidone", *ARGS], {**base, "PYTHONPATH": ""}),
            (["pidone", *ARGS], {**base, "PYTHONPATH": "/a:/b"}),
            ([str(top / "links" / "systemctl"), *ARGS], base),
            (["pidone", "start", "x"], {**base, "PIDONE_NO_FAST": ""}),
            (["pidone", "status", "x"], {**base, "PIDONE_FAST_DECLINED": "1"}),
        ]
        outputs[kind] = []
        for argv, env in runs:
            done = subprocess.run(
                argv, capture_output=True, text=True, env=env, cwd=top, timeout=60, check=False
            )
            outputs[kind].append(
                (done.stdout.replace(str(top), "TOP"), done.stderr, done.returncode)
            )
    assert outputs["c"] == outputs["sh"]
    first = outputs["c"][0]
    assert first[2] == 7, first  # the stand-in ran
    assert "<--launched-as=TOP/prefix/bin/pidone>\n<status>\n<a b>\n<>\n<*>\n" in first[0]
    assert "<--launched-as=TOP/links/systemctl>" in outputs["c"][3][0]
    assert "PIDONE_NO_FAST=" in outputs["c"][4][0]
    assert "PIDONE_FAST_DECLINED" not in outputs["c"][5][0]


def test_a_missing_python_half_is_one_line(tmp_path: Path, compiled: Path) -> None:
    """No pidone-py beside the compiled pidone: a one-line message and 127 (the shell's
    status for a command not found; its message is the shell's own)."""
    (tmp_path / "bin").mkdir()
    shutil.copy(compiled, tmp_path / "bin" / "pidone")
    done = _run([str(tmp_path / "bin" / "pidone"), "status", "x"])
    assert done.returncode == 127
    assert done.stderr == (
        f"pidone: cannot run {tmp_path}/bin/pidone-py: No such file or directory\n"
    )
    sh = tmp_path / "sh"
    sh.mkdir()
    shutil.copy(REPO_BIN / "pidone", sh / "pidone")
    assert _run([str(sh / "pidone"), "status", "x"]).returncode == 127


@pytest.mark.parametrize("cc", ["found", "absent"])
def test_setup_installs_the_compiled_pidone_or_the_script(tmp_path: Path, cc: str) -> None:
    """setup.py's build_scripts: with a compiler, `pidone` is the compiled program (an ELF
    file, mode 755) and no pidone-job; with CC=/nonexistent, the sh script as it is."""
    if cc == "found":
        compile_pidone(tmp_path / "probe")  # skips without a compiler
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if cc == "absent":
        env["CC"] = "/nonexistent"
    done = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_scripts", "--build-dir", str(tmp_path / "b")],
        cwd=REPO_BIN.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    built = tmp_path / "b" / "pidone"
    assert built.stat().st_mode & 0o777 == 0o755
    assert not (tmp_path / "b" / "pidone-job").exists()
    if cc == "found":
        assert built.read_bytes()[:4] == b"\x7fELF"
    else:
        assert built.read_bytes() == (REPO_BIN / "pidone").read_bytes()
        assert "`pidone` is the sh script" in done.stderr
