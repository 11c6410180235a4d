"""The daemon's own share of a warm start, timed inside the daemon (no perf, no cProfile).

    .venv/bin/python bench/start_timeline.py [--runs N] [--only SERVICE] [--show K]
                                             [--base TREE [--rounds R]] [--wrap M:C.F]

Root; the same private namespaces and daemon as bench/real_services.py. The daemon runs
from this file (`--child`), which wraps a few functions of the daemon with four clock
reads each (perf_counter_ns and the loop thread's thread_time_ns; ~1-2 us per call) and
writes the records when it calls os._exit. For every start request (after two warm-ups)
it prints, in ms:

* request -> spawn: the loop woke with the request .. the plan's sendmsg(2) to the spawn
  helper (decoding, dispatch, transaction, cgroup, environment, plan);
* helper N: sendmsg .. the helper's reply read (the helper's work, linux/spawn_cgroup.py);
* process N: sendmsg .. the loop woke with command N's exit (the command's own run, as
  the daemon sees it: compare with the command run by hand);
* exit -> spawn N: the loop woke with command N-1's exit .. the next plan's sendmsg;
* exit -> reply: the loop woke with the last exit .. the reply's send(2) returned;
* daemon share: the sum of the above minus the helper round trips;
* cpu ...: the loop thread's CPU time over the same span (thread_time), which other
  processes running meanwhile do not inflate: on a busy 2-core box the steadier figure.

"Woke" is the return of the loop's epoll_wait(2), the first moment userspace knows. A
kernel event seen late (the loop busy) is not counted; perf sees it (real_services_phases).
`--show K` prints the raw records of the K-th timed start (wall, cpu, label).
`--wrap module:Class.function` times one more function. `--mask UNIT` masks UNIT in the
daemon's own unit directory (a host unit that cannot finish in the private namespaces).
`--base TREE` (e.g. `git archive COMMIT src | tar -x -C TREE`) runs daemons from TREE/src
and from this tree alternately, R rounds of N/R starts each, and prints both columns: on a
shared box, only such an interleaved comparison says whether a change helped.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import marshal
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
Record = tuple[str, str, int, int]  # label, "B"/"E"/"I", perf_counter_ns, thread_time_ns

# (module, class or "", function, label); every call is recorded.
WRAPPED = [
    ("selectors", "EpollSelector", "select", "select"),
    ("pidone.daemon.control", "Connection", "on_readable", "readable"),
    ("pidone.daemon.control", "Connection", "_dispatch", "dispatch"),
    ("pidone.daemon.control", "Connection", "_send", "send"),
    ("pidone.daemon.children", "ChildWatcher", "reap", "reap"),
    ("pidone.daemon.executor", "LinuxExecutor", "_spawn", "x.spawn"),
    ("pidone.daemon.executor", "LinuxExecutor", "_environment", "x.env"),
    ("pidone.daemon.executor", "LinuxExecutor", "_on_child_exit", "x.exit"),
    ("pidone.daemon.executor", "LinuxExecutor", "_read_pid_file", "x.pidfile"),
    ("pidone.daemon.executor", "LinuxExecutor", "_create_directories", "x.mkdirs"),
    ("pidone.daemon.executor", "LinuxExecutor", "_remove_directories", "x.rmdirs"),
    ("pidone.daemon.executor", "LinuxExecutor", "_state_changed", "x.state"),
    ("pidone.daemon.executor", "LinuxExecutor", "_drain", "x.drain"),
    ("pidone.core.manager", "Manager", "handle", "m.handle"),
    ("pidone.core.manager", "Manager", "_transaction", "m.tx"),
    ("pidone.daemon.logpipes", "LogCollector", "manager_record", "journal"),
    ("pidone.linux.cgroups", "CgroupTracker", "create", "cg.create"),
    ("pidone.linux.cgroups", "CgroupTracker", "is_empty", "cg.empty"),
    ("pidone.linux.spawn", "", "_build_plan", "plan"),
    ("pidone.linux.spawn", "", "spawn", "spawn"),
    ("pidone.linux.spawn_cgroup", "Spawner", "spawn", "helper"),
    ("pidone.daemon.verbs", "Requests", "reply", "v.reply"),
]


class _TimedSock:
    """The spawn helper's socket with its sendmsg/recv recorded."""

    def __init__(self, sock: Any, rec: Callable[[str, str], None]) -> None:
        self._sock = sock
        self._rec = rec

    def sendmsg(self, *a: Any) -> Any:
        self._rec("sendmsg", "I")
        return self._sock.sendmsg(*a)

    def recv(self, *a: Any) -> Any:
        out = self._sock.recv(*a)
        self._rec("recv", "I")
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def child(out: str, argv: list[str]) -> None:
    import importlib

    while argv and argv[0] == "--wrap":  # module:Class.function or module:function
        module, _, qual = argv[1].partition(":")
        cls, _, name = qual.rpartition(".")
        WRAPPED.append((module, cls, name, qual))
        argv = argv[2:]

    records: list[Record] = []
    clock = time.perf_counter_ns
    cpu = time.thread_time_ns  # the loop thread's CPU time: what preemption does not inflate
    append = records.append

    def rec(label: str, kind: str) -> None:
        append((label, kind, clock(), cpu()))

    def wrap(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def inner(*a: Any, **k: Any) -> Any:
            append((label, "B", clock(), cpu()))
            try:
                return fn(*a, **k)
            finally:
                append((label, "E", clock(), cpu()))

        return inner

    for module, cls, name, label in WRAPPED:
        mod = importlib.import_module(module)
        owner = getattr(mod, cls) if cls else mod
        setattr(owner, name, wrap(getattr(owner, name), label))
    from pidone.daemon import executor as executor_mod
    from pidone.linux import spawn_cgroup

    executor_mod.spawn = sys.modules["pidone.linux.spawn"]  # the wrapped module functions
    helper_class = getattr(spawn_cgroup, "_Helper", None)
    if helper_class is not None:  # one class per helper (the compiled and the Python one)
        helper_start = helper_class.start

        def timed_helper_start(self: Any) -> None:
            helper_start(self)
            self.sock = _TimedSock(self.sock, rec)

        helper_class.start = timed_helper_start
    else:  # (a --base tree from before csrc/pidone-spawn.c)
        start = spawn_cgroup.Spawner._start

        def timed_start(self: Any) -> None:
            start(self)
            self._sock = _TimedSock(self._sock, rec)

        spawn_cgroup.Spawner._start = timed_start
    orig_dispatch = sys.modules["pidone.daemon.control"].Connection._dispatch

    def dispatch(self: Any, request: Any) -> Any:
        rec(f"verb:{request.verb}", "I")
        return orig_dispatch(self, request)

    sys.modules["pidone.daemon.control"].Connection._dispatch = dispatch
    # The loop's wait: selectors' select() (wrapped above) in older trees, its own epoll
    # object's poll() since the loop uses epoll directly.
    from pidone.daemon.loop import EventLoop

    loop_init = EventLoop.__init__

    class TimedEpoll:
        def __init__(self, epoll: Any) -> None:
            self._epoll = epoll

        def poll(self, *a: Any) -> Any:
            append(("select", "B", clock(), cpu()))
            try:
                return self._epoll.poll(*a)
            finally:
                append(("select", "E", clock(), cpu()))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._epoll, name)

    def timed_init(self: Any, *a: Any, **k: Any) -> None:
        loop_init(self, *a, **k)
        if hasattr(self, "_epoll"):
            self._epoll = TimedEpoll(self._epoll)

    EventLoop.__init__ = timed_init  # type: ignore[method-assign]
    import gc

    def on_gc(phase: str, info: dict[str, int]) -> None:  # collections show as gcN spans
        append((f"gc{info['generation']}", "B" if phase == "start" else "E", clock(), cpu()))

    gc.callbacks.append(on_gc)
    real_exit = os._exit

    def dump_and_exit(code: int) -> None:
        with open(out, "wb") as f:
            marshal.dump(records, f)
        real_exit(code)

    os._exit = dump_and_exit  # type: ignore[assignment]
    from pidone.daemon import main as daemon_main

    dump_and_exit(daemon_main.main(argv))


