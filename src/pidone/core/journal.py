"""Journal records: how a service's byte stream becomes records, and the record model.

Stream splitting follows systemd-journald's stdout transport as observed on 252
(spec 06 §6, pitfall 17):

1. A record ends at LF, at NUL (`_LINE_BREAK=nul`), after LINE_MAX bytes without a
   terminator (`_LINE_BREAK=line-max`), or at EOF with data pending (`_LINE_BREAK=eof`).
2. Trailing whitespace (space, tab, CR, ...) is cut and leading whitespace kept; but a
   record made only of whitespace keeps it ("   " stays "   ").
3. With SyslogLevelPrefix=yes, a leading `<N>` (also `<0N>`, `<00N>`) with N in 0..7 sets
   PRIORITY and is removed; anything else (`<99>x`) stays verbatim.
4. A record that is then empty (a bare "\\n") is dropped.

Messages are bytes: invalid UTF-8, CR and tabs are stored as they came.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping

LINE_MAX = 48 * 1024  # journald's LineMax= default (49152 bytes)
_WHITESPACE = b" \t\r\n\v\f"

PRIORITY_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


# Plain classes and named tuples, no dataclasses: `pidone journal` imports this module and
# must start fast (dataclasses drags in inspect and typing).


class StreamRecord(namedtuple("StreamRecord", "message priority line_break", defaults=(None,))):
    """One record cut from a stream; `line_break` is None for a plain newline."""

    __slots__ = ()
    message: bytes
    priority: int
    line_break: str | None


def _parse_level_prefix(line: bytes) -> tuple[int | None, bytes]:
    """`<N>` / `<0N>` / `<00N>` with N in 0..7 -> (N, rest); anything else -> (None, line)."""
    if not line.startswith(b"<"):
        return None, line
    end = line.find(b">", 1, 5)
    if end < 2:
        return None, line
    digits = line[1:end]
    if not digits.isdigit() or digits.lstrip(b"0")[:-1]:
        return None, line
    level = int(digits)
    if level > 7:
        return None, line
    return level, line[end + 1 :]


def build_stream_record(
    line: bytes, line_break: str | None, default_priority: int, level_prefix: bool
) -> StreamRecord | None:
    """Apply rules 2-4 to one raw line; None when no record results."""
    stripped = line.rstrip(_WHITESPACE)
    if stripped:
        line = stripped
    priority = default_priority
    if level_prefix:
        level, rest = _parse_level_prefix(line)
        if level is not None:
            priority, line = level, rest
    if not line:
        return None
    return StreamRecord(line, priority, line_break)


class StreamBatch:
    """Records cut from one read: messages, their priorities, and the rare line breaks.

    Kept as parallel lists (not one object per record) because a service may print
    hundreds of thousands of lines a second and this is the hot path.
    """

    __slots__ = ("breaks", "messages", "priorities")

    def __init__(
        self,
        messages: list[bytes] | None = None,
        priorities: list[int] | None = None,
        breaks: dict[int, str] | None = None,
    ) -> None:
        self.messages: list[bytes] = [] if messages is None else messages
        self.priorities: list[int] = [] if priorities is None else priorities
        self.breaks: dict[int, str] = {} if breaks is None else breaks  # index -> kind

    def __len__(self) -> int:
        return len(self.messages)

    def records(self) -> list[StreamRecord]:
        return [
            StreamRecord(m, p, self.breaks.get(i))
            for i, (m, p) in enumerate(zip(self.messages, self.priorities, strict=True))
        ]


class StreamSplitter:
    """Sans-IO splitter for one stream: feed bytes, get records; `close()` at EOF."""

    __slots__ = ("_pending", "default_priority", "level_prefix", "line_max")

    def __init__(
        self, default_priority: int = 6, level_prefix: bool = True, line_max: int = LINE_MAX
    ) -> None:
        self.default_priority = default_priority
        self.level_prefix = level_prefix
        self.line_max = line_max
        self._pending = b""

    def feed(self, data: bytes) -> StreamBatch:
        batch = StreamBatch()
        buf = self._pending + data if self._pending else data
        lines = buf.split(b"\n")
        self._pending = lines.pop()
        if b"\0" in buf or (lines and max(map(len, lines)) > self.line_max):
            for line in lines:
                self._cut(batch, line, None)
        else:
            self._add_lines(batch, lines)
        if len(self._pending) >= self.line_max or b"\0" in self._pending:
            pending, self._pending = self._pending, b""
            while b"\0" in pending:
                piece, _, pending = pending.partition(b"\0")
                self._cut(batch, piece, "nul")
            while len(pending) >= self.line_max:
                self._add(batch, pending[: self.line_max], "line-max")
                pending = pending[self.line_max :]
            self._pending = pending
        return batch

    def close(self) -> StreamBatch:
        batch = StreamBatch()
        if self._pending:
            self._add(batch, self._pending, "eof")
            self._pending = b""
        return batch

    @property
    def pending_bytes(self) -> int:
        return len(self._pending)

    def _add_lines(self, batch: StreamBatch, lines: list[bytes]) -> None:
        """The fast path: newline-terminated lines, none too long, no NUL."""
        messages = batch.messages
        priorities = batch.priorities
        prio = self.default_priority
        prefix = self.level_prefix
        ws = _WHITESPACE
        for line in lines:
            line = line.rstrip(ws) or line
            if prefix and line[:1] == b"<":
                level, rest = _parse_level_prefix(line)
                if level is not None:
                    if rest:
                        messages.append(rest)
                        priorities.append(level)
                    continue
            if line:
                messages.append(line)
                priorities.append(prio)

    def _cut(self, batch: StreamBatch, line: bytes, last_break: str | None) -> None:
        """One newline-delimited line that may hold NULs or exceed LINE_MAX."""
        pieces = line.split(b"\0")
        for index, piece in enumerate(pieces):
            brk = "nul" if index < len(pieces) - 1 else last_break
            while len(piece) > self.line_max:
                self._add(batch, piece[: self.line_max], "line-max")
                piece = piece[self.line_max :]
            self._add(batch, piece, brk)

    def _add(self, batch: StreamBatch, line: bytes, brk: str | None) -> None:
        record = build_stream_record(line, brk, self.default_priority, self.level_prefix)
        if record is not None:
            if brk is not None:
                batch.breaks[len(batch.messages)] = brk
            batch.messages.append(record.message)
            batch.priorities.append(record.priority)


class JournalEntry:
    """A stored record: the address fields plus every other field as bytes.

    `fields` keeps journald's names (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, _PID,
    _SYSTEMD_UNIT, UNIT, ...). Values are bytes because messages may be any bytes.
    """

    __slots__ = ("boot_id", "fields", "monotonic_usec", "realtime_usec", "seqnum")

    def __init__(
        self,
        seqnum: int,
        realtime_usec: int,
        monotonic_usec: int,
        boot_id: str,
        fields: Mapping[str, bytes],
    ) -> None:
        self.seqnum = seqnum
        self.realtime_usec = realtime_usec
        self.monotonic_usec = monotonic_usec
        self.boot_id = boot_id
        self.fields = fields

    def __repr__(self) -> str:
        return f"JournalEntry({self.seqnum}, {self.message!r})"

    @property
    def message(self) -> bytes:
        return self.fields.get("MESSAGE", b"")

    @property
    def priority(self) -> int:
        raw = self.fields.get("PRIORITY", b"6")
        return int(raw) if raw.isdigit() and len(raw) == 1 else 6

    def text(self, name: str, default: str = "") -> str:
        value = self.fields.get(name)
        return default if value is None else value.decode("utf-8", "replace")


def format_cursor(seqnum_id: str, entry: JournalEntry) -> str:
    """A journalctl-shaped cursor: `s=<seqnum id>;i=<seq hex>;b=<boot>;m=<mono hex>;t=<rt hex>`."""
    return (
        f"s={seqnum_id};i={entry.seqnum:x};b={entry.boot_id};"
        f"m={entry.monotonic_usec:x};t={entry.realtime_usec:x};x=0"
    )


def parse_cursor(cursor: str) -> int | None:
    """The sequence number a cursor points at, or None when it is not one of ours."""
    for part in cursor.split(";"):
        key, _, value = part.partition("=")
        if key == "i":
            try:
                return int(value, 16)
            except ValueError:
                return None
    return None


def parse_priority(text: str) -> tuple[int, int]:
    """journalctl -p: "err" or "3" -> (0, 3); "4..6" / "warning..info" -> (4, 6)."""

    def one(word: str) -> int:
        word = word.strip().lower()
        if word.isdigit() and int(word) <= 7:
            return int(word)
        if word in PRIORITY_NAMES:
            return PRIORITY_NAMES.index(word)
        raise ValueError(f"Unknown log level {word}")

    if ".." in text:
        low, _, high = text.partition("..")
        lo = one(low) if low else 0
        hi = one(high) if high else 7
        return (min(lo, hi), max(lo, hi))
    return (0, one(text))


# -- other transports ------------------------------------------------------------------------

_SYSLOG_MONTHS = (
    b"Jan",
    b"Feb",
    b"Mar",
    b"Apr",
    b"May",
    b"Jun",
    b"Jul",
    b"Aug",
    b"Sep",
    b"Oct",
    b"Nov",
    b"Dec",
)


class SyslogMessage(
    namedtuple(
        "SyslogMessage", "priority facility identifier pid message timestamp", defaults=(b"",)
    )
):
    """A datagram from /dev/log, split as journald's syslog transport splits it."""

    __slots__ = ()
    priority: int
    facility: int
    identifier: bytes
    pid: bytes
    message: bytes
    timestamp: bytes


