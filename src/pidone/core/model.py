"""The typed unit model: what a unit file means, with systemd 252's defaults.

`core.units.build_unit()` fills these from a `UnitSource`; everything downstream (the
service machine, the spawner, `show`, `status`) reads them and never the raw text.
Times are integer microseconds (`USEC_INFINITY` = no limit), as systemd stores them.
The classes are plain mutable dataclasses so the builder can apply assignments in file
order; treat a built `Unit` as read-only.
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.errors import Diagnostic
from pidone.core.execline import ExecCommand
from pidone.core.hints import Literal
from pidone.core.install import InstallSection
from pidone.core.unitsource import LoadState
from pidone.core.values import USEC_INFINITY, ExitStatusSet

USEC_PER_SEC = 1_000_000
# 252's seccomp-util.h / namespace-util.h / personality sentinels
SECCOMP_ERROR_NUMBER_KILL = 2**31 - 2  # INT_MAX - 1 (seccomp-util.h): "kill", not an errno
NAMESPACE_FLAGS_ALL = 0x7E020000  # CLONE_NEWCGROUP|IPC|NET|NS|PID|USER|UTS
NAMESPACE_FLAGS_INITIAL = 2**64 - 1  # ULONG_MAX: RestrictNamespaces= not set
PERSONALITY_INVALID = 0xFFFFFFFF
DEFAULT_TIMEOUT_USEC = 90 * USEC_PER_SEC  # DefaultTimeoutStartSec=/DefaultTimeoutStopSec=
DEFAULT_RESTART_USEC = 100_000  # DefaultRestartSec=100ms
DEFAULT_START_LIMIT_INTERVAL_USEC = 10 * USEC_PER_SEC
DEFAULT_START_LIMIT_BURST = 5

# The empty SuccessExitStatus=-style set: a Record (immutable), so every unit shares it.
NO_EXIT_STATUSES = ExitStatusSet()

ServiceType = Literal["simple", "exec", "forking", "oneshot", "dbus", "notify", "idle"]
RestartPolicy = Literal[
    "no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"
]
NotifyAccess = Literal["none", "main", "exec", "all"]
KillMode = Literal["control-group", "mixed", "process", "none"]
ExitType = Literal["main", "cgroup"]


@dataclass(frozen=True, slots=True)
class Condition:
    """One Condition*= or Assert*= line (spec 04 §1.1).

    `kind` is the name without the prefix ("PathExists"); `trigger` is the `|` prefix,
    `negate` the `!` prefix; `value` is the text after the prefixes.
    """

    kind: str
    value: str
    is_assert: bool = False
    trigger: bool = False
    negate: bool = False
    source_path: str = ""
    source_line: int = 0


@dataclass(frozen=True, slots=True)
class NotEnforced:
    """A directive pidone accepts and records but does not enforce (sandboxing, resources)."""

    section: str
    key: str
    value: str
    source_path: str
    source_line: int


@dataclass(slots=True)
class UnitSection:
    """[Unit] (man 5 systemd.unit)."""

    description: str = ""
    documentation: list[str] = field(default_factory=list)
    source_path: str = ""  # SourcePath=: the file a generator made this unit from
    wants: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    requisite: list[str] = field(default_factory=list)
    binds_to: list[str] = field(default_factory=list)
    part_of: list[str] = field(default_factory=list)
    upholds: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    on_failure: list[str] = field(default_factory=list)
    on_success: list[str] = field(default_factory=list)
    propagates_reload_to: list[str] = field(default_factory=list)
    reload_propagated_from: list[str] = field(default_factory=list)
    joins_namespace_of: list[str] = field(default_factory=list)
    requires_mounts_for: list[str] = field(default_factory=list)
    on_failure_job_mode: str = "replace"
    ignore_on_isolate: bool = False
    stop_when_unneeded: bool = False
    refuse_manual_start: bool = False
    refuse_manual_stop: bool = False
    allow_isolate: bool = False
    default_dependencies: bool = True
    # A target's After= names that core.units added as its default ordering on what it
    # pulls in (target_add_default_dependencies()), not written in its files: the
    # dependency graph drops them where the other unit has DefaultDependencies=no.
    target_default_after: tuple[str, ...] = ()
    collect_mode: str = "inactive"
    job_timeout_usec: int = USEC_INFINITY
    job_running_timeout_usec: int = USEC_INFINITY
    job_timeout_action: str = "none"
    start_limit_interval_usec: int = DEFAULT_START_LIMIT_INTERVAL_USEC
    start_limit_burst: int = DEFAULT_START_LIMIT_BURST
    start_limit_action: str = "none"
    failure_action: str = "none"
    success_action: str = "none"
    failure_action_exit_status: int = -1
    success_action_exit_status: int = -1
    conditions: list[Condition] = field(default_factory=list)
    asserts: list[Condition] = field(default_factory=list)


@dataclass(slots=True)
class ExecContext:
    """How processes are set up (man 5 systemd.exec): identity, environment, streams."""

    user: str = ""
    group: str = ""
    supplementary_groups: list[str] = field(default_factory=list)
    dynamic_user: bool = False
    working_directory: str = ""  # "" = "/" for the system manager; "~" = User='s home
    working_directory_missing_ok: bool = False  # the "-" prefix
    root_directory: str = ""
    umask: int = 0o022
    environment: list[tuple[str, str]] = field(default_factory=list)
    environment_files: list[tuple[str, bool]] = field(default_factory=list)  # (path, optional)
    pass_environment: list[str] = field(default_factory=list)
    unset_environment: list[str] = field(default_factory=list)
    limits: dict[str, tuple[int, int]] = field(default_factory=dict)  # "NOFILE" -> (soft, hard)
    nice: int | None = None
    oom_score_adjust: int | None = None
    io_scheduling_class: int | None = None
    io_scheduling_priority: int | None = None
    cpu_scheduling_policy: int | None = None
    cpu_scheduling_priority: int | None = None
    cpu_scheduling_reset_on_fork: bool = False
    runtime_directory: list[str] = field(default_factory=list)
    state_directory: list[str] = field(default_factory=list)
    cache_directory: list[str] = field(default_factory=list)
    logs_directory: list[str] = field(default_factory=list)
    configuration_directory: list[str] = field(default_factory=list)
    runtime_directory_mode: int = 0o755
    state_directory_mode: int = 0o755
    cache_directory_mode: int = 0o755
    logs_directory_mode: int = 0o755
    configuration_directory_mode: int = 0o755
    runtime_directory_preserve: Literal["no", "yes", "restart"] = "no"
    standard_input: str = "null"  # null tty tty-force tty-fail data file:P socket fd:N
    standard_output: str = "journal"  # "" would mean: derive (see builder)
    standard_error: str = "inherit"
    standard_input_data: bytes = b""
    tty_path: str = ""
    tty_reset: bool = False
    tty_vhangup: bool = False
    syslog_identifier: str = ""
    syslog_facility: int = 3
    syslog_level: int = 6
    syslog_level_prefix: bool = True
    log_level_max: int = -1
    log_extra_fields: list[str] = field(default_factory=list)
    ignore_sigpipe: bool = True
    no_new_privileges: bool = False
    capability_bounding_set: int | None = None  # bit mask; None = unchanged (all)
    ambient_capabilities: int = 0
    secure_bits: int = 0
    private_tmp: bool = False
    private_devices: bool = False
    private_network: bool = False
    private_users: bool = False  # a user namespace (linux.mountns.private_users)
    # systemd.exec(5) "SANDBOXING"; linux.sandbox enforces them through the mount namespace
    protect_kernel_tunables: bool = False
    protect_kernel_modules: bool = False
    protect_kernel_logs: bool = False
    protect_control_groups: bool = False
    protect_clock: bool = False
    protect_hostname: bool = False
    remove_ipc: bool = False
    private_mounts: bool = False
    mount_apivfs: bool = False
    protect_proc: str = "default"  # noaccess invisible ptraceable default
    proc_subset: str = "all"  # all pid
    protect_system: Literal["no", "yes", "full", "strict"] = "no"
    protect_home: Literal["no", "yes", "read-only", "tmpfs"] = "no"
    read_write_paths: list[str] = field(default_factory=list)
    read_only_paths: list[str] = field(default_factory=list)
    inaccessible_paths: list[str] = field(default_factory=list)
    exec_paths: list[str] = field(default_factory=list)  # ExecPaths=
    no_exec_paths: list[str] = field(default_factory=list)  # NoExecPaths=
    bind_paths: list[str] = field(default_factory=list)
    bind_read_only_paths: list[str] = field(default_factory=list)
    temporary_file_system: list[str] = field(default_factory=list)
    # systemd.exec(5) "SYSTEM CALL FILTERING" (252's ExecContext fields; core.seccompplan
    # turns them into filter steps, linux.seccomp compiles those with libseccomp)
    # SystemCallFilter=: name -> errno, -1 = the list's action
    syscall_filter: dict[str, int] = field(default_factory=dict)
    syscall_allow_list: bool = False
    syscall_errno: int = SECCOMP_ERROR_NUMBER_KILL  # SystemCallErrorNumber=
    syscall_archs: list[str] = field(default_factory=list)  # "native", "x86-64", ... (252's names)
    syscall_log: dict[str, int] = field(default_factory=dict)  # SystemCallLog=
    syscall_log_allow_list: bool = False
    address_families: list[int] = field(default_factory=list)  # RestrictAddressFamilies= (AF_*)
    address_families_allow_list: bool = False
    restrict_namespaces: int = NAMESPACE_FLAGS_INITIAL  # CLONE_NEW* flags still allowed
    lock_personality: bool = False
    personality: int = PERSONALITY_INVALID  # Personality=: PER_LINUX (0) or PER_LINUX32 (8)
    memory_deny_write_execute: bool = False
    restrict_realtime: bool = False
    restrict_suid_sgid: bool = False
    # parse state only: which of SystemCallFilter=, SystemCallLog=, RestrictAddressFamilies=
    # have a list, even an empty one (252's non-NULL hashmap/set: the first assignment after
    # a reset decides allow or deny, later ones do not)
    seccomp_lists_started: set[str] = field(default_factory=set)
    pam_name: str = ""
    utmp_identifier: str = ""
    timer_slack_nsec: int | None = None
    permissions_start_only: bool = False


# Which seccomp settings a context uses (252's execute.h/execute.c predicates on
# ExecContext). Here rather than in core.seccompplan so that linux.spawn can ask, for every
# spawn, without loading the filter plan's module (the daemon's memory: docs/memory.md).


def has_address_families(ctx: ExecContext) -> bool:
    # 252 context_has_address_families(): an allow list, even empty ("none"), or any entry
    return ctx.address_families_allow_list or bool(ctx.address_families)


def restricts_namespaces(ctx: ExecContext) -> bool:
    return (ctx.restrict_namespaces & NAMESPACE_FLAGS_ALL) != NAMESPACE_FLAGS_ALL


def has_syscall_filter(ctx: ExecContext) -> bool:
    return ctx.syscall_allow_list or bool(ctx.syscall_filter)


def has_syscall_log(ctx: ExecContext) -> bool:
    return ctx.syscall_log_allow_list or bool(ctx.syscall_log)


def implies_no_new_privileges(ctx: ExecContext) -> bool:
    """252 context_has_no_new_privileges() without its first two tests: whether any
    seccomp setting is used, so that a command left without CAP_SYS_ADMIN in its effective
    set at that point (User= and the like) gets NoNewPrivileges= (systemd.exec(5)
    "SystemCallFilter=": "...NoNewPrivileges=yes is implied")."""
    return bool(
        ctx.lock_personality
        or ctx.memory_deny_write_execute
        or ctx.private_devices
        or ctx.protect_clock
        or ctx.protect_hostname
        or ctx.protect_kernel_tunables
        or ctx.protect_kernel_modules
        or ctx.protect_kernel_logs
        or has_address_families(ctx)
        or restricts_namespaces(ctx)
        or ctx.restrict_realtime
        or ctx.restrict_suid_sgid
        or ctx.syscall_archs
        or has_syscall_filter(ctx)
        or has_syscall_log(ctx)
    )


@dataclass(slots=True)
class KillContext:
    """How processes are stopped (man 5 systemd.kill)."""

    kill_mode: KillMode = "control-group"
    kill_signal: int = 15
    restart_kill_signal: int = 0  # 0 = same as kill_signal
    final_kill_signal: int = 9
    watchdog_signal: int = 6
    send_sigkill: bool = True
    send_sighup: bool = False


@dataclass(slots=True)
class ServiceSection:
    """[Service] (man 5 systemd.service)."""

    type: ServiceType = "simple"
    type_explicit: bool = False
    exit_type: ExitType = "main"
    remain_after_exit: bool = False
    guess_main_pid: bool = True
    pid_file: str = ""
    bus_name: str = ""
    exec_condition: list[ExecCommand] = field(default_factory=list)
    exec_start_pre: list[ExecCommand] = field(default_factory=list)
    exec_start: list[ExecCommand] = field(default_factory=list)
    exec_start_post: list[ExecCommand] = field(default_factory=list)
    exec_reload: list[ExecCommand] = field(default_factory=list)
    exec_stop: list[ExecCommand] = field(default_factory=list)
    exec_stop_post: list[ExecCommand] = field(default_factory=list)
    restart: RestartPolicy = "no"
    restart_usec: int = DEFAULT_RESTART_USEC
    restart_prevent_exit_status: ExitStatusSet = NO_EXIT_STATUSES
    restart_force_exit_status: ExitStatusSet = NO_EXIT_STATUSES
    success_exit_status: ExitStatusSet = NO_EXIT_STATUSES
    timeout_start_usec: int = DEFAULT_TIMEOUT_USEC
    timeout_start_explicit: bool = False  # oneshot's default is infinity unless set
    timeout_stop_usec: int = DEFAULT_TIMEOUT_USEC
    timeout_abort_usec: int | None = None  # None = same as timeout_stop_usec
    timeout_start_failure_mode: Literal["terminate", "abort", "kill"] = "terminate"
    timeout_stop_failure_mode: Literal["terminate", "abort", "kill"] = "terminate"
    runtime_max_usec: int = USEC_INFINITY
    watchdog_usec: int = 0
    notify_access: NotifyAccess = "none"
    notify_access_explicit: bool = False
    file_descriptor_store_max: int = 0
    sockets: list[str] = field(default_factory=list)
    non_blocking: bool = False
    oom_policy: Literal["continue", "stop", "kill"] = "stop"
    root_directory_start_only: bool = False
    exec: ExecContext = field(default_factory=ExecContext)
    kill: KillContext = field(default_factory=KillContext)


@dataclass(slots=True)
class SocketSection:
    """[Socket] (man 5 systemd.socket). Listen entries keep their directive name."""

    listen: list[tuple[str, str]] = field(default_factory=list)  # ("ListenStream", "80")
    accept: bool = False
    service: str = ""
    socket_user: str = ""
    socket_group: str = ""
    socket_mode: int = 0o666
    directory_mode: int = 0o755
    backlog: int = 2147483647  # SOMAXCONN_DELUXE (socket_init(); listen(2) truncates it)
    bind_ipv6_only: str = "default"
    reuse_port: bool = False
    free_bind: bool = False
    transparent: bool = False
    broadcast: bool = False
    pass_credentials: bool = False
    pass_security: bool = False
    keep_alive: bool = False
    no_delay: bool = False
    remove_on_stop: bool = False
    symlinks: list[str] = field(default_factory=list)
    file_descriptor_name: str = ""
    max_connections: int = 64
    max_connections_per_source: int = 0
    trigger_limit_interval_usec: int = 2 * USEC_PER_SEC
    trigger_limit_burst: int = 20
    timeout_usec: int = DEFAULT_TIMEOUT_USEC
    exec_start_pre: list[ExecCommand] = field(default_factory=list)
    exec_start_post: list[ExecCommand] = field(default_factory=list)
    exec_stop_pre: list[ExecCommand] = field(default_factory=list)
    exec_stop_post: list[ExecCommand] = field(default_factory=list)
    exec: ExecContext = field(default_factory=ExecContext)
    kill: KillContext = field(default_factory=KillContext)


@dataclass(slots=True)
class TimerSection:
    """[Timer] (man 5 systemd.timer). Calendar specs stay text; core.calendar parses them."""

    on_active_usec: list[int] = field(default_factory=list)
    on_boot_usec: list[int] = field(default_factory=list)
    on_startup_usec: list[int] = field(default_factory=list)
    on_unit_active_usec: list[int] = field(default_factory=list)
    on_unit_inactive_usec: list[int] = field(default_factory=list)
    on_calendar: list[str] = field(default_factory=list)
    accuracy_usec: int = 60 * USEC_PER_SEC
    randomized_delay_usec: int = 0
    fixed_random_delay: bool = False
    on_clock_change: bool = False
    on_timezone_change: bool = False
    unit: str = ""
    persistent: bool = False
    wake_system: bool = False
    remain_after_elapse: bool = True


@dataclass(slots=True)
class PathSection:
    """[Path] (man 5 systemd.path): the watched paths in file order, as (kind, path) with
    kind one of PathExists, PathExistsGlob, PathChanged, PathModified, DirectoryNotEmpty."""

    specs: list[tuple[str, str]] = field(default_factory=list)
    unit: str = ""
    make_directory: bool = False
    directory_mode: int = 0o755
    trigger_limit_interval_usec: int = 2 * USEC_PER_SEC  # path_init(): 2s, burst 200
    trigger_limit_burst: int = 200


@dataclass(slots=True)
class Unit:
    """One loaded unit: its identity, load state, every section, and what was said about it."""

    id: str
    names: tuple[str, ...]
    type: str  # "service", "socket", "target", "timer", ...
    load_state: LoadState
    fragment_path: str = ""
    source_path: str = ""
    dropin_paths: tuple[str, ...] = ()
    unit: UnitSection = field(default_factory=UnitSection)
    install: InstallSection = field(default_factory=InstallSection)
    service: ServiceSection | None = None
    socket: SocketSection | None = None
    timer: TimerSection | None = None
    path: PathSection | None = None
    not_enforced: list[NotEnforced] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    load_error: str = ""  # the reason for bad-setting / error, one line
    slice: str = ""  # Slice= (show's Slice=); "" = none (targets, timers) -- added by units.py
