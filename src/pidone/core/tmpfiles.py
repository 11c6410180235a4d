"""tmpfiles.d(5) lines -> typed entries (pure). linux/tmpfiles.py applies them.

Packages such as memcached, haproxy and lighttpd create their /run directories through
tmpfiles.d rather than RuntimeDirectory= (spec 09, "Container-specific traps"), so pidone
runs the --create pass before it starts units.

Line: `Type Path [Mode [User [Group [Age [Argument]]]]]`; a field `-` means the default.
Type is one letter, optionally followed by `+` (for f, w, L, p, c, b, C, a, A: replace
or append) and by the modifiers `!` (boot only), `-` (ignore errors), `=` (remove a wrong
type), `~` (argument is base64), `^` (argument is a credential). Mode may start with `~`
(masked by the existing mode) or `:` (only when creating). Files in the search path
override same-named files in lower-priority directories (as for units).
"""

from __future__ import annotations

import base64

from pidone.core.dataclass_lite import dataclass
from pidone.core.execline import split_words

CONFIG_DIRS = (
    "/etc/tmpfiles.d",
    "/run/tmpfiles.d",
    "/usr/local/lib/tmpfiles.d",
    "/lib/tmpfiles.d",
    "/usr/lib/tmpfiles.d",
)

# What each type does on --create; the rest is parsed, reported and skipped.
CREATE_TYPES = frozenset("fwdDevqQpLCxXzZcb")
KNOWN_TYPES = frozenset("fwdDevqQpLcbCxXrRzZtThHaA")
DEFAULT_MODES = {
    "f": 0o644,
    "w": 0o644,
    "d": 0o755,
    "D": 0o755,
    "v": 0o755,
    "q": 0o755,
    "Q": 0o755,
    "e": 0o755,
    "p": 0o644,
    "c": 0o644,
    "b": 0o644,
    "C": 0o644,
}


@dataclass(frozen=True, slots=True)
class TmpfilesEntry:
    type: str  # one letter
    plus: bool
    path: str
    mode: int | None  # None: the type's default (or keep, for z/Z/e)
    mode_masked: bool  # "~" prefix
    user: str  # "" = root / keep
    group: str
    age: str
    argument: str
    boot_only: bool
    ignore_errors: bool
    credential: bool  # "^": the argument names a credential
    source: str
    line: int


@dataclass(frozen=True, slots=True)
class TmpfilesProblem:
    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


def _field(value: str) -> str:
    return "" if value == "-" else value


def _split_line(line: str) -> tuple[list[str], str]:
    """Up to six fields (quotes allowed, as extract_first_word), then the raw argument."""
    words: list[str] = []
    rest = line
    while rest and len(words) < 6:
        rest = rest.lstrip()
        if not rest:
            break
        if rest[0] in "\"'":
            end = rest.find(rest[0], 1)
            if end < 0:
                raise ValueError("unbalanced quotes")
            words.append(split_words(rest[: end + 1])[0])
            rest = rest[end + 1 :]
        else:
            cut = len(rest)
            for index, ch in enumerate(rest):
                if ch in " \t":
                    cut = index
                    break
            words.append(rest[:cut])
            rest = rest[cut:]
    return words, rest.strip()


def parse_tmpfiles(text: str, source: str) -> tuple[list[TmpfilesEntry], list[TmpfilesProblem]]:
    """Parse one tmpfiles.d file; bad lines are reported and skipped, never raised."""
    entries: list[TmpfilesEntry] = []
    problems: list[TmpfilesProblem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words, argument = _split_line(line)
        except ValueError as exc:
            problems.append(TmpfilesProblem(source, number, f"Failed to parse line: {exc}"))
            continue
        if len(words) < 2:
            problems.append(TmpfilesProblem(source, number, "Syntax error."))
            continue
        head = words[0]
        kind = head[:1]
        flags = head[1:]
        if kind not in KNOWN_TYPES or any(ch not in "+!-=~^" for ch in flags):
            problems.append(TmpfilesProblem(source, number, f"Unknown command type '{head}'."))
            continue
        fields = [*words[1:], "-", "-", "-", "-", "-"][:6]
        path, mode_text, user, group, age = (fields[0], *map(_field, fields[1:5]))
        if "~" in flags and argument:
            try:
                argument = base64.b64decode(argument).decode("utf-8", "surrogateescape")
            except ValueError:
                problems.append(TmpfilesProblem(source, number, "Invalid base64 argument."))
                continue
        if not path.startswith("/"):
            problems.append(TmpfilesProblem(source, number, f"Path '{path}' not absolute."))
            continue
        below = path.removeprefix("/var/run/").lstrip("/") if path.startswith("/var/run/") else ""
        if below:
            # systemd-tmpfiles 252 (patch_var_run()): a path below the legacy /var/run/,
            # not /var/run itself (var.conf's `L /var/run - - - - ../run`), is rewritten to
            # /run/ (ngircd's `d /var/run/ircd`): the same below a --root without the link
            path = "/run/" + below
        masked = mode_text.startswith("~")
        mode_text = mode_text.lstrip("~:")
        mode: int | None = None
        if mode_text:
            try:
                mode = int(mode_text, 8)
            except ValueError:
                problems.append(TmpfilesProblem(source, number, f"Invalid mode '{mode_text}'."))
                continue
            if mode > 0o7777:
                problems.append(TmpfilesProblem(source, number, f"Invalid mode '{mode_text}'."))
                continue
        entries.append(
            TmpfilesEntry(
                kind,
                "+" in flags,
                path,
                mode,
                masked,
                user,
                group,
                age,
                argument,
                "!" in flags,
                "-" in flags,
                "^" in flags,
                source,
                number,
            )
        )
    return entries, problems


def merge_config_files(found: dict[str, list[str]]) -> list[str]:
    """Pick one file per basename, the highest-priority directory winning; sorted by name.

    `found` maps each directory (in CONFIG_DIRS order) to the basenames it holds.
    """
    chosen: dict[str, str] = {}
    for directory, names in found.items():
        for name in names:
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = f"{directory}/{name}"
    return [chosen[name] for name in sorted(chosen)]
