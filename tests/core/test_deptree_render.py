"""list-dependencies tree text (core.render.deptree) at fixed widths."""

from __future__ import annotations

from pidone.core.render.deptree import format_dependency_tree

EDGES = {
    "multi-user.target": ["zeta.service", "basic.target", "Alpha.service", "cycle.target"],
    "basic.target": ["sysinit.target", "b.service"],
    "sysinit.target": [],
    "cycle.target": ["multi-user.target"],
    "b.service": ["deep.service"],
}
STATES = {"zeta.service": "failed", "basic.target": "active", "b.service": "reloading"}


def tree(**kw: object) -> list[str]:
    return format_dependency_tree(
        "multi-user.target",
        lambda u: list(EDGES.get(u, [])),
        lambda u: STATES.get(u, "inactive"),
        **kw,  # type: ignore[arg-type]
    )


def test_targets_last_case_insensitive_and_only_targets_expanded() -> None:
    assert tree() == [
        "multi-user.target",
        "○ ├─Alpha.service",
        "× ├─zeta.service",
        "● ├─basic.target",
        "↻ │ ├─b.service",
        "○ │ └─sysinit.target",
        "○ └─cycle.target",
        "    └─...",
    ]


def test_all_expands_services_and_ascii_glyphs() -> None:
    lines = tree(expand_all=True, utf8=False)
    assert lines[4:6] == ["* | |-b.service", "o | | `-deep.service"]
    assert lines[-1] == "    `-..."


def test_names_are_cut_to_the_width_without_the_glyph_columns() -> None:
    lines = tree(columns=20)
    # 20 columns: guides "│ └─" take 4, the name gets 16 (glyph columns not counted)
    assert lines[5] == "○ │ └─sysinit.target"
    assert tree(columns=5) == tree(columns=20)  # MAX(columns(), 20)
    narrow = format_dependency_tree(
        "r.target",
        lambda u: ["a-very-long-unit-name-indeed.service"] if u == "r.target" else [],
        lambda u: "active",
        columns=20,
    )
    assert narrow == ["r.target", "● └─a-very-long-unit-…"]
    assert tree(columns=20, full=True)[1] == "○ ├─Alpha.service"


def test_color_on_a_terminal() -> None:
    assert tree(color=True)[2] == "\x1b[0;1;31m×\x1b[0m ├─zeta.service"
