"""core.targets: built-in units parse cleanly, match the host's systemd files, set-default rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pidone.core.model import Unit
from pidone.core.targets import (
    BUILTIN_ALIASES,
    BUILTIN_UNITS,
    builtin_alias,
    builtin_unit_text,
    format_get_default,
    normalize_target_name,
    plan_set_default,
)
from tests.core.depkit import graph, jobs, make_unit, plan

HOST_UNITS = Path("/lib/systemd/system")


@pytest.mark.parametrize("name", sorted(BUILTIN_UNITS))
def test_builtin_units_load_without_a_diagnostic(name: str) -> None:
    unit = make_unit(name, BUILTIN_UNITS[name].decode(), path=f"/b/{name}")
    assert unit.load_state == "loaded"
    assert [d.message for d in unit.diagnostics] == []
    assert unit.unit.description


def test_the_standard_set_is_there() -> None:
    for name in (
        "default.target",
        "multi-user.target",
        "graphical.target",
        "basic.target",
        "sysinit.target",
        "local-fs.target",
        "local-fs-pre.target",
        "remote-fs.target",
        "remote-fs-pre.target",
        "network.target",
        "network-pre.target",
        "network-online.target",
        "nss-lookup.target",
        "nss-user-lookup.target",
        "time-sync.target",
        "time-set.target",
        "sockets.target",
        "timers.target",
        "paths.target",
        "slices.target",
        "swap.target",
        "shutdown.target",
        "rescue.target",
        "emergency.target",
        "poweroff.target",
        "halt.target",
        "reboot.target",
        "final.target",
        "getty.target",
        "system-update.target",
        "cryptsetup.target",
        "system.slice",
        "-.slice",
    ):
        assert builtin_unit_text(name) is not None, name
    assert builtin_unit_text("nope.target") is None


def test_default_target_is_an_alias_of_multi_user() -> None:
    assert builtin_alias("default.target") == "multi-user.target"
    assert builtin_unit_text("default.target") == BUILTIN_UNITS["multi-user.target"]
    assert builtin_alias("multi-user.target") is None
    assert set(BUILTIN_ALIASES.values()) <= set(BUILTIN_UNITS)


def test_booting_default_target_pulls_the_standard_chain_in_order() -> None:
    g = graph({"app.service": "[Unit]\n[Install]\nWantedBy=multi-user.target\n"})
    r = plan(g, "default.target", mode="isolate")
    order = jobs(r)
    assert order[-1] == "multi-user.target/start"
    for early, late in (
        ("local-fs.target/start", "sysinit.target/start"),
        ("sysinit.target/start", "basic.target/start"),
        ("sockets.target/start", "basic.target/start"),
        ("basic.target/start", "multi-user.target/start"),
    ):
        assert order.index(early) < order.index(late)


def _facts(unit: Unit) -> dict[str, object]:
    u = unit.unit
    return {
        "description": u.description,
        "wants": sorted(u.wants),
        "requires": sorted(u.requires),
        "after": sorted(u.after),
        "before": sorted(u.before),
        "conflicts": sorted(u.conflicts),
        "on_failure": u.on_failure,
        "refuse_manual_start": u.refuse_manual_start,
        "allow_isolate": u.allow_isolate,
        "default_dependencies": u.default_dependencies,
        "stop_when_unneeded": u.stop_when_unneeded,
        "job_timeout_usec": u.job_timeout_usec,
    }


@pytest.mark.differential
def test_builtin_targets_match_the_hosts_systemd_files() -> None:
    if not HOST_UNITS.is_dir():
        pytest.skip("no /lib/systemd/system on this machine")
    compared = 0
    for name, data in sorted(BUILTIN_UNITS.items()):
        path = HOST_UNITS / name
        if not path.is_file() or os.path.islink(path):
            continue
        ours = make_unit(name, data.decode(), path=str(path))
        theirs = make_unit(name, path.read_text(), path=str(path))
        assert _facts(ours) == _facts(theirs), name
        compared += 1
    assert compared >= 50


@pytest.mark.parametrize(
    ("name", "found", "current", "lines", "code", "link"),
    [
        (
            "multi-user.target",
            "/lib/systemd/system/multi-user.target",
            None,
            (
                "Created symlink /etc/systemd/system/default.target \u2192 "
                "/lib/systemd/system/multi-user.target.",
            ),
            0,
            "/lib/systemd/system/multi-user.target",
        ),
        (
            "multi-user.target",
            "/lib/systemd/system/multi-user.target",
            "/lib/systemd/system/multi-user.target",
            (),
            0,
            "",
        ),
        (
            "graphical",
            "/lib/systemd/system/graphical.target",
            "/lib/systemd/system/multi-user.target",
            (
                'Removed "/etc/systemd/system/default.target".',
                "Created symlink /etc/systemd/system/default.target \u2192 "
                "/lib/systemd/system/graphical.target.",
            ),
            0,
            "/lib/systemd/system/graphical.target",
        ),
        (
            "foo.service",
            "/x/foo.service",
            None,
            ("Failed to set default: Invalid argument.",),
            1,
            "",
        ),
        (
            "nope",
            None,
            None,
            ("Failed to set default unit, unit nope.target does not exist.",),
            1,
            "",
        ),
    ],
)
def test_set_default_as_systemctl_252_prints_it(
    name: str,
    found: str | None,
    current: str | None,
    lines: tuple[str, ...],
    code: int,
    link: str,
) -> None:
    result = plan_set_default(name, found, current)
    assert (result.lines, result.exit_code, result.link_target) == (lines, code, link)


def test_get_default() -> None:
    assert format_get_default("/lib/systemd/system/graphical.target") == (("graphical.target",), 0)
    assert format_get_default(None) == (
        ("Failed to get default target: No such file or directory",),
        1,
    )
    assert normalize_target_name("rescue") == "rescue.target"
    assert normalize_target_name("a.service") == "a.service"
