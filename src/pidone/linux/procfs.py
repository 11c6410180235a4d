"""Fast /proc readers: pure parse_* of file contents plus thin read_*(pid) wrappers.

Field offsets follow proc(5) ("/proc/[pid]/stat", "/proc/[pid]/status"). Reading goes
through os.open/os.read: one open, one or two reads, one close, no Python file object
(spec 07 §5: about 10-15 µs per file on the reference box, most of it kernel time).

Errors: the public read_* functions turn OSError into core.errors.NoSuchProcess (the
process is gone: ENOENT, ESRCH) or AccessDenied (EACCES, EPERM). core.errors is imported
only on that path, because importing it (it pulls in dataclasses) costs ~30 ms of start-up
and `pidone ps` must start fast. The ps hot loop uses read_file(), which returns None
instead of raising, because processes vanish all the time while /proc is walked.

Records here are __slots__ classes, not dataclasses, for the same start-up reason.
Treat them as immutable.
"""

from __future__ import annotations

import os

PROC = "/proc"

_O_RDONLY = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def read_file(path: str, size: int = 4096) -> bytes | None:
    """Whole content of a small /proc file, or None when it cannot be read.

    seq_file-backed files (stat, status) and cmdline return a short read only at EOF,
    so a read shorter than `size` ends the loop without an extra read() call.
    """
    try:
        fd = os.open(path, _O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, size)
        if len(data) < size:
            return data
        chunks = [data]
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _raise_for(pid: int, what: str, err: OSError) -> None:
    import errno

    from pidone.core.errors import AccessDenied, NoSuchProcess

    if err.errno in (errno.EACCES, errno.EPERM):
        raise AccessDenied(f"/proc/{pid}/{what}: permission denied") from err
    raise NoSuchProcess(f"/proc/{pid}/{what}: no such process") from err


def read_bytes(pid: int, what: str, root: str = PROC) -> bytes:
    """Content of /proc/PID/<what>; raises NoSuchProcess / AccessDenied."""
    path = f"{root}/{pid}/{what}"
    try:
        fd = os.open(path, _O_RDONLY)
        try:
            chunks = []
            while True:
                data = os.read(fd, 65536)
                if not data:
                    break
                chunks.append(data)
        finally:
            os.close(fd)
    except OSError as err:
        _raise_for(pid, what, err)
        raise  # pragma: no cover - _raise_for always raises
    return b"".join(chunks)


# --------------------------------------------------------------------------- stat


class Stat:
    """Parsed /proc/PID/stat (proc(5) field numbers in comments)."""

    __slots__ = (
        "comm",
        "cstime",
        "cutime",
        "flags",
        "nice",
        "num_threads",
        "pgrp",
        "pid",
        "policy",
        "ppid",
        "priority",
        "processor",
        "rss_pages",
        "rt_priority",
        "session",
        "starttime",
        "state",
        "stime",
        "tpgid",
        "tty_nr",
        "utime",
        "vsize",
    )

    pid: int  # (1)
    comm: str  # (2) without the parentheses; bytes decoded with surrogateescape
    state: str  # (3)
    ppid: int  # (4)
    pgrp: int  # (5)
    session: int  # (6)
    tty_nr: int  # (7)
    tpgid: int  # (8)
    flags: int  # (9)
    utime: int  # (14) clock ticks
    stime: int  # (15)
    cutime: int  # (16)
    cstime: int  # (17)
    priority: int  # (18)
    nice: int  # (19)
    num_threads: int  # (20)
    starttime: int  # (22) clock ticks after boot
    vsize: int  # (23) bytes
    rss_pages: int  # (24)
    processor: int  # (39)
    rt_priority: int  # (40)
    policy: int  # (41)

    def __repr__(self) -> str:
        return f"Stat(pid={self.pid}, comm={self.comm!r}, state={self.state!r}, ppid={self.ppid})"


def split_stat(data: bytes) -> tuple[int, bytes, list[bytes]]:
    """(pid, comm bytes, fields from field 3 on): comm is between the first '(' and the
    LAST ')' because a command name may itself contain ') ' (proc(5))."""
    left = data.find(b"(")
    right = data.rfind(b")")
    if left < 0 or right < left:
        raise ValueError("malformed stat line")
    return int(data[:left]), data[left + 1 : right], data[right + 2 :].split()


