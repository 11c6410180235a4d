"""The per-process record and the per-run context that ps formatters read.

Both are __slots__ classes rather than dataclasses: `pidone ps` builds one record per
process on every run, and importing dataclasses alone costs ~30 ms of start-up on the
reference box (python -X importtime), a quarter of the whole `ps aux` budget.
Treat instances as immutable once built.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs ~20 ms to import; mypy honours this name
if TYPE_CHECKING:
    from collections.abc import Callable

    # localtime(t) -> (year, month 1-12, mday, hour, minute, second, wday 0=Monday, yday)
    LocalTime = Callable[[int], tuple[int, int, int, int, int, int, int, int]]


class Proc:
    """One process as the ps columns see it (kernel field names, stat(5) units)."""

    __slots__ = (
        "cmdline",
        "comm",
        "cstime",
        "cutime",
        "euid",
        "flags",
        "gid",
        "nice",
        "nlwp",
        "pgrp",
        "pid",
        "policy",
        "ppid",
        "priority",
        "processor",
        "rtprio",
        "ruid",
        "ruser",
        "session",
        "starttime",
        "state",
        "stime",
        "tpgid",
        "tty",
        "tty_nr",
        "unit",
        "user",
        "utime",
        "vm_lck",
        "vm_rss",
        "vm_size",
        "wchan",
    )

    def __init__(self, pid: int, comm: bytes, fields: list[bytes]) -> None:
        # fields: /proc/PID/stat from field 3 on (index = field number - 3)
        self.pid = pid
        self.comm = comm
        self.state = fields[0].decode()
        self.ppid = int(fields[1])
        self.pgrp = int(fields[2])
        self.session = int(fields[3])
        self.tty_nr = int(fields[4])
        self.tpgid = int(fields[5])
        self.flags = int(fields[6])
        self.utime = int(fields[11])
        self.stime = int(fields[12])
        self.cutime = int(fields[13])
        self.cstime = int(fields[14])
        self.priority = int(fields[15])
        self.nice = int(fields[16])
        self.nlwp = int(fields[17])
        self.starttime = int(fields[19])
        self.processor = int(fields[36]) if len(fields) > 38 else 0
        self.rtprio = int(fields[37]) if len(fields) > 38 else 0
        self.policy = int(fields[38]) if len(fields) > 38 else -1
        self.euid = self.ruid = self.gid = 0
        self.vm_size = self.vm_rss = self.vm_lck = 0
        self.cmdline: bytes | None = None
        self.user: str | None = None
        self.ruser: str | None = None
        self.tty = "?"
        self.wchan = "-"
        self.unit: str | None = None

    def __repr__(self) -> str:
        return f"Proc(pid={self.pid}, comm={self.comm!r}, state={self.state!r})"


class Context:
    """What every row shares: clock, boot, memory, locale and option switches."""

    __slots__ = (
        "boot_tics",
        "btime",
        "forest_prefix",
        "forest_type",
        "hz",
        "include_dead_children",
        "localtime",
        "memtotal",
        "now",
        "now_yday",
        "now_year",
        "page_size",
        "unix_f",
        "utf8",
    )

    def __init__(
        self,
        *,
        hz: int,
        uptime: float,
        btime: int,
        now: int,
        memtotal: int,
        page_size: int,
        utf8: bool,
        localtime: LocalTime,
    ) -> None:
        self.hz = hz
        # pids.c: boot_tics = uptime_secs * hertz, converted to an integer (truncated)
        self.boot_tics = int(uptime * hz)
        self.btime = btime
        self.now = now
        self.memtotal = memtotal or 1
        self.page_size = page_size
        self.utf8 = utf8
        self.localtime = localtime
        tm = localtime(now)
        self.now_year = tm[0]
        self.now_yday = tm[7]
        self.include_dead_children = False
        self.unix_f = False
        self.forest_type = ""  # "", "b" (f), "g" (--forest), "u" (-H)
        self.forest_prefix = ""
