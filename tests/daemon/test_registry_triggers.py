"""The registry resolves a socket's service and a timer's Unit= through aliases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pidone.daemon.registry import UnitRegistry


@pytest.fixture
def units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PIDONE_UNIT_PATH", str(tmp_path))
    (tmp_path / "rsyslog.service").write_text("[Service]\nExecStart=/bin/sleep 60\n")
    # Debian: /etc/systemd/system/syslog.service -> /lib/systemd/system/rsyslog.service
    os.symlink("rsyslog.service", tmp_path / "syslog.service")
    (tmp_path / "syslog.socket").write_text("[Socket]\nListenDatagram=/run/x/syslog\n")
    (tmp_path / "other.socket").write_text(
        "[Socket]\nListenStream=/run/x/o\nService=syslog.service\n"
    )
    (tmp_path / "plain.socket").write_text("[Socket]\nListenStream=/run/x/p\n")
    (tmp_path / "plain.service").write_text("[Service]\nExecStart=/bin/sleep 60\n")
    (tmp_path / "syslog.timer").write_text("[Timer]\nOnActiveSec=1h\n")
    (tmp_path / "named.timer").write_text("[Timer]\nOnActiveSec=1h\nUnit=syslog.service\n")
    return tmp_path


def test_socket_service_and_timer_unit_name_the_alias_target(units: Path) -> None:
    reg = UnitRegistry(None)
    loaded: list[str] = []
    reg.on_loaded = lambda unit: loaded.append(unit.id)
    sock = reg.load("syslog.socket").socket
    assert sock is not None
    assert sock.service == "rsyslog.service"  # the implicit syslog.service, resolved
    other = reg.load("other.socket").socket
    assert other is not None
    assert other.service == "rsyslog.service"  # Service=syslog.service, resolved
    plain = reg.load("plain.socket").socket
    assert plain is not None
    assert plain.service == ""  # no alias: left as the unit file says
    for name in ("syslog.timer", "named.timer"):
        timer = reg.load(name).timer
        assert timer is not None
        assert timer.unit == "rsyslog.service"
    assert "rsyslog.service" not in loaded  # looked up, not loaded into the manager
    # daemon-reload builds the units again, with the same resolution
    again = {u.id: u for u in reg.reload()}
    resolved = again["syslog.socket"].socket
    assert resolved is not None
    assert resolved.service == "rsyslog.service"
