"""Spawn.promises: the successor an ExecStartPre= promises, which the executor starts ahead.

The fake executor (pidone.testing.fakes) asks for the promised successor once the control
process runs, starts it when that process exits with status 0, before the exit reaches
the machine, and raises if the machine then asks for anything else (or for something
first that is not bookkeeping).
These tests check that promises are made where they can be kept, withdrawn (DropSuccessor)
when another event changes what an exit would lead to, and that the fake's check can fail.
"""

from __future__ import annotations

import itertools

import pytest

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import replace
from pidone.core.service import ServiceMachine
from pidone.core.socketseam import ListenersOpened
from tests.core.servicekit import SEC, cmd, machine, start
from tests.core.test_triggerwiring import setup as trigger_setup

U = "t.service"


def _bare(spawn: act.Spawn) -> act.Spawn:
    return replace(spawn, promises=False)


def _promised(fx: object, spawn: act.Spawn) -> act.Spawn | None:
    """What the fake executor was given for the process of `spawn`."""
    pid = next(p for p, t in reversed(fx._spawned) if t == spawn.token)  # type: ignore[attr-defined]
    return fx.successors.get(pid)  # type: ignore[attr-defined,no-any-return]


def test_each_start_pre_promises_the_next_command_and_the_promise_is_kept() -> None:
    m, fx = machine(exec_start_pre=[cmd("/pre1"), cmd("/pre2")], exec_start=[cmd("/main", "-x")])
    start(fx)
    (first,) = fx.spawns()
    assert first.promises
    then = _promised(fx, first)
    assert then is not None
    assert (then.role, then.index, then.command.path) == ("start-pre", 1, "/pre2")
    assert not then.promises  # (its own promise is asked for when it runs)
    fx.exit(fx.pid_of(U, "start-pre"))  # the fake starts /pre2 ahead and checks the ask
    second = fx.spawns()[1]
    assert _bare(second) == then
    then2 = _promised(fx, second)
    assert then2 is not None
    assert (then2.role, then2.main, then2.command.argv) == ("start", True, ("/main", "-x"))
    fx.exit(fx.pid_of(U, "start-pre"))
    assert fx.spawns()[2] == then2
    assert not fx.spawns()[2].promises  # ExecStart= promises nothing
    assert m.sub.value == "running"
    assert m.main_pid == fx.pid_of(U, "start")
    assert fx.of_type(act.DropSuccessor) == []
    assert fx.successors == {}


def test_forking_start_is_promised_as_a_control_process() -> None:
    m, fx = machine(type="forking", pid_file="/run/t.pid", exec_start_pre=[cmd("/check")])
    start(fx)
    then = _promised(fx, fx.spawns()[0])
    assert then is not None
    assert (then.role, then.main) == ("start", False)
    fx.exit(fx.pid_of(U, "start-pre"))
    assert m.control_pid == fx.pid_of(U, "start")
    assert m.sub.value == "start"


def test_the_promise_is_built_only_when_asked_for() -> None:
    m, _fx = machine(exec_start_pre=[cmd("/pre")])
    m.handle(ev.StartRequested(U, "0123456789abcdef0123456789abcdef", True), SEC)
    assert m._armed_then is None  # nothing built on the way to the first spawn
    assert m.successor(U, "other/token") is None
    then = m.successor(U, m._armed)
    assert then is not None
    assert then.command.path == "/bin/daemon"
    assert m.successor(U, m._armed) is then


@pytest.mark.parametrize(
    "svc",
    [
        {},
        {"exec_start_post": [cmd("/post")], "exec_stop": [cmd("/stop")]},
        {"type": "oneshot", "exec_start": [cmd("/a"), cmd("/b")]},
    ],
)
def test_only_start_pre_commands_promise(svc: dict) -> None:
    m, fx = machine(**svc)
    start(fx)
    for pid in list(fx.processes):
        fx.exit(pid)
    if m.sub.value not in ("dead", "failed"):
        fx.feed(ev.StopRequested(U))
    assert fx.spawns()
    assert [s for s in fx.spawns() if s.promises] == []


def test_a_stop_during_start_pre_withdraws_the_promise() -> None:
    m, fx = machine(exec_start_pre=[cmd("/pre")])
    start(fx)
    pre = fx.pid_of(U, "start-pre")
    assert fx.successors
    out = fx.feed(ev.StopRequested(U))
    assert act.DropSuccessor(U) in out
    assert fx.successors == {}
    fx.exit(pre)
    assert [s.role for s in fx.spawns()] == ["start-pre"]  # nothing started ahead, or after
    assert m.sub.value == "dead"


def test_the_start_timeout_withdraws_the_promise() -> None:
    _m, fx = machine(exec_start_pre=[cmd("/pre")], timeout_start_usec=5 * SEC)
    start(fx)
    out = fx.advance(6 * SEC)
    assert act.DropSuccessor(U) in out


def test_an_event_that_changes_nothing_keeps_the_promise() -> None:
    _m, fx = machine(exec_start_pre=[cmd("/pre")])
    start(fx)
    assert start(fx) == []  # a second start while starting: waits, no action at all
    assert fx.successors
    fx.exit(fx.pid_of(U, "start-pre"))
    assert [s.role for s in fx.spawns()] == ["start-pre", "start"]


def test_a_failed_start_pre_with_dash_goes_on_without_starting_ahead() -> None:
    m, fx = machine(exec_start_pre=[cmd("/pre", ignore=True)])
    start(fx)
    fx.exit(fx.pid_of(U, "start-pre"), status=1)  # `-`: success, but not status 0
    assert [s.role for s in fx.spawns()] == ["start-pre", "start"]
    assert m.sub.value == "running"


def test_the_fake_executor_catches_a_broken_promise(monkeypatch: pytest.MonkeyPatch) -> None:
    real = ServiceMachine._after_start_pre

    def wrong(self: ServiceMachine, index: int) -> act.Spawn | None:
        then = real(self, index)
        return None if then is None else replace(then, command=cmd("/elsewhere"))

    monkeypatch.setattr(ServiceMachine, "_after_start_pre", wrong)
    _m, fx = machine(exec_start_pre=[cmd("/pre")])
    start(fx)
    with pytest.raises(AssertionError, match="started ahead"):
        fx.exit(fx.pid_of(U, "start-pre"))


_req = itertools.count(1000)


def test_the_promise_carries_the_listening_fds_and_a_socket_change_withdraws_it() -> None:
    mgr, fx = trigger_setup(
        {
            "a.socket": b"[Socket]\nListenStream=/run/a\n",
            "b.socket": b"[Socket]\nListenStream=/run/b\nService=a.service\n",
            "a.service": b"[Service]\nExecStartPre=/bin/check\nExecStart=/bin/a\n",
        }
    )
    fx.feed(ev.JobRequested(next(_req), "start", "a.socket"))  # type: ignore[arg-type]
    fx.feed(ListenersOpened("a.socket", (5,)))
    fx.feed(ev.JobRequested(next(_req), "start", "a.service"))  # type: ignore[arg-type]
    (pre,) = fx.spawns()
    then = _promised(fx, pre)
    assert then is not None
    assert then.fds == (5,)
    out = fx.feed(ev.JobRequested(next(_req), "start", "b.socket"))  # type: ignore[arg-type]
    out += fx.feed(ListenersOpened("b.socket", (6,)))
    assert act.DropSuccessor("a.service") in out
    fx.exit(fx.pid_of("a.service", "start-pre"))
    main = fx.spawns()[-1]
    assert (main.role, main.fds) == ("start", (5, 6))
    assert mgr.sub_state("a.service") == "running"
