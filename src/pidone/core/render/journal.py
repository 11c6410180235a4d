"""journalctl output modes (spec 07 §4): entries in, bytes out. Never writes.

Rules that matter, from systemd 252's src/shared/logs-show.c:
- `short*` modes print `TIME HOST IDENT[PID]: MESSAGE`; IDENT is SYSLOG_IDENTIFIER, else
  _COMM, else "unknown"; [PID] is _PID, else SYSLOG_PID, else omitted. The time source is
  _SOURCE_REALTIME_TIMESTAMP when valid, else the entry's receive time.
- A message that is not printable UTF-8 (invalid UTF-8, or C0/C1 control characters other
  than TAB and LF) prints as `[N.NK blob data]` unless --all.
- Continuation lines of a multi-line message are indented to the message column.
- json: one compact object per line, every value a string; values that are not printable
  UTF-8 become arrays of byte numbers; values of 4096 bytes or more become null unless
  --all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pidone.core.journal import JournalEntry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime


class _TimeParts:  # the struct_time attributes used here (for the type checker only)
    tm_year: int
    tm_mon: int
    tm_mday: int
    tm_hour: int
    tm_min: int
    tm_sec: int
    tm_wday: int
    tm_zone: str
    tm_gmtoff: int


# A broken-down time as time.localtime()/time.gmtime() give it. The CLI passes those
# functions in: the core reads no clock and no zone file, and `pidone journal` does not pay
# for importing datetime.
LocalTime = Callable[[float], _TimeParts]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

JSON_THRESHOLD = 4096
SHORT_MODES = frozenset(
    {
        "short",
        "short-iso",
        "short-iso-precise",
        "short-precise",
        "short-unix",
        "short-monotonic",
        "short-full",
        "with-unit",
    }
)
ALL_MODES = SHORT_MODES | {
    "cat",
    "json",
    "json-pretty",
    "json-seq",
    "json-sse",
    "export",
    "verbose",
}


def is_printable(data: bytes) -> bool:
    """utf8_is_printable(): valid UTF-8 with no control characters except TAB and LF."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any((ord(ch) < 0x20 and ch not in "\t\n") or 0x7F <= ord(ch) <= 0x9F for ch in text)


def format_bytes(size: int) -> str:
    """systemd's format_bytes(): 1023 -> "1023B", 1536 -> "1.5K"."""
    if size < 1024:
        return f"{size}B"
    for unit in "KMGTPE":
        size_f = size / 1024
        if size_f < 1024 or unit == "E":
            return f"{size_f:.1f}{unit}"
        size = int(size_f)
    return f"{size}B"  # pragma: no cover - loop always returns


def _timestamp_usec(entry: JournalEntry) -> int:
    raw = entry.fields.get("_SOURCE_REALTIME_TIMESTAMP")
    if raw and raw.isdigit():
        return int(raw)
    return entry.realtime_usec


def _local(usec: int, utc: bool) -> datetime:
    """Fallback for callers that pass no `localtime` (datetime imported only then)."""
    from datetime import UTC, datetime, timedelta

    stamp = datetime.fromtimestamp(usec // 1_000_000, tz=UTC) + timedelta(
        microseconds=usec % 1_000_000
    )
    return stamp if utc else stamp.astimezone()


def _parts(usec: int, utc: bool, localtime: LocalTime | None) -> _TimeParts:
    if localtime is None:
        return _DatetimeParts(_local(usec, utc))
    return localtime(usec // 1_000_000)


class _DatetimeParts(_TimeParts):
    def __init__(self, moment: datetime) -> None:
        self.tm_year, self.tm_mon, self.tm_mday = moment.year, moment.month, moment.day
        self.tm_hour, self.tm_min, self.tm_sec = moment.hour, moment.minute, moment.second
        self.tm_wday = moment.weekday()
        self.tm_zone = moment.strftime("%Z")
        offset = moment.utcoffset()
        self.tm_gmtoff = int(offset.total_seconds()) if offset is not None else 0


def _offset(t: _TimeParts) -> str:
    minutes = t.tm_gmtoff // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _time_prefix(
    mode: str, entry: JournalEntry, utc: bool, localtime: LocalTime | None = None
) -> str:
    usec = _timestamp_usec(entry)
    if mode == "short-monotonic":
        mono = entry.monotonic_usec
        return f"[{mono // 1_000_000:5d}.{mono % 1_000_000:06d}]"
    if mode == "short-unix":
        return f"{usec // 1_000_000}.{usec % 1_000_000:06d}"
    t = _parts(usec, utc, localtime)
    micros = f".{usec % 1_000_000:06d}"
    hms = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    ymd = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
    if mode == "short-iso":
        return f"{ymd}T{hms}{_offset(t)}"
    if mode == "short-iso-precise":
        return f"{ymd}T{hms}{micros}{_offset(t)}"
    if mode == "short-precise":
        return f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} {hms}{micros}"
    if mode in ("short-full", "with-unit"):
        return f"{_DAYS[t.tm_wday]} {ymd} {hms} {t.tm_zone}"
    return f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} {hms}"


