"""The manager: all units and their jobs; `handle(event, now) -> actions` (sans-IO brain).

Theory of operation:

1. Units are loaded models (core.model.Unit), looked up by any of their names. Each
   service has one ServiceMachine; every other loaded unit one core.unitmachines machine
   (targets and slices: dead <-> active at once). A name the manager does not know is
   asked of `load` (the daemon's loader) and then of pidone's built-in units.
2. Events go to one machine: by `unit` when they carry one, by PID (main/control PIDs
   the machines report) for ProcessExited, by token prefix (`unit/...`) for TimerFired.
   Machine actions addressed to the manager (RestartJobWanted, StartRefused) and every
   StateChanged are consumed here; the rest go out to the executor.
3. A request becomes a transaction over the dependency graph (core.transaction, built
   lazily from every loaded unit, rebuilt after a unit is added or reloaded): its error
   is the client's "Failed to VERB X: ERROR"; otherwise the jobs it cancels end
   `canceled`, each planned job is installed (at most one per unit, spec 04 §3; a merged
   one keeps its id and is re-run if it was running and now asks for more).
4. Jobs run from a run queue drained at the end of every `handle()`, when
   job_is_runnable() says no job of a unit ordered against them must go first. A job
   finishes when its unit's ActiveState says so, exactly as unit_notify() decides
   (`_job_rules`): start is done at active, failed at failed; stop is done at
   inactive/failed; a reload is done back at active with the reload's own result. A
   restart job finishes its stop half, logs "Stopped", and becomes a start job with the
   same id. A finished job puts the jobs of units ordered against its unit back on the
   run queue, and a failed start fails the jobs of units that require it (`dependency`,
   core.jobeffects rule 1).
5. Start jobs first ask for Condition*=/Assert*= (CheckConditions -> ConditionsEvaluated),
   then start the machine, whose start-limit check may refuse (spec 03 §5.1, §7).
6. Every ActiveState change goes through core.jobeffects.state_change_requests() (BindsTo=,
   OnFailure=, OnSuccess=, StopWhenUnneeded=, Upholds=, retroactive starts); the requests
   it returns become transactions before the next job runs. A service entering
   auto-restart passes through failed/dead first, as service_enter_dead() does in 252:
   that is what stops BindsTo= dependents (pitfall 15); the restart itself is a `restart`
   transaction in mode replace.
7. A unit that ends inactive (dead) with no job and no reference (`pinned`) is "garbage
   collected" as systemd would unload it: its start limiter and NRestarts are forgotten
   (pitfall 12).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.depgraph import DepGraph, build_graph
from pidone.core.errors import PidoneError
from pidone.core.job import (
    DONE_PRIORITY,
    Job,
    JobResult,
    JobType,
    format_begin_message,
    format_done_message,
    format_job_failure,
    is_superset,
)
from pidone.core.jobeffects import Request, state_change_requests
from pidone.core.jobeffects import fail_dependent_jobs as dependents_failing
from pidone.core.jobwiring import (
    CancelJobRequested,
    InstalledView,
    JobRow,
    SystemJobRequested,
    bare_unit,
    builtin_unit,
    container_override,
)
from pidone.core.model import Unit
from pidone.core.restart import StartLimit
from pidone.core.service import ServiceMachine
from pidone.core.servicestate import Result, SubState
from pidone.core.snapshot import UnitRow, UnitSnapshot
from pidone.core.targets import BUILTIN_DIR
from pidone.core.transaction import LOG_INFO, LogLine, build_transaction, job_is_runnable
from pidone.core.unitmachines import InstantMachine, MachineFactory, UnitMachine, machine_for
from pidone.core.values import USEC_INFINITY

ManagerEvent = (
    ev.ServiceEvent
    | ev.JobRequested
    | ev.KillUnitRequested
    | ev.ResetFailedUnitRequested
    | ev.RestartRequested
    | ev.ConditionsEvaluated
    | CancelJobRequested
    | SystemJobRequested
)
_VERB_TYPES: dict[str, JobType] = {
    "start": "start",
    "stop": "stop",
    "restart": "restart",
    "try-restart": "try-restart",
    "reload": "reload",
    "verify-active": "verify-active",
}
_SEE_LOGS = "See system logs and 'systemctl status {}' for details."
_INACTIVE = ("inactive", "failed")
_UP = ("active", "reloading")


class Manager:
    """Every unit, every machine, every job."""

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
        self._next_job_id = 1
        self._pid_owner: dict[int, str] = {}
        self._pids_of: dict[str, tuple[int, int]] = {}
        self._run_queue: list[str] = []
        self._requests: list[Request] = []
        self._graph: DepGraph | None = None
        self._building = False
        # Units systemd would keep loaded while inactive (wanted by an active unit, enabled
        # into a target, ...): they keep their start counter.
        self.pinned: set[str] = set()
        self._out: list[act.Action] = []
        self._now = 0
        for unit in units:
            self.add_unit(unit)

    # --- units ---------------------------------------------------------------------------

    def add_unit(self, unit: Unit) -> None:
        """Load (or, on daemon-reload, replace the model of) a unit; runtime state stays.
        Early-boot targets stay pidone's own (jobwiring.container_override)."""
        unit = container_override(unit)
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
        if not self._building:
            self._graph = None

    def reload_units(self, units: Iterable[Unit]) -> None:
        """daemon-reload: new models, same runtime state. A unit whose file is gone stays
        while it is active or has a job (as `not-found`), else it is forgotten."""
        fresh = {u.id: u for u in units}
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
                for uid, info in g.units.items():
                    if info.load_state == "loaded" and uid not in self.units:
                        self.add_unit(bare_unit(info))  # a file-less slice or device
            finally:
                self._building = False
            self._graph = g
        return self._graph

    # --- the one entry point ---------------------------------------------------------------

    def handle(self, event: ManagerEvent, now_usec: int) -> list[act.Action]:
        """Process one event at monotonic `now_usec`; return the actions for the executor."""
        self._now = now_usec
        self._out = []
        match event:
            case ev.JobRequested():
                self._request_job(event)
            case SystemJobRequested():
                self._system_job(event)
            case CancelJobRequested():
                self._cancel(event)
            case ev.RestartRequested():
                self._transaction(event.unit, "restart", "replace", None, True)
            case ev.KillUnitRequested():
                self._kill(event)
            case ev.ResetFailedUnitRequested():
                self._reset_failed(event)
            case ev.ConditionsEvaluated():
                self._conditions_evaluated(event)
            case ev.ProcessExited():
                owner = self._pid_owner.get(event.pid)
                if owner is not None:
                    self._to_machine(owner, event)
            case ev.TimerFired():
                unit, _, rest = event.token.partition("/")
                if rest.startswith("job/"):
                    self._job_timed_out(unit, rest)
                else:
                    self._to_machine(unit, event)
            case ev.NotifyReceived():
                owner = event.unit or self._pid_owner.get(event.pid, "")
                self._to_machine(owner, event)
            case _:
                self._to_machine(event.unit, event)
        self._drain()
        out, self._out = self._out, []
        return out

    # --- routing ------------------------------------------------------------------------------

    def _to_machine(self, unit: str, event: ev.ServiceEvent) -> None:
        m = self.machines.get(unit)
        if m is None:
            return
        self._absorb(m, m.handle(event, self._now))

    def _absorb(self, m: ServiceMachine, actions: list[act.Action]) -> None:
        """Keep what is ours (rule 2), apply the job rules to each StateChanged (rule 4)."""
        pids = (m.main_pid, m.control_pid)
        for pid in self._pids_of.get(m.name, ()):
            if pid not in pids and self._pid_owner.get(pid) == m.name:
                del self._pid_owner[pid]
        self._pids_of[m.name] = pids
        for pid in pids:
            if pid:
                self._pid_owner[pid] = m.name
        for a in actions:
            match a:
                case act.RestartJobWanted():
                    pending = self.jobs.get(a.unit)
                    if pending is not None and pending.type == "stop":
                        msg = f"{a.unit}: Stop job pending for unit, skipping automatic restart."
                        self._log(a.unit, msg, act.LOG_INFO)
                    else:
                        self._transaction(a.unit, "restart", "replace", None, manual=False)
                case act.StartRefused():
                    pass  # the StateChanged to failed finishes the start job
                case act.StateChanged():
                    self._out.append(a)
                    self._state_changed(a)
                case _:
                    self._out.append(a)
        self._collect(m)

    def _absorb_other(self, actions: list[act.Action]) -> None:
        for a in actions:
            self._out.append(a)
            if isinstance(a, act.StateChanged):
                self._state_changed(a)

    def _state_changed(self, change: act.StateChanged) -> None:
        """unit_notify(): the job rules, then the dependency effects (rule 6)."""
        unexpected = self._job_rules(change.unit, change)
        old, new = change.old_active, change.new_active
        if change.new_sub == SubState.AUTO_RESTART.value and old not in _INACTIVE:
            # 252 service_enter_dead(): "changing through SERVICE_FAILED/SERVICE_DEAD before
            # entering into SERVICE_AUTO_RESTART", notified with will_auto_restart set
            middle = "inactive" if change.result in ("success", "exec-condition") else "failed"
            self._effects(change.unit, old, middle, unexpected, will_auto_restart=True)
            old = middle
        if old != new:
            self._effects(change.unit, old, new, unexpected, will_auto_restart=False)

    def _effects(
        self, unit: str, old: str, new: str, unexpected: bool, will_auto_restart: bool
    ) -> None:
        self._requests += state_change_requests(
            self.graph,
            unit,
            old,
            new,
            unexpected=unexpected,
            will_auto_restart=will_auto_restart,
            state=self.active_state,
            jobs=InstalledView(self.jobs),
        )

    # --- requests -------------------------------------------------------------------------------

    def _refuse(self, request_id: int, lines: tuple[str, ...], code: int) -> None:
        self._out.append(act.RequestFailed(request_id, lines, code))

    def _request_job(self, r: ev.JobRequested) -> None:
        verb, name = r.verb, r.unit
        unit = self._load_one(name)
        gone = unit is not None and unit.load_state == "not-found"
        if unit is None or (gone and (verb != "stop" or self.active_state(unit.id) == "inactive")):
            word = "not loaded" if verb == "stop" else "not found"
            self._refuse(r.request_id, (f"Failed to {verb} {name}: Unit {name} {word}.",), 5)
            return
        if verb != "stop" and unit.load_state == "masked":
            self._refuse(r.request_id, (f"Failed to {verb} {name}: Unit {name} is masked.",), 1)
            return
        if unit.load_state in ("bad-setting", "error"):
            if verb == "stop" and self.active_state(unit.id) == "inactive":
                self._refuse(r.request_id, (f"Failed to stop {name}: Unit {name} not loaded.",), 5)
                return
            if verb != "stop":
                lines = (
                    f"Failed to {verb} {name}: Unit {name} has a bad unit file setting.",
                    _SEE_LOGS.format(name),
                )
                self._refuse(r.request_id, lines, 1)
                return
        u = unit.unit
        if (verb != "stop" and u.refuse_manual_start) or (verb == "stop" and u.refuse_manual_stop):
            lines = (
                f"Failed to {verb} {name}: Operation refused, unit {name} may be requested by "
                "dependency only (it is configured to refuse manual start/stop).",
                _SEE_LOGS.format(name),
            )
            self._refuse(r.request_id, lines, 4)
            return
        can_reload = bool(unit.service and unit.service.exec_reload)
        job_type: JobType
        if verb == "reload" and not can_reload:
            msg = f"Failed to reload {name}: Job type reload is not applicable for unit {name}."
            self._refuse(r.request_id, (msg,), 3)
            return
        if verb == "reload-or-restart":
            job_type = "reload-or-start" if can_reload else "restart"
        elif verb == "try-reload-or-restart":
            job_type = "try-reload" if can_reload else "try-restart"
        else:
            job_type = _VERB_TYPES[verb]
        self._transaction(unit.id, job_type, r.mode, r.request_id, True, verb, name)

    def _transaction(
        self,
        unit: str,
        job_type: JobType,
        mode: str,
        request_id: int | None,
        manual: bool,
        verb: str = "",
        name: str = "",
    ) -> bool:
        """Rule 3: build the transaction for one request and apply it."""
        result = build_transaction(
            self.graph,
            unit,
            job_type,
            mode,
            state=self.active_state,
            installed=InstalledView(self.jobs),
            next_job_id=self._next_job_id,
        )
        self._next_job_id = max(self._next_job_id, result.next_job_id)
        for line in result.log:
            if line.priority <= LOG_INFO:  # systemd's default LogLevel=info
                self._out.append(act.Log(line.unit or unit, line.message, line.priority))
        if not result.ok:
            if request_id is not None:
                text = f"Failed to {verb or job_type} {name or unit}: {result.error}"
                self._refuse(request_id, (text,), result.exit_code)
            else:
                text = f"{unit}: Failed to enqueue {job_type} job, ignoring: {result.error}"
                self._log(unit, text, act.LOG_WARNING)
            return False
        by_id = {j.id: j for j in self.jobs.values()}
        for jid in result.canceled:
            old = by_id.get(jid)
            if old is not None:
                self._finish(old, "canceled", recursive=False)
        for p in result.jobs:
            if p.unit not in self.units:
                self.add_unit(bare_unit(self.graph.info(p.unit)))
            job = self.jobs.get(p.unit)
            if p.merged and job is not None and job.id == p.id:
                # job_install(): merged into the installed job; a running one that now asks
                # for more is re-run ("Merged into running job, re-running")
                if (
                    job.state == "running"
                    and not job.awaiting_conditions
                    and not is_superset(job.type, p.type)
                ):
                    job.state = "waiting"
                job.type = p.type
                job.irreversible = job.irreversible or p.irreversible
                job.ignore_order = job.ignore_order or p.ignore_order
                if p.anchor and not manual:
                    job.manual = False
            else:
                if job is not None:
                    self._finish(job, "canceled", recursive=False)
                job = Job(
                    p.id,
                    p.unit,
                    p.type,
                    manual=manual or not p.anchor,
                    irreversible=p.irreversible,
                    ignore_order=p.ignore_order,
                )
                self.jobs[p.unit] = job
                timeout = self.units[p.unit].unit.job_timeout_usec
                if timeout < USEC_INFINITY:  # JobTimeoutSec= (man 5 systemd.unit)
                    self._out.append(act.ArmTimer(self._job_token(job), self._now + timeout))
            if p.anchor and request_id is not None:
                self._out.append(act.JobQueued(request_id, job.id, p.unit))
            self._queue(p.unit)
        return True

    def _system_job(self, r: SystemJobRequested) -> None:
        found = self._load_one(r.unit)
        if found is None or found.load_state == "not-found":
            line = f"Failed to {r.job_type} {r.unit}: Unit {r.unit} not found."
            self._refuse(r.request_id, (line,), 5)
            return
        self._transaction(found.id, r.job_type, r.mode, r.request_id, True, r.job_type, r.unit)

    def _cancel(self, r: CancelJobRequested) -> None:
        """`systemctl cancel`: job_finish_and_invalidate(JOB_CANCELED, recursive)."""
        by_id = {j.id: j for j in self.jobs.values()}
        ids = r.job_ids or tuple(sorted(by_id))
        missing = tuple(
            f"Failed to cancel job {jid}: Job {jid} does not exist."
            for jid in ids
            if jid not in by_id
        )
        for jid in ids:
            job = by_id.get(jid)
            if job is not None and self.jobs.get(job.unit) is job:
                self._finish(job, "canceled")
        if missing:
            self._refuse(r.request_id, missing, 1)
        else:
            self._out.append(act.RequestDone(r.request_id))

    def _kill(self, r: ev.KillUnitRequested) -> None:
        unit = self.lookup(r.unit)
        m = self.machines.get(unit.id) if unit else None
        if m is None:
            msg = f"Failed to kill unit {r.unit}: Unit {r.unit} not loaded."
            self._refuse(r.request_id, (msg,), 1)
            return
        if r.whom == "main" and not m.main_pid:
            self._refuse(
                r.request_id, (f"Failed to kill unit {r.unit}: No main process to kill",), 1
            )
            return
        if r.whom == "control" and not m.control_pid:
            msg = f"Failed to kill unit {r.unit}: No control process to kill"
            self._refuse(r.request_id, (msg,), 1)
            return
        self._absorb(m, m.handle(ev.KillRequested(m.name, r.whom, r.signal), self._now))
        self._out.append(act.RequestDone(r.request_id))

    def _reset_failed(self, r: ev.ResetFailedUnitRequested) -> None:
        if r.unit:
            unit = self.lookup(r.unit)
            if unit is None:
                msg = f"Failed to reset failed state of unit {r.unit}: Unit {r.unit} not loaded."
                self._refuse(r.request_id, (msg,), 1)
                return
            names = [unit.id]
        else:
            names = list(self.units)
        for name in names:
            m = self.machines.get(name)
            if m is not None:
                self._absorb(m, m.handle(ev.ResetFailedRequested(name), self._now))
            elif name in self.unit_machines:
                self._absorb_other(self.unit_machines[name].reset_failed())
        self._out.append(act.RequestDone(r.request_id))

    # --- running jobs (rules 4, 5) ---------------------------------------------------------

    def _queue(self, unit: str) -> None:
        if unit not in self._run_queue:
            self._run_queue.append(unit)

    def _runnable(self, job: Job) -> bool:
        """job_is_runnable(): no job of a unit ordered against this one must go first."""
        return job_is_runnable(
            self.graph, job.unit, job.type, InstalledView(self.jobs), job.ignore_order
        )

    def _drain(self) -> None:
        """manager_dispatch_run_queue(); requests from state changes come first (rule 6)."""
        while self._requests or self._run_queue:
            if self._requests:
                r = self._requests.pop(0)
                if r.why is not None:
                    self._log(r.why.unit or r.unit, r.why.message, r.why.priority)
                self._transaction(r.unit, r.job_type, r.mode, None, True)
                continue
            unit = self._run_queue.pop(0)
            job = self.jobs.get(unit)
            if job is not None and job.state == "waiting" and self._runnable(job):
                self._run(job)

    def _desc(self, unit: str) -> str:
        """unit_status_string() with StatusUnitFormat=combined, 252's default for the
        journal: `foo.service - Description`, or the bare name without a description."""
        description = self.units[unit].unit.description
        if description and description != unit:
            return f"{unit} - {description}"
        return unit

    def _run(self, job: Job) -> None:
        """job_run_and_invalidate() / job_perform_on_unit() for one unit."""
        m = self.machines.get(job.unit)
        if m is None:
            self._run_other(job)
            return
        state, sub = m.active.value, m.sub
        job.state = "running"
        match job.type:
            case "start" | "verify-active":
                if state in _UP:
                    self._finish(job, "done", already=True)
                elif sub == SubState.AUTO_RESTART or state == "deactivating":
                    job.state = "waiting"  # -EAGAIN: retried on the next state change
                elif state == "activating":
                    pass  # "Already on it": finishes with the unit's state
                elif job.type == "verify-active":
                    self._finish(job, "skipped", already=True)
                else:
                    self._check_conditions(job)
            case "stop" | "restart":
                if state in _INACTIVE:
                    self._finish(job, "done", already=True)
                    return
                # service_stop() returns 1 ("did something": log Stopping) only from running
                # or exited; killing a start in progress or cancelling a restart is quiet.
                quiet = sub not in (SubState.RUNNING, SubState.EXITED)
                restart = job.type == "restart"
                self._absorb(m, m.handle(ev.StopRequested(m.name, restart), self._now))
                if not quiet:
                    self._begin_message(job)
            case "reload":
                if state == "reloading":
                    job.state = "waiting"
                elif state != "active":
                    self._finish(job, "invalid", already=True)
                else:
                    self._absorb(m, m.handle(ev.ReloadRequested(m.name), self._now))
                    self._begin_message(job)
            case _:
                self._finish(job, "done", already=True)

    def _run_other(self, job: Job) -> None:
        """The same for a unit of another type (core.unitmachines); no machine: nothing to
        do (a not-found unit's stop, a nop)."""
        m = self.unit_machines.get(job.unit)
        if m is None:
            self._finish(job, "done", already=True)
            return
        state = m.active_state
        job.state = "running"
        if job.type in ("start", "verify-active"):
            if state in _UP:
                self._finish(job, "done", already=True)
            elif state == "deactivating":
                job.state = "waiting"
            elif state == "activating":
                pass
            elif job.type == "verify-active":
                self._finish(job, "skipped", already=True)
            else:
                self._check_conditions(job)
        elif job.type in ("stop", "restart"):
            if state in _INACTIVE:
                self._finish(job, "done", already=True)
                return
            self._absorb_other(m.stop(self._now))
            self._begin_message(job)
        else:
            self._finish(job, "done", already=True)

    def _check_conditions(self, job: Job) -> None:
        unit = self.units[job.unit].unit
        if unit.conditions or unit.asserts:
            job.awaiting_conditions = True
            self._out.append(act.CheckConditions(job.unit))
        else:
            self._start_machine(job)

    def _conditions_evaluated(self, e: ev.ConditionsEvaluated) -> None:
        job = self.jobs.get(e.unit)
        if job is None or not job.awaiting_conditions:
            return
        job.awaiting_conditions = False
        if e.ok:
            self._start_machine(job)
        elif e.assert_failed:
            self._log(e.unit, f"{e.unit}: Starting requested but asserts failed.", act.LOG_NOTICE)
            self._finish(job, "assert")
        else:
            desc = self._desc(e.unit)
            line = f"{desc} was skipped because of an unmet condition check ({e.failed})."
            self._log(e.unit, line, act.LOG_INFO)
            self._finish(job, "done", already=True)

    def _start_machine(self, job: Job) -> None:
        m = self.machines.get(job.unit)
        if m is None:
            other = self.unit_machines.get(job.unit)
            if other is None:
                self._finish(job, "done", already=True)
                return
            self._absorb_other(other.start(self._now))
            self._begin_message(job)
            return
        actions = m.handle(ev.StartRequested(m.name, self._new_id(), job.manual), self._now)
        refused = any(isinstance(a, act.StartRefused) for a in actions)
        self._absorb(m, actions)
        if not refused:
            self._begin_message(job)

    def _begin_message(self, job: Job) -> None:
        """job_emit_start_message(): only if the job is still there (rule 4)."""
        if self.jobs.get(job.unit) is not job:
            return
        text = format_begin_message(job.type, self._desc(job.unit))
        if text is None:
            return
        mid = {"S": act.MID_UNIT_STARTING, "R": act.MID_UNIT_RELOADING}.get(
            text[0], act.MID_UNIT_STOPPING
        )
        fields = (("JOB_ID", str(job.id)), ("JOB_TYPE", job.type))
        self._log(job.unit, text, act.LOG_INFO, mid, fields)

    def _job_rules(self, unit: str, change: act.StateChanged) -> bool:
        """unit_notify()'s job section: does this state change finish the unit's job?
        Returns whether the change was unexpected (no job asked for it)."""
        job = self.jobs.get(unit)
        if job is None:
            return True
        new = change.new_active
        running = job.state == "running"
        if not running:
            self._queue(unit)
        if job.awaiting_conditions:
            return False
        unexpected = False
        match job.type:
            case "start" | "verify-active":
                if new in _UP:
                    self._finish(job, "done")
                elif running and new != "activating":
                    unexpected = True
                    if new in _INACTIVE:
                        self._finish(job, "failed" if new == "failed" else "done")
            case "reload":
                m = self.machines.get(unit)
                if not running:
                    pass
                elif new == "active":
                    ok = m is None or m.reload_result == Result.SUCCESS
                    self._finish(job, "done" if ok else "failed")
                elif new not in ("activating", "reloading"):
                    unexpected = True
                    if new in _INACTIVE:
                        self._finish(job, "failed" if new == "failed" else "done")
            case "stop" | "restart":
                if new in _INACTIVE:
                    self._finish(job, "done")
                elif (
                    running
                    and new != "deactivating"
                    and change.new_sub != SubState.AUTO_RESTART.value
                ):
                    unexpected = True
                    self._finish(job, "failed")
            case _:
                pass
        return unexpected

    def _finish(
        self, job: Job, result: JobResult, already: bool = False, recursive: bool = True
    ) -> None:
        """job_finish_and_invalidate(): log, turn a done restart into a start, tell clients,
        fail the jobs that depended on this one, wake the jobs ordered against it."""
        if self.jobs.get(job.unit) is not job:
            return
        del self.jobs[job.unit]
        unit = self.units[job.unit]
        if unit.unit.job_timeout_usec < USEC_INFINITY and not (
            job.type == "restart" and result == "done"
        ):
            self._out.append(act.CancelTimer(self._job_token(job)))
        m = self.machines.get(job.unit)
        oneshot = bool(m and m.cfg.type == "oneshot")
        skipped = m is not None and m.result == Result.EXEC_CONDITION
        if not already and not skipped:
            text = format_done_message(job.type, result, self._desc(job.unit), oneshot, unit.type)
            if text is not None:
                self._done_log(job, result, text)
        if job.type == "restart" and result == "done":
            job.type, job.state = "start", "waiting"
            self.jobs[job.unit] = job
            self._queue(job.unit)
            self._wake_ordered(job.unit)
            return
        service_result = m.result.value if m else "success"
        lines, code = format_job_failure(job.unit, result, unit.type, service_result)
        self._out.append(act.JobFinished(job.id, job.unit, job.type, result, lines, code))
        if m is not None:
            self._collect(m)
        if recursive:
            self._fail_dependents(job, result)
        if result in ("timeout", "dependency"):
            # "Trigger OnFailure dependencies that are not generated by the unit itself"
            msg = f"{job.unit}: Job {job.unit}/{job.type} failed with result '{result}'."
            self._log(job.unit, msg, act.LOG_NOTICE, fields=(("JOB_RESULT", result),))
            targets = self.graph.deps(job.unit, "OnFailure")
            mode = self.graph.info(job.unit).on_failure_job_mode
            why = LogLine(job.unit, LOG_INFO, f"{job.unit}: Triggering OnFailure= dependencies.")
            for index, other in enumerate(targets):
                self._requests.append(Request(other, "start", mode, why if index == 0 else None))
        self._wake_ordered(job.unit)

    def _fail_dependents(self, job: Job, result: JobResult) -> None:
        """core.jobeffects rule 1 (already recursive: each is finished non-recursively)."""
        for f in dependents_failing(
            self.graph, job.unit, job.type, result, InstalledView(self.jobs), self.active_state
        ):
            other = self.jobs.get(f.unit)
            if other is not None and other.id == f.job_id:
                self._finish(other, "dependency", recursive=False)

    def _wake_ordered(self, unit: str) -> None:
        """Wake the jobs ordered against `unit` (job_finish_and_invalidate(): "Try to start
        the next jobs that can be started")."""
        for other in self.graph.ordered_neighbours(unit):
            if other in self.jobs:
                self._queue(other)

    @staticmethod
    def _job_token(job: Job) -> str:
        return f"{job.unit}/job/{job.id}"

    def _job_timed_out(self, unit: str, rest: str) -> None:
        """JobTimeoutSec= passed: the job ends `timeout`; the unit is left as it is."""
        job = self.jobs.get(unit)
        if job is None or rest != f"job/{job.id}":
            return
        self._log(unit, f"Job {unit}/{job.type} timed out.", act.LOG_WARNING)
        self._finish(job, "timeout")

    def _done_log(self, job: Job, result: JobResult, text: str) -> None:
        if text.startswith(("Started", "Finished", "Reached", "Created", "Listening", "Found")):
            mid = act.MID_UNIT_STARTED
        elif text.startswith("Failed to start"):
            mid = act.MID_UNIT_FAILED
        elif text.startswith(("Stopped", "Removed", "Closed")):
            mid = act.MID_UNIT_STOPPED
        elif text.startswith("Reloaded"):
            mid = act.MID_UNIT_RELOADED
        else:
            mid = ""
        fields = (("JOB_ID", str(job.id)), ("JOB_TYPE", job.type), ("JOB_RESULT", result))
        self._log(job.unit, text, DONE_PRIORITY[result], mid, fields)

    def _log(
        self,
        unit: str,
        text: str,
        priority: int,
        message_id: str = "",
        fields: tuple[tuple[str, str], ...] = (),
    ) -> None:
        m = self.machines.get(unit)
        if m is not None and m.invocation_id:
            fields = (*fields, ("INVOCATION_ID", m.invocation_id))
        self._out.append(act.Log(unit, text, priority, message_id, fields))

    def _collect(self, m: ServiceMachine) -> None:
        """Rule 7: an inactive unit without a job forgets its start limit and NRestarts,
        unless something references it (`pinned`)."""
        if m.sub == SubState.DEAD and m.name not in self.jobs and m.name not in self.pinned:
            m.start_limit = StartLimit()
            m.n_restarts = 0

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
