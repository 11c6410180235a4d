"""Transaction internals: jobs linked by who pulled whom in, and systemd's activation steps.

This is the machinery behind core.transaction (read its theory of operation); it follows
systemd 252 src/core/transaction.c function by function, so each method names its original.
Jobs are linked subject -> object ("subject pulled object in"); a link `matters` when a
failure of the object must fail the subject (Requires=, BindsTo=, Requisite=, Conflicts=).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.depgraph import DepGraph, UnitInfo
from pidone.core.hints import Literal
from pidone.core.job import JobType, collapse, merge_types

LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG = 3, 4, 5, 6, 7
CYCLIC = "Transaction order is cyclic. See system logs for details."
INACTIVE = ("inactive", "failed")
ACTIVE_OR_ACTIVATING = ("active", "reloading", "activating", "refreshing")


@dataclass(frozen=True, slots=True)
class InstalledJob:
    """A job already installed in the manager (one per unit)."""

    id: int
    unit: str
    type: JobType
    irreversible: bool = False
    ignore_order: bool = False


@dataclass(frozen=True, slots=True)
class LogLine:
    """One manager log record: `message` is complete (`unit: ...` prefix included)."""

    unit: str
    priority: int
    message: str


@dataclass(frozen=True, slots=True)
class TxError:
    message: str
    kind: str  # "load" | "not-applicable" | "cyclic" | "conflicting" | "destructive" | "refused"
    exit_code: int = 1


class TxJob:
    __slots__ = (
        "anchored",
        "generation",
        "id",
        "ignore_order",
        "installed",
        "irreversible",
        "marker",
        "matters",
        "objects",
        "subjects",
        "type",
        "unit",
    )

    def __init__(self, unit: str, jtype: JobType, jid: int, installed: bool = False) -> None:
        self.unit = unit
        self.type: JobType = jtype
        self.id = jid
        self.installed = installed
        self.matters = False
        self.generation = 0
        self.marker: TxJob | None = None
        self.subjects: list[TxLink] = []  # links to the jobs this one pulled in
        self.objects: list[TxLink] = []  # links from the jobs that pulled this one in
        self.ignore_order = False
        self.irreversible = False
        self.anchored = False  # a requested job (core.transaction.build_stop_transaction: many)


class TxLink:
    """subject pulled object in (a plain class: a dozen are made per transaction)."""

    __slots__ = ("conflicts", "matters", "object", "subject")

    def __init__(self, subject: TxJob, obj: TxJob, matters: bool, conflicts: bool) -> None:
        self.subject = subject
        self.object = obj
        self.matters = matters
        self.conflicts = conflicts


def job_compare(a_type: JobType, b_type: JobType, a_before_b: bool) -> int:
    """job_compare(): <0 if a's job runs first, >0 if b's runs first, 0 if unordered.

    `a_before_b`: unit a is ordered Before= unit b (else After=). Stops (and restarts, stops in
    disguise) of the later unit go first; otherwise the earlier unit's job goes first.
    """
    if a_type == "nop" or b_type == "nop":
        return 0
    if not a_before_b:
        return -job_compare(b_type, a_type, True)
    return 1 if b_type in ("stop", "restart") else -1


def validate_load(info: UnitInfo) -> TxError | None:
    """bus_unit_validate_load_state()."""
    state = info.load_state
    if state == "loaded":
        return None
    if state == "not-found":
        return TxError(f"Unit {info.id} not found.", "load", 5)
    if state == "masked":
        return TxError(f"Unit {info.id} is masked.", "load", 1)
    if state == "bad-setting":
        return TxError(f"Unit {info.id} has a bad unit file setting.", "load", 1)
    detail = info.load_error or "Invalid argument"
    return TxError(
        f"Unit {info.id} failed to load properly, please adjust/correct and reload service "
        f"manager: {detail}",
        "load",
        1,
    )


def applicable(info: UnitInfo, jtype: JobType) -> bool:
    """unit_job_is_applicable(): start and verify are always allowed, stop unless the unit
    is perpetual (-.slice, system.slice, init.scope)."""
    if jtype == "stop":
        return not info.perpetual
    if jtype in ("restart", "try-restart"):
        return info.can_start and not info.perpetual
    if jtype in ("reload", "try-reload"):
        return info.can_reload
    if jtype == "reload-or-start":
        return info.can_reload and info.can_start
    return True


Step = Generator["Step", "TxError | None", "TxError | None"]


def trampoline(gen: Step) -> TxError | None:
    """Run a recursive generator without Python recursion (graphs may be deep)."""
    stack: list[Step] = [gen]
    value: TxError | None = None
    while stack:
        try:
            sub = stack[-1].send(value)
        except StopIteration as stop:
            stack.pop()
            value = stop.value
            continue
        value = None
        stack.append(sub)
    return value


@dataclass
class Tx:
    graph: DepGraph
    state: Callable[[str], str]
    installed: Mapping[str, InstalledJob]
    next_id: int
    irreversible: bool = False
    jobs: dict[str, list[TxJob]] = field(default_factory=dict)
    anchor: TxJob | None = None  # the request's job (the last one requested)
    anchors: list[TxJob] = field(default_factory=list)  # every requested job, in order
    log: list[LogLine] = field(default_factory=list)
    generation: int = 1
    installed_jobs: dict[str, TxJob | None] = field(default_factory=dict)

    def old(self, unit: str) -> InstalledJob | None:
        """The unit's installed job. `in` first: a Mapping's get() of a missing key raises
        and catches KeyError, and most units have no job."""
        installed = self.installed
        return installed[unit] if unit in installed else None  # noqa: SIM401 (see above)

    def say(self, unit: str, priority: int, text: str) -> None:
        self.log.append(LogLine(unit, priority, f"{unit}: {text}" if unit else text))

    # --- building (rule 1) -------------------------------------------------------------------

    def add_one(self, jtype: JobType, unit: str) -> tuple[TxJob, bool]:
        """transaction_add_one_job(): reuse a job of the same type, else prepend a new one."""
        head = self.jobs.get(unit)
        if head:
            for j in head:
                if j.type == jtype:
                    return j, False
        j = TxJob(unit, jtype, self.next_id)
        self.next_id += 1
        j.irreversible = self.irreversible
        if head is None:
            self.jobs[unit] = [j]
        else:
            head.insert(0, j)
        return j, True

    def add(
        self,
        jtype: JobType,
        unit: str,
        by: TxJob | None,
        matters: bool,
        conflicts: bool,
        ignore_requirements: bool,
        ignore_order: bool,
    ) -> Step:
        """transaction_add_job_and_dependencies() as a trampolined generator."""
        g = self.graph
        info = g.info(unit)
        uid = info.id
        if jtype != "stop":
            err = validate_load(info)
            if err is not None:
                return err
        if not applicable(info, jtype):
            return TxError(f"Job type {jtype} is not applicable for unit {uid}.", "not-applicable")
        ret, is_new = self.add_one(jtype, uid)
        ret.ignore_order = ret.ignore_order or ignore_order
        if by is not None:
            link = TxLink(by, ret, matters, conflicts)
            by.subjects.append(link)
            ret.objects.append(link)
        else:
            self.anchor = ret
            if not ret.anchored:
                ret.anchored = True
                self.anchors.append(ret)
        if not is_new or ignore_requirements or jtype == "nop":
            return None
        if jtype in ("start", "restart"):
            for dep in (*g.deps(uid, "Requires"), *g.deps(uid, "BindsTo")):
                err = yield self.add("start", dep, ret, True, False, False, ignore_order)
                if err is not None and err.kind != "not-applicable":
                    return self.fail(ret, err)
            for dep in (*g.deps(uid, "Wants"), *g.deps(uid, "Upholds")):
                err = yield self.add("start", dep, ret, False, False, False, ignore_order)
                if err is not None:
                    quiet = err.kind == "not-applicable" or err.message.endswith(
                        (" not found.", " is masked.")
                    )
                    self.say(
                        dep,
                        LOG_DEBUG if quiet else LOG_WARNING,
                        f"Cannot add dependency job, ignoring: {err.message}",
                    )
            for dep in g.deps(uid, "Requisite"):
                err = yield self.add("verify-active", dep, ret, True, False, False, ignore_order)
                if err is not None and err.kind != "not-applicable":
                    return self.fail(ret, err)
            for dep in g.deps(uid, "Conflicts"):
                err = yield self.add("stop", dep, ret, True, True, False, ignore_order)
                if err is not None and err.kind != "not-applicable":
                    return self.fail(ret, err)
            for dep in g.deps(uid, "ConflictedBy"):
                err = yield self.add("stop", dep, ret, False, False, False, ignore_order)
                if err is not None:
                    self.say(
                        dep, LOG_WARNING, f"Cannot add dependency job, ignoring: {err.message}"
                    )
        if jtype in ("stop", "restart"):
            # STOP propagates as STOP, RESTART only as TRY_RESTART "in order not to start
            # dependencies that are not around"
            for dep in (
                *g.deps(uid, "RequiredBy"),
                *g.deps(uid, "RequisiteOf"),
                *g.deps(uid, "BoundBy"),
                *g.deps(uid, "ConsistsOf"),
            ):
                nt: JobType = (
                    "stop" if jtype == "stop" else collapse("try-restart", self.state(dep))
                )
                if nt == "nop":
                    continue
                err = yield self.add(nt, dep, ret, True, False, False, ignore_order)
                if err is not None and err.kind != "not-applicable":
                    return self.fail(ret, err)
        if jtype == "reload":
            for dep in g.deps(uid, "PropagatesReloadTo"):
                nt = collapse("try-reload", self.state(dep))
                if nt == "nop":
                    continue
                err = yield self.add(nt, dep, ret, False, False, False, ignore_order)
                if err is not None:
                    self.say(
                        dep, LOG_WARNING, f"Cannot reload dependency job, ignoring: {err.message}"
                    )
        return None

    @staticmethod
    def fail(job: TxJob, err: TxError) -> TxError:
        """A mattering dependency could not be added: the error goes up. systemd 252 keeps
        `job` in the transaction (later versions delete it again): a unit pulled in by
        Wants= whose own Requires= is missing still gets its start job, as
        `systemd-analyze verify` shows ("Installed new job X/start")."""
        del job
        return err

    def add_isolate_jobs(self) -> None:
        """transaction_add_isolate_jobs(): stop every other running unit."""
        assert self.anchor is not None
        for uid, info in self.graph.units.items():
            if self.state(uid) in INACTIVE and uid not in self.installed:
                continue
            if info.ignore_on_isolate or uid in self.jobs:
                continue
            # "Don't stop units that are triggered by units in the transaction"
            if any(t in self.jobs for t in self.graph.deps(uid, "TriggeredBy")):
                continue
            err = trampoline(self.add("stop", uid, self.anchor, True, False, False, False))
            if err is not None:
                self.say(uid, LOG_WARNING, f"Cannot add isolate job, ignoring: {err.message}")

    def add_triggering_jobs(self, unit: str) -> None:
        """transaction_add_triggering_jobs(): stop the units that trigger `unit` too."""
        assert self.anchor is not None
        for trig in self.graph.deps(unit, "TriggeredBy"):
            if self.state(trig) in (*INACTIVE, "deactivating") and trig not in self.installed:
                continue
            err = trampoline(self.add("stop", trig, self.anchor, True, False, False, False))
            if err is not None:
                msg = f"Cannot add triggered by job, ignoring: {err.message}"
                self.say(unit, LOG_WARNING, msg)

    # --- deleting ----------------------------------------------------------------------------

    def delete_job(self, j: TxJob, delete_dependencies: bool) -> None:
        """transaction_delete_job(): unlink; with `delete_dependencies` also delete the jobs
        that required this one ("daddy is nuked, so we have to nuke the children too")."""
        head = self.jobs.get(j.unit)
        if head is None or j not in head:
            return
        head.remove(j)
        if not head:
            del self.jobs[j.unit]
        if self.anchor is j:
            self.anchor = None
        if j.anchored:
            j.anchored = False
            self.anchors.remove(j)
        for link in list(j.subjects):
            self._free(link)
        while j.objects:
            link = j.objects[0]
            other = link.subject if link.matters else None
            self._free(link)
            if other is not None and delete_dependencies:
                self.say(
                    other.unit,
                    LOG_DEBUG,
                    f"Deleting job {other.unit}/{other.type} as dependency of job "
                    f"{j.unit}/{j.type}",
                )
                self.delete_job(other, True)

    @staticmethod
    def _free(link: TxLink) -> None:
        if link in link.subject.subjects:
            link.subject.subjects.remove(link)
        if link in link.object.objects:
            link.object.objects.remove(link)

    def delete_unit(self, unit: str) -> None:
        for j in list(self.jobs.get(unit, ())):
            self.delete_job(j, True)

    def all_jobs(self) -> list[TxJob]:
        return [j for head in self.jobs.values() for j in head]

    # --- activation (rules 2-6) --------------------------------------------------------------

    def mark_matters(self) -> None:
        """transaction_find_jobs_that_matter_to_anchor(), from every requested job."""
        assert self.anchors
        stack = list(self.anchors)
        for a in stack:
            a.matters = True
        while stack:
            j = stack.pop()
            for link in j.subjects:
                if link.matters and not link.object.matters:
                    link.object.matters = True
                    stack.append(link.object)

    def minimize_impact(self) -> None:
        """transaction_minimize_impact() (mode fail)."""
        again = True
        while again:
            again = False
            for j in self.all_jobs():
                if j.matters:
                    continue
                stops_running = j.type == "stop" and self.state(j.unit) in ACTIVE_OR_ACTIVATING
                old = self.old(j.unit)
                changes_existing = old is not None and merge_types(j.type, old.type) is None
                if not stops_running and not changes_existing:
                    continue
                self.delete_job(j, True)
                again = True
                break

    def drop_redundant(self) -> None:
        """transaction_drop_redundant(): units whose jobs all change nothing lose them.

        systemd deletes one job and rescans the whole transaction; whether a unit's jobs
        are kept depends only on that unit's own jobs, its state and its installed job
        (a delete without dependencies touches no other unit), so one pass per unit ends
        with the same jobs without the quadratic rescans (a shutdown.target transaction
        holds a stop job for every unit, most of them already inactive)."""
        for unit in list(self.jobs):
            state = self.state(unit)
            old = self.old(unit)
            while head := self.jobs.get(unit):
                keep = any(
                    k.anchored
                    or not is_redundant(k.type, state)
                    or (old is not None and merge_types(k.type, old.type) is None)
                    for k in head
                )
                if keep:
                    break
                self.delete_job(head[0], False)

    def collect_garbage(self) -> None:
        """transaction_collect_garbage(): drop jobs nothing links to any more."""
        again = True
        while again:
            again = False
            for j in self.all_jobs():
                if j.anchored or j.objects:
                    continue
                self.delete_job(j, True)
                again = True
                break

    def installed_job(self, unit: str) -> TxJob | None:
        if unit in self.installed_jobs:  # None cached too: the ordering walk asks often
            return self.installed_jobs[unit]
        old = self.old(unit)
        found = None
        if old is not None:
            found = TxJob(unit, old.type, old.id, installed=True)
            found.ignore_order = old.ignore_order
        self.installed_jobs[unit] = found
        return found

    def verify_order(self, order: Sequence[str]) -> TxError | Literal["again"] | None:
        """transaction_verify_order(): one walk from every job; a cycle is broken or fatal."""
        g = self.generation
        self.generation += 1
        units = [u for u in order if u in self.jobs] + [u for u in self.jobs if u not in order]
        for unit in units:
            head = self.jobs.get(unit)
            if not head:
                continue
            result: list[TxError | Literal["again"]] = []
            trampoline(self._verify_one(head[0], None, g, result))
            if result:
                return result[0]
        return None

    def _verify_one(
        self, j: TxJob, frm: TxJob | None, gen: int, result: list[TxError | Literal["again"]]
    ) -> Step:
        if j.marker is not None and j.generation == gen:
            self._cycle(j, frm, gen, result)
            return None
        if j.generation == gen:
            return None
        j.marker = frm if frm is not None else j
        j.generation = gen
        for relation, before in (("Before", True), ("After", False)):
            for other in self.graph.deps(j.unit, relation):
                head = self.jobs.get(other)
                o = head[0] if head else self.installed_job(other)
                if o is None:
                    continue
                if j.ignore_order or o.ignore_order:
                    continue
                if job_compare(j.type, o.type, before) >= 0:
                    continue  # "Cut traversing if the job j is not really *before* o"
                yield self._verify_one(o, j, gen, result)
                if result:
                    return None
        j.marker = None
        return None

    def _cycle(
        self, j: TxJob, frm: TxJob | None, gen: int, result: list[TxError | Literal["again"]]
    ) -> None:
        path: list[TxJob] = []
        delete: TxJob | None = None
        k = frm
        while k is not None:
            path.append(k)
            head = self.jobs.get(k.unit)
            if delete is None and head and not any(x.matters for x in head):
                delete = k
            if k is j:
                break
            k = k.marker if (k.generation == gen and k.marker is not k) else None
        for index, k in enumerate(path):
            word = "ordering cycle" if index == 0 else "dependency"
            self.say(j.unit, LOG_WARNING, f"Found {word} on {k.unit}/{k.type}")
        if delete is not None:
            self.say(
                j.unit,
                LOG_ERR,
                f"Job {delete.unit}/{delete.type} deleted to break ordering cycle starting "
                f"with {j.unit}/{j.type}",
            )
            self.delete_unit(delete.unit)
            result.append("again")
            return
        self.say(j.unit, LOG_ERR, f"Unable to break cycle starting with {j.unit}/{j.type}")
        result.append(TxError(CYCLIC, "cyclic"))

    def merge_jobs(self, order: Sequence[str] = ()) -> TxError | Literal["again"] | None:
        """transaction_merge_jobs(): every unit ends with exactly one job (units in `order`
        are looked at first: they decide which unit a conflict error names)."""
        units = [u for u in order if u in self.jobs] + [u for u in self.jobs if u not in order]
        for unit in units:
            head = self.jobs[unit]
            t: JobType | None = head[0].type
            for k in head[1:]:
                merged = merge_types(t, k.type) if t is not None else None
                if merged is not None:
                    t = collapse(merged, self.state(unit))
                    continue
                if self._delete_one_unmergeable(head):
                    return "again"
                return TxError(
                    f"Transaction contains conflicting jobs '{t}' and '{k.type}' for {unit}. "
                    "Probably contradicting requirement dependencies configured.",
                    "conflicting",
                )
        for unit, head in list(self.jobs.items()):
            t = head[0].type
            for k in head[1:]:
                merged = merge_types(t, k.type)
                assert merged is not None
                t = collapse(merged, self.state(unit))
            keep = next((k for k in head if k.anchored), head[0])
            for k in head:
                if k is keep:
                    continue
                # transaction_merge_and_delete_job(): links move to the kept job
                for link in list(k.subjects):
                    link.subject = keep
                    keep.subjects.append(link)
                for link in list(k.objects):
                    link.object = keep
                    keep.objects.append(link)
                k.subjects.clear()
                k.objects.clear()
                keep.matters = keep.matters or k.matters
                if k.anchored:  # only with several requests: the kept job answers them
                    k.anchored = False
                    if keep.anchored:
                        self.anchors.remove(k)
                    else:
                        self.anchors[self.anchors.index(k)] = keep
                        keep.anchored = True
                    if self.anchor is k:
                        self.anchor = keep
                keep.ignore_order = keep.ignore_order or k.ignore_order
                keep.irreversible = keep.irreversible or k.irreversible
            keep.type = t
            self.jobs[unit] = [keep]
        return None

    def _delete_one_unmergeable(self, head: list[TxJob]) -> bool:
        for i, j in enumerate(head):
            for k in head[i + 1 :]:
                if merge_types(j.type, k.type) is not None:
                    continue
                if not j.matters and not k.matters:
                    # "think positive and rather remove stops then starts -- except if
                    # something is being stopped because it is conflicted by another unit"
                    if j.type == "stop":
                        d = k if conflicted_by(j) else j
                    elif k.type == "stop":
                        d = j if conflicted_by(k) else k
                    else:
                        d = j
                elif not j.matters:
                    d = j
                elif not k.matters:
                    d = k
                else:
                    return False
                self.say(
                    d.unit,
                    LOG_DEBUG,
                    f"Fixing conflicting jobs {j.unit}/{j.type},{k.unit}/{k.type} by deleting "
                    f"job {d.unit}/{d.type}",
                )
                self.delete_job(d, True)
                return True
        return False

    def is_destructive(self, mode: str) -> TxError | None:
        assert self.anchor is not None
        a = self.anchor
        for unit, head in self.jobs.items():
            old = self.old(unit)
            j = head[0]
            if old is None or not (mode == "fail" or old.irreversible):
                continue
            if merge_types(old.type, j.type) is None:
                return TxError(
                    f"Transaction for {a.unit}/{a.type} is destructive ({unit} has "
                    f"'{old.type}' job queued, but '{j.type}' is included in transaction).",
                    "destructive",
                    4,  # BUS_ERROR_TRANSACTION_IS_DESTRUCTIVE -> EXIT_NOPERMISSION (systemctl)
                )
        return None


def conflicted_by(j: TxJob) -> bool:
    return any(link.conflicts for link in j.objects)


def is_redundant(jtype: JobType, state: str) -> bool:
    """job_type_is_redundant()."""
    if jtype in ("start", "verify-active"):
        return state in ("active", "reloading")
    if jtype == "stop":
        return state in INACTIVE
    if jtype == "reload":
        return state == "reloading"
    return jtype == "nop"
