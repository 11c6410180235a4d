"""Sandboxing through private namespaces, set up in the child before exec.

Which settings (man 5 systemd.exec "SANDBOXING"): PrivateTmp=, PrivateDevices=,
ProtectSystem=, ProtectHome=, ReadWritePaths=, ReadOnlyPaths=, InaccessiblePaths=,
BindPaths=, BindReadOnlyPaths=, TemporaryFileSystem= (and what DynamicUser= implies),
ProtectKernelTunables=, ProtectKernelModules=, ProtectKernelLogs=, ProtectControlGroups=
(mounts; their capability drops are in the unit's CapabilityBoundingSet= since load:
core.units._patch_exec_context), ProtectHostname= (a UTS namespace and read-only
/proc/sys/kernel/{hostname,domainname}) and PrivateNetwork= (one network namespace per
invocation with only `lo`, up, joined by every command, `+` ones too).

The system call filters these settings also bring in 252 (init_module(2) & co. for
ProtectKernelModules=, syslog(2) for ProtectKernelLogs=, _sysctl(2), sethostname(2), the
@clock calls for ProtectClock=, @raw-io for PrivateDevices=) are core.seccompplan's steps,
loaded by the spawn helper's child (linux.seccomp). ProtectClock= stays "not enforced":
its DeviceAllow= rule needs the device cgroup; its capability drop and filter are made.

How (systemd 252 src/core/namespace.c setup_namespace(), simplified):

1. unshare(CLONE_NEWNS), then make every mount a slave of the host's (MS_REC|MS_SLAVE)
   so nothing we mount propagates back (mount_namespaces(7));
2. bind sources are opened (O_PATH) first, so later mounts cannot hide them; missing
   bind destinations are created (mkdir -p, or an empty file for a non-directory);
0. PrivateNetwork= joins the invocation's network namespace (setns(2)), ProtectHostname=
   unshares a UTS namespace; PrivateNetwork= alone makes no mount namespace;
   ProtectProc=/ProcSubset= replace everything mounted on /proc with a new procfs with
   hidepid=/subset=pid (without the options where the kernel refuses them, as 252 does);
3. read-only: ProtectSystem= (yes: /usr /boot /efi; full: + /etc; strict: all of / but
   the API file systems /dev /proc /sys), ProtectHome=read-only, ReadOnlyPaths=,
   ProtectKernelTunables= (/proc/sys, /proc/sysrq-trigger and the rest of 252's table,
   and /sys but /sys/fs/cgroup and /sys/fs/selinux: "ro-sys"), ProtectControlGroups=
   (/sys/fs/cgroup), ProtectHostname= (/proc/sys/kernel/hostname, domainname). Each mount
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
   read-only tmpfs, anything else by a bind of an empty mode-000 file (so are
   ProtectKernelTunables='s /proc/kallsyms and /proc/kcore, ProtectKernelModules='s
   /usr/lib/modules, ProtectKernelLogs='s /proc/kmsg and /dev/kmsg);
7. the manager's notify socket ($NOTIFY_SOCKET) is bound back in if a private mount hid it
   (pidone's runtime directory may live under /tmp, systemd's never does).

A failure exits 226/NAMESPACE, as systemd's does (225/NETWORK for the network
namespace). This module builds the plan in the daemon; the steps themselves run in the
child from linux.mountns, which imports nothing
of pidone's core (it is loaded into the spawn helper, where every module is memory that
each clone3 copies the page tables of).

The daemon needs CAP_SYS_ADMIN; without it `sandbox_available()` is False, nothing is
mounted, and `not_enforced_settings()` names every setting the unit has that therefore is
not enforced.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Mapping, Sequence

from pidone.core.capabilities import CAP_SYS_ADMIN
from pidone.core.dataclass_lite import dataclass
from pidone.core.model import ExecContext, NotEnforced
from pidone.linux.mountns import (
    CLONE_NEWNET,
    CLONE_NEWNS,
    MS_RDONLY,
    MS_REC,
    MS_SLAVE,
    NetworkNamespaceError,
    libc,
    unshare,
)
from pidone.linux.mountns import apply_sandbox as apply_mount_ops
from pidone.linux.mountns import parse_mountinfo as parse_mountinfo  # (re-exported)

EXIT_NAMESPACE = 226
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
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectHostname",
    "PrivateNetwork",
    "ProtectProc",
    "ProcSubset",
    "PrivateMounts",
    "MountAPIVFS",
    "NoExecPaths",
    "ExecPaths",
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
    from pidone.linux.privsteps import effective_capabilities

    return bool(effective_capabilities() >> CAP_SYS_ADMIN & 1) and _probe()


@functools.cache
def user_namespaces_available() -> bool:
    """Whether a child of this process may unshare(CLONE_NEWUSER) (PrivateUsers=;
    user.max_user_namespaces=0, a chroot, a container's seccomp filter or an LSM may
    refuse it). Where it may not, PrivateUsers= is skipped and reported as not enforced,
    as the mount namespace's settings are (systemd 252 would fail the command 217/USER:
    a packaged unit such as redis-server's would never start in such a container)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the probe child makes one system call
        os._exit(0 if libc().unshare(0x10000000) == 0 else 1)  # CLONE_NEWUSER
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


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
        "ProtectKernelTunables": ctx.protect_kernel_tunables,
        "ProtectKernelModules": ctx.protect_kernel_modules,
        "ProtectKernelLogs": ctx.protect_kernel_logs,
        "ProtectControlGroups": ctx.protect_control_groups,
        "ProtectHostname": ctx.protect_hostname,
        "PrivateNetwork": ctx.private_network,
        "ProtectProc": ctx.protect_proc != "default",
        "ProcSubset": ctx.proc_subset != "all",
        # a mount namespace of its own (and, without RootDirectory=, the API file systems
        # are there already: 252's mount_procfs()/mount_sysfs()/... are then no-ops)
        "PrivateMounts": ctx.private_mounts,
        "MountAPIVFS": ctx.mount_apivfs,
        "NoExecPaths": ctx.no_exec_paths,
        "ExecPaths": ctx.exec_paths,
    }


