"""Runtime/state directory creation: modes, refusal of symlinks and foreign owners."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pidone.daemon.paths import DaemonPaths, UnsafePath, ensure_dir, prepare_dirs, resolve_paths


def test_defaults_and_socket_path() -> None:
    p = resolve_paths(environ={})
    assert p == DaemonPaths("/run/pidone", "/var/lib/pidone")
    assert p.control_socket == "/run/pidone/control.sock"
    assert resolve_paths("rel", "st", {}).runtime_dir == os.path.abspath("rel")


def test_prepare_creates_with_modes_despite_umask(tmp_path: Path) -> None:
    p = DaemonPaths(str(tmp_path / "run" / "pidone"), str(tmp_path / "lib" / "pidone"))
    old = os.umask(0o077)
    try:
        prepare_dirs(p)
    finally:
        os.umask(old)
    for d in (p.runtime_dir, p.state_dir):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o755
    prepare_dirs(p)  # idempotent


def test_symlink_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(UnsafePath, match="symlink"):
        ensure_dir(str(tmp_path / "link"))


def test_file_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(UnsafePath, match="not a directory"):
        ensure_dir(str(tmp_path / "f"))


def test_foreign_owner_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to chown a directory to another user")
    d = tmp_path / "theirs"
    d.mkdir()
    os.chown(d, 65534, 65534)
    with pytest.raises(UnsafePath, match="owned by uid 65534"):
        ensure_dir(str(d))