def parse_stat(data: bytes) -> Stat:
    """Parse the content of /proc/PID/stat."""
    pid, comm, f = split_stat(data)
    st = Stat()
    st.pid = pid
    st.comm = comm.decode("utf-8", "surrogateescape")
    st.state = f[0].decode("ascii", "replace")
    st.ppid = int(f[1])
    st.pgrp = int(f[2])
    st.session = int(f[3])
    st.tty_nr = int(f[4])
    st.tpgid = int(f[5])
    st.flags = int(f[6])
    st.utime = int(f[11])
    st.stime = int(f[12])
    st.cutime = int(f[13])
    st.cstime = int(f[14])
    st.priority = int(f[15])
    st.nice = int(f[16])
    st.num_threads = int(f[17])
    st.starttime = int(f[19])
    st.vsize = int(f[20])
    st.rss_pages = int(f[21])
    st.processor = int(f[36]) if len(f) > 36 else 0
    st.rt_priority = int(f[37]) if len(f) > 37 else 0
    st.policy = int(f[38]) if len(f) > 38 else 0
    return st


def read_stat(pid: int, root: str = PROC) -> Stat:
    """Parsed /proc/PID/stat; raises NoSuchProcess / AccessDenied."""
    return parse_stat(read_bytes(pid, "stat", root))


# ------------------------------------------------------------------------- status


class Status:
    """The /proc/PID/status lines ps needs (kernel threads lack the Vm* lines)."""

    __slots__ = ("gids", "name", "threads", "uids", "vm_lck", "vm_rss", "vm_size")

    name: str
    uids: tuple[int, int, int, int]  # real, effective, saved, filesystem
    gids: tuple[int, int, int, int]
    threads: int
    vm_size: int  # KiB, 0 when absent
    vm_rss: int
    vm_lck: int


def _ids(value: bytes) -> tuple[int, int, int, int]:
    parts = value.split()
    return (int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3]))


def parse_status(data: bytes) -> Status:
    """Parse the content of /proc/PID/status."""
    st = Status()
    st.name = ""
    st.uids = st.gids = (0, 0, 0, 0)
    st.threads = 1
    st.vm_size = st.vm_rss = st.vm_lck = 0
    for line in data.split(b"\n"):
        key, sep, value = line.partition(b":")
        if not sep:
            continue
        if key == b"Name":
            st.name = value.strip().decode("utf-8", "surrogateescape")
        elif key == b"Uid":
            st.uids = _ids(value)
        elif key == b"Gid":
            st.gids = _ids(value)
        elif key == b"Threads":
            st.threads = int(value)
        elif key == b"VmSize":
            st.vm_size = int(value.split()[0])
        elif key == b"VmRSS":
            st.vm_rss = int(value.split()[0])
        elif key == b"VmLck":
            st.vm_lck = int(value.split()[0])
    return st


def read_status(pid: int, root: str = PROC) -> Status:
    """Parsed /proc/PID/status; raises NoSuchProcess / AccessDenied."""
    return parse_status(read_bytes(pid, "status", root))


# ------------------------------------------------------------------------ cmdline


def parse_cmdline(data: bytes) -> list[bytes]:
    """argv from /proc/PID/cmdline (NUL separated, NUL terminated; may be empty)."""
    if not data:
        return []
    return data.rstrip(b"\0").split(b"\0")


def read_cmdline(pid: int, root: str = PROC) -> bytes:
    """Raw /proc/PID/cmdline bytes (empty for kernel threads and zombies)."""
    return read_bytes(pid, "cmdline", root)


def read_argv(pid: int, root: str = PROC) -> list[str]:
    """argv of /proc/PID/cmdline as text; [] for kernel threads, zombies and gone PIDs."""
    data = read_file(f"{root}/{pid}/cmdline")
    return [a.decode("utf-8", "replace") for a in parse_cmdline(data)] if data else []


def read_comm(pid: int, root: str = PROC) -> str:
    """/proc/PID/comm as text ("" when the process is gone)."""
    data = read_file(f"{root}/{pid}/comm")
    return "" if data is None else data.rstrip(b"\n").decode("utf-8", "replace")


def read_cgroup(pid: int, root: str = PROC) -> bytes:
    """Raw /proc/PID/cgroup bytes (see core.cgroupunit)."""
    return read_bytes(pid, "cgroup", root)