def used_settings(ctx: ExecContext) -> tuple[str, ...]:
    """The SANDBOX_KEYS this context sets."""
    return tuple(k for k, v in effective_settings(ctx).items() if v)


def not_enforced_settings(ctx: ExecContext, *, full_privileges: bool = False) -> tuple[str, ...]:
    """What of this context stays unenforced here (all its settings without CAP_SYS_ADMIN);
    a `+` command is exempt by definition, so nothing is missing for it."""
    if full_privileges:
        return ()
    used = used_settings(ctx)
    # (the probe only for a unit that asks for sandboxing: it loads ctypes and forks)
    return () if not used or sandbox_available() else used


# Enforced without a namespace: the daemon removes the IPC objects itself (linux.ipcclean).
ALWAYS_ENFORCED = frozenset({"RemoveIPC"})

# Enforced by cgroup socket-buffer programs (linux.bpffirewall) for services; a .socket
# unit's apply to its listening sockets in systemd 252, which pidone does not restrict
# (daemon.cgroupprograms).
FIREWALL_KEYS = frozenset({"IPAddressAllow", "IPAddressDeny"})


# Enforced by seccomp filters alone (core.seccompplan, linux.seccomp), no namespace needed.
SECCOMP_KEYS = frozenset(
    {
        "SystemCallFilter",
        "SystemCallErrorNumber",
        "SystemCallArchitectures",
        "SystemCallLog",
        "RestrictAddressFamilies",
        "RestrictNamespaces",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "RestrictRealtime",
        "RestrictSUIDSGID",
    }
)


