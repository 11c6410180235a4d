"""The control-socket verbs of the manager: job verbs, kill, reset-failed, queries, reload.

Each job verb takes `{"units": [...], "no_block": bool}` and answers once every job it
enqueued has finished (or, with no_block, has been queued) with
`{"results": [{"unit", "lines", "exit_code"}]}`: the CLI prints `lines` to stderr and exits
with the first non-zero `exit_code`, which is what systemctl does (spec 06 §2.1). Errors
that exist before any job (unknown unit, masked, bad setting) are answered here with
systemctl's words; everything after that comes from the manager's JobFinished.
Query verbs are open to every local user (`mutating=False`); the rest need uid 0 or the
daemon's own uid (ControlServer enforces it from SO_PEERCRED).
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Callable, Sequence

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass, field
from pidone.core.errors import InvalidUnitName, PidoneError
from pidone.core.hints import TYPE_CHECKING, Any
from pidone.core.model import Unit
from pidone.core.protocol import Response
from pidone.core.targets import TRANSIENT, shown_fragment_path
from pidone.daemon.control import Call, Verb
from pidone.linux.procfs import read_argv, read_comm

if TYPE_CHECKING:
    from pidone.daemon.executor import LinuxExecutor, Reply
    from pidone.daemon.main import Daemon

Done = Callable[[object], None]
JOB_VERBS = (
    "start",
    "stop",
    "restart",
    "try-restart",
    "reload",
    "reload-or-restart",
    "try-reload-or-restart",
)
_GLOB = set("*?[")


@dataclass(slots=True)
class _Waiter:
    on_queued: Done | None
    on_done: Done | None


@dataclass(slots=True)
class Requests:
    """Request ids for manager-level events and the callbacks waiting for their replies."""

    executor: LinuxExecutor
    _next: int = 1
    _waiting: dict[int, _Waiter] = field(default_factory=dict)
    _jobs: dict[int, list[int]] = field(default_factory=dict)  # job id -> request ids

    def new_id(self, on_queued: Done | None, on_done: Done | None) -> int:
        """A request id whose replies (JobQueued, then the end) go to the two callbacks."""
        rid = self._next
        self._next += 1
        self._waiting[rid] = _Waiter(on_queued, on_done)
        return rid

    def job(
        self,
        verb: str,
        unit: str,
        *,
        mode: str = "replace",
        on_queued: Done | None = None,
        on_done: Done | None = None,
    ) -> None:
        rid = self.new_id(on_queued, on_done)
        self.executor.submit(ev.JobRequested(rid, verb, unit, mode))  # type: ignore[arg-type]

    def system_job(
        self, unit: str, job_type: str, mode: str, on_done: Done, on_queued: Done | None = None
    ) -> None:
        """A job the daemon asks for itself (boot, shutdown): no RefuseManualStart= check."""
        from pidone.core.jobwiring import SystemJobRequested

        rid = self.new_id(on_queued, on_done)
        event = SystemJobRequested(rid, unit, job_type, mode)  # type: ignore[arg-type]
        self.executor.submit(event)

    def cancel(self, job_ids: tuple[int, ...], on_done: Done) -> None:
        from pidone.core.jobwiring import CancelJobRequested

        rid = self.new_id(None, on_done)
        self.executor.submit(CancelJobRequested(rid, job_ids))

    def kill(self, unit: str, whom: str, sig: int, on_done: Done) -> None:
        rid = self.new_id(None, on_done)
        self.executor.submit(ev.KillUnitRequested(rid, unit, whom, sig))  # type: ignore[arg-type]

    def reset_failed(self, unit: str, on_done: Done) -> None:
        rid = self.new_id(None, on_done)
        self.executor.submit(ev.ResetFailedUnitRequested(rid, unit))

    def reply(self, reply: Reply) -> None:
        if isinstance(reply, act.JobQueued):
            self._jobs.setdefault(reply.job_id, []).append(reply.request_id)
            waiter = self._waiting.get(reply.request_id)
            if waiter is not None and waiter.on_queued is not None:
                waiter.on_queued(reply)
            return
        rids = (
            self._jobs.pop(reply.job_id, [])
            if isinstance(reply, act.JobFinished)
            else [reply.request_id]
        )
        for rid in rids:
            waiter = self._waiting.pop(rid, None)
            if waiter is not None and waiter.on_done is not None:
                waiter.on_done(reply)


# --- state views ---------------------------------------------------------------------------


def machine_of(daemon: Daemon, name: str) -> Any:  # noqa: ANN401 - ServiceMachine or None
    unit = daemon.units.get(name)
    if unit is None:
        return None
    return daemon.manager.machines.get(unit.id)


def unit_state(daemon: Daemon, name: str) -> tuple[str, str, str]:
    """(ActiveState, SubState, Result) as the manager has them, for every unit type
    (targets, slices, sockets... too); an unknown unit is inactive/dead."""
    unit = daemon.units.get(name)
    uid = unit.id if unit is not None else name
    manager = daemon.manager
    m = manager.machines.get(uid)
    other = manager.unit_machines.get(uid)
    result = m.result.value if m else other.result if other else "success"
    return (manager.active_state(uid), manager.sub_state(uid), result)


# wall clock - monotonic clock, µs, as last taken. The manager stamps events with the
# monotonic clock only; the two clocks are read one after the other, so the difference
# wobbles by a microsecond or so between calls, and `show --timestamp=us` printed a
# different ActiveEnterTimestamp= each time (systemd's is fixed). It is taken again only
# when it moved by more than a millisecond: the wall clock was set or has drifted.
_WALL_OFFSET = [0]


def _realtime(mono_usec: int) -> int:
    """A monotonic stamp as wall-clock µs (0 stays 0)."""
    if not mono_usec:
        return 0
    offset = time.time_ns() // 1000 - time.monotonic_ns() // 1000
    if abs(offset - _WALL_OFFSET[0]) > 1000:
        _WALL_OFFSET[0] = offset
    return mono_usec + _WALL_OFFSET[0]


def describe(daemon: Daemon, unit: Unit, argv: bool = False) -> dict[str, Any]:
    """Everything `status` shows about one unit, as JSON values. `processes` are
    [pid, command line], or with `argv` [pid, argv, comm] (the CGroup tree quotes each
    argument as systemd does; an empty argv prints as `[comm]`)."""
    m = daemon.manager.machines.get(unit.id)
    active, sub, result = unit_state(daemon, unit.id)
    info: dict[str, Any] = {
        "unit": unit.id,
        "description": daemon.manager.description(unit.id, unit.unit.description),
        "load_state": unit.load_state,
        "load_error": unit.load_error,
        "fragment_path": shown_fragment_path(unit.id, unit.fragment_path),
        "source_path": unit.source_path,
        "dropin_paths": list(unit.dropin_paths),
        "transient": unit.id in TRANSIENT and unit.load_state == "loaded",
        "documentation": list(unit.unit.documentation),
        "active": active,
        "sub": sub,
        "result": result,
        "processes": [],
    }
    cond = daemon.manager.condition_results.get(unit.id)
    if cond is not None and not cond[0]:  # status's `Condition: start condition failed`
        info["condition_failed"] = [_realtime(cond[1]), list(cond[2])]
    asserted = daemon.manager.assert_results.get(unit.id)
    if asserted is not None and not asserted[0]:  # `Assert: start assertion failed`
        info["assert_failed"] = [_realtime(asserted[1]), list(asserted[2])]
    if unit.not_enforced:  # docs/execution.md "Recorded as not enforced"
        from pidone.linux.sandbox import still_not_enforced

        info["not_enforced"] = [f"{n.key}={n.value}" for n in still_not_enforced(unit.not_enforced)]
    if m is None:
        by_group = getattr(daemon.tracker, "members_by_group", None)
        if unit.type in ("slice", "scope") and active == "active" and by_group is not None:
            # a slice's tree: the units below it, each in its own sub-cgroup (252's status);
            # init.scope's: the manager and its spawn helper
            info["processes"] = [
                [pid, read_argv(pid), read_comm(pid), group] for pid, group in by_group(unit.id)
            ]
            info["control_group"] = describe_cgroup(daemon, unit.id)
        return info
    ts = m.timestamps
    since = ts.state_change
    info.update(
        since=_realtime(since),
        main_pid=m.main_pid,
        main_comm=read_comm(m.main_pid) if m.main_pid else "",
        control_pid=m.control_pid,
        status_text=m.status_text,
        n_restarts=m.n_restarts,
        invocation_id=m.invocation_id,
        exec_main_pid=m.exec_main.pid,
    )
    if m.exec_main.exit is not None and not m.main_pid:
        info["exec_main_exit"] = m.exec_main.exit.format_log()
    tracker = daemon.tracker
    with_pids = tracker.pids(unit.id) if active != "inactive" or m.populated else []
    if argv:
        info["processes"] = [[pid, read_argv(pid), read_comm(pid)] for pid in with_pids]
    else:
        info["processes"] = [[pid, " ".join(read_argv(pid))] for pid in with_pids]
    info["control_group"] = describe_cgroup(daemon, unit.id)
    if active == "inactive":  # core.unittable rule 6: what 252's GC would have kept
        info["referenced"] = daemon.manager.kept_by_reference(unit.id)
    return info


# --- handlers -------------------------------------------------------------------------------


def _names(daemon: Daemon, call: Call) -> list[str]:
    raw = call.args.get("units", [])
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise PidoneError("'units' must be a list of unit names")
    out: list[str] = []
    for name in raw:
        if _GLOB & set(name):
            out.extend(u.id for u in daemon.units if fnmatch.fnmatchcase(u.id, name))
        else:
            out.append(name)
    return out


def _known_unit(daemon: Daemon, name: str) -> Unit:
    """The unit `name` as the manager knows it. The registry reads unit files only, so a
    unit that exists without one (a file-less slice such as `team-app.slice` below
    `Slice=team-app-web.slice`, a device; core.depgraph rule 3) or one whose file went away
    while it runs comes back `not-found` from it: the manager's model says what it is."""
    unit = daemon.units.load(name)
    if unit.load_state == "not-found":
        known = daemon.manager.lookup(name)
        if known is not None:
            return known
    return unit


