"""Service-machine scenarios: each drives a machine through the FakeExecutor and asserts
what systemd 252 does. test_service_scenarios.py runs each as a test; test_service_table.py
runs them all and checks that together they fire every row of the transition table."""

from __future__ import annotations

from collections.abc import Callable

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.exitstatus import ExitStatusSet
from pidone.core.service import ServiceMachine
from pidone.core.servicestate import Result, SubState
from pidone.testing.fakes import FakeExecutor
from tests.core.servicekit import SEC, cmd, machine, start

S = SubState
SCENARIOS: list[Callable[[], list[ServiceMachine]]] = []
U = "t.service"


def scenario(fn: Callable[[], list[ServiceMachine]]) -> Callable[[], list[ServiceMachine]]:
    SCENARIOS.append(fn)
    return fn


def env(spawn: act.Spawn) -> dict[str, str]:
    return dict(spawn.env)


def notify(m: ServiceMachine, pid: int, payload: str, uid: int = 0) -> ev.NotifyReceived:
    return ev.NotifyReceived.parse(pid, uid, payload, m.name)


# --- Type=simple / idle / dbus -------------------------------------------------------------


@scenario
def simple_crash_fails() -> list[ServiceMachine]:
    m, fx = machine()
    start(fx)
    assert m.sub == S.RUNNING
    assert m.main_pid == 100
    mark = len(fx.actions)
    fx.exit(100, status=1)
    assert fx.logs(mark) == [
        "t.service: Main process exited, code=exited, status=1/FAILURE",
        "t.service: Failed with result 'exit-code'.",
    ]
    assert [a.priority for a in fx.of_type(act.Log, mark)] == [5, 4]
    assert (m.sub, m.result) == (S.FAILED, Result.EXIT_CODE)
    assert m.exec_main.pid == 100
    assert m.exec_main.exit is not None
    assert (m.exec_main.exit.code.value, m.exec_main.exit.status) == (1, 1)
    start(fx)  # a failed unit starts again: Result reset
    assert (m.sub, m.result) == (S.RUNNING, Result.SUCCESS)
    return [m]


@scenario
def clean_exit_runs_exec_stop() -> list[ServiceMachine]:
    """Pitfall 7: a clean main exit runs ExecStop= with empty $MAINPID, then ExecStopPost=."""
    m, fx = machine(exec_stop=[cmd("/bin/stop")], exec_stop_post=[cmd("/bin/post")])
    start(fx)
    mark = len(fx.actions)
    fx.exit(100, status=0)
    stop = fx.spawns(mark)[0]
    assert stop.role == "stop"
    assert env(stop) == {
        "INVOCATION_ID": m.invocation_id,
        "SERVICE_RESULT": "success",
        "EXIT_CODE": "exited",
        "EXIT_STATUS": "0",
    }
    fx.exit(fx.pid_of(U, "stop"))
    fx.exit(fx.pid_of(U, "stop-post"))
    assert fx.states(mark) == ["stop", "stop-post", "dead"]
    assert fx.logs(mark) == ["t.service: Deactivated successfully."]
    return [m]


@scenario
def unclean_exit_skips_exec_stop() -> list[ServiceMachine]:
    m, fx = machine(exec_stop=[cmd("/bin/stop")], exec_stop_post=[cmd("/bin/post")])
    start(fx)
    mark = len(fx.actions)
    fx.exit(100, signal=9)
    assert [s.role for s in fx.spawns(mark)] == ["stop-post"]
    assert env(fx.spawns(mark)[0])["EXIT_STATUS"] == "KILL"
    fx.exit(fx.pid_of(U, "stop-post"))
    assert fx.logs(mark) == [
        "t.service: Main process exited, code=killed, status=9/KILL",
        "t.service: Failed with result 'signal'.",
    ]
    assert fx.of_type(act.Log, mark)[0].priority == 4
    assert (m.sub, m.result) == (S.FAILED, Result.SIGNAL)
    return [m]


@scenario
def sigterm_is_clean_for_daemons() -> list[ServiceMachine]:
    """Pitfall 9, spec 03 §4: SIGTERM is clean for simple (no restart), a failure for oneshot."""
    m, fx = machine(restart="on-failure")
    start(fx)
    fx.exit(100, signal=15)
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    o, ofx = machine(type="oneshot")
    start(ofx)
    ofx.exit(100, signal=15)
    assert (o.sub, o.result) == (S.FAILED, Result.SIGNAL)
    d, dfx = machine(type="simple", success_exit_status=ExitStatusSet(frozenset({42})))
    start(dfx)
    dfx.exit(100, status=42)
    assert (d.sub, d.result) == (S.DEAD, Result.SUCCESS)
    return [m, o, d]


@scenario
def simple_exec_failure_fails_later() -> list[ServiceMachine]:
    """Pitfall 6: Type=simple reaches running at fork; the 203/EXEC exit fails it after."""
    m, fx = machine()
    start(fx)
    assert m.sub == S.RUNNING
    mark = len(fx.actions)
    fx.exit(100, status=203)
    assert fx.logs(mark)[0] == "t.service: Main process exited, code=exited, status=203/EXEC"
    assert m.sub == S.FAILED
    return [m]


@scenario
def idle_and_dbus_run_as_simple() -> list[ServiceMachine]:
    """Type=idle runs as simple; so does Type=dbus when no system bus can be reached."""
    i, ifx = machine(type="idle", exec_start_pre=[cmd("/bin/pre")])
    start(ifx)
    assert (i.sub, i.active.value) == (S.START_PRE, "active")  # idle: active at once
    ifx.exit(100)
    d, dfx = machine(type="dbus", bus_name="org.example.T")
    out = start(dfx)
    assert act.WatchBusName(U, "org.example.T") in out
    assert d.sub == S.START  # waiting for the bus's answer
    out = dfx.feed(ev.BusNameOwnerChanged(U, "org.example.T", "", bus=False))
    assert i.sub == d.sub == S.RUNNING
    assert any(isinstance(a, act.Log) and "Type=dbus has no bus" in a.message for a in out)
    return [i, d]


@scenario
def dbus_started_by_its_name_and_stopped_by_its_loss() -> list[ServiceMachine]:
    """service_bus_name_owner_change(): START -> start-post when BusName= is acquired; a
    name released while running fails service_good(), so the service is stopped."""
    m, fx = machine(type="dbus", bus_name="org.example.T", exec_stop=[cmd("/bin/stop")])
    start(fx)
    main = fx.pid_of(U, "start")
    assert (m.sub, m.main_pid) == (S.START, main)
    fx.feed(ev.BusNameOwnerChanged(U, "org.example.T", ""))  # asked: nobody owns it yet
    fx.feed(ev.BusNameOwnerChanged(U, "org.other.Name", ":1.9"))  # not ours
    assert m.sub == S.START
    assert fx.timers  # TimeoutStartSec= runs while the name is awaited
    fx.feed(ev.BusNameOwnerChanged(U, "org.example.T", ":1.7"))
    assert m.sub == S.RUNNING
    fx.feed(ev.BusNameOwnerChanged(U, "org.example.T", ""))  # released
    assert m.sub == S.STOP  # ExecStop= runs: a clean stop, not a failure
    assert m.result == Result.SUCCESS
    # the name's owner known before the fork is reported (a quick bus): started at the fork
    m2, _ = machine(type="dbus", bus_name="org.example.T")
    out = m2.handle(ev.StartRequested(U, "0" * 32, True), 0)
    (spawn,) = [a for a in out if isinstance(a, act.Spawn)]
    m2.handle(ev.BusNameOwnerChanged(U, "org.example.T", ":1.8"), 1)
    assert m2.sub == S.START
    m2.handle(ev.Spawned(U, spawn.token, 4242), 2)
    assert (m2.sub, m2.main_pid) == (S.RUNNING, 4242)
    return [m, m2]


