"""Domain errors and diagnostics shared by every layer."""

from __future__ import annotations

from pidone.core.record import Record

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


class Diagnostic(Record):
    """One message about a unit file, with its source position (line 0: the whole file).

    A core.record.Record (a tuple subclass, typing.NamedTuple for the type checker) rather
    than a dataclass or collections.namedtuple: this module is imported by every command,
    and `dataclasses` (with `inspect`, `typing`) costs more start-up time than most
    commands spend working; `collections` ~2 ms. Immutable, hashable, comparable, keyword
    or positional construction.
    """

    path: str
    line: int
    message: str
    severity: Severity = "warning"

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}: {self.message}"
