"""The execution environment as the daemon wires it: DynamicUser=, RuntimeDirectoryPreserve=,
PrivateTmp= clean-up, not-enforced directives, the start-up tmpfiles.d pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from pidone.linux.dynamicuser import DYNAMIC_UID_MAX, DYNAMIC_UID_MIN
from pidone.testing.harness import NamespaceDaemon
from tests.system.conftest import Factory

pytestmark = pytest.mark.system


def inside(d: NamespaceDaemon, path: str) -> Path:
    """`path` as the daemon's mount namespace sees it (proc(5): /proc/PID/root)."""
    return Path(f"/proc/{d.pid1}/root{path}")


@pytest.mark.parametrize("no_cgroups", [False, True], ids=["cgroups", "no-cgroups"])
def test_dynamic_user_gets_a_name_and_a_transient_uid(pidone_ns: Factory, no_cgroups: bool) -> None:
    # isolated: a private tmpfs on /run keeps the UID registry out of the host's /run.
    d = pidone_ns(
        {
            "dyn.service": "[Service]\nDynamicUser=yes\nRuntimeDirectory=pidone-dyn-test\n"
            'ExecStart=/bin/sh -c \'echo "who=$USER/$LOGNAME/$(id -u)/$(id -g)"; '
            "exec sleep 1000'\n"
        },
        no_cgroups=no_cgroups,
        isolated=True,
    )
    assert d.cli("start", "dyn").returncode == 0
    info = d.wait_state("dyn.service", "active/running")
    # Type=simple is active at fork, before the child's setuid: read the uid only once the
    # service has said who it is (it has then exec'd under its own identity).
    d.wait_for(lambda: "who=" in d.journal("-u", "dyn", "-o", "cat"), what="the echo")
    uid = d.uid_of(info["main_pid"])
    assert DYNAMIC_UID_MIN <= uid <= DYNAMIC_UID_MAX
    assert f"who=dyn/dyn/{uid}/{uid}" in d.journal("-u", "dyn", "-o", "cat")
    assert inside(d, "/run/pidone-dyn-test").stat().st_uid == uid
    assert d.cli("stop", "dyn").returncode == 0
    assert not inside(d, "/run/pidone-dyn-test").exists()


@pytest.mark.parametrize("preserve", ["restart", "no"])
def test_runtime_directory_preserve_restart(pidone_ns: Factory, preserve: str) -> None:
    d = pidone_ns(
        {
            "rd.service": "[Service]\nRuntimeDirectory=pidone-rd-test\n"
            f"RuntimeDirectoryPreserve={preserve}\nExecStart=/bin/sleep 1000\n"
        },
        isolated=True,
    )
    directory = inside(d, "/run/pidone-rd-test")
    assert d.cli("start", "rd").returncode == 0
    d.wait_state("rd.service", "active/running")
    (directory / "marker").write_text("kept\n")
    assert d.cli("restart", "rd").returncode == 0
    d.wait_state("rd.service", "active/running")
    assert directory.is_dir()
    assert (directory / "marker").exists() == (preserve == "restart")
    assert d.cli("stop", "rd").returncode == 0
    assert not directory.exists()


def test_private_tmp_is_removed_at_stop(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "pt.service": "[Service]\nPrivateTmp=yes\n"
            "ExecStart=/bin/sh -c 'echo hello > /tmp/inside; exec sleep 1000'\n"
        },
        isolated=True,
    )
    assert d.cli("start", "pt").returncode == 0
    info = d.wait_state("pt.service", "active/running")
    # /tmp/pidone-private-SCOPE-UNIT-INVOCATION (SCOPE: the daemon's runtime-dir tag)
    name = f"pt.service-{info['invocation_id']}"
    found = list(inside(d, "/tmp").glob(f"pidone-private-*-{name}"))
    assert len(found) == 1, found
    outer = found[0]
    var_outer = inside(d, f"/var/tmp/{outer.name}")
    assert var_outer.is_dir()
    d.wait_for(lambda: (outer / "tmp" / "inside").exists(), what="the file in PrivateTmp")
    assert d.cli("stop", "pt").returncode == 0
    assert not outer.exists()
    assert not var_outer.exists()


def test_not_enforced_directives_reach_the_journal_and_status(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "ne.service": "[Service]\nPrivateIPC=yes\nMemoryMax=1G\n"
            "PrivateTmp=yes\nPrivateNetwork=yes\nExecStart=/bin/sleep 1000\n",
            "plain.service": "[Service]\nExecStart=/bin/sleep 1000\n",
        },
        isolated=True,
    )
    assert d.cli("start", "ne", "plain").returncode == 0
    info = d.wait_state("ne.service", "active/running")
    expected = "PrivateIPC=yes, MemoryMax=1G"
    line = f"ne.service: Not enforced by pidone: {expected}"
    assert line in d.journal("-u", "ne", "-o", "cat")
    # PrivateTmp= and PrivateNetwork= are enforced here
    assert info["not_enforced"] == expected.split(", ")
    assert line in d.cli("status", "ne").stdout  # through the journal tail
    assert "not_enforced" not in d.status("plain.service")
    assert "Not enforced" not in d.journal("-u", "plain", "-o", "cat")
    assert d.cli("stop", "ne", "plain").returncode == 0


