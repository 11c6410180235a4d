"""Socket units' configuration and the I/O seam of the socket machine (man 5 systemd.socket).

`build_socket_config()` turns the [Socket] model into what core.socketunit runs on (Listen*=
lines parsed, TriggerLimitBurst='s Accept-dependent default). The actions and events below are
the socket machine's contract with the daemon: the executor opens, watches, accepts and
closes fds (linux/sockets.py) and reports back with the events.
"""

from __future__ import annotations

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import ValueParseError
from pidone.core.execline import ExecCommand
from pidone.core.hints import TYPE_CHECKING, Literal
from pidone.core.model import SocketSection, Unit
from pidone.core.servicestate import SIGKILL
from pidone.core.triggering import StartFailed, StartUnit, TriggeredUnitChanged, TriggerRefused

if TYPE_CHECKING:
    from pidone.core.listen import ListenSpec

Phase = Literal["start-pre", "start-post", "stop-pre", "stop-post"]
SPAWN_ROLE: dict[Phase, act.ExecRole] = {
    "start-pre": "start-pre",
    "start-post": "start-post",
    "stop-pre": "stop",  # act.ExecRole has no stop-pre; the executor treats it as a stop
    "stop-post": "stop-post",
}
COMMAND_NAMES = {
    "start-pre": "ExecStartPre",
    "start-post": "ExecStartPost",
    "stop-pre": "ExecStopPre",
    "stop-post": "ExecStopPost",
}


@dataclass(frozen=True, slots=True)
class SocketConfig:
    """What the machine needs from [Socket], with Listen*= parsed."""

    unit: str
    listen: tuple[ListenSpec, ...]
    accept: bool = False
    service: str = ""  # Accept=no: the service to start; Accept=yes: "" (instances)
    fd_name: str = ""  # FileDescriptorName= (default: the unit name)
    max_connections: int = 64
    trigger_limit_interval_usec: int = 2_000_000
    trigger_limit_burst: int = 20
    remove_on_stop: bool = False
    timeout_usec: int = 90_000_000
    exec_start_pre: tuple[ExecCommand, ...] = ()
    exec_start_post: tuple[ExecCommand, ...] = ()
    exec_stop_pre: tuple[ExecCommand, ...] = ()
    exec_stop_post: tuple[ExecCommand, ...] = ()
    kill_signal: int = 15
    final_kill_signal: int = SIGKILL
    send_sigkill: bool = True
    chown: bool = False  # SocketUser=/SocketGroup= set: start-chown (core.socketunit rule 1)

    def commands(self, phase: Phase) -> tuple[ExecCommand, ...]:
        return {
            "start-pre": self.exec_start_pre,
            "start-post": self.exec_start_post,
            "stop-pre": self.exec_stop_pre,
            "stop-post": self.exec_stop_post,
        }[phase]


def trigger_limit_burst(k: SocketSection) -> int:
    """socket_add_extras(): an unset TriggerLimitBurst= is 200 with Accept=yes, else 20. The
    model keeps 20 for "unset", so an explicit 20 with Accept=yes also becomes 200 here."""
    if k.accept and k.trigger_limit_burst == 20:
        return 200
    return k.trigger_limit_burst


def build_socket_config(unit: Unit) -> tuple[SocketConfig, list[str]]:
    """SocketConfig from a loaded unit; also the warnings for Listen*= lines left out."""
    k = unit.socket
    if k is None:
        raise ValueError(f"{unit.id} is not a socket")
    from pidone.core.listen import parse_listen  # with the first socket unit only

    specs: list[ListenSpec] = []
    warnings: list[str] = []
    for directive, value in k.listen:
        try:
            specs.append(parse_listen(directive, value))
        except ValueParseError as e:
            warnings.append(str(e))
    burst = trigger_limit_burst(k)
    config = SocketConfig(
        unit=unit.id,
        listen=tuple(specs),
        accept=k.accept,
        service="" if k.accept else (k.service or unit.id.rsplit(".", 1)[0] + ".service"),
        fd_name=k.file_descriptor_name or unit.id,
        max_connections=k.max_connections,
        trigger_limit_interval_usec=k.trigger_limit_interval_usec,
        trigger_limit_burst=burst,
        remove_on_stop=k.remove_on_stop,
        timeout_usec=k.timeout_usec,
        exec_start_pre=tuple(k.exec_start_pre),
        exec_start_post=tuple(k.exec_start_post),
        exec_stop_pre=tuple(k.exec_stop_pre),
        exec_stop_post=tuple(k.exec_stop_post),
        kill_signal=k.kill.kill_signal,
        final_kill_signal=k.kill.final_kill_signal,
        send_sigkill=k.kill.send_sigkill,
        chown=bool(k.socket_user or k.socket_group),
    )
    return config, warnings


