"""Exec command lines: prefixes, `;` separators, executable checks, exec-time `$VAR` rules.

Follows systemd 252 src/core/load-fragment.c config_parse_exec() and
src/basic/env-util.c replace_env_argv():
1. Words are split as `core.words` describes; unknown escapes are kept with a warning.
2. Specifiers are resolved per word *after* splitting (so `%I` with spaces stays one
   word); callers pass `expand=` for that.
3. A bad command is fatal for the unit (bad-setting) unless it has the `-` prefix; a
   first word that cannot be decoded only drops the rest of the line.
4. `$VAR` is expanded at exec time only (`expand_exec_argv`), never at load time.
Environment= and EnvironmentFile= parsing lives in `core.environ` and is re-exported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pidone.core.dataclass_lite import dataclass
from pidone.core.environ import (
    env_assignment_is_valid,
    env_name_is_valid,
    parse_environment_assignments,
    parse_environment_file,
)
from pidone.core.errors import ValueParseError
from pidone.core.escape import simplify_path
from pidone.core.signames import signal_name
from pidone.core.specifiers import SpecifierError
from pidone.core.words import (
    extract_word_and_warn,
    split_words,
    split_words_relaxed,
    text_bytes,
)

__all__ = [
    "DEFAULT_EXEC_SEARCH_PATH",
    "ExecCommand",
    "ExecLineError",
    "env_assignment_is_valid",
    "env_name_is_valid",
    "expand_exec_argv",
    "parse_environment_assignments",
    "parse_environment_file",
    "parse_exec_line",
    "split_words",
    "split_words_relaxed",
]

_WHITESPACE = " \t\n\r"


class ExecLineError(ValueParseError):
    """An Exec line systemd refuses; `fatal` means the unit gets load state bad-setting.

    systemd makes a bad command fatal (-ENOEXEC) unless the command has the `-` prefix,
    and ignores lines whose first word cannot be decoded at all.
    """

    def __init__(self, message: str, fatal: bool, commands: Sequence[ExecCommand] = ()) -> None:
        super().__init__(message)
        self.fatal = fatal
        self.commands: tuple[ExecCommand, ...] = tuple(commands)


# --- Exec lines -----------------------------------------------------------------------------

_CLD_CODES = {1: "exited", 2: "killed", 3: "dumped", 4: "trapped", 5: "stopped", 6: "continued"}
PATH_MAX = 4096
# Where a bare executable name is looked up (systemd 252 without ExecSearchPath=; spec 02
# §2.1). The lookup itself reads the filesystem, so it belongs to `linux`.
DEFAULT_EXEC_SEARCH_PATH = (
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
)
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

    def argv_for_exec(self, env: Mapping[str, str]) -> list[str]:
        """argv after exec-time `$VAR` expansion, or unchanged with the `:` prefix."""
        if self.no_env_expand:
            return list(self.argv)
        return expand_exec_argv(self.argv, env)

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
            status_text = f"{status}/{signal_name(status)}"
        return (
            f"{{ path={self.path} ; argv[]={' '.join(self.argv)} ; {middle} ; "
            f"start_time=[{start_time}] ; stop_time=[{stop_time}] ; pid={pid} ; "
            f"code={_CLD_CODES.get(code, '(null)')} ; status={status_text} }}"
        )


def _string_is_safe(text: str) -> bool:
    return not any(ord(c) < 0x20 or c in "\"'\\\x7f" for c in text)


def _path_is_valid(path: str) -> bool:
    data = text_bytes(path)
    if not data or len(data) >= PATH_MAX:
        return False
    return all(len(part) <= NAME_MAX for part in data.split(b"/"))


def _filename_is_valid(name: str) -> bool:
    data = text_bytes(name)
    return bool(data) and name not in (".", "..") and b"/" not in data and len(data) <= NAME_MAX


@dataclass(frozen=True, slots=True)
class _Prefixes:
    ignore_failure: bool = False
    separate_argv0: bool = False
    no_env_expand: bool = False
    full_privileges: bool = False
    no_setuid: bool = False
    ambient_fallback: bool = False


def _split_prefixes(word: str) -> tuple[_Prefixes, str]:
    """Strip `@ - : + ! !!` from the executable word: each at most once, in any order,
    and only one of `+`, `!`, `!!` (a `!` after `+` or a third `!` starts the path)."""
    ignore = argv0 = no_env = full = no_setuid = ambient = False
    i = 0
    for i, c in enumerate(word):  # noqa: B007 - `i` is the end of the prefixes
        privileged = full or no_setuid or ambient
        if c == "-" and not ignore:
            ignore = True
        elif c == "@" and not argv0:
            argv0 = True
        elif c == ":" and not no_env:
            no_env = True
        elif c == "+" and not privileged:
            full = True
        elif c == "!" and not privileged:
            no_setuid = True
        elif c == "!" and no_setuid and not (full or ambient):
            no_setuid, ambient = False, True
        else:
            break
    else:
        i = len(word)
    return _Prefixes(ignore, argv0, no_env, full, no_setuid, ambient), word[i:]


def _executable_problem(exe: str, rvalue: str) -> tuple[str, str] | None:
    """Why systemd refuses this executable word, as (message head, detail), or None."""
    if not exe:
        return "Empty path in command line", f"'{rvalue}'"
    if not _string_is_safe(exe):
        return "Executable name contains special characters", exe
    if exe.endswith("/"):
        return "Executable path specifies a directory", exe
    valid = _path_is_valid(exe) if exe.startswith("/") else _filename_is_valid(exe)
    if not valid:
        return "Neither a valid executable name nor an absolute path", exe
    return None


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
    # systemd's messages quote the value from where the current command starts (a lone
    # ";" skipped in command position does not move that start).
    rvalue = value
    while True:
        try:
            first, p = extract_word_and_warn(value, p, warn, rvalue)
        except ValueParseError as e:
            raise fail(str(e), fatal=False) from None
        if first is None:
            return commands
        if first == ";":
            continue  # a lone ";" where a command would start is only a separator
        prefixes, f = _split_prefixes(first)
        ignore = prefixes.ignore_failure
        suffix = ", ignoring" if ignore else ""
        fatal = not ignore
        exe = f
        if expand is not None:
            try:
                exe = expand(f)
            except ValueParseError as e:
                reason = e.reason if isinstance(e, SpecifierError) else str(e)
                raise fail(
                    f"Failed to resolve unit specifiers in '{f}'{suffix}: {reason}", fatal
                ) from None
        problem = _executable_problem(exe, rvalue)
        if problem is not None:
            raise fail(f"{problem[0]}{suffix}: {problem[1]}", fatal)
        argv: list[str] = [] if prefixes.separate_argv0 else [exe]
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
                word, p = extract_word_and_warn(value, p, warn, rvalue)
            except ValueParseError as e:
                raise fail(str(e), fatal) from None
            if word is None:
                break
            if expand is not None:
                try:
                    word = expand(word)
                except ValueParseError as e:
                    reason = e.reason if isinstance(e, SpecifierError) else str(e)
                    raise fail(
                        f"Failed to resolve unit specifiers in {word}{suffix}: {reason}", fatal
                    ) from None
            argv.append(word)
        if not argv:
            raise fail(f"Empty executable name or zeroeth argument{suffix}: {rvalue}", fatal)
        commands.append(
            ExecCommand(
                path=simplify_path(exe),
                argv=tuple(argv),
                ignore_failure=ignore,
                no_env_expand=prefixes.no_env_expand,
                full_privileges=prefixes.full_privileges,
                no_setuid=prefixes.no_setuid,
                ambient_fallback=prefixes.ambient_fallback,
                source_path=path,
                source_line=line,
            )
        )
        if not semicolon:
            return commands
        rvalue = value[p:]


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
