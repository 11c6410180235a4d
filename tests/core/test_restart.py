"""Restart= table (spec 03 §6), exit-status overrides, and the start limiter (§7)."""

from __future__ import annotations

import pytest

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.exitstatus import ExitStatusSet
from pidone.core.restart import RESTART_TABLE, StartLimit, shall_restart
from pidone.core.servicestate import ExitCode, ExitInfo, Result, SubState
from tests.core.servicekit import SEC, machine, start

POLICIES = ["no", "always", "on-success", "on-failure", "on-abnormal", "on-abort", "on-watchdog"]
# spec 03 §6 row by row: which columns have an X.
SPEC_ROWS = {
    Result.SUCCESS: {"always", "on-success"},
    Result.EXIT_CODE: {"always", "on-failure"},
    Result.SIGNAL: {"always", "on-failure", "on-abnormal", "on-abort"},
    Result.CORE_DUMP: {"always", "on-failure", "on-abnormal", "on-abort"},
    Result.TIMEOUT: {"always", "on-failure", "on-abnormal"},
    Result.WATCHDOG: {"always", "on-failure", "on-abnormal", "on-watchdog"},
    Result.PROTOCOL: {"always", "on-failure", "on-abnormal"},
    Result.RESOURCES: {"always", "on-failure", "on-abnormal"},
    Result.OOM_KILL: {"always", "on-failure", "on-abnormal"},
    Result.EXEC_CONDITION: set(),
}
EMPTY = ExitStatusSet()


@pytest.mark.parametrize("result", list(SPEC_ROWS), ids=lambda r: r.value)
@pytest.mark.parametrize("policy", POLICIES)
def test_restart_table_matches_spec(result: Result, policy: str) -> None:
    got = shall_restart(
        policy,  # type: ignore[arg-type]
        result,
        stop_requested=False,
        last_main_exit=None,
        prevent=EMPTY,
        force=EMPTY,
    )
    assert got == (policy in SPEC_ROWS[result])
    assert (policy in RESTART_TABLE[result]) == got


def test_stop_request_never_restarts() -> None:
    assert not shall_restart(
        "always",
        Result.EXIT_CODE,
        stop_requested=True,
        last_main_exit=None,
        prevent=EMPTY,
        force=EMPTY,
    )


def test_prevent_beats_force_and_force_beats_table() -> None:
    seven = ExitInfo(ExitCode.EXITED, 7)
    sets = ExitStatusSet(frozenset({7}))
    assert not shall_restart(
        "on-failure",
        Result.EXIT_CODE,
        stop_requested=False,
        last_main_exit=seven,
        prevent=sets,
        force=sets,
    )
    assert shall_restart(
        "no",
        Result.EXIT_CODE,
        stop_requested=False,
        last_main_exit=seven,
        prevent=EMPTY,
        force=sets,
    )
    killed = ExitInfo(ExitCode.KILLED, 9)
    assert shall_restart(
        "no",
        Result.SIGNAL,
        stop_requested=False,
        last_main_exit=killed,
        prevent=EMPTY,
        force=ExitStatusSet(signals=frozenset({9})),
    )


# Every row of the table through the machine: how the run ends -> restart or not.
ENDINGS = {
    Result.SUCCESS: {"status": 0},
    Result.EXIT_CODE: {"status": 1},
    Result.SIGNAL: {"signal": 9},
    Result.CORE_DUMP: {"signal": 11, "core": True},
}


@pytest.mark.parametrize("result", list(ENDINGS), ids=lambda r: r.value)
@pytest.mark.parametrize("policy", POLICIES)
def test_restart_through_machine(result: Result, policy: str) -> None:
    m, fx = machine(restart=policy)
    start(fx)
    fx.exit(100, **ENDINGS[result])  # type: ignore[arg-type]
    assert m.result == result
    expected = SubState.AUTO_RESTART if policy in SPEC_ROWS[result] else None
    if expected:
        assert m.sub == expected
    else:
        assert m.sub == (SubState.DEAD if result == Result.SUCCESS else SubState.FAILED)


