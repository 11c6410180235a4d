"""systemd 252's seccomp filters, compiled into BPF programs with libseccomp (ctypes).

core.seccompplan says which filters a command gets (`Step`s, in 252's load order); this
module turns each step into one classic-BPF program per local architecture, exactly as
252's src/shared/seccomp-util.c builds them with libseccomp, and exports each program's
bytes with seccomp_export_bpf(3): the `struct sock_filter` array that seccomp(2)'s
SECCOMP_SET_MODE_FILTER takes in a `struct sock_fprog`. The spawn helpers load those
bytes in the child, in order, just before execve(2): `load()` here for the Python path,
the compiled helper by itself.

libseccomp is used through ctypes, and only when a unit asks for a seccomp setting:
ctypes costs the daemon ~0.3-0.7 MiB (docs/memory.md). No libseccomp headers are
installed, so the few functions and constants used are declared here, with the values
of <seccomp.h> of libseccomp 2.5 (seccomp_init(3), seccomp_rule_add(3),
seccomp_attr_set(3), seccomp_arch_add(3), seccomp_export_bpf(3),
seccomp_syscall_resolve_name(3), seccomp_api_get(3)).

What 252 does per filter (seccomp_init_for_arch()): a context whose only architecture
is the one the filter is for, whose action for calls of *other* architectures
(SCMP_FLTATR_ACT_BADARCH) is "allow", so that each filter only judges its own ABI, and
that does not set no_new_privs itself (SCMP_FLTATR_CTL_NNP = 0: the spawn path decides).
On x86_64 the local architectures are x86, x32 and x86-64, the native one last.
"""

from __future__ import annotations

import errno as _errno
import os

from pidone.core import seccompplan as plan
from pidone.core.dataclass_lite import dataclass
from pidone.core.hints import TYPE_CHECKING, Any
from pidone.core.model import PERSONALITY_INVALID

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True, slots=True)
class Program:
    """One seccomp filter: `bpf` is the raw `struct sock_filter` array (8 bytes an
    instruction) for seccomp(2); `exit_status` the one the command fails with when
    loading it fails; `arch` the architecture(s) it judges, for messages."""

    bpf: bytes
    exit_status: int
    arch: str


class CompileError(Exception):
    """libseccomp refused to build a filter where 252 fails the command: `errno` says
    why, `status` is the exit status (231/SECCOMP, 232/ADDRESS_FAMILIES)."""

    def __init__(self, err: int, message: str, status: int) -> None:
        super().__init__(message)
        self.errno = err
        self.status = status


# <seccomp.h>, libseccomp 2.5: actions (seccomp_rule_add(3) "ACTIONS")
SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL_THREAD = 0x00000000  # = SCMP_ACT_KILL
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000


def scmp_act_errno(err: int) -> int:
    return 0x00050000 | (err & 0x0000FFFF)


# enum scmp_filter_attr (seccomp_attr_set(3))
SCMP_FLTATR_ACT_BADARCH = 2
SCMP_FLTATR_CTL_NNP = 3
# enum scmp_compare (seccomp_rule_add(3) "SCMP_CMP_*")
SCMP_CMP_NE = 1
SCMP_CMP_LT = 2
SCMP_CMP_EQ = 4
SCMP_CMP_GT = 6
SCMP_CMP_MASKED_EQ = 7
# __NR_SCMP_ERROR: seccomp_syscall_resolve_name(3) for a name it does not know
NR_SCMP_ERROR = -1

# Architecture tokens: the kernel's AUDIT_ARCH_* values (<linux/audit.h>: EM_* machine
# number | __AUDIT_ARCH_64BIT 0x80000000 | __AUDIT_ARCH_LE 0x40000000); 0 = native.
SCMP_ARCH_NATIVE = 0
SCMP_ARCH_X86 = 0x40000003
SCMP_ARCH_X86_64 = 0xC000003E
SCMP_ARCH_X32 = 0x4000003E
SCMP_ARCH_ARM = 0x40000028
SCMP_ARCH_AARCH64 = 0xC00000B7

# 252's names for them (seccomp_arch_to_string(), SystemCallArchitectures=)
ARCH_NAMES = {
    SCMP_ARCH_X86: "x86",
    SCMP_ARCH_X86_64: "x86-64",
    SCMP_ARCH_X32: "x32",
    SCMP_ARCH_ARM: "arm",
    SCMP_ARCH_AARCH64: "arm64",
}
_ARCH_BY_NAME = {name: token for token, name in ARCH_NAMES.items()}

