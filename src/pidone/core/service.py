"""The service state machine: events in, actions out, time passed in (systemd 252 semantics).

Theory of operation (h11 style):

1. Every event is first *classified* into a `Trigger` (core/servicetable.py) plus the
   failure it stands for (`f`, a Result): an exit is clean or not by is_clean_exit(), a
   `-` prefix forgives it, ExecCondition= exit 1-254 is a skip. Bookkeeping that always
   happens (ExecMain* status, the "Main process exited" line, StatusText=) is done here.
2. The trigger is looked up in `TRANSITIONS` by (SubState, trigger); the first row whose
   guard holds fires, and its step (a service_enter_*() procedure) runs.
3. A step that has nothing to do falls through to the next phase in the same call, as in
   systemd: no ExecStop= -> stop-sigterm; nothing to kill -> stop-sigkill -> stop-post; no
   ExecStopPost= -> final-sigterm -> dead. So one event may yield several StateChanged.
4. `Result` keeps the *first* failure of a run (`if result == success: result = f`); it is
   reset at the start of every run that passed the start limit (spec 03 §3).
5. A request (start/stop/reload) with no row raises IllegalEvent before anything changes;
   an observation with no row (a stale timer, an exit of a forgotten PID) does nothing.
6. The machine never reads a clock: `now_usec` (CLOCK_MONOTONIC) comes with each event and
   every timer is an ArmTimer action with a token unique to that arming.
7. Which processes exist is known from Spawned/ProcessExited (main and control PIDs) and
   UnitProcessesGone (the cgroup); "populated" becomes true at each Spawned. Signals go out
   as Signal actions chosen as unit_kill_context() chooses them (spec 03 §10).
8. Job bookkeeping (Starting/Started/Stopped lines, job results) lives in core/manager.py;
   the machine only reports StateChanged, RestartJobWanted and StartRefused to it.

Size: longer than the ~600-line guide on purpose. It holds all of service.c's
service_enter_*() procedures (each a few lines) next to the event classification, and
splitting those apart would scatter one state machine; the table is in servicetable.py and
value-level helpers (env, kill plans, NotifyAccess=) in servicerules.py.
"""

from __future__ import annotations

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass, field
from pidone.core.errors import PidoneError
from pidone.core.execline import ExecCommand
from pidone.core.model import ServiceSection, Unit
from pidone.core.restart import StartLimit, shall_restart
from pidone.core.servicerules import ExecMain, Timestamps, kill_plan, notify_rejection, spawn_env
from pidone.core.servicestate import (
    ACTIVE_STATE_OF,
    SIGKILL,
    STARTING,
    STOPPING,
    WATCHDOG_STATES,
    ActiveState,
    ExitCode,
    ExitInfo,
    Result,
    SubState,
    result_of_exit,
)
from pidone.core.servicetable import REQUESTS, TRANSITIONS, Guard, Row, Step, Trigger, rows_for
from pidone.core.values import USEC_INFINITY, format_timespan

S = SubState
A = ActiveState
_MAIN_STATES = frozenset({S.START, S.START_POST, S.RUNNING, S.RELOAD}) | STOPPING
_CONTROL_STATES = STARTING | STOPPING | {S.RELOAD}
_TIMER_STATES = STARTING | STOPPING | {S.RUNNING, S.RELOAD, S.AUTO_RESTART}
_START_MODE_STATES = STARTING
_MAINPID_STATES = frozenset({S.START, S.START_POST, S.RUNNING, S.STOP, S.RELOAD})


# service_exec_command_to_string(): COMMAND= of the process-exit record.
_COMMAND_NAMES: dict[str, str] = {
    "condition": "ExecCondition",
    "start-pre": "ExecStartPre",
    "start": "ExecStart",
    "start-post": "ExecStartPost",
    "reload": "ExecReload",
    "stop": "ExecStop",
    "stop-post": "ExecStopPost",
}
# The ServiceSection field of each role's commands (looked up per spawn and exit).
_COMMAND_FIELDS: dict[str, str] = {
    "condition": "exec_condition",
    "start-pre": "exec_start_pre",
    "start": "exec_start",
    "start-post": "exec_start_post",
    "reload": "exec_reload",
    "stop": "exec_stop",
    "stop-post": "exec_stop_post",
}


class IllegalEvent(PidoneError):
    """A request the current state has no transition for (state left unchanged)."""


@dataclass(slots=True)
class _Pending:
    role: act.ExecRole
    index: int
    main: bool


@dataclass(slots=True)
class _Trig:
    """The classified event being processed (guards read it)."""

    trigger: Trigger
    f: Result = Result.SUCCESS
    more: bool = False
    unmet: bool = False


_NO_TRIG = _Trig(Trigger.START)  # a machine's `_trig` before its first event


