"""Which runnable job runs first: systemd 252's run queue is a priority queue, not a FIFO.

manager_dispatch_run_queue() takes jobs from a Prioq ordered by compare_job_priority(),
which is unit_compare_priority() (src/core/unit.c) of the jobs' units:

1. the unit type, the later one in 252's UnitType enum first (scope, slice, path, timer,
   automount, device, target, socket, swap, mount, service): a target's or a socket's job
   runs before the services' jobs queued with it;
2. the CPU weight, the heavier first (unit_get_cpu_weight(): `CPUWeight=`, else 100,
   CGROUP_WEIGHT_DEFAULT; `idle` is 0);
3. the nice level, the lower first (unit_get_nice(): `Nice=`, else 0);
4. the unit name (strcmp).

So `start t.target` with `Wants=zz.service aa.service` logs "Starting aa.service..." first
whatever the order of the Wants= line (checked on the oracle: a socket's "Listening on"
came first, then mm.service with CPUWeight=500, kk.service with Nice=-5, aa, zz).
`StartupCPUWeight=` counts in 252 while the manager boots or shuts down; pidone's core
does not know that phase and uses `CPUWeight=` throughout. A socket's job runs first as
in 252, but its "Listening on" line comes when the executor has opened the listeners
(core.socketseam), after the "Starting" lines of services run in the same pass; 252 binds
inside the job and logs it before them.
"""

from __future__ import annotations

from pidone.core.model import Unit

# 252's UnitType enum (src/basic/unit-def.h), in order
_TYPES = ("service", "mount", "swap", "socket", "target", "device", "automount", "timer",
          "path", "slice", "scope")  # fmt: skip
_RANK = {t: i for i, t in enumerate(_TYPES)}
CGROUP_WEIGHT_DEFAULT = 100
CGROUP_WEIGHT_IDLE = 0

RunKey = tuple[int, int, int, str]


def _cpu_weight(unit: Unit) -> int:
    """The last `CPUWeight=` (kept in Unit.not_enforced: pidone sets no CPU controller)."""
    weight = CGROUP_WEIGHT_DEFAULT
    for n in unit.not_enforced:
        if n.key != "CPUWeight":
            continue
        value = n.value.strip()
        if value == "":
            weight = CGROUP_WEIGHT_DEFAULT  # (an empty assignment resets)
        elif value == "idle":
            weight = CGROUP_WEIGHT_IDLE
        elif value.isdigit() and 1 <= int(value) <= 10000:
            weight = int(value)
    return weight


def run_key(name: str, unit: Unit | None) -> RunKey:
    """The sort key of a job of `name`: the smallest runs first."""
    rank = _RANK.get(name.rsplit(".", 1)[-1], -1)
    if unit is None:
        return (-rank, -CGROUP_WEIGHT_DEFAULT, 0, name)
    owner = unit.service or unit.socket
    nice = owner.exec.nice if owner is not None and owner.exec.nice is not None else 0
    return (-rank, -_cpu_weight(unit), nice, name)
