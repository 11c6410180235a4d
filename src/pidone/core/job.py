"""Jobs of one unit: types, merging, collapsing, and every message a job produces.

1. Job types and results are systemd 252's words (src/core/job.c job_type_table,
   job_result_table); `systemctl` prints nothing and exits 0 for `done` and `skipped`.
2. `merge_types()` is job_type_lookup_merge(): two jobs for one unit become one when
   compatible (start+verify-active -> start, start+reload -> reload-or-start,
   start+restart -> restart, ...); stop is compatible only with stop (spec 04 §3).
3. `collapse()` is job_type_collapse(): try-restart, try-reload and reload-or-start turn
   into a plain job (or nop) by the unit's ActiveState when the job is installed.
4. The journal lines (begin/done) follow job_emit_start_message()/job_emit_done_message();
   the client lines and exit codes follow systemctl's check_wait_response() (spec 06 §2.1).
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.hints import Literal

JobType = Literal[
    "start",
    "verify-active",
    "stop",
    "reload",
    "restart",
    "try-restart",
    "reload-or-start",
    "try-reload",
    "nop",
]
JobResult = Literal[
    "done",
    "canceled",
    "timeout",
    "failed",
    "dependency",
    "skipped",
    "invalid",
    "assert",
    "unsupported",
    "collected",
    "once",
]


@dataclass(slots=True)
class Job:
    """One installed job. `manual` is False for the restart job of an automatic restart.

    `irreversible` (job mode replace-irreversibly) and `ignore_order` (ignore-dependencies)
    come from the transaction that installed it; ordering is decided at run time from the
    graph (transaction.job_is_runnable), `after` is unused by the manager.
    """

    id: int
    unit: str
    type: JobType
    state: Literal["waiting", "running"] = "waiting"
    manual: bool = True
    awaiting_conditions: bool = False
    after: set[int] = field(default_factory=set)
    irreversible: bool = False
    ignore_order: bool = False
    blocker: tuple[str, bool] | None = None  # (unit, unit is Before= us): last wait seen


_MERGE: dict[frozenset[str], JobType] = {
    frozenset({"start", "verify-active"}): "start",
    frozenset({"start", "reload"}): "reload-or-start",
    frozenset({"start", "restart"}): "restart",
    frozenset({"verify-active", "reload"}): "reload-or-start",
    frozenset({"verify-active", "restart"}): "restart",
    frozenset({"reload", "restart"}): "restart",
    frozenset({"reload-or-start", "start"}): "reload-or-start",
    frozenset({"reload-or-start", "verify-active"}): "reload-or-start",
    frozenset({"reload-or-start", "reload"}): "reload-or-start",
    frozenset({"reload-or-start", "restart"}): "restart",
}


def merge_types(a: JobType, b: JobType) -> JobType | None:
    """The merged type, or None when the two conflict (stop against anything else)."""
    if a == b:
        return a
    return _MERGE.get(frozenset({a, b}))


def is_superset(a: JobType, b: JobType) -> bool:
    """job_type_is_superset(): `a` already does everything `b` asks."""
    return merge_types(a, b) == a


def collapse(job_type: JobType, active_state: str) -> JobType:
    """job_type_collapse(): resolve the conditional job types against the unit's state."""
    up = active_state in ("active", "reloading")
    if job_type == "try-restart":  # "keep the restart job even if the unit is ACTIVATING"
        return "restart" if up or active_state == "activating" else "nop"
    if job_type == "try-reload":
        return "reload" if up else "nop"
    if job_type == "reload-or-start":
        return "reload" if up else "start"
    return job_type


# --- journal lines (job.c, unit.c status message formats) --------------------------------------


def format_begin_message(job_type: JobType, desc: str) -> str | None:
    """`Starting DESC...` and friends, logged when the unit accepted the job."""
    if job_type in ("start", "reload-or-start"):
        return f"Starting {desc}..."
    if job_type in ("stop", "restart"):
        return f"Stopping {desc}..."
    if job_type == "reload":
        return f"Reloading {desc}..."
    return None


