"""The /proc walk behind `pidone ps`: read, select and fill one Proc per process.

Reads /proc/PID/stat and status for every process (status overrides stat, as in
procps-ng 4.0.2's readproc.c), cmdline only for command columns of selected processes,
wchan and cgroup only for their columns. Two phases: first every file is read (in a
forked child for the upper half of the PIDs when a CPU is idle), then everything is
parsed. The read loop is the hot path of `ps aux`: os.open/os.read/os.close inline.

Why status cannot be skipped for `aux`: STAT's L flag is VmLck (mm->locked_vm), which
no other /proc file shows (fs/proc/task_mmu.c task_mem(); stat(5) and statm have no
locked size, and no stat flag says a process has locked memory), and procps takes
VSZ, RSS, State, PPid, Threads, Tgid and the uids from status: on a fake /proc they
need not agree with stat.
"""

from __future__ import annotations

import os

from pidone.core.ps import fields as F
from pidone.core.ps.layout import Column
from pidone.core.ps.model import Context, Proc
from pidone.core.ps.options import Request, UsageError
from pidone.linux import procfs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    # (pid, stat, status, owner uid of /proc/PID or -1, cmdline, wchan, cgroup) as
    # read, b"" or None for a file not read; then the Proc if the selection built it
    Raw = tuple[int, bytes, bytes, int, bytes | None, bytes | None, bytes | None, Proc | None]

PROC = procfs.PROC

# What collect() read, kept alive for the caller: `pidone ps` ends with os._exit(), and
# letting ~30,000 small objects die one by one first would cost it ~3% (perf: tuple,
# list and object deallocation). cli.ps clears this when it returns normally instead.
RETAINED: list[object] = []


class _Users:
    """uid -> name through getpwuid, cached (None: no passwd entry, print the number)."""

    def __init__(self) -> None:
        import pwd

        self._getpwuid = pwd.getpwuid
        self.names: dict[int, str | None] = {}

    def name(self, uid: int) -> str | None:
        try:
            return self.names[uid]
        except KeyError:
            pass
        try:
            name: str | None = self._getpwuid(uid).pw_name
        except KeyError:
            name = None
        self.names[uid] = name
        return name

    def uid(self, name: str) -> int | None:
        import pwd

        try:
            return pwd.getpwnam(name).pw_uid
        except KeyError:
            return None


def _needs(columns: list[Column], req: Request) -> set[str]:
    needs: set[str] = set()
    for col in columns:
        needs.update(col.field.needs)
    for name, _reverse in req.sort:
        needs.update(F.FIELDS[name].needs)
    return needs


def _selector(req: Request, my_euid: int, my_tty: int) -> Callable[[Proc], bool]:
    bits = req.select_bits
    use_table = not req.all and bool(bits)
    pids, ppids, sids = req.pids, req.ppids, req.sids
    euids, ruids, names = req.euids, req.ruids, [n.encode() for n in req.names]

    def listed(p: Proc) -> bool:
        if p.tgid in pids or p.ppid in ppids or p.session in sids:
            return True
        if p.euid in euids or p.ruid in ruids:
            return True
        for name in names:
            if len(p.comm) == 15 and len(name) >= 15 and p.comm == name[:15]:
                return True
            if p.comm[:63] == name[:63]:
                return True
        return False

    def want(p: Proc) -> bool:
        # select.c want_this_proc()
        ok = True
        if not req.all:
            ok = False
            if use_table and (req.simple or not req.selection):
                index = (
                    (p.euid == my_euid)
                    | (p.session == p.tgid) << 1
                    | (not p.tty_nr) << 2
                    | (p.tty_nr == my_tty) << 3
                )
                ok = bool(bits & (1 << index))
            if not ok and req.selection:
                ok = listed(p)
        if req.running_only and p.state not in ("R", "D"):
            ok = False
        return ok != req.negate

    return want


