"""core.dataclass_lite against the stdlib's dataclasses: the same classes built by both
decorators must behave alike (construction, defaults, equality, hash, order, repr, frozen
errors, slots, inheritance, replace, fields, pickle, copy, __post_init__, match)."""

from __future__ import annotations

import copy
import dataclasses as std
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from pidone.core import dataclass_lite as lite

Decorators = tuple[Callable[..., Any], Callable[..., Any]]
BOTH = pytest.mark.parametrize("dc", [std, lite], ids=["stdlib", "lite"])


def build(dc: Any) -> dict[str, Any]:
    """The same family of classes, built by `dc` (the stdlib module or dataclass_lite)."""

    @dc.dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: int = 0
        tags: tuple[str, ...] = ()
        limit: ClassVar[int] = 10

        def norm1(self) -> int:
            return abs(self.x) + abs(self.y)

    @dc.dataclass(frozen=True, slots=True)
    class Point3(Point):
        z: int = 0

    @dc.dataclass(slots=True)
    class Box:
        label: str
        items: list[int] = dc.field(default_factory=list)
        seen: dict[str, int] = dc.field(default_factory=dict, repr=False, compare=False)

    @dc.dataclass
    class Plain:
        a: int
        b: str = "b"

    @dc.dataclass(eq=False, slots=True)
    class Ident:
        a: int

    @dc.dataclass(frozen=True, slots=True, order=True)
    class Version:
        major: int
        minor: int = 0

    @dc.dataclass(frozen=True, slots=True)
    class Empty:
        pass

    @dc.dataclass(slots=True)
    class Checked:
        n: int
        doubled: int = 0

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")
            self.doubled = 2 * self.n

    return {k: v for k, v in locals().items() if isinstance(v, type)}


STD = build(std)
LITE = build(lite)
# pickle finds classes by module and qualified name: expose the lite ones at module level
for _name, _cls in LITE.items():
    _cls.__qualname__ = f"Lite{_name}"
    globals()[f"Lite{_name}"] = _cls


def both(name: str) -> tuple[Any, Any]:
    return STD[name], LITE[name]


def outcome(call: Callable[[], object]) -> tuple[str, str]:
    """What a call gives: ('ok', repr) or (exception type, message), class names removed."""
    try:
        result = call()
    except Exception as exc:
        return type(exc).__name__, _unqualified(str(exc))
    return "ok", _unqualified(repr(result))


