"""Transactions through the manager: ordering waits, failures, BindsTo=, Conflicts=, targets,
isolate, job modes, cancel (FakeExecutor, FakeClock; spec 04 §3-§8)."""

from __future__ import annotations

import itertools

import pytest

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.jobwiring import CancelJobRequested, SystemJobRequested
from pidone.core.manager import Manager
from pidone.testing.fakes import FakeExecutor
from tests.core.depkit import make_unit

SEC = 1_000_000
NODEPS = "[Unit]\nDefaultDependencies=no\n"
_req = itertools.count(1000)


def setup(texts: dict[str, str]) -> tuple[Manager, FakeExecutor]:
    counter = itertools.count(1)
    units = [make_unit(name, text) for name, text in texts.items()]
    mgr = Manager(units, lambda: f"{next(counter):032x}")
    return mgr, FakeExecutor(mgr)


def job(fx: FakeExecutor, verb: str, unit: str, mode: str = "replace") -> list[object]:
    return fx.feed(ev.JobRequested(next(_req), verb, unit, mode))  # type: ignore[arg-type]


def spawned(fx: FakeExecutor, since: int = 0) -> list[str]:
    return [s.unit for s in fx.spawns(since) if s.role == "start"]


def signalled(fx: FakeExecutor, since: int = 0) -> list[str]:
    """Units sent a signal, in the order of their first one."""
    return list(dict.fromkeys(s.unit for s in fx.of_type(act.Signal, since)))


def results(out: list[object]) -> dict[str, str]:
    """Finished jobs by unit (the slices every service requires left out)."""
    return {
        f.unit: f.result
        for f in out
        if isinstance(f, act.JobFinished) and not f.unit.endswith(".slice")
    }


def ready(fx: FakeExecutor, unit: str) -> list[object]:
    pid = fx.pid_of(unit, "start")
    return fx.feed(ev.NotifyReceived(pid, 0, (("READY", "1"),), unit))


def test_requires_after_the_dependent_waits() -> None:
    mgr, fx = setup(
        {
            "a.service": f"{NODEPS}Requires=b.service\nAfter=b.service\n",
            "b.service": f"{NODEPS}[Service]\nType=notify\nExecStart=/bin/b\n",
        }
    )
    out = job(fx, "start", "a.service")
    (queued,) = [q for q in out if isinstance(q, act.JobQueued)]
    assert queued.unit == "a.service"
    assert spawned(fx) == ["b.service"]
    rows = {(r.unit, r.type, r.state) for r in mgr.list_jobs()}
    assert rows == {("a.service", "start", "waiting"), ("b.service", "start", "running")}
    mark = len(fx.actions)
    out = ready(fx, "b.service")
    assert spawned(fx, mark) == ["a.service"]
    assert results(out) == {"b.service": "done", "a.service": "done"}
    assert mgr.list_jobs() == []


def test_requires_without_after_starts_both_at_once() -> None:
    """Pitfall 14: Requires= alone is no ordering; a does not wait for b's readiness."""
    _, fx = setup(
        {
            "a.service": f"{NODEPS}Requires=b.service\n",
            "b.service": f"{NODEPS}[Service]\nType=notify\nExecStart=/bin/b\n",
        }
    )
    out = job(fx, "start", "a.service")
    assert sorted(spawned(fx)) == ["a.service", "b.service"]
    assert results(out) == {"a.service": "done"}
    # b failing later does not fail a's finished job, nor stop a (no BindsTo=)
    out = fx.exit(fx.pid_of("b.service", "start"), status=1)
    assert results(out) == {"b.service": "failed"}


