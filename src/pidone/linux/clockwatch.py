"""Notice a jump of the wall clock: a CLOCK_REALTIME timerfd with TFD_TIMER_CANCEL_ON_SET.

systemd's manager does the same (manager_setup_time_change(), src/core/manager.c): a
timerfd on CLOCK_REALTIME armed with TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET at the end
of time. It never expires; when the clock is set (clock_settime(2), settimeofday(2), NTP
steps), a read(2) on it fails with ECANCELED (timerfd_create(2)), and the timers that live
on the wall clock re-plan. Python 3.11 has no os.timerfd_*, so the two calls go through
ctypes; where they are missing the watch is simply absent (`ClockWatch.open()` is None).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from collections.abc import Callable

CLOCK_REALTIME = 0
TFD_CLOEXEC = os.O_CLOEXEC
TFD_NONBLOCK = os.O_NONBLOCK
TFD_TIMER_ABSTIME = 1
TFD_TIMER_CANCEL_ON_SET = 2
_END_OF_TIME = 2**62  # seconds: far past any real clock, and a valid time_t on 64 bits


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


class ClockWatch:
    """One armed timerfd; `fileno()` for the loop, `changed()` after it polls readable."""

    def __init__(self, fd: int, settime: Callable[..., int]) -> None:
        self._fd = fd
        self._settime = settime

    @classmethod
    def open(cls) -> ClockWatch | None:
        try:
            # CDLL(None): the symbols already loaded, libc's among them. Not
            # ctypes.util.find_library("c"): it runs `ldconfig -p` in a subprocess and
            # imports subprocess, tempfile, random and shutil (~1.5 MiB of daemon RSS).
            libc = ctypes.CDLL(None, use_errno=True)
            create, settime = libc.timerfd_create, libc.timerfd_settime
        except (OSError, AttributeError):
            return None
        create.argtypes = (ctypes.c_int, ctypes.c_int)
        settime.argtypes = (
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(_Itimerspec),
            ctypes.c_void_p,
        )
        fd = create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK)
        if fd < 0:
            return None
        watch = cls(fd, settime)
        if not watch._arm():
            os.close(fd)
            return None
        return watch

    def _arm(self) -> bool:
        spec = _Itimerspec(_Timespec(0, 0), _Timespec(_END_OF_TIME, 0))
        flags = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET
        return int(self._settime(self._fd, flags, ctypes.byref(spec), None)) == 0

    def fileno(self) -> int:
        return self._fd

    def changed(self) -> bool:
        """Consume the readiness: True when the wall clock was set (then re-armed)."""
        try:
            os.read(self._fd, 8)
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno != errno.ECANCELED:
                return False
            self._arm()
            return True
        return False  # it expired: cannot happen before the end of time

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
