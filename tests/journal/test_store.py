"""The SQLite journal store: round trips, selections, crash safety, the size cap."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from pidone.core.journal import StreamBatch, StreamSplitter
from pidone.journal.store import JournalReader, JournalWriter, Query, vacuum_to_size


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "journal.sqlite")


def write_lines(writer, unit, lines, *, prio_prefix=True, realtime=1_000_000):
    ctx = writer.context(
        "boot1",
        unit,
        unit.split(".")[0],
        {
            "_SYSTEMD_UNIT": unit.encode(),
            "_PID": b"42",
            "SYSLOG_IDENTIFIER": unit.split(".")[0].encode(),
        },
    )
    sp = StreamSplitter(level_prefix=prio_prefix)
    writer.append_batch(ctx, realtime, 5, sp.feed(b"".join(line + b"\n" for line in lines)))
    return ctx


def test_round_trip_keeps_order_fields_and_bytes(db):
    w = JournalWriter(db, "seqid")
    write_lines(w, "a.service", [b"one", b"<3>two", b"caf\xe9"])
    w.flush()
    r = JournalReader(db)
    got = list(r.entries(Query()))
    assert [e.message for e in got] == [b"one", b"two", b"caf\xe9"]
    assert [e.priority for e in got] == [6, 3, 6]
    assert [e.seqnum for e in got] == [1, 2, 3]
    assert got[0].fields["_SYSTEMD_UNIT"] == b"a.service"
    assert got[0].fields["_PID"] == b"42"
    assert r.seqnum_id() == "seqid"
    w.close()


def test_selection_by_unit_glob_priority_grep_last_and_reverse(db):
    w = JournalWriter(db, "s")
    write_lines(w, "nginx.service", [b"n1", b"<3>n-err", b"n3"])
    write_lines(w, "redis.service", [b"r1", b"r2"])
    write_lines(w, "nginx.service", [b"n4 Needle"])
    w.append(
        w.context("boot1", "redis.service", "systemd", {"UNIT": b"redis.service"}),
        2_000_000,
        6,
        4,
        b"redis.service: Failed with result 'exit-code'.",
    )
    w.flush()
    r = JournalReader(db)
    msgs = lambda q: [e.message for e in r.entries(q)]  # noqa: E731
    assert msgs(Query(units=["nginx.service"])) == [b"n1", b"n-err", b"n3", b"n4 Needle"]
    assert msgs(Query(units=["red*"])) == [
        b"r1",
        b"r2",
        b"redis.service: Failed with result 'exit-code'.",
    ]
    assert msgs(Query(priority=(0, 3))) == [b"n-err"]
    assert msgs(Query(priority=(4, 4))) == [b"redis.service: Failed with result 'exit-code'."]
    assert msgs(Query(grep=re.compile(b"needle", re.I))) == [b"n4 Needle"]
    assert msgs(Query(units=["nginx.service"], last=2)) == [b"n3", b"n4 Needle"]
    assert msgs(Query(units=["nginx.service"], last=2, reverse=True)) == [b"n4 Needle", b"n3"]
    assert msgs(Query(after_seq=5, last=None)) == [
        b"n4 Needle",
        b"redis.service: Failed with result 'exit-code'.",
    ]
    assert msgs(Query(since_usec=1_500_000)) == [b"redis.service: Failed with result 'exit-code'."]
    assert msgs(Query(units=["nothing.service"])) == []
    w.close()


def test_grep_prefilter_keeps_anchored_patterns_per_line(db):
    w = JournalWriter(db, "s")
    write_lines(w, "a.service", [b"alpha", b"beta", b"alphabet"])
    w.flush()
    r = JournalReader(db)
    assert [e.message for e in r.entries(Query(grep=re.compile(b"^beta$")))] == [b"beta"]
    assert [e.message for e in r.entries(Query(grep=re.compile(b"bet$")))] == [b"alphabet"]
    w.close()


def test_line_break_fields_survive(db):
    w = JournalWriter(db, "s")
    ctx = w.context("b", "a.service", "a", {})
    sp = StreamSplitter()
    batch = sp.feed(b"x\x00y\n")
    w.append_batch(ctx, 1, 1, batch)
    w.append_batch(ctx, 1, 1, StreamBatch([b"tail"], [6], {0: "eof"}))
    w.flush()
    got = list(JournalReader(db).entries(Query()))
    assert [(e.message, e.fields.get("_LINE_BREAK")) for e in got] == [
        (b"x", b"nul"),
        (b"y", None),
        (b"tail", b"eof"),
    ]
    w.close()


def test_a_new_writer_continues_the_sequence(db):
    w = JournalWriter(db, "s")
    write_lines(w, "a.service", [b"1", b"2"])
    w.close()
    w2 = JournalWriter(db, "other")
    write_lines(w2, "a.service", [b"3"])
    w2.flush()
    r = JournalReader(db)
    assert [e.seqnum for e in r.entries(Query())] == [1, 2, 3]
    assert r.seqnum_id() == "s"
    w2.close()


WRITER = textwrap.dedent("""
    import os, sys
    from pidone.journal.store import JournalWriter
    from pidone.core.journal import StreamSplitter
    w = JournalWriter(sys.argv[1], "crash")
    ctx = w.context("b", "c.service", "c", {})
    sp = StreamSplitter()
    for i in range(50):
        lines = b"".join(b"batch %d line %d\\n" % (i, j) for j in range(100))
        w.append_batch(ctx, i, i, sp.feed(lines))
    w.flush()
    print("committed", flush=True)
    while True:
        w.append_batch(ctx, 1, 1, sp.feed(b"more\\n" * 100))
