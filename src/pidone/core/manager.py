"""The manager: all units and their jobs; `handle(event, now) -> actions` (sans-IO brain).

Theory of operation:

1. Units are loaded models (core.model.Unit), looked up by any of their names. Each
   service has one ServiceMachine; other unit types keep a bare inactive/active word
   until their own machines exist (targets are the dependency issue's).
2. Events go to one machine: by `unit` when they carry one, by PID (main/control PIDs
   the machines report) for ProcessExited, by token prefix (`unit/...`) for TimerFired.
   Machine actions addressed to the manager (RestartJobWanted, StartRefused) and every
   StateChanged are consumed here; the rest go out to the executor.
3. At most one job per unit (spec 04 §3). A new job merges into the installed one when the
   types merge (job.merge_types), re-running it if it was already running and the merged
   type asks for more; a conflicting job replaces it (mode replace: the old one ends
   `canceled`) or is refused (mode fail).
4. Jobs run from a run queue drained at the end of every `handle()`. A job finishes when
   its unit's ActiveState says so, exactly as unit_notify() decides (`_job_rules`): start
   is done at active, failed at failed; stop is done at inactive/failed; a reload is done
   back at active with the reload's own result. A restart job finishes its stop half, logs
   "Stopped", and becomes a start job with the same id.
5. Start jobs first ask for Condition*=/Assert*= (CheckConditions -> ConditionsEvaluated),
   then start the machine, whose start-limit check may refuse (spec 03 §5.1, §7).
6. A unit that ends inactive (dead) with no job and no reference (`pinned`) is "garbage
   collected" as systemd would unload it: its start limiter and NRestarts are forgotten
   (pitfall 12).

Extension points for transactions (dependency issue): `_install()` is where a request
becomes one job; a transaction would compute several (unit, type) pairs and install each,
filling `Job.after` from After=/Before=. `_runnable()` is the ordering gate (today: always
runnable). `_finish()` is where a failed start would propagate `dependency` to jobs of
units that Require= it, and where BindsTo=/OnFailure= reactions to StateChanged belong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.job import (
    DONE_PRIORITY,
    Job,
    JobResult,
    JobType,
    collapse,
    format_begin_message,
    format_done_message,
    format_job_failure,
    is_superset,
    merge_types,
)
from pidone.core.model import Unit
from pidone.core.restart import StartLimit
from pidone.core.service import ServiceMachine
from pidone.core.servicestate import Result, SubState
from pidone.core.snapshot import UnitRow, UnitSnapshot
from pidone.core.values import USEC_INFINITY

ManagerEvent = (
    ev.ServiceEvent
    | ev.JobRequested
    | ev.KillUnitRequested
    | ev.ResetFailedUnitRequested
    | ev.RestartRequested
    | ev.ConditionsEvaluated
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


class Manager:
    """Every unit, every machine, every job."""

    def __init__(self, units: Iterable[Unit], new_invocation_id: Callable[[], str]) -> None:
        self._new_id = new_invocation_id
        self.units: dict[str, Unit] = {}
        self._by_name: dict[str, str] = {}
        self.machines: dict[str, ServiceMachine] = {}
        self._other_state: dict[str, str] = {}
        self.jobs: dict[str, Job] = {}
        self._next_job_id = 1
        self._pid_owner: dict[int, str] = {}
        self._pids_of: dict[str, tuple[int, int]] = {}
        self._run_queue: list[str] = []
        # Units systemd would keep loaded while inactive (wanted by an active unit, enabled
        # into a target, ...): they keep their start counter. Extension point for deps.
        self.pinned: set[str] = set()
        self._out: list[act.Action] = []
        self._now = 0
        for unit in units:
            self.add_unit(unit)

    # --- units ---------------------------------------------------------------------------

    def add_unit(self, unit: Unit) -> None:
        """Load (or, on daemon-reload, replace the model of) a unit; runtime state stays."""
        self.units[unit.id] = unit
        for name in (unit.id, *unit.names):
            self._by_name[name] = unit.id
        if unit.service is not None and unit.load_state == "loaded":
            old = self.machines.get(unit.id)
            if old is None:
                self.machines[unit.id] = ServiceMachine(unit)
            else:
                old.unit = unit
        else:
            self._other_state.setdefault(unit.id, "inactive")

    def reload_units(self, units: Iterable[Unit]) -> None:
        """daemon-reload: new models, same runtime state. A unit whose file is gone stays
        while it is active or has a job (as `not-found`), else it is forgotten."""
        fresh = {u.id: u for u in units}
        for uid in list(self.units):
            if uid in fresh:
                continue
            if self.active_state(uid) in ("inactive", "failed") and uid not in self.jobs:
                del self.units[uid]
                self.machines.pop(uid, None)
                self._other_state.pop(uid, None)
            else:
                self.units[uid] = replace(self.units[uid], load_state="not-found")
        self._by_name = {n: uid for n, uid in self._by_name.items() if uid in self.units}
        for unit in fresh.values():
            self.add_unit(unit)

    def lookup(self, name: str) -> Unit | None:
        """The unit called `name` (any alias), if loaded at all."""
        uid = self._by_name.get(name)
        return self.units.get(uid) if uid else None

    # --- the one entry point ---------------------------------------------------------------

    def handle(self, event: ManagerEvent, now_usec: int) -> list[act.Action]:
        """Process one event at monotonic `now_usec`; return the actions for the executor."""
        self._now = now_usec
        self._out = []
        match event:
            case ev.JobRequested():
                self._request_job(event)
            case ev.RestartRequested():
                self._install(event.unit, "restart", None, "replace", manual=True)
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
                        self._install(a.unit, "restart", None, "replace", manual=False)
                case act.StartRefused():
                    pass  # the StateChanged to failed finishes the start job
                case act.StateChanged():
                    self._out.append(a)
                    self._job_rules(m, a)
                case _:
                    self._out.append(a)
        self._collect(m)

    # --- requests -------------------------------------------------------------------------------

    def _refuse(self, request_id: int, lines: tuple[str, ...], code: int) -> None:
        self._out.append(act.RequestFailed(request_id, lines, code))

    def _request_job(self, r: ev.JobRequested) -> None:
        verb, name = r.verb, r.unit
        unit = self.lookup(name)
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
        self._install(unit.id, job_type, r.request_id, r.mode, manual=True)

    def _install(
        self,
        unit: str,
        job_type: JobType,
        request_id: int | None,
        mode: str,
        manual: bool,
    ) -> None:
        """Rule 3: one job per unit; merge, replace, or refuse."""
        job_type = collapse(job_type, self.active_state(unit))
        old = self.jobs.get(unit)
        if old is not None:
            merged = merge_types(old.type, job_type)
            if merged is None:
                if mode == "fail" and request_id is not None:
                    msg = (
                        f"Failed to {job_type} {unit}: Transaction for {unit}/{job_type} is "
                        f"destructive ({unit} has '{old.type}' job queued, but '{job_type}' "
                        "is included in transaction)."
                    )
                    self._refuse(request_id, (msg,), 1)
                    return
                self._finish(old, "canceled")
            else:
                if not manual:
                    old.manual = False
                if old.state == "running" and not is_superset(old.type, merged):
                    old.state = "waiting"  # "Merged into running job, re-running"
                old.type = merged
                self._queue(unit)
                if request_id is not None:
                    self._out.append(act.JobQueued(request_id, old.id, unit))
                return
        job = Job(self._next_job_id, unit, job_type, manual=manual)
        self._next_job_id += 1
        self.jobs[unit] = job
        timeout = self.units[unit].unit.job_timeout_usec
        if timeout < USEC_INFINITY:  # JobTimeoutSec= (man 5 systemd.unit)
            self._out.append(act.ArmTimer(self._job_token(job), self._now + timeout))
        if request_id is not None:
            self._out.append(act.JobQueued(request_id, job.id, unit))
        self._queue(unit)

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
            elif self._other_state.get(name) == "failed":
                self._other_state[name] = "inactive"
        self._out.append(act.RequestDone(r.request_id))

    # --- running jobs (rules 4, 5) ---------------------------------------------------------

    def _queue(self, unit: str) -> None:
        if unit not in self._run_queue:
            self._run_queue.append(unit)

    def _runnable(self, job: Job) -> bool:
        """Ordering gate for transactions; a lone job may always run."""
        return not job.after

    def _drain(self) -> None:
        while self._run_queue:
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
                if state in ("active", "reloading"):
                    self._finish(job, "done", already=True)
                elif sub == SubState.AUTO_RESTART or state == "deactivating":
                    job.state = "waiting"  # -EAGAIN: retried on the next state change
                elif state == "activating":
                    pass  # "Already on it": finishes with the unit's state
                elif job.type == "verify-active":
                    self._finish(job, "skipped", already=True)
                else:
                    self._check_conditions(job, m)
            case "stop" | "restart":
                if state in ("inactive", "failed"):
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
        """Units without a machine yet: start/stop just flip the recorded state."""
        if job.type in ("start", "restart", "reload-or-start"):
            self._other_state[job.unit] = "active"
        elif job.type == "stop":
            self._other_state[job.unit] = "inactive"
        self._finish(job, "done", already=True)

    def _check_conditions(self, job: Job, m: ServiceMachine) -> None:
        unit = self.units[job.unit].unit
        if unit.conditions or unit.asserts:
            job.awaiting_conditions = True
            self._out.append(act.CheckConditions(job.unit))
        else:
            self._start_machine(job, m)

    def _conditions_evaluated(self, e: ev.ConditionsEvaluated) -> None:
        job = self.jobs.get(e.unit)
        m = self.machines.get(e.unit)
        if job is None or m is None or not job.awaiting_conditions:
            return
        job.awaiting_conditions = False
        if e.ok:
            self._start_machine(job, m)
        elif e.assert_failed:
            self._log(e.unit, f"{e.unit}: Starting requested but asserts failed.", act.LOG_NOTICE)
            self._finish(job, "assert")
        else:
            desc = self._desc(e.unit)
            line = f"{desc} was skipped because of an unmet condition check ({e.failed})."
            self._log(e.unit, line, act.LOG_INFO)
            self._finish(job, "done", already=True)

    def _start_machine(self, job: Job, m: ServiceMachine) -> None:
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

    def _job_rules(self, m: ServiceMachine, change: act.StateChanged) -> None:
        """unit_notify()'s job section: does this state change finish the unit's job?"""
        job = self.jobs.get(m.name)
        if job is None:
            return
        new = change.new_active
        if job.state == "waiting":
            self._queue(m.name)
            return
        if job.awaiting_conditions:
            return
        match job.type:
            case "start" | "verify-active":
                if new in ("active", "reloading"):
                    self._finish(job, "done")
                elif new in ("inactive", "failed"):
                    self._finish(job, "failed" if new == "failed" else "done")
            case "reload":
                if new == "active":
                    ok = m.reload_result == Result.SUCCESS
                    self._finish(job, "done" if ok else "failed")
                elif new in ("inactive", "failed"):
                    self._finish(job, "failed" if new == "failed" else "done")
            case "stop" | "restart":
                if new in ("inactive", "failed"):
                    self._finish(job, "done")
                elif new != "deactivating" and change.new_sub != SubState.AUTO_RESTART.value:
                    self._finish(job, "failed")

    def _finish(self, job: Job, result: JobResult, already: bool = False) -> None:
        """job_finish_and_invalidate(): log, turn a done restart into a start, tell clients."""
        if self.jobs.get(job.unit) is not job:
            return
        del self.jobs[job.unit]
        if self.units[job.unit].unit.job_timeout_usec < USEC_INFINITY and not (
            job.type == "restart" and result == "done"
        ):
            self._out.append(act.CancelTimer(self._job_token(job)))
        m = self.machines.get(job.unit)
        oneshot = bool(m and m.cfg.type == "oneshot")
        skipped = m is not None and m.result == Result.EXEC_CONDITION
        if not already and not skipped:
            text = format_done_message(job.type, result, self._desc(job.unit), oneshot)
            if text is not None:
                self._done_log(job, result, text)
        if job.type == "restart" and result == "done":
            job.type, job.state = "start", "waiting"
            self.jobs[job.unit] = job
            self._queue(job.unit)
            return
        unit = self.units[job.unit]
        service_result = m.result.value if m else "success"
        lines, code = format_job_failure(job.unit, result, unit.type, service_result)
        self._out.append(act.JobFinished(job.id, job.unit, job.type, result, lines, code))
        if m is not None:
            self._collect(m)

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
        if text.startswith(("Started", "Finished")):
            mid = act.MID_UNIT_STARTED
        elif text.startswith("Failed to start"):
            mid = act.MID_UNIT_FAILED
        elif text.startswith("Stopped"):
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
        """Rule 6: an inactive unit without a job forgets its start limit and NRestarts,
        unless something references it (`pinned`, filled by the dependency layer)."""
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
        return self._other_state.get(uid, "inactive")

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
            m = self.machines.get(uid)
            active = self.active_state(uid)
            sub = m.sub.value if m else ("running" if active == "active" else "dead")
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
            sub = "running" if base.active_state == "active" else "dead"
            return replace(base, sub_state=sub)
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