def _invalid_name(daemon: Daemon, verb: str, name: str) -> dict[str, Any] | None:
    """A name that is not a unit name fails before any job (unit_name_is_valid())."""
    if verb != "stop" and "@." in name and name.index("@.") == name.index("@"):
        return {"unit": name, "exit_code": 1, "lines": [
            f"Failed to {verb} {name}: Unit name {name} is missing the instance name.",
            f"See system logs and 'systemctl status {name}' for details."]}  # fmt: skip
    try:
        daemon.units.load(name)
    except InvalidUnitName as exc:
        return {"unit": name, "lines": [f"Failed to {verb} {name}: {exc}"], "exit_code": 1}
    return None


def _trigger_warning(daemon: Daemon, name: str, named: Sequence[str] = ()) -> list[str]:
    """systemctl 252's check_triggering_units() for a waited-for stop: the units that can
    start `name` again (TriggeredBy=) and are active or reloading before the stop job runs
    ("Warning: Stopping cups.service, but it can still be activated by:"; a PartOf= socket
    about to be stopped too is named all the same, checked on the oracle). Masked: none.
    systemctl asks once every job it waits for has ended, and the manager runs the jobs
    those leave behind (the PartOf= stop) only after answering it (its run queue has idle
    priority): a trigger that the same command stops (`named`, oracle: `systemctl stop
    spice-vdagentd spice-vdagentd.socket` warns of nothing) is not named."""
    unit = daemon.units.get(name)
    if unit is None or unit.load_state == "masked":
        return []
    manager = daemon.manager
    active = [
        n
        for n in manager.triggers.triggered_by(unit.id)
        if manager.active_state(n) in ("active", "reloading") and n not in named
    ]
    if not active:
        return []
    return [f"Warning: Stopping {unit.id}, but it can still be activated by:"] + [
        f"  {n}" for n in active
    ]


