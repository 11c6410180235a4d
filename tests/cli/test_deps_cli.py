"""get-default/set-default against `systemctl --root`, list-dependencies offline, exact text."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pidone.cli.deps import (
    cancel_main,
    get_default_main,
    list_dependencies_main,
    list_jobs_main,
    set_default_main,
)
from tests.linux.unittree import ETC, LIB, Tree, copy_tree, have_systemctl, run_systemctl

SVC = "[Service]\nExecStart=/bin/true\n"


def call(main: Callable[[list[str]], int], argv: list[str]) -> tuple[str, str, int]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return out.getvalue(), err.getvalue(), rc


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    t = Tree(tmp_path / "a")
    t.unit("t.target", "[Unit]\nDescription=T\nWants=a.service x.target\n", where=ETC)
    t.unit("x.target", "[Unit]\nRequires=d.service\n", where=ETC)
    t.unit("a.service", "[Unit]\nRequires=b.service\nAfter=b.service\n" + SVC, where=ETC)
    t.unit("b.service", "[Unit]\nWants=d.service\n" + SVC)
    t.unit("d.service", SVC)
    t.unit("rescue.target", "[Unit]\nDescription=Rescue\n")
    return t


@pytest.mark.parametrize(
    "steps",
    [
        ["t.target", "t.target", "rescue", "t"],
        ["multi-user"],
        ["a.service"],
        ["nope.target"],
    ],
)
def test_set_default_matches_systemctl(tree: Tree, tmp_path: Path, steps: list[str]) -> None:
    if not have_systemctl():
        pytest.skip("systemctl is not installed")
    theirs = copy_tree(tree.root, tmp_path / "b")
    for name in steps:
        out, err, rc = call(set_default_main, [f"--root={tree.root}", name])
        ref = run_systemctl(theirs.root, ["set-default", name])
        mine = (out, err.replace(str(tree.root), "R"), rc)
        assert mine == (ref[0], ref[1].replace(str(theirs.root), "R"), ref[2]), name
        link = f"{ETC}/default.target"
        mine_link = os.readlink(tree.p(link)) if os.path.islink(tree.p(link)) else None
        ref_link = os.readlink(theirs.p(link)) if os.path.islink(theirs.p(link)) else None
        assert mine_link == ref_link
        if ref_link is not None:
            got = run_systemctl(theirs.root, ["get-default"])
            assert call(get_default_main, [f"--root={tree.root}"]) == got


def test_get_default_without_a_link_is_the_builtin_alias(tree: Tree) -> None:
    # systemctl says "Failed to get default target: No such file or directory": pidone
    # ships default.target as an alias of multi-user.target (core.targets)
    assert call(get_default_main, [f"--root={tree.root}"]) == ("multi-user.target\n", "", 0)


@pytest.fixture
def utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LC_ALL", "LC_CTYPE", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def test_list_dependencies_offline(tree: Tree, tmp_path: Path, utf8: None) -> None:
    base = [f"--root={tree.root}", f"--runtime-dir={tmp_path}/none"]
    out, err, rc = call(list_dependencies_main, [*base, "t.target"])
    assert (err, rc) == ("", 0)
    assert out.splitlines() == [
        "t.target",
        "○ ├─a.service",
        "○ └─x.target",
        "○   └─d.service",
    ]
    out, _, _ = call(list_dependencies_main, [*base, "--after", "a.service"])
    assert out.splitlines()[1:4] == [
        "○ ├─b.service",
        "○ ├─system.slice",
        "○ ├─systemd-journald.socket",
    ]
    out, _, _ = call(list_dependencies_main, [*base, "--reverse", "d.service"])
    assert [line[-len("x.target") :] for line in out.splitlines()][-2:] == ["x.target", "t.target"]
    assert "b.service" in out.splitlines()[1]


def test_list_dependencies_default_target_with_enabled_unit(
    tree: Tree, tmp_path: Path, utf8: None
) -> None:
    tree.link(f"{ETC}/multi-user.target.wants/a.service", f"/{ETC}/a.service")
    argv = [f"--root={tree.root}", f"--runtime-dir={tmp_path}/x"]
    out, _, rc = call(list_dependencies_main, argv)
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "default.target"
    assert lines[1] == "○ ├─a.service"
    assert lines[2] == "○ └─basic.target"  # multi-user.target Requires=basic.target


def test_list_dependencies_of_an_early_boot_target_file_keeps_enabled_links(
    tree: Tree, tmp_path: Path, utf8: None
) -> None:
    # timers.target is pidone's own even when the unit path has a file for it; the enabled
    # timers linked into it stay (core.jobwiring.admitted_links), systemd-internal ones go.
    tree.unit("timers.target", "[Unit]\nDescription=Timers\n")
    tree.unit("x.timer", "[Timer]\nOnCalendar=daily\n", where=ETC)
    tree.unit("systemd-tmpfiles-clean.timer", "[Timer]\nOnBootSec=15min\n")
    tree.link(f"{ETC}/timers.target.wants/x.timer", f"/{ETC}/x.timer")
    tree.link(f"{ETC}/timers.target.wants/systemd-tmpfiles-clean.timer", f"/{LIB}/x.timer")
    argv = [f"--root={tree.root}", f"--runtime-dir={tmp_path}/x", "timers.target"]
    out, _, rc = call(list_dependencies_main, argv)
    assert rc == 0
    assert out.splitlines() == ["timers.target", "○ └─x.timer"]


def test_job_verbs_without_a_daemon_fail_in_one_line(tmp_path: Path) -> None:
    for main in (list_jobs_main, cancel_main):
        out, err, rc = call(main, [f"--runtime-dir={tmp_path}/none"])
        assert rc != 0
        assert out == ""
        assert len(err.splitlines()) == 1
        assert err.startswith("Failed to connect to pidone at")
    out, err, rc = call(cancel_main, [f"--runtime-dir={tmp_path}/none", "x1"])
    assert (out, err, rc) == ("", 'Failed to parse job id "x1": Invalid argument\n', 1)
