"""unit_from_cgroup: /proc/PID/cgroup text -> owning unit."""

from __future__ import annotations

import pytest

from pidone.core.cgroupunit import is_plain_unit_name, unit_from_cgroup, unit_from_path


@pytest.mark.parametrize(
    ("path", "unit"),
    [
        ("/system.slice/foo.service", "foo.service"),
        ("/system.slice/foo.service/worker", "foo.service"),
        ("/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1.service"),
        ("/user.slice/user-1000.slice/user@1000.service/app.slice/x.service", "user@1000.service"),
        ("/user.slice/user-0.slice/session-3.scope", "session-3.scope"),
        ("/init.scope", "init.scope"),
        ("/pidone/web.service", "web.service"),
        ("/pidone-46873202/ticker.service", "ticker.service"),  # the daemon's own subtree
        ("/x/pidone-1a2b/web.service/sub", "web.service"),
        ("/process_api/pidone/web.service/sub", "web.service"),
        ("/pidone/system.slice/db.service", "db.service"),
        ("/system.slice/_cpu.service", "cpu.service"),
        ("/", None),
        ("/system.slice", None),
        ("/process_api/532b3cd5", None),
        ("/system.slice/foo@.service", None),
    ],
)
def test_unit_from_path(path, unit):
    assert unit_from_path(path) == unit


def test_prefers_unified_line():
    data = b"9:name=systemd:/system.slice/a.service\n4:memory:/\n0::/system.slice/b.service\n"
    assert unit_from_cgroup(data) == "b.service"


def test_falls_back_to_named_systemd_hierarchy():
    data = b"9:name=systemd:/system.slice/a.service\n8:pids:/\n0::/\n"
    assert unit_from_cgroup(data) == "a.service"
    assert unit_from_cgroup(b"1:name=systemd:/system.slice/c.socket\n") == "c.socket"


def test_no_unit():
    assert unit_from_cgroup(b"") is None
    assert unit_from_cgroup(b"0::/\n") is None
    assert unit_from_cgroup(b"4:memory:/system.slice/a.service\n") is None


def test_plain_unit_names():
    assert is_plain_unit_name("a.service")
    assert is_plain_unit_name("a@b.timer")
    assert not is_plain_unit_name("a@.service")
    assert not is_plain_unit_name("@a.service")
    assert not is_plain_unit_name("a.bogus")
    assert not is_plain_unit_name("a b.service")
    assert not is_plain_unit_name(".service")
