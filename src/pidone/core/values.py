"""Scalar setting values: booleans, time spans, sizes, rlimits, modes, signals, exit statuses.

Every parser follows systemd 252 (src/basic/time-util.c, parse-util.c, rlimit-util.c,
signal-util.c, exit-status.c) and raises `ValueParseError` on bad input, never anything
else. Formatting functions reproduce what `systemctl show` and `systemd-analyze` print.
"""

from __future__ import annotations

from dataclasses import dataclass

from pidone.core.errors import ValueParseError

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

_U64_MAX = 2**64 - 1
_S64_MAX = 2**63 - 1
_WHITESPACE = " \t\n\r"  # systemd's WHITESPACE macro
_C_SPACE = " \t\n\v\f\r"  # what strtol() skips (isspace in the C locale)
_DIGITS = "0123456789"


# --- booleans -------------------------------------------------------------------------------

_TRUE = frozenset({"1", "yes", "y", "true", "t", "on"})
_FALSE = frozenset({"0", "no", "n", "false", "f", "off"})


def parse_boolean(text: str) -> bool:
    """`yes/no`-style boolean, case-insensitive (systemd parse_boolean())."""
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueParseError(f"Failed to parse boolean value: {text}")


# --- C number scanning helpers --------------------------------------------------------------


def _strtoull(text: str, pos: int) -> tuple[int | None, int, bool]:
    """Emulate strtoull(base 10) from `pos`: (value or None if no digits, end, overflow).

    Like C, leading isspace() and one sign are skipped, and '-' negates modulo 2**64.
    When no digits follow, end == pos (C sets endptr to the start).
    """
    i = pos
    n = len(text)
    while i < n and text[i] in _C_SPACE:
        i += 1
    neg = False
    if i < n and text[i] in "+-":
        neg = text[i] == "-"
        i += 1
    j = i
    while j < n and text[j] in _DIGITS:
        j += 1
    if j == i:
        return None, pos, False
    value = int(text[i:j])
    if value > _U64_MAX:
        return _U64_MAX, j, True
    if neg:
        value = (-value) % 2**64
    return value, j, False


def _strtoll(text: str, pos: int) -> tuple[int | None, int, bool]:
    """Emulate strtoll(base 10): (value or None if no digits, end, overflow)."""
    i = pos
    n = len(text)
    while i < n and text[i] in _C_SPACE:
        i += 1
    neg = False
    if i < n and text[i] in "+-":
        neg = text[i] == "-"
        i += 1
    j = i
    while j < n and text[j] in _DIGITS:
        j += 1
    if j == i:
        return None, pos, False
    value = -int(text[i:j]) if neg else int(text[i:j])
    if value > _S64_MAX or value < -_S64_MAX - 1:
        return value, j, True
    return value, j, False


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
        value, e, overflow = _strtoll(text, p)
        if overflow:
            raise bad
        if value is not None and value < 0:
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


