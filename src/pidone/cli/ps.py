"""`pidone ps`: procps-ng 4.0.2 compatible process listing, plus unit ownership and JSON.

Reads /proc/PID/stat and status for every process (status overrides stat, as in
procps), cmdline only for command columns of selected processes, cgroup only for the
unit column; formats with pidone.core.ps and writes the output in 64 KiB writes.
Start-up is part of the budget (bench/ps.py): no argparse, dataclasses or typing at
run time.
"""

from __future__ import annotations

import os
import sys

from pidone.core.ps import fields as F
from pidone.core.ps.layout import (
    OUTBUF_SIZE,
    Column,
    active_columns,
    forest_order,
    make_column,
    render_row,
    render_rows,
    sort_procs,
)
from pidone.core.ps.model import Context, Proc
from pidone.core.ps.options import Request, UsageError, format_list, parse_args
from pidone.linux import procfs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pidone.core.ps.model import LocalTime

PROC = procfs.PROC


# ---------------------------------------------------------------------- environment


def _environ() -> dict[bytes, bytes]:
    return {k.encode(errors="surrogateescape"): v.encode(errors="surrogateescape")
            for k, v in os.environ.items()}  # fmt: skip


def ps_locale_is_utf8(env: Mapping[bytes, bytes]) -> bool:
    """Would procps, calling setlocale(LC_ALL, ""), get a UTF-8 character type?

    Python already asked the C library at start-up: when the locale it got was "C" or
    "POSIX" (unset, C, or a name that is not installed) it switched UTF-8 mode on
    (PEP 540) and may have put LC_CTYPE=C.UTF-8 into os.environ for its children
    (PEP 538). So UTF-8 mode without PYTHONUTF8 means ps gets the 8-bit C locale;
    otherwise the variables still say what the user set.
    """
    if sys.flags.utf8_mode and b"PYTHONUTF8" not in env:
        return False
    return locale_is_utf8(env)


def locale_is_utf8(env: Mapping[bytes, bytes]) -> bool:
    """Does setlocale(LC_ALL, "") give a UTF-8 LC_CTYPE? (LC_ALL > LC_CTYPE > LANG)

    An unknown locale makes setlocale() fail, leaving "C" (8-bit escaping): glibc 2.35+
    always has C.UTF-8 built in; any other name must exist under /usr/lib/locale (or
    in a locale archive, which we then assume holds it).
    """
    name = b""
    for key in (b"LC_ALL", b"LC_CTYPE", b"LANG"):
        name = env.get(key, b"")
        if name:
            break
    lang, _, codeset = name.partition(b".")
    codeset = codeset.partition(b"@")[0].lower().replace(b"-", b"")
    if codeset != b"utf8":
        return False
    if lang in (b"C", b"POSIX"):
        return lang == b"C"
    base = "/usr/lib/locale/"
    return os.path.isdir(base + f"{lang.decode(errors='replace')}.utf8") or os.path.exists(
        base + "locale-archive"
    )


def screen_width(env: Mapping[bytes, bytes], w_count: int) -> int:
    """global.c set_screen_size() and parser.c choose_dimensions()."""
    cols = 0
    for fd in (1, 2, 0):
        try:
            cols = os.get_terminal_size(fd).columns
        except OSError:
            continue
        if cols > 0:
            break
    if cols <= 0:
        try:
            fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
            try:
                cols = os.get_terminal_size(fd).columns
            finally:
                os.close(fd)
        except OSError:
            cols = 0
    if cols <= 0:
        cols = 80
    if not os.isatty(1):
        cols = OUTBUF_SIZE
    value = _strtol0(env.get(b"COLUMNS", b"").decode(errors="replace"))
    if value is not None and 0 < value < OUTBUF_SIZE:
        cols = value
    if w_count and cols < 132:
        cols = 132
    if w_count > 1:
        cols = OUTBUF_SIZE
    return cols


def _strtol0(text: str) -> int | None:
    """strtol(text, &end, 0) with *end == '\\0' required, as global.c reads COLUMNS."""
    body = text.lstrip(" \t\n\v\f\r")
    sign = -1 if body.startswith("-") else 1
    body = body[1:] if body[:1] in ("+", "-") else body
    if body[:2] in ("0x", "0X") and len(body) > 2:
        base, digits = 16, body[2:]
    elif body.startswith("0"):
        base, digits = 8, body
    else:
        base, digits = 10, body
    if not digits or not digits.isascii() or not digits.isalnum():
        return None
    try:
        return sign * int(digits, base)
    except ValueError:
        return None