@scenario
def each_command_of_the_run_keeps_its_exit() -> list[ServiceMachine]:
    """ExecCommand.exec_status: every command's PID and exit, reset by the next start."""
    m, fx = machine(
        exec_start_pre=[cmd("/bin/pre"), cmd("/bin/pre2", ignore=True)],
        exec_stop=[cmd("/bin/stop")],
    )
    start(fx)
    pre = fx.pid_of(U, "start-pre")
    fx.exit(pre)
    pre2 = fx.pid_of(U, "start-pre")
    fx.exit(pre2, status=3)  # `-`: ignored, but its status is kept
    main = fx.pid_of(U, "start")
    assert m.exec_runs == (
        ("start-pre", 0, pre, 1, 0),
        ("start-pre", 1, pre2, 1, 3),
        ("start", 0, main, 0, 0),  # running: no exit yet
    )
    fx.feed(ev.StopRequested(U))
    stop = fx.pid_of(U, "stop")
    fx.exit(stop)
    fx.exit(main, signal=15)
    assert ("stop", 0, stop, 1, 0) in m.exec_runs
    assert ("start", 0, main, 2, 15) in m.exec_runs  # CLD_KILLED by SIGTERM
    start(fx)
    assert [r[0] for r in m.exec_runs] == ["start-pre"]  # reset at the start
    return [m]


@scenario
def spawn_of_main_fails() -> list[ServiceMachine]:
    m, fx = machine()
    fx.spawn_errors[(U, "start")] = "No such file or directory"
    start(fx)
    assert fx.logs()[0] == "t.service: Failed to run 'start' task: No such file or directory"
    assert (m.sub, m.result) == (S.FAILED, Result.RESOURCES)
    return [m]


# --- Type=exec --------------------------------------------------------------------------------


@scenario
def exec_waits_for_execve() -> list[ServiceMachine]:
    m, fx = machine(type="exec")
    start(fx)
    assert m.sub == S.START
    assert fx.spawns()[0].report_exec
    fx.feed(ev.ExecSucceeded(U, 100))
    assert m.sub == S.RUNNING
    f, ffx = machine(type="exec")
    start(ffx)
    ffx.feed(ev.ExecFailed(U, 100, 203))
    assert f.sub == S.START
    ffx.exit(100, status=203)
    assert ffx.logs() == [
        "t.service: Main process exited, code=exited, status=203/EXEC",
        "t.service: Failed with result 'exit-code'.",
    ]
    assert (f.sub, f.result) == (S.FAILED, Result.EXIT_CODE)
    return [m, f]


# --- Type=forking -----------------------------------------------------------------------------


@scenario
def forking_with_pid_file() -> list[ServiceMachine]:
    m, fx = machine(type="forking", pid_file="/run/t.pid")
    fx.pid_files["/run/t.pid"] = 500
    start(fx)
    assert m.sub == S.START
    assert m.control_pid == 100
    assert m.main_pid == 0
    fx.add_process(U, 500)
    fx.exit(100)
    assert (m.sub, m.main_pid) == (S.RUNNING, 500)
    assert act.WatchPid(U, 500) in fx.actions
    assert env(fx.spawns()[0])["PIDFILE"] == "/run/t.pid"
    mark = len(fx.actions)
    fx.feed(ev.StopRequested(U))
    assert fx.of_type(act.Signal, mark)[0] == act.Signal(U, "pid", 15, pid=500, sigcont=True)
    fx.exit(500, signal=15)
    assert m.sub == S.DEAD
    assert act.RemovePidFile(U, "/run/t.pid") in fx.actions[mark:]
    return [m]


@scenario
def forking_pid_file_late() -> list[ServiceMachine]:
    m, fx = machine(type="forking", pid_file="/run/t.pid")
    start(fx)
    fx.add_process(U, 501)
    mark = len(fx.actions)
    fx.exit(100)
    assert fx.logs(mark) == [
        "t.service: Can't open PID file /run/t.pid (yet?) after start: No such file or directory"
    ]
    assert m.sub == S.START
    fx.feed(ev.PidFileRead(U, 501))
    assert (m.sub, m.main_pid) == (S.RUNNING, 501)
    return [m]


@scenario
def forking_pid_file_never_written() -> list[ServiceMachine]:
    m, fx = machine(type="forking", pid_file="/run/t.pid")
    start(fx)
    fx.exit(100)  # the parent exits and leaves nothing behind
    assert (m.sub, m.result) == (S.FAILED, Result.PROTOCOL)
    # the daemon dies while we wait for its PID file
    w, wfx = machine(type="forking", pid_file="/run/t.pid")
    start(wfx)
    wfx.add_process(U, 502)
    wfx.exit(100)
    mark = len(wfx.actions)
    wfx.exit(502)
    assert wfx.logs(mark)[0] == "t.service: Daemon never wrote its PID file. Failing."
    assert (w.sub, w.result) == (S.FAILED, Result.PROTOCOL)
    return [m, w]


@scenario
def forking_pid_file_after_start_post() -> list[ServiceMachine]:
    m, fx = machine(type="forking", pid_file="/run/t.pid", exec_start_post=[cmd("/bin/post")])
    start(fx)
    fx.add_process(U, 503)
    fx.exit(100)
    assert m.sub == S.START_POST
    assert not m.main_pid_known
    fx.exit(fx.pid_of(U, "start-post"))
    assert m.sub == S.START_POST
    assert m.awaiting_pid_file
    fx.feed(ev.PidFileRead(U, 503))
    assert (m.sub, m.main_pid) == (S.RUNNING, 503)
    # never written, and the daemon is gone by the end of ExecStartPost=
    g, gfx = machine(type="forking", pid_file="/run/t.pid", exec_start_post=[cmd("/bin/post")])
    start(gfx)
    gfx.add_process(U, 504)
    gfx.exit(100)
    gfx.exit(504)
    gfx.exit(gfx.pid_of(U, "start-post"))
    assert (g.sub, g.result) == (S.FAILED, Result.PROTOCOL)
    # the daemon dies while we wait after ExecStartPost=
    d, dfx = machine(type="forking", pid_file="/run/t.pid", exec_start_post=[cmd("/bin/post")])
    start(dfx)
    dfx.add_process(U, 505)
    dfx.exit(100)
    dfx.exit(dfx.pid_of(U, "start-post"))
    dfx.exit(505)
    assert (d.sub, d.result) == (S.FAILED, Result.PROTOCOL)
    return [m, g, d]


