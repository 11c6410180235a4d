"""Property tests: any event sequence keeps the socket and timer machines' invariants."""

from __future__ import annotations

from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.socketseam import (
    CloseListeners,
    ConnectionAccepted,
    FdReadable,
    ListenersFailed,
    ListenersOpened,
    OpenListeners,
    WatchFds,
    build_socket_config,
)
from pidone.core.socketunit import SocketMachine, SocketState
from pidone.core.timerunit import ClockChanged, TimerMachine, TimerState, build_timer_config
from pidone.core.triggering import (
    ArmWakeup,
    Now,
    StartUnit,
    TriggeredUnitChanged,
    TriggerRefused,
)
from tests.core.unitbuild import unit_from_bytes

SOCK = unit_from_bytes(
    "p.socket",
    b"[Socket]\nListenStream=/run/p.sock\nListenDatagram=/run/p.dgram\n"
    b"ExecStartPre=/bin/true\nExecStopPost=/bin/true\nMaxConnections=3\nTriggerLimitBurst=5\n",
)
ACC = unit_from_bytes("a.socket", b"[Socket]\nListenStream=/run/a.sock\nAccept=yes\n")
TIMER = unit_from_bytes(
    "p.timer",
    b"[Timer]\nOnActiveSec=1s\nOnUnitActiveSec=3s\nOnCalendar=*:0/2\nRandomizedDelaySec=1s\n"
    b"RemainAfterElapse=no\nPersistent=yes\n",
)

socket_steps = st.lists(
    st.sampled_from(
        [
            "start",
            "stop",
            "reset",
            "opened",
            "open-failed",
            "readable",
            "accepted",
            "svc-running",
            "svc-dead",
            "svc-job",
            "svc-limit",
            "instance-dead",
            "refused",
            "exit-0",
            "exit-1",
            "timeout",
            "tick",
        ]
    ),
    max_size=40,
)


def _socket_event(m: SocketMachine, step: str, pending_open: bool, timer: str) -> object | None:
    name, service = m.name, m.config.service or "a@0-x.service"
    return {
        "start": ev.StartRequested(name),
        "stop": ev.StopRequested(name),
        "reset": ev.ResetFailedRequested(name),
        "opened": ListenersOpened(name, (10, 11)[: len(m.config.listen)]) if pending_open else None,
        "open-failed": ListenersFailed(name, "Address already in use") if pending_open else None,
        "readable": FdReadable(name, 10),
        "accepted": ConnectionAccepted(name, 10, 99, "unix", peer=(1, 0)),
        "svc-running": TriggeredUnitChanged(name, service, "active", "running"),
        "svc-dead": TriggeredUnitChanged(name, service, "inactive", "dead"),
        "svc-job": TriggeredUnitChanged(name, service, "activating", "start", has_job=True),
        "svc-limit": TriggeredUnitChanged(name, service, "failed", "failed", start_limit_hit=True),
        "instance-dead": TriggeredUnitChanged(
            name, sorted(m.instances or {"x"})[0], "inactive", "dead"
        ),
        "refused": TriggerRefused(name, service, "Unit not found."),
        "exit-0": ev.ProcessExited(m.control_pid, 0) if m.control_pid else None,
        "exit-1": ev.ProcessExited(m.control_pid, 1) if m.control_pid else None,
        "timeout": ev.TimerFired(timer) if timer else None,
        "tick": None,
    }[step]


@settings(max_examples=150, deadline=None)
@given(accept=st.booleans(), steps=socket_steps)
def test_socket_machine_invariants(accept, steps):
    config, _ = build_socket_config(ACC if accept else SOCK)
    m = SocketMachine(config)
    now, pid, pending_open, timer, watched, open_fds = 0, 100, False, "", False, False
    for step in steps:
        now += 700_000
        event = _socket_event(m, step, pending_open, timer)
        if event is None:
            continue
        out = m.handle(event, now)  # type: ignore[arg-type]
        for a in out:
            if isinstance(a, OpenListeners):
                pending_open = True
            elif isinstance(a, ListenersOpened | ListenersFailed):
                pending_open = False
            elif isinstance(a, WatchFds):
                assert a.on != watched  # never watched twice, never unwatched twice
                watched = a.on
            elif isinstance(a, CloseListeners):
                assert open_fds
                open_fds = False
            elif isinstance(a, act.Spawn):
                pid += 1
                m.handle(ev.Spawned(m.name, a.token, pid), now)
            elif isinstance(a, act.ArmTimer):
                timer = a.token
            elif isinstance(a, act.CancelTimer) and a.token == timer:
                timer = ""
            elif isinstance(a, StartUnit):
                assert m.state in (SocketState.LISTENING, SocketState.RUNNING)
        if isinstance(event, ListenersOpened | ListenersFailed):
            pending_open = False
            open_fds = bool(m.fds)
        assert watched == (m.state == SocketState.LISTENING and bool(m.fds))
        assert m.n_connections == len(m.instances) >= 0
        assert m.n_connections <= config.max_connections


timer_steps = st.lists(
    st.tuples(
        st.sampled_from(
            ["start", "stop", "reset", "fire", "unit-up", "unit-down", "refused", "clock"]
        ),
        st.integers(0, 5_000_000),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(steps=timer_steps, stamp=st.none() | st.integers(0, 10**15))
def test_timer_machine_invariants(steps, stamp):
    config, _ = build_timer_config(TIMER, UTC, lambda _: None)
    draws = iter(range(10**6))
    m = TimerMachine(config, random_u64=lambda: next(draws), stamp_usec=stamp)
    mono, real = 1_000_000, 1_800_000_000_000_000
    armed: dict[str, ArmWakeup] = {}
    for step, advance in steps:
        mono += advance
        real += advance
        event: object = {
            "start": ev.StartRequested(m.name),
            "stop": ev.StopRequested(m.name),
            "reset": ev.ResetFailedRequested(m.name),
            "fire": ev.TimerFired(min(armed) if armed else "p.timer/none/0"),
            "unit-up": TriggeredUnitChanged(m.name, "p.service", "active", "running", mono),
            "unit-down": TriggeredUnitChanged(m.name, "p.service", "inactive", "dead", mono, mono),
            "refused": TriggerRefused(m.name, "p.service", "Unit not found."),
            "clock": ClockChanged(m.name),
        }[step]
        if step == "fire" and armed:
            del armed[min(armed)]
        for a in m.handle(event, Now(real, mono)):  # type: ignore[arg-type]
            if isinstance(a, ArmWakeup):
                armed[a.token] = a
            elif isinstance(a, act.CancelTimer):
                armed.pop(a.token, None)
            elif isinstance(a, StartUnit):
                assert m.state == TimerState.RUNNING
        # Wake-ups exist exactly while waiting; at most one per clock.
        assert bool(armed) == (m.state == TimerState.WAITING)
        assert len({a.clock for a in armed.values()}) == len(armed)
        assert m.active_state in ("active", "inactive", "failed")
