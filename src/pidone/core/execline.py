"""Exec command lines and environment assignments: quoting, prefixes, `$VAR` rules.

Follows systemd 252 (src/basic/extract-word.c, src/core/load-fragment.c
config_parse_exec(), src/basic/env-util.c, src/basic/env-file.c):
1. Words are split by extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE): quotes may
   open anywhere in a word, C escapes are decoded inside and outside quotes.
2. In unit files an unknown escape is not fatal: systemd retries with
   EXTRACT_UNESCAPE_RELAX, keeps the backslash and the character, and warns
   "Ignoring unknown escape sequences". Unbalanced quotes make the word fail.
3. Specifiers are resolved per word *after* splitting (so `%I` with spaces stays one
   word); callers pass `expand=` for that.
4. `$VAR` is expanded at exec time only (`expand_exec_argv`), never at load time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

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


class ExecLineError(ValueParseError):
    """An Exec line systemd refuses; `fatal` means the unit gets load state bad-setting.

    systemd makes a bad command fatal (-ENOEXEC) unless the command has the `-` prefix,
    and ignores lines whose first word cannot be decoded at all.
    """

    def __init__(self, message: str, fatal: bool, commands: Sequence[ExecCommand] = ()) -> None:
        super().__init__(message)
        self.fatal = fatal
        self.commands: tuple[ExecCommand, ...] = tuple(commands)


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


class _Unbalanced(Exception):
    pass


class _BadEscape(Exception):
    pass


def _extract_word(text: str, pos: int, relax: bool) -> tuple[str | None, int, bool]:
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
                raise _BadEscape
            decoded = _cunescape_one(text, pos + 1)
            if decoded is not None:
                out += decoded[0]
                pos += 1 + decoded[1]
                continue
            if not relax:
                raise _BadEscape
            used_relax = True
            out += ("\\" + text[pos + 1]).encode("utf-8", "surrogateescape")
            pos += 2
            continue
        if quote:
            if c == quote:
                quote = ""
            else:
                out += c.encode("utf-8", "surrogateescape")
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
        out += c.encode("utf-8", "surrogateescape")
        pos += 1
    if quote:
        raise _Unbalanced
    return _decode(out), n, used_relax


def _decode(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", "surrogateescape")


def split_words(text: str) -> list[str]:
    """Split like extract_first_word(UNQUOTE|CUNESCAPE); bad escapes/quotes raise."""
    words: list[str] = []
    pos = 0
    while True:
        try:
            word, pos, _ = _extract_word(text, pos, relax=False)
        except _Unbalanced:
            raise ValueParseError(f'Unbalanced quoting, ignoring: "{text}"') from None
        except _BadEscape:
            raise ValueParseError(f'Invalid escape sequences in "{text}"') from None
        if word is None:
            return words
        words.append(word)


def _extract_and_warn(text: str, pos: int, warn: Callable[[str], None]) -> tuple[str | None, int]:
    """extract_first_word_and_warn(): retry relaxed on a bad escape, warn, keep it verbatim."""
    try:
        word, end, _ = _extract_word(text, pos, relax=False)
        return word, end
    except _Unbalanced:
        raise ValueParseError(f'Unbalanced quoting, ignoring: "{text}"') from None
    except _BadEscape:
        pass
    try:
        word, end, _ = _extract_word(text, pos, relax=True)
    except (_Unbalanced, _BadEscape):
        raise ValueParseError(f'Unbalanced quoting, ignoring: "{text}"') from None
    warn(f'Ignoring unknown escape sequences: "{word}"')
    return word, end


def split_words_relaxed(text: str) -> tuple[list[str], list[str]]:
    """Split as systemd does in unit files: (words, warnings); unbalanced quotes raise."""
    words: list[str] = []
    warnings: list[str] = []
    pos = 0
    while True:
        word, pos = _extract_and_warn(text, pos, warnings.append)
        if word is None:
            return words, warnings
        words.append(word)


# --- Exec lines -----------------------------------------------------------------------------

_CLD_CODES = {1: "exited", 2: "killed", 3: "dumped", 4: "trapped", 5: "stopped", 6: "continued"}
PATH_MAX = 4096
NAME_MAX = 255


@dataclass(frozen=True, slots=True)
class ExecCommand:
    """One command of an Exec*= line, after load-time processing (no `$VAR` expansion)."""

    path: str
    argv: tuple[str, ...]
    ignore_failure: bool = False  # "-"
    no_env_expand: bool = False  # ":"
    full_privileges: bool = False  # "+"
    no_setuid: bool = False  # "!"
    ambient_fallback: bool = False  # "!!"
    source_path: str = ""
    source_line: int = 0

    def flag_names(self) -> list[str]:
        """Flags as `ExecStartEx=` names them (exec_command_flags_to_strv())."""
        names = []
        if self.ignore_failure:
            names.append("ignore-failure")
        if self.full_privileges:
            names.append("privileged")
        if self.no_setuid:
            names.append("no-setuid")
        if self.ambient_fallback:
            names.append("ambient")
        if self.no_env_expand:
            names.append("no-env-expand")
        return names

    def format_show(
        self,
        *,
        ex: bool = False,
        start_time: str = "n/a",
        stop_time: str = "n/a",
        pid: int = 0,
        code: int = 0,
        status: int = 0,
    ) -> str:
        """The `{ path=... ; argv[]=... ; ... }` value `systemctl show` prints for ExecStart=.

        `code` is the CLD_* code (1 exited, 2 killed, 3 dumped, 0 never ran); timestamps
        come preformatted. `ex=True` gives the ExecStartEx= form with `flags=`.
        """
        middle = (
            f"flags={' '.join(self.flag_names())}"
            if ex
            else f"ignore_errors={'yes' if self.ignore_failure else 'no'}"
        )
        if code == 1:
            status_text = str(status)
        else:
            from pidone.core.values import signal_name

            status_text = f"{status}/{signal_name(status)}"
        return (
            f"{{ path={self.path} ; argv[]={' '.join(self.argv)} ; {middle} ; "
            f"start_time=[{start_time}] ; stop_time=[{stop_time}] ; pid={pid} ; "
            f"code={_CLD_CODES.get(code, '(null)')} ; status={status_text} }}"
        )


def _string_is_safe(text: str) -> bool:
    return not any(ord(c) < 0x20 or c in "\"'\\\x7f" for c in text)


def _path_is_valid(path: str) -> bool:
    data = path.encode("utf-8", "surrogateescape")
    if not data or len(data) >= PATH_MAX:
        return False
    return all(len(part) <= NAME_MAX for part in data.split(b"/"))


def _filename_is_valid(name: str) -> bool:
    data = name.encode("utf-8", "surrogateescape")
    return bool(data) and name not in (".", "..") and b"/" not in data and len(data) <= NAME_MAX


def _simplify(path: str) -> str:
    from pidone.core.escape import simplify_path

    return simplify_path(path)


def parse_exec_line(
    value: str,
    path: str = "",
    line: int = 0,
    *,
    expand: Callable[[str], str] | None = None,
    warnings: list[str] | None = None,
) -> list[ExecCommand]:
    """Exec*= value -> commands (systemd config_parse_exec()).

    `expand` resolves specifiers in each word after splitting. Harmless oddities
    (unknown escapes kept verbatim) are appended to `warnings`. A refused command raises
    `ExecLineError`; its `commands` attribute holds the commands before it (systemd keeps
    those), and `fatal` says whether the unit becomes bad-setting.
    """
    commands: list[ExecCommand] = []

    def warn(message: str) -> None:
        if warnings is not None:
            warnings.append(message)

    def fail(message: str, fatal: bool) -> ExecLineError:
        return ExecLineError(message, fatal, commands)

    p = 0
    while True:
        try:
            first, p = _extract_and_warn(value, p, warn)
        except ValueParseError as e:
            raise fail(str(e), fatal=False) from None
        if first is None:
            return commands
        f = first
        ignore = no_env = separate_argv0 = full = no_setuid = ambient = False
        while f:
            c = f[0]
            if c == "-" and not ignore:
                ignore = True
            elif c == "@" and not separate_argv0:
                separate_argv0 = True
            elif c == ":" and not no_env:
                no_env = True
            elif c == "+" and not (full or no_setuid or ambient):
                full = True
            elif c == "!" and not (full or no_setuid or ambient):
                no_setuid = True
            elif c == "!" and no_setuid and not (full or ambient):
                no_setuid, ambient = False, True
            else:
                break
            f = f[1:]
        suffix = ", ignoring" if ignore else ""
        fatal = not ignore
        exe = f
        if expand is not None:
            try:
                exe = expand(f)
            except ValueParseError as e:
                raise fail(f"{e}{suffix}", fatal) from None
        if not exe:
            raise fail(f"Empty path in command line{suffix}: '{value}'", fatal)
        if not _string_is_safe(exe):
            raise fail(f"Executable name contains special characters{suffix}: {exe}", fatal)
        if exe.endswith("/"):
            raise fail(f"Executable path specifies a directory{suffix}: {exe}", fatal)
        valid = _path_is_valid(exe) if exe.startswith("/") else _filename_is_valid(exe)
        if not valid:
            raise fail(
                f"Neither a valid executable name nor an absolute path{suffix}: {exe}", fatal
            )
        argv: list[str] = [] if separate_argv0 else [exe]
        semicolon = False
        n = len(value)
        while p < n:
            # An unquoted ";" word separates commands; "\;" is a literal ";" word. Both are
            # checked on the raw text, before unquoting (config_parse_exec()).
            if value[p] == ";" and (p + 1 >= n or value[p + 1] in _WHITESPACE):
                p += 1
                while p < n and value[p] in _WHITESPACE:
                    p += 1
                semicolon = True
                break
            if value.startswith("\\;", p) and (p + 2 >= n or value[p + 2] in _WHITESPACE):
                p += 2
                while p < n and value[p] in _WHITESPACE:
                    p += 1
                argv.append(";")
                continue
            try:
                word, p = _extract_and_warn(value, p, warn)
            except ValueParseError as e:
                raise fail(str(e), fatal) from None
            if word is None:
                break
            if expand is not None:
                try:
                    word = expand(word)
                except ValueParseError as e:
                    raise fail(f"{e}{suffix}", fatal) from None
            argv.append(word)
        if not argv:
            raise fail(f"Empty executable name or zeroeth argument{suffix}: {value}", fatal)
        commands.append(
            ExecCommand(
                path=_simplify(exe),
                argv=tuple(argv),
                ignore_failure=ignore,
                no_env_expand=no_env,
                full_privileges=full,
                no_setuid=no_setuid,
                ambient_fallback=ambient,
                source_path=path,
                source_line=line,
            )
        )
        if not semicolon:
            return commands


# --- exec-time $VAR expansion ---------------------------------------------------------------


def _env_get(env: Mapping[str, str], name: str) -> str | None:
    """strv_env_get_n(): the last `NAME=` entry whose text starts with `name` + "="."""
    if not name:
        return None
    for key, val in reversed(list(env.items())):
        entry = f"{key}={val}"
        if entry.startswith(name) and entry[len(name) : len(name) + 1] == "=":
            return entry[len(name) + 1 :]
    return None


def _split_value(text: str) -> list[str]:
    """strv_split_full(WHITESPACE, EXTRACT_RELAX|EXTRACT_UNQUOTE): quotes removed,
    a backslash keeps the next character literally, no C escapes, never fails."""
    words: list[str] = []
    n = len(text)
    pos = 0
    while True:
        while pos < n and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= n:
            return words
        out: list[str] = []
        quote = ""
        while pos < n:
            c = text[pos]
            pos += 1
            if c == "\\":
                if pos < n:
                    out.append(text[pos])
                    pos += 1
                continue
            if quote:
                if c == quote:
                    quote = ""
                else:
                    out.append(c)
            elif c in "'\"":
                quote = c
            elif c in _WHITESPACE:
                break
            else:
                out.append(c)
        words.append("".join(out))


def _replace_env(word: str, env: Mapping[str, str]) -> str:
    """replace_env() without flags: `${NAME}` anywhere, `$$` -> `$`, all else literal."""
    out: list[str] = []
    i = 0
    n = len(word)
    while i < n:
        c = word[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = word[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt != "{":
            out.append(c)
            i += 1
            continue
        # "${": scan for "}" (a ":" first means unsupported syntax: left literal).
        j = i + 2
        while j < n and word[j] not in "}:":
            j += 1
        if j < n and word[j] == "}":
            value = _env_get(env, word[i + 2 : j])
            out.append(value or "")
            i = j + 1
        else:
            # Unterminated or "${NAME:...}": copy literally up to here and go on scanning.
            out.append(word[i:j])
            i = j
    return "".join(out)


def expand_exec_argv(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Exec-time expansion (replace_env_argv(), spec 02 §2.3).

    A word that is exactly `$NAME` becomes the value split at whitespace (no word when
    unset or empty); `${NAME}` anywhere becomes the value as-is; `$$` becomes `$`.
    """
    result: list[str] = []
    for word in argv:
        if word.startswith("$") and word[1:2] not in ("{", "$"):
            value = _env_get(env, word[1:])
            if value is not None:
                result.extend(_split_value(value))
            continue
        result.append(_replace_env(word, env))
    return result


# --- Environment= and EnvironmentFile= ------------------------------------------------------

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
            word, pos, _ = _extract_word(value, pos, relax=False)
        except (_Unbalanced, _BadEscape):
            if warnings is not None:
                warnings.append(f"Invalid syntax, ignoring: {value}")
            break
        if word is None:
            break
        if expand is not None:
            try:
                word = expand(word)
            except ValueParseError as e:
                if warnings is not None:
                    warnings.append(f"{e}, ignoring")
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
    systemd refuse the whole file: that raises ValueParseError. Text after a NUL byte is
    not seen (systemd parses a C string).
    """
    data = data.split(b"\0", 1)[0]
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
