"""The request encoding of the compiled spawn helper (csrc/pidone-spawn.c): which plans it takes.

linux.spawn_cgroup sends each plan to a spawn helper that clone3()s the service; the
compiled helper does, in C, what linux.spawnchild.run() does for the common plans, and
`encode()` decides which plans those are. None means "this plan needs the Python helper"
(linux.spawnhelper, started lazily then):

* an argv that names $SYSTEMD_EXEC_PID (field 2: expanded in the child by core.execline).
  $SYSTEMD_EXEC_PID in the *environment* (field 5, every service has it) is taken;
* a value the C side would read differently from Python's os.execve(): a NUL byte in a
  string, `=` in an environment name, an empty argv or argv[0] (Python raises, the child
  exits 255: the Python helper reproduces that).

In C too: a TTY stream (StandardInput=tty & co.: TIOCSCTTY and its waits, TTYReset=,
TTYVHangup=: linux.stdiosteps) and every mount operation of linux.sandbox (PrivateTmp=,
PrivateDevices=, ProtectSystem=, ProtectHome=, ReadWritePaths=, ReadOnlyPaths=,
InaccessiblePaths=, TemporaryFileSystem=, BindPaths=, BindReadOnlyPaths=, the
ProtectKernel*=/ProtectControlGroups= mounts, ProtectProc='s procfs, ProtectHostname='s UTS
namespace and PrivateNetwork='s network namespace: linux.mountns).

The wire (little-endian; the C side reads it with bounds checks, no parser library):

    u32 MAGIC, u32 flags (F_*), i32 number of fds attached (SCM_RIGHTS)
    i32 pre_error status, i32 pre_error errno, i32 exec_error, i32 umask, i32 nice
    i64 uid, i64 gid, i32 groups count (-1 = None), u32 per group
    3 x stdio: i32 kind (STDIO_KINDS index), i32 fd, i32 open flags, i32 tty (TTY_MODES
        index, -1 when not "tty"), i32 TTYReset=, i32 TTYVHangup=, blob path
    i32 first passed fd's index, i32 passed fd count
    i32 limit count, per limit: i32 resource, u64 soft, u64 hard
    blob oom_score_adjust, blob path, blob cwd
    i32 argc, argc x blob
    i32 envc, per entry: i32 self_pid (value = the child's PID), blob name, blob value
    i32 mount op count (-1 = no namespace), per op: i32 kind (MOUNT_KINDS index),
        i32 optional, i32 recursive, i32 readonly, i32 flags, blob target, blob source,
        blob data; then (when there is a namespace) blob dev_log, the host's /dev/log
        symlink target for PrivateDevices=' /dev/log (empty: none)
    i32 privileges present (field 24: CapabilityBoundingSet=, AmbientCapabilities=,
        SecureBits=, IOScheduling*=, CPUScheduling*=; linux.privsteps), and if 1:
        i32 count + i32 per bounding-set drop, i32 count + i32 per ambient capability,
        u64 ambient mask, i32 secure bits present, i32 secure bits, i32 keep_caps,
        i32 ioprio (-1 = leave), i32 sched present, i32 policy, i32 priority
    i32 seccomp program count (field 27: linux.spawn._seccomp_wire; F_NNP_UNLESS_ADMIN says
        the context has seccomp settings), per program: i32 exit status, raw blob (the
        `struct sock_filter` array, 8 bytes per instruction)
    blob uid_map, blob gid_map (field 28, PrivateUsers=: the maps of the command's user
        namespace; both empty: none)

A blob is u32 length, the bytes, and a NUL (not counted), so the C side points into the
request; a raw blob may hold NULs (its length says where it ends). fd fields are indexes
into the attached fds: for an "fd" stdio source its own, the passed fds from `first`; the
cgroup directory is fd 0 with F_INTO_CGROUP, then the error pipe, as linux.spawnhelper's
protocol has them.
"""

from __future__ import annotations

import struct

from pidone.core.hints import TYPE_CHECKING

if TYPE_CHECKING:
    from pidone.linux.spawnchild import Plan

MAGIC = 0x39505350  # b"PSP9" read as a little-endian u32; the helper refuses others (EPROTO)
F_INTO_CGROUP = 1
F_IGNORE_SIGPIPE = 2
F_SWITCH_IDS = 4
F_CWD_MISSING_OK = 8
F_NO_NEW_PRIVILEGES = 16
F_NON_BLOCKING = 32
F_NICE = 64
F_NNP_UNLESS_ADMIN = 128  # seccomp settings: NoNewPrivileges= unless CAP_SYS_ADMIN is left
STDIO_KINDS = ("keep", "copy", "fd", "null", "open", "tty")
TTY_MODES = ("tty", "tty-force", "tty-fail")  # StandardInput= of a "tty" stream
MOUNT_KINDS = (
    "bind", "keep", "ro", "rw", "tmpfs", "hide-dir", "hide-file", "dev", "ro-sys", "uts", "netns",
    "proc", "ns", "noexec", "exec",
)  # fmt: skip
_U64 = 1 << 64
_I32 = struct.Struct("<i")
_LIMIT = struct.Struct("<iQQ")


class _Refused(Exception):
    """The plan needs the Python helper."""


def _blob(value: bytes, out: list[bytes]) -> None:
    if b"\0" in value:
        raise _Refused
    out.append(struct.pack("<I", len(value)))
    out.append(value)
    out.append(b"\0")


