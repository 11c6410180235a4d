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
    assert m.sub == S.RUNNING and m.main_pid == 100
    mark = len(fx.actions)
    fx.exit(100, status=1)
    assert fx.logs(mark) == [
        "t.service: Main process exited, code=exited, status=1/FAILURE",
        "t.service: Failed with result 'exit-code'.",
    ]
    assert [a.priority for a in fx.of_type(act.Log, mark)] == [5, 4]
    assert (m.sub, m.result) == (S.FAILED, Result.EXIT_CODE)
    assert m.exec_main.pid == 100 and m.exec_main.exit is not None
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
    i, ifx = machine(type="idle")
    start(ifx)
    d, dfx = machine(type="dbus", bus_name="org.example.T")
    out = start(dfx)
    assert i.sub == d.sub == S.RUNNING
    assert any(isinstance(a, act.Log) and "Type=dbus" in a.message for a in out)
    return [i, d]


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
    assert m.sub == S.START and fx.spawns()[0].report_exec
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
    assert m.sub == S.START and m.control_pid == 100 and m.main_pid == 0
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
    assert m.sub == S.START_POST and not m.main_pid_known
    fx.exit(fx.pid_of(U, "start-post"))
    assert m.sub == S.START_POST and m.awaiting_pid_file
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
    assert m.sub == S.EXITED and m.active.value == "active"
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
    assert fx.spawns()[0].notify_socket and m.sub == S.START
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
    e, efx = machine(
        type="notify", notify_access="exec", exec_start_pre=[cmd("/bin/pre")]
    )
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
    assert m.sub == S.STOP_SIGTERM and fx.of_type(act.Signal, mark) == []
    fx.exit(100)
    assert (m.sub, m.result) == (S.DEAD, Result.SUCCESS)
    r, rfx = machine(type="notify", exec_reload=[cmd("/bin/reload")])
    start(rfx)
    rfx.feed(notify(r, 100, "READY=1"))
    rfx.feed(ev.ReloadRequested(U))
    rfx.feed(notify(r, 100, "STOPPING=1"))  # STOPPING=1 during a reload
    assert r.sub == S.STOP_SIGTERM
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
    return [m, r, q, z]


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
    assert m.sub == S.STOP and env(fx.spawns()[-1])["MAINPID"] == "100"
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
    assert m.sub == S.RELOAD and env(fx.spawns()[-1])["MAINPID"] == "100"
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
