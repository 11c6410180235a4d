"""core.render.show: systemd 252's property names, value formats and order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pidone.core.render.show import (
    RuntimeState,
    render_show,
    render_show_json,
    unit_properties,
)
from pidone.core.units import build_unit
from pidone.core.unitsource import UnitSource
from tests.core.unitbuild import HOST, golden, unit_from_text

PLAIN = "[Service]\nExecStart=/bin/sleep 1000\n"


def _props(text: str = PLAIN, name: str = "t-sleep.service", **runtime: object) -> dict[str, str]:
    unit = unit_from_text(name, text)
    return dict(unit_properties(unit, RuntimeState(**runtime)))  # type: ignore[arg-type]


def test_plain_service_matches_the_verified_values() -> None:
    # spec 06 §5, captured from a running systemd 252 (configuration part)
    p = _props()
    expected = {
        "Type": "simple",
        "Restart": "no",
        "NotifyAccess": "none",
        "RemainAfterExit": "no",
        "GuessMainPID": "yes",
        "RestartUSec": "100ms",
        "TimeoutStartUSec": "1min 30s",
        "TimeoutStopUSec": "1min 30s",
        "RuntimeMaxUSec": "infinity",
        "WatchdogUSec": "0",
        "UMask": "0022",
        "StandardInput": "null",
        "StandardOutput": "journal",
        "StandardError": "inherit",
        "LimitNOFILE": "524288",
        "LimitNOFILESoft": "1024",
        "KillMode": "control-group",
        "KillSignal": "15",
        "FinalKillSignal": "9",
        "SendSIGKILL": "yes",
        "Requires": "sysinit.target system.slice",
        "Conflicts": "shutdown.target",
        "Before": "shutdown.target",
        "After": "system.slice systemd-journald.socket sysinit.target basic.target",
        "Id": "t-sleep.service",
        "Names": "t-sleep.service",
        "Description": "t-sleep.service",
        "LoadState": "loaded",
        "ActiveState": "inactive",
        "SubState": "dead",
        "Result": "success",
        "CanStart": "yes",
        "CanStop": "yes",
        "CanReload": "no",
        "RefuseManualStart": "no",
        "StartLimitIntervalUSec": "10s",
        "StartLimitBurst": "5",
        "DefaultDependencies": "yes",
        "Transient": "no",
        "Perpetual": "no",
        "CollectMode": "inactive",
        "NeedDaemonReload": "no",
        "JobTimeoutUSec": "infinity",
        "Slice": "system.slice",
        "MainPID": "0",
        "NRestarts": "0",
        "ExecMainStatus": "0",
    }
    assert {k: p.get(k) for k in expected} == expected


def test_exec_start_value_format() -> None:
    p = unit_properties(unit_from_text("t.service", PLAIN))
    lines = [v for k, v in p if k == "ExecStart"]
    assert lines == [
        "{ path=/bin/sleep ; argv[]=/bin/sleep 1000 ; ignore_errors=no ; start_time=[n/a] ; "
        "stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
    ]
    assert next(v for k, v in p if k == "ExecStartEx").startswith(
        "{ path=/bin/sleep ; argv[]=/bin/sleep 1000 ; flags= ;"
    )


def test_order_is_the_interfaces_order_not_alphabetical() -> None:
    names = [k for k, _ in unit_properties(unit_from_text("t.service", PLAIN))]
    order = ["Type", "ExitType", "Restart", "RestartUSec", "TimeoutStartUSec", "MainPID",
             "ExecStart", "Slice", "MemoryCurrent", "Delegate", "Environment", "UMask",
             "LimitCPU", "LimitNOFILE", "StandardInput", "User", "PrivateTmp", "KillMode",
             "KillSignal", "Id", "Names", "Requires", "Conflicts", "Before", "After",
             "Description", "LoadState", "ActiveState", "SubState", "FragmentPath",
             "UnitFileState", "CanStart", "StartLimitIntervalUSec", "CollectMode"]  # fmt: skip
    positions = [names.index(n) for n in order]
    assert positions == sorted(positions)
    single = [n for n in names if n not in ("ExecStart", "ExecStartEx")]
    assert len(single) == len(set(single))  # every other property appears once


def test_value_formats() -> None:
    text = (
        "[Service]\nType=notify\nExecStart=/x\nSuccessExitStatus=1 2 SIGUSR1\n"
        'Environment="A=x y" B=2\nLimitNOFILE=4096:8192\nUMask=0077\nKillSignal=SIGINT\n'
        "TimeoutStartSec=1.5\nWorkingDirectory=-/srv\nEnvironmentFile=-/etc/default/x\n"
    )
    p = _props(text)
    assert p["NotifyAccess"] == "main"
    assert p["SuccessExitStatus"] == "1 2 USR1"
    assert p["Environment"] == '"A=x y" B=2'
    assert (p["LimitNOFILE"], p["LimitNOFILESoft"]) == ("8192", "4096")
    assert p["UMask"] == "0077"
    assert p["KillSignal"] == "2"
    assert p["RestartKillSignal"] == "2"
    assert p["TimeoutStartUSec"] == "1.500000s"
    assert p["WorkingDirectory"] == "!/srv"
    assert p["EnvironmentFiles"] == "/etc/default/x (ignore_errors=yes)"


def test_oneshot_start_timeout_is_infinity() -> None:
    p = _props("[Service]\nType=oneshot\nExecStart=/bin/true\n")
    assert p["TimeoutStartUSec"] == "infinity"
    assert p["TimeoutStopUSec"] == "1min 30s"


def test_not_enforced_settings_are_still_shown() -> None:
    p = _props(PLAIN + "ProtectSystem=strict\nProtectKernelTunables=yes\nMemoryMax=1G\n")
    assert (p["ProtectSystem"], p["ProtectKernelTunables"], p["MemoryMax"]) == (
        "strict",
        "yes",
        "1G",
    )


def test_runtime_state_seam() -> None:
    p = _props(active_state="active", sub_state="running", main_pid=801, n_restarts=2)
    assert (p["ActiveState"], p["SubState"], p["MainPID"], p["NRestarts"]) == (
        "active",
        "running",
        "801",
        "2",
    )


def test_selection_value_all_and_json() -> None:
    props = unit_properties(unit_from_text("t.service", PLAIN))
    # -p keeps systemd's order, not the order asked for, and shows empty values
    assert render_show(props, ["SubState", "PIDFile", "Type"]) == [
        "Type=simple",
        "PIDFile=",
        "SubState=dead",
    ]
    assert render_show(props, ["Type"], value=True) == ["simple"]
    default = render_show(props)
    assert "PIDFile=" not in default
    assert "Type=simple" in default
    assert "PIDFile=" in render_show(props, show_all=True)
    data = json.loads(render_show_json(props, ["Id", "ExecStart"]))
    # docs/json.md: every document starts with its schema and kind
    assert list(data)[:2] == ["schema", "kind"]
    assert (data["schema"], data["kind"]) == ("pidone/1", "show")
    assert data["Id"] == "t.service"
    assert data["ExecStart"].startswith("{ path=/bin/sleep")


def test_socket_and_timer_properties() -> None:
    sock = dict(unit_properties(golden("socket.socket")))
    assert sock["Listen"] == "/run/x.sock (Stream)"  # the last; both are listed in order
    assert sock["SocketMode"] == "0600"
    assert sock["Triggers"] == "socket.service"
    listen = [v for k, v in unit_properties(golden("socket.socket")) if k == "Listen"]
    assert listen == ["127.0.0.1:8080 (Stream)", "/run/x.sock (Stream)"]
    timer = dict(unit_properties(golden("daily.timer")))
    assert timer["Unit"] == "daily.service"
    assert timer["Persistent"] == "yes"
    assert timer["RandomizedDelayUSec"] == "1h"
    # never started: FORMAT_TIMESTAMP(0) is NULL and glibc prints it `(null)` (252 capture,
    # tests/data/oracle/capture-show-triggers-252.md)
    assert timer["TimersCalendar"] == "{ OnCalendar=*-*-* 00:00:00 ; next_elapse=(null) }"
    assert timer["NextElapseUSecMonotonic"] == "infinity"
    assert timer["NextElapseUSecRealtime"] == ""


def test_load_states_in_show() -> None:
    bad = dict(unit_properties(golden("bad-dbus.service")))
    assert bad["LoadState"] == "bad-setting"
    assert bad["LoadError"] == (
        "org.freedesktop.systemd1.BadUnitSetting "
        '"Unit bad-dbus.service has a bad unit file setting."'
    )
    assert dict(unit_properties(unit_from_text("t.service", PLAIN)))["LoadError"] == ""


CAPTURE = Path(__file__).parent.parent / "data" / "oracle" / "capture-demo-252.md"
ORACLE_PROPS = (
    "ActiveState,SubState,Result,ExecMainStatus,ExecMainCode,MainPID,Type,NotifyAccess,"
    "StatusText,NRestarts"
)


def _captured(unit_name: str) -> list[str]:
    """The first `systemctl show UNIT -p ...` block of the real-systemd 252 capture."""
    if not CAPTURE.exists():
        pytest.skip(f"{CAPTURE} is missing")
    lines = CAPTURE.read_text().splitlines()
    start = lines.index(f"$ systemctl show {unit_name} -p {ORACLE_PROPS}") + 1
    end = lines.index("[exit code: 0]", start)
    return lines[start:end]


def test_matches_real_systemd_for_a_running_simple_service() -> None:
    text = "[Unit]\nDescription=sd-oracle demo\n[Service]\nType=simple\nExecStart=/bin/sleep 1000\n"
    unit = unit_from_text("oracle-sleep.service", text)
    runtime = RuntimeState(active_state="active", sub_state="running", main_pid=90)
    ours = render_show(unit_properties(unit, runtime), ORACLE_PROPS.split(","))
    assert ours == _captured("oracle-sleep.service")


def test_matches_real_systemd_for_a_unit_that_does_not_exist() -> None:
    source = UnitSource(
        "redis-server.service", "redis-server.service", ("redis-server.service",), "not-found"
    )
    unit = build_unit(source, HOST)
    ours = render_show(unit_properties(unit), ORACLE_PROPS.split(","))
    assert ours == _captured("redis-server.service")


def test_capabilities_in_show() -> None:
    p = _props(
        PLAIN + "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_CHOWN\n"
        "AmbientCapabilities=CAP_NET_BIND_SERVICE\nSecureBits=keep-caps\n"
    )
    assert p["CapabilityBoundingSet"] == "cap_chown cap_net_bind_service"
    assert p["AmbientCapabilities"] == "cap_net_bind_service"
    assert p["SecureBits"] == "16"
    assert _props()["CapabilityBoundingSet"].startswith("cap_chown cap_dac_override ")
