"""A Persistent= timer's stamp is read at each start of the stopped timer, as timer_start()
in systemd 252 stats /var/lib/systemd/timers/stamp-X every time, not once at load."""

from __future__ import annotations

from datetime import UTC

from pidone.core import events as ev
from pidone.core.timerseam import SaveStamp
from pidone.core.timerunit import TimerHost
from pidone.core.triggering import Now
from pidone.core.triggerunits import TriggerUnits
from tests.core.unitbuild import unit_from_bytes

SEC = 1_000_000
REAL0 = 1_800_000_000 * SEC
BODY = b"[Timer]\nOnCalendar=daily\nPersistent=yes\n"


def now(mono: int) -> Now:
    return Now(REAL0 + mono, mono)


def hub(disk: dict[str, int]) -> TriggerUnits:
    """Stamps read through the seam from `disk` (unit -> mtime µs; absent: no file)."""
    return TriggerUnits(TimerHost(), UTC, lambda _: None, lambda: 0, read_stamp=disk.get)


def test_a_stamp_changed_while_stopped_is_the_last_trigger_at_the_next_start():
    disk = {"p.timer": REAL0 - 3600 * SEC}
    units = hub(disk)
    units.add_unit(unit_from_bytes("p.timer", BODY))
    units.handle(ev.StartRequested("p.timer"), now(SEC))
    timer = units.timers["p.timer"]
    assert timer.last_trigger[0] == REAL0 - 3600 * SEC
    units.handle(ev.StopRequested("p.timer"), now(2 * SEC))
    disk["p.timer"] = REAL0 - 2 * 86400 * SEC  # e.g. restored from a backup
    units.handle(ev.StartRequested("p.timer"), now(3 * SEC))
    assert timer.last_trigger[0] == REAL0 - 2 * 86400 * SEC


def test_a_stamp_removed_while_stopped_means_never_run_and_is_made_again():
    disk = {"p.timer": REAL0 - 3600 * SEC}
    units = hub(disk)
    units.add_unit(unit_from_bytes("p.timer", BODY))
    units.handle(ev.StartRequested("p.timer"), now(SEC))
    units.handle(ev.StopRequested("p.timer"), now(2 * SEC))
    del disk["p.timer"]
    out = units.handle(ev.StartRequested("p.timer"), now(3 * SEC))
    assert SaveStamp("p.timer", REAL0 + 3 * SEC) in out
    assert units.timers["p.timer"].last_trigger == (0, 0)


def test_a_running_timer_is_not_reread_and_a_plain_timer_reads_nothing():
    reads: list[str] = []

    def read(unit: str) -> int | None:
        reads.append(unit)
        return REAL0 - 60 * SEC

    units = TriggerUnits(TimerHost(), UTC, lambda _: None, lambda: 0, read_stamp=read)
    units.add_unit(unit_from_bytes("p.timer", BODY))
    units.add_unit(unit_from_bytes("q.timer", b"[Timer]\nOnCalendar=daily\n"))
    units.handle(ev.StartRequested("p.timer"), now(SEC))
    units.handle(ev.StartRequested("q.timer"), now(SEC))
    assert reads == ["p.timer", "p.timer"]  # at load, then at the start
    units.handle(ev.StartRequested("p.timer"), now(2 * SEC))  # already waiting: no-op
    assert reads == ["p.timer", "p.timer"]
