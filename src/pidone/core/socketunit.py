"""The socket unit machine (man 5 systemd.socket; spec 05 §1, 03 §1): events in, actions out.

Theory of operation (systemd 252 src/core/socket.c, procedure by procedure):

1. Start (socket_start()): refused when the Accept=no service is already active ("Socket
   service X already active, refusing."). Then ExecStartPre= (start-pre), the listeners are
   opened in Listen-line order (`OpenListeners`, answered by `ListenersOpened`/
   `ListenersFailed`, before any other event), with SocketUser=/SocketGroup= in
   `start-chown` (252 forks a chown process there; the I/O side chowns as it binds), then
   ExecStartPost= (start-post), then `listening` with the fds watched (`WatchFds(on)`).
2. Accept=no: a readable fd (`FdReadable`) runs socket_enter_running(): the trigger limit
   (TriggerLimitIntervalSec=2s, TriggerLimitBurst=20) is counted, a start job is asked for
   the service (`StartUnit` with every listening fd and its FileDescriptorName=) unless it
   is already active or has a job, and the state becomes `running`, which stops the watch
   (only `listening` watches). The pending connection stays in the kernel queue for the
   service to accept: nothing is read here, so the first connection is never lost.
   The service's state changes come back (`TriggeredUnitChanged`): dead/failed/auto-restart
   and final-sigterm/-sigkill resume `listening`, running keeps `running`, a start limit
   hit fails the socket with `service-start-limit-hit`; nothing moves while it has a job.
3. Accept=yes: a readable stream fd asks the I/O side to accept (`AcceptConnection`); each
   `ConnectionAccepted` counts the trigger limit (burst 200 in this mode), checks
   MaxConnections= ("Too many incoming connections (N), dropping connection.": `CloseFd`),
   and starts `prefix@<NR>-<local>-<remote>.service` with the connection fd. The socket
   stays `listening`; an instance going inactive/failed gives its connection back.
4. Trigger limit hit ("Trigger limit hit, refusing further activation.") or a start job
   the manager refused: stop with Result trigger-limit-hit / resources.
5. Stop (and every failure): ExecStopPre= (stop-pre), then ExecStopPost= (stop-post), then
   dead or failed. Leaving the active states closes the fds (`CloseListeners`, unlinking
   socket/FIFO nodes with RemoveOnStop=). Stopping a socket never stops its service.
6. A control command (Exec*=) that fails or times out (TimeoutSec=) walks the same
   failure paths as socket_sigchld_event()/socket_dispatch_timer(): start-pre failing goes
   to final-sigterm, start-post to stop-pre, stop-pre to stop-post, stop-post to the end.
   Only the control process is signalled (it is the only process a socket unit owns).
"""

from __future__ import annotations

import enum

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass, field
from pidone.core.restart import StartLimit
from pidone.core.servicestate import ExitCode, ExitInfo
from pidone.core.socketseam import (
    COMMAND_NAMES,
    SPAWN_ROLE,
    AcceptConnection,
    CloseFd,
    CloseListeners,
    ConnectionAccepted,
    FdReadable,
    ListenersFailed,
    ListenersOpened,
    OpenListeners,
    Phase,
    SocketAction,
    SocketConfig,
    SocketEvent,
    WatchFds,
    format_connection_instance,
    format_peer,
)
from pidone.core.triggering import StartFailed, StartUnit, TriggeredUnitChanged, TriggerRefused


class SocketState(enum.Enum):
    """Socket SubState= (src/basic/unit-def.c socket_state_table)."""

    DEAD = "dead"
    START_PRE = "start-pre"
    START_CHOWN = "start-chown"
    START_POST = "start-post"
    LISTENING = "listening"
    RUNNING = "running"
    STOP_PRE = "stop-pre"
    STOP_PRE_SIGTERM = "stop-pre-sigterm"
    STOP_PRE_SIGKILL = "stop-pre-sigkill"
    STOP_POST = "stop-post"
    FINAL_SIGTERM = "final-sigterm"
    FINAL_SIGKILL = "final-sigkill"
    FAILED = "failed"


