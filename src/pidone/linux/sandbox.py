"""File-system sandboxing through a private mount namespace, set up in the child before exec.

Which settings (man 5 systemd.exec "SANDBOXING"): PrivateTmp=, PrivateDevices=,
ProtectSystem=, ProtectHome=, ReadWritePaths=, ReadOnlyPaths=, InaccessiblePaths=,
BindPaths=, BindReadOnlyPaths=, TemporaryFileSystem= (and what DynamicUser= implies).

How (systemd 252 src/core/namespace.c setup_namespace(), simplified):

1. unshare(CLONE_NEWNS), then make every mount a slave of the host's (MS_REC|MS_SLAVE)
   so nothing we mount propagates back (mount_namespaces(7));
2. bind sources are opened (O_PATH) first, so later mounts cannot hide them; missing
   bind destinations are created (mkdir -p, or an empty file for a non-directory);
3. read-only: ProtectSystem= (yes: /usr /boot /efi; full: + /etc; strict: all of / but
   the API file systems /dev /proc /sys), ProtectHome=read-only, ReadOnlyPaths=. Each mount
   in the subtree is remounted MS_BIND|MS_REMOUNT|MS_RDONLY with its other per-mount flags
   kept (a remount without MS_BIND would change the superblock: the host's too);
4. read-write again: ReadWritePaths= and the unit's own Runtime/State/Cache/Logs
   directories (systemd makes them writable under ProtectSystem=strict) are bound onto
   themselves and remounted writable;
5. PrivateTmp= binds /tmp/pidone-private-<manager>-<unit>-<invocation>/tmp and the same
   under /var/tmp
   (created by the daemon, mode 0700 with a 1777 `tmp` inside, as systemd's
   /tmp/systemd-private-*); PrivateDevices= mounts a tmpfs on /dev with null, zero,
   full, random, urandom, tty bound from the host, a new devpts instance, shm and
   mqueue bound from the host, and the usual symlinks; TemporaryFileSystem= and
   ProtectHome=tmpfs mount tmpfs instances; BindPaths=/BindReadOnlyPaths= bind (rbind
   unless `norbind`);
6. InaccessiblePaths= and ProtectHome=yes: a directory is covered by an empty mode-000
   read-only tmpfs, anything else by a bind of an empty mode-000 file;
7. the manager's notify socket ($NOTIFY_SOCKET) is bound back in if a private mount hid it
   (pidone's runtime directory may live under /tmp, systemd's never does).

A failure exits 226/NAMESPACE, as systemd's does. (The module is a little over 600 lines:
the daemon-side plan and the child-side steps share the MountOp vocabulary, and keeping
both halves of each step together is what makes them checkable against each other.)

The daemon needs CAP_SYS_ADMIN; without it `sandbox_available()` is False, nothing is
mounted, and `not_enforced_settings()` names every setting the unit has that therefore is
not enforced.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import stat
from collections.abc import Mapping, Sequence

from pidone.core.capabilities import CAP_SYS_ADMIN
from pidone.core.dataclass_lite import dataclass
from pidone.core.model import ExecContext, NotEnforced

EXIT_NAMESPACE = 226
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_SLAVE = 16384, 1 << 18, 1 << 19
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
_OPTION_FLAGS = {
    b"nosuid": MS_NOSUID,
    b"nodev": MS_NODEV,
    b"noexec": MS_NOEXEC,
    b"noatime": MS_NOATIME,
    b"nodiratime": MS_NODIRATIME,
    b"relatime": MS_RELATIME,
}
_API_FS = (b"/dev", b"/proc", b"/sys")
_DEVICES = (b"null", b"zero", b"full", b"random", b"urandom", b"tty")
INACCESSIBLE_FILE = "/run/pidone-inaccessible-file"

# The settings this module enforces: key -> how to tell that a context uses it.
SANDBOX_KEYS = (
    "PrivateTmp",
    "PrivateDevices",
    "ProtectSystem",
    "ProtectHome",
    "ReadWritePaths",
    "ReadOnlyPaths",
    "InaccessiblePaths",
    "BindPaths",
    "BindReadOnlyPaths",
    "TemporaryFileSystem",
)
# Old spellings the builder files under the same fields.
KEY_ALIASES = {
    "ReadWriteDirectories": "ReadWritePaths",
    "ReadOnlyDirectories": "ReadOnlyPaths",
    "InaccessibleDirectories": "InaccessiblePaths",
}


@dataclass(frozen=True, slots=True)
class MountOp:
    """One step: kind is ro, rw, bind, tmpfs, hide-dir, hide-file, dev or keep."""

    kind: str
    target: bytes
    source: bytes = b""
    data: bytes = b""
    flags: int = 0
    optional: bool = False
    recursive: bool = True
    readonly: bool = False


@dataclass(frozen=True, slots=True)
class SandboxPlan:
    ops: tuple[MountOp, ...]
    dev_log: bytes = b""  # the host's /dev/log symlink target, for PrivateDevices=


# --------------------------------------------------------------------------- the parent


@functools.cache
def sandbox_available() -> bool:
    """Whether this process may make mount namespaces: CAP_SYS_ADMIN in its effective set,
    and a probe child could unshare(CLONE_NEWNS) and make / a slave (a seccomp filter or an
    LSM may still refuse what the capability allows, as in unprivileged Docker)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"CapEff:"):
                    if not int(line.split()[1], 16) >> CAP_SYS_ADMIN & 1:
                        return False
                    break
    except (OSError, ValueError, IndexError):
        return False
    return _probe()


