"""Every socket, timer and path machine behind one door: what core/manager.py needs to host them.

The manager drives ServiceMachines itself. For .socket and .timer units it can hold one
`TriggerUnits` and:
1. `add_unit(unit)` for each loaded socket/timer (again on daemon-reload: a machine whose
   config did not change is kept; a timer whose file changed is rebuilt and takes over the
   old runtime state in `coldplug(now)`, which the manager calls once after the reload);
2. `handle(event, now)` for job runs (StartRequested/StopRequested/ResetFailedRequested
   with `unit`), the socket seam's events, TimerFired (routed by the `<unit>/` token
   prefix), Spawned/SpawnFailed (by unit) and ProcessExited (by control PID);
3. `target_changed(...)` on every StateChanged of any unit: each socket/timer that
   triggers it gets its TriggeredUnitChanged (unit_trigger_notify());
4. `listen_fds(service)` when spawning a service's main process: the fds and names of
   every Accept=no socket whose Service= it is, socket by socket in name order (systemd
   walks TriggeredBy=; `Sockets=` units the manager adds itself).
Actions come back unchanged; StartUnit/StartFailed/StateChanged are for the manager.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo

from pidone.core import events as ev
from pidone.core.hints import TYPE_CHECKING
from pidone.core.model import Unit
from pidone.core.pathseam import PATH_EVENTS, PathAction, PathEvent, PathEventType, PathsChecked
from pidone.core.socketseam import (
    ConnectionAccepted,
    FdReadable,
    ListenersFailed,
    ListenersOpened,
    SocketAction,
    SocketEvent,
    build_socket_config,
)
from pidone.core.timerseam import (
    ClockChanged,
    TimerAction,
    TimerEvent,
    TimerHost,
    build_timer_config,
)
from pidone.core.triggering import Now, TriggeredUnitChanged, TriggerRefused

if TYPE_CHECKING:
    from pidone.core.pathunit import PathMachine
    from pidone.core.socketunit import SocketMachine
    from pidone.core.timerunit import TimerMachine

TriggerEvent = TimerEvent | SocketEvent | PathEventType
TriggerAction = TimerAction | SocketAction | PathAction
_BY_UNIT = (
    ev.StartRequested,
    ev.StopRequested,
    ev.ResetFailedRequested,
    ev.Spawned,
    ev.SpawnFailed,
    ListenersOpened,
    ListenersFailed,
    FdReadable,
    ConnectionAccepted,
    TriggeredUnitChanged,
    TriggerRefused,
    ClockChanged,
    PathsChecked,
    PathEvent,
)


class TriggerUnits:
    """The socket and timer machines of one manager."""

    def __init__(
        self,
        host: TimerHost,
        zone: tzinfo | Callable[[], tzinfo],
        resolve_zone: Callable[[str], tzinfo | None],
        random_u64: Callable[[], int],
        stamps: Mapping[str, int] | None = None,
        read_stamp: Callable[[str], int | None] | None = None,
    ) -> None:
        self.host = host
        self._zone = zone
        self.resolve_zone = resolve_zone
        self.random_u64 = random_u64
        self.stamps = dict(stamps or {})
        # Persistent= stamps of timers loaded later (the daemon's linux.timerstamps reader).
        self.read_stamp = read_stamp
        self.timers: dict[str, TimerMachine] = {}
        self.sockets: dict[str, SocketMachine] = {}
        self.paths: dict[str, PathMachine] = {}
        self._reloaded: dict[str, TimerMachine] = {}
        # Who triggers whom, by target (see _index()); rebuilt after add_unit/remove_unit.
        self._version = 0
        self._indexed: tuple[int, int, int] = (-1, 0, 0)
        self._by_target: dict[str, tuple[str, ...]] = {}
        self._accepting: tuple[str, ...] = ()

    @property
    def zone(self) -> tzinfo:
        """The local zone. Given as a function, it is called when the first timer needs it
        (the daemon's reads /etc/localtime with zoneinfo: not imported without timers)."""
        if not isinstance(self._zone, tzinfo):
            self._zone = self._zone()
        return self._zone

    def add_unit(self, unit: Unit) -> list[str]:
        """Build (or keep) the machine of a loaded socket/timer; the config's warnings."""
        if unit.load_state != "loaded":
            return []
        self._version += 1
        if unit.timer is not None:
            tconfig, warnings = build_timer_config(unit, self.zone, self.resolve_zone)
            # core.timerunit loads with the first timer unit, not with every daemon
            from pidone.core.timerunit import TimerMachine

            old = self.timers.get(unit.id)
            if old is None:
                stamp = self.stamps.get(unit.id)
                if stamp is None and self.read_stamp is not None and tconfig.persistent:
                    stamp = self.read_stamp(unit.id)
                self.timers[unit.id] = TimerMachine(tconfig, self.host, self.random_u64, stamp)
            elif old.config != tconfig:
                self.timers[unit.id] = TimerMachine(tconfig, self.host, self.random_u64)
                self._reloaded[unit.id] = old
            return warnings
        if unit.socket is not None:
            sconfig, warnings = build_socket_config(unit)
            sold = self.sockets.get(unit.id)
            if sold is None:
                # core.socketunit loads with the first socket unit, not with every daemon
                from pidone.core.socketunit import SocketMachine

                self.sockets[unit.id] = SocketMachine(sconfig)
            elif sold.config != sconfig and not sold.fds:
                # Only a socket without open fds takes new settings at once; an active one
                # keeps what it bound until it is restarted.
                sold.config = sconfig
            return warnings
        if unit.path is not None:
            # core.pathunit loads with the first path unit (cups.path, acpid.path)
            from pidone.core.pathseam import build_path_config
            from pidone.core.pathunit import PathMachine

            pconfig = build_path_config(unit)
            pold = self.paths.get(unit.id)
            if pold is None:
                self.paths[unit.id] = PathMachine(pconfig)
            elif pold.config != pconfig:
                pold.config = pconfig  # the next check or watch uses the new paths
            return []
        return []

    def coldplug(self, now: Now) -> list[TriggerAction]:
        """After daemon-reload: timers whose file changed keep their state and re-plan."""
        out: list[TriggerAction] = []
        for name, old in sorted(self._reloaded.items()):
            new = self.timers.get(name)
            if new is not None:
                out += new.coldplug(old, now)
        self._reloaded.clear()
        return out

    def remove_unit(self, unit_id: str) -> None:
        self._version += 1
        self.timers.pop(unit_id, None)
        self.sockets.pop(unit_id, None)
        self.paths.pop(unit_id, None)

    def machine(self, unit_id: str) -> TimerMachine | SocketMachine | PathMachine | None:
        return self.timers.get(unit_id) or self.sockets.get(unit_id) or self.paths.get(unit_id)

    def owns(self, unit_id: str) -> bool:
        return unit_id in self.timers or unit_id in self.sockets or unit_id in self.paths

    def active_state(self, unit_id: str) -> str | None:
        m = self.machine(unit_id)
        return m.active_state if m is not None else None

    def sub_state(self, unit_id: str) -> str | None:
        m = self.machine(unit_id)
        return m.state.value if m is not None else None

    def pid_owner(self, pid: int) -> str | None:
        """The socket whose control process `pid` is."""
        for name, m in self.sockets.items():
            if pid and m.control_pid == pid:
                return name
        return None

    # --- events ----------------------------------------------------------------------------

    def handle(self, event: TriggerEvent, now: Now) -> list[TriggerAction]:
        """Route one event to its machine; [] when it belongs to none of them."""
        if isinstance(event, ev.TimerFired):
            unit = event.token.partition("/")[0]
        elif isinstance(event, ev.ProcessExited):
            unit = self.pid_owner(event.pid) or ""
        elif isinstance(event, _BY_UNIT):
            unit = event.unit
        else:
            return []
        timer = self.timers.get(unit)
        if timer is not None:
            if isinstance(event, TimerEvent):
                if isinstance(event, ev.StartRequested):
                    self._reread_stamp(unit, timer)
                return list(timer.handle(event, now))
            return []
        sock = self.sockets.get(unit)
        if sock is not None and not isinstance(event, ClockChanged):
            return list(sock.handle(event, now.monotonic))  # type: ignore[arg-type]
        path = self.paths.get(unit)
        if path is not None and isinstance(event, PATH_EVENTS):
            return list(path.handle(event, now))
        return []

    def _reread_stamp(self, unit: str, timer: TimerMachine) -> None:
        """timer_start() in systemd 252 stats the Persistent= stamp at every start of a
        stopped timer, not once at load: a stamp changed or removed while the timer was
        stopped counts (removed: "never run before", and a new stamp is made)."""
        if self.read_stamp is None or not timer.config.persistent:
            return
        if timer.active_state in ("inactive", "failed"):
            timer.stamp_usec = self.read_stamp(unit)

    def _index(self) -> dict[str, tuple[str, ...]]:
        """Timers and Accept=no sockets by the unit they trigger (fixed by their config),
        rebuilt only after add_unit/remove_unit: the manager asks on every state change of
        every unit (unit_trigger_notify()), a scan of all sockets and timers each time.
        Accept=yes sockets trigger their live instances: `_accepting`, asked each time."""
        key = (self._version, len(self.timers), len(self.sockets) + len(self.paths))
        if key != self._indexed:
            by_target: dict[str, list[str]] = {}
            for n, t in self.timers.items():
                by_target.setdefault(t.config.target, []).append(n)
            for n, s in self.sockets.items():
                if not s.config.accept:
                    by_target.setdefault(s.config.service, []).append(n)
            for n, p in self.paths.items():
                by_target.setdefault(p.config.target, []).append(n)
            self._by_target = {k: tuple(sorted(v)) for k, v in by_target.items()}
            self._accepting = tuple(n for n, s in self.sockets.items() if s.config.accept)
            self._indexed = key
        return self._by_target

    def triggered_by(self, target: str) -> list[str]:
        """TriggeredBy=: the sockets, timers and paths that start `target`, by name."""
        out = list(self._index().get(target, ()))
        if self._accepting:
            sockets = self.sockets
            accepted = [
                n for n in self._accepting if (s := sockets.get(n)) and target in s.instances
            ]
            if accepted:
                return sorted(out + accepted)
        return out

    def target_changed(
        self,
        target: str,
        active_state: str,
        sub_state: str,
        now: Now,
        inactive_exit_usec: int = 0,
        inactive_enter_usec: int = 0,
        has_job: bool = False,
        start_limit_hit: bool = False,
    ) -> list[TriggerAction]:
        """unit_trigger_notify(): tell every socket/timer triggering `target` its new state."""
        out: list[TriggerAction] = []
        for source in self.triggered_by(target):
            change = TriggeredUnitChanged(
                source,
                target,
                active_state,
                sub_state,
                inactive_exit_usec,
                inactive_enter_usec,
                has_job,
                start_limit_hit,
            )
            out += self.handle(change, now)
        return out

    def clock_changed(self, now: Now, timezone: bool = False) -> list[TriggerAction]:
        """The wall clock jumped (or the zone changed): every timer re-plans."""
        out: list[TriggerAction] = []
        for name in sorted(self.timers):
            out += self.handle(ClockChanged(name, timezone), now)
        return out

    def listen_fds(
        self, service: str, sockets: Iterable[str] = ()
    ) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """LISTEN_FDS for `service`: fds and names of every Accept=no socket it serves, and
        of the Accept=no sockets its `Sockets=` names (service_collect_fds())."""
        fds: list[int] = []
        names: list[str] = []
        named = set(sockets)
        # (the index holds every Accept=no socket whose Service= it is, timers beside them)
        serving = [n for n in self._index().get(service, ()) if n in self.sockets]
        for name in sorted(named.intersection(self.sockets).union(serving)):
            m = self.sockets[name]
            if not m.config.accept and (m.config.service == service or name in named):
                for fd in m.fds:
                    if fd not in fds:  # duplicates removed (spec 05 §1.4)
                        fds.append(fd)
                        names.append(m.config.fd_name)
        return tuple(fds), tuple(names)
