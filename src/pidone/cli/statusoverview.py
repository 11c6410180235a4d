"""`pidone status` with no unit: the manager overview (host line, State/Units/Jobs/Failed/
Since lines and the whole process tree), as `systemctl status` prints it for the system."""

from __future__ import annotations

import os

from pidone.cli import client
from pidone.cli.status import (
    Options,
    locale_is_utf8,
    now_usec,
    terminal,
    timestamp_style,
    write_out,
)


def _process_start_usec(pid: int) -> int:
    """Realtime µs at which PID started: /proc/PID/stat starttime (field 22, clock ticks
    since boot, proc(5)) + btime of /proc/stat."""
    if pid <= 0:
        return 0
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        with open("/proc/stat", "rb") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith(b"btime "))
    except (OSError, StopIteration, ValueError):
        return 0
    fields = stat[stat.rindex(b")") + 2 :].split()
    ticks = int(fields[19])  # field 22 counted from 1, minus pid and comm
    hz = os.sysconf("SC_CLK_TCK")
    return btime * 1_000_000 + ticks * 1_000_000 // hz


def manager_status(c: client.Client, opts: Options) -> int:
    """`pidone status` without units: the host line, counts and the whole process tree."""
    import socket
    import time

    from pidone.core.render.status import ManagerView, format_manager_status
    from pidone.core.statusview import ProcessEntry

    rows = c.call("list-units", all=True).get("units", [])
    infos = c.call("status", units=[r[0] for r in rows], argv=True).get("units", [])
    ping = c.call("ping")
    jobs = c.call("list-jobs").get("jobs", [])
    procs: list[ProcessEntry] = []
    for info in infos:
        if str(info.get("unit", "")).endswith(".slice"):
            continue  # a slice lists its units' processes again: each is drawn once
        group = str(info.get("control_group") or "").strip("/") or str(info.get("unit"))
        for proc in info.get("processes") or []:
            cmd = proc[1] if len(proc) > 1 else ""
            if isinstance(cmd, list):
                comm = str(proc[2]) if len(proc) > 2 else ""
                argv = tuple(map(str, cmd))
                procs.append(ProcessEntry(int(proc[0]), argv, comm, cgroup=group))
            else:
                procs.append(ProcessEntry(int(proc[0]), (), cgroup=group, cmdline=str(cmd)))
    failed = sum(1 for r in rows if r[2] == "failed")
    started = ping.get("started")
    if isinstance(started, list) and started and isinstance(started[0], int):
        since = started[0]  # the daemon's own clock: right under a PID namespace too
    else:  # an older daemon: its PID as seen here (wrong inside a PID namespace)
        since = _process_start_usec(int(ping.get("pid") or 0))
    from pidone import __version__

    # SystemState as systemctl is-system-running (cli/systemctl.py) and 252's
    # manager_state(): stopping, then starting (the boot's job has not ended), then
    # degraded (a unit failed), else running. NJobs= counts every queued job.
    state = "degraded" if failed else "running"
    if ping.get("stopping"):
        state = "stopping"
    elif ping.get("starting"):
        state = "starting"
    view = ManagerView(
        hostname=socket.gethostname(),
        state=state,
        n_units=len(rows),
        n_jobs=len(jobs) if isinstance(jobs, list) else 0,
        n_failed=failed,
        since_usec=since,
        version=f"pidone {__version__}",
        processes=tuple(procs),
    )
    color, tty, columns = terminal()
    write_out(
        format_manager_status(
            view,
            now_usec=now_usec(),
            utf8=locale_is_utf8(os.environ),
            color=color,
            full=opts.full or not tty,
            width=columns,
            localtime=time.localtime,
            stamp=timestamp_style(opts),
        )
    )
    return 0