def _probe() -> bool:
    lib = libc()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the probe child only makes two system calls
        ok = (
            lib.unshare(CLONE_NEWNS) == 0
            and lib.mount(None, b"/", None, MS_REC | MS_SLAVE, None) == 0
        )
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def effective_settings(ctx: ExecContext) -> dict[str, object]:
    """The sandbox settings in force, with DynamicUser='s implications (man 5 systemd.exec)."""
    protect_system, protect_home, private_tmp = (
        ctx.protect_system,
        ctx.protect_home,
        ctx.private_tmp,
    )
    if ctx.dynamic_user:
        private_tmp = True
        if protect_system in ("no", "yes", "full"):
            protect_system = "strict"
        if protect_home in ("no", "tmpfs"):
            protect_home = "read-only"
    return {
        "PrivateTmp": private_tmp,
        "PrivateDevices": ctx.private_devices,
        "ProtectSystem": "" if protect_system == "no" else protect_system,
        "ProtectHome": "" if protect_home == "no" else protect_home,
        "ReadWritePaths": ctx.read_write_paths,
        "ReadOnlyPaths": ctx.read_only_paths,
        "InaccessiblePaths": ctx.inaccessible_paths,
        "BindPaths": ctx.bind_paths,
        "BindReadOnlyPaths": ctx.bind_read_only_paths,
        "TemporaryFileSystem": ctx.temporary_file_system,
    }


def used_settings(ctx: ExecContext) -> tuple[str, ...]:
    """The SANDBOX_KEYS this context sets."""
    return tuple(k for k, v in effective_settings(ctx).items() if v)


def not_enforced_settings(ctx: ExecContext, *, full_privileges: bool = False) -> tuple[str, ...]:
    """What of this context stays unenforced here (all its settings without CAP_SYS_ADMIN);
    a `+` command is exempt by definition, so nothing is missing for it."""
    if full_privileges or sandbox_available():
        return ()
    return used_settings(ctx)


def enforced_keys() -> frozenset[str]:
    """Directive names (with old spellings) that pidone enforces on this machine now."""
    if not sandbox_available():
        return frozenset()
    return frozenset(SANDBOX_KEYS) | frozenset(KEY_ALIASES)


def still_not_enforced(items: Sequence[NotEnforced]) -> list[NotEnforced]:
    """The builder's `Unit.not_enforced` list less what this machine enforces now (for
    `pidone verify` and the status output)."""
    enforced = enforced_keys()
    return [n for n in items if n.key not in enforced]


def _path_entry(raw: str) -> tuple[str, bool]:
    """`-/x` -> ("/x", optional); `+/x` (relative to RootDirectory=) -> "/x"."""
    optional = False
    while raw[:1] in ("-", "+"):
        optional = optional or raw[0] == "-"
        raw = raw[1:]
    return os.path.realpath(raw), optional


