"""`pidone status` and `show` of an inactive unit present what systemd 252 keeps loaded
(core.unittable rule 6): a static unit named by a running unit keeps its last run; one that
nothing kept names is shown as loaded afresh (252 collected it). Checked on the oracle with
the same three units."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.system

UNITS = {
    "gcv-a.service": "[Unit]\nAfter=gcv-b.service\n[Service]\nExecStart=/bin/sleep 1000\n",
    "gcv-b.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
}


def test_a_static_unit_named_by_a_running_unit_keeps_its_last_run(pidone_ns):
    d = pidone_ns(UNITS)
    assert d.cli("start", "gcv-a.service").returncode == 0
    assert d.cli("start", "gcv-b.service").returncode == 0
    text = d.cli("status", "gcv-b.service").stdout
    assert "Active: inactive (dead) since " in text, text
    assert re.search(r"Process: \d+ ExecStart=/bin/true \(code=exited, status=0/SUCCESS\)", text)
    shown = d.cli("show", "-p", "ExecMainCode", "gcv-b.service").stdout
    assert shown.strip() == "ExecMainCode=1", shown  # CLD_EXITED
    # gcv-a stops: nothing kept names gcv-b any more, 252 has collected both
    assert d.cli("stop", "gcv-a.service").returncode == 0
    text = d.cli("status", "gcv-b.service").stdout
    assert "Active: inactive (dead)\n" in text, text
    assert "Process: " not in text, text
    shown = d.cli("show", "-p", "ExecMainCode", "gcv-b.service").stdout
    assert shown.strip() == "ExecMainCode=0", shown
