"""StatusView: everything `systemctl status UNIT` prints, as one frozen value, and its builders.

The renderer (core.render.status) reads only this type. Three builders fill it:
- `build_status_view()` from the manager's UnitSnapshot + the Unit model + facts the
  caller gathered (processes, journal lines, unit-file state);
- `view_from_properties()` from `systemctl show` KEY=VALUE pairs (used to compare the
  renderer with real systemd's `status` for the same unit, and for any remote source);
- `view_from_status_info()` from the JSON the daemon's `status` verb answers today.

Timestamps here are realtime µs (0 = never): the builders convert the snapshot's
monotonic stamps with the caller's realtime-minus-monotonic offset.
"""

from __future__ import annotations

from pidone.core.record import Record

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `pidone status` must not import typing
if TYPE_CHECKING:  # annotations only: the status CLI must not pay for the unit model
    from collections.abc import Mapping, Sequence
    from typing import Any

    from pidone.core.model import Unit
    from pidone.core.snapshot import UnitSnapshot

# The records are core.record.Record (typing.NamedTuple for the type checker) rather than
# @dataclass(frozen=True, slots=True): importing dataclasses and generating the methods of
# StatusView's fifty fields took longer than everything else `pidone status` does
# (bench/cli.py). Immutable and equal by value; `view._replace(field=value)` is
# dataclasses.replace.

UINT64_MAX = 2**64 - 1
# CLD_* codes as ExecMainCode= prints them (waitid(2) si_code).
CLD_EXITED, CLD_KILLED, CLD_DUMPED = 1, 2, 3

# The Exec properties in the order systemd's status walks them (map_exec follows the
# D-Bus property order of org.freedesktop.systemd1.Service, src/core/dbus-service.c).
EXEC_ORDER = (
    "ExecCondition",
    "ExecStartPre",
    "ExecStart",
    "ExecStartPost",
    "ExecReload",
    "ExecStop",
    "ExecStopPost",
)


class ExecRun(Record):
    """One Exec command of the last run: `Process: PID ExecStartPre=ARGV (code=..., ...)`."""

    kind: str  # "ExecStartPre", ...
    argv: tuple[str, ...]
    pid: int = 0
    code: int = 0  # 0 = still running or never ran (not listed), else CLD_*
    status: int = 0  # exit status, or signal number when killed/dumped
    ignore_failure: bool = False


class ProcessEntry(Record):
    """One process of the unit's CGroup tree."""

    pid: int
    argv: tuple[str, ...]  # empty for a process without cmdline (shown as [comm])
    comm: str = ""
    cgroup: str = ""  # sub-cgroup path relative to the unit's cgroup, "" = the unit's own
    outside: bool = False  # main/control PID living outside the unit's cgroup (‣ lines)
    cmdline: str = ""  # already-joined text when only that is known (argv boundaries lost)


class UnitRef(Record):
    """A unit named on TriggeredBy:/Triggers:, with its ActiveState for the glyph."""

    id: str
    active_state: str


class StatusView(Record):
    """One unit as `systemctl status` shows it (systemd 252 UnitStatusInfo, the parts we print)."""

    id: str
    description: str = ""
    load_state: str = "loaded"
    load_error: str = ""  # the Reason text; non-empty replaces the (path; state) part
    fragment_path: str = ""
    source_path: str = ""
    dropin_paths: tuple[str, ...] = ()
    unit_file_state: str = ""
    unit_file_preset: str = ""
    transient: bool = False
    active_state: str = "inactive"
    sub_state: str = "dead"
    freezer_state: str = "running"
    result: str = "success"
    active_enter_usec: int = 0
    active_exit_usec: int = 0
    inactive_enter_usec: int = 0
    inactive_exit_usec: int = 0
    runtime_max_usec: int = UINT64_MAX
    triggered_by: tuple[UnitRef, ...] = ()
    triggers: tuple[UnitRef, ...] = ()
    next_elapse_usec: int | None = None  # timers: realtime µs of the next elapse; 0 = n/a
    documentation: tuple[str, ...] = ()
    listen: tuple[tuple[str, str], ...] = ()  # sockets: (type, address), e.g. ("Stream", path)
    # Accept=yes sockets: (NAccepted, NConnections, NRefused) for the `Accepted:` line
    accept_counts: tuple[int, int, int] | None = None
    exec_runs: tuple[ExecRun, ...] = ()
    main_pid: int = 0  # MainPID= (running)
    exec_main_pid: int = 0
    exec_main_code: int = 0
    exec_main_status: int = 0
    exec_main_start_usec: int = 0
    exec_main_exit_usec: int = 0
    main_comm: str = ""
    control_pid: int = 0
    control_comm: str = ""
    status_text: str = ""
    status_errno: int = 0
    status_errno_text: str = ""  # strerror(status_errno), filled by the caller (core has no os)
    tasks_current: int | None = None
    tasks_max: int | None = None  # None = infinity
    memory_current: int | None = None
    cpu_usage_nsec: int | None = None
    control_group: str = ""
    processes: tuple[ProcessEntry, ...] = ()
    journal_lines: tuple[str, ...] = ()
    need_daemon_reload: bool = False
    # `Condition: start condition failed at ...` (realtime µs, 0 = none) and its checks
    condition_failed_usec: int = 0
    conditions_unmet: tuple[str, ...] = ()
    assert_failed_usec: int = 0  # `Assert: start assertion failed at ...`, the same way
    asserts_unmet: tuple[str, ...] = ()


