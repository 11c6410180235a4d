"""The timer unit machine (man 5 systemd.timer; spec 05 §2, 03 §1): events in, actions out.

Theory of operation (systemd 252 src/core/timer.c, procedure by procedure):

1. States dead/waiting/running/elapsed/failed; waiting, running and elapsed are ActiveState
   `active`. Both clocks come in with every event (`Now`); randomness comes from the
   `random_u64` callable and the machine id from `TimerHost`: nothing is read here.
2. Start (timer_start()): forget the last trigger, re-enable OnActiveSec=, and with
   Persistent= take the last trigger's wall-clock time from the stamp the I/O side loaded
   (or ask for the stamp to be created: `SaveStamp` with the current time, as
   touch_file(USEC_INFINITY) does); a stamp in the future is ignored with a warning.
3. Waiting (timer_enter_waiting()): every trigger gives a next elapse.
   - Monotonic: base + value, where the base is the timer's own activation (OnActiveSec=),
     0 or the manager start in a container (OnBootSec=), the manager start (OnStartupSec=),
     max(the target's InactiveExit/InactiveEnter monotonic stamp, the last trigger)
     (OnUnitActiveSec=/OnUnitInactiveSec=; no base yet = not scheduled). Once the timer
     has triggered, OnActive/OnBoot/OnStartup entries already in the past are disabled
     (one-shots); before that they are armed in the past and so fire at once.
   - Calendar: the first match strictly after the last trigger (Persistent= catch-up:
     a match between the stamp and now is in the past and fires at once), else after the
     timer's activation. A time before the manager's start is moved up to it.
   The earliest monotonic and the earliest calendar elapse are each armed (ArmWakeup)
   after adding RandomizedDelaySec= (a uniform draw, or with FixedRandomDelay= systemd's
   SipHash of machine id, system flag, uid and unit name, modulo the delay). AccuracySec=
   goes along as the allowed slack. No trigger left: `elapsed` (RemainAfterElapse=yes, or
   OnUnitActive/InactiveSec= present), else dead.
4. Elapse (timer_dispatch() -> timer_enter_running()): record the last trigger (both
   clocks), `StartUnit(target)` with TRIGGER_UNIT=, TRIGGER_TIMER_REALTIME_USEC=,
   TRIGGER_TIMER_MONOTONIC_USEC=, `SaveStamp` with Persistent=, state running. If the target
   is already active the manager's start job is a no-op: no second instance, no restart;
   the timer then stays running until the target goes inactive.
5. Target state changes (timer_trigger_notify()) re-enable OnUnit*Sec= and recompute
   from waiting/elapsed; from running only when the target went inactive or failed.
6. A clock jump (timer_time_change()) in waiting rewinds a last trigger that lies in the
   future, then triggers (OnClockChange=) or recomputes without disabling one-shots.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass, field
from pidone.core.siphash import siphash24
from pidone.core.timefmt import format_timestamp
from pidone.core.timerseam import (  # the seam's names, also importable from here
    MONOTONIC_BASES as MONOTONIC_BASES,
)
from pidone.core.timerseam import (
    CalendarTrigger,
    ClockChanged,
    SaveStamp,
    TimerAction,
    TimerConfig,
    TimerEvent,
    TimerHost,
)
from pidone.core.timerseam import build_timer_config as build_timer_config
from pidone.core.triggering import (
    ArmWakeup,
    Clock,
    Now,
    StartUnit,
    TriggeredUnitChanged,
    TriggerRefused,
)
from pidone.core.values import USEC_INFINITY

_ONE_SHOT = ("OnActiveSec", "OnBootSec", "OnStartupSec")
_UNIT_BASED = ("OnUnitActiveSec", "OnUnitInactiveSec")
# timer_get_fixed_delay_hash()'s SipHash key (src/core/timer.c, systemd 252): the same key
# gives the same offset systemd would pick for this machine id, uid and unit name.
FIXED_DELAY_KEY = bytes.fromhex("510adb76295142c28035eae68e3a37bd")


class TimerState(enum.Enum):
    """Timer SubState= (src/basic/unit-def.c timer_state_table)."""

    DEAD = "dead"
    WAITING = "waiting"
    RUNNING = "running"
    ELAPSED = "elapsed"
    FAILED = "failed"


class TimerResult(enum.Enum):
    SUCCESS = "success"
    RESOURCES = "resources"
    START_LIMIT_HIT = "start-limit-hit"


ACTIVE_STATE_OF = {
    TimerState.DEAD: "inactive",
    TimerState.WAITING: "active",
    TimerState.RUNNING: "active",
    TimerState.ELAPSED: "active",
    TimerState.FAILED: "failed",
}


def fixed_delay_hash(host: TimerHost, unit: str) -> int:
    """timer_get_fixed_delay_hash(): SipHash-2-4 of machine id, system flag, uid, name."""
    data = (
        host.machine_id[:16].ljust(16, b"\0")
        + bytes([1 if host.system else 0])
        + (host.uid & 0xFFFFFFFF).to_bytes(4, "little")
        + unit.encode()
    )
    return siphash24(FIXED_DELAY_KEY, data)


@dataclass(slots=True)
class _Value:
    base: str  # a MONOTONIC_BASES name or "OnCalendar"
    usec: int = 0
    calendar: CalendarTrigger | None = None
    next_elapse: int = 0
    disabled: bool = False


@dataclass(slots=True)
class TimerMachine:
    """One .timer unit. Read the module docstring for the rules."""

    config: TimerConfig
    host: TimerHost = field(default_factory=TimerHost)
    random_u64: Callable[[], int] = lambda: 0
    stamp_usec: int | None = None  # Persistent= stamp mtime as loaded (None: no file)
    state: TimerState = TimerState.DEAD
    result: TimerResult = TimerResult.SUCCESS
    last_trigger: tuple[int, int] = (0, 0)  # (realtime, monotonic); 0 = never
    activated: tuple[int, int] = (0, 0)  # the timer's InactiveExitTimestamp
    next_elapse_realtime: int = USEC_INFINITY  # timer_init(); 0 once computed and unset
    next_elapse_monotonic: int = USEC_INFINITY
    target_inactive_exit: int = 0
    target_inactive_enter: int = 0
    values: list[_Value] = field(default_factory=list)
    invocation_id: str = ""  # drawn by the manager at each start (InvocationID=)
    _armed: dict[str, str] = field(default_factory=dict)  # clock -> token
    _serial: int = 0
    _out: list[TimerAction] = field(default_factory=list)
    _now: Now = field(default_factory=lambda: Now(0, 0))

    def __post_init__(self) -> None:
        self.values = [_Value(base, usec) for base, usec in self.config.monotonic]
        self.values += [_Value("OnCalendar", calendar=c) for c in self.config.calendar]

    @property
    def name(self) -> str:
        return self.config.unit

    @property
    def active_state(self) -> str:
        return ACTIVE_STATE_OF[self.state]

    # --- the one entry point -----------------------------------------------------------

    def handle(self, event: TimerEvent, now: Now) -> list[TimerAction]:
        self._out = []
        self._now = now
        match event:
            case ev.StartRequested():
                self._start(now, event.invocation_id)
            case ev.StopRequested():
                if self.state in (TimerState.WAITING, TimerState.RUNNING, TimerState.ELAPSED):
                    self._enter_dead(TimerResult.SUCCESS)
            case ev.ResetFailedRequested():
                if self.state == TimerState.FAILED:
                    self._set_state(TimerState.DEAD)
                self.result = TimerResult.SUCCESS
            case ev.TimerFired():
                self._fired(event.token, now)
            case TriggeredUnitChanged():
                self._trigger_notify(event, now)
            case TriggerRefused():
                self._log(f"Failed to queue unit startup job: {event.reason}", act.LOG_WARNING)
                self._enter_dead(TimerResult.RESOURCES)
            case ClockChanged():
                self._time_change(event, now)
        out, self._out = self._out, []
        return out

    def coldplug(self, old: TimerMachine, now: Now) -> list[TimerAction]:
        """daemon-reload with a changed file: take over `old`'s runtime state (as systemd's
        serialization does) and, if it was waiting, plan the elapses of the new settings
        (timer_coldplug()). The old wake-ups' tokens are unknown here, so they fire stale."""
        self.state, self.result = old.state, old.result
        self.last_trigger, self.activated = old.last_trigger, old.activated
        self.target_inactive_exit = old.target_inactive_exit
        self.target_inactive_enter = old.target_inactive_enter
        self.stamp_usec = old.stamp_usec
        self.invocation_id = old.invocation_id
        self._serial = old._serial
        self._out, self._now = [], now
        if self.state == TimerState.WAITING:
            self._enter_waiting(now, time_change=False)
        out, self._out = self._out, []
        return out

    # --- procedures (timer.c) ------------------------------------------------------------

    def _start(self, now: Now, invocation_id: str) -> None:
        if self.state not in (TimerState.DEAD, TimerState.FAILED):
            return  # already active: the manager's start job finishes at once
        self.invocation_id = invocation_id  # timer_start(): unit_acquire_invocation_id()
        self.last_trigger = (0, 0)
        for v in self.values:
            if v.base == "OnActiveSec":
                v.disabled = False
        if self.config.persistent:
            if self.stamp_usec is None:
                # "The timer has never run before, make sure a stamp file exists."
                self.stamp_usec = now.realtime
                self._out.append(SaveStamp(self.name, now.realtime))
            elif self.stamp_usec < now.realtime:
                self.last_trigger = (self.stamp_usec, 0)
            else:
                when = format_timestamp(self.stamp_usec, self.config.zone)
                text = f"Not using persistent file timestamp {when} as it is in the future."
                self._log(text, act.LOG_WARNING)
        self.result = TimerResult.SUCCESS
        self._enter_waiting(now, time_change=False)

    def _base(self, v: _Value, now: Now) -> int | None:
        active = self.active_state == "active"
        match v.base:
            case "OnActiveSec":
                return self.activated[1] if active else now.monotonic
            case "OnBootSec" if not self.host.in_container:
                return 0  # CLOCK_MONOTONIC is the uptime on Linux
            case "OnBootSec" | "OnStartupSec":
                return self.host.startup_monotonic
            case "OnUnitActiveSec":
                base = max(self.target_inactive_exit, self.last_trigger[1])
            case _:
                base = max(self.target_inactive_enter, self.last_trigger[1])
        return base if base > 0 else None

    def _enter_waiting(self, now: Now, time_change: bool) -> None:
        found_mono = found_real = leave_around = False
        next_mono = next_real = 0
        triggered = self.last_trigger != (0, 0)
        for v in self.values:
            if v.disabled:
                continue
            if v.calendar is not None:
                if self.last_trigger[0] > 0:
                    b = self.last_trigger[0]
                elif self.active_state == "active":
                    b = self.activated[0]
                else:
                    b = now.realtime
                from pidone.core.calendar import next_elapse  # loaded by OnCalendar= only

                found = next_elapse(v.calendar.spec, b, v.calendar.zone)
                if found is None:
                    continue
                # Elapses before the manager started are moved up to its start, so that
                # RandomizedDelaySec= spreads catch-ups at boot (timer.c "rebased").
                v.next_elapse = max(found, now.realtime_of(self.host.startup_monotonic))
                next_real = v.next_elapse if not found_real else min(next_real, v.next_elapse)
                found_real = True
                continue
            if v.base in _UNIT_BASED:
                leave_around = True
            base = self._base(v, now)
            if base is None:
                continue
            v.next_elapse = base + v.usec
            if (
                triggered
                and not time_change
                and v.next_elapse <= now.monotonic
                and v.base in _ONE_SHOT
            ):
                # A one-time trigger that has done its job. systemd tests `<`; with the
                # elapse exactly at the trigger time (a coarse or fake clock) that would
                # fire it again, so `<=` here.
                v.disabled = True
                continue
            next_mono = v.next_elapse if not found_mono else min(next_mono, v.next_elapse)
            found_mono = True
        self.next_elapse_monotonic = self.next_elapse_realtime = 0
        c = self.config
        if not (found_mono or found_real or c.on_timezone_change or c.on_clock_change):
            self._enter_elapsed(leave_around)
            return
        if found_mono:
            self.next_elapse_monotonic = self._add_random(next_mono)
            self._arm("monotonic", self.next_elapse_monotonic)
        else:
            self._disarm("monotonic")
        if found_real:
            self.next_elapse_realtime = self._add_random(next_real)
            self._arm("realtime", self.next_elapse_realtime)
        else:
            self._disarm("realtime")
        self._set_state(TimerState.WAITING)

    def _add_random(self, usec: int) -> int:
        delay = self.config.randomized_delay_usec
        if delay == 0 or usec >= USEC_INFINITY:
            return usec
        if self.config.fixed_random_delay:
            raw = fixed_delay_hash(self.host, self.name)
        else:
            raw = self.random_u64()
        return min(usec + raw % delay, USEC_INFINITY - 1)

    def _enter_elapsed(self, leave_around: bool) -> None:
        # RemainAfterElapse=yes keeps the timer `elapsed` so that starting it again does
        # not re-trigger; OnUnit*Sec= timers always stay, their unit may come back.
        if self.config.remain_after_elapse or leave_around:
            self._set_state(TimerState.ELAPSED)
        else:
            self._enter_dead(TimerResult.SUCCESS)

    def _enter_running(self, now: Now) -> None:
        self.last_trigger = (now.realtime, now.monotonic)
        env = (
            ("TRIGGER_UNIT", self.name),
            ("TRIGGER_TIMER_REALTIME_USEC", str(now.realtime)),
            ("TRIGGER_TIMER_MONOTONIC_USEC", str(now.monotonic)),
        )
        self._out.append(StartUnit(self.name, self.config.target, env))
        if self.config.persistent:
            self.stamp_usec = now.realtime
            self._out.append(SaveStamp(self.name, now.realtime))
        self._set_state(TimerState.RUNNING)

    def _enter_dead(self, result: TimerResult) -> None:
        if self.result == TimerResult.SUCCESS:
            self.result = result
        if self.result == TimerResult.SUCCESS:
            self._log("Deactivated successfully.", act.LOG_INFO, act.MID_UNIT_SUCCESS)
        else:
            text = f"Failed with result '{self.result.value}'."
            fields = (("UNIT_RESULT", self.result.value),)  # unit_log_failure()
            self._log(text, act.LOG_WARNING, act.MID_UNIT_FAILURE_RESULT, fields)
        failed = self.result != TimerResult.SUCCESS
        self._set_state(TimerState.FAILED if failed else TimerState.DEAD)

    def _fired(self, token: str, now: Now) -> None:
        clock = next((c for c, t in self._armed.items() if t == token), None)
        if clock is None or self.state != TimerState.WAITING:
            return  # stale: re-armed or cancelled since
        del self._armed[clock]
        if clock == "realtime" and now.realtime < self.next_elapse_realtime:
            self._arm("realtime", self.next_elapse_realtime)  # the wall clock went back
            return
        self._enter_running(now)

    def _trigger_notify(self, e: TriggeredUnitChanged, now: Now) -> None:
        if e.target != self.config.target:
            return
        self.target_inactive_exit = e.inactive_exit_usec
        self.target_inactive_enter = e.inactive_enter_usec
        for v in self.values:
            if v.base in _UNIT_BASED:
                v.disabled = False
        if self.state in (TimerState.WAITING, TimerState.ELAPSED) or (
            self.state == TimerState.RUNNING and e.active_state in ("inactive", "failed")
        ):
            self._enter_waiting(now, time_change=False)

    def _time_change(self, e: ClockChanged, now: Now) -> None:
        if self.state != TimerState.WAITING:
            return
        if self.last_trigger[0] > now.realtime:
            self._log("Time change, resetting next elapse.", act.LOG_INFO)
            self.last_trigger = (now.realtime, self.last_trigger[1])
        wanted = self.config.on_timezone_change if e.timezone else self.config.on_clock_change
        if wanted:
            self._enter_running(now)
        else:
            self._enter_waiting(now, time_change=True)

    # --- plumbing ------------------------------------------------------------------------

    def _arm(self, clock: str, deadline: int) -> None:
        self._disarm(clock)
        self._serial += 1
        token = f"{self.name}/{clock}/{self._serial}"
        self._armed[clock] = token
        wake_clock: Clock = "realtime" if clock == "realtime" else "monotonic"
        self._out.append(ArmWakeup(token, wake_clock, deadline, self.config.accuracy_usec))

    def _disarm(self, clock: str) -> None:
        token = self._armed.pop(clock, None)
        if token is not None:
            self._out.append(act.CancelTimer(token))

    def _set_state(self, new: TimerState) -> None:
        old = self.state
        if new != TimerState.WAITING:
            self._disarm("monotonic")
            self._disarm("realtime")
            # timer_set_state(): out of `waiting` there is no next elapse (status shows
            # `Trigger: n/a` for a stopped, running or elapsed timer; oracle-checked).
            self.next_elapse_monotonic = self.next_elapse_realtime = USEC_INFINITY
        self.state = new
        if ACTIVE_STATE_OF[old] != "active" and ACTIVE_STATE_OF[new] == "active":
            self.activated = (self._now.realtime, self._now.monotonic)  # InactiveExitTimestamp
        if old != new:
            self._out.append(
                act.StateChanged(
                    self.name,
                    ACTIVE_STATE_OF[old],
                    old.value,
                    ACTIVE_STATE_OF[new],
                    new.value,
                    self.result.value,
                )
            )

    def _log(
        self,
        text: str,
        priority: int,
        message_id: str = "",
        fields: tuple[tuple[str, str], ...] = (),
    ) -> None:
        if self.invocation_id:  # log_unit_*(): every record about the unit carries its ID
            fields = (*fields, ("INVOCATION_ID", self.invocation_id))
        self._out.append(act.Log(self.name, f"{self.name}: {text}", priority, message_id, fields))
