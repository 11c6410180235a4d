"""core.txcache: a remembered transaction is exactly what a fresh build gives, ids shifted."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pidone.core.depgraph import DepGraph
from pidone.core.transaction import InstalledJob, TransactionResult, build_transaction
from pidone.core.txcache import TransactionCache
from tests.core.depkit import graph, make_unit

UNITS = ("a.service", "b.service", "c.service", "d.service", "e.service")
RELATIONS = ("Requires", "Wants", "After", "Before", "Conflicts", "BindsTo", "Requisite")
STATES = ("inactive", "active", "failed", "activating", "deactivating")
JOB_TYPES = ("start", "stop", "restart", "reload", "try-restart", "verify-active")
MODES = ("replace", "fail", "isolate", "ignore-dependencies")


def svc(*lines: str) -> str:
    body = "\n".join(("DefaultDependencies=no", *lines))
    return f"[Unit]\n{body}\n[Service]\nExecStart=/bin/true\n"


# named by dependencies but without a unit file: not-found (a Wants= on it logs at debug)
MISSING = "z.service"


def _graph(edges: list[tuple[int, str, int]]) -> DepGraph:
    texts: dict[str, list[str]] = {u: [] for u in UNITS}
    for a, relation, b in edges:
        texts[UNITS[a]].append(f"{relation}={(*UNITS, MISSING)[b]}")
    return graph({u: svc(*lines) for u, lines in texts.items()}, builtins=False)


requests = st.tuples(
    st.sampled_from(UNITS),
    st.sampled_from(JOB_TYPES),
    st.sampled_from(MODES),
    st.dictionaries(st.sampled_from(UNITS), st.sampled_from(STATES)),  # state changes
    st.dictionaries(st.sampled_from(UNITS), st.sampled_from(("start", "stop"))),  # installed
    st.integers(min_value=1, max_value=3),  # job ids used since
)


@settings(max_examples=150, deadline=None)
@given(
    edges=st.lists(
        st.tuples(
            st.integers(0, len(UNITS) - 1),
            st.sampled_from(RELATIONS),
            st.integers(0, len(UNITS)),
        ),
        max_size=8,
    ),
    steps=st.lists(requests, min_size=1, max_size=12),
)
def test_cached_builds_equal_fresh_builds(edges, steps) -> None:
    g = _graph(edges)
    cache = TransactionCache()
    states: dict[str, str] = {}
    next_id = 1
    state = lambda u: states.get(u, "inactive")  # noqa: E731
    for unit, job_type, mode, changes, jobs, used in steps:
        # the same request before and after the changes: the second may be remembered
        for installed in ({}, {u: InstalledJob(100, u, t) for u, t in jobs.items()}):  # type: ignore[arg-type]
            fresh = build_transaction(
                g, unit, job_type, mode, state=state, installed=installed, next_job_id=next_id
            )
            remembered = cache.build(
                g, unit, job_type, mode, state=state, installed=installed, next_job_id=next_id
            )
            assert remembered == fresh
            next_id = fresh.next_job_id + used
            states.update(changes)
    assert cache.hits + cache.misses == 2 * len(steps)


def test_a_warm_start_is_built_once_and_rebuilt_when_a_read_changes() -> None:
    g = graph(
        {
            "a.service": svc("Requires=b.service", "After=b.service", "Wants=c.service"),
            "b.service": svc(),
            "c.service": svc(),
        },
        builtins=False,
    )
    cache = TransactionCache()
    states = {"b.service": "active", "c.service": "active"}

    def build(next_id: int, installed: dict[str, InstalledJob] | None = None) -> TransactionResult:
        return cache.build(
            g,
            "a.service",
            "start",
            "replace",
            state=lambda u: states.get(u, "inactive"),
            installed=installed or {},
            next_job_id=next_id,
        )

    first = build(1)
    assert [(j.id, j.unit, j.type) for j in first.jobs if "slice" not in j.unit] == [
        (1, "a.service", "start")
    ]
    again = build(40)  # same reads: remembered, ids from the new base
    assert (cache.hits, cache.misses) == (1, 1)
    assert again.jobs[0].id == first.jobs[0].id + 39
    assert again.next_job_id == first.next_job_id + 39
    states["c.service"] = "inactive"  # a unit it asked about changed: built again
    rebuilt = build(50)
    assert (cache.hits, cache.misses) == (1, 2)
    assert {f"{j.unit}/{j.type}" for j in rebuilt.jobs} >= {"a.service/start", "c.service/start"}
    stop_b = {"b.service": InstalledJob(7, "b.service", "stop")}
    build(60, stop_b)  # an installed job where it looked: built again, and not remembered
    build(60, stop_b)
    assert cache.misses == 4
    g.insert([make_unit("z.service", svc("Wants=a.service"))])  # the graph changed
    build(70)
    build(70)
    assert (cache.hits, cache.misses) == (2, 5)


def test_a_wants_on_a_missing_unit_is_remembered_with_its_debug_line() -> None:
    """A Wants= on a not-found (or masked) unit logs at debug only ("Cannot add dependency
    job, ignoring"); such a start is remembered, and handed out with that line."""
    g = graph({"a.service": svc("Wants=gone.service")}, builtins=False)
    cache = TransactionCache()
    state = lambda u: "inactive"  # noqa: E731
    for next_id in (1, 5, 9):
        fresh = build_transaction(
            g, "a.service", "start", "replace", state=state, installed={}, next_job_id=next_id
        )
        assert [line.priority for line in fresh.log] == [7]
        remembered = cache.build(
            g, "a.service", "start", "replace", state=state, installed={}, next_job_id=next_id
        )
        assert remembered == fresh
    assert (cache.hits, cache.misses) == (2, 1)
