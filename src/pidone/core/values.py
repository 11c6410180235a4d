"""Scalar setting values: booleans, time spans, sizes, rlimits, modes (+ signals, exit statuses).

Every parser follows systemd 252 (src/basic/time-util.c, parse-util.c, rlimit-util.c,
signal-util.c, exit-status.c) and raises `ValueParseError` on bad input, never anything
else. Formatting functions reproduce what `systemctl show` and `systemd-analyze` print.
Signals and exit statuses live in `core.signames` and `core.exitstatus` and are
re-exported here, so callers have one place to import value parsers from.
"""

from __future__ import annotations

from pidone.core.cnumbers import U64_MAX, WHITESPACE, safe_atou, strtol, strtoul
from pidone.core.errors import ValueParseError
from pidone.core.exitstatus import (
    EXIT_STATUS_CLASSES,
    EXIT_STATUS_NAMES,
    ExitStatusSet,
    format_exit_status,
    parse_exit_status,
    parse_exit_status_set,
)
from pidone.core.signames import SIGNAL_NAMES, SIGRTMAX, SIGRTMIN, parse_signal, signal_name
from pidone.core.timefmt import format_timespan

__all__ = [
    "EXIT_STATUS_CLASSES",
    "EXIT_STATUS_NAMES",
    "RLIMIT_KEYS",
    "RLIM_INFINITY",
    "SIGNAL_NAMES",
    "SIGRTMAX",
    "SIGRTMIN",
    "USEC_INFINITY",
    "USEC_PER_SEC",
    "ExitStatusSet",
    "format_exit_status",
    "format_timespan",
    "parse_boolean",
    "parse_exit_status",
    "parse_exit_status_set",
    "parse_mode",
    "parse_rlimit",
    "parse_signal",
    "parse_size",
    "parse_timespan",
    "signal_name",
]

USEC_INFINITY = 2**64 - 1
RLIM_INFINITY = 2**64 - 1
USEC_PER_MSEC = 1_000
USEC_PER_SEC = 1_000_000
USEC_PER_MINUTE = 60 * USEC_PER_SEC
USEC_PER_HOUR = 60 * USEC_PER_MINUTE
USEC_PER_DAY = 24 * USEC_PER_HOUR
USEC_PER_WEEK = 7 * USEC_PER_DAY
USEC_PER_MONTH = 2_629_800 * USEC_PER_SEC  # 30.44 days
USEC_PER_YEAR = 31_557_600 * USEC_PER_SEC  # 365.25 days

_WHITESPACE = WHITESPACE
_DIGITS = "0123456789"


# --- booleans -------------------------------------------------------------------------------

_TRUE = frozenset({"1", "yes", "y", "true", "t", "on"})
_FALSE = frozenset({"0", "no", "n", "false", "f", "off"})


def parse_boolean(text: str) -> bool:
    """`yes/no`-style boolean, case-insensitive (systemd parse_boolean())."""
    low = text.lower() if text.isascii() else text  # strcasecmp() in the C locale
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueParseError(f"Failed to parse boolean value: {text}")


# --- time spans -----------------------------------------------------------------------------

# Order matters: systemd matches these as prefixes, first hit wins (extract_multiplier()).
_TIME_UNITS: tuple[tuple[str, int], ...] = (
    ("seconds", USEC_PER_SEC),
    ("second", USEC_PER_SEC),
    ("sec", USEC_PER_SEC),
    ("s", USEC_PER_SEC),
    ("minutes", USEC_PER_MINUTE),
    ("minute", USEC_PER_MINUTE),
    ("min", USEC_PER_MINUTE),
    ("months", USEC_PER_MONTH),
    ("month", USEC_PER_MONTH),
    ("M", USEC_PER_MONTH),
    ("msec", USEC_PER_MSEC),
    ("ms", USEC_PER_MSEC),
    ("m", USEC_PER_MINUTE),
    ("hours", USEC_PER_HOUR),
    ("hour", USEC_PER_HOUR),
    ("hr", USEC_PER_HOUR),
    ("h", USEC_PER_HOUR),
    ("days", USEC_PER_DAY),
    ("day", USEC_PER_DAY),
    ("d", USEC_PER_DAY),
    ("weeks", USEC_PER_WEEK),
    ("week", USEC_PER_WEEK),
    ("w", USEC_PER_WEEK),
    ("years", USEC_PER_YEAR),
    ("year", USEC_PER_YEAR),
    ("y", USEC_PER_YEAR),
    ("usec", 1),
    ("us", 1),
    ("\u03bcs", 1),  # GREEK SMALL LETTER MU
    ("\u00b5s", 1),  # MICRO SIGN
)


