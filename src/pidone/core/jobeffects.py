"""What follows a finished job or a unit state change: dependency failures and new requests.

Theory of operation (systemd 252 src/core/job.c job_finish_and_invalidate(), src/core/unit.c
unit_notify(); spec 04 §5-§6). Everything here is a pure decision over the graph, the units'
ActiveState words and the installed jobs; the manager installs what comes back through
core.transaction.

1. A start or verify-active job that ends other than `done` fails, with result `dependency`,
   every installed start/verify-active job of units that Requires=/BindsTo=/Requisite= its
   unit (RequiredBy/BoundBy/RequisiteOf); a failed stop job does the same to units that
   Conflicts= it. It recurses. Ordering is not consulted: in practice only jobs still waiting
   (ordered After=) are there to fail, an unordered dependent's job has usually run already
   (pitfall 14). A start that ends `done` with its unit still inactive (a condition failed,
   a oneshot that exited) fails the jobs of Requisite= dependents.
2. A state change no job asked for ("unexpected") retroactively starts Requires=/BindsTo=/
   Upholds= (mode replace) and Wants= (mode fail) units not ordered before, and stops
   Conflicts= partners, when the unit came up; when it went down, it stops the units
   BoundBy= it (mode replace).
3. Entering `failed` starts OnFailure= units (OnFailureJobMode=), unless an automatic restart
   follows; going inactive from a running state starts OnSuccess= units.
4. A unit that went inactive makes the units bound to it (BindsTo=) stop if they are active
   without a job ("Unit is bound to inactive unit X. Stopping, too.", mode fail), and the
   units it pulled in check StopWhenUnneeded= ("Unit not needed anymore. Stopping.", mode
   fail: no active unit or pending start left that Requires/Requisite/Wants/BindsTo/Upholds
   it). A unit that came up starts the inactive units it Upholds= ("Unit is upheld by active
   unit X, starting.", mode fail).
5. An automatic restart is simply a `restart` request in mode replace: the transaction turns
   it into try-restart of RequiredBy/BoundBy/... units; those bound (BindsTo=) to the unit
   were already stopped by rule 2 when it went down, so they stay stopped (pitfall 15).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pidone.core.dataclass_lite import dataclass
from pidone.core.depgraph import DepGraph
from pidone.core.job import JobType
from pidone.core.transaction import LOG_INFO, InstalledJob, LogLine

_INACTIVE = ("inactive", "failed")
_UP = ("active", "reloading")
_UP_OR_COMING = ("active", "reloading", "activating", "refreshing")
_STARTISH = ("start", "verify-active", "restart", "reload-or-start", "reload", "try-restart")


@dataclass(frozen=True, slots=True)
class FailedJob:
    """An installed job that must now finish with `result`."""

    unit: str
    job_id: int
    result: str


@dataclass(frozen=True, slots=True)
class Request:
    """A job the manager should enqueue through core.transaction (`why` logged first)."""

    unit: str
    job_type: JobType
    mode: str
    why: LogLine | None = None


def fail_dependent_jobs(
    graph: DepGraph,
    unit: str,
    job_type: JobType,
    result: str,
    jobs: Mapping[str, InstalledJob],
    state: Callable[[str], str],
) -> list[FailedJob]:
    """Rule 1: the jobs that finish with `dependency` because `unit`'s job ended `result`."""
    out: list[FailedJob] = []
    done: set[str] = {graph.resolve(unit)}
    todo: list[tuple[str, str, str]] = [(graph.resolve(unit), job_type, result)]
    while todo:
        uid, jtype, res = todo.pop(0)
        relations: tuple[str, ...] = ()
        if res != "done":
            if jtype in ("start", "verify-active"):
                relations = ("RequiredBy", "BoundBy", "RequisiteOf")
            elif jtype == "stop":
                relations = ("ConflictedBy",)
        elif jtype in ("start", "reload") and state(uid) not in _UP:
            relations = ("RequisiteOf",)
        for relation in relations:
            for other in graph.deps(uid, relation):
                j = jobs[other] if other in jobs else None  # noqa: SIM401 (no KeyError raised)
                if j is None or other in done or j.type not in ("start", "verify-active"):
                    continue
                done.add(other)
                out.append(FailedJob(other, j.id, "dependency"))
                todo.append((other, j.type, "dependency"))
    return out


