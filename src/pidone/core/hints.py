"""hints: typing's names for annotations and type aliases, without importing typing at run time.

    from pidone.core.hints import TYPE_CHECKING, Any, Literal, Protocol

    Clock = Literal["monotonic", "realtime"]

For the type checker these ARE typing's names (re-exported), so aliases, protocols, casts
and Final are checked as usual. At run time (annotations are strings under `from
__future__ import annotations`) only the few places that evaluate them need a stand-in:
a subscriptable placeholder for type aliases (`Literal[...]` gives the placeholder back),
`object` as the base of protocol classes (they are never instantiated nor isinstance()d:
typing refuses isinstance() on a protocol that is not runtime_checkable), and `cast`
returning its value.

Why: `import typing` costs ~0.65 MiB of RSS and ~5 ms, and the daemon touched it only for
these names. Code that needs typing's runtime introspection (get_args, get_type_hints)
imports typing itself.
"""

from __future__ import annotations

TYPE_CHECKING = False  # mypy treats every name TYPE_CHECKING as true; at run time it is False
if TYPE_CHECKING:
    from typing import (
        Any,
        BinaryIO,
        Final,
        Literal,
        NoReturn,
        Protocol,
        TypeGuard,
        cast,
    )
else:

    class _Form:
        """A typing special form at run time: subscripting gives the form back."""

        __slots__ = ("_name",)

        def __init__(self, name: str) -> None:
            self._name = name

        def __getitem__(self, _item: object) -> _Form:
            return self

        def __repr__(self) -> str:
            return f"pidone.core.hints.{self._name}"

    Any = _Form("Any")
    BinaryIO = _Form("BinaryIO")
    Final = _Form("Final")
    Literal = _Form("Literal")
    NoReturn = _Form("NoReturn")
    TypeGuard = _Form("TypeGuard")
    Protocol = object

    def cast(_typ: object, value: object) -> object:
        return value


__all__ = [
    "TYPE_CHECKING",
    "Any",
    "BinaryIO",
    "Final",
    "Literal",
    "NoReturn",
    "Protocol",
    "TypeGuard",
    "cast",
]
