"""`pidone list-unit-files --root=/` vs `systemctl --root=/ list-unit-files`, plus in-process load.

Runs both commands interleaved N times (start-up included; pidone through the venv's
console script), prints medians and the ratio, then times, in-process, (a) the
list-unit-files computation, (b) loading every unit on the machine (UnitLoader.load_all),
and (c) typing them (core.units.build_unit) when that module is present.

    .venv/bin/python bench/list_unit_files.py [-n RUNS] [--root DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PIDONE = os.path.join(os.path.dirname(HERE), ".venv", "bin", "pidone")


# An installed pidone has byte-compiled modules; make sure ours are too (and current), even
# when the calling shell sets PYTHONDONTWRITEBYTECODE.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_package() -> None:
    import compileall

    import pidone

    sys.dont_write_bytecode = False
    compileall.compile_dir(os.path.dirname(pidone.__file__), quiet=1)


def run_once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
    return time.perf_counter() - start


def in_process(root: str, repeat: int) -> dict[str, float]:
    from pidone.linux.install import DiskFS, list_unit_files
    from pidone.linux.unitload import UnitLoader
    from pidone.linux.unitpaths import build_unit_paths

    out: dict[str, list[float]] = {"list": [], "load": [], "type": []}
    count = 0
    for _ in range(repeat):
        paths = build_unit_paths(root)
        t0 = time.perf_counter()
        list_unit_files(paths, fs=DiskFS(paths))
        t1 = time.perf_counter()
        sources = UnitLoader(paths).load_all()
        t2 = time.perf_counter()
        out["list"].append(t1 - t0)
        out["load"].append(t2 - t1)
        count = len(sources)
        try:
            from pidone.core.units import build_unit
            from pidone.linux.hostfacts import read_specifier_host
        except ImportError:
            continue
        host = read_specifier_host(root)
        t3 = time.perf_counter()
        for source in sources:
            build_unit(source, host)
        out["type"].append(time.perf_counter() - t3)
    result = {k: statistics.median(v) * 1000 for k, v in out.items() if v}
    result["units"] = count
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=15)
    parser.add_argument("--root", default="/")
    args = parser.parse_args()
    compile_package()
    ours = [PIDONE, "list-unit-files", f"--root={args.root}"]
    theirs = ["systemctl", f"--root={args.root}", "list-unit-files"]
    same = (
        subprocess.run(ours, capture_output=True, check=False).stdout
        == subprocess.run(theirs, capture_output=True, check=False).stdout
    )
    times: dict[str, list[float]] = {"pidone": [], "systemctl": []}
    for _ in range(args.runs):
        times["systemctl"].append(run_once(theirs))
        times["pidone"].append(run_once(ours))
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    load = os.getloadavg()[0]
    print(f"root={args.root} runs={args.runs} load={load:.2f} identical_stdout={same}")
    print(f"systemctl --root list-unit-files  median {med['systemctl']:8.1f} ms")
    print(f"pidone list-unit-files --root     median {med['pidone']:8.1f} ms")
    print(f"ratio pidone/systemctl            {med['pidone'] / med['systemctl']:8.2f}")
    inproc = in_process(args.root, 5)
    print(f"in-process list-unit-files        median {inproc['list']:8.1f} ms")
    print(f"in-process load all {int(inproc['units'])} units      median {inproc['load']:8.1f} ms")
    if "type" in inproc:
        print(f"in-process type all units         median {inproc['type']:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
