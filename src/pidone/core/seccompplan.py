"""The seccomp filters a command gets, in systemd 252's order (pure: no system calls).

systemd 252's exec_child() loads one libseccomp filter per setting and per local
architecture, after the user switch and NoNewPrivileges=, as the last steps before
execve(2) (src/core/execute.c, apply_address_families() ... apply_syscall_filter()). This
module says *which* filters, as plain data; linux.seccomp compiles each step into BPF
programs with libseccomp and the spawn helper's child loads them in this order.

A step's `exit_status` is the one 252 fails the command with when loading it fails:
232/ADDRESS_FAMILIES for RestrictAddressFamilies=, 231/SECCOMP for the others
(systemd.exec(5) "PROCESS EXIT CODES").
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass
from pidone.core.model import (
    SECCOMP_ERROR_NUMBER_KILL,
    ExecContext,
    has_address_families,
    has_syscall_filter,
    has_syscall_log,
    restricts_namespaces,
)
from pidone.core.model import (
    implies_no_new_privileges as implies_no_new_privileges,  # (re-exported)
)

EXIT_SECCOMP = 231
EXIT_ADDRESS_FAMILIES = 232
EPERM = 1

# Actions: an errno >= 0 means "fail the call with it" (SCMP_ACT_ERRNO); the others:
ACTION_ALLOW = -1
ACTION_KILL = -2  # SCMP_ACT_KILL_PROCESS: the whole process dies of SIGSYS
ACTION_LOG = -3  # SCMP_ACT_LOG (SystemCallLog=)


@dataclass(frozen=True, slots=True)
class SyscallSet:
    """seccomp_load_syscall_filter_set[_raw](): `default` for every call not named, each
    rule's action for the named ones. Names libseccomp cannot resolve, or that do not
    exist on an architecture, are skipped there (252 does the same, log_missing=false)."""

    default: int
    rules: tuple[tuple[str, int], ...]
    setting: str  # the directive it comes from, for messages


@dataclass(frozen=True, slots=True)
class AddressFamilies:
    """seccomp_restrict_address_families(): socket(2) for the families listed (allow list)
    or for all but them (deny list) fails with EAFNOSUPPORT."""

    allow_list: bool
    families: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Builtin:
    """One of 252's fixed filters, by its function's name without `seccomp_`:
    memory_deny_write_execute, restrict_realtime, restrict_suid_sgid, protect_sysctl,
    protect_syslog, protect_hostname."""

    name: str


@dataclass(frozen=True, slots=True)
class RestrictNamespaces:
    """seccomp_restrict_namespaces(): unshare(2)/clone(2)/setns(2) may only make or join
    the namespace types in `retain` (CLONE_NEW* flags)."""

    retain: int


@dataclass(frozen=True, slots=True)
class Archs:
    """seccomp_restrict_archs(): system calls of any other ABI kill the process."""

    names: tuple[str, ...]  # 252's names: native, x86, x86-64, x32, ...


@dataclass(frozen=True, slots=True)
class LockPersonality:
    """seccomp_lock_personality(): personality(2) may only ask or set this one;
    model.PERSONALITY_INVALID = the current one (252's opinionated_personality())."""

    personality: int


Step = SyscallSet | AddressFamilies | Builtin | RestrictNamespaces | Archs | LockPersonality

BUILTINS = (
    "memory_deny_write_execute",
    "restrict_realtime",
    "restrict_suid_sgid",
    "protect_sysctl",
    "protect_syslog",
    "protect_hostname",
)


def exit_status(step: Step) -> int:
    return EXIT_ADDRESS_FAMILIES if isinstance(step, AddressFamilies) else EXIT_SECCOMP


def _group(name: str, action: int, setting: str) -> SyscallSet:
    from pidone.core import syscallsets  # (a table of ~600 names: only for units that use it)

    return SyscallSet(ACTION_ALLOW, tuple((n, action) for n in syscallsets.expand(name)), setting)


def _raw(
    default: int, action: int, entries: dict[str, int], setting: str, *, log: bool = False
) -> SyscallSet:
    # seccomp_load_syscall_filter_set_raw(): an entry's own errno wins, KILL kills
    rules = []
    for name, err in sorted(entries.items()):
        if err == SECCOMP_ERROR_NUMBER_KILL:
            a = ACTION_KILL
        elif log:
            a = ACTION_LOG
        elif err >= 0:
            a = err
        else:
            a = action
        rules.append((name, a))
    return SyscallSet(default, tuple(rules), setting)


def seccomp_steps(ctx: ExecContext) -> tuple[Step, ...]:
    """The filters of a sandboxed command (not a `+` one), in 252's load order.
    ProtectHostname='s comes first: 252 loads it with the UTS namespace, before the user
    switch (apply_protect_hostname()); the others after NoNewPrivileges=."""
    steps: list[Step] = []
    if ctx.protect_hostname:
        steps.append(Builtin("protect_hostname"))
    if has_address_families(ctx):
        steps.append(
            AddressFamilies(ctx.address_families_allow_list, tuple(sorted(ctx.address_families)))
        )
    if ctx.memory_deny_write_execute:
        steps.append(Builtin("memory_deny_write_execute"))
    if ctx.restrict_realtime:
        steps.append(Builtin("restrict_realtime"))
    if ctx.restrict_suid_sgid:
        steps.append(Builtin("restrict_suid_sgid"))
    if restricts_namespaces(ctx):
        steps.append(RestrictNamespaces(ctx.restrict_namespaces))  # (time: outside ALL)
    if ctx.protect_kernel_tunables:
        steps.append(Builtin("protect_sysctl"))
    if ctx.protect_kernel_modules:
        steps.append(_group("@module", EPERM, "ProtectKernelModules="))
    if ctx.protect_kernel_logs:
        steps.append(Builtin("protect_syslog"))
    if ctx.protect_clock:
        steps.append(_group("@clock", EPERM, "ProtectClock="))
    if ctx.private_devices:
        steps.append(_group("@raw-io", EPERM, "PrivateDevices="))
    if ctx.syscall_archs:
        steps.append(Archs(tuple(ctx.syscall_archs)))
    if ctx.lock_personality:
        steps.append(LockPersonality(ctx.personality))
    if has_syscall_log(ctx):
        if ctx.syscall_log_allow_list:
            steps.append(
                _raw(ACTION_ALLOW, ACTION_LOG, ctx.syscall_log, "SystemCallLog=", log=True)
            )
        else:
            steps.append(_raw(ACTION_LOG, ACTION_ALLOW, ctx.syscall_log, "SystemCallLog="))
    if has_syscall_filter(ctx):
        negative = (
            ACTION_KILL if ctx.syscall_errno == SECCOMP_ERROR_NUMBER_KILL else ctx.syscall_errno
        )
        if ctx.syscall_allow_list:
            steps.append(_raw(negative, ACTION_ALLOW, ctx.syscall_filter, "SystemCallFilter="))
        elif ctx.syscall_filter:
            steps.append(_raw(ACTION_ALLOW, negative, ctx.syscall_filter, "SystemCallFilter="))
    return tuple(steps)
