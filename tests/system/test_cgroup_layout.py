"""A PID 1 that owns its cgroup namespace (a container) lays cgroups out as systemd does:
itself in /init.scope, each unit below its slice (Slice=, or the default slice)."""

from __future__ import annotations

import pytest

from pidone.testing.harness import NamespaceDaemon
from tests.system.conftest import Factory

pytestmark = pytest.mark.system

SLEEP = "[Service]\nExecStart=/bin/sleep 1000\n"
UNITS = {
    "web.service": SLEEP,
    "inst@.service": SLEEP,  # an instance: system-inst.slice (unit_set_default_slice())
    "sliced.service": "[Service]\nSlice=system-custom.slice\nExecStart=/bin/sleep 1000\n",
    "top.service": "[Service]\nSlice=custom.slice\nExecStart=/bin/sleep 1000\n",
    # no file for any of the three slices: each is loaded without one, as in 252
    "deep.service": "[Service]\nSlice=team-app-web.slice\nExecStart=/bin/sleep 1000\n",
}


def _cgroup_of(pid: int, proc: str = "/proc") -> str:
    """The unified line of PROC/PID/cgroup, as the host (the initial namespace) sees it."""
    with open(f"{proc}/{pid}/cgroup") as f:
        return next(line for line in f.read().splitlines() if line.startswith("0::"))[3:]


def _main_pid(d: NamespaceDaemon, unit: str) -> int:
    out = d.cli("show", "-p", "MainPID", "--value", unit).stdout.strip()
    return int(out)


