"""The one seam for "which processes belong to a unit": cgroup2 or /proc, chosen at start-up.

Two backends implement `ProcessGroupTracker`:

* `linux.cgroups.CgroupTracker`: a cgroup per unit under a writable cgroup2 mount. Exact:
  the kernel keeps membership, children cannot leave (cgroups(7)).
* `linux.proctrack.ProcTracker`: the daemon is a child subreaper (prctl(2)
  PR_SET_CHILD_SUBREAPER) and attributes processes by scanning /proc on demand.

How the event loop drives either one (no periodic polling anywhere):

1. After `spawn()`, call `attach(unit, pid)` (the cgroup backend also needs the unit's cgroup
   directory in `SpawnRequest.cgroup`, from `spawn_cgroup(unit)`, so the child joins it
   before exec).
2. If `fileno()` is not None, register it for reading; when readable, call
   `drain_events()`: it returns `(unit, populated)` pairs. For cgroup2 the fd is an epoll
   instance watching every unit's `cgroup.events` for POLLPRI (see linux.cgroups).
3. Otherwise (the /proc backend), call `drain_events()` once per batch of SIGCHLD / pidfd
   wake-ups: it rescans /proc and reports units whose last process went away.
4. `pids()`, `kill()` and `is_empty()` are exact at the moment they are called.
"""

from __future__ import annotations

from collections.abc import Collection

from pidone.core.hints import Protocol


class ProcessGroupTracker(Protocol):
    """Membership, emptiness and killing of the process group of each unit."""

    kind: str  # "cgroup" or "proc"

    def create(self, unit: str, invocation_id: str = "") -> None:
        """Prepare the group (mkdir the cgroup; remember the invocation id)."""

    def spawn_cgroup(self, unit: str) -> str:
        """The cgroup directory a new process of `unit` must join before exec ("" = none)."""

    def attach(self, unit: str, pid: int) -> None:
        """Make `pid` (just spawned, not yet reaped) a member of `unit`."""

    def expect(self, unit: str, pid: int) -> None:
        """`pid` (our child, spawned with the unit's cgroup) joins it itself before exec:
        count it as a member from now on, without moving it (see CgroupTracker.expect)."""

    def settled(self, pid: int) -> None:
        """`pid` has exec'd or been reaped: it no longer needs to be counted by hand."""

    def pids(self, unit: str) -> list[int]:
        """Every live process of `unit`, sorted."""

    def unit_of(self, pid: int) -> str | None:
        """The unit `pid` belongs to, if any (sd_notify attribution)."""

    def claim(self, unit: str, pid: int) -> bool:
        """Make `pid`, which a PIDFile= of `unit` names but no unit holds, a member of
        `unit` if it may have come from the unit's current run (see ProcTracker.claim);
        True if it is now a member."""

    def kill(
        self, unit: str, sig: int, *, exclude: Collection[int] = (), sigcont: bool = False
    ) -> list[int]:
        """Send `sig` to every process of `unit` except `exclude`; the PIDs signalled.
        With `sigcont`, each process gets SIGCONT right after `sig` in the same pass (one
        listing of the group, as systemd's cg_kill_recursive() with CGROUP_SIGCONT)."""

    def is_empty(self, unit: str) -> bool:
        """No live process is left in `unit`."""

    def remove(self, unit: str) -> bool:
        """Forget the group (rmdir the cgroup); False if it still has processes."""

    def fileno(self) -> int | None:
        """A fd to watch for readability, or None (then drain on SIGCHLD)."""

    def drain_events(self) -> list[tuple[str, bool]]:
        """(unit, populated) for every unit whose populated state changed."""

    def close(self) -> None:
        """Release fds."""


def open_tracker(base: str | None = None, *, allow_cgroup: bool = True) -> ProcessGroupTracker:
    """The cgroup2 backend if a writable cgroup2 hierarchy exists, else the /proc one.

    The /proc backend makes this process a child subreaper (a no-op for PID 1).
    """
    from pidone.linux.cgroups import CgroupTracker, find_writable_cgroup2
    from pidone.linux.proctrack import ProcTracker

    if allow_cgroup:
        found = find_writable_cgroup2()
        if found is not None:
            return CgroupTracker(base or found.default_base)
    return ProcTracker(become_subreaper=True)
