"""The value formats of `systemctl status`: sizes, exit descriptions, time spans, timestamps.

Pure, and cheap to import: `pidone status` is start-up-bound (bench/cli.py). The exit
status names, time spans and relative times are the originals, re-exported:
core.exitstatus.format_exit_status, core.timefmt.format_timespan (core.values re-exports
it too) and core.timefmt.format_timestamp_relative as format_relative; those modules
import no dataclasses, datetime or typing at load for that reason.
format_local_timestamp is core.timefmt.format_timestamp from a broken-down time
(time.localtime, passed in by the CLI: the core reads no clock and no zone file).
"""

from __future__ import annotations

from pidone.core.exitstatus import format_exit_status
from pidone.core.statusview import CLD_DUMPED, CLD_EXITED, CLD_KILLED
from pidone.core.timefmt import format_timespan
from pidone.core.timefmt import format_timestamp_relative as format_relative

__all__ = [
    "format_bytes",
    "format_exit_description",
    "format_exit_status",
    "format_local_timestamp",
    "format_relative",
    "format_timespan",
]

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `pidone status` must not import typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    class TimeParts(Protocol):
        """The struct_time fields read here (time.localtime() returns one)."""

        @property
        def tm_year(self) -> int: ...
        @property
        def tm_mon(self) -> int: ...
        @property
        def tm_mday(self) -> int: ...
        @property
        def tm_hour(self) -> int: ...
        @property
        def tm_min(self) -> int: ...
        @property
        def tm_sec(self) -> int: ...
        @property
        def tm_wday(self) -> int: ...
        @property
        def tm_zone(self) -> str: ...

    # time.localtime (the CLI's zone) or time.gmtime
    LocalTime = Callable[[float], TimeParts]


def format_bytes(size: int) -> str:
    """format_bytes(): IEC factors, suffix without `i`, one decimal digit TRUNCATED."""
    if size < 1024:
        return f"{size}B"
    suffixes = "KMGTPE"
    for index in range(len(suffixes) - 1, -1, -1):
        factor = 1024 ** (index + 1)
        if size >= factor:
            # the tenth digit is taken from the size in the next smaller unit, as
            # format_bytes_full() does: (t / next_factor * 10 / 1024) % 10
            next_factor = factor // 1024
            tenths = (size // next_factor * 10 // 1024) % 10 if index else size * 10 // 1024 % 10
            return f"{size // factor}.{tenths}{suffixes[index]}"
    return f"{size}B"  # pragma: no cover - the loop always returns


def format_exit_description(code: int, status: int) -> str:
    """`code=exited, status=1/FAILURE` / `code=killed, signal=TERM` (status flavour)."""
    if code == CLD_EXITED:
        return f"code=exited, status={format_exit_status(status)}"
    from pidone.core.signames import signal_name  # only for a killed process

    word = "dumped" if code == CLD_DUMPED else "killed" if code == CLD_KILLED else "unknown"
    return f"code={word}, signal={signal_name(status)}"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def format_local_timestamp(usec: int, localtime: LocalTime) -> str:
    """`Sun 2026-11-29 13:21:08 UTC` (core.timefmt.format_timestamp in the local zone) from
    a broken-down time; "n/a" for 0."""
    if usec <= 0:
        return "n/a"
    t = localtime(usec // 1_000_000)
    return (
        f"{_DAYS[t.tm_wday]} {t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {t.tm_zone}"
    )
