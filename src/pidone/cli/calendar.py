"""`pidone calendar EXPR...`: normalize calendar expressions and show their next elapses,
as `systemd-analyze calendar` does (same layout, `--iterations=N`, `--base-time=TS`)."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, tzinfo


def local_timezone() -> tzinfo:
    """$TZ, else /etc/localtime, else UTC: a real zone, so DST rules apply."""
    import zoneinfo

    name = os.environ.get("TZ", "").lstrip(":")
    try:
        if name:
            return zoneinfo.ZoneInfo(name)
        with open("/etc/localtime", "rb") as f:
            return zoneinfo.ZoneInfo.from_file(f, key="localtime")
    except (OSError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        return UTC


def _zone(name: str, local: tzinfo) -> tzinfo:
    import zoneinfo

    if not name:
        return local
    if name == "UTC":
        return UTC
    return zoneinfo.ZoneInfo(name)


def main(argv: list[str]) -> int:
    from pidone.core.calendar import next_elapse, parse_calendar
    from pidone.core.errors import ValueParseError
    from pidone.core.timefmt import format_timestamp, format_timestamp_relative
    from pidone.core.timestamp import parse_timestamp

    iterations = 1
    base: str | None = None
    exprs: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg.startswith("--iterations"):
            value = arg.partition("=")[2] or next(args, "")
            if not value.isdigit() or int(value) < 1:
                sys.stderr.write(f"Failed to parse --iterations= argument: {value}\n")
                return 1
            iterations = int(value)
        elif arg.startswith("--base-time"):
            base = arg.partition("=")[2] or next(args, "")
        elif arg.startswith("-") and arg != "-":
            sys.stderr.write(f"pidone calendar: unknown option {arg}\n")
            return 1
        else:
            exprs.append(arg)
    if not exprs:
        sys.stderr.write("pidone calendar: expected a calendar expression\n")
        return 1
    local = local_timezone()
    now = time.time_ns() // 1000
    try:
        base_usec = parse_timestamp(base, now) if base else now
    except ValueParseError:
        sys.stderr.write(f"Failed to parse --base-time= parameter: {base}\n")
        return 1
    out: list[str] = []
    rc = 0
    for index, expr in enumerate(exprs):
        try:
            spec = parse_calendar(expr)
            zone = _zone(spec.timezone, local)
        except (ValueParseError, ValueError, OSError, KeyError) as exc:
            message = (
                str(exc)
                if isinstance(exc, ValueParseError)
                else (f"Failed to parse calendar specification '{expr}': Invalid argument")
            )
            sys.stdout.write("".join(out))
            out = []
            sys.stderr.write(message + "\n")
            rc = 1
            if index < len(exprs) - 1:
                out.append("\n")  # systemd-analyze separates every pair, failed or not
            continue
        normal = spec.format()
        if normal != expr:  # systemd-analyze shows the original only when it differs
            out.append(f"  Original form: {expr}\n")
        out.append(f"Normalized form: {normal}\n")
        after = base_usec
        for n in range(1, iterations + 1):
            nxt = next_elapse(spec, after, zone)
            if nxt is None:
                if n == 1:
                    out.append("    Next elapse: never\n")
                break
            label = "    Next elapse" if n == 1 else f"       Iter. #{n}"
            out.append(f"{label}: {format_timestamp(nxt, local)}\n")
            if _offset(local, nxt) != 0:
                out.append(f"       (in UTC): {format_timestamp(nxt, UTC)}\n")
            out.append(f"       From now: {format_timestamp_relative(nxt, now)}\n")
            after = nxt
        if index < len(exprs) - 1:
            out.append("\n")
    sys.stdout.write("".join(out))
    return rc


def _offset(zone: tzinfo, usec: int) -> float:
    from pidone.core.timefmt import to_datetime

    offset = to_datetime(usec, zone).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0