def enforced_keys() -> frozenset[str]:
    """Directive names (with old spellings) that pidone enforces on this machine now."""
    from pidone.linux import bpfdevices, bpffirewall, seccomp

    filters = seccomp.available()
    keys = ALWAYS_ENFORCED | (SECCOMP_KEYS if filters else frozenset())
    if bpfdevices.available():  # (on the unit's cgroup: where the daemon has cgroups)
        keys |= {"DeviceAllow", "DevicePolicy"} | ({"ProtectClock"} if filters else set())
    if bpffirewall.available():  # (services only: see still_not_enforced)
        keys |= FIREWALL_KEYS
    if not sandbox_available():
        return keys
    keys |= frozenset(SANDBOX_KEYS) | frozenset(KEY_ALIASES)
    if user_namespaces_available():
        keys |= {"PrivateUsers"}
    # ProtectKernelLogs=: /proc/kmsg and /dev/kmsg hidden, CAP_SYSLOG dropped, and syslog(2)
    # refused by a filter; without the filter, the capability closes that call only where
    # kernel.dmesg_restrict=1
    return keys if filters or dmesg_restricted() else keys - {"ProtectKernelLogs"}


@functools.cache
def dmesg_restricted() -> bool:
    """kernel.dmesg_restrict=1: reading the kernel log through syslog(2) needs CAP_SYSLOG,
    which ProtectKernelLogs= drops. systemd 252 also installs a system call filter against
    syslog(2), which pidone does not: where the sysctl is 0 anybody may read the log that
    way, and ProtectKernelLogs= counts as not enforced."""
    try:
        with open("/proc/sys/kernel/dmesg_restrict", "rb") as f:
            return f.read().strip() == b"1"
    except OSError:
        return False


# Limits whose value "infinity" asks for no limit at all (systemd.resource-control(5):
# 'If assigned the special value "infinity", no memory limit is applied' / 'no tasks limit
# is applied'): pidone applies none of these, so that value is what it does anyway
# (pacemaker.service's TasksMax=infinity was reported at every start). The
# setting stays in `Unit.not_enforced` for `pidone show`, which prints it as systemd does.
_NO_LIMIT_KEYS = frozenset({"TasksMax", "MemoryMax", "MemoryHigh", "MemorySwapMax", "MemoryLimit"})


def still_not_enforced(items: Sequence[NotEnforced]) -> list[NotEnforced]:
    """The builder's `Unit.not_enforced` list less what this machine enforces now (for
    `pidone verify`, the status output and the start's warning), and less the limits set
    to "infinity", which ask for nothing pidone does not do (the last assignment wins: a
    drop-in's MemoryMax=infinity lifts the unit file's MemoryMax=1G)."""
    enforced = enforced_keys()
    last = {n.key: n.value.strip() for n in items if n.key in _NO_LIMIT_KEYS}
    unlimited = {key for key, value in last.items() if value == "infinity"}
    return [
        n
        for n in items
        if (n.key not in enforced or (n.key in FIREWALL_KEYS and n.section == "Socket"))
        and n.key not in unlimited
    ]


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


# What this process knows of its PrivateTmp= directories, per (scope, unit): whether the
# unit's stale ones (of an earlier manager process with the same scope) were swept, and
# the invocations it made directories for and has not removed; per scope, what one
# listing of /tmp and /var/tmp found of earlier processes, by unit. Listing /tmp (hundreds
# of entries on a busy host) cost ~0.75 ms of every start of apache2.service; a manager's
# own earlier invocations are known without it.
_SWEPT: set[tuple[str, str]] = set()
_MADE: dict[tuple[str, str], set[str]] = {}
_LEFTOVERS: dict[str, dict[str, list[str]]] = {}


def make_private_tmp(invocation_id: str, unit: str = "") -> tuple[str, str]:
    """Create the PrivateTmp= directories (idempotent within one invocation). Those of the
    unit's earlier invocations are removed: a unit runs one invocation at a time, and
    systemd deletes them when the unit stops (the daemon does: `remove_private_tmp`); what
    is left (a start that failed before its first command ran, a manager that was killed)
    goes here. The first start of a unit in this process removes the leftovers of an
    earlier manager process of this scope (/tmp and /var/tmp are listed once per process,
    at the first start of any unit); later ones remove the invocations this process made
    and did not remove."""
    tag = invocation_id or f"pid{os.getpid()}"
    made = _MADE.setdefault((_SCOPE, unit), set()) if unit else None
    if made is not None and tag in made:  # a later command of the invocation: 2 stat(2)s
        out = []
        for outer in private_tmp_dirs(invocation_id, unit):
            inner = f"{outer}/tmp"
            if not os.path.isdir(inner):
                _make_dirs(outer)
            out.append(inner)
        return out[0], out[1]
    if made is not None:
        if (_SCOPE, unit) not in _SWEPT:
            _remove_stale(unit)
            _SWEPT.add((_SCOPE, unit))
        else:
            for old in tuple(made):
                remove_private_tmp(old, unit)
        made.clear()
        made.add(tag)
    tmp, var_tmp = private_tmp_dirs(invocation_id, unit)
    return _make_dirs(tmp), _make_dirs(var_tmp)