# The architectures a process of the native one may issue calls for, native last (252's
# seccomp_local_archs[]: users may deny seccomp() itself, systemd's own calls still work).
_LOCAL_ARCHS = {
    SCMP_ARCH_X86_64: (SCMP_ARCH_X86, SCMP_ARCH_X32, SCMP_ARCH_X86_64),
    SCMP_ARCH_X32: (SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32),
    SCMP_ARCH_X86: (SCMP_ARCH_X86,),
    SCMP_ARCH_AARCH64: (SCMP_ARCH_ARM, SCMP_ARCH_AARCH64),
    SCMP_ARCH_ARM: (SCMP_ARCH_ARM,),
}

# Constants of the calls the builtins look at (mmap(2), shmat(2), open(2), chmod(2),
# sched(7), clone(2)), the same on every architecture listed above.
PROT_WRITE = 0x2
PROT_EXEC = 0x4
SHM_EXEC = 0o100000
O_CREAT = 0o100
S_ISUID = 0o4000
S_ISGID = 0o2000
SCHED_OTHER, SCHED_BATCH, SCHED_IDLE = 0, 3, 5
PER_LINUX, PER_LINUX32 = 0x0000, 0x0008
NR_FCHMODAT2 = 452  # <asm/unistd.h>, one number on every architecture since Linux 5.x

# 252's namespace_info[] (cgroup, ipc, net, mnt, pid, user, uts, time): the CLONE_NEW*
# flags RestrictNamespaces= looks at, in its order.
NAMESPACE_FLAGS = (
    0x02000000,  # CLONE_NEWCGROUP
    0x08000000,  # CLONE_NEWIPC
    0x40000000,  # CLONE_NEWNET
    0x00020000,  # CLONE_NEWNS
    0x20000000,  # CLONE_NEWPID
    0x10000000,  # CLONE_NEWUSER
    0x04000000,  # CLONE_NEWUTS
    0x00000080,  # CLONE_NEWTIME
)
NAMESPACE_FLAGS_ALL = 0x7E020000  # 252's nsflags.h: all of them but CLONE_NEWTIME

# 252's af_max(): one more than the highest AF_* its build knew (AF_MCTP = 45, glibc 2.36)
AF_MAX = 46

# seccomp(2) SECCOMP_SET_MODE_FILTER, through prctl(2) (same thing, flags 0; PR_* of
# <linux/prctl.h>); the errors 252 treats as fatal when loading (ERRNO_IS_SECCOMP_FATAL:
# the others only skip that one filter).
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
FATAL_LOAD_ERRNOS = frozenset((_errno.EPERM, _errno.EACCES, _errno.ENOMEM, _errno.EFAULT))


class _Lib:
    """libseccomp's functions, declared by hand (no headers on the machine)."""

    def __init__(self) -> None:
        import ctypes

        c = ctypes
        so = c.CDLL("libseccomp.so.2", use_errno=True)
        ctx, u32, i = c.c_void_p, c.c_uint32, c.c_int

        class ArgCmp(c.Structure):
            # struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op;
            #                       scmp_datum_t datum_a, datum_b; }  (uint64_t data)
            _fields_ = (("arg", c.c_uint), ("op", c.c_int), ("a", c.c_uint64), ("b", c.c_uint64))

        signatures: dict[str, tuple[Any, tuple[Any, ...]]] = {
            "seccomp_init": (ctx, (u32,)),
            "seccomp_release": (None, (ctx,)),
            "seccomp_arch_native": (u32, ()),
            "seccomp_arch_add": (i, (ctx, u32)),
            "seccomp_arch_remove": (i, (ctx, u32)),
            "seccomp_attr_set": (i, (ctx, i, u32)),
            "seccomp_syscall_resolve_name": (i, (c.c_char_p,)),
            "seccomp_rule_add_exact_array": (i, (ctx, u32, i, c.c_uint, c.POINTER(ArgCmp))),
            "seccomp_export_bpf": (i, (ctx, i)),
            "seccomp_api_get": (c.c_uint, ()),
        }
        for name, (restype, argtypes) in signatures.items():
            f = getattr(so, name)
            f.restype = restype
            f.argtypes = argtypes
        self.so = so
        self.ArgCmp = ArgCmp
        self.native = int(so.seccomp_arch_native())
        # 252's scmp_act_kill_process(): the whole process where the kernel can (API
        # level 3: SECCOMP_RET_KILL_PROCESS, Linux 4.14), else the thread
        self.kill = SCMP_ACT_KILL_PROCESS if so.seccomp_api_get() >= 3 else SCMP_ACT_KILL_THREAD
        self._nr: dict[str, int] = {}

    def nr(self, name: str) -> int:
        """The native number of a call (SCMP_SYS()), a libseccomp pseudo-number (< -1) for
        one the native ABI lacks, NR_SCMP_ERROR for a name libseccomp does not know."""
        n = self._nr.get(name)
        if n is None:
            n = self._nr[name] = int(self.so.seccomp_syscall_resolve_name(name.encode()))
        return n


