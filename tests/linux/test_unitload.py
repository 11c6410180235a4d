"""The unit loader on golden trees (spec 01 §7-§12), bad input, and the machine's own units."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pidone.core.errors import InvalidUnitName
from pidone.linux.unitload import UnitLoader
from pidone.linux.unitpaths import DEFAULT_SEARCH_PATH, build_unit_paths
from tests.linux.unittree import ETC, LIB, RUN, USR, Tree

SVC = "[Service]\nExecStart=/bin/true\n"


@pytest.fixture
def tree(tmp_path):
    return Tree(tmp_path)


def load(tree, name):
    return UnitLoader(root=str(tree.root)).load(name)


def values(source, section, key):
    return [
        a.value for f in source.files for a in f.assignments if (a.section, a.key) == (section, key)
    ]


# ---------------------------------------------------------------- search path (§7)


def test_search_path_order_and_root(tmp_path):
    paths = build_unit_paths(str(tmp_path), environ={})
    assert paths.search_path == tuple(str(tmp_path) + d for d in DEFAULT_SEARCH_PATH)
    assert paths.persistent_config == f"{tmp_path}/etc/systemd/system"
    assert paths.runtime_config == f"{tmp_path}/run/systemd/system"


def test_search_path_dedups_by_real_path(tmp_path):
    (tmp_path / "usr/lib/systemd/system").mkdir(parents=True)
    os.symlink("usr/lib", tmp_path / "lib")
    paths = build_unit_paths(str(tmp_path), environ={})
    assert f"{tmp_path}/lib/systemd/system" in paths.search_path
    assert f"{tmp_path}/usr/lib/systemd/system" not in paths.search_path
    assert f"{tmp_path}/usr/lib/systemd/system" in paths.known_dirs


def test_unit_path_variable_replaces_or_appends(tmp_path):
    only = build_unit_paths(None, environ={"PIDONE_UNIT_PATH": "/a:/b"})
    assert only.search_path == ("/a", "/b")
    appended = build_unit_paths(None, environ={"PIDONE_UNIT_PATH": "/a:"})
    assert appended.search_path[0] == "/a"
    assert appended.search_path[1:] == build_unit_paths(None, environ={}).search_path
    systemd_var = build_unit_paths(None, environ={"SYSTEMD_UNIT_PATH": "/x"})
    assert systemd_var.search_path == ("/x",)


@pytest.mark.differential
@pytest.mark.parametrize("value", [None, "/a:/b", "/a:/b:", "/x/:", "/a//b/../c"])
def test_search_path_like_systemd_analyze(value):
    import shutil
    import subprocess

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if value is not None:
        env["SYSTEMD_UNIT_PATH"] = value
    out = subprocess.run(
        ["systemd-analyze", "unit-paths"], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert list(build_unit_paths(None, environ=env).listed) == out.split()


def test_unit_path_variable_with_root(tmp_path, monkeypatch):
    Tree(tmp_path).write("custom/x.service", SVC)
    monkeypatch.setenv("PIDONE_UNIT_PATH", "/custom")
    src = UnitLoader(root=str(tmp_path)).load("x.service")
    assert src.fragment_path == f"{tmp_path}/custom/x.service"


# ---------------------------------------------------------------- fragments (§7, §8)


def test_first_directory_wins_and_fragments_never_merge(tree):
    tree.unit("a.service", "[Unit]\nDescription=lib\n" + SVC, LIB)
    tree.unit("a.service", "[Unit]\nDescription=etc\n", ETC)
    src = load(tree, "a.service")
    assert src.load_state == "loaded"
    assert src.fragment_path == tree.p(f"{ETC}/a.service")
    assert values(src, "Unit", "Description") == ["etc"]
    assert values(src, "Service", "ExecStart") == []


def test_run_beats_lib_and_usr_lib_comes_after_lib(tree):
    tree.unit("b.service", "[Unit]\nDescription=usr\n", USR)
    tree.unit("b.service", "[Unit]\nDescription=lib\n", LIB)
    assert values(load(tree, "b.service"), "Unit", "Description") == ["lib"]
    tree.unit("b.service", "[Unit]\nDescription=run\n", RUN)
    assert values(load(tree, "b.service"), "Unit", "Description") == ["run"]


def test_not_found(tree):
    src = load(tree, "nope.service")
    assert src.load_state == "not-found"
    assert src.fragment_path is None
    assert src.names == ("nope.service",)


def test_a_unit_file_added_after_the_listing_is_found_as_252_finds_it(tree):
    """252 rebuilds its name map when a unit directory changed before it loads a unit; so
    does the daemon's loader (watch=True), whose listings are otherwise kept."""
    tree.unit("a.service", SVC)
    loader = UnitLoader(root=str(tree.root), watch=True)
    assert loader.load("a.service").load_state == "loaded"
    assert loader.load("late.service").load_state == "not-found"
    tree.unit("late.service", SVC, where=ETC)  # a directory not touched before
    tree.link(f"{LIB}/masked.service", "/dev/null")
    assert loader.load("late.service").load_state == "loaded"
    assert loader.load("masked.service").load_state == "masked"
    # unchanged directories: a name still missing is not looked for again
    listings = dict(loader._dirs)
    assert loader.load("nope.service").load_state == "not-found"
    assert listings
    assert all(loader._dirs[path] is listed for path, listed in listings.items())
    # without watch (the CLI's one-shot loaders), a listing is kept for good
    once = UnitLoader(root=str(tree.root))
    assert once.load("later.service").load_state == "not-found"
    tree.unit("later.service", SVC)
    assert once.load("later.service").load_state == "not-found"