def test_wants_on_a_failing_unit_is_ignored() -> None:
    mgr, fx = setup(
        {
            "a.service": f"{NODEPS}Wants=b.service\nAfter=b.service\n",
            "b.service": f"{NODEPS}[Service]\nType=oneshot\nExecStart=/bin/false\n",
        }
    )
    job(fx, "start", "a.service")
    assert spawned(fx) == ["b.service"]
    out = fx.exit(fx.pid_of("b.service", "start"), status=1)
    assert results(out) == {"b.service": "failed", "a.service": "done"}
    assert mgr.active_state("a.service") == "active"
    assert mgr.active_state("b.service") == "failed"


def test_requires_on_a_failing_unit_fails_the_dependent() -> None:
    mgr, fx = setup(
        {
            "a.service": f"{NODEPS}Description=A\nRequires=b.service\nAfter=b.service\n",
            "b.service": f"{NODEPS}[Service]\nType=oneshot\nExecStart=/bin/false\n",
        }
    )
    job(fx, "start", "a.service")
    out = fx.exit(fx.pid_of("b.service", "start"), status=1)
    finished = {f.unit: f for f in out if isinstance(f, act.JobFinished)}
    assert finished["a.service"].result == "dependency"
    assert finished["a.service"].lines == (
        "A dependency job for a.service failed. See 'journalctl -xe' for details.",
    )
    assert finished["a.service"].exit_code == 1
    assert "Dependency failed for a.service - A." in fx.logs()
    assert "a.service: Job a.service/start failed with result 'dependency'." in fx.logs()
    assert "a.service" not in spawned(fx)
    assert mgr.active_state("a.service") == "inactive"


def test_missing_required_unit_fails_the_request() -> None:
    _, fx = setup({"a.service": f"{NODEPS}Requires=nope.service\nAfter=auditd.service\n"})
    out = job(fx, "start", "a.service")
    (failed,) = [a for a in out if isinstance(a, act.RequestFailed)]
    assert failed.lines == ("Failed to start a.service: Unit nope.service not found.",)
    assert failed.exit_code == 5
    assert spawned(fx) == []


def test_binds_to_on_auto_restart() -> None:
    """Pitfall 15: the bound unit is stopped when b goes down; a Requires= dependent is
    restarted with b."""
    mgr, fx = setup(
        {
            "b.service": f"{NODEPS}[Service]\nRestart=always\nRestartSec=1\nExecStart=/bin/b\n",
            "bound.service": f"{NODEPS}BindsTo=b.service\nAfter=b.service\n",
            "req.service": f"{NODEPS}Requires=b.service\nAfter=b.service\n",
        }
    )
    job(fx, "start", "bound.service")
    job(fx, "start", "req.service")
    assert sorted(spawned(fx)) == ["b.service", "bound.service", "req.service"]
    mark = len(fx.actions)
    fx.exit(fx.pid_of("b.service", "start"), status=1)
    assert signalled(fx, mark) == ["bound.service"]
    fx.exit(fx.pid_of("bound.service", "start"), signal=15)
    assert mgr.active_state("bound.service") == "inactive"
    assert mgr.active_state("req.service") == "active"
    mark = len(fx.actions)
    fx.advance(1 * SEC)
    # the restart transaction: try-restart of req (stop first, ordered), then b, then req
    assert signalled(fx, mark) == ["req.service"]
    fx.exit(fx.pid_of("req.service", "start"), signal=15)
    assert spawned(fx, mark) == ["b.service", "req.service"]
    assert mgr.active_state("b.service") == "active"
    assert mgr.active_state("req.service") == "active"
    assert mgr.active_state("bound.service") == "inactive"


def test_conflicts_stops_the_other_first() -> None:
    mgr, fx = setup(
        {
            "a.service": f"{NODEPS}Conflicts=b.service\n",
            "b.service": NODEPS,
        }
    )
    job(fx, "start", "b.service")
    mark = len(fx.actions)
    job(fx, "start", "a.service")
    assert signalled(fx, mark) == ["b.service"]
    # a is not ordered against b: both jobs run at once (systemd orders only with After=)
    assert spawned(fx, mark) == ["a.service"]
    fx.exit(fx.pid_of("b.service", "start"), signal=15)
    assert mgr.active_state("b.service") == "inactive"
    assert mgr.active_state("a.service") == "active"