def _job_handler(
    daemon: Daemon, verb: str, forced_mode: str | None = None
) -> Callable[[Call], Response | None]:
    """A job verb; `forced_mode`: `isolate` is `start` in job mode isolate."""

    def handle(call: Call) -> Response | None:
        names = _names(daemon, call)
        no_block = bool(call.args.get("no_block", False))
        mode = forced_mode or call.args.get("mode") or "replace"
        if not isinstance(mode, str):
            return Response.failure(call.request.id, "bad-argument", "'mode' must be a string")
        results: list[dict[str, Any] | None] = [None] * len(names)
        left = [len(names)]

        warnings: list[str] = []  # printed after every job's own lines, as systemctl does

        def finish(index: int, entry: dict[str, Any]) -> None:
            if results[index] is not None:
                return
            results[index] = entry
            left[0] -= 1
            if left[0] == 0:
                call.ok(
                    {"results": results, "lines": warnings} if warnings else {"results": results}
                )

        if not names:
            return Response.success(call.request.id, {"results": []})
        if daemon.stopping and verb != "stop":
            return Response.failure(
                call.request.id, "shutting-down", f"Failed to {verb}: the manager is shutting down"
            )
        # Load (and validate) every named unit before queueing any job, so the manager builds
        # its dependency graph once for the whole request instead of after each new unit.
        early_results = [_invalid_name(daemon, verb, name) for name in names]
        named = [u.id for n in names if (u := daemon.units.get(n)) is not None]
        for index, name in enumerate(names):
            early = early_results[index]
            if early is not None:
                finish(index, early)
                continue

            if verb == "stop" and not no_block:
                warnings.extend(_trigger_warning(daemon, name, named))

            def queued(reply: object, index: int = index, name: str = name) -> None:
                if no_block:
                    finish(index, {"unit": name, "lines": [], "exit_code": 0})

            def done(reply: object, index: int = index, name: str = name) -> None:
                if isinstance(reply, act.JobFinished | act.RequestFailed):
                    lines = list(reply.lines)
                    finish(index, {"unit": name, "lines": lines, "exit_code": reply.exit_code})
                else:
                    finish(index, {"unit": name, "lines": [], "exit_code": 0})

            daemon.requests.job(verb, name, mode=mode, on_queued=queued, on_done=done)
        return None

    return handle


