"""`pidone tree` against real pstree on hand-made process tables (fake /proc trees).

Each table is written as a /proc-like directory (stat, cmdline, task/, owner per process)
and bind-mounted over /proc in a private mount namespace; both tools run there, so
pstree itself tells what tables the live kernel rarely produces should look like: a
child with a lower PID than its parent, parents that do not exist, no PID 1, a /proc/0
(still rooted at PID 1 in 23.6), 64-byte kernel-thread names, odd command lines, deep
chains, identical subtrees that differ only by owner. Directory order is whatever the
filesystem's readdir gives, which both tools see alike. To keep the run short, pidone's
`tree` verb runs in a forked child of the driver rather than in a new interpreter; each
tool's own /proc/PID/ns appears in the fake tree just before it runs (for -N).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.differential

PSTREE = shutil.which("pstree")
UNSHARE = shutil.which("unshare")


class P:
    """One process of a fake table."""

    def __init__(
        self,
        pid: int,
        ppid: int,
        comm: bytes | str,
        *,
        uid: int = 0,
        pgid: int | None = None,
        threads: tuple[tuple[int, bytes | str], ...] = (),
        cmdline: bytes | None = None,
        state: str = "S",
        ns: dict[str, int] | None = None,
        context: bytes | None = None,
    ) -> None:
        self.pid, self.ppid, self.uid, self.state = pid, ppid, uid, state
        self.comm = comm.encode() if isinstance(comm, str) else comm
        self.pgid = pid if pgid is None else pgid
        self.threads = [(t, c.encode() if isinstance(c, str) else c) for t, c in threads]
        self.cmdline = self.comm + b"\0" if cmdline is None else cmdline
        self.ns = ns  # namespace name -> which instance (same number, same inode)
        self.context = context  # attr/current content, for -Z


def _stat_line(pid: int, comm: bytes, state: str, ppid: int, pgid: int, nthreads: int) -> bytes:
    tail = (
        f" {state} {ppid} {pgid} {pgid} 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 {nthreads} 0 1000 "
        "1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    )
    return str(pid).encode() + b" (" + comm + b")" + tail.encode()


NS_NAMES = ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts", "time")


def _write_table(root: Path, procs: list[P]) -> None:
    root.mkdir()
    store = root.parent / "ns-store"
    store.mkdir()
    (root / "uptime").write_text("5000.00 4000.00\n")
    for p in procs:
        d = root / str(p.pid)
        (d / "task" / str(p.pid)).mkdir(parents=True)
        n = 1 + len(p.threads)
        (d / "stat").write_bytes(_stat_line(p.pid, p.comm, p.state, p.ppid, p.pgid, n))
        (d / "task" / str(p.pid) / "stat").write_bytes(
            _stat_line(p.pid, p.comm, p.state, p.ppid, p.pgid, n)
        )
        for tid, name in p.threads:
            (d / "task" / str(tid)).mkdir()
            (d / "task" / str(tid) / "stat").write_bytes(
                _stat_line(tid, name, "S", p.ppid, p.pgid, n)
            )
        (d / "cmdline").write_bytes(p.cmdline)
        if p.context is not None:
            (d / "attr").mkdir()
            (d / "attr" / "current").write_bytes(p.context)
        if p.ns is not None:
            (d / "ns").mkdir()
            for name in NS_NAMES:
                target = store / f"{name}-{p.ns.get(name, 1)}"
                target.touch()
                os.link(target, d / "ns" / name)  # one inode per namespace instance
        for path in (d, d / "stat"):
            os.chown(path, p.uid, p.uid)


DRIVER = r"""
import json, os, shutil, sys, traceback
from pidone.cli.tree import main

NS = ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts", "time")

