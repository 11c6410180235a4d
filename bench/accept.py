"""Per-connection cost of Accept=yes socket activation: the 1st-20th vs the 181st-200th
connection (issue 8: each connection loads a new `echo@N-...service` instance).

Two measurements, medians in milliseconds:
* `pure`: core.manager.Manager with pidone.testing's FakeExecutor, a 40-unit setup (40
  services wanted by a target, all started) plus `echo.socket`; one connection = the
  ConnectionAccepted event (instance loaded from its template, start job, spawn) plus the
  instance's exit. `--emulate-old` also times the behaviour before the incremental graph
  and garbage collection (the graph dropped for a rebuild whenever a unit is loaded; no
  instance ever dropped), in the same process, for the ratio.
* `daemon` (root only): `pidone daemon` as PID 1 of a PID namespace
  (pidone.testing.harness) with the same 40 services running and an Accept=yes socket whose
  instance is `/bin/sh -c 'read l; echo got $l'`; one connection = connect, send a line,
  read to EOF. Then the number of `echo@` units `list-units --all` still shows.

There is no systemd side: systemd 252 cannot run as PID 1 on this host. The figure of merit
is the late/early ratio (1.0: the cost does not grow with connections).

Run: `.venv/bin/python bench/accept.py [--connections 200] [--emulate-old] [--no-daemon]`.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pidone.core import events as ev  # noqa: E402
from pidone.core.manager import Manager  # noqa: E402
from pidone.core.model import Unit  # noqa: E402
from pidone.core.socketseam import ConnectionAccepted, ListenersOpened  # noqa: E402
from pidone.core.specifiers import SpecifierHost  # noqa: E402
from pidone.core.unitfile import parse_unit_file  # noqa: E402
from pidone.core.unitname import KNOWN_SECTIONS  # noqa: E402
from pidone.core.units import build_unit  # noqa: E402
from pidone.core.unitsource import UnitSource  # noqa: E402
from pidone.testing.fakes import FakeExecutor  # noqa: E402

HOST = SpecifierHost(hostname="bench", machine_id="0" * 32)
N_SERVICES = 40
ECHO = "[Service]\nStandardInput=socket\nExecStart=/bin/sh -c 'read l; echo got $l'\n"


def _unit(name: str, text: str) -> Unit:
    utype = name.rsplit(".", 1)[-1]
    path = f"/etc/systemd/system/{name}"
    parsed = parse_unit_file(text.encode(), path, KNOWN_SECTIONS.get(utype))
    source = UnitSource(
        name=name, id=name, names=(name,), load_state="loaded", fragment_path=path, files=(parsed,)
    )
    return build_unit(source, HOST)


def _texts(port: int) -> dict[str, str]:
    texts = {
        f"s{i}.service": "[Service]\nExecStart=/bin/sleep infinity\n" for i in range(N_SERVICES)
    }
    wants = " ".join(f"s{i}.service" for i in range(N_SERVICES))
    texts["fill.target"] = f"[Unit]\nWants={wants}\n"
    texts["echo.socket"] = (
        f"[Socket]\nListenStream=127.0.0.1:{port}\nAccept=yes\nTriggerLimitBurst=100000\n"
    )
    return texts


def _spans(per: list[float], n: int) -> tuple[float, float]:
    return statistics.median(per[:20]), statistics.median(per[n - 20 : n])


def bench_pure(n: int, emulate_old: bool) -> list[float]:
    units = [_unit(name, text) for name, text in _texts(7).items()]

    def load(name: str) -> Unit | None:  # the instance, as from the echo@.service template
        return _unit(name, ECHO) if name.startswith("echo@") else None

    counter = itertools.count(1)
    mgr = Manager(units, lambda: f"{next(counter):032x}", load=load)
    fx = FakeExecutor(mgr)
    fx.feed(ev.JobRequested(1, "start", "fill.target"))
    fx.feed(ev.JobRequested(2, "start", "echo.socket"))
    fx.feed(ListenersOpened("echo.socket", (4,)))
    per = []
    for i in range(n):
        if emulate_old:
            mgr._graph = None  # the whole graph rebuilt for the newly loaded instance
        peer = ("127.0.0.1", 40000 + i)
        t0 = time.perf_counter()
        fx.feed(ConnectionAccepted("echo.socket", 4, 100 + i, "inet", ("127.0.0.1", 7), peer))
        instance = f"echo@{i}-127.0.0.1:7-127.0.0.1:{40000 + i}.service"
        (pid,) = [p for p, u in fx.processes.items() if u == instance]
        if emulate_old:
            mgr.collectable.discard(instance)  # never collected
        fx.exit(pid, status=0)
        per.append((time.perf_counter() - t0) * 1000)
    left = [u for u in mgr.units if u.startswith("echo@")]
    print(f"  echo@ units still loaded: {len(left)}")
    return per


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bench_daemon(n: int) -> list[float]:
    from pidone.testing.harness import NamespaceDaemon

    port = _free_port()
    texts = _texts(port)
    texts["echo@.service"] = ECHO
    with (
        tempfile.TemporaryDirectory(prefix="pidone-bench-accept-") as tmp,
        NamespaceDaemon(Path(tmp), texts) as d,
    ):
        assert d.cli("start", "fill.target", "echo.socket").returncode == 0
        per = []
        for i in range(n):
            t0 = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
                c.sendall(f"{i}\n".encode())
                data = b""
                while chunk := c.recv(4096):
                    data += chunk
            per.append((time.perf_counter() - t0) * 1000)
            assert data == f"got {i}\n".encode(), data
        time.sleep(0.5)
        rows = d.call("list-units", all=True)["units"]
        left = [r for r in rows if r[0].startswith("echo@")]
        print(f"  list-units --all: {len(rows)} units, echo@ instances: {len(left)}")
    return per


def _report(early: float, late: float, n: int) -> None:
    ratio = late / early
    print(
        f"  connections 1-20: {early:.2f} ms, {n - 19}-{n}: {late:.2f} ms, late/early {ratio:.2f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--emulate-old", action="store_true")
    ap.add_argument("--no-daemon", action="store_true")
    args = ap.parse_args()
    n = args.connections
    load = os.getloadavg()[0]
    print(f"accept bench: {n} connections, {N_SERVICES} services, load {load:.2f}")
    runs = [("pure", False)] + ([("pure, emulated old", True)] if args.emulate_old else [])
    for label, old in runs:
        print(f"{label}:")
        early, late = _spans(bench_pure(n, old), n)
        _report(early, late, n)
    if not args.no_daemon and os.geteuid() == 0:
        print("daemon (PID 1 of a PID namespace):")
        per = bench_daemon(n)
        p90 = statistics.quantiles(per, n=10)[-1]
        print(f"  all {n}: median {statistics.median(per):.2f} ms, p90 {p90:.2f} ms")
        early, late = _spans(per, n)
        _report(early, late, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
