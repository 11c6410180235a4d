"""Capabilities, secure bits, IO and CPU scheduling for a spawned child (prepared in the parent).

The child-side functions only call into libc through ctypes objects built here, in the
daemon, before fork (linux.spawn's rule: nothing in the child may import, log or take a
lock). Order, as systemd 252's exec_child() and enforce_user() do it:

1. before the user switch: drop the bounding set (prctl(2) PR_CAPBSET_DROP, needs
   CAP_SETPCAP); add the ambient set to the inheritable set (capset(2));
   and, switching to a non-root user with ambient capabilities or SecureBits=, set
   SECBIT_KEEP_CAPS so setresuid(2) keeps the permitted set (capabilities(7),
   "Effect of user ID changes on capabilities");
2. setresuid (linux.spawn);
3. after it: PR_CAP_AMBIENT_RAISE for each ambient capability (setresuid cleared the
   ambient set even with keep-caps; raising needs the capability in permitted and
   inheritable); then SecureBits= (PR_SET_SECUREBITS needs CAP_SETPCAP in the effective
   set, raised first: execve(2) recomputes the effective set anyway).

At execve of an ordinary file by a non-root user the new permitted and effective sets are
the ambient set (capabilities(7), "Transformation of capabilities during execve()"), which
is how `User=nobody` + `AmbientCapabilities=CAP_NET_BIND_SERVICE` binds port 80.
"""

from __future__ import annotations

import ctypes
import functools
import os

from pidone.core.capabilities import (
    ALL_CAPABILITIES,
    CAP_MKNOD,
    CAP_SETPCAP,
    CAP_SYS_RAWIO,
    SECBIT_KEEP_CAPS,
    bounding_set_drops,
    capability_numbers,
)
from pidone.core.dataclass_lite import dataclass
from pidone.core.model import ExecContext

PR_CAPBSET_DROP = 24
PR_SET_KEEPCAPS = 8
PR_GET_SECUREBITS = 27
PR_SET_SECUREBITS = 28
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
IOPRIO_WHO_PROCESS = 1
IOPRIO_CLASS_SHIFT = 13
# ioprio_set(2) syscall numbers (Python has no wrapper; glibc neither)
_SYS_IOPRIO_SET = {
    "x86_64": 251,
    "i386": 289,
    "i686": 289,
    "aarch64": 30,
    "riscv64": 30,
    "armv7l": 314,
    "ppc64le": 273,
    "ppc64": 273,
    "s390x": 282,
}

EXIT_IOPRIO = 211
EXIT_SECUREBITS = 213
EXIT_SETSCHEDULER = 214
EXIT_CAPABILITIES = 218


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


