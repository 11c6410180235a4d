"""Persistent= stamps of timers: `<state dir>/timers/stamp-<unit>`, whose mtime is the last trigger.

systemd keeps the same files under /var/lib/systemd/timers (src/core/timer.c
timer_setup_persistent()): an empty file whose modification time is the wall-clock time of
the last trigger, written with touch_file() at each elapse and created (with the current
time) the first time a persistent timer starts. Only the mtime matters, so a stamp survives
daemon restarts and reboots and can be inspected with `stat`. Times are CLOCK_REALTIME µs.
"""

from __future__ import annotations

import contextlib
import os

from pidone.core.errors import PidoneError

STAMP_DIR = "timers"


class StampError(PidoneError):
    """A stamp could not be written (the path and the kernel's reason)."""


def stamp_path(state_dir: str, unit: str) -> str:
    if "/" in unit or unit in ("", ".", ".."):
        raise ValueError(f"not a unit name: {unit!r}")
    return os.path.join(state_dir, STAMP_DIR, f"stamp-{unit}")


def read_stamp(state_dir: str, unit: str) -> int | None:
    """The last trigger time in µs, or None when the timer never ran (no stamp file)."""
    try:
        st = os.stat(stamp_path(state_dir, unit))
    except FileNotFoundError:
        return None
    return st.st_mtime_ns // 1000


def read_stamps(state_dir: str, units: list[str]) -> dict[str, int]:
    """The stamps that exist, for loading every persistent timer at daemon start."""
    found = {}
    for unit in units:
        usec = read_stamp(state_dir, unit)
        if usec is not None:
            found[unit] = usec
    return found


def write_stamp(state_dir: str, unit: str, usec: int) -> None:
    """touch_file(path, parents=true, stamp): create the file if needed, set its mtime and
    atime to `usec`. StampError on failure (systemd ignores it; the caller logs it)."""
    path = stamp_path(state_dir, unit)
    try:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOCTTY, 0o644)
        try:
            os.utime(fd, ns=(usec * 1000, usec * 1000))
        finally:
            os.close(fd)
    except OSError as e:
        raise StampError(f"{path}: {e.strerror or e}") from None


def remove_stamp(state_dir: str, unit: str) -> None:
    """`systemctl clean --what=state` for a timer: forget its last trigger."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(stamp_path(state_dir, unit))