# --------------------------------------------------------------------- system-wide


def list_pids(root: str = PROC) -> list[int]:
    """PIDs of all processes (thread groups), ascending like readdir of /proc."""
    pids = [int(name) for name in os.listdir(root) if name.isdigit()]
    pids.sort()
    return pids


def list_pids_unsorted(root: str = PROC) -> list[int]:
    """PIDs in the directory's own readdir order (what procps walks; ascending on a
    real /proc, arbitrary on a fake table bind-mounted over it)."""
    return [int(name) for name in os.listdir(root) if name.isdigit()]


def read_pid_length(root: str = PROC) -> int:
    """Length of the pid_max text: procps's PID column width (procps_pid_length()).

    procps counts the characters of /proc/sys/kernel/pid_max (so 32768 gives 5 and
    4194304 gives 7), falling back to 5.
    """
    data = read_file(f"{root}/sys/kernel/pid_max")
    if not data:
        return 5
    return len(data.rstrip(b"\n"))


def parse_btime(data: bytes) -> int:
    """`btime` (boot time, seconds since the epoch) from /proc/stat content."""
    at = data.find(b"\nbtime ")
    if at < 0:
        return 0
    return int(data[at + 7 : data.find(b"\n", at + 1)])


def read_boot_time(root: str = PROC) -> int:
    return parse_btime(read_file(f"{root}/stat", 65536) or b"")


def read_uptime(root: str = PROC) -> float:
    """Seconds since boot from /proc/uptime (CLOCK_BOOTTIME, two decimals)."""
    data = read_file(f"{root}/uptime") or b"0 0"
    return float(data.split()[0])


def parse_memtotal(data: bytes) -> int:
    at = data.find(b"MemTotal:")
    if at < 0:
        return 0
    return int(data[at + 9 : data.find(b"kB", at)])


def read_memtotal(root: str = PROC) -> int:
    """MemTotal in KiB from /proc/meminfo."""
    return parse_memtotal(read_file(f"{root}/meminfo", 8192) or b"")


def clock_ticks() -> int:
    """USER_HZ, the unit of the stat time fields (sysconf(_SC_CLK_TCK))."""
    return os.sysconf("SC_CLK_TCK")


def page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE")


# ----------------------------------------------------------------------- tty names
#
# procps dev_to_tty() (library/devname.c) names a tty_nr in this order: the
# /proc/tty/drivers table, the /proc/PID/fd/2 link, a table of well-known majors, the
# /proc/PID/fd/255 link (bash keeps its tty there). Every candidate path must exist
# and be a character device with exactly that major/minor, else the next way is
# tried; if none works, the TTY is "?". tty_nr packs the device number as in
# glibc's major()/minor(): major = (dev >> 8) & 0xfff, minor = (dev & 0xff) |
# ((dev >> 12) & 0xfff00).


def dev_major(dev: int) -> int:
    return (dev >> 8) & 0xFFF


def dev_minor(dev: int) -> int:
    return (dev & 0xFF) | ((dev >> 12) & 0xFFF00)


def parse_tty_drivers(data: bytes) -> list[tuple[str, bool, int, int, int]]:
    """(name, devfs_style, major, minor_first, minor_last) from /proc/tty/drivers.

    procps prepends each entry to a list, so later lines are tried first; the list
    returned here is in that search order. A name ending in "%d" is devfs style.
    """
    out: list[tuple[str, bool, int, int, int]] = []
    for line in data.decode("latin-1").splitlines():
        at = line.find(" /dev/")
        if at < 0:
            continue
        rest = line[at + 6 :]
        name, _, tail = rest.partition(" ")
        devfs = name.endswith("%d") and len(name) >= 3
        if devfs:
            name = name[:-2]
        name = name[:15]
        fields = tail.split()
        if len(fields) < 2 or not fields[0].isdigit():
            continue
        first, dash, last = fields[1].partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            continue
        lo = int(first)
        out.append((name, devfs, int(fields[0]), lo, int(last) if dash else lo))
    out.reverse()
    return out