def segments(records: list[Record]) -> list[list[Record]]:
    """The records of each start request: from its verb:start to the next verb."""
    out: list[list[Record]] = []
    current: list[Record] | None = None
    last_wake = (0, 0)
    since_wake: list[Record] = []  # the turn's records before the verb (accept, read)
    for r in records:
        if r[0] == "select" and r[1] == "E":
            last_wake = (r[2], r[3])
            since_wake = []
        if r[0].startswith("verb:"):
            if current is not None:
                out.append(current)
            current = None
            if r[0] == "verb:start":
                current = [("wake", "I", *last_wake), *since_wake]
        if current is not None:
            current.append(r)
        else:
            since_wake.append(r)
    if current is not None:
        out.append(current)
    return out


def phases(seg: list[Record], commands: int) -> dict[str, float] | None:
    """Wall-clock phases in ms, and the loop thread's CPU time in each ("cpu ..." keys)."""
    ph: dict[str, float] = {}
    at = seg[0]
    idx = 0
    for n in range(1, commands + 1):
        sent = next((i for i in range(idx, len(seg)) if seg[i][0] == "sendmsg"), None)
        if sent is None:
            return None
        got = next((i for i in range(sent, len(seg)) if seg[i][0] == "recv"), None)
        if got is None:
            return None
        key = "request -> spawn" if n == 1 else f"exit -> spawn {n}"
        ph[key] = (seg[sent][2] - at[2]) / 1e6
        ph[f"cpu {key}"] = (seg[sent][3] - at[3]) / 1e6
        ph[f"helper {n}"] = (seg[got][2] - seg[sent][2]) / 1e6
        # the exit reported after this spawn: the loop's wake-up before its x.exit
        ex = next(
            (i for i in range(got, len(seg)) if seg[i][0] == "x.exit" and seg[i][1] == "B"), None
        )
        if ex is None:
            return None
        wakes = [i for i in range(got, ex) if seg[i][0] == "select" and seg[i][1] == "E"]
        if not wakes:
            return None
        at = seg[wakes[-1]]
        ph[f"process {n}"] = (at[2] - seg[sent][2]) / 1e6  # sendmsg .. the exit's wake-up
        idx = ex
    reply = next(
        (i for i in range(idx, len(seg)) if seg[i][0] == "send" and seg[i][1] == "E"), None
    )
    if reply is None:
        return None
    ph["exit -> reply"] = (seg[reply][2] - at[2]) / 1e6
    ph["cpu exit -> reply"] = (seg[reply][3] - at[3]) / 1e6
    ph["daemon share"] = sum(
        v for k, v in ph.items() if not k.startswith(("helper", "cpu", "process"))
    )
    ph["cpu daemon share"] = sum(v for k, v in ph.items() if k.startswith("cpu "))
    return ph