def _extract_multiplier(text: str, pos: int) -> tuple[int, int | None]:
    for suffix, mult in _TIME_UNITS:
        if text.startswith(suffix, pos):
            return pos + len(suffix), mult
    return pos, None


def _skip(text: str, pos: int, chars: str) -> int:
    n = len(text)
    while pos < n and text[pos] in chars:
        pos += 1
    return pos


def parse_timespan(text: str, default_unit: int = USEC_PER_SEC) -> int:
    """Time span -> microseconds (systemd parse_time()); `infinity` -> USEC_INFINITY.

    Groups of NUMBER[.FRACTION] [UNIT] are summed; a group without unit uses
    `default_unit` (so `1h30` is 1h 30s). Units are case-sensitive prefixes.
    """
    bad = ValueParseError(f"Failed to parse time span '{text}'")
    p = _skip(text, 0, _WHITESPACE)
    if text.startswith("infinity", p):
        if _skip(text, p + 8, _WHITESPACE) != len(text):
            raise bad
        return USEC_INFINITY
    usec = 0
    something = False
    n = len(text)
    while True:
        p = _skip(text, p, _WHITESPACE)
        if p >= n:
            if not something:
                raise bad
            return usec
        if text[p] == "-":
            raise bad
        value, e, overflow = strtol(text, p)
        if overflow or (value is not None and value < 0):
            raise bad
        whole = value or 0
        has_frac = e < n and text[e] == "."
        if has_frac:
            p = _skip(text, e + 1, _DIGITS)
        elif value is None:
            raise bad
        else:
            p = e
        q = _skip(text, p, _WHITESPACE)
        s, mult = _extract_multiplier(text, q)
        if mult is None:
            mult = default_unit
        if s == p and s < n:
            # "12.34.56" is refused, "12.34 .56" and "12.34s.56" are fine.
            raise bad
        p = s
        if whole >= USEC_INFINITY // mult:
            raise bad
        k = whole * mult
        if k >= USEC_INFINITY - usec:
            raise bad
        usec += k
        something = True
        if has_frac:
            m = mult // 10
            b = e + 1
            while b < n and text[b] in _DIGITS:
                k = int(text[b]) * m
                if k >= USEC_INFINITY - usec:
                    raise bad
                usec += k
                b += 1
                m //= 10
            if b == e + 1:  # "3.", "3.sec", "0.-0"
                raise bad


# format_timespan() lives with the other time displays in core.timefmt (which `pidone
# status` imports without this module's parsers); re-exported here.


# --- sizes ----------------------------------------------------------------------------------

_IEC: tuple[tuple[str, int], ...] = (
    ("E", 1024**6),
    ("P", 1024**5),
    ("T", 1024**4),
    ("G", 1024**3),
    ("M", 1024**2),
    ("K", 1024),
    ("B", 1),
    ("", 1),
)
_SI: tuple[tuple[str, int], ...] = (
    ("E", 1000**6),
    ("P", 1000**5),
    ("T", 1000**4),
    ("G", 1000**3),
    ("M", 1000**2),
    ("K", 1000),
    ("B", 1),
    ("", 1),
)


def parse_size(text: str, base: int = 1024) -> int:
    """Size with optional `K M G T P E` (and `B`) suffixes -> bytes (systemd parse_size()).

    Groups must come in descending suffix order (`1G 512M`); fractions are allowed
    (`1.5K` = 1536, computed in double precision as systemd does).
    """
    if base not in (1000, 1024):
        raise ValueError("base must be 1000 or 1024")
    table = _SI if base == 1000 else _IEC
    bad = ValueParseError(f"Failed to parse size value '{text}'")
    n = len(text)
    r = 0
    start = 0
    p = 0
    while True:
        p = _skip(text, p, _WHITESPACE)
        value, e, overflow = strtoul(text, p)
        if overflow or value is None:
            raise bad
        if p < n and text[p] == "-":
            raise bad
        frac = 0.0
        if e < n and text[e] == ".":
            e += 1
            if e < n and text[e] in _DIGITS:
                l2, e2, overflow = strtoul(text, e)
                if overflow or l2 is None:
                    raise bad
                frac = float(l2)
                while e < e2:
                    frac /= 10
                    e += 1
        e = _skip(text, e, _WHITESPACE)
        for i in range(start, len(table)):
            suffix, factor = table[i]
            if text.startswith(suffix, e):
                break
        else:
            raise bad
        if value + (1 if frac > 0 else 0) > U64_MAX // factor:
            raise bad
        tmp = value * factor + int(frac * factor)
        if tmp > U64_MAX - r:
            raise bad
        r += tmp
        p = e + len(suffix)
        start = i + 1
        if p >= n:
            return r


# --- resource limits ------------------------------------------------------------------------

