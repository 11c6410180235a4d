"""linux.cgroups: mountinfo parsing, and a real cgroup2 tracking a double-forking service."""

from __future__ import annotations

import os
import select
import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pidone.core.model import ExecContext
from pidone.linux.cgroups import (
    MountInfo,
    _read_shown,
    cgroup_dir_for,
    escape_cgroup_name,
    find_writable_cgroup2,
    parse_mountinfo,
    parse_own_cgroup2_path,
    parse_populated,
)
from pidone.linux.spawn import SpawnRequest
from tests.linux.proc_helpers import env_for, kill_and_reap, kill_pids, py, started, wait_exit
from tests.linux.tracking_scripts import DOUBLE_FORK

MOUNTINFO = (
    b"31 23 0:28 / /sys/fs/cgroup ro,relatime - tmpfs tmpfs ro,mode=755\n"
    b"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime shared:5 - cgroup cgroup rw,name=systemd\n"
    b"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:6 master:1 - cgroup2 cgroup2 rw\n"
    b"50 23 0:40 /sub /mnt/with\\040space rw - cgroup2 none rw,nsdelegate\n"
    b"garbage line\n"
)


def test_parse_mountinfo_fields_optional_tags_and_escapes():
    mounts = parse_mountinfo(MOUNTINFO)
    assert [m.mount_point for m in mounts] == [
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/systemd",
        "/sys/fs/cgroup/unified",
        "/mnt/with space",
    ]
    unified = mounts[2]
    assert (unified.fstype, unified.root, unified.options[0]) == ("cgroup2", "/", "rw")
    assert mounts[3].root == "/sub"
    assert mounts[3].super_options == ("rw", "nsdelegate")


def test_own_cgroup_and_directory_under_a_subtree_mount():
    assert parse_own_cgroup2_path(b"1:cpu:/\n0::/system.slice/x.service\n") == (
        "/system.slice/x.service"
    )
    assert parse_own_cgroup2_path(b"1:cpu:/\n") is None
    root = MountInfo(1, 0, "/", "/sys/fs/cgroup", ("rw",), "cgroup2", "cgroup2", ("rw",))
    assert cgroup_dir_for(root, "/") == "/sys/fs/cgroup"
    assert cgroup_dir_for(root, "/a/b") == "/sys/fs/cgroup/a/b"
    sub = MountInfo(1, 0, "/a", "/mnt/cg", ("rw",), "cgroup2", "cgroup2", ("rw",))
    assert cgroup_dir_for(sub, "/a/b") == "/mnt/cg/b"


def test_read_shown_returns_the_whole_file_small_or_large(tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    small.write_bytes(b"populated 0\nfrozen 0\n")
    large.write_bytes(bytes(range(256)) * 70)  # past the first 4096-byte read
    assert _read_shown(str(small)) == b"populated 0\nfrozen 0\n"
    assert _read_shown(str(large)) == bytes(range(256)) * 70
    with pytest.raises(FileNotFoundError):
        _read_shown(str(tmp_path / "missing"))


def test_escape_and_populated():
    assert escape_cgroup_name("foo.service") == "foo.service"
    assert escape_cgroup_name("cgroup.procs") == "_cgroup.procs"
    assert escape_cgroup_name("_x.service") == "__x.service"
    assert parse_populated(b"populated 1\nfrozen 0\n")
    assert not parse_populated(b"populated 0\nfrozen 0\n")


def _wait_readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 20)[0])


@pytest.mark.cgroup
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_double_forked_setsid_child_is_tracked_and_killed(tracker, sig):
    unit = "double.service"
    tracker.create(unit)
    assert tracker.is_empty(unit)
    r, w = os.pipe()
    ctx = ExecContext(standard_output="journal")
    req = SpawnRequest(
        py(DOUBLE_FORK, "setsid", "keep"),
        ctx,
        env_for(ctx),
        cgroup=tracker.spawn_cgroup(unit),
        stdout_fd=w,
    )
    pids: list[int] = []
    try:
        with started(req) as s:
            os.close(w)
            w = -1
            tracker.attach(unit, s.pid)
            with os.fdopen(r, "r", closefd=False) as out:
                grandchild, main = int(out.readline()), int(out.readline())
            pids = [grandchild, main]
            assert main == s.pid
            assert tracker.pids(unit) == sorted(pids)
            assert tracker.unit_of(grandchild) == unit
            assert tracker.unit_of(os.getpid()) is None
            assert _wait_readable(tracker.fileno())  # populated 0 -> 1 happened
            assert tracker.drain_events() == [(unit, True)]
            assert tracker.kill(unit, sig) == sorted(pids)
            kill_and_reap(s.pid)
            assert _wait_readable(tracker.fileno())
            assert tracker.drain_events() == [(unit, False)]
            assert tracker.is_empty(unit)
            assert tracker.pids(unit) == []
            assert tracker.remove(unit)
            tracker.close()
            assert not os.path.exists(tracker.base)  # nothing left behind
    finally:
        kill_pids(pids)
        os.close(r)
        if w >= 0:
            os.close(w)


