"""The `pids` control verb: which unit owns each process the daemon tracks.

`pidone ps --unit` and `pidone tree --units` ask it first (cli/ps.py, cli/tree.py); the
daemon's word beats cgroup membership because it also covers `--no-cgroups` daemons,
whose ProcTracker follows double-forked children by parentage, session and
INVOCATION_ID (linux/proctrack.py) where no cgroup says anything.

Answer: `{"pids": [[pid, unit], ...], "pidns": "pid:[INODE]"}`. PIDs are numbers in
the daemon's PID namespace; `pidns` is the daemon's readlink(/proc/self/ns/pid)
(namespaces(7)): a client in another PID namespace must not use the numbers, since the
same process has another PID there (pid_namespaces(7)).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pidone.core.hints import TYPE_CHECKING, Any
from pidone.core.protocol import Response
from pidone.daemon.control import Call

if TYPE_CHECKING:
    from pidone.daemon.main import Daemon


def own_pid_namespace() -> str:
    """readlink(/proc/self/ns/pid), e.g. "pid:[4026531836]"; "" when unreadable."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def tracked_units(daemon: Daemon) -> list[str]:
    """The units that may have processes.

    A service machine that is inactive and not populated has none (the rule `status`
    uses for its CGroup: lines). Units without a service machine are asked only of the
    cgroup tracker, where asking costs one directory walk; the /proc tracker rescans
    /proc on every question, so it is asked only about services that can have any.
    """
    machines: dict[str, Any] = daemon.manager.machines
    cheap = daemon.tracker.kind == "cgroup"
    out: list[str] = []
    for unit in daemon.units:
        m = machines.get(unit.id)
        if m is None:
            if cheap:
                out.append(unit.id)
        elif m.active.value != "inactive" or m.populated:
            out.append(unit.id)
    return out


def unit_pids(daemon: Daemon) -> list[list[int | str]]:
    """[[pid, unit], ...] sorted by PID; a PID in two groups keeps the first unit."""
    owner: dict[int, str] = {}
    for unit in tracked_units(daemon):
        for pid in daemon.tracker.pids(unit):
            owner.setdefault(pid, unit)
    return [[pid, owner[pid]] for pid in sorted(owner)]


def pids_verb(daemon: Daemon) -> Callable[[Call], Response | None]:
    """Handler of `pids` (no arguments; open to every local user, like `status`)."""

    def handle(call: Call) -> Response | None:
        result = {"pids": unit_pids(daemon), "pidns": own_pid_namespace()}
        return Response.success(call.request.id, result)

    return handle