def test_a_container_init_uses_systemds_layout(pidone_ns: Factory) -> None:
    d = pidone_ns(UNITS, cgroupns=True)
    r = d.cli("start", "web", "inst@a", "sliced", "top", "deep")
    assert r.returncode == 0, r.stdout + r.stderr
    expected = {
        "web.service": "/system.slice/web.service",
        "inst@a.service": "/system.slice/system-inst.slice/inst@a.service",
        "sliced.service": "/system.slice/system-custom.slice/sliced.service",
        "top.service": "/custom.slice/top.service",
        "deep.service": "/team.slice/team-app.slice/team-app-web.slice/deep.service",
    }
    root = _cgroup_of(d.pid1).removesuffix("/init.scope")
    assert _cgroup_of(d.pid1) == f"{root}/init.scope"  # the manager itself, as systemd
    for unit, path in expected.items():
        shown = d.cli("show", "-p", "ControlGroup", "--value", unit).stdout.strip()
        assert shown == path, unit
        status = d.cli("status", "--no-pager", unit).stdout
        assert f"     CGroup: {path}\n" in status, status
        assert "Not enforced by pidone: Slice=" not in status  # placement is Slice='s job
        # (MainPID is the namespace's number: read it through the namespace's own /proc)
        in_ns = _cgroup_of(_main_pid(d, unit), f"/proc/{d.pid1}/root/proc")
        assert in_ns == f"{root}{path}"
    # `status` without units draws the tree as 252 does: the manager under init.scope
    tree = d.cli("status", "--no-pager").stdout.split("   CGroup: /\n", 1)[1].splitlines()
    tops = [
        line.strip()[2:] for line in tree if line.startswith("           ") and line[11] in "├└"
    ]
    assert tops == ["custom.slice", "init.scope", "system.slice", "team.slice"], tree
    for slice_ in ("team.slice", "team-app.slice", "team-app-web.slice"):
        shown = d.cli("show", "-p", "LoadState,ActiveState", slice_).stdout
        assert shown == "LoadState=loaded\nActiveState=active\n", slice_
    # the root slice is the namespace's root; it and system.slice are compiled into 252,
    # which shows no unit file for them (sd-oracle)
    root_status = d.cli("status", "--no-pager", "--", "-.slice").stdout
    assert "     Loaded: loaded\n" in root_status, root_status
    assert "     CGroup: /\n             ├─custom.slice\n" in root_status, root_status
    assert "\n             ├─init.scope\n" in root_status, root_status
    shown = d.cli("show", "-p", "FragmentPath,Description", "--", "-.slice", "system.slice")
    assert shown.stdout == (
        "Description=Root Slice\nFragmentPath=\n\nDescription=System Slice\nFragmentPath=\n"
    ), shown.stdout + shown.stderr
    # the manager's own scope is a unit, running from the start, as in 252 (sd-oracle)
    scope = d.cli("status", "--no-pager", "init.scope").stdout
    assert scope.startswith(
        "● init.scope - System and Service Manager\n     Loaded: loaded\n  Transient: yes\n"
        "     Active: active (running) since "
    ), scope
    assert "       Docs: man:systemd(1)\n" in scope
    assert "     CGroup: /init.scope\n             ├─ 1 " in scope, scope
    listed = d.cli("list-units", "--type=scope", "--no-legend").stdout
    assert listed.split(None, 4) == [
        "init.scope", "loaded", "active", "running", "System and Service Manager\n"
    ]  # fmt: skip
    shown = d.cli("show", "-p", "Slice,ControlGroup,Perpetual,Transient,CanStop", "init.scope")
    assert shown.stdout == (
        "Slice=-.slice\nControlGroup=/init.scope\nCanStop=no\nTransient=yes\nPerpetual=yes\n"
    ), shown.stdout
    r = d.cli("stop", "init.scope")
    assert (r.returncode, r.stderr) == (
        3,
        "Failed to stop init.scope: Job type stop is not applicable for unit init.scope.\n",
    )
    # SliceOf=: what is placed in a slice, child slices included
    for slice_, members in (
        ("team-app.slice", "team-app-web.slice"),
        ("team-app-web.slice", "deep.service"),
    ):
        shown = d.cli("show", "-p", "SliceOf", slice_).stdout
        assert shown == f"SliceOf={members}\n", slice_
    # a slice's status draws the units below it (252: Slice /team, its cgroup subtree)
    status = d.cli("status", "--no-pager", "team.slice").stdout
    assert status.startswith("● team.slice - Slice /team\n     Loaded: loaded\n"), status
    assert (
        "     CGroup: /team.slice\n"
        "             └─team-app.slice\n"
        "               └─team-app-web.slice\n"
        "                 └─deep.service\n"
        f"                   └─{_main_pid(d, 'deep.service')} /bin/sleep 1000\n"
    ) in status, status
    assert any("/pidone-spawn " in line for line in tree), tree  # the spawn helper too
    assert d.cli("stop", "web", "inst@a", "sliced", "top", "deep").returncode == 0
    for unit in expected:
        assert d.state(unit) == "inactive/dead"


def test_a_test_daemon_in_the_hosts_cgroup_namespace_keeps_its_own_subtree(
    pidone_ns: Factory,
) -> None:
    """No cgroup namespace of its own: one pidone-<hash> subtree, flat, as before."""
    d = pidone_ns({"web.service": SLEEP})
    assert d.cli("start", "web").returncode == 0
    shown = d.cli("show", "-p", "ControlGroup", "--value", "web").stdout.strip()
    assert shown.endswith("/web.service")
    assert "/pidone-" in shown
    assert "system.slice" not in shown
    # no slice cgroups there: the root slice is the daemon's subtree, the others have none
    subtree = shown.removesuffix("/web.service")
    root_status = d.cli("status", "--no-pager", "--", "-.slice").stdout
    assert f"     CGroup: {subtree}\n             └─web.service\n" in root_status, root_status
    assert "CGroup:" not in d.cli("status", "--no-pager", "system.slice").stdout
    sliced = {"sliced.service": UNITS["sliced.service"]}
    flat = pidone_ns(sliced)
    assert flat.cli("start", "sliced").returncode == 0
    flat.wait_for(
        lambda: (
            "Not enforced by pidone: Slice=system-custom.slice"
            in flat.journal("-u", "sliced", "-o", "cat")
        ),
        what="the not-enforced line of a daemon that does not place slices",
    )