_lib: _Lib | None = None


def _library() -> _Lib:
    global _lib
    if _lib is None:
        _lib = _Lib()
    return _lib


_available: bool | None = None


def available() -> bool:
    """252's is_seccomp_available(): not turned off with $SYSTEMD_SECCOMP=0 (a false
    boolean; anything else counts as unset), the kernel has seccomp (prctl(PR_GET_SECCOMP)
    works) with filters (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL) fails with
    EFAULT, the NULL program, instead of EINVAL), and libseccomp loads. Asked once."""
    global _available
    if _available is None:
        off = os.environ.get("SYSTEMD_SECCOMP", "").lower() in ("0", "no", "n", "false", "f", "off")
        _available = not off and _probe()
    return _available


def _probe() -> bool:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.restype = ctypes.c_int
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    if prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0:
        return False
    if (
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, 0, 0, 0) >= 0
        or ctypes.get_errno() != _errno.EFAULT
    ):
        return False
    try:
        _library()
    except (OSError, AttributeError):
        return False
    return True


class _Skip(Exception):
    """A rule 252 logs and skips this architecture for (its `continue`)."""


class _Filter:
    """One libseccomp context made as 252's seccomp_init_for_arch() makes it: `arch` its
    only architecture, other ABIs' calls allowed. With `badarch_kill`, the context of
    seccomp_restrict_archs() instead: the native architecture (more may be added) and
    libseccomp's default SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL."""

    def __init__(
        self, lib: _Lib, arch: int, default: int, what: str, status: int, badarch_kill: bool = False
    ) -> None:
        self.lib, self.arch, self.what, self.status = lib, arch, what, status
        so = lib.so
        ctx = so.seccomp_init(default)
        if not ctx:
            raise CompileError(_errno.ENOMEM, f"{what}: seccomp_init() failed", status)
        self.ctx: int = ctx
        try:
            if arch not in (SCMP_ARCH_NATIVE, lib.native):
                self.check(so.seccomp_arch_remove(ctx, lib.native), "seccomp_arch_remove()")
                self.check(so.seccomp_arch_add(ctx, arch), "seccomp_arch_add()")
            if not badarch_kill:
                r = so.seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW)
                self.check(r, "seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH)")
            self.check(so.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "seccomp_attr_set()")
        except BaseException:
            so.seccomp_release(ctx)
            raise

    def __enter__(self) -> _Filter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.lib.so.seccomp_release(self.ctx)

    def check(self, r: int, call: str) -> None:
        if r < 0:
            arch = ARCH_NAMES.get(self.arch, hex(self.arch))
            raise CompileError(
                -r, f"{self.what}: {call} for {arch} failed: {os.strerror(-r)}", self.status
            )

    def add(self, action: int, call: str | int, *cmps: tuple[int, int, int, int]) -> int:
        """seccomp_rule_add_exact(3): the rule as given, on this filter's architecture
        (libseccomp translates the native number). 0, or a negative errno (-EDOM: the
        call does not exist there; -EACCES: action = default action)."""
        nr = call if isinstance(call, int) else self.lib.nr(call)
        if nr == NR_SCMP_ERROR:
            return -_errno.ENOENT
        arg_cmp = self.lib.ArgCmp
        arr = (arg_cmp * len(cmps))(*(arg_cmp(*c) for c in cmps)) if cmps else None
        return int(self.lib.so.seccomp_rule_add_exact_array(self.ctx, action, nr, len(cmps), arr))

    def must(self, action: int, call: str, *cmps: tuple[int, int, int, int]) -> None:
        """A rule whose failure makes 252 skip this architecture's filter."""
        if self.add(action, call, *cmps) < 0:
            raise _Skip

    def export(self) -> bytes:
        """seccomp_export_bpf(3) into a memfd, read back."""
        fd = os.memfd_create("pidone-seccomp", os.MFD_CLOEXEC)
        try:
            self.check(self.lib.so.seccomp_export_bpf(self.ctx, fd), "seccomp_export_bpf()")
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0)
        finally:
            os.close(fd)
        if len(data) != size or size % 8:
            raise CompileError(_errno.EIO, f"{self.what}: short BPF export", self.status)
        return data


