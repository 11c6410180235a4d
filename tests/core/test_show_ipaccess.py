"""IPAddressAllow= and IPAddressDeny= in `show` against real systemd 252.

252 keeps each as a hash set and prints it in that set's order, which changed from one
`systemctl show` to the next (tests/data/oracle/capture-ipaccess-252.md, made by
capture-ipaccess.sh): the words are compared as sets, the lines and keys exactly.
"""

from __future__ import annotations

import pytest

from pidone.core.render.show import render_show, unit_properties
from tests.cli.oraclecap import DATA, capture_of
from tests.core.unitbuild import packaged_unit, unit_from_text

CAPTURE = "capture-ipaccess-252.md"
PROPS = ["IPAddressAllow", "IPAddressDeny"]
UNITS_DIR = DATA / "ip-units"
UNITS = sorted(p.name for p in UNITS_DIR.glob("*.service"))
PACKAGED = ["systemd-logind.service", "upower.service", "cron.service"]


def _want(command: str) -> list[str]:
    return capture_of(CAPTURE, command).stdout.splitlines()


def _as_sets(lines: list[str]) -> list[tuple[str, frozenset[str]]]:
    return [(k, frozenset(v.split())) for k, _, v in (line.partition("=") for line in lines)]


@pytest.mark.parametrize("name", UNITS)
def test_show_matches_252(name: str) -> None:
    unit = unit_from_text(name, (UNITS_DIR / name).read_text())
    with_p = _want(f"systemctl show {name} -p IPAddressAllow,IPAddressDeny")
    assert _as_sets(render_show(unit_properties(unit), PROPS)) == _as_sets(with_p)
    by_default = _want(f"sh -c systemctl show {name} | grep ^IPAddress")
    shown = [line for line in render_show(unit_properties(unit)) if line.startswith("IPAddress")]
    assert _as_sets(shown) == _as_sets(by_default)


@pytest.mark.parametrize("name", PACKAGED)
def test_show_of_packaged_units_matches_252(name: str) -> None:
    unit = packaged_unit(name)
    want = _want(f"systemctl show {name} -p IPAddressAllow,IPAddressDeny")
    assert _as_sets(render_show(unit_properties(unit), PROPS)) == _as_sets(want)
