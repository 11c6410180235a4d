"""Transactions remembered per request: rebuilt only when something they read has changed.

`build_transaction()` is pure: its result depends on the dependency graph, on the
ActiveState of the units it asks about, on their installed jobs, and on the first free job
id. A warm `start nginx` builds the same transaction each time (nginx.service/start, its
Requires=/Wants= targets long active, their start jobs dropped as redundant): ~15 jobs
built and dropped, ~0.25 ms of a hot loop and ~0.5 ms of a start on the event loop, on the
path from the request to the first spawn. This module keeps the last result per
(unit, job type, mode) with what the build read, and hands it out again, with its job ids
moved to the current first free id, while:

1. the graph is the same object, unchanged since (`DepGraph.changes`);
2. every unit whose state the build asked for has that state still;
3. every unit whose installed job the build looked up still has none.

Only plain results are kept: success, no log line the manager writes (debug lines, such
as "Cannot add dependency job, ignoring: Unit X is masked." for a Wants= on a masked or
missing unit, are kept with the result, as a fresh build would give them), nothing
canceled, no installed job seen, no iteration over the installed jobs (isolate/flush walk
all of them). A result is therefore the same object graph as a fresh build would give,
with ids shifted by the difference of the first free ids (ids are handed out in build
order from that base and appear only as job ids and `waits_for` entries).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from pidone.core.depgraph import DepGraph
from pidone.core.job import JobType
from pidone.core.transaction import (
    LOG_INFO,
    InstalledJob,
    PlannedJob,
    TransactionResult,
    build_transaction,
)

MAX_ENTRIES = 64  # requests remembered (least recently built or used go first)


class _Reads(Mapping[str, InstalledJob]):
    """The installed jobs as the build sees them, noting every unit it looks up."""

    __slots__ = ("base", "iterated", "seen")

    def __init__(self, base: Mapping[str, InstalledJob]) -> None:
        self.base = base
        self.seen: dict[str, bool] = {}  # unit -> had a job
        self.iterated = False

    def __getitem__(self, unit: str) -> InstalledJob:
        found = unit in self.base
        self.seen[unit] = self.seen.get(unit, False) or found
        return self.base[unit]

    def __contains__(self, unit: object) -> bool:
        found = unit in self.base
        if isinstance(unit, str):
            self.seen[unit] = self.seen.get(unit, False) or found
        return found

    def __iter__(self) -> Iterator[str]:
        self.iterated = True
        return iter(self.base)

    def __len__(self) -> int:
        self.iterated = True
        return len(self.base)


class _Entry:
    __slots__ = ("base_id", "changes", "graph", "looked_up", "result", "states")

    def __init__(
        self,
        graph: DepGraph,
        base_id: int,
        result: TransactionResult,
        states: tuple[tuple[str, str], ...],
        looked_up: tuple[str, ...],
    ) -> None:
        self.graph = graph
        self.changes = graph.changes
        self.base_id = base_id
        self.result = result
        self.states = states
        self.looked_up = looked_up


def _shifted(result: TransactionResult, delta: int) -> TransactionResult:
    if not delta:
        return result
    jobs = tuple(
        PlannedJob(
            p.id + delta,
            p.unit,
            p.type,
            tuple(w + delta for w in p.waits_for),
            p.anchor,
            p.merged,
            p.irreversible,
            p.ignore_order,
        )
        for p in result.jobs
    )
    # (a kept result succeeded and canceled nothing; its log holds debug lines at most)
    return TransactionResult(jobs=jobs, log=result.log, next_job_id=result.next_job_id + delta)


class TransactionCache:
    """`build()` is `build_transaction()` (same arguments, same result) with the memory
    described in the module docstring. `hits`/`misses` count for tests and benches."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str], _Entry] = {}
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        self._entries.clear()

    def build(
        self,
        graph: DepGraph,
        unit: str,
        job_type: JobType,
        mode: str,
        *,
        state: Callable[[str], str],
        installed: Mapping[str, InstalledJob],
        next_job_id: int,
    ) -> TransactionResult:
        key = (unit, job_type, mode)
        entry = self._entries.get(key)
        if entry is not None and self._valid(entry, graph, state, installed):
            self.hits += 1
            del self._entries[key]  # most recently used last
            self._entries[key] = entry
            return _shifted(entry.result, next_job_id - entry.base_id)
        self.misses += 1
        states: dict[str, str] = {}

        def recorded_state(name: str) -> str:
            value = state(name)
            states[name] = value
            return value

        reads = _Reads(installed)
        result = build_transaction(
            graph,
            unit,
            job_type,
            mode,
            state=recorded_state,
            installed=reads,
            next_job_id=next_job_id,
        )
        self._entries.pop(key, None)
        plain = (
            result.ok
            and all(line.priority > LOG_INFO for line in result.log)
            and not result.canceled
            and not reads.iterated
            and not any(reads.seen.values())
        )
        if plain:
            self._entries[key] = _Entry(
                graph, next_job_id, result, tuple(states.items()), tuple(reads.seen)
            )
            if len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]
        return result

    @staticmethod
    def _valid(
        entry: _Entry,
        graph: DepGraph,
        state: Callable[[str], str],
        installed: Mapping[str, InstalledJob],
    ) -> bool:
        if entry.graph is not graph or entry.changes != graph.changes:
            return False
        if installed:  # (an idle manager has no job at all: nothing to look up)
            for unit in entry.looked_up:
                if unit in installed:
                    return False
        return all(state(unit) == value for unit, value in entry.states)