def _kill(daemon: Daemon) -> Callable[[Call], Response | None]:
    def handle(call: Call) -> Response | None:
        names = _names(daemon, call)
        whom = str(call.args.get("whom", "all"))
        sig = call.args.get("signal", 15)
        if whom not in ("main", "control", "all") or not isinstance(sig, int):
            return Response.failure(call.request.id, "bad-argument", "Invalid kill arguments")
        lines: list[str] = []
        for name in names:
            unit = daemon.units.get(name)
            if unit is None or unit.id not in daemon.manager.machines:
                lines.append(f"Failed to kill unit {name}: Unit {name} not loaded.")
                continue
            daemon.requests.kill(unit.id, whom, sig, lambda _r: None)
        return Response.success(call.request.id, {"lines": lines, "exit_code": 1 if lines else 0})

    return handle


def _reset_failed(daemon: Daemon) -> Callable[[Call], Response | None]:
    def handle(call: Call) -> Response | None:
        names = _names(daemon, call)
        lines: list[str] = []
        if not names:
            daemon.requests.reset_failed("", lambda _r: None)
        for name in names:
            unit = daemon.units.get(name)
            if unit is None:
                lines.append(
                    f"Failed to reset failed state of unit {name}: Unit {name} not loaded."
                )
                continue
            daemon.requests.reset_failed(unit.id, lambda _r: None)
        return Response.success(call.request.id, {"lines": lines, "exit_code": 1 if lines else 0})

    return handle


def _list_jobs(daemon: Daemon) -> Callable[[Call], Response | None]:
    def handle(call: Call) -> Response | None:
        rows = [[j.id, j.unit, j.type, j.state] for j in daemon.manager.list_jobs()]
        return Response.success(call.request.id, {"jobs": rows})

    return handle


def _cancel(daemon: Daemon) -> Callable[[Call], Response | None]:
    """`cancel [JOB...]`: answered once the manager has canceled them (lines, exit code)."""

    def handle(call: Call) -> Response | None:
        raw = call.args.get("jobs", [])
        if not isinstance(raw, list) or not all(isinstance(j, int) for j in raw):
            return Response.failure(call.request.id, "bad-argument", "'jobs' must be job ids")

        def done(reply: object) -> None:
            if isinstance(reply, act.RequestFailed):
                call.ok({"lines": list(reply.lines), "exit_code": reply.exit_code})
            else:
                call.ok({"lines": [], "exit_code": 0})

        daemon.requests.cancel(tuple(raw), done)
        return None

    return handle