def collect(
    req: Request,
    columns: list[Column],
    ctx: Context,
    units_from_daemon: Callable[[], dict[int, str] | None] = lambda: None,
) -> list[Proc]:
    """Read and select the processes the request asks for, in /proc's readdir order.

    Unit ownership comes from units_from_daemon() when it answers, else from cgroups.
    """
    needs = _needs(columns, req)
    want_cmdline = F.NEED_CMDLINE in needs
    users = _Users() if (F.NEED_USER in needs or F.NEED_RUSER in needs or req.user_names) else None
    for kind, name in req.user_names:
        uid = users.uid(name) if users else None
        if uid is None:
            raise UsageError(f"user name does not exist: {name}")
        (req.euids if kind == "e" else req.ruids).add(uid)
    ttys = procfs.TtyNames(PROC) if F.NEED_TTY in needs else None
    my_euid = os.geteuid()
    self_stat = (
        procfs.read_file(f"{PROC}/{os.getpid()}/stat")
        or procfs.read_file(f"{PROC}/self/stat")
        or b"0 (x) R 0 0 0 0"
    )
    my_tty = int(self_stat[self_stat.rfind(b")") + 2 :].split()[4])
    want = _selector(req, my_euid, my_tty)
    unit_map: dict[int, str] = {}
    if F.NEED_UNIT in needs:  # nothing of this is paid for unless a unit was asked for
        from pidone.core.cgroupunit import unit_from_cgroup

        unit_map = units_from_daemon() or {}

    need_user = F.NEED_USER in needs
    need_ruser = F.NEED_RUSER in needs
    need_wchan = F.NEED_WCHAN in needs
    need_unit = F.NEED_UNIT in needs
    read = procfs.read_file
    _open, _read, _close, rdonly = os.open, os.read, os.close, os.O_RDONLY

    check = not req.all or req.running_only or req.negate  # else every row is wanted
    # A selection by PID, parent, session or name keeps few processes: decide while
    # reading, and read the rest only for those. Any other (x, a, u, -u, -N, r...)
    # usually keeps many: read everything, decide when parsing (see read_raw).
    narrow = check and bool(req.pids or req.ppids or req.sids or req.names)
    # On a kernel /proc, status is read only for what nothing else has (see _build)
    kernel = procfs_is_kernel(PROC)
    skip_status = kernel and F.NEED_STATUS_ONLY not in needs and not req.ruids
    _stat = os.stat

    def read_cmdline(base: str) -> bytes:
        try:
            fd = _open(base + "cmdline", rdonly)
        except OSError:
            return b""
        try:
            data = _read(fd, 4096)
        except OSError:
            return b""
        finally:
            _close(fd)
        if len(data) == 4096:
            data += (read(base + "cmdline", 1 << 20) or b"")[4096:]
        return data

    def read_raw(pids: list[int]) -> list[Raw]:
        # Phase 1: the files of each process, read one right after the other (stat,
        # status, cmdline and the rest; with a narrow selection, the rest only for a
        # process it keeps). Little else happens here: the loop can run in a second
        # process too, and parsing in it would run with cold caches.
        raw: list[Raw] = []
        keep = raw.append
        for pid in pids:
            base = f"{PROC}/{pid}/"
            try:
                fd = _open(base + "stat", rdonly)
            except OSError:
                continue
            try:
                data = _read(fd, 2048)
            except OSError:
                continue
            finally:
                _close(fd)
            owner = -1
            status = b""
            if skip_status:
                try:
                    owner = _stat(base).st_uid
                except OSError:
                    continue
            else:
                try:
                    fd = _open(base + "status", rdonly)
                    try:
                        status = _read(fd, 8192)
                    finally:
                        _close(fd)
                except OSError:
                    pass
            p = None
            if narrow:
                p = _build(pid, base, data, status, owner, kernel)
                if p is None or not want(p):
                    continue
            keep((
                pid,
                data,
                status,
                owner,
                read_cmdline(base) if want_cmdline else None,
                read(base + "wchan", 64) if need_wchan else None,
                read(base + "cgroup", 8192) if need_unit and pid not in unit_map else None,
                p,
            ))  # fmt: skip
        return raw

    tty_names = ttys.cache if ttys is not None else {}
    user_names = users.names if users is not None else {}
    raw = _read_split(read_raw, procfs.list_pids_unsorted(PROC))
    RETAINED.append(raw)

    # Phase 2: parse. It runs in a loop of its own, where the interpreter's code and
    # data stay in the CPU caches that the /proc reads evict (reading and parsing each
    # process in turn cost about a third more per process).
    out: list[Proc] = []
    append = out.append
    for pid, data, status, owner, cmdline, wchan, cgroup, built in raw:
        p = built or _build(pid, f"{PROC}/{pid}/", data, status, owner, kernel)
        if p is None or (check and built is None and not want(p)):
            continue
        p.cmdline = cmdline
        if ttys is not None and p.tty_nr:
            p.tty = tty_names.get(p.tty_nr) or ttys.name(p.tty_nr, pid)
        if users is not None:
            if need_user:
                known = user_names.get(p.euid, "")
                p.user = users.name(p.euid) if known == "" else known
            if need_ruser and p.ruser is None:
                p.ruser = users.name(p.ruid)
        if need_wchan:
            p.wchan = _wchan(wchan)
        if need_unit:
            # the daemon's word first, then cgroup membership (systemd-cgls's view)
            unit = unit_map.get(pid)
            p.unit = unit if unit is not None else unit_from_cgroup(cgroup or b"")
        append(p)
    return out


