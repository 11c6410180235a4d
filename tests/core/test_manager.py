"""The manager: jobs, their journal lines, systemctl's messages and exit codes, routing."""

from __future__ import annotations

import itertools

import pytest

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import replace
from pidone.core.manager import Manager
from pidone.core.model import Condition
from pidone.testing.fakes import FakeExecutor
from tests.core.servicekit import SEC, cmd, make_unit

U = "t.service"
D = "Test Service"
SEE = 'See "systemctl status t.service" and "journalctl -xeu t.service" for details.'


def _ids():
    counter = itertools.count(1)
    return lambda: f"{next(counter):032x}"


def setup(*units, **svc):
    units = units or (make_unit(U, D, **svc),)
    mgr = Manager(units, _ids())
    return mgr, FakeExecutor(mgr)


_req = itertools.count(1)


def job(fx: FakeExecutor, verb: str, unit: str = U, mode: str = "replace") -> list:
    return fx.feed(ev.JobRequested(next(_req), verb, unit, mode))  # type: ignore[arg-type]


def finished(fx: FakeExecutor, since: int = 0) -> list[act.JobFinished]:
    return fx.of_type(act.JobFinished, since)


def refused(out: list) -> tuple[tuple[str, ...], int]:
    (r,) = [a for a in out if isinstance(a, act.RequestFailed)]
    return r.lines, r.exit_code


# A Type=simple service is active as soon as it has forked, which systemd does inside
# unit_start(): its job is gone before job_emit_start_message(), so 252 logs no "Starting"
# line for it (real captures: tests/data/oracle/capture-matrix-252.md, m-fail-code.service
# and friends log only "Started"); with an ExecStartPre= it does.
def test_start_simple_logs_and_finishes_done() -> None:
    mgr, fx = setup()
    out = job(fx, "start")
    queued = [a for a in out if isinstance(a, act.JobQueued)]
    assert [(q.job_id, q.unit) for q in queued] == [(1, U)]
    assert fx.logs() == ["Started t.service - Test Service."]
    assert finished(fx) == [act.JobFinished(1, U, "start", "done", (), 0)]
    assert mgr.is_active([U]) == (["active"], 0)


def test_start_with_a_start_pre_command_logs_starting() -> None:
    _, fx = setup(exec_start_pre=[cmd("/bin/true")])
    job(fx, "start")
    fx.exit(fx.pid_of(U, "start-pre"), status=0)
    assert fx.logs() == [
        "Starting t.service - Test Service...",
        "Started t.service - Test Service.",
    ]
    starting = fx.of_type(act.Log)[0]
    assert starting.message_id == act.MID_UNIT_STARTING
    assert ("JOB_TYPE", "start") in starting.fields


@pytest.mark.parametrize(
    ("verb", "line", "code"),
    [
        ("start", "Failed to start nope.service: Unit nope.service not found.", 5),
        ("restart", "Failed to restart nope.service: Unit nope.service not found.", 5),
        ("stop", "Failed to stop nope.service: Unit nope.service not loaded.", 5),
    ],
)
def test_unknown_unit(verb: str, line: str, code: int) -> None:
    _, fx = setup()
    assert refused(job(fx, verb, "nope.service")) == ((line,), code)


def test_masked_and_bad_setting() -> None:
    masked = replace(make_unit("m.service"), load_state="masked")
    bad = replace(make_unit("b.service"), load_state="bad-setting")
    _, fx = setup(masked, bad)
    assert refused(job(fx, "start", "m.service")) == (
        ("Failed to start m.service: Unit m.service is masked.",),
        1,
    )
    assert refused(job(fx, "start", "b.service")) == (
        (
            "Failed to start b.service: Unit b.service has a bad unit file setting.",
            "See system logs and 'systemctl status b.service' for details.",
        ),
        1,
    )
    assert refused(job(fx, "stop", "b.service")) == (
        ("Failed to stop b.service: Unit b.service not loaded.",),
        5,
    )


