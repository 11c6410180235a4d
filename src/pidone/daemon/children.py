"""Child exits -> ChildExit callbacks: pidfd and SIGCHLD wake-ups feeding one reaping loop.

Every wake-up (a watched pidfd turning readable, or SIGCHLD) runs `reap_all()`, which reaps
*every* zombie: the watched child, orphans re-parented to us as subreaper, and exits whose
SIGCHLD coalesced with another's. Each exit is reported exactly once, to `on_exit`, with
`watched` telling whether someone asked for this PID. The pidfd of a reaped PID is closed at
once: a pidfd stays readable after its process is reaped and would otherwise spin the loop.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

from pidone.daemon.loop import EventLoop, ProcessWatch
from pidone.linux.reaper import ChildExit, reap_all

ExitCallback = Callable[[ChildExit, bool], None]


class ChildWatcher:
    """Reaps all children of this process and reports each exit once."""

    def __init__(self, loop: EventLoop, on_exit: ExitCallback, *, use_sigchld: bool = True) -> None:
        self._loop = loop
        self._on_exit = on_exit
        self._watches: dict[int, ProcessWatch | None] = {}
        if use_sigchld:
            loop.add_signal_handler(signal.SIGCHLD, self._wake)

    def watch(self, pid: int, pidfd: int | None = None) -> None:
        """Report `pid`'s exit with watched=True. Call before the loop can reap it."""
        self._watches[pid] = self._loop.watch_process(pid, self._wake, pidfd)

    @property
    def watched(self) -> frozenset[int]:
        return frozenset(self._watches)

    def _wake(self, _number: int) -> None:
        self.reap()

    def reap(self) -> list[ChildExit]:
        """Reap every exited child now and report them; returns what was reaped."""
        exits = reap_all()
        for child in exits:
            watched = child.pid in self._watches
            watch = self._watches.pop(child.pid, None)
            if watch is not None:
                self._loop.call_soon(watch.cancel)  # after the report (loop.ProcessWatch._fire)
            self._on_exit(child, watched)
        return exits

    def close(self) -> None:
        for watch in self._watches.values():
            if watch is not None:
                watch.cancel()
        self._watches.clear()