def _build(
    pid: int, base: str, data: bytes, status: bytes, owner: int, kernel: bool
) -> Proc | None:
    """A Proc from stat, overridden by status; None when stat is missing or garbled.

    procps 4.0.2 always reads status after stat (readproc.c simple_readproc,
    status2proc): its State, PPid, Threads, Tgid and Uid lines override what stat said;
    without Threads nlwp is 1 and the PID column shows "Pid:". Without status (or its
    Uid line) the euid is the owner of /proc/PID: the kernel keeps it equal to the euid
    (fs/proc/base.c task_dump_owner() exempts the directory from the "non-dumpable
    means root" rule that gives /proc/PID/status to root; tests/linux/
    test_psscan_sources.py checks it on a non-dumpable process), and procps names the
    real user only from status.

    On a kernel procfs (`kernel`) only the lines stat lacks are parsed from status:
    Uid, VmSize, VmLck, VmRSS; State, PPid, Threads and Tgid are the ones stat has.

    `owner` >= 0 means status was not read on purpose (a kernel /proc, and no column
    needs what only status has: fields.NEED_STATUS_ONLY): then State, PPid, Threads
    come from stat, the PID is the directory's (a listed /proc entry is a thread-group
    leader) and VSZ is stat's vsize >> 10, which is what status prints (fs/proc/
    array.c do_task_stat() and task_mmu.c task_mem() read the same task and mm
    fields). RSS is not among them: stat's rss is an approximate read of per-CPU
    counters that status sums exactly on recent kernels (6.18: hundreds of KiB apart).
    """
    right = data.rfind(b")")
    try:
        p = Proc(pid, data[data.find(b"(") + 1 : right], data[right + 2 :].split(None, 20))
        if owner >= 0:
            p.euid = owner
            p.vm_size = int(p.tail[0].split(None, 1)[0]) >> 10
        elif not (status and (_apply_status_kernel if kernel else _apply_status)(p, status)):
            p.euid = os.stat(base).st_uid
            p.ruser = ""
    except (OSError, ValueError, IndexError):
        return None
    return p