def _power(daemon: Daemon, action: str) -> Callable[[Call], Response | None]:
    """`poweroff`, `halt`, `reboot`: answered at once, then the shutdown begins."""

    def handle(call: Call) -> Response | None:
        call.ok({})
        daemon.loop.call_soon(lambda: daemon.shutdown(action))
        return None

    return handle


def _exit(daemon: Daemon) -> Callable[[Call], Response | None]:
    """`exit [CODE]`: the manager's ExitCode= (0..255), then the shutdown (daemon/boot.py)."""

    def handle(call: Call) -> Response | None:
        code = call.args.get("code", 0)
        if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 255:
            return Response.failure(call.request.id, "bad-argument", "Invalid exit code.")
        call.ok({})
        if not daemon.stopping:
            daemon.exit_code = code
        daemon.loop.call_soon(lambda: daemon.shutdown("exit"))
        return None

    return handle


def _is_active(daemon: Daemon) -> Callable[[Call], Response | None]:
    def handle(call: Call) -> Response | None:
        states = [unit_state(daemon, name)[0] for name in _names(daemon, call)]
        return Response.success(call.request.id, {"states": states})

    return handle


def _list_units(daemon: Daemon) -> Callable[[Call], Response | None]:
    """Rows [unit, load, active, sub, description, job]: job is the pending job's type
    ("start", "stop"...) or "" (the JOB column of list-units)."""

    def handle(call: Call) -> Response | None:
        show_all = bool(call.args.get("all", False))
        jobs = {job.unit: job.type for job in daemon.manager.list_jobs()}
        rows = []
        for unit in sorted(daemon.units, key=lambda u: u.id):
            active, sub, _result = unit_state(daemon, unit.id)
            job = jobs.get(unit.id, "")
            if not show_all and active == "inactive" and unit.load_state == "loaded" and not job:
                continue  # 252 output_show_unit(): inactive and no pending job
            description = daemon.manager.description(unit.id, unit.unit.description) or unit.id
            rows.append([unit.id, unit.load_state, active, sub, description, job])
        return Response.success(call.request.id, {"units": rows})

    return handle


def _status(daemon: Daemon) -> Callable[[Call], Response | None]:
    """`status {units, detail?, lines?, journal_mode?, argv?}`: describe() per unit; with
    `detail` also the runtime (as show-runtime) and what daemon/statusdetail.py adds, so
    that `pidone status UNIT` needs one round trip and imports nothing heavy; `argv` alone
    gives the processes as [pid, argv, comm] (the overview's tree)."""
    from pidone.daemon.statusdetail import StatusSources, status_detail

    sources = StatusSources(daemon)
    sources.watch()  # from now on: CPU usage per start, kept when a unit stops

    def handle(call: Call) -> Response | None:
        detail = bool(call.args.get("detail", False))
        lines, mode = call.args.get("lines", 10), call.args.get("journal_mode", "short")
        if not isinstance(lines, int) or mode not in ("short", "cat"):
            return Response.failure(call.request.id, "bad-argument", "Invalid status arguments")
        out: list[dict[str, Any]] = []
        for name in _names(daemon, call):
            try:
                unit = _known_unit(daemon, name)
            except InvalidUnitName:
                out.append({"unit": name, "load_state": "not-found"})
                continue
            # argv lists for the detail's CGroup tree and the overview's (`argv`)
            info = describe(daemon, unit, argv=detail or bool(call.args.get("argv")))
            if detail:
                info["runtime"] = runtime_fields(daemon, unit)
                status_detail(
                    sources,
                    unit,
                    info,
                    lambda other: unit_state(daemon, other)[0],
                    lines=lines,
                    journal_mode=mode,
                )
            out.append(info)
        return Response.success(call.request.id, {"units": out})

    return handle


def _stamp(mono_usec: int) -> list[int]:
    return [_realtime(mono_usec), mono_usec]


