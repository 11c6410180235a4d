"""Control-socket server on the event loop: accept, codec, peer credentials, dispatch.

Theory of operation:

1. One listening AF_UNIX stream socket, `control.sock` in the runtime dir, mode 0666: every
   local user may connect. Authority comes from SO_PEERCRED (man 7 unix), the credentials
   the kernel recorded when the client called connect(); a client cannot forge them.
2. Verbs are declared by whoever wires the daemon (the manager) in a dict `verb -> Verb`;
   the server owns no verb. A Verb is mutating unless declared otherwise: only uid 0 and the
   daemon's own uid may call mutating verbs; everyone else gets `access-denied`.
3. A handler receives a `Call` and returns a Response now, or None and answers later with
   `call.respond()` (job waits), possibly sending `call.send_event()` first (subscriptions);
   `call.on_close()` tells it the client went away.
4. The daemon survives every client: each defect gets an error Response (id 0 when the
   request id is unknown) or a close of that connection only. Limits: connections,
   frame size, requests in flight, unsent output, protocol errors, and an idle timeout
   (a connection with nothing in flight must complete a message, or accept some of its
   output, every `idle_timeout` seconds: this ends slow-loris clients and clients that
   never read their answers, whose reading the server pauses meanwhile). Timers exist
   only while connections do, so an idle daemon without clients never wakes up.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import struct
from collections.abc import Callable, MutableMapping

from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import PidoneError
from pidone.core.hints import Any
from pidone.core.protocol import (
    MAX_FRAME,
    Codec,
    ErrorCode,
    Event,
    Hello,
    Message,
    ProtocolError,
    Request,
    Response,
    negotiate,
)
from pidone.daemon.loop import EventLoop, TimerHandle

_PEERCRED = struct.Struct("3i")  # struct ucred { pid_t pid; uid_t uid; gid_t gid; }
_TOO_MANY_CONNECTIONS = "too-many-connections"


class AlreadyRunning(PidoneError):
    """Another daemon answers on the control socket."""


@dataclass(frozen=True, slots=True)
class Peer:
    """Credentials of the connecting process, as the kernel recorded them at connect()."""

    pid: int
    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-server and per-connection bounds that keep a hostile client from hurting others."""

    max_connections: int = 256
    max_frame: int = MAX_FRAME
    max_pending: int = 32  # requests in flight per connection
    max_output: int = 16 << 20  # unsent bytes before the connection is dropped
    max_errors: int = 16  # protocol errors before the connection is dropped
    idle_timeout: float = 30.0
    read_chunk: int = 64 << 10
    accept_batch: int = 64
    accept_backoff: float = 0.1  # pause after EMFILE/ENFILE instead of spinning


Handler = Callable[["Call"], Response | None]


@dataclass(frozen=True, slots=True)
class Verb:
    """A dispatch-table entry. `mutating=False` opens the verb to every local user."""

    handler: Handler
    mutating: bool = True