def procfs_is_kernel(proc: str = PROC) -> bool:
    """Is `proc` the kernel's procfs (fstype "proc" in our mountinfo), rather than,
    say, a directory of hand-made files bind-mounted over it?"""
    data = procfs.read_file(f"{proc}/self/mountinfo", 1 << 20)
    if not data:
        return False
    fstype = b""
    target = proc.encode()
    for line in data.splitlines():
        # proc(5): ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE ...;
        # the last mount on the path is the one seen
        fields = line.split()
        if len(fields) > 6 and fields[4] == target and b"-" in fields[6:-1]:
            fstype = fields[fields.index(b"-", 6) + 1]
    return fstype == b"proc"


def _jobs(count: int) -> int:
    """How many processes read /proc: PIDONE_PS_JOBS=1 or 2 says so; else 2 for 1,000
    PIDs or more when a CPU we may run on (sched_getaffinity(2)) is idle right now.

    "Idle" is the instantaneous count of runnable tasks, the fourth field of
    /proc/loadavg (proc(5); it counts this process too) being below our CPU count: on
    a busy box the child would only queue behind other work and add its own cost.
    """
    value = os.environ.get("PIDONE_PS_JOBS", "")
    if value in ("1", "2"):
        return int(value) if count >= 2 else 1
    if count < 1000:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
        running = int((procfs.read_file(f"{PROC}/loadavg", 256) or b"").split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return 1
    return 2 if running < cpus else 1


def _read_split(read_raw: Callable[[list[int]], list[Raw]], pids: list[int]) -> list[Raw]:
    """read_raw(pids); with two jobs, the upper half in a forked child, in parallel.

    Reading /proc is mostly kernel time, and a thread would not help: each of the
    ~9 syscalls per process hands the GIL over and back, which costs more than it
    overlaps (measured: bench/RESULTS.md). A forked child has no GIL to share. It
    reads its half and sends the raw bytes back through a pipe, marshalled (the
    marshal module is built in: no import cost); the parent reads the lower half
    meanwhile, so the readdir order is kept. If the child fails in any way, the parent
    reads the upper half itself.
    """
    if _jobs(len(pids)) < 2:
        return read_raw(pids)
    import marshal

    half = len(pids) // 2
    rfd, wfd = os.pipe()
    try:
        child = os.fork()
    except OSError:
        os.close(rfd)
        os.close(wfd)
        return read_raw(pids)
    if child == 0:  # pragma: no cover - the child ends in os._exit
        code = 1
        try:
            os.close(rfd)
            # a Proc built for the selection does not marshal: the parent builds it again
            view = memoryview(marshal.dumps([(*r[:-1], None) for r in read_raw(pids[half:])]))
            while view:
                view = view[os.write(wfd, view) :]
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    try:
        low = read_raw(pids[:half])
        chunks = []
        while chunk := os.read(rfd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(rfd)
        _, status = os.waitpid(child, 0)
    high: list[Raw] | None = None
    if status == 0:
        try:
            high = marshal.loads(b"".join(chunks))
        except (EOFError, ValueError, TypeError):
            high = None
    if high is None:
        high = read_raw(pids[half:])
    low.extend(high)
    return low


def _status_value(data: bytes, key: bytes) -> bytes | None:
    at = data.find(key)
    if at < 0:
        return None
    start = at + len(key)
    return data[start : data.find(b"\n", start)]


def _apply_status(p: Proc, status: bytes) -> bool:
    """Let /proc/PID/status override stat as procps's status2proc() does.

    procps 4.0.2 always reads status after stat (readproc.c simple_readproc): State,
    PPid, Threads, Tgid and Uid replace what stat said; without a Threads line nlwp is
    1 and the PID column shows the "Pid:" value. Vm* give VSZ, RSS and the L flag.
    The fast path walks the lines in the kernel's order (fs/proc/array.c
    proc_pid_status); anything else takes the key-by-key path.
    """
    try:
        at = status.index(b"\nState:\t")
        state = status[at + 8]
        at = status.index(b"\nTgid:\t", at)
        tgid = int(status[at + 7 : status.index(b"\n", at + 7)])
        at = status.index(b"\nPPid:\t", at)
        ppid = int(status[at + 7 : status.index(b"\n", at + 7)])
        at = status.index(b"\nUid:\t", at)
        end = status.index(b"\n", at + 6)
        ruid, euid = status[at + 6 : end].split(None, 2)[:2]
        vm = status.find(b"\nVmSize:", end)
        if vm >= 0:
            lck = status.index(b"\nVmLck:", vm)
            rss = status.index(b"\nVmRSS:", lck)
            p.vm_size = int(status[vm + 8 : status.index(b"kB", vm)])
            p.vm_lck = int(status[lck + 7 : status.index(b"kB", lck)])
            p.vm_rss = int(status[rss + 7 : status.index(b"kB", rss)])
            end = rss
        at = status.index(b"\nThreads:\t", end)
        p.nlwp = int(status[at + 10 : status.index(b"\n", at + 10)])
    except ValueError:
        return _apply_status_keys(p, status)
    p.state = chr(state)
    p.tgid = tgid
    p.ppid = ppid
    p.ruid = int(ruid)
    p.euid = int(euid)
    return True


def _apply_status_kernel(p: Proc, status: bytes) -> bool:
    """_apply_status() for a kernel procfs, where stat already holds the same State,
    PPid, Threads and Tgid (fs/proc/array.c: do_task_stat() and task_state()/task_sig()
    read them with the same helpers): only the uids and the Vm sizes are parsed."""
    try:
        at = status.index(b"\nUid:\t")
        end = status.index(b"\n", at + 6)
        ruid, euid = status[at + 6 : end].split(None, 2)[:2]
        vm = status.find(b"\nVmSize:", end)
        if vm >= 0:
            lck = status.index(b"\nVmLck:", vm)
            rss = status.index(b"\nVmRSS:", lck)
            p.vm_size = int(status[vm + 8 : status.index(b"kB", vm)])
            p.vm_lck = int(status[lck + 7 : status.index(b"kB", lck)])
            p.vm_rss = int(status[rss + 7 : status.index(b"kB", rss)])
    except ValueError:
        return _apply_status(p, status)
    p.ruid = int(ruid)
    p.euid = int(euid)
    return True


def _apply_status_keys(p: Proc, status: bytes) -> bool:
    """The key-by-key path of _apply_status(); True when a Uid line was there."""
    value = _status_value(status, b"\nState:\t")
    if value:
        p.state = chr(value[0])
    value = _status_value(status, b"\nPPid:\t")
    if value is not None:
        p.ppid = int(value)
    threads = _status_value(status, b"\nThreads:\t")
    if threads is not None:
        p.nlwp = int(threads)
        tgid = _status_value(status, b"\nTgid:\t")
        p.tgid = int(tgid) if tgid is not None else 0
    else:
        p.nlwp = 1
        pid = _status_value(status, b"\nPid:\t")
        p.tgid = int(pid) if pid is not None else 0
    for key, attr in ((b"\nVmSize:", "vm_size"), (b"\nVmLck:", "vm_lck"), (b"\nVmRSS:", "vm_rss")):
        value = _status_value(status, key)
        if value is not None:
            setattr(p, attr, int(value.split()[0]))
    uids = _status_value(status, b"\nUid:\t")
    if uids is None:
        return False
    ids = uids.split()
    p.ruid = int(ids[0])
    p.euid = int(ids[1])
    return True


def _wchan(data: bytes | None) -> str:
    # library/wchan.c lookup_wchan(): "?" unreadable, "-" for "0", strip '.' and '_'
    if not data:
        return "?"
    text = data[:63].decode("ascii", "replace")
    if text == "0":
        return "-"
    if text.startswith("."):
        text = text[1:]
    return text.lstrip("_")
