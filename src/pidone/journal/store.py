"""The journal store: SQLite (stdlib sqlite3) in WAL mode, batched writes, indexed reads.

Layout. Most fields of a stdout record are the same for every line of one stream (_PID,
_UID, _COMM, _EXE, _CMDLINE, _SYSTEMD_UNIT, SYSLOG_IDENTIFIER, _STREAM_ID, _BOOT_ID ...).
They are stored once in `contexts`. The records that one read() of a stream produced share
their receive time too, so they are stored as one `blocks` row: a run of consecutive
sequence numbers, one timestamp pair, a byte of priority per record and the messages
joined by newlines (a stdout record never contains a newline). A service printing flat out
costs one INSERT per read, not per line. Records from other transports (native protocol,
syslog, the manager) are blocks of one with their own fields in `extra`.

`unit` on a context is what `journalctl -u` matches: `_SYSTEMD_UNIT` for a service's own
records, `UNIT` for the manager's records about it (journalctl matches `_SYSTEMD_UNIT=U` OR
`_PID=1 AND UNIT=U`, spec 07 §4.3).

Crash safety: WAL with synchronous=NORMAL survives a kill -9 of the daemon (only an OS crash
can lose the last transactions); every committed batch is readable afterwards.
"""

from __future__ import annotations

import contextlib
import importlib
import marshal
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence

from pidone.core.hints import Any
from pidone.core.journal import JournalEntry, StreamBatch

TYPE_CHECKING = False
if TYPE_CHECKING:
    import queue
    import re
    import threading

SCHEMA_VERSION = 2  # 2: fields stored with marshal
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contexts (
    id INTEGER PRIMARY KEY,
    boot_id TEXT NOT NULL,
    unit TEXT,
    identifier TEXT,
    fields BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    seq INTEGER PRIMARY KEY,          -- sequence number of the first record
    count INTEGER NOT NULL,
    context INTEGER NOT NULL,
    realtime INTEGER NOT NULL,
    monotonic INTEGER NOT NULL,
    priomask INTEGER NOT NULL,        -- bit N set: some record has PRIORITY=N
    priorities BLOB NOT NULL,         -- one byte per record
    messages BLOB NOT NULL,           -- records joined by newlines (count 1: any bytes)
    extra BLOB                        -- count == 1: extra fields; else {index: _LINE_BREAK}
);
CREATE INDEX IF NOT EXISTS blocks_context ON blocks(context, seq);
CREATE INDEX IF NOT EXISTS blocks_realtime ON blocks(realtime);
CREATE INDEX IF NOT EXISTS contexts_unit ON contexts(unit);
CREATE INDEX IF NOT EXISTS contexts_identifier ON contexts(identifier);
"""


# Field sets and line-break maps are stored with marshal (format version 4): binary-safe,
# built into the interpreter (no import cost for `pidone journal`), and fast. The schema
# version in `meta` guards the format.
_MARSHAL_VERSION = 4


def encode_fields(fields: Mapping[str, bytes]) -> bytes:
    """A field set (names to byte values) as stored in `contexts` and `blocks.extra`."""
    return marshal.dumps(dict(fields), _MARSHAL_VERSION)


def decode_fields(blob: bytes | None) -> dict[str, bytes]:
    if not blob:
        return {}
    value = marshal.loads(blob)
    return value if isinstance(value, dict) else {}


def _connect(path: str, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # Must precede table creation to take effect; lets the size cap give pages back.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Query:
    """A journalctl selection; every member narrows it (AND), lists OR within themselves.

    A plain class: `pidone journal` imports this module, and dataclasses cost start-up.
    """

    __slots__ = (
        "after_seq",
        "boot_id",
        "from_seq",
        "grep",
        "identifiers",
        "last",
        "matches",
        "priority",
        "reverse",
        "since_usec",
        "units",
        "until_usec",
    )

    def __init__(
        self,
        units: Sequence[str] = (),  # globs, journalctl -u
        identifiers: Sequence[str] = (),  # -t
        priority: tuple[int, int] = (0, 7),  # -p
        since_usec: int | None = None,
        until_usec: int | None = None,
        boot_id: str | None = None,
        after_seq: int | None = None,  # --after-cursor
        from_seq: int | None = None,  # --cursor
        last: int | None = None,  # -n: the last N of the selection
        reverse: bool = False,
        grep: re.Pattern[bytes] | None = None,  # -g, on MESSAGE
        matches: Sequence[tuple[str, bytes]] = (),  # FIELD=VALUE (journalctl(1) MATCHES)
    ) -> None:
        self.units = units
        self.identifiers = identifiers
        self.priority = priority
        self.since_usec = since_usec
        self.until_usec = until_usec
        self.boot_id = boot_id
        self.after_seq = after_seq
        self.from_seq = from_seq
        self.last = last
        self.reverse = reverse
        self.grep = grep
        self.matches = matches

    def replace(self, **changes: object) -> Query:
        """A copy with some members changed (what dataclasses.replace did)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return Query(**values)


