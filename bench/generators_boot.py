"""What running the unit generators costs a PID-1 daemon: start-up to "accepting requests".

    .venv/bin/python bench/generators_boot.py [--runs N]

Root and unshare(1). Each round starts pidoned as PID 1 of a fresh PID+mount+net namespace
with systemd's unit directories on its path (pidone.testing.harness, isolated=True), once
with the system's generators (linux/generators.py) and once with PIDONE_GENERATOR_PATH=""
(none), in alternating order, and times the spawn of `unshare` until the control socket
answers (polled every 2 ms). Prints medians and quartiles and the ratio, then the time of
the generators pass alone (run_generators() into a scratch directory, same process).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pidone.linux.generators import find_generators, run_generators
from pidone.testing.harness import HarnessError, NamespaceDaemon


class TimedDaemon(NamespaceDaemon):
    """A namespace daemon polled every 2 ms, with or without generators."""

    def __init__(self, workdir: Path, generators: bool) -> None:
        super().__init__(workdir, isolated=True)
        self.generators = generators

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        if not self.generators:
            env["PIDONE_GENERATOR_PATH"] = ""
        else:
            env.pop("PIDONE_GENERATOR_PATH", None)
        return env

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 30.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise HarnessError(f"timed out waiting for {what}:\n{self.log()}")
            time.sleep(0.002)


def one(base: Path, generators: bool) -> float:
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        d = TimedDaemon(Path(tmp), generators)
        t0 = time.perf_counter()
        try:
            d.start()
            elapsed = time.perf_counter() - t0
            d.stop()
        finally:
            d.close()
    return elapsed


def quartiles(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=4)
    median = statistics.median(xs) * 1000
    return f"median {median:6.1f} ms  (q1 {q[0] * 1000:.1f}, q3 {q[2] * 1000:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (PID namespaces)")
    base = Path(tempfile.mkdtemp(prefix="pidone-genboot-"))
    with_gen: list[float] = []
    without: list[float] = []
    for i in range(args.runs):
        order = (True, False) if i % 2 == 0 else (False, True)
        for flag in order:
            (with_gen if flag else without).append(one(base, flag))
    print(f"generators on this host: {len(find_generators())}")
    print(f"start-up, with generators:    {quartiles(with_gen)}")
    print(f"start-up, without generators: {quartiles(without)}")
    ratio = statistics.median(with_gen) / statistics.median(without)
    print(f"ratio with/without: {ratio:.2f}")
    alone = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        run_generators(str(base / "out"))
        alone.append(time.perf_counter() - t0)
    print(f"generators pass alone:        {quartiles(alone)}")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
