"""LinuxExecutor: carries out the core's actions through linux.* and feeds the answers back.

The contract is the one stated in core/actions.py; how this module keeps it:

1. `submit(event)` queues an event; `_drain()` hands events to the brain (the manager) one
   at a time. The answers of one action list (Spawned, PidFileRead, ...) are collected
   while the list is carried out and put at the *front* of the queue, so they reach the
   brain before anything else. `submit()` called from inside a callback only queues: the
   brain is never re-entered.
2. Time is CLOCK_MONOTONIC in microseconds, read once per event (`time.monotonic_ns()`);
   ArmTimer deadlines become loop timers on the same clock.
3. Kernel happenings become events here and nowhere else: a reaped child -> ProcessExited
   (with `unit_empty` when the tracker finds the unit empty), cgroup.events or a /proc
   rescan -> UnitProcessesGone (re-checked just before it is fed), a notify datagram ->
   NotifyReceived, a Type=exec status pipe -> ExecSucceeded/ExecFailed.
4. Service stdout/stderr with StandardOutput=journal (the default) go through one pipe per
   spawned process into the LogCollector, which stores them with the process's fields.
5. Replies to clients (JobQueued, JobFinished, RequestFailed, RequestDone) go to
   `on_reply`, which daemon/verbs.py sets to answer the waiting control-socket calls.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import resource
import signal
import socket
import time
from collections import deque
from collections.abc import Callable

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass, replace
from pidone.core.environ import parse_environment_file
from pidone.core.environment import (
    DEFAULT_PATH,
    DirectoryBases,
    EnvironmentInputs,
    ManagerVariables,
    build_environment,
    directory_variables,
    resolve_pid_file_path,
)
from pidone.core.hints import TYPE_CHECKING, Any, Protocol
from pidone.core.localeenv import manager_locale
from pidone.core.model import ExecContext, Unit
from pidone.core.notify import NotifyMessage
from pidone.core.signames import signal_name
from pidone.core.unittable import UnitDropped
from pidone.daemon.cgroupprograms import CgroupPrograms
from pidone.daemon.children import ChildWatcher
from pidone.daemon.ipcrefs import IpcReferences
from pidone.daemon.logpipes import LogCollector, StreamSource
from pidone.daemon.loop import EventLoop, ProcessWatch, TimerHandle
from pidone.daemon.pidwatch import PidFileWatch
from pidone.daemon.triggerio import TriggerIO, realtime_usec
from pidone.linux import directories, sandbox, spawn, userdb
from pidone.linux.envglob import environment_file_paths
from pidone.linux.execprep import Identity, missing_executable, resolve_identity
from pidone.linux.notify import NotifySocket
from pidone.linux.pidfile import (
    PidFileError,
    read_pid_file,
    refused_outsider,
    remove_pid_file,
    unsuitable_main_pid,
)
from pidone.linux.procfs import read_comm, read_file, read_initial_environ
from pidone.linux.reaper import ChildExit, open_pidfd
from pidone.linux.rlimits import service_nofile_default
from pidone.linux.tracking import ProcessGroupTracker

if TYPE_CHECKING:
    from pidone.linux.dbuswatch import BusWatch

_JOURNAL_OUTPUTS = ("journal", "journal+console", "kmsg", "kmsg+console")
RECENT_EXITS = 512  # reaped PIDs remembered for log attribution (unit_of_sender)
RECENT_EXIT_USEC = 10_000_000

Reply = act.JobQueued | act.JobFinished | act.RequestFailed | act.RequestDone
_STAND_IN = "/bin/true"  # run in place of a missing `-` executable (see _skip_if_missing)


_REPLY_TYPES = (act.JobQueued, act.JobFinished, act.RequestFailed, act.RequestDone)


def _after_reply(a: object) -> bool:
    """Carrying `a` changes nothing a client can see outside the daemon's loop: a journal
    record (handed to the writer thread at the end of the loop turn), a state change
    (the daemon's own tables; but leaving auto-restart for inactive/failed removes what
    RuntimeDirectoryPreserve=restart kept), a PID watch, a timer."""
    if isinstance(a, act.StateChanged):
        return a.old_sub != "auto-restart" or a.new_active not in ("inactive", "failed")
    return isinstance(
        a, (act.Log, act.LogResources, act.WatchPid, act.ArmTimer, act.CancelTimer, *_REPLY_TYPES)
    )


def _bookkeeping_tail(actions: list[act.Action], replies_pending: bool) -> int:
    """Where the trailing run of `_after_reply` actions starts, if it holds a reply (or
    one is pending already); else len(actions)."""
    cut = len(actions)
    while cut and _after_reply(actions[cut - 1]):
        cut -= 1
    if cut == len(actions) or not (
        replies_pending or any(isinstance(a, _REPLY_TYPES) for a in actions[cut:])
    ):
        return len(actions)
    return cut


class EnvironmentFileError(OSError):
    """A non-optional EnvironmentFile= could not be read (the spawn fails: resources)."""


class Brain(Protocol):
    """The pure side: core.manager.Manager (or a ServiceMachine in tests)."""

    def handle(
        self,
        event: Any,  # noqa: ANN401
        now_usec: int,
        realtime_usec: int | None = None,
    ) -> list[act.Action]: ...

    def successor(self, unit: str, token: str) -> act.Spawn | None: ...


class TrackerWithEvents(ProcessGroupTracker, Protocol):
    def drain_events(self) -> list[tuple[str, bool]]: ...


def now_usec() -> int:
    """CLOCK_MONOTONIC in microseconds (the core's clock)."""
    return time.monotonic_ns() // 1000


def _ppid(pid: int) -> int:
    data = read_file(f"/proc/{pid}/stat")  # one open/read/close, no buffered file object
    if data is None:
        return 0
    fields = data[data.rfind(b")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else 0


LOCALE_CONFIG_FILES = ("/etc/locale.conf", "/etc/default/locale")


def _read_config(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(65536)
    except OSError:
        return None


def _journal_stream() -> tuple[int, int]:
    """(the daemon's end, the service's end) of a stdout/stderr stream to the journal: a
    connected AF_UNIX stream socket, as systemd's services get one to journald
    (exec_spawn()'s connect_logger_as(): the service's end is shut for reading, and
    $JOURNAL_STREAM names its device and inode, systemd.exec(5)). Both close-on-exec."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(OSError):
        theirs.shutdown(socket.SHUT_RD)
        ours.shutdown(socket.SHUT_WR)
    return ours.detach(), theirs.detach()


def _our_children() -> set[int] | None:
    """Our children, from one read of /proc/self/task/TID/children (proc(5), kernels with
    CONFIG_PROC_CHILDREN) of the main thread: the one the kernel re-parents orphans to
    (find_new_reaper() takes a subreaper's first live thread) and the spawn helper's
    CLONE_PARENT children belong to. None where the file is missing."""
    pid = os.getpid()
    data = read_file(f"/proc/{pid}/task/{pid}/children", 65536)
    return None if data is None else {int(word) for word in data.split()}


def notify_fields(msg: NotifyMessage) -> tuple[tuple[str, str], ...]:
    """NotifyMessage -> the KEY=VALUE pairs the service machine reads (validated values)."""
    out: list[tuple[str, str]] = []
    for flag, key in (
        (msg.ready, "READY"),
        (msg.reloading, "RELOADING"),
        (msg.stopping, "STOPPING"),
    ):
        if flag:
            out.append((key, "1"))
    if msg.status is not None:
        out.append(("STATUS", msg.status))
    if msg.errno is not None:
        out.append(("ERRNO", str(msg.errno)))
    if msg.main_pid is not None:
        out.append(("MAINPID", str(msg.main_pid)))
    if msg.extend_timeout_usec is not None:
        out.append(("EXTEND_TIMEOUT_USEC", str(msg.extend_timeout_usec)))
    if msg.watchdog:
        out.append(("WATCHDOG", "1"))
    if msg.watchdog_trigger:
        out.append(("WATCHDOG", "trigger"))
    if msg.watchdog_usec is not None:
        out.append(("WATCHDOG_USEC", str(msg.watchdog_usec)))
    return tuple(out)


@dataclass(slots=True)
class ProcInfo:
    """What the executor remembers of a process it spawned."""

    unit: str
    role: str
    argv: tuple[str, ...]
    stream_fd: int = -1  # read end of its stdout/stderr pipe in the LogCollector


class LinuxExecutor:
    """Owns the kernel side of supervision for one daemon (see the module docstring)."""

    def __init__(
        self,
        loop: EventLoop,
        tracker: TrackerWithEvents,
        logs: LogCollector,
        unit_of: Callable[[str], Unit | None],
        *,
        notify_path: str = "",
        directory_bases: DirectoryBases | None = None,
        environ: dict[str, str] | None = None,
        state_dir: str = "",
    ) -> None:
        self.loop = loop
        self.tracker = tracker
        self.logs = logs
        self.unit_of = unit_of
        self.brain: Brain | None = None
        self.on_reply: Callable[[Reply], None] = lambda reply: None
        self._replies: list[Reply] = []  # held until the event queue is drained
        self._recent_exits: dict[int, tuple[str, int]] = {}  # pid -> (unit, reaped at µs)
        # The promised successors of running control processes (pid -> Spawn), and those started
        # ahead of the manager (token -> (Spawn, its answers)): see _start_ahead.
        self._successors: dict[int, act.Spawn] = {}
        self._ahead: dict[str, tuple[act.Spawn, list[object]]] = {}
        self.on_state: Callable[[act.StateChanged], None] = lambda change: None
        # CPU ns a unit used from its last start to its stop (daemon.statusdetail sets it)
        self.cpu_used: Callable[[str], int | None] = lambda unit: None
        # A unit the manager garbage-collected (UnitDropped): the registry forgets it too.
        self.on_drop: Callable[[str], None] = lambda unit: None
        self.notify_path = notify_path
        self.bases = directory_bases or DirectoryBases()
        self.environ = dict(os.environ if environ is None else environ)
        # PATH and the locale, as systemd's system manager gives every service
        # (core.localeenv: /etc/locale.conf, Debian's /etc/default/locale, else the
        # environment this process was started with, else C.UTF-8)
        started_with = self.environ if environ is not None else read_initial_environ()
        locale = manager_locale([_read_config(p) for p in LOCALE_CONFIG_FILES], started_with)
        self._manager_defaults = (("PATH", DEFAULT_PATH), *locale)
        # DefaultLimitNOFILE= of systemd 252 for every spawn without LimitNOFILE=
        self._default_limits = ((resource.RLIMIT_NOFILE, *service_nofile_default()),)
        self.processes: dict[int, ProcInfo] = {}
        self._active: dict[str, str] = {}  # ActiveState of each unit, from StateChanged
        self._sub: dict[str, str] = {}  # SubState of each unit, from StateChanged
        self._invocations: dict[str, str] = {}  # INVOCATION_ID of each unit's last spawn
        self.ipc = IpcReferences()  # RemoveIPC=: the users and groups units run as
        self._spawns: dict[str, int] = {}  # spawns into each unit's group so far (_maybe_gone)
        # DevicePolicy=/DeviceAllow=: the program attached to each unit's cgroup, with what
        # it was made for ((cgroup inode, allow list), program fd): linux.bpfdevices
        self._programs = CgroupPrograms(
            lambda unit, text: self.logs.manager_record(unit, text, act.LOG_WARNING)
        )
        self._queue: deque[object] = deque()
        self._busy = False
        self._timers: dict[str, TimerHandle] = {}
        self._foreign: dict[int, tuple[str, ProcessWatch | None]] = {}
        self._status_fds: dict[int, tuple[str, int, bool, spawn.Spawned]] = {}
        self._notify: NotifySocket | None = None
        self._bus: BusWatch | None = None  # Type=dbus names (linux/dbuswatch.py)
        # an ActivationRequest from dbus-daemon (set by daemon/busactivation.py)
        self.on_activation: Callable[[str], None] = lambda unit: None
        self.children = ChildWatcher(loop, self._on_child_exit)
        self._pid_watch = PidFileWatch(loop, self._retry_pid_file)
        self.triggers = TriggerIO(
            loop, unit_of, self.submit, self._log, self._timers, self._fire, state_dir
        )
        fd = tracker.fileno()
        if fd is not None:
            loop.add_reader(fd, self._on_tracker_readable)
        if notify_path:
            self._notify = NotifySocket(notify_path)
            loop.add_reader(self._notify.fileno(), self._on_notify)

    # --- feeding the brain ---------------------------------------------------------------

    def submit(self, event: object) -> None:
        """Queue `event` for the brain and run the queue unless already running."""
        self._queue.append(event)
        if not self._busy:
            self._drain()

    def _drain(self) -> None:
        assert self.brain is not None, "LinuxExecutor.brain is not set"
        self._busy = True
        try:
            while self._queue:
                event = self._queue.popleft()
                actions = self.brain.handle(event, now_usec(), realtime_usec())
                answers: list[object] = []
                n = len(actions)
                cut = n if self._queue else _bookkeeping_tail(actions, bool(self._replies))
                for action in actions[:cut] if cut < n else actions:
                    self._carry(action, answers)
                if cut < n:
                    tail = actions[cut:]
                    if not answers and not self._queue:
                        # Critical path (exit -> reply): the job's result is known and
                        # what is left only feeds the daemon's own tables, timers and
                        # journal records, which nothing outside the loop sees before
                        # this turn ends (records reach the writer thread after it), so
                        # the client is answered first.
                        self._replies += [a for a in tail if isinstance(a, _REPLY_TYPES)]
                        tail = [a for a in tail if not isinstance(a, _REPLY_TYPES)]
                        self._flush_replies()
                    for action in tail:
                        self._carry(action, answers)
                self._queue.extendleft(reversed(answers))
        finally:
            self._busy = False
        self._flush_replies()

    def _flush_replies(self) -> None:
        # Answer clients only once every consequence has been carried out, so that a
        # `pidone stop` returns after RuntimeDirectory=/PrivateTmp= are removed and the
        # PID file is gone (systemd 252's service_enter_dead() does this work in the same
        # event-loop turn, before the JobRemoved signal leaves the bus queue).
        replies, self._replies = self._replies, []
        for reply in replies:
            self.on_reply(reply)

    # --- actions ---------------------------------------------------------------------------

    def _carry(self, a: act.Action, answers: list[object]) -> None:
        match a:
            case act.Spawn():
                answers.extend(self._spawn(a) if not self._ahead else self._spawn_or_adopt(a))
            case act.DropSuccessor():
                for pid in [p for p, then in self._successors.items() if then.unit == a.unit]:
                    del self._successors[pid]
            case act.Signal():
                self._signal(a)
            case act.ArmTimer():
                self._arm(a)
            case act.CancelTimer():
                handle = self._timers.pop(a.token, None)
                if handle is not None:
                    handle.cancel()
            case act.WatchPid():
                self._watch_pid(a.unit, a.pid)
            case act.ReadPidFile():
                # a main process's exit reads it with may_warn=false (service_sigchld_event())
                answer = self._read_pid_file(a, quiet=bool(a.known))
                if a.watch and answer.pid is None:  # service_demand_pid_file(): inotify
                    target = resolve_pid_file_path(a.path, self.bases.runtime)
                    self._pid_watch.watch(a.unit, a.path, target)
                answers.append(answer)
            case act.GuessMainPid():
                answers.append(ev.MainPidGuessed(a.unit, self._guess_main_pid(a)))
            case act.WatchBusName():
                self._watch_bus_name(a.unit, a.name)
            case act.CheckConditions():
                answers.append(self._check_conditions(a.unit))
            case act.CreateDirectories():
                self._create_directories(a.unit)
            case act.RemoveDirectories():
                self._remove_directories(a.unit)
            case act.RemovePidFile():
                with contextlib.suppress(OSError):
                    remove_pid_file(resolve_pid_file_path(a.path, self.bases.runtime))
            case act.WarnLeftoverProcesses():
                # unit_log_leftover_process_start() warns, ..._stop() only informs (unit.c)
                level = act.LOG_INFO if a.when == "stop" else act.LOG_WARNING
                for pid in self.tracker.pids(a.unit):
                    for line in act.format_leftover_message(a.unit, pid, read_comm(pid), a.when):
                        self.logs.manager_record(a.unit, line, level)
            case act.Log():
                extra = dict(a.fields)
                if a.message_id:
                    extra["MESSAGE_ID"] = a.message_id
                self.logs.manager_record(a.unit, a.message, a.priority, extra or None)
            case act.StateChanged():
                self._state_changed(a)
            case act.LogResources():
                self._log_resources(a.unit)
            case act.JobQueued() | act.JobFinished() | act.RequestFailed() | act.RequestDone():
                self._replies.append(a)
            case UnitDropped():
                self._forget(a.unit)
            case _:
                # sockets' and timers' I/O (daemon.triggerio); RestartJobWanted and
                # StartRefused are consumed by the manager
                self.triggers.carry(a, answers)

    def _log(self, unit: str, text: str, priority: int) -> None:
        self.logs.manager_record(unit, text, priority)

    def _log_resources(self, unit: str) -> None:
        """systemd 252's unit_log_resources(): "UNIT: Consumed 1.234s CPU time." with
        CPU_USAGE_NSEC=, at info level above 1 s of CPU since the unit's start and at notice
        above 10 min; below 1 s at debug level, which 252's default LogLevel=info never
        writes. No line without a CPU figure (no cgroup). IO and IP accounting are off by
        default in 252 (DefaultIOAccounting=, IPAccounting=), so the line has no more parts."""
        nsec = self.cpu_used(unit)
        if nsec is None or nsec <= 1_000_000_000:
            return
        from pidone.core.timefmt import format_timespan  # (only for such a unit)

        priority = act.LOG_NOTICE if nsec > 600_000_000_000 else act.LOG_INFO
        text = f"{unit}: Consumed {format_timespan(nsec // 1000, 1000)} CPU time."
        extra = {"MESSAGE_ID": act.MID_UNIT_RESOURCES, "CPU_USAGE_NSEC": str(nsec)}
        self.logs.manager_record(unit, text, priority, extra)

    def bus(self) -> BusWatch:
        """The system bus connection (linux/dbuswatch.py), made by the first Type=dbus
        start or by D-Bus activation (daemon/busactivation.py)."""
        if self._bus is None:
            from pidone.linux.dbuswatch import BusWatch  # only daemons that use the bus

            def report(unit: str, name: str, owner: str, bus: bool) -> None:
                self.submit(ev.BusNameOwnerChanged(unit, name, owner, bus))

            self._bus = BusWatch(self.loop, report, activate=lambda unit: self.on_activation(unit))
        return self._bus

    def _watch_bus_name(self, unit: str, name: str) -> None:
        """Type=dbus: report BusName='s owner (the connection is made by the first one)."""
        self.bus().watch(unit, name)

    # Spawn -------------------------------------------------------------------------------

    def _environment(
        self, unit: Unit, ctx: ExecContext, a: act.Spawn, user: Identity, journal_stream: str = ""
    ) -> dict[str, str]:
        env = dict(a.env)
        files: list[tuple[tuple[str, str], ...]] = []
        for pattern, optional in ctx.environment_files:
            for path in environment_file_paths(pattern):  # a wildcard: each match, sorted
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError as exc:
                    if optional:
                        continue
                    raise EnvironmentFileError(exc.errno, exc.strerror) from None
                pairs, _problems = parse_environment_file(data, path)
                files.append(tuple(pairs))
        variables = ManagerVariables(
            invocation_id=env.get("INVOCATION_ID", ""),
            notify_socket=self.notify_path if a.notify_socket else "",
            main_pid=int(env.get("MAINPID", "0") or 0),
            pid_file=resolve_pid_file_path(env.get("PIDFILE", ""), self.bases.runtime),
            service_result=env.get("SERVICE_RESULT", ""),
            exit_code=env.get("EXIT_CODE", ""),
            exit_status=env.get("EXIT_STATUS", ""),
            watchdog_usec=int(env.get("WATCHDOG_USEC", "0") or 0),
            listen_fd_names=a.fd_names,
            extra=a.extra_env,
            user=user.user,
            directories=directory_variables(ctx, self.bases),
            journal_stream=journal_stream,
        )
        return build_environment(
            ctx,
            EnvironmentInputs(
                manager_defaults=self._manager_defaults,
                manager_environ=self.environ,
                variables=variables,
                environment_files=tuple(files),
            ),
        )

    def _spawn(self, a: act.Spawn) -> list[object]:
        unit = self.unit_of(a.unit)
        section = None if unit is None else unit.service or unit.socket
        if unit is None or section is None:
            return [ev.SpawnFailed(a.unit, a.token, "No such unit")]
        ctx = section.exec  # a socket's ExecStartPre= & co. run with its own [Socket] context
        if a.socket_error:  # exec_spawn(): StandardInput=socket without exactly one socket
            self.logs.manager_record(a.unit, f"{a.unit}: {a.socket_error}", act.LOG_ERR)
            return [ev.SpawnFailed(a.unit, a.token, os.strerror(errno.EINVAL))]
        if a.command.ignore_failure:
            a = self._skip_if_missing(a)
        read_fd = write_fd = -1
        try:
            identity = resolve_identity(ctx, a.unit)  # DynamicUser= is named after the unit
            if identity.error_message:  # the child exits 217/USER; say why first
                self.logs.manager_record(a.unit, f"{a.unit}: {identity.error_message}", act.LOG_ERR)
            journal_out = ctx.standard_output in _JOURNAL_OUTPUTS
            journal_err = ctx.standard_error in _JOURNAL_OUTPUTS or (
                ctx.standard_error == "inherit" and journal_out
            )
            stream = ""
            if journal_out or journal_err:
                read_fd, write_fd = _journal_stream()
                stream = spawn.journal_stream_value(write_fd)
            environment = self._environment(unit, ctx, a, identity, stream)
            self.tracker.create(a.unit, environment.get("INVOCATION_ID", ""))
            self._spawns[a.unit] = self._spawns.get(a.unit, 0) + 1
            cgroup = self.tracker.spawn_cgroup(a.unit)
            self._programs.apply(unit, a.unit, cgroup)
            command = a.command
            if ctx.permissions_start_only and a.role != "start" and not command.full_privileges:
                # PermissionsStartOnly= (systemd.service(5), deprecated): User= and the other
                # permission and sandboxing settings apply to ExecStart= only. systemd 252
                # clears EXEC_APPLY_SANDBOXING for every control process (service_spawn()),
                # which is what the "+" prefix does (gearman's ExecStartPre=install -d -o).
                command = replace(command, full_privileges=True)
            child = spawn.spawn(
                spawn.SpawnRequest(
                    command=command,
                    context=ctx,
                    environment=environment,
                    identity=identity,
                    cgroup=cgroup,
                    parent_join=False,  # the tracker counts it until exec (expect below)
                    unit=a.unit,
                    directory_bases=self.bases,
                    stdout_fd=write_fd if journal_out else -1,
                    stderr_fd=write_fd if journal_err else -1,
                    stdin_fd=a.socket_fd,
                    pass_fds=a.fds,
                    non_blocking=unit.service.non_blocking if unit.service else False,
                    default_limits=self._default_limits,
                )
            )
        except (OSError, ValueError) as exc:
            for fd in (read_fd, write_fd):
                if fd >= 0:
                    os.close(fd)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if isinstance(exc, EnvironmentFileError):  # exec_child() logs this one first
                self.logs.manager_record(
                    a.unit, f"{a.unit}: Failed to load environment files: {reason}", 3
                )
            self.logs.manager_record(
                a.unit, f"{a.unit}: Failed to spawn '{a.role}' task: {reason}", 3
            )
            return [ev.SpawnFailed(a.unit, a.token, reason)]
        pid = child.pid
        self.processes[pid] = ProcInfo(a.unit, a.role, child.argv, read_fd)
        if (ctx.user or ctx.group or ctx.dynamic_user) and not command.full_privileges:
            self.ipc.ref(a.unit, identity.uid, identity.gid, ctx.remove_ipc)
        if a.promises:
            self._ask_successor(a, pid)
        invocation = environment.get("INVOCATION_ID", "")
        if self._invocations.get(a.unit) != invocation:  # first command of this start
            self._invocations[a.unit] = invocation
            self._log_not_enforced(unit, child.not_enforced)
        if not cgroup:
            with contextlib.suppress(OSError):
                self.tracker.attach(a.unit, pid)
        elif child.status_fd >= 0:
            # The forked child joins its cgroup itself before exec; a second cgroup.procs
            # write from here would cost another RCU grace period (cgroup_threadgroup_rwsem)
            # on the event loop, so the tracker counts it by PID until exec or reaping.
            # (posix_spawn children are born in the cgroup: nothing to cover.)
            self.tracker.expect(a.unit, pid)
        self.children.watch(pid, child.pidfd)
        if write_fd >= 0:
            os.close(write_fd)
            ident = ctx.syslog_identifier or os.path.basename(child.path)
            uid = identity.uid if identity.uid >= 0 else os.getuid()
            gid = identity.gid if identity.gid >= 0 else os.getgid()
            self.logs.add_stream(
                read_fd,
                StreamSource(
                    unit=a.unit,
                    identifier=ident,
                    pid=pid,
                    uid=uid,
                    gid=gid,
                    invocation_id=environment.get("INVOCATION_ID", ""),
                    level_prefix=ctx.syslog_level_prefix,
                    default_priority=ctx.syslog_level,
                    max_level=ctx.log_level_max if ctx.log_level_max >= 0 else 7,
                    facility=ctx.syslog_facility,
                    console=ctx.standard_output.endswith("+console"),
                ),
            )
        if child.status_fd < 0:  # posix_spawn path: execve() already succeeded
            done: list[object] = [ev.Spawned(a.unit, a.token, pid)]
            if a.report_exec:
                done.append(ev.ExecSucceeded(a.unit, pid))
            return done
        self._status_fds[child.status_fd] = (a.unit, pid, a.report_exec, child)
        os.set_blocking(child.status_fd, False)
        self.loop.add_reader(child.status_fd, functools.partial(self._on_status, child.status_fd))
        return [ev.Spawned(a.unit, a.token, pid)]

    def _start_ahead(self, then: act.Spawn) -> None:
        """Start a control process's promised successor right after reaping its status-0
        exit, before that exit goes through the manager: the manager's share of the
        ExecStartPre= -> ExecStart= step (~1 ms of Python) then overlaps the successor's
        exec instead of delaying it. The manager asks for this same Spawn while handling
        the exit (its service machine promised so, or withdrew the promise with a
        DropSuccessor before); _spawn_or_adopt answers it with this process."""
        self._ahead[then.token] = (then, self._spawn(then))

    def drop_successors(self) -> None:
        """Forget every promised successor (daemon-reload: made from the old files)."""
        self._successors.clear()

    def _ask_successor(self, a: act.Spawn, pid: int) -> None:
        """The successor `a` promises, asked for now that its process runs (off the path
        from the request or exit to this spawn: building it costs a Spawn of Python)."""
        then = self.brain.successor(a.unit, a.token) if self.brain is not None else None
        if then is not None:
            self._successors[pid] = then

    def _spawn_or_adopt(self, a: act.Spawn) -> list[object]:
        ahead = self._ahead.pop(a.token, None)
        if ahead is None:
            return self._spawn(a)
        then, answers = ahead
        if (replace(a, promises=False) if a.promises else a) == then:
            for answer in answers:
                if isinstance(answer, ev.Spawned) and a.promises:
                    self._ask_successor(a, answer.pid)
            return answers
        self._abandon(then, answers)
        return self._spawn(a)

    def _abandon(self, then: act.Spawn, answers: list[object]) -> None:
        """A successor started ahead that the manager did not ask for: a broken promise
        (a bug; the core's tests check the promise), so say so and end that process."""
        for answer in answers:
            if isinstance(answer, ev.Spawned):
                text = f"{then.unit}: internal error: {then.role} process {answer.pid} was "
                text += "started ahead of the manager, which did not ask for it; killing it."
                self.logs.manager_record(then.unit, text, act.LOG_ERR)
                with contextlib.suppress(OSError):
                    os.kill(answer.pid, signal.SIGKILL)

    def _skip_if_missing(self, a: act.Spawn) -> act.Spawn:
        """A `-` command whose executable is missing: systemd 252's child logs "Executable
        X missing, skipping: ENOENT" and exits 0 without exec (exec_child(), checked on the
        oracle; sshguard's `-/usr/sbin/nft` where nftables is absent). The child here runs
        through the same set-up and execs true(1) in its place, so it exits 0 as well."""
        missing = missing_executable(a.command.path)
        if not missing or not os.access(_STAND_IN, os.X_OK):
            return a
        text = f"{a.unit}: Executable {a.command.path} missing, skipping: {os.strerror(missing)}"
        # the child's line: after the manager's "Starting X..." of this same turn
        self.loop.call_soon(functools.partial(self._log, a.unit, text, act.LOG_INFO))
        stand_in = replace(a.command, path=_STAND_IN, argv=("true",), no_env_expand=True)
        return replace(a, command=stand_in)

    def _on_status(self, fd: int) -> None:
        """The child's CLOEXEC status pipe: EOF = exec succeeded, 8 bytes = a 2xx failure."""
        entry = self._status_fds.get(fd)
        if entry is None:
            return
        unit, pid, report, child = entry
        try:
            failure = spawn.read_spawn_failure(child, close=False)
        except BlockingIOError:
            return
        self.loop.remove_reader(fd)
        del self._status_fds[fd]
        os.close(fd)
        self.tracker.settled(pid)  # exec'd (so in its cgroup) or exiting
        if failure is not None:
            if failure.step == "CHDIR":
                # exec_child()'s own line for the failed chdir(), before exec_spawn()'s
                reason = os.strerror(failure.errno) if failure.errno else "Unknown error"
                text = f"{unit}: Changing to the requested working directory failed: {reason}"
                self.logs.spawn_failure_record(unit, pid, failure.path, text, {})
            self.logs.spawn_failure_record(
                unit,
                pid,
                failure.path,
                f"{unit}: {failure.message}",
                {"MESSAGE_ID": act.MID_SPAWN_FAILED, "EXECUTABLE": failure.path},
            )
        if report:
            if failure is None:
                self.submit(ev.ExecSucceeded(unit, pid))
            else:
                self.submit(ev.ExecFailed(unit, pid, failure.status))

    # Signals ------------------------------------------------------------------------------

    def _send(self, unit: str, pid: int, sig: int, log_kill: bool) -> None:
        if log_kill:
            message = act.format_kill_message(unit, pid, read_comm(pid), sig)
            self.logs.manager_record(unit, message, act.LOG_NOTICE)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)

    def _signal(self, a: act.Signal) -> None:
        if a.client:
            self._signal_for_client(a)
            return
        if a.target == "pid":
            if a.pid > 0:
                self._send(a.unit, a.pid, a.signal, a.log_kill)
                if a.sigcont and a.signal not in (signal.SIGCONT, signal.SIGKILL):
                    self._send(a.unit, a.pid, signal.SIGCONT, False)
            return
        if a.log_kill:
            for pid in self.tracker.pids(a.unit):
                if pid not in a.exclude:
                    message = act.format_kill_message(a.unit, pid, read_comm(pid), a.signal)
                    self.logs.manager_record(a.unit, message, act.LOG_NOTICE)
        sigcont = a.sigcont and a.signal not in (signal.SIGCONT, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.tracker.kill(a.unit, a.signal, exclude=a.exclude, sigcont=sigcont)

    def _signal_for_client(self, a: act.Signal) -> None:
        """`kill` (unit_kill_common(), systemd 252 src/core/unit.c): the comm is read first,
        then the signal sent and logged "on client request"."""
        name = f"SIG{signal_name(a.signal)}"
        if a.target == "cgroup":
            for pid in self.tracker.pids(a.unit):
                if pid not in a.exclude:
                    text = f"{a.unit}: Sending signal {name} to process {pid} "
                    text += f"({read_comm(pid) or 'n/a'}) on client request."
                    self.logs.manager_record(a.unit, text, act.LOG_INFO)
            with contextlib.suppress(OSError):
                self.tracker.kill(a.unit, a.signal, exclude=a.exclude, sigcont=False)
            return
        who = f"{a.client} process {a.pid} ({read_comm(a.pid) or 'n/a'})"
        try:
            os.kill(a.pid, a.signal)
        except OSError as exc:
            text = f"{a.unit}: Failed to send signal {name} to {who} on client request: "
            self.logs.manager_record(a.unit, text + (exc.strerror or ""), act.LOG_WARNING)
            return
        text = f"{a.unit}: Sent signal {name} to {who} on client request."
        self.logs.manager_record(a.unit, text, act.LOG_INFO)

    # Timers -------------------------------------------------------------------------------

    def _arm(self, a: act.ArmTimer) -> None:
        old = self._timers.pop(a.token, None)
        if old is not None:
            old.cancel()

        self._timers[a.token] = self.loop.call_at(
            a.deadline_usec / 1e6, functools.partial(self._fire, a.token)
        )

    def _fire(self, token: str) -> None:
        self._timers.pop(token, None)
        self.submit(ev.TimerFired(token))

    # Processes that are not our children ---------------------------------------------------

    def _watch_pid(self, unit: str, pid: int) -> None:
        if pid in self.processes or pid in self._foreign or pid == os.getpid():
            return
        if _ppid(pid) == os.getpid():
            # Re-parented to us (subreaper / PID 1): the reaper reports its exit.
            self.processes[pid] = ProcInfo(unit, "start", ())
            return
        try:
            pidfd = open_pidfd(pid)
        except OSError:
            self.submit(ev.ProcessExited(pid, 0, 0, False, self.tracker.is_empty(unit)))
            return

        def gone(pid: int = pid, unit: str = unit) -> None:
            # It may have been re-parented to us (subreaper) since: then the reaper has its
            # real status and reports it through _on_child_exit, which forgets this watch.
            self.children.reap()
            entry = self._foreign.pop(pid, None)
            if entry is None:
                return
            if entry[1] is not None:
                entry[1].cancel()
            # Not our child: no exit status can be had (systemd reports it as exited 0).
            self.submit(ev.ProcessExited(pid, 0, 0, False, self.tracker.is_empty(unit)))

        self._foreign[pid] = (unit, self.loop.watch_process(pid, gone, pidfd))

    def unit_of_sender(self, pid: int) -> str | None:
        """The unit of a log sender: live membership, else a process of a unit reaped lately.

        A short-lived process (logger(1), a oneshot's helper) may be reaped before its
        /dev/log or native-journal datagram is read; its PID no longer names a cgroup then,
        so the exit remembers the unit for a while (journald loses such attributions).
        """
        unit = self.tracker.unit_of(pid)
        if unit is None:
            recent = self._recent_exits.get(pid)
            if recent is not None and now_usec() - recent[1] < RECENT_EXIT_USEC:
                unit = recent[0]
        return unit

    def _remember_exit(self, pid: int, unit: str) -> None:
        self._recent_exits.pop(pid, None)
        self._recent_exits[pid] = (unit, now_usec())
        if len(self._recent_exits) > RECENT_EXITS:
            del self._recent_exits[next(iter(self._recent_exits))]

    def _on_child_exit(self, child: ChildExit, watched: bool) -> None:
        self.tracker.settled(child.pid)
        info = self.processes.pop(child.pid, None)
        unit = info.unit if info is not None else ""
        if info is not None:
            self._remember_exit(child.pid, unit)
        if info is not None and info.stream_fd >= 0:
            self.logs.drain(info.stream_fd)  # its output first, then "Main process exited"
        for fd, pending in list(self._status_fds.items()):
            if pending[1] == child.pid:
                # A failed spawn's "Failed at step ..." line, which 252's child logs before
                # it exits, also comes before the manager's "Main process exited" line.
                self._on_status(fd)
        then = self._successors.pop(child.pid, None) if self._successors else None
        # (not busy, nothing queued: the manager has seen every earlier event, so the
        # promise is current)
        ahead = then is not None and child.exit_code == 0 and not self._busy and not self._queue
        if ahead:
            assert then is not None
            self._start_ahead(then)
        if info is None:
            foreign = self._foreign.pop(child.pid, None)  # a watched PID that became ours
            if foreign is not None:
                if foreign[1] is not None:
                    foreign[1].cancel()
                unit = foreign[0]
        empty = False
        if self.tracker.kind == "proc":
            # One /proc scan per exit: the drain both reports emptied units (as
            # UnitProcessesGone) and serves as the emptiness check for this exit.
            emptied = self._on_tracker_events()
            empty = unit in emptied and not ahead
        elif unit and not ahead:  # (the successor started ahead is in the unit)
            empty = self.tracker.is_empty(unit)
        if unit:
            self.submit(
                ev.ProcessExited(
                    child.pid, child.exit_code or 0, child.signal or 0, child.core_dumped, empty
                )
            )
        for token in list(self._ahead):  # left over: the manager did not ask for it
            self._abandon(*self._ahead.pop(token))

    def _on_tracker_readable(self) -> None:
        self._on_tracker_events()

    def _on_tracker_events(self) -> set[str]:
        emptied = set()
        for unit, populated in self.tracker.drain_events():
            if not populated:
                emptied.add(unit)
                spawns = self._spawns.get(unit, 0)
                self.loop.call_soon(functools.partial(self._maybe_gone, unit, spawns))
        return emptied

    def _maybe_gone(self, unit: str, spawns: int) -> None:
        # cgroup2: re-checked only if a Spawn came in between, since nothing else puts a
        # process into an empty group (a fork needs a live member) and the kernel's
        # `populated 0` was exact. A /proc scan may miss a fork made during it: re-scan.
        exact = self.tracker.kind == "cgroup" and self._spawns.get(unit, 0) == spawns
        if exact or self.tracker.is_empty(unit):
            self.submit(ev.UnitProcessesGone(unit))

    # PID files and guesses -----------------------------------------------------------------

    def _read_pid_file(self, a: act.ReadPidFile, *, quiet: bool = False) -> ev.PidFileRead:
        """service_load_pid_file(s, may_warn): `quiet` is may_warn=false (a retry after the
        file changed, the main process's exit), where systemd 252 logs the parse failure and
        the unsuitable PID at LOG_DEBUG, below its default LogLevel=info, so not at all
        here; else at LOG_INFO. A PID outside the unit with a file not owned by root is an
        error either way; one accepted from a root-owned file is only a debug line. An error
        already logged is answered with an empty `error`: no "Can't open PID file" follows
        (that line is for a file that could not be opened)."""
        path = resolve_pid_file_path(a.path, self.bases.runtime)
        try:
            found = read_pid_file(path)
        except FileNotFoundError:
            return ev.PidFileRead(a.unit, None, "No such file or directory")
        except PidFileError as exc:
            if not quiet:
                self.logs.manager_record(a.unit, f"{a.unit}: {exc}", act.LOG_INFO)
            return ev.PidFileRead(a.unit, None, "")
        except OSError as exc:
            return ev.PidFileRead(a.unit, None, exc.strerror or str(exc))
        if a.known and found.pid == a.known:  # the main PID already known: no checks
            return ev.PidFileRead(a.unit, found.pid)
        unsuitable = unsuitable_main_pid(found)  # the manager, or gone
        if unsuitable is not None:
            if not quiet:
                self.logs.manager_record(a.unit, f"{a.unit}: {unsuitable}", act.LOG_INFO)
            return ev.PidFileRead(a.unit, None, "")
        if found.owner_uid == 0 and self.tracker.kind == "cgroup":
            # A root-owned file's PID is taken whether it is in the unit or not (outside:
            # only a debug line in systemd 252): no /proc/PID/cgroup read on the way from
            # the forking parent's exit to the start job's end. (/proc tracking claims
            # an orphan of this run below, so that a stop ends it.)
            return ev.PidFileRead(a.unit, found.pid)
        belongs = self.tracker.unit_of(found.pid) == a.unit
        if not belongs:  # without cgroups: an orphan of this run that /proc could not place
            belongs = self.tracker.claim(a.unit, found.pid)
        refusal = refused_outsider(found, belongs)
        if refusal is not None:  # outside the unit, and the file is not root's
            self.logs.manager_record(a.unit, f"{a.unit}: {refusal}", act.LOG_ERR)
            return ev.PidFileRead(a.unit, None, "")
        return ev.PidFileRead(a.unit, found.pid)

    def _retry_pid_file(self, unit: str, path: str) -> None:
        """service_retry_pid_file(): the watched PIDFile= changed; go on once it names a PID."""
        try:
            read_pid_file(resolve_pid_file_path(path, self.bases.runtime))
        except (OSError, PidFileError):
            return  # not there or not written yet: keep watching, quietly (may_warn=false)
        answer = self._read_pid_file(act.ReadPidFile(unit, path), quiet=True)
        if answer.pid is not None:
            self._pid_watch.forget(unit)
            self.submit(answer)

    def _guess_main_pid(self, a: act.GuessMainPid) -> int | None:
        """cgroup_get_main_pid() in spirit: the one process of the unit whose parent is us."""
        me = os.getpid()
        candidates = [p for p in self.tracker.pids(a.unit) if p not in a.exclude]
        children = _our_children() if len(candidates) > 1 else None
        if children is not None:  # one read instead of /proc/PID/stat per candidate
            ours = [p for p in candidates if p in children]
        else:
            ours = [p for p in candidates if _ppid(p) == me]
        if len(ours) == 1:
            return ours[0]
        if len(candidates) == 1:
            return candidates[0]
        return None

    def _check_conditions(self, name: str) -> ev.ConditionsEvaluated:
        unit = self.unit_of(name)
        if unit is None or not (unit.unit.conditions or unit.unit.asserts):
            return ev.ConditionsEvaluated(name, True)  # what evaluate([], []) gives
        from pidone.linux import conditions  # with the first Condition*=/Assert*= only

        verdict = conditions.evaluate(unit.unit.conditions, unit.unit.asserts)
        for warning in verdict.warnings:
            self.logs.manager_record(name, f"{name}: {warning}", act.LOG_WARNING)
        return ev.ConditionsEvaluated(name, verdict.ok, verdict.failed, verdict.assert_failed)

    # RuntimeDirectory= and friends (spec 02 §6) ---------------------------------------------

    def _directory_table(self, ctx: ExecContext) -> list[tuple[str, list[str], int]]:
        b = self.bases
        return [
            (b.runtime, ctx.runtime_directory, ctx.runtime_directory_mode),
            (b.state, ctx.state_directory, ctx.state_directory_mode),
            (b.cache, ctx.cache_directory, ctx.cache_directory_mode),
            (b.logs, ctx.logs_directory, ctx.logs_directory_mode),
            (b.configuration, ctx.configuration_directory, ctx.configuration_directory_mode),
        ]

    def _create_directories(self, name: str) -> None:
        unit = self.unit_of(name)
        if unit is None or unit.service is None:
            return
        ctx = unit.service.exec
        table = self._directory_table(ctx)
        if not any(entries for _base, entries, _mode in table):
            return  # most units: no User= lookup through NSS for nothing to create
        uid = gid = -1
        if ctx.user.isdigit():
            uid = gid = int(ctx.user)
        elif ctx.user:
            entry = userdb.user_by_name(ctx.user)
            if entry is not None:
                uid, gid = entry.uid, entry.gid
        for base, entries, mode in table:
            for item in entries:
                path = os.path.join(base, item.split(":", 1)[0].strip("/"))
                try:
                    os.makedirs(path, exist_ok=True)
                    os.chmod(path, mode)
                    if uid >= 0:
                        os.chown(path, uid, gid)
                except OSError as exc:
                    self.logs.manager_record(
                        name, f"{name}: Failed to set up directory {path}: {exc.strerror}", 3
                    )

    def _remove_directories(self, name: str) -> None:
        # service_enter_dead(): "Get rid of the IPC bits of the user" (also before an
        # automatic restart), RemoveIPC= (daemon/ipcrefs.py)
        self.ipc.unref(name)
        unit = self.unit_of(name)
        if unit is None or unit.service is None:
            return
        ctx = unit.service.exec
        if ctx.runtime_directory:  # (the only kind removed: on every restart path, skip)
            # unit_will_restart() (systemd 252 src/core/unit.c): the service is in
            # auto-restart, or its job is a start job by now (a restart job turns into one
            # as its stop half finishes, inside the state change that precedes this action).
            job = getattr(self.brain, "jobs", {}).get(name)
            restarting = self._sub.get(name) == "auto-restart" or getattr(job, "type", "") in (
                "start",
                "restart",
            )
            directories.remove_runtime_directories(ctx, self.bases, restarting=restarting)
        # service_enter_dead() drops the exec runtime, PrivateTmp= included, even before an
        # automatic restart ("we want fresh tmpdirs"); a later start gets a new one.
        invocation = self._invocations.pop(name, None)
        if invocation is not None and (ctx.private_tmp or ctx.dynamic_user):
            sandbox.remove_private_tmp(invocation, name)
        if invocation is not None and ctx.private_network:
            sandbox.remove_private_network(invocation, name)

    def _log_not_enforced(self, unit: Unit, missing: tuple[str, ...]) -> None:
        """One line per start naming the unit's directives pidone does not enforce here."""
        if not unit.not_enforced and not missing:
            return
        placed = getattr(self.tracker, "places_slices", False)  # Slice= is honoured there
        items = [
            f"{n.key}={n.value}"
            for n in sandbox.still_not_enforced(unit.not_enforced)
            if not (placed and n.key == "Slice")
        ]
        keys = {item.split("=", 1)[0] for item in items}
        items += [f"{key}=" for key in missing if key not in keys]
        if items:
            text = f"{unit.id}: Not enforced by pidone: {', '.join(items)}"
            self.logs.manager_record(unit.id, text, act.LOG_WARNING)

    # State bookkeeping ---------------------------------------------------------------------

    def _state_changed(self, a: act.StateChanged) -> None:
        if a.new_sub not in ("start", "start-post"):
            self._pid_watch.forget(a.unit)
        self._active[a.unit] = a.new_active
        self._sub[a.unit] = a.new_sub
        if a.old_sub == "auto-restart" and a.new_active in ("inactive", "failed"):
            # Stopped while waiting to restart: no RemoveDirectories follows (systemd 252's
            # service_stop() goes straight to dead), so release what RuntimeDirectoryPreserve=
            # restart kept, as later systemd's unit_release_resources() does.
            self._remove_directories(a.unit)
        if a.new_active in ("inactive", "failed"):
            # Pruned after the current batch: the stop half of a restart is followed at once
            # by its start, and removing a cgroup just to create it again costs an RCU grace
            # period (~10 ms) of restart latency.
            self.loop.call_soon(functools.partial(self._prune, a.unit))
        self.on_state(a)

    def _forget(self, unit: str) -> None:
        """A garbage-collected unit: drop what is kept per unit (its cgroup goes with the
        _prune queued when it became inactive)."""
        self._invocations.pop(unit, None)
        self._pid_watch.forget(unit)
        self.on_drop(unit)
        self.loop.call_soon(functools.partial(self._forget_state, unit))  # after _prune

    def _forget_state(self, unit: str) -> None:
        if self._active.get(unit) in ("inactive", "failed"):  # not loaded and started again
            del self._active[unit]
            self._sub.pop(unit, None)
            self._spawns.pop(unit, None)

    def _prune(self, unit: str) -> None:
        """unit_prune_cgroup(): forget the group of a unit that stayed inactive and empty."""
        if self._active.get(unit) not in ("inactive", "failed"):
            return
        if any(p.unit == unit for p in self.processes.values()):
            return
        with contextlib.suppress(OSError):
            if self.tracker.remove(unit):  # refuses (False) while the group has processes
                self._programs.forget(unit)  # (went with the cgroup)

    # Notify socket -------------------------------------------------------------------------

    def _on_notify(self) -> None:
        assert self._notify is not None
        for dgram in self._notify.receive_all():
            for fd in dgram.fds:  # no fd store yet: never keep what we cannot hand back
                with contextlib.suppress(OSError):
                    os.close(fd)
            fields = notify_fields(dgram.message)
            if not fields:
                continue
            unit = self.tracker.unit_of(dgram.pid) or ""
            if not unit:
                info = self.processes.get(dgram.pid)
                unit = info.unit if info is not None else ""
            self.submit(ev.NotifyReceived(dgram.pid, dgram.uid, fields, unit))

    def close(self) -> None:
        self.triggers.close()
        self._pid_watch.close()
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for fd in list(self._status_fds):
            self.loop.remove_reader(fd)
            os.close(fd)
        self._status_fds.clear()
        if self._notify is not None:
            self.loop.remove_reader(self._notify.fileno())
            self._notify.close()
        if self._bus is not None:
            self._bus.close()
        self.children.close()