def test_alias_symlink_adds_a_name(tree):
    tree.unit("t-real.service", SVC)
    tree.link(f"{ETC}/t-alias.service", "/lib/systemd/system/t-real.service")
    for asked in ("t-real.service", "t-alias.service"):
        src = load(tree, asked)
        assert src.id == "t-real.service"
        assert set(src.names) == {"t-real.service", "t-alias.service"}
        assert src.names[0] == "t-real.service"
        assert src.fragment_path == tree.p(f"{LIB}/t-real.service")


def test_relative_alias_and_chain(tree):
    tree.unit("real.service", SVC)
    tree.link(f"{LIB}/a1.service", "real.service")
    tree.link(f"{ETC}/a2.service", "/lib/systemd/system/a1.service")
    src = load(tree, "a2.service")
    assert src.fragment_path == tree.p(f"{LIB}/real.service")
    assert set(src.names) == {"real.service", "a1.service", "a2.service"}


def test_alias_with_other_type_is_ignored(tree):
    tree.unit("real.service", SVC)
    tree.link(f"{ETC}/bad.socket", "/lib/systemd/system/real.service")
    loader = UnitLoader(root=str(tree.root))
    assert loader.load("bad.socket").load_state == "not-found"
    assert any("Invalid alias" in d.message for d in loader.diagnostics)


def test_linked_unit_file_outside_the_path(tree):
    tree.write("opt/x.service", SVC)
    tree.link(f"{ETC}/x.service", "/opt/x.service")  # inside the root
    src = load(tree, "x.service")
    assert src.load_state == "loaded"
    assert src.fragment_path == tree.p(f"{ETC}/x.service")  # the link, as FragmentPath=
    assert src.source_path == tree.p("opt/x.service")
    assert values(src, "Service", "ExecStart") == ["/bin/true"]


@pytest.mark.parametrize("how", ["devnull", "empty"])
def test_masks(tree, how):
    tree.unit("m.service", SVC)
    if how == "devnull":
        tree.link(f"{ETC}/m.service", "/dev/null")
    else:
        tree.unit("m.service", "", ETC)
    src = load(tree, "m.service")
    assert src.load_state == "masked"
    assert src.fragment_path == tree.p(f"{ETC}/m.service")


def test_instance_from_template(tree):
    tree.unit("getty@.service", SVC)
    src = load(tree, "getty@tty3.service")
    assert src.load_state == "loaded"
    assert src.id == "getty@tty3.service"
    assert src.fragment_path == tree.p(f"{LIB}/getty@.service")


