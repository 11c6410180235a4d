"""Plain-data views of the manager's runtime state for status, show, list-units, is-active.

Timestamps are CLOCK_MONOTONIC microseconds (0 = never); the daemon adds its
realtime-minus-monotonic offset when it renders dates.
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass


@dataclass(frozen=True, slots=True)
class UnitSnapshot:
    """One unit as `systemctl show` sees it (the runtime half; the model has the rest)."""

    id: str
    description: str
    load_state: str
    active_state: str
    sub_state: str
    result: str
    reload_result: str = "success"
    main_pid: int = 0
    control_pid: int = 0
    exec_main_pid: int = 0
    exec_main_code: int = 0
    exec_main_status: int = 0
    exec_main_start_usec: int = 0
    exec_main_exit_usec: int = 0
    exec_runs: tuple[tuple[str, int, int, int, int], ...] = ()  # (role, index, pid, code, status)
    n_restarts: int = 0
    invocation_id: str = ""
    status_text: str = ""
    status_errno: int = 0
    state_change_usec: int = 0
    inactive_exit_usec: int = 0
    active_enter_usec: int = 0
    active_exit_usec: int = 0
    inactive_enter_usec: int = 0
    job_id: int = 0
    job_type: str = ""
    fragment_path: str = ""


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One line of `systemctl list-units`: UNIT LOAD ACTIVE SUB DESCRIPTION."""

    unit: str
    load: str
    active: str
    sub: str
    description: str
