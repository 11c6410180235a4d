"""Capabilities, secure bits, IO and CPU scheduling for a spawned child (prepared in the parent).

This module plans, in the daemon; the child-side steps live in linux.privsteps, which
imports nothing of pidone's core (the spawn helper loads it: see its docstring) and only
calls into libc through ctypes objects built in the parent before fork (linux.spawn's
rule: nothing in the child may import, log or take a lock). Order, as systemd 252's
exec_child() and enforce_user() do it:

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

import functools
import os

from pidone.core.capabilities import (
    ALL_CAPABILITIES,
    CAP_MKNOD,
    CAP_SYS_RAWIO,
    bounding_set_drops,
    capability_numbers,
)
from pidone.core.dataclass_lite import dataclass
from pidone.core.model import ExecContext
from pidone.linux import privsteps
from pidone.linux.privsteps import (
    EXIT_CAPABILITIES,
    EXIT_IOPRIO,
    EXIT_SECUREBITS,
    EXIT_SETSCHEDULER,
    SYS_IOPRIO_SET,
    libc,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pidone.linux.privsteps import Wire

__all__ = [
    "EXIT_CAPABILITIES",
    "EXIT_IOPRIO",
    "EXIT_SECUREBITS",
    "EXIT_SETSCHEDULER",
    "PrivilegePlan",
    "apply_after_user",
    "apply_before_user",
    "apply_scheduling",
    "build_privilege_plan",
    "cap_last_cap",
    "libc",
    "wire",
]

IOPRIO_CLASS_SHIFT = 13


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
        if ioprio >= 0 and os.uname().machine not in SYS_IOPRIO_SET:
            raise OSError(38, f"ioprio_set: unknown syscall number on {os.uname().machine}")
    return plan


# --------------------------------------------------------------------------- in the child
# The steps themselves live in linux.privsteps (loaded into the spawn helper without
# pidone's core); these take the daemon-side PrivilegePlan.


def wire(plan: PrivilegePlan) -> Wire:
    """The plan as the spawn plan carries it (linux.spawnchild field 24)."""
    return (plan.bounding_drops, plan.ambient, plan.ambient_mask, plan.secure_bits,
            plan.keep_caps, plan.ioprio, plan.sched)  # fmt: skip


def apply_scheduling(plan: PrivilegePlan) -> int:
    """IOSchedulingClass/Priority=, CPUSchedulingPolicy/Priority=; returns 0 or an exit status."""
    return privsteps.apply_scheduling(wire(plan))


def apply_before_user(plan: PrivilegePlan) -> None:
    """Step 1 (raises OSError: the caller exits 218/CAPABILITIES)."""
    privsteps.apply_before_user(wire(plan))


def apply_after_user(plan: PrivilegePlan) -> int:
    """Step 3; returns 0 or the exit status to fail with (218 or 213)."""
    return privsteps.apply_after_user(wire(plan))