class Call:
    """One request in flight. Answer once with `respond`/`ok`/`fail`; loop thread only."""

    __slots__ = ("_close_callbacks", "_conn", "done", "peer", "request")

    def __init__(self, conn: Connection, request: Request) -> None:
        self._conn = conn
        self.request = request
        self.peer = conn.peer
        self.done = False
        self._close_callbacks: list[Callable[[], None]] = []

    @property
    def args(self) -> dict[str, Any]:
        return self.request.args

    @property
    def connected(self) -> bool:
        return not self._conn.closed

    def ok(self, result: object = None) -> None:
        self.respond(Response.success(self.request.id, result))

    def fail(self, code: str, message: str) -> None:
        self.respond(Response.failure(self.request.id, code, message))

    def respond(self, response: Response) -> None:
        """Send the final answer (its id is forced to this request's id)."""
        if self.done:
            return
        self.done = True
        if response.id != self.request.id:
            response = Response(self.request.id, response.ok, response.result, response.error)
        self._conn._finish(self, response)

    def send_event(self, data: object) -> bool:
        """Stream one Event before the final Response; False once the client is gone."""
        if self.done or self._conn.closed:
            return False
        return self._conn._send(Event(self.request.id, data))

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run `callback` if the connection closes before this call is answered."""
        self._close_callbacks.append(callback)


class Connection:
    """One accepted client: its codec, output buffer, calls in flight and idle timer."""

    def __init__(self, server: ControlServer, sock: socket.socket, peer: Peer) -> None:
        self.server = server
        self.sock = sock
        self.fd = sock.fileno()
        self.peer = peer
        self.codec = Codec(server.limits.max_frame, server.verbs)
        self.out = bytearray()
        self.pending: dict[int, Call] = {}
        self.greeted = False
        self.holding = False  # inside _process: frames wait in `out` for one send at its end
        self.closed = False
        self.closing = False  # no more input is read; close once output is flushed
        self.reading = True
        self.errors = 0
        self.idle: TimerHandle | None = None

    # --- input -------------------------------------------------------------------------

    def on_readable(self) -> None:
        if self.closed or not self.reading:
            return
        try:
            data = self.sock.recv(self.server.limits.read_chunk)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.abort()
            return
        self.codec.receive_data(data)
        if data:
            self._process()
        else:
            # EOF. A Unix socket cannot tell a half-close from a client that died, so EOF
            # ends the session: buffered requests are processed, calls still deferred are
            # dropped (their on_close runs), answers already produced are flushed.
            self._process()
            self.close_after_flush()

    def _process(self) -> None:
        # What the frames of one read produce leaves in ONE send(2) at the end: the Hello
        # answering a client's pipelined "hello + request" then goes out with (or after)
        # the request's own answer instead of before its dispatch. A send wakes the client
        # (a sync wake-up that may preempt this loop on its CPU, and one more syscall); a
        # job request dispatches synchronously up to its first spawn, which the client's
        # wake-up delayed. The bytes and their order are the same.
        if self.holding:
            self._process_frames()
            return
        writing = bool(self.out)  # earlier output waits for POLLOUT: the writer sends it all
        self.holding = True
        try:
            self._process_frames()
        finally:
            self.holding = False
            if not writing:
                self._flush_held()

    def _flush_held(self) -> None:
        if self.closed or not self.out:
            return
        frame = bytes(self.out)
        self.out.clear()
        self._send_frame(frame)
        # Held answers may have paused reading (back-pressure counts them) and then all
        # left at once: with no writer armed, nothing else would resume it.
        if (
            not self.closed
            and not self.closing
            and not self.reading
            and len(self.out) <= self.server.limits.max_output // 4
        ):
            self._start_reading()
        self._maybe_finish_closing()

    def _process_frames(self) -> None:
        limits = self.server.limits
        got = False
        try:
            while not self.closed and not self.closing:
                item = self.codec.next_message()
                if item is None:
                    return
                got = True
                if isinstance(item, ProtocolError):
                    self._protocol_error(item)
                elif not self.greeted:
                    self._greet(item)
                elif isinstance(item, Request):
                    self._dispatch(item)
                else:
                    self._protocol_error(
                        ProtocolError(ErrorCode.BAD_MESSAGE, "clients send requests only", False)
                    )
                if len(self.out) > limits.max_output // 2:
                    self._stop_reading()  # a client that does not read: back-pressure
                    return
        finally:
            # The idle timer restarts once per read, after its frames, not before each: a
            # pipelined hello + request armed two timers and cancelled them on the way to
            # the request's dispatch (which keeps none while the call is pending).
            if got:
                self._rearm_idle()

    def _protocol_error(self, err: ProtocolError) -> None:
        self.errors += 1
        self._send(Response.failure(err.request_id or 0, err.code, err.message))
        if err.fatal or self.errors >= self.server.limits.max_errors:
            self.close_after_flush()

    def _greet(self, item: object) -> None:
        if not isinstance(item, Hello):
            request_id = item.id if isinstance(item, Request) else 0
            self._send(Response.failure(request_id, ErrorCode.HELLO_REQUIRED, "send a hello first"))
            self.close_after_flush()
            return
        version = negotiate(item.version)
        if version is None:
            self._send(
                Response.failure(
                    0,
                    ErrorCode.VERSION_MISMATCH,
                    f"protocol version {item.version} is not supported",
                )
            )
            self.close_after_flush()
            return
        self.greeted = True
        self._send(Hello(version, self.server.software))

    def _dispatch(self, request: Request) -> None:
        server = self.server
        if request.id in self.pending:
            self._send(Response.failure(request.id, ErrorCode.DUPLICATE_ID, "request id in use"))
            return
        if len(self.pending) >= server.limits.max_pending:
            self._send(
                Response.failure(request.id, ErrorCode.TOO_MANY_PENDING, "too many requests")
            )
            return
        verb = server.verbs.get(request.verb)
        if verb is None:  # removed from the table after the codec accepted it
            self._send(
                Response.failure(
                    request.id, ErrorCode.UNKNOWN_VERB, f"unknown verb {request.verb!r}"
                )
            )
            return
        if verb.mutating and self.peer.uid not in (0, server.owner_uid):
            self._send(Response.failure(request.id, ErrorCode.ACCESS_DENIED, "Access denied"))
            return
        call = Call(self, request)
        self.pending[request.id] = call
        self._cancel_idle()
        try:
            response = verb.handler(call)
            if response is not None and not isinstance(response, Response):
                raise TypeError(f"handler returned {type(response).__name__}, not Response")
        except Exception as exc:
            server.loop.on_error(exc, f"control verb {request.verb!r}")
            call.fail(ErrorCode.INTERNAL, f"internal error: {type(exc).__name__}")
            return
        if response is not None:
            call.respond(response)

    def _finish(self, call: Call, response: Response) -> None:
        if self.pending.get(call.request.id) is call:
            del self.pending[call.request.id]
        if self.closed:
            return
        self._send(response)
        if not self.pending:
            self._rearm_idle()
        self._maybe_finish_closing()

    # --- output ------------------------------------------------------------------------

    def _send(self, message: Message) -> bool:
        if self.closed:
            return False
        frame = self.codec.encode(message)
        if self.holding:
            self.out += frame  # sent when _process ends (_flush_held)
            if len(self.out) > self.server.limits.max_output:
                self.abort()
                return False
            return True
        return self._send_frame(frame)

    def _send_frame(self, frame: bytes) -> bool:
        if not self.out:
            try:
                sent = self.sock.send(frame, socket.MSG_NOSIGNAL)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.abort()
                return False
            frame = frame[sent:]
        if frame:
            self.out += frame
            if len(self.out) > self.server.limits.max_output:
                self.abort()  # the client stopped reading long ago
                return False
            self.server.loop.add_writer(self.fd, self.on_writable)
        return True

    def on_writable(self) -> None:
        if self.closed:
            return
        try:
            sent = self.sock.send(self.out, socket.MSG_NOSIGNAL)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.abort()
            return
        del self.out[:sent]
        if sent and not self.closing:
            self._rearm_idle()  # a slow reader that makes progress is not idle
        if not self.out:
            self.server.loop.remove_writer(self.fd)
            self._maybe_finish_closing()
        if (
            not self.closing
            and not self.reading
            and len(self.out) <= self.server.limits.max_output // 4
        ):
            self._start_reading()

    # --- lifecycle ---------------------------------------------------------------------

    def _start_reading(self) -> None:
        self.reading = True
        self.server.loop.add_reader(self.fd, self.on_readable)
        self._process()  # frames may already sit in the codec

    def _stop_reading(self) -> None:
        if self.reading:
            self.reading = False
            self.server.loop.remove_reader(self.fd)

    def close_after_flush(self) -> None:
        self.closing = True
        self._stop_reading()
        for call in list(self.pending.values()):  # nobody will read their answers
            call.done = True
        self._drop_pending()
        self._rearm_idle()  # bounds how long an unread error may linger
        self._maybe_finish_closing()

    def _maybe_finish_closing(self) -> None:
        if self.closing and not self.out and not self.pending and not self.closed:
            self.abort()

    def _rearm_idle(self) -> None:
        self._cancel_idle()
        if not self.closed and not self.pending:
            self.idle = self.server.loop.call_later(self.server.limits.idle_timeout, self.abort)

    def _cancel_idle(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None

    def _drop_pending(self) -> None:
        calls, self.pending = list(self.pending.values()), {}
        for call in calls:
            for callback in call._close_callbacks:
                try:
                    callback()
                except Exception as exc:
                    self.server.loop.on_error(exc, "control on_close callback")

    def abort(self) -> None:
        """Close now, discarding unsent output."""
        if self.closed:
            return
        self.closed = True
        self._cancel_idle()
        loop = self.server.loop
        loop.remove_reader(self.fd)
        loop.remove_writer(self.fd)
        self.sock.close()
        self.out.clear()
        self._drop_pending()
        self.server._forget(self)


class ControlServer:
    """The listening socket and its connections; verbs come from `verbs` (a live dict)."""

    def __init__(
        self,
        loop: EventLoop,
        path: str,
        verbs: MutableMapping[str, Verb],
        *,
        limits: Limits | None = None,
        owner_uid: int | None = None,
        software: str = "pidone",
    ) -> None:
        self.loop = loop
        self.path = path
        self.verbs = verbs
        self.limits = limits or Limits()
        self.owner_uid = os.geteuid() if owner_uid is None else owner_uid
        self.software = software
        self._listener: socket.socket | None = None
        self._inode: tuple[int, int] | None = None
        self._connections: set[Connection] = set()
        self._paused: TimerHandle | None = None

    @property
    def connections(self) -> int:
        return len(self._connections)

    def start(self) -> None:
        """Bind control.sock (replacing a stale one), chmod 0666, listen, register."""
        self._clear_stale_socket()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            listener.bind(self.path)
            os.chmod(self.path, 0o666)
            listener.listen(socket.SOMAXCONN)
            listener.setblocking(False)
        except OSError as exc:
            listener.close()
            raise PidoneError(f"{self.path}: cannot listen: {exc.strerror}") from None
        st = os.stat(self.path)
        self._inode = (st.st_dev, st.st_ino)
        self._listener = listener
        self.loop.add_reader(listener.fileno(), self._on_accept)

    def _clear_stale_socket(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise PidoneError(f"{self.path}: exists and is not a socket, refusing to replace it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            probe.connect(self.path)
        except OSError as exc:
            if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
                raise PidoneError(f"{self.path}: cannot probe: {exc.strerror}") from None
        else:
            raise AlreadyRunning(f"{self.path}: another pidone daemon is listening")
        finally:
            probe.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _on_accept(self) -> None:
        assert self._listener is not None
        for _ in range(self.limits.accept_batch):
            try:
                sock, _addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._pause_accepting()  # the backlog stays readable: do not spin on it
                    return
                continue  # ECONNABORTED and friends: that client is gone
            self._adopt(sock)

    def _pause_accepting(self) -> None:
        if self._listener is None or self._paused is not None:
            return
        fd = self._listener.fileno()
        self.loop.remove_reader(fd)

        def resume() -> None:
            self._paused = None
            if self._listener is not None:
                self.loop.add_reader(fd, self._on_accept)

        self._paused = self.loop.call_later(self.limits.accept_backoff, resume)

    def _adopt(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        except OSError:
            sock.close()
            return
        peer = Peer(*_PEERCRED.unpack(raw))
        if len(self._connections) >= self.limits.max_connections:
            refusal = Codec().encode(
                Response.failure(0, _TOO_MANY_CONNECTIONS, "too many connections")
            )
            with contextlib.suppress(OSError):
                sock.send(refusal, socket.MSG_NOSIGNAL)
            sock.close()
            return
        conn = Connection(self, sock, peer)
        self._connections.add(conn)
        self.loop.add_reader(conn.fd, conn.on_readable)
        conn._rearm_idle()
        # A client writes its hello and first request right after connect(2), so they are
        # usually queued by now: read them in this turn rather than after another
        # epoll_wait(2) (a non-blocking recv that finds nothing costs one EAGAIN).
        conn.on_readable()

    def _forget(self, conn: Connection) -> None:
        self._connections.discard(conn)

    def close(self) -> None:
        """Stop listening, drop every connection, remove control.sock if it is still ours."""
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        for conn in list(self._connections):
            conn.abort()
        if self._listener is not None:
            self.loop.remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None
            with contextlib.suppress(OSError):
                st = os.stat(self.path)
                if (st.st_dev, st.st_ino) == self._inode:
                    os.unlink(self.path)
