"""The manager's side of socket and timer units: their machines as UnitMachines, and the
activation details (listening fds, an accepted connection, TRIGGER_*/REMOTE_*) of a start.

1. `TriggerMachine` shows one machine of core.triggerunits.TriggerUnits through the narrow
   core.unitmachines.UnitMachine protocol, so the manager runs start/stop/reset-failed jobs
   on sockets and timers exactly as on targets. Its events need both clocks (`Now`), which
   the manager supplies through `clock`.
2. A `StartUnit` from a socket or timer becomes a start job (mode replace) on its target;
   the manager keeps the StartUnit as the target's activation until the target is
   inactive again (systemd: the job's ActivationDetails, and a service's socket_fd).
3. `with_activation()` fills in the fields of a service's `Spawn` (systemd 252
   service_spawn() with EXEC_PASS_FDS, exec_spawn()):
   - with StandardInput=/StandardOutput=/StandardError=socket, every command's stdin (and,
     through `inherit`, stdout/stderr) is the Accept=yes connection, or else the one
     listening socket of the Accept=no sockets whose Service= this is (acpid.socket),
     with no LISTEN_*; none or more than one fails the spawn ("Got no socket.", "Got
     more than one socket.", EINVAL: result 'resources', checked on systemd 252);
   - otherwise the main command(s) (ExecStart=) get the connection as fd 3 named
     `connection`, or every listening fd of the Accept=no sockets whose Service= this is,
     as fds 3.. with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES (sd_listen_fds(3));
   - the activation's environment (TRIGGER_UNIT=, TRIGGER_TIMER_*=, REMOTE_ADDR=,
     REMOTE_PORT=) goes to every command of the start.
"""

from __future__ import annotations

from collections.abc import Callable

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass, replace
from pidone.core.model import Unit
from pidone.core.triggering import Now, StartUnit
from pidone.core.triggerunits import TriggerAction, TriggerUnits
from pidone.core.unitmachines import InstantMachine

_SOCKET_STDIO = "socket"
_INACTIVE = ("inactive", "failed")
_UP = ("active", "reloading")


class TriggerMachine(InstantMachine):
    """One socket or timer of a TriggerUnits hub as a core.unitmachines.UnitMachine. It is
    an InstantMachine only for the unit model and the timestamps the manager's snapshot
    reads (`note()` keeps them, as unit_notify() does); its state is the hub machine's."""

    __slots__ = ("_clock", "_hub")

    def __init__(self, unit: Unit, hub: TriggerUnits, clock: Callable[[], Now]) -> None:
        super().__init__(unit)
        self._hub = hub
        self._clock = clock

    @property
    def active_state(self) -> str:
        return self._hub.active_state(self.unit.id) or "inactive"

    @property
    def sub_state(self) -> str:
        return self._hub.sub_state(self.unit.id) or "dead"

    @property
    def result(self) -> str:
        m = self._hub.machine(self.unit.id)
        return m.result.value if m is not None else "success"

    @property
    def invocation_id(self) -> str:
        m = self._hub.machine(self.unit.id)
        return m.invocation_id if m is not None else ""

    def start(self, now_usec: int, invocation_id: str = "") -> list[act.Action]:
        return self._run(ev.StartRequested(self.unit.id, invocation_id))

    def stop(self, now_usec: int) -> list[act.Action]:
        return self._run(ev.StopRequested(self.unit.id))

    def reset_failed(self) -> list[act.Action]:
        return self._run(ev.ResetFailedRequested(self.unit.id))

    def _run(
        self, event: ev.StartRequested | ev.StopRequested | ev.ResetFailedRequested
    ) -> list[act.Action]:
        out: list[TriggerAction] = self._hub.handle(event, self._clock())
        return list(out)  # type: ignore[arg-type]  # the manager routes the trigger actions

    def note(self, change: act.StateChanged, now_usec: int) -> None:
        """unit_notify()'s timestamps for one ActiveState change."""
        self.sub = change.new_sub
        self.state_change_usec = now_usec
        old, new = change.old_active, change.new_active
        was_inactive, is_inactive = old in _INACTIVE, new in _INACTIVE
        if was_inactive and not is_inactive:
            self.inactive_exit_usec = now_usec
        elif not was_inactive and is_inactive:
            self.inactive_enter_usec = now_usec
        if old not in _UP and new in _UP:
            self.active_enter_usec = now_usec
        elif old in _UP and new not in _UP:
            self.active_exit_usec = now_usec


@dataclass(frozen=True, slots=True)
class WallClockChanged:
    """The wall clock was set (linux.clockwatch): timers re-plan (timer_time_change())."""


@dataclass(frozen=True, slots=True)
class TriggersReloaded:
    """daemon-reload re-read the socket/timer units: timers whose file changed re-plan
    (TriggerUnits.coldplug()), machines whose file is gone are dropped."""


def start_refusal(hub: TriggerUnits, unit_id: str, loaded: Callable[[str], bool]) -> str:
    """socket_start()/timer_start()'s refusal when the unit to trigger is not loaded ("" if
    none). `loaded(name)` loads the unit if needed and says whether it is loaded."""
    sock = hub.sockets.get(unit_id)
    if sock is not None and not sock.config.accept and not loaded(sock.config.service):
        return f"{unit_id}: Socket service {sock.config.service} not loaded, refusing."
    timer = hub.timers.get(unit_id)
    if timer is not None and not loaded(timer.config.target):
        return f"{unit_id}: Refusing to start, unit {timer.config.target} to trigger not loaded."
    path = hub.paths.get(unit_id)  # path_start(): unit_test_trigger_loaded(), as timers
    if path is not None and not loaded(path.config.target):
        return f"{unit_id}: Refusing to start, unit {path.config.target} to trigger not loaded."
    return ""


def uses_socket_stdio(unit: Unit) -> bool:
    """StandardInput=/StandardOutput=/StandardError=socket (exec_spawn()'s socket_fd case)."""
    svc = unit.service
    if svc is None:
        return False
    e = svc.exec
    return _SOCKET_STDIO in (e.standard_input, e.standard_output, e.standard_error)


def with_activation(
    spawn: act.Spawn,
    unit: Unit,
    activation: StartUnit | None,
    listen: tuple[tuple[int, ...], tuple[str, ...]],
) -> act.Spawn:
    """The Spawn with its socket fds and activation environment (rule 3)."""
    env = activation.env if activation is not None else ()
    cfd = activation.connection_fd if activation is not None else -1
    if uses_socket_stdio(unit):
        # exec_spawn(): the socket fds service_spawn() collected (for every command, not
        # only ExecStart=) must be exactly one; it becomes fd 0 and LISTEN_FDS is unset.
        fds = (cfd,) if cfd >= 0 else listen[0]
        if len(fds) == 1:
            return replace(spawn, socket_fd=fds[0], extra_env=env)
        error = "Got more than one socket." if fds else "Got no socket."
        return replace(spawn, extra_env=env, socket_error=error)
    if spawn.role != "start":
        return replace(spawn, extra_env=env) if env else spawn
    if cfd >= 0:
        return replace(spawn, fds=(cfd,), fd_names=("connection",), extra_env=env)
    fds, names = listen
    if not fds and not env:
        return spawn
    return replace(spawn, fds=fds, fd_names=names, extra_env=env)
