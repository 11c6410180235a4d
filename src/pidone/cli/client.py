"""Blocking Unix-socket client of the control protocol, for one CLI call at a time.

The wire format is defined in core/protocol.py and docs/daemon.md. This module re-states its
few constants instead of importing the codec, and is built on the C modules only (_socket,
_json): every CLI call pays for its imports before the daemon sees the request. Measured on
the reference box (CPU per import, fresh interpreter): `socket` 15-18 ms (it builds its
AddressFamily/SocketKind enums from every constant of `_socket`, and pulls in `enum` and
`selectors`), `json` 13-16 ms (`re`, and compiling its scanner's patterns), `struct` 1 ms,
`dataclasses` (through `inspect`) more than the whole call; `_socket` and `_json`, the C
halves that do the actual work, cost well under 1 ms together (bench/cli.py,
bench/real_services.py).

`_json.make_scanner` / `_json.make_encoder` are the accelerators `json` itself uses
(json/scanner.py, json/encoder.py); they read their settings from the context object's
attributes, which is what `_Decoding` provides. tests/cli/test_client.py checks the
constants against core.protocol and daemon.paths, the codec against `json`, and the client
against the real ControlServer.

Errors: `NoDaemon` when nothing answers on the socket (message
"Failed to connect to pidone at PATH: REASON", exit code 1), `RemoteError(code, message)`
when the daemon answers with an error, `ClientError` for everything else (lost connection,
protocol violation, timeout). Each carries `exit_code` for the CLI.

csrc/pidone-job.c re-states this client in C for the job verbs (docs/cli-launcher.md); its
messages are these, word for word (tests/cli/test_fast_client.py compares them).
"""

from __future__ import annotations

import _json
import _socket
import posix
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~7 ms
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
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
    except SystemError:
        # CPython 3.11's _json raises JSONDecodeError by looking json.decoder up in
        # sys.modules only (Modules/_json.c raise_errmsg); unless something imported `json`,
        # a malformed document past its first character ends as "returned NULL without
        # setting an exception". Importing json.decoder to get the real error costs `re`.
        raise ValueError("malformed JSON") from None
    if end != len(text):
        raise ValueError("extra data after the JSON value")
    return value


def getenv(name: str) -> str | None:
    """os.environ.get(name) without importing `os` when nothing else has.

    `os` (with posixpath, stat and _collections_abc) is ~2.5 ms of a job verb's start-up
    under bin/pidone's `-IS`. os.environ is a copy of posix.environ made when `os` is
    imported, and only it sees later changes (putenv through os.environ): so it is the
    source whenever `os` is loaded, and posix.environ (bytes, decoded as os does) otherwise.
    """
    os_module = sys.modules.get("os")
    if os_module is not None:
        value: str | None = os_module.environ.get(name)
        return value
    raw = posix.environ.get(name.encode(sys.getfilesystemencoding(), "surrogateescape"))
    if raw is None:
        return None
    return raw.decode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())


def resolve_runtime_dir(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """`--runtime-dir`, else $PIDONE_RUNTIME_DIR, else /run/pidone."""
    value = getenv(RUNTIME_DIR_ENV) if environ is None else environ.get(RUNTIME_DIR_ENV)
    return option or value or DEFAULT_RUNTIME_DIR


def socket_path(runtime_dir: str | None = None) -> str:
    base = resolve_runtime_dir(runtime_dir)
    # posixpath.join(base, SOCKET_NAME), without importing it
    return base + SOCKET_NAME if base.endswith("/") else f"{base}/{SOCKET_NAME}"


class Client:
    """One connection; `call()` and `stream()` may be used repeatedly, one at a time."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        self.path = path
        self._sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        self._sock.settimeout(timeout)
        self._buffer = b""
        self._next_id = 1
        self._hung_up = False
        self.server_version = 0
        self.server_software = ""
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
        request_id = self._request(verb, args)
        while True:
            message = self._receive()
            if message.get("type") == "response" and message.get("id") == request_id:
                return self._result(message)

    def stream(self, verb: str, **args: object) -> Iterator[Any]:
        """Yield each Event's data for `verb` until its final Response (a failure raises)."""
        request_id = self._request(verb, args)
        while True:
            message = self._receive()
            if message.get("id") != request_id:
                continue
            if message.get("type") == "event":
                yield message.get("data")
            elif message.get("type") == "response":
                self._result(message)
                return

    def _request(self, verb: str, args: dict[str, object]) -> int:
        request_id = self._next_id
        self._next_id += 1
        request = {"type": "request", "id": request_id, "verb": verb, "args": args}
        if request_id == 1:
            # Hello and the first request in one write: one round trip (core/protocol.py
            # allows it).
            hello = {"type": "hello", "version": PROTOCOL_VERSION, "software": "pidone-cli"}
            self._send(_frame(hello) + _frame(request))
        else:
            self._send(_frame(request))
        return request_id

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
                self.server_version = version
                self.server_software = str(message.get("software", ""))
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
    return Client(socket_path(runtime_dir), timeout)


def call(verb: str, *, runtime_dir: str | None = None, **args: object) -> Any:  # noqa: ANN401
    """One-shot: connect, run `verb`, close."""
    with connect(runtime_dir) as client:
        return client.call(verb, **args)
