"""Timers through a real daemon (PID 1 of a PID namespace): monotonic and calendar timers
start their service again and again; a Persistent= timer keeps its last trigger in the
state directory and catches up a missed elapse after a daemon restart.

No timing assertions: runs are counted through a file, with a generous deadline."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system

# A 1-2 s period would hit the default start limit (5 starts in 10 s) of the service.
NO_LIMIT = "[Unit]\nStartLimitIntervalSec=0\n"


def runs(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_monotonic_and_calendar_timers_fire_repeatedly(pidone_ns: Factory, tmp_path: Path) -> None:
    mono, cal = tmp_path / "mono", tmp_path / "cal"
    d = pidone_ns(
        {
            "mono.timer": "[Timer]\nOnActiveSec=1s\nOnUnitActiveSec=1s\nAccuracySec=1ms\n",
            "mono.service": f"{NO_LIMIT}[Service]\nType=oneshot\n"
            f"ExecStart=/bin/sh -c 'echo $TRIGGER_UNIT >> {mono}'\n",
            "cal.timer": "[Timer]\nOnCalendar=*:*:0/2\nAccuracySec=1ms\nUnit=calw.service\n",
            "calw.service": f"{NO_LIMIT}[Service]\nType=oneshot\nExecStart=/bin/sh -c "
            f"'echo $TRIGGER_TIMER_REALTIME_USEC >> {cal}'\n",
        }
    )
    r = d.cli("start", "mono.timer", "cal.timer")
    assert (r.returncode, r.stderr) == (0, "")
    assert d.state("mono.timer") == "active/waiting"
    d.wait_for(lambda: len(runs(mono)) >= 3 and len(runs(cal)) >= 2, timeout=60, what="runs")
    assert set(runs(mono)) == {"mono.timer"}
    stamps = [int(x) for x in runs(cal)]
    # Each calendar elapse is on an even second of the wall clock.
    assert all((usec // 1_000_000) % 2 == 0 for usec in stamps)
    r = d.cli("list-timers")
    assert r.returncode == 0
    listed = [line.split()[-2:] for line in r.stdout.splitlines()[1:3]]
    assert sorted(listed) == [["cal.timer", "calw.service"], ["mono.timer", "mono.service"]]
    assert r.stdout.splitlines()[-2] == "2 timers listed."
    (detail,) = d.call("trigger-detail", units=["cal.timer"])["units"]
    next_usec = detail["next_elapse_usec"]
    assert next_usec > stamps[-1]
    assert (next_usec // 1_000_000) % 2 == 0  # the next even second
    assert d.cli("stop", "mono.timer", "cal.timer").returncode == 0
    assert d.state("mono.timer") == "inactive/dead"


def test_persistent_timer_catches_up_after_a_daemon_restart(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    count = tmp_path / "count"

    def timer(when: datetime.datetime) -> str:
        return f"[Timer]\nOnCalendar={when:%Y-%m-%d %H:%M:%S}\nPersistent=true\nAccuracySec=1ms\n"

    service = f"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo run >> {count}'\n"
    # The first daemon is up before the elapse is chosen (a loaded machine may take
    # seconds to start one): one elapse, a few seconds from now, local time.
    first = pidone_ns({"p.timer": timer(datetime.datetime(2000, 1, 1)), "p.service": service})
    when = datetime.datetime.now() + datetime.timedelta(seconds=3)
    units = {"p.timer": timer(when), "p.service": service}
    first.write_unit("p.timer", units["p.timer"])
    assert first.cli("daemon-reload").returncode == 0
    assert first.cli("start", "p.timer").returncode == 0
    stamp = first.state_dir / "timers" / "stamp-p.timer"
    assert stamp.exists()  # created at the first start, with the current time
    assert stamp.stat().st_mtime < when.timestamp(), "the first start came after the elapse"
    assert first.stop() == 0
    while datetime.datetime.now() < when + datetime.timedelta(seconds=1):
        time.sleep(0.2)  # the elapse passes while no daemon runs
    assert runs(count) == []
    # A new daemon with the same state directory: the missed elapse runs once at start.
    second = pidone_ns(units, args=["--state-dir", str(first.state_dir)])
    assert second.cli("start", "p.timer").returncode == 0
    second.wait_for(lambda: runs(count) == ["run"], what="the catch-up run")
    second.wait_state("p.service", "inactive/dead")
    assert runs(count) == ["run"]
    assert stamp.stat().st_mtime > when.timestamp() - 1  # the stamp moved on


def test_without_persistent_a_missed_elapse_is_not_run(pidone_ns: Factory, tmp_path: Path) -> None:
    count = tmp_path / "count"
    when = datetime.datetime.now() - datetime.timedelta(seconds=30)
    d = pidone_ns(
        {
            "n.timer": f"[Timer]\nOnCalendar={when:%Y-%m-%d %H:%M:%S}\n",
            "n.service": f"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo run >> {count}'\n",
        }
    )
    assert d.cli("start", "n.timer").returncode == 0
    # Nothing left to elapse: the timer is dead at once (RemainAfterElapse= only keeps
    # a timer that elapsed), and the service never ran.
    d.wait_state("n.timer", "inactive/dead", "active/elapsed")
    assert runs(count) == []
