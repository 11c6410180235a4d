"""inotify(7) through libc, for followers that must wake on a file change without polling."""

from __future__ import annotations

import os

from pidone.core.hints import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_CREATE = 0x00000100
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    import ctypes  # (when the first watch is made: a running daemon often needs none)

    global _libc
    if _libc is None:
        # The loaded symbols (libc's among them); ctypes.util.find_library() would run
        # `ldconfig -p` and import subprocess, tempfile and shutil (~1.5 MiB of RSS).
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def open_inotify() -> int:
    """A non-blocking, close-on-exec inotify fd (inotify_init1(2))."""
    fd: int = _lib().inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        raise _errno()
    return fd


def add_watch(fd: int, path: str, mask: int) -> int:
    import ctypes

    wd: int = _lib().inotify_add_watch(fd, os.fsencode(path), ctypes.c_uint32(mask))
    if wd < 0:
        err = _errno()
        raise OSError(err.errno, err.strerror, path)
    return wd


def _errno() -> OSError:
    import ctypes

    err = ctypes.get_errno()
    return OSError(err, os.strerror(err))


def drain(fd: int) -> None:
    """Discard queued events: followers only need to know that something changed."""
    try:
        while os.read(fd, 65536):
            pass
    except BlockingIOError:
        pass
