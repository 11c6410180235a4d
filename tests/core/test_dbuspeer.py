"""core.dbuspeer: the private socket's handshake and its refusal of every method call."""

from __future__ import annotations

import pytest

from pidone.core import dbuswire
from pidone.core.dbuspeer import MAX_AUTH_BYTES, NOT_SUPPORTED, PeerServer
from pidone.core.dbuswire import Message, encode_message, split_messages

GUID = "0123456789abcdef0123456789abcdef"


def _call(serial: int, member: str = "GetUnit", flags: int = 0) -> bytes:
    fields: list[tuple[int, str, str | int]] = [
        (1, "o", "/org/freedesktop/systemd1"),
        (2, "s", "org.freedesktop.systemd1.Manager"),
        (3, "s", member),
    ]
    return encode_message(dbuswire.METHOD_CALL, serial, fields, ("x.service",), flags)


def _replies(peer: PeerServer) -> list[Message]:
    """The binary messages after the handshake's text lines."""
    binary = bytearray(peer.outgoing)
    while binary.startswith((b"OK ", b"DATA", b"AGREE_UNIX_FD", b"REJECTED", b"ERROR")):
        del binary[: binary.find(b"\r\n") + 2]
    return [Message(raw) for raw in split_messages(binary)]


def test_sd_bus_pipelined_handshake_then_an_error_for_each_call() -> None:
    """sd-bus sends AUTH, NEGOTIATE_UNIX_FD and BEGIN at once, then its calls."""
    peer = PeerServer(GUID)
    uid_hex = b"0".hex().encode()
    peer.receive_data(b"\0AUTH EXTERNAL " + uid_hex + b"\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n")
    assert bytes(peer.outgoing) == f"OK {GUID}\r\nAGREE_UNIX_FD\r\n".encode()
    peer.receive_data(_call(7) + _call(8, "ResetFailedUnit"))
    replies = _replies(peer)
    assert [m.type for m in replies] == [dbuswire.ERROR, dbuswire.ERROR]
    assert [m.reply_serial for m in replies] == [7, 8]
    assert {m.error for m in replies} == {NOT_SUPPORTED}
    assert "pidone has no D-Bus API" in replies[0].args[0]
    assert not peer.closed


def test_auth_without_initial_response_asks_for_data() -> None:
    peer = PeerServer(GUID)
    peer.receive_data(b"\0AUTH EXTERNAL\r\n")
    assert bytes(peer.outgoing) == b"DATA\r\n"
    peer.receive_data(b"DATA\r\nBEGIN\r\n")
    assert bytes(peer.outgoing).endswith(f"OK {GUID}\r\n".encode())
    peer.receive_data(_call(1))
    assert [m.reply_serial for m in _replies(peer)] == [1]


def test_bytes_split_anywhere_give_the_same_answers() -> None:
    whole = b"\0AUTH EXTERNAL 30\r\nBEGIN\r\n" + _call(3)
    peer = PeerServer(GUID)
    for i in range(len(whole)):
        peer.receive_data(whole[i : i + 1])
    assert [m.reply_serial for m in _replies(peer)] == [3]


def test_no_reply_expected_gets_none_and_other_mechanisms_are_rejected() -> None:
    peer = PeerServer(GUID)
    peer.receive_data(b"\0AUTH ANONYMOUS\r\n")
    assert bytes(peer.outgoing) == b"REJECTED EXTERNAL\r\n"
    peer.receive_data(b"BEGIN\r\n")  # not authenticated: an error, not binary mode
    assert bytes(peer.outgoing).endswith(b"ERROR\r\n")
    peer.outgoing.clear()
    peer.receive_data(b"AUTH EXTERNAL 30\r\nBEGIN\r\n" + _call(4, flags=0x1))
    assert _replies(peer) == []


@pytest.mark.parametrize(
    "data",
    [
        b"AUTH EXTERNAL 30\r\n",  # no NUL byte first
        b"\0" + b"A" * (MAX_AUTH_BYTES + 1),  # an endless line
        b"\0AUTH EXTERNAL 30\r\nBEGIN\r\n" + b"X" * 32,  # not a message
    ],
    ids=["no-nul", "long-line", "garbage-message"],
)
def test_a_peer_breaking_the_protocol_is_closed(data: bytes) -> None:
    peer = PeerServer(GUID)
    peer.receive_data(data)
    assert peer.closed
