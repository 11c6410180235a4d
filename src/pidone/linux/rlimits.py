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
