"""core.notify: sd_notify payload parsing (never raises) and NotifyAccess= decisions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pidone.core.notify import check_notify_access, parse_notify_message


def test_flags_and_values():
    m = parse_notify_message(
        b"READY=1\nSTATUS=Serving 3 clients\nMAINPID=4242\nWATCHDOG=1\n"
        b"WATCHDOG_USEC=5000000\nEXTEND_TIMEOUT_USEC=1000\nERRNO=2\nUNKNOWN=x\n"
    )
    assert m.ready
    assert not m.reloading
    assert not m.stopping
    assert (m.status, m.main_pid, m.errno) == ("Serving 3 clients", 4242, 2)
    assert m.watchdog
    assert not m.watchdog_trigger
    assert (m.watchdog_usec, m.extend_timeout_usec) == (5_000_000, 1000)
    assert m.warnings == ()


def test_flags_must_match_exactly_and_first_value_wins():
    m = parse_notify_message(b"READY=0\nREADY=yes\nSTATUS=first\nSTATUS=second\nRELOADING=1")
    assert not m.ready
    assert m.reloading
    assert m.status == "first"


def test_empty_status_clears_and_trigger_and_fdstore():
    m = parse_notify_message(b"STATUS=\nWATCHDOG=trigger\nFDSTORE=1\nFDNAME=sock\nFDPOLL=0")
    assert m.status == ""
    assert m.watchdog_trigger
    assert m.fdstore
    assert m.fdname == "sock"
    assert not m.fdpoll


def test_bad_values_are_dropped_with_warnings():
    m = parse_notify_message(
        b"MAINPID=0\nERRNO=-1\nWATCHDOG_USEC=soon\nSTATUS=\xff\xfe\nFDNAME=a:b"
    )
    assert (m.main_pid, m.errno, m.watchdog_usec, m.status, m.fdname) == (None,) * 5
    assert len(m.warnings) == 5


def test_embedded_nul_and_oversized_are_ignored_as_a_whole():
    assert parse_notify_message(b"READY=1\0").ignored
    assert parse_notify_message(b"READY=1\n" + b"x" * 5000).ignored
    assert not parse_notify_message(b"READY=1").ignored


@given(st.binary(max_size=600))
def test_junk_never_raises(data):
    m = parse_notify_message(data)
    assert isinstance(m.warnings, tuple)


def test_notify_access_rules():
    assert check_notify_access("none", 10, 10, 0, True) is not None
    assert check_notify_access("main", 10, 10, 0, True) is None
    assert check_notify_access("main", 11, 10, 0, True) == (
        "Got notification message from PID 11, but reception only permitted for main PID 10"
    )
    assert "currently not known" in (check_notify_access("main", 11, 0, 0, True) or "")
    assert check_notify_access("exec", 12, 10, 12, True) is None
    assert check_notify_access("exec", 13, 10, 12, True) is not None
    assert check_notify_access("all", 99, 10, 0, True) is None
    assert check_notify_access("all", 99, 10, 0, False) is not None