def runtime_fields(daemon: Daemon, unit: Unit) -> dict[str, Any]:
    """One unit's runtime as keyword arguments of core.render.show.RuntimeState (JSON:
    timestamps are [realtime, monotonic] µs pairs)."""
    snap = daemon.manager.snapshot(unit.id)
    if snap is None:
        return {}
    pids = daemon.tracker.pids(unit.id) if snap.active_state != "inactive" else []
    cgroup = describe_cgroup(daemon, unit.id) if pids or snap.active_state != "inactive" else ""
    from pidone.daemon.statusdetail import NO_CGROUP, sources_of

    sources = sources_of(daemon)
    figures = None
    if sources is not None and unit.type not in NO_CGROUP:
        figures = sources.cpu_figures(unit.id)  # CPUUsageNSec as status's CPU:
    return {
        "active_state": snap.active_state,
        "sub_state": snap.sub_state,
        "result": snap.result,
        "reload_result": snap.reload_result,
        "main_pid": snap.main_pid,
        "control_pid": snap.control_pid,
        "status_text": snap.status_text,
        "status_errno": snap.status_errno,
        "n_restarts": snap.n_restarts,
        "exec_main_pid": snap.exec_main_pid,
        "exec_main_code": snap.exec_main_code,
        "exec_main_status": snap.exec_main_status,
        "exec_main_start": _stamp(snap.exec_main_start_usec),
        "exec_main_exit": _stamp(snap.exec_main_exit_usec),
        "exec_runs": exec_runs(unit, snap.exec_runs),
        "state_change": _stamp(snap.state_change_usec),
        "inactive_exit": _stamp(snap.inactive_exit_usec),
        "active_enter": _stamp(snap.active_enter_usec),
        "active_exit": _stamp(snap.active_exit_usec),
        "inactive_enter": _stamp(snap.inactive_enter_usec),
        "invocation_id": snap.invocation_id,
        **_condition_fields(daemon, unit.id),
        "control_group": cgroup,
        "tasks_current": len(pids) if pids else None,
        "cpu_usage_nsec": figures[0] if figures else None,
    }


# The Exec*= properties in the order systemctl status lists their `Process:` lines (the
# D-Bus property order of dbus-service.c), with the [Service] field holding each.
_EXEC_ROLES = (
    ("condition", "ExecCondition", "exec_condition"),
    ("start-pre", "ExecStartPre", "exec_start_pre"),
    ("start", "ExecStart", "exec_start"),
    ("start-post", "ExecStartPost", "exec_start_post"),
    ("reload", "ExecReload", "exec_reload"),
    ("stop", "ExecStop", "exec_stop"),
    ("stop-post", "ExecStopPost", "exec_stop_post"),
)


def exec_runs(unit: Unit, runs: tuple[tuple[str, int, int, int, int], ...]) -> list[list[object]]:
    """[kind, argv, pid, code, status, ignore_failure] of each command of the last run."""
    if unit.service is None or not runs:
        return []
    by_key = {(role, index): (pid, code, status) for role, index, pid, code, status in runs}
    out: list[list[object]] = []
    for role, kind, field_name in _EXEC_ROLES:
        for index, cmd in enumerate(getattr(unit.service, field_name)):
            found = by_key.get((role, index))
            if found is not None:
                out.append([kind, list(cmd.argv), *found, cmd.ignore_failure])
    return out


def _condition_fields(daemon: Daemon, unit_id: str) -> dict[str, Any]:
    """ConditionResult=/ConditionTimestamp= and AssertResult=/AssertTimestamp= of the unit's
    last start (none: never started)."""
    out: dict[str, Any] = {}
    cond = daemon.manager.condition_results.get(unit_id)
    if cond is not None:
        out.update(condition_result=cond[0], condition_timestamp=_stamp(cond[1]))
    asserted = daemon.manager.assert_results.get(unit_id)
    if asserted is not None:
        out.update(assert_result=asserted[0], assert_timestamp=_stamp(asserted[1]))
    return out


def describe_cgroup(daemon: Daemon, unit: str) -> str:
    flat = not getattr(daemon.tracker, "places_slices", False)
    if flat and unit.endswith(".slice") and unit != "-.slice":
        return ""  # the flat layout has no slice cgroups (docs/daemon.md)
    path: str = getattr(daemon.tracker, "path", lambda u: "")(unit)
    if daemon.cgroup_mount and path.startswith(daemon.cgroup_mount + "/"):
        return path[len(daemon.cgroup_mount) :]  # as /proc/PID/cgroup names it
    if daemon.cgroup_mount and path == daemon.cgroup_mount:
        return "/"  # -.slice in systemd's layout: the namespace's root
    return path