@scenario
def forking_guessed_main_pid() -> list[ServiceMachine]:
    m, fx = machine(type="forking")
    fx.guesses[U] = 600
    start(fx)
    fx.add_process(U, 600)
    fx.exit(100)
    assert (m.sub, m.main_pid) == (S.RUNNING, 600)
    fx.exit(600)
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    return [m]


@scenario
def forking_without_main_pid_runs_until_empty() -> list[ServiceMachine]:
    """Debian's apache2 shape: several processes left, MainPID=0, running until empty."""
    m, fx = machine(type="forking")
    start(fx)
    fx.add_process(U, 601)
    fx.add_process(U, 602)
    fx.exit(100)
    assert (m.sub, m.main_pid) == (S.RUNNING, 0)
    fx.exit(601)
    assert m.sub == S.RUNNING
    fx.exit(602)
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    return [m]


@scenario
def forking_parent_fails() -> list[ServiceMachine]:
    m, fx = machine(type="forking")
    start(fx)
    fx.exit(100, status=3)
    assert fx.logs() == [
        "t.service: Control process exited, code=exited, status=3/NOTIMPLEMENTED",
        "t.service: Failed with result 'exit-code'.",
    ]
    return [m]


# --- Type=oneshot -----------------------------------------------------------------------------


@scenario
def oneshot_several_commands_remain_after_exit() -> list[ServiceMachine]:
    m, fx = machine(
        type="oneshot", remain_after_exit=True, exec_start=[cmd("/bin/a"), cmd("/bin/b")]
    )
    start(fx)
    assert (m.sub, m.main_pid) == (S.START, 100)
    fx.exit(100)
    assert (m.sub, m.main_pid) == (S.START, 101)
    fx.exit(101)
    assert m.sub == S.EXITED
    assert m.active.value == "active"
    mark = len(fx.actions)
    fx.feed(ev.StopRequested(U))
    assert fx.states(mark) == ["dead"]  # nothing to run or kill: straight through
    return [m]


@scenario
def oneshot_without_remain_runs_exec_stop() -> list[ServiceMachine]:
    """Pitfall 8: ExecStop= right after ExecStart=, ending inactive (dead)."""
    m, fx = machine(type="oneshot", exec_stop=[cmd("/bin/stop")])
    start(fx)
    fx.exit(100)
    assert m.sub == S.STOP
    assert env(fx.spawns()[-1])["EXIT_STATUS"] == "0"
    fx.exit(101)
    assert (m.sub, fx.logs()) == (S.DEAD, ["t.service: Deactivated successfully."])
    return [m]


@scenario
def oneshot_failure_aborts_the_rest() -> list[ServiceMachine]:
    m, fx = machine(type="oneshot", exec_start=[cmd("/bin/a"), cmd("/bin/b")])
    start(fx)
    fx.exit(100, status=1)
    assert [s.command.path for s in fx.spawns()] == ["/bin/a"]
    assert m.sub == S.FAILED
    i, ifx = machine(type="oneshot", exec_start=[cmd("/bin/a", ignore=True), cmd("/bin/b")])
    start(ifx)
    ifx.exit(100, status=1)
    assert [s.command.path for s in ifx.spawns()] == ["/bin/a", "/bin/b"]
    assert ifx.logs() == []
    e, efx = machine(type="oneshot", exec_start=[])
    start(efx)
    assert efx.states() == ["start", "dead"]
    return [m, i, e]


# --- Type=notify ------------------------------------------------------------------------------


@scenario
def notify_ready_status_and_access() -> list[ServiceMachine]:
    m, fx = machine(type="notify")
    start(fx)
    assert fx.spawns()[0].notify_socket
    assert m.sub == S.START
    mark = len(fx.actions)
    fx.feed(notify(m, 999, "READY=1"))
    assert fx.logs(mark) == [
        "t.service: Got notification message from PID 999, but reception only permitted "
        "for main PID 100"
    ]
    assert m.sub == S.START
    fx.feed(notify(m, 100, "READY=1\nSTATUS=Serving\nERRNO=5"))
    assert (m.sub, m.status_text, m.status_errno) == (S.RUNNING, "Serving", 5)
    return [m]


@scenario
def notify_access_modes() -> list[ServiceMachine]:
    n, nfx = machine(notify_access="none")
    start(nfx)
    nfx.feed(notify(n, 100, "STATUS=x"))
    assert nfx.logs() == [
        "t.service: Got notification message from PID 100, but reception is disabled."
    ]
    assert n.status_text == ""
    e, efx = machine(type="notify", notify_access="exec", exec_start_pre=[cmd("/bin/pre")])
    start(efx)
    efx.feed(notify(e, 100, "STATUS=from pre"))  # the control process may talk under exec
    assert e.status_text == "from pre"
    efx.feed(notify(e, 555, "STATUS=stranger"))
    assert efx.logs()[-1] == (
        "t.service: Got notification message from PID 555, but reception only permitted "
        "for control PID 100"
    )
    efx.exit(100)
    efx.feed(notify(e, 555, "STATUS=stranger"))
    assert efx.logs()[-1].endswith("only permitted for main PID 101")
    a, afx = machine(type="notify", notify_access="all")
    start(afx)
    afx.feed(notify(a, 4242, "READY=1"))
    assert a.sub == S.RUNNING
    return [n, e, a]


@scenario
def notify_exits_before_ready() -> list[ServiceMachine]:
    m, fx = machine(type="notify")
    start(fx)
    fx.exit(100, status=0)
    assert (m.sub, m.result) == (S.FAILED, Result.PROTOCOL)
    f, ffx = machine(type="notify")
    start(ffx)
    ffx.exit(100, status=1)
    assert (f.sub, f.result) == (S.FAILED, Result.EXIT_CODE)
    # RemainAfterExit= + NotifyAccess=all: READY=1 may still come from another process
    r, rfx = machine(type="notify", remain_after_exit=True, notify_access="all")
    start(rfx)
    rfx.add_process(U, 700)
    rfx.exit(100)
    assert r.sub == S.START
    rfx.exit(700)
    assert (r.sub, r.result) == (S.FAILED, Result.PROTOCOL)
    return [m, f, r]


@scenario
def notify_mainpid_handover() -> list[ServiceMachine]:
    m, fx = machine(type="notify")
    start(fx)
    fx.add_process(U, 777)
    fx.feed(notify(m, 100, "MAINPID=777\nREADY=1"))
    assert (m.sub, m.main_pid, m.exec_main.pid) == (S.RUNNING, 777, 777)
    assert act.WatchPid(U, 777) in fx.actions
    fx.exit(100, status=1)  # the old main is just a process of the unit now
    assert m.sub == S.RUNNING
    fx.feed(notify(m, 777, "MAINPID=abc"))
    assert fx.logs()[-1] == (
        "t.service: Failed to parse MAINPID= field in notification message, ignoring: abc"
    )
    fx.exit(777, status=0)
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    return [m]


