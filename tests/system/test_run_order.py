"""The order in which one transaction's runnable jobs run, as real systemd 252 runs them
(core.runorder): ro.target's Wants= lists ro-zz, ro-aa, ro-mm (CPUWeight=500) and ro-kk
(Nice=-5); 252 starts mm, kk, aa, zz (tests/data/oracle/capture-runorder-252.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.oraclecap import capture_of
from tests.system.conftest import Factory

pytestmark = pytest.mark.system

UNITS_DIR = Path(__file__).parents[1] / "data" / "oracle" / "runorder-units"
JOURNAL = (
    "journalctl -o cat --no-pager -u ro.target -u ro-zz.service -u ro-aa.service "
    "-u ro-mm.service -u ro-kk.service -u ro-qq.socket"
)


def _starting(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("Starting ")]


def test_services_start_in_252s_order(pidone_ns: Factory, tmp_path: Path) -> None:
    sock = str(tmp_path / "ro-qq.sock")
    units = {p.name: p.read_text().replace("/run/ro-qq.sock", sock) for p in UNITS_DIR.iterdir()}
    d = pidone_ns(units)
    assert d.cli("start", "ro.target").returncode == 0
    names = ["ro.target", "ro-zz.service", "ro-aa.service", "ro-mm.service", "ro-kk.service"]
    got = d.journal("-o", "cat", *(f"-u{n}" for n in [*names, "ro-qq.socket"]))
    want = capture_of("capture-runorder-252.md", JOURNAL).stdout
    assert _starting(got) == _starting(want)
    assert "Listening on ro-qq.socket." in got
