"""Managed directories (RuntimeDirectory= & co.): modes, owners, links, removal, failures."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from pidone.core.environment import DirectoryBases
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux.directories import (
    DirectoryError,
    create_directories,
    remove_runtime_directories,
)
from pidone.linux.spawn import SpawnRequest, read_spawn_failure
from tests.linux.proc_helpers import env_for, run_to_file, started, wait_exit

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chowns to other users")
NOBODY = 65534


def bases(tmp_path: Path) -> DirectoryBases:
    return DirectoryBases(
        runtime=str(tmp_path / "run"),
        state=str(tmp_path / "lib"),
        cache=str(tmp_path / "cache"),
        logs=str(tmp_path / "log"),
        configuration=str(tmp_path / "etc"),
    )


def owner_mode(path: Path) -> tuple[int, int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


def test_modes_owners_parents_and_links(tmp_path):
    b = bases(tmp_path)
    ctx = ExecContext(
        runtime_directory=["app/sub", "other:alias"],
        runtime_directory_mode=0o2750,
        state_directory=["app"],
        configuration_directory=["app"],
        configuration_directory_mode=0o700,
    )
    create_directories(ctx, NOBODY, 100, b)
    run = tmp_path / "run"
    assert owner_mode(run / "app") == (0, 0, 0o755)  # parent: root's, 0755
    assert owner_mode(run / "app/sub") == (NOBODY, 100, 0o2750)
    assert owner_mode(run / "other") == (NOBODY, 100, 0o2750)
    assert os.readlink(run / "alias") == "other"
    assert owner_mode(tmp_path / "lib/app") == (NOBODY, 100, 0o755)
    assert owner_mode(tmp_path / "etc/app") == (0, 0, 0o700)  # configuration stays root's


def test_existing_directory_with_wrong_owner_is_chowned_recursively(tmp_path):
    b = bases(tmp_path)
    inner = tmp_path / "lib/app/deep"
    inner.mkdir(parents=True)
    (inner / "f").write_text("x")
    create_directories(ExecContext(state_directory=["app"]), NOBODY, NOBODY, b)
    assert owner_mode(inner / "f")[:2] == (NOBODY, NOBODY)
    assert owner_mode(inner)[:2] == (NOBODY, NOBODY)


def test_dynamic_user_directories_live_under_private(tmp_path):
    b = bases(tmp_path)
    create_directories(ExecContext(state_directory=["dyn"]), 61200, 61200, b, dynamic=True)
    assert owner_mode(tmp_path / "lib/private") == (0, 0, 0o700)
    assert owner_mode(tmp_path / "lib/private/dyn")[:2] == (61200, 61200)
    assert os.readlink(tmp_path / "lib/dyn") == "private/dyn"


@pytest.mark.parametrize(
    ("preserve", "restarting", "kept"),
    [("no", False, False), ("no", True, False), ("yes", False, True), ("restart", True, True),
     ("restart", False, False)],
)  # fmt: skip
def test_runtime_directory_preserve(tmp_path, preserve, restarting, kept):
    b = bases(tmp_path)
    ctx = ExecContext(
        runtime_directory=["a/b:lnk"], state_directory=["s"], runtime_directory_preserve=preserve
    )
    create_directories(ctx, -1, -1, b)
    remove_runtime_directories(ctx, b, restarting=restarting)
    assert (tmp_path / "run/a/b").exists() == kept
    assert (tmp_path / "run/a").exists()  # only the innermost goes
    assert (tmp_path / "lib/s").exists()  # other kinds are never removed


def test_failure_is_the_kinds_exit_status(tmp_path):
    b = bases(tmp_path)
    (tmp_path / "cache").write_text("not a directory")
    with pytest.raises(DirectoryError) as info:
        create_directories(ExecContext(cache_directory=["x"]), -1, -1, b)
    assert info.value.status == 239
    # through spawn: the command is not run and exits 239/CACHE_DIRECTORY
    ctx = ExecContext(cache_directory=["x"])
    req = SpawnRequest(ExecCommand("/bin/true", ("true",)), ctx, env_for(ctx), directory_bases=b)
    with started(req) as s:
        assert wait_exit(s.pid) == 239
        failure = read_spawn_failure(s, close=False)
    assert failure is not None
    assert failure.step == "CACHE_DIRECTORY"


def test_spawn_creates_directories_owned_by_the_user_before_the_command():
    top = Path(tempfile.mkdtemp(prefix="pidone-dirs-", dir="/tmp"))  # nobody must reach it
    try:
        top.chmod(0o755)
        b = bases(top)
        ctx = ExecContext(user="nobody", runtime_directory=["svc"], runtime_directory_mode=0o700)
        env = dict(env_for(ctx), RUNTIME_DIRECTORY=str(top / "run/svc"))
        cmd = ExecCommand("/bin/sh", ("sh", "-c", 'echo hi > "$$RUNTIME_DIRECTORY/f" && id -u'))
        status, out = run_to_file(cmd, ctx, str(top / "out"), env=env, directory_bases=b)
        assert (status, out.strip()) == (0, str(NOBODY))
        assert owner_mode(top / "run/svc/f")[0] == NOBODY
        assert owner_mode(top / "run/svc") == (NOBODY, NOBODY, 0o700)
    finally:
        shutil.rmtree(top, ignore_errors=True)
