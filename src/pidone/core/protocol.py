"""Control messages (frozen dataclasses) and the sans-IO framed codec of the control socket.

Wire format (version 1), documented in docs/daemon.md:

* A stream of frames. A frame is a 4-byte big-endian unsigned length N followed by N bytes
  of UTF-8 JSON holding exactly one object. Length prefixes, rather than newline-delimited
  JSON, let a reader know the size of a frame before buffering it, so an oversized frame is
  refused at its header without reading its body.
* Every object has a "type": "hello", "request", "response" or "event".
* The client's first frame is a Hello naming the newest version it speaks; the server answers
  with a Hello naming the version it will speak (the lower of the two), or with an error
  Response (id 0) and a close when the versions do not overlap. A client may send its Hello
  and its first Request back to back without waiting (one round trip per CLI call).
* Request ids are chosen by the client, unique per connection. A Response ends a request; zero
  or more Events with the same id may precede it (subscriptions such as `journalctl -f`).

The codec is h11-shaped: bytes in with `receive_data`, messages out with `next_message`, bytes
out with `encode`. It never raises on input: every defect comes back as a `ProtocolError`
value. A fatal error (the stream is out of sync) is sticky; a non-fatal one (one well-framed
message with bad content) consumes that frame only, and carries the request id when one could
be read so the server can answer it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Collection
from enum import StrEnum

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.hints import Any, Final, NoReturn, TypeGuard

PROTOCOL_VERSION: Final = 1
MIN_PROTOCOL_VERSION: Final = 1
HEADER: Final = struct.Struct(">I")
MAX_FRAME: Final = 1 << 20  # what the server accepts from a client
MAX_CLIENT_FRAME: Final = 64 << 20  # what a client accepts from the server (large listings)
MAX_ID: Final = 2**53 - 1  # exact in every JSON implementation (IEEE double)
MAX_VERB_LENGTH: Final = 64


class ErrorCode(StrEnum):
    """Error codes carried by ProtocolError and error Responses (kebab-case on the wire)."""

    # framing and decoding: produced by the codec
    FRAME_TOO_LARGE = "frame-too-large"
    EMPTY_FRAME = "empty-frame"
    TRUNCATED = "truncated-frame"
    BAD_JSON = "bad-json"
    BAD_MESSAGE = "bad-message"
    UNKNOWN_TYPE = "unknown-type"
    UNKNOWN_VERB = "unknown-verb"
    # session: produced by the server
    HELLO_REQUIRED = "hello-required"
    VERSION_MISMATCH = "version-mismatch"
    ACCESS_DENIED = "access-denied"
    TOO_MANY_PENDING = "too-many-pending"
    DUPLICATE_ID = "duplicate-id"
    INTERNAL = "internal-error"
    SHUTTING_DOWN = "shutting-down"


@dataclass(frozen=True, slots=True)
class Hello:
    """Version negotiation; the first message in each direction."""

    version: int = PROTOCOL_VERSION
    software: str = ""


@dataclass(frozen=True, slots=True)
class Request:
    """A client asks the daemon to run `verb` with keyword `args`."""

    id: int
    verb: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RemoteFailure:
    """The error part of a failed Response."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Response:
    """The final answer to the Request with the same id: a result or an error."""

    id: int
    ok: bool
    result: Any = None
    error: RemoteFailure | None = None

    @classmethod
    def success(cls, request_id: int, result: object = None) -> Response:
        return cls(request_id, True, result, None)

    @classmethod
    def failure(cls, request_id: int, code: str, message: str) -> Response:
        return cls(request_id, False, None, RemoteFailure(str(code), message))


@dataclass(frozen=True, slots=True)
class Event:
    """One streamed item for a long-lived Request (a journal line, a job state change)."""

    id: int
    data: Any = None


Message = Hello | Request | Response | Event


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """A defect in received bytes. `fatal`: the stream cannot be resynchronised."""

    code: ErrorCode
    message: str
    fatal: bool
    request_id: int | None = None


def _reject_constant(name: str) -> NoReturn:
    # json.loads accepts NaN/Infinity by default; they are not JSON (RFC 8259 §6).
    raise ValueError(f"{name} is not valid JSON")


# One encoder and one decoder for every frame: json.dumps()/json.loads() with any
# non-default option build a new JSONEncoder/JSONDecoder (and its C scanner) per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_verb(verb: str) -> bool:
    if not verb or len(verb) > MAX_VERB_LENGTH or not ("a" <= verb[0] <= "z"):
        return False
    return all("a" <= c <= "z" or "0" <= c <= "9" or c in "-_." for c in verb)