@scenario
def notify_reloading_and_stopping() -> list[ServiceMachine]:
    m, fx = machine(type="notify")
    start(fx)
    fx.feed(notify(m, 100, "READY=1"))
    fx.feed(notify(m, 100, "RELOADING=1"))
    assert m.sub == S.RELOAD
    fx.feed(notify(m, 100, "READY=1"))
    assert m.sub == S.RUNNING
    mark = len(fx.actions)
    fx.feed(notify(m, 100, "STOPPING=1"))
    assert m.sub == S.STOP_SIGTERM
    assert fx.of_type(act.Signal, mark) == []
    fx.exit(100)
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    r, rfx = machine(type="notify", exec_reload=[cmd("/bin/reload")])
    start(rfx)
    rfx.feed(notify(r, 100, "READY=1"))
    rfx.feed(ev.ReloadRequested(U))
    rfx.feed(notify(r, 100, "STOPPING=1"))  # STOPPING=1 during a reload: queued
    assert r.sub == S.RELOAD
    rfx.exit(rfx.pid_of(U, "reload"))
    assert r.sub == S.STOP_SIGTERM
    # ... and READY=1 after it (a reload that replaced the daemon) wins: running
    n, nfx = machine(type="notify", notify_access="all", exec_reload=[cmd("/bin/reload")])
    start(nfx)
    nfx.feed(notify(n, 100, "READY=1"))
    nfx.feed(ev.ReloadRequested(U))
    nfx.feed(notify(n, 100, "STOPPING=1"))
    nfx.feed(notify(n, 150, "READY=1"))
    nfx.exit(nfx.pid_of(U, "reload"))
    assert n.sub == S.RUNNING
    # queued: RELOADING=1 / STOPPING=1 before READY=1 act once running is reached
    q, qfx = machine(type="notify", exec_start_post=[cmd("/bin/post")])
    start(qfx)
    qfx.feed(notify(q, 100, "READY=1"))
    qfx.feed(notify(q, 100, "RELOADING=1"))
    qfx.exit(101)
    assert q.sub == S.RELOAD
    z, zfx = machine(type="notify", exec_start_post=[cmd("/bin/post")])
    start(zfx)
    zfx.feed(notify(z, 100, "READY=1"))
    zfx.feed(notify(z, 100, "STOPPING=1"))
    zfx.exit(101)
    assert z.sub == S.STOP_SIGTERM
    return [m, r, n, q, z]


@scenario
def notify_extend_timeout() -> list[ServiceMachine]:
    m, fx = machine(type="notify", timeout_start_usec=5 * SEC)
    start(fx)
    fx.advance(4 * SEC)
    fx.feed(notify(m, 100, "EXTEND_TIMEOUT_USEC=10000000"))
    fx.advance(2 * SEC)
    assert m.sub == S.START
    fx.advance(8 * SEC)
    assert m.sub == S.STOP_SIGTERM
    return [m]


# --- ExecCondition= / ExecStartPre= / ExecStartPost= / ExecStop= / ExecReload= --------------


@scenario
def exec_condition_skip_and_failure() -> list[ServiceMachine]:
    """Pitfall 16: exit 1-254 skips (dead, ExecStopPost= runs); 255 fails."""
    m, fx = machine(exec_condition=[cmd("/bin/check")], exec_stop_post=[cmd("/bin/post")])
    start(fx)
    assert m.sub == S.CONDITION
    fx.exit(100, status=1)
    assert [s.role for s in fx.spawns()] == ["condition", "stop-post"]
    fx.exit(101)
    assert (m.sub, m.result) == (S.DEAD, Result.EXEC_CONDITION)
    assert fx.logs() == ["t.service: Skipped due to 'exec-condition'."]
    f, ffx = machine(exec_condition=[cmd("/bin/check")])
    start(ffx)
    ffx.exit(100, status=255)
    assert ffx.logs() == [
        "t.service: Control process exited, code=exited, status=255/EXCEPTION",
        "t.service: Failed with result 'exit-code'.",
    ]
    assert f.sub == S.FAILED
    ok, okfx = machine(exec_condition=[cmd("/bin/a"), cmd("/bin/b")])
    start(okfx)
    okfx.exit(100)
    okfx.exit(101)
    assert ok.sub == S.RUNNING
    return [m, f, ok]


@scenario
def start_pre_failure() -> list[ServiceMachine]:
    m, fx = machine(
        exec_start_pre=[cmd("/bin/p1"), cmd("/bin/p2")],
        exec_stop=[cmd("/bin/stop")],
        exec_stop_post=[cmd("/bin/post")],
    )
    start(fx)
    fx.exit(100)
    assert m.sub == S.START_PRE
    fx.exit(101, status=2)
    assert [s.role for s in fx.spawns()] == ["start-pre", "start-pre", "stop-post"]
    fx.exit(102)
    assert (m.sub, m.result) == (S.FAILED, Result.EXIT_CODE)
    return [m]


@scenario
def start_post_failure_kills_main() -> list[ServiceMachine]:
    """Verified: ExecStartPost= failure -> SERVICE_RESULT=exit-code EXIT_CODE=killed TERM."""
    m, fx = machine(
        exec_start_post=[cmd("/bin/post1"), cmd("/bin/post2")],
        exec_stop=[cmd("/bin/stop")],
        exec_stop_post=[cmd("/bin/stoppost")],
    )
    start(fx)
    assert m.sub == S.START_POST
    fx.exit(101)
    mark = len(fx.actions)
    fx.exit(102, status=1)
    assert fx.of_type(act.Signal, mark)[0] == act.Signal(U, "pid", 15, pid=100, sigcont=True)
    fx.exit(100, signal=15)
    post = fx.spawns(mark)[0]
    assert post.role == "stop-post"
    assert (env(post)["SERVICE_RESULT"], env(post)["EXIT_CODE"], env(post)["EXIT_STATUS"]) == (
        "exit-code",
        "killed",
        "TERM",
    )
    return [m]


@scenario
def main_exit_during_start_post_is_remembered() -> list[ServiceMachine]:
    m, fx = machine(exec_start_post=[cmd("/bin/post")])
    start(fx)
    fx.exit(100, status=1)
    assert m.sub == S.START_POST
    fx.exit(101)
    assert (m.sub, m.result) == (S.FAILED, Result.EXIT_CODE)
    return [m]


@scenario
def exec_stop_failure_fails_unit() -> list[ServiceMachine]:
    m, fx = machine(exec_stop=[cmd("/bin/s1"), cmd("/bin/s2")])
    start(fx)
    fx.feed(ev.StopRequested(U))
    assert m.sub == S.STOP
    assert env(fx.spawns()[-1])["MAINPID"] == "100"
    fx.exit(101, status=1)
    assert [s.command.path for s in fx.spawns()] == ["/bin/daemon", "/bin/s1"]
    fx.exit(100, signal=15)
    assert (m.sub, m.result) == (S.FAILED, Result.EXIT_CODE)
    ok, okfx = machine(exec_stop=[cmd("/bin/s1"), cmd("/bin/s2")])
    start(okfx)
    okfx.feed(ev.StopRequested(U))
    okfx.exit(100, signal=15)  # main dies during ExecStop=: remembered
    okfx.exit(101)
    okfx.exit(102)
    assert (ok.sub, ok.result) == (S.DEAD, Result.SUCCESS)
    return [m, ok]


