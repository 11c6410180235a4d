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
* `--full-start` (root only: a PID namespace): a real `pidone daemon --boot` as PID 1 of a
  PID namespace boots the same graph (services alternately `sleep infinity` and oneshot
  `true` with RemainAfterExit=yes; default.target -> root.target). All-active is the span
  from the first unit leaving inactive to the last one entering active, from the daemon's
  own timestamps once no job is left. The theoretical critical path is the ordering depth x
  the cost of one unit on a serial path, measured in a second daemon as a 50-unit After=
  chain (same type mix) / 50; the daemon spawns serially (one fork, then its exec report),
  so n x that cost bounds the boot too. Then SIGTERM (the units have
  DefaultDependencies=no: no conflict with shutdown.target, so they go in the parallel stop
  that follows it); time to exit.
* `--systemd-oracle PATH/sd-oracle` (with --full-start): the same chain and graph started by
  systemd 252 (`systemctl start --no-block`, then wait for `No jobs running.`) in the
  shared/oracle container, same spans from its Inactive/ActiveEnter timestamps; ratios.

Run: `.venv/bin/python bench/transaction.py [--units 1000] [--repeat 7] [--full-start
[--systemd-oracle ../shared/oracle/sd-oracle]]`.
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


def service_text(index: int, head: list[str]) -> str:
    """Even units: `sleep infinity` (simple); odd units: oneshot `true`, RemainAfterExit=yes."""
    if index % 2 == 0:
        body = ["[Service]", "ExecStart=/bin/sleep infinity"]
    else:
        body = ["[Service]", "Type=oneshot", "RemainAfterExit=yes", "ExecStart=/bin/true"]
    return "\n".join([*head, *body]) + "\n"


def runnable_texts(texts: dict[str, str]) -> dict[str, str]:
    """The generated graph with the type mix of service_text(); root.target isolatable."""
    out: dict[str, str] = {}
    for name, text in texts.items():
        if name == "root.target":
            out[name] = text.replace("[Unit]\n", "[Unit]\nAllowIsolate=yes\n", 1)
            continue
        head = text.split("[Service]")[0].rstrip("\n").split("\n")
        out[name] = service_text(int(name[1:].split(".")[0]), head)
    return out


def chain_texts(n: int) -> dict[str, str]:
    """n units, each After=+Wants= the previous one: a purely serial start."""
    texts: dict[str, str] = {}
    for i in range(n):
        head = ["[Unit]", "DefaultDependencies=no"]
        if i:
            head += [f"Wants=c{i - 1}.service", f"After=c{i - 1}.service"]
        texts[f"c{i}.service"] = service_text(i, head)
    names = " ".join(texts)
    texts["root.target"] = f"[Unit]\nAllowIsolate=yes\nWants={names}\nAfter={names}\n"
    return texts


def _span(rows: list[dict[str, float]]) -> float:
    """First unit leaving inactive -> last unit entering active (monotonic seconds)."""
    return max(r["active"] for r in rows) - min(r["inactive_exit"] for r in rows)


def boot_once(texts: dict[str, str], workdir: Path) -> tuple[float, float, int]:
    """(first unit leaving inactive -> last unit active, SIGTERM -> exit, active services)
    for one `pidone daemon --boot` in a PID namespace, from the daemon's own timestamps
    (CLOCK_MONOTONIC, the same inside the PID namespace) once no job is left. (root.target is
    not After= its units here: they have DefaultDependencies=no, spec 04 §7.) Everything is
    killed at the end."""
    from pidone.testing.harness import NamespaceDaemon

    services = [name for name in texts if name.endswith(".service")]
    d = NamespaceDaemon(workdir, texts, args=["--boot"])
    os.symlink("root.target", d.unit_dir / "default.target")
    with d:

        def settled() -> bool:
            ping = d.call("ping")
            return not ping.get("starting") and not d.call("list-jobs")["jobs"]

        d.wait_for(settled, 600, "the boot jobs to finish")
        runtime = d.call("show-runtime", units=services)["units"]
        rows = [
            {"active": u["active_enter"][1] / 1e6, "inactive_exit": u["inactive_exit"][1] / 1e6}
            for u in runtime
        ]
        active = sum(1 for u in runtime if u.get("active_state") == "active")
        t_term = time.monotonic()
        code = d.stop(timeout=600)
        t_exit = time.monotonic()
        if code != 0:
            raise SystemExit(f"daemon exited {code}")
    return _span(rows), t_exit - t_term, active


_SD_WAIT = "while ! systemctl list-jobs | grep -q 'No jobs running'; do sleep 0.2; done"


