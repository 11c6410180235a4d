"""A unit's default dependencies must never start the host's early-boot services.

Every service gets Requires=/After=sysinit.target (spec 04 §7). On a real Debian host,
sysinit.target.wants/ holds systemd-tmpfiles-setup.service (`systemd-tmpfiles --create
--remove --boot`, which empties /tmp), systemd-sysctl, systemd-timesyncd... pidone keeps
the early-boot targets its own (core.jobwiring.container_override): their files and
`.wants/` directories on the unit path are not followed. This happened once during
development, so it is pinned here with stand-ins that only leave a marker file: if the
protection regresses, the test fails instead of running anything real.
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