def _unqualified(text: str) -> str:
    return text.replace("Lite", "").replace("build.<locals>.", "")


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("Point", (1,), {}),
        ("Point", (1, 2, ("a",)), {}),
        ("Point", (), {"x": 1, "tags": ("t",)}),
        ("Point", (), {}),
        ("Point", (1, 2, (), 4), {}),
        ("Point", (1,), {"x": 2}),
        ("Point", (1,), {"w": 2}),
        ("Point3", (1, 2), {"z": 3}),
        ("Point3", (1,), {}),  # positional, then a required field left out (no keywords)
        ("Point", (1, 2, ("a",)), {"tags": ()}),  # every field positional, and a keyword
        ("Point", (1, 2), {}),  # positional, then defaults and factories only
        ("Point3", (), {"z": 3}),
        ("Box", ("b",), {}),
        ("Box", (), {"label": "l", "items": [1]}),
        ("Plain", (1,), {}),
        ("Version", (), {}),
        ("Empty", (), {}),
        ("Empty", (1,), {}),
        ("Checked", (3,), {}),
        ("Checked", (-1,), {}),
        # every field by keyword, in another order than declared; after positionals
        ("Point3", (), {"z": 3, "tags": ("t",), "y": 2, "x": 1}),
        ("Point3", (1,), {"z": 3, "y": 2}),
        ("Box", (), {"label": "l"}),  # a factory left out
        ("Box", (), {"items": [1]}),  # a required field left out
        ("Point3", (), {"y": 2, "z": 3}),
        ("Point3", (1, 2), {"x": 1, "z": 3}),  # a keyword given by position already
        ("Point3", (), {"x": 1, "q": 3}),  # a name that is no field
        ("Checked", (), {"n": 4}),  # __post_init__ after keywords
        ("Checked", (), {"doubled": 1, "n": -2}),
    ],
)
def test_construction_repr_and_errors_match_the_stdlib(
    name: str, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    s, li = both(name)
    assert outcome(lambda: li(*args, **kwargs)) == outcome(lambda: s(*args, **kwargs))


def test_missing_arguments_are_named_like_the_stdlib() -> None:
    s, li = both("Point3")
    assert outcome(lambda: li()) == outcome(lambda: s())
    assert "missing 1 required positional argument: 'x'" in outcome(lambda: li())[1]


def test_defaults_factories_and_classvars() -> None:
    point, box = LITE["Point"], LITE["Box"]
    assert [f.name for f in lite.fields(point)] == ["x", "y", "tags"]
    assert [f.name for f in lite.fields(point(1))] == ["x", "y", "tags"]
    assert point.limit == 10
    a, b = box("a"), box("b")
    a.items.append(1)
    assert b.items == []  # a fresh list per instance
    assert box("a") == box("a", seen={"x": 1})  # compare=False field
    assert repr(box("a", [1])) == "LiteBox(label='a', items=[1])"


def test_field_metadata_matches_the_stdlib() -> None:
    def described(f: Any) -> tuple[object, ...]:
        return (f.name, f.type, f.init, f.repr, f.compare, f.hash, dict(f.metadata), f.kw_only)

    assert [described(f) for f in lite.fields(LITE["Box"])] == [
        described(f) for f in std.fields(STD["Box"])
    ]
    assert lite.fields(LITE["Box"])[1].default is lite.MISSING
    assert lite.fields(LITE["Box"])[1].default_factory is list
    meta = lite.field(default=0, metadata={"unit": "s"})
    assert meta.metadata["unit"] == "s"  # type: ignore[attr-defined]


def test_equality_is_by_value_and_only_within_one_class() -> None:
    point, point3, plain = LITE["Point"], LITE["Point3"], LITE["Plain"]
    assert point(1, 2) == point(1, 2)
    assert point(1, 2) != point(1, 3)
    assert point(1, 0) != point3(1, 0, 0)
    assert point(1) != (1, 0, ())
    assert plain(1) == plain(1, "b")
    ident = LITE["Ident"]
    assert ident(1) != ident(1)  # eq=False: identity


def test_hash_rules_match_the_stdlib() -> None:
    for name in ("Point", "Box", "Plain", "Ident", "Version", "Empty"):
        s, li = both(name)
        assert (li.__hash__ is None) == (s.__hash__ is None), name
    point = LITE["Point"]
    assert hash(point(1, 2)) == hash(point(1, 2))
    assert len({point(1, 2), point(1, 2), point(2, 1)}) == 2
    with pytest.raises(TypeError, match="unhashable"):
        hash(LITE["Box"]("a"))
    ident = LITE["Ident"]
    x = ident(1)
    assert hash(x) == object.__hash__(x)


def test_order() -> None:
    version = LITE["Version"]
    assert sorted([version(2), version(1, 5), version(1, 2)]) == [
        version(1, 2),
        version(1, 5),
        version(2),
    ]
    assert version(1) <= version(1) < version(1, 1)
    assert version(2) >= version(1) > version(0)
    with pytest.raises(TypeError):
        _ = version(1) < LITE["Point"](1)
    with pytest.raises(TypeError):
        _ = LITE["Point"](1) < LITE["Point"](2)


@BOTH
def test_frozen_instances_refuse_assignment_and_deletion(dc: Any) -> None:
    p = build(dc)["Point"](1)
    with pytest.raises(dc.FrozenInstanceError, match="cannot assign to field 'x'"):
        p.x = 2
    # Not a field: the stdlib 3.11's slotted __setattr__ fails in super() (its closure names
    # the class before the slots rebuild: TypeError); ours says FrozenInstanceError.
    with pytest.raises((AttributeError, TypeError)):
        p.other = 2
    with pytest.raises(dc.FrozenInstanceError, match="cannot delete field 'x'"):
        del p.x
    assert issubclass(dc.FrozenInstanceError, AttributeError)


def test_slots_match_the_stdlib() -> None:
    for name in ("Point", "Point3", "Box", "Ident", "Version", "Checked"):
        s, li = both(name)
        assert li.__slots__ == s.__slots__, name
        assert not hasattr(li(*_args(name)), "__dict__"), name
    assert hasattr(LITE["Plain"](1), "__dict__")
    assert LITE["Plain"].b == "b"  # a plain class keeps defaults as class attributes


def _args(name: str) -> tuple[object, ...]:
    return ("a",) if name == "Box" else (1,)


def test_mutable_box_assigns_and_post_init_runs() -> None:
    box = LITE["Box"]("a")
    box.label = "b"
    assert box.label == "b"
    checked = LITE["Checked"](4)
    assert checked.doubled == 8
    with pytest.raises(ValueError, match="negative"):
        LITE["Checked"](-1)


def test_replace_builds_through_init() -> None:
    point, checked = LITE["Point"], LITE["Checked"]
    p = point(1, 2, ("a",))
    q = lite.replace(p, y=5)
    assert q == point(1, 5, ("a",))
    assert p == point(1, 2, ("a",))
    assert lite.replace(checked(1), n=3).doubled == 6  # __post_init__ again
    with pytest.raises(TypeError, match="unexpected keyword argument 'w'"):
        lite.replace(p, w=1)
    with pytest.raises(TypeError, match="dataclass instances"):
        lite.replace(object())


def test_is_dataclass_and_fields_errors() -> None:
    point = LITE["Point"]
    assert lite.is_dataclass(point)
    assert lite.is_dataclass(point(1))
    assert not lite.is_dataclass(object())
    assert not lite.is_dataclass(int)
    with pytest.raises(TypeError, match="dataclass type or instance"):
        lite.fields(object())


@pytest.mark.parametrize("name", ["Point", "Point3", "Box", "Plain", "Version", "Checked"])
def test_pickle_and_copy_round_trip(name: str) -> None:
    obj = LITE[name](*_args(name))
    for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(obj, proto))
        assert again == obj
        assert type(again) is type(obj)
    assert copy.copy(obj) == obj
    assert copy.deepcopy(obj) == obj


