"""The manager with sockets and timers (core.triggerwiring): jobs on socket/timer machines,
StartUnit -> start jobs, activation fds and environment on the service's Spawn, the
connection fd's life, refusals. Pure: the FakeExecutor plays the kernel."""

from __future__ import annotations

import itertools

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.manager import Manager
from pidone.core.model import Unit
from pidone.core.socketseam import (
    CloseFd,
    CloseListeners,
    ConnectionAccepted,
    FdReadable,
    ListenersOpened,
    OpenListeners,
    WatchFds,
)
from pidone.core.triggering import ArmWakeup
from pidone.testing.fakes import FakeExecutor
from tests.core.unitbuild import unit_from_bytes

_req = itertools.count(1)


def _ids():
    counter = itertools.count(1)
    return lambda: f"{next(counter):032x}"


def setup(units: dict[str, bytes], templates: dict[str, bytes] | None = None):
    built = [unit_from_bytes(name, body) for name, body in units.items()]
    loaded: dict[str, Unit] = {}

    def load(name: str) -> Unit | None:
        if name in loaded:
            return loaded[name]
        prefix, at, _rest = name.partition("@")
        body = (templates or {}).get(f"{prefix}@.service") if at else None
        if body is None:
            return None
        loaded[name] = unit_from_bytes(name, body)
        return loaded[name]

    mgr = Manager(built, _ids(), load=load)
    return mgr, FakeExecutor(mgr)


def start(fx: FakeExecutor, unit: str) -> list:
    return fx.feed(ev.JobRequested(next(_req), "start", unit))  # type: ignore[arg-type]


SERVER = b"[Service]\nExecStart=/bin/server\n"


def test_first_connection_starts_the_service_with_the_listening_fds() -> None:
    mgr, fx = setup(
        {
            "web.socket": b"[Socket]\nListenStream=8080\nListenStream=/run/web\n",
            "web.service": SERVER,
        }
    )
    out = start(fx, "web.socket")
    assert [a.unit for a in out if isinstance(a, OpenListeners)] == ["web.socket"]
    assert mgr.jobs["web.socket"].state == "running"  # until the bind is answered
    fx.feed(ListenersOpened("web.socket", (7, 8)))
    assert mgr.sub_state("web.socket") == "listening"
    assert "web.socket" not in mgr.jobs
    mine = [line for line in fx.logs() if "web.socket" in line]
    assert mine == ["Listening on web.socket."]  # no "Starting": 252 binds at once
    assert fx.of_type(WatchFds)[-1] == WatchFds("web.socket", (7, 8), on=True)
    fx.feed(FdReadable("web.socket", 8))
    (spawn,) = fx.spawns()
    assert (spawn.unit, spawn.role) == ("web.service", "start")
    assert (spawn.fds, spawn.fd_names) == ((7, 8), ("web.socket", "web.socket"))
    assert spawn.socket_fd == -1
    assert mgr.sub_state("web.socket") == "running"
    assert mgr.sub_state("web.service") == "running"
    assert fx.of_type(WatchFds)[-1].on is False  # the service accepts from here on
    fx.exit(fx.pid_of("web.service", "start"), status=0)
    assert mgr.sub_state("web.socket") == "listening"
    assert fx.of_type(WatchFds)[-1].on is True
    snap = mgr.snapshot("web.socket")
    assert snap is not None
    assert (snap.sub_state, snap.active_enter_usec) == ("listening", fx.clock.now)


def test_a_service_started_by_hand_gets_the_fds_and_its_socket_follows() -> None:
    mgr, fx = setup(
        {
            "a.socket": b"[Socket]\nListenStream=/run/a\nFileDescriptorName=api\n",
            "b.socket": b"[Socket]\nListenStream=/run/b\nService=other.service\n",
            "a.service": b"[Service]\nExecStart=/bin/a\nSockets=b.socket\n",
            "other.service": SERVER,
        }
    )
    start(fx, "a.socket")
    start(fx, "b.socket")
    fx.feed(ListenersOpened("a.socket", (5,)))
    fx.feed(ListenersOpened("b.socket", (6,)))
    start(fx, "a.service")
    (spawn,) = fx.spawns()
    assert (spawn.fds, spawn.fd_names) == ((5, 6), ("api", "b.socket"))  # Sockets= too
    assert mgr.sub_state("a.socket") == "running"
    assert mgr.sub_state("b.socket") == "listening"  # it triggers other.service only


