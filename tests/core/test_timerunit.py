"""The timer machine with a fake clock: every rule of spec 05 §2 and systemd 252's timer.c."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.siphash import siphash24
from pidone.core.timerunit import (
    ClockChanged,
    SaveStamp,
    TimerHost,
    TimerMachine,
    TimerState,
    build_timer_config,
    fixed_delay_hash,
)
from pidone.core.triggering import ArmWakeup, Now, StartUnit, TriggeredUnitChanged, TriggerRefused
from tests.core.unitbuild import unit_from_bytes

SEC = 1_000_000
MIN = 60 * SEC
HOUR = 60 * MIN
# Wall clock at CLOCK_MONOTONIC 0: Sun 2026-11-29 00:00:00 UTC (the spec's capture day).
EPOCH_AT_BOOT = int(datetime(2026, 11, 29, tzinfo=UTC).timestamp()) * SEC


def usec_of(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * SEC


@dataclass
class Rig:
    """A timer machine, a fake clock, the armed wake-ups and a oneshot target unit."""

    machine: TimerMachine
    mono: int = 0
    offset: int = EPOCH_AT_BOOT  # realtime - monotonic; a clock jump changes it
    armed: dict[str, ArmWakeup] = field(default_factory=dict)
    starts: list[tuple[int, StartUnit]] = field(default_factory=list)
    stamps: list[int] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    target_runs: bool = True  # the target is a oneshot: active, then inactive at once
    target_active: bool = False

    def now(self) -> Now:
        return Now(self.mono + self.offset, self.mono)

    def feed(self, event: object) -> list[object]:
        out = self.machine.handle(event, self.now())  # type: ignore[arg-type]
        for a in out:
            match a:
                case ArmWakeup():
                    self.armed[a.token] = a
                case act.CancelTimer():
                    self.armed.pop(a.token, None)
                case StartUnit():
                    self.starts.append((self.mono, a))
                case SaveStamp():
                    self.stamps.append(a.usec)
                case act.StateChanged():
                    self.states.append(a.new_sub)
                case act.Log():
                    self.logs.append(a.message)
        for a in out:
            if isinstance(a, StartUnit) and self.target_runs and not self.target_active:
                # The manager's start job: the oneshot target comes up and ends right away.
                t = self.machine.config.target
                self.feed(
                    TriggeredUnitChanged(self.machine.name, t, "activating", "start", self.mono)
                )
                self.feed(
                    TriggeredUnitChanged(
                        self.machine.name, t, "inactive", "dead", self.mono, self.mono
                    )
                )
        return list(out)

    def deadline_mono(self, a: ArmWakeup) -> int:
        return a.deadline_usec - self.offset if a.clock == "realtime" else a.deadline_usec

    def run_until(self, mono: int) -> None:
        """Fire every wake-up due up to `mono`, exactly at its deadline (or now if past)."""
        while self.armed:
            token, a = min(self.armed.items(), key=lambda kv: self.deadline_mono(kv[1]))
            when = max(self.deadline_mono(a), self.mono)
            if when > mono:
                break
            self.mono = when
            del self.armed[token]
            self.feed(ev.TimerFired(token))
        self.mono = max(self.mono, mono)

    def fired_at(self) -> list[int]:
        return [t for t, _ in self.starts]


def build(
    body: str,
    name: str = "t-tick.timer",
    host: TimerHost | None = None,
    randoms: list[int] | None = None,
    stamp: int | None = None,
) -> TimerMachine:
    unit = unit_from_bytes(name, f"[Timer]\n{body}\n".encode())
    config, warnings = build_timer_config(unit, UTC, lambda _: None)
    assert warnings == []
    pool = list(randoms or [])
    return TimerMachine(
        config,
        host=host or TimerHost(),
        random_u64=lambda: pool.pop(0),
        stamp_usec=stamp,
    )


def start(rig: Rig) -> None:
    rig.feed(ev.StartRequested(rig.machine.name))


# --- monotonic bases ------------------------------------------------------------------------


def test_on_active_then_on_unit_active_repeats_every_period():
    # Spec 05 §2 [verified]: OnActiveSec=1s + OnUnitActiveSec=2s fired at +1 s, then every 2 s.
    rig = Rig(build("OnActiveSec=1s\nOnUnitActiveSec=2s\nAccuracySec=1ms"), mono=100 * SEC)
    start(rig)
    assert rig.machine.state == TimerState.WAITING
    rig.run_until(108 * SEC)
    assert rig.fired_at() == [101 * SEC, 103 * SEC, 105 * SEC, 107 * SEC]
    assert next(iter(rig.armed.values())).accuracy_usec == 1000


def test_start_unit_carries_the_trigger_environment():
    rig = Rig(build("OnActiveSec=5s"), mono=7 * SEC)
    start(rig)
    rig.run_until(20 * SEC)
    ((when, start_unit),) = rig.starts
    assert when == 12 * SEC
    assert start_unit.target == "t-tick.service"
    assert dict(start_unit.env) == {
        "TRIGGER_UNIT": "t-tick.timer",
        "TRIGGER_TIMER_REALTIME_USEC": str(EPOCH_AT_BOOT + 12 * SEC),
        "TRIGGER_TIMER_MONOTONIC_USEC": str(12 * SEC),
    }
    assert rig.machine.last_trigger == (EPOCH_AT_BOOT + 12 * SEC, 12 * SEC)


def test_on_active_alone_fires_once_then_stays_elapsed():
    rig = Rig(build("OnActiveSec=1s"), mono=10 * SEC)
    start(rig)
    rig.run_until(60 * SEC)
    assert rig.fired_at() == [11 * SEC]
    assert rig.states == ["waiting", "running", "elapsed"]
    assert rig.armed == {}
    # RemainAfterElapse=yes: starting it again does nothing (it is still active).
    assert rig.feed(ev.StartRequested("t-tick.timer")) == []
    assert rig.machine.active_state == "active"


def test_remain_after_elapse_no_goes_dead_after_the_last_elapse():
    rig = Rig(build("OnActiveSec=1s\nRemainAfterElapse=no"), mono=10 * SEC)
    start(rig)
    rig.run_until(60 * SEC)
    assert rig.machine.state == TimerState.DEAD
    assert rig.logs == ["t-tick.timer: Deactivated successfully."]
    # Dead, so a new start arms it again, relative to the new activation.
    start(rig)
    rig.run_until(70 * SEC)
    assert rig.fired_at() == [11 * SEC, 61 * SEC]


def test_on_boot_in_the_past_fires_immediately_and_only_once():
    rig = Rig(build("OnBootSec=5min"), mono=HOUR)
    start(rig)
    (wake,) = rig.armed.values()
    assert wake.deadline_usec == 5 * MIN  # armed in the past: the loop fires it at once
    rig.run_until(HOUR)
    assert rig.fired_at() == [HOUR]
    assert rig.machine.state == TimerState.ELAPSED


def test_on_boot_counts_from_manager_start_in_a_container():
    host = TimerHost(startup_monotonic=50 * SEC, in_container=True)
    rig = Rig(build("OnBootSec=10s", host=host), mono=51 * SEC)
    start(rig)
    rig.run_until(2 * MIN)
    assert rig.fired_at() == [60 * SEC]


def test_on_startup_counts_from_manager_start():
    host = TimerHost(startup_monotonic=30 * SEC)
    rig = Rig(build("OnStartupSec=10s\nOnBootSec=1h", host=host), mono=31 * SEC)
    start(rig)
    rig.run_until(2 * MIN)
    assert rig.fired_at() == [40 * SEC]  # the earliest of the two wins


def test_on_unit_active_without_any_run_of_the_unit_is_not_scheduled():
    rig = Rig(build("OnUnitActiveSec=10s"), mono=5 * SEC)
    start(rig)
    assert rig.machine.state == TimerState.ELAPSED  # kept around: the unit may run later
    assert rig.armed == {}
    # Someone starts the unit by hand: the timer now counts from its activation.
    rig.feed(TriggeredUnitChanged("t-tick.timer", "t-tick.service", "active", "running", 8 * SEC))
    assert rig.machine.state == TimerState.WAITING
    (wake,) = rig.armed.values()
    assert wake.deadline_usec == 18 * SEC


def test_on_unit_inactive_counts_from_the_units_deactivation():
    rig = Rig(build("OnActiveSec=1s\nOnUnitInactiveSec=30s"), mono=0)
    rig.target_runs = False
    start(rig)
    rig.run_until(SEC)
    assert rig.machine.state == TimerState.RUNNING
    # The service runs for 4 s; while it runs the timer stays `running`.
    t = "t-tick.service"
    rig.mono = 2 * SEC
    rig.feed(TriggeredUnitChanged("t-tick.timer", t, "active", "running", SEC))
    assert rig.machine.state == TimerState.RUNNING
    rig.mono = 5 * SEC
    rig.feed(TriggeredUnitChanged("t-tick.timer", t, "inactive", "dead", SEC, 5 * SEC))
    assert rig.machine.state == TimerState.WAITING
    (wake,) = rig.armed.values()
    assert wake.deadline_usec == 35 * SEC


def test_an_already_active_unit_is_not_started_twice():
    # Elapse while the target still runs: one StartUnit (the manager's start job is a
    # no-op on an active unit), then nothing more until the unit goes inactive.
    rig = Rig(build("OnActiveSec=1s\nOnUnitActiveSec=1s\nAccuracySec=1us"), mono=0)
    rig.target_runs = False
    rig.target_active = True
    start(rig)
    rig.run_until(10 * SEC)
    assert rig.fired_at() == [SEC]
    assert rig.machine.state == TimerState.RUNNING
    assert rig.armed == {}
    rig.feed(TriggeredUnitChanged("t-tick.timer", "t-tick.service", "active", "running", 0))
    assert rig.fired_at() == [SEC]
    rig.feed(
        TriggeredUnitChanged("t-tick.timer", "t-tick.service", "inactive", "dead", 0, 10 * SEC)
    )
    rig.run_until(20 * SEC)
    assert rig.fired_at() == [SEC, 10 * SEC]  # due since 2 s (last trigger + 1 s): at once


# --- calendar -------------------------------------------------------------------------------


def test_calendar_next_elapse_matches_the_verified_show_line():
    rig = Rig(build("OnCalendar=*-*-* 03:00:00"))
    rig.mono = usec_of("2026-11-29T13:23:37") - EPOCH_AT_BOOT
    start(rig)
    assert rig.machine.next_elapse_realtime == usec_of("2026-11-30T03:00:00")
    assert rig.machine.next_elapse_monotonic == 0
    (wake,) = rig.armed.values()
    assert wake.clock == "realtime"
    assert wake.accuracy_usec == MIN  # AccuracySec= default


def test_the_earliest_of_several_calendar_expressions_wins():
    rig = Rig(build("OnCalendar=Mon *-*-* 09:00\nOnCalendar=*-*-* 18:30"))
    rig.mono = usec_of("2026-11-29T13:00:00") - EPOCH_AT_BOOT  # a Sunday
    start(rig)
    assert rig.machine.next_elapse_realtime == usec_of("2026-11-29T18:30:00")
    rig.run_until(rig.mono + 6 * HOUR)
    assert rig.fired_at() == [usec_of("2026-11-29T18:30:00") - EPOCH_AT_BOOT]
    assert rig.machine.next_elapse_realtime == usec_of("2026-11-30T09:00:00")


def test_calendar_zone_in_the_expression_is_honoured():
    unit = unit_from_bytes("z.timer", b"[Timer]\nOnCalendar=12:00 Europe/Berlin\n")
    berlin = timezone(timedelta(hours=1))
    config, warnings = build_timer_config(unit, UTC, {"Europe/Berlin": berlin}.get)
    assert warnings == []
    assert config.calendar[0].text == "*-*-* 12:00:00 Europe/Berlin"
    m = TimerMachine(config)
    m.handle(ev.StartRequested("z.timer"), Now(usec_of("2024-01-15T12:34:56"), SEC))
    assert m.next_elapse_realtime == usec_of("2024-01-16T11:00:00")


def test_unknown_zone_is_left_out_with_a_warning():
    unit = unit_from_bytes("z.timer", b"[Timer]\nOnCalendar=12:00 Mars/Olympus\nOnActiveSec=1s\n")
    config, warnings = build_timer_config(unit, UTC, lambda _: None)
    assert config.calendar == ()
    assert warnings == ["Failed to parse calendar specification, ignoring: 12:00 Mars/Olympus"]


def test_a_realtime_wakeup_that_fires_early_is_rearmed():
    rig = Rig(build("OnCalendar=*-*-* 03:00:00"))
    rig.mono = usec_of("2026-11-29T02:00:00") - EPOCH_AT_BOOT
    start(rig)
    (token,) = rig.armed
    rig.offset -= 10 * MIN  # the wall clock was set back 10 minutes meanwhile
    rig.mono += HOUR
    out = rig.feed(ev.TimerFired(token))
    assert rig.starts == []
    assert [type(a).__name__ for a in out] == ["ArmWakeup"]


def test_clock_change_rewinds_a_future_last_trigger_and_on_clock_change_triggers():
    rig = Rig(build("OnCalendar=hourly\nOnClockChange=yes"))
    rig.mono = HOUR + 5 * MIN
    start(rig)
    rig.feed(ClockChanged("t-tick.timer"))
    assert rig.fired_at() == [HOUR + 5 * MIN]
    rig2 = Rig(build("OnCalendar=hourly"), mono=HOUR + 5 * MIN)
    start(rig2)
    rig2.feed(ClockChanged("t-tick.timer"))
    assert rig2.starts == []
    assert rig2.machine.state == TimerState.WAITING


# --- Persistent= -------------------------------------------------------------------------------


def test_persistent_catch_up_after_a_restart_from_the_stamp():
    body = "OnCalendar=*-*-* 03:00:00\nPersistent=yes"
    rig = Rig(build(body), mono=usec_of("2026-11-29T02:59:00") - EPOCH_AT_BOOT)
    start(rig)
    first_start = rig.now().realtime
    assert rig.stamps == [first_start]  # no stamp yet: created, nothing fires
    assert rig.starts == []
    rig.run_until(rig.mono + 2 * MIN)
    assert len(rig.starts) == 1
    stamp = rig.stamps[-1]
    assert stamp == usec_of("2026-11-29T03:00:00")

    # "Power off" for two days, then a new daemon: the machine is rebuilt from the stamp.
    later = usec_of("2026-12-01T10:00:00") - EPOCH_AT_BOOT
    rig2 = Rig(build(body, stamp=stamp), mono=later)
    start(rig2)
    (wake,) = rig2.armed.values()
    assert wake.deadline_usec <= rig2.now().realtime  # missed 03:00 on Nov 30: due now
    rig2.run_until(later)
    assert rig2.fired_at() == [later]
    assert rig2.stamps == [rig2.now().realtime]
    assert rig2.machine.next_elapse_realtime == usec_of("2026-12-02T03:00:00")

    # Without Persistent= the same restart waits for the next 03:00.
    rig3 = Rig(build("OnCalendar=*-*-* 03:00:00"), mono=later)
    start(rig3)
    rig3.run_until(later)
    assert rig3.starts == []


def test_persistent_stamp_in_the_future_is_ignored_with_a_warning():
    now = usec_of("2026-11-29T12:00:00")
    rig = Rig(build("OnCalendar=daily\nPersistent=yes", stamp=now + HOUR), mono=now - EPOCH_AT_BOOT)
    start(rig)
    assert rig.logs == [
        "t-tick.timer: Not using persistent file timestamp Sun 2026-11-29 13:00:00 UTC as it "
        "is in the future."
    ]
    assert rig.machine.last_trigger == (0, 0)
    assert rig.starts == []


# --- RandomizedDelaySec= -------------------------------------------------------------------------


def test_randomized_delay_adds_the_drawn_value_modulo_the_delay():
    m = build("OnActiveSec=10s\nRandomizedDelaySec=1min", randoms=[MIN + 7 * SEC])
    m.handle(ev.StartRequested("t-tick.timer"), Now(EPOCH_AT_BOOT, 0))
    assert m.next_elapse_monotonic == 10 * SEC + 7 * SEC


def test_fixed_random_delay_is_stable_across_rebuilds_and_depends_on_name_and_machine():
    body = "OnActiveSec=10s\nRandomizedDelaySec=1h\nFixedRandomDelay=yes"
    host = TimerHost(machine_id=bytes.fromhex("0123456789abcdef0123456789abcdef"))

    def deadline(name: str, h: TimerHost) -> int:
        m = build(body, name=name, host=h, randoms=[])  # an empty pool: never drawn
        m.handle(ev.StartRequested(name), Now(EPOCH_AT_BOOT, 0))
        return m.next_elapse_monotonic

    first = deadline("a.timer", host)
    assert first == deadline("a.timer", host)
    assert first == 10 * SEC + fixed_delay_hash(host, "a.timer") % HOUR
    assert first != deadline("b.timer", host)
    assert first != deadline("a.timer", TimerHost(machine_id=bytes(16)))


def test_siphash_matches_the_papers_vectors():
    key = bytes(range(16))
    assert siphash24(key, bytes(range(15))) == 0xA129CA6149BE45E5
    assert siphash24(key, b"") == 0x726FDB47DD0E0E31


# --- stop, failure, reset ---------------------------------------------------------------------


def test_stop_cancels_the_wakeups():
    rig = Rig(build("OnActiveSec=1h\nOnCalendar=daily"), mono=SEC)
    start(rig)
    assert len(rig.armed) == 2
    rig.feed(ev.StopRequested("t-tick.timer"))
    assert rig.armed == {}
    assert rig.machine.state == TimerState.DEAD
    assert rig.machine.active_state == "inactive"


def test_a_refused_start_job_fails_the_timer_and_reset_failed_clears_it():
    rig = Rig(build("OnActiveSec=1s"), mono=0)
    rig.target_runs = False
    start(rig)
    rig.run_until(SEC)
    rig.feed(TriggerRefused("t-tick.timer", "t-tick.service", "Unit t-tick.service not found."))
    assert rig.machine.state == TimerState.FAILED
    assert rig.machine.result.value == "resources"
    assert rig.logs == [
        "t-tick.timer: Failed to queue unit startup job: Unit t-tick.service not found.",
        "t-tick.timer: Failed with result 'resources'.",
    ]
    rig.feed(ev.ResetFailedRequested("t-tick.timer"))
    assert rig.machine.state == TimerState.DEAD
    assert rig.machine.result.value == "success"


def test_a_stale_wakeup_does_nothing():
    rig = Rig(build("OnActiveSec=1s\nOnUnitActiveSec=5s"), mono=0)
    start(rig)
    (old,) = rig.armed
    rig.feed(TriggeredUnitChanged("t-tick.timer", "t-tick.service", "active", "running", 0))
    assert old not in rig.armed  # recomputed: re-armed under a new token
    assert rig.feed(ev.TimerFired(old)) == []


@pytest.mark.parametrize(
    ("state", "active"),
    [
        ("dead", "inactive"),
        ("waiting", "active"),
        ("running", "active"),
        ("elapsed", "active"),
        ("failed", "failed"),
    ],
)
def test_active_state_mapping(state, active):
    m = build("OnActiveSec=1s")
    m.state = TimerState(state)
    assert m.active_state == active