def _a(arg: int, op: int, a: int, b: int = 0) -> tuple[int, int, int, int]:
    """SCMP_Ax(op, a[, b])"""
    return (arg, op, a, b)


EPERM_ = scmp_act_errno(_errno.EPERM)
ENOSYS_ = scmp_act_errno(_errno.ENOSYS)


# The builtins: each adds its rules to a filter for one architecture (the default action
# is "allow"); _Skip leaves that architecture without this filter, as 252 does.


def _memory_deny_write_execute(f: _Filter) -> None:
    # MemoryDenyWriteExecute= (systemd.exec(5)): no mapping both writable and executable,
    # no mapping made executable afterwards. mmap(2)'s prot is argument 2.
    if f.arch in (SCMP_ARCH_X86,):
        # i386: mmap2() carries prot; the old mmap() passes a struct (cannot be looked
        # into) and is denied outright; shmat() hides behind ipc() there
        mmap, block, shmat = "mmap2", "mmap", None
    elif f.arch == SCMP_ARCH_ARM:
        mmap, block, shmat = "mmap2", None, "shmat"
    elif f.arch in (SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_AARCH64):
        mmap, block, shmat = "mmap", None, "shmat"
    else:
        raise _Skip
    wx = PROT_EXEC | PROT_WRITE
    f.must(EPERM_, mmap, _a(2, SCMP_CMP_MASKED_EQ, wx, wx))
    if block:
        f.must(EPERM_, block)
    f.must(EPERM_, "mprotect", _a(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC))
    f.must(EPERM_, "pkey_mprotect", _a(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC))
    if shmat:
        f.must(EPERM_, shmat, _a(2, SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC))


def _restrict_realtime(f: _Filter) -> None:
    # RestrictRealtime=: sched_setscheduler(2) (policy = argument 1) only to SCHED_OTHER,
    # SCHED_BATCH or SCHED_IDLE; every other policy below the highest of those one by one
    # (a failure there is only logged by 252), everything above at once (unsigned compare)
    permitted = (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE)
    top = max(permitted)
    for p in range(top):
        if p not in permitted:
            f.add(EPERM_, "sched_setscheduler", _a(1, SCMP_CMP_EQ, p))
    f.must(EPERM_, "sched_setscheduler", _a(1, SCMP_CMP_GT, top))


def _restrict_sxid(f: _Filter, m: int) -> bool:
    """252's seccomp_restrict_sxid(): calls whose mode argument has `m`; True if any rule
    could be added."""
    masked = SCMP_CMP_MASKED_EQ
    rules: list[tuple[int, str | int, tuple[tuple[int, int, int, int], ...]]] = [
        (EPERM_, "chmod", (_a(1, masked, m, m),)),
        (EPERM_, "fchmod", (_a(1, masked, m, m),)),
        (EPERM_, "fchmodat", (_a(2, masked, m, m),)),
    ]
    if f.lib.nr("fchmodat2") != NR_SCMP_ERROR:
        rules.append((EPERM_, "fchmodat2", (_a(2, masked, m, m),)))
    else:
        # a libseccomp that does not know fchmodat2(2): 252 refuses the call altogether
        # (ENOSYS, so that callers fall back to fchmodat())
        rules.append((ENOSYS_, NR_FCHMODAT2, ()))
    rules += [
        (EPERM_, "mkdir", (_a(1, masked, m, m),)),
        (EPERM_, "mkdirat", (_a(2, masked, m, m),)),
        (EPERM_, "mknod", (_a(1, masked, m, m),)),
        (EPERM_, "mknodat", (_a(2, masked, m, m),)),
        (EPERM_, "open", (_a(1, masked, O_CREAT, O_CREAT), _a(2, masked, m, m))),
        (EPERM_, "openat", (_a(2, masked, O_CREAT, O_CREAT), _a(3, masked, m, m))),
    ]
    if f.lib.nr("openat2") != NR_SCMP_ERROR:
        # openat2(2)'s flags sit in a struct seccomp cannot read: ENOSYS, callers use openat()
        rules.append((ENOSYS_, "openat2", ()))
    rules.append((EPERM_, "creat", (_a(1, masked, m, m),)))
    ok = False
    for action, call, cmps in rules:
        if f.add(action, call, *cmps) >= 0:
            ok = True
    return ok


