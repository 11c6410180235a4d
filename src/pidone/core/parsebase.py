"""Shared ground of the directive apply functions: context, outcomes, target access, helpers.

An apply function has the signature `(ctx, row, value)`. It raises `Ignored(message)` when
systemd would log "..., ignoring" and keep the earlier value, and `Fatal(message)` when
systemd's parser returns an error, which makes the unit `bad-setting` (systemd stops
reading the file there: config_parse() aborts on a negative return).
"""

from __future__ import annotations

from collections.abc import Callable

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.errors import ValueParseError
from pidone.core.hints import Any
from pidone.core.model import Unit
from pidone.core.specifiers import SpecifierError
from pidone.core.values import (
    parse_timespan,
)
from pidone.core.words import split_words_relaxed


class Ignored(Exception):
    """A warning; the assignment is dropped and the earlier value stays."""


class Fatal(Exception):
    """The unit cannot be loaded (bad-setting)."""


@dataclass(slots=True)
class Context:
    """What an apply function needs: the unit being built and where the line came from."""

    unit: Unit
    section: Any  # the section dataclass the row's target lives in
    expand: Callable[[str], str]  # specifier expansion; raises ValueParseError
    key: str = ""
    section_name: str = ""
    path: str = ""
    line: int = 0
    warnings: list[str] = field(default_factory=list)  # extra non-fatal warnings


# --- target access --------------------------------------------------------------------------


# --- scalars --------------------------------------------------------------------------------


def _owner(ctx: Context, target: str) -> tuple[Any, str]:
    obj: Any = ctx.section
    if target.startswith("@unit."):
        obj, target = ctx.unit.unit, target[len("@unit.") :]
    *parents, name = target.split(".")
    for parent in parents:
        obj = getattr(obj, parent)
    return obj, name


def set_target(ctx: Context, target: str, value: object) -> None:
    if target:
        obj, name = _owner(ctx, target)
        setattr(obj, name, value)


def get_target(ctx: Context, target: str) -> Any:  # noqa: ANN401 - the row decides the type
    obj, name = _owner(ctx, target)
    return getattr(obj, name)


def reset_target(ctx: Context, target: str) -> None:
    """Put the dataclass default back (lists become empty)."""
    if not target:
        return
    obj, name = _owner(ctx, target)
    setattr(obj, name, getattr(type(obj)(), name))


def printf(ctx: Context, text: str) -> str:
    try:
        return ctx.expand(text)
    except ValueParseError as e:
        raise Ignored(
            f"Failed to resolve unit specifiers in '{text}', ignoring: {reason_of(e)}"
        ) from None


def reason_of(e: Exception) -> str:
    if isinstance(e, SpecifierError):
        return e.reason
    text = str(e)
    return text.rsplit(": ", 1)[-1] if ": " in text else "Invalid slot"


def sec_or_ignore(value: str, message: str) -> int:
    try:
        return parse_timespan(value)
    except (ValueParseError, ValueError):
        raise Ignored(message) from None


def to_int(value: str) -> int | None:
    text = value.strip()
    if not text or not (text.lstrip("+-").isdigit() and text.isascii()):
        return None
    return int(text)


def split_value(ctx: Context, value: str) -> list[str]:
    try:
        words, warnings = split_words_relaxed(value)
    except ValueParseError:
        raise Ignored(f"Invalid syntax, ignoring: {value}") from None
    ctx.warnings.extend(warnings)
    return words


def ranged(value: str, low: int, high: int, message: str) -> int:
    number = to_int(value)
    if number is None or not low <= number <= high:
        raise Ignored(message)
    return number


def named(value: str, names: dict[str, int], high: int, message: str) -> int:
    if value in names:
        return names[value]
    return ranged(value, 0, high, message)
