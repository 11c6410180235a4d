"""RemoveIPC='s clean-up (linux.ipcclean) on real IPC objects, in a private IPC namespace
(unshare --ipc --mount): the host's objects are never in reach."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from pidone.linux import sandbox

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or not sandbox.sandbox_available(),
    reason="a private IPC and mount namespace needs root with CAP_SYS_ADMIN and unshare(1)",
)

OWNER, OTHER = 61234, 61235  # (UIDs no account has: nothing else owns such objects)

SCRIPT = textwrap.dedent(
    """
    import ctypes, json, os, subprocess, sys, tempfile
    from pidone.linux.ipcclean import clean_ipc
    OWNER, OTHER = int(sys.argv[1]), int(sys.argv[2])
    libc = ctypes.CDLL(None, use_errno=True)
    mq = tempfile.mkdtemp()
    subprocess.run(["mount", "-t", "mqueue", "none", mq], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "none", "/dev/shm"], check=True)
    IPC_PRIVATE, IPC_CREAT = 0, 0o1000

    def make(uid, gid):
        pid = os.fork()
        if pid == 0:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            ok = (libc.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600) >= 0
                  and libc.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600) >= 0
                  and libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o600) >= 0)
            os._exit(0 if ok else 1)
        assert os.waitpid(pid, 0)[1] == 0
        os.makedirs(f"/dev/shm/dir-{uid}/sub", exist_ok=True)
        for path in (f"/dev/shm/seg-{uid}", f"/dev/shm/dir-{uid}/sub/sem.x-{uid}",
                     f"{mq}/queue-{uid}"):
            open(path, "w").close()
            os.chown(path, uid, gid)
        for path in (f"/dev/shm/dir-{uid}", f"/dev/shm/dir-{uid}/sub"):
            os.chown(path, uid, gid)

    def count():
        rows = {}
        for kind in ("shm", "sem", "msg"):
            with open(f"/proc/sysvipc/{kind}") as f:
                rows[kind] = len(f.readlines()) - 1
        rows["shm_files"] = sum(len(d) + len(f) for _, d, f in os.walk("/dev/shm"))
        rows["queues"] = len(os.listdir(mq))
        return rows

    make(OWNER, OWNER)
    make(OTHER, OTHER)
    before = count()
    removed = clean_ipc(OWNER, -1, mq_dir=mq)
    after = count()
    removed_again = clean_ipc(OWNER, -1, mq_dir=mq)
    by_gid = clean_ipc(-1, OTHER, mq_dir=mq)
    root = clean_ipc(0, 0, mq_dir=mq)
    print(json.dumps({"before": before, "removed": removed, "after": after,
                      "again": removed_again, "by_gid": by_gid, "root": root,
                      "left": count()}))
    """
)


def test_objects_of_one_user_go_and_the_others_stay() -> None:
    out = subprocess.run(
        ["unshare", "--ipc", "--mount", "--propagation", "private",
         sys.executable, "-c", SCRIPT, str(OWNER), str(OTHER)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["before"] == {"shm": 2, "sem": 2, "msg": 2, "shm_files": 8, "queues": 2}
    # a segment, a semaphore set, a queue; seg file, sem file, 2 directories; an mqueue
    assert seen["removed"] == 8
    assert seen["after"] == {"shm": 1, "sem": 1, "msg": 1, "shm_files": 4, "queues": 1}
    assert seen["again"] == 0
    assert seen["by_gid"] == 8  # (the other's, found by its group)
    assert seen["root"] == 0  # root's are never touched
    assert seen["left"] == {"shm": 0, "sem": 0, "msg": 0, "shm_files": 0, "queues": 0}
