"""systemd's timestamp displays: `Sun 2026-11-29 13:21:08 UTC` and `5min ago` / `18h left`.

format_timestamp() is what `systemctl status`/`show` and `systemd-analyze calendar` print
(src/basic/time-util.c format_timestamp_style, TIMESTAMP_PRETTY); the relative form is
format_timestamp_relative(). Both take microseconds since the epoch; `tz` is a tzinfo
the caller chose (the process's local zone, or one named by a calendar expression).

`datetime` is imported by the functions that need it: `pidone status` formats relative
times with this module and must not pay for that import (bench/cli.py).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `pidone status` must not import typing
if TYPE_CHECKING:
    from datetime import datetime, tzinfo

USEC_PER_SEC = 1_000_000
USEC_PER_MINUTE = 60 * USEC_PER_SEC
USEC_PER_HOUR = 60 * USEC_PER_MINUTE
USEC_PER_DAY = 24 * USEC_PER_HOUR
USEC_PER_WEEK = 7 * USEC_PER_DAY
USEC_PER_MONTH = 2_629_800 * USEC_PER_SEC
USEC_PER_YEAR = 31_557_600 * USEC_PER_SEC
USEC_INFINITY = 2**64 - 1  # == core.values.USEC_INFINITY


_FORMAT_UNITS: tuple[tuple[str, int], ...] = (
    ("y", USEC_PER_YEAR),
    ("month", USEC_PER_MONTH),
    ("w", USEC_PER_WEEK),
    ("d", USEC_PER_DAY),
    ("h", USEC_PER_HOUR),
    ("min", USEC_PER_MINUTE),
    ("s", USEC_PER_SEC),
    ("ms", 1_000),
    ("us", 1),
)


def format_timespan(usec: int, accuracy: int = 1) -> str:
    """Microseconds -> systemd's format_timespan() text, e.g. `1min 30s`, `1.500000s`."""
    if usec >= USEC_INFINITY:
        return "infinity"
    if usec <= 0:
        return "0"
    accuracy = max(accuracy, 1)
    t = usec
    parts: list[str] = []
    for suffix, unit in _FORMAT_UNITS:
        if t <= 0:
            break
        if t < accuracy and parts:
            break
        if t < unit:
            continue
        a, b = divmod(t, unit)
        if t < USEC_PER_MINUTE and b > 0:
            # Below one minute a remainder is shown as a decimal fraction of this unit,
            # with as many digits as the unit has below `accuracy`.
            j = 0
            cc = unit
            while cc > 1:
                j += 1
                cc //= 10
            cc = accuracy
            while cc > 1:
                b //= 10
                j -= 1
                cc //= 10
            if j > 0:
                parts.append(f"{a}.{b:0{j}d}{suffix}")
                t = 0
                continue
        parts.append(f"{a}{suffix}")
        t = b
    return " ".join(parts)


def to_datetime(usec: int, tz: tzinfo | None = None) -> datetime:
    from datetime import UTC, datetime, timedelta

    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=usec)
    return moment.astimezone(tz) if tz is not None else moment.astimezone()


def format_timestamp(usec: int, tz: tzinfo | None = None, *, precise: bool = False) -> str:
    """`Sun 2026-11-29 13:21:08 UTC` (with `.123456` when precise); "n/a" for 0."""
    if usec <= 0:
        return "n/a"
    moment = to_datetime(usec, tz)
    text = moment.strftime("%a %Y-%m-%d %H:%M:%S")
    if precise:
        text += f".{usec % USEC_PER_SEC:06d}"
    return f"{text} {moment.strftime('%Z')}"


def _plural(value: int, one: str, many: str) -> str:
    return f"{value} {one if value == 1 else many}"


def format_timestamp_relative(usec: int, now_usec: int) -> str:
    """`2 years 10 months ago`, `1 day 2h left`, `35min left`, `now`, as systemd words it."""
    if usec <= 0:
        return "n/a"
    if now_usec > usec:
        delta, suffix = now_usec - usec, "ago"
    else:
        delta, suffix = usec - now_usec, "left"
    if delta >= USEC_PER_YEAR:
        years, rest = divmod(delta, USEC_PER_YEAR)
        months = rest // USEC_PER_MONTH
        return f"{_plural(years, 'year', 'years')} {_plural(months, 'month', 'months')} {suffix}"
    if delta >= USEC_PER_MONTH:
        months, rest = divmod(delta, USEC_PER_MONTH)
        days = rest // USEC_PER_DAY
        return f"{_plural(months, 'month', 'months')} {_plural(days, 'day', 'days')} {suffix}"
    if delta >= USEC_PER_WEEK:
        weeks, rest = divmod(delta, USEC_PER_WEEK)
        days = rest // USEC_PER_DAY
        return f"{_plural(weeks, 'week', 'weeks')} {_plural(days, 'day', 'days')} {suffix}"
    if delta >= 2 * USEC_PER_DAY:
        return f"{delta // USEC_PER_DAY} days {suffix}"
    if delta >= 25 * USEC_PER_HOUR:
        return f"1 day {(delta - USEC_PER_DAY) // USEC_PER_HOUR}h {suffix}"
    if delta >= 6 * USEC_PER_HOUR:
        return f"{delta // USEC_PER_HOUR}h {suffix}"
    if delta >= USEC_PER_HOUR:
        hours, rest = divmod(delta, USEC_PER_HOUR)
        return f"{hours}h {rest // USEC_PER_MINUTE}min {suffix}"
    if delta >= 5 * USEC_PER_MINUTE:
        return f"{delta // USEC_PER_MINUTE}min {suffix}"
    if delta >= USEC_PER_MINUTE:
        minutes, rest = divmod(delta, USEC_PER_MINUTE)
        return f"{minutes}min {rest // USEC_PER_SEC}s {suffix}"
    if delta >= USEC_PER_SEC:
        return f"{delta // USEC_PER_SEC}s {suffix}"
    if delta >= 1000:
        return f"{delta // 1000}ms {suffix}"
    if delta > 0:
        return f"{delta}us {suffix}"
    return "now"