@scenario
def reload_success_failure_timeout() -> list[ServiceMachine]:
    m, fx = machine(exec_reload=[cmd("/bin/r1"), cmd("/bin/r2")], timeout_start_usec=5 * SEC)
    start(fx)
    fx.feed(ev.ReloadRequested(U))
    assert m.sub == S.RELOAD
    assert env(fx.spawns()[-1])["MAINPID"] == "100"
    fx.exit(101)
    fx.exit(102)
    assert (m.sub, m.reload_result) == (S.RUNNING, Result.SUCCESS)
    fx.feed(ev.ReloadRequested(U))
    fx.exit(103, status=1)
    assert (m.sub, m.reload_result, m.result) == (S.RUNNING, Result.EXIT_CODE, Result.SUCCESS)
    fx.feed(ev.ReloadRequested(U))
    mark = len(fx.actions)
    fx.advance(5 * SEC)
    assert fx.logs(mark) == ["t.service: Reload operation timed out. Killing reload process."]
    assert act.Signal(U, "pid", 9, pid=104) in fx.actions[mark:]
    assert (m.sub, m.reload_result) == (S.RUNNING, Result.TIMEOUT)
    fx.exit(100, status=0)  # main exits during a reload: handled when it finishes
    return [m]


@scenario
def reload_of_oneshot_exited_and_main_exit_in_reload() -> list[ServiceMachine]:
    m, fx = machine(type="oneshot", remain_after_exit=True, exec_reload=[cmd("/bin/r")])
    start(fx)
    fx.exit(100)
    fx.feed(ev.ReloadRequested(U))
    assert m.sub == S.RELOAD
    fx.exit(101)
    assert m.sub == S.EXITED
    r, rfx = machine(exec_reload=[cmd("/bin/r")])
    start(rfx)
    rfx.feed(ev.ReloadRequested(U))
    rfx.exit(100, status=1)
    assert r.sub == S.RELOAD
    rfx.exit(101)
    assert (r.sub, r.result) == (S.FAILED, Result.EXIT_CODE)
    return [m, r]


@scenario
def reload_reads_pid_file_again() -> list[ServiceMachine]:
    """service_sigchld_event(), SERVICE_RELOAD: after a successful reload systemd 252 loads
    PIDFile= again, so a reload that replaces the daemon (frr's `frrinit.sh reload` stops
    watchfrr and starts a new one) keeps the unit running with the new main PID."""
    m, fx = machine(type="forking", pid_file="/run/t.pid", exec_reload=[cmd("/bin/r")])
    fx.pid_files["/run/t.pid"] = 500
    start(fx)
    fx.add_process(U, 500)
    fx.exit(100)
    assert (m.sub, m.main_pid) == (S.RUNNING, 500)
    fx.feed(ev.ReloadRequested(U))
    fx.exit(500)  # the old daemon goes first: nothing happens until the reload ends
    assert (m.sub, m.main_pid) == (S.RELOAD, 0)
    fx.add_process(U, 510)
    fx.pid_files["/run/t.pid"] = 510
    fx.exit(fx.pid_of(U, "reload"))
    assert (m.sub, m.main_pid, m.reload_result) == (S.RUNNING, 510, Result.SUCCESS)
    assert act.WatchPid(U, 510) in fx.actions
    # the same PID file: nothing changes; no PID file and the main process gone: stopped
    fx.feed(ev.ReloadRequested(U))
    fx.exit(fx.pid_of(U, "reload"))
    assert (m.sub, m.main_pid) == (S.RUNNING, 510)
    fx.feed(ev.ReloadRequested(U))
    fx.exit(510)
    del fx.pid_files["/run/t.pid"]
    mark = len(fx.actions)
    fx.exit(fx.pid_of(U, "reload"))
    assert fx.logs(mark)[0] == (
        "t.service: Can't open PID file /run/t.pid (yet?) after reload: No such file or directory"
    )
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    # a failed reload does not look at the PID file
    f, ffx = machine(type="forking", pid_file="/run/t.pid", exec_reload=[cmd("/bin/r")])
    ffx.pid_files["/run/t.pid"] = 500
    start(ffx)
    ffx.add_process(U, 500)
    ffx.exit(100)
    ffx.feed(ev.ReloadRequested(U))
    ffx.pid_files["/run/t.pid"] = 520
    mark = len(ffx.actions)
    ffx.exit(ffx.pid_of(U, "reload"), status=1)
    assert not ffx.of_type(act.ReadPidFile, mark)
    assert (f.sub, f.main_pid, f.reload_result) == (S.RUNNING, 500, Result.EXIT_CODE)
    return [m, f]


@scenario
def main_process_moves_to_a_new_pid() -> list[ServiceMachine]:
    """service_sigchld_event(): a main process that writes a new PID into PIDFile= before
    it exits has moved; its exit is no event (checked on the oracle with a forking unit
    whose main, on SIGUSR1, starts a successor, writes its PID and exits 0)."""
    m, fx = machine(type="forking", pid_file="/run/t.pid")
    fx.pid_files["/run/t.pid"] = 500
    start(fx)
    fx.add_process(U, 500)
    fx.exit(100)
    assert (m.sub, m.main_pid) == (S.RUNNING, 500)
    fx.add_process(U, 501)
    fx.pid_files["/run/t.pid"] = 501
    mark = len(fx.actions)
    fx.exit(500)
    assert act.ReadPidFile(U, "/run/t.pid", known=500) in fx.actions[mark:]
    assert (m.sub, m.main_pid, m.exec_main.pid) == (S.RUNNING, 501, 501)
    assert fx.logs(mark) == []
    # the file still names the exiting PID (another process is left): the exit counts
    fx.add_process(U, 502)
    mark = len(fx.actions)
    fx.exit(501)
    assert act.ReadPidFile(U, "/run/t.pid", known=501) in fx.actions[mark:]
    assert m.sub == S.STOP_SIGTERM  # main gone (ExitType=main): stopped, 502 signalled
    fx.exit(502)
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    # an empty unit: nothing to move to, nothing read
    e, efx = machine(type="forking", pid_file="/run/t.pid")
    efx.pid_files["/run/t.pid"] = 500
    start(efx)
    efx.add_process(U, 500)
    efx.exit(100)
    mark = len(efx.actions)
    efx.exit(500)
    assert not efx.of_type(act.ReadPidFile, mark)
    assert e.sub == S.DEAD
    return [m, e]


# --- driving a machine into any state --------------------------------------------------------

TSTOP = 90 * SEC