def format_connection_instance(
    nr: int,
    family: str,
    local: tuple[str, int] = ("", 0),
    remote: tuple[str, int] = ("", 0),
    peer: tuple[int, int] | None = None,
) -> str:
    """instance_from_socket(): `NR-LOCAL:PORT-REMOTE:PORT`, or `NR-PID-UID` for AF_UNIX
    (`NR-unknown` when the peer's credentials cannot be read). IPv6 addresses print without
    brackets; IPv4-mapped IPv6 pairs print as IPv4."""
    if family == "unix":
        return f"{nr}-{peer[0]}-{peer[1]}" if peer is not None else f"{nr}-unknown"
    (la, lp), (ra, rp) = local, remote
    if family == "inet6" and la.startswith("::ffff:") and ra.startswith("::ffff:"):
        la, ra = la[7:], ra[7:]
    return f"{nr}-{la}:{lp}-{ra}:{rp}"


def format_peer(
    family: str, remote: tuple[str, int] = ("", 0), peer: tuple[int, int] | None = None
) -> str:
    """getpeername_pretty(): `ADDR:PORT` (an IPv4-mapped IPv6 peer as IPv4), `[V6]:PORT`,
    `PID n/UID m` for AF_UNIX, `vsock:CID:PORT`; "" when unknown."""
    addr, port = remote
    if family == "unix":
        return f"PID {peer[0]}/UID {peer[1]}" if peer is not None else ""
    if family == "vsock":
        return f"vsock:{addr}:{port}"
    if family == "inet6" and not addr.startswith("::ffff:"):
        return f"[{addr}]:{port}"
    return f"{addr.removeprefix('::ffff:')}:{port}"


# --- actions and events of the socket seam --------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenListeners:
    """Create, bind and listen every socket in order; answer ListenersOpened/Failed."""

    unit: str
    specs: tuple[ListenSpec, ...]


@dataclass(frozen=True, slots=True)
class CloseListeners:
    """Close the listening fds; with `remove` unlink their filesystem nodes (RemoveOnStop=)."""

    unit: str
    fds: tuple[int, ...]
    remove: bool


@dataclass(frozen=True, slots=True)
class WatchFds:
    """Poll the listening fds for readability (on) or stop polling them (off)."""

    unit: str
    fds: tuple[int, ...]
    on: bool


@dataclass(frozen=True, slots=True)
class AcceptConnection:
    """accept4() one connection on `fd`; answer ConnectionAccepted (EAGAIN: nothing)."""

    unit: str
    fd: int


@dataclass(frozen=True, slots=True)
class CloseFd:
    """Close a refused connection."""

    unit: str
    fd: int


@dataclass(frozen=True, slots=True)
class ListenersOpened:
    unit: str
    fds: tuple[int, ...]  # one per spec, same order
    # options the kernel refused, which systemd only warns about ("SO_PASSCRED failed:
    # Operation not supported"): the machine logs them about the unit as it starts
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ListenersFailed:
    unit: str
    error: str  # strerror-style, e.g. "Address already in use"


@dataclass(frozen=True, slots=True)
class FdReadable:
    unit: str
    fd: int


@dataclass(frozen=True, slots=True)
class ConnectionAccepted:
    """A connection accepted on `listen_fd`; addresses as the kernel reports them."""

    unit: str
    listen_fd: int
    fd: int
    family: str  # "inet", "inet6", "unix", "vsock"
    local: tuple[str, int] = ("", 0)
    remote: tuple[str, int] = ("", 0)
    peer: tuple[int, int] | None = None  # AF_UNIX SO_PEERCRED (pid, uid)


# What a socket's machine (core.socketunit) takes and gives. Here rather than there, so
# that the manager and TriggerUnits name them without loading the machine: a daemon
# without socket units never imports core.socketunit.
SocketEvent = (
    ev.StartRequested
    | ev.StopRequested
    | ev.ResetFailedRequested
    | ev.Spawned
    | ev.SpawnFailed
    | ev.ProcessExited
    | ev.TimerFired
    | ListenersOpened
    | ListenersFailed
    | FdReadable
    | ConnectionAccepted
    | TriggeredUnitChanged
    | TriggerRefused
)
SocketAction = (
    act.StateChanged
    | act.Log
    | act.Spawn
    | act.Signal
    | act.ArmTimer
    | act.CancelTimer
    | OpenListeners
    | CloseListeners
    | WatchFds
    | AcceptConnection
    | CloseFd
    | StartUnit
    | StartFailed
)
