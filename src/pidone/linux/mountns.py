"""The child side of linux.sandbox: the mount-namespace steps, run between clone3/fork and execve.

linux.sandbox builds the plan in the daemon (which mounts, from the unit's settings) and
documents the steps; this module carries them out on the plan as the spawn plan carries
it (linux.spawnchild field 25): plain tuples, one per mount operation, in the field order
of sandbox.MountOp (kind, target, source, data, flags, optional, recursive, readonly), and
the host's /dev/log target.

Why a module of its own with only os, stat and ctypes: it is loaded into the spawn helper
(linux.spawnhelper) by the first sandboxed plan, and every module the helper holds is
anonymous memory whose page tables each later clone3(2) copies and each execve(2) tears
down, for every service, sandboxed or not. linux.sandbox pulls in pidone.core.model (re,
enum, collections, the unit-file parser...): ~2 MiB of anonymous memory, +60% of the
helper's, which cost every later spawn ~0.7 ms of CPU (bench/spawn_exec.py). This module
adds a few KiB.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the helper does not import typing
if TYPE_CHECKING:
    # One mount operation: sandbox.MountOp's fields in order.
    Op = tuple[str, bytes, bytes, bytes, int, bool, bool, bool]

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000
_EPERM, _EACCES, _EINVAL, _ENOSYS = 1, 13, 22, 38
_MNT_DETACH = 2
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_SLAVE = 16384, 1 << 18, 1 << 19
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
_OPTION_FLAGS = {
    b"nosuid": MS_NOSUID,
    b"nodev": MS_NODEV,
    b"noexec": MS_NOEXEC,
    b"ro": MS_RDONLY,
    b"noatime": MS_NOATIME,
    b"nodiratime": MS_NODIRATIME,
    b"relatime": MS_RELATIME,
}
_API_FS = (b"/dev", b"/proc", b"/sys")
# ProtectKernelTunables='s /sys is read-only but for these, which keep what they are
# (systemd 252 namespace.c protect_kernel_tunables_sys_table: READWRITE_IMPLICIT);
# ProtectControlGroups= makes /sys/fs/cgroup read-only with an "ro" of its own.
_SYS_KEPT = (b"/sys/fs/cgroup", b"/sys/fs/selinux")
# Operations on an existing target; a missing one fails the command unless optional, or
# unless there is then nothing to make read-only or writable.
_ON_A_TARGET = ("ro", "rw", "ro-sys", "hide-dir", "hide-file", "tmpfs", "noexec", "exec")
_SKIPPED_WHEN_MISSING = ("ro", "rw", "ro-sys", "noexec", "exec")
_DEVICES = (b"null", b"zero", b"full", b"random", b"urandom", b"tty")
_ENOENT = 2


class Libc:
    """libc's mount(2) and unshare(2) with their argument types, set up once in the parent."""

    def __init__(self) -> None:
        # ctypes only here and in _check(): the daemon plans mount operations with this
        # module's constants and never runs them (~0.7 MiB of RSS it does not need)
        import ctypes

        lib = ctypes.CDLL(None, use_errno=True)
        self.mount = lib.mount
        self.mount.restype = ctypes.c_int
        self.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                               ctypes.c_ulong, ctypes.c_char_p]  # fmt: skip
        self.unshare = lib.unshare
        self.unshare.restype = ctypes.c_int
        self.unshare.argtypes = [ctypes.c_int]
        self.setns = lib.setns
        self.setns.restype = ctypes.c_int
        self.setns.argtypes = [ctypes.c_int, ctypes.c_int]
        self.umount2 = lib.umount2
        self.umount2.restype = ctypes.c_int
        self.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


class NetworkNamespaceError(OSError):
    """PrivateNetwork='s namespace could not be joined: the child exits 225/NETWORK."""


class _Loaded:
    libc: Libc | None = None


def libc() -> Libc:
    if _Loaded.libc is None:
        _Loaded.libc = Libc()
    return _Loaded.libc


def _errno() -> int:
    import ctypes

    return ctypes.get_errno() or 1


def unshare(flags: int) -> None:
    """unshare(2), raising OSError."""
    _check(libc().unshare(flags))


def _check(r: int) -> None:
    if r != 0:
        err = _errno()
        raise OSError(err, os.strerror(err))


def _mount(src: bytes | None, dst: bytes, fstype: bytes | None, flags: int, data: bytes) -> None:
    _check(libc().mount(src, dst, fstype, flags, data or None))


def _unescape(field: bytes) -> bytes:
    """mountinfo octal escapes (\\040 for a space, proc(5))."""
    if b"\\" not in field:
        return field
    out, i = bytearray(), 0
    while i < len(field):
        if field[i] == 0x5C and i + 3 < len(field) + 0 and field[i + 1 : i + 4].isdigit():
            out.append(int(field[i + 1 : i + 4], 8))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return bytes(out)