# The manager these directories belong to (set_private_tmp_scope): one host may run
# several managers (test daemons, a bench beside a test run), each starting a unit of the
# same name; without the scope, one manager's clean-up of "its" stale directories for
# apache2.service deleted another's live ones (Failed at step NAMESPACE ... ENOENT).
_SCOPE = ""


def set_private_tmp_scope(scope: str) -> None:
    """Name the manager in PrivateTmp= directory names (the daemon's runtime-dir tag, stable
    across its restarts, so a restarted daemon still removes its predecessor's leftovers)."""
    global _SCOPE
    _SCOPE = scope


def private_tmp_dirs(invocation_id: str, unit: str = "") -> tuple[str, str]:
    """(/tmp/pidone-private-[SCOPE-][UNIT-]ID, the same under /var/tmp): each holds a 1777
    `tmp`, as systemd's /tmp/systemd-private-BOOTID-UNIT-RANDOM."""
    tag = invocation_id or f"pid{os.getpid()}"
    name = "-".join(p for p in ("pidone-private", _SCOPE, unit, tag) if p)
    return f"/tmp/{name}", f"/var/tmp/{name}"


def make_private_tmp(invocation_id: str, unit: str = "") -> tuple[str, str]:
    """Create the PrivateTmp= directories (idempotent within one invocation). Those of the
    unit's earlier invocations are removed: a unit runs one invocation at a time, and
    systemd deletes them when the unit stops."""
    out = []
    for outer in private_tmp_dirs(invocation_id, unit):
        if unit and not os.path.isdir(outer):
            _remove_stale(outer, unit)
        inner = f"{outer}/tmp"
        os.makedirs(outer, mode=0o700, exist_ok=True)
        if not os.path.isdir(inner):
            os.mkdir(inner)
            os.chmod(inner, 0o1777)
        out.append(inner)
    return out[0], out[1]


def _remove_stale(outer: str, unit: str) -> None:
    import shutil

    parent = os.path.dirname(outer)
    prefix = "-".join(p for p in ("pidone-private", _SCOPE, unit) if p) + "-"
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        rest = name[len(prefix) :]
        if name.startswith(prefix) and "-" not in rest:  # not another unit "UNIT-x"
            shutil.rmtree(f"{parent}/{name}", ignore_errors=True)


def remove_private_tmp(invocation_id: str, unit: str = "") -> None:
    """Delete the PrivateTmp= directories of an invocation (call when the unit has stopped)."""
    import shutil

    for outer in private_tmp_dirs(invocation_id, unit):
        shutil.rmtree(outer, ignore_errors=True)


def _inaccessible_file() -> bytes:
    if not os.path.exists(INACCESSIBLE_FILE):
        fd = os.open(INACCESSIBLE_FILE, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0)
        os.close(fd)
        os.chmod(INACCESSIBLE_FILE, 0)
    return os.fsencode(INACCESSIBLE_FILE)


def _hide(path: str, optional: bool) -> MountOp | None:
    try:
        st = os.lstat(path)
    except OSError:
        if optional:
            return None
        raise
    if stat.S_ISDIR(st.st_mode):
        return MountOp("hide-dir", os.fsencode(path), data=b"mode=000", optional=optional)
    return MountOp("hide-file", os.fsencode(path), _inaccessible_file(), optional=optional)


def _private_directory_ops(environment: Mapping[str, str]) -> list[MountOp]:
    """DynamicUser=: <base>/private is 0700, so the service could not reach its own
    directory through it. As systemd does, cover private/ with a 0755 tmpfs in the
    namespace and bind only this unit's directories back in."""
    ops: list[MountOp] = []
    roots: set[str] = set()
    for var in ("STATE_DIRECTORY", "CACHE_DIRECTORY", "LOGS_DIRECTORY"):
        for path in environment.get(var, "").split(":"):
            real = os.path.realpath(path) if path else ""
            if "/private/" not in real:
                continue
            root = real[: real.index("/private/")] + "/private"
            if root not in roots:
                roots.add(root)
                ops.append(MountOp("tmpfs", os.fsencode(root), data=b"mode=755"))
            ops.append(MountOp("bind", os.fsencode(real), os.fsencode(real)))
    return ops