def test_match_args_and_pattern_matching() -> None:
    assert LITE["Point3"].__match_args__ == ("x", "y", "tags", "z")
    match LITE["Point"](3, 4):
        case LitePoint(x, y):  # noqa: F821 - set in globals() above
            assert (x, y) == (3, 4)
        case _:
            pytest.fail("no match")


def test_methods_docstring_and_names_survive_the_slots_rebuild() -> None:
    point = LITE["Point"]
    assert point(1, -2).norm1() == 3
    assert point.__name__ == "Point"
    assert point.__module__ == __name__
    assert point.__dataclass_params__.frozen


@BOTH
def test_class_definition_errors_match(dc: Any) -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @dc.dataclass
        class Bad:
            a: int = 0
            b: int

    with pytest.raises(ValueError, match="mutable default"):

        @dc.dataclass
        class Mutable:
            a: list[int] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen one"):

        @dc.dataclass
        class Thawed(build(dc)["Point"]):  # type: ignore[misc]
            w: int = 0

    with pytest.raises(ValueError, match="cannot specify both default and default_factory"):
        dc.field(default=1, default_factory=list)


def test_recursive_repr_is_guarded() -> None:
    box = LITE["Box"]("a")
    box.items.append(box)  # type: ignore[arg-type]
    assert repr(box) == "LiteBox(label='a', items=[...])"


def test_explicit_methods_in_the_body_win() -> None:
    @lite.dataclass(frozen=True, slots=True)
    class Named:
        a: int

        def __repr__(self) -> str:
            return "custom"

        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return 7

    assert repr(Named(1)) == "custom"
    assert Named(1) == Named(2)
    assert hash(Named(1)) == 7


def test_importing_it_imports_no_dataclasses_inspect_or_typing() -> None:
    code = (
        "import sys, pidone.core.dataclass_lite as d\n"
        "@d.dataclass(frozen=True, slots=True)\n"
        "class A:\n    x: int\n"
        "A(1)\n"
        "print(sorted({'dataclasses', 'inspect', 'typing', 'ast'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_field_objects_are_built_when_first_asked_for() -> None:
    @lite.dataclass(frozen=True, slots=True)
    class Base:
        a: int
        b: str = "x"
        c: list[int] = lite.field(default_factory=list, compare=False)

    @lite.dataclass(frozen=True, slots=True)
    class Child(Base):
        d: int = 4

    assert not isinstance(Child.__dict__["__dataclass_fields__"], dict)  # not built yet
    built = [(f.name, f.type, f.default, f.default_factory, f.compare) for f in lite.fields(Child)]
    assert built == [
        ("a", "int", lite.MISSING, lite.MISSING, True),
        ("b", "str", "x", lite.MISSING, True),
        ("c", "list[int]", lite.MISSING, list, False),
        ("d", "int", 4, lite.MISSING, True),
    ]
    assert isinstance(Child.__dict__["__dataclass_fields__"], dict)  # stored on the class
    assert [f.name for f in lite.fields(Base(1))] == ["a", "b", "c"]
    assert lite.replace(Child(1), d=5) == Child(1, "x", [], 5)
