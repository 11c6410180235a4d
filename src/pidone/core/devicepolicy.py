"""DevicePolicy= and DeviceAllow= (systemd.resource-control(5)) as systemd 252 applies them.

Pure: which devices a unit's processes may open, as a list of (path, rights) entries in
252's terms; linux.bpfdevices resolves them to major/minor numbers and enforces them with
a BPF_PROG_TYPE_CGROUP_DEVICE program on the unit's cgroup.

After loading, 252's unit_patch_contexts() turns the policy "auto" into "closed" under
PrivateDevices=, and adds `char-rtc r` for ProtectClock= where the policy is not "auto" or
there is an entry. cgroup_add_device_allow() prepends each entry (LIST_PREPEND), so the
list (and show) runs last first. cgroup_apply_devices(): policy "closed", or "auto" with
an entry, also allows the pseudo devices every program expects (`auto_devices`) and the
pseudo-terminals; "strict" allows the entries alone; "auto" without an entry restricts
nothing.
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass
from pidone.core.model import Unit

# 252 bpf_devices_allow_list_static()
STATIC_DEVICES: tuple[tuple[str, str], ...] = (
    ("/dev/null", "rwm"),
    ("/dev/zero", "rwm"),
    ("/dev/full", "rwm"),
    ("/dev/random", "rwm"),
    ("/dev/urandom", "rwm"),
    ("/dev/tty", "rwm"),
    ("/dev/ptmx", "rwm"),
    ("/run/systemd/inaccessible/chr", "rwm"),
    ("/run/systemd/inaccessible/blk", "rwm"),
    ("char-pts", "rw"),  # may not be created (m), but opened
)


@dataclass(frozen=True, slots=True)
class DevicePolicy:
    policy: str  # auto closed strict
    entries: tuple[tuple[str, str], ...]  # (path, rights), 252's list order (last first)


def device_policy(unit: Unit) -> DevicePolicy:
    """The unit's DevicePolicy= and DeviceAllow= after 252's unit_patch_contexts()."""
    policy = "auto"
    entries: list[tuple[str, str]] = []
    for n in unit.not_enforced:
        if n.key == "DevicePolicy":
            policy = n.value.strip() or "auto"
        elif n.key == "DeviceAllow":
            words = n.value.split(None, 1)
            if not words:
                entries.clear()
                continue
            rights = words[1].strip() if len(words) > 1 else ""
            entries.append((words[0], "".join(c for c in "rwm" if not rights or c in rights)))
    owner = unit.service or unit.socket
    if owner is not None:
        if owner.exec.private_devices and policy == "auto":
            policy = "closed"
        if owner.exec.protect_clock and (policy != "auto" or entries):
            entries.append(("char-rtc", "r"))
    return DevicePolicy(policy, tuple(reversed(entries)))


def allow_list(dp: DevicePolicy) -> tuple[tuple[str, str], ...] | None:
    """What the unit's processes may open, or None when nothing is restricted."""
    if dp.policy == "auto" and not dp.entries:
        return None
    static = dp.policy == "closed" or (dp.policy == "auto" and bool(dp.entries))
    entries = tuple((path, rights) for path, rights in dp.entries if rights)
    return (STATIC_DEVICES if static else ()) + entries