def _twenty() -> dict[str, str]:
    """Four layers of five notify services, each layer After= the previous one."""
    texts = {"twenty.target": "[Unit]\nDescription=Twenty\n"}
    for layer in range(4):
        for i in range(5):
            after = " ".join(f"l{layer - 1}u{j}.service" for j in range(5)) if layer else ""
            texts[f"l{layer}u{i}.service"] = (
                f"[Unit]\nPartOf=twenty.target\n{'After=' + after if after else ''}\n"
                "[Service]\nType=notify\nExecStart=/bin/s\n"
            )
    wants = " ".join(n for n in texts if n.endswith(".service"))
    texts["twenty.target"] += f"Wants={wants}\n"
    return texts


def test_target_with_twenty_units_starts_in_order_and_stops_in_reverse() -> None:
    mgr, fx = setup(_twenty())
    job(fx, "start", "twenty.target")
    # the built-in units every service requires come first (default dependencies)
    assert mgr.active_state("sysinit.target") == "active"
    assert mgr.active_state("system.slice") == "active"
    for layer in range(4):
        layer_units = [f"l{layer}u{i}.service" for i in range(5)]
        assert sorted(r.unit for r in mgr.list_jobs() if r.state == "running") == layer_units
        assert mgr.active_state("twenty.target") == "inactive"
        mark = len(fx.actions)
        for name in layer_units:
            ready(fx, name)
        if layer < 3:
            assert sorted(spawned(fx, mark)) == [f"l{layer + 1}u{i}.service" for i in range(5)]
    assert mgr.active_state("twenty.target") == "active"
    assert "Reached target twenty.target - Twenty." in fx.logs()
    assert mgr.list_jobs() == []

    job(fx, "stop", "twenty.target")
    for layer in reversed(range(4)):
        layer_units = [f"l{layer}u{i}.service" for i in range(5)]
        mark = len(fx.actions)
        running = sorted(r.unit for r in mgr.list_jobs() if r.state == "running")
        assert running == layer_units
        for name in layer_units:
            fx.exit(fx.pid_of(name, "start"), signal=15)
        if layer:
            assert sorted(signalled(fx, mark)) == [f"l{layer - 1}u{i}.service" for i in range(5)]
    assert all(mgr.active_state(n) == "inactive" for n in _twenty())
    assert "Stopped target twenty.target - Twenty." in fx.logs()


def test_shutdown_target_stops_everything_in_reverse() -> None:
    mgr, fx = setup(
        {
            "a.service": "[Unit]\nAfter=b.service\n",
            "b.service": "",
        }
    )
    job(fx, "start", "a.service")
    job(fx, "start", "b.service")
    mark = len(fx.actions)
    out = fx.feed(SystemJobRequested(7, "shutdown.target", "start", "replace-irreversibly"))
    assert [q.unit for q in out if isinstance(q, act.JobQueued)] == ["shutdown.target"]
    assert signalled(fx, mark) == ["a.service"]
    # an irreversible transaction cannot be reverted by a start
    refused = job(fx, "start", "a.service", mode="replace")
    assert any(isinstance(r, act.RequestFailed) for r in refused)
    fx.exit(fx.pid_of("a.service", "start"), signal=15)
    assert signalled(fx, mark) == ["a.service", "b.service"]
    out = fx.exit(fx.pid_of("b.service", "start"), signal=15)
    assert results(out)["shutdown.target"] == "done"
    assert mgr.active_state("shutdown.target") == "active"


