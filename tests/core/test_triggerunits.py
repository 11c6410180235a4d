"""TriggerUnits: routing, TriggeredBy= fan-out and LISTEN_FDS gathering, and the whole story
with a real ServiceMachine behind a few lines of manager-like glue (no I/O)."""

from __future__ import annotations

from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.service import ServiceMachine
from pidone.core.socketseam import FdReadable, ListenersOpened, OpenListeners
from pidone.core.timerunit import TimerHost, TimerState
from pidone.core.triggering import ArmWakeup, Now, StartUnit
from pidone.core.triggerunits import TriggerUnits
from tests.core.unitbuild import unit_from_bytes

SEC = 1_000_000
REAL0 = 1_800_000_000 * SEC


def hub(stamps: dict[str, int] | None = None) -> TriggerUnits:
    return TriggerUnits(TimerHost(), UTC, lambda _: None, lambda: 0, stamps)


def now(mono: int) -> Now:
    return Now(REAL0 + mono, mono)


class Glue:
    """The part of the manager this issue needs: StartUnit -> a start of the service
    machine, its StateChanged -> target_changed(), Spawn -> a made-up PID."""

    def __init__(self, units: TriggerUnits, service: ServiceMachine) -> None:
        self.units = units
        self.service = service
        self.pid = 1000
        self.spawned_env: list[dict[str, str]] = []
        self.started: list[StartUnit] = []
        self.armed: dict[str, ArmWakeup] = {}

    def trigger(self, event: object, t: int) -> None:
        self._run(self.units.handle(event, now(t)), t)  # type: ignore[arg-type]

    def to_service(self, event: ev.ServiceEvent, t: int) -> None:
        self._run(self.service.handle(event, t), t)

    def _run(self, actions: list, t: int) -> None:
        for a in actions:
            match a:
                case StartUnit():
                    self.started.append(a)
                    if self.service.active.value in ("inactive", "failed"):
                        self.to_service(ev.StartRequested(self.service.unit.id, "0" * 32), t)
                case OpenListeners():
                    self.trigger(ListenersOpened(a.unit, (7,)), t)
                case ArmWakeup():
                    self.armed[a.token] = a
                case act.Spawn():
                    self.pid += 1
                    self.spawned_env.append(dict(a.env))
                    self.to_service(ev.Spawned(a.unit, a.token, self.pid), t)
                case act.StateChanged() if a.unit == self.service.unit.id:
                    ts = self.service.timestamps
                    self._run(
                        self.units.target_changed(
                            a.unit,
                            a.new_active,
                            a.new_sub,
                            now(t),
                            ts.inactive_exit,
                            ts.inactive_enter,
                        ),
                        t,
                    )


def test_a_connection_starts_the_service_and_its_exit_resumes_listening():
    units = hub()
    units.add_unit(unit_from_bytes("web.socket", b"[Socket]\nListenStream=/run/web.sock\n"))
    svc = ServiceMachine(unit_from_bytes("web.service", b"[Service]\nExecStart=/bin/web\n"))
    glue = Glue(units, svc)
    glue.trigger(ev.StartRequested("web.socket"), 1 * SEC)
    assert units.sub_state("web.socket") == "listening"
    assert units.listen_fds("web.service") == ((7,), ("web.socket",))
    glue.trigger(FdReadable("web.socket", 7), 2 * SEC)
    assert [s.target for s in glue.started] == ["web.service"]
    assert svc.active.value == "active"
    assert units.sub_state("web.socket") == "running"
    glue.to_service(ev.ProcessExited(glue.pid, 0, unit_empty=True), 3 * SEC)
    assert svc.sub.value == "dead"
    assert units.sub_state("web.socket") == "listening"


def test_a_timer_starts_its_oneshot_and_repeats_from_the_units_activation():
    units = hub()
    timer = unit_from_bytes("job.timer", b"[Timer]\nOnActiveSec=5s\nOnUnitActiveSec=60s\n")
    units.add_unit(timer)
    svc = ServiceMachine(
        unit_from_bytes("job.service", b"[Service]\nType=oneshot\nExecStart=/bin/true\n")
    )
    glue = Glue(units, svc)
    glue.trigger(ev.StartRequested("job.timer"), 10 * SEC)
    (token,) = glue.armed
    assert glue.armed[token].deadline_usec == 15 * SEC
    glue.trigger(ev.TimerFired(token), 15 * SEC)
    assert units.sub_state("job.timer") == "running"
    assert glue.spawned_env  # the oneshot's ExecStart= was spawned
    glue.to_service(ev.ProcessExited(glue.pid, 0, unit_empty=True), 16 * SEC)
    assert svc.sub.value == "dead"
    m = units.timers["job.timer"]
    assert m.state == TimerState.WAITING
    # OnUnitActiveSec= counts from the later of the unit's activation (15 s) and the trigger.
    assert m.next_elapse_monotonic == 75 * SEC
    assert units.triggered_by("job.service") == ["job.timer"]


def test_routing_by_token_pid_and_unit():
    units = hub()
    units.add_unit(
        unit_from_bytes("a.socket", b"[Socket]\nListenStream=/run/a\nExecStartPre=/bin/true\n")
    )
    units.add_unit(unit_from_bytes("t.timer", b"[Timer]\nOnActiveSec=1s\n"))
    out = units.handle(ev.StartRequested("a.socket"), now(0))
    (spawn,) = [a for a in out if isinstance(a, act.Spawn)]
    units.handle(ev.Spawned("a.socket", spawn.token, 4242), now(0))
    assert units.pid_owner(4242) == "a.socket"
    out = units.handle(ev.ProcessExited(4242, 0), now(SEC))
    assert any(isinstance(a, OpenListeners) for a in out)
    assert units.handle(ev.ProcessExited(9999, 0), now(SEC)) == []
    assert units.handle(ev.StartRequested("other.service"), now(SEC)) == []
    out = units.handle(ev.StartRequested("t.timer"), now(SEC))
    (wake,) = [a for a in out if isinstance(a, ArmWakeup)]
    out = units.handle(ev.TimerFired(wake.token), now(2 * SEC))
    assert [a.target for a in out if isinstance(a, StartUnit)] == ["t.service"]


