"""The manager's unit table: every loaded unit, its machine, the graph, and read-only views.

Theory of operation (core.manager is built on it and holds the jobs):

1. Units are loaded models (core.model.Unit), looked up by any of their names. Each
   service has one ServiceMachine; every other loaded unit one core.unitmachines machine
   (targets and slices: dead <-> active at once). A name the table does not know is asked
   of `load` (the daemon's loader) and then of pidone's built-in units; the early-boot
   targets stay pidone's own (core.jobwiring.container_override, spec 04 §7).
2. The dependency graph (core.depgraph) is built lazily from every loaded unit, with
   `_load_one` loading what they name. Once built, a newly loaded unit is inserted into it
   in place (DepGraph.insert(): the cost of its own edges, not of every unit: an
   Accept=yes socket loads one instance per connection); a changed model (daemon-reload)
   drops it for a rebuild. A unit that only the graph knows (a file-less slice or
   device) gets a bare model.
3. daemon-reload replaces models and keeps runtime state; a unit whose file is gone stays
   (as `not-found`) while it is active or has a job; built-ins stay built in.
4. The queries (`active_state`, `snapshot`, `list_units`, `list_jobs`, ...) only read.
5. Garbage collection (unit_may_gc() and unit_gc_sweep() in 252's unit.c/manager.c) for
   the units pidone loads on the fly (`collectable`: Accept=yes connection instances, and
   not-found units that got a job): such a unit is dropped (`drop_unit`) once it has no
   job, no process, is `inactive` (CollectMode=inactive, the default; `failed` too with
   CollectMode=inactive-or-failed: a failed instance stays until reset-failed) and no
   loaded unit references it (core.depgraph rule 5). Other units stay loaded.
6. Other units stay loaded, but status and show present an inactive one as systemd would
   after its GC: loaded afresh, without its runtime, unless a unit systemd keeps loaded
   references it, directly or through a chain of referrers (`kept_by_reference`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from pidone.core.dataclass_lite import dataclass, replace
from pidone.core.depgraph import DepGraph, build_graph
from pidone.core.errors import PidoneError
from pidone.core.job import Job
from pidone.core.jobwiring import JobRow, bare_unit, builtin_unit, container_override
from pidone.core.model import Unit
from pidone.core.service import ServiceMachine
from pidone.core.snapshot import UnitRow, UnitSnapshot
from pidone.core.targets import BUILTIN_DIR
from pidone.core.unitmachines import InstantMachine, MachineFactory, UnitMachine, machine_for

_INACTIVE = ("inactive", "failed")


@dataclass(frozen=True, slots=True)
class UnitDropped:
    """A unit was garbage-collected (rule 5): the daemon forgets what it keeps for it."""

    unit: str


class UnitTable:
    """Units by name, their machines, their jobs (filled by the manager), the graph."""

    def __init__(
        self,
        units: Iterable[Unit],
        new_invocation_id: Callable[[], str],
        *,
        load: Callable[[str], Unit | None] | None = None,
        machine_factories: Mapping[str, MachineFactory] | None = None,
    ) -> None:
        self._new_id = new_invocation_id
        # Loads a unit by name (the daemon's loader); may raise PidoneError. Settable.
        self.load = load
        self._factories = machine_factories
        self.units: dict[str, Unit] = {}
        self._by_name: dict[str, str] = {}
        self.machines: dict[str, ServiceMachine] = {}
        self.unit_machines: dict[str, UnitMachine] = {}
        self.jobs: dict[str, Job] = {}
        self._graph: DepGraph | None = None
        self._building = False
        # Units systemd would keep loaded while inactive (wanted by an active unit, enabled
        # into a target, ...): they keep their start counter.
        self.pinned: set[str] = set()
        # Units loaded on the fly that may be garbage-collected (rule 5).
        self.collectable: set[str] = set()
        for unit in units:
            self.add_unit(unit)

    # --- units ---------------------------------------------------------------------------

    def add_unit(self, unit: Unit) -> None:
        """Load (or, on daemon-reload, replace the model of) a unit; runtime state stays.
        Early-boot targets stay pidone's own (jobwiring.container_override)."""
        unit = container_override(unit)
        before = self.units.get(unit.id)
        if before is not None and before == unit:
            return  # the same model again (the registry's on_loaded, then _load_one)
        self.units[unit.id] = unit
        for name in (unit.id, *unit.names):
            self._by_name[name] = unit.id
        if unit.service is not None and unit.load_state == "loaded":
            old = self.machines.get(unit.id)
            if old is None:
                self.machines[unit.id] = ServiceMachine(unit)
            else:
                old.unit = unit
        elif unit.load_state == "loaded":
            other = self.unit_machines.get(unit.id)
            if other is None:
                self.unit_machines[unit.id] = machine_for(unit, self._factories)
            elif isinstance(other, InstantMachine):
                other.unit = unit
        if self._building or self._graph is None:
            return
        if before is not None and before.load_state != "not-found":
            self._graph = None  # a changed model: rebuild (rule 2)
            return
        self._building = True
        try:
            changed = self._graph.insert([unit], self._load_one)
            if changed is None:
                self._graph = None
                return
            self._adopt(self._graph, changed)
        finally:
            self._building = False

    def _adopt(self, g: DepGraph, names: Iterable[str]) -> None:
        """A bare model for each loaded unit only the graph knows (a file-less slice)."""
        for uid in names:
            info = g.units.get(uid)
            if info is not None and info.load_state == "loaded" and uid not in self.units:
                bare = bare_unit(info)
                self.add_unit(bare)
                g.adopt(bare)  # the info a rebuild gets from this model (can_start=)

    def drop_unit(self, uid: str) -> None:
        """Forget a unit (rule 5) in the tables and the graph; the caller checked that it
        may go (`may_collect`)."""
        unit = self.units.pop(uid, None)
        if unit is None:
            return
        for name in (uid, *unit.names):
            if self._by_name.get(name) == uid:
                del self._by_name[name]
        self.machines.pop(uid, None)
        self.unit_machines.pop(uid, None)
        self.pinned.discard(uid)
        self.collectable.discard(uid)
        if self._graph is not None:
            self._graph.remove(uid)

    def may_collect(self, uid: str) -> bool:
        """unit_may_gc() for a `collectable` unit, with unit_gc_sweep()'s reference rule
        reduced to: no loaded unit references it (rule 5)."""
        unit = self.units.get(uid)
        if unit is None or uid not in self.collectable or uid in self.jobs or uid in self.pinned:
            return False
        state = self.active_state(uid)
        if unit.unit.collect_mode == "inactive-or-failed":
            if state not in _INACTIVE:
                return False
        elif state != "inactive":
            return False  # CollectMode=inactive: a failed unit stays until reset-failed
        m = self.machines.get(uid)
        if m is not None and (m.main_pid or m.control_pid):
            return False  # cg_is_empty_recursive(): units with processes are never collected
        g = self.graph
        for relation in ("OnFailure", "OnSuccess"):  # unit_success_failure_handler_has_jobs()
            if any(other in self.jobs for other in g.deps(uid, relation)):
                return False
        return not any(r in self.units for r in g.referenced_by(uid))

    def kept_by_reference(self, uid: str) -> bool:
        """Rule 6: would systemd 252 still have `uid` loaded because a unit it keeps
        references it? unit_gc_sweep() (manager.c) keeps a unit whose referrers
        (UNIT_ATOM_REFERENCED_BY: every dependency a unit file states) include a unit that
        unit_may_gc() keeps on its own (not inactive, a job, processes), directly or through
        referrers that are themselves kept only by reference. wd_keepalive.service is
        static, but watchdog.service (enabled) names it in OnFailure=: after it ran, status
        shows its Process: lines. Status and show ask this of inactive units only, where
        pidone keeps the runtime but systemd would have loaded the unit afresh."""
        g = self.graph
        seen = {uid}
        todo = list(g.referenced_by(uid))
        while todo:
            other = todo.pop()
            if other in seen or other not in self.units:
                continue
            seen.add(other)
            m = self.machines.get(other)
            state = self.active_state(other)
            # unit_may_gc(): CollectMode=inactive (the default) keeps a failed unit too
            gone = _INACTIVE if self.units[other].unit.collect_mode == "inactive-or-failed" else ()
            if (
                other in self.jobs
                or (state != "inactive" and state not in gone)
                or (m is not None and (m.main_pid or m.control_pid))
            ):
                return True
            todo.extend(g.referenced_by(other))
        return False

    def reload_units(self, units: Iterable[Unit]) -> None:
        """daemon-reload: new models, same runtime state. A unit whose file is gone stays
        while it is active or has a job (as `not-found`), else it is forgotten."""
        fresh = {u.id: u for u in units}
        self._graph = None  # rebuilt once, not grown unit by unit
        for uid in list(self.units):
            if uid in fresh:
                continue
            kept = self.units[uid]
            if kept.type in ("slice", "device") and not kept.fragment_path:
                continue  # a file-less slice or device: still what the graph says
            builtin = builtin_unit(uid) if kept.fragment_path.startswith(BUILTIN_DIR) else None
            if builtin is not None:
                fresh[uid] = builtin  # a built-in the loader did not list: still built in
                continue
            if self.active_state(uid) in _INACTIVE and uid not in self.jobs:
                del self.units[uid]
                self.machines.pop(uid, None)
                self.unit_machines.pop(uid, None)
            else:
                self.units[uid] = replace(self.units[uid], load_state="not-found")
        self._by_name = {n: uid for n, uid in self._by_name.items() if uid in self.units}
        for unit in fresh.values():
            self.add_unit(unit)
        self._graph = None

    def lookup(self, name: str) -> Unit | None:
        """The unit called `name` (any alias), if loaded at all."""
        uid = self._by_name.get(name)
        return self.units.get(uid) if uid else None

    def _load_one(self, name: str) -> Unit | None:
        """Rule 1: a unit by name from the loader, else from the built-in units."""
        known = self.lookup(name)
        if known is not None:
            return known
        unit: Unit | None = None
        if self.load is not None:
            try:
                unit = self.load(name)
            except PidoneError:
                unit = None
        if unit is None or unit.load_state == "not-found":
            unit = builtin_unit(name) or unit
        if unit is None or unit.load_state == "not-found":
            return unit
        if unit.id not in self.units:
            self.add_unit(unit)
        self._by_name.setdefault(name, unit.id)
        return self.units[unit.id]

    @property
    def graph(self) -> DepGraph:
        """The dependency graph of every loaded unit (and what they name), rule 3."""
        if self._graph is None:
            self._building = True
            try:
                g = build_graph(list(self.units.values()), self._load_one)
                self._adopt(g, list(g.units))  # file-less slices and devices
            finally:
                self._building = False
            self._graph = g
        return self._graph

    def _desc(self, unit: str) -> str:
        """unit_status_string() with StatusUnitFormat=combined, 252's default for the
        journal: `foo.service - Description`, or the bare name without a description."""
        description = self.units[unit].unit.description
        if description and description != unit:
            return f"{unit} - {description}"
        return unit

    # --- queries (pure reads) --------------------------------------------------------------

    def active_state(self, name: str) -> str:
        """ActiveState word; unknown units are `inactive` (as systemctl prints them)."""
        uid = self._by_name.get(name, name)
        m = self.machines.get(uid)
        if m is not None:
            return m.active.value
        other = self.unit_machines.get(uid)
        return other.active_state if other is not None else "inactive"

    def sub_state(self, name: str) -> str:
        """SubState word (`dead` for units without a machine)."""
        uid = self._by_name.get(name, name)
        m = self.machines.get(uid)
        if m is not None:
            return m.sub.value
        other = self.unit_machines.get(uid)
        return other.sub_state if other is not None else "dead"

    def describe_peer(self, unit: Unit, peer: str) -> None:
        """service_set_socket_fd(): an Accept=yes connection's instance is described as
        "Description (PEER)" (PEER alone without a description), in its job messages and
        its status. The table's model and the machine's change; the graph, which reads no
        descriptions, keeps the file's."""
        text = unit.unit.description
        described = replace(
            unit, unit=replace(unit.unit, description=f"{text} ({peer})" if text else peer)
        )
        self.units[unit.id] = described
        m = self.machines.get(unit.id)
        if m is not None:
            m.unit = described

    def description(self, uid: str, default: str) -> str:
        """The unit's Description= as the manager has it (describe_peer()), else `default`."""
        unit = self.units.get(uid)
        return unit.unit.description if unit is not None else default

    def invocation_id(self, uid: str) -> str:
        """The unit's InvocationID= ("" if it never started): every record the manager
        logs about the unit carries it (log_unit_*(); core.unitmachines rule 5)."""
        m = self.machines.get(uid)
        if m is not None:
            return m.invocation_id
        other = self.unit_machines.get(uid)
        return other.invocation_id if other is not None else ""

    def list_jobs(self) -> list[JobRow]:
        """`systemctl list-jobs` rows, by job id."""
        return [
            JobRow(j.id, j.unit, j.type, j.state)
            for j in sorted(self.jobs.values(), key=lambda j: j.id)
        ]

    def is_active(self, names: list[str]) -> tuple[list[str], int]:
        """`systemctl is-active`: words, exit 0 if any is active or reloading, else 3."""
        words = [self.active_state(n) for n in names]
        return words, 0 if any(w in ("active", "reloading") for w in words) else 3

    def is_failed(self, names: list[str]) -> tuple[list[str], int]:
        """`systemctl is-failed`: words, exit 0 if any is failed, else 1."""
        words = [self.active_state(n) for n in names]
        return words, 0 if "failed" in words else 1

    def list_units(self, show_all: bool = False) -> list[UnitRow]:
        """`systemctl list-units` rows, sorted by name (inactive ones only with --all)."""
        rows = []
        for uid in sorted(self.units):
            u = self.units[uid]
            active = self.active_state(uid)
            sub = self.sub_state(uid)
            if show_all or active != "inactive" or uid in self.jobs:
                rows.append(UnitRow(uid, u.load_state, active, sub, u.unit.description))
        return rows

    def snapshot(self, name: str) -> UnitSnapshot | None:
        """Runtime state of one unit as plain data (None if not loaded)."""
        unit = self.lookup(name)
        if unit is None:
            return None
        job = self.jobs.get(unit.id)
        m = self.machines.get(unit.id)
        base = UnitSnapshot(
            id=unit.id,
            description=unit.unit.description,
            load_state=unit.load_state,
            active_state=self.active_state(unit.id),
            sub_state="dead",
            result="success",
            fragment_path=unit.fragment_path,
            job_id=job.id if job else 0,
            job_type=job.type if job else "",
        )
        if m is None:
            other = self.unit_machines.get(unit.id)
            base = replace(base, sub_state=self.sub_state(unit.id))
            if isinstance(other, InstantMachine):
                base = replace(
                    base,
                    result=other.result,  # a socket's or timer's Result= (status: "(Result: ...)")
                    invocation_id=other.invocation_id,
                    state_change_usec=other.state_change_usec,
                    inactive_exit_usec=other.inactive_exit_usec,
                    active_enter_usec=other.active_enter_usec,
                    active_exit_usec=other.active_exit_usec,
                    inactive_enter_usec=other.inactive_enter_usec,
                )
            return base
        x = m.exec_main
        ts = m.timestamps
        return replace(
            base,
            sub_state=m.sub.value,
            result=m.result.value,
            reload_result=m.reload_result.value,
            main_pid=m.main_pid,
            control_pid=m.control_pid,
            exec_main_pid=x.pid,
            exec_main_code=x.exit.code.value if x.exit else 0,
            exec_main_status=x.exit.status if x.exit else 0,
            exec_main_start_usec=x.start_usec,
            exec_main_exit_usec=x.exit_usec,
            exec_runs=m.exec_runs,
            n_restarts=m.n_restarts,
            invocation_id=m.invocation_id,
            status_text=m.status_text,
            status_errno=m.status_errno,
            state_change_usec=ts.state_change,
            inactive_exit_usec=ts.inactive_exit,
            active_enter_usec=ts.active_enter,
            active_exit_usec=ts.active_exit,
            inactive_enter_usec=ts.inactive_enter,
        )
