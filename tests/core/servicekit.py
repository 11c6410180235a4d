"""Builders for service-machine tests: units from keyword arguments, a driven machine."""

from __future__ import annotations

from typing import Any

from pidone.core import events as ev
from pidone.core.execline import ExecCommand
from pidone.core.model import ServiceSection, Unit, UnitSection
from pidone.core.service import ServiceMachine
from pidone.testing.fakes import FakeExecutor

SEC = 1_000_000


def cmd(path: str, *args: str, ignore: bool = False) -> ExecCommand:
    """One Exec*= command; `ignore` is the `-` prefix."""
    return ExecCommand(path, (path, *args), ignore_failure=ignore)


def make_unit(name: str = "t.service", description: str = "", **svc: Any) -> Unit:
    """A loaded service unit; [Service] fields by keyword, [Unit] ones prefixed `unit_`."""
    unit_kw = {k[5:]: svc.pop(k) for k in list(svc) if k.startswith("unit_")}
    kill_kw = {k[5:]: svc.pop(k) for k in list(svc) if k.startswith("kill_")}
    if "exec_start" not in svc:
        svc["exec_start"] = [cmd("/bin/daemon")]
    section = ServiceSection(**svc)
    for key, value in kill_kw.items():
        setattr(section.kill, key, value)
    return Unit(
        id=name,
        names=(name,),
        type="service",
        load_state="loaded",
        unit=UnitSection(description=description, **unit_kw),
        service=section,
    )


def machine(**svc: Any) -> tuple[ServiceMachine, FakeExecutor]:
    """A machine for `make_unit(**svc)` with its fake executor."""
    m = ServiceMachine(make_unit(**svc))
    return m, FakeExecutor(m)


def start(fx: FakeExecutor, unit: str = "t.service", manual: bool = True) -> list[Any]:
    """Feed StartRequested with a fixed invocation id."""
    return fx.feed(ev.StartRequested(unit, "0123456789abcdef0123456789abcdef", manual))