def drive(state: str, **cfg: object) -> tuple[ServiceMachine, FakeExecutor]:
    """A machine sitting in SubState `state` with its processes alive (they never die
    unless the test says so). Extra `cfg` goes to the unit."""
    kw: dict[str, object] = dict(cfg)
    if state == "condition":
        kw.setdefault("exec_condition", [cmd("/bin/cond")])
    elif state == "start-pre":
        kw.setdefault("exec_start_pre", [cmd("/bin/pre")])
    elif state == "start":
        kw.setdefault("type", "notify")
    elif state == "start-post":
        kw.setdefault("exec_start_post", [cmd("/bin/post")])
    elif state == "reload":
        kw.setdefault("exec_reload", [cmd("/bin/reload")])
    elif state == "stop":
        kw.setdefault("exec_stop", [cmd("/bin/stop")])
    elif state in ("stop-post", "final-sigterm", "final-sigkill", "final-watchdog"):
        kw.setdefault("exec_stop_post", [cmd("/bin/stoppost")])
    if state in ("stop-watchdog", "final-watchdog"):
        kw.setdefault("timeout_stop_failure_mode", "abort")
    m, fx = machine(**kw)
    start(fx)
    if state in ("condition", "start-pre", "start", "start-post"):
        assert m.sub.value == state
        return m, fx
    if m.sub == S.START:  # notify types given by cfg
        fx.feed(notify(m, m.main_pid, "READY=1"))
    if state == "reload":
        fx.feed(ev.ReloadRequested(U))
    elif state in ("stop", "stop-sigterm"):
        fx.feed(ev.StopRequested(U))
    elif state in ("stop-sigkill", "stop-watchdog"):
        fx.feed(ev.StopRequested(U))
        fx.advance(TSTOP)
    elif state == "stop-post":
        fx.feed(ev.StopRequested(U))
        fx.exit(m.main_pid, signal=15)
    elif state in ("final-sigterm", "final-watchdog", "final-sigkill"):
        fx.feed(ev.StopRequested(U))
        fx.exit(m.main_pid, signal=15)
        fx.advance(TSTOP)
        if state == "final-sigkill":
            fx.advance(TSTOP)
    assert m.sub.value == state, (m.sub, state)
    return m, fx


STARTING = ("condition", "start-pre", "start", "start-post")
ALREADY_STOPPING = (
    "stop",
    "stop-sigterm",
    "stop-sigkill",
    "stop-post",
    "final-watchdog",
    "final-sigterm",
    "final-sigkill",
)


@scenario
def start_while_starting_waits() -> list[ServiceMachine]:
    out = []
    for state in STARTING:
        m, fx = drive(state)
        assert start(fx) == []
        assert m.sub.value == state
        out.append(m)
    return out


@scenario
def stop_while_starting_kills_without_exec_stop() -> list[ServiceMachine]:
    out = []
    for state in (*STARTING, "reload", "stop-watchdog"):
        m, fx = drive(state, exec_stop=[cmd("/bin/stop")])
        mark = len(fx.actions)
        alive = [p for p in (m.main_pid, m.control_pid) if p]
        fx.feed(ev.StopRequested(U))
        assert m.sub == S.STOP_SIGTERM, state
        assert not any(s.role == "stop" for s in fx.spawns(mark))
        hit = [a.pid for a in fx.of_type(act.Signal, mark) if a.target == "pid"]
        assert hit == alive, state
        out.append(m)
    return out


@scenario
def stop_while_stopping_does_nothing() -> list[ServiceMachine]:
    out = []
    for state in ALREADY_STOPPING:
        m, fx = drive(state)
        assert fx.feed(ev.StopRequested(U)) == []
        assert m.sub.value == state
        out.append(m)
    return out


@scenario
def spawn_failures_by_phase() -> list[ServiceMachine]:
    expected = {
        "condition": (S.FAILED, Result.RESOURCES),
        "start-pre": (S.FAILED, Result.RESOURCES),
        "start-post": (S.FAILED, Result.RESOURCES),
        "stop": (S.FAILED, Result.RESOURCES),
        "stop-post": (S.FAILED, Result.RESOURCES),
    }
    out = []
    for role, (sub, result) in expected.items():
        m, fx = machine(
            exec_condition=[cmd("/bin/c")] if role == "condition" else [],
            exec_start_pre=[cmd("/bin/p")] if role == "start-pre" else [],
            exec_start_post=[cmd("/bin/sp")] if role == "start-post" else [],
            exec_stop=[cmd("/bin/s")] if role == "stop" else [],
            exec_stop_post=[cmd("/bin/sp")] if role == "stop-post" else [],
        )
        fx.spawn_errors[(U, role)] = "Permission denied"
        start(fx)
        if role in ("stop", "stop-post"):
            fx.feed(ev.StopRequested(U))
        for pid in list(fx.processes):
            fx.exit(pid, signal=15)
        assert f"t.service: Failed to run '{role}' task: Permission denied" in fx.logs()
        assert (m.sub, m.result) == (sub, result), role
        out.append(m)
    r, rfx = machine(exec_reload=[cmd("/bin/r")])
    rfx.spawn_errors[(U, "reload")] = "Permission denied"
    start(rfx)
    rfx.feed(ev.ReloadRequested(U))
    assert (r.sub, r.reload_result, r.result) == (S.RUNNING, Result.RESOURCES, Result.SUCCESS)
    return [*out, r]


MODES = {
    "terminate": ({}, "Terminating.", S.STOP_SIGTERM),
    "abort": ({"timeout_start_failure_mode": "abort"}, "Aborting.", S.STOP_WATCHDOG),
    "kill": ({"timeout_start_failure_mode": "kill"}, "Killing.", S.STOP_SIGKILL),
    "kill-no-sigkill": (
        {"timeout_start_failure_mode": "kill", "kill_send_sigkill": False},
        "Skipping SIGKILL.",
        S.STOP_POST,
    ),
}


@scenario
def start_timeouts_by_failure_mode() -> list[ServiceMachine]:
    out = []
    for state in STARTING:
        for cfg, word, after in MODES.values():
            m, fx = drive(state, timeout_start_usec=5 * SEC, exec_stop_post=[cmd("/bin/sp")], **cfg)
            mark = len(fx.actions)
            fx.advance(5 * SEC)
            assert fx.logs(mark)[0] == f"t.service: {state} operation timed out. {word}"
            assert (m.sub, m.result) == (after, Result.TIMEOUT), (state, word)
            out.append(m)
    return out


@scenario
def start_timeout_escalates_to_sigkill() -> list[ServiceMachine]:
    m, fx = machine(type="notify", timeout_start_usec=5 * SEC, timeout_stop_usec=3 * SEC)
    start(fx)
    fx.advance(5 * SEC)
    assert fx.of_type(act.Signal)[0] == act.Signal(U, "pid", 15, pid=100, sigcont=True)
    mark = len(fx.actions)
    fx.advance(3 * SEC)
    assert fx.logs(mark) == ["t.service: State 'stop-sigterm' timed out. Killing."]
    assert fx.of_type(act.Signal, mark)[0] == act.Signal(U, "pid", 9, pid=100, log_kill=True)
    assert m.sub == S.STOP_SIGKILL
    fx.exit(100, signal=9)
    assert fx.logs()[-2:] == [
        "t.service: Main process exited, code=killed, status=9/KILL",
        "t.service: Failed with result 'timeout'.",
    ]
    assert (m.sub, m.result) == (S.FAILED, Result.TIMEOUT)
    return [m]


STOP_MODES = {
    "terminate": ({}, "Terminating.", S.STOP_SIGTERM),
    "abort": ({"timeout_stop_failure_mode": "abort"}, "Aborting.", S.STOP_WATCHDOG),
    "kill": ({"timeout_stop_failure_mode": "kill"}, "Killing.", S.STOP_SIGKILL),
    "kill-no-sigkill": (
        {"timeout_stop_failure_mode": "kill", "kill_send_sigkill": False},
        "Skipping SIGKILL.",
        S.STOP_POST,
    ),
}


