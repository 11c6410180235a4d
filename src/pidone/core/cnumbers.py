"""C number parsing as systemd does it: strtol()/strtoul() and systemd's safe_ato*() wrappers.

systemd's settings are parsed with glibc's strto*() plus a thin wrapper
(src/basic/parse-util.c), and their quirks are visible in unit files:
1. strto*() skip leading isspace() (including \\v and \\f) and accept one `+` or `-`;
   strtoul() silently negates `-N` modulo 2**64.
2. Base 0 means C literals: `0x1F` hex, `010` octal. systemd's mangle_base() adds the
   Python-style `0b` and `0o` prefixes (only at the very start, after blanks).
3. safe_ato*() require the whole string to be consumed and refuse a `-` on a non-zero
   unsigned value.
All functions raise ValueError (callers turn it into ValueParseError with their wording).
"""

from __future__ import annotations

C_SPACE = " \t\n\v\f\r"  # isspace() in the C locale
WHITESPACE = " \t\n\r"  # systemd's WHITESPACE
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
U64_MAX = 2**64 - 1


def _digit(c: str, base: int) -> bool:
    return c.isascii() and c.lower() in _DIGITS[:base]


def strto(text: str, pos: int, base: int) -> tuple[int | None, int, bool]:
    """Core of strtol()/strtoul(): (signed magnitude or None if no digits, end index, neg).

    `end == pos` when nothing was converted, as C leaves endptr at the start.
    """
    n = len(text)
    i = pos
    while i < n and text[i] in C_SPACE:
        i += 1
    neg = False
    if i < n and text[i] in "+-":
        neg = text[i] == "-"
        i += 1
    if (
        base in (0, 16)
        and text[i : i + 2] in ("0x", "0X")
        and i + 2 < n
        and _digit(text[i + 2], 16)
    ):
        i += 2
        base = 16
    elif base == 0:
        base = 8 if text[i : i + 1] == "0" else 10
    j = i
    while j < n and _digit(text[j], base):
        j += 1
    if j == i:
        return None, pos, False
    value = int(text[i:j], base)
    return (-value if neg else value), j, neg


def strtoul(text: str, pos: int = 0, base: int = 10) -> tuple[int | None, int, bool]:
    """strtoul(): (value or None, end, overflow); `-N` wraps modulo 2**64 like glibc."""
    value, end, _ = strto(text, pos, base)
    if value is None:
        return None, end, False
    if abs(value) > U64_MAX:
        return U64_MAX, end, True
    return value % 2**64, end, False


def strtol(text: str, pos: int = 0, base: int = 10) -> tuple[int | None, int, bool]:
    """strtol() on a 64-bit long: (value or None, end, overflow)."""
    value, end, _ = strto(text, pos, base)
    if value is None:
        return None, end, False
    if not -(2**63) <= value < 2**63:
        return value, end, True
    return value, end, False


def _mangle_base(text: str, pos: int, base: int) -> tuple[int, int]:
    if base == 0:
        if text[pos : pos + 2] in ("0b", "0B"):
            return pos + 2, 2
        if text[pos : pos + 2] in ("0o", "0O"):
            return pos + 2, 8
    return pos, base


def _skip_ws(text: str) -> int:
    i = 0
    while i < len(text) and text[i] in WHITESPACE:
        i += 1
    return i


def safe_atoi(text: str) -> int:
    """systemd safe_atoi(): a whole C int, base 0 (plus 0b/0o)."""
    pos, base = _mangle_base(text, _skip_ws(text), 0)
    value, end, overflow = strtol(text, pos, base)
    if value is None or overflow or end != len(text):
        raise ValueError(text)
    if not -(2**31) <= value < 2**31:
        raise ValueError(text)
    return value


def safe_atou(text: str, bits: int = 64, base: int = 0, refuse_plus_minus: bool = False) -> int:
    """systemd safe_atou*(): a whole unsigned number of `bits` bits, no negatives."""
    pos = _skip_ws(text)
    if refuse_plus_minus and text[pos : pos + 1] in ("+", "-"):
        raise ValueError(text)
    pos, base = _mangle_base(text, pos, base)
    value, end, overflow = strtoul(text, pos, base)
    if value is None or overflow or end != len(text):
        raise ValueError(text)
    if value != 0 and text[pos : pos + 1] == "-":
        raise ValueError(text)
    if value >= 2**bits:
        raise ValueError(text)
    return value
