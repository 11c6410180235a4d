"""The manager: all units and their jobs; `handle(event, now) -> actions` (sans-IO brain).

Theory of operation:

1. Units, their machines, the dependency graph and the read-only queries live in the base
   class core.unittable.UnitTable (read its rules); this module holds the jobs.
2. Events go to one machine: by `unit` when they carry one, by PID (main/control PIDs
   the machines report) for ProcessExited, by token prefix (`unit/...`) for TimerFired.
   Machine actions addressed to the manager (RestartJobWanted, StartRefused) and every
   StateChanged are consumed here; the rest go out to the executor.
3. A request becomes a transaction over the dependency graph (core.transaction; the
   graph is built lazily from every loaded unit, grown in place as units are loaded and
   rebuilt after daemon-reload): its error is the client's "Failed to VERB X: ERROR";
   otherwise the jobs it cancels end
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
   (pitfall 12). Units loaded on the fly (an Accept=yes connection's instance, a not-found
   unit that got a job) are really dropped at the end of the event that left them
   collectable (core.unittable rule 5; the executor gets `UnitDropped`).

Size: past 600 lines on purpose. A job's life (install, run, the unit_notify() rules,
job_finish_and_invalidate() with its propagation) is one cycle of methods calling each
other; the parts that stand alone already live in core.unittable, core.jobwiring,
core.transaction and core.jobeffects.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass
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
    Refusal,
    SystemJobRequested,
    bare_unit,
    plan_request,
)
from pidone.core.model import Unit
from pidone.core.restart import StartLimit
from pidone.core.runorder import RunKey, run_key
from pidone.core.service import ServiceMachine
from pidone.core.servicestate import Result, SubState
from pidone.core.socketseam import CloseFd
from pidone.core.targets import PERPETUAL
from pidone.core.timerseam import TimerHost
from pidone.core.transaction import (
    LOG_INFO,
    LogLine,
    TransactionResult,
    build_stop_transaction,
    job_compare,
)
from pidone.core.triggering import (
    Now,
    StartFailed,
    StartUnit,
    TriggeredUnitChanged,
    TriggerRefused,
)
from pidone.core.triggerunits import TriggerEvent, TriggerUnits
from pidone.core.triggerwiring import (
    TriggerMachine,
    TriggersReloaded,
    WallClockChanged,
    start_refusal,
    uses_socket_stdio,
    with_activation,
)
from pidone.core.txcache import TransactionCache
from pidone.core.unitmachines import (
    MACHINE_FACTORIES,
    InstantMachine,
    MachineFactory,
    UnitMachine,
)
from pidone.core.unittable import UnitDropped, UnitTable
from pidone.core.values import USEC_INFINITY


@dataclass(frozen=True, slots=True)
class StopUnitsRequested:
    """The daemon's shutdown: stop every (request id, unit) of `requests`; each request is
    answered as a JobRequested `stop` in mode replace would be (JobQueued, JobFinished or
    RequestFailed)."""

    requests: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class PerpetualUnitsRunning:
    """The manager's start: `units` (-.slice, system.slice, and init.scope where the daemon
    runs in that cgroup) are active from now on, with no job, no log line and no
    InvocationID, as 252's manager_enumerate_perpetual() makes them (sd-oracle: its journal
    never says "Created slice system.slice")."""

    units: tuple[str, ...]


ManagerEvent = (
    ev.ServiceEvent
    | ev.JobRequested
    | ev.KillUnitRequested
    | ev.ResetFailedUnitRequested
    | ev.RestartRequested
    | ev.ConditionsEvaluated
    | CancelJobRequested
    | SystemJobRequested
    | StopUnitsRequested
    | PerpetualUnitsRunning
    | TriggerEvent
    | TriggersReloaded
    | WallClockChanged
)
_INACTIVE = ("inactive", "failed")
# Relations whose source keeps the unit loaded (UNIT_ATOM_REFERENCED_BY-style referrers).
_REFERRERS = (
    "WantedBy",
    "RequiredBy",
    "RequisiteOf",
    "BoundBy",
    "ConsistsOf",
    "UpheldBy",
    "TriggeredBy",
    "OnFailureOf",
    "OnSuccessOf",
)
_UP = ("active", "reloading")


class Manager(UnitTable):
    """Every unit, every machine, every job."""

    def __init__(
        self,
        units: Iterable[Unit],
        new_invocation_id: Callable[[], str],
        *,
        load: Callable[[str], Unit | None] | None = None,
        machine_factories: Mapping[str, MachineFactory] | None = None,
        triggers: TriggerUnits | None = None,
    ) -> None:
        self._next_job_id = 1
        self._tx_cache = TransactionCache()
        self._pid_owner: dict[int, str] = {}
        self._pids_of: dict[str, tuple[int, int]] = {}
        # runnable-job candidates, a heap by core.runorder.run_key (252's Prioq), and its set
        self._run_queue: list[tuple[RunKey, str]] = []
        self._queued: set[str] = set()
        self._scan_at: dict[int, int] = {}  # job id -> where _runnable() found its blocker
        self._requests: list[Request] = []
        self._out: list[act.Action] = []
        self._now = 0
        self._realtime_offset = 0  # CLOCK_REALTIME - CLOCK_MONOTONIC at the last event
        # Sockets and timers (core.triggerwiring): their machines, and the activation
        # details (fds, TRIGGER_*/REMOTE_* env) each triggered unit was started with.
        self.triggers = triggers or TriggerUnits(TimerHost(), UTC, lambda _: None, lambda: 0)
        self._activation: dict[str, StartUnit] = {}
        # the socket fds each promised successor was built with (successor())
        self._successor_fds: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {}
        self._trigger_logs: list[act.Action] = []
        self._gc_queue: dict[str, None] = {}  # units to check for collection (rule 7)
        # ConditionResult=/ConditionTimestamp= of each unit's last start: (held, monotonic
        # µs, the checks that were not met, as systemctl status lists them)
        self.condition_results: dict[str, tuple[bool, int, tuple[str, ...]]] = {}
        self.assert_results: dict[str, tuple[bool, int, tuple[str, ...]]] = {}  # the same
        factories = dict(MACHINE_FACTORIES if machine_factories is None else machine_factories)
        factories.setdefault("socket", self._trigger_machine)
        factories.setdefault("timer", self._trigger_machine)
        factories.setdefault("path", self._trigger_machine)  # core.pathunit (cups.path)
        super().__init__(units, new_invocation_id, load=load, machine_factories=factories)

    # --- the one entry point ---------------------------------------------------------------

    def handle(
        self, event: ManagerEvent, now_usec: int, realtime_usec: int | None = None
    ) -> list[act.Action]:
        """Process one event at monotonic `now_usec` (and wall-clock `realtime_usec`, which
        timers need; None: as far from the monotonic clock as last time); return the
        actions for the executor."""
        self._now = now_usec
        if realtime_usec is not None:
            self._realtime_offset = realtime_usec - now_usec
        self._out, self._trigger_logs = self._trigger_logs, []
        match event:
            case ev.JobRequested():
                self._request_job(event)
            case SystemJobRequested():
                self._system_job(event)
            case StopUnitsRequested():
                self._stop_units(event)
            case PerpetualUnitsRunning():
                for name in event.units:
                    self._perpetual_running(name)
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
            case TriggersReloaded():
                self._absorb_other(self.triggers.coldplug(self.clock()))
            case WallClockChanged():
                self._absorb_other(self.triggers.clock_changed(self.clock()))
            case ev.ProcessExited():
                owner = self._pid_owner.get(event.pid) or self.triggers.pid_owner(event.pid)
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
        self._sweep()
        out, self._out = self._out, []
        out += self._trigger_logs  # warnings of sockets/timers loaded during this event
        self._trigger_logs = []
        return out

    # --- routing ------------------------------------------------------------------------------

    def _to_machine(self, unit: str, event: ev.ServiceEvent | TriggerEvent) -> None:
        m = self.machines.get(unit)
        if m is None:
            if self.triggers.owns(unit):
                self._absorb_other(self.triggers.handle(event, self.clock()))  # type: ignore[arg-type]
            return
        self._absorb(m, m.handle(event, self._now))  # type: ignore[arg-type]

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
                    if a.old_active not in _INACTIVE and (
                        a.new_active in _INACTIVE or a.new_sub == SubState.AUTO_RESTART.value
                    ):
                        # unit_notify() of a unit that just stopped or failed, after the
                        # job's "Stopped X." (unit_process_job()); an automatic restart
                        # passes through failed/dead first (_state_changed())
                        self._out.append(act.LogResources(a.unit))
                case act.Spawn():
                    listen: tuple[tuple[int, ...], tuple[str, ...]] = ((), ())
                    svc = m.unit.service
                    if svc is not None and (a.role == "start" or uses_socket_stdio(m.unit)):
                        listen = self.triggers.listen_fds(a.unit, svc.sockets)
                    activation = self._activation.get(a.unit)
                    self._out.append(with_activation(a, m.unit, activation, listen))
                    # the unit's earlier promise is used up by any spawn (a new one is
                    # remembered again when the executor asks for it: successor())
                    self._successor_fds.pop(a.unit, None)
                case _:
                    self._out.append(a)
        self._collect(m)

    def successor(self, unit: str, token: str) -> act.Spawn | None:
        """The successor the Spawn of `token` promised (Spawn.promises; the executor asks
        right after starting that process), with what the manager adds to a Spawn: the
        socket fds as they are now (service_spawn() collects them at each spawn),
        remembered so that a socket that starts or stops before the control process exits
        withdraws the promise (_recheck_successors). With activation variables or
        StandardInput=socket, none."""
        m = self.machines.get(unit)
        svc = m.unit.service if m is not None else None
        if m is None or svc is None:
            return None
        if self._activation.get(unit) is not None or uses_socket_stdio(m.unit):
            return None
        then = m.successor(unit, token)
        if then is None:
            return None
        listen = self.triggers.listen_fds(unit, svc.sockets)
        self._successor_fds[unit] = listen
        if not listen[0]:
            return then  # (with_activation() would leave it as it is)
        return with_activation(then, m.unit, None, listen)

    def _recheck_successors(self) -> None:
        for name, listen in list(self._successor_fds.items()):
            m = self.machines.get(name)
            svc = m.unit.service if m is not None else None
            if svc is None or self.triggers.listen_fds(name, svc.sockets) != listen:
                del self._successor_fds[name]
                self._out.append(act.DropSuccessor(name))

    def _absorb_other(self, actions: Iterable[object]) -> None:
        """Actions of non-service machines; a socket's or timer's StartUnit/StartFailed are
        the manager's (core.triggerwiring rule 2)."""
        for a in actions:
            match a:
                case StartUnit():
                    self._start_unit(a)
                case StartFailed():
                    job = self.jobs.get(a.unit)
                    if job is not None:
                        self._finish(job, "failed")
                case act.StateChanged():
                    other = self.unit_machines.get(a.unit)
                    if isinstance(other, TriggerMachine):
                        other.note(a, self._now)
                    if self._successor_fds:
                        self._recheck_successors()
                    self._out.append(a)
                    self._state_changed(a)
                case _:
                    self._emit(a)

    def _emit(self, a: object) -> None:
        """A socket's or timer's I/O action (core.socketseam, core.triggering, SaveStamp):
        not in act.Action's union, carried out by the executor all the same."""
        self._out.append(a)  # type: ignore[arg-type]

    # --- sockets and timers (core.triggerwiring) -------------------------------------------

    def clock(self) -> Now:
        """Both clocks at the event being handled."""
        return Now(self._now + self._realtime_offset, self._now)

    def _trigger_machine(self, unit: Unit) -> UnitMachine:
        for warning in self.triggers.add_unit(unit):
            self._trigger_logs.append(act.Log(unit.id, f"{unit.id}: {warning}", act.LOG_WARNING))
        return TriggerMachine(unit, self.triggers, self.clock)

    def reload_units(self, units: Iterable[Unit]) -> None:
        """daemon-reload (core.unittable rule 3); sockets and timers take their new files,
        and those whose file is gone are dropped (`TriggersReloaded` then re-plans)."""
        fresh = list(units)
        known = {*self.triggers.timers, *self.triggers.sockets, *self.triggers.paths}
        super().reload_units(fresh)
        for unit in fresh:
            if unit.id in known and unit.id in self.unit_machines:
                for warning in self.triggers.add_unit(unit):
                    line = f"{unit.id}: {warning}"
                    self._trigger_logs.append(act.Log(unit.id, line, act.LOG_WARNING))
        for name in [*self.triggers.timers, *self.triggers.sockets, *self.triggers.paths]:
            if name not in self.unit_machines:
                self.triggers.remove_unit(name)

    def _start_unit(self, a: StartUnit) -> None:
        """A socket or timer asks for a start job on `a.target` (mode replace)."""
        target = self._load_one(a.target)
        reason = ""
        if target is None or target.load_state == "not-found":
            reason = f"Unit {a.target} not found."
        elif target.load_state == "masked":
            reason = f"Unit {a.target} is masked."
        elif target.load_state != "loaded":
            reason = f"Unit {a.target} has a bad unit file setting."
        if not reason and target is not None:
            if a.connection_fd >= 0:  # an Accept=yes instance, loaded for this connection
                self.collectable.add(target.id)
                self._gc_queue[target.id] = None
                if a.peer:
                    self.describe_peer(target, a.peer)
            old = self._activation.get(target.id)
            self._activation[target.id] = a
            if self._transaction(target.id, "start", "replace", None, manual=False):
                if old is not None and old.connection_fd >= 0 and old is not a:
                    self._emit(CloseFd(old.unit, old.connection_fd))
                return
            if old is None:
                self._activation.pop(target.id, None)
            else:
                self._activation[target.id] = old
            reason = f"Failed to enqueue start job for {a.target}."
        if a.connection_fd >= 0:  # ours since the StartUnit (core.triggering)
            self._emit(CloseFd(a.unit, a.connection_fd))
        refused = TriggerRefused(a.unit, a.target, reason)
        self._absorb_other(self.triggers.handle(refused, self.clock()))

    def _trigger_notify(self, change: act.StateChanged) -> None:
        """unit_trigger_notify(): the sockets and timers that trigger this unit learn its
        new state; an inactive unit's activation (and Accept=yes connection) is dropped."""
        unit = change.unit
        if change.new_active in _INACTIVE and change.new_sub != SubState.AUTO_RESTART.value:
            done = self._activation.pop(unit, None)
            if done is not None and done.connection_fd >= 0:
                self._emit(CloseFd(done.unit, done.connection_fd))
        self._tell_triggers(unit, change.new_active, change.new_sub)

    def _tell_triggers(self, unit: str, active: str, sub: str) -> None:
        """TriggeredUnitChanged to every socket/timer that triggers `unit`, with the
        unit's InactiveExit/InactiveEnter monotonic stamps (OnUnit*Sec= bases)."""
        if not self.triggers.triggered_by(unit):
            return
        m = self.machines.get(unit)
        exit_usec = enter_usec = 0
        limit_hit = False
        if m is not None:
            exit_usec, enter_usec = m.timestamps.inactive_exit, m.timestamps.inactive_enter
            limit_hit = active == "failed" and m.result == Result.START_LIMIT_HIT
        else:
            other = self.unit_machines.get(unit)
            if isinstance(other, InstantMachine):
                exit_usec, enter_usec = other.inactive_exit_usec, other.inactive_enter_usec
        actions = self.triggers.target_changed(
            unit, active, sub, self.clock(), exit_usec, enter_usec, unit in self.jobs, limit_hit
        )
        self._absorb_other(actions)

    def _start_job_lost(self, unit: str) -> None:
        """A start job ended without starting `unit` (canceled, dependency, timeout...),
        maybe with no state change at all: job_finish_and_invalidate() calls
        unit_trigger_notify(), so a socket waiting for its service listens again and an
        Accept=yes connection that never got its instance is closed."""
        if self.active_state(unit) not in _INACTIVE:
            return
        done = self._activation.pop(unit, None)
        if done is not None and done.connection_fd >= 0:
            self._emit(CloseFd(done.unit, done.connection_fd))
        self._tell_triggers(unit, self.active_state(unit), self.sub_state(unit))

    def _sync_service_state(self, unit_id: str) -> None:
        """Before a socket starts, it learns its service's state (socket_start() refuses
        when the service is already active; only the state counts there, not a job); so
        does a path (path_enter_waiting(): an active unit makes it `running` at once)."""
        path = self.triggers.paths.get(unit_id)
        sock = self.triggers.sockets.get(unit_id)
        if path is not None:
            svc = path.config.target
        elif sock is None or sock.config.accept:
            return
        else:
            svc = sock.config.service
        change = TriggeredUnitChanged(unit_id, svc, self.active_state(svc), self.sub_state(svc))
        self._absorb_other(self.triggers.handle(change, self.clock()))

    def _trigger_loaded(self, name: str) -> bool:
        unit = self._load_one(name)
        return unit is not None and unit.load_state == "loaded"

    def _state_changed(self, change: act.StateChanged) -> None:
        """unit_notify(): the job rules, then the dependency effects (rule 6)."""
        if change.new_active in _INACTIVE:
            self._gc_queue[change.unit] = None
        old, new = change.old_active, change.new_active
        auto_restart = change.new_sub == SubState.AUTO_RESTART.value and old not in _INACTIVE
        middle = "inactive" if change.result in ("success", "exec-condition") else "failed"
        job = self.jobs.get(change.unit)
        if auto_restart and job is not None and job.type in ("start", "verify-active"):
            # 252 service_enter_dead() notifies the failed/dead state first: a running start
            # job ends there ("Failed to start X.", systemctl start exits 1 while the unit
            # keeps restarting), so the jobs ordered after it run; each restart is a job of
            # its own (the `restart` transaction below). Checked on the oracle: flap.service
            # (Type=notify, /bin/false, Restart=always) and after.service (After=flap).
            sub = "dead" if middle == "inactive" else "failed"
            at_middle = act.StateChanged(
                change.unit, change.old_active, change.old_sub, middle, sub, change.result
            )
            unexpected = self._job_rules(change.unit, at_middle)
        else:
            unexpected = self._job_rules(change.unit, change)
        if auto_restart:
            # 252 service_enter_dead(): "changing through SERVICE_FAILED/SERVICE_DEAD before
            # entering into SERVICE_AUTO_RESTART", notified with will_auto_restart set
            self._effects(change.unit, old, middle, unexpected, will_auto_restart=True)
            old = middle
        if old != new:
            self._effects(change.unit, old, new, unexpected, will_auto_restart=False)
        self._trigger_notify(change)

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
        unit = self._load_one(r.unit)
        active = self.active_state(unit.id) if unit is not None else "inactive"
        planned = plan_request(r.verb, r.unit, unit, active, r.mode)
        if isinstance(planned, Refusal):
            self._refuse(r.request_id, planned.lines, planned.exit_code)
            return
        assert unit is not None
        self._transaction(unit.id, planned, r.mode, r.request_id, True, r.verb, r.unit)

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
        # build_transaction(), remembered while nothing it read has changed (core.txcache)
        result = self._tx_cache.build(
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
                shown = name or unit
                text = f"Failed to {verb or job_type} {shown}: {result.error}"
                see = f"See system logs and 'systemctl status {shown}' for details."
                lines = (text, see) if result.see_logs else (text,)
                self._refuse(request_id, lines, result.exit_code)
            else:
                text = f"{unit}: Failed to enqueue {job_type} job, ignoring: {result.error}"
                self._log(unit, text, act.LOG_WARNING)
            return False
        self._install(result, manual, lambda _unit: () if request_id is None else (request_id,))
        return True

    def _install(
        self,
        result: TransactionResult,
        manual: bool,
        request_ids: Callable[[str], tuple[int, ...]],
    ) -> None:
        """transaction_apply(): cancel, merge or install each planned job; the requests of
        an anchored job (`request_ids(unit)`) learn its id."""
        by_id = {j.id: j for j in self.jobs.values()} if result.canceled else {}
        for jid in result.canceled:
            old = by_id.get(jid)
            if old is not None:
                self._finish(old, "canceled", recursive=False)
        for p in result.jobs:
            if p.unit not in self.units:
                self.add_unit(bare_unit(self.graph.info(p.unit)))
                if self.units[p.unit].load_state == "not-found":
                    self.collectable.add(p.unit)  # unloaded again after its job (rule 7)
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
            if p.anchor:
                for request_id in request_ids(p.unit):
                    self._out.append(act.JobQueued(request_id, job.id, p.unit))
            self._queue(p.unit)

    def _perpetual_running(self, name: str) -> None:
        unit = self._load_one(name)
        other = self.unit_machines.get(unit.id) if unit is not None else None
        if other is not None and other.active_state == "inactive":
            self._absorb_other(other.start(self._now))  # no InvocationID, as 252 shows

    def _stop_units(self, r: StopUnitsRequested) -> None:
        """The daemon's shutdown: a `stop` request per unit, built as one transaction
        (core.transaction.build_stop_transaction) when that is the same as building them
        one by one; otherwise one by one, each handled as a JobRequested would be."""
        ids: dict[str, tuple[int, ...]] = {}
        requests: list[tuple[int, str]] = []
        single = True
        for request_id, name in r.requests:
            unit, planned = self._shutdown_stop(name)
            if isinstance(planned, Refusal) and unit is not None and unit.id in PERPETUAL:
                self._refuse(request_id, planned.lines, planned.exit_code)  # never stopped
                continue
            requests.append((request_id, name))
            if planned != "stop" or unit is None:
                single = False
            elif single:
                ids[unit.id] = (*ids.get(unit.id, ()), request_id)
        if not single:
            ids = {}
        result = None
        if ids:
            result = build_stop_transaction(
                self.graph,
                list(ids),
                state=self.active_state,
                installed=InstalledView(self.jobs),
                next_job_id=self._next_job_id,
            )
        if result is None:
            for request_id, name in requests:  # as that many JobRequested events
                unit, planned = self._shutdown_stop(name)
                if isinstance(planned, Refusal):
                    self._refuse(request_id, planned.lines, planned.exit_code)
                elif unit is not None:
                    self._transaction(unit.id, planned, "replace", request_id, True, "stop", name)
                self._drain()
                self._sweep()
            return
        self._next_job_id = max(self._next_job_id, result.next_job_id)
        self._install(result, True, lambda unit: ids.get(unit, ()))

    def _shutdown_stop(self, name: str) -> tuple[Unit | None, JobType | Refusal]:
        """plan_request() for the shutdown's stop of `name`, which is no manual request:
        RefuseManualStop= does not keep a unit up (systemd stops such units through
        shutdown.target's Conflicts=; systemd.unit(5): it refuses only stops "requested by
        the user")."""
        unit = self._load_one(name)
        active = self.active_state(unit.id) if unit is not None else "inactive"
        planned = plan_request("stop", name, unit, active)
        if (
            isinstance(planned, Refusal)
            and unit is not None
            and unit.load_state == "loaded"
            and unit.unit.refuse_manual_stop
        ):
            return unit, "stop"
        return unit, planned

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
        if unit not in self._queued:
            self._queued.add(unit)
            heapq.heappush(self._run_queue, (run_key(unit, self.units.get(unit)), unit))

    def _runnable(self, job: Job) -> bool:
        """job_is_runnable() (core.transaction): no job of a unit ordered against this one
        must go first. A target that waits for a thousand units is re-checked after each
        of them ends, so the last blocker found is tried first, and otherwise the scan of
        the After=/Before= neighbours goes round from where that blocker stood: any
        blocker gives the same answer, and units ordered in the order they finish are no
        longer rescanned from the first each time (a stop-all of 100 services made
        ~11,000 checks for its targets, quadratic)."""
        if job.ignore_order or job.type == "nop":
            return True
        if job.blocker is not None and self._blocks(job, *job.blocker):
            return False
        after = self.graph.deps(job.unit, "After")
        before = self.graph.deps(job.unit, "Before")
        split, total = len(after), len(after) + len(before)
        start = self._scan_at.get(job.id, 0)
        for k in range(total):
            i = (start + k) % total
            other, is_before = (after[i], False) if i < split else (before[i - split], True)
            if self._blocks(job, other, is_before):
                job.blocker = (other, is_before)
                self._scan_at[job.id] = i
                return False
        job.blocker = None
        self._scan_at.pop(job.id, None)
        return True

    def _blocks(self, job: Job, other: str, before: bool) -> bool:
        o = self.jobs.get(other)
        return o is not None and not o.ignore_order and job_compare(job.type, o.type, before) > 0

    def _drain(self) -> None:
        """manager_dispatch_run_queue(); requests from state changes come first (rule 6)."""
        while self._requests or self._run_queue:
            if self._requests:
                r = self._requests.pop(0)
                if r.why is not None:
                    self._log(r.why.unit or r.unit, r.why.message, r.why.priority)
                self._transaction(r.unit, r.job_type, r.mode, None, True)
                continue
            unit = heapq.heappop(self._run_queue)[1]
            self._queued.discard(unit)
            job = self.jobs.get(unit)
            if job is not None and job.state == "waiting" and self._runnable(job):
                self._run(job)

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
                    self._begin_message(job, "stop")
            case "reload":
                if state == "reloading":
                    job.state = "waiting"
                elif state != "active":
                    # unit_reload(): -ENOEXEC, with this warning in the journal (252's
                    # unit.c); systemctl then prints "X is not active, cannot reload."
                    self._log(
                        job.unit,
                        f"{job.unit}: Unit cannot be reloaded because it is inactive.",
                        act.LOG_WARNING,
                    )
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
            self._begin_message(job, "stop")
        else:
            self._finish(job, "done", already=True)

    def _check_conditions(self, job: Job) -> None:
        unit = self.units[job.unit].unit
        if unit.conditions or unit.asserts:
            job.awaiting_conditions = True
            self._out.append(act.CheckConditions(job.unit))
        else:
            self.condition_results[job.unit] = (True, self._now, ())
            self.assert_results[job.unit] = (True, self._now, ())
            self._start_machine(job)

    def _conditions_evaluated(self, e: ev.ConditionsEvaluated) -> None:
        job = self.jobs.get(e.unit)
        if job is None or not job.awaiting_conditions:
            return
        job.awaiting_conditions = False
        self.condition_results[e.unit] = (e.ok or e.assert_failed, self._now, self._unmet(e))
        if e.ok or e.assert_failed:  # asserts are tested once the conditions hold
            failed = (e.failed,) if e.assert_failed else ()
            self.assert_results[e.unit] = (not e.assert_failed, self._now, failed)
        if e.ok:
            self._start_machine(job)
        elif e.assert_failed:
            self._log(e.unit, f"{e.unit}: Starting requested but asserts failed.", act.LOG_NOTICE)
            self._finish(job, "assert")
        else:
            desc = self._desc(e.unit)
            if e.failed.partition("=")[2].startswith("|"):
                # Only the triggering (`|`) checks failed, none of them holding: systemd 252
                # names none of them (job_emit_done_message(), checked on the oracle).
                line = f"{desc} was skipped because no trigger condition checks were met."
            else:
                line = f"{desc} was skipped because of an unmet condition check ({e.failed})."
            self._log(e.unit, line, act.LOG_INFO)
            self._finish(job, "done", already=True)

    def _unbound(self, unit: str) -> str:
        """The first BindsTo= unit, also ordered After=, that is neither active nor on its
        way (unit_verify_deps(): UNIT_ATOM_CANNOT_BE_ACTIVE_WITHOUT), else "".

        252 checks only the BindsTo= units `unit` is ordered after ("We don't check BindsTo=
        dependencies that are not used in conjunction with After= as for them any such check
        would make things entirely racy"): xrdp-sesman.service is BindsTo=xrdp.service but
        starts before it (xrdp.service has Requires=/After=xrdp-sesman.service)."""
        for other in self.graph.deps(unit, "BindsTo"):
            if not self.graph.has(unit, "After", other):
                continue
            if self.active_state(other) not in ("active", "reloading", "activating"):
                return other
        return ""

    def _unmet(self, e: ev.ConditionsEvaluated) -> tuple[str, ...]:
        """The checks status lists as "was not met": the failing one, or, when only `|`
        checks failed, every `|` check (all were tested; systemd 252 condition_test_list())."""
        if e.ok or e.assert_failed:
            return ()
        if not e.failed.partition("=")[2].startswith("|"):
            return (e.failed,)
        return tuple(
            f"Condition{c.kind}=|{'!' if c.negate else ''}{c.value}"
            for c in self.units[e.unit].unit.conditions
            if c.trigger
        )

    def _start_machine(self, job: Job) -> None:
        unbound = self._unbound(job.unit)
        if unbound:
            # 252 unit_start() -> unit_verify_deps(), after the conditions: a BindsTo= unit
            # that is not active (sssd.service skipped by its conditions) refuses the
            # start, so sssd-nss.socket never listens (checked on the oracle).
            text = f"{job.unit}: Bound to unit {unbound}, but unit isn't active."
            self._log(job.unit, text, act.LOG_NOTICE)
            self._finish(job, "dependency")
            return
        m = self.machines.get(job.unit)
        if m is None:
            other = self.unit_machines.get(job.unit)
            if other is None:
                self._finish(job, "done", already=True)
                return
            if self.triggers.owns(job.unit):
                refusal = start_refusal(self.triggers, job.unit, self._trigger_loaded)
                if refusal:
                    self._log(job.unit, refusal, act.LOG_ERR)
                    self._finish(job, "failed")
                    return
                self._sync_service_state(job.unit)
            self._absorb_other(other.start(self._now, self._new_id()))
            if not _listens_at_once(self.units[job.unit]):
                self._begin_message(job)
            return
        actions = m.handle(ev.StartRequested(m.name, self._new_id(), job.manual), self._now)
        refused = any(isinstance(a, act.StartRefused) for a in actions)
        self._absorb(m, actions)
        if not refused and not _active_at_fork(m):
            self._begin_message(job)

    def _begin_message(self, job: Job, performed: JobType | None = None) -> None:
        """job_emit_start_message(): only if the job is still there (rule 4), with the type
        job_perform_on_unit() performed (`performed`): a restart runs as JOB_STOP, and a
        unit that stopped at once (an exited oneshot) has already turned the job into a
        waiting start, yet systemd 252 logs "Stopping X..." with JOB_TYPE=stop for it."""
        if self.jobs.get(job.unit) is not job:
            return
        job_type = performed or job.type
        text = format_begin_message(job_type, self._desc(job.unit))
        if text is None:
            return
        mid = {"S": act.MID_UNIT_STARTING, "R": act.MID_UNIT_RELOADING}.get(
            text[0], act.MID_UNIT_STOPPING
        )
        fields = (("JOB_ID", str(job.id)), ("JOB_TYPE", job_type))
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
        self._scan_at.pop(job.id, None)
        self._gc_queue[job.unit] = None
        for relation in ("OnFailureOf", "OnSuccessOf"):  # unit_success_failure_handler_has_jobs()
            self._gc_queue.update(dict.fromkeys(self.graph.deps(job.unit, relation)))
        unit = self.units[job.unit]
        if unit.unit.job_timeout_usec < USEC_INFINITY and not (
            job.type == "restart" and result == "done"
        ):
            self._out.append(act.CancelTimer(self._job_token(job)))
        m = self.machines.get(job.unit)
        oneshot = bool(m and m.cfg.type == "oneshot")
        skipped = m is not None and m.result == Result.EXEC_CONDITION
        if not already and skipped and result == "done" and job.type == "start":
            # ExecCondition= failed: no condition object failed, so job_emit_done_message()
            # takes its generic form (systemd 252, checked on the oracle)
            line = f"Condition check resulted in {self._desc(job.unit)} being skipped."
            self._log(job.unit, line, act.LOG_INFO)
            self.condition_results[job.unit] = (False, self._now, ())  # no check named
        elif not already and not skipped:
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
        if result not in ("done", "failed") and job.type != "stop":  # failed: state changed
            self._start_job_lost(job.unit)
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
        invocation = self.invocation_id(unit)
        if invocation:
            fields = (*fields, ("INVOCATION_ID", invocation))
        self._out.append(act.Log(unit, text, priority, message_id, fields))

    def _collect(self, m: ServiceMachine) -> None:
        """Rule 7: an inactive unit without a job forgets its start limit and NRestarts,
        unless something references it (`pinned`, or an active unit or one with a job
        names it: unit_gc_sweep() keeps units their referrers keep)."""
        if m.sub != SubState.DEAD or m.name in self.jobs or m.name in self.pinned:
            return
        if m.n_restarts == 0 and m.start_limit.begin is None and m.start_limit.count == 0:
            return  # nothing to forget (already collected): spare the referrer scan
        if self._referenced(m.name):
            return
        m.start_limit = StartLimit()
        m.n_restarts = 0

    def _sweep(self) -> None:
        """Rule 7: drop the collectable units this event left inactive and unreferenced
        (manager_gc(), run by systemd from its event loop once the run queue is empty)."""
        while self._gc_queue:
            uid = next(iter(self._gc_queue))
            del self._gc_queue[uid]
            if uid not in self.collectable or uid in self._activation:
                continue
            if self.triggers.triggered_by(uid) or not self.may_collect(uid):
                continue
            for pid in self._pids_of.pop(uid, ()):
                if self._pid_owner.get(pid) == uid:
                    del self._pid_owner[pid]
            self.drop_unit(uid)
            self._emit(UnitDropped(uid))

    def _referenced(self, unit: str) -> bool:
        for relation in _REFERRERS:
            for other in self.graph.deps(unit, relation):
                if other in self.jobs or self.active_state(other) not in _INACTIVE:
                    return True
        return False


def _listens_at_once(unit: Unit) -> bool:
    """A socket without ExecStartPre= listens inside systemd's socket_start(), so 252 logs
    no "Starting" for it (the same rule as `_active_at_fork`); here the bind is answered
    asynchronously. A path checks and watches inside path_start() (core.pathunit rule 3).
    SocketUser=/SocketGroup= fork a chown process first (socket_enter_start_chown()), so
    252 logs "Starting" for them (oracle: docker.socket, fcgiwrap.socket)."""
    if unit.path is not None:
        return True
    k = unit.socket
    return k is not None and not k.exec_start_pre and not k.socket_user and not k.socket_group


def _active_at_fork(m: ServiceMachine) -> bool:
    """Would systemd's unit_start() have finished this start before returning?

    job_perform_on_unit() logs "Starting X..." only when the job still exists after
    unit_start(); a Type=simple/idle service whose first step is its main process (no
    ExecCondition=/ExecStartPre=) and that has no ExecStartPost= is active as soon as it
    has forked, which systemd does inside unit_start(), so 252 never logs "Starting" for
    it (a real capture: tests/data/oracle/capture-demo-252.md, oracle-sleep.service). Here
    the fork is answered asynchronously, so the rule is decided from the configuration.
    """
    svc = m.unit.service
    if svc is None or svc.type not in ("simple", "idle"):
        return False
    return not svc.exec_start_post and m.sub is SubState.START