def test_reload_not_applicable_and_not_active() -> None:
    _, fx = setup()
    assert refused(job(fx, "reload")) == (
        ("Failed to reload t.service: Job type reload is not applicable for unit t.service.",),
        3,
    )
    _, fx = setup(exec_reload=[cmd("/bin/r")])
    job(fx, "reload")
    (f,) = finished(fx)
    assert (f.result, f.lines, f.exit_code) == (
        "invalid",
        ("t.service is not active, cannot reload.",),
        1,
    )
    # unit_reload() logs why (oracle: nut-server.service with MODE=none, exited at once)
    (log,) = fx.of_type(act.Log)
    assert (log.message, log.priority) == (
        "t.service: Unit cannot be reloaded because it is inactive.",
        act.LOG_WARNING,
    )


def test_reload_success_and_failure() -> None:
    _, fx = setup(exec_reload=[cmd("/bin/r")])
    job(fx, "start")
    mark = len(fx.actions)
    job(fx, "reload")
    fx.exit(fx.pid_of(U, "reload"))
    assert fx.logs(mark) == [
        "Reloading t.service - Test Service...",
        "Reloaded t.service - Test Service.",
    ]
    assert finished(fx, mark)[0].exit_code == 0
    mark = len(fx.actions)
    job(fx, "reload")
    fx.exit(fx.pid_of(U, "reload"), status=1)
    (f,) = finished(fx, mark)
    assert (f.result, f.lines) == ("failed", ("Job for t.service failed.", SEE))
    assert "Reload failed for t.service - Test Service." in fx.logs(mark)


def test_exec_type_failure_reports_control_process_wording() -> None:
    mgr, fx = setup(type="exec")
    job(fx, "start")
    fx.exit(100, status=203)
    assert fx.logs() == [
        "Starting t.service - Test Service...",
        "t.service: Main process exited, code=exited, status=203/EXEC",
        "t.service: Failed with result 'exit-code'.",
        "Failed to start t.service - Test Service.",
    ]
    (f,) = finished(fx)
    assert f.lines == (
        "Job for t.service failed because the control process exited with error code.",
        SEE,
    )
    assert f.exit_code == 1
    assert mgr.is_failed([U]) == (["failed"], 0)


def test_simple_exec_failure_start_succeeds() -> None:
    _, fx = setup()
    job(fx, "start")
    assert finished(fx)[0].exit_code == 0
    fx.exit(100, status=203)
    assert len(finished(fx)) == 1


def test_unmet_trigger_conditions_are_named_as_systemd_does() -> None:
    """sssd.service: ConditionPathExists=|/etc/sssd/sssd.conf and
    ConditionDirectoryNotEmpty=|/etc/sssd/conf.d/, neither holding: systemd 252 logs "no
    trigger condition checks were met", not the first one (checked on the oracle)."""
    unit = make_unit(U, D)
    unit.unit.conditions.append(Condition("PathExists", "/etc/sssd/sssd.conf", trigger=True))
    _, fx = setup(unit)
    fx.conditions[U] = ev.ConditionsEvaluated(U, False, "ConditionPathExists=|/etc/sssd/sssd.conf")
    job(fx, "start")
    assert fx.logs() == [
        "t.service - Test Service was skipped because no trigger condition checks were met."
    ]


def test_condition_unmet_skips_quietly() -> None:
    unit = make_unit(U, D)
    unit.unit.conditions.append(Condition("PathExists", "/nonexistent"))
    mgr, fx = setup(unit)
    fx.conditions[U] = ev.ConditionsEvaluated(U, False, "ConditionPathExists=/nonexistent")
    job(fx, "start")
    assert fx.logs() == [
        "t.service - Test Service was skipped because of an unmet condition check "
        "(ConditionPathExists=/nonexistent)."
    ]
    assert finished(fx) == [act.JobFinished(1, U, "start", "done", (), 0)]
    assert fx.spawns() == []
    assert mgr.active_state(U) == "inactive"


