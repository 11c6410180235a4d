"""core.depgraph rule 6: a graph grown unit by unit (and shrunk by garbage collection) is the
graph a full build_graph() of the same units gives."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pidone.core.depgraph import DepGraph, build_graph
from pidone.core.jobwiring import builtin_unit
from pidone.core.model import Unit
from pidone.core.unittable import UnitTable
from tests.core.depkit import make_unit

SERVICES = [f"s{i}.service" for i in range(6)]
TARGETS = ["t0.target", "t1.target", "t2.target"]
# Names that are referenced but never loaded from the universe: a stub, file-less slices
# (one with two parent levels), a device, an alias of s5, pidone's built-in targets.
OTHERS = [
    "missing.service",
    "a-b-c.slice",
    "dev-sda.device",
    "nick.service",
    "multi-user.target",
    "default.target",
]
NAMES = SERVICES + TARGETS
DIRECTIVES = ["Wants", "Requires", "BindsTo", "PartOf", "Conflicts", "Before", "After"]

edge = st.tuples(st.sampled_from(DIRECTIVES), st.sampled_from(NAMES + OTHERS))
unit_spec = st.tuples(st.booleans(), st.lists(edge, max_size=4))
op = st.tuples(st.sampled_from(["add", "add", "remove"]), st.sampled_from(NAMES))


def _universe(specs: list[tuple[bool, list[tuple[str, str]]]]) -> dict[str, Unit]:
    out = {}
    for name, (default_deps, edges) in zip(NAMES, specs, strict=True):
        lines = [f"DefaultDependencies={'yes' if default_deps else 'no'}"]
        lines += [f"{d}={t}" for d, t in edges]
        text = "[Unit]\n" + "\n".join(lines) + "\n"
        aliases = ("nick.service",) if name == "s5.service" else ()
        out[name] = make_unit(name, text, aliases=aliases)
    return out


def _shape(g: DepGraph) -> tuple[object, ...]:
    edges = {
        u: {r: frozenset(t) for r, t in g.relations(u).items()} for u in g.units if g.relations(u)
    }
    refs = {u: frozenset(g.referenced_by(u)) for u in g.units if g.referenced_by(u)}
    aliases = {a: g.resolve(a) for u in g.units for a in g.aliases_of(u) if a != u}
    return dict(g.units), edges, refs, aliases


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(unit_spec, min_size=len(NAMES), max_size=len(NAMES)),
    first=st.lists(st.sampled_from(NAMES), max_size=3, unique=True),
    hidden=st.sets(st.sampled_from(NAMES)),
    ops=st.lists(op, max_size=14),
)
def test_incremental_graph_equals_a_full_rebuild(
    specs: list[tuple[bool, list[tuple[str, str]]]],
    first: list[str],
    hidden: set[str],
    ops: list[tuple[str, str]],
) -> None:
    """`hidden` units have no file yet when first named (they stay not-found stubs, as
    systemd keeps them until daemon-reload) and are loaded later by an explicit request."""
    _run(specs, first, hidden, ops)


def _run(
    specs: list[tuple[bool, list[tuple[str, str]]]],
    first: list[str],
    hidden: set[str],
    ops: list[tuple[str, str]],
) -> UnitTable:
    universe = _universe(specs)
    by_name = {n: u for u in universe.values() for n in u.names}  # the loader follows aliases

    def find(name: str) -> Unit | None:
        unit = by_name.get(name)
        return unit if unit is not None and unit.id not in hidden else None

    table = UnitTable([universe[n] for n in first], lambda: "0" * 32, load=find)
    grown = table.graph

    def load(name: str) -> Unit | None:  # a rebuild's loader: what is loaded, the built-ins
        return table.lookup(name) or builtin_unit(name)

    for kind, name in ops:
        uid = grown.resolve(name)
        if kind == "add" and table.lookup(name) is None:
            hidden.discard(name)  # its file appeared; a request loads it
            table.add_unit(universe[name])
            assert table._graph is grown  # grown in place, not dropped for a rebuild
        elif kind == "remove" and table.lookup(name) is not None:
            if any(r in table.units for r in grown.referenced_by(uid)):
                continue  # referenced: garbage collection keeps it
            table.drop_unit(uid)
            assert table.lookup(name) is None
        else:
            continue
        full = build_graph(list(table.units.values()), load)
        assert _shape(grown) == _shape(full)
    return table


def _spec(**edges: list[tuple[str, str]]) -> list[tuple[bool, list[tuple[str, str]]]]:
    """Every unit with DefaultDependencies=yes; `s1_service=[...]` gives s1.service edges."""
    return [(True, edges.get(n.replace(".", "_"), [])) for n in NAMES]


def test_a_unit_loaded_later_that_orders_itself_after_its_target() -> None:
    """t0.target Wants= s1.service before s1 has a file: no After= on the stub
    (unit_add_default_target_dependency() orders only when both units are loaded). Once s1
    is loaded and says After=t0.target, the target stays unordered after it ("don't
    create loops", target_add_default_dependencies())."""
    specs = _spec(t0_target=[("Wants", "s1.service")], s1_service=[("After", "t0.target")])
    table = _run(specs, ["t0.target"], {"s1.service"}, [])
    assert not table.graph.has("t0.target", "After", "s1.service")
    plain = _spec(t0_target=[("Wants", "s1.service")], s1_service=[])
    assert _run(plain, ["t0.target"], set(), []).graph.has("t0.target", "After", "s1.service")
    table = _run(specs, ["t0.target"], {"s1.service"}, [("add", "s1.service")])
    assert not table.graph.has("t0.target", "After", "s1.service")
    assert table.graph.has("s1.service", "After", "t0.target")


def test_every_parent_of_a_file_less_slice_is_a_loaded_slice() -> None:
    """a-b-c.slice's parent a-b.slice has no file either: it is loaded (file-less) with its
    own parent, up to -.slice, as systemd 252's slice_load() needs no fragment for any of
    them. Naming a-b.slice later changes nothing about it."""
    specs = _spec(s0_service=[("Wants", "a-b-c.slice")], s1_service=[("Wants", "a-b.slice")])
    for ops in ([], [("add", "s1.service")]):
        table = _run(specs, ["s0.service"], set(), ops)
        for name, parent in (("a-b-c.slice", "a-b.slice"), ("a-b.slice", "a.slice")):
            assert table.graph.info(name).load_state == "loaded"
            assert table.graph.has(name, "Requires", parent)
            assert table.graph.has(name, "After", parent)
        assert table.graph.info("a.slice").load_state == "loaded"
        assert table.graph.has("a.slice", "Requires", "-.slice")


def test_inserting_a_unit_costs_its_edges_not_the_graph() -> None:
    """Loading a unit touches its own neighbours only: a thousand unrelated units are
    neither re-read nor re-linked (their relation dicts stay the same objects)."""
    many = [make_unit(f"u{i}.service", "[Unit]\nDefaultDependencies=no\n") for i in range(1000)]
    table = UnitTable(many, lambda: "0" * 32)
    g = table.graph
    before = {u: g.relations(u) for u in g.units}
    table.add_unit(make_unit("new.service", "[Unit]\nDefaultDependencies=no\nWants=u7.service\n"))
    assert table._graph is g
    assert g.deps("u7.service", "WantedBy") == ("new.service",)
    assert g.referenced_by("u7.service") == ("new.service",)
    changed = sorted(u for u in before if g.relations(u) != before[u])
    assert changed == ["system.slice", "systemd-journald.socket", "u7.service"]  # implicit + wanted
    table.drop_unit("new.service")
    assert "new.service" not in g.units
    assert g.deps("u7.service", "WantedBy") == ()
    assert g.referenced_by("u7.service") == ()