def looks_collected(view: StatusView, referenced: bool = False) -> bool:
    """True when systemd 252 would have garbage-collected the unit by now: it is inactive
    with Result=success, runs nothing and nothing references it (CollectMode=inactive, the
    default: man 5 systemd.unit). A collected unit is loaded afresh by the query, so
    status shows `inactive (dead)` with no `since`, no Process:/Main PID: lines, and the
    journal tail is not cut at the last start (real 252 captures: a stopped or finished
    oneshot, a skipped condition, a failed assertion). Failed units are kept."""
    return (
        view.active_state == "inactive"
        # ExecCondition= leaves it inactive with this result: collected too (oracle)
        and view.result in ("success", "exec-condition")
        and not view.processes
        and not view.main_pid
        and not view.control_pid
        and not referenced
    )


def as_collected(view: StatusView) -> StatusView:
    """The view of a unit that was unloaded and loaded again: configuration only."""
    return view._replace(
        active_enter_usec=0,
        active_exit_usec=0,
        inactive_enter_usec=0,
        inactive_exit_usec=0,
        exec_runs=(),
        exec_main_pid=0,
        exec_main_code=0,
        exec_main_status=0,
        exec_main_start_usec=0,
        exec_main_exit_usec=0,
        status_text="",
        status_errno=0,
        status_errno_text="",
        cpu_usage_nsec=None,
        control_group="",
        result="success",
        condition_failed_usec=0,
        conditions_unmet=(),
        assert_failed_usec=0,
        asserts_unmet=(),
        # an Accept=yes socket loaded afresh counts from 0 (oracle: iv-acc.socket stopped)
        accept_counts=(0, 0, 0) if view.accept_counts is not None else None,
    )


# --- from the manager ----------------------------------------------------------------------


