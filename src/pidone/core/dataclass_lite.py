"""dataclass_lite: the stdlib dataclasses decorator and helpers, without its imports or exec.

    from pidone.core.dataclass_lite import dataclass, field

    @dataclass(frozen=True, slots=True)
    class Exited:
        pid: int
        status: int = 0
        tags: list[str] = field(default_factory=list)

For the type checker these names ARE the stdlib's (`dataclasses.dataclass` and friends), so
mypy's dataclass plugin checks constructors, `replace()` and frozen assignments as usual.
At run time the decorator here builds the same class as the stdlib's for what pidone uses:
fields from annotations (ClassVar excluded; annotations are strings under `from __future__
import annotations`), fields of dataclass bases, defaults and `default_factory`,
`__post_init__`, `__match_args__`, eq/hash/order/repr/frozen with the stdlib's rules
(a non-frozen eq class is unhashable; equality only between instances of the same class;
repr `Name(a=1, b='x')`), `slots=True` by re-creating the class with `__slots__`, and
`__getstate__`/`__setstate__` for pickling and copying frozen slotted classes.

Why: importing dataclasses costs ~2.8 MiB of RSS (it imports inspect, ast, dis, tokenize,
linecache, copy), and it compiles generated source for every method of every class: the
daemon's ~170 classes cost ~240 ms of start-up and ~1.5 MiB of code objects. Here nothing
is compiled: every method is one shared function that reads a per-class plan, and
`__init__` stores each field with `object.__setattr__` (as the stdlib's frozen `__init__`
does). The price, measured with timeit on a shared box: ~1.7 us instead of ~1.2 us for a
frozen 5-field instance, ~1.4 us instead of ~0.7 us for a mutable one, `==` ~1.5x: a few
dozen microseconds per restart, for ~240 ms and ~1.5 MiB saved at start-up. (Generating
a small `__init__` per class would need exec, i.e. compiling, which is what this avoids.)

Not supported (raises TypeError): InitVar, KW_ONLY and kw_only=, weakref_slot=. A
non-frozen class's `__init__` stores fields without calling a `__setattr__` the class
defines (the stdlib's goes through it). `__doc__` is not set to the signature.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is one of the imports avoided here
if TYPE_CHECKING:
    from dataclasses import (
        MISSING,
        Field,
        FrozenInstanceError,
        dataclass,
        field,
        fields,
        is_dataclass,
        replace,
    )
else:
    from _thread import get_ident
    from itertools import repeat
    from operator import attrgetter
    from types import MappingProxyType

    class _MissingType:
        __slots__ = ()

        def __repr__(self) -> str:
            return "MISSING"

    MISSING = _MissingType()
    _REQUIRED, _DEFAULT, _FACTORY = 0, 1, 2
    _NO_METADATA = MappingProxyType({})  # shared by every field without metadata, as the stdlib's
    _osetattr = object.__setattr__
    _odelattr = object.__delattr__

    _NO_VALUE = object()  # a keyword argument not given

    class FrozenInstanceError(AttributeError):
        """Assignment to a field of a frozen dataclass (as dataclasses.FrozenInstanceError)."""

    class Field:
        """One field: what `fields()` returns (the stdlib's attributes, minus `_field_type`)."""

        __slots__ = (
            "compare",
            "default",
            "default_factory",
            "hash",
            "init",
            "kw_only",
            "metadata",
            "name",
            "repr",
            "type",
        )

        def __init__(
            self,
            default: object,
            default_factory: object,
            init: bool,
            repr: bool,
            hash: bool | None,
            compare: bool,
            metadata: object,
        ) -> None:
            self.name = ""
            self.type: object = None
            self.default = default
            self.default_factory = default_factory
            self.init = init
            self.repr = repr
            self.hash = hash
            self.compare = compare
            self.metadata = _NO_METADATA if metadata is None else MappingProxyType(metadata)
            self.kw_only = False

        def __repr__(self) -> str:
            return (
                f"Field(name={self.name!r},type={self.type!r},default={self.default!r},"
                f"default_factory={self.default_factory!r},init={self.init!r},"
                f"repr={self.repr!r},hash={self.hash!r},compare={self.compare!r},"
                f"metadata={self.metadata!r},kw_only={self.kw_only!r})"
            )

    class _Params:
        """`__dataclass_params__` (pprint and pytest look at it)."""

        __slots__ = ("eq", "frozen", "init", "order", "repr", "unsafe_hash")

        def __init__(
            self, init: bool, repr: bool, eq: bool, order: bool, unsafe_hash: bool, frozen: bool
        ) -> None:
            self.init, self.repr, self.eq, self.order = init, repr, eq, order
            self.unsafe_hash, self.frozen = unsafe_hash, frozen

    def field(
        *,
        default: object = MISSING,
        default_factory: object = MISSING,
        init: bool = True,
        repr: bool = True,
        hash: bool | None = None,
        compare: bool = True,
        metadata: object = None,
        kw_only: object = MISSING,
    ) -> object:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        if kw_only is not MISSING:
            raise TypeError("field(kw_only=...) is not supported by pidone's dataclass_lite")
        return Field(default, default_factory, init, repr, hash, compare, metadata)

    def fields(class_or_instance: object) -> tuple[Field, ...]:
        try:
            found = class_or_instance.__dataclass_fields__
        except AttributeError:
            raise TypeError("must be called with a dataclass type or instance") from None
        return tuple(found.values())

    def is_dataclass(obj: object) -> bool:
        cls = obj if isinstance(obj, type) else type(obj)
        return hasattr(cls, "__dataclass_fields__")

    def replace(obj: object, /, **changes: object) -> object:
        """A copy of `obj` with `changes`, through its `__init__` (and `__post_init__`)."""
        try:
            all_fields = obj.__dataclass_fields__
        except AttributeError:
            raise TypeError("replace() should be called on dataclass instances") from None
        if isinstance(obj, type):
            raise TypeError("replace() should be called on dataclass instances")
        for name, f in all_fields.items():
            if not f.init:
                if name in changes:
                    raise ValueError(
                        f"field {name} is declared with init=False, it cannot be specified "
                        "with replace()"
                    )
            elif name not in changes:
                changes[name] = getattr(obj, name)
        return obj.__class__(**changes)

    # --- the shared methods: each reads its class's plan, set by _process() ----------------

    def _init(self: object, *args: object, **kwargs: object) -> None:
        cls = type(self)
        plan = cls.__dl_plan__
        n = len(args)
        if n:
            names = cls.__dl_names__
            if n > len(names):
                _too_many(cls, plan, n)
            # One object.__setattr__ per positional field, called from C by map() rather
            # than by a bytecode loop (__setattr__ returns None: any() runs them all):
            # a 5-field frozen event took ~1.9 us, now ~1.4 (best thread time of 40 x 5,000).
            any(map(_osetattr, repeat(self, n), names, args))
            rest = plan[n:] if n < len(plan) else ()
        else:
            rest = plan
        if kwargs and cls.__dl_fastkw__ is not None:
            # Slotted classes (the order fields are stored in is not seen): when every
            # keyword names a field not given by position, they are stored from C as the
            # positional ones are, and only the fields left out take their defaults. A
            # 27-field plan built by keywords took ~13.6 us, ~7.4 by position (timeit).
            allowed = cls.__dl_fastkw__.get(n)
            if allowed is None:
                allowed = cls.__dl_fastkw__[n] = frozenset(entry[0] for entry in rest)
            if kwargs.keys() <= allowed:
                any(map(_osetattr, repeat(self, len(kwargs)), kwargs, kwargs.values()))
                if len(kwargs) != len(rest):
                    for name, kind, default in rest:
                        if name not in kwargs:
                            if kind == _DEFAULT:
                                _osetattr(self, name, default)
                            elif kind == _FACTORY:
                                _osetattr(self, name, default())
                            else:
                                _missing(cls, rest, kwargs)
                kwargs = {}
                rest = ()
        if kwargs:
            for name, kind, default in rest:
                value = kwargs.pop(name, _NO_VALUE)
                if value is _NO_VALUE:
                    if kind == _DEFAULT:
                        value = default
                    elif kind == _FACTORY:
                        value = default()
                    else:
                        _missing(cls, rest[rest.index((name, kind, default)) :], kwargs)
                _osetattr(self, name, value)
        else:  # defaults only: no keyword lookups
            for name, kind, default in rest:
                if kind == _DEFAULT:
                    _osetattr(self, name, default)
                elif kind == _FACTORY:
                    _osetattr(self, name, default())
                else:
                    _missing(cls, rest[rest.index((name, kind, default)) :], kwargs)
        if kwargs:
            name = next(iter(kwargs))
            why = (
                "got multiple values for argument"
                if name in cls.__dataclass_fields__
                else ("got an unexpected keyword argument")
            )
            raise TypeError(f"{cls.__qualname__}.__init__() {why} '{name}'")
        for name, kind, default in cls.__dl_noinit__:
            _osetattr(self, name, default if kind == _DEFAULT else default())
        if cls.__dl_post__:
            self.__post_init__()

    def _too_many(cls: type, plan: tuple[tuple[str, int, object], ...], n: int) -> None:
        """Python's own message for too many positional arguments (self counted)."""
        most = len(plan) + 1
        least = sum(1 for e in plan if e[1] == _REQUIRED) + 1
        takes = f"from {least} to {most}" if least < most else str(most)
        s = "" if most == 1 else "s"
        raise TypeError(
            f"{cls.__qualname__}.__init__() takes {takes} positional argument{s} "
            f"but {n + 1} were given"
        )

    def _missing(
        cls: type, rest: tuple[tuple[str, object, int, object], ...], kwargs: dict[str, object]
    ) -> None:
        names = [repr(e[0]) for e in rest if e[1] == _REQUIRED and e[0] not in kwargs]
        if len(names) == 1:
            listed = names[0]
        elif len(names) == 2:
            listed = f"{names[0]} and {names[1]}"
        else:
            listed = ", ".join(names[:-1]) + f", and {names[-1]}"
        s = "s" if len(names) > 1 else ""
        raise TypeError(
            f"{cls.__qualname__}.__init__() missing {len(names)} required positional "
            f"argument{s}: {listed}"
        )

    def _eq(self: object, other: object) -> object:
        if other.__class__ is self.__class__:
            key = self.__dl_key__
            return key(self) == key(other)
        return NotImplemented

    def _lt(self: object, other: object) -> object:
        if other.__class__ is self.__class__:
            key = self.__dl_key__
            return key(self) < key(other)
        return NotImplemented

    def _le(self: object, other: object) -> object:
        if other.__class__ is self.__class__:
            key = self.__dl_key__
            return key(self) <= key(other)
        return NotImplemented

    def _gt(self: object, other: object) -> object:
        if other.__class__ is self.__class__:
            key = self.__dl_key__
            return key(self) > key(other)
        return NotImplemented

    def _ge(self: object, other: object) -> object:
        if other.__class__ is self.__class__:
            key = self.__dl_key__
            return key(self) >= key(other)
        return NotImplemented

    def _hash(self: object) -> int:
        return hash(self.__dl_hkey__(self))

    _in_repr: set[tuple[int, int]] = set()

    def _repr(self: object) -> str:
        key = (id(self), get_ident())
        if key in _in_repr:  # a dataclass that contains itself: "...", as reprlib's guard
            return "..."
        _in_repr.add(key)
        try:
            inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__dl_repr__)
        finally:
            _in_repr.discard(key)
        return f"{type(self).__qualname__}({inner})"

    def _frozen_setattr(self: object, name: str, value: object) -> None:
        cls = self.__dl_frozen__
        if type(self) is cls or name in cls.__dataclass_fields__:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def _frozen_delattr(self: object, name: str) -> None:
        cls = self.__dl_frozen__
        if type(self) is cls or name in cls.__dataclass_fields__:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    def _getstate(self: object) -> list[object]:
        return [getattr(self, name) for name in self.__dataclass_fields__]

    def _setstate(self: object, state: list[object]) -> None:
        for name, value in zip(self.__dataclass_fields__, state, strict=True):
            _osetattr(self, name, value)  # bypasses the frozen __setattr__, as the stdlib's

    # --- __dataclass_fields__, built when first asked for ------------------------------------

    class _LazyFields:
        """The class attribute `__dataclass_fields__` until something reads it (fields(),
        replace(), pickling, pytest): then the dict of Field objects is built from the
        class's `__dl_fieldinfo__` (Field objects, or the names of plain annotated fields,
        whose type is in `__annotations__` and whose default is in the init plan) and
        stored on the class in place of this descriptor."""

        __slots__ = ()

        def __get__(self, obj: object, owner: type) -> dict[str, Field]:
            for klass in owner.__mro__:
                if "__dl_fieldinfo__" in klass.__dict__:
                    built = _build_fields(klass)
                    type.__setattr__(klass, "__dataclass_fields__", built)
                    return built
            raise AttributeError("__dataclass_fields__")

    def _build_fields(klass: type) -> dict[str, Field]:
        annotations = klass.__dict__.get("__annotations__", {})  # noqa: RUF063 - no inspect
        plan = {entry[0]: entry for entry in klass.__dict__["__dl_plan__"]}
        built: dict[str, Field] = {}
        for item in klass.__dict__["__dl_fieldinfo__"]:
            if isinstance(item, str):  # a plain annotated field: init=True, no factory
                f = Field(MISSING, MISSING, True, True, None, True, None)
                f.name, f.type = item, annotations.get(item)
                entry = plan.get(item)
                if entry is not None and entry[1] == _DEFAULT:
                    f.default = entry[2]
                item = f
            built[item.name] = item
        return built

    _LAZY_FIELDS = _LazyFields()
    _PARAMS: dict[tuple[bool, ...], _Params] = {}  # one per combination of decorator flags

    # --- building a class -----------------------------------------------------------------

    def _is_classvar(annotation: object) -> bool:
        """ClassVar annotations are no fields. Under `from __future__ import annotations`
        they are strings; the stdlib also matches the string's first word."""
        text = annotation.strip() if isinstance(annotation, str) else repr(annotation)
        head = text.split("[", 1)[0].strip()
        return head in ("ClassVar", "typing.ClassVar", "t.ClassVar")

    def _own_fields(cls: type) -> tuple[list[Field], set[str]]:
        """The class's own fields, and the names of those declared without field()."""
        annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - no inspect
        out: list[Field] = []
        plain: set[str] = set()
        for name, annotation in annotations.items():
            if _is_classvar(annotation):
                continue
            text = annotation if isinstance(annotation, str) else ""
            if text.startswith(("InitVar", "dataclasses.InitVar", "KW_ONLY")):
                raise TypeError(f"{cls.__name__}.{name}: {text} is not supported by dataclass_lite")
            value = cls.__dict__.get(name, MISSING)
            if isinstance(value, Field):
                f = value
            else:
                f = Field(value, MISSING, True, True, None, True, None)
                plain.add(name)
            f.name = name
            f.type = annotation
            if f.default is not MISSING and f.default.__class__.__hash__ is None:
                raise ValueError(
                    f"mutable default {type(f.default)} for field {name} is not allowed: "
                    "use default_factory"
                )
            out.append(f)
        for name, value in cls.__dict__.items():
            if isinstance(value, Field) and name not in annotations:
                raise TypeError(f"{name!r} is a field but has no type annotation")
        return out, plain

    def _key(names: tuple[str, ...]) -> object:
        if len(names) > 1:
            return attrgetter(*names)
        if names:
            one = attrgetter(names[0])
            return lambda obj: (one(obj),)
        return lambda obj: ()

    def _set_new(cls: type, name: str, value: object) -> bool:
        if name in cls.__dict__:
            return True
        setattr(cls, name, value)
        return False

    def _process(
        cls: type,
        init: bool,
        repr: bool,
        eq: bool,
        order: bool,
        unsafe_hash: bool,
        frozen: bool,
        match_args: bool,
        slots: bool,
    ) -> type:
        all_fields: dict[str, Field] = {}
        any_frozen_base = has_dataclass_bases = False
        all_frozen_bases = True
        for base in cls.__mro__[-1:0:-1]:
            if "__dataclass_fields__" in base.__dict__:
                has_dataclass_bases = True
                all_fields.update(base.__dataclass_fields__)
                base_frozen = base.__dataclass_params__.frozen
                any_frozen_base = any_frozen_base or base_frozen
                all_frozen_bases = all_frozen_bases and base_frozen
        if has_dataclass_bases:
            if any_frozen_base and not frozen:
                raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
            if not all_frozen_bases and frozen:
                raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
        own, plain = _own_fields(cls)
        for f in own:
            all_fields[f.name] = f
            if f.default is MISSING:
                if isinstance(cls.__dict__.get(f.name), Field):
                    delattr(cls, f.name)
            else:
                setattr(cls, f.name, f.default)  # a class attribute, as the stdlib's
        class_hash = cls.__dict__.get("__hash__", MISSING)
        explicit_hash = not (
            class_hash is MISSING or (class_hash is None and "__eq__" in cls.__dict__)
        )
        # Field objects of fields declared without field() are rebuilt on demand
        # (_LazyFields): ~1,000 of them would otherwise live in every daemon unused.
        cls.__dl_fieldinfo__ = tuple(name if name in plain else f for name, f in all_fields.items())
        cls.__dataclass_fields__ = _LAZY_FIELDS
        flags = (init, repr, eq, order, unsafe_hash, frozen)
        params = _PARAMS.get(flags)
        if params is None:
            params = _PARAMS[flags] = _Params(*flags)
        cls.__dataclass_params__ = params

        init_fields = [f for f in all_fields.values() if f.init]
        if init:
            seen_default = False
            for f in init_fields:
                if f.default is MISSING and f.default_factory is MISSING:
                    if seen_default:
                        raise TypeError(f"non-default argument {f.name!r} follows default argument")
                else:
                    seen_default = True
            _set_new(cls, "__init__", _init)
        if repr:
            _set_new(cls, "__repr__", _repr)
        compare_names = tuple(f.name for f in all_fields.values() if f.compare)
        if eq:
            _set_new(cls, "__eq__", _eq)
        if order:
            if not eq:
                raise ValueError("eq must be true if order is true")
            for name, method in (
                ("__lt__", _lt),
                ("__le__", _le),
                ("__gt__", _gt),
                ("__ge__", _ge),
            ):
                if _set_new(cls, name, method):
                    raise TypeError(
                        f"Cannot overwrite attribute {name} in class {cls.__name__}. "
                        "Consider using functools.total_ordering"
                    )
        if frozen:
            for name, method in (
                ("__setattr__", _frozen_setattr),
                ("__delattr__", _frozen_delattr),
            ):
                if _set_new(cls, name, method):
                    raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        # dataclasses' __hash__ table: (unsafe_hash, eq, frozen, explicit __hash__)
        if unsafe_hash:
            if explicit_hash:
                raise TypeError(f"Cannot overwrite attribute __hash__ in class {cls.__name__}")
            cls.__hash__ = _hash
        elif eq and not explicit_hash:
            cls.__hash__ = _hash if frozen else None
        if match_args:
            _set_new(cls, "__match_args__", tuple(f.name for f in init_fields))
        if slots:
            cls = _add_slots(cls, all_fields, frozen)
        plan = []
        for f in init_fields:
            if f.default is not MISSING:
                kind, default = _DEFAULT, f.default
            elif f.default_factory is not MISSING:
                kind, default = _FACTORY, f.default_factory
            else:
                kind, default = _REQUIRED, None
            plan.append((f.name, kind, default))
        noinit = []
        for f in all_fields.values():
            if not f.init and f.default is not MISSING:
                noinit.append((f.name, _DEFAULT, f.default))
            elif not f.init and f.default_factory is not MISSING:
                noinit.append((f.name, _FACTORY, f.default_factory))
        cls.__dl_plan__ = tuple(plan)
        cls.__dl_names__ = tuple(entry[0] for entry in plan)
        cls.__dl_noinit__ = tuple(noinit)
        cls.__dl_post__ = hasattr(cls, "__post_init__")
        # keyword names allowed after n positional arguments, per n met (see _init)
        cls.__dl_fastkw__ = {} if slots else None
        key = staticmethod(_key(compare_names))
        cls.__dl_key__ = key
        hash_names = tuple(
            f.name for f in all_fields.values() if (f.compare if f.hash is None else f.hash)
        )
        cls.__dl_hkey__ = key if hash_names == compare_names else staticmethod(_key(hash_names))
        repr_names = tuple(f.name for f in all_fields.values() if f.repr)
        cls.__dl_repr__ = compare_names if repr_names == compare_names else repr_names
        if frozen:
            cls.__dl_frozen__ = cls
        return cls

    def _add_slots(cls: type, all_fields: dict[str, Field], frozen: bool) -> type:
        """The class again, with `__slots__` for its fields (a class cannot gain slots)."""
        body = dict(cls.__dict__)
        if "__slots__" in body:
            raise TypeError(f"{cls.__name__} already specifies __slots__")
        inherited: set[str] = set()
        for base in cls.__mro__[1:-1]:
            slots = base.__dict__.get("__slots__", ())
            inherited.update((slots,) if isinstance(slots, str) else slots)
        body["__slots__"] = tuple(name for name in all_fields if name not in inherited)
        for name in all_fields:
            body.pop(name, None)  # a default may not shadow its slot; __init__ holds it
        body.pop("__dict__", None)
        body.pop("__weakref__", None)
        qualname = getattr(cls, "__qualname__", None)
        new = type(cls)(cls.__name__, cls.__bases__, body)
        if qualname is not None:
            new.__qualname__ = qualname
        if frozen:
            _set_new(new, "__getstate__", _getstate)
            _set_new(new, "__setstate__", _setstate)
        return new

    def dataclass(
        cls: type | None = None,
        /,
        *,
        init: bool = True,
        repr: bool = True,
        eq: bool = True,
        order: bool = False,
        unsafe_hash: bool = False,
        frozen: bool = False,
        match_args: bool = True,
        kw_only: bool = False,
        slots: bool = False,
        weakref_slot: bool = False,
    ) -> object:
        if kw_only or weakref_slot:
            raise TypeError("kw_only= and weakref_slot= are not supported by dataclass_lite")

        def wrap(klass: type) -> type:
            return _process(klass, init, repr, eq, order, unsafe_hash, frozen, match_args, slots)

        return wrap if cls is None else wrap(cls)


__all__ = [
    "MISSING",
    "Field",
    "FrozenInstanceError",
    "dataclass",
    "field",
    "fields",
    "is_dataclass",
    "replace",
]
