"""Just enough of the D-Bus wire protocol to watch bus names (Type=dbus), sans-IO.

systemd.service(5), Type=dbus: "the service is considered ready when the specified BusName
has been acquired on the D-Bus bus", and when the name is lost later the manager stops the
service (service_good() is false without the name). systemd learns both from the bus
driver: a match on org.freedesktop.DBus.NameOwnerChanged for the name plus one
GetNameOwner call (bus_add_match_full() + unit_get_name_owner(), src/core/unit.c).

`BusClient` does that, and the service manager's other duty on the bus, D-Bus activation
(daemon/busactivation.py): SASL EXTERNAL authentication, Hello, per watched name one
AddMatch and GetNameOwner; for activation, RequestName org.freedesktop.systemd1, a match
on ActivationRequest, the ActivationFailure signal, and an UnknownMethod error for any
method call addressed to it. It takes bytes in (`receive_data`) and
leaves bytes to send in `outgoing` (the h11 shape); linux/dbuswatch.py owns the socket.

Wire format (D-Bus Specification, "Message Protocol"): a 12-byte fixed header (endianness
'l' or 'B', type, flags, version 1, body length, serial), an array of (code, variant)
header fields, padding to 8, then the body. Each value is aligned to its own size; a
STRING is a uint32 length, the bytes and a NUL; a SIGNATURE a byte length, the bytes and
a NUL. Authentication ("Authentication Protocol"): the client sends one NUL byte, then
`AUTH EXTERNAL <hex of the decimal uid>`; the server answers `OK <guid>` and the client
sends `BEGIN`, after which binary messages flow.
"""

from __future__ import annotations

import struct

from pidone.core.errors import PidoneError

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
_PATH, _INTERFACE, _MEMBER, _ERROR_NAME, _REPLY_SERIAL, _DESTINATION, _SENDER, _SIGNATURE = range(
    1, 9
)
_FIELD_TYPES = {
    _PATH: "o",
    _INTERFACE: "s",
    _MEMBER: "s",
    _ERROR_NAME: "s",
    _REPLY_SERIAL: "u",
    _DESTINATION: "s",
    _SENDER: "s",
    _SIGNATURE: "g",
}
DRIVER = "org.freedesktop.DBus"
_MAX_MESSAGE = 128 * 1024 * 1024  # the specification's limit on a message's length


class BusProtocolError(PidoneError):
    """The bus said something this client cannot follow (or refused us)."""


def _pad(buf: bytearray, align: int) -> None:
    buf.extend(b"\0" * (-len(buf) % align))


def _put_string(buf: bytearray, value: str, sig: str = "s") -> None:
    data = value.encode()
    if sig == "g":
        buf.append(len(data))
    else:
        _pad(buf, 4)
        buf += struct.pack("<I", len(data))
    buf += data + b"\0"


def encode_message(
    kind: int,
    serial: int,
    fields: list[tuple[int, str, str | int]],
    args: tuple[str | int, ...] = (),
    flags: int = 0,
) -> bytes:
    """A little-endian message: header `fields` as (code, type, value), a body of STRING
    and UINT32 arguments (the SIGNATURE field is added for them)."""
    body = bytearray()
    signature = ""
    for arg in args:
        if isinstance(arg, int):
            _pad(body, 4)
            body += struct.pack("<I", arg)
            signature += "u"
        else:
            _put_string(body, arg)
            signature += "s"
    if args:
        fields = [*fields, (_SIGNATURE, "g", signature)]
    head = bytearray(struct.pack("<cBBBII", b"l", kind, flags, 1, len(body), serial))
    array = bytearray()
    for code, sig, value in fields:
        # offsets inside the array are taken from the message start: the array's data
        # begins at 16, a multiple of 8, so aligning `array` alone gives the same padding
        _pad(array, 8)
        array.append(code)
        _put_string(array, sig, "g")
        if isinstance(value, int):
            _pad(array, 4)
            array += struct.pack("<I", value)
        else:
            _put_string(array, value, sig)
    head += struct.pack("<I", len(array)) + array
    _pad(head, 8)
    return bytes(head + body)


def encode_method_call(
    serial: int, member: str, args: tuple[str | int, ...] = (), destination: str = DRIVER
) -> bytes:
    """A METHOD_CALL on the bus driver; arguments are STRINGs and UINT32s."""
    fields: list[tuple[int, str, str | int]] = [
        (_PATH, "o", "/org/freedesktop/DBus"),
        (_INTERFACE, "s", DRIVER),
        (_MEMBER, "s", member),
        (_DESTINATION, "s", destination),
    ]
    return encode_message(METHOD_CALL, serial, fields, args)