class Codec:
    """Sans-IO framing and validation for one direction-pair of a connection.

    `verbs`, when given, makes a Request for any other verb a non-fatal UNKNOWN_VERB error.
    `receive_data(b"")` signals end of stream; a partial frame then becomes TRUNCATED.
    """

    __slots__ = ("_buffer", "_eof", "_fatal", "max_frame", "verbs")

    def __init__(self, max_frame: int = MAX_FRAME, verbs: Collection[str] | None = None) -> None:
        self.max_frame = max_frame
        self.verbs = verbs
        self._buffer = bytearray()
        self._eof = False
        self._fatal: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet turned into messages."""
        return len(self._buffer)

    @property
    def eof(self) -> bool:
        return self._eof

    def receive_data(self, data: bytes) -> None:
        if not data:
            self._eof = True
        elif not self._eof and self._fatal is None:
            self._buffer += data

    def next_message(self) -> Message | ProtocolError | None:
        """The next complete message, an error, or None when more bytes are needed."""
        if self._fatal is not None:
            return self._fatal
        buf = self._buffer
        if len(buf) < HEADER.size:
            if buf and self._eof:
                return self._fail(ErrorCode.TRUNCATED, "stream ended inside a frame header")
            return None
        (length,) = HEADER.unpack_from(buf)
        if length > self.max_frame:
            return self._fail(
                ErrorCode.FRAME_TOO_LARGE,
                f"frame of {length} bytes exceeds the limit of {self.max_frame}",
            )
        if length == 0:
            del buf[: HEADER.size]
            return ProtocolError(ErrorCode.EMPTY_FRAME, "empty frame", fatal=False)
        end = HEADER.size + length
        if len(buf) < end:
            if self._eof:
                return self._fail(ErrorCode.TRUNCATED, "stream ended inside a frame")
            return None
        body = bytes(buf[HEADER.size : end])
        del buf[:end]
        return self._decode(body)

    def encode(self, message: Message) -> bytes:
        """One frame holding `message` (no size check: the receiver enforces its limit)."""
        body = _ENCODER.encode(_to_wire(message)).encode()
        return HEADER.pack(len(body)) + body

    def _fail(self, code: ErrorCode, message: str) -> ProtocolError:
        self._fatal = ProtocolError(code, message, fatal=True)
        self._buffer.clear()
        return self._fatal

    def _decode(self, body: bytes) -> Message | ProtocolError:
        try:
            text = body.decode("utf-8")
            if text.startswith("\ufeff"):  # what json.loads() refuses before decoding
                raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
            obj = _DECODER.decode(text)
        except UnicodeDecodeError:
            return ProtocolError(ErrorCode.BAD_JSON, "frame is not UTF-8", fatal=False)
        except (ValueError, RecursionError) as exc:
            # RecursionError: "[[[[..." nested past the C scanner's depth limit.
            # ValueError also covers ints longer than sys.get_int_max_str_digits().
            return ProtocolError(ErrorCode.BAD_JSON, f"bad JSON: {exc}"[:200], fatal=False)
        if not isinstance(obj, dict):
            return ProtocolError(ErrorCode.BAD_MESSAGE, "a message must be an object", False)
        return _from_wire(obj, self.verbs)


def _bad(message: str, request_id: int | None = None) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_MESSAGE, message, fatal=False, request_id=request_id)


def _from_wire(obj: dict[str, Any], verbs: Collection[str] | None) -> Message | ProtocolError:
    kind = obj.get("type")
    if kind == "hello":
        version, software = obj.get("version"), obj.get("software", "")
        if not _is_int(version) or not isinstance(software, str):
            return _bad("hello needs an integer version and a string software")
        return Hello(version, software)
    raw_id = obj.get("id")
    if not _is_int(raw_id) or not 0 <= raw_id <= MAX_ID:
        return _bad(f"{kind!s:.20} needs an integer id in 0..{MAX_ID}")
    request_id: int = raw_id
    if kind == "request":
        verb, args = obj.get("verb"), obj.get("args", {})
        if not isinstance(verb, str) or not _valid_verb(verb):
            return _bad("request needs a verb made of a-z 0-9 - _ .", request_id)
        if not isinstance(args, dict):
            return _bad("request args must be an object", request_id)
        if verbs is not None and verb not in verbs:
            return ProtocolError(
                ErrorCode.UNKNOWN_VERB, f"unknown verb {verb!r}", False, request_id
            )
        return Request(request_id, verb, args)
    if kind == "response":
        ok = obj.get("ok")
        if not isinstance(ok, bool):
            return _bad("response needs a boolean ok", request_id)
        if ok:
            return Response(request_id, True, obj.get("result"), None)
        error = obj.get("error")
        if not isinstance(error, dict):
            return _bad("failed response needs an error object", request_id)
        code, message = error.get("code"), error.get("message", "")
        if not isinstance(code, str) or not isinstance(message, str):
            return _bad("error needs a string code and message", request_id)
        return Response(request_id, False, None, RemoteFailure(code, message))
    if kind == "event":
        return Event(request_id, obj.get("data"))
    return ProtocolError(
        ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r:.40}", False, request_id
    )


def _to_wire(message: Message) -> dict[str, Any]:
    if isinstance(message, Hello):
        return {"type": "hello", "version": message.version, "software": message.software}
    if isinstance(message, Request):
        return {"type": "request", "id": message.id, "verb": message.verb, "args": message.args}
    if isinstance(message, Event):
        return {"type": "event", "id": message.id, "data": message.data}
    if message.ok:
        return {"type": "response", "id": message.id, "ok": True, "result": message.result}
    error = message.error or RemoteFailure(ErrorCode.INTERNAL, "")
    return {
        "type": "response",
        "id": message.id,
        "ok": False,
        "error": {"code": error.code, "message": error.message},
    }


def negotiate(offered: int) -> int | None:
    """The version the server speaks to a client offering `offered`, or None."""
    if offered < MIN_PROTOCOL_VERSION:
        return None
    return min(offered, PROTOCOL_VERSION)
