"""`show` and `verify` of the seccomp settings against real systemd 252.

SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures=, SystemCallLog=,
Personality=, LockPersonality=, RestrictAddressFamilies=, MemoryDenyWriteExecute=,
RestrictRealtime=, RestrictSUIDSGID=, RestrictNamespaces= of the units in
tests/data/oracle/seccomp-units/ and Debian's redis-server.service, as 252 printed them
(tests/data/oracle/capture-seccomp-252.md, made by capture-seccomp.sh): with -p, without
-p (the grep of the full `systemctl show`), and the warnings of `systemd-analyze verify`.
"""

from __future__ import annotations

import re

import pytest

from pidone.core.render.show import render_show, unit_properties
from tests.cli.oraclecap import DATA, read_captures
from tests.core.unitbuild import DATA as CORE_DATA
from tests.core.unitbuild import packaged_unit, unit_from_text

CAPTURE = "capture-seccomp-252.md"
PROPS = (
    "SystemCallFilter,SystemCallArchitectures,SystemCallErrorNumber,SystemCallLog,Personality,"
    "LockPersonality,RestrictAddressFamilies,MemoryDenyWriteExecute,RestrictRealtime,"
    "RestrictSUIDSGID,RestrictNamespaces"
)
GREP = re.compile(
    r"^(SystemCall[A-Za-z]*|Personality|LockPersonality|RestrictAddressFamilies|"
    r"MemoryDenyWriteExecute|RestrictRealtime|RestrictSUIDSGID|RestrictNamespaces)="
)
UNITS_DIR = DATA / "seccomp-units"
UNITS = sorted(p.name for p in UNITS_DIR.glob("*.service"))


def _text(name: str) -> str:
    if name == "redis-server.service":
        return (CORE_DATA / "debian" / name).read_text()
    return (UNITS_DIR / name).read_text()


def _capture(prefix: str) -> str:
    return next(c.stdout for c in read_captures(CAPTURE) if c.command.startswith(prefix))


def test_every_unit_was_captured() -> None:
    shown = {
        c.command.split()[2]
        for c in read_captures(CAPTURE)
        if c.command.startswith("systemctl show")
    }
    assert shown >= {*UNITS, "redis-server.service"}


@pytest.mark.parametrize("name", [*UNITS, "redis-server.service"])
def test_show_with_p_matches_252(name: str) -> None:
    unit = unit_from_text(name, _text(name))
    want = _capture(f"systemctl show {name} -p {PROPS}")
    assert render_show(unit_properties(unit), PROPS.split(",")) == want.splitlines()


@pytest.mark.parametrize("name", [*UNITS, "redis-server.service"])
def test_show_without_p_matches_252(name: str) -> None:
    unit = unit_from_text(name, _text(name))
    want = _capture(f"sh -c systemctl show {name} |")
    got = [line for line in render_show(unit_properties(unit)) if GREP.match(line)]
    assert got == want.splitlines()


def test_verify_warnings_match_252() -> None:
    stderr = next(
        c.stderr for c in read_captures(CAPTURE) if c.command.startswith("systemd-analyze verify")
    )
    want = [
        line.removeprefix("/etc/systemd/system/")
        for line in stderr.splitlines()
        if line.startswith("/etc/systemd/system/")
    ]
    got = []
    for name in UNITS:
        unit = unit_from_text(name, _text(name))
        got += [f"{name}:{d.line}: {d.message}" for d in unit.diagnostics if d.line]
    assert got == want


PACKAGED = sorted(
    c.section.removeprefix("packaged ")
    for c in read_captures(CAPTURE)
    if c.section.startswith("packaged ")
)


@pytest.mark.parametrize("name", PACKAGED)
def test_show_of_packaged_units_matches_252(name: str) -> None:
    """Debian's own units (vendored in tests/data/packaged-units, as the oracle saw them)."""
    unit = packaged_unit(name)
    want = _capture(f"systemctl show {name} -p {PROPS}")
    assert render_show(unit_properties(unit), PROPS.split(",")) == want.splitlines()