def test_accept_yes_instance_gets_the_connection_and_it_is_closed_after() -> None:
    mgr, fx = setup(
        {"echo.socket": b"[Socket]\nListenStream=127.0.0.1:7\nAccept=yes\n"},
        {"echo@.service": b"[Service]\nStandardInput=socket\nExecStart=/bin/cat\n"},
    )
    start(fx, "echo.socket")
    fx.feed(ListenersOpened("echo.socket", (4,)))
    conn = ConnectionAccepted("echo.socket", 4, 9, "inet", ("127.0.0.1", 7), ("127.0.0.1", 40000))
    fx.feed(conn)
    instance = "echo@0-127.0.0.1:7-127.0.0.1:40000.service"
    (spawn,) = fx.spawns()
    assert spawn.unit == instance
    assert (spawn.socket_fd, spawn.fds) == (9, ())  # stdin, no LISTEN_FDS
    assert dict(spawn.extra_env) == {"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000"}
    assert mgr.triggers.sockets["echo.socket"].n_connections == 1
    assert fx.of_type(CloseFd) == []
    fx.exit(fx.pid_of(instance, "start"), status=0)
    assert fx.of_type(CloseFd) == [CloseFd("echo.socket", 9)]
    assert mgr.triggers.sockets["echo.socket"].n_connections == 0
    assert mgr.sub_state("echo.socket") == "listening"


def test_accept_yes_without_socket_stdio_passes_the_connection_as_fd_3() -> None:
    _, fx = setup(
        {"x.socket": b"[Socket]\nListenStream=/run/x\nAccept=yes\n"},
        {"x@.service": b"[Service]\nExecStart=/bin/x\n"},
    )
    start(fx, "x.socket")
    fx.feed(ListenersOpened("x.socket", (4,)))
    fx.feed(ConnectionAccepted("x.socket", 4, 11, "unix", peer=(42, 0)))
    (spawn,) = fx.spawns()
    assert spawn.unit == "x@0-42-0.service"
    assert (spawn.fds, spawn.fd_names, spawn.socket_fd) == ((11,), ("connection",), -1)


def test_a_missing_instance_template_closes_the_connection_and_fails_the_socket() -> None:
    mgr, fx = setup({"y.socket": b"[Socket]\nListenStream=/run/y\nAccept=yes\n"})
    start(fx, "y.socket")
    fx.feed(ListenersOpened("y.socket", (4,)))
    fx.feed(ConnectionAccepted("y.socket", 4, 12, "unix", peer=(1, 0)))
    assert CloseFd("y.socket", 12) in fx.of_type(CloseFd)
    assert mgr.active_state("y.socket") == "failed"
    assert fx.of_type(CloseListeners)[-1].fds == (4,)
    assert any("Failed to queue service startup job" in line for line in fx.logs())


def test_socket_start_is_refused_when_its_service_is_not_loaded() -> None:
    mgr, fx = setup({"lone.socket": b"[Socket]\nListenStream=/run/lone\n"})
    start(fx, "lone.socket")
    assert "lone.socket: Socket service lone.service not loaded, refusing." in fx.logs()
    (done,) = [j for j in fx.of_type(act.JobFinished) if j.unit == "lone.socket"]
    assert done.result == "failed"
    assert fx.of_type(OpenListeners) == []
    assert mgr.active_state("lone.socket") == "inactive"


def test_socket_start_is_refused_while_its_service_runs() -> None:
    mgr, fx = setup({"s.socket": b"[Socket]\nListenStream=/run/s\n", "s.service": SERVER})
    start(fx, "s.service")
    start(fx, "s.socket")
    assert "s.socket: Socket service s.service already active, refusing." in fx.logs()
    assert fx.of_type(act.JobFinished)[-1].result == "failed"
    assert mgr.active_state("s.socket") == "inactive"


