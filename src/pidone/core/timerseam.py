"""The timer machine's seam: its config, host facts, the events it takes and the actions it
gives (core.timerunit runs on them).

`build_timer_config()` turns the [Timer] model into a TimerConfig (calendar expressions
parsed, zones resolved). These live apart from the machine so that the manager,
TriggerUnits and the daemon name them without loading core.timerunit: a daemon without
timer units never imports it (nor core.calendar, which only OnCalendar= needs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, tzinfo

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import ValueParseError
from pidone.core.hints import TYPE_CHECKING
from pidone.core.model import TimerSection, Unit
from pidone.core.triggering import ArmWakeup, StartUnit, TriggeredUnitChanged, TriggerRefused

if TYPE_CHECKING:
    from pidone.core.calendar import CalendarSpec

MONOTONIC_BASES = (
    "OnActiveSec",
    "OnBootSec",
    "OnStartupSec",
    "OnUnitActiveSec",
    "OnUnitInactiveSec",
)


def monotonic_triggers(t: TimerSection) -> list[tuple[str, int]]:
    """(base, usec) for every On*Sec= value of `t`, bases in MONOTONIC_BASES order."""
    values = (
        t.on_active_usec,
        t.on_boot_usec,
        t.on_startup_usec,
        t.on_unit_active_usec,
        t.on_unit_inactive_usec,
    )
    return [
        (base, usec) for base, usecs in zip(MONOTONIC_BASES, values, strict=True) for usec in usecs
    ]


@dataclass(frozen=True, slots=True)
class CalendarTrigger:
    text: str  # systemd's normalized form (calendar_spec_to_string())
    spec: CalendarSpec
    zone: tzinfo


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """What the machine needs from [Timer], with calendar expressions parsed."""

    unit: str
    target: str
    monotonic: tuple[tuple[str, int], ...] = ()  # ("OnBootSec", usec) in file order
    calendar: tuple[CalendarTrigger, ...] = ()
    accuracy_usec: int = 60_000_000
    randomized_delay_usec: int = 0
    fixed_random_delay: bool = False
    persistent: bool = False
    remain_after_elapse: bool = True
    on_clock_change: bool = False
    on_timezone_change: bool = False
    zone: tzinfo = UTC  # the manager's local zone, for log lines


@dataclass(frozen=True, slots=True)
class TimerHost:
    """Facts about the manager: MANAGER_TIMESTAMP_USERSPACE, container, identity."""

    startup_monotonic: int = 0
    in_container: bool = False  # OnBootSec= then counts from the manager start
    machine_id: bytes = bytes(16)  # the 16 raw bytes: bytes.fromhex(/etc/machine-id text)
    system: bool = True
    uid: int = 0


@dataclass(frozen=True, slots=True)
class SaveStamp:
    """Persistent=: set the mtime of `<state dir>/timers/stamp-<unit>` to `usec` (realtime)."""

    unit: str
    usec: int


@dataclass(frozen=True, slots=True)
class ClockChanged:
    """The wall clock jumped (TFD_TIMER_CANCEL_ON_SET) or, with `timezone`, the zone changed."""

    unit: str
    timezone: bool = False


TimerEvent = (
    ev.StartRequested
    | ev.StopRequested
    | ev.ResetFailedRequested
    | ev.TimerFired
    | TriggeredUnitChanged
    | TriggerRefused
    | ClockChanged
)
TimerAction = act.StateChanged | act.Log | act.CancelTimer | ArmWakeup | StartUnit | SaveStamp


def build_timer_config(
    unit: Unit, zone: tzinfo, resolve_zone: Callable[[str], tzinfo | None]
) -> tuple[TimerConfig, list[str]]:
    """TimerConfig from a loaded unit; also the warnings for calendar specs left out.

    `resolve_zone` maps a zone named in an expression (`Europe/Berlin`) to a tzinfo, or
    None when it is unknown (the I/O side owns the zoneinfo database).
    """
    t = unit.timer
    if t is None:
        raise ValueError(f"{unit.id} is not a timer")
    warnings: list[str] = []
    calendars: list[CalendarTrigger] = []
    for text in t.on_calendar:
        # core.calendar only for OnCalendar= (a daemon without such timers never loads it)
        from pidone.core.calendar import parse_calendar

        try:
            spec = parse_calendar(text)
        except ValueParseError:
            warnings.append(f"Failed to parse calendar specification, ignoring: {text}")
            continue
        spec_zone = zone
        if spec.timezone == "UTC":
            spec_zone = UTC
        elif spec.timezone:
            found = resolve_zone(spec.timezone)
            if found is None:
                warnings.append(f"Failed to parse calendar specification, ignoring: {text}")
                continue
            spec_zone = found
        calendars.append(CalendarTrigger(spec.format(), spec, spec_zone))
    monotonic = monotonic_triggers(t)
    config = TimerConfig(
        unit=unit.id,
        target=t.unit or unit.id.rsplit(".", 1)[0] + ".service",
        monotonic=tuple(monotonic),
        calendar=tuple(calendars),
        accuracy_usec=t.accuracy_usec,
        randomized_delay_usec=t.randomized_delay_usec,
        fixed_random_delay=t.fixed_random_delay,
        persistent=t.persistent,
        remain_after_elapse=t.remain_after_elapse,
        on_clock_change=t.on_clock_change,
        on_timezone_change=t.on_timezone_change,
        zone=zone,
    )
    return config, warnings
