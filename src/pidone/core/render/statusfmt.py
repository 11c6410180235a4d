"""The value formats of `systemctl status`: sizes, exit descriptions, time spans, timestamps.

Pure, and cheap to import: `pidone status` is start-up-bound (bench/cli.py), so the three
formats other modules also provide are restated here rather than imported, and the tests
(tests/core/test_status_render.py) compare them with those modules over many inputs:
- format_exit_status: core.exitstatus (which imports dataclasses, ~15 ms);
- format_timespan: core.values (which imports core.exitstatus);
- format_relative: core.timefmt.format_timestamp_relative (core.timefmt imports datetime).
format_local_timestamp is core.timefmt.format_timestamp from a broken-down time
(time.localtime, passed in by the CLI: the core reads no clock and no zone file).
"""

from __future__ import annotations

from pidone.core.statusview import CLD_DUMPED, CLD_EXITED, CLD_KILLED, UINT64_MAX

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


# The exit-status names `systemctl status` prints: the libc and systemd classes only
# (exit_status_to_string() with EXIT_STATUS_LIBC|EXIT_STATUS_SYSTEMD, src/basic/exit-status.c);
# LSB and BSD codes stay numbers (`status=3`). The same names as core.exitstatus (compared in
# tests/core/test_status_render.py), restated because that module imports dataclasses, which
# would double the start-up of `pidone status` for a failed unit.
_EXIT_NAMES = {
    0: "SUCCESS",
    1: "FAILURE",
    200: "CHDIR",
    201: "NICE",
    202: "FDS",
    203: "EXEC",
    204: "MEMORY",
    205: "LIMITS",
    206: "OOM_ADJUST",
    207: "SIGNAL_MASK",
    208: "STDIN",
    209: "STDOUT",
    210: "CHROOT",
    211: "IOPRIO",
    212: "TIMERSLACK",
    213: "SECUREBITS",
    214: "SETSCHEDULER",
    215: "CPUAFFINITY",
    216: "GROUP",
    217: "USER",
    218: "CAPABILITIES",
    219: "CGROUP",
    220: "SETSID",
    221: "CONFIRM",
    222: "STDERR",
    224: "PAM",
    225: "NETWORK",
    226: "NAMESPACE",
    227: "NO_NEW_PRIVILEGES",
    228: "SECCOMP",
    229: "SELINUX_CONTEXT",
    230: "PERSONALITY",
    231: "APPARMOR",
    232: "ADDRESS_FAMILIES",
    233: "RUNTIME_DIRECTORY",
    235: "CHOWN",
    236: "SMACK_PROCESS_LABEL",
    237: "KEYRING",
    238: "STATE_DIRECTORY",
    239: "CACHE_DIRECTORY",
    240: "LOGS_DIRECTORY",
    241: "CONFIGURATION_DIRECTORY",
    242: "NUMA_POLICY",
    243: "CREDENTIALS",
    244: "BPF",
    255: "EXCEPTION",
}


def format_exit_status(code: int) -> str:
    """`1/FAILURE`, `203/EXEC`, `3` (an LSB code): the status= part of an exit."""
    name = _EXIT_NAMES.get(code)
    return f"{code}/{name}" if name else str(code)


def format_exit_description(code: int, status: int) -> str:
    """`code=exited, status=1/FAILURE` / `code=killed, signal=TERM` (status flavour)."""
    if code == CLD_EXITED:
        return f"code=exited, status={format_exit_status(status)}"
    from pidone.core.signames import signal_name  # only for a killed process

    word = "dumped" if code == CLD_DUMPED else "killed" if code == CLD_KILLED else "unknown"
    return f"code={word}, signal={signal_name(status)}"


# format_timespan() units (src/basic/time-util.c), largest first; month and year are the
# averages systemd uses (30.44 and 365.25 days).
_TIMESPAN_UNITS = (
    ("y", 31_557_600_000_000),
    ("month", 2_629_800_000_000),
    ("w", 604_800_000_000),
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("min", 60_000_000),
    ("s", 1_000_000),
    ("ms", 1_000),
    ("us", 1),
)