def test_listen_fds_gathers_every_socket_of_a_service_without_duplicates():
    units = hub()
    units.add_unit(
        unit_from_bytes("b.socket", b"[Socket]\nListenStream=/run/b\nService=x.service\n")
    )
    units.add_unit(
        unit_from_bytes(
            "a.socket",
            b"[Socket]\nListenStream=/run/a1\nListenDatagram=/run/a2\nService=x.service\n"
            b"FileDescriptorName=api\n",
        )
    )
    units.handle(ListenersOpened("a.socket", (5, 6)), now(0))
    units.handle(ListenersOpened("b.socket", (9,)), now(0))
    assert units.listen_fds("x.service") == ((5, 6, 9), ("api", "api", "b.socket"))
    assert units.triggered_by("x.service") == ["a.socket", "b.socket"]


def test_reload_keeps_runtime_state_and_stamps_seed_new_timers():
    units = hub({"p.timer": REAL0 - 3600 * SEC})
    body = b"[Timer]\nOnCalendar=hourly\nPersistent=yes\n"
    units.add_unit(unit_from_bytes("p.timer", body))
    assert units.timers["p.timer"].stamp_usec == REAL0 - 3600 * SEC
    units.handle(ev.StartRequested("p.timer"), now(SEC))
    before = units.timers["p.timer"]
    units.add_unit(unit_from_bytes("p.timer", body))  # daemon-reload, same file
    assert units.timers["p.timer"] is before
    units.add_unit(unit_from_bytes("p.timer", b"[Timer]\nOnCalendar=daily\nPersistent=yes\n"))
    rebuilt = units.timers["p.timer"]
    assert rebuilt is not before
    out = units.coldplug(now(2 * SEC))
    assert rebuilt.state == TimerState.WAITING  # still waiting, now on the new schedule
    (wake,) = [a for a in out if isinstance(a, ArmWakeup)]
    assert wake.deadline_usec == rebuilt.next_elapse_realtime
    assert rebuilt.stamp_usec == before.stamp_usec
    assert rebuilt.last_trigger == before.last_trigger
    assert units.handle(ev.TimerFired(next(iter(before._armed.values()))), now(3 * SEC)) == []


def _naive_triggered_by(units: TriggerUnits, target: str) -> list[str]:
    """What triggered_by() answered before it kept an index: a scan of every machine."""
    out = [n for n, t in units.timers.items() if t.config.target == target]
    out += [n for n, s in units.sockets.items() if target in s.triggers()]
    return sorted(out)


def _naive_listen_fds(units: TriggerUnits, service: str, named: set[str]) -> tuple:
    fds: list[int] = []
    names: list[str] = []
    for name in sorted(units.sockets):
        m = units.sockets[name]
        if not m.config.accept and (m.config.service == service or name in named):
            for fd in m.fds:
                if fd not in fds:
                    fds.append(fd)
                    names.append(m.config.fd_name)
    return tuple(fds), tuple(names)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["add", "remove", "connect", "drop"]),
            st.sampled_from(["a", "b", "c", "d"]),
            st.sampled_from(["socket", "accept", "timer"]),
            st.sampled_from(["x", "y", "a", "b"]),
        ),
        max_size=30,
    )
)
@settings(max_examples=150, deadline=None)
def test_triggered_by_index_answers_as_a_scan_through_reloads_and_connections(
    steps: list[tuple[str, str, str, str]],
) -> None:
    """The by-target index is rebuilt after add/remove (a reload may change Service=,
    Unit= or Accept=); Accept=yes instances come and go between rebuilds."""
    units = hub()
    for op, name, kind, target in steps:
        suffix = "timer" if kind == "timer" else "socket"
        unit_id = f"{name}.{suffix}"
        if op == "add":
            if kind == "timer":
                body = f"[Timer]\nOnActiveSec=5s\nUnit={target}.service\n".encode()
            else:
                accept = "yes" if kind == "accept" else "no"
                body = (
                    f"[Socket]\nListenStream=/run/{name}\nAccept={accept}\n"
                    f"Service={target}.service\n"
                ).encode()
                if accept == "yes":
                    body = f"[Socket]\nListenStream=/run/{name}\nAccept=yes\n".encode()
            units.add_unit(unit_from_bytes(unit_id, body))
            if unit_id in units.sockets:
                units.sockets[unit_id].fds = (ord(name) % 3 + 3, ord(target))
        elif op == "remove":
            units.remove_unit(unit_id)
        else:
            m = units.sockets.get(f"{name}.socket")
            if m is not None:
                instance = f"{name}@{target}.service"
                if op == "connect":
                    m.instances.add(instance)
                else:
                    m.instances.discard(instance)
        for probe in ("x", "y", "a", "b"):
            for wanted in (f"{probe}.service", f"{name}@{probe}.service"):
                assert units.triggered_by(wanted) == _naive_triggered_by(units, wanted)
            for named in (set(), {f"{probe}.socket", "d.socket"}):
                assert units.listen_fds(f"{probe}.service", sorted(named)) == _naive_listen_fds(
                    units, f"{probe}.service", named
                )