class _Libc:
    """libc entry points with argument types set; built once, in the parent."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.prctl = libc.prctl
        self.prctl.restype = ctypes.c_int
        self.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                               ctypes.c_ulong]  # fmt: skip
        self.capget = libc.capget
        self.capset = libc.capset
        for fn in (self.capget, self.capset):
            fn.restype = ctypes.c_int
            fn.argtypes = [ctypes.POINTER(_CapHeader), ctypes.POINTER(_CapData)]
        self.syscall = libc.syscall
        self.syscall.restype = ctypes.c_long
        self.header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        self.data = (_CapData * 2)()


@functools.cache
def libc() -> _Libc:
    return _Libc()


@functools.cache
def cap_last_cap() -> int:
    """/proc/sys/kernel/cap_last_cap (Linux 3.2+), 40 on 5.9+ kernels."""
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 40


@dataclass(frozen=True, slots=True)
class PrivilegePlan:
    """What the child does about capabilities and scheduling; all empty = nothing."""

    bounding_drops: tuple[int, ...] = ()
    ambient: tuple[int, ...] = ()
    ambient_mask: int = 0
    secure_bits: int | None = None  # None = leave alone
    keep_caps: bool = False  # SECBIT_KEEP_CAPS across setresuid (non-root target)
    ioprio: int = -1  # ioprio_set(2) value, -1 = leave alone
    sched: tuple[int, int] | None = None  # (policy | SCHED_RESET_ON_FORK, priority)

    @property
    def empty(self) -> bool:
        return self == _NOTHING


_NOTHING = PrivilegePlan()


def build_privilege_plan(
    ctx: ExecContext, *, switch_to_uid: int, sandboxing: bool, private_devices: bool = False
) -> PrivilegePlan:
    """From the unit's settings; `sandboxing` False (the `+` prefix) skips capabilities.
    An enforced PrivateDevices= also drops CAP_MKNOD and CAP_SYS_RAWIO, as systemd does."""
    last = cap_last_cap()
    drops: tuple[int, ...] = ()
    ambient: tuple[int, ...] = ()
    ambient_mask = 0
    secure: int | None = None
    keep = False
    if sandboxing:
        bset = ctx.capability_bounding_set
        if private_devices:
            bset = (ALL_CAPABILITIES if bset is None else bset) & ~(
                1 << CAP_MKNOD | 1 << CAP_SYS_RAWIO
            )
        if bset is not None and bset != ALL_CAPABILITIES:
            drops = bounding_set_drops(bset, last)
        ambient_mask = ctx.ambient_capabilities & ((1 << (last + 1)) - 1)
        ambient = capability_numbers(ambient_mask, last)
        secure = ctx.secure_bits or None
        keep = switch_to_uid > 0 and bool(ambient or secure)
    ioprio = -1
    if ctx.io_scheduling_class is not None or ctx.io_scheduling_priority is not None:
        cls = 2 if ctx.io_scheduling_class is None else ctx.io_scheduling_class  # best-effort
        prio = 4 if ctx.io_scheduling_priority is None else ctx.io_scheduling_priority
        if cls in (0, 3):  # none / idle take no level (ioprio_set(2))
            prio = 0
        ioprio = cls << IOPRIO_CLASS_SHIFT | prio
    sched = None
    if ctx.cpu_scheduling_policy is not None or ctx.cpu_scheduling_priority is not None:
        policy = ctx.cpu_scheduling_policy or 0
        prio = ctx.cpu_scheduling_priority or 0
        # config_parse_exec_cpu_sched_policy() clamps the priority to the policy's range
        prio = max(os.sched_get_priority_min(policy), min(os.sched_get_priority_max(policy), prio))
        flags = os.SCHED_RESET_ON_FORK if ctx.cpu_scheduling_reset_on_fork else 0
        sched = (policy | flags, prio)
    plan = PrivilegePlan(drops, ambient, ambient_mask, secure, keep, ioprio, sched)
    if not plan.empty:
        libc()  # load libc in the parent
        if ioprio >= 0 and os.uname().machine not in _SYS_IOPRIO_SET:
            raise OSError(38, f"ioprio_set: unknown syscall number on {os.uname().machine}")
    return plan


def _errno() -> OSError:
    err = ctypes.get_errno() or 1
    return OSError(err, os.strerror(err))


def _capget() -> ctypes.Array[_CapData]:
    lc = libc()
    lc.header.version, lc.header.pid = _LINUX_CAPABILITY_VERSION_3, 0
    if lc.capget(ctypes.byref(lc.header), lc.data) != 0:
        raise _errno()
    return lc.data


def _capset(data: ctypes.Array[_CapData]) -> None:
    lc = libc()
    lc.header.version, lc.header.pid = _LINUX_CAPABILITY_VERSION_3, 0
    if lc.capset(ctypes.byref(lc.header), data) != 0:
        raise _errno()


def _prctl(option: int, arg: int, arg3: int = 0) -> int:
    r: int = libc().prctl(option, arg, arg3, 0, 0)
    if r < 0:
        raise _errno()
    return r


# --------------------------------------------------------------------------- in the child


def apply_scheduling(plan: PrivilegePlan) -> int:
    """IOSchedulingClass/Priority=, CPUSchedulingPolicy/Priority=; returns 0 or an exit status."""
    if plan.ioprio >= 0:
        nr = _SYS_IOPRIO_SET[os.uname().machine]
        if libc().syscall(ctypes.c_long(nr), IOPRIO_WHO_PROCESS, 0, plan.ioprio) < 0:
            return EXIT_IOPRIO
    if plan.sched is not None:
        try:
            os.sched_setscheduler(0, plan.sched[0], os.sched_param(plan.sched[1]))
        except OSError:
            return EXIT_SETSCHEDULER
    return 0


def apply_before_user(plan: PrivilegePlan) -> None:
    """Step 1 (raises OSError: the caller exits 218/CAPABILITIES)."""
    for cap in plan.bounding_drops:
        _prctl(PR_CAPBSET_DROP, cap)
    if plan.ambient_mask:
        data = _capget()
        data[0].inheritable = plan.ambient_mask & 0xFFFFFFFF
        data[1].inheritable = plan.ambient_mask >> 32
        _capset(data)
    if plan.keep_caps:
        current = _prctl(PR_GET_SECUREBITS, 0)
        _prctl(PR_SET_SECUREBITS, current | (plan.secure_bits or 0) | SECBIT_KEEP_CAPS)


def apply_after_user(plan: PrivilegePlan) -> int:
    """Step 3; returns 0 or the exit status to fail with (218 or 213)."""
    try:
        for cap in plan.ambient:
            _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)
    except OSError:
        return EXIT_CAPABILITIES
    if plan.secure_bits is None:
        return 0  # SECBIT_KEEP_CAPS set for the switch is cleared by execve(2) itself
    wanted = plan.secure_bits or 0
    try:
        if _prctl(PR_GET_SECUREBITS, 0) == wanted:
            return 0
        data = _capget()  # CAP_SETPCAP into the effective set (capability_gain_cap_setpcap)
        if data[0].permitted >> CAP_SETPCAP & 1:
            data[0].effective |= 1 << CAP_SETPCAP
            _capset(data)
    except OSError:
        return EXIT_CAPABILITIES
    try:
        _prctl(PR_SET_SECUREBITS, wanted)
    except OSError:
        return EXIT_SECUREBITS
    return 0
