"""Type=forking: what the journal says about a PID file naming an unusable PID, as systemd
252's service_load_pid_file(): "New main PID N does not exist or is a zombie." once, at
LOG_INFO, when the parent exits (may_warn=true); nothing on the retries after the file
changes (may_warn=false: LOG_DEBUG, below the default LogLevel=info), not even a line it
cannot parse; and no "Can't open PID file" for a file that was opened (iscsid.service's
first /run/iscsid.pid named a PID that had died)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.system.conftest import Factory
from tests.system.scripts import write
from tests.system.test_pidfile_watch import go, unit_leftovers

pytestmark = pytest.mark.system


def test_dead_then_unparsable_then_good_pid(pidone_ns: Factory, tmp_path: Path) -> None:
    pidfile = tmp_path / "d.pid"
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    child = (
        f"read x < {fifo}; echo not-a-pid > {pidfile}; sleep 0.3; "
        f"echo $$ > {pidfile}; exec sleep 1000"
    )
    script = write(
        tmp_path,
        "d.sh",
        # the first PID written is one that has exited and been reaped
        f"#!/bin/sh\n/bin/true & wait $!\necho $! > {pidfile}\n/bin/sh -c '{child}' &\nexit 0\n",
    )
    unit = f"[Service]\nType=forking\nPIDFile={pidfile}\nExecStart={script}\nTimeoutStartSec=60\n"
    d = pidone_ns({"d.service": unit})
    assert d.cli("start", "--no-block", "d").returncode == 0
    d.wait_for(
        lambda: "does not exist or is a zombie." in d.journal("-u", "d.service"),
        what="the dead PID's refusal",
    )
    assert d.state("d.service") == "activating/start"
    go(fifo)
    d.wait_state("d.service", "active/running")
    assert d.status("d.service")["main_pid"] == int(pidfile.read_text())
    journal = d.journal("-u", "d.service")
    assert journal.count("does not exist or is a zombie.") == 1, journal
    assert "Can't open PID file" not in journal, journal
    assert "Failed to parse PID" not in journal, journal
    assert d.cli("stop", "d").returncode == 0
    assert unit_leftovers(d) == []
