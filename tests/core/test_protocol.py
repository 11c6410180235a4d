"""Control protocol codec: framing, validation, and robustness against arbitrary bytes."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pidone.core.protocol import (
    HEADER,
    MAX_FRAME,
    PROTOCOL_VERSION,
    Codec,
    ErrorCode,
    Event,
    Hello,
    Message,
    ProtocolError,
    RemoteFailure,
    Request,
    Response,
    negotiate,
)


def frame(obj: object) -> bytes:
    body = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    return struct.pack(">I", len(body)) + body


def drain(codec: Codec) -> list[Message | ProtocolError]:
    out: list[Message | ProtocolError] = []
    while (item := codec.next_message()) is not None:
        out.append(item)
        if isinstance(item, ProtocolError) and item.fatal:
            break
    return out


json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ids = st.integers(0, 2**53 - 1)
verbs = st.from_regex(r"[a-z][a-z0-9\-]{0,15}", fullmatch=True)
messages = st.one_of(
    st.builds(Hello, st.integers(0, 10), st.text(max_size=20)),
    st.builds(Request, ids, verbs, st.dictionaries(st.text(max_size=8), json_values, max_size=4)),
    st.builds(Response.success, ids, json_values),
    st.builds(Response.failure, ids, st.sampled_from(list(ErrorCode)), st.text(max_size=30)),
    st.builds(Event, ids, json_values),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(messages, min_size=1, max_size=6), st.data())
def test_round_trip_through_random_splits(msgs: list[Message], data: st.DataObject) -> None:
    sender, receiver = Codec(), Codec()
    wire = b"".join(sender.encode(m) for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=12)))
    got: list[Message | ProtocolError] = []
    start = 0
    for cut in [*cuts, len(wire)]:
        if cut > start:
            receiver.receive_data(wire[start:cut])
            start = cut
        got.extend(drain(receiver))
    assert got == msgs
    assert receiver.buffered == 0


def test_one_byte_at_a_time() -> None:
    msgs: list[Message] = [Hello(1, "x"), Request(1, "status", {"units": ["a.service"]})]
    wire = b"".join(Codec().encode(m) for m in msgs)
    codec = Codec()
    got = []
    for i in range(len(wire)):
        codec.receive_data(wire[i : i + 1])
        got.extend(drain(codec))
        if i < len(wire) - 1 and len(got) < 1:
            assert codec.next_message() is None
    assert got == msgs
    assert codec.buffered == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_garbage_never_raises(chunks: list[bytes]) -> None:
    codec = Codec(max_frame=4096, verbs={"status"})
    for chunk in chunks:
        codec.receive_data(chunk)
        for item in drain(codec):
            assert isinstance(item, (Hello, Request, Response, Event, ProtocolError))
    codec.receive_data(b"")
    drain(codec)


@settings(max_examples=200, deadline=None)
@given(json_values, st.sampled_from(["hello", "request", "response", "event", "x", None]))
def test_well_framed_json_of_any_shape_never_raises(value: object, kind: object) -> None:
    codec = Codec(verbs={"status"})
    obj = {"type": kind, "id": value, "verb": value, "args": value, "ok": value, "error": value}
    codec.receive_data(frame(obj) + frame(value))
    for item in drain(codec):
        assert isinstance(item, (Hello, Request, Response, Event, ProtocolError))
        if isinstance(item, ProtocolError):
            assert not item.fatal


def test_oversize_frame_refused_at_its_header_and_sticky() -> None:
    codec = Codec()
    codec.receive_data(HEADER.pack(MAX_FRAME + 1))
    err = codec.next_message()
    assert isinstance(err, ProtocolError)
    assert err.code is ErrorCode.FRAME_TOO_LARGE
    assert err.fatal
    codec.receive_data(frame({"type": "hello", "version": 1}))
    assert codec.next_message() == err
    assert codec.buffered == 0


def test_frame_at_the_limit_is_accepted() -> None:
    codec = Codec(max_frame=64)
    body = json.dumps({"type": "event", "id": 1, "data": ""}).encode()
    body = body[:-1] + b" " * (64 - len(body)) + body[-1:]
    assert len(body) == 64
    codec.receive_data(frame(body))
    assert codec.next_message() == Event(1, "")


@pytest.mark.parametrize(
    ("body", "code", "request_id"),
    [
        (b"{not json", ErrorCode.BAD_JSON, None),
        (b"\xff\xfe", ErrorCode.BAD_JSON, None),
        (b"NaN", ErrorCode.BAD_JSON, None),
        (b'\xef\xbb\xbf{"type": "hello", "version": 1}', ErrorCode.BAD_JSON, None),  # a BOM
        (b"[" * 100_000 + b"]" * 100_000, ErrorCode.BAD_JSON, None),
        (b"9" * 5000, ErrorCode.BAD_JSON, None),
        (b"[1, 2]", ErrorCode.BAD_MESSAGE, None),
        (b'{"type": "request", "id": true, "verb": "status"}', ErrorCode.BAD_MESSAGE, None),
        (b'{"type": "request", "id": -1, "verb": "status"}', ErrorCode.BAD_MESSAGE, None),
        (b'{"type": "request", "id": 3, "verb": 7}', ErrorCode.BAD_MESSAGE, 3),
        (b'{"type": "request", "id": 3, "verb": "../x"}', ErrorCode.BAD_MESSAGE, 3),
        (b'{"type": "request", "id": 3, "verb": "status", "args": []}', ErrorCode.BAD_MESSAGE, 3),
        (b'{"type": "request", "id": 4, "verb": "format-disk"}', ErrorCode.UNKNOWN_VERB, 4),
        (b'{"type": "hello", "version": "1"}', ErrorCode.BAD_MESSAGE, None),
        (b'{"type": "response", "id": 2, "ok": false}', ErrorCode.BAD_MESSAGE, 2),
        (b'{"type": "launch", "id": 5}', ErrorCode.UNKNOWN_TYPE, 5),
    ],
)
def test_bad_content_is_a_recoverable_error(
    body: bytes, code: ErrorCode, request_id: int | None
) -> None:
    codec = Codec(verbs={"status"})
    codec.receive_data(frame(body) + frame({"type": "request", "id": 9, "verb": "status"}))
    err = codec.next_message()
    assert isinstance(err, ProtocolError)
    assert (err.code, err.fatal, err.request_id) == (code, False, request_id)
    assert codec.next_message() == Request(9, "status", {})


def test_empty_frame_is_recoverable() -> None:
    codec = Codec()
    codec.receive_data(HEADER.pack(0) + frame({"type": "hello", "version": 1}))
    err = codec.next_message()
    assert isinstance(err, ProtocolError)
    assert err.code is ErrorCode.EMPTY_FRAME
    assert codec.next_message() == Hello(1, "")


@pytest.mark.parametrize("partial", [b"\x00\x00", frame({"type": "hello", "version": 1})[:-3]])
def test_eof_inside_a_frame_is_truncated(partial: bytes) -> None:
    codec = Codec()
    codec.receive_data(partial)
    assert codec.next_message() is None
    codec.receive_data(b"")
    err = codec.next_message()
    assert isinstance(err, ProtocolError)
    assert err.code is ErrorCode.TRUNCATED
    assert err.fatal


def test_clean_eof_yields_nothing() -> None:
    codec = Codec()
    codec.receive_data(frame({"type": "hello", "version": 1}))
    codec.receive_data(b"")
    assert codec.next_message() == Hello(1, "")
    assert codec.next_message() is None
    assert codec.eof


def test_wire_shape_is_documented_json() -> None:
    wire = Codec().encode(Response.failure(7, ErrorCode.ACCESS_DENIED, "no"))
    (length,) = struct.unpack(">I", wire[:4])
    assert length == len(wire) - 4
    assert json.loads(wire[4:]) == {
        "type": "response",
        "id": 7,
        "ok": False,
        "error": {"code": "access-denied", "message": "no"},
    }
    assert Response.failure(7, "x", "y").error == RemoteFailure("x", "y")


def test_negotiate() -> None:
    assert negotiate(PROTOCOL_VERSION) == PROTOCOL_VERSION
    assert negotiate(PROTOCOL_VERSION + 5) == PROTOCOL_VERSION
    assert negotiate(0) is None


@pytest.mark.parametrize(
    "body", [b"{not json", b"NaN", b'\xef\xbb\xbf{"a": 1}', b"[1,", b'{"a": Infinity}']
)
def test_bad_json_is_reported_in_json_loads_words(body: bytes) -> None:
    def reject(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")

    try:
        json.loads(body.decode(), parse_constant=reject)
    except ValueError as exc:
        expected = f"bad JSON: {exc}"[:200]
    codec = Codec()
    codec.receive_data(struct.pack(">I", len(body)) + body)
    error = codec.next_message()
    assert isinstance(error, ProtocolError)
    assert error.message == expected