def _restrict_suid_sgid(f: _Filter) -> None:
    # RestrictSUIDSGID=: no file may get the set-user-ID or set-group-ID bit
    suid = _restrict_sxid(f, S_ISUID)
    sgid = _restrict_sxid(f, S_ISGID)
    if not suid and not sgid:
        raise _Skip


def _protect_sysctl(f: _Filter) -> None:
    # ProtectKernelTunables=: the old _sysctl(2) (absent on arm64, x32 and riscv64)
    if f.arch in (SCMP_ARCH_AARCH64, SCMP_ARCH_X32):
        raise _Skip
    f.must(EPERM_, "_sysctl")


def _protect_syslog(f: _Filter) -> None:
    # ProtectKernelLogs=: syslog(2), the kernel log buffer
    f.must(EPERM_, "syslog")


def _protect_hostname(f: _Filter) -> None:
    # ProtectHostname=: sethostname(2), setdomainname(2)
    f.must(EPERM_, "sethostname")
    f.must(EPERM_, "setdomainname")


_BUILTINS: dict[str, Callable[[_Filter], None]] = {
    "memory_deny_write_execute": _memory_deny_write_execute,
    "restrict_realtime": _restrict_realtime,
    "restrict_suid_sgid": _restrict_suid_sgid,
    "protect_sysctl": _protect_sysctl,
    "protect_syslog": _protect_syslog,
    "protect_hostname": _protect_hostname,
}


def _address_families(step: plan.AddressFamilies) -> Callable[[_Filter], None]:
    # RestrictAddressFamilies=: socket(2)'s domain is argument 0. Only ABIs with a socket()
    # call of their own: where it goes through socketcall(2) (i386, ...) it cannot be
    # looked into and 252 leaves that ABI unfiltered.
    families = set(step.families)
    eafnosupport = scmp_act_errno(_errno.EAFNOSUPPORT)

    def build(f: _Filter) -> None:
        if f.arch not in (SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, SCMP_ARCH_AARCH64):
            raise _Skip
        if not step.allow_list:
            for af in sorted(families):
                f.must(eafnosupport, "socket", _a(0, SCMP_CMP_EQ, af))
            return
        valid = [af for af in families if 0 < af < AF_MAX]
        if not valid:
            f.must(eafnosupport, "socket")  # nothing listed that exists: no socket at all
            return
        f.must(eafnosupport, "socket", _a(0, SCMP_CMP_LT, min(valid)))
        f.must(eafnosupport, "socket", _a(0, SCMP_CMP_GT, max(valid)))
        for af in range(1, AF_MAX):
            if af not in families:
                f.must(eafnosupport, "socket", _a(0, SCMP_CMP_EQ, af))

    return build


def _restrict_namespaces(retain: int) -> Callable[[_Filter], None]:
    # RestrictNamespaces=: unshare(2) and clone(2) (flags: argument 0) may not ask for a
    # namespace type not retained, setns(2) (nstype: argument 1) may not join one, nor any
    # with nstype 0 ("whatever the fd is"); with nothing retained setns() is denied.
    masked = SCMP_CMP_MASKED_EQ

    def build(f: _Filter) -> None:
        # clone3(2) keeps its flags in a struct: refused with ENOSYS so that callers fall
        # back to clone(); a failure here is only logged by 252
        f.add(ENOSYS_, "clone3")
        if retain & NAMESPACE_FLAGS_ALL == 0:
            f.must(EPERM_, "setns")
        else:
            f.must(EPERM_, "setns", _a(1, SCMP_CMP_EQ, 0))
        for flag in NAMESPACE_FLAGS:
            if retain & flag == flag:
                continue
            f.must(EPERM_, "unshare", _a(0, masked, flag, flag))
            f.must(EPERM_, "clone", _a(0, masked, flag, flag))  # (argument 1 on s390)
            if retain & NAMESPACE_FLAGS_ALL:
                f.must(EPERM_, "setns", _a(1, masked, flag, flag))

    return build


