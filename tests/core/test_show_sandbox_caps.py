"""`show` of the kernel-protection settings and DynamicUser=: their values, what they take out of
CapabilityBoundingSet= at load time (systemd 252 unit_patch_contexts()), against real
systemd 252 (tests/data/oracle/capture-sandbox-252.md, its units in sandbox-units/)."""

from __future__ import annotations

import pytest

from pidone.core.render.show import render_show, unit_properties
from tests.cli.oraclecap import DATA, read_captures
from tests.core.unitbuild import unit_from_text

CAPTURE = "capture-sandbox-252.md"
PROPS = (
    "CapabilityBoundingSet,PrivateDevices,ProtectClock,ProtectKernelTunables,"
    "ProtectKernelModules,ProtectKernelLogs,ProtectControlGroups,PrivateNetwork,ProtectHostname,"
    "ProtectProc,ProcSubset,RemoveIPC,PrivateTmp,ProtectSystem,ProtectHome,NoNewPrivileges,"
    "RestrictSUIDSGID"
)
UNITS = sorted(p.stem for p in (DATA / "sandbox-units").glob("*.service"))


@pytest.mark.parametrize("name", UNITS)
def test_show_matches_252(name: str) -> None:
    unit = unit_from_text(
        f"{name}.service", (DATA / "sandbox-units" / f"{name}.service").read_text()
    )
    want = next(
        c.stdout
        for c in read_captures(CAPTURE)
        if c.command == f"systemctl show {name}.service -p {PROPS}"
    )
    assert render_show(unit_properties(unit), PROPS.split(",")) == want.splitlines()


def test_the_drops_reach_an_explicit_bounding_set_and_a_drop_in_can_lift_the_setting() -> None:
    text = "[Service]\nExecStart=/bin/true\nCapabilityBoundingSet=CAP_SYSLOG CAP_CHOWN\n"
    unit = unit_from_text("t.service", text + "ProtectKernelLogs=yes\n")
    assert dict(unit_properties(unit))["CapabilityBoundingSet"] == "cap_chown"
    unit = unit_from_text(
        "t.service", text + "ProtectKernelLogs=yes\n", "[Service]\nProtectKernelLogs=no\n"
    )
    assert dict(unit_properties(unit))["CapabilityBoundingSet"] == "cap_chown cap_syslog"
