"""Non-printable bytes in ps columns, the two ways procps 4.0.2 masks them.

A command line passes through two filters (both procps-ng 4.0.2):

1. library/escape.c escape_str(), when /proc/PID/cmdline is read. In a UTF-8 locale it
   walks the string by UTF-8 lead bytes: a control byte (< 0x20, 0x7f) in a lead
   position becomes '?'; at the first impossible lead byte (0x80-0xc1, 0xf5-0xff) or
   a sequence cut by the end, the WHOLE REST of the string is masked the 8-bit way.
   The 8-bit way (any other locale) maps 0x01-0x1f and 0x7f to '.' and every byte
   >= 0x80 to '?'. Continuation bytes are not checked at this stage.
2. src/ps/output.c escape_str(), when the column is printed. In a UTF-8 locale each
   mbrtowc() step gives '?' for an invalid byte (and moves one byte on), '?' for a
   single non-isprint() byte, '?' for a whole character that is not iswprint(), and
   otherwise copies the character, counting wcwidth() cells, until the column's
   cell budget is spent. In other locales it counts bytes and masks as in 1.

glibc 2.36's C.UTF-8 iswprint() is false exactly for the general categories Cc, Cs,
Cn, Zl and Zp (checked code point by code point against the C library on the
reference box); private-use characters ARE printable. wcwidth() is East Asian
Wide/Fullwidth = 2, Mn/Me/Cf and Hangul medial jamo = 0, else 1, with the few
exceptions listed in _WIDTH_EXCEPTIONS (same check).
"""

from __future__ import annotations

# stage-1/stage-2 8-bit table: '.' for C0 controls and DEL, '?' for high bytes
_EIGHT_BIT = bytes(
    [0x40] + [0x2E] * 31 + list(range(0x20, 0x7F)) + [0x2E] + [0x3F] * 128
)  # index 0 is unused (strings end at NUL)
# ASCII in a UTF-8 locale: controls become '?'
_UTF8_ASCII = bytes([0x3F] * 32 + list(range(0x20, 0x7F)) + [0x3F] + [0x3F] * 128)

# UTF-8 sequence length by lead byte, -1 for impossible lead bytes (escape.c UTF_tab)
_LEAD_LEN = [1] * 128 + [-1] * 66 + [2] * 30 + [3] * 16 + [4] * 5 + [-1] * 11

_WIDTH_EXCEPTIONS = (
    (0xAD, 0xAD, 1),
    (0x600, 0x605, 1),
    (0x6DD, 0x6DD, 1),
    (0x70F, 0x70F, 1),
    (0x890, 0x891, 1),
    (0x8E2, 0x8E2, 1),
    (0x3248, 0x324F, 2),
    (0x4DC0, 0x4DFF, 2),
    (0xD7B0, 0xD7C6, 0),
    (0xD7CB, 0xD7FB, 0),
    (0x110BD, 0x110BD, 1),
    (0x110CD, 0x110CD, 1),
)


def _printable(char: str) -> bool:
    import unicodedata

    return unicodedata.category(char) not in ("Cc", "Cs", "Cn", "Zl", "Zp")


def char_width(char: str) -> int:
    """glibc C.UTF-8 wcwidth() of one printable character."""
    import unicodedata

    code = ord(char)
    if code < 0x300:  # Latin-1 and Latin Extended: all one cell (U+00AD too)
        return 1
    for low, high, width in _WIDTH_EXCEPTIONS:
        if low <= code <= high:
            return width
    if unicodedata.category(char) in ("Mn", "Me", "Cf") or 0x1160 <= code <= 0x11FF:
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_cells(text: str) -> int:
    """Display cells of text already escaped for a UTF-8 locale."""
    if text.isascii():
        return len(text)
    return sum(char_width(c) for c in text)


def library_escape(raw: bytes, utf8: bool) -> bytes:
    """Stage 1 (library/escape.c escape_str) on a NUL-free byte string."""
    if not utf8:
        return raw.translate(_EIGHT_BIT)
    if raw.isascii():
        return raw.translate(_UTF8_ASCII)
    out = bytearray(raw)
    i, n = 0, len(out)
    while i < n:
        step = _LEAD_LEN[out[i]]
        if step < 0 or i + step > n:
            out[i:] = bytes(out[i:]).translate(_EIGHT_BIT)
            break
        if out[i] < 0x20 or out[i] == 0x7F:
            out[i] = 0x3F
        i += step
    return bytes(out)


def _decode_one(data: bytes, i: int) -> tuple[str | None, int]:
    """One mbrtowc() step in UTF-8: (character or None if invalid, bytes used)."""
    step = _LEAD_LEN[data[i]]
    if step <= 1:
        return (None, 1) if step < 0 else (chr(data[i]), 1)
    try:
        return data[i : i + step].decode("utf-8"), step
    except UnicodeDecodeError:
        return None, 1


def ps_escape(data: bytes, utf8: bool, max_cells: int) -> tuple[str, int]:
    """Stage 2 (src/ps/output.c escape_str): (text, cells) within max_cells."""
    if max_cells <= 0:
        return "", 0
    if not utf8:
        text = data[:max_cells].translate(_EIGHT_BIT).decode("ascii")
        return text, len(text)
    if data.isascii():
        text = data[:max_cells].translate(_UTF8_ASCII).decode("ascii")
        return text, len(text)
    parts: list[str] = []
    cells = 0
    i, n = 0, len(data)
    while i < n and cells < max_cells:
        char, used = _decode_one(data, i)
        if (
            char is None
            or (used == 1 and not 0x20 <= ord(char) < 0x7F)
            or (used > 1 and not _printable(char))
        ):
            parts.append("?")
            cells += 1
        else:
            width = 1 if used == 1 else char_width(char)
            if width > max_cells - cells:
                break
            parts.append(char)
            cells += width
        i += used
    return "".join(parts), cells


def escape_args(cmdline: bytes) -> bytes:
    """cmdline bytes as procps reads them (readproc.c read_unvectored with sep ' ').

    Trailing NULs go; every other NUL and every newline becomes a space; if no NUL
    ended the data and it ends in a space, that space goes too.
    """
    body = cmdline.rstrip(b"\0")
    if len(body) == len(cmdline) and body.endswith((b" ", b"\n")):
        body = body[:-1]
    return body.replace(b"\0", b" ").replace(b"\n", b" ")