@pytest.mark.parametrize(
    ("policy", "restarts"),
    [("on-failure", True), ("on-abnormal", True), ("on-watchdog", True), ("on-abort", False)],
)
def test_watchdog_and_timeout_rows_through_machine(policy: str, restarts: bool) -> None:
    m, fx = machine(type="notify", restart=policy, watchdog_usec=SEC)
    start(fx)
    fx.feed(ev.NotifyReceived.parse(100, 0, "READY=1", "t.service"))
    fx.advance(SEC)
    fx.exit(100, signal=6, core=True)
    assert m.result == Result.WATCHDOG
    assert (m.sub == SubState.AUTO_RESTART) == restarts


def test_restart_prevent_exit_status_through_machine() -> None:
    """Verified on 252: RestartPreventExitStatus=7 + exit 7 with on-failure -> failed."""
    m, fx = machine(restart="on-failure", restart_prevent_exit_status=ExitStatusSet(frozenset({7})))
    start(fx)
    fx.exit(100, status=7)
    assert (m.sub, m.n_restarts) == (SubState.FAILED, 0)


def test_exec_condition_skip_never_restarts() -> None:
    from tests.core.servicekit import cmd

    m, fx = machine(restart="always", exec_condition=[cmd("/bin/c")])
    start(fx)
    fx.exit(100, status=1)
    assert (m.sub, m.result) == (SubState.DEAD, Result.EXEC_CONDITION)


def test_start_limit_window() -> None:
    lim = StartLimit()
    allowed = []
    for t in (1, 2, 3, 4):
        ok, lim = lim.test(t * SEC, 10 * SEC, 3)
        allowed.append(ok)
    assert allowed == [True, True, True, False]  # the 4th start inside the window
    ok, lim = lim.test(5 * SEC, 10 * SEC, 3)
    assert not ok  # stays refused
    ok, lim = lim.test(12 * SEC, 10 * SEC, 3)
    assert ok  # the window passed: a new one opens
    assert lim == StartLimit(12 * SEC, 1)
    assert StartLimit().test(0, 0, 3)[0]  # interval 0 disables
    assert StartLimit(5, 100).test(6, 10, 0)[0]  # burst 0 disables


def test_manual_starts_hit_the_limit_with_start_limit_hit() -> None:
    m, fx = machine(unit_start_limit_burst=2)
    for _ in range(2):
        start(fx)
        fx.exit(fx.pid_of("t.service", "start"), status=0)
    mark = len(fx.actions)
    start(fx)
    assert fx.logs(mark) == [
        "t.service: Start request repeated too quickly.",
        "t.service: Failed with result 'start-limit-hit'.",
    ]
    assert fx.of_type(act.StartRefused, mark) == [act.StartRefused("t.service")]
    assert (m.sub, m.result) == (SubState.FAILED, Result.START_LIMIT_HIT)
    assert fx.spawns(mark) == []


def test_limit_in_restart_chain_keeps_first_failure() -> None:
    """Pitfall 13: the refused auto-restart leaves Result=exit-code, not start-limit-hit."""
    m, fx = machine(restart="always", restart_usec=0, unit_start_limit_burst=3)
    start(fx)
    for n in range(1, 4):
        fx.exit(fx.pid_of("t.service", "start"), status=1)
        fx.advance(0)
        assert m.n_restarts == n
        fx.feed(ev.StopRequested("t.service", restart=True))
        fx.feed(ev.StartRequested("t.service", "ab" * 16, manual=False))
    assert m.sub == SubState.FAILED
    assert m.result == Result.EXIT_CODE
    assert "t.service: Start request repeated too quickly." in fx.logs()
    assert "t.service: Failed with result 'exit-code'." in fx.logs()[-1:]
