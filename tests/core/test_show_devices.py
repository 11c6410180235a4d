"""DevicePolicy= and DeviceAllow= in `show` against real systemd 252.

252's unit_patch_contexts() changes both after loading: PrivateDevices= turns the policy
"auto" into "closed", and where the policy is not "auto" or there is an entry,
ProtectClock= adds `char-rtc r`; entries are listed last first, one line each, none at
all when there is none (tests/data/oracle/capture-devices-252.md, made by
capture-devices.sh, for the units in device-units/ and packaged ones).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pidone.core.render.show import render_show, unit_properties
from tests.cli.oraclecap import DATA, read_captures
from tests.core.unitbuild import unit_from_bytes, unit_from_text

CAPTURE = "capture-devices-252.md"
PROPS = ["DevicePolicy", "DeviceAllow"]
UNITS_DIR = DATA / "device-units"
UNITS = sorted(p.name for p in UNITS_DIR.glob("*.service"))
PACKAGED = ["redis-server.service", "spamd.service", "systemd-logind.service",
            "systemd-timedated.service", "cron.service"]  # fmt: skip
DROPIN_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system")


def _want(name: str) -> list[str]:
    command = f"systemctl show {name} -p DevicePolicy,DeviceAllow"
    for c in read_captures(CAPTURE):
        if c.command == command:
            return c.stdout.splitlines()
    raise AssertionError(f"no capture of {command!r}")


@pytest.mark.parametrize("name", UNITS)
def test_show_matches_252(name: str) -> None:
    unit = unit_from_text(name, (UNITS_DIR / name).read_text())
    assert render_show(unit_properties(unit), PROPS) == _want(name)


@pytest.mark.parametrize("name", PACKAGED)
def test_show_of_packaged_units_matches_252(name: str) -> None:
    path = Path("/lib/systemd/system") / name
    if not path.is_file() or any(Path(d, f"{name}.d").is_dir() for d in DROPIN_DIRS):
        pytest.skip(f"{path} is not here, or has drop-ins")
    unit = unit_from_bytes(name, path.read_bytes(), path=str(path))
    assert render_show(unit_properties(unit), PROPS) == _want(name)