def units_from_daemon(runtime_dir: str | None = None) -> dict[int, str] | None:
    """{pid: unit} from a running pidone daemon, or None when none answers.

    Seam for daemon-side attribution: the control protocol (core/protocol.py) has no
    "owner of these PIDs" query yet, so this returns None and ps falls back to cgroup
    membership (core.cgroupunit). When the query exists, connect only if the socket
    file exists (a stat, no import of the client) and fill the map from the reply.
    """
    directory = runtime_dir or os.environ.get("PIDONE_RUNTIME_DIR") or "/run/pidone"
    if not os.path.exists(f"{directory}/control.sock"):
        return None
    return None


def _localtime() -> LocalTime:
    """time.localtime as a tuple, cached: many processes share a start second."""
    import time

    cache: dict[int, tuple[int, int, int, int, int, int, int, int]] = {}

    def localtime(t: int) -> tuple[int, int, int, int, int, int, int, int]:
        value = cache.get(t)
        if value is None:
            tm = time.localtime(t)
            value = (tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     tm.tm_wday, tm.tm_yday)  # fmt: skip
            cache[t] = value
        return value

    return localtime


# ---------------------------------------------------------------------- collection


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


def collect(req: Request, columns: list[Column], ctx: Context) -> list[Proc]:
    """Read and select the processes the request asks for, in PID order."""
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
    unit_map = units_from_daemon() if F.NEED_UNIT in needs else None

    need_user = F.NEED_USER in needs
    need_ruser = F.NEED_RUSER in needs
    need_wchan = F.NEED_WCHAN in needs
    need_unit = F.NEED_UNIT in needs
    read = procfs.read_file
    _open, _read, _close, rdonly = os.open, os.read, os.close, os.O_RDONLY

    check = not req.all or req.running_only or req.negate  # else every row is wanted
    tty_names = ttys.cache if ttys is not None else {}
    user_names = users.names if users is not None else {}

    def scan(pids: list[int], out: list[Proc]) -> None:
        # The hot loop: os.open/os.read/os.close inline, no per-file function call.
        append = out.append
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
            right = data.rfind(b")")
            try:
                p = Proc(pid, data[data.find(b"(") + 1 : right], data[right + 2 :].split(None, 20))
            except (ValueError, IndexError):
                continue
            # procps 4.0.2 always reads status after stat (readproc.c simple_readproc,
            # status2proc): its State, PPid, Threads, Tgid and Uid lines override what
            # stat said; without Threads nlwp is 1 and the PID column shows "Pid:".
            # Without status (or its Uid line) the euid is the owner of /proc/PID.
            status = b""
            try:
                fd = _open(base + "status", rdonly)
                try:
                    status = _read(fd, 8192)
                finally:
                    _close(fd)
            except OSError:
                pass
            try:
                if not (status and _apply_status(p, status)):
                    p.euid = os.stat(base).st_uid
                    p.ruser = ""  # procps names the real user only from status
            except (OSError, ValueError, IndexError):
                continue
            if check and not want(p):
                continue
            if want_cmdline:
                try:
                    fd = _open(base + "cmdline", rdonly)
                    try:
                        data = _read(fd, 4096)
                        if len(data) == 4096:
                            data += read(base + "cmdline", 1 << 20)[4096:]  # type: ignore[index]
                    finally:
                        _close(fd)
                except (OSError, TypeError):
                    data = b""
                p.cmdline = data
            if ttys is not None and p.tty_nr:
                p.tty = tty_names.get(p.tty_nr) or ttys.name(p.tty_nr, pid)
            if users is not None:
                if need_user:
                    name = user_names.get(p.euid, "")
                    p.user = users.name(p.euid) if name == "" else name
                if need_ruser and p.ruser is None:
                    p.ruser = users.name(p.ruid)
            if need_wchan:
                p.wchan = _wchan(read(base + "wchan", 64))
            if need_unit:
                if unit_map is not None:
                    p.unit = unit_map.get(pid)
                else:
                    from pidone.core.cgroupunit import unit_from_cgroup

                    p.unit = unit_from_cgroup(read(base + "cgroup", 8192) or b"")
            append(p)

    pids = procfs.list_pids_unsorted(PROC)
    return _run_split(scan, pids)


def _run_split(scan: Callable[[list[int], list[Proc]], None], pids: list[int]) -> list[Proc]:
    """Run scan over pids; with PIDONE_PS_THREADS=2, the upper half in a second thread.

    Reading /proc is mostly kernel time spent with the GIL released (os.open and os.read
    drop it), so on an idle two-core box a second thread overlaps one thread's syscalls
    with the other's parsing. On a busy box it loses (bench/RESULTS.md), so it is off by
    default. _thread, not threading: it is built in and costs no import time.
    """
    threads = os.environ.get("PIDONE_PS_THREADS", "1")
    if len(pids) < 400 or threads != "2":
        out: list[Proc] = []
        scan(pids, out)
        return out
    import _thread

    half = len(pids) // 2
    low: list[Proc] = []
    high: list[Proc] = []
    done = _thread.allocate_lock()
    done.acquire()
    failure: list[BaseException] = []

    def worker() -> None:
        try:
            scan(pids[half:], high)
        except BaseException as err:  # re-raised in the main thread
            failure.append(err)
        finally:
            done.release()

    _thread.start_new_thread(worker, ())
    try:
        scan(pids[:half], low)
    finally:
        done.acquire()
    if failure:
        raise failure[0]
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


