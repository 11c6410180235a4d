"""Share what loaded units have in common: sealed empty and repeated lists, default sections.

A daemon keeps every loaded unit's model for its whole life. `core.units.build_unit()`
fills mutable sections (the parsers append in file order), and a plain service leaves
most of them as they were made: ~45 empty lists and dicts, an `ExecContext` and a
`KillContext` equal to their defaults, no `[Install]`. `share_unit()` replaces those,
in place, by objects every unit shares, and gives units whose dependency lists hold the
same names (every plain service: `Requires=sysinit.target system.slice`, `After=...`)
one list between them. That takes a loaded service from ~5 KiB of model to ~1.2 KiB.

A built unit is read-only (core.model): nothing mutates it after loading. The shared
lists and dicts enforce it: they are `SealedList`/`SealedDict`, subclasses of list and
dict that compare, iterate, index and concatenate as their base class and raise
`TypeError` on any change, so a violation fails loudly instead of changing every unit.
The shared `ExecContext`/`KillContext` are plain instances (a subclass would no longer
compare equal to a fresh one); nothing assigns to a loaded unit's sections (the one
caller that derives a context, linux.execprep._with_user(), changes a copy).

Only the daemon's registry calls this: tests and the CLI's offline builders keep the
unshared, mutable model `build_unit()` returns.
"""

from __future__ import annotations

from pidone.core.hints import Any, NoReturn
from pidone.core.install import InstallSection
from pidone.core.model import ExecContext, KillContext, Unit


def _sealed(*_args: object, **_kwargs: object) -> NoReturn:
    raise TypeError("a loaded unit's settings are read-only (shared between units)")


class SealedList(list[Any]):
    """A list that no one may change: shared by the loaded units that hold it."""

    __slots__ = ()
    append = extend = insert = remove = pop = clear = sort = reverse = _sealed
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _sealed


class SealedDict(dict[Any, Any]):
    """A dict that no one may change: shared by the loaded units that hold it."""

    __slots__ = ()
    pop = popitem = clear = update = setdefault = _sealed
    __setitem__ = __delitem__ = __ior__ = _sealed


EMPTY_LIST = SealedList()
EMPTY_DICT = SealedDict()
_NO_INSTALL = InstallSection()  # frozen: safe to share as it is
_DEFAULT_EXEC = ExecContext()
_DEFAULT_KILL = KillContext()

# Lists of names with the same items share one SealedList. Keyed by the items; bounded so
# that a daemon reloading ever-changing units cannot grow it without end (past the bound
# a new list stays the unit's own).
_SHARED_LISTS: dict[tuple[object, ...], SealedList] = {}
_SHARED_LISTS_MAX = 4096


def _shared_list(items: list[Any]) -> list[Any]:
    if not items:
        return EMPTY_LIST
    if not all(type(item) is str for item in items):
        return items  # ExecCommand, Condition, tuples: per-unit content, not worth a key
    key = tuple(items)
    found = _SHARED_LISTS.get(key)
    if found is None:
        if len(_SHARED_LISTS) >= _SHARED_LISTS_MAX:
            return items
        found = _SHARED_LISTS[key] = SealedList(items)
    return found


def _share_fields(obj: object) -> None:
    """Every list/dict field of the slotted section `obj` replaced by a shared one."""
    setter = object.__setattr__
    for name in type(obj).__slots__:  # type: ignore[attr-defined]
        value = getattr(obj, name)
        kind = type(value)
        if kind is list:
            shared = _shared_list(value)
            if shared is not value:
                setter(obj, name, shared)
        elif kind is dict and not value:
            setter(obj, name, EMPTY_DICT)


def _share_section(section: Any) -> None:  # noqa: ANN401 - ServiceSection or SocketSection
    if section.exec == _DEFAULT_EXEC:
        section.exec = _DEFAULT_EXEC
    else:
        _share_fields(section.exec)
    if section.kill == _DEFAULT_KILL:
        section.kill = _DEFAULT_KILL
    _share_fields(section)


def share_unit(unit: Unit) -> Unit:
    """`unit` (changed in place) with its empty and repeated parts shared; see the module
    docstring. Call it once the unit is complete: afterwards its lists refuse changes."""
    _share_fields(unit)
    _share_fields(unit.unit)
    if unit.install == _NO_INSTALL:
        unit.install = _NO_INSTALL
    if unit.service is not None:
        _share_section(unit.service)
    elif unit.socket is not None:
        _share_section(unit.socket)
    elif unit.timer is not None:
        _share_fields(unit.timer)
    return unit


# The pristine defaults' own empty lists become the shared ones too (the same object).
_share_fields(_DEFAULT_EXEC)
