"""core.unittable rule 5 / core.manager rule 7: Accept=yes instances are garbage-collected
once they end inactive (systemd 252 unit_may_gc(): CollectMode=inactive keeps failed units
until reset-failed), together with their graph node; referenced units stay."""

from __future__ import annotations

from pidone.core import events as ev
from pidone.core.socketseam import ConnectionAccepted, ListenersOpened
from pidone.core.unittable import UnitDropped
from pidone.testing.fakes import FakeExecutor
from tests.core.test_triggerwiring import setup, start

SOCKET = b"[Socket]\nListenStream=127.0.0.1:7\nAccept=yes\n"
ECHO = b"[Service]\nStandardInput=socket\nExecStart=/bin/cat\n"


def _connect(fx: FakeExecutor, n: int) -> str:
    port = 40000 + n
    fx.feed(
        ConnectionAccepted("echo.socket", 4, 100 + n, "inet", ("127.0.0.1", 7), ("127.0.0.1", port))
    )
    return f"echo@{n}-127.0.0.1:7-127.0.0.1:{port}.service"


def test_an_instance_that_ended_is_dropped_from_tables_graph_and_executor() -> None:
    mgr, fx = setup({"echo.socket": SOCKET}, {"echo@.service": ECHO})
    start(fx, "echo.socket")
    fx.feed(ListenersOpened("echo.socket", (4,)))
    graph = mgr.graph
    instance = _connect(fx, 0)
    assert mgr.lookup(instance) is not None
    assert instance in graph.units  # grown in place
    assert mgr.graph is graph
    fx.exit(fx.pid_of(instance, "start"), status=0)
    assert mgr.lookup(instance) is None
    assert instance not in mgr.machines
    assert instance not in graph.units
    assert graph.deps("sysinit.target", "Before").count(instance) == 0
    assert UnitDropped(instance) in fx.of_type(UnitDropped)
    assert [r.unit for r in mgr.list_units(show_all=True) if r.unit.startswith("echo@")] == []
    assert mgr.graph is graph  # never rebuilt


def test_many_connections_leave_a_bounded_table() -> None:
    mgr, fx = setup({"echo.socket": SOCKET}, {"echo@.service": ECHO})
    start(fx, "echo.socket")
    fx.feed(ListenersOpened("echo.socket", (4,)))
    graph = mgr.graph
    first = _connect(fx, 0)
    fx.exit(fx.pid_of(first, "start"), status=0)
    # what the first instance loaded stays (system-echo.slice, the targets it names)
    units, nodes = set(mgr.units), set(graph.units)
    for n in range(1, 50):
        instance = _connect(fx, n)
        fx.exit(fx.pid_of(instance, "start"), status=0)
    assert (set(mgr.units), set(graph.units)) == (units, nodes)
    assert [u for u in mgr.units if u.startswith("echo@")] == []
    assert mgr.graph is graph


def test_a_failed_instance_stays_until_reset_failed() -> None:
    mgr, fx = setup({"echo.socket": SOCKET}, {"echo@.service": ECHO})
    start(fx, "echo.socket")
    fx.feed(ListenersOpened("echo.socket", (4,)))
    instance = _connect(fx, 0)
    fx.exit(fx.pid_of(instance, "start"), status=1)
    assert mgr.active_state(instance) == "failed"
    assert mgr.lookup(instance) is not None  # CollectMode=inactive
    fx.feed(ev.ResetFailedUnitRequested(1, instance))
    assert mgr.lookup(instance) is None


def test_collect_mode_inactive_or_failed_drops_a_failed_instance() -> None:
    template = b"[Unit]\nCollectMode=inactive-or-failed\n" + ECHO
    mgr, fx = setup({"echo.socket": SOCKET}, {"echo@.service": template})
    start(fx, "echo.socket")
    fx.feed(ListenersOpened("echo.socket", (4,)))
    instance = _connect(fx, 0)
    fx.exit(fx.pid_of(instance, "start"), status=1)
    assert mgr.lookup(instance) is None