# ------------------------------------------------------------------------- output


def _build_context(env: Mapping[bytes, bytes], needs_mem: bool) -> Context:
    import time

    return Context(
        hz=procfs.clock_ticks(),
        uptime=procfs.read_uptime(PROC),
        btime=procfs.read_boot_time(PROC),
        now=int(time.time()),
        memtotal=procfs.read_memtotal(PROC) if needs_mem else 1,
        page_size=procfs.page_size(),
        utf8=ps_locale_is_utf8(env),
        localtime=_localtime(),
    )


def _json(procs: list[Proc], ctx: Context) -> str:
    import json

    rows = []
    for p in procs:
        rows.append(
            {
                "pid": p.pid,
                "ppid": p.ppid,
                "pgid": p.pgrp,
                "sid": p.session,
                "uid": p.euid,
                "user": p.user,
                "state": p.state,
                "stat": F.f_stat(p, ctx, 4),
                "tty": p.tty,
                "pcpu": F.pcpu_permille(p, ctx) / 10,
                "pmem": min(p.vm_rss * 1000 // ctx.memtotal, 999) / 10,
                "vsz": p.vm_size,
                "rss": p.vm_rss,
                "nlwp": p.nlwp,
                "nice": p.nice,
                "start": F.start_seconds(p, ctx),
                "time": (p.utime + p.stime) // ctx.hz,
                "comm": p.comm.decode("utf-8", "replace"),
                "args": [
                    a.decode("utf-8", "replace") for a in procfs.parse_cmdline(p.cmdline or b"")
                ],
                "unit": p.unit,
            }
        )
    return json.dumps(rows, indent=1) + "\n"


def run(argv: list[str]) -> str:
    """The complete output of `ps ARGV` as text; raises UsageError."""
    req = parse_args(argv)
    env = _environ()
    if req.json:
        req.format_specs = ["pid,ppid,pgid,sid,euid,user,stat,tty,vsz,rss,nlwp,ni,args,unit"]
        req.formats = []
    specs = format_list(req)
    pid_length = procfs.read_pid_length(PROC)
    columns = [make_column(F.FIELDS[n], pid_length, h, w) for n, h, w in specs]
    needs_mem = any(c.field.name in ("%mem", "pmem") for c in columns) or req.json
    ctx = _build_context(env, needs_mem)
    ctx.unix_f = req.unix_f
    ctx.forest_type = req.forest_type
    ctx.include_dead_children = req.cumulative
    procs = collect(req, columns, ctx)
    if req.json:
        return _json(procs, ctx)
    active = active_columns(screen_width(env, req.w_count), columns)
    lines: list[str] = []
    if req.headers and any(c.header for c in columns):
        lines.append(render_row(columns, None, ctx, active))
    if req.forest_type:
        keys = [(F.FIELDS[n], r) for n, r in req.sort] or [(F.FIELDS["ppid"], False)]
        keys.append((F.FIELDS["start_time"], False))
        order = forest_order(sort_procs(procs, keys, ctx), ctx)
        rows = [p for p, _prefix in order]
        lines.extend(render_rows(columns, rows, ctx, active, [pre for _p, pre in order]))
    else:
        if req.sort:
            procs = sort_procs(procs, [(F.FIELDS[n], r) for n, r in req.sort], ctx)
        lines.extend(render_rows(columns, procs, ctx, active))
    if not procs:
        raise _NothingSelected("\n".join(lines) + "\n" if lines else "")
    lines.append("")
    return "\n".join(lines)


class _NothingSelected(Exception):
    """procps exits 1 when no process matched (after printing the header)."""


def main(argv: list[str]) -> int:
    """Entry point of `pidone ps`."""
    # A short-lived command that builds thousands of small objects: the cyclic GC would
    # only rescan them over and over (there are no cycles to find).
    import gc

    gc.disable()
    try:
        text = run(argv)
        code = 0
    except UsageError as err:
        sys.stderr.write(f"error: {err}\n\nUsage:\n pidone ps [options]\n")
        return 1
    except _NothingSelected as empty:
        text = str(empty)
        code = 1
    except OSError as err:  # /proc itself missing or unreadable (not one vanished process)
        where = f" {err.filename}" if err.filename else ""
        sys.stderr.write(f"error: cannot read{where}: {err.strerror}\n")
        return 1
    data = text.encode("utf-8", "surrogateescape")
    view = memoryview(data)
    while view:
        written = os.write(1, view[:65536])
        view = view[written:]
    return code