def _bind_entry(raw: str, readonly: bool) -> MountOp:
    """BindPaths= item `[-]SRC[:DST[:OPTIONS]]` (OPTIONS: rbind | norbind)."""
    optional = raw.startswith("-")
    parts = raw.removeprefix("-").split(":")
    src = parts[0]
    dst = parts[1] if len(parts) > 1 and parts[1] else src
    recursive = not (len(parts) > 2 and parts[2] == "norbind")
    return MountOp(
        "bind",
        os.fsencode(os.path.normpath(dst)),
        os.fsencode(src),
        optional=optional,
        recursive=recursive,
        readonly=readonly,
    )


def build_sandbox_plan(
    ctx: ExecContext, environment: Mapping[str, str], unit: str = ""
) -> SandboxPlan | None:
    """The mounts for this context, or None when it asks for none. Raises OSError (e.g. a
    required InaccessiblePaths= entry that does not exist: systemd fails such a start)."""
    s = effective_settings(ctx)
    if not any(s.values()):
        return None
    ops: list[MountOp] = []
    ro: list[tuple[str, bool]] = []
    protect_system = s["ProtectSystem"]
    if protect_system == "strict":
        ro.append(("/", False))
    elif protect_system in ("yes", "full", "true"):
        ro += [("/usr", True), ("/boot", True), ("/efi", True)]
        if protect_system == "full":
            ro.append(("/etc", True))
    home = ("/home", "/root", "/run/user")
    if s["ProtectHome"] == "read-only":
        ro += [(h, True) for h in home]
    ro += [_path_entry(p) for p in ctx.read_only_paths]
    for path, optional in ro:
        ops.append(MountOp("ro", os.fsencode(path), optional=optional))
    if ro:
        rw = [_path_entry(p) for p in ctx.read_write_paths]
        for var in ("RUNTIME_DIRECTORY", "STATE_DIRECTORY", "CACHE_DIRECTORY", "LOGS_DIRECTORY"):
            rw += [(os.path.realpath(p), True) for p in environment.get(var, "").split(":") if p]
        for path, optional in rw:
            ops.append(MountOp("rw", os.fsencode(path), optional=optional))
    if ctx.dynamic_user:
        ops += _private_directory_ops(environment)
    if s["PrivateTmp"]:
        tmp, var_tmp = make_private_tmp(environment.get("INVOCATION_ID", ""), unit)
        ops.append(MountOp("bind", b"/tmp", os.fsencode(tmp)))
        ops.append(MountOp("bind", b"/var/tmp", os.fsencode(var_tmp)))
    dev_log = b""
    if s["PrivateDevices"]:
        ops.append(MountOp("dev", b"/dev", data=b"mode=755"))
        if os.path.islink("/dev/log"):
            dev_log = os.fsencode(os.readlink("/dev/log"))
    for item in ctx.temporary_file_system:
        path, _, options = item.partition(":")
        words = [w for w in options.split(",") if w]
        flags = MS_RDONLY if "ro" in words else 0
        data = ",".join(w for w in words if w not in ("ro", "rw"))
        ops.append(MountOp("tmpfs", os.fsencode(path), data=data.encode(), flags=flags))
    if s["ProtectHome"] == "tmpfs":
        for h in home:
            if os.path.isdir(h):
                ops.append(MountOp("tmpfs", os.fsencode(h), data=b"mode=755", flags=MS_RDONLY))
    for raw in ctx.bind_paths:
        ops.append(_bind_entry(raw, readonly=False))
    for raw in ctx.bind_read_only_paths:
        ops.append(_bind_entry(raw, readonly=True))
    hidden = [_path_entry(p) for p in ctx.inaccessible_paths]
    if s["ProtectHome"] == "yes":
        hidden += [(h, True) for h in home]
    for path, optional in hidden:
        op = _hide(path, optional)
        if op is not None:
            ops.append(op)
    notify = environment.get("NOTIFY_SOCKET", "")
    if notify.startswith("/"):  # the manager's socket stays reachable whatever covers it
        ops.append(MountOp("keep", os.fsencode(notify), os.fsencode(notify), optional=True))
    libc()
    return SandboxPlan(tuple(ops), dev_log)


class _Libc:
    def __init__(self) -> None:
        lib = ctypes.CDLL(None, use_errno=True)
        self.mount = lib.mount
        self.mount.restype = ctypes.c_int
        self.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                               ctypes.c_ulong, ctypes.c_char_p]  # fmt: skip
        self.unshare = lib.unshare
        self.unshare.restype = ctypes.c_int
        self.unshare.argtypes = [ctypes.c_int]