_FORMAT_UNITS: tuple[tuple[str, int], ...] = (
    ("y", USEC_PER_YEAR),
    ("month", USEC_PER_MONTH),
    ("w", USEC_PER_WEEK),
    ("d", USEC_PER_DAY),
    ("h", USEC_PER_HOUR),
    ("min", USEC_PER_MINUTE),
    ("s", USEC_PER_SEC),
    ("ms", USEC_PER_MSEC),
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
        value, e, overflow = _strtoull(text, p)
        if overflow or value is None:
            raise bad
        if p < n and text[p] == "-":
            raise bad
        frac = 0.0
        if e < n and text[e] == ".":
            e += 1
            if e < n and text[e] in _DIGITS:
                l2, e2, overflow = _strtoull(text, e)
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
        if value + (1 if frac > 0 else 0) > _U64_MAX // factor:
            raise bad
        tmp = value * factor + int(frac * factor)
        if tmp > _U64_MAX - r:
            raise bad
        r += tmp
        p = e + len(suffix)
        start = i + 1
        if p >= n:
            return r


# --- resource limits ------------------------------------------------------------------------

_PRIO_MIN = -20
_PRIO_MAX = 20

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


def _safe_atou64(text: str) -> int:
    """systemd safe_atou64(): whole string, decimal (0x/0o/0b prefixes), no negatives."""
    body = text.lstrip(_C_SPACE)
    base = 10
    for prefix, b in (("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)):
        if text.startswith(prefix):
            body, base = text[2:], b
            break
    sign = ""
    if body[:1] in ("+", "-"):
        sign, body = body[0], body[1:]
    if not body or not all(
        c in "0123456789abcdefABCDEF"[: base + (6 if base == 16 else 0)] for c in body
    ):
        raise ValueError(text)
    value = int(body, base)
    if sign == "-" and value != 0:
        raise ValueError(text)
    if value > _U64_MAX:
        raise ValueError(text)
    return value


def _rlimit_one(kind: str, text: str) -> int:
    if kind == "sec":
        t = parse_timespan(text)
        if t == USEC_INFINITY:
            return RLIM_INFINITY
        t = -(-t // USEC_PER_SEC)
        if t >= RLIM_INFINITY:
            raise ValueError(text)
        return t
    if kind == "usec":
        t = parse_timespan(text, 1)
        return RLIM_INFINITY if t == USEC_INFINITY else t
    if kind == "nice":
        # RLIMIT_NICE is 40..1 for nice levels -20..19 (and 0 means 20), see setrlimit(2).
        if text.startswith("+"):
            v = _safe_atou64(text[1:])
            if v >= _PRIO_MAX:
                raise ValueError(text)
            return 20 - v
        if text.startswith("-"):
            v = _safe_atou64(text[1:])
            if v > -_PRIO_MIN:
                raise ValueError(text)
            return 20 + v
        v = _safe_atou64(text)
        if v > 20 - _PRIO_MIN:
            raise ValueError(text)
        return v
    if text == "infinity":
        return RLIM_INFINITY
    v = parse_size(text, 1024) if kind == "size" else _safe_atou64(text)
    if v >= RLIM_INFINITY:
        raise ValueError(text)
    return v


def parse_rlimit(key: str, text: str) -> tuple[int, int]:
    """`LimitX=` value -> (soft, hard); `SOFT:HARD` or one value for both (rlimit_parse())."""
    kind = RLIMIT_KEYS.get(key)
    if kind is None:
        raise ValueParseError(f"Unknown resource limit setting {key}")
    bad = ValueParseError(f"Failed to parse resource value, ignoring: {text}")
    soft_text, sep, rest = text.partition(":")
    hard_text, sep2, _ = rest.partition(":")
    if sep2 or not (soft_text or sep):
        raise bad
    try:
        soft = _rlimit_one(kind, soft_text)
        hard = _rlimit_one(kind, hard_text) if sep else soft
    except ValueError:
        raise bad from None
    if soft > hard:
        raise bad
    return soft, hard


# --- modes ----------------------------------------------------------------------------------


def parse_mode(text: str) -> int:
    """Octal file mode such as `0022`, at most 07777 (systemd parse_mode())."""
    try:
        value = _safe_atou_base(text, 8)
    except ValueError:
        raise ValueParseError(f"Failed to parse mode value: {text}") from None
    if value > 0o7777:
        raise ValueParseError(f"Failed to parse mode value: {text}")
    return value


def _safe_atou_base(text: str, base: int) -> int:
    """strtoul() in `base` over the whole string: leading blanks and "+" allowed, no "-"."""
    body = text.lstrip(_C_SPACE).removeprefix("+")
    digits = "0123456789abcdef"[:base]
    if not body or any(c.lower() not in digits for c in body):
        raise ValueError(text)
    return int(body, base)


# --- signals --------------------------------------------------------------------------------

# Linux x86/arm numbering (signal(7)); glibc reserves 32 and 33, so SIGRTMIN is 34.
SIGNAL_NAMES: dict[int, str] = {
    1: "HUP",
    2: "INT",
    3: "QUIT",
    4: "ILL",
    5: "TRAP",
    6: "ABRT",
    7: "BUS",
    8: "FPE",
    9: "KILL",
    10: "USR1",
    11: "SEGV",
    12: "USR2",
    13: "PIPE",
    14: "ALRM",
    15: "TERM",
    16: "STKFLT",
    17: "CHLD",
    18: "CONT",
    19: "STOP",
    20: "TSTP",
    21: "TTIN",
    22: "TTOU",
    23: "URG",
    24: "XCPU",
    25: "XFSZ",
    26: "VTALRM",
    27: "PROF",
    28: "WINCH",
    29: "IO",
    30: "PWR",
    31: "SYS",
}
_SIGNAL_NUMBERS = {name: num for num, name in SIGNAL_NAMES.items()}
SIGRTMIN = 34
SIGRTMAX = 64
_NSIG = 65


def signal_name(number: int) -> str:
    """Signal number -> name without `SIG` (`15` -> `TERM`, `36` -> `RTMIN+2`, else digits)."""
    name = SIGNAL_NAMES.get(number)
    if name is not None:
        return name
    if SIGRTMIN <= number <= SIGRTMAX:
        return f"RTMIN+{number - SIGRTMIN}"
    return str(number)


def parse_signal(text: str) -> int:
    """`SIGTERM`, `TERM`, `15`, `RTMIN+3`, `SIGRTMAX-1` -> number (signal_from_string())."""
    bad = ValueParseError(f"Failed to parse signal: {text}")
    try:
        number = _safe_atoi(text)
    except ValueError:
        pass
    else:
        if 0 < number < _NSIG:
            return number
        raise bad
    name = text.removeprefix("SIG")
    if name in _SIGNAL_NUMBERS:
        return _SIGNAL_NUMBERS[name]
    for base, sign in (("RTMIN", "+"), ("RTMAX", "-")):
        if name.startswith(base):
            rest = name[len(base) :]
            if not rest:
                return SIGRTMIN if base == "RTMIN" else SIGRTMAX
            if rest[0] != sign:
                raise bad
            try:
                offset = _safe_atoi(rest)
            except ValueError:
                raise bad from None
            if base == "RTMIN" and 0 <= offset <= SIGRTMAX - SIGRTMIN:
                return SIGRTMIN + offset
            if base == "RTMAX" and SIGRTMIN - SIGRTMAX <= offset <= 0:
                return SIGRTMAX + offset
            raise bad
    raise bad


def _safe_atoi(text: str) -> int:
    """systemd safe_atoi(): whole string is one C int (leading blanks and a sign allowed)."""
    body = text.lstrip(_C_SPACE)
    sign = 1
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body or not body.isascii() or not body.isdigit():
        raise ValueError(text)
    value = sign * int(body)
    if not -(2**31) <= value < 2**31:
        raise ValueError(text)
    return value


# --- exit statuses --------------------------------------------------------------------------

# `systemd-analyze exit-status` of systemd 252 (src/basic/exit-status.c).
EXIT_STATUS_NAMES: dict[int, str] = {
    0: "SUCCESS",
    1: "FAILURE",
    2: "INVALIDARGUMENT",
    3: "NOTIMPLEMENTED",
    4: "NOPERMISSION",
    5: "NOTINSTALLED",
    6: "NOTCONFIGURED",
    7: "NOTRUNNING",
    64: "USAGE",
    65: "DATAERR",
    66: "NOINPUT",
    67: "NOUSER",
    68: "NOHOST",
    69: "UNAVAILABLE",
    70: "SOFTWARE",
    71: "OSERR",
    72: "OSFILE",
    73: "CANTCREAT",
    74: "IOERR",
    75: "TEMPFAIL",
    76: "PROTOCOL",
    77: "NOPERM",
    78: "CONFIG",
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
EXIT_STATUS_CLASSES: dict[int, str] = {
    code: ("libc" if code < 2 else "LSB" if code < 8 else "BSD" if code < 100 else "systemd")
    for code in EXIT_STATUS_NAMES
}
_EXIT_STATUS_NUMBERS = {name: code for code, name in EXIT_STATUS_NAMES.items()}


def format_exit_status(code: int) -> str:
    """`1/FAILURE` as `systemctl status` prints it: names only for libc and systemd codes."""
    if EXIT_STATUS_CLASSES.get(code) in ("libc", "systemd"):
        return f"{code}/{EXIT_STATUS_NAMES[code]}"
    return str(code)


@dataclass(frozen=True, slots=True)
class ExitStatusSet:
    """`SuccessExitStatus=`-style set: exit codes plus signal numbers."""

    statuses: frozenset[int] = frozenset()
    signals: frozenset[int] = frozenset()

    def format(self) -> str:
        """As `systemctl show` prints it: numbers ascending, then signal names."""
        words = [str(c) for c in sorted(self.statuses)]
        words += [signal_name(s) for s in sorted(self.signals)]
        return " ".join(words)

    def __bool__(self) -> bool:
        return bool(self.statuses or self.signals)


def parse_exit_status_set(text: str) -> ExitStatusSet:
    """Whitespace-separated numbers 0-255, status names, or signal names."""
    statuses: set[int] = set()
    signals: set[int] = set()
    for word in text.split():
        code = _parse_exit_status(word)
        if code is not None:
            statuses.add(code)
            continue
        try:
            signals.add(parse_signal(word))
        except ValueParseError:
            raise ValueParseError(f"Failed to parse exit status or signal: {word}") from None
    return ExitStatusSet(frozenset(statuses), frozenset(signals))


def _parse_exit_status(word: str) -> int | None:
    if word in _EXIT_STATUS_NUMBERS:
        return _EXIT_STATUS_NUMBERS[word]
    try:
        value = _safe_atoi(word)
    except ValueError:
        return None
    if 0 <= value <= 255:
        return value
    raise ValueParseError(f"Exit status out of range: {word}")