@pytest.mark.cgroup
def test_kill_excludes_and_remove_refuses_a_populated_group(tracker):
    unit = "busy.service"
    tracker.create(unit)
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(
        py("import time; time.sleep(600)"), ctx, env_for(ctx), cgroup=tracker.path(unit)
    )
    with started(req) as s:
        assert tracker.pids(unit) == [s.pid]
        assert tracker.kill(unit, signal.SIGTERM, exclude={s.pid}) == []
        assert not tracker.remove(unit)
        assert tracker.pids(unit) == [s.pid]


@pytest.mark.cgroup
def test_emptiness_remembered_until_the_next_spawn_and_a_refused_remove_keeps_watching(tracker):
    unit = "again.service"
    tracker.create(unit)
    assert tracker.is_empty(unit)  # read once and remembered (no process put in since)
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(
        py("import time; time.sleep(600)"), ctx, env_for(ctx), cgroup=tracker.path(unit)
    )
    tracker.create(unit)  # as the executor does before every spawn: forgets the emptiness
    with started(req) as s:
        assert not tracker.is_empty(unit)
        assert not tracker.remove(unit)  # populated: rmdir refused (EBUSY) ...
        assert tracker.unit_of(s.pid) == unit  # ... the group still known ...
        assert _wait_readable(tracker.fileno())  # ... and still watched
        assert tracker.drain_events() == [(unit, True)]
    assert _wait_readable(tracker.fileno())
    assert tracker.drain_events() == [(unit, False)]
    assert tracker.is_empty(unit)
    assert tracker.remove(unit)
    assert not os.path.exists(tracker.path(unit))


@pytest.mark.cgroup
def test_kill_with_sigcont_ends_a_stopped_member_in_one_pass(tracker):
    # KillSignal= then SIGCONT per process (cg_kill_recursive() with CGROUP_SIGCONT): a
    # SIGSTOPped member only acts on its pending SIGTERM once continued.
    unit = "stopped.service"
    tracker.create(unit)
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(
        py("import time; time.sleep(600)"), ctx, env_for(ctx), cgroup=tracker.path(unit)
    )
    with started(req) as s:
        os.kill(s.pid, signal.SIGSTOP)
        _pid, status = os.waitpid(s.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status)
        assert tracker.kill(unit, signal.SIGTERM, sigcont=True) == [s.pid]
        assert wait_exit(s.pid) == 128 + signal.SIGTERM  # bounded: raises if still stopped


@pytest.mark.cgroup
def test_sub_cgroups_a_service_made_are_listed_and_removed_children_first(tracker):
    unit = "nested.service"
    tracker.create(unit)
    inner = os.path.join(tracker.path(unit), "a", "b")
    os.makedirs(inner)
    os.mkdir(os.path.join(tracker.path(unit), "c"))
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(py("import time; time.sleep(600)"), ctx, env_for(ctx), cgroup=inner)
    with started(req) as s:
        assert tracker.pids(unit) == [s.pid]  # found in a/b although the top is empty
        assert not tracker.is_empty(unit)
        assert not tracker.remove(unit)  # a live member below: refused
        assert os.path.isdir(inner)
    assert tracker.is_empty(unit)
    assert tracker.remove(unit)  # a/b, a and c first, then the unit's own directory
    assert not os.path.exists(tracker.path(unit))


