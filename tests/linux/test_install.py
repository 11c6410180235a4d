"""enable/disable/mask/unmask/is-enabled/list-unit-files: pure planning, and differential tests
against `systemctl --root=DIR` on twin trees (stdout, stderr, exit code, resulting tree)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pidone.core.install import (
    Change,
    build_install_section,
    format_change,
    parse_preset_file,
    query_preset,
)
from pidone.core.unitfile import parse_unit_file
from tests.linux.unittree import (
    ETC,
    LIB,
    RUN,
    Tree,
    copy_tree,
    have_systemctl,
    run_pidone,
    run_systemctl,
)

SVC = "[Service]\nExecStart=/bin/true\n"

# ---------------------------------------------------------------- pure parts


def section(text: str, name: str = "foo.service"):
    uf = parse_unit_file(text.encode(), "/x/" + name)
    return build_install_section(uf.assignments, name)


def test_install_section_lists_and_resets():
    sec, diags = section(
        "[Install]\nWantedBy=a.target b.target\nWantedBy=\nWantedBy=c.target\n"
        "RequiredBy=r.target\nAlias=x.service\nAlso=h.socket\nAlso=\nAlso=i.socket\n"
    )
    assert sec.wanted_by == ("c.target",)
    assert sec.required_by == ("r.target",)
    assert sec.alias == ("x.service",)
    assert sec.also == ("h.socket", "i.socket")  # Also= cannot be reset
    assert diags == ()
    assert sec.has_rules


def test_install_section_default_instance_and_checks():
    sec, _ = section("[Install]\nDefaultInstance=tty1\n", "getty@.service")
    assert sec.default_instance == "tty1"
    sec, diags = section("[Install]\nDefaultInstance=tty1\n", "foo.service")
    assert sec.default_instance is None
    assert "only makes sense for template units" in diags[0].message
    sec, diags = section("[Install]\nAlias=x.mount\n", "foo.mount")
    assert sec.alias == ()
    assert diags[0].message == "Alias= is not allowed for mount units, ignoring."


def test_install_section_keeps_escapes_and_expands():
    uf = parse_unit_file(
        b"[Install]\nWantedBy=dev-a\\x2db.device %p.target\n", "/x/foo@bar.service"
    )
    sec, _ = build_install_section(
        uf.assignments, "foo@bar.service", lambda t: t.replace("%p", "foo")
    )
    assert sec.wanted_by == ("dev-a\\x2db.device", "foo.target")


def test_presets_first_match_wins_default_enable():
    rules, diags = parse_preset_file(
        b"# comment\ndisable foo.service\nenable f*\nenable tpl@.service a b\nbogus line\n", "/p"
    )
    assert diags[0].line == 5
    assert not query_preset(rules, "foo.service")
    assert query_preset(rules, "fab.service")
    assert query_preset(rules, "zzz.service")  # no rule: enable
    assert query_preset(rules, "tpl@a.service")


def test_change_wording():
    assert format_change(Change("symlink", "/etc/a", "/lib/a"), "enable") == (
        "Created symlink /etc/a \u2192 /lib/a.",
        False,
    )
    assert format_change(Change("unlink", "/etc/a"), "disable") == ('Removed "/etc/a".', False)
    assert format_change(Change("not-found", "x.service"), "enable") == (
        "Failed to enable unit, unit x.service does not exist.",
        True,
    )


# ---------------------------------------------------------------- differential


def base_tree(t: Tree) -> None:
    t.unit(
        "foo.service",
        SVC + "[Install]\nWantedBy=multi-user.target\nRequiredBy=bar.target\n"
        "Alias=foo-alias.service\nAlso=helper.socket\n",
    )
    t.unit("helper.socket", "[Socket]\nListenStream=/run/h\n[Install]\nWantedBy=sockets.target\n")
    t.unit("multi-user.target", "[Unit]\nDescription=mu\n")
    t.unit("sockets.target", "[Unit]\n")
    t.unit("static.service", SVC)
    t.unit("getty@.service", SVC + "[Install]\nWantedBy=getty.target\nDefaultInstance=tty1\n")
    t.unit("getty.target", "[Unit]\n")
    t.unit("serial@.service", SVC + "[Install]\nWantedBy=multi-user.target\n")
    t.unit("alsoonly.service", SVC + "[Install]\nAlso=static.service\n")
    t.unit("spec@.service", SVC + "[Install]\nWantedBy=%p.target\nDefaultInstance=x\n")


def extra_tree(t: Tree) -> None:
    base_tree(t)
    t.write("opt/linked.service", SVC + "[Install]\nWantedBy=multi-user.target\n")
    t.link(f"{ETC}/linked.service", "/opt/linked.service")
    t.link(f"{LIB}/lib-alias.service", "static.service")
    t.write(f"{LIB}/foo.service.d/10-more.conf", "[Install]\nWantedBy=extra.target\n")
    t.unit("gen.service", SVC + "[Install]\nWantedBy=multi-user.target\n", "run/systemd/generator")
    t.unit("trans.service", SVC, "run/systemd/transient")
    t.unit("broken.service", "[Service\nExecStart=/bin/true\n")
    t.unit("etcunit.service", SVC + "[Install]\nWantedBy=multi-user.target\n", ETC)
    t.link(f"{LIB}/multi-user.target.wants/vendor@x.service", "/lib/systemd/system/vendor@.service")
    t.unit("vendor@.service", SVC + "[Install]\nWantedBy=multi-user.target\n")
    t.write(
        "lib/systemd/system-preset/50-test.preset",
        "disable static*\ndisable foo.service\nenable *\n",
    )
    t.write("etc/systemd/system-preset/10-over.preset", "enable serial@.service a\n")


def linked_tree(t: Tree) -> None:
    """Found by the generated tests: drop-ins of a linked name are read before its target."""
    base_tree(t)
    t.write("opt/g@.service", "[Unit]\n[Install]\nWantedBy=multi-user.target\n")
    t.link(f"{ETC}/g@.service", "/opt/g@.service")
    t.write(
        f"{RUN}/g@y.service.d/10.conf", "[Install]\nWantedBy=sockets.target\nAlso=foo.service\n"
    )
    t.write(f"{ETC}/g@.service.d/10.conf", "[Install]\nAlso=nothere.service\n")


SCENARIOS: dict[str, tuple[Callable[[Tree], None], list[list[str]]]] = {
    "enable-disable": (
        base_tree,
        [
            ["list-unit-files"],
            ["enable", "foo.service"],
            ["is-enabled", "foo.service", "foo-alias.service", "helper.socket", "static.service"],
            ["list-unit-files"],
            ["enable", "foo.service"],
            ["disable", "foo.service"],
            ["is-enabled", "foo.service"],
            ["list-unit-files"],
        ],
    ),
    "templates": (
        base_tree,
        [
            ["enable", "getty@.service"],
            ["enable", "getty@tty5.service"],
            [
                "is-enabled",
                "getty@.service",
                "getty@tty1.service",
                "getty@tty5.service",
                "getty@tty9.service",
            ],
            ["enable", "serial@.service"],
            ["enable", "serial@ttyS0.service"],
            ["enable", "spec@.service"],
            ["list-unit-files"],
            ["disable", "getty@.service"],
            ["is-enabled", "getty@tty5.service"],
            ["list-unit-files"],
        ],
    ),
    "mask-unmask": (
        base_tree,
        [
            ["mask", "static.service"],
            ["is-enabled", "static.service"],
            ["mask", "static.service"],
            ["list-unit-files", "s*"],
            ["enable", "static.service"],
            ["unmask", "static.service"],
            ["unmask", "static.service"],
            ["mask", "nope.service"],
            ["is-enabled", "nope.service"],
            ["unmask", "nope.service"],
            ["mask", "--runtime", "foo.service"],
            ["is-enabled", "foo.service"],
            ["unmask", "--runtime", "foo.service"],
        ],
    ),
    "runtime": (
        base_tree,
        [
            ["enable", "--runtime", "foo.service"],
            ["is-enabled", "foo.service", "helper.socket"],
            ["list-unit-files"],
            ["disable", "--runtime", "foo.service"],
        ],
    ),
    "errors": (
        base_tree,
        [
            ["enable", "nope.service"],
            ["disable", "nope.service"],
            ["is-enabled", "nope.service"],
            ["is-enabled", "static.service", "nope.service", "foo.service"],
            ["enable", "static.service"],
            ["enable", "-q", "static.service"],
            ["enable", "a b"],
            ["enable", "foo"],
            ["is-enabled", "-q", "foo"],
            ["enable"],
            ["is-enabled", "alsoonly.service"],
            ["enable", "alsoonly.service"],
            ["is-enabled", "alsoonly.service", "static.service"],
        ],
    ),
    "linked-dropins": (
        linked_tree,
        [
            ["enable", "foo.service"],
            ["is-enabled", "g@y.service", "g@.service", "g@z.service"],
            ["enable", "g@y.service"],
            ["list-unit-files"],
            ["disable", "g@y.service"],
            ["disable", "--runtime", "g@y.service"],
            ["list-unit-files"],
        ],
    ),
    "states": (
        extra_tree,
        [
            ["list-unit-files"],
            ["list-unit-files", "--no-legend"],
            ["list-unit-files", "--state=static,disabled", "--type=service"],
            ["list-unit-files", "-o", "json"],
            ["list-unit-files", "nomatch*"],
            ["is-enabled", "linked.service", "lib-alias.service", "gen.service", "trans.service"],
            ["is-enabled", "vendor@x.service", "vendor@y.service", "vendor@.service"],
            ["is-enabled", "broken.service"],
            ["enable", "foo.service"],
            ["enable", "linked.service"],
            ["enable", "gen.service"],
            ["is-enabled", "linked.service", "etcunit.service"],
            ["list-unit-files"],
            ["reenable", "foo.service"],
            ["disable", "linked.service", "foo.service"],
            ["list-unit-files"],
        ],
    ),
}


def _normalize(text: str, root: Path, other: Path) -> str:
    return text.replace(str(other), str(root))


@pytest.mark.differential
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_same_answers_as_systemctl(tmp_path, scenario):
    if not have_systemctl():
        pytest.skip("systemctl is not installed")
    build, commands = SCENARIOS[scenario]
    ours = Tree(tmp_path / "ours")
    build(ours)
    theirs = copy_tree(ours.root, tmp_path / "theirs")
    for args in commands:
        expected = run_systemctl(theirs.root, args)
        got = run_pidone(ours.root, args)
        got = tuple(_normalize(x, theirs.root, ours.root) if isinstance(x, str) else x for x in got)
        assert got == expected, f"pidone {' '.join(args)}"
        assert ours.snapshot() == theirs.snapshot(), f"tree after {' '.join(args)}"


@pytest.mark.differential
def test_machine_list_unit_files_matches(tmp_path):
    if not have_systemctl():
        pytest.skip("systemctl is not installed")
    expected = run_systemctl(Path("/"), ["list-unit-files"])
    got = run_pidone(Path("/"), ["list-unit-files"])
    assert got == expected


def test_enable_creates_links_and_disable_removes_empty_dirs(tmp_path):
    t = Tree(tmp_path)
    base_tree(t)
    out, err, rc = run_pidone(t.root, ["enable", "foo.service"])
    assert rc == 0
    assert (t.root / ETC / "multi-user.target.wants/foo.service").is_symlink()
    assert "Created symlink" in err
    out, err, rc = run_pidone(t.root, ["disable", "foo.service"])
    assert rc == 0
    assert not (t.root / ETC / "multi-user.target.wants").exists()
    assert out == ""


def test_now_needs_the_manager(tmp_path):
    t = Tree(tmp_path)
    base_tree(t)
    _out, err, rc = run_pidone(t.root, ["enable", "--now", "foo.service"])
    assert rc == 1
    assert err.endswith("Failed to connect to bus: Host is down\n")
    assert (t.root / ETC / "multi-user.target.wants/foo.service").is_symlink()


def test_runtime_dir_used_for_runtime(tmp_path):
    t = Tree(tmp_path)
    base_tree(t)
    run_pidone(t.root, ["mask", "--runtime", "static.service"])
    assert (t.root / RUN / "static.service").is_symlink()


def sysv_tree(t: Tree) -> None:
    base_tree(t)
    t.write("etc/init.d/foo", "#!/bin/sh\n")
    t.write("etc/init.d/legacy", "#!/bin/sh\n")
    t.write("etc/init.d/off", "#!/bin/sh\n")
    t.write("etc/rc5.d/S01legacy", "#!/bin/sh\n")


@pytest.mark.differential
@pytest.mark.parametrize(
    "args",
    [
        ["is-enabled", "legacy.service"],
        ["is-enabled", "off", "foo.service", "legacy"],
        ["is-enabled", "-q", "off"],
        ["enable", "legacy.service"],
        ["enable", "foo.service"],
        ["disable", "-q", "foo.service"],
    ],
)
def test_sysv_scripts_like_systemctl(tmp_path, args):
    """Names with an /etc/init.d script go to systemd-sysv-install first, as in systemctl."""
    import os

    from pidone.linux.install import SYSV_INSTALL
    from tests.linux.unittree import run_pidone_process

    if not have_systemctl() or not os.path.exists(SYSV_INSTALL):
        pytest.skip("systemctl or systemd-sysv-install is not installed")
    ours = Tree(tmp_path / "ours")
    sysv_tree(ours)
    theirs = copy_tree(ours.root, tmp_path / "theirs")
    expected = run_systemctl(theirs.root, args)
    got = run_pidone_process(ours.root, args)
    got = tuple(_normalize(x, theirs.root, ours.root) if isinstance(x, str) else x for x in got)
    assert got == expected
    assert ours.snapshot() == theirs.snapshot()
