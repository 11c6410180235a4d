"""/proc process tracking for when no writable cgroup2 exists (unprivileged containers).

Theory of operation (prctl(2) PR_SET_CHILD_SUBREAPER, proc(5) /proc/PID/stat and environ):

1. The daemon is a child subreaper (or PID 1), so every orphan of a unit process is
   re-parented to it instead of escaping to an outer init.
2. A process is known by `(pid, starttime)`: starttime (stat field 22, clock ticks since
   boot) tells a recycled PID from the process we saw before.
3. Membership is decided once per process, the first time a scan sees it, by the first of:
   a. the unit of its parent (scans walk the tree parents first);
   b. the unit of its session: every spawned process is a session leader (linux.spawn calls
      setsid()), so descendants that have not called setsid() carry the unit's session ID
      even after their parent died and they were re-parented to us. A session ID cannot be
      reused while any member of the session lives;
   c. the `INVOCATION_ID=` in its initial environment (/proc/PID/environ), which every
      process of one unit run inherits unless it scrubbed its environment: this catches a
      double-forked, setsid()'d daemon whose intermediate parent died before a scan.
   A process matching none of these is remembered as foreign and never examined again.
4. Orphans re-parented to the daemon keep the unit they were first seen under (rule 3 is
   never re-run for a known key).
5. Scans happen only on demand: `drain_events()` after SIGCHLD / pidfd wake-ups, and in
   `pids()`, `kill()`, `is_empty()`, `unit_of()`. Nothing polls.
6. Only descendants of the daemon are examined (found by walking down its children, not
   by reading every /proc/PID); zombies count as gone (like cgroup2).
7. Signals go through pidfds (pidfd_open(2), pidfd_send_signal(2)) after re-checking the
   starttime, so a PID recycled between scan and kill is never hit.
8. A PIDFile= may name a process that rule 3 could not place: Debian's pg_ctlcluster
   clears the environment (no INVOCATION_ID), and pg_ctl starts the postmaster in a new
   session and exits before any scan, so the postmaster reaches us as an orphan with no
   parent, session or environment of the unit. With cgroups it would be in the unit's
   group. `claim()` gives it (and its so far foreign descendants) to the unit when it is
   still foreign, was re-parented to the daemon (so it descends from something the daemon
   spawned), and started during the unit's current run (its starttime is not before the
   run's first spawn). Anything else stays foreign, and the PID file check refuses it as
   systemd refuses a non-root PID file naming a process outside the unit.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Collection

from pidone.core.dataclass_lite import dataclass, field
from pidone.linux.procfs import PROC, parse_stat, read_file, split_stat
from pidone.linux.reaper import become_subreaper as _become_subreaper

Key = tuple[int, int]  # (pid, starttime)


@dataclass(slots=True)
class _Proc:
    pid: int
    ppid: int
    session: int
    starttime: int


@dataclass(slots=True)
class _Unit:
    invocation_id: str = ""
    members: set[Key] = field(default_factory=set)
    was_populated: bool = False
    run_since: int = -1  # starttime of the current run's first spawn (rule 8); -1: none yet


def _children(root: str, pid: int, threads: int) -> list[int]:
    """Children of every thread of `pid` (proc(5) /proc/PID/task/TID/children)."""
    if threads <= 1:
        data = read_file(f"{root}/{pid}/task/{pid}/children", 65536)
        return [int(c) for c in data.split()] if data else []
    out: list[int] = []
    try:
        tids = os.listdir(f"{root}/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        data = read_file(f"{root}/{pid}/task/{tid}/children", 65536)
        if data:
            out.extend(int(c) for c in data.split())
    return out


def _scan(root: str, top: int) -> list[_Proc]:
    """Live descendants of `top`, every parent before its children (rule 6).

    Walks down from the daemon through /proc/PID/task/TID/children (Linux 3.5+,
    CONFIG_PROC_CHILDREN) instead of reading /proc/*/stat of every process on the host:
    the cost follows the number of unit processes, not the host's ~thousands. proc(5)
    warns that the list is exact only for stopped processes: a child forked during the
    walk may be missed, and is found by the next scan (`kill()` rescans until no new
    member appears).
    """
    order: list[_Proc] = []
    try:
        threads = len(os.listdir(f"{root}/{top}/task"))
    except OSError:
        threads = 1
    queue = _children(root, top, threads)
    seen: set[int] = set()
    while queue:
        pid = queue.pop()
        if pid in seen:
            continue
        seen.add(pid)
        data = read_file(f"{root}/{pid}/stat")
        if data is None:
            continue  # vanished while we looked
        try:  # only the fields used (proc(5) 3 state, 4 ppid, 6 session, 20, 22)
            f = split_stat(data)[2]
            state, ppid, session = f[0], int(f[1]), int(f[3])
            threads, starttime = int(f[17]), int(f[19])
        except (ValueError, IndexError):
            continue
        if state in (b"Z", b"X", b"x"):
            continue  # zombies and dead tasks are gone for our purpose (rule 6)
        order.append(_Proc(pid, ppid, session, starttime))
        queue.extend(_children(root, pid, threads))
    return order


def parse_invocation_id(environ: bytes) -> str:
    """The INVOCATION_ID= value in a /proc/PID/environ blob, "" if none."""
    for entry in environ.split(b"\0"):
        if entry.startswith(b"INVOCATION_ID="):
            return entry[14:].decode("ascii", "replace")
    return ""


class ProcTracker:
    """ProcessGroupTracker on /proc scans (see the module docstring and linux.tracking)."""

    kind = "proc"

    def __init__(self, *, become_subreaper: bool = True, root: str = PROC) -> None:
        if become_subreaper and os.getpid() != 1:
            _become_subreaper()
        self._root = root
        self._self = os.getpid()
        self._units: dict[str, _Unit] = {}
        self._owner: dict[Key, str] = {}
        self._sessions: dict[int, str] = {}
        self._foreign: set[Key] = set()
        self._current: dict[int, _Proc] = {}

    # -- lifecycle -----------------------------------------------------------------------

    def create(self, unit: str, invocation_id: str = "") -> None:
        info = self._units.setdefault(unit, _Unit())
        if invocation_id and invocation_id != info.invocation_id:
            info.invocation_id = invocation_id
            info.run_since = -1  # a new run: its first spawn sets it (attach)

    def spawn_cgroup(self, unit: str) -> str:
        return ""

    def attach(self, unit: str, pid: int) -> None:
        data = read_file(f"{self._root}/{pid}/stat")
        if data is None:
            return
        st = parse_stat(data)
        key = (pid, st.starttime)
        info = self._units.setdefault(unit, _Unit())
        self._forget(key)
        self._owner[key] = unit
        info.members.add(key)
        info.was_populated = True
        if info.run_since < 0:
            info.run_since = st.starttime
        # linux.spawn makes every child a session leader, but the child may not have got
        # to its setsid() yet when we read its stat: record the session it will have.
        self._sessions[pid] = unit

    def expect(self, unit: str, pid: int) -> None:
        self.attach(unit, pid)

    def settled(self, pid: int) -> None:
        return None

    def remove(self, unit: str) -> bool:
        self.refresh()
        info = self._units.get(unit)
        if info is None:
            return True
        if info.members:
            return False
        del self._units[unit]
        for sid in [s for s, u in self._sessions.items() if u == unit]:
            del self._sessions[sid]
        return True

    def close(self) -> None:
        self._units.clear()
        self._owner.clear()

    # -- the scan ------------------------------------------------------------------------

    def _forget(self, key: Key) -> None:
        unit = self._owner.pop(key, None)
        if unit is not None and unit in self._units:
            self._units[unit].members.discard(key)
        self._foreign.discard(key)

    def _attribute(self, proc: _Proc, procs: dict[int, _Proc]) -> str | None:
        parent = procs.get(proc.ppid)
        if parent is not None:
            unit = self._owner.get((parent.pid, parent.starttime))
            if unit is not None:
                return unit
        unit = self._sessions.get(proc.session)
        if unit is not None:
            return unit
        environ = read_file(f"{self._root}/{proc.pid}/environ", 65536)
        if environ:
            invocation = parse_invocation_id(environ)
            if invocation:
                for name, info in self._units.items():
                    if info.invocation_id == invocation:
                        return name
        return None

    def refresh(self) -> None:
        """Rescan /proc: drop the dead, attribute the new (rules 3-6)."""
        order = _scan(self._root, self._self)
        procs = {p.pid: p for p in order}
        alive = {(p.pid, p.starttime) for p in order}
        for key in [k for k in self._owner if k not in alive]:
            self._forget(key)
        self._foreign &= alive
        for p in order:
            key = (p.pid, p.starttime)
            if key in self._owner or key in self._foreign:
                continue
            unit = self._attribute(p, procs)
            if unit is None:
                self._foreign.add(key)
                continue
            self._owner[key] = unit
            self._units.setdefault(unit, _Unit()).members.add(key)
            if p.session == p.pid:
                self._sessions[p.pid] = unit
        # A session stays known while a member or its leader lives (the leader may not
        # have reached setsid() yet).
        live_sessions = {p.session for p in order} | {p.pid for p in order}
        for sid in [s for s in self._sessions if s not in live_sessions]:
            del self._sessions[sid]
        self._current = {p.pid: p for p in order}

    # -- queries -------------------------------------------------------------------------

    def pids(self, unit: str) -> list[int]:
        self.refresh()
        info = self._units.get(unit)
        return sorted(pid for pid, _ in info.members) if info else []

    def claim(self, unit: str, pid: int) -> bool:
        """Rule 8."""
        self.refresh()
        p = self._current.get(pid)
        info = self._units.get(unit)
        if p is None or info is None or info.run_since < 0:
            return False
        if (pid, p.starttime) not in self._foreign or p.ppid != self._self:
            return False
        if p.starttime < info.run_since:
            return False
        children: dict[int, list[_Proc]] = {}
        for q in self._current.values():
            children.setdefault(q.ppid, []).append(q)
        todo = [p]
        while todo:
            q = todo.pop()
            key = (q.pid, q.starttime)
            if key not in self._foreign:
                continue
            self._foreign.discard(key)
            self._owner[key] = unit
            info.members.add(key)
            if q.session == q.pid:
                self._sessions[q.pid] = unit
            todo.extend(children.get(q.pid, ()))
        return True

    def unit_of(self, pid: int) -> str | None:
        self.refresh()
        p = self._current.get(pid)
        return None if p is None else self._owner.get((pid, p.starttime))

    def is_empty(self, unit: str) -> bool:
        return not self.pids(unit)

    def kill(
        self, unit: str, sig: int, *, exclude: Collection[int] = (), sigcont: bool = False
    ) -> list[int]:
        signalled: set[Key] = set()
        skip = set(exclude)
        for _ in range(64):  # bounded: a fork bomb must not hang the daemon
            self.refresh()
            info = self._units.get(unit)
            fresh = [k for k in (info.members if info else ()) if k not in signalled]
            fresh = [k for k in fresh if k[0] not in skip]
            if not fresh:
                break
            for key in fresh:
                self._signal(key, sig, sigcont)
                signalled.add(key)
        return sorted(pid for pid, _ in signalled)

    def _signal(self, key: Key, sig: int, sigcont: bool = False) -> None:
        pid, starttime = key
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return  # gone
        try:
            data = read_file(f"{self._root}/{pid}/stat")
            if data is None or parse_stat(data).starttime != starttime:
                return  # recycled PID: not ours any more (rule 7)
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(pidfd, sig)
                if sigcont:  # through the same pidfd: the same process, no second check
                    signal.pidfd_send_signal(pidfd, signal.SIGCONT)
        finally:
            os.close(pidfd)

    # -- events --------------------------------------------------------------------------

    def fileno(self) -> int | None:
        return None

    def drain_events(self) -> list[tuple[str, bool]]:
        self.refresh()
        changes: list[tuple[str, bool]] = []
        for name, info in self._units.items():
            populated = bool(info.members)
            if populated != info.was_populated:
                info.was_populated = populated
                changes.append((name, populated))
        return changes
