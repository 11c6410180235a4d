"""Fixtures shared by the kernel-tier tests."""

from __future__ import annotations

import contextlib
import os
import select
import uuid
from collections.abc import Iterator

import pytest

from pidone.linux.cgroups import CgroupTracker, find_writable_cgroup2


@pytest.fixture
def tracker() -> Iterator[CgroupTracker]:
    """A CgroupTracker on a scratch cgroup below this process's own; everything in it is
    killed (cgroup.kill) and every directory removed afterwards."""
    found = find_writable_cgroup2()
    if found is None:
        pytest.skip("no writable cgroup2 hierarchy on this machine")
    base = f"{found.own_dir.rstrip('/')}/pidone-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    t = CgroupTracker(base)
    try:
        yield t
    finally:
        for directory, _dirs, _files in os.walk(base):
            with contextlib.suppress(OSError), open(f"{directory}/cgroup.kill", "wb", 0) as f:
                f.write(b"1")
        t.close()
        for directory, _dirs, _files in sorted(os.walk(base), key=lambda w: -len(w[0])):
            for _ in range(200):  # rmdir fails with EBUSY until the killed tasks are gone
                try:
                    os.rmdir(directory)
                    break
                except OSError:
                    select.select([], [], [], 0.01)
