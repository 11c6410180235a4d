"""ps output fields: header, width, alignment, what to read, and the formatter.

Widths, headers and alignment are procps-ng 4.0.2's format_array (src/ps/output.c);
each formatter reproduces the matching pr_* function's arithmetic. A formatter gets
the record, the run context and `room`, the cell budget procps calls max_rightward
(the column width, or for the last column what is left of the screen), and returns
the text; only user names and command columns use `room`.
"""

from __future__ import annotations

from pidone.core.ps.escape import escape_args, library_escape, ps_escape, text_cells
from pidone.core.ps.model import Context, Proc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Formatter = Callable[[Proc, Context, int], str]
    SortKey = Callable[[Proc, Context], object]

# alignment codes (output.c CF_*)
RIGHT, LEFT, USER, UNLIMITED, WCHAN = 1, 2, 3, 4, 5

# what a field needs besides /proc/PID/stat
NEED_STATUS, NEED_CMDLINE, NEED_USER, NEED_RUSER, NEED_TTY, NEED_WCHAN, NEED_UNIT = (
    "status",
    "cmdline",
    "user",
    "ruser",
    "tty",
    "wchan",
    "unit",
)
# ...and what on a kernel /proc only status has: VmLck (STAT's L), the real uid, and
# an exact RSS (since Linux 6.16 status sums the per-CPU rss counters, stat's rss is
# the approximate read; they differ by up to a few hundred KiB). VSZ, State, PPid,
# Threads are the same in stat, and the euid is the owner of /proc/PID.
NEED_STATUS_ONLY = "status-only"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class Field:
    """One entry of the format table."""

    __slots__ = ("align", "fmt", "header", "key", "name", "needs", "pidmax", "width")

    def __init__(
        self,
        name: str,
        header: str,
        width: int,
        align: int,
        fmt: Formatter,
        key: SortKey,
        needs: tuple[str, ...] = (),
        pidmax: bool = False,
    ) -> None:
        self.name = name
        self.header = header
        self.width = width
        self.align = align
        self.fmt = fmt
        self.key = key
        self.needs = needs
        self.pidmax = pidmax


# ----------------------------------------------------------------- time helpers


def cpu_ticks(p: Proc, c: Context) -> int:
    total = p.utime + p.stime
    if c.include_dead_children:
        total += p.cutime + p.cstime
    return total


def elapsed_ticks(p: Proc, c: Context) -> int:
    """boot_tics - start_time as procps computes it (unsigned long long)."""
    return (c.boot_tics - p.starttime) % (1 << 64)


def _jiffies(p: Proc, c: Context) -> int:
    # pids.c TIME_ELAPSED = (double)(boot_tics - start) / hertz; output.c multiplies
    # back by Hertz and truncates to an integer, float rounding included.
    t = elapsed_ticks(p, c)
    return int(t / c.hz * c.hz) if t > 0 else 0


def pcpu_permille(p: Proc, c: Context) -> int:
    jiffies = _jiffies(p, c)
    return (cpu_ticks(p, c) * 1000) // jiffies if jiffies else 0


def utilization(p: Proc, c: Context) -> float:
    """pids.c UTILIZATION, the %CPU sort key: ticks * 100.0 / (boot_tics - start)."""
    t = elapsed_ticks(p, c)
    return cpu_ticks(p, c) * 100.0 / t if t > 0 else 0.0


def start_seconds(p: Proc, c: Context) -> int:
    return c.btime + p.starttime // c.hz


def _hms(t: int) -> tuple[int, int, int, int]:
    return t // 86400, t // 3600 % 24, t // 60 % 60, t % 60


# ------------------------------------------------------------------- formatters


def f_pid(p: Proc, c: Context, room: int) -> str:
    return str(p.tgid)


def f_ppid(p: Proc, c: Context, room: int) -> str:
    return str(p.ppid)


def f_pgid(p: Proc, c: Context, room: int) -> str:
    return str(p.pgrp)


def f_sid(p: Proc, c: Context, room: int) -> str:
    return str(p.session)


def f_tpgid(p: Proc, c: Context, room: int) -> str:
    return str(p.tpgid)