def test_assert_failure() -> None:
    unit = make_unit(U, D)
    unit.unit.asserts.append(Condition("PathExists", "/x", is_assert=True))
    _, fx = setup(unit)
    fx.conditions[U] = ev.ConditionsEvaluated(U, False, "AssertPathExists=/x", True)
    job(fx, "start")
    assert fx.logs() == [
        "t.service: Starting requested but asserts failed.",
        "Assertion failed for t.service - Test Service.",
    ]
    (f,) = finished(fx)
    assert (f.result, f.lines, f.exit_code) == (
        "assert",
        ("Assertion failed on job for t.service.",),
        1,
    )


def test_exec_condition_skip_start_exits_zero() -> None:
    _, fx = setup(exec_condition=[cmd("/bin/c")])
    job(fx, "start")
    fx.exit(100, status=1)
    assert fx.logs() == [
        "Starting t.service - Test Service...",
        "t.service: Skipped due to 'exec-condition'.",
        # job_emit_done_message()'s generic form (systemd 252, checked on the oracle)
        "Condition check resulted in t.service - Test Service being skipped.",
    ]
    assert finished(fx)[0].exit_code == 0


def test_stop_logs_and_timeout_still_exits_zero() -> None:
    mgr, fx = setup()
    job(fx, "start")
    mark = len(fx.actions)
    job(fx, "stop")
    fx.exit(100, signal=15)
    assert fx.logs(mark) == [
        "Stopping t.service - Test Service...",
        "t.service: Deactivated successfully.",
        "Stopped t.service - Test Service.",
    ]
    job(fx, "start")
    mark = len(fx.actions)
    job(fx, "stop")
    fx.advance(90 * SEC)
    fx.exit(101, signal=9)
    (f,) = finished(fx, mark)
    assert (f.result, f.exit_code) == ("done", 0)  # pitfall 10
    assert mgr.active_state(U) == "failed"
    assert fx.logs(mark)[-2:] == [
        "t.service: Failed with result 'timeout'.",
        "Stopped t.service - Test Service.",
    ]


def test_oneshot_logs_finished() -> None:
    _, fx = setup(type="oneshot")
    job(fx, "start")
    fx.exit(100)
    assert fx.logs() == [
        "Starting t.service - Test Service...",
        "t.service: Deactivated successfully.",
        "Finished t.service - Test Service.",
    ]


def test_auto_restart_logs_like_systemd() -> None:
    mgr, fx = setup(restart="on-failure")
    job(fx, "start")
    mark = len(fx.actions)
    fx.exit(100, status=1)
    assert mgr.is_active([U]) == (["activating"], 3)  # pitfall 11
    fx.advance(100_000)
    assert fx.logs(mark) == [
        "t.service: Main process exited, code=exited, status=1/FAILURE",
        "t.service: Failed with result 'exit-code'.",
        "t.service: Scheduled restart job, restart counter is at 1.",
        "Stopped t.service - Test Service.",
        "Started t.service - Test Service.",  # simple: no "Starting" (see above)
    ]
    snap = mgr.snapshot(U)
    assert snap is not None
    assert (snap.sub_state, snap.n_restarts, snap.main_pid) == ("running", 1, 101)
    # nobody waits for the restart job, but it reports like any other
    assert finished(fx, mark) == [act.JobFinished(2, U, "start", "done", (), 0)]


