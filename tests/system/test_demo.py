"""`pidone demo`, the README's first command, runs to the end and reports success."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "units"


def test_the_demo_runs_the_examples_and_stops_cleanly() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pidone", "demo", str(EXAMPLES)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[FAILED]" not in r.stdout
    assert "crasher.service: Scheduled restart job, restart counter is at 1." in r.stdout
    assert "[ok] no process of any unit is left (found 0)" in r.stdout
    assert r.stdout.endswith("demo finished: all as expected\n")
