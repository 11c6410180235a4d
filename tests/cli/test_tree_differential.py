"""`pidone tree` against the real psmisc pstree on the live process table, byte for byte.

A fixture builds a controlled set of processes as the init of a private PID namespace
with its own /proc (so killing that init tears every fixture process down): long and
unicode arguments, spaces, parentheses, a backslash and UTF-8 in command names, a
one-letter name, a zombie, a multi-threaded process with a renamed thread, fifty
identical siblings, identical subtrees (the `N*[...]` bracket quirk), a stopped process,
a process in its own session with a pty as controlling terminal, and same-named siblings
owned by different users.

Most comparisons run inside that namespace (`nsenter`), where the live table is exactly
the fixture, whole, from PID 1: fast, and untouched by whatever else runs on the box (the
tools themselves have PPID 0 there and so stay out of the tree). Two tests compare on
the host's table, rooted at the fixture. Runs are retried while pstree itself sees the
table change between two runs.
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.differential

PSTREE = shutil.which("pstree")
UNSHARE = shutil.which("unshare")
NSENTER = shutil.which("nsenter")
NOBODY = 65534
LONG_ARG = "L" * 150 + "-" + "x" * 150

HOLDER = r"""
import os, signal, subprocess, sys, time
links = sys.argv[1]
kids = []
def spawn(argv, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    kids.append(subprocess.Popen(argv, **kw))
    return kids[-1]
spawn(["sh", "-c", "sleep 1000; :", "sh", "ünïcödé ✓", "a b", "tab\there", "back\\slash",
       sys.argv[2]])
spawn([os.path.join(links, "sl eep) (x"), "1000"])
spawn([os.path.join(links.encode(), b"w\xc3\xa9\\ird"), "1000"])
spawn([os.path.join(links, "x"), "1000"])
os.posix_spawn("/bin/true", ["true"], os.environ)  # never reaped: a zombie
spawn([sys.executable, "-c", sys.argv[3]])
spawn(["sh", "-c", "for i in $(seq 50); do sleep 1000 & done; wait"])
for _ in range(2):
    spawn(["sh", "-c", "sleep 1000 & sleep 1000 & tail -f /dev/null & wait"])
stopped = spawn(["sleep", "1000"])
os.kill(stopped.pid, signal.SIGSTOP)
master, slave = os.openpty()
spawn(["setsid", "-c", "sleep", "1000"], stdout=slave, stderr=slave, stdin=slave)
spawn(["sleep", "1000"], user=65534)
time.sleep(0.05)
spawn(["sleep", "1000"])
print("ready", flush=True)
sys.stdin.read()
"""

THREADS = r"""
import os, threading, time
def rename():
    with open("/proc/thread-self/comm", "w") as f:
        f.write("worker")
    time.sleep(1000)
for target in (rename, lambda: time.sleep(1000), lambda: time.sleep(1000)):
    threading.Thread(target=target, daemon=True).start()
time.sleep(1000)
"""

# sleep: 1 under sh, 50, 2x2, stopped, pty, two owners
EXPECTED_SLEEPS = 1 + 50 + 4 + 1 + 1 + 2


class Fixture:
    """The fixture namespace: its init's host PID, and how to run a command inside."""

    def __init__(self, host_pid: int) -> None:
        self.host_pid = host_pid

    def inside(self, argv: list[str]) -> list[str]:
        assert NSENTER is not None
        return [NSENTER, "-t", str(self.host_pid), "-p", "-m", *argv]


def _descendant_pid(parent: int) -> int:
    for _ in range(200):
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.01)
    raise AssertionError("unshare did not start its child")


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory):
    if PSTREE is None or UNSHARE is None or NSENTER is None:
        pytest.skip("pstree (psmisc) or unshare/nsenter (util-linux) is not installed")
    links = tmp_path_factory.mktemp("links")
    os.chmod(links, 0o755)
    for name in ("sl eep) (x", "x"):
        (links / name).symlink_to("/bin/sleep")
    os.symlink(b"/bin/sleep", os.path.join(bytes(links), b"w\xc3\xa9\\ird"))
    proc = subprocess.Popen(
        [
            UNSHARE,
            "--pid",
            "--fork",
            "--mount-proc",
            "--kill-child",
            sys.executable,
            "-c",
            HOLDER,
            str(links),
            LONG_ARG,
            THREADS,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        fixture = Fixture(_descendant_pid(proc.pid))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            out = subprocess.run(fixture.inside([PSTREE, "-p"]), capture_output=True).stdout
            if out.count(b"sleep(") >= EXPECTED_SLEEPS and out.count(b"}(") == 3:
                break
            time.sleep(0.1)
        yield fixture
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # --kill-child then kills the namespace init
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def _env(lang: str, columns: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LC_ALL", "LC_CTYPE")}
    env["LANG"] = lang
    if columns is not None:
        env["COLUMNS"] = columns
    return env


def _run(argv: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    done = subprocess.run(argv, capture_output=True, env=env, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout


def _pidone(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "pidone", "tree", *args]


def _assert_same(
    args: list[str],
    ns: Fixture | None,
    lang: str = "C",
    columns: str | None = None,
    term: str | None = None,
) -> bytes:
    """Compare inside the fixture namespace (ns given) or on the host table (ns None)."""
    assert PSTREE is not None
    env = _env(lang, columns)
    if term is not None:
        env["TERM"] = term
    theirs_argv = [PSTREE, *args]
    ours_argv = _pidone(args)
    if ns is not None:
        theirs_argv, ours_argv = ns.inside(theirs_argv), ns.inside(ours_argv)
    for _ in range(8):
        first = _run(theirs_argv, env)
        ours = _run(ours_argv, env)
        if ours == first:
            return first[1]
        again = _run(theirs_argv, env)
        if first == again:  # a stable table, and we differ: show how
            assert ours[1].decode("latin-1") == first[1].decode("latin-1")
            assert ours[0] == first[0]
        time.sleep(0.2)
    pytest.fail(f"the process table kept changing under pstree {args}")


OPTION_SETS = [
    [],
    ["-p"],
    ["-a"],
    ["-c"],
    ["-n"],
    ["-g"],
    ["-u"],
    ["-T"],
    ["-t"],
    ["-U"],
    ["-G"],
    ["-pa"],
    ["-a", "-l"],
    ["-a", "-c"],
    ["-a", "-u", "-g"],
    ["-p", "-n", "-u"],
    ["--show-pids", "--unicode", "--numeric-sort"],
    ["-S", "-p"],
    ["-Z"],
    ["-N", "pid"],
    ["-C", "age"],
]


@pytest.mark.parametrize("args", OPTION_SETS, ids=lambda a: " ".join(a) or "default")
def test_whole_fixture_table_matches_pstree(holder: Fixture, args: list[str]) -> None:
    _assert_same(args, holder)


@pytest.mark.parametrize("args", [["-p"], ["-a", "-u"]], ids=lambda a: " ".join(a))
def test_host_table_subtree_matches_pstree(holder: Fixture, args: list[str]) -> None:
    _assert_same([*args, str(holder.host_pid)], None)


TRUNCATIONS = [
    ([], "C", "12"),
    ([], "C.UTF-8", "11"),
    (["-p"], "C", "33"),
    (["-p"], "C", "0x40"),
    (["-a"], "C", "60"),
    (["-a"], "C.UTF-8", "80"),
    (["-U", "-p"], "C.UTF-8", "33"),
    (["-U"], "C", "17"),
    (["-a", "-U"], "C.UTF-8", "40"),
]


@pytest.mark.parametrize(("args", "lang", "columns"), TRUNCATIONS)
def test_truncation_matches_pstree(
    holder: Fixture, args: list[str], lang: str, columns: str
) -> None:
    _assert_same(args, holder, lang=lang, columns=columns)


def test_fixture_is_what_the_tests_claim(holder: Fixture) -> None:
    out = _assert_same(["-a", "-l"], holder)
    assert b"(true)" in out  # the zombie has an empty cmdline
    assert b"\\303\\274n\\303\\257c\\303\\266d\\303\\251" in out  # UTF-8 args as octal
    assert b"sl eep) (x 1000" in out
    assert b"w\\303\\251\\\\ird 1000" in out
    assert b"{worker}" in _assert_same(["-t"], holder)
    merged = _assert_same([], holder)
    assert b"50*[sleep]" in merged
    assert b"2*[sh-+-2*[sleep]]" in merged
    assert b"`-tail]" in merged
    stopped = _stopped_pid(holder.host_pid)
    assert b"T (stopped)" in Path(f"/proc/{stopped}/status").read_bytes()


def _stopped_pid(root: int) -> int:
    """Host PID of the fixture's stopped child."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if fields[0] == b"T" and int(fields[1]) == root:
                return int(entry)
    raise AssertionError("no stopped child")


def _pid_inside(host_pid: int) -> int:
    for line in Path(f"/proc/{host_pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    raise AssertionError("no NSpid line")


def test_show_parents_matches_pstree(holder: Fixture) -> None:
    stopped = str(_pid_inside(_stopped_pid(holder.host_pid)))
    _assert_same(["-s", "-p", stopped], holder)
    _assert_same(["-s", "-a", "-U", stopped], holder)
    _assert_same(["-p", stopped], holder)


@pytest.mark.parametrize("term", ["xterm", "vt100", "linux", "dumb", "no-such-terminal"])
def test_highlight_matches_pstree(holder: Fixture, term: str) -> None:
    stopped = str(_pid_inside(_stopped_pid(holder.host_pid)))
    out = _assert_same(["-H", stopped, "-a"], holder, term=term)
    assert (b"\x1b[1m" in out) == (term in ("xterm", "vt100", "linux"))


def test_user_argument_matches_pstree(holder: Fixture) -> None:
    _assert_same(["-p", "nobody"], holder)
    _assert_same(["-u", "-a", "nobody"], holder)
    _assert_same(["root"], holder)


@pytest.mark.parametrize(
    "args",
    [["-s", "999999999"], ["no-such-user-here"], ["1", "2"], ["-x"], ["--show-p"], ["12x"]],
)
def test_errors_match_pstree_exit_status(holder: Fixture, args: list[str]) -> None:
    env = _env("C", None)
    assert PSTREE is not None
    theirs = _run(holder.inside([PSTREE, *args]), env)
    ours = _run(holder.inside(_pidone(args)), env)
    assert ours == theirs


def _run_on_pty(argv: list[str], env: dict[str, str], cols: int) -> bytes:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 10)
            if not ready:
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the pty
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        proc.wait()
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("locale_env", "utf8"),
    [
        ({"LANG": "C"}, False),
        ({"LANG": "C.UTF-8"}, True),
        ({"LANG": "C.UTF-8", "LC_MESSAGES": "xx_YY"}, False),  # setlocale(LC_ALL, "") fails
        ({"LANG": "C", "LC_CTYPE": "C.utf8"}, True),
    ],
)
def test_terminal_width_and_drawing_on_a_pty(
    holder: Fixture, locale_env: dict[str, str], utf8: bool
) -> None:
    assert PSTREE is not None
    env = {k: v for k, v in _env("C", None).items() if k != "LANG"}
    env.update(locale_env)
    theirs_argv = holder.inside([PSTREE])
    ours_argv = holder.inside(_pidone([]))
    for _ in range(8):
        first = _run_on_pty(theirs_argv, env, 57)
        ours = _run_on_pty(ours_argv, env, 57)
        again = _run_on_pty(theirs_argv, env, 57)
        if first == again:
            assert ours.decode("utf-8", "replace") == first.decode("utf-8", "replace")
            assert ("─" in first.decode("utf-8", "replace")) == utf8
            return
        time.sleep(0.2)
    pytest.fail("the process table kept changing")
