"""RequiresMountsFor= and the implicit mount paths become Requires=/After= on mount units
(core.mountsfor, core.units' implicit paths, core.depgraph rule 6), as systemd 252 does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pidone.core.depgraph import DepGraph, build_graph
from pidone.core.errors import ValueParseError
from pidone.core.escape import escape_path
from pidone.core.model import Unit
from pidone.core.mountsfor import mount_unit_names, path_prefixes
from pidone.core.targets import BUILTIN_UNITS
from pidone.core.transaction import build_transaction
from pidone.core.unittable import UnitTable
from tests.core.depkit import make_unit
from tests.core.test_depgraph import _IGNORED, _dumps
from tests.core.test_depgraph_incremental import _shape

MOUNT = "[Mount]\nWhat=/dev/sdz1\nWhere={}\n"
SLICES = ("-.slice", "system.slice")


def _units(texts: dict[str, str]) -> list[Unit]:
    units = [make_unit(n, t) for n, t in texts.items()]
    return units + [make_unit(n, BUILTIN_UNITS[n].decode()) for n in SLICES]


def _graph(texts: dict[str, str]) -> DepGraph:
    return build_graph(_units(texts))


def _mount(where: str) -> str:
    return MOUNT.format(where)


def test_prefixes_and_names() -> None:
    assert path_prefixes("/a//b/c/") == ("/a/b/c", "/a/b", "/a", "/")
    assert path_prefixes("rel") == ()
    assert mount_unit_names(["/var/lib/machines"]) == (
        "var-lib-machines.mount",
        "var-lib.mount",
        "var.mount",
        "-.mount",
    )
    assert mount_unit_names(["/a/../b"]) == ()  # not normalized: nothing
    assert mount_unit_names(["/" + "x" * 300]) == ("-.mount",)  # name too long: skipped


def _naive_names(path: str) -> list[str]:
    out = []
    for prefix in path_prefixes(path):
        try:
            name = escape_path(prefix) + ".mount"
        except ValueParseError:
            continue
        if len(name) <= 255:
            out.append(name)
    return out


@given(
    st.lists(
        st.sampled_from(["a", "-", ".x", "..", "b c", "\u00e9", "x" * 200, "y" * 256, "", "."]),
        max_size=5,
    )
)
def test_names_are_each_prefix_escaped(parts: list[str]) -> None:
    """The cut-at-"-" shortcut gives what escaping every prefix gives."""
    path = "/" + "/".join(parts)
    expected = [] if ".." in path.split("/") else list(dict.fromkeys(_naive_names(path)))
    assert list(mount_unit_names([path])) == expected


def test_requires_and_after_only_on_mounts_that_exist() -> None:
    g = _graph(
        {
            "s.service": "[Unit]\nRequiresMountsFor=/a/b/c\n",
            "a-b.mount": _mount("/a/b"),
        }
    )
    assert g.has("s.service", "Requires", "a-b.mount")
    assert g.has("s.service", "After", "a-b.mount")
    assert g.deps("a-b.mount", "RequiredBy") == ("s.service",)
    assert "s.service" in g.referenced_by("a-b.mount")
    # the absent a-b-c.mount and a.mount add nothing, not even a stub
    assert "a-b-c.mount" not in g.units
    assert "a.mount" not in g.units
    names = {o for r in g.relations("s.service").values() for o in r}
    assert not {n for n in names if n.endswith(".mount")} - {"a-b.mount"}


def test_the_transaction_starts_the_mount() -> None:
    g = _graph(
        {
            "s.service": "[Unit]\nDefaultDependencies=no\nRequiresMountsFor=/a/b/c\n",
            "a-b.mount": "[Unit]\nDefaultDependencies=no\n" + _mount("/a/b"),
        }
    )
    r = build_transaction(g, "s.service", "start")
    assert r.error == ""
    jobs = {f"{j.unit}/{j.type}" for j in r.jobs}
    assert {"s.service/start", "a-b.mount/start"} <= jobs


def test_private_tmp() -> None:
    g = _graph(
        {
            "s.service": "[Service]\nExecStart=/bin/true\nPrivateTmp=yes\n",
            "tmp.mount": _mount("/tmp"),
            "var-tmp.mount": _mount("/var/tmp"),
        }
    )
    # tmp.mount: Wants= (a masked /tmp must not fail the unit); /var/tmp: RequiresMountsFor=
    assert g.has("s.service", "Wants", "tmp.mount")
    assert not g.has("s.service", "Requires", "tmp.mount")
    assert g.has("s.service", "Requires", "var-tmp.mount")
    after = g.deps("s.service", "After")
    for name in ("tmp.mount", "var-tmp.mount", "systemd-tmpfiles-setup.service"):
        assert name in after


def test_working_directory_and_exec_directories() -> None:
    texts = {
        "w.mount": _mount("/w"),
        "var-lib-st.mount": _mount("/var/lib/st"),
        "run.mount": _mount("/run"),
        "ok.service": "[Service]\nExecStart=/bin/true\nWorkingDirectory=-/w/x\n",
        "hard.service": "[Service]\nExecStart=/bin/true\nWorkingDirectory=/w/x\n",
        "home.service": "[Service]\nExecStart=/bin/true\nWorkingDirectory=~\n",
        "dirs.service": "[Service]\nExecStart=/bin/true\nStateDirectory=st\nRuntimeDirectory=r\n",
    }
    g = _graph(texts)
    assert not g.has("ok.service", "Requires", "w.mount")  # "-": missing is fine
    assert not g.has("ok.service", "After", "w.mount")
    assert g.has("hard.service", "Requires", "w.mount")
    assert not g.has("home.service", "After", "w.mount")
    assert g.has("dirs.service", "Requires", "var-lib-st.mount")
    assert g.has("dirs.service", "Requires", "run.mount")
    assert "systemd-remount-fs.service" in g.deps("dirs.service", "After")
    assert "systemd-remount-fs.service" not in g.deps("hard.service", "After")


def test_a_mount_requires_the_mount_of_its_parent() -> None:
    g = _graph({"a-b-c.mount": _mount("/a/b/c"), "a.mount": _mount("/a")})
    assert g.has("a-b-c.mount", "Requires", "a.mount")
    assert g.has("a-b-c.mount", "After", "a.mount")
    assert not g.has("a.mount", "After", "a-b-c.mount")


def test_socket_paths() -> None:
    g = _graph(
        {
            "k.socket": "[Socket]\nListenStream=/srv/k.sock\nListenStream=@abstract\n",
            "srv.mount": _mount("/srv"),
        }
    )
    assert g.has("k.socket", "Requires", "srv.mount")


def test_mount_units_are_loaded_on_demand_both_ways() -> None:
    """The loader is asked for every prefix's mount unit; one it has comes in with the
    edges, one it lacks leaves no stub; a mount loaded after its user gets the edges too."""
    mount = make_unit("a-b.mount", _mount("/a/b"))
    asked: list[str] = []

    def load(name: str) -> Unit | None:
        asked.append(name)
        return mount if name == "a-b.mount" else None

    user = make_unit("s.service", "[Unit]\nRequiresMountsFor=/a/b/c\n")
    g = build_graph([user, *_units({})], load)
    assert {"a-b-c.mount", "a-b.mount", "a.mount", "-.mount"} <= set(asked)
    assert g.has("s.service", "Requires", "a-b.mount")
    assert "a.mount" not in g.units

    table = UnitTable(_units({}), lambda: "0" * 32, load=lambda name: None)
    grown = table.graph
    table.add_unit(user)
    assert not grown.has("s.service", "After", "a-b.mount")
    table.add_unit(mount)  # its file appeared, and a request loaded it
    assert table._graph is grown
    assert grown.has("s.service", "Requires", "a-b.mount")
    assert _shape(grown) == _shape(build_graph(list(table.units.values())))
    table.drop_unit("s.service")
    assert grown.deps("a-b.mount", "RequiredBy") == ()
    assert _shape(grown) == _shape(build_graph(list(table.units.values())))


@pytest.mark.differential
def test_relations_match_systemd__dumps(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    texts = {
        "s.service": (
            "[Unit]\nRequiresMountsFor=/a/b/c\n[Service]\nExecStart=/bin/true\n"
            "WorkingDirectory=/w/x\nPrivateTmp=yes\nStateDirectory=foo\n"
        ),
        "t.service": (
            "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n"
            "WorkingDirectory=-/w/x\nRootDirectory=/a/r\nRuntimeDirectory=rt\n"
            "ConfigurationDirectory=cf\n"
        ),
        "k.socket": "[Socket]\nListenStream=/a/b/k.sock\nListenFIFO=/w/f\n",
        "a-b.mount": _mount("/a/b"),
        "a-b-c-d.mount": _mount("/a/b/c/d"),
        "w.mount": "[Mount]\nWhat=tmpfs\nWhere=/w\nType=tmpfs\n",
        "run-rt.mount": "[Mount]\nWhat=tmpfs\nWhere=/run/rt\nType=tmpfs\n",
        "etc.mount": "[Mount]\nWhat=tmpfs\nWhere=/etc\nType=tmpfs\n",
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    names = ["k.socket", "s.service", "t.service"]
    theirs = _dumps(tmp_path, names)
    assert ("Requires", "a-b.mount") in theirs["k.socket"]  # the oracle did speak
    g = _graph(texts)
    for name in names:
        ours = {(r, o) for r, others in g.relations(name).items() for o in others}
        assert {e for e in ours if e[1] not in _IGNORED} == {
            e for e in theirs[name] if e[1] not in _IGNORED
        }, name