def test_instance_file_beats_template(tree):
    tree.unit("g@.service", "[Unit]\nDescription=tpl\n" + SVC)
    tree.unit("g@x.service", "[Unit]\nDescription=own\n" + SVC)
    assert values(load(tree, "g@x.service"), "Unit", "Description") == ["own"]
    assert values(load(tree, "g@y.service"), "Unit", "Description") == ["tpl"]


def test_instance_alias_of_template(tree):
    tree.unit("real@.service", SVC)
    tree.link(f"{ETC}/other@.service", "/lib/systemd/system/real@.service")
    src = load(tree, "other@i.service")
    assert src.fragment_path == tree.p(f"{LIB}/real@.service")
    assert set(src.names) == {"real@i.service", "other@i.service"}
    assert src.id == "real@i.service"


def test_invalid_name_raises_clear_error(tree):
    with pytest.raises(InvalidUnitName, match=r"foo bar\.service"):
        load(tree, "foo bar.service")


# ---------------------------------------------------------------- drop-ins (§10)


def dropins(tree, name):
    return [os.path.relpath(p, tree.root) for p in load(tree, name).dropin_paths]


def test_dropins_sorted_by_file_name_across_directories(tree):
    tree.unit("d.service", SVC)
    tree.write(f"{LIB}/d.service.d/20-b.conf", "[Unit]\nDescription=b\n")
    tree.write(f"{ETC}/d.service.d/10-a.conf", "[Unit]\nDescription=a\n")
    tree.write(f"{ETC}/d.service.d/not-conf.txt", "[Unit]\nDescription=x\n")
    assert dropins(tree, "d.service") == [
        f"{ETC}/d.service.d/10-a.conf",
        f"{LIB}/d.service.d/20-b.conf",
    ]
    assert values(load(tree, "d.service"), "Unit", "Description") == ["a", "b"]


def test_same_name_dropin_shadows_lower_directory(tree):
    tree.unit("d.service", SVC)
    tree.write(f"{LIB}/d.service.d/10.conf", "[Unit]\nDescription=lib\n")
    tree.write(f"{ETC}/d.service.d/10.conf", "[Unit]\nDescription=etc\n")
    assert dropins(tree, "d.service") == [f"{ETC}/d.service.d/10.conf"]


def test_instance_dropin_hides_template_dropin_in_same_directory(tree):
    """[verified] instance t-tpl@x.service.d/10.conf hid template t-tpl@.service.d/10.conf."""
    tree.unit("t-tpl@.service", SVC)
    tree.write(f"{ETC}/t-tpl@.service.d/10.conf", "[Unit]\nDescription=tpl\n")
    tree.write(f"{ETC}/t-tpl@x.service.d/10.conf", "[Unit]\nDescription=inst\n")
    assert dropins(tree, "t-tpl@x.service") == [f"{ETC}/t-tpl@x.service.d/10.conf"]
    assert dropins(tree, "t-tpl@y.service") == [f"{ETC}/t-tpl@.service.d/10.conf"]


def test_template_dropin_in_higher_directory_hides_instance_dropin(tree):
    """[verified] directory priority beats name specificity."""
    tree.unit("t-tpl@.service", SVC)
    tree.write(f"{ETC}/t-tpl@.service.d/10.conf", "[Unit]\nDescription=tpl\n")
    tree.write(f"{RUN}/t-tpl@x.service.d/10.conf", "[Unit]\nDescription=inst\n")
    assert dropins(tree, "t-tpl@x.service") == [f"{ETC}/t-tpl@.service.d/10.conf"]


def test_dash_prefix_dropins_longest_first(tree):
    """[verified] t-foo-bar-.service.d/10-desc.conf hid t-foo-.service.d/10-desc.conf."""
    tree.unit("t-foo-bar-baz.service", SVC)
    tree.write(f"{ETC}/t-foo-.service.d/10-desc.conf", "[Unit]\nDescription=short\n")
    tree.write(f"{ETC}/t-foo-bar-.service.d/10-desc.conf", "[Unit]\nDescription=long\n")
    tree.write(f"{ETC}/t-.service.d/05.conf", "[Unit]\nDescription=t\n")
    assert dropins(tree, "t-foo-bar-baz.service") == [
        f"{ETC}/t-.service.d/05.conf",
        f"{ETC}/t-foo-bar-.service.d/10-desc.conf",
    ]


