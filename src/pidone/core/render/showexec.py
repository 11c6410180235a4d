"""`systemctl show` properties of the shared contexts: cgroup, exec and kill (systemd 252 order).

Order and defaults follow src/core/dbus-unit.c (bus_unit_cgroup_vtable),
dbus-cgroup.c, dbus-execute.c and dbus-kill.c. Values that depend on the running
manager (its own rlimits, the task limit, timer slack) come in `ManagerFacts`.
Sandboxing keys that pidone records but does not enforce show what the unit asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pidone.core.capabilities import format_capabilities
from pidone.core.cgroupunit import parent_slice
from pidone.core.dataclass_lite import dataclass, field
from pidone.core.devicepolicy import device_policy
from pidone.core.model import (
    NAMESPACE_FLAGS_ALL,
    SECCOMP_ERROR_NUMBER_KILL,
    ExecContext,
    KillContext,
    Unit,
)
from pidone.core.seccompparsers import NAMESPACES
from pidone.core.values import RLIM_INFINITY, parse_boolean

Property = tuple[str, str]
UINT64_MAX = 2**64 - 1

# capability(7) names 0..40 (Linux 5.9+), as CapabilityBoundingSet= prints them
CAPABILITIES = (
    "cap_chown cap_dac_override cap_dac_read_search cap_fowner cap_fsetid cap_kill "
    "cap_setgid cap_setuid cap_setpcap cap_linux_immutable cap_net_bind_service "
    "cap_net_broadcast cap_net_admin cap_net_raw cap_ipc_lock cap_ipc_owner cap_sys_module "
    "cap_sys_rawio cap_sys_chroot cap_sys_ptrace cap_sys_pacct cap_sys_admin cap_sys_boot "
    "cap_sys_nice cap_sys_resource cap_sys_time cap_sys_tty_config cap_mknod cap_lease "
    "cap_audit_write cap_audit_control cap_setfcap cap_mac_override cap_mac_admin cap_syslog "
    "cap_wake_alarm cap_block_suspend cap_audit_read cap_perfmon cap_bpf cap_checkpoint_restore"
)

# systemd 252's DefaultLimit*= on Debian: NOFILE 1024:524288 and MEMLOCK 8M are set by
# the manager; the rest is what PID 1 inherits from the kernel (CORE soft 0).
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "CPU": (RLIM_INFINITY, RLIM_INFINITY),
    "FSIZE": (RLIM_INFINITY, RLIM_INFINITY),
    "DATA": (RLIM_INFINITY, RLIM_INFINITY),
    "STACK": (8388608, RLIM_INFINITY),
    "CORE": (0, RLIM_INFINITY),
    "RSS": (RLIM_INFINITY, RLIM_INFINITY),
    "NOFILE": (1024, 524288),
    "AS": (RLIM_INFINITY, RLIM_INFINITY),
    "NPROC": (RLIM_INFINITY, RLIM_INFINITY),
    "MEMLOCK": (8388608, 8388608),
    "LOCKS": (RLIM_INFINITY, RLIM_INFINITY),
    "SIGPENDING": (RLIM_INFINITY, RLIM_INFINITY),
    "MSGQUEUE": (819200, 819200),
    "NICE": (0, 0),
    "RTPRIO": (0, 0),
    "RTTIME": (RLIM_INFINITY, RLIM_INFINITY),
}
LIMIT_ORDER = tuple(DEFAULT_LIMITS)


@dataclass(frozen=True, slots=True)
class ManagerFacts:
    """What the running manager would report for settings a unit does not make."""

    limits: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    tasks_max: int = UINT64_MAX  # DefaultTasksMax= (15% of the kernel's limit); infinity here
    timer_slack_nsec: int = 50000
    cpu_accounting: bool = True
    memory_accounting: bool = True
    tasks_accounting: bool = True
    io_accounting: bool = False
    capabilities: str = CAPABILITIES


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _num(value: int, unset: str = "infinity") -> str:
    return unset if value >= UINT64_MAX else str(value)


def cgroup_properties(
    unit: Unit,
    control_group: str,
    memory_current: int | None,
    tasks_current: int | None,
    facts: ManagerFacts,
) -> list[Property]:
    """bus_unit_cgroup_vtable (runtime) then bus_cgroup_vtable (resource control)."""
    ne = _not_enforced(unit)
    not_set = "[not set]"
    props: list[Property] = [
        ("Slice", parent_slice(unit.id) if unit.type == "slice" else unit.slice),
        ("ControlGroup", control_group),
        ("ControlGroupId", "0"),
        ("MemoryCurrent", not_set if memory_current is None else str(memory_current)),
        ("MemoryAvailable", not_set),
        ("CPUUsageNSec", not_set),
        ("EffectiveCPUs", ""),
        ("EffectiveMemoryNodes", ""),
        ("TasksCurrent", not_set if tasks_current is None else str(tasks_current)),
        ("IPIngressBytes", "[no data]"),
        ("IPIngressPackets", "[no data]"),
        ("IPEgressBytes", "[no data]"),
        ("IPEgressPackets", "[no data]"),
        ("IOReadBytes", str(UINT64_MAX)),
        ("IOReadOperations", str(UINT64_MAX)),
        ("IOWriteBytes", str(UINT64_MAX)),
        ("IOWriteOperations", str(UINT64_MAX)),
        ("Delegate", _bool(ne, "Delegate", False)),
        ("CPUAccounting", _bool(ne, "CPUAccounting", facts.cpu_accounting)),
        ("CPUWeight", ne.get("CPUWeight", not_set)),
        ("StartupCPUWeight", ne.get("StartupCPUWeight", not_set)),
        ("CPUShares", ne.get("CPUShares", not_set)),
        ("StartupCPUShares", ne.get("StartupCPUShares", not_set)),
        ("CPUQuotaPerSecUSec", "infinity"),
        ("CPUQuotaPeriodUSec", "infinity"),
        ("AllowedCPUs", ne.get("AllowedCPUs", "")),
        ("StartupAllowedCPUs", ne.get("StartupAllowedCPUs", "")),
        ("AllowedMemoryNodes", ne.get("AllowedMemoryNodes", "")),
        ("StartupAllowedMemoryNodes", ne.get("StartupAllowedMemoryNodes", "")),
        ("IOAccounting", _bool(ne, "IOAccounting", facts.io_accounting)),
        ("IOWeight", ne.get("IOWeight", not_set)),
        ("StartupIOWeight", ne.get("StartupIOWeight", not_set)),
        ("BlockIOAccounting", _bool(ne, "BlockIOAccounting", False)),
        ("BlockIOWeight", ne.get("BlockIOWeight", not_set)),
        ("StartupBlockIOWeight", ne.get("StartupBlockIOWeight", not_set)),
        ("MemoryAccounting", _bool(ne, "MemoryAccounting", facts.memory_accounting)),
        ("DefaultMemoryLow", "0"),
        ("DefaultMemoryMin", "0"),
        ("MemoryMin", ne.get("MemoryMin", "0")),
        ("MemoryLow", ne.get("MemoryLow", "0")),
        ("MemoryHigh", ne.get("MemoryHigh", "infinity")),
        ("MemoryMax", ne.get("MemoryMax", "infinity")),
        ("MemorySwapMax", ne.get("MemorySwapMax", "infinity")),
        ("MemoryLimit", ne.get("MemoryLimit", "infinity")),
        *_device_properties(unit),
        ("TasksAccounting", _bool(ne, "TasksAccounting", facts.tasks_accounting)),
        ("TasksMax", ne.get("TasksMax", _num(facts.tasks_max))),
        ("IPAccounting", _bool(ne, "IPAccounting", False)),
        *_ip_access_properties(unit),
        ("ManagedOOMSwap", ne.get("ManagedOOMSwap", "auto")),
        ("ManagedOOMMemoryPressure", ne.get("ManagedOOMMemoryPressure", "auto")),
        ("ManagedOOMMemoryPressureLimit", "0"),
        ("ManagedOOMPreference", ne.get("ManagedOOMPreference", "none")),
    ]
    return props


def _ip_access_properties(unit: Unit) -> list[Property]:
    """IPAddressAllow=, IPAddressDeny= (core.ipaccess): empty ones only with -p or --all."""
    values: dict[str, list[str]] = {"IPAddressAllow": [], "IPAddressDeny": []}
    for n in unit.not_enforced:
        if n.key in values:
            values[n.key].append(n.value)
    if not values["IPAddressAllow"] and not values["IPAddressDeny"]:
        return [("IPAddressAllow", ""), ("IPAddressDeny", "")]
    from pidone.core.ipaccess import show_value  # (ipaddress: only for units that use it)

    return [(key, show_value(v)) for key, v in values.items()]


def _device_properties(unit: Unit) -> list[Property]:
    """DevicePolicy= and DeviceAllow= as 252 leaves them after loading
    (core.devicepolicy): one `DeviceAllow=PATH RWM` line per entry, last first, and no
    DeviceAllow= line at all when there is none, even with -p or --all (systemctl-show.c)."""
    dp = device_policy(unit)
    props: list[Property] = [("DevicePolicy", dp.policy)]
    props += [("DeviceAllow", f"{path} {rights}") for path, rights in dp.entries]
    return props


def _not_enforced(unit: Unit) -> dict[str, str]:
    """Last value of each not-enforced key (what show reports the unit asked for)."""
    return {n.key: n.value for n in unit.not_enforced}


def _bool(ne: dict[str, str], key: str, default: bool) -> str:
    if key not in ne:
        return yes_no(default)
    try:
        return yes_no(parse_boolean(ne[key]))
    except ValueError:
        return yes_no(default)


def _limit(value: int) -> str:
    return "infinity" if value >= RLIM_INFINITY else str(value)


def exec_properties(
    e: ExecContext,
    facts: ManagerFacts,
    quote: Callable[[str], str],
    non_blocking: bool = False,
    not_enforced: dict[str, str] | None = None,
) -> list[Property]:
    """bus_exec_vtable, in order."""
    ne = not_enforced or {}

    def words(items: list[str]) -> str:
        return " ".join(quote(i) for i in items)

    props: list[Property] = [
        ("Environment", words([f"{k}={v}" for k, v in e.environment])),
        (
            "EnvironmentFiles",
            " ".join(f"{p} (ignore_errors={yes_no(opt)})" for p, opt in e.environment_files),
        ),
        ("PassEnvironment", words(e.pass_environment)),
        ("UnsetEnvironment", words(e.unset_environment)),
        ("UMask", f"{e.umask:04o}"),
    ]
    for name in LIMIT_ORDER:
        soft, hard = e.limits.get(name, facts.limits.get(name, DEFAULT_LIMITS[name]))
        props += [(f"Limit{name}", _limit(hard)), (f"Limit{name}Soft", _limit(soft))]
    wd = e.working_directory
    if wd and e.working_directory_missing_ok:
        wd = "!" + wd
    props += [
        ("WorkingDirectory", wd),
        ("RootDirectory", e.root_directory),
        ("RootImage", ""),
        ("OOMScoreAdjust", str(e.oom_score_adjust or 0)),
        ("CoredumpFilter", "0x33"),
        ("Nice", str(e.nice or 0)),
        ("IOSchedulingClass", str(2 if e.io_scheduling_class is None else e.io_scheduling_class)),
        (
            "IOSchedulingPriority",
            str(4 if e.io_scheduling_priority is None else e.io_scheduling_priority),
        ),
        ("CPUSchedulingPolicy", str(e.cpu_scheduling_policy or 0)),
        ("CPUSchedulingPriority", str(e.cpu_scheduling_priority or 0)),
        ("CPUAffinity", ne.get("CPUAffinity", "")),
        ("CPUAffinityFromNUMA", "no"),
        ("NUMAPolicy", "n/a"),
        ("NUMAMask", ""),
        (
            "TimerSlackNSec",
            str(facts.timer_slack_nsec if e.timer_slack_nsec is None else e.timer_slack_nsec),
        ),
        ("CPUSchedulingResetOnFork", yes_no(e.cpu_scheduling_reset_on_fork)),
        ("NonBlocking", yes_no(non_blocking)),
        ("StandardInput", e.standard_input),
        ("StandardOutput", e.standard_output),
        ("StandardError", e.standard_error),
        ("TTYPath", e.tty_path),
        ("TTYReset", yes_no(e.tty_reset)),
        ("TTYVHangup", yes_no(e.tty_vhangup)),
        ("TTYVTDisallocate", _bool(ne, "TTYVTDisallocate", False)),
        ("SyslogPriority", str(e.syslog_facility << 3 | e.syslog_level)),
        ("SyslogIdentifier", e.syslog_identifier),
        ("SyslogLevelPrefix", yes_no(e.syslog_level_prefix)),
        ("SyslogLevel", str(e.syslog_level)),
        ("SyslogFacility", str(e.syslog_facility)),
        ("LogLevelMax", str(e.log_level_max)),
        ("LogRateLimitIntervalUSec", "0"),
        ("LogRateLimitBurst", "0"),
        ("LogExtraFields", words(e.log_extra_fields)),
        ("SecureBits", str(e.secure_bits)),
        (
            "CapabilityBoundingSet",
            facts.capabilities
            if e.capability_bounding_set is None
            else format_capabilities(e.capability_bounding_set),
        ),
        ("AmbientCapabilities", format_capabilities(e.ambient_capabilities)),
        ("User", e.user),
        ("Group", e.group),
        ("DynamicUser", yes_no(e.dynamic_user)),
        ("RemoveIPC", yes_no(e.remove_ipc)),
        ("SupplementaryGroups", words(e.supplementary_groups)),
        ("PAMName", e.pam_name),
        ("ReadWritePaths", words(e.read_write_paths)),
        ("ReadOnlyPaths", words(e.read_only_paths)),
        ("InaccessiblePaths", words(e.inaccessible_paths)),
        ("ExecPaths", words(e.exec_paths)),
        ("NoExecPaths", words(e.no_exec_paths)),
        ("PrivateTmp", yes_no(e.private_tmp)),
        ("PrivateDevices", yes_no(e.private_devices)),
    ]
    props += [
        ("ProtectClock", yes_no(e.protect_clock)),
        ("ProtectKernelTunables", yes_no(e.protect_kernel_tunables)),
        ("ProtectKernelModules", yes_no(e.protect_kernel_modules)),
        ("ProtectKernelLogs", yes_no(e.protect_kernel_logs)),
        ("ProtectControlGroups", yes_no(e.protect_control_groups)),
    ]
    props.append(("PrivateNetwork", yes_no(e.private_network)))
    props += [
        ("PrivateUsers", yes_no(e.private_users)),
        ("PrivateMounts", yes_no(e.private_mounts)),
        ("PrivateIPC", _bool(ne, "PrivateIPC", False)),
    ]
    props += [
        ("ProtectHome", e.protect_home),
        ("ProtectSystem", e.protect_system),
        ("SameProcessGroup", "no"),
        ("UtmpIdentifier", e.utmp_identifier),
        ("UtmpMode", "init"),
        ("IgnoreSIGPIPE", yes_no(e.ignore_sigpipe)),
        ("NoNewPrivileges", yes_no(e.no_new_privileges)),
        ("SystemCallFilter", syscall_filter_value(e)),
        ("SystemCallArchitectures", " ".join(sorted(e.syscall_archs))),
        ("SystemCallErrorNumber", str(_errno_number(e.syscall_errno))),
        ("SystemCallLog", _list_value(e.syscall_log_allow_list, e.syscall_log)),
        ("Personality", PERSONALITY_NAMES.get(e.personality, "")),
        ("LockPersonality", yes_no(e.lock_personality)),
        ("RestrictAddressFamilies", address_families_value(e)),
        ("RuntimeDirectoryPreserve", e.runtime_directory_preserve),
    ]
    for label, attr in (
        ("Runtime", "runtime"),
        ("State", "state"),
        ("Cache", "cache"),
        ("Logs", "logs"),
        ("Configuration", "configuration"),
    ):
        mode = getattr(e, f"{attr}_directory_mode")
        props += [
            (f"{label}DirectoryMode", f"{mode:04o}"),
            (f"{label}Directory", words(getattr(e, f"{attr}_directory"))),
        ]
    props += [
        ("TimeoutCleanUSec", "infinity"),
        ("MemoryDenyWriteExecute", yes_no(e.memory_deny_write_execute)),
        ("RestrictRealtime", yes_no(e.restrict_realtime)),
        ("RestrictSUIDSGID", yes_no(e.restrict_suid_sgid)),
        ("RestrictNamespaces", restrict_namespaces_value(e.restrict_namespaces)),
        ("BindPaths", words(e.bind_paths)),
        ("BindReadOnlyPaths", words(e.bind_read_only_paths)),
        ("TemporaryFileSystem", words(e.temporary_file_system)),
        ("MountAPIVFS", yes_no(e.mount_apivfs)),
        ("KeyringMode", ne.get("KeyringMode", "private")),
        ("ProtectProc", e.protect_proc),
        ("ProcSubset", e.proc_subset),
        ("ProtectHostname", yes_no(e.protect_hostname)),
    ]
    return props


# --- the seccomp settings (systemd.exec(5) "SYSTEM CALL FILTERING") ---------------------------
#
# The "(bas)" properties (an allow-list flag and names) print as `~` + names for a deny
# list (systemctl-show.c); `render.show` hides them when that is a bare `~` (a deny list
# with nothing in it, what an unset one is) unless asked with -p or --all.

PERSONALITY_NAMES = {0x0000: "x86-64", 0x0008: "x86"}  # personality_to_string() on x86-64


def _errno_number(errno: int) -> int:
    return errno  # (SECCOMP_ERROR_NUMBER_KILL goes on the bus as it is: INT_MAX - 1)


def _list_value(allow_list: bool, names: Iterable[str]) -> str:
    return ("" if allow_list else "~") + " ".join(sorted(names))


def syscall_filter_value(e: ExecContext) -> str:
    """property_get_syscall_filter(): `name` or `name:errno` (errno name, number, or
    `kill`); in an allow list the entries with an errno (denied) are left out."""
    items = []
    for name, errno in e.syscall_filter.items():
        if errno < 0:
            items.append(name)
        elif not e.syscall_allow_list:
            from pidone.core.kernelnames import ERRNO_NAMES

            shown = "kill" if errno == SECCOMP_ERROR_NUMBER_KILL else ERRNO_NAMES.get(errno)
            items.append(f"{name}:{shown if shown else errno}")
    return _list_value(e.syscall_allow_list, items)


def address_families_value(e: ExecContext) -> str:
    if not e.address_families:
        return _list_value(e.address_families_allow_list, ())
    from pidone.core.kernelnames import AF_NAMES

    names = (AF_NAMES[af] for af in e.address_families if af in AF_NAMES)
    return _list_value(e.address_families_allow_list, names)


def restrict_namespaces_value(flags: int) -> str:
    """bus_print_property() of RestrictNamespaces=: yes, no, or the types still allowed."""
    if flags & NAMESPACE_FLAGS_ALL == 0:
        return "yes"
    if flags & NAMESPACE_FLAGS_ALL == NAMESPACE_FLAGS_ALL:
        return "no"
    return " ".join(name for name, flag in NAMESPACES if flags & flag)


def kill_properties(k: KillContext) -> list[Property]:
    """bus_kill_vtable."""
    return [
        ("KillMode", k.kill_mode),
        ("KillSignal", str(k.kill_signal)),
        ("RestartKillSignal", str(k.restart_kill_signal or k.kill_signal)),
        ("FinalKillSignal", str(k.final_kill_signal)),
        ("SendSIGKILL", yes_no(k.send_sigkill)),
        ("SendSIGHUP", yes_no(k.send_sighup)),
        ("WatchdogSignal", str(k.watchdog_signal)),
    ]
