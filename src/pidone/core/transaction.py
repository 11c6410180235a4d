"""Transactions: one start/stop/restart/reload/isolate request -> the jobs to install (pure).

Theory of operation (systemd 252 src/core/transaction.c, manager_add_job_full(); spec 04 §3-§4):

1. Closure (transaction_add_job_and_dependencies()). The requested job is the *anchor*. A
   start/restart pulls in start jobs for Requires=/BindsTo= (they *matter*: failure fails the
   request) and Wants=/Upholds= (they do not: any error is logged and ignored),
   verify-active jobs for Requisite=, stop jobs for Conflicts= (matter) and ConflictedBy=
   (do not). A stop pulls in stop jobs for RequiredBy/RequisiteOf/BoundBy/ConsistsOf; a
   restart pulls in try-restart (collapsed: restart if active or activating, else nothing)
   for the same units. A reload pulls in try-reload for PropagatesReloadTo=. A unit that
   cannot be loaded refuses every job but stop (`Unit X not found.`, `... is masked.`);
   such a refusal on a mattering edge fails the request; below a Wants= it is ignored and
   (252) the job whose requirement failed stays. Several jobs per unit may coexist here.
2. Jobs that matter to the anchor are marked by following mattering links from it.
3. Mode `fail` first drops non-mattering jobs that would stop a running unit or reverse an
   installed job (transaction_minimize_impact()); then jobs that change nothing are dropped
   (a start of an active unit, a stop of an inactive one), unless they contradict an
   installed job.
4. Unreferenced jobs are garbage-collected (not in isolate mode). Ordering is verified by a
   depth-first walk along "runs before" edges (job_compare(): of two ordered jobs a stop or
   restart of the later unit goes first, else the earlier unit's job goes first); a cycle is
   logged as "Found ordering cycle on X/t", "Found dependency on ..." and broken by deleting
   the first job on the path back that does not matter to the anchor ("Job X/t deleted to
   break ordering cycle starting with Y/t"), then everything is checked again. A cycle of
   mattering jobs only fails with "Transaction order is cyclic. See system logs for details."
5. The jobs of one unit are merged (job.merge_types, then collapsed against the unit's
   state); two that cannot merge lose the one that does not matter (both not mattering: the
   stop, unless it comes from a Conflicts=), else the request fails with "Transaction contains
   conflicting jobs 'A' and 'B' for X. Probably contradicting requirement dependencies
   configured."
6. A transaction that would reverse an installed job is refused in mode `fail` (or when that
   job is irreversible): "Transaction for X/t is destructive (...)". Else it is applied:
   conflicting installed jobs are canceled (mode replace), mergeable ones absorb the new job
   and keep their id; isolate and flush cancel every installed job not in the transaction.
Hash-map iteration order in systemd is random; here it is insertion order, and `order` lets a
caller (the differential test) start the ordering walk where systemd happened to start it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence

from pidone.core.dataclass_lite import dataclass
from pidone.core.depgraph import DepGraph, UnitInfo
from pidone.core.hints import Literal
from pidone.core.job import JobType, collapse, merge_types
from pidone.core.txjobs import (
    CYCLIC,
    LOG_DEBUG,
    LOG_ERR,
    LOG_INFO,
    LOG_NOTICE,
    LOG_WARNING,
    InstalledJob,
    LogLine,
    Tx,
    TxError,
    job_compare,
    trampoline,
)

__all__ = [
    "CYCLIC",
    "JOB_MODES",
    "LOG_DEBUG",
    "LOG_ERR",
    "LOG_INFO",
    "LOG_NOTICE",
    "LOG_WARNING",
    "InstalledJob",
    "LogLine",
    "PlannedJob",
    "TransactionResult",
    "build_stop_transaction",
    "build_transaction",
    "check_request",
    "job_compare",
    "job_is_runnable",
]

JobMode = Literal[
    "replace",
    "fail",
    "isolate",
    "flush",
    "ignore-dependencies",
    "ignore-requirements",
    "replace-irreversibly",
    "triggering",
]
JOB_MODES: tuple[str, ...] = (
    "replace",
    "fail",
    "isolate",
    "flush",
    "ignore-dependencies",
    "ignore-requirements",
    "replace-irreversibly",
    "triggering",
)


@dataclass(frozen=True, slots=True)
class PlannedJob:
    """A job to install. `merged`: it merges into the installed job `id` of its unit.

    `waits_for`: ids of jobs (of this transaction or already installed) it must wait for,
    as job_is_runnable() would see them right after the transaction is applied.
    """

    id: int
    unit: str
    type: JobType
    waits_for: tuple[int, ...] = ()
    anchor: bool = False
    merged: bool = False
    irreversible: bool = False
    ignore_order: bool = False


@dataclass(frozen=True, slots=True)
class TransactionResult:
    """The jobs to install in order, the installed job ids to cancel, log lines; or an error.

    On error `error` is the D-Bus error text systemctl prints after "Failed to VERB X: ",
    `exit_code` systemctl's exit status, and nothing must be installed.
    """

    jobs: tuple[PlannedJob, ...] = ()
    canceled: tuple[int, ...] = ()
    log: tuple[LogLine, ...] = ()
    error: str = ""
    exit_code: int = 0
    next_job_id: int = 1
    # systemctl's start_unit_one() adds "See system logs and 'systemctl status X' for
    # details." unless the bus error is NoSuchUnit, UnitMasked or JobTypeNotApplicable.
    see_logs: bool = False

    @property
    def ok(self) -> bool:
        return not self.error


def job_is_runnable(
    graph: DepGraph,
    unit: str,
    job_type: JobType,
    jobs: Mapping[str, InstalledJob],
    ignore_order: bool = False,
) -> bool:
    """job_is_runnable(): no installed job of a unit ordered against this one must go first."""
    return not _blockers(graph, unit, job_type, ignore_order, jobs)


def _blockers(
    graph: DepGraph,
    unit: str,
    job_type: JobType,
    ignore_order: bool,
    jobs: Mapping[str, InstalledJob],
) -> list[int]:
    if ignore_order or job_type == "nop":
        return []
    out: list[int] = []
    for relation, before in (("After", False), ("Before", True)):
        for other in graph.deps(unit, relation):
            o = jobs.get(other)
            if o is None or o.ignore_order or o.id in out:
                continue
            if job_compare(job_type, o.type, before) > 0:
                out.append(o.id)
    return out


def check_request(info: UnitInfo, job_type: JobType, active_state: str) -> tuple[str, int] | None:
    """bus_unit_queue_job()'s refusals before any transaction: (error, exit code) or None."""
    not_loaded = info.load_state in ("not-found", "error", "bad-setting")
    if job_type == "stop" and not_loaded and active_state == "inactive":
        return f"Unit {info.id} not loaded.", 5
    starts = job_type in ("start", "reload-or-start")
    if (
        (starts and info.refuse_manual_start)
        or (job_type == "stop" and info.refuse_manual_stop)
        or (
            job_type in ("restart", "try-restart")
            and (info.refuse_manual_start or info.refuse_manual_stop)
        )
    ):
        return (
            f"Operation refused, unit {info.id} may be requested by dependency only (it is "
            "configured to refuse manual start/stop).",
            4,
        )
    return None