_PRIO_MIN = -20  # <sys/resource.h>
_PRIO_MAX = 20

# How each LimitX= value is read (src/basic/rlimit-util.c rlimit_parse_table).
RLIMIT_KEYS: dict[str, str] = {
    "LimitCPU": "sec",
    "LimitFSIZE": "size",
    "LimitDATA": "size",
    "LimitSTACK": "size",
    "LimitCORE": "size",
    "LimitRSS": "size",
    "LimitNOFILE": "u64",
    "LimitAS": "size",
    "LimitNPROC": "u64",
    "LimitMEMLOCK": "size",
    "LimitLOCKS": "u64",
    "LimitSIGPENDING": "u64",
    "LimitMSGQUEUE": "size",
    "LimitNICE": "nice",
    "LimitRTPRIO": "u64",
    "LimitRTTIME": "usec",
}


def _rlimit_one(kind: str, text: str) -> int:
    """One rlimit value; raises ValueError or ValueParseError when systemd would refuse it."""
    if kind == "sec":
        # LimitCPU= is a time span in seconds, rounded up to whole seconds.
        t = parse_timespan(text)
        if t == USEC_INFINITY:
            return RLIM_INFINITY
        return -(-t // USEC_PER_SEC)
    if kind == "usec":
        # LimitRTTIME= is a time span whose bare numbers are microseconds.
        return parse_timespan(text, 1)
    if kind == "nice":
        # RLIMIT_NICE holds 40..1 for nice levels -20..19, and the kernel default 0 means
        # "20" (setrlimit(2)). "+N"/"-N" are nice levels, a bare number is the raw value.
        if text.startswith("+"):
            v = safe_atou(text[1:])
            if v >= _PRIO_MAX:
                raise ValueError(text)
            return 20 - v
        if text.startswith("-"):
            v = safe_atou(text[1:])
            if v > -_PRIO_MIN:
                raise ValueError(text)
            return 20 + v
        v = safe_atou(text)
        if v > 20 - _PRIO_MIN:
            raise ValueError(text)
        return v
    if text == "infinity":
        return RLIM_INFINITY
    v = parse_size(text, 1024) if kind == "size" else safe_atou(text)
    if v >= RLIM_INFINITY:
        raise ValueError(text)
    return v


def _split_rlimit(text: str) -> tuple[str, str | None]:
    r"""Split `SOFT[:HARD[:]]` the way rlimit_parse() does with extract_first_word(":").

    No quoting; a backslash makes the next character literal. Returns (soft, hard or None
    when there is no `:`). One `:` may follow HARD (`1:2:` is accepted by systemd);
    anything after it, or a trailing `\`, raises ValueError.
    """
    fields: list[str] = []
    current: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                raise ValueError(text)
            current.append(text[i + 1])
            i += 2
            continue
        i += 1
        if c != ":":
            current.append(c)
            continue
        fields.append("".join(current))
        current = []
        if len(fields) == 2:
            if i < n:
                raise ValueError(text)
            return fields[0], fields[1]
    fields.append("".join(current))
    if len(fields) == 1:
        return fields[0], None
    return fields[0], fields[1]


def parse_rlimit(key: str, text: str) -> tuple[int, int]:
    """`LimitX=` value -> (soft, hard): `SOFT:HARD` or one value for both (rlimit_parse()).

    Sizes take K/M/G... suffixes, LimitCPU= and LimitRTTIME= take time spans, LimitNICE=
    takes `+N`/`-N` nice levels or a raw 0..40; `infinity` is RLIM_INFINITY.
    """
    kind = RLIMIT_KEYS.get(key)
    if kind is None:
        raise ValueParseError(f"Unknown resource limit {key}")
    bad = ValueParseError(f"Failed to parse resource value, ignoring: {text}")
    try:
        soft_text, hard_text = _split_rlimit(text)
        soft = _rlimit_one(kind, soft_text)
        hard = soft if hard_text is None else _rlimit_one(kind, hard_text)
    except ValueError:  # ValueParseError is a ValueError too
        raise bad from None
    if soft > hard:
        raise ValueParseError(
            f"Soft resource limit chosen higher than hard limit, ignoring: {text}"
        )
    return soft, hard


# --- modes ----------------------------------------------------------------------------------


def parse_mode(text: str) -> int:
    """Octal file mode such as `0022`, at most 07777 (systemd parse_mode(): no +/- sign)."""
    try:
        value = safe_atou(text, bits=32, base=8, refuse_plus_minus=True)
    except ValueError:
        raise ValueParseError(f"Failed to parse mode value: {text}") from None
    if value > 0o7777:
        raise ValueParseError(f"Failed to parse mode value: {text}")
    return value
