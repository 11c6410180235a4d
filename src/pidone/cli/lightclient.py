"""Control-socket client on C modules only (_socket, _json): the job verbs' start-up path.

Same wire format, errors and messages as cli/client.py (the full client, used by the
other verbs), without its imports. Measured on the reference box (CPU per import, fresh
interpreter): `socket` 15-18 ms (it builds its AddressFamily/SocketKind enums from every
constant of `_socket`, and pulls in `enum` and `selectors`), `json` 13-16 ms (`re`, and
compiling its scanner's patterns), `struct` 1 ms; `_socket` and `_json`, the C halves
that do the actual work, cost well under 1 ms together. `pidone start` pays its imports
before the daemon sees the request, so they are a direct share of the start latency
(bench/real_services.py).

`_json.make_scanner` / `_json.make_encoder` are the accelerators `json` itself uses
(json/scanner.py, json/encoder.py); they read their settings from the context object's
attributes, which is what `_Decoding` provides. tests/cli/test_lightclient.py checks that
this client and cli/client.py agree on constants, requests and errors.
"""

from __future__ import annotations

import _json
import _socket
import os

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~7 ms
if TYPE_CHECKING:
    from typing import Any

PROTOCOL_VERSION = 1  # == core.protocol.PROTOCOL_VERSION
MAX_FRAME = 64 << 20  # == core.protocol.MAX_CLIENT_FRAME
DEFAULT_RUNTIME_DIR = "/run/pidone"  # == daemon.paths.DEFAULT_RUNTIME_DIR
RUNTIME_DIR_ENV = "PIDONE_RUNTIME_DIR"
SOCKET_NAME = "control.sock"
HEADER_SIZE = 4  # big-endian unsigned frame length (core.protocol.HEADER, ">I")


class ClientError(Exception):
    """Talking to the daemon failed; `str(exc)` is the one-line message for the user."""

    exit_code = 1


class NoDaemon(ClientError):
    """No daemon answers at the control socket."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"Failed to connect to pidone at {path}: {reason}")
        self.path = path
        self.reason = reason


class RemoteError(ClientError):
    """The daemon answered with an error Response."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Decoding:
    """The settings json.loads() uses by default, as attributes for _json.make_scanner."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity, as json.loads accepts them


def _not_serializable(obj: object) -> object:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


# typeshed types the context as a make_scanner; the C code only reads those six attributes.
_scan = _json.make_scanner(_Decoding())  # type: ignore[arg-type]
# json.dumps(obj, separators=(",", ":"), ensure_ascii=False): markers (circular check),
# default, string encoder, indent, key separator, item separator, sort_keys, skipkeys,
# allow_nan.
_encode = _json.make_encoder(
    {}, _not_serializable, _json.encode_basestring, None, ":", ",", False, False, True
)


def dumps(obj: object) -> str:
    """Compact JSON text of `obj`, as cli/client.py sends it."""
    return "".join(_encode(obj, 0))


def loads(text: str) -> Any:  # noqa: ANN401 - JSON values
    """The one JSON value `text` holds; ValueError when it holds anything else."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("no JSON value") from None
    if end != len(text):
        raise ValueError("extra data after the JSON value")
    return value


def resolve_runtime_dir(option: str | None = None) -> str:
    """`--runtime-dir`, else $PIDONE_RUNTIME_DIR, else /run/pidone."""
    return option or os.environ.get(RUNTIME_DIR_ENV) or DEFAULT_RUNTIME_DIR


