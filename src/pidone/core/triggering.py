"""What socket and timer machines say to the manager about the unit they trigger, and back.

Both `.socket` and `.timer` units exist to put a start job on another unit (their
Triggers=, man 5 systemd.socket, man 5 systemd.timer). They never touch that unit
themselves: they return `StartUnit`, the manager enqueues a start job in mode replace
(systemd: manager_add_job(JOB_START, trigger, JOB_REPLACE)), and the manager reports every
state change of the triggered unit back as `TriggeredUnitChanged` (systemd:
unit_trigger_notify() -> socket_trigger_notify()/timer_trigger_notify()). A start job the
manager cannot even enqueue (unit not found, masked, bad setting) comes back as
`TriggerRefused`, which fails the triggering unit with Result=resources as systemd does.

`Now` carries both clocks for timers, whose calendar triggers live on CLOCK_REALTIME and
whose OnBootSec=-style triggers live on CLOCK_MONOTONIC (microseconds, like all of core).
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass
from pidone.core.hints import Literal

Clock = Literal["monotonic", "realtime"]


@dataclass(frozen=True, slots=True)
class Now:
    """The two clocks at the moment an event is handled (µs)."""

    realtime: int
    monotonic: int

    def realtime_of(self, monotonic: int) -> int:
        """map_clock_usec(MONOTONIC -> REALTIME) for a monotonic time point."""
        return self.realtime - (self.monotonic - monotonic)


# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartUnit:
    """Enqueue a start job (mode replace) for `target` on behalf of `unit`.

    `env` is added to the environment of the target's processes (TRIGGER_UNIT=... for
    timers, systemd's ActivationDetails). `fds`/`fd_names` are sockets to hand over as
    LISTEN_FDS (fd 3, 4, ...; LISTEN_FDNAMES); `stdin_fd` is an accepted connection for an
    Accept=yes instance: it becomes fd 3 (LISTEN_FDS=1), or stdin/stdout with
    StandardInput=socket. The manager owns an accepted fd from here on and must close it
    when the instance is gone or could not be started.
    """

    unit: str
    target: str
    env: tuple[tuple[str, str], ...] = ()
    fds: tuple[int, ...] = ()
    fd_names: tuple[str, ...] = ()
    connection_fd: int = -1
    # the Accept=yes peer as service_set_socket_fd() names it (getpeername_pretty()): the
    # instance's description becomes "Description (PEER)"
    peer: str = ""


@dataclass(frozen=True, slots=True)
class ArmWakeup:
    """Report `TimerFired(token)` once `clock` reaches `deadline_usec`.

    `accuracy_usec` is the slack the loop may add to coalesce wake-ups (AccuracySec=,
    sd_event_add_time()'s accuracy); firing at exactly the deadline is always correct. A
    realtime deadline may be armed as a monotonic one computed from `Now`: the machine
    re-checks the wall clock when it fires and re-arms if it is still early.
    """

    token: str
    clock: Clock
    deadline_usec: int
    accuracy_usec: int = 0


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TriggeredUnitChanged:
    """The unit `target`, triggered by `unit`, changed state (unit_trigger_notify()).

    `inactive_exit_usec`/`inactive_enter_usec` are the target's monotonic timestamps
    (InactiveExitTimestampMonotonic=, InactiveEnterTimestampMonotonic=): the bases of
    OnUnitActiveSec=/OnUnitInactiveSec=. `has_job`: a job is still queued for the target;
    `start_limit_hit`: its start rate limit refused a start (StartLimitBurst=).
    """

    unit: str
    target: str
    active_state: str
    sub_state: str = ""
    inactive_exit_usec: int = 0
    inactive_enter_usec: int = 0
    has_job: bool = False
    start_limit_hit: bool = False


@dataclass(frozen=True, slots=True)
class TriggerRefused:
    """The manager could not enqueue the start job of a StartUnit (`reason`: one line)."""

    unit: str
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class StartFailed:
    """A start request failed before anything changed (socket_start() returning an error,
    e.g. "Socket service X already active, refusing."): the start job ends `failed`."""

    unit: str
