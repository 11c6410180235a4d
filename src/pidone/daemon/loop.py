"""One-thread selector loop: fds, monotonic timers, signals and pidfds -> callbacks; no policy.

Rules:

1. Idle means asleep. With no timer armed and nothing queued, the loop blocks in
   epoll_wait(-1): no periodic tick exists anywhere, so an idle daemon has zero wake-ups.
   Cancelled timers are purged from the heap top before the timeout is computed, so a
   cancelled timeout never wakes the loop either.
2. Time is `time.monotonic()` (CLOCK_MONOTONIC), read once per iteration and handed to
   whoever asks through `loop.time()`; wall-clock jumps never move a deadline.
3. Signals arrive through CPython's `signal.set_wakeup_fd` on a non-blocking self-pipe: the
   C-level handler writes the signal number as one byte, the loop reads the bytes and calls
   the registered callbacks from the loop, never from inside a signal handler. Within one
   read, repeats of the same signal are delivered once (standard signals coalesce anyway).
   Byte 0 is not a signal: it is `call_soon_threadsafe`'s wake-up.
4. A child's exit is seen through its pidfd turning readable (`watch_process`). The loop
   never reaps: the callback decides (see daemon/children.py).
5. Remove an fd from the loop before closing it. Callbacks must tolerate spurious readiness
   (an fd closed and its number reused within one batch) and
   must not block. An exception in a callback is reported to `on_error` and the loop goes on.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import heapq
import itertools
import math
import os
import select
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from types import FrameType

from pidone.linux.reaper import open_pidfd

Callback = Callable[[], None]
ErrorHandler = Callable[[BaseException, str], None]


def _default_error_handler(exc: BaseException, where: str) -> None:
    import traceback  # on an error only: traceback pulls linecache, tokenize, textwrap

    sys.stderr.write(f"pidone: error in event loop callback {where}:\n")
    traceback.print_exception(exc, file=sys.stderr)


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """Python-level handler: the work happens in the loop via the wake-up fd."""


class TimerHandle:
    """An armed timer; `cancel()` is idempotent and safe from any callback."""

    __slots__ = ("_loop", "callback", "cancelled", "deadline", "seq")

    def __init__(self, loop: EventLoop, deadline: float, seq: int, callback: Callback) -> None:
        self._loop = loop
        self.deadline = deadline
        self.seq = seq
        self.callback = callback
        self.cancelled = False

    def __lt__(self, other: TimerHandle) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self._loop._timer_cancelled()


class ProcessWatch:
    """A pidfd registered with the loop; `cancel()` stops watching and closes the pidfd."""

    __slots__ = ("_loop", "callback", "pid", "pidfd")

    def __init__(
        self, loop: EventLoop, pid: int, pidfd: int, callback: Callable[[int], None]
    ) -> None:
        self._loop = loop
        self.pid = pid
        self.pidfd = pidfd
        self.callback = callback

    def cancel(self) -> None:
        if self.pidfd >= 0:
            self._loop.remove_reader(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = -1

    def _fire(self) -> None:
        # Critical path (a command's exit -> the next spawn or the job's reply): the
        # pidfd's epoll_ctl(DEL) and close(2) wait until this loop turn's callbacks have
        # run (call_soon runs before the next epoll_wait, and the pidfd, readable for
        # good now, must be gone by then); a cancel() meanwhile does them at once.
        self._loop.call_soon(self.cancel)
        self.callback(self.pid)


# collect_between_turns(): a busy loop collects anyway past this many pending allocations
# (CPython's first threshold is 700).
_GC_CAP = 50_000


def _collect_due() -> None:
    """What CPython's automatic collection would run now (gc_collect_generations()): the
    oldest generation whose count reached its threshold, if the youngest one did."""
    t0, t1, t2 = gc.get_threshold()
    c0, c1, c2 = gc.get_count()
    if t0 == 0 or c0 < t0:
        return
    generation = 2 if c1 >= t1 and c2 >= t2 else 1 if c1 >= t1 else 0
    gc.collect(generation)


class EventLoop:
    """Readers/writers on fds, monotonic timers, signals and process exits, in one thread."""

    def __init__(self, on_error: ErrorHandler | None = None) -> None:
        # epoll(7) directly, not selectors.DefaultSelector: its get_key() raises and catches
        # KeyError for every fd not yet registered, and each registration builds a
        # SelectorKey; a start adds and removes ~10 fds (socket, pidfds, pipes).
        self._epoll = select.epoll()
        self._masks: dict[int, int] = {}  # registered fd -> its epoll event mask
        self._readers: dict[int, Callback] = {}
        self._writers: dict[int, Callback] = {}
        self._timers: list[TimerHandle] = []
        self._cancelled_timers = 0
        self._seq = itertools.count()
        self._ready: deque[Callback] = deque()
        self._threadsafe: deque[Callback] = deque()
        self._signal_handlers: dict[int, Callable[[int], None]] = {}
        self._saved_signal_handlers: dict[int, object] = {}
        self._saved_wakeup_fd: int | None = None
        self._stopping = False
        self._closed = False
        self._gc_between_turns = False
        self.on_error: ErrorHandler = on_error or _default_error_handler
        # The self-pipe: signal bytes (set_wakeup_fd) and threadsafe wake-ups (byte 0).
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.add_reader(self._wake_r, self._drain_wake_pipe)

    # --- time and timers ---------------------------------------------------------------

    def time(self) -> float:
        """Seconds on CLOCK_MONOTONIC."""
        return time.monotonic()

    def call_at(self, deadline: float, callback: Callback) -> TimerHandle:
        """Run `callback` once `time()` >= deadline."""
        handle = TimerHandle(self, deadline, next(self._seq), callback)
        heapq.heappush(self._timers, handle)
        return handle

    def call_later(self, delay: float, callback: Callback) -> TimerHandle:
        return self.call_at(self.time() + delay, callback)

    def call_soon(self, callback: Callback) -> None:
        """Run `callback` in the next iteration, after I/O, without sleeping first."""
        self._ready.append(callback)

    def call_soon_threadsafe(self, callback: Callback) -> None:
        """From any thread: queue `callback` and wake the loop."""
        self._threadsafe.append(callback)
        with contextlib.suppress(BlockingIOError):  # a full pipe: the loop is awake anyway
            os.write(self._wake_w, b"\0")

    @property
    def armed_timers(self) -> int:
        """Timers armed and not cancelled (a diagnostic for the zero-wake-up tests)."""
        return len(self._timers) - self._cancelled_timers

    def _timer_cancelled(self) -> None:
        self._cancelled_timers += 1
        # Rebuild once most of the heap is dead, so cancel-heavy use stays O(log n).
        if self._cancelled_timers > 64 and self._cancelled_timers * 2 > len(self._timers):
            self._timers = [t for t in self._timers if not t.cancelled]
            heapq.heapify(self._timers)
            self._cancelled_timers = 0

    def _purge_cancelled_head(self) -> None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
            self._cancelled_timers -= 1

    # --- file descriptors --------------------------------------------------------------

    def add_reader(self, fd: int, callback: Callback) -> None:
        self._readers[fd] = callback
        self._update(fd)

    def remove_reader(self, fd: int) -> None:
        if self._readers.pop(fd, None) is not None:
            self._update(fd)

    def add_writer(self, fd: int, callback: Callback) -> None:
        self._writers[fd] = callback
        self._update(fd)

    def remove_writer(self, fd: int) -> None:
        if self._writers.pop(fd, None) is not None:
            self._update(fd)

    def _update(self, fd: int) -> None:
        events = (select.EPOLLIN if fd in self._readers else 0) | (
            select.EPOLLOUT if fd in self._writers else 0
        )
        old = self._masks.get(fd)
        if old is None:
            if events:
                self._epoll.register(fd, events)
                self._masks[fd] = events
            return
        if not events:
            del self._masks[fd]
            with contextlib.suppress(OSError):  # already closed: epoll dropped it itself
                self._epoll.unregister(fd)
        elif old != events:
            try:
                self._epoll.modify(fd, events)
            except OSError:
                # The fd was closed while registered and its number reused: epoll dropped
                # the old file on close (man 7 epoll, Q6), so register the new one afresh.
                with contextlib.suppress(OSError):
                    self._epoll.unregister(fd)
                self._epoll.register(fd, events)
            self._masks[fd] = events

    # --- processes ---------------------------------------------------------------------

    def watch_process(
        self, pid: int, callback: Callable[[int], None], pidfd: int | None = None
    ) -> ProcessWatch | None:
        """Call `callback(pid)` once when `pid` exits (its pidfd turns readable).

        Takes ownership of `pidfd` if given; otherwise opens one, which must happen while
        `pid` is still an unreaped child. Returns None where pidfds are unsupported: the
        caller then relies on SIGCHLD alone. The callback must reap; the loop does not.
        """
        fd = pidfd if pidfd is not None else open_pidfd(pid)
        if fd is None:
            return None
        watch = ProcessWatch(self, pid, fd, callback)
        self.add_reader(fd, watch._fire)
        return watch

    # --- signals -----------------------------------------------------------------------

    def add_signal_handler(self, signum: int, callback: Callable[[int], None]) -> None:
        """Call `callback(signum)` from the loop when `signum` arrives. Main thread only.

        Installs a Python handler, then unblocks `signum`, so a signal that was blocked
        since start-up (linux.signals.block_signals) and is pending gets delivered now.
        """
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("signal handlers can only be installed from the main thread")
        if self._saved_wakeup_fd is None:
            self._saved_wakeup_fd = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        if signum not in self._saved_signal_handlers:
            self._saved_signal_handlers[signum] = signal.signal(signum, _ignore_signal)
        self._signal_handlers[signum] = callback
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})

    def remove_signal_handler(self, signum: int) -> None:
        """Restore the disposition `signum` had before `add_signal_handler`."""
        self._signal_handlers.pop(signum, None)
        saved = self._saved_signal_handlers.pop(signum, None)
        if saved is not None:
            signal.signal(signum, saved)  # type: ignore[arg-type]

    def _drain_wake_pipe(self) -> None:
        seen: list[int] = []
        while True:
            try:
                data = os.read(self._wake_r, 4096)
            except BlockingIOError:
                break
            if not data:
                break
            for byte in data:
                if byte not in seen:
                    seen.append(byte)
        while self._threadsafe:
            self._ready.append(self._threadsafe.popleft())
        for signum in seen:
            handler = self._signal_handlers.get(signum)
            if handler is not None:
                self._run(functools.partial(handler, signum), f"signal {signum}")

    # --- running -----------------------------------------------------------------------

    def _run(self, callback: Callback, where: str) -> None:
        try:
            callback()
        except Exception as exc:
            self.on_error(exc, where)

    def _timeout(self) -> float | None:
        if self._ready or self._threadsafe or self._stopping:
            return 0
        self._purge_cancelled_head()
        if not self._timers:
            return None  # sleep until an fd or a signal wakes us: rule 1
        return max(0.0, self._timers[0].deadline - self.time())

    def run_once(self) -> None:
        """One iteration: wait for I/O or the next deadline, then run what is due."""
        timeout = self._timeout()
        if self._gc_between_turns and (timeout != 0 or gc.get_count()[0] >= _GC_CAP):
            _collect_due()
        # As selectors' EpollSelector: -1 blocks; a timeout is rounded UP to whole ms, or
        # a deadline less than 1 ms away would be polled with 0 in a busy loop; an error or
        # hang-up wakes the reader and the writer alike.
        ms = -1.0 if timeout is None else math.ceil(timeout * 1e3) * 1e-3 if timeout > 0 else 0
        for fd, mask in self._epoll.poll(ms, max(len(self._masks), 1)):
            if mask & ~select.EPOLLOUT and (reader := self._readers.get(fd)) is not None:
                self._run(reader, f"reader fd {fd}")
            if mask & ~select.EPOLLIN and (writer := self._writers.get(fd)) is not None:
                self._run(writer, f"writer fd {fd}")
        now = self.time()
        while self._timers and (self._timers[0].cancelled or self._timers[0].deadline <= now):
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                self._cancelled_timers -= 1
                continue
            timer.cancelled = True  # fired: a late cancel() is a no-op
            self._run(timer.callback, "timer")
        for _ in range(len(self._ready)):
            self._run(self._ready.popleft(), "call_soon")

    def collect_between_turns(self) -> None:
        """Run Python's cyclic garbage collector only where the loop would block (its
        automatic runs are turned off, process-wide): never inside a callback, so never
        between a request and its spawn or an exit and the next spawn. A young-generation
        run took ~0.3 ms and an older one 3-4 ms in a warm daemon, inside whichever
        callback crossed the allocation threshold (bench/start_timeline.py records them).
        The generations and thresholds are CPython's; a loop kept busy without pause
        still collects once `_GC_CAP` allocations are pending."""
        gc.disable()
        self._gc_between_turns = True

    def run(self) -> None:
        """Iterate until `stop()`."""
        self._stopping = False
        while not self._stopping:
            self.run_once()
        self._stopping = False

    def stop(self) -> None:
        """Make `run()` return after the current iteration (safe from callbacks)."""
        self._stopping = True

    def close(self) -> None:
        """Release the selector and the self-pipe; restore signal dispositions."""
        if self._closed:
            return
        self._closed = True
        for signum in list(self._saved_signal_handlers):
            self.remove_signal_handler(signum)
        if self._saved_wakeup_fd is not None:
            signal.set_wakeup_fd(self._saved_wakeup_fd)
            self._saved_wakeup_fd = None
        self._epoll.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
