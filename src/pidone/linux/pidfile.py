"""PIDFile=: read the main PID a forking service wrote, judge it, remove the file after stop.

Rules (systemd 252 service.c service_load_pid_file() and service_is_suitable_main_pid();
spec 02 §1):

1. The first line is parsed as a positive PID (surrounding whitespace allowed); anything
   else: "Failed to parse PID from file X: Invalid argument".
2. The manager itself is refused ("New main PID N is the manager, refusing."); so is a PID
   that does not exist or is a zombie ("New main PID N does not exist or is a zombie.").
   systemd 252 logs both at LOG_INFO, or LOG_DEBUG on a retry (may_warn=false).
3. A PID outside the unit is accepted only when the PID file is owned by root (a debug
   line in systemd 252: "New main PID N does not belong to service, but we'll accept it
   since PID file is owned by root."); else refused, an error ("... and PID file is not
   owned by root. Refusing."). systemd
   also refuses symlink chains that cross to a less privileged owner (CHASE_SAFE); pidone
   opens with O_NOFOLLOW on the last component only.
4. The manager never writes the file; it deletes it after the service stopped.
"""

from __future__ import annotations

import contextlib
import os

from pidone.core.dataclass_lite import dataclass
from pidone.linux.procfs import read_file

_PID_MAX = 2**22  # /proc/sys/kernel/pid_max upper bound on 64-bit (PID_MAX_LIMIT)


@dataclass(frozen=True, slots=True)
class PidFile:
    """What read_pid_file() found: the PID and who owns the file."""

    pid: int
    owner_uid: int


class PidFileError(Exception):
    """The file could not be used; the message is systemd's log text."""


def parse_pid_file(data: bytes) -> int:
    """The PID on the first line; ValueError when it is not a positive number."""
    first = data.split(b"\n", 1)[0].strip()
    if not first.isdigit():
        raise ValueError(first)
    pid = int(first)
    if not 0 < pid <= _PID_MAX:
        raise ValueError(first)
    return pid


def read_pid_file(path: str) -> PidFile:
    """Read PIDFile=; raises FileNotFoundError (keep waiting) or PidFileError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    try:
        return PidFile(parse_pid_file(data), st.st_uid)
    except ValueError:
        raise PidFileError(f"Failed to parse PID from file {path}: Invalid argument") from None


def _alive(pid: int) -> bool:
    """Exists and is not a zombie (pid_is_alive(): state Z counts as dead)."""
    # One open/read/close (procfs.read_file): a buffered open() adds fstat, ioctl(TCGETS),
    # two lseeks and a second read, on the path from the forking parent's exit to the
    # start job's reply.
    data = read_file(f"/proc/{pid}/stat")
    if data is None:
        return False
    state = data[data.rfind(b")") + 2 : data.rfind(b")") + 3]
    return state not in (b"Z", b"X", b"")


def check_main_pid(found: PidFile, *, belongs_to_unit: bool, manager_pid: int = 0) -> str | None:
    """None if `found.pid` may become the main PID, else the reason (rules 2 and 3).

    A root-owned file naming a PID outside the unit is accepted (return None), with only
    a debug line in systemd 252 (`accepted_foreign_message()`).
    """
    return unsuitable_main_pid(found, manager_pid) or refused_outsider(found, belongs_to_unit)


def unsuitable_main_pid(found: PidFile, manager_pid: int = 0) -> str | None:
    """Rule 2: why `found.pid` cannot be a main PID at all (the manager, gone), or None."""
    pid = found.pid
    if pid == (manager_pid or os.getpid()):
        return f"New main PID {pid} is the manager, refusing."
    if not _alive(pid):
        return f"New main PID {pid} does not exist or is a zombie."
    return None


def refused_outsider(found: PidFile, belongs_to_unit: bool) -> str | None:
    """Rule 3: the refusal of a PID outside the unit named by a file not owned by root."""
    if not belongs_to_unit and found.owner_uid != 0:
        return (
            f"New main PID {found.pid} does not belong to service, "
            "and PID file is not owned by root. Refusing."
        )
    return None


def accepted_foreign_message(pid: int) -> str:
    return (
        f"New main PID {pid} does not belong to service, "
        "but we'll accept it since PID file is owned by root."
    )


def remove_pid_file(path: str) -> None:
    """Delete the PID file after the service stopped; a missing file is fine."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