def test_a_start_job_fails_at_the_first_failure_and_each_restart_is_a_job() -> None:
    """systemd 252 (oracle: Type=notify ExecStart=/bin/false Restart=always): the unit
    passes through `failed` on its way to auto-restart, which ends the running start job
    ("Failed to start", systemctl start exits 1) while the unit keeps restarting; each
    restart is a job of its own, until the start limit refuses one. pidone used to keep
    the first start job running through every restart, and a job ordered After= it (a
    whole boot behind nss-lookup.target) waited forever."""
    _, fx = setup(type="exec", restart="on-failure", unit_start_limit_burst=3)
    job(fx, "start")
    fx.exit(fx.pid_of(U, "start"), status=1)
    (f,) = finished(fx)
    assert (f.job_id, f.result) == (1, "failed")
    assert f.lines[0] == (
        "Job for t.service failed because the control process exited with error code."
    )
    assert fx.logs() == [
        "Starting t.service - Test Service...",
        "t.service: Main process exited, code=exited, status=1/FAILURE",
        "t.service: Failed with result 'exit-code'.",
        "Failed to start t.service - Test Service.",
    ]
    for _ in range(2):
        fx.advance(100_000)
        fx.exit(fx.pid_of(U, "start"), status=1)
    fx.advance(100_000)
    assert fx.logs()[-3:] == [
        "t.service: Start request repeated too quickly.",
        "t.service: Failed with result 'exit-code'.",
        "Failed to start t.service - Test Service.",
    ]
    assert fx.logs().count("Failed to start t.service - Test Service.") == 4


def test_quick_restarts_hit_the_limit() -> None:
    """Manual restarts count: the 3rd start in the window with burst 2 is refused."""
    mgr, fx = setup(unit_start_limit_burst=2)
    job(fx, "start")
    job(fx, "restart")
    fx.exit(fx.pid_of(U, "start"), signal=15)
    mark = len(fx.actions)
    job(fx, "restart")
    fx.exit(fx.pid_of(U, "start"), signal=15)
    assert fx.logs(mark) == [
        "Stopping t.service - Test Service...",
        "t.service: Deactivated successfully.",
        "Stopped t.service - Test Service.",
        "t.service: Start request repeated too quickly.",
        "t.service: Failed with result 'start-limit-hit'.",
        "Failed to start t.service - Test Service.",
    ]
    (f,) = finished(fx, mark)
    assert f.lines == (
        "Job for t.service failed because start of the service was attempted too often.",
        SEE,
        'To force a start use "systemctl reset-failed t.service"',
        'followed by "systemctl start t.service" again.',
    )
    fx.feed(ev.ResetFailedUnitRequested(99, U))
    job(fx, "start")
    assert mgr.active_state(U) == "active"


def test_short_oneshot_never_hits_the_limit() -> None:
    """Pitfall 12: an inactive unit is collected, so its start counter is forgotten."""
    _, fx = setup(type="oneshot", unit_start_limit_burst=2)
    for _ in range(6):
        mark = len(fx.actions)
        job(fx, "start")
        fx.exit(fx.pid_of(U, "start"))
        assert finished(fx, mark)[0].exit_code == 0


def test_stop_cancels_pending_start_and_merge_keeps_job_id() -> None:
    _, fx = setup(type="notify")
    out = job(fx, "start")
    out2 = job(fx, "start")
    ids = [a.job_id for a in out + out2 if isinstance(a, act.JobQueued)]
    assert ids == [1, 1]
    job(fx, "stop")
    canceled = [f for f in finished(fx) if f.result == "canceled"]
    assert [(f.job_id, f.lines, f.exit_code) for f in canceled] == [
        (1, ("Job for t.service canceled.",), 1)
    ]
    fx.exit(100, signal=15)
    assert finished(fx)[-1].job_type == "stop"


def test_stop_refused_in_fail_mode() -> None:
    _, fx = setup(type="notify")
    job(fx, "start")
    lines, code = refused(job(fx, "stop", mode="fail"))
    assert code == 4  # systemctl: BUS_ERROR_TRANSACTION_IS_DESTRUCTIVE -> EXIT_NOPERMISSION
    assert "is destructive" in lines[0]
    assert lines[1] == "See system logs and 'systemctl status t.service' for details."


