"""Golden tests: list-units rows taken from real 252's `list-units --all` table, filtered and
rendered by core.render.listunits, give exactly what 252 printed for each option set."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pidone.core.render.jsonout import list_units_document
from pidone.core.render.listunits import (
    ListUnitsOptions,
    UnitListRow,
    format_list_units,
    select_rows,
)
from tests.cli.oraclecap import DATA, read_captures

CAPTURE = "capture-matrix-252.md"


def parse_table(text: str) -> list[UnitListRow]:
    """Rows of a captured list-units table, sliced at the header's column starts."""
    lines = text.split("\n")
    header = lines[0]
    found = list(re.finditer(r"[A-Z]+", header))
    names = [m.group(0) for m in found]
    starts = [m.start() for m in found]
    rows = []
    for line in lines[1:]:
        if not line.strip():
            break
        cells = [
            line[s : (starts[i + 1] if i + 1 < len(starts) else None)].strip()
            for i, s in enumerate(starts)
        ]
        rec = dict(zip(names, cells, strict=True))
        rows.append(
            UnitListRow(
                rec["UNIT"],
                rec["LOAD"],
                rec["ACTIVE"],
                rec["SUB"],
                rec["DESCRIPTION"],
                rec.get("JOB", ""),
            )
        )
    return rows


def _cap(command: str) -> str:
    for c in read_captures(CAPTURE):
        if c.command == command:
            assert c.exit_code == 0
            return c.stdout
    raise LookupError(command)


ALL = "systemctl list-units --no-pager --all"

CASES = [
    (ALL, ListUnitsOptions(all=True)),
    ("systemctl list-units --no-pager", ListUnitsOptions()),
    ("systemctl list-units --no-pager --type=service", ListUnitsOptions(types=("service",))),
    (
        "systemctl list-units --no-pager --type=service --all",
        ListUnitsOptions(all=True, types=("service",)),
    ),
    ("systemctl list-units --no-pager --failed", ListUnitsOptions(states=("failed",))),
    (
        "systemctl list-units --no-pager --state=failed,activating",
        ListUnitsOptions(states=("failed", "activating")),
    ),
    (
        "systemctl list-units --no-pager --plain --type=service",
        ListUnitsOptions(plain=True, types=("service",)),
    ),
    (
        "systemctl list-units --no-pager --no-legend --type=service",
        ListUnitsOptions(legend=False, types=("service",)),
    ),
    ("systemctl list-units --no-pager m-*", ListUnitsOptions(patterns=("m-*",))),
    ("systemctl list-units --no-pager --all m-*", ListUnitsOptions(all=True, patterns=("m-*",))),
    (
        "systemctl list-units --no-pager --all nothing-*",
        ListUnitsOptions(all=True, patterns=("nothing-*",)),
    ),
    (
        "systemctl list-units --no-pager --type=socket,timer",
        ListUnitsOptions(types=("socket", "timer")),
    ),
    (
        "systemctl list-units --no-pager --legend=no --plain m-run.service",
        ListUnitsOptions(legend=False, plain=True, patterns=("m-run.service",)),
    ),
]


@pytest.mark.parametrize(
    ("command", "opts"), CASES, ids=[c[0][31:].strip() or "default" for c in CASES]
)
def test_list_units_matches_252(command: str, opts: ListUnitsOptions) -> None:
    source = parse_table(_cap(ALL))
    assert len(source) > 50
    got = format_list_units(select_rows(source, opts), opts)
    assert got == _cap(command)


def test_demo_capture_without_jobs() -> None:
    """No JOB column, and no blank line between the legend and the count (252)."""
    text = None
    for c in read_captures("capture-demo-252.md"):
        if c.command == "systemctl list-units --no-pager" and c.section.startswith("7."):
            text = c.stdout
    assert text is not None
    rows = parse_table(text)
    assert format_list_units(select_rows(rows, ListUnitsOptions()), ListUnitsOptions()) == text


def test_ascii_glyph_and_tty_width() -> None:
    rows = [
        UnitListRow("a-long-unit-name.service", "loaded", "failed", "failed", "x" * 80),
        UnitListRow("b.service", "loaded", "active", "running", "short"),
    ]
    opts = ListUnitsOptions(utf8=False, width=60, legend=False)
    lines = format_list_units(rows, opts).splitlines()
    assert lines[0].startswith("* a-long-unit-name.service loaded failed failed ")
    assert all(len(line) <= 60 for line in lines)
    assert lines[0].endswith("...")
    assert lines[1] == "  b.service                loaded active running short"


def test_json_schema() -> None:
    rows = [UnitListRow("b.service", "loaded", "active", "running", "B", "start")]
    doc = json.loads(json.dumps(list_units_document(rows)))
    assert doc == {
        "schema": "pidone/1",
        "kind": "list-units",
        "units": [
            {
                "unit": "b.service",
                "load": "loaded",
                "active": "active",
                "sub": "running",
                "job": "start",
                "description": "B",
            }
        ],
    }


def test_list_unit_files_matches_252_for_the_matrix(tmp_path: Path) -> None:
    """pidone list-unit-files over the same files as the oracle run (m-run enabled,
    m-masked masked over /lib, Debian's presets) prints what 252 printed."""
    units = DATA / "matrix-units"
    etc = tmp_path / "etc" / "systemd" / "system"
    lib = tmp_path / "lib" / "systemd" / "system"
    (etc / "multi-user.target.wants").mkdir(parents=True)
    lib.mkdir(parents=True)
    for unit in units.iterdir():
        if unit.is_file():
            target = lib if unit.name == "m-masked.service" else etc
            shutil.copy(unit, target / unit.name)
    (etc / "m-masked.service").symlink_to("/dev/null")
    (etc / "multi-user.target.wants" / "m-run.service").symlink_to(
        "/etc/systemd/system/m-run.service"
    )
    presets = Path("/lib/systemd/system-preset")
    if not presets.is_dir():
        pytest.skip("no systemd preset files on this host (the oracle used Debian's)")
    shutil.copytree(presets, tmp_path / "lib" / "systemd" / "system-preset")
    out = subprocess.run(
        [sys.executable, "-m", "pidone", "list-unit-files", "--root", str(tmp_path), "m-*"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0
    assert out.stdout == _cap("systemctl list-unit-files --no-pager m-*")