def build_status_view(
    unit: Unit,
    snap: UnitSnapshot | None,
    *,
    realtime_offset_usec: int = 0,
    unit_file_state: str = "",
    unit_file_preset: str = "",
    main_comm: str = "",
    control_comm: str = "",
    control_group: str = "",
    processes: Sequence[ProcessEntry] = (),
    journal_lines: Sequence[str] = (),
    exec_runs: Sequence[ExecRun] = (),
    triggered_by: Sequence[UnitRef] = (),
    triggers: Sequence[UnitRef] = (),
    tasks_current: int | None = None,
    tasks_max: int | None = None,
    memory_current: int | None = None,
    cpu_usage_nsec: int | None = None,
) -> StatusView:
    """A StatusView from the Unit model, its snapshot (None = never loaded in the manager)."""

    def real(mono: int) -> int:
        return mono + realtime_offset_usec if mono else 0

    view = StatusView(
        id=unit.id,
        description=unit.unit.description,
        load_state=unit.load_state,
        load_error=load_error_text(unit.id, unit.load_state, unit.load_error),
        fragment_path=unit.fragment_path,
        source_path=unit.source_path,
        dropin_paths=tuple(unit.dropin_paths),
        unit_file_state=unit_file_state,
        unit_file_preset=unit_file_preset,
        documentation=tuple(unit.unit.documentation),
        main_comm=main_comm,
        control_comm=control_comm,
        control_group=control_group,
        processes=tuple(processes),
        journal_lines=tuple(journal_lines),
        exec_runs=tuple(exec_runs),
        triggered_by=tuple(triggered_by),
        triggers=tuple(triggers),
        tasks_current=tasks_current,
        tasks_max=tasks_max,
        memory_current=memory_current,
        cpu_usage_nsec=cpu_usage_nsec,
    )
    if snap is None:
        return view
    return view._replace(
        active_state=snap.active_state,
        sub_state=snap.sub_state,
        result=snap.result,
        main_pid=snap.main_pid,
        control_pid=snap.control_pid,
        exec_main_pid=snap.exec_main_pid,
        exec_main_code=snap.exec_main_code,
        exec_main_status=snap.exec_main_status,
        exec_main_start_usec=real(snap.exec_main_start_usec),
        exec_main_exit_usec=real(snap.exec_main_exit_usec),
        status_text=snap.status_text,
        status_errno=snap.status_errno,
        active_enter_usec=real(snap.active_enter_usec),
        active_exit_usec=real(snap.active_exit_usec),
        inactive_enter_usec=real(snap.inactive_enter_usec),
        inactive_exit_usec=real(snap.inactive_exit_usec),
    )


def load_error_text(unit_id: str, load_state: str, detail: str = "") -> str:
    """The `(Reason: ...)` text of the Loaded line: the bus error message of LoadError=
    (src/core/unit.c unit_load_error; 252 words)."""
    if load_state == "not-found":
        return f"Unit {unit_id} not found."
    if load_state == "masked":
        return f"Unit {unit_id} is masked."
    if load_state == "bad-setting":
        return f"Unit {unit_id} has a bad unit file setting."
    if load_state == "error":
        return detail or f"Unit {unit_id} failed to load properly."
    return ""


# --- from `systemctl show` properties -------------------------------------------------------

_WEEKDAY_FMT = "%a %Y-%m-%d %H:%M:%S"


def parse_show_timestamp(text: str) -> int:
    """`Sun 2026-11-29 15:28:49 UTC` -> realtime µs (UTC and numeric zones only); 0 if empty."""
    text = text.strip()
    if not text or text == "n/a":
        return 0
    from datetime import datetime  # only for the comparison with `systemctl show`

    head, _, zone = text.rpartition(" ")
    try:
        moment = datetime.strptime(head, _WEEKDAY_FMT)
    except ValueError:
        return 0
    if zone not in ("UTC", "GMT"):
        return 0
    epoch = datetime(1970, 1, 1)
    return int((moment - epoch).total_seconds()) * 1_000_000


def _int(props: Mapping[str, str], key: str, default: int = 0) -> int:
    raw = props.get(key, "")
    try:
        return int(raw)
    except ValueError:
        return default


def _opt_int(props: Mapping[str, str], key: str) -> int | None:
    raw = props.get(key, "")
    if not raw or raw in ("[not set]", "infinity"):
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return None if value == UINT64_MAX else value


def _timespan(text: str) -> int:
    if not text or text == "infinity":
        return UINT64_MAX
    from pidone.core.errors import PidoneError
    from pidone.core.values import parse_timespan

    try:
        return parse_timespan(text, 1)
    except PidoneError:
        return UINT64_MAX


def parse_exec_property(kind: str, value: str) -> ExecRun | None:
    """`{ path=/bin/x ; argv[]=/bin/x a ; ignore_errors=no ; ... ; pid=5 ; code=exited ;
    status=3 }` -> ExecRun (argv split on spaces: show prints it unquoted)."""
    body = value.strip().strip("{}").strip()
    fields: dict[str, str] = {}
    for part in body.split(" ; "):
        key, _, val = part.partition("=")
        fields[key.strip()] = val.strip()
    argv = tuple(fields.get("argv[]", "").split())
    code_word = fields.get("code", "(null)")
    code = {"exited": CLD_EXITED, "killed": CLD_KILLED, "dumped": CLD_DUMPED}.get(code_word, 0)
    status_text = fields.get("status", "0").split("/")[0]
    try:
        status = int(status_text)
        pid = int(fields.get("pid", "0"))
    except ValueError:
        return None
    return ExecRun(
        kind,
        argv,
        pid=pid,
        code=code,
        status=status,
        ignore_failure=fields.get("ignore_errors") == "yes",
    )


