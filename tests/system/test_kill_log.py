"""`pidone kill` logs what it sent "on client request", as systemd 252's unit_kill_common()."""

from __future__ import annotations

import re

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system


def test_kill_is_logged_per_process(pidone_ns: Factory) -> None:
    unit = "[Service]\nExecStart=/bin/sh -c 'sleep 1000 & exec sleep 1001'\n"
    d = pidone_ns({"k.service": unit})
    assert d.cli("start", "k").returncode == 0
    d.wait_for(lambda: len(d.status("k.service")["processes"]) == 2, what="both sleeps")
    main = d.status("k.service")["main_pid"]
    assert d.cli("kill", "-s", "CONT", "k").returncode == 0  # harmless to sleep(1)
    text = d.journal("-u", "k", "-o", "cat")
    assert f"Sent signal SIGCONT to main process {main} (sleep) on client request." in text
    assert re.search(r"Sending signal SIGCONT to process \d+ \(sleep\) on client request\.", text)
    assert d.state("k.service") == "active/running"
    assert d.cli("stop", "k").returncode == 0