def state_change_requests(
    graph: DepGraph,
    unit: str,
    old: str,
    new: str,
    *,
    unexpected: bool,
    will_auto_restart: bool,
    state: Callable[[str], str],
    jobs: Mapping[str, InstalledJob],
) -> list[Request]:
    """Rules 2-4 for one ActiveState change of `unit` (old -> new)."""
    g = graph
    uid = g.resolve(unit)
    out: list[Request] = []
    if unexpected:
        if old in _INACTIVE and new in _UP_OR_COMING:
            out += _retroactive_start(g, uid, state)
        elif old in _UP_OR_COMING and new in (*_INACTIVE, "deactivating"):
            for other in g.deps(uid, "BoundBy"):
                if state(other) not in (*_INACTIVE, "deactivating"):
                    out.append(Request(other, "stop", "replace"))
    if new != old and new == "failed" and not will_auto_restart:
        out += _triggered(g, uid, "OnFailure", g.info(uid).on_failure_job_mode)
    ran = old not in ("failed", "inactive", "maintenance")
    if new == "inactive" and ran and not will_auto_restart:
        out += _triggered(g, uid, "OnSuccess", "replace")
    if new in _INACTIVE:
        for other in g.deps(uid, "BoundBy"):
            req = check_bound(g, other, state, jobs)
            if req is not None and all(r.unit != other for r in out):
                out.append(req)
        for relation in ("Requires", "Requisite", "Wants", "BindsTo", "Upholds"):
            for other in g.deps(uid, relation):
                req = check_unneeded(g, other, state, jobs)
                if req is not None and all(r.unit != other for r in out):
                    out.append(req)
    if new in _UP:
        for other in g.deps(uid, "Upholds"):
            req = check_upheld(g, other, state, jobs)
            if req is not None:
                out.append(req)
    own = check_unneeded(g, uid, state, jobs)
    if own is not None:
        out.append(own)
    return out


def _retroactive_start(g: DepGraph, uid: str, state: Callable[[str], str]) -> list[Request]:
    out: list[Request] = []
    for relation, mode in (
        ("Requires", "replace"),
        ("BindsTo", "replace"),
        ("Upholds", "replace"),
        ("Wants", "fail"),
    ):
        for other in g.deps(uid, relation):
            if g.has(uid, "After", other) or state(other) in _UP_OR_COMING:
                continue
            if all(r.unit != other for r in out):
                out.append(Request(other, "start", mode))
    for relation in ("Conflicts", "ConflictedBy"):
        for other in g.deps(uid, relation):
            if state(other) not in (*_INACTIVE, "deactivating"):
                out.append(Request(other, "stop", "replace"))
    return out


def _triggered(g: DepGraph, uid: str, relation: str, mode: str) -> list[Request]:
    targets = g.deps(uid, relation)
    if not targets:
        return []
    why = LogLine(uid, LOG_INFO, f"{uid}: Triggering {relation}= dependencies.")
    return [Request(t, "start", mode, why if i == 0 else None) for i, t in enumerate(targets)]


def check_bound(
    g: DepGraph, unit: str, state: Callable[[str], str], jobs: Mapping[str, InstalledJob]
) -> Request | None:
    """unit_check_binds_to(): an active unit bound to an inactive unit without a job stops."""
    if unit in jobs or state(unit) not in _UP:
        return None
    for other in g.deps(unit, "BindsTo"):
        if other in jobs or state(other) not in _INACTIVE:
            continue
        msg = f"{unit}: Unit is bound to inactive unit {other}. Stopping, too."
        return Request(unit, "stop", "fail", LogLine(unit, LOG_INFO, msg))
    return None


def check_unneeded(
    g: DepGraph, unit: str, state: Callable[[str], str], jobs: Mapping[str, InstalledJob]
) -> Request | None:
    """unit_check_unneeded(): StopWhenUnneeded=yes and nothing active or pending wants it."""
    if not g.info(unit).stop_when_unneeded or unit in jobs or state(unit) not in _UP:
        return None
    for relation in ("RequiredBy", "RequisiteOf", "WantedBy", "BoundBy", "UpheldBy"):
        for other in g.deps(unit, relation):
            j = jobs[other] if other in jobs else None  # noqa: SIM401 (no KeyError raised)
            if state(other) in _UP_OR_COMING or (j is not None and j.type in _STARTISH):
                return None
    msg = f"{unit}: Unit not needed anymore. Stopping."
    return Request(unit, "stop", "fail", LogLine(unit, LOG_INFO, msg))


def check_upheld(
    g: DepGraph, unit: str, state: Callable[[str], str], jobs: Mapping[str, InstalledJob]
) -> Request | None:
    """unit_check_uphold(): an inactive unit without a job that an active unit Upholds=."""
    if unit in jobs or state(unit) not in _INACTIVE:
        return None
    for other in g.deps(unit, "UpheldBy"):
        if state(other) in _UP:
            msg = f"{unit}: Unit is upheld by active unit {other}, starting."
            return Request(unit, "start", "fail", LogLine(unit, LOG_INFO, msg))
    return None