def _glob_to_sql(pattern: str) -> str:
    """journalctl unit globs (*, ?, [..]) map to SQLite GLOB, which is case-sensitive."""
    return pattern


def _block_prefilter(grep: re.Pattern[bytes] | None) -> Callable[[bytes], bool] | None:
    """A test to run once over a block's joined messages before testing each record.

    With MULTILINE, ^ and $ match at the record boundaries inside the block, so a block
    whose text does not match holds no matching record. Patterns whose meaning changes
    on joined text (\\A, \\Z, look-behind) are not prefiltered. A case-insensitive pattern
    without upper-case letters (journalctl's smart case) runs case-sensitively over the
    lower-cased block: the same matches for bytes (ASCII folding), several times faster.
    """
    if grep is None or any(t in grep.pattern for t in (b"\\A", b"\\Z", b"(?<")):
        return None
    import re

    if grep.flags & re.IGNORECASE and grep.pattern == grep.pattern.lower():
        folded = re.compile(grep.pattern, (grep.flags & ~re.IGNORECASE) | re.MULTILINE)
        return lambda blob: folded.search(blob.lower()) is not None
    joined = re.compile(grep.pattern, grep.flags | re.MULTILINE)
    return lambda blob: joined.search(blob) is not None


class JournalReader:
    """Read-only access, safe while a writer appends (WAL readers never block it)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = _connect(path, readonly=True)
        self._contexts: dict[int, tuple[str, dict[str, bytes]]] = {}
        self._prefilter: Callable[[bytes], bool] | None = None
        self._matches: dict[str, set[bytes]] = {}

    def close(self) -> None:
        self._conn.close()

    def _context(self, cid: int) -> tuple[str, dict[str, bytes]]:
        hit = self._contexts.get(cid)
        if hit is None:
            row = self._conn.execute(
                "SELECT boot_id, fields FROM contexts WHERE id=?", (cid,)
            ).fetchone()
            hit = (row[0], decode_fields(row[1])) if row else ("", {})
            self._contexts[cid] = hit
        return hit

    def _where(self, q: Query) -> tuple[str, list[object]]:
        clauses: list[str] = []
        args: list[object] = []
        ctx: list[str] = []
        if q.units:
            ctx.append("(" + " OR ".join("unit GLOB ?" for _ in q.units) + ")")
            args += [_glob_to_sql(u) for u in q.units]
        if q.identifiers:
            ctx.append("identifier IN (" + ",".join("?" for _ in q.identifiers) + ")")
            args += list(q.identifiers)
        if q.boot_id:
            ctx.append("boot_id = ?")
            args.append(q.boot_id)
        if ctx:
            clauses.append("context IN (SELECT id FROM contexts WHERE " + " AND ".join(ctx) + ")")
        if q.priority != (0, 7):
            lo, hi = q.priority
            clauses.append("(priomask & ?) != 0")
            args.append(sum(1 << p for p in range(lo, hi + 1)))
        if q.since_usec is not None:
            clauses.append("realtime >= ?")
            args.append(q.since_usec)
        if q.until_usec is not None:
            clauses.append("realtime <= ?")
            args.append(q.until_usec)
        if q.after_seq is not None:
            clauses.append("seq + count > ?")
            args.append(q.after_seq + 1)
        if q.from_seq is not None:
            clauses.append("seq + count > ?")
            args.append(q.from_seq)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def entries(self, q: Query) -> Iterator[JournalEntry]:
        """Matching entries, oldest first (newest first with `reverse`); `last` keeps the
        newest N of the selection."""
        where, args = self._where(q)
        newest_first = q.reverse or q.last is not None
        # Two phases: pick block numbers from the indexes alone (ordering them may need a
        # sort, which must not drag the message blobs along), then read each block.
        order = "DESC" if newest_first else "ASC"
        picks = self._conn.execute(f"SELECT seq FROM blocks{where} ORDER BY seq {order}", args)
        rows = (self._block(seq) for (seq,) in picks)
        self._prefilter = _block_prefilter(q.grep)
        # journalctl(1): matches of one field are ORed, matches of different fields ANDed
        self._matches = {}
        for name, value in q.matches:
            self._matches.setdefault(name, set()).add(value)
        if q.last is None:
            for row in rows:
                yield from self._expand(row, q, newest_first)
            return
        picked: list[JournalEntry] = []
        if q.last > 0:
            for row in rows:
                for entry in self._expand(row, q, True):
                    picked.append(entry)
                    if len(picked) >= q.last:
                        break
                else:
                    continue
                break
        if not q.reverse:
            picked.reverse()
        yield from picked

    def _block(self, seq: int) -> tuple[object, ...]:
        row: tuple[object, ...] = self._conn.execute(
            "SELECT seq, count, context, realtime, monotonic, priorities, messages, extra"
            " FROM blocks WHERE seq=?",
            (seq,),
        ).fetchone()
        return row

    def _expand(
        self, row: tuple[object, ...], q: Query, newest_first: bool
    ) -> Iterator[JournalEntry]:
        seq, count, cid, rt, mono, prios, blob, extra = row
        assert isinstance(seq, int)
        assert isinstance(count, int)
        assert isinstance(cid, int)
        assert isinstance(rt, int)
        assert isinstance(mono, int)
        assert isinstance(prios, bytes)
        assert isinstance(blob, bytes)
        boot_id, base = self._context(cid)
        breaks: dict[str, str] = {}
        extra_fields: dict[str, bytes] = {}
        if count == 1:
            messages = [blob]
            if isinstance(extra, bytes):
                extra_fields = decode_fields(extra)
        else:
            if self._prefilter is not None and not self._prefilter(blob):
                return
            messages = blob.split(b"\n")
            if isinstance(extra, bytes):
                breaks = marshal.loads(extra)
        lo, hi = q.priority
        indices = range(count - 1, -1, -1) if newest_first else range(count)
        for i in indices:
            number = seq + i
            if q.after_seq is not None and number <= q.after_seq:
                continue
            if q.from_seq is not None and number < q.from_seq:
                continue
            prio = prios[i]
            if prio < lo or prio > hi:
                continue
            message = messages[i]
            if q.grep is not None and q.grep.search(message) is None:
                continue
            fields = dict(base)
            fields["MESSAGE"] = message
            fields["PRIORITY"] = b"%d" % prio
            if extra_fields:
                fields.update(extra_fields)
            brk = breaks.get(str(i))
            if brk:
                fields["_LINE_BREAK"] = brk.encode()
            if self._matches and not all(
                fields.get(name) in values for name, values in self._matches.items()
            ):
                continue
            yield JournalEntry(number, rt, mono, boot_id, fields)

    def last_seq(self) -> int:
        row = self._conn.execute("SELECT max(seq + count - 1) FROM blocks").fetchone()
        return int(row[0] or 0)

    def seqnum_id(self) -> str:
        row = self._conn.execute("SELECT value FROM meta WHERE key='seqnum_id'").fetchone()
        return str(row[0]) if row else ""

    def disk_usage(self) -> int:
        return _file_size(self.path, ("", "-wal", "-shm"))


_STOP = object()
_CHECKPOINT = object()
# After the first record of a burst the writer waits this long before it takes everything
# queued, so a burst (a stop of 100 units logs ~300 records within ~100 ms) becomes a few
# transactions instead of one per record or two: each costs ~15 pwrite(2)s and fcntl(2)
# locks of WAL frames and a round of GIL hand-offs with the loop thread. Not a periodic
# wake-up: an idle writer sleeps in the queue's get(). flush() and close() cut it short.
COALESCE_SECONDS = 0.004
# JournalWriter.context(): how many context keys it remembers (16-byte digests, ~0.1 KiB
# each with the dict's slot and the id).
CONTEXT_CACHE_MAX = 4096


def _digest16(data: bytes) -> bytes:
    """The first 128 bits of SHA-256, from CPython's built-in _sha256 (`import hashlib`
    maps OpenSSL's libcrypto, ~3.8 MiB of RSS: daemon/main.py)."""
    global _sha256
    if _sha256 is None:
        try:
            _sha256 = importlib.import_module("_sha256").sha256
        except ImportError:  # an interpreter built without it: OpenSSL's
            from hashlib import sha256

            _sha256 = sha256
    return bytes(_sha256(data).digest()[:16])