def test_isolate_stops_what_the_target_does_not_need() -> None:
    mgr, fx = setup(
        {
            "iso.target": "[Unit]\nAllowIsolate=yes\nWants=a.service\n",
            "plain.target": "[Unit]\nWants=a.service\n",
            "a.service": "",
            "b.service": "",
            "keep.service": "[Unit]\nIgnoreOnIsolate=yes\n",
        }
    )
    job(fx, "start", "b.service")
    job(fx, "start", "keep.service")
    mark = len(fx.actions)
    job(fx, "start", "iso.target", mode="isolate")
    assert signalled(fx, mark) == ["b.service"]
    assert spawned(fx, mark) == ["a.service"]
    fx.exit(fx.pid_of("b.service", "start"), signal=15)
    assert mgr.active_state("iso.target") == "active"
    assert mgr.active_state("keep.service") == "active"
    out = job(fx, "start", "plain.target", mode="isolate")
    (failed,) = [a for a in out if isinstance(a, act.RequestFailed)]
    assert failed.lines == (
        "Failed to start plain.target: Operation refused, unit may not be isolated.",
        "See system logs and 'systemctl status plain.target' for details.",
    )
    assert failed.exit_code == 4  # as systemctl 252 in the oracle (BUS_ERROR_NO_ISOLATION)
    out = job(fx, "start", "nosuch.target", mode="isolate")  # AllowIsolate= before loading
    (failed,) = [a for a in out if isinstance(a, act.RequestFailed)]
    assert (failed.lines[0], failed.exit_code) == (
        "Failed to start nosuch.target: Operation refused, unit may not be isolated.",
        4,
    )


def test_job_mode_fail_refuses_to_reverse_a_queued_job() -> None:
    _, fx = setup(
        {
            "a.service": f"{NODEPS}Requires=b.service\nAfter=b.service\n",
            "b.service": f"{NODEPS}[Service]\nType=notify\nExecStart=/bin/b\n",
        }
    )
    job(fx, "start", "a.service")
    out = job(fx, "stop", "a.service", mode="fail")
    (failed,) = [a for a in out if isinstance(a, act.RequestFailed)]
    assert failed.lines == (
        "Failed to stop a.service: Transaction for a.service/stop is destructive "
        "(a.service has 'start' job queued, but 'stop' is included in transaction).",
        "See system logs and 'systemctl status a.service' for details.",
    )
    assert failed.exit_code == 4  # as systemctl 252 in the oracle
    # mode replace: the queued start job of a ends canceled, the stop takes its place
    out = job(fx, "stop", "a.service")
    assert results(out) == {"a.service": "done"}
    cancel = [f for f in fx.of_type(act.JobFinished) if f.result == "canceled"]
    assert [(f.unit, f.lines) for f in cancel] == [("a.service", ("Job for a.service canceled.",))]


def test_ignore_dependencies_mode() -> None:
    _, fx = setup(
        {
            "a.service": f"{NODEPS}Requires=b.service\nAfter=b.service\n",
            "b.service": NODEPS,
        }
    )
    job(fx, "start", "a.service", mode="ignore-dependencies")
    assert spawned(fx) == ["a.service"]


def test_cancel_a_waiting_job_and_an_unknown_one() -> None:
    mgr, fx = setup(
        {
            "a.service": f"{NODEPS}Requires=b.service\nAfter=b.service\n",
            "b.service": f"{NODEPS}[Service]\nType=notify\nExecStart=/bin/b\n",
        }
    )
    job(fx, "start", "a.service")
    waiting = next(r for r in mgr.list_jobs() if r.unit == "a.service")
    out = fx.feed(CancelJobRequested(1, (waiting.id,)))
    assert results(out) == {"a.service": "canceled"}
    assert any(isinstance(a, act.RequestDone) for a in out)
    ready(fx, "b.service")
    assert "a.service" not in spawned(fx)
    out = fx.feed(CancelJobRequested(2, (999,)))
    (failed,) = [a for a in out if isinstance(a, act.RequestFailed)]
    assert failed.lines == ("Failed to cancel job 999: Job 999 does not exist.",)