def test_type_level_dropins_apply_to_every_unit_of_the_type(tree):
    tree.unit("x.service", SVC)
    tree.unit("x.socket", "[Socket]\nListenStream=/run/x\n")
    tree.write(f"{LIB}/service.d/50-all.conf", "[Service]\nTimeoutSec=5\n")
    tree.write(f"{ETC}/x.service.d/50-all.conf", "[Service]\nTimeoutSec=7\n")
    assert dropins(tree, "x.service") == [f"{ETC}/x.service.d/50-all.conf"]
    tree.write(f"{ETC}/service.d/60-more.conf", "[Service]\nTimeoutSec=8\n")
    assert dropins(tree, "x.service")[-1] == f"{ETC}/service.d/60-more.conf"
    assert dropins(tree, "x.socket") == []


def test_alias_dropins_count(tree):
    tree.unit("real.service", SVC)
    tree.link(f"{ETC}/al.service", "/lib/systemd/system/real.service")
    tree.write(f"{ETC}/al.service.d/10.conf", "[Unit]\nDescription=via alias\n")
    assert dropins(tree, "real.service") == [f"{ETC}/al.service.d/10.conf"]


def test_masked_dropin_hides_lower_one(tree):
    tree.unit("d.service", SVC)
    tree.write(f"{LIB}/d.service.d/10.conf", "[Unit]\nDescription=lib\n")
    tree.link(f"{ETC}/d.service.d/10.conf", "/dev/null")
    src = load(tree, "d.service")
    assert values(src, "Unit", "Description") == []


# ---------------------------------------------------------------- .wants/.requires (§11)


def test_wants_and_requires_directories(tree):
    tree.unit("m.target", "[Unit]\n")
    tree.unit("a.service", SVC)
    tree.link(f"{ETC}/m.target.wants/a.service", "/lib/systemd/system/a.service")
    tree.link(f"{LIB}/m.target.wants/dangling.service", "/lib/systemd/system/nothere.service")
    tree.link(f"{LIB}/m.target.requires/b.service", "/lib/systemd/system/b.service")
    src = load(tree, "m.target")
    assert src.wants == ("a.service", "dangling.service")
    assert src.requires == ("b.service",)


def test_wants_not_a_symlink_is_ignored_with_a_message(tree):
    tree.unit("m.target", "[Unit]\n")
    tree.write(f"{ETC}/m.target.wants/file.service", SVC)
    src = load(tree, "m.target")
    assert src.wants == ()
    assert any("is not a symlink" in d.message for d in src.diagnostics)


def test_template_wants_propagate_the_instance(tree):
    tree.unit("p@.target", "[Unit]\n")
    tree.unit("x@.service", SVC)
    tree.link(f"{ETC}/p@.target.wants/x@.service", "/lib/systemd/system/x@.service")
    tree.link(f"{ETC}/p@.target.wants/plain.service", "/lib/systemd/system/plain.service")
    assert load(tree, "p@i.target").wants == ("plain.service", "x@i.service")


def test_masked_wants_entry_is_skipped(tree):
    tree.unit("m.target", "[Unit]\n")
    tree.link(f"{ETC}/m.target.wants/a.service", "/dev/null")
    assert load(tree, "m.target").wants == ()


# ---------------------------------------------------------------- bad input


def test_binary_garbage_loads_with_warnings_only(tree):
    tree.unit("g.service", bytes(range(256)) * 8)
    src = load(tree, "g.service")
    assert src.load_state in ("loaded", "error")
    assert src.load_state != "error" or src.load_error


def test_long_line_is_an_error_naming_file_and_line(tree):
    tree.unit("long.service", "[Unit]\nDescription=" + "x" * (1024 * 1024 + 10) + "\n")
    tree.unit("ok.service", SVC)
    src = load(tree, "long.service")
    assert src.load_state == "error"
    assert src.load_error == f"{tree.p(LIB)}/long.service:2: Line too long"
    assert load(tree, "ok.service").load_state == "loaded"


