"""`systemctl list-timers` and the timer properties of `systemctl show`, as systemd 252 prints them.

Pure: rows and machines in, text out. list-timers (src/systemctl/systemctl-list-units.c
output_timers_list()): columns NEXT LEFT LAST PASSED UNIT ACTIVATES in format-table layout,
NEXT/LAST as `Sun 2026-11-29 13:23:33 UTC`, LEFT/PASSED relative (`863ms left`,
`5min ago`), `-` when unset; rows sorted by next elapse (an unset one, 0, sorts first),
then unit name. NEXT is the earlier of the realtime elapse and the monotonic one mapped to
the wall clock (calc_next_elapse()). Footer: a blank line, `N timers listed.`, and without
--all `Pass --all to see loaded but inactive timers, too.`
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo

from pidone.core.dataclass_lite import dataclass
from pidone.core.model import Unit
from pidone.core.render.fmttable import format_table
from pidone.core.timefmt import format_timestamp, format_timestamp_relative
from pidone.core.timerseam import monotonic_triggers
from pidone.core.timerunit import TimerMachine
from pidone.core.triggering import Now
from pidone.core.values import USEC_INFINITY, format_timespan

Property = tuple[str, str]
TimestampFormatter = Callable[[int], str]

HEADER = ("next", "left", "last", "passed", "unit", "activates")


@dataclass(frozen=True, slots=True)
class TimerRow:
    """One timer as list-timers shows it (realtime µs; 0 = none)."""

    unit: str
    activates: tuple[str, ...]
    next_elapse: int
    last_trigger: int


def _is_set(usec: int) -> bool:
    return 0 < usec < USEC_INFINITY


def calc_next_elapse(now: Now, realtime: int, monotonic: int) -> int:
    """The wall-clock time of the next elapse: monotonic mapped through `now`, the earlier
    of the two when both are set, 0 when neither is (systemctl calc_next_elapse())."""
    if not _is_set(monotonic):
        return realtime if _is_set(realtime) else 0  # neither set: 0, shown as n/a or -
    converted = now.realtime + (monotonic - now.monotonic)
    return min(converted, realtime) if _is_set(realtime) else converted


def timer_row(machine: TimerMachine, now: Now) -> TimerRow:
    """The list-timers row of a timer machine (its NextElapseUSec*, LastTriggerUSec)."""
    m = machine
    nxt = calc_next_elapse(now, m.next_elapse_realtime, m.next_elapse_monotonic)
    return TimerRow(m.name, (m.config.target,), nxt, m.last_trigger[0])


def format_list_timers(
    rows: Sequence[TimerRow],
    now_realtime: int,
    tz: tzinfo | None = None,
    show_all: bool = False,
    legend: bool = True,
) -> str:
    """The whole output, ending with a newline. `rows` are already filtered (without
    --all only timers that are not inactive or have a job: output_show_unit())."""

    def stamp(usec: int) -> str:
        return format_timestamp(usec, tz) if _is_set(usec) else ""

    def relative(usec: int) -> str:
        return format_timestamp_relative(usec, now_realtime) if _is_set(usec) else ""

    # timer_info_compare() by next elapse, then name; a timer with none has USEC_INFINITY
    # there (systemctl's calc_next_elapse() of two unset clocks): listed last (oracle:
    # tests/data/oracle/capture-list-triggers-252.md, a stopped logrotate.timer)
    ordered = sorted(
        rows, key=lambda r: (r.next_elapse if _is_set(r.next_elapse) else USEC_INFINITY, r.unit)
    )
    cells = [
        (
            stamp(r.next_elapse),
            relative(r.next_elapse),
            stamp(r.last_trigger),
            relative(r.last_trigger),
            r.unit,
            ", ".join(r.activates),
        )
        for r in ordered
    ]
    lines = format_table(HEADER, cells, legend)
    if legend:
        lines += ["", f"{len(rows)} timers listed."]
        if not show_all:
            lines.append("Pass --all to see loaded but inactive timers, too.")
    return "".join(line + "\n" for line in lines)


def _usec_name(base: str) -> str:
    """`OnUnitActiveSec` -> `OnUnitActiveUSec` (the D-Bus spelling show prints)."""
    return base[: -len("Sec")] + "USec"


def timer_properties(
    unit: Unit, machine: TimerMachine | None, fmt: TimestampFormatter
) -> list[Property]:
    """The [Timer] properties of `systemctl show` in 252's order, with runtime values.

    `machine` None = loaded but never started (next elapses USEC_INFINITY, as
    timer_init() leaves them). `fmt` formats a realtime timestamp (the caller's zone).
    """
    t = unit.timer
    if t is None:
        raise ValueError(f"{unit.id} is not a timer")

    def stamp(usec: int) -> str:
        return fmt(usec) if _is_set(usec) else ""

    target = t.unit or unit.id.rsplit(".", 1)[0] + ".service"
    props: list[Property] = [("Unit", target)]
    if machine is not None:
        for v in machine.values:
            if v.calendar is None:
                text = f"{_usec_name(v.base)}={format_timespan(v.usec)}"
                props.append(
                    (
                        "TimersMonotonic",
                        f"{{ {text} ; next_elapse={format_timespan(v.next_elapse)} }}",
                    )
                )
        for v in machine.values:
            if v.calendar is not None:
                when = fmt(v.next_elapse) if _is_set(v.next_elapse) else "n/a"
                props.append(
                    ("TimersCalendar", f"{{ OnCalendar={v.calendar.text} ; next_elapse={when} }}")
                )
        next_real, next_mono = machine.next_elapse_realtime, machine.next_elapse_monotonic
        last_real, last_mono = machine.last_trigger
        result = machine.result.value
    else:
        props += [
            ("TimersMonotonic", f"{{ {_usec_name(base)}={format_timespan(u)} ; next_elapse=0 }}")
            for base, u in monotonic_triggers(t)
        ]
        props += [
            ("TimersCalendar", f"{{ OnCalendar={c} ; next_elapse=n/a }}") for c in t.on_calendar
        ]
        next_real = next_mono = USEC_INFINITY
        last_real = last_mono = 0
        result = "success"
    props += [
        ("OnClockChange", _yes_no(t.on_clock_change)),
        ("OnTimezoneChange", _yes_no(t.on_timezone_change)),
        ("NextElapseUSecRealtime", stamp(next_real)),
        ("NextElapseUSecMonotonic", format_timespan(next_mono)),
        ("LastTriggerUSec", stamp(last_real)),
        ("LastTriggerUSecMonotonic", format_timespan(last_mono)),
        ("Result", result),
        ("AccuracyUSec", format_timespan(t.accuracy_usec)),
        ("RandomizedDelayUSec", format_timespan(t.randomized_delay_usec)),
        ("FixedRandomDelay", _yes_no(t.fixed_random_delay)),
        ("Persistent", _yes_no(t.persistent)),
        ("WakeSystem", _yes_no(t.wake_system)),
        ("RemainAfterElapse", _yes_no(t.remain_after_elapse)),
    ]
    return props


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"