@scenario
def exec_stop_timeouts() -> list[ServiceMachine]:
    out = []
    for cfg, word, after in STOP_MODES.values():
        m, fx = drive("stop", exec_stop_post=[cmd("/bin/sp")], **cfg)
        mark = len(fx.actions)
        fx.advance(TSTOP)
        assert fx.logs(mark)[0] == f"t.service: Stopping timed out. {word}"
        assert m.sub == after, (word, m.sub)
        out.append(m)
    return out


@scenario
def stop_sigterm_timeouts() -> list[ServiceMachine]:
    cases = [
        ({"timeout_stop_failure_mode": "abort"}, "Aborting.", S.STOP_WATCHDOG),
        ({}, "Killing.", S.STOP_SIGKILL),
        ({"kill_send_sigkill": False}, "Skipping SIGKILL.", S.STOP_POST),
    ]
    out = []
    for cfg, word, after in cases:
        m, fx = drive("stop-sigterm", exec_stop_post=[cmd("/bin/sp")], **cfg)
        mark = len(fx.actions)
        fx.advance(TSTOP)
        assert fx.logs(mark)[0] == f"t.service: State 'stop-sigterm' timed out. {word}"
        assert (m.sub, m.result) == (after, Result.TIMEOUT)
        out.append(m)
    w, wfx = drive("stop-watchdog", timeout_abort_usec=2 * SEC)
    wfx.advance(2 * SEC)
    assert wfx.logs()[-1] == "t.service: State 'stop-watchdog' timed out. Killing."
    n, nfx = drive("stop-watchdog", kill_send_sigkill=False, exec_stop_post=[cmd("/bin/sp")])
    nfx.advance(TSTOP)
    assert nfx.logs()[-1] == "t.service: State 'stop-watchdog' timed out. Skipping SIGKILL."
    assert n.sub == S.STOP_POST
    k, kfx = drive("stop-sigkill", exec_stop_post=[cmd("/bin/sp")])
    kfx.advance(TSTOP)
    assert kfx.logs()[-1] == "t.service: Processes still around after SIGKILL. Ignoring."
    assert k.sub == S.STOP_POST
    assert k.main_pid == 100
    return [*out, w, n, k]


@scenario
def stop_post_and_final_timeouts() -> list[ServiceMachine]:
    cases = [
        ({"timeout_stop_failure_mode": "abort"}, "Aborting.", S.FINAL_WATCHDOG),
        ({}, "Terminating.", S.FINAL_SIGTERM),
        ({"timeout_stop_failure_mode": "kill"}, "Killing.", S.FINAL_SIGKILL),
        (
            {"timeout_stop_failure_mode": "kill", "kill_send_sigkill": False},
            "Skipping SIGKILL. Entering failed mode.",
            S.FAILED,
        ),
    ]
    out = []
    for cfg, word, after in cases:
        m, fx = drive("stop-post", **cfg)
        mark = len(fx.actions)
        fx.advance(TSTOP)
        assert fx.logs(mark)[0] == f"t.service: State 'stop-post' timed out. {word}"
        assert m.sub == after, (word, m.sub)
        out.append(m)
    finals = [
        ("final-watchdog", {}, "State 'final-watchdog' timed out. Killing.", S.FINAL_SIGKILL),
        (
            "final-watchdog",
            {"kill_send_sigkill": False},
            "State 'final-watchdog' timed out. Skipping SIGKILL. Entering failed mode.",
            S.FAILED,
        ),
        (
            "final-sigterm",
            {},
            "State 'final-sigterm' timed out. Killing.",
            S.FINAL_SIGKILL,
        ),
        (
            "final-sigterm",
            {"kill_send_sigkill": False},
            "State 'final-sigterm' timed out. Skipping SIGKILL. Entering failed mode.",
            S.FAILED,
        ),
        (
            "final-sigkill",
            {},
            "Processes still around after final SIGKILL. Entering failed mode.",
            S.FAILED,
        ),
    ]
    for state, cfg, line, after in finals:
        m, fx = drive(state, **cfg)
        mark = len(fx.actions)
        fx.advance(TSTOP)
        assert fx.logs(mark)[0] == f"t.service: {line}"
        assert (m.sub, m.result) == (after, Result.TIMEOUT), state
        out.append(m)
    # final-sigterm -> final-watchdog needs abort mode after a terminate-mode stop-post:
    a, afx = drive("stop-post", timeout_stop_failure_mode="abort")
    afx.advance(TSTOP)
    assert a.sub == S.FINAL_WATCHDOG
    t, tfx = drive("final-sigterm")
    t.cfg.timeout_stop_failure_mode = "abort"
    tfx.advance(TSTOP)
    assert tfx.logs()[-1] == "t.service: State 'final-sigterm' timed out. Aborting."
    assert t.sub == S.FINAL_WATCHDOG
    return [*out, a, t]


def both_alive(state: str, **cfg: object) -> tuple[ServiceMachine, FakeExecutor]:
    """A machine in a killing state with main and control processes both still alive."""
    if state.startswith("stop-"):
        kw = {"exec_start_post": [cmd("/bin/post")], **cfg}
        if state == "stop-watchdog":
            kw["watchdog_usec"] = SEC
        m, fx = machine(**kw)
        start(fx)
        if state == "stop-watchdog":
            fx.advance(SEC)
        else:
            fx.feed(ev.StopRequested(U))
            if state == "stop-sigkill":
                fx.advance(TSTOP)
    else:
        kw = {"exec_stop_post": [cmd("/bin/stoppost")], **cfg}
        if state == "final-watchdog":
            kw["timeout_stop_failure_mode"] = "abort"
        m, fx = machine(**kw)
        start(fx)
        fx.feed(ev.StopRequested(U))
        for _ in range(4 if state == "final-watchdog" else 3):
            fx.advance(TSTOP)
        if state == "final-sigkill":
            fx.advance(TSTOP)
    assert m.sub.value == state, (state, m.sub)
    assert m.main_pid
    assert m.control_pid
    return m, fx


KILLING = ("stop-watchdog", "stop-sigterm", "stop-sigkill")
FINAL = ("final-watchdog", "final-sigterm", "final-sigkill")


@scenario
def main_and_control_exit_in_either_order() -> list[ServiceMachine]:
    out = []
    for state in (*KILLING, *FINAL):
        after = {S.STOP_POST, S.FAILED} if state in KILLING else {S.FAILED}
        m, fx = both_alive(state)
        fx.exit(m.main_pid, signal=9)
        assert m.sub.value == state  # waits for the control process
        fx.exit(m.control_pid, signal=9)
        assert m.sub in after, (state, m.sub)
        c, cfx = both_alive(state)
        cfx.exit(c.control_pid, signal=9)
        assert c.sub.value == state  # waits for the main process
        cfx.exit(c.main_pid, signal=9)
        assert c.sub in after, (state, c.sub)
        out += [m, c]
    p, pfx = drive("stop-sigkill", exec_stop_post=[cmd("/bin/sp")])
    pfx.advance(TSTOP)  # "Processes still around after SIGKILL": stop-post with main alive
    pfx.exit(100, signal=9)
    assert p.sub == S.STOP_POST
    return [*out, p]


