"""`pidone ps`: procps-ng 4.0.2 compatible process listing, plus unit ownership and JSON.

Reads /proc/PID/stat and status for every process (status overrides stat, as in
procps), cmdline only for command columns of selected processes, cgroup only for the
unit column; formats with pidone.core.ps and writes the output in one write.
Start-up is part of the budget (bench/ps.py): no argparse, dataclasses or typing at
run time.
"""

from __future__ import annotations

import os
import sys

from pidone.core.ps import fields as F
from pidone.core.ps.layout import (
    OUTBUF_SIZE,
    active_columns,
    forest_order,
    make_column,
    render_row,
    render_rows,
    sort_procs,
)
from pidone.core.ps.model import Context, Proc
from pidone.core.ps.options import UsageError, format_list, parse_args
from pidone.linux import procfs
from pidone.linux.psscan import RETAINED, collect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

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
    """{pid: unit} from a running pidone daemon (its `pids` verb), or None when none
    answers; processes it does not name fall back to cgroup membership (psscan)."""
    from pidone.cli.procunits import read_daemon_units

    return read_daemon_units(runtime_dir)


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
    procs = collect(req, columns, ctx, units_from_daemon)
    RETAINED.append(procs)  # freed by the process's exit (see main)
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
    # One write(2) of the whole output (a pipe or tty may take less: write the rest)
    view = memoryview(text.encode("utf-8", "surrogateescape"))
    while view:
        view = view[os.write(1, view) :]
    if _is_the_command():
        # Everything is written (stdout through os.write; stderr is flushed here): end
        # now, without freeing every record one by one or tearing the interpreter down.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    RETAINED.clear()
    return code


def _is_the_command() -> bool:
    """Is this process `pidone` itself (the launcher or `python -m pidone`), rather than,
    say, a test calling main()? Only then may main() end the process."""
    prog = sys.argv[0] if sys.argv else ""
    return prog.rsplit("/", 1)[-1] == "pidone" or prog.endswith("pidone/__main__.py")
