"""StandardInput=/StandardOutput=/StandardError= for a spawned child: the plan and the opening.

The plan (`input_source`, `output_source`) is made in the daemon; linux.stdiosteps opens it
in the child between fork and exec, so that only makes system calls (systemd 252 execute.c
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

import os

from pidone.core.dataclass_lite import dataclass
from pidone.core.model import ExecContext

__all__ = [
    "COPY_0",
    "COPY_1",
    "KEEP",
    "StdioSource",
    "input_source",
    "open_source",
    "output_source",
    "wire",
]

_OUT_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOCTTY | os.O_CLOEXEC


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
        # setup_output(): dup2(socket_fd, fileno), not a copy of fd 0, which is /dev/null
        # under StandardInput=null
        return COPY_0 if input_kind == "socket" else StdioSource("fd", stdin_fd)
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
# The opening itself lives in linux.stdiosteps (loaded into the spawn helper without
# pidone's core); this takes the daemon-side StdioSource.


def wire(src: StdioSource) -> tuple[str, int, bytes, int, str, bool, bool]:
    """`src` as the spawn plan carries it (linux.spawnchild.StdioWire)."""
    return (src.kind, src.fd, src.path, src.flags, src.tty, src.reset, src.vhangup)


def open_source(src: StdioSource, fileno: int) -> None:
    """Put `src` on `fileno`; raises OSError."""
    # (imported here: the daemon never opens stdio itself, the spawn helpers do, and
    # linux.stdiosteps brings termios, ~0.2 MiB of the daemon's RSS)
    from pidone.linux import stdiosteps

    stdiosteps.open_source(wire(src), fileno)
