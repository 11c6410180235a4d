"""The directive table: complete (systemd 252's key set), consistent, and never crashing."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pidone.core import model
from pidone.core.directives import SECTIONS, all_directives, lookup, sections_for
from pidone.core.unitfile import Assignment, UnitFile
from pidone.core.unitparsers import PARSERS
from pidone.core.units import build_unit
from pidone.core.unitsource import UnitSource
from tests.core.unitbuild import HOST

LIBCORE = "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-core-252.so"
_OWNERS = {
    "Unit": model.UnitSection,
    "Service": model.ServiceSection,
    "Socket": model.SocketSection,
    "Timer": model.TimerSection,
}


def test_every_row_names_an_existing_parser_and_target() -> None:
    for _utype, section, row in all_directives():
        assert row.parser in PARSERS, (section, row.key, row.parser)
        if not row.target or section not in _OWNERS:
            continue
        target = row.target
        obj: object = _OWNERS[section]()
        if target.startswith("@unit."):
            obj, target = model.UnitSection(), target[len("@unit.") :]
        for name in target.split("."):
            assert hasattr(obj, name), (section, row.key, row.target)
            obj = getattr(obj, name)
        if row.parser in ("enum", "protect", "action"):
            assert row.choices, row.key
            assert row.what or row.parser == "action", row.key


_SANDBOX = (
    "PrivateTmp ProtectSystem ProtectHome PrivateDevices ReadWritePaths ReadOnlyPaths "
    "ReadWriteDirectories ReadOnlyDirectories InaccessibleDirectories ProtectControlGroups "
    "ProtectKernelTunables ProtectKernelModules ProtectKernelLogs ExecPaths NoExecPaths "
    "BindReadOnlyPaths TemporaryFileSystem PrivateNetwork PrivateUsers ProtectHostname "
    "PrivateIPC SystemCallFilter SystemCallArchitectures RestrictAddressFamilies "
    "RestrictNamespaces RestrictRealtime MemoryDenyWriteExecute LockPersonality "
    "RestrictSUIDSGID ProtectClock ProtectProc ProcSubset DeviceAllow DevicePolicy "
    "IPAddressAllow IPAddressDeny AppArmorProfile RemoveIPC TasksMax Delegate Slice "
    "MemoryLimit"
)


def test_spec09_sandboxing_and_resource_keys_are_known_and_not_enforced() -> None:
    keys = _SANDBOX.split()
    for key in keys:
        row = lookup("service", "Service", key)
        assert row is not None, key
        assert row.klass == "not-enforced", key


def test_old_names_are_accepted() -> None:
    for section, key in (
        ("Service", "PermissionsStartOnly"),
        ("Service", "StartLimitInterval"),
        ("Service", "ReadWriteDirectories"),
        ("Unit", "StartLimitInterval"),
        ("Unit", "BindTo"),
        ("Unit", "RequiresOverridable"),
    ):
        assert lookup("service", section, key) is not None, key


def test_sections_per_type() -> None:
    assert set(sections_for("target")) == {"Unit", "Install"}
    assert set(sections_for("service")) == {"Unit", "Install", "Service"}
    assert lookup("service", "Socket", "ListenStream") is None
    assert lookup("socket", "Socket", "ListenStream") is not None


def _systemd_keys() -> set[str]:
    if not os.path.exists(LIBCORE):
        pytest.skip(f"{LIBCORE} is not installed (systemd 252)")
    out = subprocess.run(
        ["strings", "-n", "6", LIBCORE], capture_output=True, check=False, text=True
    ).stdout
    pattern = re.compile(
        r"^(Unit|Service|Socket|Timer|Install|Path|Mount|Automount|Swap|Slice|Scope)\.[A-Za-z]+$"
    )
    return {line for line in out.splitlines() if pattern.match(line)}


@pytest.mark.differential
def test_key_set_is_systemd_252s() -> None:
    """Every `Section.Key` of systemd's gperf table is known, and pidone adds none."""
    theirs = _systemd_keys()
    types = {
        "Service": "service",
        "Socket": "socket",
        "Timer": "timer",
        "Path": "path",
        "Mount": "mount",
        "Automount": "automount",
        "Swap": "swap",
        "Slice": "slice",
        "Scope": "scope",
    }
    ours = set()
    for utype in SECTIONS:
        for section, keys in sections_for(utype).items():
            ours |= {f"{section}.{k}" for k in keys}
    assert theirs - ours == set()
    # BindIPv6Only is real (man systemd.socket); the strings tool misses it (tail-merged)
    assert ours - theirs <= {"Socket.BindIPv6Only"}
    assert set(types) <= {k.split(".")[0] for k in theirs}


_KEYS = sorted({row.key for _, _, row in all_directives()})
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from("%$\\\"' ;-@!+:|~"),
    max_size=40,
)


@st.composite
def _assignments(draw: st.DrawFn) -> list[Assignment]:
    items = []
    for line in range(1, draw(st.integers(0, 12)) + 1):
        section = draw(st.sampled_from(["Unit", "Service", "Socket", "Timer", "Install"]))
        key = draw(st.sampled_from(_KEYS) | st.text(max_size=8))
        value = draw(
            _TEXT | st.sampled_from(["", "yes", "0", "infinity", "/bin/true", "a.service"])
        )
        items.append(Assignment(section, key, value, "/h/t", line))
    return items


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    assignments=_assignments(),
    unit_id=st.sampled_from(["t.service", "t@x-y.service", "t.socket", "t.timer", "t.target"]),
)
def test_build_unit_never_raises(assignments: list[Assignment], unit_id: str) -> None:
    sections = tuple(sorted({a.section for a in assignments}))
    f = UnitFile("/h/t", tuple(assignments), sections, ())
    source = UnitSource(unit_id, unit_id, (unit_id,), "loaded", "/h/t", files=(f,))
    unit = build_unit(source, HOST)
    assert unit.load_state in ("loaded", "bad-setting")
    for diag in unit.diagnostics:
        assert str(diag)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_build_unit_never_raises_on_garbage_bytes(data: bytes) -> None:
    from tests.core.unitbuild import unit_from_bytes

    unit = unit_from_bytes("g.service", b"[Service]\nExecStart=" + data + b"\nUser=" + data)
    assert unit.load_state in ("loaded", "bad-setting", "error")  # error: not UTF-8
    if unit.load_state == "error":
        assert unit.load_error.startswith("String is not UTF-8 clean")
