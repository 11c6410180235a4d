"""cgroup2 process tracking: find a writable mount, one cgroup per unit, kill, watch emptiness.

Kernel lore (cgroups(7), Documentation/admin-guide/cgroup-v2.rst):

* Never assume /sys/fs/cgroup: on a hybrid box (this one) cgroup2 sits at
  /sys/fs/cgroup/unified without controllers, and in containers it may be read-only or
  absent. We parse /proc/self/mountinfo (proc(5)) for `cgroup2` mounts and /proc/self/cgroup
  for our own path (`0::/path`), and use the first mount where that directory is writable.
* Writing a PID to `cgroup.procs` moves the whole thread group; writing "0" moves the writer.
  Permission is checked against the credentials of whoever *opened* the file, so an fd
  opened by root before fork works in the child (linux.spawn writes "0" from the child).
* `cgroup.events` holds `populated 0|1` (1 while this cgroup or a descendant has a live
  process; zombies do not count). The file is pollable: a change raises POLLPRI|POLLERR,
  and it stays raised until the file is read again. It is *always* POLLIN-readable, so it
  must never be registered for EVENT_READ directly: that would spin. We put every unit's
  cgroup.events fd into one inner epoll(7) instance for EPOLLPRI and hand out that epoll
  fd; it becomes readable (EVENT_READ) when any cgroup changed, and `drain_events()` reads
  the changed files, which clears the condition (level-triggered, no spurious loop).
* Signals are sent per PID, re-reading the member list until a pass finds no new PID
  (forks racing with the kill), as systemd's cg_kill_recursive() does. `cgroup.kill`
  (Linux 5.14+) is not used: after it, later clone3(CLONE_INTO_CGROUP) children of that
  cgroup are killed at birth on current kernels (see `kill`), and units restart into
  their cgroup.
* "No internal processes" rule: a non-root cgroup that enables controllers for its children
  (cgroup.subtree_control) cannot itself hold processes. Here no controller is enabled, so
  the daemon may stay in its own cgroup above `pidone/<unit>`. A future resource-control
  feature must first move the daemon into a leaf of its own (systemd's init.scope).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
from collections.abc import Callable, Collection, Iterator

from pidone.core.cgroupunit import slice_dirs
from pidone.core.dataclass_lite import dataclass

PROC_SELF = "/proc/self"
_O_RDONLY = os.O_RDONLY | os.O_CLOEXEC
_RESERVED = frozenset({"notify_on_release", "release_agent", "tasks"})


@dataclass(frozen=True, slots=True)
class MountInfo:
    """One line of /proc/PID/mountinfo (proc(5) field numbers in comments)."""

    mount_id: int  # (1)
    parent_id: int  # (2)
    root: str  # (4) the path inside the filesystem that is mounted here
    mount_point: str  # (5)
    options: tuple[str, ...]  # (6) per-mount options (rw, ro, nosuid...)
    fstype: str  # (9) after the "-" separator
    source: str  # (10)
    super_options: tuple[str, ...]  # (11)


@dataclass(frozen=True, slots=True)
class Cgroup2Mount:
    """A writable cgroup2 mount and our own cgroup inside it."""

    mount_point: str
    own_cgroup: str  # e.g. "/" or "/system.slice/foo.service" (from /proc/self/cgroup)
    own_dir: str  # mount_point joined with own_cgroup

    @property
    def default_base(self) -> str:
        return f"{self.own_dir.rstrip('/')}/pidone"


def _unescape_mount_field(text: str) -> str:
    r"""Mount fields escape space, tab, newline and backslash as \040 \011 \012 \134."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        chunk = text[i + 1 : i + 4]
        if text[i] == "\\" and len(chunk) == 3 and all(c in "01234567" for c in chunk):
            out.append(chr(int(chunk, 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_mountinfo(data: bytes) -> list[MountInfo]:
    """Parse /proc/PID/mountinfo; malformed lines are skipped, never raised."""
    mounts: list[MountInfo] = []
    for raw in data.decode("utf-8", "surrogateescape").splitlines():
        fields = raw.split(" ")
        try:
            sep = fields.index("-", 6)  # optional fields (7) end with a lone "-" (8)
            mounts.append(
                MountInfo(
                    mount_id=int(fields[0]),
                    parent_id=int(fields[1]),
                    root=_unescape_mount_field(fields[3]),
                    mount_point=_unescape_mount_field(fields[4]),
                    options=tuple(fields[5].split(",")),
                    fstype=fields[sep + 1],
                    source=_unescape_mount_field(fields[sep + 2]),
                    super_options=tuple(fields[sep + 3].split(",")),
                )
            )
        except (ValueError, IndexError):
            continue
    return mounts


def parse_own_cgroup2_path(data: bytes) -> str | None:
    """The `0::/path` line of /proc/PID/cgroup, or None on a pure cgroup1 system."""
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        if line.startswith("0::"):
            return line[3:] or "/"
    return None


def cgroup_dir_for(mount: MountInfo, own: str) -> str:
    """Where our cgroup `own` is under `mount` (its root may be a subtree, e.g. in a
    container that bind-mounts only its own cgroup)."""
    root = mount.root.rstrip("/")
    if root and (own == root or own.startswith(root + "/")):
        own = own[len(root) :] or "/"
    elif root and root != "/":
        own = "/"  # our cgroup is not below the mounted subtree: use the mount itself
    return mount.mount_point.rstrip("/") + (own if own != "/" else "")


def _read(path: str) -> bytes:
    fd = os.open(path, _O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_shown(path: str) -> bytes:
    """A file the kernel renders in one show() call (cgroup.events, /proc/PID/cgroup): a
    read(2) with room to spare returns all of it (seq_file retries a show that overflows
    its buffer with a bigger one), so a short read is the end, without the extra read(2)
    that finds EOF. Files listed record by record (cgroup.procs) may return a buffer's
    worth at a time: those go through _read()."""
    fd = os.open(path, _O_RDONLY)
    try:
        data = os.read(fd, 4096)
        if len(data) < 4096:
            return data
        chunks = [data]
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def find_writable_cgroup2(proc: str = PROC_SELF) -> Cgroup2Mount | None:
    """The first rw cgroup2 mount in which our own cgroup directory is writable."""
    try:
        mounts = parse_mountinfo(_read(f"{proc}/mountinfo"))
        own = parse_own_cgroup2_path(_read(f"{proc}/cgroup"))
    except OSError:
        return None
    if own is None:
        return None
    for mount in mounts:
        if mount.fstype != "cgroup2" or "rw" not in mount.options:
            continue
        directory = cgroup_dir_for(mount, own) or "/"
        if os.access(directory, os.W_OK) and os.path.exists(f"{directory}/cgroup.procs"):
            return Cgroup2Mount(mount.mount_point, own, directory)
    return None


def escape_cgroup_name(name: str) -> str:
    """systemd's cg_escape(): names that could clash with kernel files get a `_` prefix."""
    if not name or name[0] in "_." or name.startswith("cgroup.") or name in _RESERVED:
        return "_" + name
    return name


def parse_populated(data: bytes) -> bool:
    """`populated 1` in the content of cgroup.events."""
    for line in data.splitlines():
        key, _, value = line.partition(b" ")
        if key == b"populated":
            return value.strip() == b"1"
    return False


def parse_procs(data: bytes) -> list[int]:
    """The PIDs in a cgroup.procs file (one per line)."""
    return [int(x) for x in data.split()]


def _has_subgroups(directory: str) -> bool:
    """Whether a cgroup directory has child cgroups, from one stat(2): kernfs reports a
    directory's link count as 2 + its number of subdirectories (kernfs_refresh_inode()),
    which spares the open + getdents(2) + close of listing it. Raises FileNotFoundError."""
    return os.stat(directory).st_nlink != 2


def _members(directory: str) -> set[int]:
    """PIDs in the cgroup `directory` and its descendants (empty if it does not exist).

    Services seldom make sub-cgroups (as root they may, Delegate= or not), so the subtree
    is walked only when the directory has subdirectories; otherwise one cgroup.procs read.
    """
    found: set[int] = set()
    try:
        nested = _has_subgroups(directory)
    except FileNotFoundError:
        return found
    if not nested:
        with contextlib.suppress(FileNotFoundError):
            found.update(parse_procs(_read(f"{directory}/cgroup.procs")))
        return found
    for _sub, pids in _walk_procs(directory):
        found.update(pids)
    return found


def _walk_procs(directory: str) -> Iterator[tuple[str, list[int]]]:
    """(cgroup directory, its PIDs) for `directory` and every cgroup below it."""
    for sub, _dirs, files in os.walk(directory):
        if "cgroup.procs" in files:
            with contextlib.suppress(FileNotFoundError):
                yield sub, parse_procs(_read(f"{sub}/cgroup.procs"))


class CgroupTracker:
    """ProcessGroupTracker on cgroup2: `<base>/<unit>` per unit (see linux.tracking).

    With `slice_of` (a PID 1 that owns its cgroup namespace: daemon/main.py), each unit
    sits below its slice as under systemd, `<base>/system.slice/nginx.service`,
    `<base>/system.slice/system-kresd.slice/kresd@1.service` (Slice=, or the default
    slice); /proc/PID/cgroup then reads as systemd's, which sd_pid_get_unit(3) and
    cg_path_get_unit() parse. Slices own no controllers here (docs/design.md)."""

    kind = "cgroup"

    def __init__(
        self,
        base: str,
        proc: str = PROC_SELF,
        slice_of: Callable[[str], str] | None = None,
    ) -> None:
        self.base = base.rstrip("/")
        os.makedirs(self.base, exist_ok=True)
        self._base_rel = self._relative(self.base, proc)
        self._slice_of = slice_of
        self._paths: dict[str, str] = {}  # unit -> its directory, fixed while it exists
        self._names: dict[str, str] = {}  # escaped directory name -> unit
        self._epoll = select.epoll()
        self._events: dict[int, str] = {}  # cgroup.events fd -> unit
        self._event_fd: dict[str, int] = {}
        # A second open cgroup.events per unit, for is_empty(): read with pread(2), it
        # spares an open(2) and close(2) on the way from an exit to the manager, and its
        # reads leave the watched file's pending POLLPRI alone (see is_empty()).
        self._probe_fd: dict[str, int] = {}
        self._populated: dict[str, bool] = {}
        # Units read as `populated 0` with no process put into them since (no create(),
        # attach() or expect()): still empty, since only a member can fork into a group.
        # is_empty() answers them without opening cgroup.events again.
        self._seen_empty: set[str] = set()
        # Children spawned without the parent-side cgroup.procs write (see `expect`): our
        # own unreaped children, so their PIDs cannot be recycled while listed here.
        self._pending: dict[int, str] = {}
        # Units whose cgroup this tracker removed and has not created again: removing
        # them again (the daemon's exit removes every unit's group) needs no rmdir(2).
        self._removed: set[str] = set()

    # -- paths ---------------------------------------------------------------------------

    @staticmethod
    def _relative(directory: str, proc: str) -> str:
        """`directory` as /proc/PID/cgroup would show it (relative to the cgroup2 root)."""
        try:
            mounts = parse_mountinfo(_read(f"{proc}/mountinfo"))
        except OSError:
            mounts = []
        best: MountInfo | None = None
        for m in mounts:
            mp = m.mount_point.rstrip("/")
            inside = directory == mp or directory.startswith(mp + "/")
            longer = best is None or len(mp) > len(best.mount_point.rstrip("/"))
            if m.fstype == "cgroup2" and inside and longer:
                best = m
        if best is None:
            return directory
        rest = directory[len(best.mount_point.rstrip("/")) :]
        return (best.root.rstrip("/") + rest) or "/"

    @property
    def places_slices(self) -> bool:
        """Units sit below their slices (Slice= is honoured as placement)."""
        return self._slice_of is not None

    def path(self, unit: str) -> str:
        known = self._paths.get(unit)
        if known is not None:
            return known
        if unit == "-.slice":  # the root slice: everything this tracker holds
            return self.base
        if self._slice_of is None:
            return f"{self.base}/{escape_cgroup_name(unit)}"
        if unit.endswith(".slice"):  # its own nesting: `a-b.slice` -> a.slice/a-b.slice
            return f"{self.base}/{slice_dirs(unit)}"
        slices = slice_dirs(self._slice_of(unit))
        parent = f"{self.base}/{slices}" if slices else self.base
        return f"{parent}/{escape_cgroup_name(unit)}"

    def spawn_cgroup(self, unit: str) -> str:
        return self.path(unit)

    # -- lifecycle -----------------------------------------------------------------------

    def create(self, unit: str, invocation_id: str = "") -> None:
        directory = self.path(unit)
        self._seen_empty.discard(unit)  # a spawn follows
        self._removed.discard(unit)
        # A restart finds its cgroup still there (we hold its cgroup.events open): skip the
        # mkdir, which takes the hierarchy-wide cgroup_mutex even to fail with EEXIST, and
        # that mutex is held by every migration on the host for an RCU grace period
        # (cgroup_procs_write(); measured 0.1-7 ms here). A stat is a kernfs lookup only.
        made = False
        if unit not in self._event_fd or not os.path.isdir(directory):
            parent = os.path.dirname(directory)
            if parent != self.base:
                os.makedirs(parent, 0o755, exist_ok=True)  # the slices (never removed)
            with contextlib.suppress(FileExistsError):
                os.mkdir(directory, 0o755)
                made = True
        self._paths[unit] = directory
        self._names[escape_cgroup_name(unit)] = unit
        if unit not in self._event_fd:
            fd = os.open(f"{directory}/cgroup.events", _O_RDONLY)
            self._event_fd[unit] = fd
            self._probe_fd[unit] = os.open(f"{directory}/cgroup.events", _O_RDONLY)
            self._events[fd] = unit
            # A group this mkdir(2) made has no member yet (only our spawn puts one in, after
            # this): `populated 0` without reading it. The open file's event count starts at
            # the current one (kernfs_fop_open()), so no stale POLLPRI is pending either way.
            self._populated[unit] = False if made else parse_populated(os.pread(fd, 4096, 0))
            self._epoll.register(fd, select.EPOLLPRI)

    def attach(self, unit: str, pid: int) -> None:
        """Move `pid` into the unit's cgroup (spawn already did; harmless to repeat)."""
        if unit not in self._event_fd:
            self.create(unit)
        self._seen_empty.discard(unit)
        fd = os.open(f"{self.path(unit)}/cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, b"%d" % pid)
        except ProcessLookupError:
            pass  # already gone (and reaped): nothing to track
        finally:
            os.close(fd)

    def expect(self, unit: str, pid: int) -> None:
        """`pid` (our child) joins the unit's cgroup by itself before it execs.

        Until `settled(pid)` it counts as a member (pids, is_empty, kill, unit_of), so the
        window between fork and the child's own cgroup.procs write is covered without a
        second write from the daemon: every write is a migration that takes
        cgroup_threadgroup_rwsem for writing and waits for an RCU grace period (~10 ms on
        hierarchies mounted without `favordynmods`, cgroups(7), kernel cgroup-v2.rst).
        """
        if unit not in self._event_fd:
            self.create(unit)
        self._seen_empty.discard(unit)
        self._pending[pid] = unit

    def settled(self, pid: int) -> None:
        """`pid` has exec'd (so it is in its cgroup) or has been reaped."""
        self._pending.pop(pid, None)

    def _pending_of(self, unit: str) -> list[int]:
        return [pid for pid, u in self._pending.items() if u == unit]

    def remove(self, unit: str) -> bool:
        """rmdir the unit's cgroup (its sub-cgroups first); False while it has processes.

        The rmdir comes first and is the emptiness check: cgroup_rmdir() refuses with
        EBUSY exactly when cgroup.events says `populated 1` (live tasks in the subtree;
        zombies do not count), so no separate read of cgroup.events is needed, and a
        refused removal keeps the watch on the still-populated group."""
        if unit in self._removed:
            return True
        if self._pending_of(unit):
            return False
        directory = self.path(unit)
        try:
            try:
                os.rmdir(directory)
            except OSError as exc:
                # EBUSY also means child cgroups (a service may make them, Delegate= or
                # not): then remove them children first, and try again on the way up.
                if exc.errno != errno.EBUSY or not _has_subgroups(directory):
                    raise
                for sub, _dirs, _files in sorted(os.walk(directory), key=lambda w: -len(w[0])):
                    os.rmdir(sub)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                return False
            raise
        probe = self._probe_fd.pop(unit, None)
        if probe is not None:
            os.close(probe)
        fd = self._event_fd.pop(unit, None)
        if fd is not None:
            with contextlib.suppress(OSError):  # drain_events() may have dropped it
                self._epoll.unregister(fd)
            del self._events[fd]
            os.close(fd)
        self._populated.pop(unit, None)
        self._seen_empty.discard(unit)
        self._names.pop(escape_cgroup_name(unit), None)
        self._paths.pop(unit, None)  # the next create() asks for the slice again
        self._removed.add(unit)
        return True

    def close(self) -> None:
        """Release fds and remove the base directory if no unit cgroup is left in it."""
        for fd in [*self._events, *self._probe_fd.values()]:
            os.close(fd)
        self._events.clear()
        self._event_fd.clear()
        self._probe_fd.clear()
        self._epoll.close()
        with contextlib.suppress(OSError):  # EBUSY/ENOTEMPTY: units still there, keep it
            os.rmdir(self.base)

    # -- membership ----------------------------------------------------------------------

    def pids(self, unit: str) -> list[int]:
        found = _members(self.path(unit))
        found.update(self._pending_of(unit))
        return sorted(found)

    def members_by_group(self, unit: str) -> list[tuple[int, str]]:
        """(pid, sub-cgroup path relative to the unit's cgroup, "" for its own) for every
        process below the unit: a slice's CGroup: tree in `status`."""
        top = self.path(unit)
        return [
            (pid, "" if sub == top else os.path.relpath(sub, top))
            for sub, pids in _walk_procs(top)
            for pid in pids
        ]

    def claim(self, unit: str, pid: int) -> bool:
        return False  # membership is the kernel's: a process outside the group is not ours

    def unit_of(self, pid: int) -> str | None:
        if pid in self._pending:
            return self._pending[pid]
        try:
            own = parse_own_cgroup2_path(_read_shown(f"/proc/{pid}/cgroup"))
        except OSError:
            return None
        prefix = self._base_rel.rstrip("/") + "/"
        if own is None or not own.startswith(prefix):
            return None
        for name in own[len(prefix) :].split("/"):
            if not name.endswith(".slice") or name in self._names:
                return self._names.get(name)  # the first component below the slices
        return None

    def is_empty(self, unit: str) -> bool:
        if self._pending_of(unit):
            return False
        # Another open file than the watched one (_probe_fd): reading a kernfs file
        # clears its pending POLLPRI for that open file (kernfs_seq_show() stores the
        # event count), so a read here between a `populated 1` notification and
        # drain_events() made the drain miss it, and the later 1 -> 0 change then read
        # as "no change" (a stop hung in stop-sigterm). Children born in the cgroup
        # (clone3 CLONE_INTO_CGROUP) populate it before spawn() returns, which made that
        # window common.
        if unit in self._seen_empty:
            return True
        probe = self._probe_fd.get(unit)
        try:
            if probe is not None:
                data = os.pread(probe, 4096, 0)  # (at offset 0: the file's current text)
            else:
                data = _read_shown(f"{self.path(unit)}/cgroup.events")
        except FileNotFoundError:
            return True
        except OSError as exc:  # ENODEV: the group was removed under us (see drain_events)
            if exc.errno != errno.ENODEV:
                raise
            return True
        if parse_populated(data):
            return False
        self._seen_empty.add(unit)
        return True

    # -- killing -------------------------------------------------------------------------

    def kill(
        self, unit: str, sig: int, *, exclude: Collection[int] = (), sigcont: bool = False
    ) -> list[int]:
        # Per-PID signals, as systemd 252's cg_kill_recursive(), never cgroup.kill: once a
        # cgroup has been killed through cgroup.kill, Linux (6.14+, kill_seq, seen on 6.18)
        # SIGKILLs every child that clone3(CLONE_INTO_CGROUP) later puts into it from a
        # process of another cgroup: cgroup_post_fork() compares the target cgroup's
        # kill_seq with the parent's. A unit restarted into the same cgroup (haproxy after
        # KillMode=mixed killed its worker) then died at every start until the start limit.
        signalled: set[int] = set()
        skip = set(exclude)
        for _ in range(64):  # bounded: a fork bomb must not hang the daemon
            fresh = [p for p in self.pids(unit) if p not in signalled and p not in skip]
            if not fresh:
                break
            for pid in fresh:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                    if sigcont:  # cg_kill_items() with CGROUP_SIGCONT: right after, per PID
                        os.kill(pid, signal.SIGCONT)
                signalled.add(pid)
        return sorted(signalled)

    # -- events --------------------------------------------------------------------------

    def fileno(self) -> int | None:
        return self._epoll.fileno()

    def drain_events(self) -> list[tuple[str, bool]]:
        changes: list[tuple[str, bool]] = []
        for fd, _mask in self._epoll.poll(0):
            unit = self._events.get(fd)
            if unit is None:
                continue
            try:
                populated = parse_populated(os.pread(fd, 4096, 0))  # re-reading clears POLLPRI
            except OSError:
                # ENODEV: someone else removed the cgroup under us (kernfs deactivated the
                # file). It stays readable-with-error forever: stop watching it, or the
                # loop would spin. The unit counts as empty.
                self._epoll.unregister(fd)
                populated = False
            # A 0 read after a 0 is still news when a member was put in since the last
            # known emptiness (create/attach/expect forget it) and none is on its way in:
            # kernfs_notify() wakes us once for both a 0 -> 1 and the 1 -> 0 that followed
            # before this read (a socket-activated acpid daemonizing at once), and missing
            # it left the unit in stop-sigterm until TimeoutStopSec=.
            came_and_went = (
                not populated and unit not in self._seen_empty and not self._pending_of(unit)
            )
            if populated:
                self._seen_empty.discard(unit)
            else:
                self._seen_empty.add(unit)
            if populated != self._populated.get(unit) or came_and_went:
                self._populated[unit] = populated
                changes.append((unit, populated))
        return changes