def systemd_start(graph: dict[str, str], chain: dict[str, str], oracle: str) -> tuple[float, float]:
    """(graph all-active span, chain span) of systemd 252 starting the same units in the
    sd-oracle container (shared/oracle: one container at a time; it is taken down after)."""
    status = subprocess.run([oracle, "status"], capture_output=True, text=True, check=False)
    if status.returncode != 3:
        raise SystemExit("sd-oracle is in use (one container at a time): try later")
    chain = {n.replace("root.target", "chain.target"): t for n, t in chain.items()}
    spans = []
    with tempfile.TemporaryDirectory(prefix="pidone-bench-sd-") as tmp:
        directory = Path(tmp) / "units"
        directory.mkdir()
        for name, text in {**graph, **chain}.items():
            (directory / name).write_text(text)
        subprocess.run([oracle, "up"], check=True, capture_output=True)
        try:

            def run(script: str) -> str:
                cmd = [oracle, "run", "sh", "-c", script]
                return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout

            cp_in = [oracle, "cp-in", str(directory), "/etc/systemd/bench"]
            subprocess.run(cp_in, check=True, capture_output=True)
            run("cp /etc/systemd/bench/* /etc/systemd/system/ && systemctl daemon-reload")
            for target, units in (("chain.target", chain), ("root.target", graph)):
                names = " ".join(n for n in units if n.endswith(".service"))
                out = run(
                    f"systemctl start --no-block {target} && {_SD_WAIT} && systemctl show -p "
                    f"ActiveState,InactiveExitTimestampMonotonic,ActiveEnterTimestampMonotonic "
                    f"{names}"
                )
                rows, active = [], 0
                for block in out.strip().split("\n\n"):
                    kv = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
                    active += kv.get("ActiveState") == "active"
                    rows.append(
                        {
                            "active": int(kv["ActiveEnterTimestampMonotonic"]) / 1e6,
                            "inactive_exit": int(kv["InactiveExitTimestampMonotonic"]) / 1e6,
                        }
                    )
                if active != len(rows):
                    raise SystemExit(f"systemd: {active} of {len(rows)} active for {target}")
                spans.append(_span(rows))
        finally:
            subprocess.run([oracle, "down"], check=False, capture_output=True)
    return spans[1], spans[0]


def full_start(texts: dict[str, str], depth: int, oracle: str | None, chain: int = 50) -> None:
    """The `--full-start` measurement of the module docstring."""
    graph, serial_chain = runnable_texts(texts), chain_texts(chain)
    with tempfile.TemporaryDirectory(prefix="pidone-bench-") as tmp:
        base = Path(tmp)
        c_boot, _stop, c_active = boot_once(serial_chain, base / "chain")
        if c_active != chain:
            raise SystemExit(f"chain: {c_active} of {chain} active")
        per_unit = c_boot / chain
        boot, stop, active = boot_once(graph, base / "graph")
    n = sum(1 for name in texts if name.endswith(".service"))
    theory = depth * per_unit
    print(f"full start under `pidone daemon --boot` (PID 1 of a PID namespace), {n} units:")
    print(f"  one unit on a serial path ({chain}-unit After= chain): {per_unit * 1000:.1f} ms")
    print(f"  active services: {active} of {n}")
    print(f"  all-active: {boot:.2f} s (first unit leaving inactive -> last unit active)")
    print(f"  critical path: depth {depth} x {per_unit * 1000:.1f} ms = {theory:.2f} s")
    print(f"  ratio all-active / critical path: {boot / theory:.1f}")
    # The daemon forks one unit at a time and waits for each child's exec report
    # (linux/spawn.py), so n units cost at least n spawns one after the other.
    serial = n * per_unit
    print(f"  serial spawn bound: {n} x {per_unit * 1000:.1f} ms = {serial:.2f} s")
    print(f"  ratio all-active / max(critical path, spawn bound): {boot / max(theory, serial):.2f}")
    # DefaultDependencies=no: no Conflicts=shutdown.target, so shutdown.target is reached at
    # once and the stop of what is left follows, all in parallel (daemon/boot.py rule 2).
    print(f"  SIGTERM -> exit (shutdown.target, then the rest in parallel): {stop:.2f} s")
    if oracle:
        sd_boot, sd_chain = systemd_start(graph, serial_chain, oracle)
        sd_unit = sd_chain / chain
        print("systemd 252 in the sd-oracle container, same units (`systemctl start`):")
        print(f"  one unit on a serial path: {sd_unit * 1000:.1f} ms")
        print(f"  all-active: {sd_boot:.2f} s; critical path {depth} x: {depth * sd_unit:.2f} s")
        print(f"  ratio pidone/systemd all-active: {boot / sd_boot:.2f}")
        print(f"  ratio pidone/systemd one serial unit: {per_unit / sd_unit:.2f}")
    print(f"load average: {os.getloadavg()[0]:.1f}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--full-start", action="store_true", help="also boot it (root, namespace)")
    ap.add_argument(
        "--systemd-oracle",
        metavar="SD_ORACLE",
        default=None,
        help="with --full-start: the same start by systemd 252 in shared/oracle's container",
    )
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
    if args.full_start:
        full_start(texts, critical_path(result), args.systemd_oracle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
