"""`pidone ps` against procps-ng `ps` on the live process table, byte for byte.

A module fixture starts a zoo of processes in a private PID namespace (unshare --pid
--fork --kill-child; closing the helper's stdin or killing unshare ends them all):
long and unicode arguments, spaces/parentheses/odd bytes in command names, a zombie,
a multi-threaded process, fifty identical siblings, a stopped process, a session
leader on a pty the test creates, niced processes, users with and without a passwd
entry and with a long name, and one busy process.

Each case runs `ps`, `pidone ps`, `ps` again (same arguments and environment) and
compares line by line, keyed by PID. A pidone line must equal the procps line of the
same PID from one of the two procps runs (the table moves while we look). The only
tolerated difference is in %CPU / C / TIME of a busy process (CPU time > 0 in the
procps output), and every tolerated difference is printed. Rows of the zoo must be
present in all three outputs; rows only some outputs have must belong to processes
that came or went (other tests run at the same time) or to the commands themselves.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios
import time

import pytest

pytestmark = pytest.mark.differential

PS = shutil.which("ps")
UNSHARE = shutil.which("unshare")

ZOO = r"""
import json, os, signal, subprocess, sys, time
links = sys.argv[1]
kids = {}
def spawn(name, argv, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    kids[name] = subprocess.Popen(argv, **kw)
spawn("long", ["sh", "-c", "sleep 1000; :", "sh", "ünïcödé ✓ 中文", "a b", "tab\there",
               "new\nline", "(paren) [br]", "x" * 3000])
spawn("odd_name", [os.path.join(links, "sl eep) (x"), "1000"])
spawn("odd_bytes", [os.path.join(links.encode(), b"w\xc3\xa9\\ird\xff\x01"), b"1000"])
zombie = os.posix_spawn("/bin/true", ["true"], os.environ)  # never reaped
spawn("threads", [sys.executable, "-c",
      "import threading, time\n"
      "for _ in range(3): threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()\n"
      "time.sleep(1000)"])
spawn("siblings", ["sh", "-c", "for i in $(seq 50); do sleep 1000 & done; wait"])
spawn("stopped", ["sleep", "1000"])
os.kill(kids["stopped"].pid, signal.SIGSTOP)
master, slave = os.openpty()
spawn("pty", ["setsid", "-c", "sleep", "1000"], stdin=slave, stdout=slave, stderr=slave)
spawn("niced", ["nice", "-n", "5", "sleep", "1000"])
spawn("boosted", ["nice", "-n", "-5", "sleep", "1000"])
spawn("nobody", ["sleep", "1000"], user=65534)
spawn("nouser", ["sleep", "1000"], user=4242)
spawn("longuser", ["sleep", "1000"], user=997)
spawn("busy", ["nice", "-n", "19", "sh", "-c", "while :; do :; done"])
os.waitid(os.P_PID, zombie, os.WEXITED | os.WNOWAIT)  # a zombie now, still unreaped
time.sleep(0.3)
print("ready", flush=True)
sys.stdin.read()
"""


def _descendants(pid: int) -> set[int]:
    out: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            for child in children:
                if child not in out:
                    out.add(child)
                    todo.append(child)
    return out


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    if PS is None:
        pytest.skip("procps ps is not installed")
    if UNSHARE is None or os.geteuid() != 0:
        pytest.skip("needs root and util-linux unshare for a private PID namespace")
    links = tmp_path_factory.mktemp("links")
    os.symlink("/bin/sleep", links / "sl eep) (x")
    os.symlink(b"/bin/sleep", os.path.join(bytes(links), b"w\xc3\xa9\\ird\xff\x01"))
    helper = subprocess.Popen(
        [UNSHARE, "--pid", "--fork", "--kill-child", sys.executable, "-c", ZOO, str(links)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert helper.stdout is not None
        assert helper.stdout.readline() == b"ready\n"
        # the namespace's init, 14 direct children, sh's sleep, 50 siblings
        deadline = time.monotonic() + 20
        while len(pids := _descendants(helper.pid)) < 66 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(pids) >= 66
        yield pids
    finally:
        helper.kill()  # --kill-child: the namespace's init dies, and with it the zoo
        helper.communicate()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LC_ALL", "LC_CTYPE")}
    env["LANG"] = "C.UTF-8"
    env.update(extra)
    return env


def _run_pipe(argv: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    proc = subprocess.run(argv, env=env, capture_output=True, check=False)
    return proc.returncode, proc.stdout


def _run_pty(argv: list[str], env: dict[str, str], cols: int) -> tuple[int, bytes]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST  # no \n -> \r\n translation
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    try:
        proc = subprocess.Popen(argv, env=env, stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.communicate()
    finally:
        os.close(master)
    return proc.returncode, b"".join(chunks)


OURS = [sys.executable, "-m", "pidone", "ps"]
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Runner = Callable[[list[str]], tuple[int, bytes]]


def _rows(out: bytes, pid_index: int, headers: bool) -> tuple[bytes, dict[int, bytes], list[int]]:
    lines = out.split(b"\n")
    assert lines[-1] == b"", "output must end with a newline"
    lines = lines[:-1]
    head = lines.pop(0) if headers else b""
    rows: dict[int, bytes] = {}
    order: list[int] = []
    for line in lines:
        pid = int(line.split()[pid_index])
        rows[pid] = line
        order.append(pid)
    return head, rows, order


# What may differ, and only for a process that is busy (it used CPU time between the two
# procps runs, or shows CPU time / state R or D): for the zoo, %CPU and TIME only.
VOLATILE = {b"%CPU", b"C", b"TIME"}
# Processes of other tests running at the same time also grow and change state while
# we look; for those (never for the zoo) memory, state and scheduling columns may move.
MOVING = VOLATILE | {b"STAT", b"S", b"VSZ", b"RSS", b"%MEM", b"SZ", b"WCHAN", b"PSR", b"NLWP"}


def _cells(line: bytes, names: list[bytes]) -> list[bytes]:
    return line.split(None, len(names) - 1)


def _busy(line: bytes, names: list[bytes]) -> bool:
    for name, cell in zip(names, _cells(line, names), strict=False):
        if name == b"%CPU" and cell != b"0.0":
            return True
        if name in (b"C",) and cell != b"0":
            return True
        if name == b"TIME" and cell.strip(b"0:-") != b"":
            return True
        if name in (b"STAT", b"S") and cell[:1] in (b"R", b"D"):
            return True
    return False


def _seconds(text: bytes) -> int:
    days, _, rest = text.rpartition(b"-")
    total = 0
    for part in rest.split(b":"):
        total = total * 60 + int(part)
    return total + (int(days) * 86400 if days else 0)


def _tolerable(ours: bytes, before: bytes | None, after: bytes | None, head: bytes,
               zoo: bool) -> bytes | None:  # fmt: skip
    """The differing column names when the difference is allowed, else None.

    Allowed: ELAPSED between the two procps runs (under load the three runs can span
    more than a second); for a busy process, %CPU and TIME (zoo) or the MOVING columns
    (other tests' processes); for a kernel worker, its name (kworkers rename themselves
    after the work item they run).
    """
    names = head.split()
    theirs = [t for t in (before, after) if t is not None]
    if not names or not theirs:
        return None
    moving = len(theirs) == 2 and theirs[0] != theirs[1]
    busy = moving or any(_busy(t, names) for t in theirs)
    allowed = VOLATILE if zoo else MOVING
    a = _cells(ours, names)
    for t in theirs:
        b = _cells(t, names)
        if len(a) != len(b):
            continue
        diff = {names[i] for i in range(len(a)) if a[i] != b[i]}
        if b"ELAPSED" in diff and before is not None and after is not None:
            i = names.index(b"ELAPSED")
            low = _seconds(_cells(before, names)[i])
            high = _seconds(_cells(after, names)[i])
            if low <= _seconds(a[i]) <= high:
                diff.discard(b"ELAPSED")
        last = names[-1]
        kworkers = all(b"kworker/" in x[-1] for x in (a, b))
        if not zoo and last in diff and kworkers:
            diff.discard(last)
        if not diff:
            return b"ELAPSED or kworker name"
        if busy and diff <= allowed:
            return b",".join(sorted(diff))
    return None


ORDER = -1  # the problems key of a row-order difference (no process has PID -1)


def _attempt(
    args: list[str], zoo: set[int], pid_index: int, headers: bool, run: Runner
) -> tuple[dict[int, str], list[str]]:
    """One procps / pidone / procps round: (unexplained differences by pid, notes)."""
    code1, before = run([PS, *args])
    code2, ours = run([*OURS, *args])
    code3, after = run([PS, *args])
    assert code2 == code1 == code3, (code1, code2, code3, ours[-300:])
    h1, r1, o1 = _rows(before, pid_index, headers)
    h2, r2, o2 = _rows(ours, pid_index, headers)
    h3, r3, o3 = _rows(after, pid_index, headers)
    assert h2 == h1 == h3
    problems: dict[int, str] = {}
    notes: list[str] = []
    for pid, line in r2.items():
        if line in (r1.get(pid), r3.get(pid)):
            continue
        if pid not in r1 and pid not in r3:
            assert pid not in zoo, f"zoo process {pid} only in pidone's output"
            notes.append(f"pid {pid} only in pidone's output (came and went)")
            continue
        theirs = r1.get(pid) or r3[pid]
        columns = _tolerable(line, r1.get(pid), r3.get(pid), h1, pid in zoo)
        if columns:
            who = "zoo" if pid in zoo else "foreign"
            notes.append(f"tolerated {columns.decode()} of busy {who} pid {pid}")
            continue
        problems[pid] = f"procps: {theirs!r}\npidone: {line!r}"
    for pid in set(r1) & set(r3):
        if pid not in r2:
            problems[pid] = f"missing from pidone's output: {r1[pid]!r}"
    for pid in zoo & (set(r1) | set(r2) | set(r3)):
        assert pid in r1, f"zoo pid {pid} not in procps's first output"
        assert pid in r2, f"zoo pid {pid} not in pidone's output"
        assert pid in r3, f"zoo pid {pid} not in procps's second output"
    # Row order (sorting, forests) over the processes all three snapshots share. A process
    # that exits between snapshots reparents its children (to the subreaper or PID 1), which
    # moves them in a forest: the order must match procps's before or after snapshot, and a
    # mismatch is retried like a changed row (key ORDER), never waved through.
    common = [p for p in o2 if p in r1 and p in r3]
    theirs_before = [p for p in o1 if p in r2 and p in r3]
    theirs_after = [p for p in o3 if p in r1 and p in r2]
    if common not in (theirs_before, theirs_after):
        at = next(i for i, (a, b) in enumerate(zip(common, theirs_before, strict=True)) if a != b)
        problems[ORDER] = (
            f"row order differs at row {at}: procps {theirs_before[at : at + 5]}, "
            f"pidone {common[at : at + 5]}"
        )
    return problems, notes


def compare(
    args: list[str],
    zoo: set[int],
    pid_index: int = 0,
    headers: bool = True,
    env: dict[str, str] | None = None,
    cols: int | None = None,
    capsys: pytest.CaptureFixture[str] | None = None,
) -> None:
    """Compare up to three rounds; a row that matched in any round is settled (the
    kernel may change a state letter or a kworker name between two snapshots)."""
    env = env or _env()

    def run(argv: list[str]) -> tuple[int, bytes]:
        if cols is None:
            return _run_pipe(argv, env)
        return _run_pty(argv, env, cols)

    pending: dict[int, str] | None = None
    notes: list[str] = []
    for round_no in range(4):
        problems, round_notes = _attempt(args, zoo, pid_index, headers, run)
        notes += round_notes
        pending = (
            problems if pending is None else {p: problems[p] for p in pending if p in problems}
        )
        if not pending:
            break
        notes.append(f"round {round_no + 1}: pids {sorted(pending)} changed, looking again")
    if pending:
        pid, detail = next(iter(pending.items()))
        what = "the row order" if pid == ORDER else f"pid {pid}"
        pytest.fail(f"ps {' '.join(args)}: {what} differs in every round\n{detail}")
    if notes and capsys is not None:
        with capsys.disabled():
            sys.stdout.write(f"\n[ps {' '.join(args)}] " + "; ".join(notes) + "\n")


CASES = [
    ([], 0),
    (["u"], 1),
    (["a"], 0),
    (["-a"], 0),
    (["-d"], 0),
    (["-A", "-N", "-u", "root"], 0),
    (["aux"], 1),
    (["ux"], 1),
    (["ax"], 0),
    (["x"], 0),
    (["-e"], 0),
    (["-ef"], 1),
    (["-f"], 1),
    (["-u", "root"], 0),
    (["-U", "root", "-u", "nobody"], 0),
    (["-eH"], 0),
    (["axf"], 0),
    (["-ef", "--forest"], 1),
    (["aux", "--sort=tty,-pid"], 1),
    (["-e", "--sort=ppid,pid", "-o", "pid,ppid,comm"], 0),
    (["-eo", "pid,user,ppid,pgid,sid,tty,stat,start,time,vsz,rss,comm,nlwp,ni,pri,args,cmd"], 0),
    (["-eo", "pid,pcpu,pmem,etime,wchan,user:4,ruser,uid,s,f,psr,sz,tpgid,lstart"], 0),
    (["-eo", "pid,vsz:2,rss:2,tty,comm"], 0),
    (["-eo", "pid=PROCESS,comm=NAME,args:10,pid"], 0),
    (["aux", "ww"], 1),
]


@pytest.mark.parametrize(("args", "pid_index"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_matches_procps(zoo, capsys, args, pid_index):
    compare(args, zoo, pid_index, capsys=capsys)


def test_selected_pids_and_no_headers(zoo, capsys):
    pids = ",".join(str(p) for p in sorted(zoo)[:20])
    compare(["-p", f"1,{pids}"], zoo, capsys=capsys)
    compare(["--no-headers", "-p", pids, "-o", "pid,stat,args"], zoo, headers=False, capsys=capsys)


def test_columns_cut_when_piped(zoo, capsys):
    compare(["aux"], zoo, 1, env=_env(COLUMNS="80"), capsys=capsys)
    compare(["-ef"], zoo, 1, env=_env(COLUMNS="100"), capsys=capsys)


def test_terminal_width(zoo, capsys):
    compare(["aux"], zoo, 1, cols=100, capsys=capsys)
    compare(["-eo", "pid,args"], zoo, 0, cols=40, capsys=capsys)
    compare(["auxw"], zoo, 1, cols=100, capsys=capsys)


def test_c_locale_escaping(zoo, capsys):
    compare(["-eo", "pid,comm,args"], zoo, env=_env(LC_ALL="C"), capsys=capsys)
    compare(["-eo", "pid,comm,args"], zoo, env=_env(LC_ALL="POSIX"), capsys=capsys)


def test_nothing_selected_exits_1_like_procps(zoo):
    code, out = _run_pipe([PS, "-p", "999999999"], _env())
    ours, ours_out = _run_pipe([*OURS, "-p", "999999999"], _env())
    assert code == 1
    assert (ours, ours_out) == (code, out)


def test_unit_column_and_json(zoo):
    proc = subprocess.run(
        [*OURS, "-o", "json", "-p", ",".join(str(p) for p in sorted(zoo))],
        capture_output=True,
        check=True,
    )
    rows = json.loads(proc.stdout)
    assert {row["pid"] for row in rows} == zoo
    assert all(row["unit"] is None for row in rows)  # the box runs no systemd/pidone units
    text = subprocess.run(
        [*OURS, "--unit", "-o", "pid,comm", "-p", "1"], capture_output=True, check=True
    ).stdout.decode()
    assert text.splitlines()[0].split() == ["PID", "UNIT", "COMMAND"]


def test_locale_and_screen_rules():
    from pidone.cli.ps import locale_is_utf8, screen_width

    assert locale_is_utf8({b"LANG": b"C.UTF-8"})
    assert locale_is_utf8({b"LC_CTYPE": b"C.utf8", b"LANG": b"C"})
    assert not locale_is_utf8({b"LC_ALL": b"C", b"LANG": b"C.UTF-8"})
    assert not locale_is_utf8({b"LC_CTYPE": b"POSIX"})
    assert not locale_is_utf8({})
    missing = not os.path.exists("/usr/lib/locale/locale-archive")
    if missing and not os.path.isdir("/usr/lib/locale/xx_YY.utf8"):
        # setlocale() fails for a locale that is not installed: ps stays in "C"
        assert not locale_is_utf8({b"LANG": b"xx_YY.UTF-8"})
    # stdout is not a terminal under pytest's capture: unlimited, unless COLUMNS says
    assert screen_width({}, 0) == 131072
    assert screen_width({b"COLUMNS": b"80"}, 0) == 80
    assert screen_width({b"COLUMNS": b"0x50"}, 0) == 80  # strtol(..., 0) as procps
    assert screen_width({b"COLUMNS": b"0120"}, 0) == 80  # octal
    assert screen_width({b"COLUMNS": b"080"}, 0) == 131072  # not octal: ignored
    assert screen_width({b"COLUMNS": b"80"}, 1) == 132
    assert screen_width({b"COLUMNS": b"80"}, 2) == 131072
    assert screen_width({b"COLUMNS": b"junk"}, 0) == 131072
