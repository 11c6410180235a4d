"""The install planner is pure: an in-memory file system at its one seam is enough to run it."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from pidone.core.install import InstallSection, build_install_section
from pidone.core.installplan import InstallError, Planner, Stat
from pidone.core.installverbs import plan_disable, plan_enable, plan_mask, plan_unmask
from pidone.core.unitfile import Assignment, parse_unit_file

ETC, RUN, LIB = "/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system"


@dataclass(frozen=True)
class MemPaths:
    root: str | None = None
    search_path: tuple[str, ...] = (ETC, RUN, LIB)
    known_dirs: tuple[str, ...] = (ETC, RUN, LIB)
    persistent_config: str = ETC
    runtime_config: str = RUN
    runtime_control: str = "/run/systemd/system.control"
    transient: str = "/run/systemd/transient"
    generators: tuple[str, str, str] = (
        "/run/systemd/generator",
        "/run/systemd/generator.early",
        "/run/systemd/generator.late",
    )


@dataclass
class MemFS:
    """Files (text) and symlinks (target) by absolute path; directories are implied."""

    files: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    paths: MemPaths = field(default_factory=MemPaths)
    notes: list[str] = field(default_factory=list)

    def _is_dir(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return any(p.startswith(prefix) for p in [*self.files, *self.links])

    def lstat(self, path: str) -> Stat | None:
        if path in self.links:
            return Stat("l", False)
        if path in self.files:
            return Stat("f", self.files[path] == "")
        if path == "/dev/null":
            return Stat("c", True)
        return Stat("d", False) if self._is_dir(path) else None

    def stat(self, path: str) -> Stat | None:
        return self.lstat(self.realpath(path))

    def readlink(self, path: str) -> str | None:
        return self.links.get(path)

    def listdir(self, path: str) -> Sequence[tuple[str, str]]:
        prefix = path.rstrip("/") + "/"
        out: dict[str, str] = {}
        for p in [*self.files, *self.links]:
            if p.startswith(prefix):
                rest = p[len(prefix) :]
                head = rest.split("/", 1)[0]
                kind = "d" if "/" in rest else ("l" if p in self.links else "f")
                out.setdefault(head, kind)
        return list(out.items())

    def realpath(self, path: str) -> str:
        for _ in range(40):
            if path not in self.links:
                return path
            target = self.links[path]
            path = (
                target
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            )
        return path

    def same_file(self, a: str, b: str) -> bool:
        return self.realpath(a) == self.realpath(b)

    def parse_install(self, name: str, path: str) -> tuple[Assignment, ...] | None:
        parsed = parse_unit_file(self.files[self.realpath(path)].encode(), path)
        return (
            None if parsed.fatal else tuple(a for a in parsed.assignments if a.section == "Install")
        )

    def build_install(
        self, name: str, assignments: Sequence[Assignment], fragment: str
    ) -> InstallSection:
        return build_install_section(assignments, name)[0]

    def note(self, message: str) -> None:
        self.notes.append(message)


@pytest.fixture
def fs():
    return MemFS(
        files={
            f"{LIB}/foo.service": "[Install]\nWantedBy=multi-user.target\nAlias=bar.service\n",
            f"{LIB}/multi-user.target": "[Unit]\n",
            f"{LIB}/static.service": "[Service]\nExecStart=/x\n",
            f"{LIB}/also.service": "[Install]\nAlso=foo.service\n",
            f"{LIB}/t@.service": "[Install]\nWantedBy=multi-user.target\nDefaultInstance=a\n",
        }
    )


def state(fs, name):
    return Planner(fs).lookup_state(name)


def test_states_in_memory(fs):
    assert state(fs, "foo.service") == "disabled"
    assert state(fs, "static.service") == "static"
    assert state(fs, "also.service") == "indirect"
    assert state(fs, "t@.service") == "disabled"
    with pytest.raises(InstallError) as err:
        state(fs, "nope.service")
    assert err.value.strerror == "No such file or directory"


def test_enable_plan_then_state(fs):
    plan = plan_enable(Planner(fs), ["foo.service"])
    assert plan.result > 0
    assert [(c.type, c.path, c.source) for c in plan.changes] == [
        ("symlink", f"{ETC}/bar.service", f"{LIB}/foo.service"),
        ("symlink", f"{ETC}/multi-user.target.wants/foo.service", f"{LIB}/foo.service"),
    ]
    for change in plan.changes:
        fs.links[change.path] = change.source
    assert state(fs, "foo.service") == "enabled"
    assert state(fs, "bar.service") == "alias"


def test_template_default_instance(fs):
    plan = plan_enable(Planner(fs), ["t@.service"])
    assert [c.path for c in plan.changes] == [f"{ETC}/multi-user.target.wants/t@a.service"]
    fs.links[f"{ETC}/multi-user.target.wants/t@b.service"] = f"{LIB}/t@.service"
    assert state(fs, "t@.service") == "indirect"
    assert state(fs, "t@b.service") == "enabled"


def test_disable_follows_readdir_order_and_plan_does_not_touch_fs(fs):
    fs.links[f"{ETC}/multi-user.target.wants/foo.service"] = f"{LIB}/foo.service"
    fs.links[f"{ETC}/bar.service"] = f"{LIB}/foo.service"
    plan = plan_disable(Planner(fs), ["foo.service"])
    assert [(c.type, c.path) for c in plan.changes] == [
        ("unlink", f"{ETC}/multi-user.target.wants/foo.service"),
        ("unlink", f"{ETC}/bar.service"),
    ]
    assert f"{ETC}/bar.service" in fs.links  # planning changed nothing


def test_mask_and_unmask(fs):
    plan = plan_mask(Planner(fs), ["static.service"])
    assert [(c.type, c.source) for c in plan.changes] == [("symlink", "/dev/null")]
    fs.links[f"{ETC}/static.service"] = "/dev/null"
    assert state(fs, "static.service") == "masked"
    plan = plan_unmask(Planner(fs), ["static.service"])
    assert [(c.type, c.path) for c in plan.changes] == [("unlink", f"{ETC}/static.service")]
    fs.files[f"{ETC}/real.service"] = "[Service]\n"
    plan = plan_mask(Planner(fs), ["real.service"])
    assert plan.result < 0
    assert plan.changes[0].type == "exists"


def test_bad_alias_link_is_noted(fs):
    fs.links[f"{ETC}/x.socket"] = f"{LIB}/foo.service"
    with pytest.raises(InstallError):
        state(fs, "x.socket")
    assert fs.notes == [
        'x.socket: symlink target "foo.service" has incompatible suffix, rejecting.'
    ]


def test_unit_file_states_tuple_matches_the_literal() -> None:
    # core/install.py writes the names twice (the tuple avoids typing at run time, where
    # core.hints' Literal is a placeholder); a name added to one and not the other would be a
    # state `is-enabled` prints that no check knows. Compare both as written in the source.
    import ast
    import inspect

    from pidone.core import install

    tree = ast.parse(inspect.getsource(install))
    literal = tuple_ = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "UnitFileState":
            assert isinstance(node.value, ast.Subscript)
            literal = ast.literal_eval(node.value.slice)
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "UNIT_FILE_STATES":
            assert node.value is not None
            tuple_ = ast.literal_eval(node.value)
    assert literal is not None
    assert tuple_ is not None
    assert literal == tuple_ == install.UNIT_FILE_STATES
