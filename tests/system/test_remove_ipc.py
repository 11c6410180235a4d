"""RemoveIPC= through the daemon: a unit's System V segment and /dev/shm file go when it
stops (DynamicUser= implies it, as in systemd 252); a unit without it leaves them.

The daemon shares the host's IPC namespace and /dev/shm here, so each unit makes objects
with a key and a name of this test run only, and the test removes whatever is left."""

from __future__ import annotations

import ctypes
import os
import random
from pathlib import Path

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system

MAKE = (
    '/usr/bin/python3 -c "import ctypes, sys; lib = ctypes.CDLL(None); '
    "assert lib.shmget(int(sys.argv[1]), 4096, 0o1600) >= 0; "
    "open('/dev/shm/' + sys.argv[2], 'w').close()\" "
)


def _segment(key: int) -> int:
    """The shmid of the segment with this key, -1 if there is none."""
    with open("/proc/sysvipc/shm") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if int(fields[0]) == key:
                return int(fields[1])
    return -1


def test_remove_ipc_takes_the_units_objects_away(pidone_ns: Factory) -> None:
    tag = f"pidone-ipc-{os.getpid()}-{random.randrange(1 << 30)}"
    keys = {"dyn": random.randrange(1 << 20, 1 << 30), "kept": random.randrange(1 << 20, 1 << 30)}
    units = {
        "ipc-dyn.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nDynamicUser=yes\n"
        f"ExecStart={MAKE}{keys['dyn']} {tag}-dyn\n",
        "ipc-kept.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nUser=nobody\n"
        f"ExecStart={MAKE}{keys['kept']} {tag}-kept\n",
    }
    d = pidone_ns(units)
    try:
        for name in ("ipc-dyn", "ipc-kept"):
            started = d.cli("start", name)
            assert started.returncode == 0, started.stderr + d.journal("-u", name, "-o", "cat")
            assert _segment(keys[name.split("-")[1]]) >= 0
            assert Path(f"/dev/shm/{tag}-{name.split('-')[1]}").exists()
        assert d.cli("show", "-p", "RemoveIPC", "ipc-dyn", "ipc-kept").stdout == (
            "RemoveIPC=yes\n\nRemoveIPC=no\n"
        )
        assert d.cli("stop", "ipc-dyn", "ipc-kept").returncode == 0
        assert _segment(keys["dyn"]) == -1
        assert not Path(f"/dev/shm/{tag}-dyn").exists()
        assert _segment(keys["kept"]) >= 0  # no RemoveIPC=: left as it was
        assert Path(f"/dev/shm/{tag}-kept").exists()
    finally:
        libc = ctypes.CDLL(None, use_errno=True)
        for key in keys.values():
            if (shmid := _segment(key)) >= 0:
                libc.shmctl(shmid, 0, None)  # IPC_RMID
        for suffix in ("dyn", "kept"):
            Path(f"/dev/shm/{tag}-{suffix}").unlink(missing_ok=True)
