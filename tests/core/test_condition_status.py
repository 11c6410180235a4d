"""`Condition: start condition failed at ...` in status and ConditionResult= in show, as
systemd 252 prints them (oracle captures: a referenced unit skipped by ConditionPathExists=,
one whose `|` checks all failed, one skipped by ExecCondition=)."""

from __future__ import annotations

from datetime import UTC

from pidone.core import events as ev
from pidone.core.render.status import format_status
from pidone.core.statusview import (
    UnitRef,
    as_collected,
    looks_collected,
    view_from_status_info,
)

NOW = 1_764_430_000_000_000  # Sat 2025-11-29 15:26:40 UTC


def status(triggered_by: tuple[str, ...] = (), **extra: object) -> str:
    info = {
        "unit": "h1c2.service",
        "description": "H1 c2",
        "load_state": "loaded",
        "fragment_path": "/etc/systemd/system/h1c2.service",
        "unit_file_state": "static",
        "active": "inactive",
        "sub": "dead",
        **extra,
    }
    view = view_from_status_info(info)
    view = view._replace(triggered_by=tuple(UnitRef(n, "active") for n in triggered_by))
    return format_status(view, now_usec=NOW, tz=UTC)


def test_condition_lines_follow_the_trigger_lines() -> None:
    text = status(
        condition_failed=[NOW - 272_000, ["ConditionPathExists=/nonexistent/b"]],
        triggered_by=("h1c2.socket",),
    )
    assert text.splitlines()[2:6] == [
        "     Active: inactive (dead)",
        "TriggeredBy: ● h1c2.socket",
        "  Condition: start condition failed at Sat 2025-11-29 15:26:39 UTC; 272ms ago",
        "             └─ ConditionPathExists=/nonexistent/b was not met",
    ]


def test_every_trigger_check_is_listed_and_exec_condition_names_none() -> None:
    text = status(
        condition_failed=[NOW - 1_000_000, ["ConditionPathExists=|/a", "ConditionPathExists=|/b"]]
    )
    assert "             ├─ ConditionPathExists=|/a was not met\n" in text
    assert "             └─ ConditionPathExists=|/b was not met\n" in text
    text = status(condition_failed=[NOW - 1_000_000, []], result="exec-condition")
    assert "  Condition: start condition failed at" in text
    assert "was not met" not in text
    assert "(Result: exec-condition)" in text


def test_a_collected_unit_shows_no_condition_and_exec_condition_is_collected() -> None:
    info = {
        "unit": "x.service",
        "load_state": "loaded",
        "active": "inactive",
        "sub": "dead",
        "result": "exec-condition",
        "condition_failed": [NOW, []],
    }
    view = view_from_status_info(info)
    assert looks_collected(view)  # inactive, not failed: CollectMode=inactive takes it
    text = format_status(as_collected(view), now_usec=NOW, tz=UTC)
    assert "Condition:" not in text
    assert "Result:" not in text


def test_the_manager_records_which_checks_were_not_met() -> None:
    from pidone.core.model import Condition
    from tests.core.servicekit import make_unit
    from tests.core.test_manager import job, setup  # the manager fixture of those tests

    unit = make_unit("t.service", "Test Service")
    unit.unit.conditions += [
        Condition("PathExists", "/a", trigger=True),
        Condition("PathExists", "/b", trigger=True, negate=True),
        Condition("PathExists", "/c"),
    ]
    mgr, fx = setup(unit)
    fx.conditions["t.service"] = ev.ConditionsEvaluated(
        "t.service", False, "ConditionPathExists=/c"
    )
    job(fx, "start")
    held, _stamp, unmet = mgr.condition_results["t.service"]
    assert (held, unmet) == (False, ("ConditionPathExists=/c",))
    fx.conditions["t.service"] = ev.ConditionsEvaluated(
        "t.service", False, "ConditionPathExists=|/a"
    )
    job(fx, "start")
    assert mgr.condition_results["t.service"][2] == (
        "ConditionPathExists=|/a",
        "ConditionPathExists=|!/b",
    )
    fx.conditions["t.service"] = ev.ConditionsEvaluated("t.service", True)
    job(fx, "start")
    assert mgr.condition_results["t.service"][:3:2] == (True, ())


def test_assert_lines_follow_the_condition_lines_and_the_manager_records_them() -> None:
    text = status(assert_failed=[NOW - 2_000_000, ["AssertPathExists=/etc/postgresql/x"]])
    assert (
        "     Assert: start assertion failed at Sat 2025-11-29 15:26:38 UTC; 2s ago\n"
        "             └─ AssertPathExists=/etc/postgresql/x was not met\n"
    ) in text

    from tests.core.test_manager import job, setup

    mgr, fx = setup()
    fx.conditions["t.service"] = ev.ConditionsEvaluated(
        "t.service", False, "AssertPathExists=/x", True
    )
    from pidone.core.model import Condition

    mgr.units["t.service"].unit.asserts.append(Condition("PathExists", "/x", is_assert=True))
    job(fx, "start")
    assert mgr.assert_results["t.service"][::2] == (False, ("AssertPathExists=/x",))
    assert mgr.condition_results["t.service"][0] is True  # the conditions held
