"""Domain errors and diagnostics shared by every layer."""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: every CLI call imports this module
if TYPE_CHECKING:
    from typing import Literal

    Severity = Literal["error", "warning", "info"]


class PidoneError(Exception):
    """Base of every error pidone raises on purpose."""


class InvalidUnitName(PidoneError):
    """A string that is not a valid unit name (spec 01 §1)."""


class UnitFileError(PidoneError):
    """A unit file that cannot be loaded at all (load state `error`)."""


class ValueParseError(PidoneError, ValueError):
    """A setting's value does not parse; the message is systemd's wording."""


class NoSuchProcess(PidoneError):
    """The process vanished while it was being read."""


class AccessDenied(PidoneError):
    """The kernel refused to show a process's data."""


class Diagnostic(namedtuple("Diagnostic", "path line message severity", defaults=("warning",))):
    """One message about a unit file, with its source position (line 0: the whole file).

    A named tuple rather than a dataclass: this module is imported by every command, and
    `dataclasses` (with `inspect`, `typing`) costs more start-up time than most commands
    spend working. Immutable, hashable, comparable, keyword or positional construction.
    """

    __slots__ = ()

    path: str
    line: int
    message: str
    severity: Severity

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}: {self.message}"
