"""The child side of linux.stdio: opening a file, socket or terminal onto fd 0, 1 or 2.

linux.stdio plans each stream in the daemon (StandardInput=/StandardOutput=/StandardError=)
and documents the semantics; this module carries out the "open" and "tty" kinds on the
plan as the spawn plan carries it (linux.spawnchild field 11): a plain tuple in the field
order of stdio.StdioSource (kind, fd, path, flags, tty, reset, vhangup). The other kinds
(null, fd, copy, keep) are inline in linux.spawnchild.

Why a module of its own with only os, errno, fcntl, termios, time and _socket: it is
loaded into the spawn helper (linux.spawnhelper) by the first plan with a file:, append:,
truncate:, tty or kmsg stream, and every module the helper holds is anonymous memory whose
page tables each later clone3(2) copies and each execve(2) tears down, for every service.
linux.stdio pulls in pidone.core.model (re, enum, the unit-file parser...) and `socket`
(enum, selectors): ~2.2 MiB.
"""

from __future__ import annotations

import _socket
import errno
import fcntl
import os
import termios
import time

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the helper does not import typing
if TYPE_CHECKING:
    # stdio.StdioSource's fields in order (= linux.spawnchild.StdioWire).
    Wire = tuple[str, int, bytes, int, str, bool, bool]

_IUTF8 = 0o40000  # <asm-generic/termbits.h>, not exported by Python's termios
TIOCVHANGUP = 0x5437  # <asm-generic/ioctls.h>
TTY_WAIT_STEP = 0.1  # seconds between attempts while another session holds the terminal


def _reset_terminal(fd: int) -> None:
    """TTYReset=: cooked mode with the usual control characters (reset_terminal_fd())."""
    attrs = termios.tcgetattr(fd)
    attrs[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.ISTRIP | termios.INLCR
                  | termios.IGNCR | termios.IUCLC)  # fmt: skip
    attrs[0] |= termios.ICRNL | termios.IMAXBEL | _IUTF8
    attrs[1] |= termios.ONLCR | termios.OPOST
    attrs[2] |= termios.CREAD
    attrs[3] = (termios.ISIG | termios.ICANON | termios.IEXTEN | termios.ECHO | termios.ECHOE
                | termios.ECHOK | termios.ECHOCTL | termios.ECHOKE)  # fmt: skip
    cc = attrs[6]
    for index, char in ((termios.VINTR, 3), (termios.VQUIT, 28), (termios.VERASE, 127),
                        (termios.VKILL, 21), (termios.VEOF, 4), (termios.VSTART, 17),
                        (termios.VSTOP, 19), (termios.VSUSP, 26)):  # fmt: skip
        cc[index] = bytes([char])
    cc[termios.VMIN], cc[termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    termios.tcflush(fd, termios.TCIOFLUSH)


def _open_terminal(src: Wire) -> int:
    path, tty, reset, vhangup = src[2], src[4], src[5], src[6]
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if vhangup:
        try:
            fcntl.ioctl(fd, TIOCVHANGUP)
        except OSError:
            pass
        else:  # the hangup invalidated our own open file description too
            os.close(fd)
            fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if reset:
        try:  # noqa: SIM105 (contextlib is one module more in the helper)
            _reset_terminal(fd)
        except (OSError, termios.error):
            pass
    while True:
        try:  # 1 = steal it from another session (needs CAP_SYS_ADMIN)
            fcntl.ioctl(fd, termios.TIOCSCTTY, 1 if tty == "tty-force" else 0)
            return fd
        except OSError as exc:
            if tty == "tty-fail":
                os.close(fd)
                raise
            if exc.errno != errno.EPERM or tty != "tty":
                return fd  # not a terminal we can take (e.g. a file): use it as it is
            time.sleep(TTY_WAIT_STEP)  # plain `tty`: wait for the other session to let go


def _connect_unix(path: bytes, flags: int) -> int:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
        if flags & os.O_ACCMODE == os.O_WRONLY:
            sock.shutdown(_socket.SHUT_RD)
        elif flags & os.O_ACCMODE == os.O_RDONLY:
            sock.shutdown(_socket.SHUT_WR)
    except OSError:
        sock.close()
        raise
    return sock.detach()


def open_source(src: Wire, fileno: int) -> None:
    """Put `src` on `fileno`; raises OSError."""
    kind = src[0]
    if kind == "keep":
        return
    if kind in ("copy", "fd"):
        os.dup2(src[1], fileno)
        return
    if kind == "null":
        fd = os.open(b"/dev/null", src[3] | os.O_CLOEXEC)
    elif kind == "tty":
        fd = _open_terminal(src)
    else:
        try:
            fd = os.open(src[2], src[3], 0o666)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            fd = _connect_unix(src[2], src[3])  # the path is an AF_UNIX socket
    if fd != fileno:
        os.dup2(fd, fileno)
        os.close(fd)
    else:  # the daemon had this fd closed, so open() landed on it: keep it across exec
        os.set_inheritable(fd, True)
