"""The daemon's whole CPU per start and per stop of a real unit, per thread, this tree
against another (interleaved).

    .venv/bin/python bench/start_cpu.py [--runs N] [--only SERVICE] [--base TREE]
                                        [--rounds R]

Root; the same private namespaces and daemon as bench/real_services.py. Each round
starts SERVICE with `pidone start` from an already-running shell (as the bench does) and
stops it, and reads every daemon thread's CPU time (/proc/PID/task/TID/schedstat,
nanoseconds on the CPU) before and after each, so the figures hold everything the daemon
does for a start: the critical path that bench/start_timeline.py times, and the
bookkeeping after the spawn and after the reply, and the journal writer thread. On a box
with few cores that part competes with the service's own start (nginx's master forks
its workers while the daemon finishes the start's bookkeeping), so it counts too.
`--base TREE` (e.g. `git archive COMMIT src | tar -x -C TREE`) runs a daemon from
TREE/src in alternate rounds; medians per start and per stop, ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import real_services as rs  # noqa: E402


def thread_cpu(pid: int) -> dict[str, int]:
    """Thread name -> nanoseconds on the CPU, for every thread of `pid`."""
    out: dict[str, int] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            name = f.read().strip()
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            ns = int(f.read().split()[0])
        key = "loop" if tid == str(pid) else name
        out[key] = out.get(key, 0) + ns
    return out


def measure(service: str, runs: int, tree: str | None, work: Path) -> dict[str, list[float]]:
    """Per-run CPU ms of each daemon thread, for the starts and the stops."""
    env_before = os.environ.get("PYTHONPATH")
    if tree is not None:
        os.environ["PYTHONPATH"] = f"{tree}/src"
    try:
        p = rs.Pidone(service, work)
        with p:
            p.request()  # the first start loads and starts the dependencies
            p.request()
            pid = p.daemon.pid1
            env = {**p.daemon.env, "PIDONE_LAUNCHER": p.launcher}
            got: dict[str, list[float]] = {}
            for _ in range(runs):
                a = thread_cpu(pid)
                rs.from_shell(f'"$PIDONE_LAUNCHER" start {p.unit}', env, own_pid_namespace=False)
                b = thread_cpu(pid)
                p.daemon.call("stop", units=[p.unit])
                rs.wait_port_free()
                c = thread_cpu(pid)
                for name in b:
                    got.setdefault(f"start {name}", []).append((b[name] - a.get(name, 0)) / 1e6)
                    got.setdefault(f"stop {name}", []).append((c.get(name, 0) - b[name]) / 1e6)
            return got
    finally:
        if env_before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = env_before


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--only", default="nginx", choices=sorted(rs.SERVICES))
    ap.add_argument("--base", help="another tree (with src/) to run alternately")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/start_cpu.py needs root (namespaces)")
        return 1
    rs.private_namespaces()
    trees: list[str | None] = [None] + ([args.base] if args.base else [])
    totals: dict[str | None, dict[str, list[float]]] = {t: {} for t in trees}
    per_round = max(1, args.runs // args.rounds)
    with tempfile.TemporaryDirectory(prefix="pidone-bench-cpu-") as tmp:
        for r in range(args.rounds):
            for i, tree in enumerate(trees):
                got = measure(args.only, per_round, tree, Path(tmp) / f"{r}-{i}")
                for key, values in got.items():
                    totals[tree].setdefault(key, []).extend(values)
    print(f"{args.only}: CPU ms per start / stop, median of {per_round * args.rounds}, "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    keys = sorted({k for t in trees for k in totals[t]})
    print(f"  {'':28s} {'this tree':>10s}" + (f" {'base':>10s}" if args.base else ""))
    for key in keys:
        row = f"  {key:28s}"
        for tree in trees:
            values = totals[tree].get(key)
            row += f" {statistics.median(values):10.2f}" if values else f" {'-':>10s}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