@dataclass(slots=True)
class ServiceMachine:
    """One service's runtime state; `handle()` is the only way to change it."""

    unit: Unit
    sub: SubState = S.DEAD
    result: Result = Result.SUCCESS
    reload_result: Result = Result.SUCCESS
    main_pid: int = 0
    main_pid_known: bool = False
    control_pid: int = 0
    control_role: act.ExecRole | None = None
    control_index: int = 0
    main_index: int = 0
    populated: bool = False
    invocation_id: str = ""
    n_restarts: int = 0
    forbid_restart: bool = False
    restart_stop: bool = False
    start_limit: StartLimit = field(default_factory=StartLimit)
    status_text: str = ""
    status_errno: int = 0
    notify_state: str = "unknown"
    awaiting_pid_file: bool = False
    reload_reads_pid_file: bool = False  # RELOAD_DONE asked for PIDFile=; running follows
    main_exit_pending: ev.ProcessExited | None = None  # held while PIDFile= is read again
    # Type=dbus: "" (not asked), "asking" (WatchBusName out), "watching" (the bus answers),
    # "absent" (no bus: run as simple); bus_owner is BusName='s owner, "" for none
    bus: str = ""
    bus_owner: str = ""
    # ExecCommand.exec_status of this run's commands, for status's `Process:` lines:
    # (role, index, pid, CLD_* code or 0 while running, status); reset at each start as
    # service_start() resets them. A tuple: most machines never need more than a few.
    exec_runs: tuple[tuple[str, int, int, int, int], ...] = ()
    watchdog_override_usec: int | None = None
    exec_main: ExecMain = field(default_factory=ExecMain)
    timestamps: Timestamps = field(default_factory=Timestamps)
    # The rows of TRANSITIONS this machine has fired, as a bit set (bit i: row i): what
    # the table's tests read through `trace`. A set, not a history: a list of every
    # transition grew by one entry per state change for the life of the daemon.
    _fired: int = 0
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _timer: str = ""
    _timer_deadline: int = 0
    _wd_timer: str = ""
    _wd_deadline: int = 0
    _seq: int = 0  # numbers timer tokens
    _spawn_seq: int = 0  # numbers Spawn tokens (a successor's is known ahead: _after_start_pre)
    _armed: str = ""  # token of the control process whose Spawn promises a successor
    _armed_then: act.Spawn | None = None  # that successor, once asked for (successor())
    _now: int = 0
    _out: list[act.Action] = field(default_factory=list)
    _trig: _Trig = field(default_factory=lambda: _NO_TRIG)  # never changed: one for all

    def __post_init__(self) -> None:
        if self.unit.service is None:
            raise PidoneError(f"{self.unit.id} is not a service")

    # --- public surface -----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The unit's id (`foo.service`)."""
        return self.unit.id

    @property
    def trace(self) -> list[int]:
        """The indices of the TRANSITIONS rows this machine has fired, ascending."""
        fired = self._fired
        return [i for i in range(fired.bit_length()) if fired >> i & 1]

    @property
    def cfg(self) -> ServiceSection:
        """The [Service] section."""
        assert self.unit.service is not None
        return self.unit.service

    @property
    def active(self) -> ActiveState:
        """ActiveState of the current SubState."""
        return self._active_of(self.sub)

    def _active_of(self, sub: SubState) -> ActiveState:
        """state_translation_table, or _idle for Type=idle: "we never want to delay any
        other jobs, hence we consider idle jobs active as soon as we start working on them"."""
        if self.cfg.type == "idle" and sub in STARTING:
            return A.ACTIVE
        return ACTIVE_STATE_OF[sub]

    @property
    def type(self) -> str:
        """Type= (idle runs as simple; dbus as simple only when there is no bus, spec 02 §1)."""
        return self.cfg.type

    @property
    def notify_access(self) -> str:
        """NotifyAccess= in effect (forced to main for notify/WatchdogSec=, spec 02 §1.1)."""
        c = self.cfg
        if c.notify_access == "none" and (
            c.type == "notify" or c.watchdog_usec > 0 or c.file_descriptor_store_max > 0
        ):
            return "main"
        return c.notify_access

    @property
    def watchdog_usec(self) -> int:
        """WatchdogUSec= in effect (WATCHDOG_USEC= overrides)."""
        if self.watchdog_override_usec is not None:
            return self.watchdog_override_usec
        return self.cfg.watchdog_usec

    def handle(self, event: ev.ServiceEvent, now_usec: int) -> list[act.Action]:
        """Feed one event at monotonic time `now_usec`; return the actions to carry out."""
        self._now = now_usec
        self._out = []
        try:
            armed = self._armed
            if armed and isinstance(event, ev.ProcessExited) and event.pid == self.control_pid:
                armed = self._armed = ""  # used up: the executor started it, or not
            self._dispatch(event)
            if armed and self._armed == armed:
                self._recheck_successor(event, armed)
            return self._out
        finally:
            self._out = []

    def successor(self, unit: str, token: str) -> act.Spawn | None:
        """The Spawn promised for the control process of `token` (Spawn.promises): asked by
        the executor right after it started that process, before any other event. Built
        then, from the machine's state after the event that spawned it, by the code that
        builds the real one (_after_start_pre); None when nothing is promised."""
        if unit != self.name or token != self._armed:
            return None
        if self._armed_then is None:
            self._armed_then = self._after_start_pre(self.control_index)
        return self._armed_then

    def _recheck_successor(self, event: object, token: str) -> None:
        """After an event other than the promising process's exit: withdraw the promise
        unless it still holds. That process's own Spawned changes nothing a successor's
        Spawn is made of (START_PRE has no SPAWNED row): no rebuilding to compare; nor
        does a promise nobody has asked for yet."""
        if self._armed_then is None:
            return
        if isinstance(event, ev.Spawned) and event.token == token and self.sub == S.START_PRE:
            return
        if not self._successor_holds():
            self._out.append(act.DropSuccessor(self.name))
            self._armed = ""

    def _successor_holds(self) -> bool:
        """Whether the promised successor is still what a status-0 exit of the control process
        leads to, after an event other than that exit (see _after_start_pre)."""
        return (
            self.sub == S.START_PRE
            and self.control_role == "start-pre"
            and self._after_start_pre(self.control_index) == self._armed_then
        )

    # --- classification (rule 1) -----------------------------------------------------------

    def _dispatch(self, event: ev.ServiceEvent) -> None:
        match event:
            case ev.StartRequested():
                self._fire(_Trig(Trigger.START), event)
            case ev.StopRequested():
                self._fire(_Trig(Trigger.STOP), event)
            case ev.ReloadRequested():
                self._fire(_Trig(Trigger.RELOAD), event)
            case ev.ResetFailedRequested():
                self._reset_failed()
            case ev.KillRequested():
                self._kill_request(event)
            case ev.Spawned():
                self._on_spawned(event)
            case ev.SpawnFailed():
                self._on_spawn_failed(event)
            case ev.ExecSucceeded():
                if event.pid == self.main_pid:
                    self._fire(_Trig(Trigger.EXEC_OK), event)
            case ev.ExecFailed():
                pass  # the ProcessExited with the 2xx status that follows decides
            case ev.ProcessExited():
                self._on_exit(event)
            case ev.NotifyReceived():
                self._on_notify(event)
            case ev.PidFileRead():
                self._on_pid_file(event)
            case ev.MainPidGuessed():
                if event.pid and not self.main_pid_known and self.sub in _MAIN_STATES:
                    self._set_main_pid(event.pid)
            case ev.BusNameOwnerChanged():
                self._on_bus_name(event)
            case ev.TimerFired():
                self._on_timer(event)
            case ev.UnitProcessesGone():
                self.populated = False
                self._fire(_Trig(Trigger.CGROUP_EMPTY), event)

    def _fire(self, trig: _Trig, event: object) -> None:
        """Rule 2: the first row of (state, trigger) whose guard holds runs its step."""
        row = self._lookup(trig)
        if row is None:
            if trig.trigger in REQUESTS:
                raise IllegalEvent(
                    f"{self.name}: no transition for {trig.trigger.value} in state {self.sub.value}"
                )
            return
        index, chosen = row
        self._fired |= 1 << index
        self._trig = trig
        if trig.trigger == Trigger.STOP and isinstance(event, ev.StopRequested):
            self.forbid_restart = True  # "Don't create restart jobs from manual stops."
            self.restart_stop = event.restart
        if chosen.log:
            self._log(f"{self.name}: {chosen.log}", act.LOG_WARNING)
        f = chosen.result if chosen.result is not None else trig.f
        self._run_step(chosen.step, f, event)

    def _lookup(self, trig: _Trig) -> tuple[int, Row] | None:
        self._trig = trig
        for index, row in rows_for(self.sub, trig.trigger):
            if self._guard(row.when):
                return index, row
        return None

    def _guard(self, g: Guard) -> bool:
        t, c = self._trig, self.cfg
        clean = t.f == Result.SUCCESS
        match g:
            case Guard.ALWAYS:
                return True
            case Guard.CLEAN:
                return clean
            case Guard.MORE:
                return clean and t.more
            case Guard.CONDITION_UNMET:
                return t.unmet
            case Guard.SIMPLE:
                return c.type in ("simple", "idle") or (c.type == "dbus" and self._bus_ready())
            case Guard.DBUS_READY:
                return c.type == "dbus" and self.main_pid_known and self._bus_ready()
            case Guard.DBUS_NAME_LOST:
                return c.type == "dbus" and self.bus == "watching" and not self.bus_owner
            case Guard.EXEC:
                return c.type == "exec"
            case Guard.NOTIFY:
                return c.type == "notify"
            case Guard.ONESHOT_CLEAN:
                return c.type == "oneshot" and clean
            case Guard.ONESHOT:
                return c.type == "oneshot"
            case Guard.NOTIFY_FAILED:
                return c.type == "notify" and not clean
            case Guard.NOTIFY_NEVER_READY:
                return c.type == "notify" and (
                    not c.remain_after_exit or self.notify_access == "main"
                )
            case Guard.EXIT_CGROUP_POPULATED:
                return c.exit_type == "cgroup" and self.populated and clean
            case Guard.NO_CONTROL:
                return not self._control_alive()
            case Guard.NO_MAIN:
                return not self._main_alive()
            case Guard.NOTHING_LEFT:
                return not self._main_alive() and not self._control_alive()
            case Guard.AWAITING_PID_FILE:
                return self.awaiting_pid_file
            case Guard.PID_FILE_GIVE_UP:
                return (
                    bool(c.pid_file)
                    and not self.populated
                    and not self._main_alive()
                    and not self._control_alive()
                )
            case Guard.NOTIFY_DEAD:
                return (
                    c.type == "notify"
                    and self.main_pid_known
                    and not self._main_alive()
                    and not self._control_alive()
                )
            case Guard.SIGKILL:
                return self.cfg.kill.send_sigkill
        mode = (
            c.timeout_start_failure_mode
            if self.sub in _START_MODE_STATES
            else c.timeout_stop_failure_mode
        )
        match g:
            case Guard.MODE_TERMINATE:
                return mode == "terminate"
            case Guard.MODE_ABORT:
                return mode == "abort"
            case Guard.MODE_KILL_SIGKILL:
                return mode == "kill" and c.kill.send_sigkill
        raise AssertionError(g)  # pragma: no cover

    def _main_alive(self) -> bool:
        return self.main_pid > 0 or any(p.main for p in self._pending.values())

    def _control_alive(self) -> bool:
        return self.control_pid > 0 or any(not p.main for p in self._pending.values())

    # --- observations -------------------------------------------------------------------------

    def _on_spawned(self, e: ev.Spawned) -> None:
        pending = self._pending.pop(e.token, None)
        if pending is None:
            return
        self.populated = True
        self._record_run(pending.role, pending.index, e.pid, 0, 0)
        if pending.main:
            self._set_main_pid(e.pid, watch=False)
        else:
            self.control_pid = e.pid
        self._fire(_Trig(Trigger.SPAWNED), e)

    def _on_spawn_failed(self, e: ev.SpawnFailed) -> None:
        pending = self._pending.pop(e.token, None)
        if pending is None:
            return
        self._log(f"{self.name}: Failed to run '{pending.role}' task: {e.error}", act.LOG_WARNING)
        self._fire(_Trig(Trigger.SPAWN_FAILED, Result.RESOURCES), e)

    def _on_exit(self, e: ev.ProcessExited, pid_file_read: bool = False) -> None:
        moved = self.cfg.pid_file and not pid_file_read and not e.unit_empty
        if moved and e.pid == self.main_pid and self.main_pid:
            # service_sigchld_event(): "Forking services may occasionally move to a new
            # PID. As long as they update the PID file before exiting the old PID, they're
            # fine." (service_load_pid_file(s, false) > 0: return). The exit waits for the
            # answer (the executor's rule 1: it comes next). An empty unit has no process
            # to move to, so nothing is read then (systemd would still take a foreign PID
            # from a root-owned file: not looked for).
            self.main_exit_pending = e
            self._out.append(act.ReadPidFile(self.name, self.cfg.pid_file, known=e.pid))
            return
        info = ExitInfo.of(e.status, e.signal, e.core_dumped)
        # EXIT_CLEAN_DAEMON (SIGTERM & co. are clean) only for what runs ExecStart= outside
        # oneshot; control commands are clean with exit 0 or SuccessExitStatus= (spec 03 §4).
        daemon = self.cfg.type != "oneshot" and (
            e.pid == self.main_pid or (e.pid == self.control_pid and self.control_role == "start")
        )
        f = result_of_exit(info, daemon, self.cfg.success_exit_status)
        if e.unit_empty and e.pid in (self.main_pid, self.control_pid):
            self.populated = False
        if e.pid == self.main_pid and self.main_pid:
            self.main_pid = 0
            self.exec_main.exit = info
            self.exec_main.exit_usec = self._now
            if self.cfg.type != "forking":  # forking: no main_command (service_enter_start())
                self._record_run("start", self.main_index, e.pid, info.code.value, info.status)
            if self.cfg.type == "forking":
                cmd = self.cfg.exec_start[0] if self.cfg.exec_start else None
            else:
                cmd = self._command("start", self.main_index)
            if cmd is not None and cmd.ignore_failure:
                f = Result.SUCCESS
            if f != Result.SUCCESS:
                self._log_exit("Main process", info, "start")
            if self.result == Result.SUCCESS:
                self.result = f
            more = self.cfg.type == "oneshot" and self.main_index + 1 < len(self.cfg.exec_start)
            self._fire(_Trig(Trigger.MAIN_EXIT, f, more=more), e)
        elif e.pid == self.control_pid and self.control_pid:
            self.control_pid = 0
            role = self.control_role or "start"
            self._record_run(role, self.control_index, e.pid, info.code.value, info.status)
            cmd = self._command(role, self.control_index)
            if cmd is not None and cmd.ignore_failure:
                f = Result.SUCCESS
            # ExecCondition= exit 1-254 skips instead of failing (service_sigchld_event()).
            unmet = (
                self.sub == S.CONDITION
                and f == Result.EXIT_CODE
                and info.code == ExitCode.EXITED
                and info.status < 255
            )
            if f != Result.SUCCESS and not unmet:
                self._log_exit("Control process", info, role)
            more = f == Result.SUCCESS and self.control_index + 1 < len(self._commands(role))
            self._fire(_Trig(Trigger.CONTROL_EXIT, f, more=more, unmet=unmet), e)

    def _record_run(self, role: str, index: int, pid: int, code: int, status: int) -> None:
        """exec_status_start()/exec_status_exit() of one command (keyed by role, index)."""
        kept = tuple(r for r in self.exec_runs if (r[0], r[1]) != (role, index))
        self.exec_runs = (*kept, (role, index, pid, code, status))

    def _log_exit(self, kind: str, info: ExitInfo, role: act.ExecRole) -> None:
        """unit_log_process_exit(): notice for exit codes, warning for signals."""
        prio = act.LOG_NOTICE if info.code == ExitCode.EXITED else act.LOG_WARNING
        fields = (
            ("EXIT_CODE", info.code_word),
            ("EXIT_STATUS", str(info.status)),
            ("COMMAND", _COMMAND_NAMES[role]),
        )
        msg = f"{self.name}: {kind} exited, {info.format_log()}"
        self._log(msg, prio, act.MID_UNIT_PROCESS_EXIT, fields)

    def _on_timer(self, e: ev.TimerFired) -> None:
        if e.token == self._timer and self._timer:
            self._timer = ""
            self._fire(_Trig(Trigger.TIMEOUT, Result.TIMEOUT), e)
        elif e.token == self._wd_timer and self._wd_timer:
            self._wd_timer = ""
            if self._lookup(_Trig(Trigger.WATCHDOG)) is not None:
                limit = format_timespan(self.watchdog_usec, 1)
                self._log(f"{self.name}: Watchdog timeout (limit {limit})!", act.LOG_ERR)
            self._fire(_Trig(Trigger.WATCHDOG, Result.WATCHDOG), e)

    def _bus_ready(self) -> bool:
        return self.bus == "absent" or (self.bus == "watching" and bool(self.bus_owner))

    def _on_bus_name(self, e: ev.BusNameOwnerChanged) -> None:
        """service_bus_name_owner_change(): in start the name's arrival means started; in
        running its loss means stopped. Without a bus, Type=dbus runs as simple (spec 02)."""
        if self.cfg.type != "dbus" or e.name != self.cfg.bus_name or not self.bus:
            return
        if not e.bus:
            if self.bus != "asking":
                return  # the bus went away later: units stay as they are
            self._log(
                f"{self.name}: Type=dbus has no bus to watch here, running it as Type=simple.",
                act.LOG_WARNING,
            )
            self.bus = "absent"
        else:
            self.bus, self.bus_owner = "watching", e.owner
        self._fire(_Trig(Trigger.BUS_NAME), e)

    def _on_pid_file(self, e: ev.PidFileRead) -> None:
        if self.main_exit_pending is not None:
            gone, self.main_exit_pending = self.main_exit_pending, None
            if e.pid and e.pid != gone.pid and self.main_pid == gone.pid:
                self._set_main_pid(e.pid)  # the daemon moved: the old PID's exit is no event
                return
            self._on_exit(gone, pid_file_read=True)
            return
        if self.reload_reads_pid_file and self.sub == S.RELOAD:
            self._reload_pid_file_read(e)
            return
        if e.pid:
            if self.sub in _MAIN_STATES:
                self._set_main_pid(e.pid)
            self._fire(_Trig(Trigger.PIDFILE_OK), e)
            self.awaiting_pid_file = False
            return
        if self.awaiting_pid_file:
            if e.error:  # not opened; a bad PID in it was reported by the reader already
                self._log(
                    f"{self.name}: Can't open PID file {self.cfg.pid_file} (yet?) after "
                    f"{self.sub.value}: {e.error}",
                    act.LOG_INFO,
                )
            self._fire(_Trig(Trigger.PIDFILE_MISSING), e)

    def _on_notify(self, e: ev.NotifyReceived) -> None:
        """service_notify_message(): NotifyAccess= first, then the fields in systemd's order."""
        if not self._notify_allowed(e.pid):
            return
        fields = e.as_dict()
        if "MAINPID" in fields and self.sub in _MAINPID_STATES:
            text = fields["MAINPID"]
            if not text.isdigit() or int(text) <= 0:
                self._log(
                    f"{self.name}: Failed to parse MAINPID= field in notification message, "
                    f"ignoring: {text}",
                    act.LOG_WARNING,
                )
            elif int(text) != self.main_pid or not self.main_pid_known:
                self._set_main_pid(int(text))
        for key, value in reversed(e.fields):  # "Last one wins" among READY/RELOADING/STOPPING
            if (key, value) in (("READY", "1"), ("RELOADING", "1"), ("STOPPING", "1")):
                self.notify_state = {"READY": "ready", "RELOADING": "reloading"}.get(
                    key, "stopping"
                )
                self._fire(_Trig(Trigger(f"{key}=1")), e)
                break
        if "STATUS" in fields:
            self.status_text = fields["STATUS"]
        if "ERRNO" in fields:
            errno_text = fields["ERRNO"]
            if errno_text.isdigit():
                self.status_errno = int(errno_text)
            else:
                self._log(
                    f"{self.name}: Failed to parse ERRNO= field value '{errno_text}' in "
                    "notification message: Invalid argument",
                    act.LOG_WARNING,
                )
        if "EXTEND_TIMEOUT_USEC" in fields:
            self._extend_timeout(fields["EXTEND_TIMEOUT_USEC"])
        if "WATCHDOG" in fields:
            if fields["WATCHDOG"] == "1":
                self._reset_watchdog()
            elif fields["WATCHDOG"] == "trigger":
                if self._lookup(_Trig(Trigger.WATCHDOG)) is not None:
                    last = self.status_text or "n/a"
                    self._log(f"{self.name}: Watchdog request (last status: {last})!", act.LOG_ERR)
                self._fire(_Trig(Trigger.WATCHDOG, Result.WATCHDOG), e)
            else:
                self._log(
                    f"{self.name}: Passed WATCHDOG= field is invalid, ignoring.", act.LOG_WARNING
                )
        if "WATCHDOG_USEC" in fields:
            if fields["WATCHDOG_USEC"].isdigit():
                self.watchdog_override_usec = int(fields["WATCHDOG_USEC"])
                self._reset_watchdog()
            else:
                self._log(
                    f"{self.name}: Failed to parse WATCHDOG_USEC={fields['WATCHDOG_USEC']}",
                    act.LOG_WARNING,
                )

    def _notify_allowed(self, pid: int) -> bool:
        """NotifyAccess= enforcement on the sender's PID (spec 03 §8), systemd's wording."""
        reason = notify_rejection(
            self.name, self.notify_access, pid, self.main_pid, self.control_pid
        )
        if reason:
            self._log(reason, act.LOG_WARNING)
        return not reason

    def _extend_timeout(self, text: str) -> None:
        """EXTEND_TIMEOUT_USEC=: push the armed deadlines out to now + n, never in."""
        if not text.isdigit():
            self._log(f"{self.name}: Failed to parse EXTEND_TIMEOUT_USEC={text}", act.LOG_WARNING)
            return
        deadline = self._now + int(text)
        if self._timer and deadline > self._timer_deadline:
            self._arm_at(deadline)
        if self._wd_timer and deadline > self._wd_deadline:
            self._wd_arm_at(deadline)

    # --- requests without rows ----------------------------------------------------------------

    def _reset_failed(self) -> None:
        """service_reset_failed() + unit_reset_failed(): counters always, failed -> dead."""
        if self.sub == S.FAILED:
            self._fire(_Trig(Trigger.RESET_FAILED), None)
        self.result = Result.SUCCESS
        self.reload_result = Result.SUCCESS
        self.n_restarts = 0
        self.start_limit = StartLimit()

    def _kill_request(self, e: ev.KillRequested) -> None:
        """unit_kill_common(): whom=main|control|all, independent of KillMode= (spec 03 §10);
        the control process first, then the main one, then the rest, each logged."""
        sig = e.signal
        if e.whom in ("control", "all") and self.control_pid:
            pid = self.control_pid
            self._out.append(act.Signal(self.name, "pid", sig, pid=pid, client="control"))
        if e.whom in ("main", "all") and self.main_pid:
            pid = self.main_pid
            self._out.append(act.Signal(self.name, "pid", sig, pid=pid, client="main"))
        if e.whom == "all" and self.populated:
            exclude = self._pids()
            self._out.append(act.Signal(self.name, "cgroup", sig, exclude=exclude, client="aux"))

    # --- steps (systemd's service_enter_*) ----------------------------------------------------

    def _run_step(self, step: Step, f: Result, event: object) -> None:
        match step:
            case Step.NOTHING:
                pass
            case Step.BEGIN:
                assert isinstance(event, ev.StartRequested)
                self._begin(event)
            case Step.START_PRE:
                self._enter_start_pre()
            case Step.START:
                self._enter_start()
            case Step.START_POST:
                self._enter_start_post()
            case Step.RUNNING:
                self._enter_running(f)
            case Step.STOP:
                self._enter_stop(f)
            case Step.STOP_POST:
                self._enter_stop_post(f)
            case Step.DEAD:
                self._enter_dead(f, allow_restart=True)
            case Step.STOP_WATCHDOG | Step.STOP_SIGTERM | Step.STOP_SIGKILL:
                self._enter_signal(S(step.name.lower().replace("_", "-")), f)
            case Step.FINAL_WATCHDOG | Step.FINAL_SIGTERM | Step.FINAL_SIGKILL:
                self._enter_signal(S(step.name.lower().replace("_", "-")), f)
            case Step.SET_DEAD:
                if isinstance(event, ev.StopRequested) and not event.restart:
                    self.result = Result.SUCCESS  # spec 03 §5.2: stop in auto-restart
                self._cancel_timer()
                self._set_state(S.DEAD)
            case Step.NEXT_CONTROL:
                assert self.control_role is not None
                self._spawn(self.control_role, self.control_index + 1)
            case Step.NEXT_MAIN:
                self._spawn("start", self.main_index + 1)
            case Step.RELOAD:
                self._enter_reload()
            case Step.RELOAD_DONE:
                self.reload_result = f
                if f == Result.SUCCESS and self.cfg.pid_file:
                    # service_sigchld_event(), SERVICE_RELOAD: "if (f == SERVICE_SUCCESS) if
                    # (service_load_pid_file(s, true) < 0) service_search_main_pid(s);" then
                    # running. The executor answers first (its rule 1); see
                    # _reload_pid_file_read().
                    self.reload_reads_pid_file = True
                    self._out.append(act.ReadPidFile(self.name, self.cfg.pid_file))
                    return
                self._reload_search_main_pid()
                self._enter_running(Result.SUCCESS)
            case Step.RELOAD_TIMEOUT:
                if self.control_pid:
                    self._signal_pid(self.control_pid, SIGKILL, False, False)
                    self.control_pid = 0
                self.reload_result = Result.TIMEOUT
                self._enter_running(Result.SUCCESS)
            case Step.RELOAD_BY_NOTIFY:
                self._arm(self.cfg.timeout_start_usec)
                self._set_state(S.RELOAD)
            case Step.STOP_BY_NOTIFY:
                self._arm(self.cfg.timeout_stop_usec)
                self._set_state(S.STOP_SIGTERM)
            case Step.FORKING_STARTED:
                self._forking_started()
            case Step.START_POST_DONE:
                self._start_post_done()
            case Step.RESTART:
                self.n_restarts += 1
                self._log(
                    f"{self.name}: Scheduled restart job, restart counter is at {self.n_restarts}.",
                    act.LOG_INFO,
                    act.MID_UNIT_RESTART_SCHEDULED,
                    (("N_RESTARTS", str(self.n_restarts)),),
                )
                self._out.append(act.RestartJobWanted(self.name))

    def _begin(self, e: ev.StartRequested) -> None:
        """service_start() after unit_start()'s checks: start limit, then a fresh run."""
        u = self.unit.unit
        allowed, self.start_limit = self.start_limit.test(
            self._now, u.start_limit_interval_usec, u.start_limit_burst
        )
        if not allowed:
            self._log(f"{self.name}: Start request repeated too quickly.", act.LOG_WARNING)
            self._enter_dead(Result.START_LIMIT_HIT, allow_restart=False)
            self._out.append(act.StartRefused(self.name))
            return
        self.invocation_id = e.invocation_id
        self.result = self.reload_result = Result.SUCCESS
        self.main_pid, self.main_pid_known, self.forbid_restart = 0, False, False
        self.status_text, self.status_errno, self.notify_state = "", 0, "unknown"
        self.watchdog_override_usec = None
        self.exec_main = ExecMain()
        self.exec_runs = ()  # exec_command_reset_status_list_array() in service_start()
        self.awaiting_pid_file = self.reload_reads_pid_file = False
        self.main_exit_pending = None
        if e.manual:
            self.n_restarts = 0  # NRestarts counts restarts since the last manual start
        if self.populated:
            self._out.append(act.WarnLeftoverProcesses(self.name, "start"))
        self.bus, self.bus_owner = "", ""
        if self.cfg.type == "dbus":
            # service_enter_start(): "For D-Bus services we know the main pid right away,
            # but wait for the bus name to appear on the bus."
            self.bus = "asking"
            self._out.append(act.WatchBusName(self.name, self.cfg.bus_name))
        self._out.append(act.CreateDirectories(self.name))
        if self.cfg.exec_condition:
            self._spawn("condition", 0)
            self._set_state(S.CONDITION)
        else:
            self._enter_start_pre()

    def _enter_start_pre(self) -> None:
        if self.cfg.exec_start_pre:
            self._spawn("start-pre", 0)
            self._set_state(S.START_PRE)
        else:
            self._enter_start()

    def _enter_start(self) -> None:
        self.control_pid = 0
        if not self.cfg.exec_start:  # oneshot without ExecStart=: a fake start transition
            self._set_state(S.START)
            self._enter_start_post()
            return
        self._spawn("start", 0)
        self._set_state(S.START)

    def _enter_start_post(self) -> None:
        self.control_pid = 0
        self._reset_watchdog()
        if self.cfg.exec_start_post:
            self._spawn("start-post", 0)
            self._set_state(S.START_POST)
        else:
            self._enter_running(Result.SUCCESS)

    def _forking_started(self) -> None:
        """The forking parent exited 0: find the main PID (spec 02 §1, PIDFile=/guess)."""
        c = self.cfg
        if c.pid_file:
            if c.exec_start_post:  # the PID file may be written by ExecStartPost=
                self._out.append(act.ReadPidFile(self.name, c.pid_file))
            else:
                self.awaiting_pid_file = True
                self._out.append(act.ReadPidFile(self.name, c.pid_file, watch=True))
                return
        elif c.guess_main_pid and not self.main_pid_known:
            self._out.append(act.GuessMainPid(self.name, self._pids()))
        self._enter_start_post()

    def _start_post_done(self) -> None:
        c = self.cfg
        if c.pid_file and not self.main_pid_known:
            self.awaiting_pid_file = True
            self._out.append(act.ReadPidFile(self.name, c.pid_file, watch=True))
            return
        if c.type == "forking" and c.guess_main_pid and not self.main_pid_known:
            self._out.append(act.GuessMainPid(self.name, self._pids()))
        self._enter_running(Result.SUCCESS)

    def _service_good(self) -> bool:
        """service_good(): main alive; else (unknown main or ExitType=cgroup) the cgroup.
        Type=dbus is not good without its name: "if (s->type == SERVICE_DBUS &&
        !s->bus_name_good) return false" (systemd 252 service.c)."""
        if self.cfg.type == "dbus" and self.bus == "watching" and not self.bus_owner:
            return False
        if self._main_alive():
            return True
        if self.main_pid_known and self.cfg.exit_type == "main":
            return False
        return self.populated

    def _enter_running(self, f: Result) -> None:
        if self.result == Result.SUCCESS:
            self.result = f
        self.control_pid = 0
        if self.result != Result.SUCCESS:
            self._enter_signal(S.STOP_SIGTERM, f)
        elif self._service_good():
            if self.notify_state == "reloading":
                self._run_step(Step.RELOAD_BY_NOTIFY, f, None)
            elif self.notify_state == "stopping":
                self._run_step(Step.STOP_BY_NOTIFY, f, None)
            else:
                self._set_state(S.RUNNING)
                runtime_max = self.cfg.runtime_max_usec
                if runtime_max >= USEC_INFINITY:
                    self._cancel_timer()
                else:
                    self._arm_at(self.timestamps.active_enter + runtime_max)
        elif self.cfg.remain_after_exit:
            self._set_state(S.EXITED)
        else:
            self._enter_stop(Result.SUCCESS)

    def _reload_pid_file_read(self, e: ev.PidFileRead) -> None:
        """The end of a successful reload with PIDFile=: a daemon that the reload replaced
        (a new PID in the file) becomes the main process, then running (systemd 252)."""
        self.reload_reads_pid_file = False
        if e.pid:
            self._set_main_pid(e.pid)
        else:
            if e.error:  # not opened; a bad PID in it was reported by the reader already
                self._log(
                    f"{self.name}: Can't open PID file {self.cfg.pid_file} (yet?) after "
                    f"{self.sub.value}: {e.error}",
                    act.LOG_INFO,
                )
            self._reload_search_main_pid()
        self._enter_running(Result.SUCCESS)

    def _reload_search_main_pid(self) -> None:
        """service_search_main_pid(): only while the main PID is unknown, with GuessMainPID=."""
        if self.cfg.guess_main_pid and not self.main_pid_known:
            self._out.append(act.GuessMainPid(self.name, self._pids()))

    def _enter_reload(self) -> None:
        self.reload_result = Result.SUCCESS
        if self.cfg.exec_reload:
            self._spawn("reload", 0)
            self._set_state(S.RELOAD)
        else:
            self._enter_running(Result.SUCCESS)

    def _enter_stop(self, f: Result) -> None:
        if self.result == Result.SUCCESS:
            self.result = f
        self.control_pid = 0
        if self.cfg.exec_stop:
            self._spawn("stop", 0)
            self._set_state(S.STOP)
        else:
            self._enter_signal(S.STOP_SIGTERM, Result.SUCCESS)

    def _enter_stop_post(self, f: Result) -> None:
        if self.result == Result.SUCCESS:
            self.result = f
        self.control_pid = 0
        if self.cfg.exec_stop_post:
            self._spawn("stop-post", 0)
            self._set_state(S.STOP_POST)
        else:
            self._enter_signal(S.FINAL_SIGTERM, Result.SUCCESS)

    def _enter_signal(self, state: SubState, f: Result) -> None:
        """service_enter_signal(): kill per KillMode=, wait if anyone was hit (rule 3)."""
        if self.result == Result.SUCCESS:
            self.result = f
        if self._kill_context(state):
            watchdog = state in (S.STOP_WATCHDOG, S.FINAL_WATCHDOG)
            abort = self.cfg.timeout_abort_usec
            if watchdog and abort is not None:
                self._arm(abort)
            else:
                self._arm(self.cfg.timeout_stop_usec)
            self._set_state(state)
        elif state in (S.STOP_WATCHDOG, S.STOP_SIGTERM) and self.cfg.kill.send_sigkill:
            self._enter_signal(S.STOP_SIGKILL, Result.SUCCESS)
        elif state in (S.STOP_WATCHDOG, S.STOP_SIGTERM, S.STOP_SIGKILL):
            self._enter_stop_post(Result.SUCCESS)
        elif state in (S.FINAL_WATCHDOG, S.FINAL_SIGTERM) and self.cfg.kill.send_sigkill:
            self._enter_signal(S.FINAL_SIGKILL, Result.SUCCESS)
        else:
            self._enter_dead(Result.SUCCESS, allow_restart=True)

    def _kill_context(self, state: SubState) -> bool:
        """unit_kill_context() via servicerules.kill_plan(); True = wait for exits."""
        signals, wait = kill_plan(
            self.name,
            self.cfg.kill,
            state,
            main_pid=self.main_pid,
            control_pid=self.control_pid,
            populated=self.populated,
            restart=self.restart_stop,
        )
        self._out.extend(signals)
        return wait

    def _enter_dead(self, f: Result, allow_restart: bool) -> None:
        if self.result == Result.SUCCESS:
            self.result = f
        r = self.result
        if r == Result.SUCCESS:
            self._log(f"{self.name}: Deactivated successfully.", act.LOG_INFO, act.MID_UNIT_SUCCESS)
        elif r == Result.EXEC_CONDITION:
            self._log(
                f"{self.name}: Skipped due to '{r.value}'.",
                act.LOG_INFO,
                act.MID_UNIT_SKIPPED,
                (("UNIT_RESULT", r.value),),
            )
        else:
            self._log(
                f"{self.name}: Failed with result '{r.value}'.",
                act.LOG_WARNING,
                act.MID_UNIT_FAILURE_RESULT,
                (("UNIT_RESULT", r.value),),
            )
        c = self.cfg
        if self.populated and c.kill.kill_mode in ("process", "none"):
            # service_enter_dead() (252's service.c) lists what is left right after the
            # result line and before the state change, so before the job's "Stopped"
            # line, and on the way to auto-restart too
            self._out.append(act.WarnLeftoverProcesses(self.name, "stop"))
        restart = allow_restart and shall_restart(
            c.restart,
            r,
            stop_requested=self.forbid_restart,
            last_main_exit=self.exec_main.exit,
            prevent=c.restart_prevent_exit_status,
            force=c.restart_force_exit_status,
        )
        if restart:
            self._arm(c.restart_usec)
            self._set_state(S.AUTO_RESTART)
        else:
            self._cancel_timer()
            self._set_state(S.DEAD if r in (Result.SUCCESS, Result.EXEC_CONDITION) else S.FAILED)
        self.forbid_restart = False
        self.restart_stop = False
        self._out.append(act.RemoveDirectories(self.name))
        if c.pid_file:
            self._out.append(act.RemovePidFile(self.name, c.pid_file))

    # --- helpers -------------------------------------------------------------------------------

    def _commands(self, role: act.ExecRole) -> list[ExecCommand]:
        commands: list[ExecCommand] = getattr(self.cfg, _COMMAND_FIELDS[role])
        return commands

    def _command(self, role: act.ExecRole, index: int) -> ExecCommand | None:
        cmds = self._commands(role)
        return cmds[index] if index < len(cmds) else None

    def _pids(self) -> tuple[int, ...]:
        return tuple(p for p in (self.main_pid, self.control_pid) if p)

    def _spawn(self, role: act.ExecRole, index: int) -> None:
        """service_spawn(): one command; the start timeout is re-armed for every command."""
        c = self.cfg
        self._spawn_seq += 1
        spawn = self._spawn_action(role, index, self._spawn_seq)
        main = spawn.main
        self._pending[spawn.token] = _Pending(role, index, main)
        if main:
            self.main_index = index
        else:
            self.control_role, self.control_index = role, index
            if role == "start-pre" and (index + 1 < len(c.exec_start_pre) or c.exec_start):
                # a successor is promised; what it is, _after_start_pre() says when the
                # executor asks (successor()), once this command runs
                spawn = act.Spawn(
                    spawn.unit,
                    spawn.token,
                    role,
                    index,
                    spawn.command,
                    spawn.env,
                    main,
                    spawn.notify_socket,
                    spawn.report_exec,
                    promises=True,
                )
                self._armed, self._armed_then = spawn.token, None
        self._out.append(spawn)
        if role in ("stop", "stop-post"):
            self._arm(c.timeout_stop_usec)
        elif role == "start" and c.type in ("simple", "idle"):
            self._cancel_timer()
        else:
            self._arm(c.timeout_start_usec)

    def _spawn_action(self, role: act.ExecRole, index: int, seq: int) -> act.Spawn:
        """The Spawn of command `index` of `role` as number `seq` of this machine, built from
        the machine's state now."""
        c = self.cfg
        main = role == "start" and c.type != "forking"
        env = spawn_env(
            role,
            main,
            invocation_id=self.invocation_id,
            main_pid=self.main_pid,
            result=self.result.value,
            exec_main=self.exec_main,
            watchdog_usec=self.watchdog_usec,
            pid_file=c.pid_file,
        )
        return act.Spawn(
            self.name,
            f"{self.name}/{role}/{seq}",
            role,
            index,
            self._commands(role)[index],
            env,
            main,
            # service_exec_needs_notify_socket(): control processes only with exec/all
            notify_socket=self.notify_access
            in (("exec", "all") if not main else ("main", "exec", "all")),
            report_exec=main and c.type == "exec",
        )

    def _after_start_pre(self, index: int) -> act.Spawn | None:
        """The Spawn that a status-0 exit of ExecStartPre= number `index` leads to, when no
        other event reaches this machine first: the START_PRE rows of CONTROL_EXIT run the
        next ExecStartPre= (NEXT_CONTROL) or _enter_start(), whose first act is ExecStart=.
        Nothing those exits change (control_pid, exec_runs) goes into a Spawn, and any other
        event drops it (handle()). The executor starts it without waiting for the exit to
        go through the manager (actions.Spawn.promises); the differential check is the fake
        executor's (pidone.testing.fakes), which every core test drives."""
        c = self.cfg
        if index + 1 < len(c.exec_start_pre):
            return self._spawn_action("start-pre", index + 1, self._spawn_seq + 1)
        if c.exec_start:
            return self._spawn_action("start", 0, self._spawn_seq + 1)
        return None

    def _set_main_pid(self, pid: int, watch: bool = True) -> None:
        """service_set_main_pid(): a new main PID restarts ExecMain* bookkeeping."""
        if pid != self.main_pid or not self.main_pid_known:
            self.exec_main = ExecMain(pid=pid, start_usec=self._now)
            if watch:
                self._out.append(act.WatchPid(self.name, pid))
        self.main_pid, self.main_pid_known = pid, True

    def _signal_pid(self, pid: int, sig: int, sigcont: bool, log_kill: bool) -> None:
        self._out.append(
            act.Signal(self.name, "pid", sig, pid=pid, sigcont=sigcont, log_kill=log_kill)
        )

    def _log(
        self,
        message: str,
        priority: int,
        message_id: str = "",
        fields: tuple[tuple[str, str], ...] = (),
    ) -> None:
        if self.invocation_id:
            fields = (*fields, ("INVOCATION_ID", self.invocation_id))
        self._out.append(act.Log(self.name, message, priority, message_id, fields))

    def _set_state(self, new: SubState) -> None:
        """service_set_state(): drop what the new state does not keep, stamp, report."""
        old = self.sub
        if new not in _TIMER_STATES:
            self._cancel_timer()
        if new not in _MAIN_STATES:
            self.main_pid = 0
        if new not in _CONTROL_STATES:
            self.control_pid = 0
        if new not in WATCHDOG_STATES and self._wd_timer:
            self._out.append(act.CancelTimer(self._wd_timer))
            self._wd_timer = ""
        self.sub = new
        oa, na = self._active_of(old), self._active_of(new)
        ts, now = self.timestamps, self._now
        up = (A.ACTIVE, A.RELOADING)
        down = (A.INACTIVE, A.FAILED)
        if oa in down and na not in down:
            ts.inactive_exit = now
        if na in up and oa not in up:
            ts.active_enter = now
        if oa in up and na not in up:
            ts.active_exit = now
        if na in down and oa not in down:
            ts.inactive_enter = now
        if old != new:
            ts.state_change = now
        self._out.append(
            act.StateChanged(self.name, oa.value, old.value, na.value, new.value, self.result.value)
        )

    def _arm(self, timeout_usec: int) -> None:
        if timeout_usec >= USEC_INFINITY:
            self._cancel_timer()
        else:
            self._arm_at(self._now + timeout_usec)

    def _arm_at(self, deadline: int) -> None:
        self._cancel_timer()
        self._seq += 1
        self._timer, self._timer_deadline = f"{self.name}/timer/{self._seq}", deadline
        self._out.append(act.ArmTimer(self._timer, deadline))

    def _cancel_timer(self) -> None:
        if self._timer:
            self._out.append(act.CancelTimer(self._timer))
            self._timer = ""

    def _reset_watchdog(self) -> None:
        """service_reset_watchdog(): (re)arm WatchdogSec= from now, if any."""
        usec = self.watchdog_usec
        if usec and usec < USEC_INFINITY and self.sub in WATCHDOG_STATES | {S.START}:
            self._wd_arm_at(self._now + usec)

    def _wd_arm_at(self, deadline: int) -> None:
        if self._wd_timer:
            self._out.append(act.CancelTimer(self._wd_timer))
        self._seq += 1
        self._wd_timer, self._wd_deadline = f"{self.name}/watchdog/{self._seq}", deadline
        self._out.append(act.ArmTimer(self._wd_timer, deadline))


__all__ = ["TRANSITIONS", "IllegalEvent", "ServiceMachine"]
