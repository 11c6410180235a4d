"""Real unit files load without a wrong warning: this machine's and a held-out Debian set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pidone.core.unitname import instance_of, replace_instance
from pidone.core.units import build_unit
from pidone.linux.hostfacts import read_specifier_host
from pidone.linux.unitload import UnitLoader
from pidone.linux.unitpaths import build_unit_paths

DEBIAN = Path(__file__).parent / "data" / "debian"
MACHINE_DIRS = ("/lib/systemd/system", "/etc/systemd/system")


def _wrong(diags: list[str]) -> list[str]:
    return [d for d in diags if "Unknown key" in d or "Unknown section" in d]


def test_every_unit_on_this_machine_loads_without_unknown_keys() -> None:
    if not any(os.path.isdir(d) for d in MACHINE_DIRS):
        pytest.skip("no /lib/systemd/system or /etc/systemd/system on this machine")
    loader = UnitLoader(build_unit_paths(None, {}))
    host = read_specifier_host("/")
    loaded = 0
    problems: list[str] = []
    names = [name for name, _ in loader.list_unit_files()]
    for name in names:
        if instance_of(name) == "":  # a template: check it as an instance, as verify does
            name = replace_instance(name, "i")
        unit = build_unit(loader.load(name), host)
        loaded += unit.load_state == "loaded"
        problems += [f"{unit.id}: {d}" for d in _wrong([str(d) for d in unit.diagnostics])]
    assert loaded > 50
    assert problems == []


def _debian_units() -> list[str]:
    return sorted(p.name for p in DEBIAN.iterdir() if not p.name.endswith(".md"))


@pytest.mark.parametrize("name", _debian_units())
def test_debian_package_units_load_cleanly(name: str) -> None:
    env = {"PIDONE_UNIT_PATH": str(DEBIAN)}
    loader = UnitLoader(build_unit_paths(None, env))
    unit_name = replace_instance(name, "i") if instance_of(name) == "" else name
    unit = build_unit(loader.load(unit_name), read_specifier_host("/"))
    assert unit.load_state == "loaded"
    assert [str(d) for d in unit.diagnostics] == []


def test_debian_redis_records_its_sandboxing_as_not_enforced() -> None:
    loader = UnitLoader(build_unit_paths(None, {"PIDONE_UNIT_PATH": str(DEBIAN)}))
    unit = build_unit(loader.load("redis-server.service"), read_specifier_host("/"))
    keys = {n.key for n in unit.not_enforced}
    assert {"ProtectSystem", "SystemCallFilter", "ReadWriteDirectories", "PrivateTmp"} <= keys
    assert unit.service is not None
    assert unit.service.type == "notify"
    assert unit.service.exec.limits["NOFILE"] == (65535, 65535)
