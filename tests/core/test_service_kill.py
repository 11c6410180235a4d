"""KillMode=, KillSignal=, SendSIGHUP=, SendSIGKILL=, RestartKillSignal=, systemctl kill."""

from __future__ import annotations

import pytest

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.servicestate import Result, SubState
from tests.core.servicekit import SEC, cmd, machine, start

U = "t.service"
TSTOP = 90 * SEC


def _running(**cfg: object):
    m, fx = machine(**cfg)
    start(fx)
    fx.add_process(U, 300)  # a child of the daemon, e.g. double-forked
    return m, fx


def _signals(fx, mark: int) -> list[tuple[str, int, int, tuple[int, ...]]]:
    return [(a.target, a.pid, a.signal, a.exclude) for a in fx.of_type(act.Signal, mark)]


@pytest.mark.parametrize(
    ("mode", "at_sigterm", "at_sigkill"),
    [
        (
            "control-group",
            [("pid", 100, 15, ()), ("cgroup", 0, 15, (100,))],
            [("pid", 100, 9, ()), ("cgroup", 0, 9, (100,))],
        ),
        ("mixed", [("pid", 100, 15, ())], [("pid", 100, 9, ()), ("cgroup", 0, 9, (100,))]),
        ("process", [("pid", 100, 15, ())], [("pid", 100, 9, ())]),
        ("none", [], []),
    ],
)
def test_kill_mode_targets(mode: str, at_sigterm: list, at_sigkill: list) -> None:
    m, fx = _running(kill_kill_mode=mode)
    mark = len(fx.actions)
    fx.feed(ev.StopRequested(U))
    assert _signals(fx, mark) == at_sigterm
    if mode == "none":
        # nobody is signalled, nothing to wait for: the unit stops at once, process left
        assert m.sub == SubState.DEAD
        assert act.WarnLeftoverProcesses(U, "stop") in fx.actions[mark:]
        return
    mark = len(fx.actions)
    fx.advance(TSTOP)
    assert _signals(fx, mark) == at_sigkill
    assert all(a.log_kill for a in fx.of_type(act.Signal, mark))
    fx.exit(100, signal=9)
    if mode == "process":
        assert m.sub == SubState.FAILED
        assert act.WarnLeftoverProcesses(U, "stop") in fx.actions[mark:]
    else:  # the group's other process still gets the final signals
        assert m.sub in (SubState.FINAL_SIGTERM, SubState.FINAL_SIGKILL)


def test_mixed_kills_the_rest_once_main_is_gone() -> None:
    m, fx = _running(kill_kill_mode="mixed")
    fx.feed(ev.StopRequested(U))
    mark = len(fx.actions)
    fx.exit(100, signal=15)
    # final-sigterm signals nobody under mixed; final-sigkill hits the rest at once
    assert _signals(fx, mark) == [("cgroup", 0, 9, ())]
    assert m.sub == SubState.FINAL_SIGKILL
    fx.exit(300, signal=9)
    assert (m.sub, m.result) == (SubState.DEAD, Result.SUCCESS)


def test_kill_signal_sigcont_and_sighup() -> None:
    _m, fx = _running(kill_kill_signal=2, kill_send_sighup=True)
    mark = len(fx.actions)
    fx.feed(ev.StopRequested(U))
    sigs = fx.of_type(act.Signal, mark)
    assert [(a.target, a.signal, a.sigcont) for a in sigs] == [
        ("pid", 2, True),
        ("pid", 1, False),
        ("cgroup", 2, True),
        ("cgroup", 1, False),
    ]


def test_final_kill_signal_and_no_sigkill() -> None:
    _m, fx = _running(kill_final_kill_signal=3)
    fx.feed(ev.StopRequested(U))
    mark = len(fx.actions)
    fx.advance(TSTOP)
    assert {a.signal for a in fx.of_type(act.Signal, mark)} == {3}
    n, nfx = _running(kill_send_sigkill=False)
    nfx.feed(ev.StopRequested(U))
    mark = len(nfx.actions)
    nfx.advance(TSTOP)
    assert nfx.logs(mark) == ["t.service: State 'stop-sigterm' timed out. Skipping SIGKILL."]
    assert n.sub in (SubState.FINAL_SIGTERM, SubState.FAILED)


def test_stop_timeout_is_result_timeout_and_failed() -> None:
    """Spec 03 §10: a stop that needed SIGKILL ends failed with Result=timeout."""
    m, fx = _running()
    fx.feed(ev.StopRequested(U))
    fx.advance(TSTOP)
    fx.exit(100, signal=9)
    fx.exit(300, signal=9)
    assert (m.sub, m.result) == (SubState.FAILED, Result.TIMEOUT)


def test_restart_kill_signal_only_for_restart_stops() -> None:
    _m, fx = _running(kill_restart_kill_signal=10)
    mark = len(fx.actions)
    fx.feed(ev.StopRequested(U, restart=True))
    assert {a.signal for a in fx.of_type(act.Signal, mark)} == {10}
    _n, nfx = _running(kill_restart_kill_signal=10)
    mark = len(nfx.actions)
    nfx.feed(ev.StopRequested(U))
    assert {a.signal for a in nfx.of_type(act.Signal, mark)} == {15}


