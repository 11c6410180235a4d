"""Calendar event expressions (man 7 systemd.time, "CALENDAR EVENTS"; spec 05 §2.3).

`parse_calendar(text)` gives a `CalendarSpec` whose `format()` is systemd 252's normalized
form, and `next_elapse(spec, after_usec, tz)` the first matching time strictly after a
base, as `systemd-analyze calendar` computes them.

Shape: `[WEEKDAYS] [DATE] [TIME] [TIMEZONE]`, or a shorthand (`daily`, `weekly`, ...).
Each numeric field is a comma list of components `*`, `A`, `A..B`, `A/R`, `A..B/R`; as in
252 a repetition needs an explicit start (`*/2` is an error: write `0/2`). Components are
kept sorted by (start, stop, repeat) and deduplicated, which is how systemd normalizes
(`1..3,2,1/5` prints as `01/5,01..03,02`). Seconds are stored in microseconds.
`~` before the day counts from the end of the month (`~01` = the last day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import ValueParseError

USEC = 1_000_000
YEAR_MIN, YEAR_MAX = 1970, 2199
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SHORTHANDS = {
    "minutely": "*-*-* *:*:00",
    "hourly": "*-*-* *:00:00",
    "daily": "*-*-* 00:00:00",
    "monthly": "*-*-01 00:00:00",
    "weekly": "Mon *-*-* 00:00:00",
    "yearly": "*-01-01 00:00:00",
    "annually": "*-01-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00",
    "semiannually": "*-01,07-01 00:00:00",
}


@dataclass(frozen=True, slots=True, order=True)
class Component:
    """One list item: `start`, or `start..stop`, with an optional `/repeat` (-1: unset)."""

    start: int
    stop: int = -1
    repeat: int = 0

    def matches(self, value: int) -> bool:
        if value < self.start or (self.stop >= 0 and value > self.stop):
            return False
        if self.repeat:
            return (value - self.start) % self.repeat == 0
        return self.stop >= 0 or value == self.start


Field = tuple[Component, ...]  # empty tuple = "*"


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    weekdays: int  # bit 0 = Monday; 0 = any day
    year: Field
    month: Field
    day: Field
    hour: Field
    minute: Field
    second: Field  # microseconds
    end_of_month: bool = False
    timezone: str = ""  # "", "UTC" or an IANA name

    def format(self) -> str:
        parts = []
        if self.weekdays:
            parts.append(_format_weekdays(self.weekdays))
        sep = "~" if self.end_of_month else "-"
        parts.append(
            f"{_format_field(self.year, 4)}-{_format_field(self.month, 2)}{sep}"
            f"{_format_field(self.day, 2)}"
        )
        parts.append(
            f"{_format_field(self.hour, 2)}:{_format_field(self.minute, 2)}:"
            f"{_format_field(self.second, 2, usec=True)}"
        )
        if self.timezone:
            parts.append(self.timezone)
        return " ".join(parts)


def _format_value(value: int, width: int, usec: bool) -> str:
    if not usec:
        return f"{value:0{width}d}"
    seconds, micros = divmod(value, USEC)
    return f"{seconds:02d}" + (f".{micros:06d}" if micros else "")


def _format_field(field: Field, width: int, usec: bool = False) -> str:
    if not field:
        return "*"
    out = []
    for comp in field:
        text = _format_value(comp.start, width, usec)
        if comp.stop >= 0:
            text += ".." + _format_value(comp.stop, width, usec)
        if comp.repeat:
            if usec:
                whole, micros = divmod(comp.repeat, USEC)
                text += f"/{whole}" + (f".{micros:06d}" if micros else "")
            else:
                text += f"/{comp.repeat}"
        out.append(text)
    return ",".join(out)


def _format_weekdays(bits: int) -> str:
    out: list[str] = []
    run_start = -1
    for day in range(8):
        on = day < 7 and bool(bits & (1 << day))
        if on and run_start < 0:
            run_start = day
        elif not on and run_start >= 0:
            last = day - 1
            if last == run_start:
                out.append(WEEKDAYS[run_start])
            elif last == run_start + 1:
                out.append(f"{WEEKDAYS[run_start]},{WEEKDAYS[last]}")
            else:
                out.append(f"{WEEKDAYS[run_start]}..{WEEKDAYS[last]}")
            run_start = -1
    return ",".join(out)


# -- parsing ---------------------------------------------------------------------------------


def _fail(text: str) -> ValueParseError:
    return ValueParseError(f"Failed to parse calendar specification '{text}': Invalid argument")


def _weekday_index(word: str) -> int:
    low = word.lower()
    for index, name in enumerate(WEEKDAYS):
        if low in (name.lower(), _FULL_WEEKDAYS[index]):
            return index
    raise ValueError(word)


def _parse_weekdays(text: str) -> int:
    bits = 0
    for item in text.split(","):
        first, dots, last = item.partition("..")
        a = _weekday_index(first)
        b = _weekday_index(last) if dots else a
        if b < a:
            raise ValueError(item)
        for day in range(a, b + 1):
            bits |= 1 << day
    return bits


def _parse_number(text: str, usec: bool) -> int:
    if usec:
        whole, dot, frac = text.partition(".")
        if not whole.isdigit() or (dot and (not frac.isdigit() or len(frac) > 6)):
            raise ValueError(text)
        return int(whole) * USEC + (int(frac.ljust(6, "0")) if dot else 0)
    if not text.isdigit():
        raise ValueError(text)
    return int(text)


def _parse_field(text: str, low: int, high: int, usec: bool = False, year: bool = False) -> Field:
    if text == "*":
        return ()
    comps = set()
    for item in text.split(","):
        body, slash, rep = item.partition("/")
        first, dots, last = body.partition("..")
        if first == "*":
            raise ValueError(item)  # 252 refuses "*/R" and "*..B"
        start = _parse_number(first, usec)
        stop = _parse_number(last, usec) if dots else -1
        repeat = _parse_number(rep, usec) if slash else 0
        if year and len(first) <= 2:
            start += 2000 if start < 70 else 1900
        if slash and repeat <= 0:
            raise ValueError(item)
        scale = USEC if usec else 1
        top = high * scale + (scale - 1 if usec else 0)
        if not low * scale <= start <= top:
            raise ValueError(item)
        if dots and (stop < start or stop > top):
            raise ValueError(item)
        if repeat and not dots and start + repeat > high * scale:
            raise ValueError(item)  # 252: a repetition must reach a second value
        if usec and dots and not slash and stop == start:
            raise ValueError(item)  # 252 quirk: `58..58` is refused for seconds only
        if repeat and dots:
            # 252 keeps only reachable values: `31..48/2` prints as `31..47/2`, and a
            # range that holds a single value becomes that value.
            stop = start + (stop - start) // repeat * repeat
            if repeat == scale:
                repeat = 0
        if dots and stop == start:
            stop, repeat = -1, 0
        comps.add(Component(start, stop, repeat))
    return tuple(sorted(comps))


def parse_calendar(text: str, known_timezone: frozenset[str] | None = None) -> CalendarSpec:
    """Parse one expression; ValueParseError with systemd-analyze's wording on failure.

    `known_timezone`: the IANA names to accept as a trailing zone (None: any name with a
    slash or a plain word the caller resolves later).
    """
    original = text
    words = text.split()
    if not words:
        raise _fail(original)
    if len(words) == 1 and words[0] in SHORTHANDS:
        words = SHORTHANDS[words[0]].split()
    zone = ""
    last = words[-1]
    may_be_zone = len(words) > 1 or not any(ch in last for ch in ":-~")
    if may_be_zone and (
        last == "UTC"
        or (
            last[:1].isalpha()
            and not any(ch in last for ch in ":*~.,")
            and (known_timezone is None or last in known_timezone)
            and not _looks_like_weekdays(last)
        )
    ):
        zone, words = last, words[:-1]
    if zone and not words:
        raise _fail(original)
    weekdays = 0
    try:
        if words and _looks_like_weekdays(words[0]):
            weekdays = _parse_weekdays(words[0])
            if weekdays == 0x7F:
                weekdays = 0  # every day of the week is no restriction at all
            words = words[1:]
        date_text = time_text = None
        for word in words:
            if ":" in word:
                if time_text is not None:
                    raise ValueError(word)
                time_text = word
            elif date_text is None and time_text is None:
                date_text = word
            else:
                raise ValueError(word)
        if date_text is None and time_text is None and not weekdays:
            raise ValueError(original)
        year: Field = ()
        month: Field = ()
        day: Field = ()
        end_of_month = False
        if date_text is not None:
            if "~" in date_text:
                head, _, day_text = date_text.rpartition("~")
                end_of_month = True
                pieces = [*head.split("-"), day_text]
            else:
                pieces = date_text.split("-")
            if len(pieces) == 3:
                year = _parse_field(pieces[0], YEAR_MIN, YEAR_MAX, year=True)
                month = _parse_field(pieces[1], 1, 12)
                day = _parse_field(pieces[2], 1, 31)
            elif len(pieces) == 2:
                month = _parse_field(pieces[0], 1, 12)
                day = _parse_field(pieces[1], 1, 31)
            else:
                raise ValueError(date_text)
        hour: Field = (Component(0),)
        minute: Field = (Component(0),)
        second: Field = (Component(0),)
        if time_text is not None:
            pieces = time_text.split(":")
            if len(pieces) not in (2, 3):
                raise ValueError(time_text)
            hour = _parse_field(pieces[0], 0, 23)
            minute = _parse_field(pieces[1], 0, 59)
            second = (
                _parse_field(pieces[2], 0, 59, usec=True) if len(pieces) == 3 else (Component(0),)
            )
    except ValueError:
        raise _fail(original) from None
    return CalendarSpec(weekdays, year, month, day, hour, minute, second, end_of_month, zone)


def _looks_like_weekdays(word: str) -> bool:
    head = word.split(",")[0].split("..")[0]
    try:
        _weekday_index(head)
    except ValueError:
        return False
    return True


# -- next elapse -------------------------------------------------------------------------------


def _candidates(field: Field, low: int, high: int) -> list[int]:
    if not field:
        return list(range(low, high + 1))
    return sorted({v for v in range(low, high + 1) if any(c.matches(v) for c in field)})


def _second_candidates(field: Field) -> list[int]:
    if not field:
        return [s * USEC for s in range(60)]
    values: set[int] = set()
    for comp in field:
        stop = comp.stop if comp.stop >= 0 else 60 * USEC - 1
        if comp.repeat:
            values.update(range(comp.start, stop + 1, comp.repeat))
        elif comp.stop >= 0:
            values.update(v * USEC for v in range(-(-comp.start // USEC), stop // USEC + 1))
        else:
            values.add(comp.start)
    return sorted(v for v in values if v < 60 * USEC)


# Days per month (Gregorian). Not the stdlib calendar module: it imports locale, together
# ~0.5 MiB of RSS in a daemon that loads this module for every timer unit it might parse.
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    """calendar.monthrange(year, month)[1]."""
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return _MONTH_DAYS[month] + (month == 2 and leap)


def _days(spec: CalendarSpec, year: int, month: int) -> list[int]:
    last = _days_in_month(year, month)
    if not spec.day:
        return list(range(1, last + 1))
    if not spec.end_of_month:
        return _candidates(spec.day, 1, last)
    # `~D` is the D-th day counted from the month's end (~01 = the last day); a repetition
    # walks towards the end of the month.
    days: set[int] = set()
    for comp in spec.day:
        first = last - comp.start + 1
        if comp.stop >= 0:
            days.update(range(last - comp.stop + 1, first + 1))
        elif comp.repeat:
            days.update(range(first, last + 1, comp.repeat))
        else:
            days.add(first)
    return sorted(d for d in days if 1 <= d <= last)


def next_elapse(spec: CalendarSpec, after_usec: int, tz: tzinfo) -> int | None:
    """The first time strictly after `after_usec` matching `spec`, in µs; None for never."""
    base = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=after_usec)).astimezone(tz)
    base_key = (
        base.year,
        base.month,
        base.day,
        base.hour,
        base.minute,
        base.second * USEC + base.microsecond,
    )
    hours = _candidates(spec.hour, 0, 23)
    minutes = _candidates(spec.minute, 0, 59)
    seconds = _second_candidates(spec.second)
    if not (hours and minutes and seconds):
        return None
    for year in _candidates(spec.year, max(base.year, YEAR_MIN), YEAR_MAX):
        for month in _candidates(spec.month, 1, 12):
            if (year, month) < (base.year, base.month):
                continue
            for day in _days(spec, year, month):
                if (year, month, day) < base_key[:3]:
                    continue
                if spec.weekdays and not spec.weekdays & (1 << date(year, month, day).weekday()):
                    continue
                same_day = (year, month, day) == base_key[:3]
                for hour in hours:
                    if same_day and hour < base.hour:
                        continue
                    for minute in minutes:
                        if same_day and (hour, minute) < base_key[3:5]:
                            continue
                        for second in seconds:
                            if same_day and (hour, minute, second) <= base_key[3:]:
                                continue
                            moment = datetime(
                                year,
                                month,
                                day,
                                hour,
                                minute,
                                second // USEC,
                                second % USEC,
                                tzinfo=tz,
                            )
                            delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
                            result = (
                                delta.days * 86400 + delta.seconds
                            ) * USEC + delta.microseconds
                            if result > after_usec:
                                return result
    return None
