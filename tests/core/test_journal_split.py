"""journald's stdout record rules (spec 06 §6, pitfall 17) on the sans-IO splitter."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pidone.core.journal import LINE_MAX, StreamSplitter, parse_cursor, parse_priority


def split(*chunks: bytes, prefix: bool = True):
    sp = StreamSplitter(level_prefix=prefix)
    records = []
    for chunk in chunks:
        records += sp.feed(chunk).records()
    records += sp.close().records()
    return [(r.message, r.priority, r.line_break) for r in records]


def test_newline_ends_a_record_and_a_bare_newline_gives_none():
    assert split(b"one\n\ntwo\n") == [(b"one", 6, None), (b"two", 6, None)]


def test_trailing_whitespace_cut_leading_kept_whitespace_only_kept():
    assert split(b"  lead and trail  \ncrlf\r\n   \n") == [
        (b"  lead and trail", 6, None),
        (b"crlf", 6, None),
        (b"   ", 6, None),
    ]


def test_nul_ends_a_record_with_line_break_nul():
    assert split(b"a\x00b\n") == [(b"a", 6, "nul"), (b"b", 6, None)]


def test_eof_flushes_pending_data_with_line_break_eof():
    assert split(b"no newline") == [(b"no newline", 6, "eof")]


def test_long_lines_split_at_48k():
    data = b"x" * 100_000 + b"\n"
    got = split(data[:70_000], data[70_000:])
    assert [len(m) for m, _, _ in got] == [49152, 49152, 1696]
    assert [b for _, _, b in got] == ["line-max", "line-max", None]
    assert LINE_MAX == 49152


def test_priority_prefixes_0_to_7_only():
    got = split(b"<3>err\n<03>err2\n<007>dbg\n<8>eight\n<99>bad\n<5>\n<x>y\n")
    assert got == [
        (b"err", 3, None),
        (b"err2", 3, None),
        (b"dbg", 7, None),
        (b"<8>eight", 6, None),
        (b"<99>bad", 6, None),
        (b"<x>y", 6, None),
    ]


def test_prefix_parsing_can_be_off():
    assert split(b"<3>err\n", prefix=False) == [(b"<3>err", 6, None)]


def test_bytes_are_kept_as_they_came():
    assert split(b"caf\xe9\ttab\rcr\n") == [(b"caf\xe9\ttab\rcr", 6, None)]


@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=64))
def test_chunking_never_changes_the_records(data: bytes, step: int):
    whole = split(data)
    pieces = split(*(data[i : i + step] for i in range(0, len(data), step)))
    assert pieces == whole
    for message, priority, _ in whole:
        assert message
        assert b"\n" not in message
        assert b"\x00" not in message
        assert 0 <= priority <= 7


def test_priority_ranges_as_journalctl():
    assert parse_priority("err") == (0, 3)
    assert parse_priority("4..6") == (4, 6)
    assert parse_priority("warning..info") == (4, 6)
    assert parse_priority("7") == (0, 7)


def test_cursor_round_trip():
    assert parse_cursor("s=ab;i=1f;b=x;m=1;t=2;x=0") == 0x1F
    assert parse_cursor("garbage") is None


def test_syslog_datagrams_split_like_journald():
    from pidone.core.journal import parse_syslog_datagram

    msg = parse_syslog_datagram(b"<30>Nov 29 13:00:00 sshd[77]: Accepted key\n")
    assert (msg.priority, msg.facility, msg.identifier, msg.pid, msg.message) == (
        6,
        3,
        b"sshd",
        b"77",
        b"Accepted key",
    )
    plain = parse_syslog_datagram(b"no tag here")
    assert (plain.priority, plain.identifier, plain.message) == (5, b"", b"no tag here")


def test_native_protocol_text_and_binary_fields():
    from pidone.core.journal import parse_native_datagram

    data = b"MESSAGE=hi\nFOO\n" + (3).to_bytes(8, "little") + b"a\nb\n_TRUSTED=x\nlower=y\n"
    assert parse_native_datagram(data) == {"MESSAGE": b"hi", "FOO": b"a\nb"}
    assert parse_native_datagram(b"MESSAGE\n\x05") is None
    assert parse_native_datagram(b"no newline") is None
