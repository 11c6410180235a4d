"""LinuxExecutor answers a job's client before the bookkeeping that only the daemon reads
(journal records, state tables, timers, PID watches), and after everything else."""

from __future__ import annotations

from typing import Any, cast

import pytest

from pidone.core import actions as act
from pidone.daemon.executor import LinuxExecutor
from pidone.daemon.logpipes import LogCollector
from pidone.daemon.loop import EventLoop

DONE = act.JobFinished(7, "x.service", "start", "done", (), 0)
STARTED = act.StateChanged("x.service", "activating", "start", "active", "running", "success")


class Script:
    """The brain: each event is a key into a table of action lists."""

    def __init__(self, table: dict[str, list[act.Action]]) -> None:
        self.table = table

    def handle(self, event: Any, now_usec: int, realtime_usec: int | None = None) -> list[Any]:
        return self.table[event]


class Journal:
    """What the executor writes to the journal, in one list with the replies."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    def manager_record(
        self, unit: str, message: str, priority: int = 6, extra: object = None
    ) -> None:
        self.seen.append(f"log {message}")


class NoTracker:
    kind = "proc"

    def fileno(self) -> None:
        return None

    def drain_events(self) -> list[tuple[str, bool]]:
        return []


@pytest.fixture
def loop() -> Any:
    loop = EventLoop()
    yield loop
    loop.close()


def run(loop: EventLoop, table: dict[str, list[act.Action]]) -> list[str]:
    seen: list[str] = []
    x = LinuxExecutor(
        loop,
        cast(Any, NoTracker()),
        cast(LogCollector, Journal(seen)),
        lambda name: None,
    )
    x.brain = Script(table)
    x.on_reply = lambda reply: seen.append(f"reply {type(reply).__name__}")
    x.on_state = lambda change: seen.append(f"state {change.new_sub}")
    try:
        x.submit("go")
    finally:
        x.close()
    return seen


def test_the_reply_leaves_before_trailing_records_and_state_changes(loop: EventLoop) -> None:
    seen = run(
        loop,
        {
            "go": [
                act.Log("x.service", "first"),
                act.RemovePidFile("x.service", "/nonexistent/pidone-test/x.pid"),
                STARTED,
                act.Log("x.service", "Started x."),
                act.ArmTimer("x.service/timer/1", 10**15),
                DONE,
                act.CancelTimer("x.service/timer/1"),
                act.Log("x.service", "after"),
            ]
        },
    )
    # the records keep their order; only the reply moved in front of the tail
    assert seen == [
        "log first",
        "reply JobFinished",
        "state running",
        "log Started x.",
        "log after",
    ]


def test_an_action_with_outside_effects_after_the_result_keeps_the_reply_last(
    loop: EventLoop,
) -> None:
    seen = run(
        loop,
        {
            "go": [
                STARTED,
                DONE,
                act.RemovePidFile("x.service", "/nonexistent/pidone-test/x.pid"),
                act.Log("x.service", "after"),
            ]
        },
    )
    assert seen == ["state running", "log after", "reply JobFinished"]


def test_leaving_auto_restart_removes_directories_before_the_reply(loop: EventLoop) -> None:
    # (RuntimeDirectoryPreserve=restart's directories go with that state change)
    gone = act.StateChanged("x.service", "activating", "auto-restart", "failed", "failed", "x")
    seen = run(loop, {"go": [DONE, gone, act.Log("x.service", "Stopped x.")]})
    assert seen == ["state failed", "log Stopped x.", "reply JobFinished"]


def test_without_a_reply_nothing_moves(loop: EventLoop) -> None:
    seen = run(loop, {"go": [act.Log("x.service", "a"), STARTED, act.Log("x.service", "b")]})
    assert seen == ["log a", "state running", "log b"]
