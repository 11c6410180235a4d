"""core.record.Record: the typing.NamedTuple stand-in of the start-up-bound status path."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest

from pidone.core.record import Record


class Point(Record):
    """A point with a label."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


def test_fields_defaults_and_construction() -> None:
    assert Point._fields == ("x", "y", "tags")
    assert Point(1) == (1, 0, ())
    assert Point(1, 2, ("a",)) == Point(x=1, tags=("a",), y=2)
    assert Point(3, y=4).norm1() == 7
    assert Point.__doc__ == "A point with a label."
    assert Point.__name__ == "Point"
    assert Point.__module__ == __name__


def test_errors_name_the_problem() -> None:
    with pytest.raises(TypeError, match="missing required argument: 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected arguments: z"):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="takes 3 arguments, got 4"):
        Point(1, 2, (), 4)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="unexpected field names: w"):
        Point(1)._replace(w=1)  # type: ignore[call-arg]


def test_a_required_field_may_not_follow_a_default() -> None:
    with pytest.raises(TypeError, match="without default follows"):

        class Bad(Record):
            a: int = 0
            b: int  # type: ignore[misc]


def test_immutable_slotted_and_equal_by_value() -> None:
    p = Point(1, 2)
    with pytest.raises(AttributeError):
        p.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.other = 1  # type: ignore[attr-defined]
    assert not hasattr(p, "__dict__")
    assert hash(p) == hash(Point(1, 2))
    assert p != Point(1, 3)


def test_replace_repr_asdict_copy_pickle() -> None:
    p = Point(1, 2, ("a",))
    q = p._replace(y=5)
    assert (p.y, q.y, q.tags, type(q)) == (2, 5, ("a",), Point)
    assert repr(q) == "Point(x=1, y=5, tags=('a',))"
    assert q._asdict() == {"x": 1, "y": 5, "tags": ("a",)}
    assert copy.copy(q) == q
    assert copy.deepcopy(q) == q
    assert pickle.loads(pickle.dumps(q)) == q
    match q:
        case Point(x, y):
            assert (x, y) == (1, 5)


def test_importing_record_imports_neither_typing_nor_dataclasses() -> None:
    code = (
        "import sys, pidone.core.record, pidone.core.statusview\n"
        "bad = {'typing', 'dataclasses', 'inspect'} & set(sys.modules)\n"
        "print(sorted(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