""")


def test_kill_9_of_the_writer_loses_nothing_committed(db):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, db], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"committed\n"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    r = JournalReader(db)
    got = list(r.entries(Query(last=None)))
    assert len(got) >= 5000
    assert got[4999].message == b"batch 49 line 99"
    assert [e.seqnum for e in got] == list(range(1, len(got) + 1))


def test_size_cap_drops_oldest_first(db):
    w = JournalWriter(db, "s", max_use_bytes=2 * 1024 * 1024)
    for i in range(60):
        write_lines(w, "big.service", [b"%d-" % i + b"y" * 200] * 200)
        w.flush()
    r = JournalReader(db)
    got = list(r.entries(Query()))
    assert got, "the cap must not drop everything"
    assert got[-1].message.startswith(b"59-")
    assert not got[0].message.startswith(b"0-")
    assert os.path.getsize(db) <= 3 * 1024 * 1024
    w.close()


def test_vacuum_to_size_frees_space(db):
    w = JournalWriter(db, "s")
    for i in range(30):
        write_lines(w, "v.service", [b"%d-" % i + b"z" * 300] * 200)
    w.close()
    before = os.path.getsize(db)
    freed = vacuum_to_size(db, before // 3)
    assert freed > 0
    assert os.path.getsize(db) <= before // 3 + 64 * 1024
    msgs = [e.message for e in JournalReader(db).entries(Query())]
    assert msgs
    assert msgs[-1].startswith(b"29-")


def test_case_insensitive_grep_over_multi_record_blocks(db):
    w = JournalWriter(db, "s")
    write_lines(w, "a.service", [b"first", b"The NEEDLE here", b"last"])
    write_lines(w, "a.service", [b"no match", b"still none"])
    w.flush()
    r = JournalReader(db)
    got = [e.message for e in r.entries(Query(grep=re.compile(b"needle", re.IGNORECASE)))]
    assert got == [b"The NEEDLE here"]
    assert [e.message for e in r.entries(Query(grep=re.compile(b"^the", re.I)))] == [
        b"The NEEDLE here"
    ]
    w.close()


def test_held_records_reach_the_thread_once_per_hand_over_in_order(db):
    scheduled: list = []
    w = JournalWriter(db, "held")
    try:
        w.hold_until(scheduled.append)  # the daemon passes its loop's call_soon
        write_lines(w, "a.service", [b"one", b"two"])
        w.append(w.context("boot1", "b.service", "systemd", {}), 1, 1, 5, b"three")
        assert len(scheduled) == 1  # one hand-over per batch of appends, not per record
        assert w.pending() == 4  # two contexts and two blocks, all still in this thread
        assert list(JournalReader(db).entries(Query())) == []  # nothing reached the disk
        scheduled.pop()()  # the loop runs the hand-over
        write_lines(w, "a.service", [b"four"])
        assert len(scheduled) == 1
        assert w.flush(30)  # flush() hands over what is still held
        assert w.pending() == 0
        got = list(JournalReader(db).entries(Query()))
        assert [e.message for e in got] == [b"one", b"two", b"three", b"four"]
        assert [e.seqnum for e in got] == [1, 2, 3, 4]
    finally:
        w.close()


def test_checkpoint_soon_copies_the_wal_into_the_database(db):
    w = JournalWriter(db, "ckpt")
    try:
        write_lines(w, "a.service", [b"line %d" % i for i in range(2000)])
        assert w.flush(30)
        before = os.path.getsize(db)  # committed to the WAL only (no autocheckpoint yet)
        w.checkpoint_soon()
        assert w.flush(30)
        assert os.path.getsize(db) > before
    finally:
        w.close()
    assert [e.message for e in JournalReader(db).entries(Query())][-1] == b"line 1999"


def test_equal_contexts_share_an_id_and_the_remembered_ones_are_bounded(db, monkeypatch):
    from pidone.journal import store

    monkeypatch.setattr(store, "CONTEXT_CACHE_MAX", 8)
    w = JournalWriter(db, "ctx")
    try:

        def ctx(i, unit="a.service"):
            return w.context("boot1", unit, "a", {"_PID": b"%d" % i})

        first = ctx(0)
        assert ctx(0) == first  # the same fields again: the same context
        assert ctx(0, "b.service") != first  # another unit: another context
        ids = [ctx(i) for i in range(1, 20)]
        assert len(set(ids)) == 19
        assert ctx(19) == ids[-1]  # a recent one is still remembered
        again = ctx(0)  # long forgotten: a new row with the same fields
        assert again not in (first, *ids)
        w.append(first, 1, 1, 6, b"old")
        w.append(again, 2, 2, 6, b"new")
        assert w.flush(30)
        got = list(JournalReader(db).entries(Query(units=["a.service"])))
        assert [(e.message, e.fields["_PID"]) for e in got] == [(b"old", b"0"), (b"new", b"0")]
    finally:
        w.close()


def test_the_writer_thread_lets_go_of_a_committed_batch(db):
    # An idle writer waits in the queue's get(): the records it committed before must not
    # stay alive meanwhile (after a start-all, that was every record of the start-up).
    w = JournalWriter(db, "idle")
    try:
        message = os.urandom(64)  # only the test and the writer refer to it
        base = sys.getrefcount(message)
        w.append(w.context("boot1", "a.service", "a", {}), 1, 1, 6, message)
        assert sys.getrefcount(message) > base  # queued
        assert w.flush(30)
        for _ in range(500):  # the thread drops it right after setting the flush marker
            if sys.getrefcount(message) == base:
                break
            threading.Event().wait(0.01)
        assert sys.getrefcount(message) == base
    finally:
        w.close()
