"""Random requests and kernel events against the manager: job bookkeeping stays sound."""

from __future__ import annotations

import itertools
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.manager import Manager
from pidone.testing.fakes import FakeExecutor
from tests.core.servicekit import SEC, cmd, make_unit

UNITS = ["a.service", "b.service"]
VERBS = ["start", "stop", "restart", "try-restart", "reload", "reload-or-restart"]

step = st.one_of(
    st.tuples(st.just("job"), st.sampled_from(VERBS), st.sampled_from(UNITS)),
    st.tuples(
        st.just("exit"),
        st.sampled_from(UNITS),
        st.sampled_from([0, 1]),
        st.sampled_from([0, 9, 15]),
    ),
    st.tuples(st.just("advance"), st.sampled_from([SEC // 10, SEC, 100 * SEC])),
    st.tuples(st.just("ready"), st.sampled_from(UNITS)),
    st.tuples(st.just("reset"), st.sampled_from(UNITS)),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, max_size=30))
def test_job_bookkeeping(steps: list[tuple]) -> None:
    units = [
        make_unit(
            "a.service",
            "A",
            type="notify",
            restart="on-failure",
            exec_reload=[cmd("/r")],
            unit_start_limit_burst=3,
        ),
        make_unit(
            "b.service",
            "B",
            type="oneshot",
            remain_after_exit=True,
            exec_stop=[cmd("/s")],
            timeout_stop_usec=5 * SEC,
        ),
    ]
    ids = itertools.count(1)
    mgr = Manager(units, lambda: f"{next(ids):032x}")
    fx = FakeExecutor(mgr)
    req = itertools.count(1)
    for s in steps:
        if s[0] == "job":
            fx.feed(ev.JobRequested(next(req), s[1], s[2]))
        elif s[0] == "exit":
            m = mgr.machines[s[1]]
            pid = m.main_pid or m.control_pid
            if pid:
                fx.exit(pid, status=s[2], signal=s[3])
        elif s[0] == "advance":
            fx.advance(s[1])
        elif s[0] == "ready":
            m = mgr.machines[s[1]]
            if m.main_pid:
                fx.feed(ev.NotifyReceived.parse(m.main_pid, 0, "READY=1"))
        elif s[0] == "reset":
            fx.feed(ev.ResetFailedUnitRequested(next(req), s[1]))
        # one job per unit, keyed by its own unit
        assert all(job.unit == unit for unit, job in mgr.jobs.items())
        assert len({job.id for job in mgr.jobs.values()}) == len(mgr.jobs)
    finished = Counter(a.job_id for a in fx.of_type(act.JobFinished))
    assert all(n == 1 for n in finished.values()), finished
    queued = {a.job_id for a in fx.of_type(act.JobQueued)}
    pending = {job.id for job in mgr.jobs.values()}
    # every job a client got an id for is either finished or still installed
    assert queued <= set(finished) | pending
    answered = {
        a.request_id for a in fx.actions if isinstance(a, act.JobQueued | act.RequestFailed)
    }
    asked = {e for e in range(1, next(req))}
    resets = {a.request_id for a in fx.of_type(act.RequestDone)}
    assert asked == answered | resets
