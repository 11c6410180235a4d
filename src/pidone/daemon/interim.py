"""A stop-gap job layer over the service machines, used while core/manager.py does not exist.

Pure like the core (events in, actions out, time passed in; invocation ids come from a
callable the daemon supplies). One job per unit, no dependencies, no transactions: enough to
run services through the CLI. Job results and the manager's messages follow systemd 252
(job_finish_and_invalidate(), job_emit_start_message() / job_emit_done_message(); spec 06
§2.1 and §7). Once core.manager.Manager exists the daemon uses that instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.model import Unit
from pidone.core.service import IllegalEvent, ServiceMachine

_REASONS = {
    "exit-code": "the control process exited with error code",
    "signal": "a fatal signal was delivered to the control process",
    "core-dump": "a fatal signal was delivered causing the control process to dump core",
    "timeout": "a timeout was exceeded",
    "watchdog": "the service failed to send watchdog ping",
    "protocol": "the service did not take the steps required by its unit configuration",
    "resources": "of unavailable resources or another system error",
    "start-limit-hit": "start of the service was attempted too often",
}


def failure_lines(unit: str, result: str) -> tuple[str, ...]:
    """systemctl's text for a failed job (spec 06 §2.1)."""
    see = f'See "systemctl status {unit}" and "journalctl -xeu {unit}" for details.'
    reason = _REASONS.get(result)
    if reason is None:
        return (f"Job for {unit} failed.", see)
    lines = [f"Job for {unit} failed because {reason}.", see]
    if result == "start-limit-hit":
        lines += [
            f'To force a start use "systemctl reset-failed {unit}"',
            f'followed by "systemctl start {unit}" again.',
        ]
    return tuple(lines)


@dataclass(slots=True)
class Job:
    id: int
    unit: str
    type: str  # start, stop, restart, reload
    requests: list[int] = field(default_factory=list)
    phase: str = "run"  # restart: "stop" then "start"
    auto: bool = False  # made for RestartJobWanted (the start is not manual)


