"""`pidone stop` warns of the active units that can start the stopped unit again, as
systemctl 252's check_triggering_units() does once the jobs it waits for have ended
(checked on the oracle with spice-vdagentd.socket and .service): a trigger that the same
command stops is not named; --no-block warns of nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.system

SERVICE = "[Unit]\nRequires=sw.socket\n[Service]\nExecStart=/bin/sleep 1000\n"
WARNING = ["Warning: Stopping sw.service, but it can still be activated by:", "  sw.socket"]


def test_stop_names_an_active_trigger_unless_the_command_stops_it_too(pidone_ns, tmp_path):
    d = pidone_ns(
        {"sw.socket": f"[Socket]\nListenStream={tmp_path}/sw.sock\n", "sw.service": SERVICE}
    )
    assert d.cli("start", "sw.socket", "sw.service").returncode == 0
    r = d.cli("stop", "sw.service")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == WARNING
    assert d.cli("start", "sw.service").returncode == 0
    r = d.cli("stop", "--no-block", "sw.service")
    assert (r.returncode, r.stderr) == (0, "")
    d.wait_state("sw.service", "inactive")
    assert d.cli("start", "sw.service").returncode == 0
    r = d.cli("stop", "sw.service", "sw.socket")
    assert (r.returncode, r.stderr) == (0, "")
    assert d.state("sw.socket") == "inactive/dead"
