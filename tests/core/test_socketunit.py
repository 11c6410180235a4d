"""The socket machine, pure: Accept=no/yes, limits, service feedback, Exec* phases (spec 05 §1)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.socketseam import (
    AcceptConnection,
    CloseFd,
    CloseListeners,
    ConnectionAccepted,
    FdReadable,
    ListenersFailed,
    ListenersOpened,
    OpenListeners,
    WatchFds,
    build_socket_config,
    format_connection_instance,
)
from pidone.core.socketunit import SocketMachine, SocketState
from pidone.core.triggering import StartFailed, StartUnit, TriggeredUnitChanged, TriggerRefused
from tests.core.unitbuild import unit_from_bytes

SEC = 1_000_000


@dataclass
class Rig:
    """The machine plus a fake executor: listeners get fds 10, 11, ...; spawns get PIDs."""

    machine: SocketMachine
    now: int = 1000 * SEC
    open_fail: str = ""
    out: list[object] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    watching: bool = False
    open_fds: set[int] = field(default_factory=set)
    next_pid: int = 500

    def feed(self, event: object) -> list[object]:
        actions = self.machine.handle(event, self.now)  # type: ignore[arg-type]
        self.out += actions
        answers: list[object] = []
        for a in actions:
            match a:
                case act.StateChanged():
                    self.states.append(a.new_sub)
                case act.Log():
                    self.logs.append(a.message)
                case WatchFds():
                    self.watching = a.on
                case OpenListeners():
                    if self.open_fail:
                        answers.append(ListenersFailed(a.unit, self.open_fail))
                    else:
                        fds = tuple(range(10, 10 + len(a.specs)))
                        self.open_fds |= set(fds)
                        answers.append(ListenersOpened(a.unit, fds))
                case CloseListeners():
                    self.open_fds -= set(a.fds)
                case act.Spawn():
                    self.next_pid += 1
                    answers.append(ev.Spawned(a.unit, a.token, self.next_pid))
        for answer in answers:  # fed back before anything else (actions.py rule 2)
            self.feed(answer)
        return actions

    def of(self, kind: type) -> list:
        return [a for a in self.out if isinstance(a, kind)]


def build(body: str, name: str = "t-sock.socket") -> SocketMachine:
    unit = unit_from_bytes(name, f"[Socket]\n{body}\n".encode())
    config, warnings = build_socket_config(unit)
    assert warnings == []
    return SocketMachine(config)


def listening(body: str = "ListenStream=127.0.0.1:18080", name: str = "t-sock.socket") -> Rig:
    rig = Rig(build(body, name))
    rig.feed(ev.StartRequested(name))
    assert rig.machine.state == SocketState.LISTENING
    return rig


def service(rig: Rig, active: str, sub: str, **kw: bool) -> None:
    rig.feed(TriggeredUnitChanged(rig.machine.name, "t-sock.service", active, sub, **kw))


# --- Accept=no --------------------------------------------------------------------------------


def test_start_binds_in_order_and_watches():
    rig = listening("ListenStream=127.0.0.1:18080\nListenDatagram=/run/t-sock.dgram")
    (opened,) = rig.of(OpenListeners)
    assert [s.directive for s in opened.specs] == ["ListenStream", "ListenDatagram"]
    assert rig.states == ["listening"]
    assert rig.watching
    assert rig.machine.active_state == "active"


def test_first_connection_starts_the_service_with_every_fd_and_stops_the_watch():
    rig = listening("ListenStream=127.0.0.1:18080\nListenDatagram=/run/t-sock.dgram")
    rig.feed(FdReadable("t-sock.socket", 10))
    (start,) = rig.of(StartUnit)
    assert start.target == "t-sock.service"
    assert start.fds == (10, 11)
    assert start.fd_names == ("t-sock.socket", "t-sock.socket")  # spec 05 §1.4 [verified]
    assert start.connection_fd == -1
    assert rig.machine.state == SocketState.RUNNING
    assert not rig.watching
    # More traffic while running is the service's business: not even seen.
    rig.feed(FdReadable("t-sock.socket", 10))
    assert len(rig.of(StartUnit)) == 1


def test_service_states_move_the_socket_between_running_and_listening():
    rig = listening()
    rig.feed(FdReadable("t-sock.socket", 10))
    service(rig, "activating", "start", has_job=True)
    service(rig, "active", "running")
    assert rig.machine.state == SocketState.RUNNING
    service(rig, "inactive", "dead")
    assert rig.machine.state == SocketState.LISTENING
    assert rig.watching
    rig.feed(FdReadable("t-sock.socket", 10))
    assert len(rig.of(StartUnit)) == 2
    service(rig, "activating", "auto-restart")  # Restart= pending: listen meanwhile
    assert rig.machine.state == SocketState.LISTENING


def test_an_active_service_gets_no_second_start_job():
    rig = listening()
    service(rig, "active", "running")  # started by hand, before any traffic
    rig.feed(FdReadable("t-sock.socket", 10))
    assert rig.of(StartUnit) == []
    assert rig.machine.state == SocketState.RUNNING


def test_file_descriptor_name_names_the_fds():
    rig = listening("ListenStream=/run/a.sock\nFileDescriptorName=varlink\nService=other.service")
    rig.feed(FdReadable("t-sock.socket", 10))
    (start,) = rig.of(StartUnit)
    assert (start.target, start.fd_names) == ("other.service", ("varlink",))


def test_trigger_limit_fails_the_socket_and_closes_the_fds():
    rig = listening("ListenStream=/run/a.sock\nRemoveOnStop=yes")
    for _ in range(20):  # TriggerLimitBurst=20 within TriggerLimitIntervalSec=2s
        rig.feed(FdReadable("t-sock.socket", 10))
        service(rig, "failed", "failed")
        rig.now += 1000
    assert rig.machine.state == SocketState.LISTENING
    rig.feed(FdReadable("t-sock.socket", 10))
    assert rig.machine.state == SocketState.FAILED
    assert rig.machine.result.value == "trigger-limit-hit"
    assert rig.logs == [
        "t-sock.socket: Trigger limit hit, refusing further activation.",
        "t-sock.socket: Failed with result 'trigger-limit-hit'.",
    ]
    (close,) = rig.of(CloseListeners)
    assert close.remove
    assert rig.open_fds == set()


def test_the_trigger_window_reopens_after_the_interval():
    rig = listening()
    for _ in range(25):
        rig.feed(FdReadable("t-sock.socket", 10))
        service(rig, "inactive", "dead")
        rig.now += SEC  # 2 per 2 s: always within the burst
    assert rig.machine.state == SocketState.LISTENING


def test_service_start_limit_fails_the_socket():
    rig = listening()
    rig.feed(FdReadable("t-sock.socket", 10))
    service(rig, "failed", "failed", start_limit_hit=True)
    assert rig.machine.state == SocketState.FAILED
    assert rig.machine.result.value == "service-start-limit-hit"
    rig.feed(ev.ResetFailedRequested("t-sock.socket"))
    assert rig.machine.state == SocketState.DEAD
    assert rig.machine.result.value == "success"


def test_a_refused_start_job_fails_the_socket():
    rig = listening()
    rig.feed(FdReadable("t-sock.socket", 10))
    rig.feed(TriggerRefused("t-sock.socket", "t-sock.service", "Unit t-sock.service not found."))
    assert rig.machine.result.value == "resources"
    assert rig.logs[0] == (
        "t-sock.socket: Failed to queue service startup job (Maybe the service file is missing "
        "or not a non-template unit?): Unit t-sock.service not found."
    )


def test_starting_with_the_service_already_active_is_refused():
    rig = Rig(build("ListenStream=/run/a.sock"))
    service(rig, "active", "running")
    rig.feed(ev.StartRequested("t-sock.socket"))
    assert rig.of(StartFailed) == [StartFailed("t-sock.socket")]
    assert rig.logs == ["t-sock.socket: Socket service t-sock.service already active, refusing."]
    assert rig.machine.state == SocketState.DEAD


def test_stop_closes_but_does_not_stop_the_service():
    rig = listening("ListenStream=/run/a.sock")
    rig.feed(FdReadable("t-sock.socket", 10))
    rig.feed(ev.StopRequested("t-sock.socket"))
    assert rig.machine.state == SocketState.DEAD
    assert rig.logs == ["t-sock.socket: Deactivated successfully."]
    (close,) = rig.of(CloseListeners)
    assert not close.remove  # RemoveOnStop=no
    assert rig.states == ["listening", "running", "dead"]
    assert not any(isinstance(a, act.Signal) for a in rig.out)


def test_bind_failure_fails_the_socket_with_resources():
    rig = Rig(build("ListenStream=127.0.0.1:18080"), open_fail="Address already in use")
    rig.feed(ev.StartRequested("t-sock.socket"))
    assert rig.machine.state == SocketState.FAILED
    assert rig.logs == [
        "t-sock.socket: Failed to listen on sockets: Address already in use",
        "t-sock.socket: Failed with result 'resources'.",
    ]
    assert rig.states == ["failed"]
    assert rig.of(StartFailed) == []  # the state change ends the start job


def test_a_failed_socket_that_fails_again_ends_its_start_job():
    """From `failed`, without ExecStartPre=, a listen that fails at once leaves the state
    `failed`: no StateChanged, so StartFailed ends the job (systemd 252's unit_notify()
    with the same old and new state; `systemctl start` twice says "Job failed" twice)."""
    rig = Rig(build("ListenStream=127.0.0.1:18080"), open_fail="Address already in use")
    rig.feed(ev.StartRequested("t-sock.socket"))
    rig.feed(ev.StartRequested("t-sock.socket"))
    assert rig.machine.state == SocketState.FAILED
    assert rig.states == ["failed"]
    assert rig.of(StartFailed) == [StartFailed("t-sock.socket")]
    assert rig.logs[2:] == rig.logs[:2]  # the same two lines again
    # once the address is free, the next start listens
    rig.open_fail = ""
    rig.feed(ev.StartRequested("t-sock.socket"))
    assert rig.machine.state == SocketState.LISTENING
    assert len(rig.of(StartFailed)) == 1


# --- Accept=yes -------------------------------------------------------------------------------


def accepted(rig: Rig, fd: int, port: int) -> None:
    rig.feed(FdReadable("t-acc.socket", 10))
    assert rig.out[-1] == AcceptConnection("t-acc.socket", 10)
    conn = ConnectionAccepted(
        "t-acc.socket", 10, fd, "inet", ("127.0.0.1", 18081), ("127.0.0.1", port)
    )
    rig.feed(conn)


def test_accept_yes_starts_one_instance_per_connection_with_the_connection_fd():
    rig = listening("ListenStream=127.0.0.1:18081\nAccept=yes", name="t-acc.socket")
    accepted(rig, 20, 49950)
    accepted(rig, 21, 49951)
    starts = rig.of(StartUnit)
    assert [s.target for s in starts] == [
        "t-acc@0-127.0.0.1:18081-127.0.0.1:49950.service",  # spec 05 §1.4 [verified]
        "t-acc@1-127.0.0.1:18081-127.0.0.1:49951.service",
    ]
    assert [s.connection_fd for s in starts] == [20, 21]
    assert dict(starts[0].env) == {"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "49950"}
    assert starts[0].fds == ()
    assert rig.machine.state == SocketState.LISTENING  # Accept=yes keeps listening
    assert rig.machine.n_connections == 2
    assert rig.machine.triggers() == [s.target for s in starts]


def test_max_connections_drops_and_an_ending_instance_frees_a_slot():
    rig = listening("ListenStream=127.0.0.1:18081\nAccept=yes\nMaxConnections=2", "t-acc.socket")
    accepted(rig, 20, 1)
    accepted(rig, 21, 2)
    accepted(rig, 22, 3)
    assert rig.out[-1] == CloseFd("t-acc.socket", 22)
    assert rig.logs == ["t-acc.socket: Too many incoming connections (2), dropping connection."]
    assert rig.machine.n_refused == 1
    first = rig.of(StartUnit)[0].target
    rig.feed(TriggeredUnitChanged("t-acc.socket", first, "inactive", "dead"))
    accepted(rig, 23, 4)
    assert rig.of(StartUnit)[-1].target == "t-acc@2-127.0.0.1:18081-127.0.0.1:4.service"


def test_accept_yes_trigger_limit_defaults_to_200():
    rig = listening("ListenStream=127.0.0.1:18081\nAccept=yes\nMaxConnections=1000", "t-acc.socket")
    assert rig.machine.config.trigger_limit_burst == 200
    for i in range(200):
        accepted(rig, 100 + i, i + 1)
    assert rig.machine.state == SocketState.LISTENING
    accepted(rig, 999, 9999)
    assert rig.machine.result.value == "trigger-limit-hit"
    assert rig.out[-1] == CloseFd("t-acc.socket", 999)


@pytest.mark.parametrize(
    ("family", "local", "remote", "peer", "name"),
    [
        ("inet", ("127.0.0.1", 80), ("10.0.0.2", 5000), None, "3-127.0.0.1:80-10.0.0.2:5000"),
        ("inet6", ("::1", 80), ("::1", 5000), None, "3-::1:80-::1:5000"),
        ("inet6", ("::ffff:1.2.3.4", 80), ("::ffff:5.6.7.8", 9), None, "3-1.2.3.4:80-5.6.7.8:9"),
        ("unix", ("", 0), ("", 0), (1234, 0), "3-1234-0"),
        ("unix", ("", 0), ("", 0), None, "3-unknown"),
    ],
)
def test_instance_names(family, local, remote, peer, name):
    assert format_connection_instance(3, family, local, remote, peer) == name


# --- Exec*= phases ---------------------------------------------------------------------------


def exited(rig: Rig, status: int = 0, signal: int = 0) -> None:
    rig.feed(ev.ProcessExited(rig.machine.control_pid, status, signal))


def test_exec_phases_run_around_bind_and_close():
    body = (
        "ListenStream=/run/a.sock\nExecStartPre=/bin/true\nExecStartPost=/bin/true\n"
        "ExecStopPre=/bin/true\nExecStopPost=/bin/true"
    )
    rig = Rig(build(body))
    rig.feed(ev.StartRequested("t-sock.socket"))
    assert rig.machine.state == SocketState.START_PRE
    assert rig.of(OpenListeners) == []  # bind only after ExecStartPre=
    exited(rig)
    assert rig.machine.state == SocketState.START_POST
    assert len(rig.of(OpenListeners)) == 1
    exited(rig)
    assert rig.machine.state == SocketState.LISTENING
    rig.feed(ev.StopRequested("t-sock.socket"))
    assert rig.machine.state == SocketState.STOP_PRE
    assert rig.of(CloseListeners) == []  # fds stay open through stop-pre
    exited(rig)
    assert rig.machine.state == SocketState.STOP_POST
    assert len(rig.of(CloseListeners)) == 1
    exited(rig)
    assert rig.states == ["start-pre", "start-post", "listening", "stop-pre", "stop-post", "dead"]
    roles = [a.role for a in rig.of(act.Spawn)]
    assert roles == ["start-pre", "start-post", "stop", "stop-post"]


def test_failing_start_pre_fails_without_binding():
    rig = Rig(build("ListenStream=/run/a.sock\nExecStartPre=/bin/false"))
    rig.feed(ev.StartRequested("t-sock.socket"))
    exited(rig, status=1)
    assert rig.machine.state == SocketState.FAILED
    assert rig.machine.result.value == "exit-code"
    assert rig.of(OpenListeners) == []
    assert rig.logs[0] == "t-sock.socket: Control process exited, code=exited, status=1/FAILURE"


def test_ignored_failure_prefix_goes_on():
    rig = Rig(build("ListenStream=/run/a.sock\nExecStartPre=-/bin/false"))
    rig.feed(ev.StartRequested("t-sock.socket"))
    exited(rig, status=1)
    assert rig.machine.state == SocketState.LISTENING


def test_start_pre_timeout_terminates_the_control_process():
    rig = Rig(build("ListenStream=/run/a.sock\nExecStartPre=/bin/sleep 100\nTimeoutSec=5"))
    rig.feed(ev.StartRequested("t-sock.socket"))
    (timer,) = rig.of(act.ArmTimer)
    assert timer.deadline_usec == rig.now + 5 * SEC
    pid = rig.machine.control_pid
    rig.now += 5 * SEC
    rig.feed(ev.TimerFired(timer.token))
    assert rig.machine.state == SocketState.FINAL_SIGTERM
    assert rig.of(act.Signal)[-1] == act.Signal("t-sock.socket", "pid", 15, pid=pid, sigcont=True)
    exited(rig, signal=15)
    assert rig.machine.state == SocketState.FAILED
    assert rig.machine.result.value == "timeout"
    assert rig.logs[0] == "t-sock.socket: Starting timed out. Terminating."


def test_build_config_defaults():
    unit = unit_from_bytes("web.socket", b"[Socket]\nListenStream=80\n")
    config, _ = build_socket_config(unit)
    assert (config.service, config.fd_name, config.trigger_limit_burst) == (
        "web.service",
        "web.socket",
        20,
    )
    assert config.listen[0].family == "inet6"


def test_a_socket_start_job_that_fails_says_failed_to_listen():
    """socket.c's status_message_formats (systemd 252): a failed start job of a socket is
    "Failed to listen on X." (the oracle prints it for an unbindable ListenStream=), a
    failed stop "Failed stopping X."; the others are the generic lines."""
    from pidone.core.job import format_done_message

    def line(job: str, result: str) -> str | None:
        return format_done_message(job, result, "t-sock.socket", False, "socket")  # type: ignore[arg-type]

    assert line("start", "failed") == "Failed to listen on t-sock.socket."
    assert line("start", "done") == "Listening on t-sock.socket."
    assert line("start", "timeout") == "Timed out starting t-sock.socket."
    assert line("stop", "failed") == "Failed stopping t-sock.socket."
    assert line("stop", "done") == "Closed t-sock.socket."


def test_refused_socket_options_are_logged_about_the_unit_in_its_start():
    """mpd.socket (PassCredentials= on a TCP port): systemd 252 warns "SO_PASSCRED failed:
    Operation not supported" with the unit's INVOCATION_ID, and status shows the line
    (tests/data/oracle/capture-packaged-triggers-252.md): it comes with the start, not
    before it."""
    m = build("ListenStream=6600\nPassCredentials=yes", "mpd.socket")
    m.handle(ev.StartRequested("mpd.socket", "ab" * 16), 0)
    warning = "SO_PASSCRED failed: Operation not supported"
    out = m.handle(ListenersOpened("mpd.socket", (10,), (warning,)), 0)
    logs = [(a.message, a.priority, dict(a.fields)) for a in out if isinstance(a, act.Log)]
    assert logs == [
        (f"mpd.socket: {warning}", act.LOG_WARNING, {"INVOCATION_ID": "ab" * 16}),
    ]
    assert [a.new_sub for a in out if isinstance(a, act.StateChanged)] == ["listening"]


def test_socket_user_or_group_passes_through_start_chown():
    """socket_enter_start_chown(): with SocketUser=/SocketGroup= the socket is `start-chown`
    (activating) while its sockets are chowned, so the start job outlives socket_start()
    and 252 logs "Starting" (oracle: docker.socket, fcgiwrap.socket)."""
    rig = listening("ListenStream=/run/d.sock\nSocketGroup=docker", "d.socket")
    assert rig.states == ["start-chown", "listening"]
    assert listening().states == ["listening"]  # without: listening at once
    rig = Rig(build("ListenStream=/run/d.sock\nSocketUser=root", "d.socket"))
    rig.open_fail = "Address already in use"
    rig.feed(ev.StartRequested("d.socket"))
    assert rig.states == ["start-chown", "failed"]
    assert rig.machine.result.value == "resources"