def format_short(
    entry: JournalEntry,
    mode: str = "short",
    *,
    utc: bool = False,
    show_all: bool = False,
    hostname: bool = True,
    localtime: LocalTime | None = None,
) -> bytes:
    """One entry in a short-family mode, with its trailing newline."""
    fields = entry.fields
    head = _time_prefix(mode, entry, utc, localtime)
    if hostname and "_HOSTNAME" in fields:
        head += " " + entry.text("_HOSTNAME")
    if mode == "with-unit":
        ident = (
            entry.text("_SYSTEMD_UNIT")
            or entry.text("UNIT")
            or entry.text("SYSLOG_IDENTIFIER", "unknown")
        )
    else:
        ident = entry.text("SYSLOG_IDENTIFIER") or entry.text("_COMM") or "unknown"
    pid = entry.text("_PID") or entry.text("SYSLOG_PID")
    head += f" {ident}[{pid}]: " if pid else f" {ident}: "
    header = head.encode("utf-8", "replace")
    message = entry.message
    if not show_all and not is_printable(message):
        return header + f"[{format_bytes(len(message))} blob data]\n".encode()
    lines = message.split(b"\n")
    if len(lines) > 1 and lines[-1] == b"":
        lines.pop()
    indent = b" " * len(head)
    return header + lines[0] + b"\n" + b"".join(indent + line + b"\n" for line in lines[1:])


def _json_value(value: bytes, show_all: bool) -> object:
    if not show_all and len(value) >= JSON_THRESHOLD:
        return None
    if is_printable(value):
        return value.decode("utf-8")
    return list(value)


def _address_fields(entry: JournalEntry, cursor: str) -> list[tuple[str, object]]:
    return [
        ("__CURSOR", cursor),
        ("__REALTIME_TIMESTAMP", str(entry.realtime_usec)),
        ("__MONOTONIC_TIMESTAMP", str(entry.monotonic_usec)),
        ("_BOOT_ID", entry.boot_id),
    ]


def _selected(entry: JournalEntry, output_fields: Sequence[str] | None) -> list[str]:
    names = [n for n in entry.fields if n != "_BOOT_ID"]
    if output_fields:
        names = [n for n in names if n in output_fields]
    return names


def format_json(
    entry: JournalEntry,
    cursor: str,
    *,
    pretty: bool = False,
    show_all: bool = False,
    output_fields: Sequence[str] | None = None,
) -> bytes:
    import json

    items = _address_fields(entry, cursor)
    items += [(n, _json_value(entry.fields[n], show_all)) for n in _selected(entry, output_fields)]
    if not pretty:
        return json.dumps(dict(items), separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    body = ",\n".join(f'\t"{k}" : {json.dumps(v, ensure_ascii=False)}' for k, v in items)
    return ("{\n" + body + "\n}\n").encode()


def format_export(entry: JournalEntry, cursor: str) -> bytes:
    """The binary-safe export format (systemd's JOURNAL_EXPORT_FORMATS)."""
    out = bytearray()
    for key, value in _address_fields(entry, cursor):
        out += f"{key}={value}\n".encode()
    for name in _selected(entry, None):
        value = entry.fields[name]
        if b"\n" in value or not is_printable(value):
            out += name.encode() + b"\n" + len(value).to_bytes(8, "little") + value + b"\n"
        else:
            out += name.encode() + b"=" + value + b"\n"
    return bytes(out) + b"\n"


def format_verbose(
    entry: JournalEntry,
    cursor: str,
    *,
    utc: bool = False,
    show_all: bool = False,
    localtime: LocalTime | None = None,
) -> bytes:
    usec = _timestamp_usec(entry)
    t = _parts(usec, utc, localtime)
    head = (
        f"{_DAYS[t.tm_wday]} {t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{usec % 1_000_000:06d} "
        f"{t.tm_zone} [{cursor}]\n"
    )
    out = bytearray(head.encode())
    for name in _selected(entry, None):
        value = entry.fields[name]
        if not show_all and not is_printable(value):
            out += f"    {name}=[{format_bytes(len(value))} blob data]\n".encode()
        else:
            out += b"    " + name.encode() + b"=" + value + b"\n"
    return bytes(out)


def format_entries(
    entries: Iterable[tuple[JournalEntry, str]],
    mode: str,
    *,
    utc: bool = False,
    show_all: bool = False,
    hostname: bool = True,
    output_fields: Sequence[str] | None = None,
    localtime: LocalTime | None = None,
) -> Iterable[bytes]:
    """Render (entry, cursor) pairs in `mode`, one chunk per entry."""
    for entry, cursor in entries:
        if mode in SHORT_MODES:
            yield format_short(
                entry, mode, utc=utc, show_all=show_all, hostname=hostname, localtime=localtime
            )
        elif mode == "cat":
            if output_fields:
                for name in output_fields:
                    if name in entry.fields:
                        yield entry.fields[name] + b"\n"
            else:
                yield entry.message + b"\n"
        elif mode in ("json", "json-seq", "json-sse"):
            line = format_json(entry, cursor, show_all=show_all, output_fields=output_fields)
            if mode == "json-seq":
                yield b"\x1e" + line
            elif mode == "json-sse":
                yield b"data: " + line + b"\n"
            else:
                yield line
        elif mode == "json-pretty":
            yield format_json(
                entry, cursor, pretty=True, show_all=show_all, output_fields=output_fields
            )
        elif mode == "export":
            yield format_export(entry, cursor)
        elif mode == "verbose":
            yield format_verbose(entry, cursor, utc=utc, show_all=show_all, localtime=localtime)
        else:
            raise ValueError(f"Unknown output mode {mode}")
