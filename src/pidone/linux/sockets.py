"""Create the listening fds of a socket unit (man 5 systemd.socket; spec 05 §1.2-1.3).

Sockets are bound in the order of the Listen lines. AF_UNIX nodes get their parent
directories (DirectoryMode=), a stale node is unlinked first, then SocketMode= and
SocketUser=/SocketGroup= are applied. A bare port is IPv6 `[::]:PORT`, dual-stack unless
BindIPv6Only=ipv6-only. The fds are created close-on-exec and non-blocking here; the
spawner renumbers them from 3 for the service, where they are inherited (not CLOEXEC) and
blocking unless NonBlocking=yes, as sd_listen_fds(3) expects.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from collections.abc import Callable

from pidone.core.dataclass_lite import dataclass
from pidone.core.listen import ListenSpec
from pidone.core.model import SocketSection
from pidone.linux import userdb

_TYPES = {
    "stream": socket.SOCK_STREAM,
    "dgram": socket.SOCK_DGRAM,
    "seqpacket": socket.SOCK_SEQPACKET,
}


@dataclass(slots=True)
class Listener:
    spec: ListenSpec
    fd: int

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


def _owner(section: SocketSection) -> tuple[int, int]:
    uid = gid = -1
    if section.socket_user:
        user = section.socket_user
        if user.isdigit():
            uid = int(user)
        else:
            entry = userdb.user_by_name(user)
            if entry is None:
                raise KeyError(f"getpwnam(): name not found: '{user}'")
            uid = entry.uid
    if section.socket_group:
        group = section.socket_group
        found = int(group) if group.isdigit() else userdb.gid_by_name(group)
        if found is None:
            raise KeyError(f"getgrnam(): name not found: '{group}'")
        gid = found
    return uid, gid


def _socket_options(
    sock: socket.socket, spec: ListenSpec, section: SocketSection, warn: Callable[[str], None]
) -> None:
    if spec.family in ("inet", "inet6"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if section.reuse_port:
            _best_effort(sock, socket.SOL_SOCKET, socket.SO_REUSEPORT, "SO_REUSEPORT", warn)
        if section.free_bind:
            level = socket.IPPROTO_IPV6 if spec.family == "inet6" else socket.SOL_IP
            option = 63 if spec.family == "inet6" else 15  # IPV6_FREEBIND / IP_FREEBIND
            _best_effort(sock, level, option, "IP_FREEBIND/IPV6_FREEBIND", warn)
        if section.keep_alive:
            _best_effort(sock, socket.SOL_SOCKET, socket.SO_KEEPALIVE, "SO_KEEPALIVE", warn)
        if section.no_delay and spec.kind == "stream":
            _best_effort(sock, socket.IPPROTO_TCP, socket.TCP_NODELAY, "TCP_NODELAY", warn)
        if section.broadcast and spec.kind == "dgram":
            _best_effort(sock, socket.SOL_SOCKET, socket.SO_BROADCAST, "SO_BROADCAST", warn)
        if spec.family == "inet6":
            only = section.bind_ipv6_only == "ipv6-only"
            if section.bind_ipv6_only != "default" or only:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if only else 0)
    if section.pass_credentials:
        _best_effort(sock, socket.SOL_SOCKET, 16, "SO_PASSCRED", warn)  # SO_PASSCRED


def _best_effort(
    sock: socket.socket, level: int, option: int, name: str, warn: Callable[[str], None]
) -> None:
    """Set an option the way systemd 252's socket unit does: a refusal is a warning
    ("SO_PASSCRED failed: Operation not supported") and the socket still listens. Only
    SO_REUSEADDR and IPV6_V6ONLY fail the unit (socket_address_listen()). Linux 6.16+
    refuses SO_PASSCRED on anything but AF_UNIX and netlink sockets, so mpd.socket's
    `PassCredentials=true` next to `ListenStream=6600` must not fail the whole unit."""
    try:
        sock.setsockopt(level, option, 1)
    except OSError as exc:
        warn(f"{name} failed: {exc.strerror or exc}")


def open_listener(
    spec: ListenSpec, section: SocketSection, warn: Callable[[str], None] | None = None
) -> Listener:
    """Bind (and listen) one socket; OSError with the kernel's reason on failure.

    `warn` receives the options the kernel refused that systemd only warns about."""
    if spec.kind == "fifo":
        return Listener(spec, _open_fifo(spec.address, section))
    if spec.kind == "special":
        fd = os.open(spec.address, os.O_RDWR | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
        return Listener(spec, fd)
    family = {
        "unix": socket.AF_UNIX,
        "inet": socket.AF_INET,
        "inet6": socket.AF_INET6,
        "vsock": getattr(socket, "AF_VSOCK", 40),
    }[spec.family]
    sock = socket.socket(family, _TYPES[spec.kind] | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
    try:
        _socket_options(sock, spec, section, warn or _ignore)
        if spec.family == "unix":
            _bind_unix(sock, spec.address, section)
        elif spec.family == "inet":
            sock.bind((spec.address, spec.port))
        elif spec.family == "inet6":
            scope = socket.if_nametoindex(spec.device) if spec.device else 0
            sock.bind((spec.address, spec.port, 0, scope))
        else:
            sock.bind((spec.cid, spec.port))
        if spec.kind in ("stream", "seqpacket"):
            sock.listen(min(section.backlog, 4096) if section.backlog > 0 else socket.SOMAXCONN)
    except BaseException:
        sock.close()
        raise
    return Listener(spec, sock.detach())


def _ignore(message: str) -> None:
    del message


def _bind_unix(sock: socket.socket, address: str, section: SocketSection) -> None:
    if address.startswith("@"):
        sock.bind("\0" + address[1:])
        return
    directory = os.path.dirname(address)
    if directory:
        os.makedirs(directory, mode=section.directory_mode, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.lstat(address).st_mode):
            os.unlink(address)  # a stale node from an earlier run
    sock.bind(address)
    os.chmod(address, section.socket_mode)
    uid, gid = _owner(section)
    if uid >= 0 or gid >= 0:
        os.chown(address, uid, gid)


def _open_fifo(path: str, section: SocketSection) -> int:
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, mode=section.directory_mode, exist_ok=True)
    try:
        os.mkfifo(path, section.socket_mode)
    except FileExistsError:
        if not stat.S_ISFIFO(os.stat(path).st_mode):
            raise
    os.chmod(path, section.socket_mode)
    uid, gid = _owner(section)
    if uid >= 0 or gid >= 0:
        os.chown(path, uid, gid)
    return os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NONBLOCK)


def close_listeners(listeners: list[Listener], remove: bool) -> None:
    """Close every fd; with RemoveOnStop= also unlink the filesystem nodes."""
    for listener in listeners:
        listener.close()
        if remove and listener.spec.is_path:
            with contextlib.suppress(OSError):
                os.unlink(listener.spec.address)


def listen_fds_environment(names: list[str], pid: int) -> dict[str, str]:
    """LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES for fds 3..3+n-1 (sd_listen_fds(3))."""
    return {
        "LISTEN_FDS": str(len(names)),
        "LISTEN_PID": str(pid),
        "LISTEN_FDNAMES": ":".join(names),
    }
