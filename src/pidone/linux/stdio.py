"""StandardInput=/StandardOutput=/StandardError= for a spawned child: the plan and the opening.

The plan (`input_source`, `output_source`) is made in the daemon; `open_source` runs in the
child between fork and exec, so it only makes system calls (systemd 252 execute.c
setup_input(), setup_output(), acquire_terminal(); man 5 systemd.exec "LOGGING AND
STANDARD INPUT/OUTPUT"):

* `inherit`: stdout copies stdin unless stdin is null/data, then the manager's own stdout
  (/dev/null when the manager is PID 1); stderr copies stdout.
* `tty`, `tty-force`, `tty-fail` on `TTYPath=` (default /dev/console): the terminal becomes
  the controlling terminal (TIOCSCTTY, tty_ioctl(4)). Plain `tty` waits while another
  session holds it, `tty-force` steals it, `tty-fail` fails at once. `TTYVHangup=` hangs
  up earlier sessions (TIOCVHANGUP) and `TTYReset=` puts the line back in a sane cooked
  mode, both before the terminal is taken.
* `file:`/`append:`/`truncate:` open the path under the unit's UMask=; if it is an
  AF_UNIX socket (open(2) gives ENXIO) it is connected to instead, as systemd does.
* `kmsg`/`kmsg+console`: /dev/kmsg when the daemon may write it (each write(2) is one
  kernel log record), else the journal stream the caller supplies.
* `journal`, `syslog`, `socket`, `fd:NAME`: the fd the caller supplies (socket output
  copies a socket stdin).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import termios
import time

from pidone.core.dataclass_lite import dataclass
from pidone.core.model import ExecContext

_OUT_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOCTTY | os.O_CLOEXEC
_IUTF8 = 0o40000  # <asm-generic/termbits.h>, not exported by Python's termios
TIOCVHANGUP = 0x5437  # <asm-generic/ioctls.h>
TTY_WAIT_STEP = 0.1  # seconds between attempts while another session holds the terminal


@dataclass(frozen=True, slots=True)
class StdioSource:
    """Where one of fds 0-2 comes from.

    kind: "null" (open /dev/null with `flags`), "open" (open `path` with `flags`), "tty"
    (open `path`, make it the controlling terminal; `tty` is the StandardInput= value),
    "fd" (dup a caller-supplied `fd`), "copy" (dup our own fd `fd`, 0 or 1, set a moment
    before), "keep" (leave the daemon's fd as it is).
    """

    kind: str
    fd: int = -1
    path: bytes = b""
    flags: int = 0
    tty: str = ""
    reset: bool = False  # TTYReset=
    vhangup: bool = False  # TTYVHangup=


KEEP = StdioSource("keep")
COPY_0 = StdioSource("copy", 0)
COPY_1 = StdioSource("copy", 1)


def _kmsg_writable() -> bool:
    return os.access("/dev/kmsg", os.W_OK)


def output_source(
    ctx: ExecContext,
    fileno: int,
    supplied: int,
    stdin_fd: int,
    input_kind: str,
    is_pid1: bool,
) -> StdioSource:
    """The plan for stdout (1) or stderr (2); `supplied` is the caller's fd or -1."""
    setting = ctx.standard_output if fileno == 1 else ctx.standard_error
    kind, _, arg = setting.partition(":")
    if setting == "inherit":
        if fileno == 2:
            return COPY_1
        if input_kind not in ("null", "data"):
            return COPY_0
        # Not started by PID 1: keep the manager's stdout (systemd setup_output()).
        return StdioSource("null", flags=os.O_WRONLY) if is_pid1 else KEEP
    if setting == "null":
        return StdioSource("null", flags=os.O_WRONLY)
    if setting == "tty":
        if input_kind.startswith("tty"):
            return COPY_0
        tty = os.fsencode(ctx.tty_path or "/dev/console")
        return StdioSource("open", path=tty, flags=os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    if kind in ("file", "append", "truncate") and arg:
        flags = _OUT_FLAGS | {"append": os.O_APPEND, "truncate": os.O_TRUNC}.get(kind, 0)
        if fileno == 2 and ctx.standard_output == setting:
            return COPY_1  # one open file description for both, as systemd does
        if fileno == 1 and input_kind == "file" and ctx.standard_input == f"file:{arg}":
            return COPY_0
        return StdioSource("open", path=os.fsencode(arg), flags=flags)
    if setting in ("kmsg", "kmsg+console") and _kmsg_writable():
        if fileno == 2 and ctx.standard_output == setting:
            return COPY_1
        return StdioSource("open", path=b"/dev/kmsg", flags=os.O_WRONLY | os.O_CLOEXEC)
    # journal, journal+console, kmsg without /dev/kmsg, syslog, socket, fd:NAME
    if supplied >= 0:
        return StdioSource("fd", supplied)
    if setting == "socket" and stdin_fd >= 0:
        return COPY_0
    return KEEP


def input_source(ctx: ExecContext, stdin_fd: int, data_fd: int) -> tuple[str, StdioSource]:
    """(the input kind, its plan) for fd 0."""
    setting = ctx.standard_input
    kind, _, arg = setting.partition(":")
    if setting in ("tty", "tty-force", "tty-fail"):
        path = os.fsencode(ctx.tty_path or "/dev/console")
        return setting, StdioSource(
            "tty", path=path, tty=setting, reset=ctx.tty_reset, vhangup=ctx.tty_vhangup
        )
    if kind == "file" and arg:
        rw = ctx.standard_output == f"file:{arg}"
        flags = (os.O_RDWR | os.O_CREAT if rw else os.O_RDONLY) | os.O_NOCTTY | os.O_CLOEXEC
        return "file", StdioSource("open", path=os.fsencode(arg), flags=flags)
    if setting == "data" and data_fd >= 0:
        return "data", StdioSource("fd", data_fd)
    if kind in ("socket", "fd") and stdin_fd >= 0:
        return kind, StdioSource("fd", stdin_fd)
    return "null", StdioSource("null", flags=os.O_RDONLY)


# --------------------------------------------------------------------------- the child


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


def _open_terminal(src: StdioSource) -> int:
    fd = os.open(src.path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if src.vhangup:
        try:
            fcntl.ioctl(fd, TIOCVHANGUP)
        except OSError:
            pass
        else:  # the hangup invalidated our own open file description too
            os.close(fd)
            fd = os.open(src.path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if src.reset:
        with contextlib.suppress(OSError, termios.error):
            _reset_terminal(fd)
    while True:
        try:  # 1 = steal it from another session (needs CAP_SYS_ADMIN)
            fcntl.ioctl(fd, termios.TIOCSCTTY, 1 if src.tty == "tty-force" else 0)
            return fd
        except OSError as exc:
            if src.tty == "tty-fail":
                os.close(fd)
                raise
            if exc.errno != errno.EPERM or src.tty != "tty":
                return fd  # not a terminal we can take (e.g. a file): use it as it is
            time.sleep(TTY_WAIT_STEP)  # plain `tty`: wait for the other session to let go


def _connect_unix(path: bytes, flags: int) -> int:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        if flags & os.O_ACCMODE == os.O_WRONLY:
            sock.shutdown(socket.SHUT_RD)
        elif flags & os.O_ACCMODE == os.O_RDONLY:
            sock.shutdown(socket.SHUT_WR)
    except OSError:
        sock.close()
        raise
    return sock.detach()


def open_source(src: StdioSource, fileno: int) -> None:
    """Put `src` on `fileno`; raises OSError."""
    kind = src.kind
    if kind == "keep":
        return
    if kind in ("copy", "fd"):
        os.dup2(src.fd, fileno)
        return
    if kind == "null":
        fd = os.open(b"/dev/null", src.flags | os.O_CLOEXEC)
    elif kind == "tty":
        fd = _open_terminal(src)
    else:
        try:
            fd = os.open(src.path, src.flags, 0o666)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            fd = _connect_unix(src.path, src.flags)  # the path is an AF_UNIX socket
    if fd != fileno:
        os.dup2(fd, fileno)
        os.close(fd)
    else:  # the daemon had this fd closed, so open() landed on it: keep it across exec
        os.set_inheritable(fd, True)
