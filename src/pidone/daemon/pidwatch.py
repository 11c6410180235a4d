"""PIDFile= not written yet when the forking parent exits: wait for it with inotify, not a poll.

systemd 252 (service.c): when the parent of a Type=forking service exits and the PID file
cannot be loaded, service_demand_pid_file() watches the path (a PathSpec, inotify) and
service_retry_pid_file() loads it again on every change, until a PID is read (the service
proceeds to start-post/running), the unit leaves its start states, or TimeoutStartSec=
fires. Daemons that write the file from the forked child, after the parent returned, rely
on this; without it the start would hang until the timeout.

Here: one inotify fd per waiting unit, watching the PID file's directory (IN_CREATE,
IN_MOVED_TO, IN_MODIFY, IN_CLOSE_WRITE, IN_ATTRIB report changes to its entries). When that
directory does not exist yet, the nearest existing ancestor is watched and the watch moves
down as directories appear. After every (re-)arm the file is tried once more, since it may
have appeared between the failed read and the watch (systemd does the same).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable

from pidone.core.dataclass_lite import dataclass
from pidone.daemon.loop import EventLoop
from pidone.linux import inotify

IN_ATTRIB = 0x00000004
IN_MOVED_TO = 0x00000080
_DIR_EVENTS = (
    inotify.IN_CREATE | IN_MOVED_TO | inotify.IN_MODIFY | inotify.IN_CLOSE_WRITE | IN_ATTRIB
)


@dataclass(frozen=True, slots=True)
class _Watch:
    fd: int
    path: str  # PIDFile= as the unit gives it (the retry callback resolves it)
    target: str  # the absolute file
    directory: str  # the directory watched: the file's own, or an existing ancestor


def nearest_directory(target: str) -> str:
    """The file's directory, or its nearest ancestor that exists."""
    directory = os.path.dirname(target) or "/"
    while directory != "/" and not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    return directory


class PidFileWatch:
    """Units waiting for their PID file; `retry(unit, path)` runs when it may have changed."""

    def __init__(self, loop: EventLoop, retry: Callable[[str, str], None]) -> None:
        self._loop = loop
        self._retry = retry
        self._watches: dict[str, _Watch] = {}

    def __contains__(self, unit: str) -> bool:
        return unit in self._watches

    def watch(self, unit: str, path: str, target: str) -> None:
        """Watch `target` (the resolved `path`) for `unit`, then try it once more."""
        self.forget(unit)
        directory = nearest_directory(target)
        try:
            fd = inotify.open_inotify()
        except OSError:
            return  # out of inotify instances: TimeoutStartSec= decides, as without a watch
        try:
            inotify.add_watch(fd, directory, _DIR_EVENTS)
        except OSError:
            os.close(fd)
            return
        self._watches[unit] = _Watch(fd, path, target, directory)
        self._loop.add_reader(fd, functools.partial(self._changed, unit))
        self._loop.call_soon(functools.partial(self._try, unit))

    def forget(self, unit: str) -> None:
        w = self._watches.pop(unit, None)
        if w is not None:
            self._loop.remove_reader(w.fd)
            with contextlib.suppress(OSError):
                os.close(w.fd)

    def close(self) -> None:
        for unit in list(self._watches):
            self.forget(unit)

    def _changed(self, unit: str) -> None:
        w = self._watches.get(unit)
        if w is None:
            return
        inotify.drain(w.fd)
        if w.directory != nearest_directory(w.target):  # a directory on the way appeared
            self.watch(unit, w.path, w.target)
            return
        self._retry(unit, w.path)

    def _try(self, unit: str) -> None:
        w = self._watches.get(unit)
        if w is not None:
            self._retry(unit, w.path)