def test_units_that_are_not_collectable_stay_loaded() -> None:
    """A unit loaded from a file stays loaded when it stops (pidone collects only what it
    loads on the fly); a not-found name a loaded unit states stays referenced."""
    mgr, fx = setup(
        {
            "a.service": b"[Unit]\nConflicts=gone.service\n[Service]\nExecStart=/bin/a\n",
        }
    )
    start(fx, "a.service")
    fx.exit(fx.pid_of("a.service", "start"), status=0)
    assert mgr.lookup("a.service") is not None
    assert mgr.active_state("a.service") == "inactive"
    assert mgr.graph.referenced_by("gone.service") == ("a.service",)  # a stub, kept
    assert fx.of_type(UnitDropped) == []


def test_not_found_units_of_failed_requests_are_not_kept() -> None:
    """252 loads `nosuch.service` as a not-found unit for the request, fails the job with
    `Unit nosuch.service not found.` and collects it at once (nothing references it); an
    Accept=yes connection whose template is missing leaves no instance either."""
    mgr, fx = setup({"y.socket": b"[Socket]\nListenStream=/run/y\nAccept=yes\n"})
    start(fx, "y.socket")
    fx.feed(ListenersOpened("y.socket", (4,)))
    graph = mgr.graph
    units, nodes = set(mgr.units), set(graph.units)
    out = start(fx, "nosuch.service")
    assert any(
        "Unit nosuch.service not found." in " ".join(a.lines) for a in out if hasattr(a, "lines")
    )
    fx.feed(ConnectionAccepted("y.socket", 4, 12, "unix", peer=(1, 0)))
    assert (set(mgr.units), set(graph.units)) == (units, nodes)


# --- rule 6: what status and show present as collected (kept_by_reference) ---------------------

ONESHOT = b"[Service]\nType=oneshot\nExecStart=/bin/true\n"


def _ran(fx: FakeExecutor, unit: str) -> None:
    start(fx, unit)
    fx.exit(fx.pid_of(unit, "start"), status=0)


def test_a_unit_referenced_by_a_running_unit_is_kept() -> None:
    """252 (oracle): `a` runs with After=b; b ran and is inactive: status b shows its run."""
    mgr, fx = setup(
        {
            "a.service": b"[Unit]\nAfter=b.service\n[Service]\nExecStart=/bin/a\n",
            "b.service": ONESHOT,
        }
    )
    start(fx, "a.service")
    _ran(fx, "b.service")
    assert mgr.active_state("b.service") == "inactive"
    assert mgr.kept_by_reference("b.service")
    # a stopped and unreferenced itself: 252 collects both
    fx.feed(ev.JobRequested(99, "stop", "a.service"))
    fx.exit(fx.pid_of("a.service", "start"), status=0)
    assert mgr.active_state("a.service") == "inactive"
    assert not mgr.kept_by_reference("b.service")
    assert not mgr.kept_by_reference("a.service")


def test_a_unit_named_only_by_inactive_units_is_not_kept() -> None:
    """252 (oracle): c (OnFailure=b) ran and ended; b ran: neither is kept loaded."""
    mgr, fx = setup({"c.service": b"[Unit]\nOnFailure=b.service\n" + ONESHOT, "b.service": ONESHOT})
    _ran(fx, "c.service")
    _ran(fx, "b.service")
    assert not mgr.kept_by_reference("b.service")


def test_a_chain_of_references_reaches_a_failed_unit() -> None:
    """watchdog.service failed (CollectMode=inactive keeps it) names wd_keepalive.service in
    OnFailure=; a middle unit kept only by reference passes it on."""
    mgr, fx = setup(
        {
            "w.service": b"[Unit]\nWants=m.service\n[Service]\nExecStart=/bin/w\n",
            "m.service": b"[Unit]\nOnFailure=k.service\n" + ONESHOT,
            "k.service": ONESHOT,
        }
    )
    _ran(fx, "k.service")
    assert not mgr.kept_by_reference("k.service")
    start(fx, "w.service")
    fx.exit(fx.pid_of("m.service", "start"), status=0)
    fx.exit(fx.pid_of("w.service", "start"), status=1)
    assert (mgr.active_state("m.service"), mgr.active_state("w.service")) == ("inactive", "failed")
    assert not mgr.jobs
    assert mgr.kept_by_reference("k.service")  # k <- m (inactive) <- w (failed)