def parse_syslog_datagram(data: bytes) -> SyslogMessage:
    """RFC 3164-style `<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE` (each part optional).

    As journald: the priority defaults to user.notice (13) when absent, a BSD timestamp is
    skipped, IDENT ends at `[` or `:`, and trailing newlines/whitespace are cut.
    """
    data = data.rstrip(b"\0").rstrip(_WHITESPACE)
    pri = 13
    if data.startswith(b"<"):
        end = data.find(b">", 1, 5)
        if end > 1 and data[1:end].isdigit():
            pri = int(data[1:end])
            data = data[end + 1 :]
    timestamp = b""
    if (
        len(data) >= 16
        and data[:3] in _SYSLOG_MONTHS
        and data[3:4] == b" "
        and data[9:10] == b":"
        and data[12:13] == b":"
        and data[15:16] == b" "
    ):
        timestamp, data = data[:15], data[16:]
    identifier = pid = b""
    colon = data.find(b": ")
    if colon < 0 and data.endswith(b":"):
        colon = len(data) - 1
    if colon > 0 and b" " not in data[:colon]:
        tag = data[:colon]
        data = data[colon + 2 :]
        bracket = tag.find(b"[")
        if bracket > 0 and tag.endswith(b"]"):
            identifier, pid = tag[:bracket], tag[bracket + 1 : -1]
        else:
            identifier = tag
    return SyslogMessage(pri & 7, pri >> 3, identifier, pid, data, timestamp)