def _rlim(value: int) -> int:
    if value == -1:  # resource.RLIM_INFINITY
        return _U64 - 1
    if not 0 <= value < _U64:
        raise _Refused
    return value


def fd_order(plan: Plan, err_w: int, cg_fd: int) -> list[int]:
    """The fds to attach, in the order `encode()` indexes them (= linux.spawnhelper's)."""
    fds = [err_w] if cg_fd < 0 else [cg_fd, err_w]
    fds += [src[1] for src in plan[11] if src[0] == "fd"]
    fds += plan[12]
    return fds


def encode(plan: Plan, into_cgroup: bool) -> bytes | None:
    """The request for the compiled helper, or None when the plan needs the Python one."""
    try:
        return _encode(plan, into_cgroup)
    except (_Refused, struct.error, TypeError, ValueError, OverflowError):
        return None


def _encode(plan: Plan, into_cgroup: bool) -> bytes:
    (path, argv, deferred, _env_text, env, self_pid_keys, pre_error, exec_error,
     _reset_signals, ignore_sigpipe, _cgroup_fd, stdio, pass_fds, limits, nice,
     oom_score_adjust, no_new_privileges, umask, switch_ids, uid, gid, groups, cwd,
     cwd_missing_ok, privileges, sandbox, non_blocking, seccomp, userns) = plan  # fmt: skip
    if deferred is not None or not argv or not argv[0]:
        raise _Refused
    flags = (
        (F_INTO_CGROUP if into_cgroup else 0)
        | (F_IGNORE_SIGPIPE if ignore_sigpipe else 0)
        | (F_SWITCH_IDS if switch_ids else 0)
        | (F_CWD_MISSING_OK if cwd_missing_ok else 0)
        | (F_NO_NEW_PRIVILEGES if no_new_privileges else 0)
        | (F_NON_BLOCKING if non_blocking else 0)
        | (F_NICE if nice is not None else 0)
        | (F_NNP_UNLESS_ADMIN if seccomp is not None and seccomp[0] else 0)
    )
    index = 2 if into_cgroup else 1  # the next attached fd's index
    body: list[bytes] = []
    body.append(struct.pack("<iiiii", pre_error[0], pre_error[1], exec_error, umask, nice or 0))
    body.append(struct.pack("<qq", uid, gid))
    if groups is None:
        body.append(_I32.pack(-1))
    else:
        body.append(struct.pack(f"<i{len(groups)}I", len(groups), *groups))
    for src in stdio:
        kind = src[0]
        if kind not in STDIO_KINDS:
            raise _Refused
        fd = src[1]
        if kind == "fd":
            fd, index = index, index + 1
        tty = TTY_MODES.index(src[4]) if kind == "tty" else -1
        body.append(
            struct.pack("<iiiiii", STDIO_KINDS.index(kind), fd, src[3], tty, src[5], src[6])
        )
        _blob(src[2], body)
    body.append(struct.pack("<ii", index, len(pass_fds)))
    nfds = index + len(pass_fds)
    body.append(_I32.pack(len(limits)))
    for res, soft, hard in limits:
        body.append(_LIMIT.pack(res, _rlim(soft), _rlim(hard)))
    for value in (oom_score_adjust, path, cwd):
        _blob(value, body)
    body.append(_I32.pack(len(argv)))
    for word in argv:
        _blob(word, body)
    body.append(_I32.pack(len(env)))
    own = set(self_pid_keys)
    for key, value in env.items():
        if not key or b"=" in key:  # os.execve() raises ValueError: the child exits 255
            raise _Refused
        body.append(_I32.pack(key in own))
        _blob(key, body)
        _blob(value, body)
    if sandbox is None:
        body.append(_I32.pack(-1))
    else:
        ops, dev_log = sandbox
        body.append(_I32.pack(len(ops)))
        for kind, target, source, data, mount_flags, optional, recursive, readonly in ops:
            if kind not in MOUNT_KINDS:
                raise _Refused
            kind_index = MOUNT_KINDS.index(kind)
            body.append(
                struct.pack("<iiiii", kind_index, optional, recursive, readonly, mount_flags)
            )
            _blob(target, body)
            _blob(source, body)
            _blob(data, body)
        _blob(dev_log, body)
    if privileges is None:
        body.append(_I32.pack(0))
    else:
        drops, ambient, ambient_mask, secure_bits, keep_caps, ioprio, sched = privileges
        body.append(struct.pack(f"<ii{len(drops)}i", 1, len(drops), *drops))
        body.append(struct.pack(f"<i{len(ambient)}i", len(ambient), *ambient))
        body.append(struct.pack("<Q", ambient_mask))
        body.append(
            struct.pack("<iiii", secure_bits is not None, secure_bits or 0, keep_caps, ioprio)
        )
        body.append(struct.pack("<iii", sched is not None, *(sched or (0, 0))))
    programs = seccomp[1] if seccomp is not None else ()
    body.append(_I32.pack(len(programs)))
    for bpf, status in programs:
        if len(bpf) % 8:
            raise _Refused
        body.append(struct.pack("<iI", status, len(bpf)))
        body.append(bpf)
        body.append(b"\0")
    uid_map, gid_map = userns if userns is not None else (b"", b"")
    if not uid_map or not gid_map:
        uid_map = gid_map = b""
    _blob(uid_map, body)
    _blob(gid_map, body)
    return struct.pack("<IIi", MAGIC, flags, nfds) + b"".join(body)