def _lock_personality(personality: int) -> Callable[[_Filter], None]:
    # LockPersonality=: personality(2) only with exactly this value (even the query
    # 0xffffffff is refused, as in 252)
    def build(f: _Filter) -> None:
        f.must(EPERM_, "personality", _a(0, SCMP_CMP_NE, personality))

    return build


def current_personality() -> int:
    """252's opinionated_personality(): PER_LINUX32 if this process runs under it, else
    PER_LINUX (the spawned child inherits the daemon's personality)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.personality.restype = ctypes.c_int
    libc.personality.argtypes = (ctypes.c_ulong,)
    current = int(libc.personality(PERSONALITY_INVALID))
    if current < 0:
        err = ctypes.get_errno()
        raise CompileError(err, f"personality(): {os.strerror(err)}", plan.EXIT_SECCOMP)
    return PER_LINUX32 if current & 0xFFFF == PER_LINUX32 else PER_LINUX


def _action(lib: _Lib, action: int) -> int:
    if action == plan.ACTION_ALLOW:
        return SCMP_ACT_ALLOW
    if action == plan.ACTION_KILL:
        return lib.kill
    if action == plan.ACTION_LOG:
        return SCMP_ACT_LOG
    if action < 0:
        raise ValueError(f"unknown seccomp action {action}")
    return scmp_act_errno(action)


def _syscall_set(lib: _Lib, step: plan.SyscallSet) -> Callable[[_Filter], None]:
    # seccomp_load_syscall_filter_set[_raw](): one rule per call; a name libseccomp does
    # not know is skipped, so is a call the ABI lacks (-EDOM); any other refusal fails
    rules = [(name, _action(lib, a)) for name, a in step.rules]

    def build(f: _Filter) -> None:
        for name, action in rules:
            nr = lib.nr(name)
            if nr == NR_SCMP_ERROR:
                continue
            r = f.add(action, nr)
            if r == -_errno.EDOM:
                continue
            f.check(r, f"seccomp_rule_add_exact({name})")

    return build


def _archs(lib: _Lib, step: plan.Archs, local: list[int]) -> Program | None:
    """252's seccomp_restrict_archs(): one filter, for the native ABI and the listed ones,
    that kills a process making a call of any other ABI (libseccomp's default
    SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL); the ABIs it blocks are dropped from `local`
    (no later filter is made for them). None when it would block nothing new."""
    wanted: set[int] = set()
    for name in step.names:
        if name == "native":
            wanted.add(SCMP_ARCH_NATIVE)
        elif name in _ARCH_BY_NAME:
            wanted.add(_ARCH_BY_NAME[name])
        else:
            raise CompileError(
                _errno.EINVAL, f"SystemCallArchitectures=: unknown {name!r}", plan.EXIT_SECCOMP
            )
    kept: list[int] = []
    blocked = False
    for arch in list(local):
        if arch == lib.native:
            continue  # never blocked: execve(2) must still work
        block = arch not in wanted
        if block and arch == SCMP_ARCH_X86_64 and lib.native == SCMP_ARCH_X32:
            # x32's vDSO makes x86-64 calls: listing x32 keeps them
            block = SCMP_ARCH_X32 not in wanted
        if block:
            local.remove(arch)
            blocked = True
        else:
            kept.append(arch)
    if not blocked:
        return None
    what, status = "SystemCallArchitectures=", plan.EXIT_SECCOMP
    with _Filter(lib, SCMP_ARCH_NATIVE, SCMP_ACT_ALLOW, what, status, badarch_kill=True) as f:
        for arch in kept:
            r = lib.so.seccomp_arch_add(f.ctx, arch)
            if r != -_errno.EEXIST:
                f.check(r, "seccomp_arch_add()")
        names = [ARCH_NAMES.get(a, hex(a)) for a in (lib.native, *kept)]
        return Program(f.export(), status, "+".join(names))


def _what(step: plan.Step) -> str:
    match step:
        case plan.SyscallSet(setting=setting):
            return setting
        case plan.AddressFamilies():
            return "RestrictAddressFamilies="
        case plan.Builtin(name=name):
            return f"seccomp_{name}()"
        case plan.RestrictNamespaces():
            return "RestrictNamespaces="
        case plan.LockPersonality():
            return "LockPersonality="
        case _:
            return "SystemCallArchitectures="


def _compile(lib: _Lib, steps: tuple[plan.Step, ...]) -> tuple[Program, ...]:
    local = list(_LOCAL_ARCHS.get(lib.native, (lib.native,)))
    out: list[Program] = []
    for step in steps:
        status = plan.exit_status(step)
        default = SCMP_ACT_ALLOW
        build: Callable[[_Filter], None]
        match step:
            case plan.Archs():
                prog = _archs(lib, step, local)
                if prog is not None:
                    out.append(prog)
                continue
            case plan.SyscallSet():
                if not step.rules and step.default == plan.ACTION_ALLOW:
                    continue  # nothing to filter (252 loads nothing either)
                default = _action(lib, step.default)
                build = _syscall_set(lib, step)
            case plan.AddressFamilies():
                build = _address_families(step)
            case plan.Builtin(name=name):
                try:
                    build = _BUILTINS[name]
                except KeyError:
                    raise ValueError(f"unknown seccomp builtin {name!r}") from None
            case plan.RestrictNamespaces(retain=retain):
                if retain & NAMESPACE_FLAGS_ALL == NAMESPACE_FLAGS_ALL:
                    continue
                build = _restrict_namespaces(retain)
            case plan.LockPersonality(personality=personality):
                if personality == PERSONALITY_INVALID:
                    personality = current_personality()
                if personality >= PERSONALITY_INVALID:
                    raise CompileError(
                        _errno.EINVAL, "LockPersonality=: invalid personality", status
                    )
                build = _lock_personality(personality)
        for arch in local:
            with _Filter(lib, arch, default, _what(step), status) as f:
                try:
                    build(f)
                except _Skip:
                    continue
                out.append(Program(f.export(), status, ARCH_NAMES.get(arch, hex(arch))))
    return tuple(out)


_memo: dict[tuple[plan.Step, ...], tuple[Program, ...]] = {}


def compile_steps(steps: tuple[plan.Step, ...]) -> tuple[Program, ...]:
    """The BPF programs for `steps`, to be loaded in this order: per step one for each
    local architecture that 252 would filter (fewer where it skips one; none after
    SystemCallArchitectures= for the ABIs it blocks). Remembered per `steps` (a unit is
    started many times). Raises CompileError (with the exit status) where 252 fails."""
    progs = _memo.get(steps)
    if progs is None:
        progs = _compile(_library(), steps)
        if len(_memo) >= 256:
            _memo.clear()
        _memo[steps] = progs
    return progs


def load(programs: tuple[Program, ...]) -> None:
    """Load `programs` into this process, in order (prctl(2) PR_SET_SECCOMP,
    SECCOMP_MODE_FILTER: seccomp(2) SECCOMP_SET_MODE_FILTER with flags 0). Needs
    no_new_privs or CAP_SYS_ADMIN. As 252 (ERRNO_IS_SECCOMP_FATAL()), a failure with
    EPERM, EACCES, ENOMEM or EFAULT raises OSError; any other only skips that program."""
    if not programs:
        return
    import ctypes

    class Fprog(ctypes.Structure):
        # struct sock_fprog { unsigned short len; struct sock_filter *filter; }
        _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.restype = ctypes.c_int
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong)
    for prog in programs:
        buf = ctypes.create_string_buffer(prog.bpf, len(prog.bpf))
        fprog = Fprog(len(prog.bpf) // 8, ctypes.addressof(buf))
        if prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) < 0:
            err = ctypes.get_errno()
            if err in FATAL_LOAD_ERRNOS:
                raise OSError(
                    err, f"loading the seccomp filter for {prog.arch}: {os.strerror(err)}"
                )