def format_timespan(usec: int, accuracy: int = 1) -> str:
    """systemd's format_timespan(): `1min 30.500s`, `4ms`, `2h 5min` (CPU:, Duration:).

    The same function as core.values.format_timespan (tests/core/test_status_render.py
    compares them): restated because importing core.values pulls core.exitstatus and with
    it dataclasses, more start-up than `pidone status` spends on everything else.
    """
    if usec >= UINT64_MAX:
        return "infinity"
    if usec <= 0:
        return "0"
    accuracy = max(accuracy, 1)
    t = usec
    parts: list[str] = []
    for suffix, unit in _TIMESPAN_UNITS:
        if t <= 0 or (t < accuracy and parts):
            break
        if t < unit:
            continue
        a, b = divmod(t, unit)
        if t < 60_000_000 and b > 0:
            # Below one minute the remainder is a decimal fraction of this unit, with as
            # many digits as the unit has below `accuracy`.
            digits = len(str(unit)) - 1
            cut = accuracy
            while cut > 1:
                b //= 10
                digits -= 1
                cut //= 10
            if digits > 0:
                parts.append(f"{a}.{b:0{digits}d}{suffix}")
                t = 0
                continue
        parts.append(f"{a}{suffix}")
        t = b
    return " ".join(parts)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SEC = 1_000_000
_MINUTE, _HOUR, _DAY, _WEEK = 60 * _SEC, 3600 * _SEC, 86400 * _SEC, 604800 * _SEC
_MONTH, _YEAR = 2_629_800 * _SEC, 31_557_600 * _SEC


def _plural(value: int, one: str, many: str) -> str:
    return f"{value} {one if value == 1 else many}"


def format_relative(usec: int, now_usec: int) -> str:
    """`5min ago`, `1 day 2h left`, `now` (format_timestamp_relative() of time-util.c).

    The same function as core.timefmt.format_timestamp_relative (compared in
    tests/core/test_status_render.py), restated because core.timefmt imports datetime at
    load, ~3 ms of a status call that needs no datetime (bench/cli.py).
    """
    if usec <= 0:
        return "n/a"
    delta, suffix = (now_usec - usec, "ago") if now_usec > usec else (usec - now_usec, "left")
    if delta >= _YEAR:
        years, rest = divmod(delta, _YEAR)
        in_months = _plural(rest // _MONTH, "month", "months")
        return f"{_plural(years, 'year', 'years')} {in_months} {suffix}"
    if delta >= _MONTH:
        months, rest = divmod(delta, _MONTH)
        return (
            f"{_plural(months, 'month', 'months')} {_plural(rest // _DAY, 'day', 'days')} {suffix}"
        )
    if delta >= _WEEK:
        weeks, rest = divmod(delta, _WEEK)
        return f"{_plural(weeks, 'week', 'weeks')} {_plural(rest // _DAY, 'day', 'days')} {suffix}"
    if delta >= 2 * _DAY:
        return f"{delta // _DAY} days {suffix}"
    if delta >= 25 * _HOUR:
        return f"1 day {(delta - _DAY) // _HOUR}h {suffix}"
    if delta >= 6 * _HOUR:
        return f"{delta // _HOUR}h {suffix}"
    if delta >= _HOUR:
        return f"{delta // _HOUR}h {delta % _HOUR // _MINUTE}min {suffix}"
    if delta >= 5 * _MINUTE:
        return f"{delta // _MINUTE}min {suffix}"
    if delta >= _MINUTE:
        return f"{delta // _MINUTE}min {delta % _MINUTE // _SEC}s {suffix}"
    if delta >= _SEC:
        return f"{delta // _SEC}s {suffix}"
    if delta >= 1000:
        return f"{delta // 1000}ms {suffix}"
    if delta > 0:
        return f"{delta}us {suffix}"
    return "now"


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
