"""Socket-unit listen addresses (man 5 systemd.socket, spec 05 §1.2), pure.

`parse_listen("ListenStream", "127.0.0.1:80")` gives a `ListenSpec` that linux/sockets.py
turns into a bound socket. Forms: `/path` (AF_UNIX), `@name` (abstract), `PORT` (IPv6
`[::]:PORT`, dual-stack by default), `a.b.c.d:PORT`, `[v6]:PORT` (optionally `%dev`),
`vsock:CID:PORT`. `format_listen()` prints the address as `systemctl list-sockets` and
`status` do (`[::]:80`, `127.0.0.1:8080`, `/run/foo.sock`, `@name`).
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import ValueParseError
from pidone.core.hints import Literal

Family = Literal["unix", "inet", "inet6", "vsock", "fifo", "special"]
SocketKind = Literal["stream", "dgram", "seqpacket", "fifo", "special"]

LISTEN_KINDS: dict[str, SocketKind] = {
    "ListenStream": "stream",
    "ListenDatagram": "dgram",
    "ListenSequentialPacket": "seqpacket",
    "ListenFIFO": "fifo",
    "ListenSpecial": "special",
}

# How status/list-sockets name each kind (systemd's socket_port_type_to_string()).
KIND_LABELS = {
    "stream": "Stream",
    "dgram": "Datagram",
    "seqpacket": "SequentialPacket",
    "fifo": "FIFO",
    "special": "Special",
}


@dataclass(frozen=True, slots=True)
class ListenSpec:
    directive: str
    kind: SocketKind
    family: Family
    address: str  # path, abstract name (without '@'), or IP literal
    port: int = 0
    device: str = ""  # %dev on IPv6 link-local addresses
    cid: int = 0  # vsock

    @property
    def is_path(self) -> bool:
        return self.family in ("unix", "fifo", "special") and self.address.startswith("/")


def parse_listen(directive: str, value: str) -> ListenSpec:
    """One Listen*= value; ValueParseError with systemd's wording when it does not parse."""
    kind = LISTEN_KINDS.get(directive)
    if kind is None:
        # ListenNetlink=, ListenMessageQueue=, ListenUSBFunction=: valid for systemd,
        # not bound by pidone (docs/sockets-and-timers.md)
        raise ValueParseError(f"{directive}={value} is not supported by pidone, ignoring.")
    text = value.strip()
    if not text:
        raise ValueParseError(f"Failed to parse address value, ignoring: {value}")
    if kind in ("fifo", "special"):
        if not text.startswith("/"):
            raise ValueParseError(f"Path '{text}' is not absolute, ignoring.")
        return ListenSpec(directive, kind, kind, text)
    if text.startswith("/"):
        return ListenSpec(directive, kind, "unix", text)
    if text.startswith("@"):
        return ListenSpec(directive, kind, "unix", "@" + text[1:])
    if kind == "seqpacket":
        raise ValueParseError(f"Address family not supported, ignoring: {value}")
    if text.startswith("vsock:"):
        _, _, rest = text.partition(":")
        cid, _, port = rest.rpartition(":")
        if not (cid.isdigit() and port.isdigit()):
            raise ValueParseError(f"Failed to parse address value, ignoring: {value}")
        return ListenSpec(directive, kind, "vsock", "", int(port), cid=int(cid))
    if text.isdigit():
        return ListenSpec(directive, kind, "inet6", "::", _port(text, value))
    import ipaddress  # here only: ~0.25 MiB that a daemon without IP sockets never needs

    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueParseError(f"Failed to parse address value, ignoring: {value}")
        port_text, _, device = rest[1:].partition("%")
        try:
            address = str(ipaddress.IPv6Address(host))
        except ValueError:
            raise ValueParseError(f"Failed to parse address value, ignoring: {value}") from None
        return ListenSpec(directive, kind, "inet6", address, _port(port_text, value), device)
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ValueParseError(f"Failed to parse address value, ignoring: {value}")
    try:
        address = str(ipaddress.IPv4Address(host))
    except ValueError:
        raise ValueParseError(f"Failed to parse address value, ignoring: {value}") from None
    return ListenSpec(directive, kind, "inet", address, _port(port_text, value))


def _port(text: str, value: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueParseError(f"Failed to parse address value, ignoring: {value}")
    return int(text)


def format_listen(spec: ListenSpec) -> str:
    if spec.family in ("unix", "fifo", "special"):
        return spec.address
    if spec.family == "inet":
        return f"{spec.address}:{spec.port}"
    if spec.family == "vsock":
        return f"vsock:{spec.cid}:{spec.port}"
    suffix = f"%{spec.device}" if spec.device else ""
    return f"[{spec.address}]:{spec.port}{suffix}"


def accept_instance_name(
    prefix: str, counter: int, local: str, remote: str, suffix: str = "service"
) -> str:
    """`foo@<NR>-<LOCAL>-<REMOTE>.service` for an Accept=yes connection (spec 05 §1.4)."""
    return f"{prefix}@{counter}-{local}-{remote}.{suffix}"
