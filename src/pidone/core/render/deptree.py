"""`list-dependencies` tree text as systemctl 252 prints it (systemctl-list-dependencies.c).

1. Children come from the dependency properties of the mode (`RELATIONS`), sorted with
   non-targets first, then case-insensitively by name (list_dependencies_compare()).
2. Only targets are expanded, unless --all. A unit already on the path from the root is
   printed as `...` (cycle guard: the path is remembered, not every unit ever printed).
3. Each child line is the state glyph (● active/activating/deactivating, ○ inactive,
   × failed, ↻ reloading) and a space, then the tree guides (`│ `, `  ` for each level,
   `├─` or `└─`), then the name, cut with `…` to the terminal width (the glyph's two
   columns are not counted, as in list_dependencies_print()); a line whose guides alone
   would pass the width minus 3 is `...`. The root line is the bare name.
"""

from __future__ import annotations

from collections.abc import Callable

RELATIONS: dict[str, tuple[str, ...]] = {
    "forward": ("Requires", "Requisite", "BindsTo", "Wants", "ConsistsOf", "Upholds"),
    "reverse": ("RequiredBy", "RequisiteOf", "BoundBy", "WantedBy", "PartOf", "UpheldBy"),
    "after": ("After",),
    "before": ("Before",),
}
_UTF8 = {"vertical": "│ ", "space": "  ", "branch": "├─", "right": "└─", "more": "…"}
_ASCII = {"vertical": "| ", "space": "  ", "branch": "|-", "right": "`-", "more": "..."}
_GLYPH_UTF8 = {
    "active": "●",
    "activating": "●",
    "deactivating": "●",
    "reloading": "↻",
    "failed": "×",
    "inactive": "○",
    "maintenance": "○",
}
_GLYPH_ASCII = {"reloading": "*", "failed": "x", "inactive": "o", "maintenance": "o"}
_GREEN, _RED, _NORMAL = "\x1b[0;1;32m", "\x1b[0;1;31m", "\x1b[0m"


def sort_key(name: str) -> tuple[bool, str]:
    """list_dependencies_compare(): targets last, then strcasecmp()."""
    return (name.endswith(".target"), name.lower())


def _glyph(state: str, utf8: bool, color: bool) -> str:
    glyph = _GLYPH_UTF8.get(state, "●") if utf8 else _GLYPH_ASCII.get(state, "*")
    if not color:
        return glyph
    if state in ("active", "reloading", "activating"):
        on = _GREEN
    elif state in ("inactive", "deactivating", "maintenance"):
        on = _NORMAL
    else:
        on = _RED
    return f"{on}{glyph}{_NORMAL}"


def format_dependency_tree(
    root: str,
    children: Callable[[str], list[str]],
    state: Callable[[str], str],
    *,
    expand_all: bool = False,
    columns: int = 80,
    full: bool = False,
    utf8: bool = True,
    color: bool = False,
) -> list[str]:
    """The lines of `list-dependencies ROOT`; `children(unit)` gives its dependencies."""
    g = _UTF8 if utf8 else _ASCII
    max_len = max(columns, 20)
    lines = [root]
    path: list[str] = []

    def guides(level: int, branches: int, last: bool) -> tuple[str, int] | None:
        out, used = "", 0
        for i in range(level - 1, -1, -1):
            used += 2
            if used > max_len - 3 and not full:
                return None
            out += g["vertical"] if branches & (1 << i) else g["space"]
        used += 2
        if used > max_len - 3 and not full:
            return None
        return out + (g["right"] if last else g["branch"]), used

    def line(prefix: str, name: str, level: int, branches: int, last: bool) -> None:
        made = guides(level, branches, last)
        if made is None:
            lines.append(prefix + ("" if max_len % 2 else " ") + "...")
            return
        text, used = made
        room = max_len - used
        if not full and len(name) > room:
            name = (
                name[: max(room - 1, 0)] + g["more"] if utf8 else name[: max(room - 3, 0)] + "..."
            )
        lines.append(prefix + text + name)

    # explicit stack of (unit, level, branches, remaining children) instead of recursion
    stack: list[tuple[str, int, int, list[str]]] = []
    path.append(root)
    stack.append((root, 0, 0, sorted(children(root), key=sort_key)))
    while stack:
        _unit, level, branches, todo = stack[-1]
        if not todo:
            stack.pop()
            path.pop()
            continue
        child = todo.pop(0)
        last = not todo
        if child in path:
            line("  ", "...", level, branches, last)
            continue
        line(_glyph(state(child), utf8, color) + " ", child, level, branches, last)
        if expand_all or child.endswith(".target"):
            path.append(child)
            nxt = (branches << 1) | (0 if last else 1)
            stack.append((child, level + 1, nxt, sorted(children(child), key=sort_key)))
    return lines
