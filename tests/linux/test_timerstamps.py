"""Persistent= stamps on a real filesystem: the mtime carries the last trigger."""

from __future__ import annotations

import os
from datetime import UTC

import pytest

from pidone.core import events as ev
from pidone.core.timerunit import SaveStamp, TimerMachine, build_timer_config
from pidone.core.triggering import Now, StartUnit
from pidone.linux.timerstamps import (
    StampError,
    read_stamp,
    read_stamps,
    remove_stamp,
    stamp_path,
    write_stamp,
)
from tests.core.unitbuild import unit_from_bytes

SEC = 1_000_000
T0 = 1_796_000_000 * SEC  # 2026-11-30 (a whole second, as a stamp mtime keeps it)


def test_write_then_read_gives_the_same_microseconds(tmp_path):
    state = str(tmp_path / "state")
    assert read_stamp(state, "c.timer") is None
    write_stamp(state, "c.timer", T0 + 123_456)
    assert read_stamp(state, "c.timer") == T0 + 123_456
    path = stamp_path(state, "c.timer")
    assert path == str(tmp_path / "state" / "timers" / "stamp-c.timer")
    assert os.path.getsize(path) == 0
    assert oct(os.stat(os.path.dirname(path)).st_mode & 0o777) == "0o755"
    write_stamp(state, "c.timer", T0 + 5 * SEC)  # a later trigger moves the mtime only
    assert read_stamps(state, ["c.timer", "other.timer"]) == {"c.timer": T0 + 5 * SEC}
    remove_stamp(state, "c.timer")
    assert read_stamp(state, "c.timer") is None


def test_unwritable_state_dir_is_a_domain_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StampError, match="Not a directory"):
        write_stamp(str(blocker), "c.timer", T0)
    with pytest.raises(ValueError, match="not a unit name"):
        stamp_path(str(tmp_path), "../escape")


def test_catch_up_across_a_restart_through_the_stamp_file(tmp_path):
    """Machine 1 triggers and stores the stamp; machine 2, rebuilt from the file two days
    later, fires at once (Persistent= catch-up)."""
    state = str(tmp_path)
    unit = unit_from_bytes("c.timer", b"[Timer]\nOnCalendar=*-*-* 03:00:00\nPersistent=yes\n")
    config, _ = build_timer_config(unit, UTC, lambda _: None)

    def carry_out(actions: list[object]) -> list[StartUnit]:
        for a in actions:
            if isinstance(a, SaveStamp):
                write_stamp(state, a.unit, a.usec)
        return [a for a in actions if isinstance(a, StartUnit)]

    first = TimerMachine(config, stamp_usec=read_stamp(state, "c.timer"))
    day1 = 1_796_000_000 * SEC  # Mon 2026-11-30 00:53:20 UTC
    carry_out(first.handle(ev.StartRequested("c.timer"), Now(day1, 10 * SEC)))
    assert read_stamp(state, "c.timer") == day1  # created at the first start
    (token,) = first._armed.values()
    fire = Now(first.next_elapse_realtime, 10 * SEC + first.next_elapse_realtime - day1)
    assert fire.realtime == day1 + 7600 * SEC  # 03:00:00
    assert len(carry_out(first.handle(ev.TimerFired(token), fire))) == 1
    assert read_stamp(state, "c.timer") == fire.realtime

    later = Now(fire.realtime + 2 * 86400 * SEC, 20 * SEC)  # a reboot: new monotonic clock
    second = TimerMachine(config, stamp_usec=read_stamp(state, "c.timer"))
    carry_out(second.handle(ev.StartRequested("c.timer"), later))
    assert second.next_elapse_realtime <= later.realtime  # overdue: the loop fires it now
    (token,) = second._armed.values()
    assert len(carry_out(second.handle(ev.TimerFired(token), later))) == 1
    assert read_stamp(state, "c.timer") == later.realtime
