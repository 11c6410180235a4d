"""What systemd 252 adds to .path units (default dependencies) and .mount units (their slice)."""

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


def test_mount_units_get_their_slice_like_systemd() -> None:
    # unit_set_default_slice() + mount_is_extrinsic(): API file systems and /, /usr, /etc
    # stay in the root slice, every other mount is in system.slice (Debian's
    # var-lib-nfs-rpc_pipefs.mount: its start pulls system.slice in)
    body = "[Unit]\nDefaultDependencies=no\n[Mount]\nWhat=x\nWhere=/x\n"
    for name, slice_ in (
        ("var-lib-nfs-rpc_pipefs.mount", "system.slice"),
        ("srv.mount", "system.slice"),
        ("dev-hugepages.mount", "-.slice"),
        ("sys-kernel-debug.mount", "-.slice"),
        ("usr.mount", "-.slice"),
        ("-.mount", "-.slice"),
    ):
        unit = unit_from_text(name, body)
        assert unit.slice == slice_, name
        assert slice_ in unit.unit.requires, name
        assert slice_ in unit.unit.after, name
