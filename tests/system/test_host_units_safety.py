"""A unit's default dependencies must never start the host's early-boot services.

Every service gets Requires=/After=sysinit.target (spec 04 §7). On a real Debian host,
sysinit.target.wants/ holds systemd-tmpfiles-setup.service (`systemd-tmpfiles --create
--remove --boot`, which empties /tmp), systemd-sysctl, systemd-timesyncd... pidone keeps
the early-boot targets its own (core.jobwiring.container_override): their files and
`.wants/` directories on the unit path are not followed, except the enabled units of
sockets/timers/paths.target, never systemd's own (core.jobwiring.admitted_links). This
happened once during development, so it is pinned here with stand-ins that only leave a
marker file: if the protection regresses, the test fails instead of running anything real.
"""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.system

EARLY_TARGETS = (
    "sysinit.target",
    "basic.target",
    "sockets.target",
    "timers.target",
    "local-fs.target",
)


def test_default_dependencies_do_not_pull_in_host_early_boot_units(pidone_ns, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    units = {"app.service": "[Service]\nExecStart=/bin/sleep 1000\n"}
    for index, target in enumerate(EARLY_TARGETS):
        fake = f"early-{index}.service"
        units[fake] = (
            "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\n"
            f"ExecStart=/bin/touch {markers}/{fake}\n"
        )
        # What a host's unit path looks like: a target file and its .wants/ link.
        units[target] = f"[Unit]\nDescription=host {target}\nWants={fake}\n"
    daemon = pidone_ns(units)
    for index, target in enumerate(EARLY_TARGETS):
        wants = daemon.unit_dir / f"{target}.wants"
        wants.mkdir()
        os.symlink(daemon.unit_dir / f"early-{index}.service", wants / f"early-{index}.service")
    result = daemon.cli("start", "app.service")
    assert result.returncode == 0, result.stderr
    daemon.wait_state("app.service", "active")
    assert sorted(os.listdir(markers)) == []
    for index in range(len(EARLY_TARGETS)):
        assert daemon.state(f"early-{index}.service").startswith("inactive/")


def test_enabled_units_of_sockets_timers_paths_targets_but_never_systemds_own(pidone_ns, tmp_path):
    # sockets/timers/paths.target keep their .wants/.requires links (what `systemctl enable`
    # of a socket, timer or path made, issue #8), except links to systemd's own units: the
    # host's sockets.target.wants/ names systemd-journald*.socket, timers.target.wants/
    # systemd-tmpfiles-clean.timer (core.jobwiring.admitted_links). sockets.target has a
    # file on the unit path (as on a host); timers.target and paths.target are built-ins.
    markers = tmp_path / "markers"
    markers.mkdir()
    targets = ("sockets.target", "timers.target", "paths.target")
    units = {"sockets.target": "[Unit]\nDescription=host sockets.target\n"}
    for target in targets:
        stem = target.split(".")[0]
        for name in (f"pd-enabled-{stem}.service", f"systemd-standin-{stem}.service"):
            units[name] = (
                "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\n"
                f"ExecStart=/bin/touch {markers}/{name}\n"
            )
    daemon = pidone_ns(units)
    for target in targets:
        stem = target.split(".")[0]
        links = {
            ".wants": (f"pd-enabled-{stem}.service", f"systemd-standin-{stem}.service"),
            ".requires": (f"systemd-standin-{stem}.service",),
        }
        for suffix, names in links.items():
            directory = daemon.unit_dir / f"{target}{suffix}"
            directory.mkdir()
            for name in names:
                os.symlink(daemon.unit_dir / name, directory / name)
    result = daemon.cli("start", *targets)
    assert result.returncode == 0, result.stderr
    for target in targets:
        stem = target.split(".")[0]
        shown = daemon.cli("show", "-p", "Wants,Requires", target)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout == f"Requires=\nWants=pd-enabled-{stem}.service\n"
        daemon.wait_for(
            lambda stem=stem: (markers / f"pd-enabled-{stem}.service").exists(),
            what=f"the unit enabled in {target} to run",
        )
        assert daemon.state(f"systemd-standin-{stem}.service") == "inactive/dead"
    assert sorted(os.listdir(markers)) == sorted(
        f"pd-enabled-{t.split('.')[0]}.service" for t in targets
    )
