"""Without cgroups, a forking service's daemon that /proc tracking cannot place is still the
unit's when its PID file names it (linux.proctrack rule 8; Debian's postgresql@.service).

The shape of pg_ctlcluster + pg_ctl: the daemon is started with an empty environment (no
INVOCATION_ID), in a session of its own, by an intermediate process that exits before the
manager scans, so it reaches the manager as an orphan; the PID file is not owned by root.
"""

from __future__ import annotations

import re

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system

UNIT = """\
[Service]
Type=forking
User=nobody
RuntimeDirectory=pidone-claim
PIDFile=/run/pidone-claim/d.pid
ExecStart=/bin/sh -c '(env -i setsid /bin/sleep 600 & echo $$! > /run/pidone-claim/d.pid); \\
    sleep 0.2'
"""


@pytest.mark.parametrize("no_cgroups", [True, False], ids=["proc", "cgroups"])
def test_pid_file_names_an_orphan_of_this_run(pidone_ns: Factory, no_cgroups: bool) -> None:
    d = pidone_ns({"claim.service": UNIT}, no_cgroups=no_cgroups, isolated=True)
    r = d.cli("start", "claim")
    assert r.returncode == 0, r.stdout + r.stderr + d.journal("-u", "claim")
    info = d.wait_state("claim.service", "active/running")
    main = info["main_pid"]
    assert [n for pid, _s, n in d.namespace_processes() if pid == main] == ["sleep"]
    assert "does not belong to service" not in d.journal("-u", "claim")
    assert re.search(rf"Main PID: {main} \(sleep\)", d.cli("status", "claim").stdout)
    assert d.cli("stop", "claim").returncode == 0
    d.wait_for(lambda: not d.namespace_processes(), what="the orphan to be stopped")
    assert d.state("claim.service") == "inactive/dead"
