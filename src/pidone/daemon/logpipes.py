"""Service output, /dev/log and the native journal socket -> journal records, on the loop.

Every spawned process whose StandardOutput=/StandardError= is `journal` gets its own pipe;
the read end is registered here with the facts journald would attach (_PID, _UID, _COMM,
_SYSTEMD_UNIT, SYSLOG_IDENTIFIER ...). Reads are 64 KiB at a time and each read becomes one
`append_batch` (see journal/store.py): the writer thread commits off the loop.

Backpressure, not buffering: when the writer falls more than `high_water` items behind, every
stream stops being read until it catches up; the services then block in write(2) on a full
pipe, exactly as they would with a slow journald. Daemon memory stays bounded.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.errors import PidoneError
from pidone.core.hints import BinaryIO
from pidone.core.journal import (
    StreamBatch,
    StreamSplitter,
    parse_native_datagram,
    parse_syslog_datagram,
)
from pidone.daemon.loop import EventLoop
from pidone.journal.store import JournalWriter
from pidone.linux import procfs

READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class HostIdentity:
    boot_id: str
    machine_id: str
    hostname: str


@dataclass(slots=True)
class StreamSource:
    """Who writes into one stream, and how its bytes are cut (SyslogLevelPrefix= etc.)."""

    unit: str
    identifier: str
    pid: int
    uid: int = 0
    gid: int = 0
    invocation_id: str = ""
    level_prefix: bool = True
    default_priority: int = 6
    max_level: int = 7
    facility: int = 3
    console: bool = False  # journal+console: also copy to the daemon's stdout


@dataclass(slots=True)
class _Stream:
    fd: int
    source: StreamSource
    splitter: StreamSplitter
    context: int = -1
    paused: bool = False
    extra: dict[str, bytes] = field(default_factory=dict)


def _now() -> tuple[int, int]:
    return time.time_ns() // 1000, time.monotonic_ns() // 1000


def _process_fields(pid: int) -> dict[str, bytes]:
    """_COMM, _EXE, _CMDLINE as journald reads them from /proc (best effort)."""
    fields: dict[str, bytes] = {}
    try:
        fields["_COMM"] = procfs.read_bytes(pid, "comm").rstrip(b"\n")
        fields["_CMDLINE"] = b" ".join(procfs.parse_cmdline(procfs.read_cmdline(pid)))
    except (PidoneError, OSError):  # the process may be gone; its record still counts
        return fields
    with contextlib.suppress(OSError):
        fields["_EXE"] = os.fsencode(os.readlink(f"/proc/{pid}/exe"))
    return fields


class LogCollector:
    """Owns the log inputs of the daemon and feeds the journal writer."""

    def __init__(
        self,
        loop: EventLoop,
        writer: JournalWriter,
        host: HostIdentity,
        echo: BinaryIO | None = None,
        unit_of_pid: Callable[[int], str | None] | None = None,
        high_water: int = 20_000,
    ) -> None:
        self.loop = loop
        self.writer = writer
        self.host = host
        self.echo = echo
        self.unit_of_pid = unit_of_pid or (lambda pid: None)
        self.high_water = high_water
        self._streams: dict[int, _Stream] = {}
        self._sockets: list[socket.socket] = []
        self._paused = False
        self._manager_contexts: dict[str, int] = {}
        # Records reach the writer thread once per loop iteration, after its work
        # (JournalWriter.hold_until): no thread wake-up inside a restart or a stop.
        writer.hold_until(loop.call_soon)

    # -- service streams ------------------------------------------------------------------
    def add_stream(self, fd: int, source: StreamSource) -> None:
        """Start reading `fd` (the read end of a service's stdout/stderr pipe); takes it over."""
        os.set_blocking(fd, False)
        stream = _Stream(fd, source, StreamSplitter(source.default_priority, source.level_prefix))
        self._streams[fd] = stream
        if not self._paused:
            self.loop.add_reader(fd, lambda: self._read(stream))
        else:
            stream.paused = True

    def _context_for(self, stream: _Stream) -> int:
        if stream.context < 0:
            src = stream.source
            fields = {
                "_TRANSPORT": b"stdout",
                "SYSLOG_IDENTIFIER": src.identifier.encode(),
                "SYSLOG_FACILITY": str(src.facility).encode(),
                "_PID": str(src.pid).encode(),
                "_UID": str(src.uid).encode(),
                "_GID": str(src.gid).encode(),
                "_SYSTEMD_UNIT": src.unit.encode(),
                "_SYSTEMD_INVOCATION_ID": src.invocation_id.encode(),
                "_BOOT_ID": self.host.boot_id.encode(),
                "_MACHINE_ID": self.host.machine_id.encode(),
                "_HOSTNAME": self.host.hostname.encode(),
            }
            fields.update(_process_fields(src.pid))
            stream.context = self.writer.context(
                self.host.boot_id, src.unit, src.identifier, fields
            )
        return stream.context

    def _read(self, stream: _Stream) -> None:
        try:
            data = os.read(stream.fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._store(stream, stream.splitter.feed(data))
            if self.writer.pending() > self.high_water:
                self._pause()
            return
        self._store(stream, stream.splitter.close())
        self._drop(stream)

    def drain(self, fd: int, limit: int = 16) -> None:
        """Read what stream `fd` holds right now (its process just exited), so that its last
        lines are stored before the manager's records about that exit. Bounded, and skipped
        while the writer is behind (backpressure wins over ordering)."""
        stream = self._streams.get(fd)
        if stream is None or stream.paused or self.writer.pending() > self.high_water:
            return
        for _ in range(limit):
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._store(stream, stream.splitter.close())
                self._drop(stream)
                return
            self._store(stream, stream.splitter.feed(data))

    def _store(self, stream: _Stream, batch: StreamBatch) -> None:
        if not batch.messages:
            return
        src = stream.source
        if src.max_level < 7:
            keep = [i for i, p in enumerate(batch.priorities) if p <= src.max_level]
            batch = StreamBatch(
                [batch.messages[i] for i in keep],
                [batch.priorities[i] for i in keep],
                {keep.index(i): b for i, b in batch.breaks.items() if i in keep},
            )
            if not batch.messages:
                return
        realtime, monotonic = _now()
        self.writer.append_batch(self._context_for(stream), realtime, monotonic, batch)
        if self.echo is not None or src.console:
            self._echo(src.unit, batch.messages)

    def _echo(self, unit: str, messages: list[bytes]) -> None:
        """The event-stream option: every record on the daemon's stdout, unit first."""
        out = self.echo
        if out is None:
            return
        prefix = unit.encode() + b": "
        with contextlib.suppress(OSError, ValueError):
            out.write(b"".join(prefix + m + b"\n" for m in messages))
            out.flush()

    def _drop(self, stream: _Stream) -> None:
        if not stream.paused:
            self.loop.remove_reader(stream.fd)
        self._streams.pop(stream.fd, None)
        with contextlib.suppress(OSError):
            os.close(stream.fd)

    def _pause(self) -> None:
        if self._paused:
            return
        self._paused = True
        for stream in self._streams.values():
            if not stream.paused:
                self.loop.remove_reader(stream.fd)
                stream.paused = True
        self.writer.on_drained(
            lambda: self.loop.call_soon_threadsafe(self._resume), self.high_water // 2
        )

    def _resume(self) -> None:
        if not self._paused:
            return
        self._paused = False
        for stream in list(self._streams.values()):
            if stream.paused:
                stream.paused = False
                self.loop.add_reader(stream.fd, lambda s=stream: self._read(s))  # type: ignore[misc]

    def stream_count(self) -> int:
        return len(self._streams)

    def close(self) -> None:
        """Read what is left in every pipe, then stop (daemon shutdown)."""
        for stream in list(self._streams.values()):
            while True:
                try:
                    data = os.read(stream.fd, READ_SIZE)
                except OSError:
                    data = b""
                if not data:
                    break
                self._store(stream, stream.splitter.feed(data))
            self._store(stream, stream.splitter.close())
            self._drop(stream)
        for sock in self._sockets:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets.clear()

    # -- the manager's own records ------------------------------------------------------------
    def forget(self, unit: str) -> None:
        """Drop the journal context kept for a garbage-collected unit's manager lines."""
        self._manager_contexts.pop(unit, None)

    def _own_fields(
        self, identifier: str, pid: int, comm: str, cgroup_unit: str, unit: str
    ) -> dict[str, bytes]:
        """The trusted fields of a record the manager writes itself: its own lines (as
        `systemd`, PID 1 in init.scope) or a forked child's about its failed spawn."""
        fields = {
            "_TRANSPORT": b"journal",
            "SYSLOG_IDENTIFIER": identifier.encode(),
            "SYSLOG_FACILITY": b"3",
            "_PID": str(pid).encode(),
            "_UID": str(os.getuid()).encode(),
            "_GID": str(os.getgid()).encode(),
            "_COMM": comm.encode(),
            "_SYSTEMD_UNIT": cgroup_unit.encode(),
            "UNIT": unit.encode(),  # dropped below for a message about no unit
            "_BOOT_ID": self.host.boot_id.encode(),
            "_MACHINE_ID": self.host.machine_id.encode(),
            "_HOSTNAME": self.host.hostname.encode(),
        }
        if not unit:
            del fields["UNIT"]
        return fields

    def _append(
        self, cid: int, unit: str, message: str, priority: int, extra: dict[str, str] | None
    ) -> None:
        realtime, monotonic = _now()
        encoded = {k: v.encode() for k, v in (extra or {}).items()} or None
        self.writer.append(cid, realtime, monotonic, priority, message.encode(), encoded)
        if self.echo is not None:
            # "foo.service: Main process exited, ..." already names the unit.
            self._echo(unit, [message.removeprefix(f"{unit}: ").encode()])

    def manager_record(
        self, unit: str, message: str, priority: int = 6, extra: dict[str, str] | None = None
    ) -> None:
        """`Started foo.service.` and friends, with the fields systemd attaches (spec 06 §7)."""
        cid = self._manager_contexts.get(unit)
        if cid is None:
            fields = self._own_fields("systemd", os.getpid(), "pidone", "init.scope", unit)
            cid = self.writer.context(self.host.boot_id, unit or None, "systemd", fields)
            self._manager_contexts[unit] = cid
        self._append(cid, unit, message, priority, extra)

    def spawn_failure_record(
        self, unit: str, pid: int, path: str, message: str, extra: dict[str, str]
    ) -> None:
        """A line the forked child logs before it dies of a failed spawn: systemd 252's
        exec_spawn() child logs "Failed at step X spawning /path: ..." itself, so the record
        is the child's (_PID, `(name)` as identifier and comm, after rename_process_from_path()
        in execute.c: "(" + the basename's last 8 characters + ")"), in the unit's cgroup."""
        name = "(" + os.path.basename(path)[-8:] + ")"
        fields = self._own_fields(name, pid, name, unit, unit)
        cid = self.writer.context(self.host.boot_id, unit, name, fields)
        self._append(cid, unit, message, 3, extra)

    # -- /dev/log and the native journal socket ---------------------------------------------
    # linux.dgram loads with the first such socket (--dev-log=, --journal-socket=, PID 1)
    def listen_syslog(self, path: str) -> None:
        from pidone.linux.dgram import bind_dgram

        sock = bind_dgram(path)
        self._sockets.append(sock)
        self.loop.add_reader(sock.fileno(), lambda: self._read_socket(sock, self._syslog))

    def listen_native(self, path: str) -> None:
        from pidone.linux.dgram import bind_dgram

        sock = bind_dgram(path)
        self._sockets.append(sock)
        self.loop.add_reader(sock.fileno(), lambda: self._read_socket(sock, self._native))

    def _read_socket(
        self, sock: socket.socket, handle: Callable[[bytes, int, int, int], None]
    ) -> None:
        from pidone.linux.dgram import recv_dgram

        for _ in range(256):  # bounded per wake-up so one flood cannot starve the loop
            dgram = recv_dgram(sock)
            if dgram is None:
                return
            handle(dgram.data, dgram.pid, dgram.uid, dgram.gid)

    def _sender_context(
        self, transport: bytes, pid: int, uid: int, gid: int, identifier: bytes
    ) -> tuple[int, str | None]:
        unit = self.unit_of_pid(pid) if pid else None
        fields = {
            "_TRANSPORT": transport,
            "_PID": str(pid).encode(),
            "_UID": str(uid).encode(),
            "_GID": str(gid).encode(),
            "_BOOT_ID": self.host.boot_id.encode(),
            "_MACHINE_ID": self.host.machine_id.encode(),
            "_HOSTNAME": self.host.hostname.encode(),
        }
        if unit:
            fields["_SYSTEMD_UNIT"] = unit.encode()
        if pid:
            fields.update(_process_fields(pid))
        ident = identifier.decode("utf-8", "replace") or None
        return self.writer.context(self.host.boot_id, unit, ident, fields), unit

    def _syslog(self, data: bytes, pid: int, uid: int, gid: int) -> None:
        msg = parse_syslog_datagram(data)
        if not msg.message:
            return
        cid, unit = self._sender_context(b"syslog", pid, uid, gid, msg.identifier)
        extra = {"SYSLOG_FACILITY": str(msg.facility).encode()}
        if msg.identifier:
            extra["SYSLOG_IDENTIFIER"] = msg.identifier
        if msg.pid:
            extra["SYSLOG_PID"] = msg.pid
        if msg.timestamp:
            extra["SYSLOG_TIMESTAMP"] = msg.timestamp
        realtime, monotonic = _now()
        self.writer.append(cid, realtime, monotonic, msg.priority, msg.message, extra)
        if self.echo is not None and unit:
            self._echo(unit, [msg.message])

    def _native(self, data: bytes, pid: int, uid: int, gid: int) -> None:
        fields = parse_native_datagram(data)
        if not fields or "MESSAGE" not in fields:
            return
        message = fields.pop("MESSAGE")
        raw_prio = fields.pop("PRIORITY", b"6")
        priority = int(raw_prio) if raw_prio.isdigit() and int(raw_prio) <= 7 else 6
        cid, unit = self._sender_context(
            b"journal", pid, uid, gid, fields.get("SYSLOG_IDENTIFIER", b"")
        )
        realtime, monotonic = _now()
        self.writer.append(cid, realtime, monotonic, priority, message, fields or None)
        if self.echo is not None and unit:
            self._echo(unit, [message])
