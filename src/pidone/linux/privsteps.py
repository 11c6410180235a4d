"""The child side of linux.privileges: capabilities, secure bits, IO and CPU scheduling steps.

linux.privileges builds the plan in the daemon (from the unit's settings) and documents the
order of the steps (systemd 252 exec_child(), enforce_user()); this module carries them out
on the plan as the spawn plan carries it (linux.spawnchild field 24): a plain tuple in the
field order of privileges.PrivilegePlan (bounding_drops, ambient, ambient_mask,
secure_bits, keep_caps, ioprio, sched).

Why a module of its own with only os and ctypes: it is loaded into the spawn helper
(linux.spawnhelper) by the first plan with capabilities or scheduling settings
(CapabilityBoundingSet=, AmbientCapabilities=, SecureBits=, IOScheduling*=,
CPUScheduling*=; chrony, ssh, many Debian units), and every module the helper holds is
anonymous memory whose page tables each later clone3(2) copies and each execve(2) tears
down, for every service. linux.privileges pulls in pidone.core.model (re, enum, the
unit-file parser...): ~1.8 MiB, which every later spawn of any service paid for.

The ctypes objects are built by `libc()` in the parent before clone3/fork (the child may
not import or allocate much: linux.spawnchild), so the child only calls into libc.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the helper does not import typing
if TYPE_CHECKING:
    import ctypes

    class _CapHeader(ctypes.Structure): ...

    class _CapData(ctypes.Structure): ...

    # privileges.PrivilegePlan's fields in order.
    Wire = tuple[
        tuple[int, ...], tuple[int, ...], int, "int | None", bool, int, "tuple[int, int] | None"
    ]


def effective_capabilities() -> int:
    """The calling thread's effective capability set as a mask (proc(5) CapEff; 0 when it
    cannot be read)."""
    try:
        with open(b"/proc/thread-self/status", "rb") as f:
            for line in f:
                if line.startswith(b"CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


PR_CAPBSET_DROP = 24
PR_SET_KEEPCAPS = 8
PR_GET_SECUREBITS = 27
PR_SET_SECUREBITS = 28
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
CAP_SETPCAP = 8  # = core.capabilities.CAP_SETPCAP (<linux/capability.h>)
SECBIT_KEEP_CAPS = 1 << 4  # = core.capabilities.SECBIT_KEEP_CAPS (<linux/securebits.h>)
LINUX_CAPABILITY_VERSION_3 = 0x20080522
IOPRIO_WHO_PROCESS = 1
# ioprio_set(2) syscall numbers (Python has no wrapper; glibc neither)
SYS_IOPRIO_SET = {
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


class Libc:
    """libc entry points with argument types set; built once, in the parent. ctypes is
    loaded here (and the capability structures made), not with the module: the daemon
    plans privileges with this module's constants and never runs the steps (~0.7 MiB)."""

    def __init__(self) -> None:
        import ctypes

        class Header(ctypes.Structure):  # <linux/capability.h>'s two structures
            _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))

        class Data(ctypes.Structure):
            _fields_ = (
                ("effective", ctypes.c_uint32),
                ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32),
            )

        self.byref = ctypes.byref
        self.get_errno = ctypes.get_errno
        self.c_long = ctypes.c_long
        lib = ctypes.CDLL(None, use_errno=True)
        self.prctl = lib.prctl
        self.prctl.restype = ctypes.c_int
        self.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                               ctypes.c_ulong]  # fmt: skip
        self.capget = lib.capget
        self.capset = lib.capset
        for fn in (self.capget, self.capset):
            fn.restype = ctypes.c_int
            fn.argtypes = [ctypes.POINTER(Header), ctypes.POINTER(Data)]
        self.syscall = lib.syscall
        self.syscall.restype = ctypes.c_long
        self.header: _CapHeader = Header(LINUX_CAPABILITY_VERSION_3, 0)  # type: ignore[assignment]
        self.data: ctypes.Array[_CapData] = (Data * 2)()  # type: ignore[assignment]


class _Loaded:
    libc: Libc | None = None  # (no functools.cache: functools is one module more here)


def libc() -> Libc:
    if _Loaded.libc is None:
        _Loaded.libc = Libc()
    return _Loaded.libc


def _errno() -> OSError:
    err = libc().get_errno() or 1
    return OSError(err, os.strerror(err))


def _capget() -> ctypes.Array[_CapData]:
    lc = libc()
    lc.header.version, lc.header.pid = LINUX_CAPABILITY_VERSION_3, 0
    if lc.capget(lc.byref(lc.header), lc.data) != 0:
        raise _errno()
    return lc.data


def _capset(data: ctypes.Array[_CapData]) -> None:
    lc = libc()
    lc.header.version, lc.header.pid = LINUX_CAPABILITY_VERSION_3, 0
    if lc.capset(lc.byref(lc.header), data) != 0:
        raise _errno()


def _prctl(option: int, arg: int, arg3: int = 0) -> int:
    r: int = libc().prctl(option, arg, arg3, 0, 0)
    if r < 0:
        raise _errno()
    return r


def apply_scheduling(plan: Wire) -> int:
    """IOSchedulingClass/Priority=, CPUSchedulingPolicy/Priority=; returns 0 or an exit status."""
    ioprio, sched = plan[5], plan[6]
    if ioprio >= 0:
        nr = SYS_IOPRIO_SET[os.uname().machine]
        if libc().syscall(libc().c_long(nr), IOPRIO_WHO_PROCESS, 0, ioprio) < 0:
            return EXIT_IOPRIO
    if sched is not None:
        try:
            os.sched_setscheduler(0, sched[0], os.sched_param(sched[1]))
        except OSError:
            return EXIT_SETSCHEDULER
    return 0


def apply_before_user(plan: Wire) -> None:
    """Step 1 of linux.privileges (raises OSError: the caller exits 218/CAPABILITIES):
    drop the bounding set, add the ambient set to the inheritable set, and keep-caps for
    the user switch."""
    bounding_drops, _ambient, ambient_mask, secure_bits, keep_caps = plan[:5]
    for cap in bounding_drops:
        _prctl(PR_CAPBSET_DROP, cap)
    if ambient_mask:
        data = _capget()
        data[0].inheritable = ambient_mask & 0xFFFFFFFF
        data[1].inheritable = ambient_mask >> 32
        _capset(data)
    if keep_caps:
        current = _prctl(PR_GET_SECUREBITS, 0)
        _prctl(PR_SET_SECUREBITS, current | (secure_bits or 0) | SECBIT_KEEP_CAPS)


def apply_after_user(plan: Wire) -> int:
    """Step 3 of linux.privileges; returns 0 or the exit status to fail with (218 or 213)."""
    ambient, secure_bits = plan[1], plan[3]
    try:
        for cap in ambient:
            _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)
    except OSError:
        return EXIT_CAPABILITIES
    if secure_bits is None:
        return 0  # SECBIT_KEEP_CAPS set for the switch is cleared by execve(2) itself
    wanted = secure_bits or 0
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
