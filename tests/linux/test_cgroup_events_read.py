"""CgroupTracker.is_empty() must not swallow a pending cgroup.events notification."""

from __future__ import annotations

import contextlib
import os
import select
import uuid
from collections.abc import Iterator

import pytest

from pidone.core.model import ExecContext
from pidone.linux.cgroups import CgroupTracker, find_writable_cgroup2
from pidone.linux.spawn import SpawnRequest
from tests.linux.proc_helpers import env_for, py, started, wait_exit

pytestmark = pytest.mark.cgroup


@pytest.fixture
def tracker() -> Iterator[CgroupTracker]:
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
            for _ in range(200):
                try:
                    os.rmdir(directory)
                    break
                except OSError:
                    select.select([], [], [], 0.01)


def test_is_empty_between_populated_and_drain_keeps_the_event(tracker):
    # A child born in its cgroup (clone3 CLONE_INTO_CGROUP) populates it before spawn()
    # returns; the executor asks is_empty() right away. That read used the watched fd and
    # cleared its POLLPRI, so drain_events() missed "populated 1" and later read the
    # 1 -> 0 change as no change: a stop waited for an empty cgroup forever.
    unit = "early.service"
    tracker.create(unit)
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(py("import time; time.sleep(600)"), ctx, env_for(ctx))
    with started(req) as s:
        tracker.attach(unit, s.pid)  # populated 0 -> 1, notified synchronously
        assert not tracker.is_empty(unit)
        assert tracker.drain_events() == [(unit, True)]
        os.kill(s.pid, 9)
        assert wait_exit(s.pid) == 137
        assert tracker.is_empty(unit)
        assert select.select([tracker.fileno()], [], [], 20)[0]
        assert tracker.drain_events() == [(unit, False)]
