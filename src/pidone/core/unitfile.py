"""systemd's INI dialect: bytes of one unit file or drop-in -> ordered assignments with positions.

This is the lexical level only (spec 01 §2). It knows nothing about what keys mean;
`core.units` turns assignments into a typed model. The rules follow systemd 252's
`config_parse()` (src/shared/conf-parser.c):

1. A line ends at LF, CR, CR LF or NUL (`read_line()` treats all of them as line
   terminators). Line numbers count those terminators, so they match systemd's.
2. A line whose first non-blank character is `#` or `;` is a comment, everywhere,
   including in the middle of a continuation. There are no inline comments.
3. A line that ends in an unescaped backslash continues on the next line: the backslash
   becomes a space. The position reported for a continued line is its last physical
   line, as systemd reports it.
4. A logical line longer than 1 MiB (LONG_LINE_MAX) makes the whole file unloadable.
5. `[Name]` opens a section. A header that does not end in `]` makes the whole file
   unloadable ("Invalid section header"). Sections outside `known_sections` are
   skipped with a warning, those starting with `X-` silently.
6. `KEY=VALUE` splits at the first `=`; both sides are stripped.

Bytes that are not UTF-8 are kept through `surrogateescape`, so nothing is lost and
nothing raises; `core.units` decides what to do with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import Diagnostic

LONG_LINE_MAX = 1024 * 1024
_WHITESPACE = " \t\n\r"
_LINE_SPLIT = re.compile(rb"\r\n|[\r\n\0]")
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Assignment:
    """One `KEY=VALUE` line in a known section, with where it came from."""

    section: str
    key: str
    value: str
    path: str
    line: int


@dataclass(frozen=True, slots=True)
class UnitFile:
    """The assignments of one file in file order, plus what the lexer had to say.

    `fatal` is set when systemd would refuse the whole file (load state `error`).
    """

    path: str
    assignments: tuple[Assignment, ...]
    sections: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]
    fatal: bool = False

    def get(self, section: str, key: str) -> list[str]:
        """All values of `key` in `section`, in order (for tests and simple lookups)."""
        return [a.value for a in self.assignments if a.section == section and a.key == key]


def _physical_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, line) the way systemd's read_line() splits a file."""
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    lineno = 0
    start = 0
    for match in _LINE_SPLIT.finditer(data):
        lineno += 1
        yield lineno, data[start : match.start()]
        start = match.end()
    if start < len(data):
        yield lineno + 1, data[start:]


def _ends_in_escape(text: str) -> bool:
    """True when the last character is a backslash that is not itself escaped."""
    run = len(text) - len(text.rstrip("\\"))
    return run % 2 == 1


def parse_unit_file(
    data: bytes,
    path: str,
    known_sections: frozenset[str] | None = None,
) -> UnitFile:
    """Lex one unit file or drop-in. Never raises on any input."""
    assignments: list[Assignment] = []
    sections: list[str] = []
    diags: list[Diagnostic] = []
    section: str | None = None
    section_ignored = False
    continuation: str | None = None

    def warn(line: int, message: str) -> None:
        diags.append(Diagnostic(path, line, message))

    def fail(line: int, message: str) -> UnitFile:
        diags.append(Diagnostic(path, line, message, "error"))
        return UnitFile(path, tuple(assignments), tuple(sections), tuple(diags), fatal=True)

    for lineno, raw in _physical_lines(data):
        if len(raw) > LONG_LINE_MAX:
            return fail(lineno, "Line too long")
        text = raw.decode("utf-8", "surrogateescape")
        stripped = text.lstrip(_WHITESPACE)
        if stripped and stripped[0] in "#;":
            continue
        if continuation is not None:
            if len(continuation) + len(text) > LONG_LINE_MAX:
                return fail(lineno, "Continuation line too long")
            text = continuation + text
        if _ends_in_escape(text):
            continuation = text[:-1] + " "
            continue
        continuation = None

        line = text.strip(_WHITESPACE)
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 2:
                return fail(lineno, f"Invalid section header '{line}'")
            name = line[1:-1]
            sections.append(name)
            if known_sections is not None and name not in known_sections:
                if not name.startswith("X-"):
                    warn(lineno, f"Unknown section '{name}'. Ignoring.")
                section, section_ignored = None, True
            else:
                section, section_ignored = name, False
            continue
        if section is None:
            if not section_ignored:
                warn(lineno, "Assignment outside of section. Ignoring.")
            continue
        key, sep, value = line.partition("=")
        if not sep:
            warn(lineno, "Missing '=', ignoring line.")
            continue
        key = key.strip(_WHITESPACE)
        if not key:
            warn(lineno, "Missing key name before '=', ignoring line.")
            continue
        assignments.append(Assignment(section, key, value.strip(_WHITESPACE), path, lineno))

    if continuation is not None:
        # systemd parses a dangling continuation at end of file as a last line.
        line = continuation.strip(_WHITESPACE)
        last = _count_lines(data)
        if line and section is not None and not line.startswith("["):
            key, sep, value = line.partition("=")
            if sep and key.strip(_WHITESPACE):
                assignments.append(
                    Assignment(
                        section, key.strip(_WHITESPACE), value.strip(_WHITESPACE), path, last
                    )
                )
            elif not sep:
                warn(last, "Missing '=', ignoring line.")
    return UnitFile(path, tuple(assignments), tuple(sections), tuple(diags))


def _count_lines(data: bytes) -> int:
    count = 0
    for count, _ in _physical_lines(data):  # noqa: B007 - we want the last number
        pass
    return count