def parse_native_datagram(data: bytes) -> dict[str, bytes] | None:
    """The native journal protocol (what sd_journal_send and systemd-cat speak).

    Each field is `NAME=value\\n`, or `NAME\\n` + 64-bit little-endian length + value +
    `\\n` for values holding newlines or binary data. Names are upper-case letters, digits
    and `_`, not starting with `_` (trusted fields are the receiver's). A malformed
    datagram yields None; repeated fields keep the last value.
    """
    fields: dict[str, bytes] = {}
    pos = 0
    size = len(data)
    while pos < size:
        nl = data.find(b"\n", pos)
        if nl < 0:
            return None
        line = data[pos:nl]
        eq = line.find(b"=")
        if eq >= 0:
            name, value = line[:eq], line[eq + 1 :]
            pos = nl + 1
        else:
            name = line
            if nl + 9 > size:
                return None
            length = int.from_bytes(data[nl + 1 : nl + 9], "little")
            start = nl + 9
            if start + length + 1 > size or data[start + length : start + length + 1] != b"\n":
                return None
            value = data[start : start + length]
            pos = start + length + 1
        if not _valid_field_name(name):
            continue
        fields[name.decode("ascii")] = value
    return fields


def _valid_field_name(name: bytes) -> bool:
    if not name or len(name) > 64 or name[:1] == b"_" or name[:1].isdigit():
        return False
    return all(c == 0x5F or 0x41 <= c <= 0x5A or 0x30 <= c <= 0x39 for c in name)