class Client:
    """One connection for one request at a time (the job verbs send exactly one)."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        self.path = path
        self._sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        self._sock.settimeout(timeout)
        self._buffer = b""
        self._next_id = 1
        self._hung_up = False
        try:
            self._sock.connect(path)
        except OSError as exc:
            self._sock.close()
            raise NoDaemon(path, exc.strerror or str(exc)) from None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def call(self, verb: str, **args: object) -> Any:  # noqa: ANN401 - results are JSON values
        """Run `verb` and return its result; raises RemoteError on a failed Response."""
        request_id = self._next_id
        self._next_id += 1
        hello = {"type": "hello", "version": PROTOCOL_VERSION, "software": "pidone-cli"}
        request = {"type": "request", "id": request_id, "verb": verb, "args": args}
        # Hello and request in one write: one round trip (core/protocol.py allows it).
        self._send(_frame(hello) + _frame(request) if request_id == 1 else _frame(request))
        while True:
            message = self._receive()
            if message.get("type") == "response" and message.get("id") == request_id:
                return self._result(message)

    def _result(self, message: dict[str, Any]) -> Any:  # noqa: ANN401
        if message.get("ok") is True:
            return message.get("result")
        error = message.get("error")
        if not isinstance(error, dict):
            raise ClientError(f"Malformed error reply from pidone at {self.path}")
        raise RemoteError(str(error.get("code", "")), str(error.get("message", "")))

    def _send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except TimeoutError:
            raise ClientError(f"Timed out talking to pidone at {self.path}") from None
        except (BrokenPipeError, ConnectionResetError):
            # The daemon hung up (a refusal such as too-many-connections): its last words
            # may still be queued for us, and reading them gives the better message.
            self._hung_up = True
        except OSError as exc:
            raise ClientError(f"Connection to pidone at {self.path} lost: {exc.strerror}") from None

    def _receive(self) -> dict[str, Any]:
        """The next message; the server's Hello is consumed (and checked) on the way."""
        while True:
            message = self._read_frame()
            if message.get("type") == "hello":
                version = message.get("version")
                if not isinstance(version, int) or not 1 <= version <= PROTOCOL_VERSION:
                    raise ClientError(f"pidone at {self.path} speaks protocol {version!r}")
                continue
            if message.get("type") == "response" and message.get("id") == 0:
                self._result(message)  # a connection-level error: raises RemoteError
            return message

    def _read_frame(self) -> dict[str, Any]:
        length = int.from_bytes(self._read_exact(HEADER_SIZE), "big")
        if length > MAX_FRAME:
            raise ClientError(f"pidone at {self.path} sent an oversized frame ({length} bytes)")
        try:
            message = loads(self._read_exact(length).decode())
        except ValueError:  # UnicodeDecodeError is one
            raise ClientError(f"pidone at {self.path} sent malformed JSON") from None
        if not isinstance(message, dict):
            raise ClientError(f"pidone at {self.path} sent a malformed message")
        return message

    def _read_exact(self, count: int) -> bytes:
        while len(self._buffer) < count:
            try:
                chunk = self._sock.recv(max(65536, count - len(self._buffer)))
            except TimeoutError:
                raise ClientError(f"Timed out waiting for pidone at {self.path}") from None
            except ConnectionResetError:
                # The daemon closed with our bytes unread; what it sent first was read already.
                chunk = b""
            except OSError as exc:
                raise ClientError(
                    f"Connection to pidone at {self.path} lost: {exc.strerror}"
                ) from None
            if not chunk:
                how = "hung up on us" if self._hung_up else "closed the connection"
                raise ClientError(f"pidone at {self.path} {how} before replying")
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data


def _frame(obj: dict[str, Any]) -> bytes:
    try:
        body = dumps(obj).encode()
    except UnicodeEncodeError:  # an argument that was not UTF-8 (surrogate-escaped argv)
        raise ClientError("Invalid argument: not valid UTF-8") from None
    return len(body).to_bytes(HEADER_SIZE, "big") + body


def connect(runtime_dir: str | None = None, timeout: float | None = None) -> Client:
    """A connected Client for the daemon under `runtime_dir` (see resolve_runtime_dir)."""
    return Client(os.path.join(resolve_runtime_dir(runtime_dir), SOCKET_NAME), timeout)