_sha256: Callable[[bytes], Any] | None = None


class JournalWriter:
    """Appends records from the daemon's loop; a writer thread commits them in batches.

    `append()` never touches the disk: it queues. The thread drains the queue, one
    transaction per batch, so a slow disk never stalls supervision. `pending()` tells the
    caller how far behind the disk is, so it can stop reading a service's pipe
    (backpressure) instead of buffering without bound.
    """

    def __init__(self, path: str, seqnum_id: str, max_use_bytes: int = 0) -> None:
        self.path = path
        self.max_use_bytes = max_use_bytes
        self._conn = _connect(path, readonly=False)
        row = self._conn.execute("SELECT value FROM meta WHERE key='seqnum_id'").fetchone()
        if row is None:
            self._conn.execute(
                "INSERT INTO meta(key, value) VALUES ('seqnum_id', ?), ('schema', ?)",
                (seqnum_id, str(SCHEMA_VERSION)),
            )
        self._next_seq = int(
            self._conn.execute("SELECT coalesce(max(seq + count), 1) FROM blocks").fetchone()[0]
        )
        self._next_context = (
            int(self._conn.execute("SELECT coalesce(max(id), 0) FROM contexts").fetchone()[0]) + 1
        )
        self._contexts: dict[bytes, int] = {}
        import queue
        import threading

        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._urgent = threading.Event()  # set by flush()/close(): commit without waiting
        self._closing = False
        # hold_until(): records held in the loop thread until the end of its iteration.
        self._schedule: Callable[[Callable[[], None]], None] | None = None
        self._held: list[object] = []
        self._handed = 0  # items handed to the thread (written by the loop thread only)
        self._done = 0  # items the thread has committed (written by the thread only)
        self._drain_watch: tuple[Callable[[], None], int] | None = None
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    # -- called from the daemon's loop thread -------------------------------------------
    def context(
        self, boot_id: str, unit: str | None, identifier: str | None, fields: Mapping[str, bytes]
    ) -> int:
        """The id of a field set shared by many records (one per stream or per sender)."""
        blob = encode_fields(fields)
        # The key is a digest of the context (16 bytes instead of its ~0.5 KiB of fields:
        # the cache outlives every stream and unit it saw); 128 bits of SHA-256 do not
        # collide among the contexts of a machine's lifetime.
        key = _digest16(boot_id.encode() + b"\0" + (unit or "").encode() + b"\0" + blob)
        cid = self._contexts.get(key)
        if cid is None:
            cid = self._next_context
            self._next_context += 1
            contexts = self._contexts
            if len(contexts) >= CONTEXT_CACHE_MAX:
                # Most contexts are one process's stream (its _PID, invocation id): never
                # asked for again. Forget the older half; one asked for again gets a new
                # row with the same fields, which readers cannot tell from the old one.
                for old in list(contexts)[: CONTEXT_CACHE_MAX // 2]:
                    del contexts[old]
            contexts[key] = cid
            self._put(("ctx", cid, boot_id, unit, identifier, blob))
        return cid

    def append(
        self,
        context: int,
        realtime: int,
        monotonic: int,
        priority: int,
        message: bytes,
        extra: Mapping[str, bytes] | None = None,
    ) -> int:
        """One record with its own fields (native protocol, syslog, the manager)."""
        seq = self._next_seq
        self._next_seq += 1
        self._put(
            (
                seq,
                1,
                context,
                realtime,
                monotonic,
                1 << priority,
                bytes((priority,)),
                message,
                encode_fields(extra) if extra else None,
            )
        )
        return seq

    def append_batch(self, context: int, realtime: int, monotonic: int, batch: StreamBatch) -> int:
        """The records of one read of a stream; returns the first sequence number."""
        count = len(batch.messages)
        seq = self._next_seq
        if count == 0:
            return seq
        if count == 1 and not batch.breaks:
            return self.append(context, realtime, monotonic, batch.priorities[0], batch.messages[0])
        self._next_seq += count
        mask = 0
        for prio in set(batch.priorities):
            mask |= 1 << prio
        breaks = (
            marshal.dumps({str(k): v for k, v in batch.breaks.items()}, _MARSHAL_VERSION)
            if batch.breaks
            else None
        )
        if count == 1 and breaks:
            breaks = encode_fields({"_LINE_BREAK": batch.breaks[0].encode()})
        self._put(
            (
                seq,
                count,
                context,
                realtime,
                monotonic,
                mask,
                bytes(batch.priorities),
                b"\n".join(batch.messages),
                breaks,
            )
        )
        return seq

    def on_drained(self, callback: Callable[[], None], low_water: int) -> None:
        """Call `callback` once, from the writer thread, when at most `low_water` items are
        left queued (the loop uses it to resume reading paused pipes)."""
        self._drain_watch = (callback, low_water)
        if self.pending() <= low_water:
            self._fire_drained()

    def _fire_drained(self) -> None:
        watch, self._drain_watch = self._drain_watch, None
        if watch is not None:
            watch[0]()

    def pending(self) -> int:
        """Items queued and not yet committed (approximate while the thread works)."""
        return self._handed + len(self._held) - self._done

    def hold_until(self, schedule: Callable[[Callable[[], None]], None]) -> None:
        """Hold the records appended from now on and hand them to the writer thread in one
        piece through `schedule(callback)` (the event loop's call_soon: after the work of
        the current iteration). The thread then neither wakes up nor takes the GIL in the
        middle of that work (a restart's path from the exit to the new spawn logs five
        records); one queue put per iteration instead of one per record. flush() and
        close() hand over what is held first. Call it from the thread that appends."""
        self._schedule = schedule

    def _put(self, item: object) -> None:
        if self._schedule is None:
            self._handed += 1
            self._queue.put(item)
            return
        if not self._held:
            self._schedule(self._hand_over)
        self._held.append(item)

    def _hand_over(self) -> None:
        held, self._held = self._held, []
        if held:
            self._handed += len(held)
            self._queue.put(held)

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything queued so far is committed (tests, shutdown)."""
        import threading

        self._hand_over()
        marker = threading.Event()
        self._queue.put(marker)
        self._urgent.set()
        return marker.wait(timeout)

    def checkpoint_soon(self) -> None:
        """Copy the WAL into the database now, in the writer thread, without waiting for
        readers (a PASSIVE checkpoint). The daemon asks at the start of its shutdown: the
        checkpoint that close() makes then has only the last records to copy and sync, not
        up to 1000 pages of WAL (wal_autocheckpoint) with an fdatasync(2) of them all on
        the way out."""
        self._queue.put(_CHECKPOINT)

    def close_soon(self) -> None:
        """Start closing without waiting: the writer thread commits what is queued, then
        closes the database (whose last checkpoint copies and fdatasync(2)s the WAL, and
        unlinks it); close() waits for that. The daemon's shutdown removes its cgroups
        meanwhile. Nothing may be appended after this."""
        if not self._closing:
            self._closing = True
            self._hand_over()
            self._queue.put(_STOP)
            self._urgent.set()

    def close(self) -> None:
        self.close_soon()
        self._thread.join()

    # -- the writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._serve()
        finally:
            self._conn.close()  # in this thread: the final checkpoint overlaps the caller

    def _serve(self) -> None:
        import queue

        while True:
            batch = [self._queue.get()]
            if not self._urgent.is_set():  # COALESCE_SECONDS: let the burst queue up
                self._urgent.wait(COALESCE_SECONDS)
            self._urgent.clear()
            try:
                while len(batch) < 20000:
                    batch.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            stop = self._commit(batch)
            # Not kept alive while the thread waits for the next item: an idle daemon would
            # hold the last batch's records (all of a start-all's) until something logs.
            del batch
            if stop:
                return

    def _commit(self, batch: list[object]) -> bool:
        contexts: list[tuple[object, ...]] = []
        blocks: list[tuple[object, ...]] = []
        import threading

        markers: list[threading.Event] = []
        stop = checkpoint = False
        items = 0
        for entry in batch:
            for item in entry if isinstance(entry, list) else (entry,):
                if isinstance(item, tuple):
                    items += 1
                    if item[0] == "ctx":
                        contexts.append(item[1:])
                    else:
                        blocks.append(item)
                elif item is _STOP:
                    stop = True
                elif item is _CHECKPOINT:
                    checkpoint = True
                elif isinstance(item, threading.Event):
                    markers.append(item)
        conn = self._conn
        if contexts or blocks:
            conn.execute("BEGIN")
            if contexts:
                conn.executemany(
                    "INSERT OR REPLACE INTO contexts(id, boot_id, unit, identifier, fields)"
                    " VALUES (?,?,?,?,?)",
                    contexts,
                )
            if blocks:
                conn.executemany(
                    "INSERT OR REPLACE INTO blocks(seq, count, context, realtime, monotonic,"
                    " priomask, priorities, messages, extra) VALUES (?,?,?,?,?,?,?,?,?)",
                    blocks,
                )
            conn.execute("COMMIT")
            if self.max_use_bytes:
                self._enforce_cap()
        self._done += items
        if checkpoint:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        for marker in markers:
            marker.set()
        watch = self._drain_watch
        if watch is not None and self.pending() <= watch[1]:
            self._fire_drained()
        return stop

    def _enforce_cap(self) -> None:
        """SystemMaxUse-like cap: drop the oldest records until the database fits."""
        page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        if pages * page_size <= self.max_use_bytes:
            return
        total = self._conn.execute("SELECT count(*) FROM blocks").fetchone()[0]
        drop = max(total // 4, 1)
        self._conn.execute(
            "DELETE FROM blocks WHERE seq IN (SELECT seq FROM blocks ORDER BY seq LIMIT ?)", (drop,)
        )
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.executescript("PRAGMA incremental_vacuum;")


def vacuum_to_size(path: str, max_bytes: int) -> int:
    """journalctl --vacuum-size: drop the oldest blocks until the file fits; bytes freed."""
    conn = _connect(path, readonly=False)
    try:
        before = _file_size(path)
        while _file_size(path) > max_bytes:
            total = conn.execute("SELECT count(*) FROM blocks").fetchone()[0]
            if total == 0:
                break
            conn.execute(
                "DELETE FROM blocks WHERE seq IN (SELECT seq FROM blocks ORDER BY seq LIMIT ?)",
                (max(total // 4, 1),),
            )
            conn.executescript("PRAGMA incremental_vacuum;")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return max(before - _file_size(path), 0)
    finally:
        conn.close()


def _file_size(path: str, suffixes: tuple[str, ...] = ("", "-wal")) -> int:
    """Bytes the database uses on disk: the main file and its WAL (and index, if asked)."""
    total = 0
    for suffix in suffixes:
        with contextlib.suppress(OSError):
            total += os.stat(path + suffix).st_size
    return total
