"""The shutdown's stop requests as one transaction (core.transaction.build_stop_transaction,
core.manager.StopUnitsRequested) against the same requests made one by one."""

from __future__ import annotations

import itertools

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.manager import Manager, StopUnitsRequested
from pidone.core.targets import PERPETUAL
from pidone.core.transaction import build_stop_transaction, build_transaction
from pidone.testing.fakes import FakeExecutor
from tests.core.depkit import graph, make_unit

NODEPS = "[Unit]\nDefaultDependencies=no\n"


def _layers() -> dict[str, str]:
    """Three layers of three services PartOf= a target, each layer After= the previous one;
    c2 also Requires= b0 (a stop of b0 pulls in c2's)."""
    texts = {"top.target": "[Unit]\nDescription=Top\n"}
    for layer, name in enumerate("abc"):
        for i in range(3):
            after = " ".join(f"{'abc'[layer - 1]}{j}.service" for j in range(3)) if layer else ""
            extra = "Requires=b0.service\n" if f"{name}{i}" == "c2" else ""
            texts[f"{name}{i}.service"] = (
                f"[Unit]\nDescription={name.upper()}{i}\nPartOf=top.target\n{extra}"
                f"{'After=' + after if after else ''}\n"
                "[Service]\nType=notify\nExecStart=/bin/s\n"
            )
    texts["top.target"] += "Wants=" + " ".join(n for n in texts if n.endswith(".service")) + "\n"
    return texts


def _started() -> tuple[Manager, FakeExecutor]:
    counter = itertools.count(1)
    mgr = Manager([make_unit(n, t) for n, t in _layers().items()], lambda: f"{next(counter):032x}")
    fx = FakeExecutor(mgr)
    fx.feed(ev.JobRequested(1, "start", "top.target", "replace"))
    for _ in range(3):
        for row in [r for r in mgr.list_jobs() if r.state == "running"]:
            fx.feed(ev.NotifyReceived(fx.pid_of(row.unit, "start"), 0, (("READY", "1"),), row.unit))
    assert mgr.active_state("top.target") == "active"
    return mgr, fx


def _up(mgr: Manager) -> list[str]:
    return [u for u in mgr.units if mgr.active_state(u) not in ("inactive", "failed")]


def _run_down(mgr: Manager, fx: FakeExecutor) -> list[str]:
    """End each signalled service (running stop jobs, by unit name) until no job is left;
    the units in the order they were made to exit."""
    order: list[str] = []
    while rows := sorted(r.unit for r in mgr.list_jobs() if r.state == "running"):
        services = [u for u in rows if u.endswith(".service")]
        assert services, rows
        for unit in services:
            order.append(unit)
            fx.exit(fx.pid_of(unit, "start"), signal=15)
    return order


def _replies(out: list[object]) -> list[tuple[str, int, str]]:
    seen: list[tuple[str, int, str]] = []
    for a in out:
        if isinstance(a, act.JobQueued):
            seen.append(("queued", a.request_id, a.unit))
        elif isinstance(a, act.JobFinished):
            seen.append(("finished", a.job_id, f"{a.unit}/{a.result}"))
    return seen


def test_one_transaction_says_and_does_what_one_per_unit_does() -> None:
    # requested from the target (After= its services) down to the slices: the order that
    # separate transactions need to honour After= (each of them runs its job before the
    # next request exists)
    one, fx1 = _started()
    many, fx2 = _started()
    services = sorted((u for u in _up(one) if u.endswith(".service")), reverse=True)
    # (-.slice and system.slice are perpetual: the daemon's shutdown does not ask for them)
    rest = sorted(
        (u for u in _up(one) if u not in (*services, "top.target", *PERPETUAL)), reverse=True
    )
    names = ["top.target", *services, *rest]  # sysinit.target... then the slices
    assert sorted(names) == sorted(u for u in _up(one) if u not in PERPETUAL)
    assert services[:3] == ["c2.service", "c1.service", "c0.service"]
    mark1, mark2 = len(fx1.actions), len(fx2.actions)
    fx1.feed(StopUnitsRequested(tuple((100 + i, n) for i, n in enumerate(names))))
    for i, n in enumerate(names):
        fx2.feed(ev.JobRequested(100 + i, "stop", n, "replace"))
    assert _run_down(one, fx1) == _run_down(many, fx2)
    assert fx1.logs(mark1) == fx2.logs(mark2)
    assert "Stopped target top.target - Top." in fx1.logs(mark1)
    queued1 = [r for r in _replies(fx1.actions[mark1:]) if r[0] == "queued"]
    queued2 = [r for r in _replies(fx2.actions[mark2:]) if r[0] == "queued"]
    assert sorted(queued1) == sorted(queued2)
    assert {r[1] for r in queued1} == set(range(100, 100 + len(names)))
    finished = sorted(r[2] for r in _replies(fx1.actions[mark1:]) if r[0] == "finished")
    assert finished == sorted(r[2] for r in _replies(fx2.actions[mark2:]) if r[0] == "finished")
    assert _up(one) == _up(many) == sorted(PERPETUAL & set(_up(one)), key=_up(one).index)
    assert {"-.slice", "system.slice"} <= set(_up(one))


