"""The BPF programs the daemon keeps on units' cgroups: DevicePolicy=/DeviceAllow=
(linux.bpfdevices) and IPAddressAllow=/IPAddressDeny= (linux.bpffirewall).

Each is attached to the unit's cgroup before its first process is born there, once per
cgroup and setting (a restart that finds its cgroup keeps the programs; a daemon-reload
that changes the setting replaces them), and closed when the cgroup goes. Where the kernel
refuses (no BPF, no privilege) or there is no cgroup, the unit's log gets one warning and
the unit starts unrestricted, as for the other settings this machine cannot enforce.

IPAddressAllow=/IPAddressDeny= of a .socket unit restrict, in systemd 252, the sockets it
listens on, which 252 creates from a child it forks into the socket unit's cgroup
(socket_address_listen_in_cgroup()); pidone's listening sockets are the daemon's own, so
those stay not enforced (linux.sandbox.still_not_enforced), and only services' count.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pidone.core.model import Unit

FIREWALL_KEYS = ("IPAddressAllow", "IPAddressDeny")
_DEVICE_KEYS = ("DeviceAllow", "DevicePolicy")

# What is kept per (unit, kind): the key it was made for (cgroup inode, setting), and the
# program fds.
_Kept = tuple[tuple[int, object], tuple[int, ...]]


class CgroupPrograms:
    def __init__(self, warn: Callable[[str, str], None]) -> None:
        self._warn = warn  # (unit, text): a warning in the unit's log
        self._kept: dict[tuple[str, str], _Kept] = {}

    def apply(self, unit: Unit, name: str, cgroup: str) -> None:
        """Attach what `unit` asks for to `cgroup` (or say why not), before a spawn."""
        self._devices(unit, name, cgroup)
        if unit.service is not None:
            self._firewall(unit, name, cgroup)

    def forget(self, name: str) -> None:
        """`name`'s cgroup is gone, and its programs with it: close their fds."""
        for kind in ("devices", "firewall"):
            kept = self._kept.pop((name, kind), None)
            if kept is not None:
                for fd in kept[1]:
                    os.close(fd)

    def _devices(self, unit: Unit, name: str, cgroup: str) -> None:
        owner = unit.service or unit.socket
        if (name, "devices") not in self._kept and not (
            (owner is not None and (owner.exec.private_devices or owner.exec.protect_clock))
            or any(n.key in _DEVICE_KEYS for n in unit.not_enforced)
        ):
            return  # (most units: nothing to restrict, and no module to load for it)
        from pidone.core.devicepolicy import allow_list, device_policy

        entries = allow_list(device_policy(unit))
        self._replace(name, "devices", cgroup, entries, "DevicePolicy=/DeviceAllow=")

    def _firewall(self, unit: Unit, name: str, cgroup: str) -> None:
        if (name, "firewall") not in self._kept and not any(
            n.key in FIREWALL_KEYS for n in unit.not_enforced
        ):
            return
        from pidone.core.ipaccess import prefixes

        values: dict[str, list[str]] = {key: [] for key in FIREWALL_KEYS}
        for n in unit.not_enforced:
            if n.key in values and n.section != "Socket":
                values[n.key].append(n.value)
        allow, deny = prefixes(values["IPAddressAllow"]), prefixes(values["IPAddressDeny"])
        # nothing denied: every packet passes, with or without the program
        setting = (tuple(allow), tuple(deny)) if deny else None
        self._replace(name, "firewall", cgroup, setting, "IPAddressAllow=/IPAddressDeny=")

    def _replace(self, name: str, kind: str, cgroup: str, setting: object, what: str) -> None:
        kept = self._kept.get((name, kind))
        if setting is None and kept is None:
            return
        if not cgroup:  # (--no-cgroups, no writable cgroup2: processes tracked by /proc)
            self._warn(name, f"{name}: {what} not enforced: no cgroup")
            return
        try:
            key = (os.stat(cgroup).st_ino, setting)
        except OSError:
            return
        if kept is not None and kept[0] == key:
            return
        if kept is not None:
            del self._kept[(name, kind)]
            if kept[0][0] == key[0]:
                self._detach(kind, cgroup, kept[1])
            else:  # (a new cgroup: the old one, and its programs, are gone)
                for fd in kept[1]:
                    os.close(fd)
        if setting is None:
            return
        try:
            fds = self._attach(kind, cgroup, setting)
        except OSError as exc:
            self._warn(name, f"{name}: {what} not enforced: {exc.strerror or exc}")
            return
        self._kept[(name, kind)] = (key, fds)

    @staticmethod
    def _attach(kind: str, cgroup: str, setting: object) -> tuple[int, ...]:
        if kind == "devices":
            from pidone.linux import bpfdevices

            assert isinstance(setting, tuple)
            return (bpfdevices.attach(cgroup, bpfdevices.resolve(setting)),)
        from pidone.linux import bpffirewall

        assert isinstance(setting, tuple)
        allow, deny = setting
        return bpffirewall.attach(cgroup, list(allow), list(deny))

    @staticmethod
    def _detach(kind: str, cgroup: str, fds: tuple[int, ...]) -> None:
        if kind == "devices":
            from pidone.linux import bpfdevices

            bpfdevices.detach(cgroup, fds[0])
            return
        from pidone.linux import bpffirewall

        bpffirewall.detach(cgroup, (fds[0], fds[1]))