def test_timer_elapse_starts_its_unit_with_trigger_environment() -> None:
    mgr, fx = setup(
        {
            "t.timer": b"[Timer]\nOnActiveSec=5s\n",
            "t.service": b"[Service]\nType=oneshot\nExecStart=/bin/true\n",
        }
    )
    began = fx.clock.now
    out = start(fx, "t.timer")
    assert mgr.sub_state("t.timer") == "waiting"
    (wake,) = [a for a in out if isinstance(a, ArmWakeup)]
    assert (wake.clock, wake.deadline_usec) == ("monotonic", began + 5_000_000)
    fx.clock.now = wake.deadline_usec
    fx.feed(ev.TimerFired(wake.token))
    (spawn,) = fx.spawns()
    env = dict(spawn.extra_env)
    assert env["TRIGGER_UNIT"] == "t.timer"
    assert env["TRIGGER_TIMER_MONOTONIC_USEC"] == str(began + 5_000_000)
    assert mgr.sub_state("t.timer") == "running"
    fx.exit(fx.pid_of("t.service", "start"), status=0)
    assert mgr.sub_state("t.timer") == "elapsed"  # RemainAfterElapse=yes, nothing left


def test_timer_start_is_refused_when_its_unit_is_not_loaded() -> None:
    _, fx = setup({"u.timer": b"[Timer]\nOnActiveSec=1s\nUnit=gone.service\n"})
    start(fx, "u.timer")
    assert "u.timer: Refusing to start, unit gone.service to trigger not loaded." in fx.logs()
    assert fx.of_type(act.JobFinished)[-1].result == "failed"


def test_a_start_job_that_fails_by_dependency_frees_the_socket_and_the_connection() -> None:
    mgr, fx = setup(
        {
            "n.socket": b"[Socket]\nListenStream=/run/n\n",
            "n.service": b"[Unit]\nRequisite=off.service\nAfter=off.service\n" + SERVER,
            "off.service": SERVER,
            "c.socket": b"[Socket]\nListenStream=/run/c\nAccept=yes\n",
        },
        {"c@.service": b"[Unit]\nRequisite=off.service\nAfter=off.service\n" + SERVER},
    )
    start(fx, "n.socket")
    start(fx, "c.socket")
    fx.feed(ListenersOpened("n.socket", (5,)))
    fx.feed(ListenersOpened("c.socket", (6,)))
    fx.feed(FdReadable("n.socket", 5))
    results = {j.unit: j.result for j in fx.of_type(act.JobFinished)}
    assert results["n.service"] == "dependency"
    assert fx.spawns() == []
    assert mgr.sub_state("n.socket") == "listening"  # no state change, still told
    fx.feed(ConnectionAccepted("c.socket", 6, 13, "unix", peer=(7, 0)))
    assert CloseFd("c.socket", 13) in fx.of_type(CloseFd)
    assert mgr.triggers.sockets["c.socket"].n_connections == 0


def test_unsupported_listen_lines_are_dropped_with_a_warning() -> None:
    mgr, fx = setup(
        {
            "nl.socket": b"[Socket]\nListenNetlink=route 1361\nListenStream=/run/nl\n",
            "nl.service": SERVER,
        }
    )
    out = start(fx, "nl.socket")
    assert "nl.socket: ListenNetlink=route 1361 is not supported by pidone, ignoring." in [
        a.message for a in out if isinstance(a, act.Log)
    ]
    (opening,) = [a for a in out if isinstance(a, OpenListeners)]
    assert [spec.address for spec in opening.specs] == ["/run/nl"]
    assert mgr.triggers.sockets["nl.socket"].config.listen == opening.specs


def test_a_socket_loaded_during_an_event_reports_its_warnings_with_that_event() -> None:
    _, fx = setup({"s.service": SERVER})
    late = unit_from_bytes("late.socket", b"[Socket]\nListenMessageQueue=/q\nListenStream=/run/l\n")
    fx.target.load = lambda name: late if name == "late.socket" else None
    out = start(fx, "late.socket")
    assert "late.socket: ListenMessageQueue=/q is not supported by pidone, ignoring." in [
        a.message for a in out if isinstance(a, act.Log)
    ]


def test_a_wall_clock_jump_re_arms_calendar_timers() -> None:
    from datetime import UTC, datetime

    from pidone.core.triggerwiring import WallClockChanged

    mgr, _fx = setup(
        {
            "cal.timer": b"[Timer]\nOnCalendar=*-*-* 12:00:00\n",
            "cal.service": b"[Service]\nType=oneshot\nExecStart=/bin/true\n",
        }
    )
    real0 = int(datetime(2026, 1, 1, 10, 0, tzinfo=UTC).timestamp()) * 1_000_000
    noon = real0 + 2 * 3600 * 1_000_000
    out = mgr.handle(ev.JobRequested(next(_req), "start", "cal.timer"), 5_000_000, real0)  # type: ignore[arg-type]
    (wake,) = [a for a in out if isinstance(a, ArmWakeup)]
    assert (wake.clock, wake.deadline_usec) == ("realtime", noon)
    # The clock is set 2 h forward: the same calendar elapse, armed again from the new now.
    out = mgr.handle(WallClockChanged(), 6_000_000, noon - 10_000_000)
    (again,) = [a for a in out if isinstance(a, ArmWakeup)]
    assert (again.clock, again.deadline_usec) == ("realtime", noon)
    assert again.token != wake.token
    assert act.CancelTimer(wake.token) in out
    assert mgr.clock().realtime == noon - 10_000_000


