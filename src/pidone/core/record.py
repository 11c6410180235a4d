"""Record: immutable typed records for start-up-bound commands, without dataclasses or typing.

    class ExecRun(Record):
        kind: str
        pid: int = 0

For the type checker `Record` is typing.NamedTuple, so fields, defaults, `_replace()` and
the constructor are checked as usual. At run time the class body becomes a tuple subclass
built here: immutable, `__slots__ = ()`, equal and hashable by value, `_replace(**changes)`
in place of dataclasses.replace, `_fields`, `_asdict()`, a keyword-or-positional
constructor and a `Name(field=value, ...)` repr. Methods and the docstring of the body are
kept.

Why not the usual tools: importing dataclasses (inspect, ast, dis, tokenize) costs more
than everything else `pidone status` does, typing ~5 ms, and collections.namedtuple (like
dataclasses) compiles generated source for each class, about 1 ms for StatusView's fifty
fields (bench/cli.py). Here nothing is compiled: the constructor is one shared function.
"""

from __future__ import annotations

from operator import itemgetter

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: that import is what this module avoids
if TYPE_CHECKING:
    from typing import Any
    from typing import NamedTuple as Record
else:
    _NOT_COPIED = frozenset({"__annotations__", "__module__", "__qualname__", "__slots__"})

    def _new(cls: Any, *args: object, **kwargs: object) -> Any:  # noqa: ANN401
        fields = cls._fields
        if len(args) > len(fields):
            raise TypeError(f"{cls.__name__}() takes {len(fields)} arguments, got {len(args)}")
        values = list(args)
        defaults = cls._field_defaults
        for name in fields[len(args) :]:
            if name in kwargs:
                values.append(kwargs.pop(name))
            elif name in defaults:
                values.append(defaults[name])
            else:
                raise TypeError(f"{cls.__name__}() missing required argument: '{name}'")
        if kwargs:
            raise TypeError(f"{cls.__name__}() got unexpected arguments: {', '.join(kwargs)}")
        return tuple.__new__(cls, values)

    def _replace(self: Any, **changes: object) -> Any:  # noqa: ANN401
        values = [changes.pop(name, value) for name, value in zip(self._fields, self, strict=True)]
        if changes:
            raise ValueError(f"Got unexpected field names: {', '.join(changes)}")
        return tuple.__new__(type(self), values)

    def _repr(self: Any) -> str:  # noqa: ANN401
        pairs = zip(self._fields, self, strict=True)
        inner = ", ".join(f"{name}={value!r}" for name, value in pairs)
        return f"{type(self).__name__}({inner})"

    def _asdict(self: Any) -> dict[str, object]:  # noqa: ANN401
        return dict(zip(self._fields, self, strict=True))

    def _getnewargs(self: tuple[object, ...]) -> tuple[object, ...]:
        return tuple(self)

    class _RecordMeta(type):
        """Turns a class body with annotations into a tuple subclass (the fields in
        annotation order, defaults from the assignments), as typing.NamedTuple does."""

        def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
            if not bases:
                return super().__new__(mcls, name, bases, namespace)
            fields = tuple(namespace.get("__annotations__", {}))
            defaults = {f: namespace[f] for f in fields if f in namespace}
            required = [f for f in fields if f not in defaults]
            if required and fields.index(required[-1]) >= len(required):
                raise TypeError(f"{name}: a field without default follows one with a default")
            body = {k: v for k, v in namespace.items() if k not in _NOT_COPIED}
            for index, field in enumerate(fields):
                body[field] = property(itemgetter(index), doc=f"Field {index}: {field}")
            body.update(
                __slots__=(),
                __module__=namespace["__module__"],
                __qualname__=namespace.get("__qualname__", name),
                __match_args__=fields,
                _fields=fields,
                _field_defaults=defaults,
                __new__=_new,
                __repr__=_repr,
                __getnewargs__=_getnewargs,
                _replace=_replace,
                _asdict=_asdict,
            )
            return type(name, (tuple,), body)

    class Record(metaclass=_RecordMeta):
        """Base of immutable records (typing.NamedTuple for the type checker)."""


__all__ = ["Record"]