def _make_dirs(outer: str) -> str:
    """OUTER (0700) and OUTER/tmp (1777: a chmod, since mkdir(2)'s mode goes through the
    umask); one mkdir(2) each where os.makedirs() stat()ed first."""
    try:
        os.mkdir(outer, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:  # no /var/tmp (a minimal container image)
        os.makedirs(outer, mode=0o700, exist_ok=True)
    inner = f"{outer}/tmp"
    try:
        os.mkdir(inner)
    except FileExistsError:
        if not os.path.isdir(inner):
            raise
        return inner
    os.chmod(inner, 0o1777)
    return inner


def _remove_stale(unit: str) -> None:
    """Remove what an earlier process of this scope left for `unit`: its directories are
    PREFIX-UNIT-TAG, the tag an invocation ID or pidN (no "-"), so "UNIT-x" is another
    unit's."""
    leftovers = _LEFTOVERS.get(_SCOPE)
    if leftovers is None:
        leftovers = _LEFTOVERS[_SCOPE] = {}
        prefix = "-".join(p for p in ("pidone-private", _SCOPE) if p) + "-"
        for parent in ("/tmp", "/var/tmp"):
            try:
                names = os.listdir(parent)
            except OSError:
                continue
            for name in names:
                if name.startswith(prefix):
                    owner = name[len(prefix) :].rpartition("-")[0]
                    leftovers.setdefault(owner, []).append(f"{parent}/{name}")
    paths = leftovers.pop(unit, None)
    if paths:
        import shutil

        for path in paths:
            shutil.rmtree(path, ignore_errors=True)


def remove_private_tmp(invocation_id: str, unit: str = "") -> None:
    """Delete the PrivateTmp= directories of an invocation (call when the unit has stopped)."""
    import shutil

    made = _MADE.get((_SCOPE, unit))
    if made is not None:
        made.discard(invocation_id or f"pid{os.getpid()}")
    for outer in private_tmp_dirs(invocation_id, unit):
        shutil.rmtree(outer, ignore_errors=True)


# PrivateNetwork=: one network namespace per unit invocation, shared by all its commands
# (ExecStartPre= to ExecStopPost=), as systemd 252 keeps one in the unit's exec runtime.
# The daemon holds an fd to it; a command joins it through /proc/DAEMON/fd/N, which its
# spawn helper can open (same credentials) without any fd passing.
_NETWORKS: dict[tuple[str, str], tuple[str, int]] = {}  # (scope, unit) -> (tag, fd)
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 1


def network_namespace_path(invocation_id: str, unit: str = "") -> bytes:
    """The /proc path of the invocation's network namespace, made at its first command with
    only a loopback device, up (systemd's setup_netns() + loopback_setup()). A namespace of
    the unit's earlier invocation is released. Raises NetworkNamespaceError."""
    tag = invocation_id or f"pid{os.getpid()}"
    key = (_SCOPE, unit)
    kept = _NETWORKS.get(key)
    if kept is not None and kept[0] != tag:
        remove_private_network(kept[0], unit)
        kept = None
    if kept is None:
        kept = (tag, _new_network_namespace())
        _NETWORKS[key] = kept
    return b"/proc/%d/fd/%d" % (os.getpid(), kept[1])


def remove_private_network(invocation_id: str, unit: str = "") -> None:
    """Release the invocation's network namespace (the unit stopped); the kernel frees it
    when its last process has left as well."""
    key = (_SCOPE, unit)
    kept = _NETWORKS.get(key)
    if kept is not None and kept[0] == (invocation_id or f"pid{os.getpid()}"):
        del _NETWORKS[key]
        os.close(kept[1])


def _new_network_namespace() -> int:
    """A new network namespace, held by the returned fd. Namespaces belong to threads: a
    short-lived thread unshares its own, brings `lo` up from a socket made inside it, and
    opens /proc/thread-self/ns/net; the daemon's own threads never change namespace."""
    import fcntl
    import socket
    import struct
    import threading

    result: list[int | OSError] = []

    def make() -> None:
        try:
            unshare(CLONE_NEWNET)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                request = struct.pack("16sH22x", b"lo", 0)
                flags = struct.unpack_from("16sH", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
                fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))
            result.append(os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC))
        except OSError as exc:
            result.append(exc)

    thread = threading.Thread(target=make, name="pidone-netns")
    thread.start()
    thread.join()
    made = result[0] if result else OSError(5, "network namespace thread failed")
    if isinstance(made, OSError):
        raise NetworkNamespaceError(made.errno or 5, f"network namespace: {made.strerror}")
    path = b"/proc/%d/fd/%d" % (os.getpid(), made)
    try:  # this /proc must show the daemon as the spawn helper will see it
        same = os.path.samestat(os.stat(path), os.fstat(made))
    except OSError:
        same = False
    if not same:
        os.close(made)
        raise NetworkNamespaceError(6, "network namespace: /proc is not this PID namespace's")
    return made


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


