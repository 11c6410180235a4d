"""Environment= and EnvironmentFile= values -> ordered (name, value) assignments (spec 02 §4).

Rules (systemd 252 src/core/load-fragment.c config_parse_environ(), src/basic/env-file.c
parse_env_file_internal(), src/basic/env-util.c):
1. Environment= words are unquoted and C-unescaped; each must be `NAME=value` with NAME
   letters, digits and `_` not starting with a digit, and a UTF-8 value; others are
   skipped with a warning. A syntax error stops the line; earlier words are kept.
2. An EnvironmentFile= is shell-like but no shell: no `$` expansion, no `export`
   (such a line has an invalid name and is dropped with systemd's warning), quotes only
   at the start of a value, backslash-newline joins lines.
3. A name assigned twice keeps its first position and its last value
   (strv_env_replace_consume()).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pidone.core.errors import ValueParseError
from pidone.core.specifiers import SpecifierError
from pidone.core.words import BadEscape, UnbalancedQuotes, extract_word

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def env_name_is_valid(name: str) -> bool:
    """Letters, digits and `_`, not starting with a digit (env_name_is_valid())."""
    return _ENV_NAME.match(name) is not None


def _utf8_valid(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def env_assignment_is_valid(entry: str) -> bool:
    """`NAME=value` with a valid name and a UTF-8 value (env_assignment_is_valid())."""
    name, sep, value = entry.partition("=")
    return bool(sep) and env_name_is_valid(name) and _utf8_valid(value)


def _env_replace(entries: list[str], entry: str) -> None:
    """strv_env_replace_consume(): replace the first same-named entry in place, else append."""
    name = entry.partition("=")[0] + "="
    for index, old in enumerate(entries):
        if old.startswith(name):
            entries[index] = entry
            return
    entries.append(entry)


def parse_environment_assignments(
    value: str,
    *,
    expand: Callable[[str], str] | None = None,
    warnings: list[str] | None = None,
) -> list[tuple[str, str]]:
    """`Environment=` value -> [(name, value)] (config_parse_environ()).

    Words are unquoted and C-unescaped; invalid words are skipped with a warning in
    `warnings` ("Invalid environment assignment, ignoring: X"). A syntax error (bad
    escape, unbalanced quote) stops parsing: the words before it are kept, as systemd does.
    A name given twice keeps its first position and its last value.
    """
    entries: list[str] = []
    pos = 0
    while True:
        try:
            word, pos, _ = extract_word(value, pos, relax=False)
        except (UnbalancedQuotes, BadEscape):
            if warnings is not None:
                warnings.append(f"Invalid syntax, ignoring: {value}")
            break
        if word is None:
            break
        if expand is not None:
            try:
                word = expand(word)
            except ValueParseError as e:
                reason = e.reason if isinstance(e, SpecifierError) else str(e)
                if warnings is not None:
                    warnings.append(f"Failed to resolve specifiers in {word}, ignoring: {reason}")
                continue
        if not env_assignment_is_valid(word):
            if warnings is not None:
                warnings.append(f"Invalid environment assignment, ignoring: {word}")
            continue
        _env_replace(entries, word)
    return [_split_entry(e) for e in entries]


def _split_entry(entry: str) -> tuple[str, str]:
    name, _, val = entry.partition("=")
    return name, val


_SHELL_NEED_ESCAPE = b'"\\`$'
_NEWLINE = b"\n\r"
_WS = b" \t\n\r"


def parse_environment_file(data: bytes, path: str = "") -> tuple[list[tuple[str, str]], list[str]]:
    """EnvironmentFile= contents -> ([(name, value)], warnings) (parse_env_file_internal()).

    Shell-like but not a shell: no `$` expansion, `export` is not understood (such a line
    has an invalid name and is dropped with systemd's warning). Invalid UTF-8 makes
    systemd refuse the whole file, and so does a NUL byte: both raise ValueParseError.
    """
    if b"\0" in data:
        # read_full_file() refuses embedded NUL bytes (EBADMSG): the file fails to load.
        raise ValueParseError(f"{path or '(null)'}: file contains a NUL byte, refusing.")
    raw: list[tuple[bytes, bytes, int]] = []
    key = bytearray()
    value = bytearray()
    key_ws: int | None = None
    value_ws: int | None = None
    line = 1
    state = "PRE_KEY"

    def push(strip_value: bool) -> None:
        k = bytes(key[:key_ws] if key_ws is not None else key)
        v = bytes(value[:value_ws] if strip_value and value_ws is not None else value)
        raw.append((k, v, line))

    for byte in data:
        c = bytes([byte])
        if state == "PRE_KEY":
            if c in b"#;":
                state = "COMMENT"
            elif c not in _WS:
                state = "KEY"
                key_ws = None
                key[:] = c
        elif state == "KEY":
            if c in _NEWLINE:
                state = "PRE_KEY"
                line += 1
            elif c == b"=":
                state = "PRE_VALUE"
                value_ws = None
            else:
                if c not in _WS:
                    key_ws = None
                elif key_ws is None:
                    key_ws = len(key)
                key += c
        elif state == "PRE_VALUE":
            if c in _NEWLINE:
                state = "PRE_KEY"
                line += 1
                push(False)
                value.clear()
            elif c == b"'":
                state = "SQ"
            elif c == b'"':
                state = "DQ"
            elif c == b"\\":
                state = "VALUE_ESCAPE"
            elif c not in _WS:
                state = "VALUE"
                value += c
        elif state == "VALUE":
            if c in _NEWLINE:
                state = "PRE_KEY"
                line += 1
                push(True)
                value.clear()
            elif c == b"\\":
                state = "VALUE_ESCAPE"
                value_ws = None
            else:
                if c not in _WS:
                    value_ws = None
                elif value_ws is None:
                    value_ws = len(value)
                value += c
        elif state == "VALUE_ESCAPE":
            state = "VALUE"
            if c not in _NEWLINE:  # backslash-newline is eaten entirely
                value += c
        elif state == "SQ":
            if c == b"'":
                state = "PRE_VALUE"
            else:
                value += c
        elif state == "DQ":
            if c == b'"':
                state = "PRE_VALUE"
            elif c == b"\\":
                state = "DQ_ESCAPE"
            else:
                value += c
        elif state == "DQ_ESCAPE":
            state = "DQ"
            if c in _SHELL_NEED_ESCAPE:
                value += c
            elif c != b"\n":
                value += b"\\" + c
        elif state == "COMMENT":
            if c == b"\\":
                state = "COMMENT_ESCAPE"
            elif c in _NEWLINE:
                state = "PRE_KEY"
                line += 1
        else:  # COMMENT_ESCAPE
            state = "COMMENT"
    if state in ("PRE_VALUE", "VALUE", "VALUE_ESCAPE", "SQ", "DQ", "DQ_ESCAPE"):
        push(state == "VALUE")

    where = path or "(null)"
    entries: list[str] = []
    for k, v, lineno in raw:
        try:
            name = k.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueParseError(f"{where}:{lineno}: invalid UTF-8 in key, ignoring.") from None
        try:
            text = v.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueParseError(
                f"{where}:{lineno}: invalid UTF-8 value for key {name}, ignoring."
            ) from None
        _env_replace(entries, f"{name}={text}")

    warnings: list[str] = []
    result: list[tuple[str, str]] = []
    for entry in entries:
        if not env_assignment_is_valid(entry):
            suffix = f": {path}" if path else ""
            warnings.append(f"Ignoring invalid environment assignment '{entry}'{suffix}")
            continue
        result.append(_split_entry(entry))
    return result, warnings