def view_from_properties(
    props: Mapping[str, str],
    *,
    exec_lines: Sequence[tuple[str, str]] = (),
    processes: Sequence[ProcessEntry] = (),
    journal_lines: Sequence[str] = (),
    main_comm: str = "",
    control_comm: str = "",
    unit_states: Mapping[str, str] | None = None,
) -> StatusView:
    """A StatusView from `systemctl show` output (`Exec*=` lines passed apart, in order,
    because a property may repeat)."""
    import shlex

    states = unit_states or {}
    uid = props.get("Id", "")
    load_state = props.get("LoadState", "loaded")
    load_error = ""
    raw_error = props.get("LoadError", "")
    if raw_error:
        # LoadError=org.freedesktop.systemd1.NoSuchUnit "Unit x.service not found."
        _, _, quoted = raw_error.partition(" ")
        load_error = quoted.strip().strip('"')
    elif load_state != "loaded":
        load_error = load_error_text(uid, load_state)
    listen = []
    for item in props.get("Listen", "").split(") "):
        # Listen=/run/x.sock (Stream) /run/y (Datagram): address, then the type in parentheses
        address, sep, kind = item.rstrip(")").rpartition(" (")
        if sep:
            listen.append((kind, address))
    next_elapse: int | None = None
    if uid.endswith(".timer"):
        next_elapse = parse_show_timestamp(props.get("NextElapseUSecRealtime", ""))
    runs = [
        run
        for kind, value in exec_lines
        if not kind.endswith("Ex") and (run := parse_exec_property(kind, value)) is not None
    ]
    return StatusView(
        id=uid,
        description=props.get("Description", uid),
        load_state=load_state,
        load_error=load_error,
        fragment_path=props.get("FragmentPath", ""),
        source_path=props.get("SourcePath", ""),
        dropin_paths=tuple(props.get("DropInPaths", "").split()),
        unit_file_state=props.get("UnitFileState", ""),
        unit_file_preset=props.get("UnitFilePreset", ""),
        transient=props.get("Transient") == "yes",
        active_state=props.get("ActiveState", "inactive"),
        sub_state=props.get("SubState", "dead"),
        freezer_state=props.get("FreezerState", "running") or "running",
        result=props.get("Result", "success"),
        active_enter_usec=parse_show_timestamp(props.get("ActiveEnterTimestamp", "")),
        active_exit_usec=parse_show_timestamp(props.get("ActiveExitTimestamp", "")),
        inactive_enter_usec=parse_show_timestamp(props.get("InactiveEnterTimestamp", "")),
        inactive_exit_usec=parse_show_timestamp(props.get("InactiveExitTimestamp", "")),
        triggered_by=tuple(
            UnitRef(u, states.get(u, "inactive")) for u in props.get("TriggeredBy", "").split()
        ),
        triggers=tuple(
            UnitRef(u, states.get(u, "inactive")) for u in props.get("Triggers", "").split()
        ),
        documentation=tuple(shlex.split(props.get("Documentation", ""))),
        listen=tuple(listen),
        accept_counts=(
            (_int(props, "NAccepted"), _int(props, "NConnections"), _int(props, "NRefused"))
            if props.get("Accept") == "yes"
            else None
        ),
        next_elapse_usec=next_elapse,
        runtime_max_usec=_timespan(props.get("RuntimeMaxUSec", "")),
        exec_runs=tuple(runs),
        main_pid=_int(props, "MainPID"),
        exec_main_pid=_int(props, "ExecMainPID"),
        exec_main_code=_int(props, "ExecMainCode"),
        exec_main_status=_int(props, "ExecMainStatus"),
        main_comm=main_comm,
        control_pid=_int(props, "ControlPID"),
        control_comm=control_comm,
        status_text=props.get("StatusText", ""),
        status_errno=_int(props, "StatusErrno"),
        tasks_current=_opt_int(props, "TasksCurrent"),
        tasks_max=_opt_int(props, "TasksMax"),
        memory_current=_opt_int(props, "MemoryCurrent"),
        cpu_usage_nsec=_opt_int(props, "CPUUsageNSec"),
        control_group=props.get("ControlGroup", ""),
        processes=tuple(processes),
        journal_lines=tuple(journal_lines),
        need_daemon_reload=props.get("NeedDaemonReload") == "yes",
    )