def test_try_restart_and_reload_or_restart() -> None:
    mgr, fx = setup(exec_reload=[cmd("/bin/r")])
    job(fx, "try-restart")
    assert finished(fx) == [act.JobFinished(1, U, "nop", "done", (), 0)]
    assert fx.spawns() == []
    job(fx, "reload-or-restart")  # inactive: starts
    assert mgr.active_state(U) == "active"
    mark = len(fx.actions)
    job(fx, "reload-or-restart")  # active: reloads
    assert [s.role for s in fx.spawns(mark)] == ["reload"]
    fx.exit(fx.pid_of(U, "reload"))
    mark = len(fx.actions)
    job(fx, "try-restart")
    fx.exit(100, signal=15)
    assert fx.logs(mark) == [
        "Stopping t.service - Test Service...",
        "t.service: Deactivated successfully.",
        "Stopped t.service - Test Service.",
        "Started t.service - Test Service.",
    ]
    assert [f.job_type for f in finished(fx, mark)] == ["start"]


def test_restart_of_inactive_just_starts() -> None:
    _, fx = setup()
    job(fx, "restart")
    assert fx.logs() == ["Started t.service - Test Service."]


def test_start_during_auto_restart_waits_and_merges() -> None:
    mgr, fx = setup(restart="always", restart_usec=SEC)
    job(fx, "start")
    fx.exit(100, status=0)
    mark = len(fx.actions)
    out = job(fx, "start")
    assert [a.job_id for a in out if isinstance(a, act.JobQueued)] == [2]
    assert fx.spawns(mark) == []
    fx.advance(SEC)
    assert mgr.active_state(U) == "active"
    assert [(f.job_id, f.result) for f in finished(fx, mark)] == [(2, "done")]


def test_kill_and_reset_failed() -> None:
    mgr, fx = setup()
    job(fx, "start")
    out = fx.feed(ev.KillUnitRequested(50, U, "main", 9))
    assert act.Signal(U, "pid", 9, pid=100, client="main") in out
    assert act.RequestDone(50) in out
    fx.exit(100, signal=9)
    assert mgr.active_state(U) == "failed"
    out = fx.feed(ev.KillUnitRequested(51, U, "main", 9))
    assert refused(out) == (("Failed to kill unit t.service: No main process to kill",), 1)
    assert refused(fx.feed(ev.ResetFailedUnitRequested(52, "x.service"))) == (
        ("Failed to reset failed state of unit x.service: Unit x.service not loaded.",),
        1,
    )
    fx.feed(ev.ResetFailedUnitRequested(53))
    assert mgr.active_state(U) == "inactive"


def test_routing_by_pid_and_token_two_units() -> None:
    a = make_unit("a.service", "A", type="notify")
    b = make_unit("b.service", "B", timeout_start_usec=SEC, exec_start_pre=[cmd("/bin/pre")])
    mgr, fx = setup(a, b)
    job(fx, "start", "a.service")
    job(fx, "start", "b.service")
    fx.feed(ev.NotifyReceived.parse(100, 0, "READY=1\nSTATUS=up"))  # no unit: by main PID
    assert mgr.active_state("a.service") == "active"
    fx.advance(SEC)  # b's ExecStartPre= times out
    assert "b.service: start-pre operation timed out. Terminating." in fx.logs()
    fx.exit(101, signal=15)
    assert mgr.active_state("b.service") == "failed"
    assert mgr.active_state("a.service") == "active"
    rows = mgr.list_units()
    assert [(r.unit, r.active, r.sub) for r in rows] == [
        ("a.service", "active", "running"),
        ("b.service", "failed", "failed"),
    ]
    snap = mgr.snapshot("a.service")
    assert snap is not None
    assert (snap.status_text, snap.main_pid, snap.invocation_id) == ("up", 100, f"{1:032x}")
    assert mgr.is_active(["a.service", "b.service", "zzz.service"]) == (
        ["active", "failed", "inactive"],
        0,
    )
    assert mgr.snapshot("zzz.service") is None