def _show_runtime(daemon: Daemon) -> Callable[[Call], Response | None]:
    from pidone.daemon.verbs_triggers import show_extras

    def handle(call: Call) -> Response | None:
        out: list[dict[str, Any]] = []
        for name in _names(daemon, call):
            try:
                unit = _known_unit(daemon, name)
            except InvalidUnitName:
                out.append({})
                continue
            # plus the graph's relations and a socket's or timer's own runtime
            entry = {**runtime_fields(daemon, unit), **show_extras(daemon, unit.id)}
            if entry.get("active_state") == "inactive":  # core.unittable rule 6
                entry["referenced"] = daemon.manager.kept_by_reference(unit.id)
            out.append(entry)
        return Response.success(call.request.id, {"units": out})

    return handle


def _daemon_reload(daemon: Daemon) -> Callable[[Call], Response | None]:
    def handle(call: Call) -> Response | None:
        daemon.reload()
        return Response.success(call.request.id, {})

    return handle


def _ping(daemon: Daemon, started: tuple[int, int]) -> Callable[[Call], Response | None]:
    """`pid` is the daemon's PID in its own namespace (1 as PID 1 of a container), so a
    client elsewhere cannot read its start from /proc: `started` is [realtime, monotonic]
    µs of the daemon's start (the overview's `Since:`, 252's UserspaceTimestamp)."""

    def handle(call: Call) -> Response | None:
        state: dict[str, object] = {
            "pid": os.getpid(),
            "stopping": daemon.stopping,
            "starting": daemon.booting,
            "started": list(started),
        }
        return Response.success(call.request.id, state)

    return handle


def build_verbs(daemon: Daemon) -> dict[str, Verb]:
    """The dispatch table handed to ControlServer."""
    verbs: dict[str, Verb] = {verb: Verb(_job_handler(daemon, verb)) for verb in JOB_VERBS}
    verbs["isolate"] = Verb(_job_handler(daemon, "start", "isolate"))
    verbs["cancel"] = Verb(_cancel(daemon))
    verbs["list-jobs"] = Verb(_list_jobs(daemon), mutating=False)
    for action in ("poweroff", "halt", "reboot"):
        verbs[action] = Verb(_power(daemon, action))
    verbs["exit"] = Verb(_exit(daemon))
    verbs["kill"] = Verb(_kill(daemon))
    verbs["reset-failed"] = Verb(_reset_failed(daemon))
    verbs["daemon-reload"] = Verb(_daemon_reload(daemon))
    verbs["is-active"] = Verb(_is_active(daemon), mutating=False)
    verbs["list-units"] = Verb(_list_units(daemon), mutating=False)
    verbs["status"] = Verb(_status(daemon), mutating=False)
    verbs["show-runtime"] = Verb(_show_runtime(daemon), mutating=False)
    from pidone.daemon.executor import now_usec
    from pidone.daemon.triggerio import realtime_usec

    # built once as the daemon starts (daemon.main), before it serves anything
    verbs["ping"] = Verb(_ping(daemon, (realtime_usec(), now_usec())), mutating=False)
    from pidone.daemon.verbs_procs import pids_verb  # ps --unit, tree --units

    verbs["pids"] = Verb(pids_verb(daemon), mutating=False)
    from pidone.daemon.verbs_triggers import trigger_verbs  # list-sockets, list-timers

    verbs.update(trigger_verbs(daemon))

    # Garbage-collected units leave the registry (list-units, status), the journal's
    # per-unit manager context and the status CPU ledger too, so nothing grows with
    # Accept=yes connections; set here as the place that holds all of them.
    def drop(unit: str) -> None:
        from pidone.daemon.statusdetail import sources_of  # loaded by the first status

        daemon.units.forget(unit)
        daemon.logs.forget(unit)
        sources = sources_of(daemon)
        if sources is not None:
            sources.forget(unit)

    daemon.executor.on_drop = drop
    return verbs