def parse_mountinfo(data: bytes) -> list[tuple[bytes, int]]:
    """(mount point, per-mount flags) for each line of /proc/self/mountinfo."""
    out = []
    for line in data.splitlines():
        fields = line.split(b" ")
        if len(fields) < 6:
            continue
        flags = 0
        for opt in fields[5].split(b","):
            flags |= _OPTION_FLAGS.get(opt, 0)
        out.append((_unescape(fields[4]), flags))
    return out


def _mounts_under(path: bytes, skip: tuple[bytes, ...] = ()) -> list[tuple[bytes, int]]:
    fd = os.open(b"/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    prefix = path.rstrip(b"/") + b"/"
    out = []
    for point, flags in parse_mountinfo(b"".join(chunks)):
        if point == path or point.startswith(prefix) or path == b"/":
            if any(point == s or point.startswith(s + b"/") for s in skip):
                continue
            out.append((point, flags))
    return out


def _remount(
    path: bytes, readonly: bool, recursive: bool, skip: tuple[bytes, ...] = (), flag: int = 0
) -> None:
    """`path` (recursive: and the mounts below it) remounted with `flag` (MS_RDONLY by
    default) set (`readonly`) or cleared, each mount keeping its other per-mount flags."""
    flag = flag or MS_RDONLY
    mounts = _mounts_under(path, skip) if recursive else []
    if not recursive:
        mounts = [m for m in _mounts_under(path) if m[0] == path][-1:]
    for point, flags in mounts:
        try:
            _mount(
                None,
                point,
                None,
                MS_REMOUNT | MS_BIND | (flags & ~flag) | (flag if readonly else 0),
                b"",
            )
        except OSError:
            if point == path:
                raise
            # a submount we may not touch (e.g. a locked one): leave it as it is


def _bind_self(path: bytes) -> None:
    _mount(path, path, None, MS_BIND | MS_REC, b"")


def _make_target(target: bytes, source_fd: int) -> None:
    if os.path.lexists(target):
        return
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    if stat.S_ISDIR(os.fstat(source_fd).st_mode):
        os.mkdir(target, 0o755)
    else:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))


def _private_dev(data: bytes, dev_log: bytes) -> None:
    keep: list[tuple[bytes, int]] = []
    for name in _DEVICES:
        try:
            keep.append((name, os.open(b"/dev/" + name, os.O_PATH | os.O_CLOEXEC)))
        except OSError:
            continue
    dirs: list[tuple[bytes, int]] = []
    for name in (b"shm", b"mqueue", b"hugepages"):
        try:
            dirs.append((name, os.open(b"/dev/" + name, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)))
        except OSError:
            continue
    _mount(b"tmpfs", b"/dev", b"tmpfs", MS_NOSUID | MS_STRICTATIME, data)
    for name, fd in keep:
        path = b"/dev/" + name
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666))
        _mount(b"/proc/self/fd/%d" % fd, path, None, MS_BIND, b"")
        os.close(fd)
    for name, fd in dirs:
        os.mkdir(b"/dev/" + name, 0o755)
        _mount(b"/proc/self/fd/%d" % fd, b"/dev/" + name, None, MS_BIND | MS_REC, b"")
        os.close(fd)
    os.mkdir(b"/dev/pts", 0o755)
    _mount(b"devpts", b"/dev/pts", b"devpts", MS_NOSUID | MS_NOEXEC,
           b"newinstance,ptmxmode=0666,mode=620,gid=5")  # fmt: skip
    links = [
        (b"pts/ptmx", b"/dev/ptmx"),
        (b"/proc/self/fd", b"/dev/fd"),
        (b"/proc/self/fd/0", b"/dev/stdin"),
        (b"/proc/self/fd/1", b"/dev/stdout"),
        (b"/proc/self/fd/2", b"/dev/stderr"),
    ]
    if dev_log:
        links.append((dev_log, b"/dev/log"))
    for src, dst in links:
        os.symlink(src, dst)


def apply_sandbox(ops: tuple[Op, ...], dev_log: bytes) -> None:
    """linux.sandbox's steps 1-7 for these operations; raises OSError (the caller exits
    226/NAMESPACE)."""
    # Mount points we create get 0755/0644 whatever the unit's UMask= (which is set by now)
    old_umask = os.umask(0o022)
    try:
        _apply(ops, dev_log)
    finally:
        os.umask(old_umask)


