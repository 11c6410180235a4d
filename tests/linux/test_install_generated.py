"""Differential tests on generated unit trees: random units, links and verbs vs systemctl."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.linux.unittree import (
    ETC,
    LIB,
    RUN,
    USR,
    Tree,
    copy_tree,
    have_systemctl,
    run_pidone,
    run_systemctl,
)

PLAIN = ["a.service", "b.service", "c.socket", "t.target", "u.target"]
TEMPLATES = ["g@.service", "h@.service"]
INSTANCES = ["g@x.service", "g@y.service", "h@x.service"]
NAMES = PLAIN + TEMPLATES + INSTANCES
DIRS = [LIB, LIB, ETC, RUN, USR]


@st.composite
def install_section(draw):
    lines = []
    for key, pool in (
        ("WantedBy", ["t.target", "u.target", "v.target", "%p.target"]),
        ("RequiredBy", ["t.target", "u.target"]),
        ("Alias", ["a2.service", "b2.service", "g2@.service", "c2.socket", "bad name.service"]),
        ("Also", ["a.service", "b.service", "c.socket", "missing.service"]),
    ):
        for value in draw(st.lists(st.sampled_from(pool), max_size=2)):
            lines.append(f"{key}={value}")
    if draw(st.booleans()):
        lines.append(f"DefaultInstance={draw(st.sampled_from(['x', 'y', '']))}")
    return "[Install]\n" + "\n".join(lines) + "\n" if lines or draw(st.booleans()) else ""


@st.composite
def trees(draw):
    units = {}
    for name in draw(
        st.lists(st.sampled_from(PLAIN + TEMPLATES), min_size=1, max_size=6, unique=True)
    ):
        body = "[Unit]\nDescription=x\n"
        if name.endswith(".service"):
            body += "[Service]\nExecStart=/bin/true\n"
        body += draw(install_section())
        units[name] = (draw(st.sampled_from(DIRS)), body)
    links = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from(["alias", "mask", "wants", "dropin", "empty", "linked", "relalias"])
        )
        name = draw(st.sampled_from(NAMES))
        links.append((kind, name, draw(st.sampled_from(DIRS)), draw(st.sampled_from(NAMES))))
    return units, links


def build(root: Path, spec) -> Tree:
    units, links = spec
    t = Tree(root)
    for name, (where, body) in units.items():
        t.unit(name, body, where)
    for kind, name, where, other in links:
        path = t.root / where / name
        if kind == "alias" and not path.exists() and not path.is_symlink():
            t.link(f"{where}/{name}", f"/lib/systemd/system/{other}")
        elif kind == "mask" and not path.exists() and not path.is_symlink():
            t.link(f"{where}/{name}", "/dev/null")
        elif kind == "empty" and not path.exists() and not path.is_symlink():
            t.write(f"{where}/{name}", "")
        elif kind == "wants":
            target = f"{where}/t.target.wants/{name}"
            if not (t.root / target).is_symlink():
                t.link(target, f"/lib/systemd/system/{other}")
        elif kind == "dropin":
            t.write(f"{where}/{name}.d/10.conf", "[Install]\nWantedBy=u.target\nAlso=b.service\n")
        elif kind == "linked" and not path.exists() and not path.is_symlink():
            t.write(f"opt/{name}", "[Unit]\n[Install]\nWantedBy=t.target\n")
            t.link(f"{where}/{name}", f"/opt/{name}")
        elif kind == "relalias" and not path.exists() and not path.is_symlink():
            t.link(f"{where}/{name}", other)
    return t


VERBS = st.sampled_from(["enable", "disable", "reenable", "mask", "unmask", "is-enabled"])
COMMANDS = st.lists(
    st.one_of(
        st.just(["list-unit-files"]),
        st.tuples(VERBS, st.lists(st.sampled_from(NAMES), min_size=1, max_size=2)).map(
            lambda v: [v[0], *v[1]]
        ),
        st.tuples(st.sampled_from(["enable", "disable"]), st.sampled_from(NAMES)).map(
            lambda v: [v[0], "--runtime", v[1]]
        ),
    ),
    min_size=1,
    max_size=5,
)


@pytest.mark.differential
@settings(
    max_examples=int(os.environ.get("PIDONE_GENERATED_EXAMPLES", "25")),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(spec=trees(), commands=COMMANDS)
def test_generated_trees_agree_with_systemctl(spec, commands):
    if not have_systemctl():
        pytest.skip("systemctl is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        ours = build(Path(tmp) / "ours", spec)
        theirs = copy_tree(ours.root, Path(tmp) / "theirs")
        for args in [["list-unit-files"], *commands, ["list-unit-files"]]:
            expected = run_systemctl(theirs.root, args)
            got = run_pidone(ours.root, args)
            got = tuple(
                x.replace(str(ours.root), str(theirs.root)) if isinstance(x, str) else x
                for x in got
            )
            assert got == expected, f"pidone {' '.join(args)}"
            assert ours.snapshot() == theirs.snapshot(), f"tree after {' '.join(args)}"
