"""The transition table itself: every row reachable, illegal requests change nothing."""

from __future__ import annotations

import pytest

from pidone.core import events as ev
from pidone.core.service import IllegalEvent
from pidone.core.servicestate import SubState
from pidone.core.servicetable import TRANSITIONS, rows_for
from tests.core.service_scenarios import SCENARIOS
from tests.core.servicekit import machine, start


def test_every_row_is_reachable() -> None:
    fired: set[int] = set()
    for scenario in SCENARIOS:
        for m in scenario():
            fired.update(m.trace)
    missing = [
        f"{i}: {r.state.value} --{r.trigger.value} [{r.when.value}]--> {r.step.value}"
        for i, r in enumerate(TRANSITIONS)
        if i not in fired
    ]
    assert missing == []


def test_rows_are_unique_and_fallbacks_come_last() -> None:
    seen: set[tuple[object, ...]] = set()
    for row in TRANSITIONS:
        key = (row.state, row.trigger, row.when)
        assert key not in seen, key
        seen.add(key)
        candidates = [r for _, r in rows_for(row.state, row.trigger)]
        always = [i for i, r in enumerate(candidates) if r.when.value == "always"]
        assert always in ([], [len(candidates) - 1]), (row.state, row.trigger)


@pytest.mark.parametrize(
    "event", [ev.StopRequested("t.service"), ev.ReloadRequested("t.service")], ids=repr
)
def test_illegal_request_in_dead_raises_and_changes_nothing(event: object) -> None:
    m, fx = machine()
    before = (m.sub, m.result, list(fx.actions))
    with pytest.raises(IllegalEvent):
        fx.feed(event)
    assert (m.sub, m.result, fx.actions) == before


def test_illegal_reload_while_starting_leaves_state() -> None:
    m, fx = machine(type="notify")
    start(fx)
    with pytest.raises(IllegalEvent, match="no transition for reload in state start"):
        m.handle(ev.ReloadRequested("t.service"), 0)
    assert m.sub == SubState.START
    assert m.main_pid == 100


def test_stale_observations_do_nothing() -> None:
    m, fx = machine()
    start(fx)
    assert fx.feed(ev.TimerFired("t.service/timer/999")) == []
    assert fx.feed(ev.ProcessExited(4242, 1)) == []
    assert fx.feed(ev.Spawned("t.service", "t.service/start/77", 5)) == []
    assert m.sub == SubState.RUNNING


@pytest.mark.parametrize(
    ("access", "main", "control"),
    [("none", False, False), ("main", True, False), ("exec", True, True), ("all", True, True)],
)
def test_notify_socket_exported_per_notify_access(access: str, main: bool, control: bool) -> None:
    """service_exec_needs_notify_socket(): main unless none; control only with exec/all."""
    from tests.core.servicekit import cmd

    _m, fx = machine(notify_access=access, exec_start_pre=[cmd("/bin/pre")])
    start(fx)
    fx.exit(100)
    pre, daemon = fx.spawns()
    assert (daemon.notify_socket, pre.notify_socket) == (main, control)


def test_every_guard_and_step_is_used() -> None:
    from pidone.core.servicetable import Guard, Step

    used_guards = {r.when for r in TRANSITIONS}
    used_steps = {r.step for r in TRANSITIONS}
    assert set(Guard) - used_guards == set()
    assert set(Step) - used_steps == set()