def run(argv, env, ours):
    # Fork behind a gate, give the child its own /proc/PID/ns in the fake tree (both
    # tools check theirs for -N), then let it run pstree or pidone's verb. The child's
    # real PID may be one the fake table already uses (CI containers start with low
    # PIDs): such a child is told to exit and we fork again, so the table stays intact.
    while True:
        gate_r, gate_w = os.pipe()
        out_r, out_w = os.pipe()
        child = os.fork()
        if child == 0 or not os.path.lexists(f"/proc/{child}"):
            break
        os.write(gate_w, b"n")
        for fd in (gate_r, gate_w, out_r, out_w):
            os.close(fd)
        os.waitpid(child, 0)
    if child == 0:
        os.close(gate_w)
        os.close(out_r)
        if os.read(gate_r, 1) != b"x":
            os._exit(0)
        os.dup2(out_w, 1)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        if not ours:
            os.execvpe("pstree", ["pstree", *argv], env)
        os.environ.clear()
        os.environ.update(env)
        try:
            code = main(list(argv))
        except BaseException:
            traceback.print_exc(file=sys.__stdout__)
            code = 99
        sys.stdout.flush()
        os._exit(code)
    os.close(gate_r)
    os.close(out_w)
    own = f"/proc/{child}"
    os.makedirs(f"{own}/ns")
    for name in NS:
        open(f"{own}/ns/{name}", "w").close()
    os.write(gate_w, b"x")
    os.close(gate_w)
    chunks = []
    while chunk := os.read(out_r, 65536):
        chunks.append(chunk)
    os.close(out_r)
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    shutil.rmtree(own)
    return [code, b"".join(chunks).decode("latin-1"), ""]

cases = json.loads(sys.argv[1])
results = []
for argv, columns in cases:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["LANG"] = "C"
    if columns:
        env["COLUMNS"] = columns
    results.append([run(argv, env, False), run(argv, env, True)])