class _Reader:
    """Reads aligned values from one message (offsets from the message start)."""

    def __init__(self, data: bytes, little: bool) -> None:
        self.data, self.pos = data, 0
        self.u32 = struct.Struct("<I" if little else ">I")

    def align(self, n: int) -> None:
        self.pos += -self.pos % n

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uint32(self) -> int:
        self.align(4)
        (value,) = self.u32.unpack_from(self.data, self.pos)
        self.pos += 4
        return int(value)

    def string(self, sig: str) -> str:
        n = self.byte() if sig == "g" else self.uint32()
        value = self.data[self.pos : self.pos + n].decode(errors="replace")
        self.pos += n + 1
        return value

    def value(self, sig: str) -> str | int:
        if sig in ("s", "o", "g"):
            return self.string(sig)
        if sig == "u":
            return self.uint32()
        raise BusProtocolError(f"unexpected D-Bus type {sig!r}")


class Message:
    """A decoded message: its type, serials, the header fields used here, string body."""

    __slots__ = (
        "args",
        "error",
        "flags",
        "interface",
        "member",
        "path",
        "reply_serial",
        "sender",
        "serial",
        "type",
    )

    def __init__(self, data: bytes) -> None:
        little = data[:1] == b"l"
        r = _Reader(data, little)
        r.pos = 1
        self.type = r.byte()
        self.flags = r.byte()
        r.pos = 8
        self.serial = r.uint32()
        end = 16 + r.uint32()
        self.reply_serial, self.member, self.sender, self.error = 0, "", "", ""
        self.path, self.interface = "", ""
        signature = ""
        while r.pos < end:
            r.align(8)
            code = r.byte()
            sig = r.string("g")
            value = r.value(sig)
            if code == _REPLY_SERIAL and isinstance(value, int):
                self.reply_serial = value
            elif code == _MEMBER:
                self.member = str(value)
            elif code == _PATH:
                self.path = str(value)
            elif code == _INTERFACE:
                self.interface = str(value)
            elif code == _SENDER:
                self.sender = str(value)
            elif code == _ERROR_NAME:
                self.error = str(value)
            elif code == _SIGNATURE:
                signature = str(value)
        r.align(8)
        self.args: tuple[str, ...] = ()
        if signature and set(signature) <= {"s", "o"}:
            self.args = tuple(str(r.value(s)) for s in signature)


def split_messages(buf: bytearray) -> list[bytes]:
    """Remove and return every complete message at the start of `buf`."""
    out = []
    while len(buf) >= 16:
        if bytes(buf[:1]) not in (b"l", b"B"):
            raise BusProtocolError("bad endianness byte in a D-Bus message")
        fmt = "<I" if buf[:1] == b"l" else ">I"
        # the body length at offset 4, the header fields array's length at 12
        body_len, fields_len = (
            struct.unpack_from(fmt, buf, 4)[0],
            struct.unpack_from(fmt, buf, 12)[0],
        )
        total = 16 + fields_len + (-(16 + fields_len) % 8) + body_len
        if total > _MAX_MESSAGE:
            raise BusProtocolError("D-Bus message too long")
        if len(buf) < total:
            break
        out.append(bytes(buf[:total]))
        del buf[:total]
    return out


def match_rule(name: str) -> str:
    """The match rule systemd installs for a watched name (unit_install_bus_match())."""
    return (
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        f"interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{name}'"
    )


ACTIVATOR = "org.freedesktop.systemd1.Activator"
MANAGER_NAME = "org.freedesktop.systemd1"
_NO_REPLY_EXPECTED = 0x1  # message flag
_REPLACE_EXISTING, _ALLOW_REPLACEMENT = 0x2, 0x1  # RequestName flags, as systemd asks


