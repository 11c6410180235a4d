"""core.jobeffects: dependency failures and the requests that follow a unit's state change."""

from __future__ import annotations

from collections.abc import Callable

from pidone.core.depgraph import DepGraph
from pidone.core.jobeffects import (
    FailedJob,
    Request,
    fail_dependent_jobs,
    state_change_requests,
)
from pidone.core.transaction import InstalledJob
from tests.core.depkit import graph

NODEPS = "[Unit]\nDefaultDependencies=no\n"


def _g() -> DepGraph:
    return graph(
        {
            "b.service": NODEPS,
            "req.service": NODEPS + "Requires=b.service\nAfter=b.service\n",
            "top.service": NODEPS + "Requires=req.service\nAfter=req.service\n",
            "bind.service": NODEPS + "BindsTo=b.service\nAfter=b.service\n",
            "isite.service": NODEPS + "Requisite=b.service\nAfter=b.service\n",
            "want.service": NODEPS + "Wants=b.service\nAfter=b.service\n",
            "cf.service": NODEPS + "Conflicts=b.service\n",
            "onf.service": NODEPS + "OnFailure=rescue-me.service\nOnSuccess=done.service\n",
            "rescue-me.service": NODEPS,
            "done.service": NODEPS,
        },
        builtins=False,
    )


def _jobs(*pairs: tuple[str, str]) -> dict[str, InstalledJob]:
    return {u: InstalledJob(i + 1, u, t) for i, (u, t) in enumerate(pairs)}  # type: ignore[arg-type]


def _states(table: dict[str, str]) -> Callable[[str], str]:
    return lambda u: table.get(u, "inactive")


def test_failed_start_fails_requirers_recursively_not_wanters() -> None:
    g = _g()
    jobs = _jobs(
        ("req.service", "start"),
        ("top.service", "start"),
        ("bind.service", "start"),
        ("isite.service", "verify-active"),
        ("want.service", "start"),
    )
    failed = fail_dependent_jobs(g, "b.service", "start", "failed", jobs, _states({}))
    assert failed == [
        FailedJob("req.service", 1, "dependency"),
        FailedJob("bind.service", 3, "dependency"),
        FailedJob("isite.service", 4, "dependency"),
        FailedJob("top.service", 2, "dependency"),
    ]


def test_dependents_whose_job_already_ran_are_untouched_pitfall_14() -> None:
    g = _g()
    assert fail_dependent_jobs(g, "b.service", "start", "failed", {}, _states({})) == []
    stop_jobs = _jobs(("req.service", "stop"))
    assert fail_dependent_jobs(g, "b.service", "start", "failed", stop_jobs, _states({})) == []


def test_done_but_inactive_fails_requisite_dependents_only() -> None:
    g = _g()
    jobs = _jobs(("req.service", "start"), ("isite.service", "start"))
    # a condition failed: the start job is `done`, the unit stays inactive
    failed = fail_dependent_jobs(g, "b.service", "start", "done", jobs, _states({}))
    assert failed == [FailedJob("isite.service", 2, "dependency")]
    up = _states({"b.service": "active"})
    assert fail_dependent_jobs(g, "b.service", "start", "done", jobs, up) == []


def test_failed_stop_fails_the_conflicting_start() -> None:
    g = _g()
    jobs = _jobs(("cf.service", "start"))
    failed = fail_dependent_jobs(g, "b.service", "stop", "failed", jobs, _states({}))
    assert failed == [FailedJob("cf.service", 1, "dependency")]


def test_unexpected_death_stops_bound_units_only() -> None:
    g = _g()
    states = _states({"req.service": "active", "bind.service": "active", "want.service": "active"})
    reqs = state_change_requests(
        g,
        "b.service",
        "active",
        "failed",
        unexpected=True,
        will_auto_restart=False,
        state=states,
        jobs={},
    )
    assert [(r.unit, r.job_type, r.mode) for r in reqs] == [("bind.service", "stop", "replace")]


def test_auto_restart_going_down_still_stops_bound_units_pitfall_15() -> None:
    g = _g()
    states = _states({"req.service": "active", "bind.service": "active"})
    reqs = state_change_requests(
        g,
        "b.service",
        "active",
        "deactivating",
        unexpected=True,
        will_auto_restart=True,
        state=states,
        jobs={},
    )
    assert [(r.unit, r.job_type) for r in reqs] == [("bind.service", "stop")]