# ProtectKernelTunables= (systemd.exec(5); systemd 252 namespace.c
# protect_kernel_tunables_proc_table): read-only where they exist. /proc/kallsyms and
# /proc/kcore are made inaccessible, and /sys read-only but for _SYS_KEPT (linux.mountns).
_KERNEL_TUNABLES_PROC = (
    "/proc/acpi",
    "/proc/apm",
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/latency_stats",
    "/proc/mtrr",
    "/proc/scsi",
    "/proc/sys",
    "/proc/sysrq-trigger",
    "/proc/timer_stats",
)


def _proc_options(ctx: ExecContext) -> bytes:
    """ProtectProc=/ProcSubset=: a procfs instance of the command's own (per-instance since
    Linux 5.8) with hidepid= and subset=pid (systemd 252 namespace.c mount_procfs())."""
    hidepid = "off" if ctx.protect_proc == "default" else ctx.protect_proc
    subset = ",subset=pid" if ctx.proc_subset == "pid" else ""
    return f"hidepid={hidepid}{subset}".encode()


def _modules_directories() -> list[str]:
    """ProtectKernelModules='s inaccessible directories: /usr/lib/modules, and /lib/modules
    where /lib is not merged into /usr (one mount for one directory)."""
    out = ["/usr/lib/modules"]
    if os.path.realpath("/lib/modules") != os.path.realpath("/usr/lib/modules"):
        out.append("/lib/modules")
    return out


def wants_sandbox(ctx: ExecContext) -> bool:
    """Whether the context asks for any mount of build_sandbox_plan()."""
    return any(effective_settings(ctx).values())


