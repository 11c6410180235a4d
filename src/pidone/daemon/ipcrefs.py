"""Which users and groups the units run as, so RemoveIPC= cleans up at the right moment.

systemd 252 (manager_ref_uid()/manager_unref_uid(), unit_ref_uid_gid()): a unit whose
command runs as a User=/Group= (DynamicUser= too) holds one reference to that UID and one
to that GID until the unit is dead; a reference from a unit with RemoveIPC=yes marks the
UID/GID. When the last reference goes and the mark is set, the IPC objects of that UID
(or GID) are removed (linux.ipcclean), even when other units ran as it without
RemoveIPC=. Root is never counted nor cleaned.
"""

from __future__ import annotations

from collections.abc import Callable

from pidone.linux.ipcclean import clean_ipc


class IpcReferences:
    def __init__(self, clean: Callable[[int, int], int] = clean_ipc) -> None:
        self._clean = clean
        self._units: dict[str, tuple[int, int]] = {}  # unit -> (uid, gid) it holds
        self._counts: dict[tuple[str, int], list[int]] = {}  # (kind, id) -> [refs, marked]

    def ref(self, unit: str, uid: int, gid: int, remove_ipc: bool) -> None:
        """At a spawn: the unit runs as uid/gid (-1: not set). One reference per unit, as
        in 252, whose later commands of the same unit add none."""
        if unit in self._units:
            return
        held = (uid if uid > 0 else -1, gid if gid > 0 else -1)
        if held == (-1, -1):
            return
        self._units[unit] = held
        for kind, n in zip(("uid", "gid"), held, strict=True):
            if n > 0:
                count = self._counts.setdefault((kind, n), [0, 0])
                count[0] += 1
                count[1] |= remove_ipc

    def unref(self, unit: str) -> int:
        """The unit is dead: drop its references; returns how many IPC objects went."""
        held = self._units.pop(unit, None)
        if held is None:
            return 0
        removed = 0
        for kind, n in zip(("uid", "gid"), held, strict=True):
            if n <= 0:
                continue
            count = self._counts[(kind, n)]
            count[0] -= 1
            if count[0] == 0:
                del self._counts[(kind, n)]
                if count[1]:
                    removed += self._clean(n, -1) if kind == "uid" else self._clean(-1, n)
        return removed