def build_transaction(
    graph: DepGraph,
    unit: str,
    job_type: JobType,
    mode: str = "replace",
    *,
    state: Callable[[str], str] | None = None,
    installed: Mapping[str, InstalledJob] | None = None,
    next_job_id: int = 1,
    order: Sequence[str] = (),
) -> TransactionResult:
    """manager_add_job(): the transaction for `job_type` on `unit` in `mode`.

    `state(unit)` gives ActiveState words (default: everything inactive); `installed` maps
    unit ids to their installed job; `order` is the ordering-walk start hint (rule 6 note).
    """
    state_of = state or (lambda _u: "inactive")
    # Read only, never copied: the manager's table holds one job per unit of a whole boot,
    # and each of a thousand stop requests at shutdown would otherwise copy all of it.
    inst: Mapping[str, InstalledJob] = installed if installed is not None else {}
    info = graph.info(unit)
    if mode not in JOB_MODES:  # bus_unit_method_start_generic()'s bus error
        return TransactionResult(error=f"Job mode {mode} invalid", exit_code=1, see_logs=True)
    if mode == "isolate" and job_type != "start":
        msg = "Isolate is only valid for start."
        return TransactionResult(error=msg, exit_code=1, see_logs=True)
    if mode == "isolate" and not info.allow_isolate:
        msg = "Operation refused, unit may not be isolated."  # BUS_ERROR_NO_ISOLATION: 4
        return TransactionResult(error=msg, exit_code=4, see_logs=True)
    if mode == "triggering" and job_type != "stop":
        msg = "--job-mode=triggering is only valid for stop."
        return TransactionResult(error=msg, exit_code=1)
    jtype = collapse(job_type, state_of(info.id))
    tx = Tx(graph, state_of, inst, next_job_id, irreversible=mode == "replace-irreversibly")
    ignore_req = mode in ("ignore-dependencies", "ignore-requirements")
    ignore_order = mode == "ignore-dependencies"
    err = trampoline(tx.add(jtype, info.id, None, True, False, ignore_req, ignore_order))
    if err is None and mode == "isolate":
        tx.add_isolate_jobs()
    if err is None and mode == "triggering":
        tx.add_triggering_jobs(info.id)
    if err is None:
        err = _activate(tx, mode, order)
    if err is not None:
        quiet = err.kind == "not-applicable" or (
            err.kind == "load" and err.message.endswith((" not found.", " is masked."))
        )
        return TransactionResult(
            log=tuple(tx.log),
            error=err.message,
            exit_code=err.exit_code,
            next_job_id=tx.next_id,
            see_logs=not quiet,
        )
    return _apply(tx, mode)


