"""setrlimit_closest(): Limit*= as close as the process may set them (systemd's rlimit-util.c).

A module of its own with only errno and resource: linux.spawnchild loads it into the spawn
helper for the first plan with a Limit*= setting, and the helper must stay small (every
module it holds is memory whose page tables each clone3(2) copies; linux.execprep, where
this function used to live, pulls in NSS and pidone's core modules).
"""

from __future__ import annotations

import errno
import resource


def setrlimit_closest(res: int, soft: int, hard: int) -> None:
    """setrlimit, or as close as allowed (systemd's setrlimit_closest(), rlimit-util.c).

    Without CAP_SYS_RESOURCE (or above fs.nr_open for NOFILE) raising the hard limit fails
    with EPERM; then both values are clamped to the current hard limit, unless that is
    already unlimited (then the EPERM had another cause and is raised).
    """
    try:
        resource.prlimit(0, res, (soft, hard))
        return
    except ValueError:
        raise OSError(errno.EINVAL, "soft limit above hard limit") from None
    except OSError as exc:
        if exc.errno != errno.EPERM:
            raise
    cur_soft, cur_hard = resource.getrlimit(res)
    if cur_hard == resource.RLIM_INFINITY:
        raise OSError(errno.EPERM, "setrlimit")

    def clamp(v: int) -> int:
        return cur_hard if v == resource.RLIM_INFINITY or v > cur_hard else v

    fixed = (clamp(soft), clamp(hard))
    if fixed != (cur_soft, cur_hard):
        resource.prlimit(0, res, fixed)


FD_SETSIZE = 1024  # select(2) cannot watch fds above it
HIGH_RLIMIT_NOFILE = 512 * 1024


def service_nofile_default(nr_open_path: str = "/proc/sys/fs/nr_open") -> tuple[int, int]:
    """(soft, hard) RLIMIT_NOFILE for a service without LimitNOFILE=, from this manager's
    own limit: systemd 252's fallback_rlimit_nofile() (src/core/main.c) passes on the soft
    limit it was started with, at most FD_SETSIZE ("select() ... chokes on fds >= 1024";
    programs that use poll() or epoll opt into more themselves), and the hard one raised to
    512Ki, at most fs.nr_open. The child's setrlimit_closest() clamps a hard limit it may
    not raise; `show` prints the values before that (LimitNOFILE=, LimitNOFILESoft=), as
    systemctl 252 does (oracle: a service got 1024:20000 in a container whose limit is
    20000 without CAP_SYS_RESOURCE, and show printed 524288 and 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        with open(nr_open_path, "rb") as f:
            nr_open = int(f.read())
    except (OSError, ValueError):
        nr_open = HIGH_RLIMIT_NOFILE
    hard = (
        nr_open if hard == resource.RLIM_INFINITY else min(nr_open, max(hard, HIGH_RLIMIT_NOFILE))
    )
    if soft == resource.RLIM_INFINITY or soft > FD_SETSIZE:
        soft = FD_SETSIZE
    return soft, hard