def _apply(ops: tuple[Op, ...], dev_log: bytes) -> None:
    if any(op[0] not in ("netns", "uts") for op in ops):  # (PrivateNetwork= alone: none;
        # PrivateMounts= alone is an "ns" operation, which does nothing else)
        unshare(CLONE_NEWNS)
        _mount(None, b"/", None, MS_REC | MS_SLAVE, b"")
    sources: dict[int, int] = {}
    # Writable binds whose source mount was writable before any remount below. systemd 252
    # binds everything first (apply_mount()) and only then makes mounts read-only
    # (make_read_only(), with the writable entries on its deny list); here the binds come
    # after ProtectSystem='s read-only "/", whose remount also reaches the source mount of
    # a PrivateTmp= bind, so such a bind would inherit "ro" (redis's PrivateTmp=yes with
    # ProtectSystem=strict: a read-only /tmp, and $NOTIFY_SOCKET not bound back in).
    writable: set[int] = set()
    for i, (kind, target, source, _data, _flags, optional, _rec, readonly) in enumerate(ops):
        if kind == "netns":  # opened before any mount, as the bind sources are
            try:
                sources[i] = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise NetworkNamespaceError(exc.errno, exc.strerror) from None
            continue
        if kind == "keep":
            try:  # noqa: SIM105 (no contextlib in the helper)
                sources[i] = os.open(source, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                pass
            continue
        if kind != "bind":
            continue
        try:
            fd = os.open(source, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            if optional:
                continue
            raise
        sources[i] = fd
        if not readonly and not os.fstatvfs(fd).f_flag & os.ST_RDONLY:
            writable.add(i)
        if not _below_fresh_fs(ops, target):
            _make_target(target, fd)
    for i, (kind, target, source, data, flags, optional, recursive, readonly) in enumerate(ops):
        if kind in _ON_A_TARGET and not os.path.lexists(target):
            if optional or kind in _SKIPPED_WHEN_MISSING:
                continue
            raise OSError(_ENOENT, f"{os.fsdecode(target)}: No such file or directory")
        if kind == "netns":
            _join_network(sources.pop(i))
        elif kind == "uts":
            _private_uts()
        elif kind == "proc":
            _new_procfs(target, data)
        elif kind == "ro-sys":  # ProtectKernelTunables='s /sys
            _bind_self(target)
            _remount(target, True, True, _SYS_KEPT)
        elif kind == "ro":
            if target != b"/":
                _bind_self(target)  # a mount point of its own, as namespace.c does
            _remount(target, True, True, _API_FS if target == b"/" else ())
        elif kind == "rw":
            _bind_self(target)
            _remount(target, False, True)
        elif kind == "noexec":  # NoExecPaths=, as "ro" with MS_NOEXEC; data: the other
            # entries below it, which keep their exec bit (252's deny list)
            if target != b"/":
                _bind_self(target)
            kept = tuple(p for p in data.split(b"\n") if p and p != target)
            _remount(target, True, True, (_API_FS if target == b"/" else ()) + kept, MS_NOEXEC)
        elif kind == "exec":  # ExecPaths=
            _bind_self(target)
            _remount(target, False, True, (), MS_NOEXEC)
        elif kind == "bind":
            fd = sources.get(i, -1)
            if fd < 0:
                continue
            if not os.path.lexists(target):  # e.g. inside a tmpfs mounted since step 2
                _make_target(target, fd)
            _mount(b"/proc/self/fd/%d" % fd, target, None,
                   MS_BIND | (MS_REC if recursive else 0), b"")  # fmt: skip
            os.close(fd)
            # Only a read-only bind is remounted: a new bind mount already carries its
            # source mount's per-mount flags (mount(2) MS_BIND), and systemd 252's
            # make_read_only() changes nothing else ("No Change?"): PrivateTmp= and
            # BindPaths= of a read-only source stay as they are. (Remounting every mount
            # below a writable bind made read-only submounts writable, and read and parsed
            # /proc/self/mountinfo twice per PrivateTmp= start.)
            if readonly:
                _remount(target, True, recursive)
            elif i in writable and os.statvfs(target).f_flag & os.ST_RDONLY:
                _remount(target, False, False)  # this bind only: its submounts stay
        elif kind == "dev":
            _private_dev(data, dev_log)
        elif kind == "tmpfs":
            _mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV | flags, data)
        elif kind == "hide-dir":
            _mount(b"tmpfs", target, b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, data)
        elif kind == "hide-file":
            _mount(source, target, None, MS_BIND, b"")
            _remount(target, True, False)
        elif kind == "keep" and i in sources:
            _keep(target, sources[i])


def _join_network(fd: int) -> None:
    """PrivateNetwork=: enter the invocation's network namespace (linux.sandbox makes it).
    As systemd 252's exec_child(), a refusal for lack of privilege (a container manager's
    seccomp filter) leaves the command in the manager's namespace; other errors fail it."""
    try:
        if libc().setns(fd, CLONE_NEWNET) != 0:
            err = _errno()
            if err not in (_EPERM, _EACCES):
                raise NetworkNamespaceError(err, os.strerror(err))
    finally:
        os.close(fd)


def _new_procfs(target: bytes, options: bytes) -> None:
    """ProtectProc=/ProcSubset=: everything on /proc detached, then a new procfs instance
    with the options; a kernel that refuses them (before 5.8, hidepid= was not per
    instance) gets a plain one, as systemd 252's mount_procfs() falls back. A mount that
    cannot be detached (locked by a container's user namespace) stays; when then the new
    instance is refused (EPERM: /proc is not fully visible) and nothing was detached,
    /proc stays as it is, as 252 keeps an existing /proc it may not replace."""
    detached = 0
    for point, _flags in reversed(_mounts_under(target)):
        detached += libc().umount2(point, _MNT_DETACH) == 0
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    err = 0
    if libc().mount(b"proc", target, b"proc", flags, options or None) != 0:
        err = _errno()
    if err == _EINVAL and options:
        err = 0 if libc().mount(b"proc", target, b"proc", flags, None) == 0 else _errno()
    if err and not (err == _EPERM and not detached):
        raise OSError(err, os.strerror(err))


def _private_uts() -> None:
    """ProtectHostname=: a UTS namespace of the command's own, so a host name it sets stays
    there (systemd 252 apply_protect_hostname(): refused or unsupported is not an error)."""
    if libc().unshare(CLONE_NEWUTS) != 0:
        err = _errno()
        if err not in (_EPERM, _EACCES, _EINVAL, _ENOSYS):
            raise OSError(err, os.strerror(err))


def _below_fresh_fs(ops: tuple[Op, ...], target: bytes) -> bool:
    """`target` lies inside a file system this namespace mounts afresh (PrivateDevices='s
    /dev, a TemporaryFileSystem=): its mount point is made once that is mounted (the bind
    step's lexists() check), never beforehand in the host's directory below it."""
    for op in ops:
        if op[0] in ("dev", "tmpfs", "hide-dir") and target.startswith(op[1].rstrip(b"/") + b"/"):
            return True
    return False


def _keep(target: bytes, fd: int) -> None:
    """Bind the manager's own socket back in where a private mount hid it (best effort)."""
    try:
        if os.path.samestat(os.stat(target), os.fstat(fd)):
            return
    except OSError:
        pass
    try:
        _make_target(target, fd)
        _mount(b"/proc/self/fd/%d" % fd, target, None, MS_BIND, b"")
    except OSError:
        pass
    finally:
        os.close(fd)


CLONE_NEWUSER = 0x10000000


def private_users(uid_map: bytes, gid_map: bytes) -> None:
    """PrivateUsers= (systemd 252 setup_private_users()): a user namespace of this process's
    own in which only the manager's IDs and the service's map to themselves. Writing more
    than one line of a map needs CAP_SETUID/CAP_SETGID in the *parent* namespace, which
    this process loses with unshare(2), so a forked child that stays outside writes them,
    "deny" to setgroups first (user_namespaces(7)). Raises OSError (the step fails 217)."""
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the writer only reads a pipe and writes three files
        code = 0
        try:
            os.close(ready_w)
            os.close(err_r)
            if os.read(ready_r, 1) != b"1":
                raise OSError(5, "no user namespace")
            for name, text in (
                ("setgroups", b"deny\n"),
                ("gid_map", gid_map),
                ("uid_map", uid_map),
            ):
                try:
                    fd = os.open(f"/proc/{parent}/{name}", os.O_WRONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    if name == "setgroups":  # (Linux < 3.19: none to deny, as in 252)
                        continue
                    raise
                try:
                    os.write(fd, text)
                finally:
                    os.close(fd)
        except OSError as exc:
            code = exc.errno or 5
            try:  # noqa: SIM105 (no contextlib in the helper)
                os.write(err_w, code.to_bytes(4, "little"))
            except OSError:
                pass
        os._exit(1 if code else 0)
    os.close(ready_r)
    os.close(err_w)
    try:
        try:
            unshare(CLONE_NEWUSER)
            os.write(ready_w, b"1")
        except OSError:
            os.kill(pid, 9)
            raise
        got = os.read(err_r, 4)
        if len(got) == 4:
            code = int.from_bytes(got, "little")
            raise OSError(code, os.strerror(code))
    finally:
        os.close(ready_w)
        os.close(err_r)
        os.waitpid(pid, 0)
