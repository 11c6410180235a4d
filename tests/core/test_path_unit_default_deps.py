"""Default dependencies of .path units (systemd 252 path_add_default_dependencies())."""

from __future__ import annotations

from tests.core.unitbuild import unit_from_text


def test_path_unit_gets_sysinit_paths_and_shutdown_ordering() -> None:
    u = unit_from_text("cups.path", "[Path]\nPathExists=/var/cache/cups/org.cups.cupsd\n").unit
    assert "sysinit.target" in u.requires
    assert "sysinit.target" in u.after
    assert {"paths.target", "shutdown.target"} <= set(u.before)
    assert "shutdown.target" in u.conflicts


def test_default_dependencies_no_adds_none() -> None:
    text = "[Unit]\nDefaultDependencies=no\n[Path]\nPathChanged=/etc/x\n"
    u = unit_from_text("x.path", text).unit
    assert "sysinit.target" not in u.requires + u.after
    assert "paths.target" not in u.before
    assert "shutdown.target" not in u.conflicts