def test_accept_no_socket_stdio_gets_the_listening_socket_as_stdin_for_every_command() -> None:
    """acpid.service (StandardInput=socket beside acpid.socket, Accept=no): exec_spawn()
    makes the one listening socket fd 0 of every command, with no LISTEN_FDS (checked on
    systemd 252: ExecStartPre= and ExecStart= both read socket:[...] on fd 0)."""
    _, fx = setup(
        {
            "acpi.socket": b"[Socket]\nListenStream=/run/acpi\n",
            "acpi.service": b"[Service]\nStandardInput=socket\n"
            b"ExecStartPre=/bin/pre\nExecStart=/bin/acpid\n",
        }
    )
    start(fx, "acpi.socket")
    fx.feed(ListenersOpened("acpi.socket", (7,)))
    fx.feed(FdReadable("acpi.socket", 7))
    fx.exit(fx.pid_of("acpi.service", "start-pre"), status=0)
    pre, main = fx.spawns()
    assert [(s.role, s.socket_fd, s.fds, s.socket_error) for s in (pre, main)] == [
        ("start-pre", 7, (), ""),
        ("start", 7, (), ""),
    ]


def test_socket_stdio_without_exactly_one_socket_fails_the_spawn() -> None:
    """No socket, or two: the spawn carries exec_spawn()'s refusal (systemd 252 logs it,
    then "Failed to run 'start' task: Invalid argument", result 'resources')."""
    _, fx = setup(
        {
            "two.socket": b"[Socket]\nListenStream=/run/a\nListenStream=/run/b\n",
            "two.service": b"[Service]\nStandardInput=socket\nExecStart=/bin/x\n",
            "none.service": b"[Service]\nStandardInput=socket\nExecStart=/bin/x\n",
        }
    )
    start(fx, "none.service")
    start(fx, "two.socket")
    fx.feed(ListenersOpened("two.socket", (7, 8)))
    start(fx, "two.service")
    errors = {s.unit: (s.socket_error, s.socket_fd) for s in fx.spawns()}
    assert errors == {
        "none.service": ("Got no socket.", -1),
        "two.service": ("Got more than one socket.", -1),
    }


def test_restart_of_a_listening_socket_logs_stopping_after_closed() -> None:
    """socket_stop() finishes inside the call (no ExecStopPre=/ExecStopPost=), so the
    restart job is already a waiting start when job_perform_on_unit() logs its JOB_STOP
    line: systemd 252 prints "Closed", then "Stopping...", then "Listening" (oracle)."""
    _, fx = setup({"r.socket": b"[Socket]\nListenStream=/run/r\n", "r.service": SERVER})
    start(fx, "r.socket")
    fx.feed(ListenersOpened("r.socket", (7,)))
    mark = len(fx.actions)
    fx.feed(ev.JobRequested(next(_req), "restart", "r.socket"))  # type: ignore[arg-type]
    fx.feed(ListenersOpened("r.socket", (8,)))
    assert fx.logs(mark) == [
        "r.socket: Deactivated successfully.",
        "Closed r.socket.",
        "Stopping r.socket...",
        "Listening on r.socket.",
    ]


def test_a_failed_socket_snapshot_carries_its_result() -> None:
    """`Active: failed (Result: resources)` in status needs the socket machine's result in
    the snapshot (it said `failed` alone; systemd 252 prints the Result)."""
    mgr, fx = setup({"y.socket": b"[Socket]\nListenStream=/run/y\nAccept=yes\n"})
    start(fx, "y.socket")
    fx.feed(ListenersOpened("y.socket", (4,)))
    fx.feed(ConnectionAccepted("y.socket", 4, 12, "unix", peer=(1, 0)))
    snap = mgr.snapshot("y.socket")
    assert snap is not None
    assert (snap.active_state, snap.result) == ("failed", "resources")
