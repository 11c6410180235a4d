"""docs/state-machine.md carries the current rendering of the transition table."""

from __future__ import annotations

import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "make_state_diagram.py"


def test_rendered_table_is_up_to_date() -> None:
    namespace = runpy.run_path(str(SCRIPT))
    assert namespace["main"](["--check"]) == 0, "run docs/make_state_diagram.py"


def test_every_row_appears_in_the_table() -> None:
    namespace = runpy.run_path(str(SCRIPT))
    from pidone.core.servicetable import TRANSITIONS

    rows = [line for line in namespace["table"]() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(TRANSITIONS)
