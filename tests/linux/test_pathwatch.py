"""linux.pathwatch: path_check_good()'s rules on real files and inotify watches on real fds."""

from __future__ import annotations

import os
import select
from pathlib import Path

import pytest

from pidone.linux.pathwatch import PathWatcher, SpecWatch, hidden_or_backup


def watcher(reports: list[tuple[str, str]] | None = None) -> PathWatcher:
    readers: dict[int, object] = {}
    return PathWatcher(
        readers.__setitem__,
        lambda fd: readers.pop(fd, None),
        lambda unit, changed: (reports if reports is not None else []).append((unit, changed)),
    )


def readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 5)[0])  # an upper bound only, never a timing check


def test_exists_glob_and_directory_not_empty(tmp_path: Path) -> None:
    w = watcher()
    target = tmp_path / "t"
    specs = (("PathExists", str(target)),)
    assert w.check_good("u.path", specs, True, False) == ""
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    # access(F_OK) follows symlinks: a dangling link does not exist
    assert w.check_good("u.path", (("PathExists", str(tmp_path / "dangling")),), True, False) == ""
    target.write_text("")
    assert w.check_good("u.path", specs, True, False) == str(target)
    (tmp_path / "b.cvd").write_text("")
    (tmp_path / "a.inc").write_text("")
    glob_spec = (("PathExistsGlob", str(tmp_path / "{b.c[vl]d,a.inc}")),)
    # GLOB_BRACE: alternatives in order, the first match names the path
    assert w.check_good("u.path", glob_spec, False, False) == str(tmp_path / "b.cvd")
    spool = tmp_path / "spool"
    empty = (("DirectoryNotEmpty", str(spool)),)
    assert w.check_good("u.path", empty, False, False) == ""  # absent
    spool.mkdir()
    for name in (".hidden", "x~", "y.dpkg-old", "z.swp"):
        (spool / name).write_text("")
    assert w.check_good("u.path", empty, False, False) == ""
    (spool / "job").write_text("")
    assert w.check_good("u.path", empty, False, False) == str(spool)
    assert [hidden_or_backup(n) for n in (".x", "a.rpmsave", "a")] == [True, True, False]


def test_path_changed_holds_only_when_existence_changed_outside_start_and_notify(
    tmp_path: Path,
) -> None:
    w = watcher()
    f = tmp_path / "c.conf"
    specs = (("PathChanged", str(f)),)
    assert w.check_good("u.path", specs, True, False) == ""  # initial: records "absent"
    f.write_text("")
    assert w.check_good("u.path", specs, False, True) == ""  # from_trigger_notify: records
    f.unlink()
    assert w.check_good("u.path", specs, False, False) == str(f)  # went away since
    assert w.check_good("u.path", specs, False, False) == ""  # no change since


def test_watch_reports_creation_below_missing_parents_and_changes_of_the_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "a" / "b"
    spec = SpecWatch("PathExists", str(target))
    try:
        (tmp_path / "a").mkdir()  # the deepest existing prefix sees the creation
        assert readable(spec.fd)
        assert spec.read_changed() is False  # PathExists= never "changes"
    finally:
        spec.close()
    conf = tmp_path / "x.conf"
    conf.write_text("1")
    changed = SpecWatch("PathChanged", str(conf))
    try:
        with conf.open("a") as f:
            f.write("2")
        assert readable(changed.fd)
        assert changed.read_changed() is True  # IN_CLOSE_WRITE on the file itself
    finally:
        changed.close()


def test_watcher_unwatch_closes_fds_and_forget_drops_state(tmp_path: Path) -> None:
    reports: list[tuple[str, str]] = []
    w = watcher(reports)
    conf = tmp_path / "m.conf"
    conf.write_text("")
    w.watch("m.path", (("PathModified", str(conf)),))
    (fd,) = [s.fd for s in w.watches["m.path"]]
    os.fstat(fd)
    conf.write_text("more")
    assert readable(fd)
    w._readable("m.path", w.watches["m.path"][0])
    assert reports == [("m.path", str(conf))]
    w.unwatch("m.path")
    assert "m.path" not in w.watches
    with pytest.raises(OSError):
        os.fstat(fd)  # closed


def test_a_watch_that_cannot_be_made_names_the_component_as_systemd(tmp_path: Path) -> None:
    """ENOTDIR under a regular file, ELOOP in a symlink loop: path_spec_watch() fails with
    inotify_add_watch_and_warn()'s line (tests/data/oracle/capture-triggers-252.md)."""
    from pidone.linux.pathwatch import format_watch_error

    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(OSError) as caught:
        SpecWatch("PathExists", f"{afile}/x")
    assert format_watch_error(caught.value) == (
        f"Failed to add a watch for {afile}/x: Not a directory"
    )
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    with pytest.raises(OSError) as caught:
        SpecWatch("PathChanged", f"{loop}/x")
    assert format_watch_error(caught.value) == (
        f"Failed to add a watch for {loop}: Too many levels of symbolic links"
    )
