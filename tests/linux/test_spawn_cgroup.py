"""clone3(CLONE_INTO_CGROUP) spawns through the helper: born in the cgroup, our child."""

from __future__ import annotations

import os
import select

import pytest

from pidone.core.model import ExecContext
from pidone.linux import spawn_cgroup
from pidone.linux.cgroups import find_writable_cgroup2
from pidone.linux.spawn import SpawnRequest, read_spawn_failure
from tests.linux.proc_helpers import env_for, py, started, wait_exit

pytestmark = pytest.mark.cgroup


def _relative(path: str) -> str:
    found = find_writable_cgroup2()
    assert found is not None
    return "/" + os.path.relpath(path, found.mount_point)


SHOW = (
    "import os, sys\n"
    "cg = [l for l in open('/proc/self/cgroup') if l.startswith('0::')][0][3:].strip()\n"
    "sys.stdout.write(f\"{os.getppid()} {os.environ['SYSTEMD_EXEC_PID']} {os.getpid()} {cg}"
    ' {os.read(3, 10).decode()}\\n")\n'
)


def test_child_is_born_in_its_cgroup_as_our_child_with_its_fds(tracker):
    if os.environ.get("PIDONE_NO_CLONE3"):
        pytest.skip("PIDONE_NO_CLONE3 is set")
    unit = "born.service"
    tracker.create(unit)
    out_r, out_w = os.pipe()
    pass_r, pass_w = os.pipe()
    os.write(pass_w, b"passed")
    os.close(pass_w)
    ctx = ExecContext(standard_output="journal")
    req = SpawnRequest(
        py(SHOW),
        ctx,
        env_for(ctx, exec_pid=True),
        cgroup=tracker.spawn_cgroup(unit),
        stdout_fd=out_w,
        pass_fds=(pass_r,),
        parent_join=False,
    )
    before = spawn_cgroup.spawner().served
    try:
        with started(req) as s:
            os.close(out_w)
            out_w = -1
            assert spawn_cgroup.spawner().served == before + 1
            assert spawn_cgroup.spawner().pid not in (0, s.pid)
            assert read_spawn_failure(s, close=False) is None
            with os.fdopen(out_r, "r", closefd=False) as f:
                ppid, exec_pid, pid, cgroup, passed = f.readline().split()
            assert int(ppid) == os.getpid()  # CLONE_PARENT: ours, not the helper's
            assert int(exec_pid) == int(pid) == s.pid
            assert cgroup == _relative(tracker.path(unit))
            assert passed == "passed"
            assert wait_exit(s.pid) == 0
    finally:
        for fd in (out_r, out_w, pass_r):
            if fd >= 0:
                os.close(fd)


def test_exec_failure_comes_back_through_the_status_pipe(tracker):
    if os.environ.get("PIDONE_NO_CLONE3"):
        pytest.skip("PIDONE_NO_CLONE3 is set")
    unit = "missing.service"
    tracker.create(unit)
    ctx = ExecContext(standard_output="null")
    from pidone.core.execline import ExecCommand

    cmd = ExecCommand(path="/nonexistent/x", argv=("/nonexistent/x",))
    req = SpawnRequest(cmd, ctx, env_for(ctx), cgroup=tracker.spawn_cgroup(unit))
    before = spawn_cgroup.spawner().served
    with started(req) as s:
        assert spawn_cgroup.spawner().served == before + 1
        failure = read_spawn_failure(s, close=False)
        assert failure is not None
        assert (failure.status, failure.step) == (203, "EXEC")
        assert wait_exit(s.pid) == 203


def test_a_cgroup_removed_under_the_tracker_stops_being_watched(tracker):
    # Seen when two daemons shared one cgroup sub-tree: a populated change was pending, the
    # other one removed the cgroup, and cgroup.events then failed with ENODEV on every
    # read while staying readable: the event loop spun.
    unit = "gone.service"
    tracker.create(unit)
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(py("import time; time.sleep(600)"), ctx, env_for(ctx))
    with started(req) as s:
        tracker.attach(unit, s.pid)
        assert select.select([tracker.fileno()], [], [], 20)[0]
        assert tracker.drain_events() == [(unit, True)]
        os.kill(s.pid, 9)
        assert wait_exit(s.pid) == 137
    assert select.select([tracker.fileno()], [], [], 20)[0]  # populated 1 -> 0, not read
    os.rmdir(tracker.path(unit))
    assert tracker.drain_events() == [(unit, False)]  # no exception
    assert not select.select([tracker.fileno()], [], [], 0)[0]  # and no longer readable
    assert tracker.remove(unit)


def test_a_dead_helper_makes_the_next_start_fork(tracker, monkeypatch):
    if os.environ.get("PIDONE_NO_CLONE3"):
        pytest.skip("PIDONE_NO_CLONE3 is set")
    fresh = spawn_cgroup.Spawner()
    monkeypatch.setattr(spawn_cgroup, "_SPAWNER", fresh)
    unit = "fallback.service"
    tracker.create(unit)
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(
        py("import time; time.sleep(600)"),
        ctx,
        env_for(ctx),
        cgroup=tracker.spawn_cgroup(unit),
        parent_join=False,
    )
    try:
        with started(req) as first:
            assert fresh.served == 1
            os.kill(fresh.pid, 9)
            assert wait_exit(fresh.pid) == 137
            with started(req) as second:
                assert (fresh.served, fresh.disabled) == (1, True)
                assert os.read(second.status_fd, 8) == b""  # exec'd: fork path, joined
                assert tracker.pids(unit) == sorted([first.pid, second.pid])
    finally:
        fresh.close()