@functools.cache
def libc() -> _Libc:
    return _Libc()


# --------------------------------------------------------------------------- the child


def _check(r: int) -> None:
    if r != 0:
        err = ctypes.get_errno() or 1
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
    """(mount point, per-mount flags other than ro) for each line of /proc/self/mountinfo."""
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


def _remount(path: bytes, readonly: bool, recursive: bool, skip: tuple[bytes, ...] = ()) -> None:
    mounts = _mounts_under(path, skip) if recursive else []
    if not recursive:
        mounts = [m for m in _mounts_under(path) if m[0] == path][-1:]
    for point, flags in mounts:
        try:
            _mount(
                None,
                point,
                None,
                MS_REMOUNT | MS_BIND | flags | (MS_RDONLY if readonly else 0),
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


def _private_dev(op: MountOp, dev_log: bytes) -> None:
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
    _mount(b"tmpfs", b"/dev", b"tmpfs", MS_NOSUID | MS_STRICTATIME, op.data)
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


def apply_sandbox(plan: SandboxPlan) -> None:
    """Steps 1-7 of the module docstring; raises OSError (the caller exits 226)."""
    # Mount points we create get 0755/0644 whatever the unit's UMask= (which is set by now)
    old_umask = os.umask(0o022)
    try:
        _apply(plan)
    finally:
        os.umask(old_umask)


def _apply(plan: SandboxPlan) -> None:
    _check(libc().unshare(CLONE_NEWNS))
    _mount(None, b"/", None, MS_REC | MS_SLAVE, b"")
    sources: dict[int, int] = {}
    for i, op in enumerate(plan.ops):
        if op.kind == "keep":
            with contextlib.suppress(OSError):
                sources[i] = os.open(op.source, os.O_PATH | os.O_CLOEXEC)
            continue
        if op.kind != "bind":
            continue
        try:
            fd = os.open(op.source, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            if op.optional:
                continue
            raise
        sources[i] = fd
        _make_target(op.target, fd)
    for i, op in enumerate(plan.ops):
        if op.kind in ("ro", "rw", "hide-dir", "hide-file", "tmpfs") and not os.path.lexists(
            op.target
        ):
            if op.optional or op.kind in ("ro", "rw"):
                continue
            raise OSError(2, f"{os.fsdecode(op.target)}: No such file or directory")
        if op.kind == "ro":
            if op.target != b"/":
                _bind_self(op.target)  # a mount point of its own, as namespace.c does
            _remount(op.target, True, True, _API_FS if op.target == b"/" else ())
        elif op.kind == "rw":
            _bind_self(op.target)
            _remount(op.target, False, True)
        elif op.kind == "bind":
            fd = sources.get(i, -1)
            if fd < 0:
                continue
            flags = MS_BIND | (MS_REC if op.recursive else 0)
            if not os.path.lexists(op.target):  # e.g. inside a tmpfs mounted since step 2
                _make_target(op.target, fd)
            _mount(b"/proc/self/fd/%d" % fd, op.target, None, flags, b"")
            os.close(fd)
            # Only a read-only bind is remounted: a new bind mount already carries its
            # source mount's per-mount flags (mount(2) MS_BIND), and systemd 252's
            # make_read_only() changes nothing else ("No Change?"): PrivateTmp= and
            # BindPaths= of a read-only source stay as they are. (Remounting every mount
            # below a writable bind made read-only submounts writable, and read and parsed
            # /proc/self/mountinfo twice per PrivateTmp= start.)
            if op.readonly:
                _remount(op.target, True, op.recursive)
        elif op.kind == "dev":
            _private_dev(op, plan.dev_log)
        elif op.kind == "tmpfs":
            _mount(b"tmpfs", op.target, b"tmpfs", MS_NOSUID | MS_NODEV | op.flags, op.data)
        elif op.kind == "hide-dir":
            _mount(b"tmpfs", op.target, b"tmpfs",
                   MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, op.data)  # fmt: skip
        elif op.kind == "hide-file":
            _mount(op.source, op.target, None, MS_BIND, b"")
            _remount(op.target, True, False)
        elif op.kind == "keep" and i in sources:
            _keep(op.target, sources[i])


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
