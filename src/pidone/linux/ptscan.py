"""The minimal, fast /proc scan pstree needs: stat of every process, extras for shown ones.

Cost model (spec 07 §5): a /proc file costs 10-15 µs from Python, mostly syscalls. So:
- every process costs open + read + close of /proc/PID/stat and a stat() of /proc/PID,
  whose owner (task_dump_owner() in fs/proc/base.c: the euid, or root for non-dumpable
  processes) is the uid psmisc sorts and prints by; fstat() of the open stat file would
  be a little cheaper and says the same on procfs, but not on a /proc-like test tree;
- /proc/PID/task is listed only for shown processes whose stat says num_threads > 1
  (field 20, man 5 proc), and cmdline/cgroup are read only for shown processes when the
  options need them. psmisc itself stats eight /proc/PID/ns/* files per process too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from pidone.core.cgroupunit import unit_from_cgroup
from pidone.core.render.pstree import ProcStat

PROC = "/proc"


def parse_stat(data: bytes, pid: int, uid: int) -> ProcStat | None:
    """One /proc/PID/stat line as psmisc reads it; None when it does not parse.

    comm is everything between the first '(' and the last ')' (man 5 proc: comm may hold
    spaces and parentheses). psmisc needs state, ppid, pgrp ... starttime (field 22) and
    takes the pid from the directory name, not from the line.
    """
    open_at = data.find(b"(")
    close_at = data.rfind(b")")
    if open_at < 0 or close_at < open_at:
        return None
    fields = data[close_at + 2 :].split(b" ", 20)
    if len(fields) < 20:
        return None
    try:
        return ProcStat(
            pid,
            int(fields[1]),
            int(fields[2]),
            uid,
            data[open_at + 1 : close_at],
            int(fields[17]),
            int(fields[19]),
        )
    except ValueError:
        return None


def c_atoi(text: str) -> int:
    """C atoi()/strtol(): leading blanks, a sign, digits; 0 when there are none."""
    s = text.lstrip(" \t\n\v\f\r")
    sign = -1 if s[:1] == "-" else 1
    if s[:1] in ("+", "-"):
        s = s[1:]
    end = 0
    while end < len(s) and s[end] in "0123456789":
        end += 1
    return sign * int(s[:end]) if end else 0


def _dir_pid(name: str) -> int | None:
    # psmisc: strtol(d_name, &end, 10) must consume the whole name (so " 12" or "+12" pass)
    s = name.lstrip(" \t\n\v\f\r")
    digits = s[1:] if s[:1] in ("+", "-") else s
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    return c_atoi(s)


def read_stats(proc: str = PROC) -> list[ProcStat]:
    """Every process in /proc readdir order (ascending PID), vanished ones skipped."""
    result: list[ProcStat] = []
    append = result.append
    o_open, o_read, o_close, o_stat = os.open, os.read, os.close, os.stat
    flags = os.O_RDONLY | os.O_CLOEXEC
    for name in os.listdir(proc):
        if name.isdigit():
            pid = int(name)
        else:
            maybe = _dir_pid(name)
            if maybe is None:
                continue
            pid = maybe
        try:
            fd = o_open(f"{proc}/{pid}/stat", flags)
        except OSError:
            continue  # gone since readdir
        try:
            # psmisc stat()s the directory: its owner is the uid pstree sorts and shows by
            uid = o_stat(f"{proc}/{pid}").st_uid
            data = o_read(fd, 8192)  # psmisc fread()s up to BUFSIZ
        except OSError:
            continue
        finally:
            o_close(fd)
        st = parse_stat(data, pid, uid)
        if st is not None:
            append(st)
    return result


def _comm_of(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 8192)
    except OSError:
        return None
    finally:
        os.close(fd)
    open_at = data.find(b"(")
    close_at = data.rfind(b")")
    if open_at < 0 or close_at < open_at:
        return None
    return data[open_at + 1 : close_at]


def read_threads(
    pid: int, own_names: bool = False, proc: str = PROC
) -> list[tuple[int, bytes | None]]:
    """(tid, comm) of each /proc/PID/task entry in readdir order; comm only with own_names."""
    try:
        names = os.listdir(f"{proc}/{pid}/task")
    except OSError:
        return []
    threads: list[tuple[int, bytes | None]] = []
    for name in names:
        tid = int(name) if name.isdigit() else c_atoi(name)  # psmisc uses atoi()
        if tid == 0:
            continue
        own = _comm_of(f"{proc}/{pid}/task/{tid}/stat") if own_names and tid != pid else None
        threads.append((tid, own))
    return threads


def read_cmdline(pid: int, limit: int, proc: str = PROC) -> bytes | None:
    """At most `limit` bytes of /proc/PID/cmdline in one read, as psmisc does; None if gone."""
    try:
        fd = os.open(f"{proc}/{pid}/cmdline", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_cgroup_units(pids: Iterable[int], proc: str = PROC) -> dict[int, str]:
    """pid -> owning unit judged from /proc/PID/cgroup; processes no unit owns are left out."""
    units: dict[int, str] = {}
    for pid in pids:
        try:
            fd = os.open(f"{proc}/{pid}/cgroup", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            continue
        finally:
            os.close(fd)
        unit = unit_from_cgroup(data)
        if unit is not None:
            units[pid] = unit
    return units


def read_ages(pids: Iterable[int], starttimes: dict[int, int], proc: str = PROC) -> dict[int, int]:
    """pid -> whole seconds since the process started (psmisc -C age), never negative."""
    try:
        with open(f"{proc}/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        uptime = 0.0
    hz = os.sysconf("SC_CLK_TCK") or 100
    return {pid: max(0, int(uptime - starttimes.get(pid, 0) / hz)) for pid in pids}


def read_namespaces(
    ids: Iterable[int], names: Sequence[str], proc: str = PROC
) -> dict[int, tuple[int, ...]]:
    """id -> inode of /proc/ID/ns/NAME for each name (0 when it cannot be stat()ed).

    Thread ids work too: /proc/TID exists although readdir does not list it. Like psmisc,
    which stat()s these eight files for every process it reads; we do it only for -S/-N.
    """
    found: dict[int, tuple[int, ...]] = {}
    for pid in ids:
        inodes: list[int] = []
        for name in names:
            try:
                inodes.append(os.stat(f"{proc}/{pid}/ns/{name}").st_ino)
            except OSError:
                inodes.append(0)
        found[pid] = tuple(inodes)
    return found


def read_security_contexts(ids: Iterable[int], proc: str = PROC) -> dict[int, str]:
    """id -> security context for pstree -Z, read as psmisc's fallback does.

    psmisc asks libselinux or libapparmor when one is loaded and enabled; otherwise it
    fgets() /proc/ID/attr/current and drops the last character (the newline). A file
    that cannot be opened or read gives nothing (and pstree prints "`'").
    """
    found: dict[int, str] = {}
    for ident in ids:
        try:
            with open(f"{proc}/{ident}/attr/current", "rb") as f:
                line = f.readline(8191)
        except OSError:
            continue
        if line:
            # strlen() stops at a NUL; then the last character before it is dropped
            found[ident] = line.split(b"\0", 1)[0][:-1].decode("utf-8", "surrogateescape")
    return found


def read_initial_locale_env() -> dict[str, str]:
    """LANG, LC_ALL and every LC_* variable as this process was started with (not as
    PEP 538's coercion left them in os.environ: procfs.read_initial_environ())."""
    from pidone.linux.procfs import read_initial_environ

    env = read_initial_environ()
    return {k: v for k, v in env.items() if k == "LANG" or k.startswith("LC_")}
