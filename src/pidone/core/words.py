"""systemd's word splitting: extract_first_word() with unquoting and C unescaping (spec 01 §5).

Rules (systemd 252 src/basic/extract-word.c, src/basic/escape.c cunescape_one()):
1. Words are separated by unquoted whitespace (space, tab, CR, LF).
2. `'...'` and `"..."` may open anywhere in a word and are removed; `a"b c"d` is `ab cd`.
3. C escapes are decoded inside and outside quotes: `\\a \\b \\f \\n \\r \\t \\v \\\\ \\" \\'`,
   `\\s` (space), `\\xHH`, `\\NNN` (octal), `\\uHHHH`, `\\UHHHHHHHH`. `\\x` and octal give
   raw bytes; NUL is refused; `\\U` must be a valid code point, `\\u` is not checked
   (surrogates pass, as in systemd).
4. In unit files systemd uses extract_first_word_and_warn(): an unknown escape is kept
   verbatim (backslash and character) with the warning "Ignoring unknown escape
   sequences"; unbalanced quotes still fail.
Byte results are carried in `str` through `surrogateescape`.
"""

from __future__ import annotations

from collections.abc import Callable

from pidone.core.errors import ValueParseError

_WHITESPACE = " \t\n\r"
_HEXDIGITS = "0123456789abcdefABCDEF"
_SIMPLE_ESCAPES = {
    "a": 0x07,
    "b": 0x08,
    "f": 0x0C,
    "n": 0x0A,
    "r": 0x0D,
    "t": 0x09,
    "v": 0x0B,
    "\\": 0x5C,
    '"': 0x22,
    "'": 0x27,
    "s": 0x20,
}


def text_bytes(text: str) -> bytes:
    """UTF-8 bytes of unit-file text; bytes that were not UTF-8 come back as they were.

    The lexer carries such bytes as `surrogateescape` code points. Any other lone
    surrogate cannot come from a file and raises ValueParseError.
    """
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise ValueParseError(f"Text is not valid: {text!r}") from None


def _encode_char(code: int) -> bytes:
    """UTF-8 bytes of a code point, surrogates included (utf8_encode_unichar())."""
    return chr(code).encode("utf-8", "surrogatepass")


def _cunescape_one(text: str, pos: int) -> tuple[bytes, int] | None:
    """Decode the escape whose letter is at `pos`: (bytes, chars consumed) or None."""
    c = text[pos] if pos < len(text) else ""
    if c in _SIMPLE_ESCAPES:
        return bytes([_SIMPLE_ESCAPES[c]]), 1
    if c == "x":
        digits = text[pos + 1 : pos + 3]
        if len(digits) != 2 or any(d not in _HEXDIGITS for d in digits):
            return None
        value = int(digits, 16)
        return (bytes([value]), 3) if value else None
    if c in ("u", "U"):
        width = 4 if c == "u" else 8
        digits = text[pos + 1 : pos + 1 + width]
        if len(digits) != width or any(d not in _HEXDIGITS for d in digits):
            return None
        value = int(digits, 16)
        if value == 0:
            return None
        # \U refuses invalid code points (unichar_is_valid()); \u does not check.
        if c == "U" and (value > 0x10FFFF or 0xD800 <= value <= 0xDFFF):
            return None
        return _encode_char(value), width + 1
    if c and c in "01234567":
        digits = text[pos : pos + 3]
        if len(digits) != 3 or any(d not in "01234567" for d in digits):
            return None
        value = int(digits, 8)
        if value == 0 or value > 255:
            return None
        return bytes([value]), 3
    return None


class UnbalancedQuotes(ValueParseError):
    """A quote opened in a word is never closed."""


class BadEscape(ValueParseError):
    """A backslash sequence that is not a C escape (or a trailing backslash)."""


def extract_word(text: str, pos: int, relax: bool) -> tuple[str | None, int, bool]:
    """One extract_first_word(UNQUOTE|CUNESCAPE[|UNESCAPE_RELAX]) step.

    Returns (word or None at end, next position, relaxed-escape-used).
    """
    n = len(text)
    while pos < n and text[pos] in _WHITESPACE:
        pos += 1
    if pos >= n:
        return None, n, False
    out = bytearray()
    quote = ""
    used_relax = False
    while pos < n:
        c = text[pos]
        if c == "\\":
            if pos + 1 >= n:
                if relax and not quote:
                    out += b"\\"
                    return _decode(out), n, True
                raise BadEscape(text)
            decoded = _cunescape_one(text, pos + 1)
            if decoded is not None:
                out += decoded[0]
                pos += 1 + decoded[1]
                continue
            if not relax:
                raise BadEscape(text)
            used_relax = True
            out += text_bytes("\\" + text[pos + 1])
            pos += 2
            continue
        if quote:
            if c == quote:
                quote = ""
            else:
                out += text_bytes(c)
            pos += 1
            continue
        if c in "'\"":
            quote = c
            pos += 1
            continue
        if c in _WHITESPACE:
            while pos < n and text[pos] in _WHITESPACE:
                pos += 1
            return _decode(out), pos, used_relax
        out += text_bytes(c)
        pos += 1
    if quote:
        raise UnbalancedQuotes(text)
    return _decode(out), n, used_relax


def _decode(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", "surrogateescape")


def split_words(text: str) -> list[str]:
    """Split like extract_first_word(UNQUOTE|CUNESCAPE); bad escapes/quotes raise."""
    words: list[str] = []
    pos = 0
    while True:
        try:
            word, pos, _ = extract_word(text, pos, relax=False)
        except UnbalancedQuotes:
            raise ValueParseError(f'Unbalanced quoting, ignoring: "{text}"') from None
        except BadEscape:
            raise ValueParseError(f'Invalid escape sequences in "{text}"') from None
        if word is None:
            return words
        words.append(word)


def extract_word_and_warn(
    text: str, pos: int, warn: Callable[[str], None], rvalue: str | None = None
) -> tuple[str | None, int]:
    """extract_first_word_and_warn(): retry relaxed on a bad escape, warn, keep it verbatim.

    `rvalue` is the text the error message quotes (default: all of `text`).
    """
    shown = text if rvalue is None else rvalue
    try:
        word, end, _ = extract_word(text, pos, relax=False)
        return word, end
    except UnbalancedQuotes:
        raise ValueParseError(f'Unbalanced quoting, ignoring: "{shown}"') from None
    except BadEscape:
        pass
    try:
        word, end, _ = extract_word(text, pos, relax=True)
    except (UnbalancedQuotes, BadEscape):
        raise ValueParseError(f'Unbalanced quoting, ignoring: "{shown}"') from None
    warn(f'Ignoring unknown escape sequences: "{word}"')
    return word, end


def split_words_relaxed(text: str) -> tuple[list[str], list[str]]:
    """Split as systemd does in unit files: (words, warnings); unbalanced quotes raise."""
    words: list[str] = []
    warnings: list[str] = []
    pos = 0
    while True:
        word, pos = extract_word_and_warn(text, pos, warnings.append)
        if word is None:
            return words, warnings
        words.append(word)
