"""The table of every unit-file directive pidone knows: section, parser, target, empty rule, class.

This is the one place that says what a key means (systemd 252's
src/core/load-fragment-gperf.gperf.in plays the same role). `core.units` reads it and
never names a directive itself, except for the few cross-key rules (Type= defaults,
service_verify() checks). Adding a directive = adding one row (or one name to a
not-enforced name list); `tests/core/test_directives.py` checks that every parser
named here exists.

Columns:

* `parser`: the name of an apply function in `core.units` (`_PARSERS`). It validates
  the value, with systemd's exact warning, and stores it.
* `target`: attribute path inside the section object (`exec.user` on a `[Service]`
  is `ServiceSection.exec.user`); "" = nothing to store.
* `empty`: what `Key=` (empty value) does (spec 01 §3, pitfall 2):
  `reset` clears a list or unsets a string; `default` puts the default back;
  `warn` is "Failed to parse ..., ignoring" and keeps the earlier value (the parser
  says it); `no-effect` for dependencies, which can only be added; `parser` when the
  parser gives the empty value its own meaning (an empty `CapabilityBoundingSet=` is the
  empty set, an empty `OnCalendar=` drops every timer trigger).
* `klass`: `implemented` (pidone acts on it), `not-enforced` (accepted and recorded in
  `Unit.not_enforced`: sandboxing, resource control, seccomp...), `info` (accepted,
  nothing to do: documentation, obsolete keys, other unit types).

The key set is systemd 252's, taken from the strings of `libsystemd-core-252.so`
(`Section.Key` entries of the gperf table), so no real unit file gets an "Unknown key"
warning that systemd would not print.
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass
from pidone.core.hints import Literal

Empty = Literal["reset", "default", "warn", "no-effect", "parser"]
Klass = Literal["implemented", "not-enforced", "info"]


@dataclass(frozen=True, slots=True)
class Directive:
    """One row: how a key is parsed, where it goes, what an empty value does."""

    key: str
    parser: str
    target: str = ""
    empty: Empty = "warn"
    klass: Klass = "implemented"
    what: str = ""  # the noun of "Failed to parse <what>, ignoring: X"
    choices: tuple[str, ...] = ()


def _d(
    key: str,
    parser: str,
    target: str = "",
    empty: Empty = "warn",
    klass: Klass = "implemented",
    what: str = "",
    choices: str = "",
) -> Directive:
    return Directive(key, parser, target, empty, klass, what, tuple(choices.split()))


def _ne(names: str, parser: str = "accept", empty: Empty = "reset") -> list[Directive]:
    """Not-enforced keys: accepted, validated by `parser`, recorded in Unit.not_enforced."""
    return [Directive(n, parser, "", empty, "not-enforced") for n in names.split()]


def _info(names: str, parser: str = "accept") -> list[Directive]:
    return [Directive(n, parser, "", "reset", "info") for n in names.split()]


_ACTIONS = (
    "none reboot reboot-force reboot-immediate poweroff poweroff-force poweroff-immediate "
    "exit exit-force halt halt-force halt-immediate kexec kexec-force"
)
_JOB_MODES = (
    "fail replace replace-irreversibly isolate flush ignore-dependencies ignore-requirements"
)

# --- [Unit] (man 5 systemd.unit) -------------------------------------------------------------
_DEPS = (
    ("Wants", "wants"),
    ("Requires", "requires"),
    ("Requisite", "requisite"),
    ("BindsTo", "binds_to"),
    ("PartOf", "part_of"),
    ("Upholds", "upholds"),
    ("Conflicts", "conflicts"),
    ("Before", "before"),
    ("After", "after"),
    ("OnFailure", "on_failure"),
    ("OnSuccess", "on_success"),
    ("PropagatesReloadTo", "propagates_reload_to"),
    ("ReloadPropagatedFrom", "reload_propagated_from"),
    ("JoinsNamespaceOf", "joins_namespace_of"),
)
_CONDITIONS = (
    "ACPower Architecture CPUFeature CPUPressure CPUs Capability ControlGroupController "
    "Credential DirectoryNotEmpty Environment FileIsExecutable FileNotEmpty FirstBoot Group "
    "Host IOPressure KernelCommandLine KernelVersion Memory MemoryPressure NeedsUpdate "
    "OSRelease PathExists PathExistsGlob PathIsDirectory PathIsEncrypted PathIsMountPoint "
    "PathIsReadWrite PathIsSymbolicLink Security User Virtualization"
)

UNIT: list[Directive] = [
    _d("Description", "string", "description", "reset"),
    _d("Documentation", "documentation", "documentation", "reset"),
    *[_d(k, "deps", t, "no-effect") for k, t in _DEPS],
    # old spellings, still accepted by 252
    _d("BindTo", "deps", "binds_to", "no-effect"),
    _d("PropagateReloadTo", "deps", "propagates_reload_to", "no-effect"),
    _d("PropagateReloadFrom", "deps", "reload_propagated_from", "no-effect"),
    _d("RequiresOverridable", "deps_obsolete", "requires", "no-effect"),
    _d("RequisiteOverridable", "deps_obsolete", "requisite", "no-effect"),
    _d("PropagatesStopTo", "deps", "", "no-effect", "info"),
    _d("StopPropagatedFrom", "deps", "", "no-effect", "info"),
    _d("RequiresMountsFor", "mounts_for", "requires_mounts_for", "reset"),
    _d("OnFailureJobMode", "enum", "on_failure_job_mode", what="job mode", choices=_JOB_MODES),
    _d("OnSuccessJobMode", "enum", "", what="job mode", choices=_JOB_MODES),
    _d("OnFailureIsolate", "on_failure_isolate", "on_failure_job_mode", klass="info"),
    _d("IgnoreOnIsolate", "bool", "ignore_on_isolate"),
    _d("IgnoreOnSnapshot", "removed", klass="info"),
    _d("StopWhenUnneeded", "bool", "stop_when_unneeded"),
    _d("RefuseManualStart", "bool", "refuse_manual_start"),
    _d("RefuseManualStop", "bool", "refuse_manual_stop"),
    _d("AllowIsolate", "bool", "allow_isolate"),
    _d("DefaultDependencies", "bool", "default_dependencies"),
    _d(
        "CollectMode",
        "enum",
        "collect_mode",
        what="garbage collection mode",
        choices="inactive inactive-or-failed",
    ),
    _d("JobTimeoutSec", "sec_param", "job_timeout_usec"),
    _d("JobRunningTimeoutSec", "sec_param", "job_running_timeout_usec"),
    _d("JobTimeoutAction", "action", "job_timeout_action", choices=_ACTIONS),
    _d("JobTimeoutRebootArgument", "string", "", "reset", "info"),
    _d("StartLimitIntervalSec", "sec", "start_limit_interval_usec"),
    _d("StartLimitInterval", "sec", "start_limit_interval_usec"),
    _d("StartLimitBurst", "unsigned", "start_limit_burst"),
    _d("StartLimitAction", "action", "start_limit_action", choices=_ACTIONS),
    _d("FailureAction", "action", "failure_action", choices=_ACTIONS),
    _d("SuccessAction", "action", "success_action", choices=_ACTIONS),
    _d("FailureActionExitStatus", "action_status", "failure_action_exit_status", "default"),
    _d("SuccessActionExitStatus", "action_status", "success_action_exit_status", "default"),
    _d("RebootArgument", "string", "", "reset", "info"),
    _d("SourcePath", "path", "source_path", "reset"),
    *[_d("Condition" + c, "condition", "conditions", "reset") for c in _CONDITIONS.split()],
    *[_d("Assert" + c, "condition", "asserts", "reset") for c in _CONDITIONS.split()],
    _d("ConditionFirmware", "condition", "conditions", "reset"),
]

# --- [Install] (read by enable/disable, core.install; the manager only accepts it) ----------
INSTALL: list[Directive] = _info("Alias WantedBy RequiredBy Also DefaultInstance", "install")

# --- resource control, shared by service/socket/mount/swap/scope/slice (systemd.resource-control)
CGROUP: list[Directive] = [
    _d("Slice", "slice", "", "reset", "not-enforced"),
    *_ne("DefaultMemoryLow DefaultMemoryMin MemoryMin MemoryLow MemoryHigh MemoryMax", "memory"),
    *_ne("MemorySwapMax MemoryLimit", "memory"),
    *_ne("TasksMax", "tasks_max"),
    *_ne("CPUQuota", "cpu_quota"),
    *_ne("CPUWeight StartupCPUWeight", "cpu_weight"),
    *_ne("IOWeight StartupIOWeight", "io_weight"),
    *_ne("BlockIOWeight StartupBlockIOWeight", "blockio_weight"),
    *_ne("CPUShares StartupCPUShares", "cpu_shares"),
    *_ne("BlockIODeviceWeight BlockIOReadBandwidth BlockIOWriteBandwidth", "blockio_device"),
    *_ne("Delegate", "delegate"),
    *_ne("DevicePolicy", "device_policy"),
    *_ne("ManagedOOMSwap ManagedOOMMemoryPressure", "managed_oom"),
    *_ne("ManagedOOMPreference", "oom_preference"),
    *_ne(
        "AllowedCPUs AllowedMemoryNodes BPFProgram CPUQuotaPeriodSec DeviceAllow "
        "DisableControllers IODeviceLatencyTargetSec IODeviceWeight IOReadBandwidthMax "
        "IOReadIOPSMax IOWriteBandwidthMax IOWriteIOPSMax IPAddressAllow IPAddressDeny "
        "IPEgressFilterPath IPIngressFilterPath ManagedOOMMemoryPressureLimit NetClass "
        "RestrictNetworkInterfaces SocketBindAllow SocketBindDeny StartupAllowedCPUs "
        "StartupAllowedMemoryNodes"
    ),
    *_ne(
        "BlockIOAccounting CPUAccounting IOAccounting IPAccounting MemoryAccounting "
        "TasksAccounting",
        "bool",
        "warn",
    ),
]

# --- killing, shared by service/socket/mount/swap/scope (man 5 systemd.kill) ---------------
KILL: list[Directive] = [
    _d(
        "KillMode",
        "enum",
        "kill.kill_mode",
        "default",
        what="kill mode specification",
        choices="control-group process mixed none",
    ),
    _d("KillSignal", "signal", "kill.kill_signal"),
    _d("RestartKillSignal", "signal", "kill.restart_kill_signal"),
    _d("FinalKillSignal", "signal", "kill.final_kill_signal"),
    _d("WatchdogSignal", "signal", "kill.watchdog_signal"),
    _d("SendSIGKILL", "bool", "kill.send_sigkill"),
    _d("SendSIGHUP", "bool", "kill.send_sighup"),
]

_LIMITS = (
    "AS CORE CPU DATA FSIZE LOCKS MEMLOCK MSGQUEUE NICE NOFILE NPROC RSS RTPRIO RTTIME "
    "SIGPENDING STACK"
)

# --- process setup, shared by service/socket/mount/swap (man 5 systemd.exec) ---------------
EXEC: list[Directive] = [
    _d("WorkingDirectory", "workdir", "exec.working_directory", "default"),
    _d("RootDirectory", "path_fatal", "exec.root_directory", "reset"),
    _d("User", "user", "exec.user", "reset"),
    _d("Group", "user", "exec.group", "reset"),
    _d("SupplementaryGroups", "groups", "exec.supplementary_groups", "reset"),
    _d("DynamicUser", "bool_fatal", "exec.dynamic_user"),
    _d("UMask", "mode", "exec.umask"),
    _d("Environment", "environ", "exec.environment", "reset"),
    _d("EnvironmentFile", "envfile", "exec.environment_files", "reset"),
    _d("PassEnvironment", "passenv", "exec.pass_environment", "reset"),
    _d("UnsetEnvironment", "unsetenv", "exec.unset_environment", "reset"),
    *[_d("Limit" + n, "rlimit", "exec.limits", "warn") for n in _LIMITS.split()],
    _d("Nice", "nice", "exec.nice", "default"),
    _d("OOMScoreAdjust", "oom", "exec.oom_score_adjust", "default"),
    _d("IOSchedulingClass", "ioclass", "exec.io_scheduling_class", "default"),
    _d("IOSchedulingPriority", "ioprio", "exec.io_scheduling_priority", "default"),
    _d("CPUSchedulingPolicy", "cpusched", "exec.cpu_scheduling_policy", "default"),
    _d("CPUSchedulingPriority", "cpuprio", "exec.cpu_scheduling_priority", "default"),
    _d("CPUSchedulingResetOnFork", "bool", "exec.cpu_scheduling_reset_on_fork"),
    *[
        _d(k + "Directory", "dirs", f"exec.{t}_directory", "reset")
        for k, t in (
            ("Runtime", "runtime"),
            ("State", "state"),
            ("Cache", "cache"),
            ("Logs", "logs"),
            ("Configuration", "configuration"),
        )
    ],
    *[
        _d(k + "DirectoryMode", "mode", f"exec.{t}_directory_mode")
        for k, t in (
            ("Runtime", "runtime"),
            ("State", "state"),
            ("Cache", "cache"),
            ("Logs", "logs"),
            ("Configuration", "configuration"),
        )
    ],
    _d(
        "RuntimeDirectoryPreserve",
        "enum",
        "exec.runtime_directory_preserve",
        what="runtime directory preserve mode",
        choices="no yes restart",
    ),
    _d("StandardInput", "stdin", "exec.standard_input", what="input specifier"),
    _d("StandardOutput", "stdout", "exec.standard_output", what="output specifier"),
    _d("StandardError", "stdout", "exec.standard_error", what="output specifier"),
    _d("StandardInputText", "stdin_text", "exec.standard_input_data", "reset"),
    _d("StandardInputData", "stdin_data", "exec.standard_input_data", "reset"),
    _d("TTYPath", "path", "exec.tty_path", "reset"),
    _d("TTYReset", "bool", "exec.tty_reset"),
    _d("TTYVHangup", "bool", "exec.tty_vhangup"),
    _d("SyslogIdentifier", "string", "exec.syslog_identifier", "reset"),
    _d("SyslogFacility", "facility", "exec.syslog_facility"),
    _d("SyslogLevel", "loglevel", "exec.syslog_level"),
    _d("SyslogLevelPrefix", "bool", "exec.syslog_level_prefix"),
    _d("LogLevelMax", "loglevel", "exec.log_level_max", "default"),
    _d("LogExtraFields", "log_fields", "exec.log_extra_fields", "reset"),
    _d("IgnoreSIGPIPE", "bool", "exec.ignore_sigpipe"),
    _d("NoNewPrivileges", "bool", "exec.no_new_privileges"),
    _d("CapabilityBoundingSet", "caps", "exec.capability_bounding_set", "parser"),
    _d("AmbientCapabilities", "caps", "exec.ambient_capabilities", "parser"),
    _d("SecureBits", "securebits", "exec.secure_bits", "parser"),
    _d("PAMName", "string", "exec.pam_name", "reset", "not-enforced"),
    _d("UtmpIdentifier", "string", "exec.utmp_identifier", "reset", "info"),
    _d("TimerSlackNSec", "nsec", "exec.timer_slack_nsec", "warn", "not-enforced"),
    # sandboxing that the model records as typed fields, but pidone does not enforce
    _d("PrivateTmp", "bool", "exec.private_tmp", klass="not-enforced"),
    _d("PrivateDevices", "bool", "exec.private_devices", klass="not-enforced"),
    _d("PrivateNetwork", "bool", "exec.private_network", klass="not-enforced"),
    _d("PrivateUsers", "bool", "exec.private_users", klass="not-enforced"),
    *(
        _d(key, "bool", f"exec.{attr}", klass="not-enforced")
        for key, attr in (
            ("ProtectKernelTunables", "protect_kernel_tunables"),
            ("ProtectKernelModules", "protect_kernel_modules"),
            ("ProtectKernelLogs", "protect_kernel_logs"),
            ("ProtectControlGroups", "protect_control_groups"),
            ("ProtectClock", "protect_clock"),
            ("ProtectHostname", "protect_hostname"),
            ("RemoveIPC", "remove_ipc"),
            ("PrivateMounts", "private_mounts"),
            ("MountAPIVFS", "mount_apivfs"),
        )
    ),
    _d(
        "ProtectSystem",
        "protect",
        "exec.protect_system",
        klass="not-enforced",
        what="protect system value",
        choices="no yes full strict",
    ),
    _d(
        "ProtectHome",
        "protect",
        "exec.protect_home",
        klass="not-enforced",
        what="protect home value",
        choices="no yes read-only tmpfs",
    ),
    _d("ReadWritePaths", "strv", "exec.read_write_paths", "reset", "not-enforced"),
    _d("ReadOnlyPaths", "strv", "exec.read_only_paths", "reset", "not-enforced"),
    _d("InaccessiblePaths", "strv", "exec.inaccessible_paths", "reset", "not-enforced"),
    _d("ExecPaths", "strv", "exec.exec_paths", "reset", "not-enforced"),
    _d("NoExecPaths", "strv", "exec.no_exec_paths", "reset", "not-enforced"),
    _d("ReadWriteDirectories", "strv", "exec.read_write_paths", "reset", "not-enforced"),
    _d("ReadOnlyDirectories", "strv", "exec.read_only_paths", "reset", "not-enforced"),
    _d("InaccessibleDirectories", "strv", "exec.inaccessible_paths", "reset", "not-enforced"),
    _d("BindPaths", "strv", "exec.bind_paths", "reset", "not-enforced"),
    _d("BindReadOnlyPaths", "strv", "exec.bind_read_only_paths", "reset", "not-enforced"),
    _d("TemporaryFileSystem", "strv", "exec.temporary_file_system", "reset", "not-enforced"),
    *_ne("PrivateIPC TTYVTDisallocate", "bool", "warn"),
    # systemd.exec(5) "SYSTEM CALL FILTERING": typed fields (core.seccompparsers), turned
    # into filters by core.seccompplan
    _d("SystemCallFilter", "syscall_filter", "exec.syscall_filter", "parser", "not-enforced"),
    _d("SystemCallLog", "syscall_log", "exec.syscall_log", "parser", "not-enforced"),
    _d("SystemCallErrorNumber", "syscall_errno", "exec.syscall_errno", "parser", "not-enforced"),
    _d("SystemCallArchitectures", "syscall_archs", "exec.syscall_archs", "parser", "not-enforced"),
    _d(
        "RestrictAddressFamilies",
        "address_families",
        "exec.address_families",
        "parser",
        "not-enforced",
    ),
    _d(
        "RestrictNamespaces",
        "restrict_namespaces",
        "exec.restrict_namespaces",
        "parser",
        "not-enforced",
    ),
    _d("Personality", "personality", "exec.personality", "parser", "not-enforced"),
    *(
        _d(key, "bool", f"exec.{attr}", klass="not-enforced")
        for key, attr in (
            ("LockPersonality", "lock_personality"),
            ("MemoryDenyWriteExecute", "memory_deny_write_execute"),
            ("RestrictRealtime", "restrict_realtime"),
            ("RestrictSUIDSGID", "restrict_suid_sgid"),
        )
    ),
    _d("ProtectProc", "protect_proc", "exec.protect_proc", "reset", "not-enforced"),
    _d("ProcSubset", "proc_subset", "exec.proc_subset", "reset", "not-enforced"),
    *_ne("KeyringMode", "keyring_mode"),
    *_ne("UtmpMode", "utmp_mode"),
    *_ne("LogRateLimitIntervalSec", "sec", "warn"),
    *_ne("LogRateLimitBurst", "unsigned", "warn"),
    _d("Capabilities", "removed_option", klass="info"),
    *_ne(
        "AppArmorProfile CPUAffinity CoredumpFilter ExecSearchPath "
        "ExtensionDirectories ExtensionImages IPCNamespacePath LoadCredential "
        "LoadCredentialEncrypted LogNamespace "
        "MountFlags MountImages NUMAMask NUMAPolicy NetworkNamespacePath "
        "RestrictFileSystems "
        "RootHash RootHashSignature RootImage RootImageOptions RootVerity "
        "SELinuxContext SetCredential SetCredentialEncrypted SmackProcessLabel "
        "TTYColumns TTYRows"
    ),
]

_SERVICE_TYPES = "simple exec forking oneshot dbus notify idle"
_RESTARTS = "no on-success on-failure on-abnormal on-watchdog on-abort always"
_FAILURE_MODES = "terminate abort kill"

SERVICE: list[Directive] = [
    _d("Type", "enum", "type", what="service type", choices=_SERVICE_TYPES),
    _d("ExitType", "enum", "exit_type", what="service exit type", choices="main cgroup"),
    _d("Restart", "enum", "restart", what="service restart specifier", choices=_RESTARTS),
    _d("RestartSec", "sec", "restart_usec"),
    _d("RemainAfterExit", "bool", "remain_after_exit"),
    _d("GuessMainPID", "bool", "guess_main_pid"),
    _d("PIDFile", "pidfile", "pid_file", "reset"),
    _d("BusName", "busname", "bus_name"),
    *[
        _d(k, "exec", t, "reset")
        for k, t in (
            ("ExecCondition", "exec_condition"),
            ("ExecStartPre", "exec_start_pre"),
            ("ExecStart", "exec_start"),
            ("ExecStartPost", "exec_start_post"),
            ("ExecReload", "exec_reload"),
            ("ExecStop", "exec_stop"),
            ("ExecStopPost", "exec_stop_post"),
        )
    ],
    _d("RestartPreventExitStatus", "exitset", "restart_prevent_exit_status", "reset"),
    _d("RestartForceExitStatus", "exitset", "restart_force_exit_status", "reset"),
    _d("SuccessExitStatus", "exitset", "success_exit_status", "reset"),
    _d("TimeoutSec", "timeout", "timeout_start_usec"),
    _d("TimeoutStartSec", "timeout", "timeout_start_usec"),
    _d("TimeoutStopSec", "sec_fix0", "timeout_stop_usec", what="time value"),
    _d("TimeoutAbortSec", "timeout_abort", "timeout_abort_usec", "default"),
    _d(
        "TimeoutStartFailureMode",
        "enum",
        "timeout_start_failure_mode",
        what="timeout failure mode",
        choices=_FAILURE_MODES,
    ),
    _d(
        "TimeoutStopFailureMode",
        "enum",
        "timeout_stop_failure_mode",
        what="timeout failure mode",
        choices=_FAILURE_MODES,
    ),
    _d("RuntimeMaxSec", "sec", "runtime_max_usec"),
    _d("RuntimeRandomizedExtraSec", "sec", "", klass="not-enforced"),
    _d("WatchdogSec", "sec", "watchdog_usec"),
    _d(
        "NotifyAccess",
        "enum",
        "notify_access",
        what="notify access specifier",
        choices="none main exec all",
    ),
    _d("FileDescriptorStoreMax", "unsigned", "file_descriptor_store_max"),
    _d("Sockets", "sockets", "sockets", "no-effect"),
    _d("NonBlocking", "bool", "non_blocking"),
    _d("OOMPolicy", "enum", "oom_policy", what="OOM policy", choices="continue stop kill"),
    _d("RootDirectoryStartOnly", "bool", "root_directory_start_only"),
    _d("PermissionsStartOnly", "bool", "exec.permissions_start_only"),
    _d("TimeoutCleanSec", "sec", "", klass="info"),
    # [Unit] settings that old units still put in [Service] (compat, same meaning)
    _d("StartLimitInterval", "sec", "@unit.start_limit_interval_usec"),
    _d("StartLimitBurst", "unsigned", "@unit.start_limit_burst"),
    _d("StartLimitAction", "action", "@unit.start_limit_action", choices=_ACTIONS),
    _d("FailureAction", "action", "@unit.failure_action", choices=_ACTIONS),
    _d("RebootArgument", "string", "", "reset", "info"),
    *[_d(k, "removed_option", klass="info") for k in ("BusPolicy", "SysVStartPriority")],
    *_info("USBFunctionDescriptors USBFunctionStrings"),
]

_LISTEN = (
    "ListenStream ListenDatagram ListenSequentialPacket ListenFIFO ListenNetlink "
    "ListenSpecial ListenMessageQueue ListenUSBFunction"
)

SOCKET: list[Directive] = [
    *[_d(k, "listen", "listen", "reset") for k in _LISTEN.split()],
    _d("Accept", "bool", "accept"),
    _d("Service", "socket_service", "service", "warn"),
    _d("SocketUser", "user", "socket_user", "reset"),
    _d("SocketGroup", "user", "socket_group", "reset"),
    _d("SocketMode", "mode", "socket_mode"),
    _d("DirectoryMode", "mode", "directory_mode"),
    _d("Backlog", "unsigned", "backlog"),
    _d(
        "BindIPv6Only",
        "bind_ipv6_only",
        "bind_ipv6_only",
        what="bind IPv6 only value",
        choices="default both ipv6-only",
    ),
    _d("ReusePort", "bool", "reuse_port"),
    _d("FreeBind", "bool", "free_bind"),
    _d("Transparent", "bool", "transparent"),
    _d("Broadcast", "bool", "broadcast"),
    _d("PassCredentials", "bool", "pass_credentials"),
    _d("PassSecurity", "bool", "pass_security"),
    _d("KeepAlive", "bool", "keep_alive"),
    _d("NoDelay", "bool", "no_delay"),
    _d("RemoveOnStop", "bool", "remove_on_stop"),
    _d("Symlinks", "symlinks", "symlinks", "reset"),
    _d("FileDescriptorName", "fdname", "file_descriptor_name", "reset"),
    _d("MaxConnections", "unsigned", "max_connections"),
    _d("MaxConnectionsPerSource", "unsigned", "max_connections_per_source"),
    _d("TriggerLimitIntervalSec", "sec", "trigger_limit_interval_usec"),
    _d("TriggerLimitBurst", "unsigned", "trigger_limit_burst"),
    _d("TimeoutSec", "sec_fix0", "timeout_usec", what="time value"),
    _d("TimeoutCleanSec", "sec", "", klass="info"),
    *[
        _d(k, "exec", t, "reset")
        for k, t in (
            ("ExecStartPre", "exec_start_pre"),
            ("ExecStartPost", "exec_start_post"),
            ("ExecStopPre", "exec_stop_pre"),
            ("ExecStopPost", "exec_stop_post"),
        )
    ],
    *_ne("BindToDevice", "ifname"),
    *_ne("DeferAcceptSec KeepAliveTimeSec KeepAliveIntervalSec", "sec", "warn"),
    *_ne("KeepAliveProbes", "unsigned", "warn"),
    *_ne("Mark Priority IPTTL", "int"),
    *_ne("IPTOS", "iptos"),
    *_ne("PipeSize ReceiveBuffer SendBuffer", "size"),
    *_ne("SocketProtocol", "socket_protocol"),
    *_ne("Timestamping", "timestamping"),
    *_ne("Writable FlushPending PassPacketInfo", "bool", "warn"),
    *_ne(
        "MessageQueueMaxMessages MessageQueueMessageSize SELinuxContextFromNet SmackLabel "
        "SmackLabelIPIn SmackLabelIPOut TCPCongestion"
    ),
]

TIMER: list[Directive] = [
    *[
        _d(k, "timer_sec", t, "parser")
        for k, t in (
            ("OnActiveSec", "on_active_usec"),
            ("OnBootSec", "on_boot_usec"),
            ("OnStartupSec", "on_startup_usec"),
            ("OnUnitActiveSec", "on_unit_active_usec"),
            ("OnUnitInactiveSec", "on_unit_inactive_usec"),
        )
    ],
    _d("OnCalendar", "calendar", "on_calendar", "parser"),
    _d("AccuracySec", "sec", "accuracy_usec"),
    _d("RandomizedDelaySec", "sec", "randomized_delay_usec"),
    _d("FixedRandomDelay", "bool", "fixed_random_delay"),
    _d("OnClockChange", "bool", "on_clock_change"),
    _d("OnTimezoneChange", "bool", "on_timezone_change"),
    _d("Unit", "timer_unit", "unit", "warn"),
    _d("Persistent", "bool", "persistent"),
    _d("WakeSystem", "bool", "wake_system"),
    _d("RemainAfterElapse", "bool", "remain_after_elapse"),
]

# [Path] (man 5 systemd.path; load-fragment-gperf: config_parse_path_spec for the five
# watch kinds, an empty value clears them all).
PATH_KEYS = [
    *[
        _d(k, "path_spec", "specs", "parser")
        for k in ("PathExists", "PathExistsGlob", "PathChanged", "PathModified")
    ],
    _d("DirectoryNotEmpty", "path_spec", "specs", "parser"),
    _d("Unit", "timer_unit", "unit", "warn"),
    _d("MakeDirectory", "bool", "make_directory"),
    _d("DirectoryMode", "mode", "directory_mode"),
    _d("TriggerLimitIntervalSec", "sec", "trigger_limit_interval_usec"),
    _d("TriggerLimitBurst", "unsigned", "trigger_limit_burst"),
]

# Unit types pidone does not run: every key is accepted (info) so their files load cleanly.
MOUNT_KEYS = _info(
    "What Where Type Options SloppyOptions LazyUnmount ForceUnmount ReadWriteOnly "
    "DirectoryMode TimeoutSec TimeoutCleanSec"
)
SWAP_KEYS = _info("What Priority Options TimeoutSec TimeoutCleanSec")
AUTOMOUNT_KEYS = _info("Where ExtraOptions DirectoryMode TimeoutIdleSec")
SCOPE_KEYS = _info("RuntimeMaxSec RuntimeRandomizedExtraSec TimeoutStopSec OOMPolicy")


def _as_info(rows: list[Directive]) -> list[Directive]:
    return [Directive(r.key, "accept", "", "reset", "info") for r in rows]


def _index(*groups: list[Directive]) -> dict[str, Directive]:
    table: dict[str, Directive] = {}
    for group in groups:
        for row in group:
            table.setdefault(row.key, row)
    return table


# section name -> key -> row, per unit type (systemd: unit_vtable[type]->sections)
SECTIONS: dict[str, dict[str, dict[str, Directive]]] = {
    "service": {"Service": _index(SERVICE, EXEC, KILL, CGROUP)},
    "socket": {"Socket": _index(SOCKET, EXEC, KILL, CGROUP)},
    "timer": {"Timer": _index(TIMER)},
    "target": {},
    "path": {"Path": _index(PATH_KEYS)},
    "mount": {"Mount": _index(MOUNT_KEYS, _as_info(EXEC + KILL + CGROUP))},
    "automount": {"Automount": _index(AUTOMOUNT_KEYS)},
    "swap": {"Swap": _index(SWAP_KEYS, _as_info(EXEC + KILL + CGROUP))},
    "slice": {"Slice": _index(_as_info(CGROUP))},
    "scope": {"Scope": _index(SCOPE_KEYS, _as_info(KILL + CGROUP))},
    "device": {},
}
_COMMON = {"Unit": _index(UNIT), "Install": _index(INSTALL)}


def sections_for(unit_type: str) -> dict[str, dict[str, Directive]]:
    """The sections a unit of this type may have, each with its key table."""
    return {**_COMMON, **SECTIONS.get(unit_type, {})}


def lookup(unit_type: str, section: str, key: str) -> Directive | None:
    """The row for `key` in `section` of a unit of `unit_type`, or None if unknown."""
    return sections_for(unit_type).get(section, {}).get(key)


def all_directives() -> list[tuple[str, str, Directive]]:
    """(unit type, section, row) for every row, for docs and tests."""
    rows: list[tuple[str, str, Directive]] = []
    for utype in SECTIONS:
        for section, keys in sections_for(utype).items():
            rows.extend((utype, section, row) for row in keys.values())
    return rows