def test_find_writable_cgroup2_skips_read_only_and_missing_mounts(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    for d in (ro, rw):
        (d / "system.slice").mkdir(parents=True)
        (d / "system.slice" / "cgroup.procs").write_text("")
    (proc / "mountinfo").write_bytes(
        f"1 0 0:1 / {ro} ro,relatime - cgroup2 cgroup2 ro\n"
        f"2 0 0:2 / {tmp_path}/absent rw - cgroup2 cgroup2 rw\n"
        f"3 0 0:3 / {rw} rw,relatime - cgroup2 cgroup2 rw\n".encode()
    )
    (proc / "cgroup").write_bytes(b"1:name=systemd:/x\n0::/system.slice\n")
    found = find_writable_cgroup2(str(proc))
    assert found is not None
    assert (found.mount_point, found.own_cgroup) == (str(rw), "/system.slice")
    assert found.default_base == f"{rw}/system.slice/pidone"
    (proc / "cgroup").write_bytes(b"1:name=systemd:/x\n")  # pure cgroup1: nothing
    assert find_writable_cgroup2(str(proc)) is None


@given(st.binary(max_size=400))
def test_parsers_never_raise_on_junk(data):
    parse_mountinfo(data)
    parse_own_cgroup2_path(data)
    parse_populated(data)


@pytest.mark.cgroup
def test_expected_child_counts_before_it_joins_and_is_killed(tracker):
    # A child spawned without the cgroup (so it never joins: the window between fork and
    # the child's own cgroup.procs write, made permanent) is a member once expected.
    unit = "pending.service"
    tracker.create(unit)
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(py("import time; time.sleep(600)"), ctx, env_for(ctx))
    with started(req) as s:
        assert tracker.is_empty(unit)
        tracker.expect(unit, s.pid)
        assert not tracker.is_empty(unit)
        assert tracker.pids(unit) == [s.pid]
        assert tracker.unit_of(s.pid) == unit
        assert not tracker.remove(unit)
        # SIGKILL reaches it although it is not in the cgroup yet.
        assert tracker.kill(unit, signal.SIGKILL) == [s.pid]
        assert os.waitpid(s.pid, 0)[1] & 0x7F == signal.SIGKILL
        tracker.settled(s.pid)
        assert tracker.is_empty(unit)
        assert tracker.pids(unit) == []
        assert tracker.unit_of(s.pid) is None
        assert tracker.remove(unit)


@pytest.mark.cgroup
def test_spawn_without_parent_join_lands_in_the_cgroup_by_exec(tracker):
    unit = "selfjoin.service"
    tracker.create(unit)
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(
        py("import time; time.sleep(600)"),
        ctx,
        env_for(ctx),
        cgroup=tracker.spawn_cgroup(unit),
        parent_join=False,
        fast=False,
    )
    with started(req) as s:
        tracker.expect(unit, s.pid)
        assert os.read(s.status_fd, 8) == b""  # EOF: exec'd, so it joined first
        tracker.settled(s.pid)
        assert tracker.pids(unit) == [s.pid]
        assert not tracker.is_empty(unit)


@pytest.mark.cgroup
def test_a_removed_group_is_removed_again_only_after_it_was_created_again(tracker):
    unit = "again.service"
    tracker.create(unit)
    assert tracker.remove(unit)
    assert not os.path.exists(tracker.path(unit))
    # a group of the same name made behind the tracker's back (as a stale one would be)
    # is not the tracker's: the daemon's exit, removing every unit, leaves it alone
    os.mkdir(tracker.path(unit))
    try:
        assert tracker.remove(unit)
        assert os.path.isdir(tracker.path(unit))
    finally:
        os.rmdir(tracker.path(unit))
    tracker.create(unit)  # created again: removed again for real
    assert os.path.isdir(tracker.path(unit))
    assert tracker.remove(unit)
    assert not os.path.exists(tracker.path(unit))


@pytest.mark.cgroup
def test_a_member_that_came_and_went_between_two_drains_is_reported_gone(tracker):
    """populated 0 -> 1 -> 0 with no drain in between reads `populated 0` twice in a row;
    the group had a member since (create() before a spawn), so the drain still reports
    it emptied. Before, a socket-activated Type=simple service whose main process exited
    (acpid daemonizing) hung in stop-sigterm: its 1 and 0 fell between two loop turns."""
    unit = "blink.service"
    tracker.create(unit)
    assert tracker.is_empty(unit)
    assert tracker.drain_events() == []
    tracker.create(unit)  # the executor's create() before the next spawn
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(py("pass"), ctx, env_for(ctx), cgroup=tracker.path(unit))
    with started(req) as s:
        wait_exit(s.pid)  # joined (spawned into the group), exited, reaped: 1 then 0
    assert _wait_readable(tracker.fileno())
    assert tracker.drain_events() == [(unit, False)]
    assert tracker.drain_events() == []


@pytest.mark.cgroup
def test_is_empty_reads_the_current_state_each_time_through_its_kept_fd(tracker):
    # No drain in between, so no remembered emptiness: every answer is a read of the
    # probe fd kept since create(), which must show the file as it is now.
    unit = "probe.service"
    events = f"{tracker.path(unit)}/cgroup.events"

    def open_on_events() -> int:
        fds = os.listdir("/proc/self/fd")
        return sum(1 for fd in fds if _link(f"/proc/self/fd/{fd}") == events)

    tracker.create(unit)
    assert open_on_events() == 2  # the watched one and the probe
    ctx = ExecContext(standard_output="null")
    for _ in range(2):
        req = SpawnRequest(
            py("import time; time.sleep(600)"), ctx, env_for(ctx), cgroup=tracker.path(unit)
        )
        tracker.create(unit)  # (forgets a remembered emptiness, as before every spawn)
        with started(req) as s:
            assert not tracker.is_empty(unit)
            assert not tracker.is_empty(unit)
            kill_and_reap(s.pid)
            assert tracker.is_empty(unit)
    assert open_on_events() == 2  # none opened per read
    assert tracker.remove(unit)
    assert open_on_events() == 0


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
