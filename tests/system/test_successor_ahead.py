"""ExecStartPre= -> next command, started ahead by the executor (actions.Spawn.then), on
real processes: the order of the commands and of their output in the journal, a failing
ExecStartPre= that starts nothing more, and a daemon-reload while an ExecStartPre= runs,
after which the next command comes from the new file (systemd 252: the unit's command
lists are replaced; service_enter_start() reads ExecStart= when it gets there)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.system.conftest import Factory
from tests.system.test_pidfile_watch import go, unit_leftovers

pytestmark = pytest.mark.system


def _go(fifo: Path) -> bool:
    try:
        go(fifo)
    except OSError:  # ENXIO: the reader has not opened it yet
        return False
    return True


def test_commands_and_their_output_keep_their_order(pidone_ns: Factory) -> None:
    unit = (
        "[Service]\n"
        "ExecStartPre=/bin/sh -c 'echo first'\n"
        "ExecStartPre=/bin/sh -c 'echo second; echo second-err >&2'\n"
        "ExecStart=/bin/sh -c 'echo main; exec sleep 1000'\n"
    )
    d = pidone_ns({"o.service": unit})
    assert d.cli("start", "o").returncode == 0
    d.wait_for(lambda: "main" in d.journal("-u", "o.service", "-o", "cat"), what="main's line")
    lines = d.journal("-u", "o.service", "-o", "cat").splitlines()
    ours = [line for line in lines if line in ("first", "second", "second-err", "main")]
    assert ours == ["first", "second", "second-err", "main"], lines
    status = d.cli("status", "o").stdout
    assert status.count("ExecStartPre=/bin/sh -c") == 2, status
    assert status.count("(code=exited, status=0/SUCCESS)") == 2, status
    assert d.cli("stop", "o").returncode == 0
    assert unit_leftovers(d) == []


def test_a_failing_start_pre_starts_nothing_more(pidone_ns: Factory, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    unit = (
        "[Service]\n"
        "ExecStartPre=/bin/false\n"
        f"ExecStart=/bin/sh -c 'touch {marker}; exec sleep 1000'\n"
    )
    d = pidone_ns({"f.service": unit})
    assert d.cli("start", "f").returncode == 1
    assert d.state("f.service") == "failed/failed"
    assert not marker.exists()
    assert unit_leftovers(d) == []


def test_daemon_reload_while_start_pre_runs_takes_the_new_exec_start(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    old, new = tmp_path / "old", tmp_path / "new"

    def unit(marker: Path) -> str:
        return (
            "[Service]\n"
            f"ExecStartPre=/bin/sh -c 'read x < {fifo}'\n"
            f"ExecStart=/bin/sh -c 'touch {marker}; exec sleep 1000'\n"
        )

    d = pidone_ns({"r.service": unit(old)})
    assert d.cli("start", "--no-block", "r").returncode == 0
    d.wait_state("r.service", "activating/start-pre")
    d.write_unit("r.service", unit(new))
    assert d.cli("daemon-reload").returncode == 0
    d.wait_for(lambda: _go(fifo), what="ExecStartPre= to read the fifo")
    d.wait_state("r.service", "active/running")
    d.wait_for(new.exists, what="the new ExecStart= to run")
    assert not old.exists()
    # nothing was started ahead from the old file (the executor's safety net kills such
    # a process and says so: that would be a bug)
    assert "internal error" not in d.journal("-u", "r.service")
    assert d.cli("stop", "r").returncode == 0
    assert unit_leftovers(d) == []