def test_daemon_reload_keeps_runtime_state() -> None:
    mgr, fx = setup()
    job(fx, "start")
    new = make_unit(U, "Renamed", exec_stop=[cmd("/bin/stop")])
    mgr.reload_units([new, make_unit("n.service")])
    assert mgr.active_state(U) == "active"
    mark = len(fx.actions)
    job(fx, "stop")
    assert fx.logs(mark)[0] == "Stopping t.service - Renamed..."
    assert [s.role for s in fx.spawns(mark)] == ["stop"]
    mgr.reload_units([])
    assert mgr.lookup("n.service") is None
    assert mgr.lookup(U) is not None  # still stopping: kept, as not-found
    assert mgr.lookup(U).load_state == "not-found"
    out = job(fx, "stop")  # a unit whose file is gone can still be stopped
    assert [a for a in out if isinstance(a, act.JobQueued)]
    fx.exit(fx.pid_of(U, "stop"))
    fx.exit(100, signal=15)
    assert mgr.active_state(U) == "inactive"
    assert refused(job(fx, "start")) == (
        ("Failed to start t.service: Unit t.service not found.",),
        5,
    )


def test_desc_without_description_is_the_name() -> None:
    """252 logs `unit - Description` (StatusUnitFormat=combined), or just the name."""
    _, fx = setup(make_unit("t-echo.service", type="oneshot"))
    job(fx, "start", "t-echo.service")
    fx.exit(100)
    assert fx.logs() == [
        "Starting t-echo.service...",
        "t-echo.service: Deactivated successfully.",
        "Finished t-echo.service.",
    ]


def test_job_timeout() -> None:
    _, fx = setup(type="notify", unit_job_timeout_usec=5 * SEC)
    job(fx, "start")
    fx.advance(5 * SEC)
    assert fx.logs()[-3:] == [
        "Job t.service/start timed out.",
        "Timed out starting t.service - Test Service.",
        # job_finish_and_invalidate(): timeout and dependency results are logged again
        "t.service: Job t.service/start failed with result 'timeout'.",
    ]
    (f,) = finished(fx)
    assert (f.result, f.lines, f.exit_code) == ("timeout", ("Job for t.service timed out.",), 1)


@pytest.mark.parametrize(
    ("result", "service_result", "unit_type", "lines"),
    [
        ("done", "success", "service", ()),
        ("skipped", "success", "service", ()),
        (
            "failed",
            "exit-code",
            "service",
            ("Job for t.service failed because the control process exited with error code.", SEE),
        ),
        (
            "failed",
            "signal",
            "service",
            (
                "Job for t.service failed because a fatal signal was delivered to the control "
                "process.",
                SEE,
            ),
        ),
        (
            "failed",
            "core-dump",
            "service",
            (
                "Job for t.service failed because a fatal signal was delivered causing the control "
                "process to dump core.",
                SEE,
            ),
        ),
        (
            "failed",
            "timeout",
            "service",
            ("Job for t.service failed because a timeout was exceeded.", SEE),
        ),
        (
            "failed",
            "watchdog",
            "service",
            ("Job for t.service failed because the service failed to send watchdog ping.", SEE),
        ),
        (
            "failed",
            "protocol",
            "service",
            (
                "Job for t.service failed because the service did not take the steps required by "
                "its unit configuration.",
                SEE,
            ),
        ),
        (
            "failed",
            "resources",
            "service",
            (
                "Job for t.service failed because of unavailable resources or another system "
                "error.",
                SEE,
            ),
        ),
        ("failed", "oom-kill", "service", ("Job for t.service failed.", SEE)),
        ("failed", "success", "service", ("Job for t.service failed.", SEE)),
        ("failed", "success", "target", ('Job failed. See "journalctl -xe" for details.',)),
        (
            "dependency",
            "success",
            "service",
            ("A dependency job for t.service failed. See 'journalctl -xe' for details.",),
        ),
        ("assert", "success", "service", ("Assertion failed on job for t.service.",)),
        ("timeout", "success", "service", ("Job for t.service timed out.",)),
        ("canceled", "success", "service", ("Job for t.service canceled.",)),
        ("invalid", "success", "service", ("t.service is not active, cannot reload.",)),
        (
            "unsupported",
            "success",
            "service",
            ("Operation on or unit type of t.service not supported on this system.",),
        ),
        ("collected", "success", "service", ("Queued job for t.service was garbage collected.",)),
        (
            "once",
            "success",
            "service",
            ("Unit t.service was started already once and can't be started again.",),
        ),
    ],
)
def test_systemctl_job_messages(result, service_result, unit_type, lines) -> None:
    from pidone.core.job import format_job_failure

    assert format_job_failure(U, result, unit_type, service_result) == (lines, 1 if lines else 0)


