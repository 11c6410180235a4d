"""tmpfiles.d --create: parsing, applying under a root, and agreement with systemd-tmpfiles."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import pytest

from pidone.core.tmpfiles import merge_config_files, parse_tmpfiles

CONFIG = """\
# comment
d /run/demo 0750 root root -
d /run/demo/sub - - - -
D /var/lib/demo-clean 0700 - - 1d
f /etc/demo.conf 0640 - - - hello world
f+ /etc/demo-trunc.conf - - - - replaced
w /etc/demo.conf - - - - ignored-unless-exists
L /run/demo-link - - - - /run/demo
L+ /run/demo-link2 - - - - /run/demo/sub
p /run/demo/fifo 0600 - - -
z /run/demo 0751 - - -
x /tmp/keep-*
f /var/lib/nested/deeper/file.txt 0600 - - - parents are created
p /run/nested-fifo/fifo 0600 - - -
d /var/run/legacy 0755 - - -
r /run/demo-remove
"""


def tree(root):
    out = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(base, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            info = (kind, oct(stat.S_IMODE(st.st_mode)) if kind != stat.S_IFLNK else None)
            if stat.S_ISLNK(st.st_mode):
                info += (os.readlink(path),)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    info += (f.read(),)
            out[rel] = info
    return out


def test_parse_fields_modifiers_and_problems():
    entries, problems = parse_tmpfiles(
        "d /run/a 0755 - - -\nf+! /x ~0644 u g 1d some text  here\n"
        'Y /bad\nd relative\nd /m 999\n"d" "/with space" 0700\n',
        "t.conf",
    )
    assert [(e.type, e.plus, e.boot_only, e.path) for e in entries] == [
        ("d", False, False, "/run/a"),
        ("f", True, True, "/x"),
        ("d", False, False, "/with space"),
    ]
    assert entries[1].argument == "some text  here"
    assert entries[1].mode == 0o644
    assert entries[1].mode_masked
    assert [str(p) for p in problems] == [
        "t.conf:3: Unknown command type 'Y'.",
        "t.conf:4: Path 'relative' not absolute.",
        "t.conf:5: Invalid mode '999'.",
    ]


def test_legacy_var_run_paths_become_run():
    # systemd-tmpfiles 252 rewrites a path below /var/run/ to /run/ (ngircd.conf's
    # `d /var/run/ircd`), which matters below a --root without the /var/run -> /run link
    text = "d /var/run/ircd 0755 irc irc\nd /var/running\nL /var/run - - - - ../run\n"
    entries, problems = parse_tmpfiles(text, "t")
    assert [e.path for e in entries] == ["/run/ircd", "/var/running", "/var/run"]
    assert problems == []


def test_higher_priority_directory_wins_per_basename():
    chosen = merge_config_files(
        {"/etc/tmpfiles.d": ["a.conf"], "/usr/lib/tmpfiles.d": ["a.conf", "b.conf", "c.txt"]}
    )
    assert chosen == ["/etc/tmpfiles.d/a.conf", "/usr/lib/tmpfiles.d/b.conf"]


def run_pidone(root, config):
    return subprocess.run(
        [sys.executable, "-m", "pidone", "tmpfiles", "--create", f"--root={root}", config],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_create_under_a_root_and_idempotent(tmp_path):
    root = tmp_path / "root"
    for d in ("run", "etc", "var/lib"):
        (root / d).mkdir(parents=True)
    conf = tmp_path / "demo.conf"
    conf.write_text(CONFIG)
    (root / "etc/demo-trunc.conf").write_text("old")
    first = run_pidone(root, conf)
    assert "'r' lines are not applied" in first.stderr
    got = tree(root)
    assert got["run/demo"] == (stat.S_IFDIR, "0o751")
    assert got["run/demo/sub"] == (stat.S_IFDIR, "0o755")
    # f creates it, then w (same path) overwrites the existing file, as systemd-tmpfiles does
    assert got["etc/demo.conf"] == (stat.S_IFREG, "0o640", b"ignored-unless-exists")
    assert got["etc/demo-trunc.conf"][2] == b"replaced"
    assert got["run/demo-link"] == (stat.S_IFLNK, None, "/run/demo")
    assert got["run/demo/fifo"][0] == stat.S_IFIFO
    run_pidone(root, conf)
    assert tree(root) == got


@pytest.mark.differential
def test_same_tree_as_systemd_tmpfiles(tmp_path):
    tool = shutil.which("systemd-tmpfiles")
    if tool is None:
        pytest.skip("systemd-tmpfiles is not installed")
    conf = tmp_path / "demo.conf"
    conf.write_text(CONFIG.replace("r /run/demo-remove\n", ""))
    roots = []
    for name in ("ours", "theirs"):
        root = tmp_path / name
        for d in ("run", "etc", "var/lib"):
            (root / d).mkdir(parents=True)
        (root / "etc/demo-trunc.conf").write_text("old")
        roots.append(root)
    run_pidone(roots[0], conf)
    # --root confines systemd-tmpfiles to the scratch tree; --create only, no --remove/--boot.
    subprocess.run(
        [tool, "--create", f"--root={roots[1]}", str(conf)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert tree(roots[0]) == tree(roots[1])


@pytest.mark.differential
def test_the_machines_own_tmpfiles_config_gives_the_same_tree(tmp_path):
    """Every *.conf this machine ships, applied to two scratch roots (nothing outside them)."""
    tool = shutil.which("systemd-tmpfiles")
    if tool is None:
        pytest.skip("systemd-tmpfiles is not installed")
    confs = sorted(
        os.path.join(d, n)
        for d in ("/usr/lib/tmpfiles.d",)
        if os.path.isdir(d)
        for n in os.listdir(d)
        if n.endswith(".conf")
    )
    if not confs:
        pytest.skip("no tmpfiles.d configuration on this machine")
    roots = []
    for name in ("ours", "theirs"):
        root = tmp_path / name
        for d in ("run", "etc", "var/lib", "var/log", "var/cache", "tmp", "var/tmp", "home"):
            (root / d).mkdir(parents=True)
        # Under --root both resolve users and groups from the root's own databases.
        for db in ("passwd", "group"):
            shutil.copy(f"/etc/{db}", root / "etc" / db)
        roots.append(root)
    for conf in confs:
        run_pidone(roots[0], conf)
        subprocess.run(
            [tool, "--create", f"--root={roots[1]}", conf],
            capture_output=True,
            timeout=60,
            check=False,
        )
    ours, theirs = tree(roots[0]), tree(roots[1])
    # systemd-tmpfiles also applies ACLs and attributes (a/h lines) that pidone skips;
    # the created paths, types, modes, contents and link targets must agree.
    assert sorted(ours) == sorted(theirs)
    assert ours == theirs