def test_tmpfiles_option_creates_below_its_root(pidone_ns: Factory, tmp_path: Path) -> None:
    conf = "d /run/made-by-tmpfiles 0750 root root -\nd /var/lib/t\nf /var/lib/t/hello - - - - hi\n"
    roots = {}
    for name in ("yes", "auto"):
        roots[name] = tmp_path / f"root-{name}"
        (roots[name] / "etc/tmpfiles.d").mkdir(parents=True)
        (roots[name] / "etc/tmpfiles.d/t.conf").write_text(conf)
    on = pidone_ns(args=["--tmpfiles", f"--tmpfiles-root={roots['yes']}"], isolated=True)
    # The default (auto) in a test namespace: PID 1, but not of the initial PID namespace.
    auto = pidone_ns(args=[f"--tmpfiles-root={roots['auto']}"], isolated=True)
    made = roots["yes"] / "run/made-by-tmpfiles"
    assert made.is_dir()
    assert made.stat().st_mode & 0o7777 == 0o750
    assert (roots["yes"] / "var/lib/t/hello").read_text() == "hi"
    assert (roots["yes"] / "run/systemd/system").is_dir()  # sd_booted(3)'s marker
    on.wait_for(
        lambda: "tmpfiles: --create --boot pass done below" in on.journal("-o", "cat"),
        what="the tmpfiles line in the journal",
    )
    assert sorted(p.name for p in roots["auto"].iterdir()) == ["etc"]
    assert "tmpfiles:" not in auto.journal("-o", "cat")


def test_runtime_directory_preserve_restart_across_automatic_restarts(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "ar.service": "[Service]\nRuntimeDirectory=pidone-ar-test\n"
            "RuntimeDirectoryPreserve=restart\nRestart=always\nRestartSec=100ms\n"
            "ExecStart=/bin/sh -c 'echo run >> \"$RUNTIME_DIRECTORY/runs\"'\n"
        },
        isolated=True,
    )
    runs = inside(d, "/run/pidone-ar-test/runs")
    assert d.cli("start", "ar").returncode == 0

    def three_runs() -> bool:
        try:
            return runs.read_text().count("run\n") >= 3
        except FileNotFoundError:
            return False

    d.wait_for(three_runs, what="three runs recorded in one preserved directory")
    assert d.cli("stop", "ar").returncode == 0
    assert not runs.parent.exists()


CAP_SYS_RESOURCE = 24  # capabilities(7)


def _has_capability(number: int) -> bool:
    with open("/proc/self/status") as f:
        effective = next(line for line in f if line.startswith("CapEff:")).split()[1]
    return bool(int(effective, 16) >> number & 1)


def test_oom_score_adjust_below_zero_without_cap_sys_resource_is_skipped(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    # dbus.service has OOMScoreAdjust=-900; in a container without CAP_SYS_RESOURCE the
    # kernel refuses to lower the score (EACCES) and systemd 252 goes on regardless.
    out = tmp_path / "score"
    d = pidone_ns(
        {
            "oom.service": "[Service]\nType=oneshot\nOOMScoreAdjust=-900\n"
            f"ExecStart=/bin/sh -c 'cat /proc/self/oom_score_adj > {out}'\n",
            "up.service": "[Service]\nType=oneshot\nOOMScoreAdjust=500\n"
            f"ExecStart=/bin/sh -c 'cat /proc/self/oom_score_adj > {out}.up'\n",
        }
    )
    assert d.cli("start", "oom", "up").returncode == 0
    expected = "-900" if _has_capability(CAP_SYS_RESOURCE) else "0"
    assert out.read_text().strip() == expected
    assert Path(f"{out}.up").read_text().strip() == "500"  # raising needs no privilege


def test_device_rules_without_a_cgroup_are_reported_not_dropped(pidone_ns: Factory) -> None:
    # --no-cgroups: no cgroup to attach the device program to; the unit starts, unrestricted,
    # and its log says so (where the daemon has cgroups the program is attached:
    # tests/system/test_seccomp_units.py, sec-devices*.service)
    d = pidone_ns(
        {"dev.service": "[Service]\nType=oneshot\nDeviceAllow=/dev/null rw\n"
         "ExecStart=/bin/sh -c 'head -c1 /dev/zero >/dev/null && echo zero-read'\n"},
        no_cgroups=True,
        isolated=True,
    )  # fmt: skip
    assert d.cli("start", "dev").returncode == 0
    log = d.journal("-u", "dev", "-o", "cat")
    assert "dev.service: DevicePolicy=/DeviceAllow= not enforced: no cgroup" in log
    assert "zero-read" in log
