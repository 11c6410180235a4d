"""pidone's own views of a pstree ProcTree: processes grouped by unit (--units) and JSON.

In --units mode every shown process is copied under a heading node for the unit that
owns it; a process whose parent belongs to another unit (or to none) starts a new tree
under its own unit's heading. Threads stay with their process. Headings are sorted by
name, with processes no unit owns last under `(no unit)`. Within a unit, sorting,
merging, drawing and truncation are pstree's (pidone.core.render.pstree).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pidone.core.render.pstree import Node, ProcTree, TreeOptions

NO_UNIT = "(no unit)"


def _copy(node: Node) -> Node:
    copy = Node(node.pid, node.name, node.uid, node.seq)
    copy.pgid = node.pgid
    copy.cmdline = node.cmdline
    copy.thread = node.thread
    return copy


def unit_forest(tree: ProcTree, roots: Sequence[int], units: Mapping[int, str]) -> list[Node]:
    """One heading node per unit, holding copies of the shown processes that unit owns."""
    members: list[Node] = []
    stack = [n for p in roots if (n := tree.node(p)) is not None]
    while stack:
        node = stack.pop()
        if not node.thread:
            members.append(node)
        stack.extend(node.children)
    copies = {node.pid: _copy(node) for node in members}
    headings: dict[str, Node] = {}
    for node in members:
        copy = copies[node.pid]
        unit = units.get(node.pid) or NO_UNIT
        for kid in node.children:
            if kid.thread:
                thread = _copy(kid)
                thread.parent = copy
                copy.children.append(thread)
        parent = node.parent
        if (
            parent is not None
            and parent.pid in copies
            and (units.get(parent.pid) or NO_UNIT) == unit
        ):
            holder = copies[parent.pid]
        elif unit in headings:
            holder = headings[unit]
        else:
            holder = headings[unit] = Node(0, unit.encode(), 0, (0, 0, 0))
            holder.heading = True
        copy.parent = holder
        holder.children.append(copy)
    order = sorted(u for u in headings if u != NO_UNIT)
    if NO_UNIT in headings:
        order.append(NO_UNIT)
    return [headings[u] for u in order]


def render_units(
    tree: ProcTree,
    roots: Sequence[int],
    units: Mapping[int, str],
    options: TreeOptions,
    by_pid: bool = False,
) -> str:
    """--units: `unit---process-tree` per unit, drawn and merged like pstree."""
    return tree.render_nodes(unit_forest(tree, roots, units), options, by_pid)


def _json_node(tree: ProcTree, node: Node, by_pid: bool, units: Mapping[int, str] | None) -> object:
    kind = "thread" if node.thread else "process" if tree.is_process(node) else "unknown"
    obj: dict[str, object] = {
        "pid": node.pid,
        "name": node.name.decode("utf-8", "replace"),
        "kind": kind,
        "pgid": node.pgid,
        "uid": node.uid,
    }
    if node.cmdline is not None:
        words = node.cmdline.split(b"\0")
        if words[-1] == b"":
            words.pop()
        obj["cmdline"] = [w.decode("utf-8", "replace") for w in words]
    if units is not None:
        owner = node.parent if node.thread and node.parent is not None else node
        obj["unit"] = units.get(owner.pid)
    obj["children"] = [_json_node(tree, k, by_pid, units) for k in tree.kids(node, by_pid)]
    return obj


def to_json(
    tree: ProcTree,
    roots: Sequence[int],
    units: Mapping[int, str] | None,
    by_pid: bool = False,
) -> str:
    """-o json: one document; never merged or truncated.

    Without units: a list of process trees. With units: a list of
    `{"unit": name or null, "processes": [trees]}`.
    """
    if units is None:
        doc: object = [
            _json_node(tree, n, by_pid, None) for p in roots if (n := tree.node(p)) is not None
        ]
    else:
        doc = [
            {
                "unit": None if heading.name.decode() == NO_UNIT else heading.name.decode(),
                "processes": [
                    _json_node(tree, n, by_pid, units) for n in tree.kids(heading, by_pid)
                ],
            }
            for heading in unit_forest(tree, roots, units)
        ]
    import json  # only for -o json: its import costs start-up time

    return json.dumps(doc, ensure_ascii=False) + "\n"
