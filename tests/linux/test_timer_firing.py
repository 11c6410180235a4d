"""A timer on the real clocks: the pure machine, a tiny loop, and a real oneshot child.

The loop arms each ArmWakeup on CLOCK_MONOTONIC (a realtime deadline mapped through the
current clocks, as the daemon may do), feeds TimerFired, runs the StartUnit target as a
child that records its TRIGGER_* environment, and reports the child's life back. Only
lower bounds are checked (never early, never twice at once): no timing assertion.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import time
from datetime import UTC

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.timerunit import TimerMachine, build_timer_config
from pidone.core.triggering import ArmWakeup, Now, StartUnit, TriggeredUnitChanged
from tests.core.unitbuild import unit_from_bytes

CHILD = """
import json, os, sys
keys = ("TRIGGER_UNIT", "TRIGGER_TIMER_REALTIME_USEC", "TRIGGER_TIMER_MONOTONIC_USEC")
with open(sys.argv[1], "a") as f:
    f.write(json.dumps({k: os.environ[k] for k in keys}) + "\\n")
"""


def now() -> Now:
    return Now(time.time_ns() // 1000, time.monotonic_ns() // 1000)


def test_on_active_and_on_unit_active_fire_in_order_on_the_real_clock(tmp_path):
    body = b"[Timer]\nOnActiveSec=200ms\nOnUnitActiveSec=300ms\nAccuracySec=1us\n"
    unit = unit_from_bytes("tick.timer", body)
    config, _ = build_timer_config(unit, UTC, lambda _: None)
    machine = TimerMachine(config)
    log = tmp_path / "runs.jsonl"
    armed: dict[str, ArmWakeup] = {}
    children: list[subprocess.Popen[bytes]] = []
    started = now()

    def feed(event: object) -> None:
        for a in machine.handle(event, now()):  # type: ignore[arg-type]
            if isinstance(a, ArmWakeup):
                armed[a.token] = a
            elif isinstance(a, act.CancelTimer):
                armed.pop(a.token, None)
            elif isinstance(a, StartUnit):
                env = dict(os.environ, **dict(a.env))
                children.append(subprocess.Popen([sys.executable, "-c", CHILD, str(log)], env=env))
                feed(
                    TriggeredUnitChanged(
                        "tick.timer", a.target, "activating", "start", now().monotonic
                    )
                )

    try:
        feed(ev.StartRequested("tick.timer"))
        deadline = time.monotonic() + 60  # only guards against a hang
        while (
            not log.exists() or len(log.read_text().splitlines()) < 3
        ) and time.monotonic() < deadline:
            if armed:
                token, wake = min(armed.items(), key=lambda kv: kv[1].deadline_usec)
                t = now()
                due = wake.deadline_usec - (t.realtime if wake.clock == "realtime" else t.monotonic)
                if due > 0:
                    time.sleep(min(due / 1e6, 0.05))
                    continue
                del armed[token]
                feed(ev.TimerFired(token))
            for child in list(children):
                if child.poll() is not None:
                    children.remove(child)
                    m = now().monotonic
                    feed(
                        TriggeredUnitChanged("tick.timer", "tick.service", "inactive", "dead", m, m)
                    )
            time.sleep(0.01)
        runs = [json.loads(line) for line in log.read_text().splitlines()]
    finally:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            child.wait()
    assert len(runs) >= 3
    assert {r["TRIGGER_UNIT"] for r in runs} == {"tick.timer"}
    monos = [int(r["TRIGGER_TIMER_MONOTONIC_USEC"]) for r in runs]
    # Never early: the first elapse is 200 ms after the start, each next one 300 ms after
    # the previous trigger (OnUnitActiveSec= counts from the later of the unit's
    # activation and the last trigger).
    assert monos[0] >= started.monotonic + 200_000
    assert all(b - a >= 300_000 for a, b in itertools.pairwise(monos))
    reals = [int(r["TRIGGER_TIMER_REALTIME_USEC"]) for r in runs]
    assert reals == sorted(reals)
