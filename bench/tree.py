"""Bench: `pidone tree -p` against `pstree -p` with 2,000 extra sleeping processes.

Usage: .venv/bin/python bench/tree.py [--extra 2000] [--runs 15]

The extra processes are `sleep` children of a private PID namespace's init
(`unshare --pid --fork --kill-child`), so killing the unshare process removes them all.
Runs are interleaved (pstree, pidone, pstree, ...), stdout goes to /dev/null, and each
time includes process start-up (for pidone: the console script and interpreter). The
median of each command and the ratio pidone/pstree are printed as a Markdown section for
bench/RESULTS.md. The goal of issue 7 is ratio <= 0.6 for `-p`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

SPAWNER = r"""
import os, sys
n = int(sys.argv[1])
for _ in range(n):
    os.posix_spawn("/bin/sleep", ["sleep", "3600"], {})
print("ready", flush=True)
sys.stdin.read()
"""


def count_procs() -> int:
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


def pidone_command() -> list[str]:
    script = Path(sys.executable).parent / "pidone"
    if script.exists():
        return [str(script)]
    found = shutil.which("pidone")
    return [found] if found else [sys.executable, "-m", "pidone"]


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=15)
    opts = parser.parse_args()
    pstree = shutil.which("pstree")
    unshare = shutil.which("unshare")
    if pstree is None or unshare is None:
        print("pstree (psmisc) and unshare are needed", file=sys.stderr)
        return 2
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONDONTWRITEBYTECODE")}
    env["LANG"] = "C.UTF-8"
    before = count_procs()
    holder = subprocess.Popen(
        [
            unshare,
            "--pid",
            "--fork",
            "--kill-child",
            sys.executable,
            "-c",
            SPAWNER,
            str(opts.extra),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None
        if holder.stdout.readline() != b"ready\n":
            print("the spawner failed", file=sys.stderr)
            return 1
        deadline = time.monotonic() + 60
        while count_procs() < before + opts.extra and time.monotonic() < deadline:
            time.sleep(0.1)
        total = count_procs()
        ours = pidone_command()
        cases = [
            ("-p", [pstree, "-p"], [*ours, "tree", "-p"]),
            ("(default)", [pstree], [*ours, "tree"]),
        ]
        rows = []
        for label, theirs_argv, ours_argv in cases:
            for argv in (theirs_argv, ours_argv):  # warm-up: page cache, .pyc files
                timed(argv, env)
            theirs_t: list[float] = []
            ours_t: list[float] = []
            for _ in range(opts.runs):
                theirs_t.append(timed(theirs_argv, env))
                ours_t.append(timed(ours_argv, env))
            a, b = statistics.median(theirs_t), statistics.median(ours_t)
            rows.append((label, a, b))
        load = os.getloadavg()[0]
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"## tree: `pidone tree` vs psmisc `pstree` 23.6 ({stamp})")
    print()
    print(
        f"{total} processes ({opts.extra} extra sleeps), {opts.runs} interleaved runs each, "
        f"medians, start-up included, stdout to /dev/null, load average {load:.2f}."
    )
    print()
    print("| options | pstree | pidone tree | ratio |")
    print("|---|---|---|---|")
    for label, a, b in rows:
        print(f"| `{label}` | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {b / a:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
