"""InvocationID= of non-service units through the manager (core.unitmachines rule 5), the
"Starting" line of sockets that chown, and a path whose watch fails its start job, as systemd
252 does them (tests/data/oracle/capture-triggers-252.md, capture-packaged-triggers-252.md)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.manager import Manager
from pidone.core.pathseam import PathsChecked, WatchPaths
from pidone.core.socketseam import ListenersOpened
from pidone.testing.fakes import FakeExecutor
from tests.core.unitbuild import unit_from_bytes

_req = itertools.count(1)


def setup(units: dict[str, bytes]) -> tuple[Manager, FakeExecutor]:
    counter = itertools.count(1)
    mgr = Manager(
        [unit_from_bytes(n, b) for n, b in units.items()], lambda: f"{next(counter):032x}"
    )
    return mgr, FakeExecutor(mgr)


def job(fx: FakeExecutor, verb: str, unit: str) -> list[object]:
    return fx.feed(ev.JobRequested(next(_req), verb, unit))  # type: ignore[arg-type]


def records(fx: FakeExecutor, unit: str, since: int = 0) -> list[tuple[str, dict[str, str]]]:
    return [(a.message, dict(a.fields)) for a in fx.of_type(act.Log, since) if a.unit == unit]


def finished(out: list[object]) -> list[str]:
    return [a.result for a in out if isinstance(a, act.JobFinished)]


UNITS = {
    "s.socket": b"[Socket]\nListenStream=/run/s.sock\nExecStartPre=/bin/echo hi\n",
    "s.service": b"[Service]\nExecStart=/bin/sleep 600\n",
    "t.timer": b"[Timer]\nOnActiveSec=1h\n",
    "t.service": b"[Service]\nType=oneshot\nExecStart=/bin/true\n",
    "g.target": b"[Unit]\nDescription=g\n",
    "x.slice": b"[Unit]\nDescription=x\n",
}


def test_each_start_draws_an_id_that_the_units_records_and_processes_carry() -> None:
    mgr, fx = setup(UNITS)
    for unit in ("s.socket", "t.timer", "g.target", "x.slice"):
        job(fx, "start", unit)
        if unit == "s.socket":
            (pre,) = fx.spawns()
            fx.exit(fx.pid_of("s.socket", "control"))
            fx.feed(ListenersOpened("s.socket", (9,)))
    ids = {u: mgr.snapshot(u).invocation_id for u in ("s.socket", "t.timer", "g.target", "x.slice")}
    assert all(len(i) == 32 for i in ids.values())
    assert len(set(ids.values())) == 4  # (their dependencies, sysinit.target..., drew others)
    # the socket's ExecStartPre= gets $INVOCATION_ID (its output: _SYSTEMD_INVOCATION_ID=)
    assert ("INVOCATION_ID", ids["s.socket"]) in pre.env
    assert records(fx, "s.socket") == [
        ("Starting s.socket...", {"JOB_ID": "1", "JOB_TYPE": "start", **inv(ids["s.socket"])}),
        (
            "Listening on s.socket.",
            {"JOB_ID": "1", "JOB_TYPE": "start", "JOB_RESULT": "done", **inv(ids["s.socket"])},
        ),
    ]
    for unit, text in (
        ("t.timer", "Started t.timer."),
        ("g.target", "Reached target g.target - g."),
        ("x.slice", "Created slice x.slice - x."),
    ):
        ((message, fields),) = records(fx, unit)
        assert (message, fields["INVOCATION_ID"]) == (text, ids[unit])
    # starting an active unit is no new start: the ID stays
    job(fx, "start", "t.timer")
    assert mgr.snapshot("t.timer").invocation_id == ids["t.timer"]
    # the stop records keep it; the next start draws another
    mark = len(fx.actions)
    job(fx, "stop", "t.timer")
    assert {f["INVOCATION_ID"] for _, f in records(fx, "t.timer", mark)} == {ids["t.timer"]}
    job(fx, "start", "t.timer")
    assert mgr.snapshot("t.timer").invocation_id not in ids.values()


def inv(invocation: str) -> dict[str, str]:
    return {"INVOCATION_ID": invocation}


def test_a_socket_with_socket_user_logs_starting_as_its_chown_runs_first() -> None:
    """socket_enter_start_chown() forks with SocketUser=/SocketGroup=, so the job outlives
    socket_start() (oracle: docker.socket, fcgiwrap.socket); a plain socket binds at once."""
    _mgr, fx = setup(
        {
            "d.socket": b"[Socket]\nListenStream=/run/d.sock\nSocketGroup=docker\n",
            "d.service": b"[Service]\nExecStart=/bin/sleep 600\n",
            "p.socket": b"[Socket]\nListenStream=/run/p.sock\n",
            "p.service": b"[Service]\nExecStart=/bin/sleep 600\n",
        }
    )
    for unit in ("d.socket", "p.socket"):
        job(fx, "start", unit)
        fx.feed(ListenersOpened(unit, (5,)))
    assert [m for m, _ in records(fx, "d.socket")] == [
        "Starting d.socket...",
        "Listening on d.socket.",
    ]
    assert [m for m, _ in records(fx, "p.socket")] == ["Listening on p.socket."]


def test_a_path_whose_watch_fails_fails_its_start_job_without_starting_or_started() -> None:
    mgr, fx = setup(
        {
            "p.path": b"[Unit]\nDescription=p\n[Path]\nPathExists=/etc/hostname/x\n",
            "p.service": b"[Service]\nExecStart=/bin/sleep 600\n",
        }
    )
    out = job(fx, "start", "p.path")
    assert [a.unit for a in out if isinstance(a, WatchPaths)] == ["p.path"]
    assert "p.path" in mgr.jobs  # the answer ends it, as path_start() returns
    out = fx.feed(PathsChecked("p.path", error="Not a directory", errno=20))
    assert finished(out) == ["failed"]
    (done,) = [a for a in out if isinstance(a, act.JobFinished)]
    assert done.exit_code == 1
    assert [m for m, _ in records(fx, "p.path")] == [
        "p.path: Failed to enter waiting state: Not a directory",
        "p.path: Failed with result 'resources'.",
        "Failed to start p.path - p.",
    ]
    snap = mgr.snapshot("p.path")
    assert (snap.active_state, snap.sub_state, snap.result) == ("failed", "failed", "resources")
    # from failed again: no state change, the job fails all the same
    job(fx, "start", "p.path")
    out = fx.feed(PathsChecked("p.path", error="Not a directory", errno=20))
    assert finished(out) == ["failed"]
    assert "p.path" not in mgr.jobs
    # a watch that works: "Started" once the answer says waiting, never "Starting"
    mark = len(fx.actions)
    fx.feed(ev.ResetFailedUnitRequested(next(_req), "p.path"))
    job(fx, "start", "p.path")
    out = fx.feed(PathsChecked("p.path"))
    assert finished(out) == ["done"]
    assert [m for m, _ in records(fx, "p.path", mark)] == ["Started p.path - p."]


# --- the records' fields against systemd 252's journal (journal-triggers-252.json) -----------

_JSON = Path(__file__).parent.parent / "data" / "oracle" / "journal-triggers-252.json"
_FIELDS = ("PRIORITY", "MESSAGE_ID", "JOB_TYPE", "JOB_RESULT", "UNIT_RESULT", "ERRNO")


def _oracle_records(unit: str, count: int) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in _JSON.read_text().splitlines() if line]
    mine = [r for r in rows if r.get("UNIT") == unit][:count]
    return [_pick(r["MESSAGE"], r) for r in mine]


def _pick(message: str, fields: dict[str, str]) -> dict[str, object]:
    out: dict[str, object] = {k: fields[k] for k in _FIELDS if fields.get(k)}
    out["MESSAGE"] = message.replace("iv notdir path", "D").replace("iv sock", "D")
    out["has INVOCATION_ID"] = bool(fields.get("INVOCATION_ID"))
    return out


def _ours(fx: FakeExecutor, unit: str) -> list[dict[str, object]]:
    out = []
    for a in fx.of_type(act.Log):
        if a.unit != unit:
            continue
        fields = {**dict(a.fields), "PRIORITY": str(a.priority), "MESSAGE_ID": a.message_id}
        out.append(_pick(a.message, fields))
    return out


def test_the_records_of_a_failing_path_and_of_a_socket_carry_252s_fields() -> None:
    desc = b"[Unit]\nDescription=D\n"
    _mgr, fx = setup(
        {
            "iv-notdir.path": desc + b"[Path]\nPathExists=/etc/hostname/x\nUnit=w.service\n",
            "w.service": b"[Service]\nExecStart=/bin/sleep 600\n",
            "iv-sock.socket": desc + b"[Socket]\nListenStream=127.0.0.1:7781\n",
            "iv-sock.service": b"[Service]\nExecStart=/bin/sleep 600\n",
        }
    )
    job(fx, "start", "iv-notdir.path")
    fx.feed(PathsChecked("iv-notdir.path", error="Not a directory", errno=20))
    assert _ours(fx, "iv-notdir.path") == _oracle_records("iv-notdir.path", 3)
    job(fx, "start", "iv-sock.socket")
    fx.feed(ListenersOpened("iv-sock.socket", (5,)))
    job(fx, "stop", "iv-sock.socket")
    assert _ours(fx, "iv-sock.socket") == _oracle_records("iv-sock.socket", 3)