@pytest.mark.parametrize(
    ("whom", "expected"),
    [
        ("main", [("pid", 100, 1, ())]),
        ("all", [("pid", 100, 1, ()), ("cgroup", 0, 1, (100,))]),
        ("control", []),
    ],
)
def test_systemctl_kill_ignores_kill_mode(whom: str, expected: list) -> None:
    m, fx = _running(kill_kill_mode="none")
    mark = len(fx.actions)
    fx.feed(ev.KillRequested(U, whom, 1))  # type: ignore[arg-type]
    assert _signals(fx, mark) == expected
    assert m.sub == SubState.RUNNING


def test_kill_goes_to_the_control_process_first_and_says_for_whom() -> None:
    """unit_kill_common(): control, then main, then the rest, each "on client request"."""
    m, fx = _running(exec_reload=[cmd("/bin/reload")])
    fx.feed(ev.ReloadRequested(U))
    control = m.control_pid
    mark = len(fx.actions)
    fx.feed(ev.KillRequested(U, "all", 10))
    got = [(a.target, a.pid, a.exclude, a.client) for a in fx.of_type(act.Signal, mark)]
    assert got == [
        ("pid", control, (), "control"),
        ("pid", 100, (), "main"),
        ("cgroup", 0, (100, control), "aux"),
    ]


def test_leftover_processes_warned_at_next_start() -> None:
    m, fx = _running(kill_kill_mode="process")
    fx.feed(ev.StopRequested(U))
    fx.exit(100, signal=15)
    assert m.sub == SubState.DEAD
    mark = len(fx.actions)
    start(fx)
    assert fx.actions[mark] == act.WarnLeftoverProcesses(U, "start")


def test_leftover_processes_listed_before_the_state_change() -> None:
    """service_enter_dead() logs what is left after "Deactivated successfully." and before
    service_set_state(), so before the stop job's "Stopped" line (oracle: tftpd-hpa's
    generated unit, KillMode=process; its ExecStop= leaves in.tftpd exiting)."""
    m, fx = _running(kill_kill_mode="process")
    fx.feed(ev.StopRequested(U))
    mark = len(fx.actions)
    fx.exit(100, signal=15)
    assert m.sub == SubState.DEAD
    seq = [
        a
        for a in fx.actions[mark:]
        if isinstance(a, (act.Log, act.StateChanged, act.WarnLeftoverProcesses))
    ]
    warn = seq.index(act.WarnLeftoverProcesses(U, "stop"))
    assert isinstance(seq[warn - 1], act.Log)
    assert seq[warn - 1].message == f"{U}: Deactivated successfully."
    assert isinstance(seq[warn + 1], act.StateChanged)
    assert seq[warn + 1].new_sub == "dead"


def test_leftover_processes_listed_on_the_way_to_auto_restart() -> None:
    """service_enter_dead() lists them whatever the next state: also before an automatic
    restart (KillMode=process, the main process failed, its child runs on)."""
    m, fx = _running(kill_kill_mode="process", restart="on-failure")
    mark = len(fx.actions)
    fx.exit(100, status=1)
    assert m.sub == SubState.AUTO_RESTART
    assert act.WarnLeftoverProcesses(U, "stop") in fx.actions[mark:]


def test_kill_messages_wording() -> None:
    assert act.format_kill_message(U, 42, "sleep", 9) == (
        "t.service: Killing process 42 (sleep) with signal SIGKILL."
    )
    assert act.format_leftover_message(U, 42, "sleep", "stop") == [
        "t.service: Unit process 42 (sleep) remains running after unit stopped."
    ]
    assert act.format_leftover_message(U, 42, "sleep", "start") == [
        "t.service: Found left-over process 42 (sleep) in control group while starting unit. "
        "Ignoring.",
        # a second journal record, without the unit's prefix (systemd 252, oracle)
        "This usually indicates unclean termination of a previous run, or service "
        "implementation deficiencies.",
    ]


def test_sigterm_fails_a_control_process_but_not_the_main_one() -> None:
    """Control commands are clean only with exit 0 (spec 03 §4): a stop that SIGTERMs an
    ExecStartPre= leaves the unit failed with Result=signal."""
    from tests.core.servicekit import cmd

    m, fx = machine(exec_start_pre=[cmd("/bin/pre")])
    start(fx)
    fx.feed(ev.StopRequested(U))
    mark = len(fx.actions)
    fx.exit(100, signal=15)
    assert fx.logs(mark) == [
        "t.service: Control process exited, code=killed, status=15/TERM",
        "t.service: Failed with result 'signal'.",
    ]
    log = fx.of_type(act.Log, mark)[0]
    assert ("COMMAND", "ExecStartPre") in log.fields
    assert (m.sub, m.result) == (SubState.FAILED, Result.SIGNAL)
