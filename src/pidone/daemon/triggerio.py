"""The kernel side of socket and timer units: listening fds, accepts, wake-ups, stamps.

The executor hands every socket/timer action here (`carry`); answers go back through the
same `answers` list (ListenersOpened/Failed, ConnectionAccepted) or, for happenings that
come later, through `submit` (FdReadable, TimerFired):

1. `OpenListeners` binds each Listen line in order (linux.sockets.open_listener); the first
   failure closes the ones already open and answers `ListenersFailed` with strerror.
2. `WatchFds(on)` polls the fds while a socket is `listening` (level-triggered: a pending
   connection the service has not accepted yet is not reported again, because the
   machine stops the watch as it leaves `listening`).
3. `AcceptConnection` is accept4(SOCK_CLOEXEC) (Python sockets are close-on-exec); the
   connection is blocking for the service even if the listener is not (accept4(2): the
   new fd does not inherit O_NONBLOCK). AF_UNIX peers are named by SO_PEERCRED.
4. `ArmWakeup` on CLOCK_MONOTONIC is a loop timer; on CLOCK_REALTIME it is a loop timer
   at the same distance from now (the timer machine re-arms itself if the wall clock
   moved and it fired early). A set of the wall clock (linux.clockwatch) is reported as
   `WallClockChanged`, and every timer re-plans. `CancelTimer` of either is the executor's.
5. `SaveStamp` touches `<state dir>/timers/stamp-<unit>`; a failure is a warning, as in
   systemd (touch_file() errors are ignored there).
6. Path units (linux.pathwatch, made with the first one): `WatchPaths` checks the specs,
   watches them if none holds and checks again, as path_enter_waiting() does, and answers
   `PathsChecked`; each inotify wake-up is submitted as `PathEvent`. `UnwatchPaths` drops
   the watches; `MakePathDirectories` is MakeDirectory=.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import socket
import struct
import time
from collections.abc import Callable
from datetime import UTC, tzinfo

from pidone.core import actions as act
from pidone.core.hints import TYPE_CHECKING
from pidone.core.model import Unit
from pidone.core.pathseam import (
    MakePathDirectories,
    PathEvent,
    PathsChecked,
    UnwatchPaths,
    WatchPaths,
)
from pidone.core.socketseam import (
    AcceptConnection,
    CloseFd,
    CloseListeners,
    ConnectionAccepted,
    FdReadable,
    ListenersFailed,
    ListenersOpened,
    OpenListeners,
    WatchFds,
)
from pidone.core.timerseam import SaveStamp, TimerHost
from pidone.core.triggering import ArmWakeup
from pidone.core.triggerunits import TriggerUnits
from pidone.core.triggerwiring import WallClockChanged
from pidone.daemon.loop import EventLoop, TimerHandle

if TYPE_CHECKING:
    from pidone.linux.clockwatch import ClockWatch
    from pidone.linux.pathwatch import PathWatcher
    from pidone.linux.sockets import Listener

_FAMILIES = {socket.AF_INET: "inet", socket.AF_INET6: "inet6", socket.AF_UNIX: "unix"}
_UCRED = struct.Struct("3i")  # struct ucred {pid_t pid; uid_t uid; gid_t gid;}, socket(7)


def _listens_in_cgroup() -> bool:
    """Whether systemd 252 would create IP listening sockets in a forked helper here: where
    it may load BPF cgroup programs (bpf_firewall_supported(); linux.bpffirewall)."""
    from pidone.linux import bpffirewall

    return bpffirewall.available()


def realtime_usec() -> int:
    """CLOCK_REALTIME in microseconds (the timers' calendar clock)."""
    return time.time_ns() // 1000


class TriggerIO:
    """Sockets' fds and timers' wake-ups for one executor."""

    def __init__(
        self,
        loop: EventLoop,
        unit_of: Callable[[str], Unit | None],
        submit: Callable[[object], None],
        log: Callable[[str, str, int], None],
        timers: dict[str, TimerHandle],
        fire: Callable[[str], None],
        state_dir: str = "",
    ) -> None:
        self.loop = loop
        self.unit_of = unit_of
        self.submit = submit
        self.log = log
        self.timers = timers  # the executor's token -> loop timer table (CancelTimer)
        self.fire = fire
        self.state_dir = state_dir
        self.listeners: dict[int, Listener] = {}
        self.watched: set[int] = set()
        self._paths: PathWatcher | None = None
        # The wall-clock watch (linux.clockwatch, through ctypes: ~0.7 MiB) is opened with
        # the first timer on CLOCK_REALTIME, the only ones a clock jump re-plans.
        self.clock_watch: ClockWatch | None = None
        self._clock_watch_tried = False

    def _watch_clock(self) -> None:
        self._clock_watch_tried = True
        from pidone.linux.clockwatch import ClockWatch

        self.clock_watch = ClockWatch.open()
        if self.clock_watch is not None:
            self.loop.add_reader(self.clock_watch.fileno(), self._on_clock)

    def _on_clock(self) -> None:
        if self.clock_watch is not None and self.clock_watch.changed():
            self.submit(WallClockChanged())

    def carry(self, a: object, answers: list[object]) -> bool:
        """Carry out `a` if it is a socket/timer action; False if it is not one."""
        match a:
            case OpenListeners():
                answers.append(self._open(a))
            case CloseListeners():
                self._close(a)
            case WatchFds():
                self._watch(a)
            case AcceptConnection():
                accepted = self._accept(a)
                if accepted is not None:
                    answers.append(accepted)
            case CloseFd():
                with contextlib.suppress(OSError):
                    os.close(a.fd)
            case ArmWakeup():
                self._arm(a)
            case SaveStamp():
                self._save(a)
            case WatchPaths():
                answers.append(self._watch_paths(a))
            case UnwatchPaths():
                self.paths().unwatch(a.unit)
            case MakePathDirectories():
                from pidone.linux.pathwatch import make_directories

                make_directories(a.paths, a.mode, lambda m: self.log("", m, 4))
            case _:
                return False
        return True

    # paths --------------------------------------------------------------------------------

    def paths(self) -> PathWatcher:
        if self._paths is None:
            from pidone.linux.pathwatch import PathWatcher  # path units only

            def report(unit: str, changed: str) -> None:
                self.submit(PathEvent(unit, changed))

            self._paths = PathWatcher(self.loop.add_reader, self.loop.remove_reader, report)
        return self._paths

    def _watch_paths(self, a: WatchPaths) -> PathsChecked:
        """path_enter_waiting()'s check, watch, check again (rule 6)."""
        w = self.paths()
        found = w.check_good(a.unit, a.specs, a.initial, a.from_trigger_notify)
        if not found:
            try:
                w.watch(a.unit, a.specs)
            except OSError as exc:
                from pidone.linux.pathwatch import format_watch_error

                self.log("", format_watch_error(exc), 3)  # not about the unit (path.c)
                reason = exc.strerror or str(exc)
                return PathsChecked(a.unit, error=reason, errno=exc.errno or 0)
            found = w.check_good(a.unit, a.specs, False, a.from_trigger_notify)
        if found:
            w.unwatch(a.unit)
        return PathsChecked(a.unit, found)

    # sockets ------------------------------------------------------------------------------

    def _open(self, a: OpenListeners) -> ListenersOpened | ListenersFailed:
        unit = self.unit_of(a.unit)
        if unit is None or unit.socket is None:
            return ListenersFailed(a.unit, "No such unit")
        from pidone.linux.sockets import close_listeners, open_listener  # socket units only

        opened: list[Listener] = []
        warnings: list[str] = []  # systemd: log_unit_warning_errno(), in the unit's start

        try:
            for spec in a.specs:
                opened.append(open_listener(spec, unit.socket, warnings.append))
        except (OSError, KeyError, ValueError) as exc:
            close_listeners(opened, remove=False)
            for message in warnings:
                self.log(a.unit, f"{a.unit}: {message}", 4)
            if isinstance(exc, OSError):
                reason = exc.strerror or str(exc)
                from pidone.core.listen import format_listen

                # socket_open_fds(): the address first, then the machine's "Failed to
                # listen on sockets: ..." (systemd 252, log_unit_error_errno())
                where = format_listen(spec)
                self.log(
                    a.unit, f"{a.unit}: Failed to create listening socket ({where}): {reason}", 3
                )
                if spec.family in ("inet", "inet6") and _listens_in_cgroup():
                    # 252 creates an IP socket in a helper forked into the socket unit's
                    # cgroup, so that its BPF programs apply (socket_address_listen_in_
                    # cgroup(), wherever BPF firewalling is supported): the helper logs the
                    # line above, and the manager, which then gets no fd, fails with EIO.
                    reason = os.strerror(errno.EIO)
                    text = f"{a.unit}: Failed to receive listening socket ({where}): {reason}"
                    self.log(a.unit, text, 3)
            else:  # an unknown SocketUser=/SocketGroup= (getpwnam()'s KeyError)
                reason = "No such process" if isinstance(exc, KeyError) else str(exc)
            return ListenersFailed(a.unit, reason)
        for listener in opened:
            self.listeners[listener.fd] = listener
        return ListenersOpened(a.unit, tuple(lst.fd for lst in opened), tuple(warnings))

    def _close(self, a: CloseListeners) -> None:
        closing = []
        for fd in a.fds:
            if fd in self.watched:
                self.loop.remove_reader(fd)
                self.watched.discard(fd)
            listener = self.listeners.pop(fd, None)
            if listener is not None:
                closing.append(listener)
        from pidone.linux.sockets import close_listeners

        close_listeners(closing, a.remove)

    def _watch(self, a: WatchFds) -> None:
        for fd in a.fds:
            if a.on and fd not in self.watched:
                self.watched.add(fd)
                self.loop.add_reader(fd, functools.partial(self.submit, FdReadable(a.unit, fd)))
            elif not a.on and fd in self.watched:
                self.watched.discard(fd)
                self.loop.remove_reader(fd)

    def _accept(self, a: AcceptConnection) -> ConnectionAccepted | None:
        listening = socket.socket(fileno=a.fd)
        try:
            try:
                conn, _addr = listening.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return None
            except OSError as exc:
                self.log(a.unit, f"{a.unit}: Failed to accept connection: {exc.strerror}", 4)
                return None
        finally:
            listening.detach()  # the fd stays the listener's
        family = _FAMILIES.get(conn.family, "vsock")
        local: tuple[str, int] = ("", 0)
        remote: tuple[str, int] = ("", 0)
        peer: tuple[int, int] | None = None
        try:
            if family == "unix":
                pid, uid, _gid = _UCRED.unpack(
                    conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
                )
                peer = (pid, uid)
            else:
                la, ra = conn.getsockname(), conn.getpeername()
                local, remote = (str(la[0]), int(la[1])), (str(ra[0]), int(ra[1]))
        except OSError:
            pass  # the peer is gone already: the instance name says "unknown"
        return ConnectionAccepted(a.unit, a.fd, conn.detach(), family, local, remote, peer)

    # timers -------------------------------------------------------------------------------

    def _arm(self, a: ArmWakeup) -> None:
        old = self.timers.pop(a.token, None)
        if old is not None:
            old.cancel()
        if a.clock == "monotonic":
            deadline = a.deadline_usec / 1e6
        else:
            if not self._clock_watch_tried:
                self._watch_clock()
            deadline = time.monotonic() + (a.deadline_usec - realtime_usec()) / 1e6
        self.timers[a.token] = self.loop.call_at(deadline, functools.partial(self.fire, a.token))

    def _save(self, a: SaveStamp) -> None:
        if not self.state_dir:
            return
        from pidone.linux.timerstamps import StampError, write_stamp  # Persistent= only

        try:
            write_stamp(self.state_dir, a.unit, a.usec)
        except (StampError, ValueError) as exc:
            self.log(a.unit, f"{a.unit}: Failed to update timestamp: {exc}", act.LOG_WARNING)

    def close(self) -> None:
        """Daemon exit: close every listening fd (nodes stay, as after a systemd exit)."""
        for fd in list(self.watched):
            self.loop.remove_reader(fd)
        self.watched.clear()
        if self.listeners:
            from pidone.linux.sockets import close_listeners

            close_listeners(list(self.listeners.values()), remove=False)
        self.listeners.clear()
        if self.clock_watch is not None:
            self.loop.remove_reader(self.clock_watch.fileno())
            self.clock_watch.close()
            self.clock_watch = None


# --- the manager's TriggerUnits, with this machine's facts ---------------------------------

# PROC_PID_INIT_INO (include/linux/proc_ns.h): the initial PID namespace's inode. Any other
# PID namespace is a container for OnBootSec=, which then counts from the manager's start
# (systemd: timer.c, "in containers the boot time is the manager's start").
_INIT_PID_NS = "pid:[4026531836]"


def _machine_id(root: str = "/") -> bytes:
    try:
        with open(os.path.join(root, "etc/machine-id"), encoding="ascii") as f:
            return bytes.fromhex(f.read().strip())[:16].ljust(16, b"\0")
    except (OSError, ValueError):
        return bytes(16)


def _in_container() -> bool:
    if os.environ.get("container"):  # noqa: SIM112 - systemd's variable is lowercase
        return True
    try:
        return os.readlink("/proc/self/ns/pid") != _INIT_PID_NS
    except OSError:
        return True


# zoneinfo (with sysconfig and weakref, ~0.35 MiB) is imported by the first timer unit only.


def resolve_zone(name: str) -> tzinfo | None:
    """A zone named in a calendar expression (`Europe/Berlin`), None if unknown."""
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None


def local_zone() -> tzinfo:
    """$TZ if it names a known zone, else /etc/localtime, else UTC."""
    import zoneinfo

    name = os.environ.get("TZ", "").lstrip(":")
    found = resolve_zone(name) if name else None
    if found is not None:
        return found
    with (
        contextlib.suppress(OSError, ValueError, zoneinfo.ZoneInfoNotFoundError),
        open("/etc/localtime", "rb") as f,
    ):
        return zoneinfo.ZoneInfo.from_file(f, key="localtime")
    return UTC


def _read_stamp(state_dir: str, unit: str) -> int | None:
    """A Persistent= timer's last trigger (linux.timerstamps: loaded by such timers only)."""
    from pidone.linux.timerstamps import read_stamp

    return read_stamp(state_dir, unit)


def build_trigger_units(state_dir: str) -> TriggerUnits:
    """TriggerUnits for a daemon started now: the local zone ($TZ, /etc/localtime, UTC;
    read when the first timer is loaded), zones by name from the system zoneinfo,
    os.urandom draws, Persistent= stamps."""
    host = TimerHost(
        startup_monotonic=time.monotonic_ns() // 1000,
        in_container=_in_container(),
        machine_id=_machine_id(),
        uid=os.getuid(),
    )
    return TriggerUnits(
        host,
        local_zone,
        resolve_zone,
        lambda: int.from_bytes(os.urandom(8), "little"),
        read_stamp=functools.partial(_read_stamp, state_dir),
    )
