"""The server side of systemd's private bus socket (/run/systemd/private), sans-IO: every
method call gets an error at once.

systemctl(1) and the other systemd tools, run as root, do not use the system bus: they
connect straight to the manager's peer-to-peer socket /run/systemd/private
(bus_connect_system_systemd(), src/shared/bus-util.c, systemd 252) and fall back to the
system bus only when that connect fails. Under pidone as a container's PID 1 the system
bus socket is dbus.socket's, held by pidone until dbus-daemon runs; a unit whose start
runs Debian's own /usr/bin/systemctl before that (cockpit.socket's ExecStartPost= asks
`systemctl show --property Listen`; wd_keepalive.service runs `/bin/systemctl
reset-failed`) then waited for a bus that could not start before it: dbus.service is
ordered after basic.target, which waited for that very unit.

pidone has no D-Bus API (its own systemctl, `pidone install-shims`, speaks to the daemon
directly), so it answers on the private socket as a peer that authenticates the caller and
fails every method call with org.freedesktop.DBus.Error.NotSupported: the foreign
systemctl reports the error and exits non-zero at once, as it would for a manager that
refused the call.

The handshake (D-Bus Specification, "Authentication Protocol"): the client sends one NUL
byte, then lines ending in CRLF. sd-bus pipelines `AUTH EXTERNAL` (with the hex of its
uid, or none and then `DATA`), `NEGOTIATE_UNIX_FD` and `BEGIN` without waiting; the server
answers `OK <guid>`, `AGREE_UNIX_FD`, and after BEGIN binary messages follow. A peer
connection has no bus driver: no Hello, no sender or destination fields.
"""

from __future__ import annotations

from pidone.core.dbuswire import (
    ERROR,
    METHOD_CALL,
    BusProtocolError,
    Message,
    encode_message,
    split_messages,
)

NOT_SUPPORTED = "org.freedesktop.DBus.Error.NotSupported"
REFUSAL = (
    "pidone has no D-Bus API; use pidone's own systemctl "
    "(`pidone install-shims` puts it first on PATH)"
)
_ERROR_NAME, _REPLY_SERIAL = 4, 5  # header field codes
_NO_REPLY_EXPECTED = 0x1
MAX_AUTH_BYTES = 16 * 1024  # a handshake is a few short lines
MAX_BUFFERED = 1 << 20  # a peer that sends more without reading our answers is closed


class PeerServer:
    """One connection: bytes in (`receive_data`), bytes out (`outgoing`), `closed` when
    the peer broke the protocol (the caller then closes the socket)."""

    def __init__(self, guid: str) -> None:
        self.guid = guid
        self.outgoing = bytearray()
        self.closed = False
        self._inbuf = bytearray()
        self._nul_seen = False
        self._authenticated = False  # AUTH accepted
        self._binary = False  # after BEGIN
        self._serial = 0

    def receive_data(self, data: bytes) -> None:
        if self.closed:
            return
        self._inbuf += data
        try:
            if not self._binary:
                self._handshake()
            if self._binary:
                self._messages()
        except (BusProtocolError, IndexError, UnicodeDecodeError, ValueError):
            self.closed = True
        if len(self._inbuf) > MAX_BUFFERED or len(self.outgoing) > MAX_BUFFERED:
            self.closed = True

    def _handshake(self) -> None:
        if not self._nul_seen:
            if not self._inbuf:
                return
            if self._inbuf[0] != 0:
                raise BusProtocolError("no NUL byte before the authentication")
            del self._inbuf[0]
            self._nul_seen = True
        while not self._binary:
            end = self._inbuf.find(b"\r\n")
            if end < 0:
                if len(self._inbuf) > MAX_AUTH_BYTES:
                    raise BusProtocolError("authentication line too long")
                return
            line = bytes(self._inbuf[:end]).decode("ascii")
            del self._inbuf[: end + 2]
            self._command(line)

    def _command(self, line: str) -> None:
        words = line.split()
        verb = words[0] if words else ""
        if verb == "AUTH" and len(words) >= 2 and words[1] == "EXTERNAL":
            # The kernel vouches for the peer (SO_PEERCRED) and the socket is root's
            # only (0600): the claimed identity is not needed to answer with refusals.
            if len(words) == 2:
                self.outgoing += b"DATA\r\n"  # no initial response: ask for it
            else:
                self._ok()
        elif verb == "AUTH":
            self.outgoing += b"REJECTED EXTERNAL\r\n"
        elif verb == "DATA":
            self._ok()
        elif verb == "NEGOTIATE_UNIX_FD" and self._authenticated:
            self.outgoing += b"AGREE_UNIX_FD\r\n"
        elif verb == "BEGIN" and self._authenticated:
            self._binary = True
        elif verb == "CANCEL":
            self._authenticated = False
            self.outgoing += b"REJECTED EXTERNAL\r\n"
        else:
            self.outgoing += b"ERROR\r\n"

    def _ok(self) -> None:
        self._authenticated = True
        self.outgoing += b"OK " + self.guid.encode("ascii") + b"\r\n"

    def _messages(self) -> None:
        for raw in split_messages(self._inbuf):
            msg = Message(raw)
            if msg.type != METHOD_CALL or msg.flags & _NO_REPLY_EXPECTED:
                continue
            self._serial += 1
            fields: list[tuple[int, str, str | int]] = [
                (_ERROR_NAME, "s", NOT_SUPPORTED),
                (_REPLY_SERIAL, "u", msg.serial),
            ]
            self.outgoing += encode_message(ERROR, self._serial, fields, (REFUSAL,))
