"""`-o json` documents of status and list-units: the versioned `pidone/1` schema (docs/json.md).

Every document is one object `{"schema": "pidone/1", "kind": ..., ...}`. Additive changes
(new keys) keep the version; renaming or removing a key, or changing a value's type, bumps
it. Timestamps are integers (µs since the epoch, realtime) or null when unset; sizes are
bytes, CPU is nanoseconds, null when unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

from pidone.core.hints import Any
from pidone.core.render.listunits import UnitListRow
from pidone.core.render.status import format_exit_description
from pidone.core.statusview import UINT64_MAX, ExecRun, ProcessEntry, StatusView

SCHEMA = "pidone/1"


def _stamp(usec: int) -> int | None:
    return usec or None


def _exit(code: int, status: int) -> dict[str, Any] | None:
    if not code:
        return None
    kind = {1: "exited", 2: "killed", 3: "dumped"}.get(code, "unknown")
    return {
        "code": kind,
        "status": status,
        "text": format_exit_description(code, status),
    }


def _run(run: ExecRun) -> dict[str, Any]:
    return {
        "kind": run.kind,
        "argv": list(run.argv),
        "pid": run.pid or None,
        "exit": _exit(run.code, run.status),
    }


def _proc(p: ProcessEntry) -> dict[str, Any]:
    return {
        "pid": p.pid,
        "argv": list(p.argv),
        "cmdline": p.cmdline or None,
        "comm": p.comm or None,
        "cgroup": p.cgroup,
    }


def status_object(v: StatusView) -> dict[str, Any]:
    """One unit of the status document."""
    main_pid = v.exec_main_pid or v.main_pid
    return {
        "unit": v.id,
        "description": v.description,
        "load": {
            "state": v.load_state,
            "error": v.load_error or None,
            "path": v.source_path or v.fragment_path or None,
            "dropins": list(v.dropin_paths),
            "unit_file_state": v.unit_file_state or None,
            "preset": v.unit_file_preset or None,
        },
        "active": {
            "state": v.active_state,
            "sub": v.sub_state,
            "result": v.result,
            "active_enter": _stamp(v.active_enter_usec),
            "active_exit": _stamp(v.active_exit_usec),
            "inactive_enter": _stamp(v.inactive_enter_usec),
            "inactive_exit": _stamp(v.inactive_exit_usec),
        },
        "triggered_by": [{"unit": r.id, "active": r.active_state} for r in v.triggered_by],
        "triggers": [{"unit": r.id, "active": r.active_state} for r in v.triggers],
        "docs": list(v.documentation),
        "listen": [{"type": t, "address": a} for t, a in v.listen],
        "processes": [_run(r) for r in v.exec_runs if not r.kind.endswith("Ex")],
        "main": {
            "pid": main_pid or None,
            "running": bool(v.main_pid),
            "comm": v.main_comm or None,
            "exit": _exit(v.exec_main_code, v.exec_main_status),
        },
        "control": {"pid": v.control_pid or None, "comm": v.control_comm or None},
        "status_text": v.status_text or None,
        "status_errno": v.status_errno or None,
        "tasks": {
            "current": v.tasks_current,
            "limit": v.tasks_max if v.tasks_max != UINT64_MAX else None,
        },
        "memory_bytes": v.memory_current,
        "cpu_nsec": v.cpu_usage_nsec,
        "cgroup": {
            "path": v.control_group or None,
            "processes": [_proc(p) for p in v.processes],
        },
        "journal": list(v.journal_lines),
    }


def status_document(views: Sequence[StatusView], not_found: Sequence[str] = ()) -> dict[str, Any]:
    """`status -o json`: the units shown, plus the names that could not be found."""
    return {
        "schema": SCHEMA,
        "kind": "status",
        "units": [status_object(v) for v in views],
        "not_found": list(not_found),
    }


def list_units_document(rows: Sequence[UnitListRow]) -> dict[str, Any]:
    """`list-units -o json`: the rows after filtering, in display order."""
    return {
        "schema": SCHEMA,
        "kind": "list-units",
        "units": [
            {
                "unit": r.unit,
                "load": r.load,
                "active": r.active,
                "sub": r.sub,
                "job": r.job or None,
                "description": r.description,
            }
            for r in rows
        ],
    }