# --- from the daemon's `status` verb (JSON) -------------------------------------------------


def _process(entry: Sequence[Any]) -> ProcessEntry:
    """[pid, argv list | joined cmdline string, comm?, sub-cgroup?] -> ProcessEntry."""
    pid, cmd = int(entry[0]), entry[1] if len(entry) > 1 else ""
    comm = str(entry[2]) if len(entry) > 2 else ""
    group = str(entry[3]) if len(entry) > 3 else ""
    if isinstance(cmd, list):
        return ProcessEntry(pid, tuple(str(a) for a in cmd), comm, cgroup=group)
    return ProcessEntry(pid, (), comm, cgroup=group, cmdline=str(cmd))


def view_from_status_info(info: Mapping[str, Any]) -> StatusView:
    """A StatusView from one entry of the daemon's `status` answer (daemon/verbs.describe)."""
    uid = str(info.get("unit", ""))
    load_state = str(info.get("load_state", "not-found"))
    procs = tuple(_process(p) for p in info.get("processes") or [])
    code, status = 0, 0
    exit_text = str(info.get("exec_main_exit", ""))  # "code=exited, status=1/FAILURE"
    if exit_text.startswith("code="):
        word = exit_text[5:].split(",")[0]
        code = {"exited": CLD_EXITED, "killed": CLD_KILLED, "dumped": CLD_DUMPED}.get(word, 0)
        raw = exit_text.partition("status=")[2].split("/")[0]
        status = int(raw) if raw.isdigit() else 0
        if code in (CLD_KILLED, CLD_DUMPED) and not raw.isdigit():
            from pidone.core.errors import PidoneError
            from pidone.core.signames import parse_signal

            try:
                status = parse_signal(exit_text.partition("status=")[2].split("/")[-1])
            except PidoneError:
                status = 0
    since = int(info.get("since") or 0)
    active = str(info.get("active", "inactive"))
    return StatusView(
        id=uid,
        description=str(info.get("description") or ""),
        load_state=load_state,
        load_error=load_error_text(uid, load_state, str(info.get("load_error") or "")),
        fragment_path=str(info.get("fragment_path") or ""),
        source_path=str(info.get("source_path") or ""),
        dropin_paths=tuple(info.get("dropin_paths") or ()),
        transient=bool(info.get("transient")),
        unit_file_state=str(info.get("unit_file_state") or ""),
        unit_file_preset=str(info.get("unit_file_preset") or ""),
        documentation=tuple(info.get("documentation") or ()),
        active_state=active,
        sub_state=str(info.get("sub", "dead")),
        result=str(info.get("result", "success")),
        # the verb sends one "since" stamp: the one systemctl picks for this state
        active_enter_usec=since if active in ("active", "reloading") else 0,
        inactive_enter_usec=since if active in ("inactive", "failed") else 0,
        inactive_exit_usec=since if active == "activating" else 0,
        active_exit_usec=since if active == "deactivating" else 0,
        main_pid=int(info.get("main_pid") or 0),
        main_comm=str(info.get("main_comm") or ""),
        exec_main_pid=int(info.get("exec_main_pid") or 0),
        exec_main_code=code,
        exec_main_status=status,
        control_pid=int(info.get("control_pid") or 0),
        control_comm=str(info.get("control_comm") or ""),
        status_text=str(info.get("status_text") or ""),
        control_group=str(info.get("control_group") or ""),
        processes=procs,
        tasks_current=len(procs) if procs else None,
        **_condition_view(
            info.get("condition_failed"), "condition_failed_usec", "conditions_unmet"
        ),
        **_condition_view(info.get("assert_failed"), "assert_failed_usec", "asserts_unmet"),
    )


def _condition_view(raw: object, stamp: str, checks: str) -> dict[str, Any]:
    """`condition_failed`/`assert_failed` of the status verb: [realtime µs, [check, ...]]."""
    if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[1], list):
        return {}
    return {stamp: int(raw[0]), checks: tuple(map(str, raw[1]))}
