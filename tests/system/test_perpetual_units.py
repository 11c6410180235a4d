"""-.slice and system.slice are perpetual, as in systemd 252: no stop or restart job is
applicable to them (unit_job_is_applicable()), so `stop -- -.slice` cannot take every
service down with it. Words and exit codes are 252's (sd-oracle, session 8)."""

from __future__ import annotations

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system

SLEEP = "[Service]\nExecStart=/bin/sleep 1000\n"


def test_perpetual_slices_refuse_stop_and_restart(pidone_ns: Factory) -> None:
    d = pidone_ns({"web.service": SLEEP})
    assert d.cli("start", "web").returncode == 0
    refused = {
        ("stop", "--", "-.slice"): "Failed to stop -.slice: Job type stop is not applicable "
        "for unit -.slice.\n",
        ("stop", "system.slice"): "Failed to stop system.slice: Job type stop is not "
        "applicable for unit system.slice.\n",
        ("restart", "system.slice"): "Failed to restart system.slice: Job type restart is "
        "not applicable for unit system.slice.\n",
        ("try-restart", "system.slice"): "Failed to try-restart system.slice: Job type "
        "restart is not applicable for unit system.slice.\n",
    }
    for args, message in refused.items():
        r = d.cli(*args)
        assert (r.returncode, r.stdout, r.stderr) == (3, "", message), args
    assert d.state("web.service") == "active/running"  # nothing was stopped
    for name in ("-.slice", "system.slice"):
        shown = d.cli("show", "-p", "ActiveState,CanStop,Perpetual,IgnoreOnIsolate", "--", name)
        assert shown.stdout == (
            "ActiveState=active\nCanStop=no\nIgnoreOnIsolate=yes\nPerpetual=yes\n"
        ), name
    assert d.cli("start", "--", "-.slice").returncode == 0  # start is always applicable
    assert d.cli("stop", "web").returncode == 0