S = SocketState
ACTIVE_STATE_OF = {
    S.DEAD: "inactive",
    S.START_PRE: "activating",
    S.START_CHOWN: "activating",
    S.START_POST: "activating",
    S.LISTENING: "active",
    S.RUNNING: "active",
    S.STOP_PRE: "deactivating",
    S.STOP_PRE_SIGTERM: "deactivating",
    S.STOP_PRE_SIGKILL: "deactivating",
    S.STOP_POST: "deactivating",
    S.FINAL_SIGTERM: "deactivating",
    S.FINAL_SIGKILL: "deactivating",
    S.FAILED: "failed",
}
_CONTROL_STATES = {
    S.START_PRE,
    S.START_POST,
    S.STOP_PRE,
    S.STOP_PRE_SIGTERM,
    S.STOP_PRE_SIGKILL,
    S.STOP_POST,
    S.FINAL_SIGTERM,
    S.FINAL_SIGKILL,
}
# socket_set_state(): the fds stay open only in these states.
_FDS_OPEN_STATES = {
    S.START_CHOWN,
    S.START_POST,
    S.LISTENING,
    S.RUNNING,
    S.STOP_PRE,
    S.STOP_PRE_SIGTERM,
    S.STOP_PRE_SIGKILL,
}
# socket_trigger_notify(): service sub-states after which the socket listens again.
_SERVICE_GONE = ("dead", "failed", "final-sigterm", "final-sigkill", "auto-restart")


class SocketResult(enum.Enum):
    SUCCESS = "success"
    RESOURCES = "resources"
    TIMEOUT = "timeout"
    EXIT_CODE = "exit-code"
    SIGNAL = "signal"
    CORE_DUMP = "core-dump"
    START_LIMIT_HIT = "start-limit-hit"
    TRIGGER_LIMIT_HIT = "trigger-limit-hit"
    SERVICE_START_LIMIT_HIT = "service-start-limit-hit"


_PHASE_STATE = {
    "start-pre": S.START_PRE,
    "start-post": S.START_POST,
    "stop-pre": S.STOP_PRE,
    "stop-post": S.STOP_POST,
}


