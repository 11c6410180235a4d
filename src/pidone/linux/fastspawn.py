"""posix_spawn(3) fast path: a vfork-speed start for commands that need no child-side set-up.

Why (measured on the reference box, bench/spawn_paths.py): os.fork() of a 15-40 MB Python
daemon copies its page tables and then takes copy-on-write faults in both processes; the
child also runs CPython's after-fork hooks. That is 3-5 ms of CPU per start. glibc's
posix_spawn uses clone(CLONE_VM|CLONE_VFORK): no copy, no faults, about 0.2 ms.

posix_spawn can only: reset signal dispositions and the mask, setsid(), and open/dup2/close
fds. So linux.spawn takes this path only when nothing else is needed:

* no $SYSTEMD_EXEC_PID / $WATCHDOG_PID / $LISTEN_PID (the child's PID is unknown before
  it exists: the daemon must opt out of SYSTEMD_EXEC_PID to get the fast path);
* no user/group change, WorkingDirectory= equal to the daemon's cwd, UMask= equal to the
  daemon's umask, Limit*= equal to the daemon's limits, no Nice=/OOMScoreAdjust=, no tty,
  no capability or scheduling setting, no mount namespace (linux.privileges, linux.sandbox);
* passed fds and caller-supplied stdio fds numbered high enough not to collide.

Two more kernel facts make it exact:

* cgroup placement before exec: the daemon moves *itself* into the unit's cgroup (write
  "0" to its cgroup.procs, cgroups(7)), posix_spawns (the child inherits the cgroup), and
  moves back. The daemon runs one event-loop thread, so nothing observes the moment.
* posix_spawn cannot close unknown fds (glibc's addclosefrom_np is not exposed by Python
  3.11). The daemon holds only close-on-exec fds (PEP 446); `sweep_inheritable_fds()` runs
  once, at the first fast start, to mark any fd inherited from the daemon's own parent.
"""

from __future__ import annotations

import os
import resource
import signal

from pidone.core.hints import TYPE_CHECKING

if TYPE_CHECKING:
    from pidone.linux.spawn import _Plan

_KEEP_SIGNALS = frozenset({signal.SIGKILL, signal.SIGSTOP})


class _State:
    swept = False
    home_fd = -2  # -2 not looked up yet, -1 unavailable


def sweep_inheritable_fds() -> int:
    """Mark every inheritable fd >= 3 close-on-exec; returns how many were changed."""
    changed = 0
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd < 3:
            continue
        try:
            if os.get_inheritable(fd):
                os.set_inheritable(fd, False)
                changed += 1
        except OSError:
            continue  # the fd listdir itself used, now closed
    return changed


def _home_cgroup_fd() -> int:
    if _State.home_fd == -2:
        from pidone.linux.cgroups import find_writable_cgroup2

        found = find_writable_cgroup2()
        try:
            path = f"{found.own_dir}/cgroup.procs" if found else ""
            _State.home_fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC) if path else -1
        except OSError:
            _State.home_fd = -1
    return _State.home_fd


def _current_umask() -> int:
    """The process umask from /proc/self/status (Linux 4.7+), without the set-and-restore
    dance of os.umask(), which would briefly change it under the journal writer thread."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return -1  # unknown: never equal to a unit's UMask=, so the fork path is taken


def eligible(plan: _Plan, sigpipe_ignored: bool, in_cgroup: bool = False) -> bool:
    """Whether `plan` can be carried out by posix_spawn with the same result; `in_cgroup`:
    the child must start in a unit's cgroup (the caller then puts its cgroup.procs fd in
    the plan)."""
    if plan.self_pid_keys or plan.pre_error[0] or plan.exec_error:
        return False
    if plan.nice is not None or plan.oom_score_adjust or plan.no_new_privileges:
        return False
    if not plan.privileges.empty or plan.sandbox is not None or plan.seccomp is not None:
        return False  # capabilities, scheduling, mount namespace, seccomp: child-side work
    if plan.userns is not None:
        return False
    if plan.switch_ids and (
        plan.groups is not None
        or plan.uid not in (-1, os.getuid())
        or plan.gid not in (-1, os.getgid())
    ):
        return False
    if plan.ignore_sigpipe != sigpipe_ignored:
        return False
    n = len(plan.pass_fds)
    if any(fd < 3 + n for fd in plan.pass_fds):
        return False
    for src in plan.stdio:
        if src.kind == "tty" or (src.kind == "fd" and src.fd < 3):
            return False
    if (in_cgroup or plan.cgroup_fd >= 0) and _home_cgroup_fd() < 0:
        return False
    for res, soft, hard in plan.limits:
        if resource.getrlimit(res) != (soft, hard):
            return False
    return plan.umask == _current_umask() and plan.cwd == os.getcwdb()


def posix_spawn_plan(plan: _Plan) -> int:
    """Start `plan` with posix_spawn; raises OSError (e.g. ENOENT) if exec fails."""
    if not _State.swept:
        sweep_inheritable_fds()
        _State.swept = True
    actions: list[tuple[int, ...] | tuple[int, int, bytes, int, int]] = []
    for fileno, src in enumerate(plan.stdio):
        if src.kind in ("fd", "copy"):
            actions.append((os.POSIX_SPAWN_DUP2, src.fd, fileno))
        elif src.kind == "null":
            actions.append((os.POSIX_SPAWN_OPEN, fileno, b"/dev/null", src.flags, 0))
        elif src.kind == "open":
            actions.append(
                (os.POSIX_SPAWN_OPEN, fileno, src.path, src.flags & ~os.O_CLOEXEC, 0o666)
            )
    for i, fd in enumerate(plan.pass_fds):
        actions.append((os.POSIX_SPAWN_DUP2, fd, 3 + i))
    sigdef = [
        s
        for s in range(1, signal.NSIG)
        if s not in _KEEP_SIGNALS
        and s not in (32, 33)
        and not (s == signal.SIGPIPE and plan.ignore_sigpipe)
    ]
    moved = False
    if plan.cgroup_fd >= 0:
        os.write(plan.cgroup_fd, b"0")
        moved = True
    try:
        return os.posix_spawn(
            plan.path,
            plan.argv,
            plan.env,
            file_actions=actions,
            setsid=True,
            setsigmask=(),
            setsigdef=sigdef,
        )
    finally:
        if moved:
            os.write(_home_cgroup_fd(), b"0")
