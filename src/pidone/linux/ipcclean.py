"""RemoveIPC=: the System V and POSIX IPC objects of a user or group, removed.

systemd.exec(5): with RemoveIPC=yes, "all System V and POSIX IPC objects owned by the user
and group the processes of this unit are run as are removed when the unit is stopped";
systemd 252 does it when the last unit running as that user (or group) has stopped
(manager_unref_uid(), src/shared/clean-ipc.c). Root's (0) are never touched. What goes:

* System V shared memory segments (/proc/sysvipc/shm) nobody has attached, semaphore
  sets and message queues whose owner is the UID or the GID: IPC_RMID;
* files under /dev/shm (POSIX shared memory, sem_open()'s semaphores), at any depth, and
  directories there, owned by the UID or the GID;
* POSIX message queues in /dev/mqueue owned by the UID or the GID (unlinking the file is
  mq_unlink(3)).

The daemon keeps the references (daemon/executor.py); this module only removes.
"""

from __future__ import annotations

import functools
import os
import stat

from pidone.core.hints import Any

IPC_RMID = 0


@functools.cache
def _libc() -> Any:  # noqa: ANN401 - a ctypes library object
    """libc's shmctl/semctl/msgctl, loaded on first use (ctypes: not for every daemon)."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _owned(uid: int, gid: int, owner_uid: int, owner_gid: int) -> bool:
    return (uid > 0 and owner_uid == uid) or (gid > 0 and owner_gid == gid)


def _table(path: str) -> list[list[str]]:
    try:
        with open(path) as f:
            return [line.split() for line in f.readlines()[1:]]  # (a header line first)
    except OSError:
        return []


def clean_ipc(
    uid: int = -1, gid: int = -1, *, shm_dir: str = "/dev/shm", mq_dir: str = "/dev/mqueue"
) -> int:
    """Remove what belongs to `uid` or `gid` (-1: neither; 0 is never matched); returns
    how many objects went."""
    if uid <= 0 and gid <= 0:
        return 0
    removed = 0
    # proc(5) /proc/sysvipc: shm "key shmid perms size cpid lpid nattch uid gid ...",
    # sem "key semid perms nsems uid gid ...", msg "key msqid perms cbytes qnum lspid
    # lrpid uid gid ..."
    for path, owner_at, call in (
        ("/proc/sysvipc/shm", 7, "shmctl"),
        ("/proc/sysvipc/sem", 4, "semctl"),
        ("/proc/sysvipc/msg", 7, "msgctl"),
    ):
        for row in _table(path):
            try:
                ident = int(row[1])
                owner_uid, owner_gid = int(row[owner_at]), int(row[owner_at + 1])
                attached = int(row[6]) if call == "shmctl" else 0
            except (IndexError, ValueError):
                continue
            if attached or not _owned(uid, gid, owner_uid, owner_gid):
                continue
            lib = _libc()
            if call == "semctl":
                ok = lib.semctl(ident, 0, IPC_RMID) == 0
            else:
                ok = getattr(lib, call)(ident, IPC_RMID, None) == 0
            removed += ok
    removed += _clean_tree(shm_dir, uid, gid)
    removed += _clean_tree(mq_dir, uid, gid, recurse=False)
    return removed


def _clean_tree(top: str, uid: int, gid: int, *, recurse: bool = True) -> int:
    removed = 0
    try:
        entries = list(os.scandir(top))
    except OSError:
        return 0
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        is_dir = stat.S_ISDIR(st.st_mode)
        if is_dir and recurse:
            removed += _clean_tree(entry.path, uid, gid)
        if not _owned(uid, gid, st.st_uid, st.st_gid):
            continue
        try:
            if is_dir:
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed += 1
    return removed