def test_a_unit_left_bound_to_an_inactive_unit_stops_itself() -> None:
    g = _g()
    states = _states({"bind.service": "active"})
    reqs = state_change_requests(
        g,
        "b.service",
        "activating",
        "inactive",
        unexpected=False,
        will_auto_restart=False,
        state=states,
        jobs={},
    )
    assert reqs[0].unit == "bind.service"
    assert reqs[0].mode == "fail"
    assert reqs[0].why is not None
    assert reqs[0].why.message == (
        "bind.service: Unit is bound to inactive unit b.service. Stopping, too."
    )


def test_on_failure_and_on_success() -> None:
    g = _g()
    none: dict[str, InstalledJob] = {}
    failed = state_change_requests(
        g,
        "onf.service",
        "active",
        "failed",
        unexpected=True,
        will_auto_restart=False,
        state=_states({}),
        jobs=none,
    )
    assert failed == [
        Request(
            "rescue-me.service",
            "start",
            "replace",
            failed[0].why,
        )
    ]
    assert failed[0].why is not None
    assert failed[0].why.message == "onf.service: Triggering OnFailure= dependencies."
    restarting = state_change_requests(
        g,
        "onf.service",
        "active",
        "failed",
        unexpected=True,
        will_auto_restart=True,
        state=_states({}),
        jobs=none,
    )
    assert restarting == []
    ok = state_change_requests(
        g,
        "onf.service",
        "deactivating",
        "inactive",
        unexpected=False,
        will_auto_restart=False,
        state=_states({}),
        jobs=none,
    )
    assert [(r.unit, r.job_type) for r in ok] == [("done.service", "start")]


def test_stop_when_unneeded_and_upholds() -> None:
    g = graph(
        {
            "a.service": NODEPS + "Wants=helper.service\nUpholds=kept.service\n",
            "helper.service": NODEPS + "StopWhenUnneeded=yes\n",
            "kept.service": NODEPS,
        },
        builtins=False,
    )
    gone = state_change_requests(
        g,
        "a.service",
        "active",
        "inactive",
        unexpected=False,
        will_auto_restart=False,
        state=_states({"helper.service": "active"}),
        jobs={},
    )
    assert [(r.unit, r.job_type, r.mode) for r in gone] == [("helper.service", "stop", "fail")]
    assert gone[0].why is not None
    assert gone[0].why.message == "helper.service: Unit not needed anymore. Stopping."
    # still wanted by an active unit: stays
    still = state_change_requests(
        g,
        "helper.service",
        "activating",
        "active",
        unexpected=False,
        will_auto_restart=False,
        state=_states({"helper.service": "active", "a.service": "active"}),
        jobs={},
    )
    assert still == []
    up = state_change_requests(
        g,
        "a.service",
        "activating",
        "active",
        unexpected=False,
        will_auto_restart=False,
        state=_states({"a.service": "active"}),
        jobs={},
    )
    assert [(r.unit, r.job_type, r.mode) for r in up] == [("kept.service", "start", "fail")]


def test_unexpected_start_pulls_in_unordered_requirements() -> None:
    g = graph(
        {
            "a.service": NODEPS + "Requires=r.service o.service\nAfter=o.service\n"
            "Wants=w.service\nConflicts=c.service\n",
            "r.service": NODEPS,
            "o.service": NODEPS,
            "w.service": NODEPS,
            "c.service": NODEPS,
        },
        builtins=False,
    )
    reqs = state_change_requests(
        g,
        "a.service",
        "inactive",
        "active",
        unexpected=True,
        will_auto_restart=False,
        state=_states({"a.service": "active", "c.service": "active"}),
        jobs={},
    )
    got = [(r.unit, r.job_type, r.mode) for r in reqs]
    assert ("r.service", "start", "replace") in got
    assert ("w.service", "start", "fail") in got
    assert ("c.service", "stop", "replace") in got
    assert all(r.unit != "o.service" for r in reqs)  # ordered before: not retroactive