def run_daemon(rs: Any, args: argparse.Namespace, runs: int, tmp: str) -> tuple[list, list]:
    """One daemon, `runs` timed starts after two warm-ups: (records, request times)."""

    out = os.path.join(tmp, "records.marshal")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(out)

    work = tempfile.mkdtemp(dir=tmp)
    ours = rs.Pidone(args.only, Path(work) / "d")
    for unit in args.mask:  # in the daemon's own unit directory, first on its path
        ours.daemon.unit_dir.mkdir(parents=True, exist_ok=True)
        (ours.daemon.unit_dir / unit).symlink_to("/dev/null")
    ours.daemon.daemon_command = [
        sys.executable, str(Path(__file__).resolve()), "--child", out,
        *[w for spec in args.wrap for w in ("--wrap", spec)],
    ]  # fmt: skip
    with ours:
        times = [ours.request() for _ in range(runs + 2)]
        ours.daemon.stop()
    deadline = time.monotonic() + 10
    while not os.path.exists(out) and time.monotonic() < deadline:
        time.sleep(0.05)
    with open(out, "rb") as f:
        records = marshal.load(f)
    if args.keep:
        shutil.copy(out, args.keep)
    return records, times[2:]


def collect(records: list[Record], commands: int, rows: dict[str, list[float]]) -> int:
    """Add each timed start's phases to `rows`; how many starts were complete."""
    done = 0
    for seg in segments(records)[2:]:
        ph = phases(seg, commands)
        if ph is None:
            continue
        done += 1
        for k, v in ph.items():
            rows.setdefault(k, []).append(v)
    return done