def build_sandbox_plan(
    ctx: ExecContext,
    environment: Mapping[str, str],
    unit: str = "",
    *,
    full_privileges: bool = False,
) -> SandboxPlan | None:
    """The mounts for this context, or None when it asks for none. Raises OSError (e.g. a
    required InaccessiblePaths= entry that does not exist: systemd fails such a start;
    NetworkNamespaceError when PrivateNetwork='s namespace cannot be made: 225/NETWORK).

    A `+` command (`full_privileges`) gets none of it but PrivateNetwork='s namespace,
    which systemd 252's exec_child() joins for every command of the unit."""
    invocation = environment.get("INVOCATION_ID", "")
    network = None
    if ctx.private_network:
        try:
            network = MountOp("netns", b"", network_namespace_path(invocation, unit))
        except NetworkNamespaceError as exc:
            # systemd 252 exec_child(): "PrivateNetwork=yes is configured, but network
            # namespace setup failed, ignoring" when refused for lack of privilege
            if exc.errno not in (errno.EPERM, errno.EACCES):
                raise
    if full_privileges:
        return SandboxPlan((network,)) if network is not None else None
    s = effective_settings(ctx)
    if not any(s.values()):
        return None
    ops: list[MountOp] = [network] if network is not None else []
    if ctx.protect_hostname:
        ops.append(MountOp("uts", b""))
    if ctx.private_mounts or ctx.mount_apivfs:
        ops.append(MountOp("ns", b"/"))  # (nothing to mount, but a namespace of its own)
    if ctx.protect_proc != "default" or ctx.proc_subset != "all":
        ops.append(MountOp("proc", b"/proc", data=_proc_options(ctx)))
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
    if ctx.protect_kernel_tunables:
        ro += [(p, True) for p in _KERNEL_TUNABLES_PROC]
    if ctx.protect_hostname:
        ro += [("/proc/sys/kernel/hostname", True), ("/proc/sys/kernel/domainname", True)]
    for path, optional in ro:
        ops.append(MountOp("ro", os.fsencode(path), optional=optional))
    if ctx.protect_kernel_tunables:
        ops.append(MountOp("ro-sys", b"/sys"))
    if ctx.protect_control_groups:
        ops.append(MountOp("ro", b"/sys/fs/cgroup", optional=True))
    if ro or ctx.protect_kernel_tunables or ctx.protect_control_groups:
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
    if ctx.protect_kernel_tunables:
        hidden += [("/proc/kallsyms", True), ("/proc/kcore", True)]
    if ctx.protect_kernel_modules:
        hidden += [(p, True) for p in _modules_directories()]
    if ctx.protect_kernel_logs:
        hidden += [("/proc/kmsg", True), ("/dev/kmsg", True)]
    for path, optional in hidden:
        op = _hide(path, optional)
        if op is not None:
            ops.append(op)
    # NoExecPaths=, then ExecPaths=, after every other mount: 252's setup_namespace()
    # flips the noexec bits in a last round (make_noexec()), in which every other entry
    # of the namespace is on the deny list and keeps its exec bit (PrivateTmp='s /tmp,
    # ReadWritePaths=, BindPaths=... below redis's NoExecPaths=/: checked on the oracle)
    others = sorted({op.target for op in ops if op.kind not in ("netns", "uts", "ns", "keep")})
    for path, optional in (_path_entry(p) for p in ctx.no_exec_paths):
        target = os.fsencode(path)
        prefix = target.rstrip(b"/") + b"/"
        below = [t for t in others if t != target and (target == b"/" or t.startswith(prefix))]
        ops.append(MountOp("noexec", target, data=b"\n".join(below), optional=optional))
    for path, optional in (_path_entry(p) for p in ctx.exec_paths):
        ops.append(MountOp("exec", os.fsencode(path), optional=optional))
    notify = environment.get("NOTIFY_SOCKET", "")
    if notify.startswith("/"):  # the manager's socket stays reachable whatever covers it
        ops.append(MountOp("keep", os.fsencode(notify), os.fsencode(notify), optional=True))
    # (a forked child's ctypes objects are made by linux.spawnchild.prepare(), in the
    # parent, on the fork path only; the spawn helpers run the mounts in their own children)
    return SandboxPlan(tuple(ops), dev_log)


# --------------------------------------------------------------------------- the child


WireOp = tuple[str, bytes, bytes, bytes, int, bool, bool, bool]


def wire_ops(plan: SandboxPlan) -> tuple[WireOp, ...]:
    """The operations as plain tuples in MountOp's field order (how the spawn plan carries
    them to linux.mountns, which carries them out)."""
    return tuple(
        (op.kind, op.target, op.source, op.data, op.flags, op.optional, op.recursive, op.readonly)
        for op in plan.ops
    )


def apply_sandbox(plan: SandboxPlan) -> None:
    """Steps 1-7 of the module docstring, in the calling process (linux.mountns); raises
    OSError (the caller exits 226)."""
    apply_mount_ops(wire_ops(plan), plan.dev_log)
