"""linux.clockwatch: the CLOCK_REALTIME timerfd is armed at the end of time and stays
quiet while nobody sets the clock (setting it would change the host's clock: not tested)."""

from __future__ import annotations

import os
import select

from pidone.linux.clockwatch import ClockWatch


def test_the_watch_is_armed_and_quiet_until_the_clock_is_set() -> None:
    watch = ClockWatch.open()
    assert watch is not None
    try:
        fd = watch.fileno()
        flags = os.get_inheritable(fd), os.get_blocking(fd)
        assert flags == (False, False)  # TFD_CLOEXEC | TFD_NONBLOCK
        readable, _w, _x = select.select([fd], [], [], 0.05)
        assert readable == []
        assert watch.changed() is False  # EAGAIN: nothing happened
    finally:
        watch.close()
    assert watch.fileno() == -1
