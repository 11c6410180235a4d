"""Transaction building for a generated 1,000-unit graph, pidone vs systemd-analyze (issue 8).

The graph (seeded): `root.target` Wants= every service; each service u<i> Wants= 0-3 and is
After= 0-3 services of higher index (a DAG, so no cycles), DefaultDependencies=no, and
requires system.slice as every service does.

Measured:
* in-process (pidone): typing the units (core.units.build_unit), building the graph
  (core.depgraph), building the transaction for `root.target/start` (core.transaction);
  medians of --repeat runs;
* side by side, start-up included: `systemd-analyze verify root.target` with the directory as
  the only unit path (systemd 252 loads the units and builds the same start transaction,
  nothing runs) against one `python -c` that does what pidone does: load the directory
  (linux.unitload), type, graph, transaction. Medians, interleaved.
* the critical-path depth of the ordering (longest chain of jobs waiting for each other).

Not measured yet: a full start to all-active needs the daemon to install transactions; see
`full_start_time_to_all_active()` (TODO).

Run: `.venv/bin/python bench/transaction.py [--units 1000] [--repeat 7]`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pidone.core.depgraph import build_graph  # noqa: E402
from pidone.core.model import Unit  # noqa: E402
from pidone.core.specifiers import SpecifierHost  # noqa: E402
from pidone.core.targets import BUILTIN_UNITS  # noqa: E402
from pidone.core.transaction import TransactionResult, build_transaction  # noqa: E402
from pidone.core.unitfile import parse_unit_file  # noqa: E402
from pidone.core.unitname import KNOWN_SECTIONS  # noqa: E402
from pidone.core.units import build_unit  # noqa: E402
from pidone.core.unitsource import UnitSource  # noqa: E402

HOST = SpecifierHost(hostname="bench", machine_id="0" * 32)

PIDONE_SNIPPET = """
import sys
from pidone.core.depgraph import build_graph
from pidone.core.specifiers import SpecifierHost
from pidone.core.transaction import build_transaction
from pidone.core.units import build_unit
from pidone.linux.unitload import UnitLoader
host = SpecifierHost(hostname="bench", machine_id="0" * 32)
units = [build_unit(s, host) for s in UnitLoader().load_all()]
r = build_transaction(build_graph(units), "root.target", "start")
assert r.ok, r.error
print(len(r.jobs))
"""


def generate(n: int, seed: int = 8) -> dict[str, str]:
    rnd = random.Random(seed)
    names = [f"u{i}.service" for i in range(n)]
    texts: dict[str, str] = {}
    for i, name in enumerate(names):
        later = names[i + 1 :]
        wants = rnd.sample(later, min(len(later), rnd.randint(0, 3)))
        after = rnd.sample(later, min(len(later), rnd.randint(0, 3)))
        lines = ["[Unit]", f"Description=Unit {i}", "DefaultDependencies=no"]
        lines += [f"Wants={w}" for w in wants] + [f"After={a}" for a in after]
        lines += ["[Service]", "ExecStart=/bin/sleep infinity"]
        texts[name] = "\n".join(lines) + "\n"
    texts["root.target"] = "[Unit]\nDescription=Root\nWants=" + " ".join(names) + "\n"
    return texts


def build_units(texts: dict[str, str]) -> list[Unit]:
    units = []
    for name, text in texts.items():
        path = f"/bench/{name}"
        parsed = parse_unit_file(text.encode(), path, KNOWN_SECTIONS.get(name.rsplit(".", 1)[1]))
        source = UnitSource(name, name, (name,), "loaded", fragment_path=path, files=(parsed,))
        units.append(build_unit(source, HOST))
    return units


def critical_path(result: TransactionResult) -> int:
    """Longest chain of jobs, counting jobs (waits_for edges inside the transaction)."""
    depth: dict[int, int] = {}
    for job in result.jobs:  # runnable order: every wait comes before the waiter
        depth[job.id] = 1 + max((depth[w] for w in job.waits_for if w in depth), default=0)
    return max(depth.values(), default=0)


def timed(fn: object, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times), value


def side_by_side(directory: Path, repeat: int) -> tuple[float, float]:
    env = {**os.environ, "SYSTEMD_UNIT_PATH": str(directory), "PIDONE_UNIT_PATH": str(directory)}
    systemd_cmd = [
        "systemd-analyze",
        "verify",
        "--man=no",
        "--generators=no",
        str(directory / "root.target"),
    ]
    pidone_cmd = [sys.executable, "-c", PIDONE_SNIPPET]
    ours, theirs = [], []
    for _ in range(repeat):
        for cmd, out in ((systemd_cmd, theirs), (pidone_cmd, ours)):
            t = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            out.append(time.perf_counter() - t)
            if proc.returncode != 0:
                raise SystemExit(f"{cmd[0]} failed: {proc.stderr.strip()[:500]}")
    return statistics.median(ours), statistics.median(theirs)


def full_start_time_to_all_active() -> float:
    """TODO (needs the daemon): boot root.target in a PID namespace and time it until every
    unit is active, against critical-path depth x spawn cost. The manager does not install
    transactions yet (see docs/dependencies.md, "Not yet wired")."""
    raise NotImplementedError("full start needs the daemon to install transactions")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    texts = generate(args.units)
    builtins = {n: BUILTIN_UNITS[n].decode() for n in ("-.slice", "system.slice")}
    t_units, units = timed(lambda: build_units({**texts, **builtins}), args.repeat)
    t_graph, graph = timed(lambda: build_graph(units), args.repeat)  # type: ignore[arg-type]
    t_tx, result = timed(
        lambda: build_transaction(graph, "root.target", "start"),  # type: ignore[arg-type]
        args.repeat,
    )
    if not isinstance(result, TransactionResult) or not result.ok:
        raise SystemExit(f"transaction failed: {result}")
    edges = sum(t.count("\nWants=") + t.count("\nAfter=") for t in texts.values())
    print(f"graph: {args.units} services + root.target, {edges} Wants=/After= lines")
    print(f"jobs in the transaction: {len(result.jobs)}")
    print(f"critical-path depth (jobs): {critical_path(result)}")
    print(f"in-process medians of {args.repeat}:")
    print(f"  build_unit x{len(units)}: {t_units * 1000:.1f} ms")  # type: ignore[arg-type]
    print(f"  build_graph:           {t_graph * 1000:.1f} ms")
    print(f"  build_transaction:     {t_tx * 1000:.1f} ms")
    if shutil.which("systemd-analyze") is None:
        print("systemd-analyze not installed: no side-by-side run")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        # the slices are compiled into systemd; pidone's loader does not read core.targets
        # yet, so they are written as files (systemd's own system.slice is not shadowed in
        # a way that matters here: same name, no dependencies)
        for name, text in {**texts, **builtins}.items():
            (directory / name).write_text(text)
        ours, theirs = side_by_side(directory, args.repeat)
    print(f"side by side, start-up included, medians of {args.repeat}:")
    print(f"  systemd-analyze verify root.target: {theirs * 1000:.0f} ms")
    print(f"  pidone (load + type + graph + transaction): {ours * 1000:.0f} ms")
    print(f"  ratio pidone/systemd: {ours / theirs:.2f}")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