class Manager:
    """Units, their machines and one pending job each."""

    def __init__(self, new_invocation_id: Callable[[], str] | None = None) -> None:
        import uuid

        self.new_invocation_id = new_invocation_id or (lambda: uuid.uuid4().hex)
        self.units: dict[str, Unit] = {}
        self.machines: dict[str, ServiceMachine] = {}
        self.jobs: dict[str, Job] = {}
        self._next_job = 1
        self._pids: dict[int, str] = {}
        self._out: list[act.Action] = []
        self._now = 0

    # --- registry ------------------------------------------------------------------------
    def add_unit(self, unit: Unit) -> None:
        self.units[unit.id] = unit
        m = self.machines.get(unit.id)
        if m is not None:
            m.unit = unit  # daemon-reload: new configuration, same runtime state
        elif unit.service is not None and unit.load_state == "loaded":
            self.machines[unit.id] = ServiceMachine(unit)

    def machine(self, name: str) -> ServiceMachine | None:
        return self.machines.get(name)

    # --- events --------------------------------------------------------------------------
    def handle(self, event: object, now_usec: int) -> list[act.Action]:
        self._now, self._out = now_usec, []
        match event:
            case ev.JobRequested():
                self._job_requested(event)
            case ev.KillUnitRequested():
                self._feed(event.unit, ev.KillRequested(event.unit, event.whom, event.signal))
                self._out.append(act.RequestDone(event.request_id))
            case ev.ResetFailedUnitRequested():
                for name in [event.unit] if event.unit else list(self.machines):
                    self._feed(name, ev.ResetFailedRequested(name))
                self._out.append(act.RequestDone(event.request_id))
            case ev.ProcessExited():
                name = self._pids.pop(event.pid, "") or self._owner(event.pid)
                if name:
                    self._feed(name, event)
            case ev.TimerFired():
                self._feed(event.token.split("/", 1)[0], event)
            case ev.ConditionsEvaluated():
                self._conditions(event)
            case ev.NotifyReceived():
                name = event.unit or self._owner(event.pid)
                if name:
                    self._feed(name, event)
            case _:
                name = getattr(event, "unit", "")
                if name:
                    self._feed(name, event)  # type: ignore[arg-type]
        out, self._out = self._out, []
        return out

    def _owner(self, pid: int) -> str:
        for name, m in self.machines.items():
            if pid in (m.main_pid, m.control_pid):
                return name
        return ""

    def _feed(self, name: str, event: ev.ServiceEvent) -> None:
        m = self.machines.get(name)
        if m is None:
            return
        for a in m.handle(event, self._now):
            self._route(name, a)

    def _route(self, name: str, a: act.Action) -> None:
        if isinstance(a, act.WatchPid):
            self._pids[a.pid] = name
        if isinstance(a, act.RestartJobWanted):
            self._start_job(name, "restart", None)
            return
        if isinstance(a, act.StartRefused):
            job = self.jobs.get(name)
            if job is not None and job.type in ("start", "restart"):
                self._finish(job, "failed", failure_lines(name, "start-limit-hit"), 1)
            return
        self._out.append(a)
        if isinstance(a, act.StateChanged):
            self._state_changed(name, a)

    # --- jobs ----------------------------------------------------------------------------
    def _desc(self, name: str) -> str:
        unit = self.units.get(name)
        d = unit.unit.description if unit is not None else ""
        return f"{name} - {d}" if d else name

    def _log(
        self,
        name: str,
        text: str,
        mid: str,
        prio: int = act.LOG_INFO,
        fields: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self._out.append(act.Log(name, text, prio, mid, fields))

    def _job_requested(self, e: ev.JobRequested) -> None:
        m = self.machines.get(e.unit)
        if m is None:
            self._out.append(
                act.RequestFailed(
                    e.request_id, (f"Failed to start {e.unit}: Unit {e.unit} not found.",), 5
                )
            )
            return
        active = m.active.value
        verb = e.verb
        if verb in ("try-restart", "try-reload-or-restart") and active in ("inactive", "failed"):
            self._queued_done(e, "done")
            return
        if verb in ("reload-or-restart", "try-reload-or-restart"):
            verb = "reload" if m.cfg.exec_reload and active == "active" else "restart"
        elif verb == "try-restart":
            verb = "restart"
        if verb == "reload":
            if not m.cfg.exec_reload:
                self._out.append(
                    act.RequestFailed(
                        e.request_id,
                        (
                            f"Failed to reload {e.unit}: Job type reload is not applicable "
                            f"for unit {e.unit}.",
                        ),
                        3,
                    )
                )
                return
            if active not in ("active", "reloading"):
                self._queued_done(e, "invalid", (f"{e.unit} is not active, cannot reload.",), 1)
                return
        if verb == "start" and active in ("active", "reloading"):
            self._queued_done(e, "done")
            return
        if verb == "stop" and active in ("inactive", "failed") and m.sub.value != "auto-restart":
            self._queued_done(e, "done")
            return
        self._start_job(e.unit, verb, e.request_id)

    def _queued_done(
        self, e: ev.JobRequested, result: str, lines: tuple[str, ...] = (), code: int = 0
    ) -> None:
        jid = self._next_job
        self._next_job += 1
        self._out.append(act.JobQueued(e.request_id, jid, e.unit))
        self._out.append(act.JobFinished(jid, e.unit, e.verb, result, lines, code))

    def _start_job(self, name: str, verb: str, request_id: int | None) -> None:
        old = self.jobs.get(name)
        job: Job | None = None
        if old is not None:
            if old.type == verb and request_id is not None:
                old.requests.append(request_id)
                self._out.append(act.JobQueued(request_id, old.id, name))
                return
            if request_id is None and old.type in ("start", "restart"):
                job = old  # the automatic restart merges into the waiting start job
            else:
                self._finish(old, "canceled", (f"Job for {name} canceled.",), 1)
        if job is None:
            job = Job(self._next_job, name, verb)
            self._next_job += 1
            self.jobs[name] = job
        if request_id is None:
            job.auto = True
        restart_only = verb == "restart"
        if request_id is not None:
            job.requests.append(request_id)
            self._out.append(act.JobQueued(request_id, job.id, name))
        m = self.machines[name]
        if verb == "stop" or (restart_only and m.active.value not in ("inactive", "failed")):
            job.phase = "stop"
            if m.sub.value != "auto-restart":
                self._log(name, f"Stopping {self._desc(name)}...", act.MID_UNIT_STOPPING)
            self._request(name, ev.StopRequested(name, restart=restart_only))
        elif verb == "reload":
            self._log(name, f"Reloading {self._desc(name)}...", act.MID_UNIT_RELOADING)
            self._request(name, ev.ReloadRequested(name))
        else:
            self._begin_start(job)

    def _request(self, name: str, event: ev.ServiceEvent) -> None:
        try:
            self._feed(name, event)
        except IllegalEvent:
            job = self.jobs.get(name)
            if job is not None:
                self._finish(job, "done", (), 0)

    def _begin_start(self, job: Job) -> None:
        job.phase = "start"
        self._out.append(act.CheckConditions(job.unit))

    def _conditions(self, e: ev.ConditionsEvaluated) -> None:
        job = self.jobs.get(e.unit)
        if job is None or job.phase != "start":
            return
        name = e.unit
        if not e.ok:
            word = "assertion" if e.assert_failed else "condition"
            self._log(
                name,
                f"{self._desc(name)} was skipped because of an unmet {word} check ({e.failed}).",
                act.MID_UNIT_SKIPPED,
            )
            if e.assert_failed:
                self._finish(job, "assert", (f"Assertion failed on job for {name}.",), 1)
            else:
                self._finish(job, "done", (), 0)
            return
        manual = not job.auto
        self._log(
            name,
            f"Starting {self._desc(name)}...",
            act.MID_UNIT_STARTING,
            fields=(("JOB_ID", str(job.id)), ("JOB_TYPE", "start")),
        )
        self._request(name, ev.StartRequested(name, self.new_invocation_id(), manual))

    def _state_changed(self, name: str, a: act.StateChanged) -> None:
        job = self.jobs.get(name)
        if job is None:
            return
        new, sub = a.new_active, a.new_sub
        if job.phase == "stop":
            if new in ("inactive", "failed") and sub != "auto-restart":
                if job.type in ("restart", "start"):
                    self._begin_start(job)
                    return
                self._log(name, f"Stopped {self._desc(name)}.", act.MID_UNIT_STOPPED)
                self._finish(job, "done", (), 0)
        elif job.phase == "start":
            if new == "active":
                m = self.machines[name]
                word = "Finished" if m.cfg.type == "oneshot" else "Started"
                self._log(
                    name,
                    f"{word} {self._desc(name)}.",
                    act.MID_UNIT_STARTED,
                    fields=(("JOB_ID", str(job.id)), ("JOB_TYPE", "start"), ("JOB_RESULT", "done")),
                )
                self._finish(job, "done", (), 0)
            elif sub == "auto-restart":
                return  # the job waits for the restart (UNIT_NOTIFY_WILL_AUTO_RESTART)
            elif new == "inactive" and a.result in ("success", "exec-condition"):
                m = self.machines[name]
                if m.cfg.type == "oneshot" and a.result == "success":
                    self._log(name, f"Finished {self._desc(name)}.", act.MID_UNIT_STARTED)
                self._finish(job, "done", (), 0)
            elif new in ("inactive", "failed"):
                self._log(
                    name,
                    f"Failed to start {self._desc(name)}.",
                    act.MID_UNIT_FAILED,
                    act.LOG_ERR,
                    (("JOB_RESULT", "failed"),),
                )
                self._finish(job, "failed", failure_lines(name, a.result), 1)
        elif job.type == "reload" and new in ("active", "inactive", "failed") and sub != "reload":
            m = self.machines[name]
            ok = m.reload_result.value == "success" and new == "active"
            self._log(
                name,
                f"Reloaded {self._desc(name)}." if ok else f"Reload failed for {self._desc(name)}.",
                act.MID_UNIT_RELOADED,
            )
            lines = () if ok else failure_lines(name, "")
            self._finish(job, "done" if ok else "failed", lines, 0 if ok else 1)

    def _finish(self, job: Job, result: str, lines: tuple[str, ...], code: int) -> None:
        if self.jobs.get(job.unit) is job:
            del self.jobs[job.unit]
        self._out.append(act.JobFinished(job.id, job.unit, job.type, result, lines, code))