@pytest.mark.parametrize(
    ("job_type", "state", "expected"),
    [
        ("try-restart", "active", "restart"),
        ("try-restart", "activating", "restart"),
        ("try-restart", "inactive", "nop"),
        ("try-restart", "failed", "nop"),
        ("try-reload", "reloading", "reload"),
        ("try-reload", "activating", "nop"),
        ("reload-or-start", "active", "reload"),
        ("reload-or-start", "failed", "start"),
        ("start", "active", "start"),
    ],
)
def test_collapse(job_type, state, expected) -> None:
    from pidone.core.job import collapse

    assert collapse(job_type, state) == expected


@pytest.mark.parametrize(
    ("a", "b", "merged"),
    [
        ("start", "verify-active", "start"),
        ("start", "reload", "reload-or-start"),
        ("start", "restart", "restart"),
        ("reload", "restart", "restart"),
        ("stop", "stop", "stop"),
        ("stop", "start", None),
        ("restart", "stop", None),
    ],
)
def test_merge_types(a, b, merged) -> None:
    from pidone.core.job import merge_types

    assert merge_types(a, b) == merged
    assert merge_types(b, a) == merged


def test_referenced_oneshot_keeps_its_start_counter() -> None:
    mgr, fx = setup(type="oneshot", unit_start_limit_burst=2)
    mgr.pinned.add(U)
    for _ in range(2):
        job(fx, "start")
        fx.exit(fx.pid_of(U, "start"))
    mark = len(fx.actions)
    job(fx, "start")
    assert finished(fx, mark)[0].result == "failed"
    assert "t.service: Start request repeated too quickly." in fx.logs(mark)


def test_stopping_a_start_in_progress_logs_no_stopping_line() -> None:
    """service_stop() returns 0 from the start states: only `Stopped` is logged."""
    _, fx = setup(type="notify")
    job(fx, "start")
    mark = len(fx.actions)
    job(fx, "stop")
    fx.exit(100, signal=15)
    assert fx.logs(mark) == [
        "t.service: Deactivated successfully.",
        "Stopped t.service - Test Service.",
    ]


def test_restart_of_an_exited_oneshot_logs_stopping_after_stopped() -> None:
    """An exited oneshot stops inside unit_stop(): the restart job has become a waiting
    start when job_perform_on_unit() logs its begin line with the type it ran (JOB_STOP),
    so 252 logs "Stopped", then "Stopping...", then one "Starting..." (captured on the
    oracle: sysstat.service's restart; pidone logged "Starting..." twice)."""
    _, fx = setup(type="oneshot", remain_after_exit=True)
    job(fx, "start")
    fx.exit(fx.pid_of(U, "start"), status=0)
    mark = len(fx.actions)
    job(fx, "restart")
    fx.exit(fx.pid_of(U, "start"), status=0)
    assert fx.logs(mark) == [
        "t.service: Deactivated successfully.",
        "Stopped t.service - Test Service.",
        "Stopping t.service - Test Service...",
        "Starting t.service - Test Service...",
        "Finished t.service - Test Service.",
    ]
    stopping = [a for a in fx.of_type(act.Log, mark) if a.message.startswith("Stopping")]
    assert ("JOB_TYPE", "stop") in stopping[0].fields
