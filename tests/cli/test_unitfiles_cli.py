"""`pidone cat` and `pidone list-unit-files`: exact output, options, and systemctl agreement."""

from __future__ import annotations

import json

import pytest

from tests.linux.unittree import (
    ETC,
    LIB,
    Tree,
    copy_tree,
    have_systemctl,
    run_pidone,
    run_systemctl,
)

SVC = "[Service]\nExecStart=/bin/true\n"


@pytest.fixture
def tree(tmp_path):
    t = Tree(tmp_path)
    t.unit(
        "foo.service", "[Unit]\nDescription=foo\n" + SVC + "[Install]\nWantedBy=multi-user.target\n"
    )
    t.write(f"{ETC}/foo.service.d/20-b.conf", "[Service]\nTimeoutSec=5")  # no final newline
    t.write(f"{LIB}/foo.service.d/10-a.conf", "[Unit]\r\nAfter=x.target\r\n")
    t.unit("bar.socket", "[Socket]\nListenStream=/run/bar\n[Install]\nWantedBy=sockets.target\n")
    t.unit("multi-user.target", "[Unit]\n")
    t.link(f"{ETC}/masked.service", "/dev/null")
    t.unit("tpl@.service", SVC)
    return t


def test_cat_fragment_then_dropins_with_headers(tree):
    out, err, rc = run_pidone(tree.root, ["cat", "foo.service"])
    assert (rc, err) == (0, "")
    assert out == (
        f"# {tree.p(LIB)}/foo.service\n"
        "[Unit]\nDescription=foo\n[Service]\nExecStart=/bin/true\n"
        "[Install]\nWantedBy=multi-user.target\n"
        f"\n# {tree.p(LIB)}/foo.service.d/10-a.conf\n"
        "[Unit]\nAfter=x.target\n"
        f"\n# {tree.p(ETC)}/foo.service.d/20-b.conf\n"
        "[Service]\nTimeoutSec=5\n"
    )


def test_cat_several_units_blank_line_between(tree):
    out, _err, rc = run_pidone(tree.root, ["cat", "bar.socket", "multi-user.target"])
    assert rc == 0
    assert out == (
        f"# {tree.p(LIB)}/bar.socket\n[Socket]\nListenStream=/run/bar\n"
        "[Install]\nWantedBy=sockets.target\n"
        f"\n# {tree.p(LIB)}/multi-user.target\n[Unit]\n"
    )


def test_cat_unknown_masked_and_default_suffix(tree):
    out, err, rc = run_pidone(tree.root, ["cat", "nope", "masked.service", "foo"])
    assert rc == 1
    assert err == "No files found for nope.service.\n"
    assert out.startswith("# Unit masked.service is masked.\n# ")
    assert f"# {tree.p(LIB)}/foo.service\n" in out


def test_cat_instance_shows_template(tree):
    out, _err, rc = run_pidone(tree.root, ["cat", "tpl@a.service"])
    assert rc == 0
    assert out.splitlines()[0] == f"# {tree.p(LIB)}/tpl@.service"


def test_cat_needs_an_argument(tree):
    assert run_pidone(tree.root, ["cat"]) == ("", "Too few arguments.\n", 1)


def test_list_unit_files_table_and_legend(tree):
    out, err, rc = run_pidone(tree.root, ["list-unit-files"])
    assert (rc, err) == (0, "")
    assert out == (
        "UNIT FILE         STATE    PRESET\n"
        "foo.service       disabled enabled\n"
        "masked.service    masked   enabled\n"
        "tpl@.service      static   -\n"
        "bar.socket        disabled enabled\n"
        "multi-user.target static   -\n"
        "\n5 unit files listed.\n"
    )


def test_list_unit_files_filters(tree):
    out, _err, rc = run_pidone(tree.root, ["list-unit-files", "--no-legend", "--type=socket"])
    assert (out, rc) == ("bar.socket disabled enabled\n", 0)
    out, _err, rc = run_pidone(tree.root, ["list-unit-files", "--state=masked", "--legend=no"])
    assert out == "masked.service masked enabled\n"
    out, _err, rc = run_pidone(tree.root, ["list-unit-files", "nothing*"])
    assert (out, rc) == ("UNIT FILE STATE PRESET\n\n0 unit files listed.\n", 1)


def test_list_unit_files_json(tree):
    out, _err, rc = run_pidone(tree.root, ["list-unit-files", "-o", "json", "*.target"])
    assert rc == 0
    assert json.loads(out) == [
        {"unit_file": "multi-user.target", "state": "static", "preset": None}
    ]


def test_list_unit_files_bad_type_and_root(tree, tmp_path):
    _out, err, rc = run_pidone(tree.root, ["list-unit-files", "--type=bogus"])
    assert rc == 1
    assert err.startswith("Unknown unit type or load state 'bogus'.")
    out, err, rc = run_pidone(tmp_path / "missing", ["list-unit-files"])
    assert (out, err, rc) == ("", "Failed to get unit file list: No such file or directory\n", 1)


@pytest.mark.differential
@pytest.mark.parametrize(
    "args",
    [
        ["list-unit-files"],
        ["list-unit-files", "--no-legend"],
        ["list-unit-files", "*.service", "--state=disabled,masked"],
        ["list-unit-files", "-t", "service,target", "--plain"],
        ["list-unit-files", "-o", "json-pretty"],
        ["list-unit-files", "-o", "json"],
        ["list-unit-files", "--legend=no", "b*", "f*"],
        ["list-unit-files", "--bogus"],
    ],
)
def test_list_unit_files_like_systemctl(tree, tmp_path, args):
    if not have_systemctl():
        pytest.skip("systemctl is not installed")
    theirs = copy_tree(tree.root, tmp_path / "theirs")
    expected = run_systemctl(theirs.root, args)
    got = run_pidone(tree.root, args)
    got = tuple(
        x.replace(str(tree.root), str(theirs.root)) if isinstance(x, str) else x for x in got
    )
    if args[-1] == "--bogus":
        assert got[2] == expected[2]
        assert got[1] == expected[1].replace("systemctl:", "pidone:")
    else:
        assert got == expected