def test_one_transaction_stops_in_reverse_order_whatever_the_request_order() -> None:
    # systemd's shutdown transaction: a unit's stop waits for the stops of the units
    # ordered After= it, however the requests were listed
    mgr, fx = _started()
    names = sorted(_up(mgr))
    fx.feed(StopUnitsRequested(tuple((200 + i, n) for i, n in enumerate(names))))
    order = _run_down(mgr, fx)
    assert [u[0] for u in order] == list("cccbbbaaa")
    assert not [u for u in _up(mgr) if not u.endswith(".slice")]


def test_an_ordering_cycle_is_left_to_the_one_by_one_path() -> None:
    texts = {
        "a.service": NODEPS + "After=b.service\n",
        "b.service": NODEPS + "After=a.service\n",
        "c.service": NODEPS,
        "d.service": NODEPS + "Requires=c.service\n",
    }
    g = graph(texts, builtins=False)

    def up(_unit: str) -> str:
        return "active"

    assert build_stop_transaction(g, ["a.service", "b.service"], state=up, installed={}) is None
    one = build_stop_transaction(g, ["c.service", "a.service"], state=up, installed={})
    assert one is not None
    assert one.log == ()
    assert {(j.unit, j.type, j.anchor) for j in one.jobs} == {
        ("c.service", "stop", True),
        ("d.service", "stop", False),
        ("a.service", "stop", True),
    }
    # the same jobs as two transactions; ids once per unit
    apart = {
        (j.unit, j.type)
        for u in ("c.service", "a.service")
        for j in build_transaction(g, u, "stop", state=up).jobs
    }
    assert {(j.unit, j.type) for j in one.jobs} == apart
    assert sorted(j.id for j in one.jobs) == [1, 2, 3]


def test_refuse_manual_stop_does_not_keep_a_unit_up_at_shutdown() -> None:
    """systemd.unit(5): RefuseManualStop= refuses stops requested by the user; the
    shutdown stops such a unit too (systemd: through shutdown.target's Conflicts=), so a
    daemon's SIGTERM leaves nothing running."""
    texts = {
        "a.service": NODEPS + "RefuseManualStop=yes\n[Service]\nType=notify\nExecStart=/bin/s\n",
        "b.service": NODEPS + "[Service]\nType=notify\nExecStart=/bin/s\n",
    }
    mgr = Manager([make_unit(n, t) for n, t in texts.items()], lambda: "0" * 32)
    fx = FakeExecutor(mgr)
    for i, name in enumerate(texts):
        fx.feed(ev.JobRequested(i + 1, "start", name, "replace"))
        fx.feed(ev.NotifyReceived(fx.pid_of(name, "start"), 0, (("READY", "1"),), name))
    # a manual stop is still refused ...
    out = fx.feed(ev.JobRequested(9, "stop", "a.service", "replace"))
    refused = [a for a in out if isinstance(a, act.RequestFailed)]
    assert [r.request_id for r in refused] == [9]
    assert "may be requested by dependency only" in refused[0].lines[0]
    # ... the shutdown's is not, in one transaction or one by one
    out = fx.feed(StopUnitsRequested(((10, "a.service"), (11, "b.service"))))
    assert not [a for a in out if isinstance(a, act.RequestFailed)]
    assert sorted(a.request_id for a in out if isinstance(a, act.JobQueued)) == [10, 11]
    assert mgr.active_state("a.service") == "deactivating"
    assert mgr.active_state("b.service") == "deactivating"
