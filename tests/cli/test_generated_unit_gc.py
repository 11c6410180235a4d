"""A stopped generated unit that a generator linked into a target's `.wants/` stays loaded.

systemd-sysv-generator writes NAME.service for an LSB script and, when the script is enabled
in /etc/rc?.d, a multi-user.target.wants/NAME.service link next to it. systemd 252 keeps such
a unit loaded when it is stopped, as it keeps an enabled one (its UnitFileState stays
`generated`): on the oracle, `systemctl status zookeeper.service` after a stop still shows
`since`, `Duration:` and the ExecStart=/ExecStop= `Process:` lines. Without the link the unit
is garbage-collected and shown as loaded afresh.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pidone.cli.status import Options, build_view
from pidone.core.render.status import format_status

NOW = 1764430060_000000
START, STOP = NOW - 30_000000, NOW - 20_000000
NAME = "lsb-demo.service"


def _stopped_info() -> dict[str, object]:
    return {
        "unit": NAME,
        "load_state": "loaded",
        "fragment_path": f"/run/pidone/generator.late/{NAME}",
        "active": "inactive",
        "sub": "dead",
        "result": "success",
        "processes": [],
        "unit_file_state": "generated",
        "runtime": {
            "active_state": "inactive",
            "sub_state": "dead",
            "result": "success",
            "active_enter": [START, 1],
            "active_exit": [STOP, 2],
            "inactive_enter": [STOP, 2],
            "inactive_exit": [START - 1000, 1],
            "exec_runs": [
                ["ExecStart", ["/etc/init.d/lsb-demo", "start"], 7, 1, 0, False],
                ["ExecStop", ["/etc/init.d/lsb-demo", "stop"], 9, 1, 0, False],
            ],
        },
    }


def _status(runtime_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PIDONE_RUNTIME_DIR", str(runtime_dir))
    monkeypatch.delenv("PIDONE_UNIT_PATH", raising=False)
    return format_status(build_view(_stopped_info(), Options()), now_usec=NOW)


def test_a_generator_link_keeps_the_stopped_unit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = tmp_path / "generator.late"
    (late / "multi-user.target.wants").mkdir(parents=True)
    (late / NAME).write_text("[Service]\nType=forking\nExecStart=/etc/init.d/lsb-demo start\n")
    os.symlink(f"../{NAME}", late / "multi-user.target.wants" / NAME)
    text = _status(tmp_path, monkeypatch)
    assert "Active: inactive (dead) since " in text, text
    assert "Duration: 10s" in text, text
    assert "Process: 7 ExecStart=/etc/init.d/lsb-demo start (code=exited, status=0/SUCCESS)" in text
    assert "Process: 9 ExecStop=/etc/init.d/lsb-demo stop (code=exited, status=0/SUCCESS)" in text


def test_without_the_link_the_stopped_unit_is_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = tmp_path / "generator.late"
    late.mkdir()
    (late / NAME).write_text("[Service]\nType=forking\nExecStart=/etc/init.d/lsb-demo start\n")
    text = _status(tmp_path, monkeypatch)
    assert "Active: inactive (dead)\n" in text, text
    assert "Process:" not in text, text
