"""systemd's timestamp syntax for --since/--until (man 7 systemd.time), given `now`.

Accepted, as journalctl 252 accepts them: `YYYY-MM-DD [HH:MM[:SS[.frac]]]`,
`HH:MM[:SS]` (today), an optional leading weekday and trailing ` UTC`, `now`, `today`,
`yesterday`, `tomorrow`, `+5min` / `-1h` (relative to now), `2 hours ago`, `@EPOCH`.
Results are microseconds since the epoch. Local time is the process's time zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pidone.core.errors import ValueParseError
from pidone.core.values import parse_timespan

_WEEKDAYS = (
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?$")


def _to_usec(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_timestamp(text: str, now_usec: int) -> int:
    """Parse one timestamp; raise ValueParseError with journalctl's wording."""
    raw = text
    text = text.strip()
    now = datetime.fromtimestamp(now_usec / 1_000_000, tz=UTC).astimezone()
    tz = now.tzinfo
    if text.endswith(" UTC"):
        text, tz = text[:-4].strip(), UTC
    if text == "now":
        return now_usec
    if text.startswith("@"):
        try:
            return round(float(text[1:]) * 1_000_000)
        except ValueError:
            raise ValueParseError(f"Failed to parse timestamp: {raw}") from None
    if text.startswith(("+", "-")):
        span = parse_timespan(text[1:])
        return now_usec + span if text[0] == "+" else now_usec - span
    if text.endswith(" ago"):
        return now_usec - parse_timespan(text[:-4])
    local_now = now.astimezone(tz)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if text in days:
        return _to_usec(midnight + timedelta(days=days[text]))
    first, _, rest = text.partition(" ")
    if first.lower() in _WEEKDAYS and rest:
        text = rest.strip()
    match = _DATE.match(text)
    if match:
        year, month, day, hour, minute, second, frac = match.groups()
        try:
            moment = datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                tzinfo=tz,
            )
        except ValueError:
            raise ValueParseError(f"Failed to parse timestamp: {raw}") from None
        return _to_usec(moment) + (round(float(frac) * 1_000_000) if frac else 0)
    match = _TIME.match(text)
    if match:
        hour, minute, second, frac = match.groups()
        try:
            moment = midnight.replace(hour=int(hour), minute=int(minute), second=int(second or 0))
        except ValueError:
            raise ValueParseError(f"Failed to parse timestamp: {raw}") from None
        return _to_usec(moment) + (round(float(frac) * 1_000_000) if frac else 0)
    raise ValueParseError(f"Failed to parse timestamp: {raw}")