def build_stop_transaction(
    graph: DepGraph,
    units: Sequence[str],
    *,
    state: Callable[[str], str],
    installed: Mapping[str, InstalledJob],
    next_job_id: int = 1,
) -> TransactionResult | None:
    """Stop jobs for every unit of `units` (mode replace) as ONE transaction, each of them
    requested (anchored): what the daemon's shutdown asks for, built once instead of once
    per unit. systemd itself stops everything at shutdown through one transaction
    (shutdown.target's Conflicts=, or isolate).

    None when the result may differ from one `build_transaction(stop)` per unit in this
    order: a job that cannot be added, or any log line at all (an ordering cycle found or
    broken, an unmergeable or destructive job). The caller then builds them one by one,
    which says and refuses exactly what it always did. Otherwise the jobs are the union of
    what the separate transactions would install (a stop only pulls in stops, so nothing
    conflicts, and a job is kept iff a requested job reaches it); their ids are given
    once per unit rather than once per unit per transaction.
    """
    tx = Tx(graph, state, installed, next_job_id)
    for unit in units:
        if trampoline(tx.add("stop", unit, None, True, False, False, False)) is not None:
            return None
    if not tx.anchors or tx.log or _activate(tx, "replace", ()) is not None or tx.log:
        return None
    return _apply(tx, "replace")


def _activate(tx: Tx, mode: str, order: Sequence[str]) -> TxError | None:
    """transaction_activate() steps 1-9."""
    tx.mark_matters()
    if mode == "fail":
        tx.minimize_impact()
    tx.drop_redundant()
    while True:
        if mode != "isolate":
            tx.collect_garbage()
        verdict = tx.verify_order(order)
        if verdict is None:
            break
        if verdict != "again":
            tx.say(
                "",
                LOG_WARNING,
                "Requested transaction contains an unfixable cyclic ordering dependency: "
                f"{verdict.message}",
            )
            return verdict
    while True:
        merged = tx.merge_jobs(order)
        if merged is None:
            break
        if merged != "again":
            tx.say(
                "",
                LOG_WARNING,
                f"Requested transaction contains unmergeable jobs: {merged.message}",
            )
            return merged
        if mode != "isolate":
            tx.collect_garbage()
    tx.drop_redundant()
    destructive = tx.is_destructive(mode)
    if destructive is not None:
        msg = f"Requested transaction contradicts existing jobs: {destructive.message}"
        tx.say("", LOG_NOTICE, msg)
        return destructive
    return None


