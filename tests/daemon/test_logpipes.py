"""Service output and log sockets into the journal, on a real event loop with real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from pidone.daemon.logpipes import HostIdentity, LogCollector, StreamSource
from pidone.daemon.loop import EventLoop
from pidone.journal.store import JournalReader, JournalWriter, Query

HOST = HostIdentity("b" * 32, "m" * 32, "testhost")


@pytest.fixture
def setup(tmp_path):
    loop = EventLoop()
    writer = JournalWriter(str(tmp_path / "j.sqlite"), "sid")
    collector = LogCollector(loop, writer, HOST)
    yield loop, writer, collector, str(tmp_path / "j.sqlite")
    collector.close()
    writer.close()
    loop.close()


def run_until(loop, condition, limit=2000):
    for _ in range(limit):
        if condition():
            return
        loop.run_once()
    raise AssertionError("condition not reached")


def spawn_writer(script: str):
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=write_fd, stderr=write_fd)
    os.close(write_fd)
    return proc, read_fd


def test_a_services_lines_become_records_with_its_fields(setup):
    loop, writer, collector, path = setup
    proc, fd = spawn_writer("import sys; sys.stdout.write('hello\\n<3>bad\\n\\ntail')")
    try:
        collector.add_stream(
            fd, StreamSource("demo.service", "python3", proc.pid, invocation_id="i" * 32)
        )
        run_until(loop, lambda: collector.stream_count() == 0)
    finally:
        proc.wait()
    writer.flush()
    got = list(JournalReader(path).entries(Query(units=["demo.service"])))
    assert [(e.message, e.priority) for e in got] == [(b"hello", 6), (b"bad", 3), (b"tail", 6)]
    first = got[0].fields
    assert first["_PID"] == str(proc.pid).encode()
    assert first["SYSLOG_IDENTIFIER"] == b"python3"
    assert first["_SYSTEMD_INVOCATION_ID"] == b"i" * 32
    assert first["_HOSTNAME"] == b"testhost"
    assert got[2].fields["_LINE_BREAK"] == b"eof"


def test_a_burst_is_stored_completely_and_in_order(setup):
    loop, writer, collector, path = setup
    collector.high_water = 5  # force pause/resume cycles
    proc, fd = spawn_writer("import sys\nfor i in range(200000): sys.stdout.write(f'{i}\\n')")
    try:
        collector.add_stream(fd, StreamSource("burst.service", "python3", proc.pid))
        run_until(loop, lambda: collector.stream_count() == 0, limit=200000)
    finally:
        proc.wait()
    writer.flush()
    got = [e.message for e in JournalReader(path).entries(Query(units=["burst.service"]))]
    assert got == [str(i).encode() for i in range(200000)]


def test_manager_records_are_matched_by_unit(setup):
    _loop, writer, collector, path = setup
    collector.manager_record(
        "x.service", "Started x.service - X.", 6, {"MESSAGE_ID": "39f53479d3a045ac8e11786248231fbf"}
    )
    writer.flush()
    (entry,) = JournalReader(path).entries(Query(units=["x.service"]))
    assert entry.message == b"Started x.service - X."
    assert entry.fields["SYSLOG_IDENTIFIER"] == b"systemd"
    assert entry.fields["UNIT"] == b"x.service"
    assert entry.fields["MESSAGE_ID"] == b"39f53479d3a045ac8e11786248231fbf"


def test_syslog_and_native_sockets_attribute_the_sender(setup, tmp_path):
    loop, writer, collector, path = setup
    me = os.getpid()
    collector.unit_of_pid = lambda pid: "sender.service" if pid == me else None
    dev_log = str(tmp_path / "dev-log")
    native = str(tmp_path / "journal-socket")
    collector.listen_syslog(dev_log)
    collector.listen_native(native)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"<11>Nov 29 13:00:00 cron[42]: job failed\n", dev_log)
        s.sendto(b"MESSAGE=multi\nPRIORITY=2\nSYSLOG_IDENTIFIER=app\nCODE_LINE=7\n", native)
        s.sendto(b"MESSAGE\n" + (5).to_bytes(8, "little") + b"a\nb\x00c\n", native)
        s.sendto(b"garbage without newline", native)
    run_until(
        loop, lambda: writer.flush(5) and len(list(JournalReader(path).entries(Query()))) >= 3
    )
    got = list(JournalReader(path).entries(Query(units=["sender.service"])))
    assert [(e.message, e.priority) for e in got] == [
        (b"job failed", 3),
        (b"multi", 2),
        (b"a\nb\x00c", 6),
    ]
    assert got[0].fields["SYSLOG_IDENTIFIER"] == b"cron"
    assert got[0].fields["SYSLOG_PID"] == b"42"
    assert got[0].fields["_TRANSPORT"] == b"syslog"
    assert got[1].fields["CODE_LINE"] == b"7"
    assert got[1].fields["_PID"] == str(me).encode()


def test_bad_output_is_stored_without_loss(setup):
    """Binary, invalid UTF-8, NUL bytes and a 10 MB line without a newline (issue 5)."""
    loop, writer, collector, path = setup
    script = (
        "import os, sys\n"
        "out = sys.stdout.buffer\n"
        "out.write(bytes(range(1, 256)).replace(b'\\n', b'') + b'\\n')\n"
        "out.write(b'caf\\xe9 \\xff\\xfe\\n')\n"
        "out.write(b'a\\x00b\\x00c\\n')\n"
        "out.write(b'y' * 10_000_000)\n"
        "out.flush()\n"
    )
    proc, fd = spawn_writer(script)
    try:
        collector.add_stream(fd, StreamSource("bad.service", "python3", proc.pid))
        run_until(loop, lambda: collector.stream_count() == 0, limit=100000)
    finally:
        proc.wait()
    writer.flush()
    got = list(JournalReader(path).entries(Query(units=["bad.service"])))
    assert got[0].message == bytes(range(1, 256)).replace(b"\n", b"").rstrip(b" \t\r\x0b\x0c")
    assert got[1].message == b"caf\xe9 \xff\xfe"
    assert [e.message for e in got[2:5]] == [b"a", b"b", b"c"]
    tail = got[5:]
    assert b"".join(e.message for e in tail) == b"y" * 10_000_000
    assert all(len(e.message) <= 49152 for e in tail)
    assert tail[-1].fields["_LINE_BREAK"] == b"eof"
