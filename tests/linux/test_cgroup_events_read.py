"""CgroupTracker.is_empty() must not swallow a pending cgroup.events notification."""

from __future__ import annotations

import os
import select

import pytest

from pidone.core.model import ExecContext
from pidone.linux.spawn import SpawnRequest
from tests.linux.proc_helpers import env_for, py, started, wait_exit

pytestmark = pytest.mark.cgroup


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
