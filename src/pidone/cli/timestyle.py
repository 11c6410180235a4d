"""systemctl's --timestamp= styles (252's timestamp_style table), for `show` and `status`."""

from __future__ import annotations

import time
from collections.abc import Callable

# `µs` is the same as `us`
TIMESTAMP_STYLES = ("pretty", "unix", "us", "µs", "utc", "us+utc", "µs+utc")


def timestamp_formatter(style: str) -> Callable[[int], str]:
    """format_timestamp_style(): `pretty` (local time), `us` (with microseconds), `utc` and
    `us+utc` (in UTC, which the zone field then says), `unix` (`@` and whole seconds)."""
    style = style.replace("µs", "us")
    if style == "unix":
        return lambda usec: f"@{usec // 1_000_000}"
    clock = time.gmtime if style.endswith("utc") else time.localtime
    micro = style.startswith("us")

    def render(usec: int) -> str:
        moment = clock(usec // 1_000_000)
        text = time.strftime("%a %Y-%m-%d %H:%M:%S", moment)
        if micro:
            text += f".{usec % 1_000_000:06d}"
        return text + (" UTC" if clock is time.gmtime else time.strftime(" %Z", moment))

    return render
