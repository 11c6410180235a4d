"""Linux signal names and numbers as systemd spells them (signal_from_string/to_string).

The table is the x86/arm Linux numbering of signal(7); glibc keeps 32 and 33 for itself,
so SIGRTMIN is 34 and `RTMIN+N` / `RTMAX-N` count from there. No `signal` module import:
this is pure data, valid for the architectures pidone runs on.
"""

from __future__ import annotations

from pidone.core.cnumbers import safe_atoi
from pidone.core.errors import ValueParseError

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
    """Signal number -> name without `SIG` (signal_to_string()): `TERM`, `RTMIN+2`, `32`."""
    name = SIGNAL_NAMES.get(number)
    if name is not None:
        return name
    if SIGRTMIN <= number <= SIGRTMAX:
        return f"RTMIN+{number - SIGRTMIN}"
    return str(number)


def parse_signal(text: str) -> int:
    """`SIGTERM`, `TERM`, `15`, `RTMIN+3`, `SIGRTMAX-1` -> number (signal_from_string()).

    Numbers (C literals, 1..64) are taken as they are, 32 and 33 included; names are
    case-sensitive.
    """
    bad = ValueParseError(f"Failed to parse signal: {text}")
    try:
        number = safe_atoi(text)
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
        if not name.startswith(base):
            continue
        rest = name[len(base) :]
        if not rest:
            return SIGRTMIN if base == "RTMIN" else SIGRTMAX
        if rest[0] != sign:
            raise bad
        try:
            offset = safe_atoi(rest)
        except ValueError:
            raise bad from None
        if base == "RTMIN" and 0 <= offset <= SIGRTMAX - SIGRTMIN:
            return SIGRTMIN + offset
        if base == "RTMAX" and SIGRTMIN - SIGRTMAX <= offset <= 0:
            return SIGRTMAX + offset
        raise bad
    raise bad