def _apply(tx: Tx, mode: str) -> TransactionResult:
    """transaction_apply(): what the manager installs and cancels, in a runnable order."""
    canceled: list[int] = []
    if mode in ("isolate", "flush"):
        for unit, old in tx.installed.items():
            if unit not in tx.jobs and not old.irreversible:
                canceled.append(old.id)
    after = _AfterApply(tx.installed, set(canceled))
    planned: list[tuple[int, str, JobType, bool, bool, bool, bool]] = []
    for unit, head in tx.jobs.items():
        j = head[0]
        prev = after.get(unit)
        jid, jtype, merged = j.id, j.type, False
        if prev is not None:
            m = merge_types(prev.type, j.type)
            if m is None:
                canceled.append(prev.id)
                after.canceled.add(prev.id)
            else:
                # job_merge_into_installed(): job_type_merge_and_collapse()
                jid, jtype, merged = prev.id, collapse(m, tx.state(unit)), True
        irreversible = j.irreversible or bool(prev and prev.irreversible)
        after.new[unit] = InstalledJob(jid, unit, jtype, irreversible, j.ignore_order)
        planned.append((jid, unit, jtype, j.anchored, merged, irreversible, j.ignore_order))
    # waits_for needs every new job in `after` first; each PlannedJob is made once
    with_waits = [
        PlannedJob(
            jid,
            unit,
            jtype,
            tuple(_blockers(tx.graph, unit, jtype, ignore_order, after)),
            anchor,
            merged,
            irreversible,
            ignore_order,
        )
        for jid, unit, jtype, anchor, merged, irreversible, ignore_order in planned
    ]
    return TransactionResult(
        jobs=tuple(_runnable_order(with_waits)),
        canceled=tuple(canceled),
        log=tuple(tx.log),
        next_job_id=tx.next_id,
    )


class _AfterApply(Mapping[str, InstalledJob]):
    """The installed jobs as they will be once the transaction is applied: the manager's
    table minus `canceled` ids, overlaid with `new` (looked up per unit, never copied)."""

    __slots__ = ("base", "canceled", "new")

    def __init__(self, base: Mapping[str, InstalledJob], canceled: set[int]) -> None:
        self.base = base
        self.canceled = canceled
        self.new: dict[str, InstalledJob] = {}

    def __getitem__(self, unit: str) -> InstalledJob:
        job = self.get(unit)
        if job is None:
            raise KeyError(unit)
        return job

    def get(self, unit: str, default: InstalledJob | None = None) -> InstalledJob | None:  # type: ignore[override]
        """Without Mapping.get()'s raise-and-catch of KeyError for the (many) units that
        have no job: _blockers() asks for every After=/Before= neighbour."""
        job = self.new.get(unit)
        if job is not None:
            return job
        base = self.base
        if unit not in base:
            return default
        job = base[unit]
        return default if job.id in self.canceled else job

    def __contains__(self, unit: object) -> bool:
        return isinstance(unit, str) and self.get(unit) is not None

    def __iter__(self) -> Iterator[str]:
        return iter({*self.new, *(u for u in self.base if u in self)})

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _runnable_order(jobs: list[PlannedJob]) -> list[PlannedJob]:
    """Kahn's order over waits_for (ties: lowest id first); installed waits count as done."""
    by_id = {p.id: p for p in jobs}
    blocking: dict[int, list[int]] = {p.id: [] for p in jobs}
    missing: dict[int, int] = {}
    for p in jobs:
        inside = [w for w in set(p.waits_for) if w in by_id]
        missing[p.id] = len(inside)
        for w in inside:
            blocking[w].append(p.id)
    ready = [pid for pid, n in missing.items() if n == 0]
    heapq.heapify(ready)
    out: list[PlannedJob] = []
    while ready:
        pid = heapq.heappop(ready)
        out.append(by_id[pid])
        for nxt in blocking[pid]:
            missing[nxt] -= 1
            if missing[nxt] == 0:
                heapq.heappush(ready, nxt)
    placed = {p.id for p in out}
    out += sorted((p for p in jobs if p.id not in placed), key=lambda p: p.id)  # never: cyclic
    return out