def test_invalid_utf8_still_loads(tree):
    tree.unit("u.service", b"[Unit]\nDescription=caf\xe9\n" + SVC.encode())
    src = load(tree, "u.service")
    assert src.load_state == "loaded"
    assert values(src, "Service", "ExecStart") == ["/bin/true"]


def test_symlink_loop_is_an_error(tree):
    tree.link("opt/a", "b")
    tree.link("opt/b", "a")
    tree.link(f"{ETC}/loop.service", "../../../opt/a")
    src = load(tree, "loop.service")
    assert src.load_state == "error"
    assert "loop.service" in src.load_error
    assert "Too many levels of symbolic links" in src.load_error


def test_dangling_alias_is_not_found(tree):
    # systemd 252: "Failed to open ...: No such file or directory" while the unit is a stub,
    # then "Unit dbus-org.freedesktop.timesync1.service not found." (load state not-found)
    for name, target in (
        ("dbus-org.freedesktop.timesync1.service", f"/{LIB}/systemd-timesyncd.service"),
        ("linked-gone.service", "/opt/units/gone.service"),  # outside the search path
    ):
        tree.link(f"{ETC}/{name}", target)
        src = load(tree, name)
        assert src.load_state == "not-found", name
        assert src.files == ()


def test_alias_loop_is_an_error(tree):
    tree.link(f"{ETC}/a.service", "/etc/systemd/system/b.service")
    tree.link(f"{ETC}/b.service", "/etc/systemd/system/a.service")
    src = load(tree, "a.service")
    assert src.load_state == "error"
    assert "Too many levels of symbolic links" in src.load_error


def test_unreadable_fragment_is_an_error(tree):
    # root reads any file, so make the fragment a symlink to a directory
    (tree.root / "opt/dir.service").mkdir(parents=True)
    tree.link(f"{ETC}/dir.service", "/opt/dir.service")
    src = load(tree, "dir.service")
    assert src.load_state == "error"
    assert src.load_error.startswith(tree.p(f"{ETC}/dir.service"))


def test_directory_named_like_a_unit_is_skipped(tree):
    (tree.root / ETC / "d.service").mkdir()
    tree.unit("d.service", SVC)
    loader = UnitLoader(root=str(tree.root))
    src = loader.load("d.service")
    assert src.fragment_path == tree.p(f"{LIB}/d.service")
    assert any("Is a directory" in d.message and "d.service" in d.path for d in loader.diagnostics)


def test_invalid_file_name_is_ignored_with_a_message(tree):
    tree.unit("bad name.service", SVC)
    tree.unit("good.service", SVC)
    loader = UnitLoader(root=str(tree.root))
    assert [n for n, _ in loader.list_unit_files()] == ["good.service"]
    assert any("bad name.service" in d.path for d in loader.diagnostics)


def test_one_bad_unit_does_not_affect_others(tree):
    tree.unit("bad.service", "[Unit\n")
    tree.unit("good.service", SVC)
    loader = UnitLoader(root=str(tree.root))
    by_id = {s.id: s for s in loader.load_all()}
    assert by_id["bad.service"].load_state == "error"
    assert "Invalid section header" in by_id["bad.service"].load_error
    assert by_id["good.service"].load_state == "loaded"


# ---------------------------------------------------------------- the machine's own units


def test_corpus_every_unit_on_this_machine_loads():
    loader = UnitLoader(root=None)
    files = loader.list_unit_files()
    if not files:
        pytest.skip("no unit files on this machine")
    sources = loader.load_all()
    assert sources
    for src in sources:
        assert src.load_state in ("loaded", "masked", "not-found", "error")
        for f in src.files:
            assert not f.fatal, f"{f.path}: {f.diagnostics}"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fragment=st.binary(max_size=300), dropin=st.binary(max_size=200))
def test_any_bytes_load_without_raising(tmp_path_factory, fragment, dropin):
    t = Tree(tmp_path_factory.mktemp("bytes"))
    t.unit("x.service", fragment)
    t.write(f"{ETC}/x.service.d/10.conf", dropin)
    src = load(t, "x.service")
    assert src.load_state in ("loaded", "masked", "error")
    assert (src.load_state == "error") == bool(src.load_error)
