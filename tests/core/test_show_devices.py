"""DevicePolicy= and DeviceAllow= in `show` against real systemd 252.

252's unit_patch_contexts() changes both after loading: PrivateDevices= turns the policy
"auto" into "closed", and where the policy is not "auto" or there is an entry,
ProtectClock= adds `char-rtc r`; entries are listed last first, one line each, none at
all when there is none (tests/data/oracle/capture-devices-252.md, made by
capture-devices.sh, for the units in device-units/ and packaged ones).
"""

from __future__ import annotations

import pytest

from pidone.core.render.show import render_show, unit_properties
from tests.cli.oraclecap import DATA, capture_of
from tests.core.unitbuild import packaged_unit, unit_from_text

CAPTURE = "capture-devices-252.md"
PROPS = ["DevicePolicy", "DeviceAllow"]
UNITS_DIR = DATA / "device-units"
UNITS = sorted(p.name for p in UNITS_DIR.glob("*.service"))
PACKAGED = ["redis-server.service", "spamd.service", "systemd-logind.service",
            "systemd-timedated.service", "cron.service"]  # fmt: skip


def _want(name: str) -> list[str]:
    command = f"systemctl show {name} -p DevicePolicy,DeviceAllow"
    return capture_of(CAPTURE, command).stdout.splitlines()


@pytest.mark.parametrize("name", UNITS)
def test_show_matches_252(name: str) -> None:
    unit = unit_from_text(name, (UNITS_DIR / name).read_text())
    assert render_show(unit_properties(unit), PROPS) == _want(name)


@pytest.mark.parametrize("name", PACKAGED)
def test_show_of_packaged_units_matches_252(name: str) -> None:
    unit = packaged_unit(name)
    assert render_show(unit_properties(unit), PROPS) == _want(name)
