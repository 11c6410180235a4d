"""Fakes at the core's one seam: a clock and an executor that records actions (trio MockClock role).

`FakeExecutor` plays the daemon for a `ServiceMachine` or a `Manager`: it records every
action, hands out PIDs for Spawn, answers ReadPidFile/GuessMainPid/CheckConditions from
tables the test fills in, keeps ArmTimer deadlines and fires them when the test advances
the `FakeClock`, and reports `UnitProcessesGone` when the last process of a unit exits.
Processes never die by themselves: the test says which PID exits and how.

Like the daemon's executor, it asks for the successor a control process's Spawn promises
(`Spawn.promises`, the target's `successor()`) once that process "runs", starts it when
that process exits with status 0, before the exit reaches the target, and checks that the
target then asks for exactly that Spawn, with only bookkeeping actions before it: every
core test that drives a start through ExecStartPre= is a differential test of the promise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass, field, replace

# What may come before the Spawn of a successor started ahead: it ran before them, so they
# must not act on the unit's processes, files or directories.
_BOOKKEEPING = (act.Log, act.LogResources, act.StateChanged, act.ArmTimer, act.CancelTimer)


class Handler(Protocol):
    """What the executor drives: ServiceMachine or Manager."""

    def handle(self, event: Any, now_usec: int) -> list[Any]: ...  # noqa: ANN401

    def successor(self, unit: str, token: str) -> Any: ...  # noqa: ANN401


@dataclass(slots=True)
class FakeClock:
    """CLOCK_MONOTONIC in microseconds, moved only by the test."""

    now: int = 1_000_000

    def advance(self, usec: int) -> None:
        """Let `usec` pass."""
        self.now += usec


@dataclass(slots=True)
class FakeExecutor:
    """Carries out actions in memory and feeds the answers back (actions.py contract)."""

    target: Handler
    clock: FakeClock = field(default_factory=FakeClock)
    next_pid: int = 100
    actions: list[Any] = field(default_factory=list)
    timers: dict[str, int] = field(default_factory=dict)
    processes: dict[int, str] = field(default_factory=dict)  # pid -> unit
    spawn_errors: dict[tuple[str, str], str] = field(default_factory=dict)  # (unit, role)
    pid_files: dict[str, int | None] = field(default_factory=dict)
    guesses: dict[str, int | None] = field(default_factory=dict)
    conditions: dict[str, ev.ConditionsEvaluated] = field(default_factory=dict)
    auto_empty: bool = True
    empty_in_exit: bool = True
    successors: dict[int, act.Spawn] = field(default_factory=dict)  # pid -> its successor
    _queue: list[Any] = field(default_factory=list)
    _started_ahead: tuple[act.Spawn, int] | None = None  # a successor and its PID

    # --- driving ---------------------------------------------------------------------------

    def feed(self, event: Any) -> list[Any]:  # noqa: ANN401
        """Hand `event` to the target now; carry out everything that follows. Returns the
        actions recorded during this call."""
        mark = len(self.actions)
        self._queue.append(event)
        while self._queue:
            event = self._queue.pop(0)
            out = self.target.handle(event, self.clock.now)
            for action in out:
                self._carry(action)
        return self.actions[mark:]

    def exit(self, pid: int, status: int = 0, signal: int = 0, core: bool = False) -> list[Any]:
        """Process `pid` ends. When it was the unit's last, say so: in the exit itself
        (`empty_in_exit`, the reaper's view) or as a UnitProcessesGone after it."""
        unit = self.processes.pop(pid, "")
        then = self.successors.pop(pid, None)
        if then is not None and status == 0 and signal == 0:
            self._started_ahead = (then, self.next_pid)
            self.processes[self.next_pid] = then.unit
            self.next_pid += 1
        last = bool(unit) and unit not in self.processes.values()
        out = self.feed(ev.ProcessExited(pid, status, signal, core, last and self.empty_in_exit))
        if self._started_ahead is not None:
            raise AssertionError(f"{self._started_ahead[0]} started ahead, never asked for")
        if last and self.auto_empty:
            out += self.feed(ev.UnitProcessesGone(unit))
        return out

    def add_process(self, unit: str, pid: int) -> None:
        """A process the unit made by itself (a forked daemon, a grandchild)."""
        self.processes[pid] = unit

    def advance(self, usec: int) -> list[Any]:
        """Let time pass, firing due timers in deadline order."""
        end = self.clock.now + usec
        out: list[Any] = []
        while True:
            due = sorted((d, t) for t, d in self.timers.items() if d <= end)
            if not due:
                break
            deadline, token = due[0]
            del self.timers[token]
            self.clock.now = max(self.clock.now, deadline)
            out += self.feed(ev.TimerFired(token))
        self.clock.now = end
        return out

    # --- reading what happened --------------------------------------------------------------

    def of_type(self, kind: type[Any], since: int = 0) -> list[Any]:
        """Recorded actions of one class."""
        return [a for a in self.actions[since:] if isinstance(a, kind)]

    def logs(self, since: int = 0) -> list[str]:
        """Log messages, in order."""
        return [a.message for a in self.of_type(act.Log, since)]

    def spawns(self, since: int = 0) -> list[act.Spawn]:
        """Spawn actions, in order."""
        return self.of_type(act.Spawn, since)

    def pid_of(self, unit: str, role: str) -> int:
        """PID handed out for the last Spawn of (unit, role)."""
        for pid, token in reversed(self._spawned):
            if token.startswith(f"{unit}/{role}/"):
                return pid
        raise LookupError(f"no {role} spawned for {unit}")

    def states(self, since: int = 0) -> list[str]:
        """SubStates entered, in order."""
        return [a.new_sub for a in self.of_type(act.StateChanged, since)]

    # --- carrying out ----------------------------------------------------------------------

    @property
    def _spawned(self) -> list[tuple[int, str]]:
        return [(a.pid, a.token) for a in self._fed if isinstance(a, ev.Spawned)]

    _fed: list[Any] = field(default_factory=list)

    def _answer(self, event: object) -> None:
        self._fed.append(event)
        self._queue.append(event)

    def _ask_successor(self, a: act.Spawn, pid: int) -> None:
        then = self.target.successor(a.unit, a.token)
        if then is not None:
            self.successors[pid] = then

    def _check_ahead(self, a: object) -> None:
        """An action carried while a successor runs ahead: bookkeeping, or that very Spawn."""
        assert self._started_ahead is not None
        then, pid = self._started_ahead
        if isinstance(a, act.Spawn):
            asked = replace(a, promises=False) if a.promises else a
            if asked != then:
                raise AssertionError(f"started ahead {then}, but asked for {asked}")
            self._started_ahead = None
            self._answer(ev.Spawned(a.unit, a.token, pid))
        elif not isinstance(a, _BOOKKEEPING):
            raise AssertionError(f"{a} before the Spawn of the successor started ahead ({then})")

    def _carry(self, a: object) -> None:
        self.actions.append(a)
        if self._started_ahead is not None:
            self._check_ahead(a)
            if isinstance(a, act.Spawn) and a.promises:
                self._ask_successor(a, self.next_pid - 1)
            return
        match a:
            case act.DropSuccessor():
                for pid in [p for p, s in self.successors.items() if s.unit == a.unit]:
                    del self.successors[pid]
            case act.Spawn():
                error = self.spawn_errors.get((a.unit, a.role))
                if error is not None:
                    self._answer(ev.SpawnFailed(a.unit, a.token, error))
                else:
                    pid = self.next_pid
                    self.next_pid += 1
                    self.processes[pid] = a.unit
                    if a.promises:
                        self._ask_successor(a, pid)
                    self._answer(ev.Spawned(a.unit, a.token, pid))
            case act.ArmTimer():
                self.timers[a.token] = a.deadline_usec
            case act.CancelTimer():
                self.timers.pop(a.token, None)
            case act.ReadPidFile():
                found = self.pid_files.get(a.path)
                error = "" if found else "No such file or directory"
                self._answer(ev.PidFileRead(a.unit, found, error))
            case act.GuessMainPid():
                self._answer(ev.MainPidGuessed(a.unit, self.guesses.get(a.unit)))
            case act.CheckConditions():
                self._answer(self.conditions.get(a.unit, ev.ConditionsEvaluated(a.unit, True)))
            case _:
                pass


def feed_all(executor: FakeExecutor, events: Iterable[Any]) -> list[Any]:
    """Feed several events in order; all recorded actions."""
    out: list[Any] = []
    for e in events:
        out += executor.feed(e)
    return out
