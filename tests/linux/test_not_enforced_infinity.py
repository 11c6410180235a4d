"""A resource limit set to "infinity" asks for no limit, which is what pidone does: it is
not reported as "Not enforced by pidone" (start log, status, verify), yet `show` keeps it."""

from __future__ import annotations

from pidone.linux.sandbox import still_not_enforced
from tests.core.unitbuild import unit_from_text


def reported(text: str, *dropins: str) -> list[str]:
    unit = unit_from_text("x.service", text, *dropins)
    return [f"{n.key}={n.value}" for n in still_not_enforced(unit.not_enforced)]


def test_infinity_limits_are_not_reported_finite_ones_are() -> None:
    # pacemaker.service: TasksMax=infinity
    text = (
        "[Service]\nExecStart=/bin/true\nTasksMax=infinity\nMemoryMax=infinity\n"
        "MemoryHigh=infinity\nMemorySwapMax=infinity\nMemoryLimit=2G\nCPUQuota=50%\n"
    )
    assert reported(text) == ["MemoryLimit=2G", "CPUQuota=50%"]
    unit = unit_from_text("x.service", text)
    assert "TasksMax" in {n.key for n in unit.not_enforced}  # still there for `show`


def test_the_last_assignment_decides() -> None:
    text = "[Service]\nExecStart=/bin/true\nMemoryMax=1G\nTasksMax=infinity\n"
    lifted = "[Service]\nMemoryMax=infinity\n"
    assert reported(text, lifted) == []
    limited = "[Service]\nTasksMax=512\n"
    assert reported(text, limited) == ["MemoryMax=1G", "TasksMax=infinity", "TasksMax=512"]


def test_other_keys_with_infinity_stay_reported() -> None:
    # MemoryLow=infinity protects all memory: a request pidone does not carry out
    text = "[Service]\nExecStart=/bin/true\nMemoryLow=infinity\n"
    assert reported(text) == ["MemoryLow=infinity"]