def test_ordering_cycle_is_broken_and_logged() -> None:
    _, fx = setup(
        {
            "a.service": f"{NODEPS}Wants=b.service\nAfter=b.service\n",
            "b.service": f"{NODEPS}After=a.service\n",
        }
    )
    job(fx, "start", "a.service")
    logs = fx.logs()
    assert any("Found ordering cycle on" in line for line in logs)
    assert any("deleted to break ordering cycle" in line for line in logs)
    assert spawned(fx) == ["a.service"]


@pytest.mark.parametrize("name", ["multi-user.target", "default.target"])
def test_builtin_targets_are_loaded_on_demand(name: str) -> None:
    mgr, fx = setup({})
    out = job(fx, "start", name)
    assert results(out)["multi-user.target"] == "done"
    assert mgr.active_state("basic.target") == "active"
    assert mgr.active_state("default.target") == "active"
    assert "Reached target multi-user.target - Multi-User System." in fx.logs()


def test_oneshot_wanted_by_an_active_target_keeps_its_start_counter() -> None:
    """Pitfall 12's other side: a unit an active unit references is not collected."""
    body = "[Unit]\nStartLimitBurst=2\n[Service]\nType=oneshot\nExecStart=/bin/o\n"
    mgr, fx = setup({"o.service": body, "keep.target": "[Unit]\nWants=o.service\n"})
    job(fx, "start", "keep.target")
    fx.exit(fx.pid_of("o.service", "start"))
    assert mgr.active_state("keep.target") == "active"
    job(fx, "start", "o.service")
    fx.exit(fx.pid_of("o.service", "start"))
    mark = len(fx.actions)
    out = job(fx, "start", "o.service")
    assert results(out) == {"o.service": "failed"}
    assert "o.service: Start request repeated too quickly." in fx.logs(mark)


def test_runnable_jobs_run_in_252s_priority_order() -> None:
    """manager_dispatch_run_queue() takes jobs by unit_compare_priority(): the later unit
    type first, then the heavier CPUWeight=, the lower Nice=, the name; not in the order
    the transaction added them (the Wants= line here lists zz first). The oracle's order
    for the same units: tests/data/oracle/capture-runorder-252.md."""
    svc = f"{NODEPS}[Service]\nType=oneshot\nExecStart=/bin/true\n"
    _, fx = setup(
        {
            "t.target": f"{NODEPS}Wants=zz.service aa.service mm.service kk.service\n",
            "zz.service": svc,
            "aa.service": svc,
            "mm.service": svc + "CPUWeight=500\n",
            "kk.service": svc + "Nice=-5\n",
            "nn.service": svc + "Nice=5\nCPUWeight=idle\n",
        }
    )
    job(fx, "start", "t.target")
    assert spawned(fx) == ["mm.service", "kk.service", "aa.service", "zz.service"]
    # CPUWeight=idle (0) goes after the default weight (100) at the same nice level
    _, fx = setup(
        {"t.target": f"{NODEPS}Wants=nn.service aa.service\n", "aa.service": svc,
         "nn.service": svc + "CPUWeight=idle\n"}
    )  # fmt: skip
    job(fx, "start", "t.target")
    assert spawned(fx) == ["aa.service", "nn.service"]


def test_a_later_unit_type_runs_first() -> None:
    """252's UnitType order, the later first: the targets' jobs (whose names sort after
    the service's) run before the service's job queued with them."""
    svc = f"{NODEPS}[Service]\nType=oneshot\nExecStart=/bin/true\n"
    _, fx = setup(
        {"a.target": f"{NODEPS}Wants=a.service z.target\n", "a.service": svc, "z.target": NODEPS}
    )
    job(fx, "start", "a.target")
    lines = [line for line in fx.logs() if not line.startswith("Created slice")]
    assert lines[:3] == [
        "Reached target a.target.",
        "Reached target z.target.",
        "Starting a.service...",
    ]
