"""The loader's fall-back to pidone's built-in targets and slices (unitload rule 7)."""

from __future__ import annotations

import os
from pathlib import Path

from pidone.core.targets import BUILTIN_DIR
from pidone.linux.unitload import UnitLoader


def _root(tmp_path: Path) -> Path:
    etc = tmp_path / "etc/systemd/system"
    (etc / "multi-user.target.wants").mkdir(parents=True)
    (etc / "x.service").write_text("[Service]\nExecStart=/bin/true\n")
    os.symlink("/etc/systemd/system/x.service", etc / "multi-user.target.wants/x.service")
    (etc / "multi-user.target.d").mkdir()
    (etc / "multi-user.target.d/10-desc.conf").write_text("[Unit]\nDescription=Mine\n")
    return tmp_path


def test_builtin_target_keeps_wants_links_and_dropins(tmp_path: Path) -> None:
    loader = UnitLoader(root=str(_root(tmp_path)), builtins=True)
    source = loader.load("multi-user.target")
    assert (source.load_state, source.fragment_path) == (
        "loaded",
        f"{BUILTIN_DIR}/multi-user.target",
    )
    assert source.wants == ("x.service",)
    assert source.dropin_paths == (
        f"{tmp_path}/etc/systemd/system/multi-user.target.d/10-desc.conf",
    )
    assert len(source.files) == 2


def test_default_target_is_an_alias_unless_a_file_says_otherwise(tmp_path: Path) -> None:
    root = _root(tmp_path)
    loader = UnitLoader(root=str(root), builtins=True)
    source = loader.load("default.target")
    assert (source.id, source.names) == (
        "multi-user.target",
        ("multi-user.target", "default.target"),
    )
    link = root / "etc/systemd/system/default.target"
    os.symlink("/lib/systemd/system/rescue.target", link)
    (root / "lib/systemd/system").mkdir(parents=True)
    (root / "lib/systemd/system/rescue.target").write_text("[Unit]\nDescription=Own rescue\n")
    source = UnitLoader(root=str(root), builtins=True).load("default.target")
    assert source.id == "rescue.target"
    assert source.fragment_path == f"{root}/lib/systemd/system/rescue.target"


def test_a_file_wins_and_builtins_are_opt_in(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "etc/systemd/system/network.target").write_text("[Unit]\nDescription=Own\n")
    loader = UnitLoader(root=str(root), builtins=True)
    assert (
        loader.load("network.target").fragment_path == f"{root}/etc/systemd/system/network.target"
    )
    assert loader.load("nope.target").load_state == "not-found"
    assert UnitLoader(root=str(root)).load("sysinit.target").load_state == "not-found"