_DONE_START = {
    "done": "Started {}.",
    "timeout": "Timed out starting {}.",
    "failed": "Failed to start {}.",
    "dependency": "Dependency failed for {}.",
    "assert": "Assertion failed for {}.",
    "unsupported": "Starting of {} unsupported.",
    "collected": "Unnecessary job was removed for {}.",
    "once": "Unit {} has been started before and cannot be started again.",
}
_DONE_STOP = {
    "done": "Stopped {}.",
    "failed": "Stopped {} with error.",
    "timeout": "Timed out stopping {}.",
}
_DONE_RELOAD = {
    "done": "Reloaded {}.",
    "failed": "Reload failed for {}.",
    "timeout": "Timed out reloading {}.",
}
# Priorities of the done lines (job.c job_done_messages[].log_level).
DONE_PRIORITY: dict[str, int] = {
    "done": 6,
    "canceled": 6,
    "timeout": 3,
    "failed": 3,
    "dependency": 4,
    "skipped": 5,
    "invalid": 6,
    "assert": 4,
    "unsupported": 4,
    "collected": 6,
    "once": 3,
}


# Unit types with their own done lines (status_message_formats of target.c, slice.c,
# socket.c, device.c, mount.c, swap.c in systemd 252): (start, stop) by result.
_TYPE_DONE: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "target": ({"done": "Reached target {}."}, {"done": "Stopped target {}."}),
    "slice": ({"done": "Created slice {}."}, {"done": "Removed slice {}."}),
    "socket": (
        {"done": "Listening on {}.", "failed": "Failed to listen on {}."},
        {"done": "Closed {}.", "failed": "Failed stopping {}."},
    ),
    "device": (
        {"done": "Found device {}.", "timeout": "Timed out waiting for device {}."},
        {"done": "Unplugged device {}."},
    ),
    "mount": (
        {"done": "Mounted {}.", "failed": "Failed to mount {}."},
        {"done": "Unmounted {}.", "failed": "Failed unmounting {}."},
    ),
    "swap": ({"done": "Activated swap {}."}, {"done": "Deactivated swap {}."}),
}


def format_done_message(
    job_type: JobType, result: JobResult, desc: str, oneshot: bool, unit_type: str = "service"
) -> str | None:
    """`Started DESC.` (oneshot: `Finished DESC.`), `Stopped DESC.`, ...; None = no line.

    A restart job logs as the stop it performs first (job_perform_on_unit(): t = JOB_STOP).
    Targets say `Reached target DESC.`, slices `Created slice DESC.` (`_TYPE_DONE`).
    """
    own_start, own_stop = _TYPE_DONE.get(unit_type, ({}, {}))
    if job_type in ("start", "reload-or-start", "verify-active"):
        if result == "done" and oneshot:
            return f"Finished {desc}."
        fmt = own_start.get(result) or _DONE_START.get(result)
    elif job_type in ("stop", "restart"):
        fmt = own_stop.get(result) or _DONE_STOP.get(result)
    elif job_type == "reload":
        fmt = _DONE_RELOAD.get(result)
    else:
        fmt = None
    return fmt.format(desc) if fmt else None


# --- what systemctl prints (spec 06 §2.1) ---------------------------------------------------------

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


def format_job_failure(
    unit: str, result: JobResult, unit_type: str, service_result: str
) -> tuple[tuple[str, ...], int]:
    """stderr lines and exit code of `systemctl VERB UNIT` for a finished job."""
    see = f'See "systemctl status {unit}" and "journalctl -xeu {unit}" for details.'
    if result in ("done", "skipped"):
        return (), 0
    if result == "failed":
        if unit_type != "service":
            return ('Job failed. See "journalctl -xe" for details.',), 1
        reason = _REASONS.get(service_result)
        if reason is None:
            return (f"Job for {unit} failed.", see), 1
        lines = [f"Job for {unit} failed because {reason}.", see]
        if service_result == "start-limit-hit":
            lines += [
                f'To force a start use "systemctl reset-failed {unit}"',
                f'followed by "systemctl start {unit}" again.',
            ]
        return tuple(lines), 1
    single = {
        "dependency": f"A dependency job for {unit} failed. See 'journalctl -xe' for details.",
        "assert": f"Assertion failed on job for {unit}.",
        "timeout": f"Job for {unit} timed out.",
        "canceled": f"Job for {unit} canceled.",
        "invalid": f"{unit} is not active, cannot reload.",
        "unsupported": f"Operation on or unit type of {unit} not supported on this system.",
        "collected": f"Queued job for {unit} was garbage collected.",
        "once": f"Unit {unit} was started already once and can't be started again.",
    }
    return (single[result],), 1