@dataclass(slots=True)
class SocketMachine:
    """One .socket unit. Read the module docstring for the rules."""

    config: SocketConfig
    state: SocketState = SocketState.DEAD
    result: SocketResult = SocketResult.SUCCESS
    fds: tuple[int, ...] = ()
    watching: bool = False
    control_pid: int = 0
    n_accepted: int = 0
    n_connections: int = 0
    n_refused: int = 0
    instances: set[str] = field(default_factory=set)
    service_active: bool = False  # the Accept=no service is active or has a job
    trigger_limit: StartLimit = field(default_factory=StartLimit)
    invocation_id: str = ""  # drawn by the manager at each start (InvocationID=)
    _phase: Phase | None = None
    _index: int = 0
    _spawn_token: str = ""
    _timer: str = ""
    _serial: int = 0
    _now: int = 0
    _out: list[SocketAction] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.unit

    @property
    def active_state(self) -> str:
        return ACTIVE_STATE_OF[self.state]

    def triggers(self) -> list[str]:
        """Triggers=: the service (Accept=no) or the live connection instances."""
        return sorted(self.instances) if self.config.accept else [self.config.service]

    def fd_names(self) -> tuple[str, ...]:
        return (self.config.fd_name,) * len(self.fds)

    # --- the one entry point -----------------------------------------------------------

    def handle(self, event: SocketEvent, now_usec: int) -> list[SocketAction]:
        self._out = []
        self._now = now_usec
        match event:
            case ev.StartRequested():
                self._start(event.invocation_id)
            case ev.StopRequested():
                self._stop()
            case ev.ResetFailedRequested():
                if self.state == S.FAILED:
                    self._set_state(S.DEAD)
                self.result = SocketResult.SUCCESS
            case ListenersOpened():
                self._opened(event)
            case ListenersFailed():
                self._log(f"Failed to listen on sockets: {event.error}", act.LOG_WARNING)
                self._enter_stop_pre(SocketResult.RESOURCES)
            case FdReadable():
                self._readable(event)
            case ConnectionAccepted():
                self._accepted(event)
            case TriggeredUnitChanged():
                self._trigger_notify(event)
            case TriggerRefused():
                self._refused(event)
            case ev.Spawned():
                if event.token == self._spawn_token:
                    self.control_pid = event.pid
            case ev.SpawnFailed():
                if event.token == self._spawn_token:
                    self._spawn_failed(event.error)
            case ev.ProcessExited():
                if event.pid == self.control_pid and self.control_pid:
                    self._control_exited(event)
            case ev.TimerFired():
                if event.token == self._timer and self._timer:
                    self._timer = ""
                    self._timed_out()
        out, self._out = self._out, []
        return out

    # --- start and stop (socket_start(), socket_stop()) ---------------------------------

    def _start(self, invocation_id: str) -> None:
        if self.state not in (S.DEAD, S.FAILED):
            return  # already on it, or active: the manager's job rules decide
        if not self.config.accept and self.service_active:
            service = self.config.service
            self._log(f"Socket service {service} already active, refusing.", act.LOG_ERR)
            self._out.append(StartFailed(self.name))
            return
        # socket_start(): unit_acquire_invocation_id() after the refusal; its control
        # processes get $INVOCATION_ID (so their output carries _SYSTEMD_INVOCATION_ID=)
        self.invocation_id = invocation_id
        self.result = SocketResult.SUCCESS
        self.trigger_limit = StartLimit()
        if not self._run_phase("start-pre"):
            self._open()

    def _open(self) -> None:
        self._out.append(OpenListeners(self.name, self.config.listen))
        if self.config.chown:
            # socket_enter_start_chown(): SocketUser=/SocketGroup= fork a process that
            # chowns the new sockets; here the I/O side does it as it binds (rule 1)
            self._set_state(S.START_CHOWN)

    def _opened(self, e: ListenersOpened) -> None:
        self.fds = e.fds
        for warning in e.warnings:  # in the start: status shows them (oracle: mpd.socket)
            self._log(warning, act.LOG_WARNING)
        starting = (S.DEAD, S.FAILED, S.START_PRE, S.START_CHOWN)
        if self.state in starting and not self._run_phase("start-post"):
            self._enter_listening()

    def _stop(self) -> None:
        if self.state in (S.START_PRE, S.START_CHOWN, S.START_POST):
            self._enter_signal(S.STOP_PRE_SIGTERM, SocketResult.SUCCESS)
        elif self.state in (S.LISTENING, S.RUNNING):
            self._enter_stop_pre(SocketResult.SUCCESS)

    # --- phases (socket_enter_*()) ----------------------------------------------------------

    def _run_phase(self, phase: Phase, index: int = 0) -> bool:
        """Spawn command `index` of `phase` and enter its state; False if there is none."""
        commands = self.config.commands(phase)
        if index >= len(commands):
            return False
        self._phase, self._index = phase, index
        self._serial += 1
        self._spawn_token = f"{self.name}/control/{self._serial}"
        self.control_pid = 0
        self._out.append(
            act.Spawn(
                self.name,
                self._spawn_token,
                SPAWN_ROLE[phase],
                index,
                commands[index],
                (("INVOCATION_ID", self.invocation_id),) if self.invocation_id else (),
                main=False,
            )
        )
        self._set_state(_PHASE_STATE[phase])
        self._arm_timeout()
        return True

    def _enter_listening(self) -> None:
        self._set_state(S.LISTENING)
        if not self.watching and self.fds:
            self.watching = True
            self._out.append(WatchFds(self.name, self.fds, on=True))

    def _enter_stop_pre(self, f: SocketResult) -> None:
        self._fail(f)
        if not self._run_phase("stop-pre"):
            self._enter_stop_post(SocketResult.SUCCESS)

    def _enter_stop_post(self, f: SocketResult) -> None:
        self._fail(f)
        if not self._run_phase("stop-post"):
            self._enter_signal(S.FINAL_SIGTERM, SocketResult.SUCCESS)

    def _enter_signal(self, state: SocketState, f: SocketResult) -> None:
        self._fail(f)
        if self.control_pid:
            sigkill = state in (S.STOP_PRE_SIGKILL, S.FINAL_SIGKILL)
            sig = self.config.final_kill_signal if sigkill else self.config.kill_signal
            self._out.append(act.Signal(self.name, "pid", sig, pid=self.control_pid, sigcont=True))
            self._phase = None
            self._set_state(state)
            self._arm_timeout()
        elif state == S.STOP_PRE_SIGTERM:
            self._enter_signal(S.STOP_PRE_SIGKILL, SocketResult.SUCCESS)
        elif state == S.STOP_PRE_SIGKILL:
            self._enter_stop_post(SocketResult.SUCCESS)
        elif state == S.FINAL_SIGTERM:
            self._enter_signal(S.FINAL_SIGKILL, SocketResult.SUCCESS)
        else:
            self._enter_dead(SocketResult.SUCCESS)

    def _enter_dead(self, f: SocketResult) -> None:
        self._fail(f)
        if self.result == SocketResult.SUCCESS:
            self._log("Deactivated successfully.", act.LOG_INFO, act.MID_UNIT_SUCCESS)
        else:
            text = f"Failed with result '{self.result.value}'."
            fields = (("UNIT_RESULT", self.result.value),)  # unit_log_failure()
            self._log(text, act.LOG_WARNING, act.MID_UNIT_FAILURE_RESULT, fields)
        again = self.state == S.FAILED  # a start from `failed` that failed before any state
        self._set_state(S.FAILED if self.result != SocketResult.SUCCESS else S.DEAD)
        if again and self.state == S.FAILED:
            # socket_set_state() calls unit_notify() even when the state stays `failed`
            # (no ExecStartPre=, the listen fails at once), and unit_process_job() ends the
            # start job `failed` (systemd 252; `systemctl start` says "Job failed"). No
            # StateChanged is due here, so the job would wait forever.
            self._out.append(StartFailed(self.name))

    def _fail(self, f: SocketResult) -> None:
        if self.result == SocketResult.SUCCESS:
            self.result = f

    # --- activation (socket_dispatch_io(), socket_enter_running()) ------------------------------

    def _readable(self, e: FdReadable) -> None:
        if self.state != S.LISTENING or e.fd not in self.fds:
            return
        spec = self.config.listen[self.fds.index(e.fd)]
        if self.config.accept and spec.kind in ("stream", "seqpacket"):
            self._out.append(AcceptConnection(self.name, e.fd))
        else:
            self._enter_running(-1, None)

    def _accepted(self, e: ConnectionAccepted) -> None:
        if self.state != S.LISTENING:
            self._out.append(CloseFd(self.name, e.fd))
            return
        self._enter_running(e.fd, e)

    def _enter_running(self, cfd: int, conn: ConnectionAccepted | None) -> None:
        c = self.config
        allowed, self.trigger_limit = self.trigger_limit.test(
            self._now, c.trigger_limit_interval_usec, c.trigger_limit_burst
        )
        if not allowed:
            self._log("Trigger limit hit, refusing further activation.", act.LOG_WARNING)
            self._enter_stop_pre(SocketResult.TRIGGER_LIMIT_HIT)
            self._refuse(cfd)
            return
        if conn is None:
            if not self.service_active:
                names = self.fd_names()
                self._out.append(StartUnit(self.name, c.service, fds=self.fds, fd_names=names))
                self.service_active = True  # a job is pending now
            self._set_state(S.RUNNING)
            return
        if self.n_connections >= c.max_connections:
            text = f"Too many incoming connections ({self.n_connections}), dropping connection."
            self._log(text, act.LOG_WARNING)
            self._refuse(cfd)
            return
        prefix = self.name.rsplit(".", 1)[0]
        instance = format_connection_instance(
            self.n_accepted, conn.family, conn.local, conn.remote, conn.peer
        )
        target = f"{prefix}@{instance}.service"
        self.n_accepted += 1
        self.n_connections += 1
        self.instances.add(target)
        env: tuple[tuple[str, str], ...] = ()
        if conn.family in ("inet", "inet6", "vsock"):  # service_spawn(): the IP peer
            addr = (
                conn.remote[0].removeprefix("::ffff:") if "." in conn.remote[0] else conn.remote[0]
            )
            env = (("REMOTE_ADDR", addr), ("REMOTE_PORT", str(conn.remote[1])))
        peer = format_peer(conn.family, conn.remote, conn.peer)
        self._out.append(StartUnit(self.name, target, env, connection_fd=cfd, peer=peer))

    def _refuse(self, cfd: int) -> None:
        if cfd >= 0:
            self.n_refused += 1
            self._out.append(CloseFd(self.name, cfd))

    def _trigger_notify(self, e: TriggeredUnitChanged) -> None:
        gone = e.active_state in ("inactive", "failed")
        if e.target in self.instances:
            if gone:  # service_close_socket_fd() -> socket_connection_unref()
                self.instances.discard(e.target)
                self.n_connections -= 1
            return
        if e.target != self.config.service or self.config.accept:
            return
        self.service_active = e.has_job or not gone
        if self.state not in (S.RUNNING, S.LISTENING):
            return
        if e.start_limit_hit:
            self._enter_stop_pre(SocketResult.SERVICE_START_LIMIT_HIT)
            return
        if e.has_job:
            return
        if e.sub_state in _SERVICE_GONE:
            self._enter_listening()
        elif e.sub_state == "running":
            self._set_state(S.RUNNING)

    def _refused(self, e: TriggerRefused) -> None:
        kind = "template" if self.config.accept else "non-template"
        self._log(
            "Failed to queue service startup job (Maybe the service file is missing or not "
            f"a {kind} unit?): {e.reason}",
            act.LOG_WARNING,
        )
        if e.target in self.instances:
            self.instances.discard(e.target)
            self.n_connections -= 1
        else:
            self.service_active = False
        if self.state in (S.LISTENING, S.RUNNING):
            self._enter_stop_pre(SocketResult.RESOURCES)

    # --- control processes (socket_sigchld_event(), socket_dispatch_timer()) --------------------

    def _control_exited(self, e: ev.ProcessExited) -> None:
        self.control_pid = 0
        info = ExitInfo.of(e.status, e.signal, e.core_dumped)
        phase = self._phase
        if info.code == ExitCode.EXITED and info.status == 0:
            f = SocketResult.SUCCESS
        elif info.code == ExitCode.EXITED:
            f = SocketResult.EXIT_CODE
        elif info.code == ExitCode.KILLED:
            f = SocketResult.SIGNAL
        else:
            f = SocketResult.CORE_DUMP
        if phase is not None and self.config.commands(phase)[self._index].ignore_failure:
            f = SocketResult.SUCCESS
        if f != SocketResult.SUCCESS:
            prio = act.LOG_NOTICE if info.code == ExitCode.EXITED else act.LOG_WARNING
            fields = (
                ("EXIT_CODE", info.code_word),
                ("EXIT_STATUS", str(info.status)),
                ("COMMAND", COMMAND_NAMES[phase] if phase else ""),
            )
            text = f"Control process exited, {info.format_log()}"
            self._log(text, prio, act.MID_UNIT_PROCESS_EXIT, fields)
        self._fail(f)
        if (
            phase is not None
            and f == SocketResult.SUCCESS
            and self._run_phase(phase, self._index + 1)
        ):
            return
        self._phase = None
        self._cancel_timeout()
        state = self.state
        if state == S.START_PRE:
            if f == SocketResult.SUCCESS:
                self._open()
            else:
                self._enter_signal(S.FINAL_SIGTERM, f)
        elif state == S.START_POST:
            if f == SocketResult.SUCCESS:
                self._enter_listening()
            else:
                self._enter_stop_pre(f)
        elif state in (S.STOP_PRE, S.STOP_PRE_SIGTERM, S.STOP_PRE_SIGKILL):
            self._enter_stop_post(f)
        elif state in (S.STOP_POST, S.FINAL_SIGTERM, S.FINAL_SIGKILL):
            self._enter_dead(f)

    def _spawn_failed(self, error: str) -> None:
        phase = self._phase
        self._phase = None
        self._log(f"Failed to run '{phase}' task: {error}", act.LOG_WARNING)
        if phase == "start-pre":
            self._enter_dead(SocketResult.RESOURCES)
        elif phase == "start-post":
            self._enter_stop_pre(SocketResult.RESOURCES)
        elif phase == "stop-pre":
            self._enter_stop_post(SocketResult.RESOURCES)
        else:
            self._enter_signal(S.FINAL_SIGTERM, SocketResult.RESOURCES)

    def _timed_out(self) -> None:
        t, state = SocketResult.TIMEOUT, self.state
        kill = self.config.send_sigkill
        if state == S.START_PRE:
            self._log("Starting timed out. Terminating.", act.LOG_WARNING)
            self._enter_signal(S.FINAL_SIGTERM, t)
        elif state == S.START_POST:
            self._log("Starting timed out. Stopping.", act.LOG_WARNING)
            self._enter_stop_pre(t)
        elif state == S.STOP_PRE:
            self._log("Stopping timed out. Terminating.", act.LOG_WARNING)
            self._enter_signal(S.STOP_PRE_SIGTERM, t)
        elif state == S.STOP_PRE_SIGTERM:
            word = "Killing." if kill else "Skipping SIGKILL. Ignoring."
            self._log(f"Stopping timed out. {word}", act.LOG_WARNING)
            if kill:
                self._enter_signal(S.STOP_PRE_SIGKILL, t)
            else:
                self._enter_stop_post(t)
        elif state == S.STOP_PRE_SIGKILL:
            self._log("Processes still around after SIGKILL. Ignoring.", act.LOG_WARNING)
            self._enter_stop_post(t)
        elif state == S.STOP_POST:
            self._log("Stopping timed out (2). Terminating.", act.LOG_WARNING)
            self._enter_signal(S.FINAL_SIGTERM, t)
        elif state == S.FINAL_SIGTERM:
            word = "Killing." if kill else "Skipping SIGKILL. Ignoring."
            self._log(f"Stopping timed out (2). {word}", act.LOG_WARNING)
            if kill:
                self._enter_signal(S.FINAL_SIGKILL, t)
            else:
                self._enter_dead(t)
        elif state == S.FINAL_SIGKILL:
            self._log("Still around after SIGKILL (2). Entering failed mode.", act.LOG_WARNING)
            self._enter_dead(t)

    # --- plumbing ------------------------------------------------------------------------------

    def _arm_timeout(self) -> None:
        self._cancel_timeout()
        if self.config.timeout_usec <= 0 or self.config.timeout_usec >= 2**63:
            return
        self._serial += 1
        self._timer = f"{self.name}/timeout/{self._serial}"
        self._out.append(act.ArmTimer(self._timer, self._now + self.config.timeout_usec))

    def _cancel_timeout(self) -> None:
        if self._timer:
            self._out.append(act.CancelTimer(self._timer))
            self._timer = ""

    def _set_state(self, new: SocketState) -> None:
        """socket_set_state(): stop watching outside `listening`, close fds outside the
        states that keep them, drop the control process outside the control states."""
        old = self.state
        self.state = new
        if new not in _CONTROL_STATES:
            self._cancel_timeout()
            self.control_pid = 0
            self._phase = None
        if new != S.LISTENING and self.watching:
            self.watching = False
            self._out.append(WatchFds(self.name, self.fds, on=False))
        if new not in _FDS_OPEN_STATES and self.fds:
            self._out.append(CloseListeners(self.name, self.fds, self.config.remove_on_stop))
            self.fds = ()
        if old != new:
            self._out.append(
                act.StateChanged(
                    self.name,
                    ACTIVE_STATE_OF[old],
                    old.value,
                    ACTIVE_STATE_OF[new],
                    new.value,
                    self.result.value,
                )
            )

    def _log(
        self,
        text: str,
        priority: int,
        message_id: str = "",
        fields: tuple[tuple[str, str], ...] = (),
    ) -> None:
        if self.invocation_id:  # log_unit_*(): every record about the unit carries its ID
            fields = (*fields, ("INVOCATION_ID", self.invocation_id))
        self._out.append(act.Log(self.name, f"{self.name}: {text}", priority, message_id, fields))
