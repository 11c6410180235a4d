"""systemd 252's unit_log_resources() line, "UNIT: Consumed 1.220s CPU time.", written when a
unit that used more than 1 s of CPU stops or fails: after a stop job's "Stopped", before a
restart's "Started", after "Failed with result" of an automatic restart and again after its
"Stopped"; none for a unit under 1 s. The journals of tests/data/oracle/resources-units/
must read as real systemd's (capture-resources-252.md), the CPU figures aside."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.oraclecap import capture_of
from tests.system.conftest import Factory

pytestmark = pytest.mark.system

UNITS_DIR = Path(__file__).parents[1] / "data" / "oracle" / "resources-units"
CAPTURE = "capture-resources-252.md"


def _lines(text: str) -> list[str]:
    return [re.sub(r"Consumed [0-9.]+s CPU", "Consumed Xs CPU", line) for line in text.splitlines()]


def test_consumed_cpu_lines_fall_where_252_writes_them(pidone_ns: Factory) -> None:
    d = pidone_ns({p.name: p.read_text() for p in UNITS_DIR.iterdir()})
    burn, idle, fail = "res-burn.service", "res-idle.service", "res-fail.service"

    def burnt() -> int:
        return d.journal("-u", burn, "-o", "cat").count("burnt")

    assert d.cli("start", burn, idle).returncode == 0
    d.wait_for(lambda: burnt() == 1, what="the first 1.2 s of CPU")
    assert d.cli("restart", burn).returncode == 0
    d.wait_for(lambda: burnt() == 2, what="the second 1.2 s of CPU")
    assert d.cli("stop", burn, idle).returncode == 0
    want = capture_of(CAPTURE, f"journalctl -u {burn} -u {idle} -o cat --no-pager").stdout
    # the two units stop in parallel, so their lines interleave either way: each on its own
    # (res-burn's own output, "burnt", names no unit)
    for unit in (burn, idle):
        theirs = [ln for ln in _lines(want) if unit in ln or (unit == burn and "res-" not in ln)]
        assert _lines(d.journal("-u", unit, "-o", "cat")) == theirs, unit

    assert d.cli("start", fail).returncode == 0
    d.wait_state(fail, "failed")
    want = capture_of(CAPTURE, f"journalctl -u {fail} -o cat --no-pager").stdout
    assert _lines(d.journal("-u", fail, "-o", "cat")) == _lines(want)
    fields = d.journal("-u", burn, "-o", "json", "-g", "Consumed")
    assert '"MESSAGE_ID":"ae8f7b866b0347b9af31fe1c80b127c0"' in fields.replace(" ", "")
    assert '"PRIORITY":"6"' in fields.replace(" ", "")
