"""`systemctl show` for one unit: the property list in systemd 252's order, and its text forms.

Pure: the caller passes the typed `Unit`, the runtime state (`RuntimeState`; its
defaults describe a loaded unit that never ran) and manager facts (`ManagerFacts`).
The order is the D-Bus vtable order systemd's GetAll returns (src/core/dbus-*.c, 252):
the type's own interface (Service/Socket/Timer), then for service/socket the cgroup
runtime and resource-control properties, the exec context and the kill context, then
org.freedesktop.systemd1.Unit. Value formats (spec 07 §3.11, 06 §5): booleans yes/no,
`*USec` as time spans, `Limit*` and `infinity`, modes as 4-digit octal, signals as
numbers, string lists space-separated and quoted when needed. Properties with an empty
value are skipped unless `--all`, or unless named with `-p` (systemctl adds
BUS_PRINT_PROPERTY_SHOW_EMPTY when properties are given).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence

from pidone.core.calendar import parse_calendar
from pidone.core.dataclass_lite import dataclass, field
from pidone.core.model import KillContext, ServiceSection, SocketSection, Unit
from pidone.core.render.showexec import (
    ManagerFacts,
    cgroup_properties,
    exec_properties,
    kill_properties,
    yes_no,
)
from pidone.core.targets import PERPETUAL, TRANSIENT, shown_fragment_path
from pidone.core.values import USEC_INFINITY, format_timespan

Property = tuple[str, str]
TimestampFormatter = Callable[[int], str]  # realtime µs -> "Sun 2026-11-29 13:23:47 UTC"

__all__ = [
    "ManagerFacts",
    "Property",
    "RuntimeState",
    "render_show",
    "render_show_json",
    "unit_properties",
]


@dataclass(frozen=True, slots=True)
class RuntimeState:
    """What only the manager knows. The defaults are a unit that is loaded and never ran.

    Timestamps are (realtime µs, monotonic µs); 0 = never.
    """

    active_state: str = "inactive"
    sub_state: str = "dead"
    freezer_state: str = "running"
    # the manager's Description= when it is not the file's: an Accept=yes connection's
    # instance, "Description (PEER)" (service_set_socket_fd()); "" = the file's
    description: str = ""
    result: str = "success"
    reload_result: str = "success"
    clean_result: str = "success"
    main_pid: int = 0
    control_pid: int = 0
    status_text: str = ""
    status_errno: int = 0
    n_restarts: int = 0
    n_fd_store: int = 0
    uid: int | None = None
    gid: int | None = None
    exec_main_pid: int = 0
    exec_main_code: int = 0
    exec_main_status: int = 0
    exec_main_start: tuple[int, int] = (0, 0)
    exec_main_exit: tuple[int, int] = (0, 0)
    watchdog_timestamp: tuple[int, int] = (0, 0)
    state_change: tuple[int, int] = (0, 0)
    inactive_exit: tuple[int, int] = (0, 0)
    active_enter: tuple[int, int] = (0, 0)
    active_exit: tuple[int, int] = (0, 0)
    inactive_enter: tuple[int, int] = (0, 0)
    condition_result: bool = False
    assert_result: bool = False
    condition_timestamp: tuple[int, int] = (0, 0)
    assert_timestamp: tuple[int, int] = (0, 0)
    invocation_id: str = ""
    unit_file_state: str = ""
    unit_file_preset: str = ""
    need_daemon_reload: bool = False
    control_group: str = ""
    memory_current: int | None = None
    tasks_current: int | None = None
    cpu_usage_nsec: int | None = None
    # a timer's machine (None: never loaded into a manager, as timer_init() leaves it):
    # (base, usec or normalized calendar text, next elapse) in the machine's order
    timer_values: tuple[tuple[str, int | str, int], ...] | None = None
    next_elapse: tuple[int, int] = (USEC_INFINITY, USEC_INFINITY)  # (realtime, monotonic)
    last_trigger: tuple[int, int] = (0, 0)
    # a socket's counters (socket.c: n_connections, n_accepted, n_refused)
    n_connections: int = 0
    n_accepted: int = 0
    n_refused: int = 0
    # per-command runtime: ExecStart index -> (start, stop, pid, code, status), for later
    exec_status: dict[tuple[str, int], tuple[str, str, int, int, int]] = field(default_factory=dict)


def _ts(fmt: TimestampFormatter, name: str, stamp: tuple[int, int]) -> list[Property]:
    """BUS_PROPERTY_DUAL_TIMESTAMP: `X=` (pretty, empty when 0) and `XMonotonic=`."""
    real, mono = stamp
    return [(name, fmt(real) if real else ""), (name + "Monotonic", str(mono))]


def _usec(value: int) -> str:
    return format_timespan(value)


def _words(items: Iterable[str]) -> str:
    return " ".join(items)


def _exec_list(name: str, commands: Sequence[object], rt: RuntimeState) -> list[Property]:
    out: list[Property] = []
    for ex in (False, True):
        prop = name + ("Ex" if ex else "")
        lines = []
        for index, cmd in enumerate(commands):
            start, stop, pid, code, status = rt.exec_status.get(
                (name, index), ("n/a", "n/a", 0, 0, 0)
            )
            lines.append(
                cmd.format_show(  # type: ignore[attr-defined]
                    ex=ex, start_time=start, stop_time=stop, pid=pid, code=code, status=status
                )
            )
        out.extend((prop, line) for line in lines)  # an empty list prints nothing, even -a
    return out


def _service_type(unit: Unit) -> str:
    """Type= stays invalid (printed empty) unless the unit loaded far enough to pick one.

    systemd 252 picks the default type in service_add_extras(), which runs only for a
    loaded fragment; a not-found unit shows `Type=` (captured on 252).
    """
    s = unit.service
    assert s is not None
    if s.type_explicit or unit.load_state == "loaded":
        return s.type
    if unit.load_state == "bad-setting" and unit.load_error.startswith("Service "):
        return s.type  # refused by service_verify(), after the type was chosen
    return ""


def _service_properties(unit: Unit, rt: RuntimeState, fmt: TimestampFormatter) -> list[Property]:
    s = unit.service
    assert s is not None
    abort = s.timeout_stop_usec if s.timeout_abort_usec is None else s.timeout_abort_usec
    props: list[Property] = [
        ("Type", _service_type(unit)),
        ("ExitType", s.exit_type),
        ("Restart", s.restart),
        ("PIDFile", s.pid_file),
        ("NotifyAccess", s.notify_access),
        ("RestartUSec", _usec(s.restart_usec)),
        ("TimeoutStartUSec", _usec(s.timeout_start_usec)),
        ("TimeoutStopUSec", _usec(s.timeout_stop_usec)),
        ("TimeoutAbortUSec", _usec(abort)),
        ("TimeoutStartFailureMode", s.timeout_start_failure_mode),
        ("TimeoutStopFailureMode", s.timeout_stop_failure_mode),
        ("RuntimeMaxUSec", _usec(s.runtime_max_usec)),
        ("RuntimeRandomizedExtraUSec", "0"),
        ("WatchdogUSec", _usec(s.watchdog_usec)),
        *_ts(fmt, "WatchdogTimestamp", rt.watchdog_timestamp),
        ("RootDirectoryStartOnly", yes_no(s.root_directory_start_only)),
        ("RemainAfterExit", yes_no(s.remain_after_exit)),
        ("GuessMainPID", yes_no(s.guess_main_pid)),
        ("RestartPreventExitStatus", s.restart_prevent_exit_status.format()),
        ("RestartForceExitStatus", s.restart_force_exit_status.format()),
        ("SuccessExitStatus", s.success_exit_status.format()),
        ("MainPID", str(rt.main_pid)),
        ("ControlPID", str(rt.control_pid)),
        ("BusName", s.bus_name),
        ("FileDescriptorStoreMax", str(s.file_descriptor_store_max)),
        ("NFileDescriptorStore", str(rt.n_fd_store)),
        ("StatusText", rt.status_text),
        ("StatusErrno", str(rt.status_errno)),
        ("Result", rt.result),
        ("ReloadResult", rt.reload_result),
        ("CleanResult", rt.clean_result),
        ("USBFunctionDescriptors", ""),
        ("USBFunctionStrings", ""),
        ("UID", "[not set]" if rt.uid is None else str(rt.uid)),
        ("GID", "[not set]" if rt.gid is None else str(rt.gid)),
        ("NRestarts", str(rt.n_restarts)),
        ("OOMPolicy", s.oom_policy),
        *_ts(fmt, "ExecMainStartTimestamp", rt.exec_main_start),
        *_ts(fmt, "ExecMainExitTimestamp", rt.exec_main_exit),
        ("ExecMainPID", str(rt.exec_main_pid)),
        ("ExecMainCode", str(rt.exec_main_code)),
        ("ExecMainStatus", str(rt.exec_main_status)),
    ]
    for name, commands in (
        ("ExecCondition", s.exec_condition),
        ("ExecStartPre", s.exec_start_pre),
        ("ExecStart", s.exec_start),
        ("ExecStartPost", s.exec_start_post),
        ("ExecReload", s.exec_reload),
        ("ExecStop", s.exec_stop),
        ("ExecStopPost", s.exec_stop_post),
    ):
        props += _exec_list(name, commands, rt)
    return props


_LISTEN_TYPES = {
    "ListenStream": "Stream",
    "ListenDatagram": "Datagram",
    "ListenSequentialPacket": "SequentialPacket",
    "ListenFIFO": "FIFO",
    "ListenNetlink": "Netlink",
    "ListenSpecial": "Special",
    "ListenMessageQueue": "MessageQueue",
    "ListenUSBFunction": "USBFunction",
}


def _listen_address(kind: str, value: str) -> str:
    """The address as systemd prints the parsed one (socket_address_print(): `22` is
    `[::]:22`, as in status and list-sockets); a line pidone does not parse, as written."""
    from pidone.core.errors import ValueParseError
    from pidone.core.listen import format_listen, parse_listen

    try:
        return format_listen(parse_listen(kind, value))
    except ValueParseError:
        return value


def _socket_properties(unit: Unit, rt: RuntimeState) -> list[Property]:
    from pidone.core.socketseam import trigger_limit_burst  # with socket units only

    k = unit.socket
    assert k is not None
    props: list[Property] = [
        ("BindIPv6Only", k.bind_ipv6_only),
        ("Backlog", str(k.backlog)),
        ("TimeoutUSec", _usec(k.timeout_usec)),
        ("BindToDevice", ""),
        ("SocketUser", k.socket_user),
        ("SocketGroup", k.socket_group),
        ("SocketMode", f"{k.socket_mode:04o}"),
        ("DirectoryMode", f"{k.directory_mode:04o}"),
        ("Accept", yes_no(k.accept)),
        ("FlushPending", "no"),
        ("Writable", "no"),
        ("KeepAlive", yes_no(k.keep_alive)),
        ("KeepAliveTimeUSec", "0"),
        ("KeepAliveIntervalUSec", "0"),
        ("KeepAliveProbes", "0"),
        ("DeferAcceptUSec", "0"),
        ("NoDelay", yes_no(k.no_delay)),
        ("Priority", "-1"),
        ("ReceiveBuffer", "0"),
        ("SendBuffer", "0"),
        ("IPTOS", "-1"),
        ("IPTTL", "-1"),
        ("PipeSize", "0"),
        ("FreeBind", yes_no(k.free_bind)),
        ("Transparent", yes_no(k.transparent)),
        ("Broadcast", yes_no(k.broadcast)),
        ("PassCredentials", yes_no(k.pass_credentials)),
        ("PassSecurity", yes_no(k.pass_security)),
        ("PassPacketInfo", "no"),
        ("Timestamping", "off"),
        ("RemoveOnStop", yes_no(k.remove_on_stop)),
    ]
    props += [("Listen", f"{_listen_address(kind, addr)} ({_LISTEN_TYPES.get(kind, kind)})")
              for kind, addr in k.listen]  # fmt: skip
    props += [
        ("Symlinks", _words(k.symlinks)),
        ("Mark", "-1"),
        ("MaxConnections", str(k.max_connections)),
        ("MaxConnectionsPerSource", str(k.max_connections_per_source)),
        ("MessageQueueMaxMessages", "0"),
        ("MessageQueueMessageSize", "0"),
        ("TCPCongestion", ""),
        ("ReusePort", yes_no(k.reuse_port)),
        ("SmackLabel", ""),
        ("SmackLabelIPIn", ""),
        ("SmackLabelIPOut", ""),
        ("ControlPID", str(rt.control_pid)),
        ("Result", rt.result),
        ("NConnections", str(rt.n_connections)),
        ("NAccepted", str(rt.n_accepted)),
        ("NRefused", str(rt.n_refused)),
        ("FileDescriptorName", k.file_descriptor_name or unit.id),
        ("SocketProtocol", "0"),
        ("TriggerLimitIntervalUSec", _usec(k.trigger_limit_interval_usec)),
        ("TriggerLimitBurst", str(trigger_limit_burst(k))),  # 200 with Accept=yes (oracle)
        ("UID", "[not set]" if rt.uid is None else str(rt.uid)),
        ("GID", "[not set]" if rt.gid is None else str(rt.gid)),
    ]
    for name, commands in (
        ("ExecStartPre", k.exec_start_pre),
        ("ExecStartPost", k.exec_start_post),
        ("ExecStopPre", k.exec_stop_pre),
        ("ExecStopPost", k.exec_stop_post),
    ):
        props += _exec_list(name, commands, rt)
    return props


_TIMER_BASES = (
    ("OnActiveSec", "on_active_usec"),
    ("OnBootSec", "on_boot_usec"),
    ("OnStartupSec", "on_startup_usec"),
    ("OnUnitActiveSec", "on_unit_active_usec"),
    ("OnUnitInactiveSec", "on_unit_inactive_usec"),
)


def _calendar(text: str) -> str:
    """The normalized form systemd stores and shows (`daily` -> `*-*-* 00:00:00`)."""
    try:
        return parse_calendar(text).format()
    except ValueError:
        return text


def _timer_values(unit: Unit, rt: RuntimeState) -> list[tuple[str, int | str, int]]:
    """The timer's values as 252 lists them: config_parse_timer() LIST_PREPENDs each one, so
    the bus properties walk them newest first. A manager's machine gives its own list (file
    order within a setting, settings in base order); offline, the config in that order."""
    if rt.timer_values is not None:
        values = list(rt.timer_values)
    else:
        t = unit.timer
        assert t is not None
        values = [(base, usec, 0) for base, attr in _TIMER_BASES for usec in getattr(t, attr)]
        values += [("OnCalendar", _calendar(c), 0) for c in t.on_calendar]
    return values[::-1]


def _stamp_or_null(fmt: TimestampFormatter, usec: int) -> str:
    """`%s` of FORMAT_TIMESTAMP(), which is NULL for 0 and infinity: glibc prints `(null)`
    (a never-started timer's TimersCalendar=, captured on 252)."""
    return fmt(usec) if 0 < usec < USEC_INFINITY else "(null)"


def _timer_properties(unit: Unit, rt: RuntimeState, fmt: TimestampFormatter) -> list[Property]:
    """Timer properties (src/core/dbus-timer.c, 252): TimersMonotonic= as
    `{ OnBootUSec=1h ; next_elapse=<timespan> }`, TimersCalendar= with the next elapse as a
    timestamp, NextElapseUSecRealtime= a timestamp (empty when unset), the monotonic next
    elapse and LastTriggerUSecMonotonic= as time spans."""
    t = unit.timer
    assert t is not None
    values = _timer_values(unit, rt)
    props: list[Property] = [("Unit", t.unit or unit.id.rsplit(".", 1)[0] + ".service")]
    for base, usec, nxt in values:
        if base != "OnCalendar":
            name = base[: -len("Sec")] + "USec"
            props.append(
                ("TimersMonotonic", f"{{ {name}={_usec(int(usec))} ; next_elapse={_usec(nxt)} }}")
            )
    for base, text, nxt in values:
        if base == "OnCalendar":
            when = _stamp_or_null(fmt, nxt)
            props.append(("TimersCalendar", f"{{ OnCalendar={text} ; next_elapse={when} }}"))
    next_real, next_mono = rt.next_elapse
    last_real, last_mono = rt.last_trigger
    props += [
        ("OnClockChange", yes_no(t.on_clock_change)),
        ("OnTimezoneChange", yes_no(t.on_timezone_change)),
        ("NextElapseUSecRealtime", fmt(next_real) if 0 < next_real < USEC_INFINITY else ""),
        ("NextElapseUSecMonotonic", _usec(next_mono)),
        ("LastTriggerUSec", fmt(last_real) if 0 < last_real < USEC_INFINITY else ""),
        ("LastTriggerUSecMonotonic", _usec(last_mono)),
        ("Result", rt.result),
        ("AccuracyUSec", _usec(t.accuracy_usec)),
        ("RandomizedDelayUSec", _usec(t.randomized_delay_usec)),
        ("FixedRandomDelay", yes_no(t.fixed_random_delay)),
        ("Persistent", yes_no(t.persistent)),
        ("WakeSystem", yes_no(t.wake_system)),
        ("RemainAfterElapse", yes_no(t.remain_after_elapse)),
    ]
    return props


def _path_properties(unit: Unit, rt: RuntimeState) -> list[Property]:
    """Path properties (src/core/dbus-path.c, 252): Paths= a(ss), which systemctl prints
    one line per spec as `PATH (KIND)`."""
    p = unit.path
    assert p is not None
    props: list[Property] = [("Unit", p.unit or unit.id.rsplit(".", 1)[0] + ".service")]
    props += [("Paths", f"{path} ({kind})") for kind, path in p.specs]
    props += [
        ("MakeDirectory", yes_no(p.make_directory)),
        ("DirectoryMode", f"{p.directory_mode:04o}"),
        ("Result", rt.result),
        ("TriggerLimitIntervalUSec", _usec(p.trigger_limit_interval_usec)),
        ("TriggerLimitBurst", str(p.trigger_limit_burst)),
    ]
    return props


_DEPENDENCY_PROPERTIES = (
    "Requires",
    "Requisite",
    "Wants",
    "BindsTo",
    "PartOf",
    "Upholds",
    "RequiredBy",
    "RequisiteOf",
    "WantedBy",
    "BoundBy",
    "UpheldBy",
    "ConsistsOf",
    "Conflicts",
    "ConflictedBy",
    "Before",
    "After",
    "OnSuccess",
    "OnSuccessOf",
    "OnFailure",
    "OnFailureOf",
    "Triggers",
    "TriggeredBy",
    "PropagatesReloadTo",
    "ReloadPropagatedFrom",
    "PropagatesStopTo",
    "StopPropagatedFrom",
    "JoinsNamespaceOf",
    "SliceOf",
)


def _own_relations(unit: Unit) -> dict[str, Sequence[str]]:
    """What the unit's own files say (no reverse edges): used when no graph is given."""
    u = unit.unit
    triggers: list[str] = []
    if unit.socket is not None and not unit.socket.accept:
        triggers.append(unit.socket.service or unit.id.rsplit(".", 1)[0] + ".service")
    if unit.timer is not None:
        triggers.append(unit.timer.unit or unit.id.rsplit(".", 1)[0] + ".service")
    return {
        "Requires": u.requires,
        "Requisite": u.requisite,
        "Wants": u.wants,
        "BindsTo": u.binds_to,
        "PartOf": u.part_of,
        "Upholds": u.upholds,
        "Conflicts": u.conflicts,
        "Before": u.before,
        "After": u.after,
        "OnSuccess": u.on_success,
        "OnFailure": u.on_failure,
        "Triggers": triggers,
        "PropagatesReloadTo": u.propagates_reload_to,
        "ReloadPropagatedFrom": u.reload_propagated_from,
        "JoinsNamespaceOf": u.joins_namespace_of,
    }


def _unit_interface(
    unit: Unit,
    rt: RuntimeState,
    fmt: TimestampFormatter,
    relations: Mapping[str, Sequence[str]],
) -> list[Property]:
    u = unit.unit
    loaded = unit.load_state in ("loaded", "bad-setting")
    can_start = loaded and unit.load_state == "loaded" and unit.type not in ("device", "scope")
    props: list[Property] = [
        ("Id", unit.id),
        ("Names", _words(unit.names)),
        ("Following", ""),
    ]
    props += [(name, _words(relations.get(name, ()))) for name in _DEPENDENCY_PROPERTIES]
    props += [
        ("RequiresMountsFor", _words(u.requires_mounts_for)),
        ("Documentation", _words(_quote(d) for d in u.documentation)),
        ("Description", rt.description or u.description or unit.id),
        ("AccessSELinuxContext", ""),
        ("LoadState", unit.load_state),
        ("ActiveState", rt.active_state),
        ("FreezerState", rt.freezer_state),
        ("SubState", rt.sub_state),
        ("FragmentPath", shown_fragment_path(unit.id, unit.fragment_path)),
        ("SourcePath", unit.source_path),
        ("DropInPaths", _words(unit.dropin_paths)),
        ("UnitFileState", rt.unit_file_state),
        ("UnitFilePreset", rt.unit_file_preset),
        *_ts(fmt, "StateChangeTimestamp", rt.state_change),
        *_ts(fmt, "InactiveExitTimestamp", rt.inactive_exit),
        *_ts(fmt, "ActiveEnterTimestamp", rt.active_enter),
        *_ts(fmt, "ActiveExitTimestamp", rt.active_exit),
        *_ts(fmt, "InactiveEnterTimestamp", rt.inactive_enter),
        ("CanStart", yes_no(can_start and not u.refuse_manual_start)),
        (
            "CanStop",
            yes_no(
                loaded
                and unit.type != "device"
                and not u.refuse_manual_stop
                and unit.id not in PERPETUAL
            ),
        ),
        ("CanReload", yes_no(unit.service is not None and bool(unit.service.exec_reload))),
        ("CanIsolate", yes_no(u.allow_isolate and unit.type == "target")),
        ("CanFreeze", yes_no(unit.service is not None or unit.type == "scope")),
        ("StopWhenUnneeded", yes_no(u.stop_when_unneeded)),
        ("RefuseManualStart", yes_no(u.refuse_manual_start)),
        ("RefuseManualStop", yes_no(u.refuse_manual_stop)),
        ("AllowIsolate", yes_no(u.allow_isolate)),
        ("DefaultDependencies", yes_no(u.default_dependencies)),
        ("OnSuccessJobMode", "fail"),
        ("OnFailureJobMode", u.on_failure_job_mode),
        ("IgnoreOnIsolate", yes_no(u.ignore_on_isolate)),
        ("NeedDaemonReload", yes_no(rt.need_daemon_reload)),
        ("JobTimeoutUSec", _usec(u.job_timeout_usec)),
        ("JobRunningTimeoutUSec", _usec(u.job_running_timeout_usec)),
        ("JobTimeoutAction", u.job_timeout_action),
        ("ConditionResult", yes_no(rt.condition_result)),
        ("AssertResult", yes_no(rt.assert_result)),
        *_ts(fmt, "ConditionTimestamp", rt.condition_timestamp),
        *_ts(fmt, "AssertTimestamp", rt.assert_timestamp),
        ("LoadError", _load_error(unit)),
        ("Transient", yes_no(unit.id in TRANSIENT and unit.load_state == "loaded")),
        ("Perpetual", yes_no(loaded and unit.id in PERPETUAL)),
        ("StartLimitIntervalUSec", _usec(u.start_limit_interval_usec)),
        ("StartLimitBurst", str(u.start_limit_burst)),
        ("StartLimitAction", u.start_limit_action),
        ("FailureAction", u.failure_action),
        # systemctl prints these two only when set (>= 0), and empty with --all
        ("FailureActionExitStatus", _exit_status(u.failure_action_exit_status)),
        ("SuccessAction", u.success_action),
        ("SuccessActionExitStatus", _exit_status(u.success_action_exit_status)),
        ("InvocationID", rt.invocation_id),
        ("CollectMode", u.collect_mode),
    ]
    return props


def _exit_status(status: int) -> str:
    return str(status) if status >= 0 else ""


def _load_error(unit: Unit) -> str:
    """LoadError=(ss) as systemctl prints it: `NAME "MESSAGE"` (empty when loaded)."""
    errors = {
        "not-found": ("org.freedesktop.systemd1.NoSuchUnit", f"Unit {unit.id} not found."),
        "bad-setting": (
            "org.freedesktop.systemd1.BadUnitSetting",
            f"Unit {unit.id} has a bad unit file setting.",
        ),
        "masked": ("org.freedesktop.systemd1.UnitMasked", f"Unit {unit.id} is masked."),
        "error": (
            "org.freedesktop.systemd1.LoadFailed",
            f"Unit {unit.id} failed to load properly, please adjust/correct and reload "
            "service manager: Invalid argument",
        ),
    }
    if unit.load_state not in errors:
        return ""
    name, message = errors[unit.load_state]
    return f'{name} "{message}"'


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=:,./@%^~")


def _quote(item: str) -> str:
    """shell_maybe_quote(): wrap in "..." when the item has characters a shell would see."""
    if item and all(c in _SAFE for c in item):
        return item
    escaped = "".join("\\" + c if c in '"\\`$' else c for c in item)
    return f'"{escaped}"'


def _default_timestamp(usec: int) -> str:
    return str(usec)


def unit_properties(
    unit: Unit,
    runtime: RuntimeState | None = None,
    facts: ManagerFacts | None = None,
    format_timestamp: TimestampFormatter | None = None,
    relations: Mapping[str, Sequence[str]] | None = None,
) -> list[Property]:
    """Every property of `unit` in systemd's order; values formatted, "" = empty.

    `relations` is the unit's view in the dependency graph (`core.depgraph`'s
    `DepGraph.relations()`: every relation both ways, WantedBy=, TriggeredBy=, After= from
    others' Before=...), keyed by property name. Without it, only what the unit's own
    files say is shown.
    """
    rt = runtime or RuntimeState()
    mf = facts or ManagerFacts()
    fmt = format_timestamp or _default_timestamp
    rel = _own_relations(unit) if relations is None else relations
    props: list[Property] = []
    owner: ServiceSection | SocketSection | None = None
    if unit.service is not None:
        props += _service_properties(unit, rt, fmt)
        owner = unit.service
    elif unit.socket is not None:
        props += _socket_properties(unit, rt)
        owner = unit.socket
    elif unit.timer is not None:
        props += _timer_properties(unit, rt, fmt)
    elif unit.path is not None:
        props += _path_properties(unit, rt)
    elif unit.type in ("slice", "scope") and unit.load_state == "loaded":
        # no exec context, but a cgroup (bus_slice_vtable, bus_scope_vtable: the scope's
        # own properties, then the cgroup's, then the kill context's)
        if unit.type == "scope":
            props += _SCOPE_PROPERTIES
        props += _with_cpu(
            cgroup_properties(unit, rt.control_group, rt.memory_current, rt.tasks_current, mf), rt
        )
        if unit.type == "scope":
            props += kill_properties(KillContext())
    if owner is not None:
        non_blocking = unit.service.non_blocking if unit.service is not None else False
        ne = {n.key: n.value for n in unit.not_enforced}
        if unit.socket is not None:  # only services default to a private keyring (oracle)
            ne = {"KeyringMode": "shared", **ne}
        cgroup = cgroup_properties(unit, rt.control_group, rt.memory_current, rt.tasks_current, mf)
        props += _with_cpu(cgroup, rt)
        props += exec_properties(owner.exec, mf, _quote, non_blocking, ne)
        props += kill_properties(owner.kill)
    props += _unit_interface(unit, rt, fmt, rel)
    return props


# bus_scope_vtable of the manager's own scope, as 252 shows init.scope (sd-oracle)
_SCOPE_PROPERTIES: list[Property] = [
    ("Controller", ""),
    ("TimeoutStopUSec", "1min 30s"),
    ("Result", "success"),
    ("RuntimeMaxUSec", "infinity"),
    ("RuntimeRandomizedExtraUSec", "0"),
    ("OOMPolicy", "stop"),
]


def _with_cpu(cgroup: list[Property], rt: RuntimeState) -> list[Property]:
    """CPUUsageNSec= from the daemon: since the last start, or the figure kept when the
    unit stopped (252's cpu_usage_last)."""
    if rt.cpu_usage_nsec is None:
        return cgroup
    return [(k, str(rt.cpu_usage_nsec) if k == "CPUUsageNSec" else v) for k, v in cgroup]


# "(bas)" properties: systemctl prints them when asked, for an allow list (even empty:
# RestrictAddressFamilies=none) or when they name something; a bare "~" is an unset one
_ALLOW_DENY = frozenset(
    (
        *("SystemCallFilter", "SystemCallLog", "RestrictAddressFamilies"),
        *("RestrictFileSystems", "RestrictNetworkInterfaces"),
    )
)


def shown_by_default(key: str, value: str) -> bool:
    """Whether `systemctl show` prints the property without -p or --all."""
    return value != "~" if key in _ALLOW_DENY else value != ""


def _select(props: list[Property], names: Sequence[str], show_all: bool) -> list[Property]:
    if names:
        wanted = set(names)
        return [(k, v) for k, v in props if k in wanted]
    return props if show_all else [(k, v) for k, v in props if shown_by_default(k, v)]


def render_show(
    props: list[Property], names: Sequence[str] = (), show_all: bool = False, value: bool = False
) -> list[str]:
    """Lines of `systemctl show [-p A,B] [--all] [--value]` for one unit."""
    chosen = _select(props, names, show_all)
    if value:
        return [v for _, v in chosen]
    return [f"{k}={v}" for k, v in chosen]


def render_show_json(
    props: list[Property], names: Sequence[str] = (), show_all: bool = False
) -> str:
    """One unit's JSON document (docs/json.md, kind `show`): `schema` and `kind` first, then
    property -> value in systemd's order (a list when the property repeats, as ExecStart=).
    Property names are CamelCase, so the two lower-case keys never collide with one."""
    from pidone.core.render.jsonout import SCHEMA

    out: dict[str, str | list[str]] = {"schema": SCHEMA, "kind": "show"}
    for k, v in _select(props, names, show_all):
        if k in out:
            prev = out[k]
            out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    return json.dumps(out, ensure_ascii=False)