def summary(values: list[float]) -> str:
    q1, _med, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return f"{statistics.median(values):6.3f} ({q1:6.3f}-{q3:6.3f})"


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return 0
    sys.path.insert(0, str(HERE))
    import real_services as rs

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--only", choices=sorted(rs.SERVICES), default="nginx")
    p.add_argument("--wrap", action="append", default=[], help="also time module:Class.func")
    p.add_argument("--keep", help="keep the raw records (marshal) in this file")
    p.add_argument(
        "--mask",
        action="append",
        default=[],
        help="mask this unit for the daemons (e.g. a host's NetworkManager-wait-online."
        "service, which never finishes in the benchmark's network namespace)",
    )
    p.add_argument("--show", type=int, default=-1, help="print the records of this start")
    p.add_argument(
        "--base",
        help="a source tree (its src/ goes first on PYTHONPATH) to compare with: daemons "
        "of both run alternately, --rounds times --runs starts each",
    )
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    if os.geteuid() != 0:
        print("bench/start_timeline.py needs root (namespaces)")
        return 1
    rs.private_namespaces()
    os.environ.pop("PIDONE_UNIT_PATH", None)
    commands = len(rs.unit_lines(args.only)[0])
    sides = {"this tree": os.environ.get("PYTHONPATH")}
    if args.base:
        sides["base"] = str(Path(args.base).resolve() / "src")
    rows: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    times: dict[str, list[float]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="pidone-timeline-") as tmp:
        rounds = args.rounds if args.base else 1
        runs = args.runs // rounds if args.base else args.runs
        for i in range(rounds):
            for side in list(sides)[i % len(sides) :] + list(sides)[: i % len(sides)]:
                if sides[side] is None:
                    os.environ.pop("PYTHONPATH", None)
                else:
                    os.environ["PYTHONPATH"] = sides[side]  # type: ignore[assignment]
                records, took = run_daemon(rs, args, runs, tmp)
                times[side] += took
                collect(records, commands, rows[side])
                if i == 0 and side == "this tree" and args.show >= 0:
                    show(records, args.show)
    print(f"{args.only}: load {os.getloadavg()[0]:.1f}; ms median (quartiles)")
    keys = list(rows["this tree"])
    print(f"  {'':22s}" + "".join(f" {side:>21s}" for side in sides))
    for k in keys:
        cells = "".join(f" {summary(rows[side][k]):>21s}" for side in sides if rows[side].get(k))
        print(f"  {k:22s}{cells}")
    print(
        f"  {'request (client)':22s}"
        + "".join(f" {summary([t * 1e3 for t in times[side]]):>21s}" for side in sides)
    )
    print(
        f"  {'complete starts':22s}"
        + "".join(f" {len(rows[side].get('daemon share', [])):21d}" for side in sides)
    )
    return 0


def show(records: list[Record], k: int) -> None:
    segs = segments(records)[2:]
    if not 0 <= k < len(segs):
        return
    seg = segs[k]
    t0, c0 = seg[0][2], seg[0][3]
    depth = 0
    for label, kind, t, c in seg:
        depth -= kind == "E"
        print(f"{(t - t0) / 1e6:9.3f} {(c - c0) / 1e6:9.3f} {'  ' * depth}{kind} {label}")
        depth += kind == "B"


if __name__ == "__main__":
    sys.exit(main())