_GUESS_PREFIX = {
    11: "ttyB", 17: "ttyH", 19: "ttyC", 22: "ttyD", 23: "ttyD", 24: "ttyE", 32: "ttyX",
    43: "ttyI", 46: "ttyR", 48: "ttyL", 57: "ttyP", 71: "ttyF", 75: "ttyW", 78: "ttyM",
    105: "ttyV", 112: "ttyM", 148: "ttyT", 154: "ttySR", 164: "ttyCH", 166: "ttyACM",
    172: "ttyMX", 174: "ttySI", 188: "ttyUSB", 208: "ttyU", 216: "ttyUB", 224: "ttyY",
    227: "3270/tty", 229: "iseries/vtty", 256: "ttyEQ",
}  # fmt: skip


def guess_tty_path(major: int, minor: int) -> str | None:
    """The conventional /dev path of a tty device (devname.c guess_name())."""
    if major == 4:
        return f"/dev/tty{minor}" if minor < 64 else f"/dev/ttyS{minor - 64}"
    if 136 <= major <= 143:
        return f"/dev/pts/{minor + (major - 136) * 256}"
    if major == 3 and minor <= 255:
        return "/dev/tty" + "pqrstuvwxyzabcde"[minor >> 4] + "0123456789abcdef"[minor & 15]
    if major == 156:
        return f"/dev/ttySR{minor + 256}"
    prefix = _GUESS_PREFIX.get(major)
    return None if prefix is None else f"/dev/{prefix}{minor}"


class TtyNames:
    """tty_nr -> name as procps prints it in the TTY column (ABBREV_DEV: no "/dev/")."""

    def __init__(self, proc: str = PROC) -> None:
        self._proc = proc
        self._drivers: list[tuple[str, bool, int, int, int]] | None = None
        self.cache: dict[int, str | None] = {0: "?"}  # tty_nr -> name (None: per pid)

    @staticmethod
    def _is_dev(path: str, major: int, minor: int) -> bool:
        try:
            rdev = os.stat(path).st_rdev
        except OSError:
            return False
        return os.major(rdev) == major and os.minor(rdev) == minor

    def _driver_name(self, major: int, minor: int) -> str | None:
        if self._drivers is None:
            data = read_file(f"{self._proc}/tty/drivers", 16384)
            self._drivers = parse_tty_drivers(data or b"")
        for name, devfs, maj, lo, hi in self._drivers:
            if maj == major and lo <= minor <= hi:
                for path in (f"/dev/{name}{minor}", f"/dev/{name}/{minor}"):
                    if self._is_dev(path, major, minor):
                        return path
                if devfs:
                    return None
                path = f"/dev/{name}"
                return path if self._is_dev(path, major, minor) else None
        return None

    def _link_name(self, pid: int, fd: str, major: int, minor: int) -> str | None:
        try:
            path = os.readlink(f"{self._proc}/{pid}/fd/{fd}")
        except OSError:
            return None
        if not path or len(path) >= 127:
            return None
        return path if self._is_dev(path, major, minor) else None

    def name(self, tty_nr: int, pid: int) -> str:
        """The TTY column text for a process with this tty_nr."""
        cached = self.cache.get(tty_nr, "")
        if cached:
            return cached
        major, minor = dev_major(tty_nr), dev_minor(tty_nr)
        if cached == "":  # never tried: the pid-independent driver table first
            path = self._driver_name(major, minor)
            text = None if path is None else abbreviate_tty(path)
            self.cache[tty_nr] = text
            if text is not None:
                return text
        path = self._link_name(pid, "2", major, minor)
        if path is None:
            guess = guess_tty_path(major, minor)
            if guess is not None and self._is_dev(guess, major, minor):
                path = guess
        if path is None:
            path = self._link_name(pid, "255", major, minor)
        return "?" if path is None else abbreviate_tty(path)


def abbreviate_tty(path: str) -> str:
    """Strip "/dev/" (when more follows) and mask bytes ps will not print."""
    if path.startswith("/dev/") and len(path) > 5:
        path = path[5:]
    raw = path.encode("utf-8", "surrogateescape")[:63]
    return "".join(chr(c) if 32 < c <= 126 else "?" for c in raw)


def read_initial_environ() -> dict[str, str]:
    """The environment execve() gave this process, from /proc/self/environ: Python's PEP
    538 locale coercion rewrites LC_CTYPE in os.environ when the locale is C, and this
    file keeps what the process was started with. Empty when it cannot be read."""
    data = read_file("/proc/self/environ", 1 << 20) or b""
    found: dict[str, str] = {}
    for item in data.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            found[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
    return found