def f_pcpu(p: Proc, c: Context, room: int) -> str:
    # output.c pr_pcpu, inlined (it runs once per row of `ps aux`)
    t = (c.boot_tics - p.starttime) % (1 << 64)
    jiffies = int(t / c.hz * c.hz) if t > 0 else 0
    if not jiffies:
        return "0.0"
    total = p.utime + p.stime
    if c.include_dead_children:
        total += p.cutime + p.cstime
    pcpu = (total * 1000 // jiffies) & 0xFFFFFFFF
    if pcpu > 999:
        return str(pcpu // 10)
    text = _PERMILLE.get(pcpu)
    if text is None:
        text = _PERMILLE[pcpu] = f"{pcpu // 10}.{pcpu % 10}"
    return text


def f_c(p: Proc, c: Context, room: int) -> str:
    jiffies = _jiffies(p, c)
    pcpu = (cpu_ticks(p, c) * 100) // jiffies if jiffies else 0
    return f"{min(pcpu, 99):2}"


# per-mille -> text, filled as met: these two columns are formatted on every `ps aux`
# row, and most rows share a few values (building all 2,000 up front cost ~1 ms)
_PERMILLE: dict[int, str] = {}
_PERMILLE_2: dict[int, str] = {}


def f_pmem(p: Proc, c: Context, room: int) -> str:
    # output.c pr_pmem: "%2u.%u" of rss * 1000 / MemTotal, capped at 99.9
    pmem = p.vm_rss * 1000 // c.memtotal
    if pmem > 999:
        pmem = 999
    text = _PERMILLE_2.get(pmem)
    if text is None:
        text = _PERMILLE_2[pmem] = f"{pmem // 10:2}.{pmem % 10}"
    return text


def f_vsz(p: Proc, c: Context, room: int) -> str:
    return str(p.vm_size)


def f_rss(p: Proc, c: Context, room: int) -> str:
    return str(p.vm_rss)


def f_sz(p: Proc, c: Context, room: int) -> str:
    return str(p.vm_size // (c.page_size // 1024))


def f_tty(p: Proc, c: Context, room: int) -> str:
    return p.tty


def f_stat(p: Proc, c: Context, room: int) -> str:
    # output.c pr_stat: state, then < N L s l + in this order
    out = p.state
    if p.nice < 0:
        out += "<"
    elif p.nice > 0:
        out += "N"
    if p.vm_lck:
        out += "L"
    if p.session == p.tgid:
        out += "s"
    if p.nlwp > 1:
        out += "l"
    if p.pgrp == p.tpgid:
        out += "+"
    return out


def f_s(p: Proc, c: Context, room: int) -> str:
    return p.state


def f_bsdtime(p: Proc, c: Context, room: int) -> str:
    total = p.utime + p.stime
    if c.include_dead_children:
        total += p.cutime + p.cstime
    u = total // c.hz
    text = _BSDTIME.get(u)
    if text is None:
        text = _BSDTIME[u] = f"{u // 60:3}:{u % 60:02}"
    return text


_BSDTIME: dict[int, str] = {}


def f_time(p: Proc, c: Context, room: int) -> str:
    dd, hh, mm, ss = _hms((p.utime + p.stime) // c.hz)
    return f"{dd}-{hh:02}:{mm:02}:{ss:02}" if dd else f"{hh:02}:{mm:02}:{ss:02}"


def f_times(p: Proc, c: Context, room: int) -> str:
    return str((p.utime + p.stime) // c.hz)


def f_etime(p: Proc, c: Context, room: int) -> str:
    dd, hh, mm, ss = _hms(elapsed_ticks(p, c) // c.hz)
    out = f"{dd}-" if dd else ""
    if dd or hh:
        out += f"{hh:02}:"
    return out + f"{mm:02}:{ss:02}"


def f_etimes(p: Proc, c: Context, room: int) -> str:
    return str(elapsed_ticks(p, c) // c.hz)


def f_stime(p: Proc, c: Context, room: int) -> str:
    # output.c pr_stime: same calendar day -> %H:%M, same year -> %b%d, else %Y
    t = c.btime + p.starttime // c.hz
    text = c.stime_cache.get(t)
    if text is None:
        text = c.stime_cache[t] = _stime(t, c)
    return text


def _stime(t: int, c: Context) -> str:
    year, mon, mday, hour, minute, _s, _w, yday = c.localtime(t)
    if year != c.now_year:
        return str(year)
    if yday != c.now_yday:
        return f"{_MONTHS[mon - 1]}{mday:02}"
    return f"{hour:02}:{minute:02}"


def f_start(p: Proc, c: Context, room: int) -> str:
    # output.c pr_start: within 24 hours -> HH:MM:SS, else "  Mmm dd" (from ctime())
    t = start_seconds(p, c)
    _y, mon, mday, hour, minute, sec, _w, _yd = c.localtime(t)
    if t + 86400 > c.now:
        return f"{hour:02}:{minute:02}:{sec:02}"
    return f"  {_MONTHS[mon - 1]} {mday:02}"


def f_lstart(p: Proc, c: Context, room: int) -> str:
    year, mon, mday, hour, minute, sec, wday, _yd = c.localtime(start_seconds(p, c))
    return f"{_DAYS[wday]} {_MONTHS[mon - 1]} {mday:2} {hour:02}:{minute:02}:{sec:02} {year}"


_NAME_CACHE: dict[tuple[str | None, int, int, bool], str] = {}


def name_column(name: str | None, number: int, room: int, utf8: bool) -> str:
    """output.c do_pr_name: the name, cut to room-1 bytes plus '+', or the number."""
    key = (name, number, room, utf8)
    text = _NAME_CACHE.get(key)
    if text is None:
        text = _NAME_CACHE[key] = _name_column(name, number, room, utf8)
    return text


def _name_column(name: str | None, number: int, room: int, utf8: bool) -> str:
    if name is not None:
        text, cells = ps_escape(name.encode("utf-8", "surrogateescape"), utf8, 1 << 17)
        if cells <= room:
            return text
        raw = text.encode()
        if room >= 1 and raw[room - 1] < 127:
            return raw[: room - 1].decode() + "+"
    return str(number)


def f_user(p: Proc, c: Context, room: int) -> str:
    return name_column(p.user, p.euid, room, c.utf8)


def f_ruser(p: Proc, c: Context, room: int) -> str:
    return name_column(p.ruser, p.ruid, room, c.utf8)


def f_euid(p: Proc, c: Context, room: int) -> str:
    return str(p.euid)


def f_ruid(p: Proc, c: Context, room: int) -> str:
    return str(p.ruid)


def f_nlwp(p: Proc, c: Context, room: int) -> str:
    return str(p.nlwp)


def f_ni(p: Proc, c: Context, room: int) -> str:
    # only SCHED_OTHER (0) and SCHED_BATCH (3) have a nice value (sched_setscheduler(2))
    if p.policy not in (0, 3, -1):
        return "-"
    return str(p.nice)


def f_pri(p: Proc, c: Context, room: int) -> str:
    return str(39 - p.priority)


def f_priority(p: Proc, c: Context, room: int) -> str:
    return str(p.priority)


def f_psr(p: Proc, c: Context, room: int) -> str:
    return str(p.processor)


def f_flags(p: Proc, c: Context, room: int) -> str:
    return f"{(p.flags >> 6) & 7:o}"


def f_wchan(p: Proc, c: Context, room: int) -> str:
    return p.wchan[: max(room, 0)]


def f_unit(p: Proc, c: Context, room: int) -> str:
    return p.unit or "-"


def args_bytes(p: Proc, c: Context) -> bytes:
    """The library's CMDLINE string: escaped arguments, or [comm] (<defunct>)."""
    raw = p.cmdline or b""
    if raw:
        body = escape_args(raw)
        return library_escape(body, c.utf8) if body else b"?"
    out = b"[" + library_escape(p.comm, c.utf8) + b"]"
    if p.state == "Z":
        out += b" <defunct>"
    return out


def _forest(c: Context, room: int) -> str:
    # output.c forest_helper: 4 columns per level (2 for -H), while room lasts
    prefix = c.forest_prefix
    if not prefix:
        return ""
    step = 2 if c.forest_type == "u" else 4
    keep = min(len(prefix), max(room, 0) // step)
    if step == 2:
        return "  " * keep
    return "".join(
        "    " if ch == " " else " |  " if ch == "|" else " \\_ " for ch in prefix[:keep]
    )


# NUL and newline -> space (read_unvectored), other controls masked as both escape
# stages would in a UTF-8 locale ('?') or an 8-bit one ('.'), for ASCII command lines
_CONTROLS = bytes([*range(1, 10), *range(11, 32), 127])
_ARGS_UTF8 = bytes.maketrans(b"\0\n" + _CONTROLS, b"  " + b"?" * len(_CONTROLS))
_ARGS_8BIT = bytes.maketrans(b"\0\n" + _CONTROLS, b"  " + b"." * len(_CONTROLS))


def f_args(p: Proc, c: Context, room: int) -> str:
    raw = p.cmdline
    if raw and not c.forest_prefix and raw.isascii():
        body = raw.rstrip(b"\0")
        if len(body) == len(raw) and body[-1:] in (b" ", b"\n"):
            body = body[:-1]
        if body:
            return body[:room].translate(_ARGS_UTF8 if c.utf8 else _ARGS_8BIT).decode()
    lead = _forest(c, room)
    text, _cells = ps_escape(args_bytes(p, c), c.utf8, room - len(lead))
    return lead + text


def f_comm(p: Proc, c: Context, room: int) -> str:
    if c.unix_f:
        return f_args(p, c, room)
    lead = _forest(c, room)
    text, _cells = ps_escape(library_escape(p.comm, c.utf8), c.utf8, room - len(lead))
    return lead + text


# ------------------------------------------------------------------- sort keys


def _k(attr: str) -> SortKey:
    return lambda p, c: getattr(p, attr)


def _k_user(p: Proc, c: Context) -> object:
    return p.user if p.user is not None else str(p.euid)


def _k_args(p: Proc, c: Context) -> object:
    return args_bytes(p, c)


def _k_time(p: Proc, c: Context) -> object:
    return p.utime + p.stime


S, C, U, R, T, W, N = (
    (),
    (NEED_CMDLINE,),
    (NEED_STATUS, NEED_USER),
    (NEED_STATUS, NEED_STATUS_ONLY, NEED_RUSER),
    (NEED_TTY,),
    (NEED_WCHAN,),
    (NEED_UNIT,),
)
ST = (NEED_STATUS,)
SO = (NEED_STATUS, NEED_STATUS_ONLY)

_TABLE = (
    Field("%cpu", "%CPU", 4, RIGHT, f_pcpu, utilization),
    Field("%mem", "%MEM", 4, RIGHT, f_pmem, _k("vm_rss"), SO),
    Field("args", "COMMAND", 27, UNLIMITED, f_args, _k_args, C),
    Field("bsdtime", "TIME", 6, RIGHT, f_bsdtime, cpu_ticks),
    Field("c", "C", 2, RIGHT, f_c, utilization),
    Field("cmd", "CMD", 27, UNLIMITED, f_args, _k_args, C),
    Field("comm", "COMMAND", 15, UNLIMITED, f_comm, _k("comm"), C),
    Field("command", "COMMAND", 27, UNLIMITED, f_args, _k_args, C),
    Field("cputime", "TIME", 8, RIGHT, f_time, _k_time),
    Field("cputimes", "TIME", 8, RIGHT, f_times, _k_time),
    Field("etime", "ELAPSED", 11, RIGHT, f_etime, lambda p, c: -p.starttime),
    Field("etimes", "ELAPSED", 7, RIGHT, f_etimes, lambda p, c: -p.starttime),
    Field("euid", "EUID", 5, RIGHT, f_euid, _k("euid"), ST),
    Field("euser", "EUSER", 8, USER, f_user, _k_user, U),
    Field("f", "F", 1, RIGHT, f_flags, _k("flags")),
    Field("flags", "F", 1, RIGHT, f_flags, _k("flags")),
    Field("lstart", "STARTED", 24, RIGHT, f_lstart, _k("starttime")),
    Field("ni", "NI", 3, RIGHT, f_ni, _k("nice")),
    Field("nice", "NI", 3, RIGHT, f_ni, _k("nice")),
    Field("nlwp", "NLWP", 4, RIGHT, f_nlwp, _k("nlwp")),
    Field("pcpu", "%CPU", 4, RIGHT, f_pcpu, utilization),
    Field("pgid", "PGID", 5, RIGHT, f_pgid, _k("pgrp"), pidmax=True),
    Field("pgrp", "PGRP", 5, RIGHT, f_pgid, _k("pgrp"), pidmax=True),
    Field("pid", "PID", 5, RIGHT, f_pid, _k("tgid"), pidmax=True),
    Field("pmem", "%MEM", 4, RIGHT, f_pmem, _k("vm_rss"), SO),
    Field("ppid", "PPID", 5, RIGHT, f_ppid, _k("ppid"), pidmax=True),
    Field("pri", "PRI", 3, RIGHT, f_pri, _k("priority")),
    Field("priority", "PRI", 3, RIGHT, f_priority, _k("priority")),
    Field("psr", "PSR", 3, RIGHT, f_psr, _k("processor")),
    Field("rss", "RSS", 5, RIGHT, f_rss, _k("vm_rss"), SO),
    Field("rsz", "RSZ", 5, RIGHT, f_rss, _k("vm_rss"), SO),
    Field("ruid", "RUID", 5, RIGHT, f_ruid, _k("ruid"), SO),
    Field("ruser", "RUSER", 8, USER, f_ruser, _k("ruid"), R),
    Field("s", "S", 1, LEFT, f_s, _k("state")),
    Field("sess", "SESS", 5, RIGHT, f_sid, _k("session"), pidmax=True),
    Field("sid", "SID", 5, RIGHT, f_sid, _k("session"), pidmax=True),
    Field("start", "STARTED", 8, RIGHT, f_start, _k("starttime")),
    Field("start_time", "START", 5, RIGHT, f_stime, _k("starttime")),
    Field("stat", "STAT", 4, LEFT, f_stat, _k("state"), SO),
    Field("state", "S", 1, LEFT, f_s, _k("state")),
    Field("stime", "STIME", 5, RIGHT, f_stime, _k("starttime")),
    Field("sz", "SZ", 5, RIGHT, f_sz, _k("vm_size"), ST),
    Field("thcount", "THCNT", 5, RIGHT, f_nlwp, _k("nlwp")),
    Field("time", "TIME", 8, RIGHT, f_time, _k_time),
    Field("times", "TIME", 8, RIGHT, f_times, _k_time),
    Field("tname", "TTY", 8, LEFT, f_tty, _k("tty_nr"), T),
    Field("tpgid", "TPGID", 5, RIGHT, f_tpgid, _k("tpgid"), pidmax=True),
    Field("tt", "TT", 8, LEFT, f_tty, _k("tty_nr"), T),
    Field("tty", "TT", 8, LEFT, f_tty, _k("tty_nr"), T),
    Field("ucmd", "CMD", 15, UNLIMITED, f_comm, _k("comm"), C),
    Field("ucomm", "COMMAND", 15, UNLIMITED, f_comm, _k("comm"), C),
    Field("uid", "UID", 5, RIGHT, f_euid, _k("euid"), ST),
    Field("uid_hack", "UID", 8, USER, f_user, _k_user, U),
    Field("uname", "USER", 8, USER, f_user, _k_user, U),
    Field("unit", "UNIT", 31, LEFT, f_unit, lambda p, c: p.unit or "", N),
    Field("user", "USER", 8, USER, f_user, _k_user, U),
    Field("vsize", "VSZ", 6, RIGHT, f_vsz, _k("vm_size"), ST),
    Field("vsz", "VSZ", 6, RIGHT, f_vsz, _k("vm_size"), ST),
    Field("wchan", "WCHAN", 6, WCHAN, f_wchan, _k("wchan"), W),
)

FIELDS: dict[str, Field] = {f.name: f for f in _TABLE}

# output.c macro_array entries pidone expands (the default BSD/SysV lists)
MACROS: dict[str, str] = {
    "DefBSD": "pid,tname,stat,bsdtime,args",
    "DefSysV": "pid,tname,time,cmd",
}

__all__ = ["FIELDS", "LEFT", "MACROS", "RIGHT", "UNLIMITED", "USER", "WCHAN", "Field", "text_cells"]
