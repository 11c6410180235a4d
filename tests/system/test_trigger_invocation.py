"""InvocationID= of sockets, timers, paths, targets and slices through a real daemon, and a
path whose watch cannot be made, compared with systemd 252 (sd-oracle captures:
tests/data/oracle/capture-triggers-252.md, capture-invocation-252.md). Waits only."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.system.conftest import Factory
from tests.system.test_socket_activation import free_port

pytestmark = pytest.mark.system

HEX32 = re.compile(r"[0-9a-f]{32}")
UNITS = Path(__file__).parent.parent / "data" / "oracle" / "trigger-units"


def oracle_unit(name: str, port: int = 0) -> str:
    """A unit of the oracle captures, its TCP port moved to `port` (tests run side by side)."""
    text = (UNITS / name).read_text()
    return re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", text) if port else text


def invocation(d: object, unit: str) -> str:
    r = d.cli("show", "-P", "InvocationID", unit)  # type: ignore[attr-defined]
    return str(r.stdout.strip())


def field_values(export: str, name: str) -> list[str]:
    return [line.split("=", 1)[1] for line in export.splitlines() if line.startswith(f"{name}=")]


def test_every_started_unit_type_gets_an_invocation_id_its_records_carry(
    pidone_ns: Factory,
) -> None:
    port = free_port()
    d = pidone_ns(
        {
            "iv-pre.socket": oracle_unit("iv-pre.socket", port),
            "iv-sock.service": oracle_unit("iv-sock.service"),
            "iv-tick.timer": oracle_unit("iv-tick.timer"),
            "iv-tick.service": oracle_unit("iv-tick.service"),
            "iv-tgt.target": oracle_unit("iv-tgt.target"),
            "iv.slice": oracle_unit("iv.slice"),
        }
    )
    units = ("iv-pre.socket", "iv-tick.timer", "iv-tgt.target", "iv.slice")
    r = d.cli("start", *units)
    assert (r.returncode, r.stderr) == (0, "")
    ids = {u: invocation(d, u) for u in units}
    assert all(HEX32.fullmatch(i) for i in ids.values()), ids
    assert len(set(ids.values())) == len(units)
    sock = ids["iv-pre.socket"]
    # (the journal writer commits in batches: wait for every record of the starts)
    started = (
        "socket pre says hi",
        "Listening on iv-pre.socket - iv pre sock.",
        "Started iv-tick.timer - iv tick timer.",
        "Reached target iv-tgt.target - iv target.",
        "Created slice iv.slice - iv slice.",
    )
    d.wait_for(
        lambda: set(started) <= set(d.journal("-o", "cat").splitlines()),
        what="the start records in the journal",
    )
    # the manager's records about the socket: INVOCATION_ID= (systemd: log_unit_*())
    export = d.journal("-u", "iv-pre.socket", "-o", "export")
    assert "MESSAGE=Listening on iv-pre.socket - iv pre sock." in export
    assert set(field_values(export, "INVOCATION_ID")) == {sock}
    # its ExecStartPre= process: $INVOCATION_ID, so its output has _SYSTEMD_INVOCATION_ID=
    assert d.journal("-o", "cat", f"_SYSTEMD_INVOCATION_ID={sock}").splitlines() == [
        "socket pre says hi"
    ]
    assert d.journal("-o", "cat", f"INVOCATION_ID={sock}").splitlines() == [
        "Starting iv-pre.socket - iv pre sock...",
        "Listening on iv-pre.socket - iv pre sock.",
    ]
    for unit, first in (
        ("iv-tick.timer", "Started iv-tick.timer - iv tick timer."),
        ("iv-tgt.target", "Reached target iv-tgt.target - iv target."),
        ("iv.slice", "Created slice iv.slice - iv slice."),
    ):
        assert d.journal("-o", "cat", f"INVOCATION_ID={ids[unit]}").splitlines() == [first]
    # stopping keeps the ID on the stop records; a new start draws a new one
    assert d.cli("stop", "iv-pre.socket", "iv-tick.timer").returncode == 0
    d.wait_for(
        lambda: (
            {"Closed iv-pre.socket - iv pre sock.", "Stopped iv-tick.timer - iv tick timer."}
            <= set(d.journal("-o", "cat").splitlines())
        ),
        what="the stop records in the journal",
    )
    closed = d.journal("-u", "iv-pre.socket", "-o", "export")
    assert set(field_values(closed, "INVOCATION_ID")) == {sock}
    assert "MESSAGE=Closed iv-pre.socket - iv pre sock." in closed
    # (an unreferenced stopped unit shows no ID, as 252 after its garbage collection)
    assert invocation(d, "iv-pre.socket") == ""
    assert d.cli("start", "iv-pre.socket").returncode == 0
    again = invocation(d, "iv-pre.socket")
    assert HEX32.fullmatch(again)
    assert again != sock
    assert d.cli("stop", "iv-pre.socket", "iv-tgt.target", "iv.slice").returncode == 0


def test_a_path_whose_watch_cannot_be_made_fails_its_start_job(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    loop = tmp_path / "loop"
    os.symlink(loop, loop)  # a symlink to itself: ELOOP
    d = pidone_ns(
        {
            "nd.path": f"[Unit]\nDescription=nd\n[Path]\nPathExists={afile}/x\nUnit=w.service\n",
            "lp.path": f"[Unit]\nDescription=lp\n[Path]\nPathChanged={loop}/x\nUnit=w.service\n",
            "w.service": "[Service]\nExecStart=/bin/sleep 600\n",
        }
    )
    r = d.cli("start", "nd.path")
    # systemctl's line for a failed job of a unit that is not a service (oracle)
    assert (r.returncode, r.stderr) == (1, 'Job failed. See "journalctl -xe" for details.\n')
    show = d.cli("show", "-p", "ActiveState,SubState,Result,InvocationID", "nd.path").stdout
    props = dict(line.split("=", 1) for line in show.splitlines())
    assert (props["ActiveState"], props["SubState"], props["Result"]) == (
        "failed",
        "failed",
        "resources",
    )
    assert HEX32.fullmatch(props["InvocationID"])
    d.wait_for(
        lambda: "Failed to start nd.path - nd." in d.journal("-o", "cat"),
        what="the failed start in the journal",
    )
    status = d.cli("status", "nd.path")
    assert status.returncode == 3
    assert "     Active: failed (Result: resources)\n" in status.stdout
    assert "   Triggers: ● w.service\n" in status.stdout
    assert d.journal("-u", "nd.path", "-o", "cat").splitlines() == [
        "nd.path: Failed to enter waiting state: Not a directory",
        "nd.path: Failed with result 'resources'.",
        "Failed to start nd.path - nd.",
    ]
    export = d.journal("-u", "nd.path", "-o", "export")
    assert set(field_values(export, "INVOCATION_ID")) == {props["InvocationID"]}
    assert "ERRNO=20" in export.splitlines()
    # path.c's own line names the component and no unit
    whole = d.journal("-o", "cat")
    assert f"Failed to add a watch for {afile}/x: Not a directory" in whole.splitlines()
    # again from failed: the job fails again (no state change to carry it)
    r = d.cli("start", "nd.path")
    assert r.returncode == 1
    r = d.cli("start", "lp.path")
    assert r.returncode == 1
    d.wait_for(
        lambda: "Failed to start lp.path - lp." in d.journal("-o", "cat"),
        what="the failed start in the journal",
    )
    assert d.journal("-u", "lp.path", "-o", "cat").splitlines()[0] == (
        "lp.path: Failed to enter waiting state: Too many levels of symbolic links"
    )
    assert d.state("w.service") == "inactive/dead"


def test_an_accept_yes_instance_is_described_by_its_peer_and_tied_to_its_socket(
    pidone_ns: Factory,
) -> None:
    """service_set_socket_fd() and socket_enter_running() (oracle: tinysshd.socket and
    iv-nodesc.socket in tests/data/oracle/capture-accept-sockets-252.md): the instance is
    "Description (PEER)", After= and TriggeredBy= its socket, which Triggers= it."""
    import socket

    port = free_port()
    d = pidone_ns(
        {
            "acc.socket": f"[Socket]\nListenStream=127.0.0.1:{port}\nAccept=yes\n",
            "acc@.service": "[Unit]\nDescription=acc conn\n[Service]\n"
            "ExecStart=/bin/sh -c 'echo hi; exec sleep 600'\nStandardOutput=socket\n",
        }
    )
    assert d.cli("start", "acc.socket").returncode == 0
    with socket.create_connection(("127.0.0.1", port)) as conn:
        assert conn.makefile("rb").readline() == b"hi\n"
        local_port = conn.getsockname()[1]
        instance = f"acc@0-127.0.0.1:{port}-127.0.0.1:{local_port}.service"
        d.wait_state(instance, "active/running")
        title = d.cli("status", instance).stdout.splitlines()[0]
        assert title == f"● {instance} - acc conn (127.0.0.1:{local_port})"
        show = d.cli("show", "-p", "TriggeredBy,After,Description", instance).stdout
        props = dict(line.split("=", 1) for line in show.splitlines())
        assert props["Description"] == f"acc conn (127.0.0.1:{local_port})"
        assert props["TriggeredBy"] == "acc.socket"
        assert "acc.socket" in props["After"].split()
        assert d.cli("show", "-P", "Triggers", "acc.socket").stdout.split() == [instance]
        assert d.cli("stop", instance).returncode == 0
    d.wait_for(
        lambda: (
            f"Stopped {instance} - acc conn (127.0.0.1:{local_port})." in d.journal("-o", "cat")
        ),
        what="the instance's stop in the journal",
    )
    journal = d.journal("-u", instance, "-o", "cat")
    assert f"Started {instance} - acc conn (127.0.0.1:{local_port})." in journal.splitlines()
    assert d.cli("stop", "acc.socket").returncode == 0