class BusClient:
    """Watches bus names and takes D-Bus activation requests; see the module docstring.

    `receive_data` returns news as (kind, a, b): ("owner", name, owner) with owner "" for
    none, and ("activate", unit, "") for an org.freedesktop.systemd1.Activator
    ActivationRequest."""

    def __init__(self, uid: int) -> None:
        self.outgoing = bytearray(b"\0AUTH EXTERNAL " + str(uid).encode().hex().encode() + b"\r\n")
        self.authenticated = False
        self._inbuf = bytearray()
        self._serial = 0
        self._queued: list[bytes] = []  # calls made before authentication finished
        self._owner_calls: dict[int, str] = {}  # serial of GetNameOwner -> name
        self._matched: set[str] = set()
        self.activator = False

    def _send(self, data: bytes) -> None:
        if self.authenticated:
            self.outgoing += data
        else:
            self._queued.append(data)

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def _call(self, member: str, *args: str | int) -> int:
        serial = self._next()
        self._send(encode_method_call(serial, member, args))
        return serial

    def watch(self, name: str) -> None:
        """Follow `name`: a match for its changes (once), then ask for its owner now."""
        if name not in self._matched:
            self._matched.add(name)
            self._call("AddMatch", match_rule(name))
        self._owner_calls[self._call("GetNameOwner", name)] = name

    def serve_activation(self) -> None:
        """Be the bus's service manager as systemd is (bus_setup_api(), src/core/dbus.c):
        own org.freedesktop.systemd1 and match the driver's ActivationRequest signals,
        which dbus-daemon --systemd-activation sends for a .service file with
        SystemdService= (queued by dbus-daemon until that name has an owner)."""
        if self.activator:
            return
        self.activator = True
        self._call("RequestName", MANAGER_NAME, _REPLACE_EXISTING | _ALLOW_REPLACEMENT)
        self._call(
            "AddMatch",
            "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
            f"interface='{ACTIVATOR}',member='ActivationRequest'",
        )

    def activation_failure(self, unit: str, error: str, message: str) -> None:
        """signal_activation_request()'s answer when no job could be queued: the
        ActivationFailure signal to the driver, which fails the pending activation."""
        fields: list[tuple[int, str, str | int]] = [
            (_PATH, "o", "/org/freedesktop/systemd1"),
            (_INTERFACE, "s", ACTIVATOR),
            (_MEMBER, "s", "ActivationFailure"),
            (_DESTINATION, "s", DRIVER),
        ]
        self._send(encode_message(SIGNAL, self._next(), fields, (unit, error, message)))

    def _refuse(self, msg: Message) -> None:
        """Method calls to org.freedesktop.systemd1 get an error at once (pidone has no
        D-Bus API): a caller such as systemctl fails instead of waiting for a timeout."""
        if msg.flags & _NO_REPLY_EXPECTED or not msg.sender:
            return
        fields: list[tuple[int, str, str | int]] = [
            (_ERROR_NAME, "s", "org.freedesktop.DBus.Error.UnknownMethod"),
            (_REPLY_SERIAL, "u", msg.serial),
            (_DESTINATION, "s", msg.sender),
        ]
        text = f"pidone implements no D-Bus method {msg.interface}.{msg.member}"
        self._send(encode_message(ERROR, self._next(), fields, (text,)))

    def receive_data(self, data: bytes) -> list[tuple[str, str, str]]:
        """Feed bytes from the bus; returns the news (see the class docstring)."""
        self._inbuf += data
        if not self.authenticated:
            end = self._inbuf.find(b"\r\n")
            if end < 0:
                return []
            line = bytes(self._inbuf[:end])
            del self._inbuf[: end + 2]
            if not line.startswith(b"OK "):
                raise BusProtocolError(f"the bus refused us: {line.decode(errors='replace')}")
            self.authenticated = True
            hello = encode_method_call(self._next(), "Hello")
            self.outgoing += b"BEGIN\r\n" + hello + b"".join(self._queued)
            self._queued.clear()
        news = []
        for raw in split_messages(self._inbuf):
            msg = Message(raw)
            if msg.type in (METHOD_RETURN, ERROR) and msg.reply_serial in self._owner_calls:
                name = self._owner_calls.pop(msg.reply_serial)
                owner = msg.args[0] if msg.type == METHOD_RETURN and msg.args else ""
                news.append(("owner", name, owner))
            elif msg.type == SIGNAL and msg.sender == DRIVER:
                if (
                    msg.member == "NameOwnerChanged"
                    and len(msg.args) == 3
                    and msg.args[0] in self._matched
                ):
                    news.append(("owner", msg.args[0], msg.args[2]))
                elif (
                    self.activator
                    and msg.interface == ACTIVATOR
                    and msg.member == "ActivationRequest"
                    and len(msg.args) == 1
                ):
                    news.append(("activate", msg.args[0], ""))
            elif msg.type == METHOD_CALL:
                self._refuse(msg)
        return news