print(json.dumps(results))
"""

COMMON = [
    ([], None),
    (["-p"], None),
    (["-a"], None),
    (["-p", "-n"], None),
    (["-p", "-u"], None),
    (["-u"], None),
    (["-p", "-t"], None),
    (["-c"], None),
    (["-a", "-l"], None),
    (["-a", "-p", "-u"], None),
    (["-p", "-g"], None),
    (["-T", "-p"], None),
    ([], "40"),
    (["-a"], "50"),
    (["-p", "-U"], "45"),
]


def _compare(
    tmp_path: Path,
    procs: list[P],
    extra: list[tuple[list[str], str | None]],
    pgids: bool = True,
) -> None:
    if PSTREE is None or UNSHARE is None:
        pytest.skip("pstree (psmisc) or unshare is not installed")
    fake = tmp_path / "proc"
    _write_table(fake, procs)
    cases = [c for c in COMMON if pgids or "-g" not in c[0]] + extra
    done = subprocess.run(
        [
            UNSHARE,
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount --bind "$0" /proc && exec "$@"',
            str(fake),
            sys.executable,
            "-c",
            DRIVER,
            json.dumps(cases),
        ],
        capture_output=True,
        check=True,
    )
    results = json.loads(done.stdout)
    for (argv, columns), (theirs, ours) in zip(cases, results, strict=True):
        label = f"{' '.join(argv)} COLUMNS={columns}"
        assert ours[1] == theirs[1], label
        assert ours[0] == theirs[0], f"{label}: exit status; stderr {ours[2]!r} vs {theirs[2]!r}"


def test_threads_owners_zombie_and_sorting(tmp_path: Path) -> None:
    procs = [
        P(1, 0, "init", cmdline=b"/sbin/init\0splash\0"),
        P(2, 0, "kthreadd", cmdline=b""),
        P(3, 2, "kworker/u8:2-ext4-rsv-conversion", cmdline=b""),
        P(10, 1, "sshd", cmdline=b"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups\0"),
        P(11, 10, "sshd", uid=1000),
        P(12, 11, "bash", uid=1000, cmdline=b"-bash\0"),
        P(13, 12, "sleep", uid=1000, cmdline=b"sleep\x00100\0"),
        P(14, 12, "sleep", uid=0, cmdline=b"sleep\x00100\0"),
        P(15, 12, "sleep", uid=1000, cmdline=b"sleep\x00100\0"),
        P(16, 12, "defunct", state="Z", cmdline=b""),
        P(
            20,
            1,
            "app",
            threads=((21, "app"), (22, "worker-thread-1"), (23, "app")),
            cmdline=b"/usr/bin/app\0--flag\0",
        ),
        P(30, 1, "B"),
        P(31, 1, "{b}"),
        P(32, 1, "_x"),
    ]
    _compare(
        tmp_path, procs, [(["1"], None), (["-s", "13"], None), (["2"], None), (["-a", "0"], None)]
    )


def test_pid_wrap_missing_parents_and_self_parent(tmp_path: Path) -> None:
    procs = [
        P(1, 0, "init"),
        P(5, 300, "worker"),
        P(7, 300, "worker"),
        P(9, 900, "lost"),
        P(11, 800, "lost"),
        P(12, 12, "selfish"),
        P(300, 1, "server"),
        P(301, 300, "worker"),
        P(400, 1, "a"),
        P(401, 400, "b", cmdline=b"b\0"),
        P(402, 401, "c"),
    ]
    _compare(tmp_path, procs, [(["-s", "402"], None), (["300"], None), (["900"], None)])


def test_no_pid_1_hangs_everything_under_a_placeholder(tmp_path: Path) -> None:
    procs = [P(50, 1, "daemon"), P(51, 50, "child"), P(60, 40, "orphan"), P(70, 1, "daemon")]
    _compare(tmp_path, procs, [(["50"], None), (["-s", "51"], None), (["-s", "99"], None)])


def test_proc_0_does_not_change_the_root_in_23_6(tmp_path: Path) -> None:
    procs = [P(0, 0, "swapper"), P(1, 0, "init"), P(2, 0, "kthreadd"), P(5, 1, "x")]
    _compare(tmp_path, procs, [(["1"], None)])


def test_names_and_command_lines(tmp_path: Path) -> None:
    long64 = "k" * 64
    procs = [
        P(1, 0, "init"),
        P(2, 1, "a b) (c", cmdline=b"a b) (c\0one\0two words\0", context=b"unconfined\n"),
        P(3, 1, b"w\xc3\xa9\\ird", cmdline=b"w\0\xc3\xbcn\xc3\xafc\xc3\xb6d\xc3\xa9\0tab\there\0"),
        P(4, 1, "x", cmdline=b"x\0child-of-a-one-letter-name\0", context=b"sys_u:r:t:s0\n"),
        P(5, 4, "y", cmdline=b"y\0z\0", context=b"no-newline"),
        P(16, 4, "z", context=b"nul\0inside\n"),
        P(17, 16, "w", context=b""),
        P(6, 1, long64, threads=((7, long64),)),
        P(8, 1, "k" * 70),
        P(9, 1, "nonul", cmdline=b"nonul no nul at all"),
        P(10, 1, "runs", cmdline=b"runs\0\0\0gap\0\0"),
        P(11, 1, "lead", cmdline=b"\0lead\0"),
        P(12, 1, "huge", cmdline=b"huge\0" + b"A" * 9000 + b"\0tail\0"),
        P(13, 1, "ctl", cmdline=b"ctl\0\x01\x7f\x80\xff\0"),
        P(14, 1, "e", cmdline=b""),
        P(15, 14, "f"),
    ]
    columns = [" 40", "+40", "040", "0x28", "08", "40 ", "abc", "-5", "0", "1", "2"]
    extra = [([], c) for c in columns] + [(["-a"], "30"), (["-a"], "12"), (["-a", "-p"], "70")]
    extra += [(["-a", "-t"], None), (["-a", "-c"], None), (["-a", "-U"], "2")]
    extra += [(["-Z"], None), (["-Z", "-a"], None), (["-Z", "-p", "-u"], "40"), (["-Z", "4"], None)]
    _compare(tmp_path, procs, extra)


def test_deep_chain_and_identical_subtrees(tmp_path: Path) -> None:
    procs = [P(1, 0, "init")]
    for depth in range(2, 130):
        procs.append(P(depth, depth - 1, f"d{depth % 7}"))
    base = 1000
    for k in range(3):
        top = base + 10 * k
        procs.append(P(top, 1, "bash", uid=1000 if k == 2 else 0))
        procs.append(P(top + 1, top, "sleep"))
        procs.append(P(top + 2, top, "sleep"))
        procs.append(P(top + 3, top, "tail", threads=((top + 4, "tail"), (top + 5, "tail"))))
    for k in range(30):
        procs.append(P(2000 + k, 1, "same"))
    _compare(tmp_path, procs, [(["-l"], None), (["-u", "-l"], None), ([], "200")])


def test_user_argument(tmp_path: Path) -> None:
    procs = [
        P(1, 0, "init"),
        P(10, 1, "cron"),
        P(11, 10, "job", uid=65534),
        P(12, 11, "step", uid=65534),
        P(20, 1, "web", uid=65534),
        P(21, 20, "worker", uid=33),
    ]
    _compare(
        tmp_path, procs, [(["nobody"], None), (["-u", "-p", "nobody"], None), (["daemon"], None)]
    )


def _random_table(seed: int) -> list[P]:
    rng = random.Random(seed)
    names = ["sh", "sleep", "sleep", "worker", "a", "B", "x y", "{t}"]
    procs = [P(1, 0, "init")]
    pids = [1]
    for _ in range(70):
        pid = rng.randrange(2, 5000)
        if pid in pids:
            continue
        # mostly real parents (often recent ones, for depth), sometimes missing ones
        ppid = rng.choice(pids[-8:] + pids[:3]) if rng.random() < 0.93 else rng.randrange(2, 6000)
        threads = tuple(
            (t, rng.choice(["w", "io"]))
            for t in range(pid * 10 + 50001, pid * 10 + 50001 + rng.choice([0, 0, 0, 2, 3]))
        )
        cmd = rng.choice([None, b"", b"prog\0arg\0", b"prog\0" + b"z" * rng.randrange(200) + b"\0"])
        procs.append(
            P(
                pid,
                ppid,
                rng.choice(names),
                uid=rng.choice([0, 0, 1000]),
                threads=threads,
                cmdline=cmd,
            )
        )
        pids.append(pid)
    return procs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_tables(tmp_path: Path, seed: int) -> None:
    # psmisc never sets the pgid of a "?" placeholder (uninitialised memory): no -g here
    _compare(
        tmp_path,
        _random_table(seed),
        [(["-u", "-a"], "60"), (["-n"], None)],
        pgids=False,
    )


def test_namespaces(tmp_path: Path) -> None:
    procs = [
        P(1, 0, "init", ns={}),
        P(10, 1, "containerd", ns={}),
        P(11, 10, "shim", ns={}),
        P(12, 11, "app", ns={"net": 2, "uts": 2, "pid": 2, "ipc": 2}),
        P(13, 12, "worker", ns={"net": 2, "uts": 2, "pid": 2, "ipc": 2}),
        P(14, 12, "worker", ns={"net": 2, "uts": 2, "pid": 2, "ipc": 2}),
        P(15, 12, "worker", ns={"net": 2, "uts": 2, "pid": 2, "ipc": 3}),
        P(20, 1, "sshd", ns={}),
        P(21, 20, "sandbox", ns={"net": 4}, threads=((22, "sandbox"),)),
        P(30, 1, "noproc"),  # no ns directory at all: inode 0, never "different"
        P(31, 30, "child", ns={"net": 5}),
    ]
    cases: list[tuple[list[str], str | None]] = [
        (["-S"], None),
        (["-S", "-p"], None),
        (["-S", "-a", "-u"], None),
        (["-S", "12"], None),
        (["-N", "net"], None),
        (["-N", "ipc", "-p"], None),
        (["-N", "uts", "-a"], None),
        (["-N", "net"], "20"),
        (["-N", "pid", "-S", "-c"], None),
        (["-N", "net", "12"], None),
        (["-N", "bogus"], None),
    ]
    _compare(tmp_path, procs, cases)
