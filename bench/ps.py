"""Side-by-side timing of `pidone ps` and procps `ps` with 2,000 extra processes.

Usage: .venv/bin/python bench/ps.py [--extra 2000] [--runs 11] [--pidone PATH]

Starts EXTRA `sleep` processes inside a private PID namespace (unshare --pid --fork
--kill-child, so killing one process reaps them all, even if this script dies), then
runs the commands interleaved (procps, pidone, pidone with PIDONE_PS_JOBS=1, =2,
procps, ...), stdout to /dev/null, and prints the median wall time of each, the ratio
to procps, the median CPU time, and the process count. Interpreter start-up is
included: pidone runs as its console script.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PIDONE = os.path.join(ROOT, ".venv", "bin", "pidone")
CASES = (["aux"], ["-ef"], ["ux"])


def count_procs() -> int:
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


def start_sleepers(extra: int) -> subprocess.Popen[bytes]:
    script = f"i=0; while [ $i -lt {extra} ]; do sleep 100000 & i=$((i+1)); done; wait"
    cmd = ["sh", "-c", script]
    if shutil.which("unshare") and os.geteuid() == 0:
        cmd = ["unshare", "--pid", "--fork", "--kill-child", *cmd]
    before = count_procs()
    proc = subprocess.Popen(cmd, start_new_session=True)
    deadline = time.monotonic() + 120
    while count_procs() < before + extra and time.monotonic() < deadline:
        time.sleep(0.2)
    return proc


def stop_sleepers(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def time_once(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+system) of one run."""
    with open(os.devnull, "wb") as null:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, stdout=null, check=False, env=env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def compile_bytecode() -> None:
    # An installed package has its bytecode cached (pip compiles it). This shell exports
    # PYTHONDONTWRITEBYTECODE=1, which would make every pidone run recompile its modules,
    # so write the __pycache__ files once up front (they are git-ignored).
    src = os.path.join(ROOT, "src", "pidone")
    subprocess.run([sys.executable, "-m", "compileall", "-q", src], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--pidone", default=DEFAULT_PIDONE)
    args = parser.parse_args()
    ps = shutil.which("ps")
    if ps is None:
        print("procps ps not found", file=sys.stderr)
        return 1
    compile_bytecode()
    variants = {
        "1 job": dict(os.environ, PIDONE_PS_JOBS="1"),
        "2 jobs": dict(os.environ, PIDONE_PS_JOBS="2"),
    }
    sleepers = start_sleepers(args.extra) if args.extra else None
    try:
        total = count_procs()
        load = os.getloadavg()[0]
        cpus = len(os.sched_getaffinity(0))
        print(f"processes: {total} ({args.extra} extra), runs per command: {args.runs}, "
              f"load average at start: {load:.2f}, CPUs: {cpus}")  # fmt: skip
        print(
            f"{'command':<10} {'procps':>8} {'pidone':>8} {'ratio':>6} | "
            f"{'procps cpu':>10} {'pidone cpu':>10} {'ratio':>6} | "
            + " | ".join(f"{name:>9} {'ratio':>6}" for name in variants)
        )
        print("(medians in ms; wall time unless marked cpu = user+system of the child;")
        print(" pidone = its default: a second reading process only when a CPU is idle)")
        for case in CASES:
            theirs: list[tuple[float, float]] = []
            ours: list[tuple[float, float]] = []
            forced: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
            for _ in range(args.runs):
                theirs.append(time_once([ps, *case]))
                ours.append(time_once([args.pidone, "ps", *case]))
                for name, env in variants.items():
                    forced[name].append(time_once([args.pidone, "ps", *case], env))
            a, b = (statistics.median(w for w, _ in xs) * 1000 for xs in (theirs, ours))
            ac, bc = (statistics.median(u for _, u in xs) * 1000 for xs in (theirs, ours))
            extra = []
            for runs in forced.values():
                c = statistics.median(w for w, _ in runs) * 1000
                extra.append(f"{c:9.1f} {c / a:6.2f}")
            print(
                f"{'ps ' + ' '.join(case):<10} {a:8.1f} {b:8.1f} {b / a:6.2f} | "
                f"{ac:10.1f} {bc:10.1f} {bc / ac:6.2f} | " + " | ".join(extra)
            )
    finally:
        if sleepers is not None:
            stop_sleepers(sleepers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
