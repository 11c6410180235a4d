"""Machines of units other than services (targets, slices, ...) and the registry that picks one.

Theory of operation:

1. The manager runs jobs on any unit through the narrow `UnitMachine` protocol: a name,
   ActiveState/SubState words, `start()` and `stop()` returning actions (StateChanged among
   them). ServiceMachine keeps its own richer interface; everything else goes through here.
2. A target has no processes (systemd 252 src/core/target.c): target_start() enters `active`
   and target_stop() enters `dead` at once, so the job is finished inside the call and no
   "Starting"/"Stopping" line is logged (job_perform_on_unit() only logs when the job is
   still there). SubStates are `dead` and `active` (target_state_table).
3. Slices in pidone own no resources (no controllers: docs/design.md), so they behave like
   targets (slice.c: dead/active); so do devices, mounts, swaps and scopes, which pidone
   cannot act on: the host provides them (spec 04 §7 "container mode"). This keeps their
   ordering edges meaningful without pretending to mount anything.
4. `MACHINE_FACTORIES` maps a unit type to a factory; `machine_for()` falls back to the
   instant machine. Timer and socket machines (core.timerunit, core.socketunit) can be
   registered here by an adapter exposing this protocol (their own events go through
   `handle()`, which the manager calls for unit-addressed events it does not consume).
5. InvocationID=: systemd 252 draws one in the start method of services, sockets, timers,
   paths, mounts, swaps, scopes and automounts (unit_acquire_invocation_id()), and targets
   and slices show one too (oracle: tests/data/oracle/capture-triggers-252.md); devices
   are never started. The manager draws it (core is pure) and hands it to `start()`; a
   machine keeps it only when it really starts (from dead or failed), until its next
   start. The manager's and the machine's log records about the unit carry it as
   INVOCATION_ID= (log_unit_*()), and `systemctl show` shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pidone.core import actions as act
from pidone.core.dataclass_lite import dataclass
from pidone.core.hints import Protocol
from pidone.core.model import Unit


class UnitMachine(Protocol):
    """What the manager needs of a non-service unit's machine."""

    @property
    def name(self) -> str: ...

    @property
    def active_state(self) -> str: ...

    @property
    def sub_state(self) -> str: ...

    @property
    def result(self) -> str: ...

    @property
    def invocation_id(self) -> str: ...

    def start(self, now_usec: int, invocation_id: str = "") -> list[act.Action]: ...

    def stop(self, now_usec: int) -> list[act.Action]: ...

    def reset_failed(self) -> list[act.Action]: ...


@dataclass(slots=True)
class InstantMachine:
    """A target (or slice, device, ...): dead <-> active at once (rule 2)."""

    unit: Unit
    sub: str = "dead"
    state_change_usec: int = 0
    active_enter_usec: int = 0
    active_exit_usec: int = 0
    inactive_enter_usec: int = 0
    inactive_exit_usec: int = 0
    invocation: str = ""  # rule 5

    @property
    def name(self) -> str:
        return self.unit.id

    @property
    def invocation_id(self) -> str:
        return self.invocation

    @property
    def active_state(self) -> str:
        return "inactive" if self.sub == "dead" else "active"

    @property
    def _up(self) -> str:
        """The SubState of an active unit: a scope's is `running` (scope_state_table)."""
        return "running" if self.unit.type == "scope" else "active"

    @property
    def sub_state(self) -> str:
        return self.sub

    @property
    def result(self) -> str:
        return "success"

    def _set(self, new: str, now_usec: int) -> list[act.Action]:
        old = self.sub
        if old == new:
            return []
        self.sub = new
        self.state_change_usec = now_usec
        if new != "dead":
            self.inactive_exit_usec = self.active_enter_usec = now_usec
        else:
            self.active_exit_usec = self.inactive_enter_usec = now_usec
        old_active = "inactive" if old == "dead" else "active"
        return [act.StateChanged(self.name, old_active, old, self.active_state, new, "success")]

    def start(self, now_usec: int, invocation_id: str = "") -> list[act.Action]:
        if self.sub == "dead" and self.unit.type != "device":
            self.invocation = invocation_id  # rule 5
        return self._set(self._up, now_usec)

    def stop(self, now_usec: int) -> list[act.Action]:
        return self._set("dead", now_usec)

    def reset_failed(self) -> list[act.Action]:
        return []


MachineFactory = Callable[[Unit], UnitMachine]
# unit type -> factory; a type not listed gets an InstantMachine (rule 4).
MACHINE_FACTORIES: dict[str, MachineFactory] = {}


def machine_for(unit: Unit, factories: Mapping[str, MachineFactory] | None = None) -> UnitMachine:
    """A fresh machine for a loaded non-service unit."""
    table = MACHINE_FACTORIES if factories is None else factories
    factory = table.get(unit.type)
    return factory(unit) if factory is not None else InstantMachine(unit)
