"""`show` of Debian's packaged sockets, timers and paths against systemd 252: the properties
their unit files decide (tests/data/oracle/capture-packaged-triggers-252.md; the unit files
as captured are in tests/data/oracle/packaged-units/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pidone.core.render.show import RuntimeState, unit_properties
from tests.core.unitbuild import unit_from_bytes

ORACLE = Path(__file__).parent.parent / "data" / "oracle"
CAPTURE = ORACLE / "capture-packaged-triggers-252.md"
UNITS = ORACLE / "packaged-units"
# what the unit file decides (not the runtime, the graph or the host)
CONFIG = [
    "Listen",
    "Accept",
    "SocketMode",
    "SocketUser",
    "SocketGroup",
    "DirectoryMode",
    "Symlinks",
    "FileDescriptorName",
    "RemoveOnStop",
    "PassCredentials",
    "MaxConnections",
    "TriggerLimitBurst",
    "Unit",
    "TimersMonotonic",
    "TimersCalendar",
    "Persistent",
    "RandomizedDelayUSec",
    "AccuracyUSec",
    "FixedRandomDelay",
    "WakeSystem",
    "RemainAfterElapse",
    "Paths",
    "MakeDirectory",
]
MASKED_IN_ORACLE = ("apt-daily.timer", "apt-daily-upgrade.timer")  # sd-oracle masks them


def _oracle(unit: str) -> list[tuple[str, str]]:
    text = CAPTURE.read_text()
    block = re.search(
        rf"```console\n\$ systemctl show {re.escape(unit)} -p \S+\n(.*?)\[exit", text, re.S
    )
    assert block is not None, unit
    pairs = [line.split("=", 1) for line in block.group(1).splitlines() if line]
    return [(k, _no_elapse(v)) for k, v in pairs if k in CONFIG]


def _no_elapse(value: str) -> str:
    """next_elapse= is the clock's, not the file's."""
    return re.sub(r"next_elapse=[^}]*", "next_elapse=X", value)


@pytest.mark.parametrize(
    "unit", sorted(p.name for p in UNITS.iterdir() if p.name not in MASKED_IN_ORACLE)
)
def test_show_of_a_packaged_unit_matches_systemd_252(unit: str) -> None:
    parsed = unit_from_bytes(unit, (UNITS / unit).read_bytes(), path=f"/lib/systemd/system/{unit}")
    assert parsed.load_state == "loaded", parsed.diagnostics
    ours = [(k, _no_elapse(v)) for k, v in unit_properties(parsed, RuntimeState()) if k in CONFIG]
    # systemctl show -p prints the empty ones too; ours lists them only when asked
    want = _oracle(unit)
    assert [(k, v) for k, v in ours if v] == [(k, v) for k, v in want if v]
