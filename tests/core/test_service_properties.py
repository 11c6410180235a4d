"""Random event sequences: the machine never breaks its own invariants."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pidone.core import events as ev
from pidone.core.service import IllegalEvent
from pidone.core.servicestate import ACTIVE_STATE_OF, SubState
from tests.core.servicekit import SEC, cmd, machine, start

U = "t.service"
CONFIGS = [
    {},
    {"type": "notify", "watchdog_usec": SEC, "restart": "on-failure"},
    {"type": "oneshot", "remain_after_exit": True, "exec_start": [cmd("/a"), cmd("/b")]},
    {"type": "forking", "pid_file": "/run/t.pid", "exec_start_post": [cmd("/p")]},
    {"type": "exec", "restart": "always", "exec_stop": [cmd("/s")]},
    {
        "exec_condition": [cmd("/c")],
        "exec_start_pre": [cmd("/pre")],
        "exec_stop_post": [cmd("/sp")],
        "kill_kill_mode": "mixed",
        "timeout_stop_failure_mode": "abort",
    },
    {
        "type": "forking",
        "pid_file": "/run/t.pid",
        "exec_start_pre": [cmd("/pre1"), cmd("/pre2", ignore=True)],
        "notify_access": "all",
    },
    {
        "type": "notify",
        "notify_access": "all",
        "exec_reload": [cmd("/r")],
        "kill_kill_mode": "none",
    },
]

step = st.one_of(
    st.just(("start",)),
    st.just(("stop",)),
    st.just(("reload",)),
    st.just(("reset",)),
    st.tuples(
        st.just("exit"),
        st.sampled_from(["main", "control", "other"]),
        st.sampled_from([(0, 0), (1, 0), (255, 0), (0, 9), (0, 15), (0, 6)]),
    ),
    st.tuples(st.just("advance"), st.sampled_from([SEC // 10, SEC, 30 * SEC, 100 * SEC])),
    st.tuples(
        st.just("notify"),
        st.sampled_from(
            [
                "READY=1",
                "STOPPING=1",
                "RELOADING=1",
                "WATCHDOG=1",
                "WATCHDOG=trigger",
                "MAINPID=4242",
                "EXTEND_TIMEOUT_USEC=5000000",
            ]
        ),
    ),
    st.just(("empty",)),
    st.tuples(st.just("pidfile"), st.sampled_from([None, 4242])),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=st.sampled_from(range(len(CONFIGS))), steps=st.lists(step, max_size=25))
def test_random_sequences_keep_invariants(config: int, steps: list[tuple]) -> None:
    m, fx = machine(**CONFIGS[config])
    for s in steps:
        kind = s[0]
        try:
            if kind == "start":
                if m.sub in (SubState.DEAD, SubState.FAILED):
                    start(fx)
            elif kind == "stop":
                fx.feed(ev.StopRequested(U))
            elif kind == "reload":
                fx.feed(ev.ReloadRequested(U))
            elif kind == "reset":
                fx.feed(ev.ResetFailedRequested(U))
            elif kind == "exit":
                pid = {"main": m.main_pid, "control": m.control_pid, "other": 4242}[s[1]]
                if pid:
                    fx.exit(pid, status=s[2][0], signal=s[2][1])
            elif kind == "advance":
                fx.advance(s[1])
            elif kind == "notify":
                fx.feed(ev.NotifyReceived.parse(m.main_pid or 1, 0, s[1], U))
            elif kind == "empty":
                fx.processes = {p: u for p, u in fx.processes.items() if u != U}
                fx.feed(ev.UnitProcessesGone(U))
            elif kind == "pidfile":
                fx.feed(ev.PidFileRead(U, s[1], "" if s[1] else "No such file or directory"))
        except IllegalEvent:
            pass  # a request the state has no row for: nothing changed (tested elsewhere)
        assert m.active in (ACTIVE_STATE_OF[m.sub], ACTIVE_STATE_OF[SubState.RUNNING])
        if m.sub in (SubState.DEAD, SubState.FAILED):
            assert (m.main_pid, m.control_pid) == (0, 0)
            assert not [t for t in fx.timers if t.startswith(f"{U}/timer/")], fx.timers
            assert not [t for t in fx.timers if t.startswith(f"{U}/watchdog/")], fx.timers
        # In auto-restart the RestartSec= timer is armed until it fires; after that the
        # machine waits (timer-less) for the manager's restart job, as systemd does.
        assert len([t for t in fx.timers if "/timer/" in t]) <= 1
        assert len([t for t in fx.timers if "/watchdog/" in t]) <= 1