def _no_main(**cfg: object) -> tuple[ServiceMachine, FakeExecutor]:
    """A forking service without main PID: two daemons that ignore every signal."""
    m, fx = machine(type="forking", exec_stop_post=[cmd("/bin/sp")], **cfg)
    start(fx)
    fx.add_process(U, 601)
    fx.add_process(U, 602)
    fx.exit(100)
    assert m.sub == S.RUNNING
    assert m.main_pid == 0
    return m, fx


@scenario
def cgroup_empty_ends_killing_states() -> list[ServiceMachine]:
    out = []
    for state, advances, cfg in (
        ("stop-sigterm", 0, {}),
        ("stop-sigkill", 1, {}),
        ("stop-watchdog", 1, {"timeout_stop_failure_mode": "abort"}),
    ):
        m, fx = _no_main(**cfg)
        fx.feed(ev.StopRequested(U))
        assert fx.of_type(act.Signal)[-1].target == "cgroup"
        for _ in range(advances):
            fx.advance(TSTOP)
        assert m.sub.value == state
        fx.processes.clear()
        fx.feed(ev.UnitProcessesGone(U))
        assert m.sub == S.STOP_POST, state
        out.append(m)
    for state, advances, cfg in (
        ("final-sigterm", 0, {}),
        ("final-sigkill", 1, {}),
        ("final-watchdog", 1, {"timeout_stop_failure_mode": "abort"}),
    ):
        m, fx = _no_main(**cfg)
        fx.feed(ev.StopRequested(U))
        while m.sub != S.STOP_POST:
            fx.advance(TSTOP)
        fx.exit(fx.pid_of(U, "stop-post"))
        for _ in range(advances):
            fx.advance(TSTOP)
        assert m.sub.value == state, (state, m.sub)
        fx.processes.clear()
        fx.feed(ev.UnitProcessesGone(U))
        assert (m.sub, m.result) == (S.FAILED, Result.TIMEOUT), state
        out.append(m)
    return out


@scenario
def exit_type_cgroup_waits_for_the_rest() -> list[ServiceMachine]:
    m, fx = machine(exit_type="cgroup")
    start(fx)
    fx.add_process(U, 800)
    fx.exit(100)
    assert m.sub == S.RUNNING
    fx.exit(800)
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    return [m]


@scenario
def several_exec_stop_post() -> list[ServiceMachine]:
    m, fx = machine(exec_stop_post=[cmd("/bin/a"), cmd("/bin/b")])
    start(fx)
    fx.exit(100, status=1)
    fx.exit(101)
    fx.exit(102)
    assert [s.command.path for s in fx.spawns()] == ["/bin/daemon", "/bin/a", "/bin/b"]
    assert m.sub == S.FAILED
    return [m]


@scenario
def runtime_max_stops_with_timeout() -> list[ServiceMachine]:
    m, fx = machine(runtime_max_usec=30 * SEC)
    start(fx)
    fx.advance(29 * SEC)
    assert m.sub == S.RUNNING
    mark = len(fx.actions)
    fx.advance(SEC)
    assert fx.logs(mark) == ["t.service: Service reached runtime time limit. Stopping."]
    fx.exit(100, signal=15)
    assert (m.sub, m.result) == (S.FAILED, Result.TIMEOUT)
    return [m]


@scenario
def watchdog_timeout_and_trigger() -> list[ServiceMachine]:
    m, fx = machine(type="notify", watchdog_usec=SEC)
    start(fx)
    assert ("WATCHDOG_USEC", "1000000") in fx.spawns()[0].env
    fx.feed(notify(m, 100, "READY=1"))
    fx.advance(SEC // 2)
    fx.feed(notify(m, 100, "WATCHDOG=1"))
    fx.advance(SEC // 2 + 1)
    assert m.sub == S.RUNNING  # the ping moved the deadline
    mark = len(fx.actions)
    fx.advance(SEC)
    assert fx.logs(mark) == ["t.service: Watchdog timeout (limit 1s)!"]
    assert fx.of_type(act.Log, mark)[0].priority == 3
    assert fx.of_type(act.Signal, mark)[0] == act.Signal(
        U, "pid", 6, pid=100, sigcont=True, log_kill=True
    )
    fx.exit(100, signal=6, core=True)
    assert fx.logs()[-2:] == [
        "t.service: Main process exited, code=dumped, status=6/ABRT",
        "t.service: Failed with result 'watchdog'.",
    ]
    t, tfx = machine(type="notify", exec_reload=[cmd("/bin/r")])
    start(tfx)
    tfx.feed(notify(t, 100, "READY=1\nSTATUS=busy"))
    tfx.feed(ev.ReloadRequested(U))
    tfx.feed(notify(t, 100, "WATCHDOG=trigger"))
    assert tfx.logs()[-1] == "t.service: Watchdog request (last status: busy)!"
    assert (t.sub, t.result) == (S.STOP_WATCHDOG, Result.WATCHDOG)
    o, ofx = machine(type="notify", watchdog_usec=10 * SEC, exec_start_post=[cmd("/bin/p")])
    start(ofx)
    ofx.feed(notify(o, 100, "READY=1\nWATCHDOG_USEC=2000000"))
    ofx.advance(2 * SEC)
    assert o.sub == S.STOP_WATCHDOG
    assert ofx.logs()[-1].endswith("(limit 2s)!")
    x, xfx = machine(type="notify")
    start(xfx)
    xfx.feed(notify(x, 100, "READY=1\nWATCHDOG=bogus"))
    assert xfx.logs()[-1] == "t.service: Passed WATCHDOG= field is invalid, ignoring."
    return [m, t, o, x]


@scenario
def restart_on_failure_cycle() -> list[ServiceMachine]:
    m, fx = machine(restart="on-failure", restart_usec=SEC)
    start(fx)
    fx.exit(100, status=1)
    assert (m.sub, m.active.value, m.result) == (S.AUTO_RESTART, "activating", Result.EXIT_CODE)
    mark = len(fx.actions)
    fx.advance(SEC)
    assert fx.logs(mark) == ["t.service: Scheduled restart job, restart counter is at 1."]
    assert fx.of_type(act.RestartJobWanted, mark) == [act.RestartJobWanted(U)]
    fx.feed(ev.StopRequested(U, restart=True))  # the restart job's stop half
    assert (m.sub, m.result) == (S.DEAD, Result.EXIT_CODE)
    start(fx, manual=False)
    assert (m.sub, m.n_restarts, m.result) == (S.RUNNING, 1, Result.SUCCESS)
    fx.exit(fx.pid_of(U, "start"), status=1)
    fx.feed(ev.StopRequested(U))  # a manual stop cancels the pending restart
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    assert fx.timers == {}
    start(fx)
    assert m.n_restarts == 0  # a manual start flushes NRestarts
    return [m]


@scenario
def reset_failed_clears_failed_and_limit() -> list[ServiceMachine]:
    m, fx = machine(unit_start_limit_burst=1)
    start(fx)
    fx.exit(100, status=1)
    assert m.sub == S.FAILED
    fx.feed(ev.ResetFailedRequested(U))
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    start(fx)
    assert m.sub == S.RUNNING  # the limiter was reset too
    return [m]
