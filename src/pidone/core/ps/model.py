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
        "ppid",
        "priority",
        "ruid",
        "ruser",
        "session",
        "starttime",
        "state",
        "stime",
        "tail",
        "tgid",
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
        # fields: /proc/PID/stat from field 3 on (index = field number - 3), split
        # completely or with maxsplit=20 (then fields[20] holds the unsplit tail)
        self.pid = pid  # the /proc directory name (procps ID_PID)
        self.tgid = pid  # the PID column (procps ID_TGID; status "Tgid:" may change it)
        self.comm = comm
        self.state = fields[0].decode()
        # one C-level int() pass over fields 4..22 (proc(5) numbering)
        (self.ppid, self.pgrp, self.session, self.tty_nr, self.tpgid, self.flags,
         _minflt, _cminflt, _majflt, _cmajflt, self.utime, self.stime, self.cutime,
         self.cstime, self.priority, self.nice, self.nlwp, _itreal,
         self.starttime) = map(int, fields[1:20])  # fmt: skip
        self.tail = fields[20:]
        self.euid = self.ruid = self.gid = 0
        self.vm_size = self.vm_rss = self.vm_lck = 0
        self.cmdline: bytes | None = None
        self.user: str | None = None
        self.ruser: str | None = None
        self.tty = "?"
        self.wchan = "-"
        self.unit: str | None = None

    def _tail_field(self, index: int, default: int) -> int:
        tail = self.tail
        if len(tail) == 1:
            tail = tail[0].split()
        return int(tail[index]) if len(tail) > index else default

    @property
    def processor(self) -> int:  # (39)
        return self._tail_field(16, 0)

    @property
    def rtprio(self) -> int:  # (40)
        return self._tail_field(17, 0)

    @property
    def policy(self) -> int:  # (41); -1: unknown, treated like SCHED_OTHER
        return self._tail_field(18, -1)

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
        "stime_cache",
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
        self.stime_cache: dict[int, str] = {}
