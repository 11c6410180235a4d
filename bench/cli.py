"""CLI start-up bench (issue 6): `pidone is-active X` and `pidone status X` end to end against a
running daemon with X active, as ratios to `python3 -c pass` measured in the same run.

The daemon runs as PID 1 of a private PID namespace (pidone.testing.harness), X is a
`sleep` service, F a service that failed (its status describes an exit). Commands run
through the real launcher (`.venv/bin/pidone`) and through the `systemctl` shim made by
`pidone install-shims` (the same cli.status, behind the shim's own daemon check),
interleaved, N runs each, medians, stdout to /dev/null. `--importtime` also prints the ten
most expensive imports of each command (`python -X importtime`).

Run as root: `.venv/bin/python bench/cli.py [-n 31] [--importtime]`. Goals: is-active <= 2.5x,
status <= 3x.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pidone.cli import shims  # noqa: E402
from pidone.testing.harness import NamespaceDaemon  # noqa: E402

UNIT = "[Unit]\nDescription=bench target\n\n[Service]\nExecStart=/bin/sleep 100000\n"
FAILING = "[Unit]\nDescription=bench failure\n\n[Service]\nExecStart=/bin/sh -c 'echo no; exit 3'\n"


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - start


def importtime(argv: list[str], env: dict[str, str]) -> list[tuple[int, str]]:
    """(cumulative µs, module) of the slowest imports, from `python -X importtime`."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        rows.append((int(parts[1]), parts[2].strip()))
    return sorted(rows, reverse=True)[:10]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=31)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/cli.py needs root (PID namespace for the daemon)")
    compileall.compile_dir(str(ROOT / "src" / "pidone"), quiet=1)
    pidone = str(Path(sys.executable).parent / "pidone")
    work = Path(tempfile.mkdtemp(prefix="pidone-bench-cli-"))
    shims.install(str(work / "prefix"))
    systemctl = str(work / "prefix" / "bin" / "systemctl")
    with NamespaceDaemon(work / "ns", {"x.service": UNIT, "f.service": FAILING}) as daemon:
        env = dict(daemon.env)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        started = subprocess.run([pidone, "start", "x.service"], env=env, check=False)
        assert started.returncode == 0
        check = subprocess.run([pidone, "is-active", "x.service"], env=env, capture_output=True)
        assert check.stdout == b"active\n", check
        subprocess.run([pidone, "start", "f.service"], env=env, check=False)
        daemon.wait_state("f.service", "failed/failed")
        commands = {
            "python3 -c pass": [sys.executable, "-c", "pass"],
            "pidone is-active x": [pidone, "is-active", "x.service"],
            "pidone status x": [pidone, "status", "x.service"],
            "pidone status f (failed)": [pidone, "status", "f.service"],
            "systemctl (shim) is-active x": [systemctl, "is-active", "x.service"],
            "systemctl (shim) status x": [systemctl, "status", "x.service"],
            "systemctl (shim) status -n 0 x": [systemctl, "status", "-n", "0", "x.service"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.n):
            for name, argv in commands.items():
                times[name].append(run_once(argv, env))
        load = os.getloadavg()[0]
        base = statistics.median(times["python3 -c pass"])
        print(f"{args.n} interleaved runs each, medians, load average {load:.1f}")
        print("| command | median | ratio to `python3 -c pass` |")
        print("|---|---|---|")
        for name, samples in times.items():
            med = statistics.median(samples)
            print(f"| `{name}` | {med * 1000:.1f} ms | {med / base:.2f} |")
        if args.importtime:
            for name, argv in commands.items():
                if argv[0] == sys.executable:
                    continue
                script = [argv[0], *argv[1:]]
                print(f"\nslowest imports of `{name}` (cumulative µs):")
                for us, module in importtime(script, env):
                    print(f"  {us:>8} {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
