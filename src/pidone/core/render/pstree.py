"""Pure pstree (psmisc 23.6): build the tree from /proc snapshots, merge, sort, draw, truncate.

Theory of operation (psmisc src/pstree.c, checked byte for byte against pstree 23.6):

1. Every /proc/PID/stat line gives one process; processes arrive in /proc readdir order
   (ascending PID). A process whose ppid is unknown hangs under a "?" placeholder for that
   ppid; placeholders that never turn up are moved under the root (fix_orphans), newest
   first. PID == PPID counts as PPID 0; PID 0 is never anybody's child.
2. Threads (/proc/PID/task/TID, TID != PID) are children of their process, named
   `{comm}` after the *process* comm (or the thread's own comm with -t), owned by the
   process's uid. They are inserted just before the process itself.
3. Children are kept sorted: by name (bytewise strcmp), then uid, then insertion order;
   with -n by PID only.
4. Identical sibling subtrees (same names, same child shapes, same uid only with -u) are
   merged into `N*[...]` unless -c or -p. With -a only threads are merged.
5. Output is counted per UTF-8 character; the first width-1 characters of a line are
   printed, the character in the last column becomes one `+` per byte, the rest is dropped
   (psmisc out_char()). Colour escapes do not count.

`ProcTree` is built once from snapshots; the caller asks it which processes will be shown
(`shown_pids`), reads threads and arguments for those only, attaches them, then renders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pidone.core.render.pstree_types import (
    ASCII,
    COMM_LEN,
    NAME_MAX,
    UNTRUNCATED_ARGS_LIMIT,
    UTF8,
    VT100,
    ProcStat,
    Symbols,
    TreeOptions,
    arg_cost,
    c_int_text,
    cmdline_limit,
    escape_name,
    parse_args,
    thread_label,
)

__all__ = [
    "ASCII",
    "COMM_LEN",
    "NS_NAMES",
    "UNTRUNCATED_ARGS_LIMIT",
    "UTF8",
    "VT100",
    "Node",
    "ProcStat",
    "ProcTree",
    "Symbols",
    "TreeOptions",
    "cmdline_limit",
    "escape_name",
    "parse_args",
    "thread_label",
]

# psmisc ns_names[] order; a namespace that cannot be stat()ed counts as inode 0.
NS_NAMES = ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts", "time")
_NO_NS = (0,) * len(NS_NAMES)

# -C age: green below a minute, yellow below an hour, red otherwise; reset after the label.
_AGE_COLOURS = ((60, "\x1b[32m"), (3600, "\x1b[33m"))
_AGE_OLD = "\x1b[31m"
_COLOUR_RESET = "\x1b[0m"


class Node:
    """One process, thread or placeholder (or --units heading) of a ProcTree; mutable."""

    __slots__ = (
        "children",
        "cmdline",
        "fixed",
        "heading",
        "highlight",
        "name",
        "ns",
        "parent",
        "pgid",
        "pid",
        "seq",
        "thread",
        "uid",
    )

    def __init__(self, pid: int, name: bytes, uid: int, seq: tuple[int, int, int]) -> None:
        self.pid = pid
        self.name = name[:NAME_MAX]
        self.uid = uid
        self.pgid = 0
        self.seq = seq
        self.thread = False
        self.fixed = False  # children trimmed by -s: no threads are added any more
        self.heading = False  # a --units heading: printed as its bare name
        self.highlight = False  # -h/-H: printed in bold
        self.ns: tuple[int, ...] = _NO_NS  # namespace inode numbers in NS_NAMES order
        self.cmdline: bytes | None = None  # raw /proc/PID/cmdline bytes, when read
        self.children: list[Node] = []
        self.parent: Node | None = None


class ProcTree:
    """The process tree as psmisc builds it, plus the queries the scanner needs."""

    def __init__(self, stats: Iterable[ProcStat], root_pid: int = 1) -> None:
        self.root_pid = root_pid
        nodes: dict[int, Node] = {}
        placeholders: list[Node] = []
        self._nodes = nodes
        self._stats: dict[int, ProcStat] = {}
        index = -1
        by_pid = self._stats
        for index, st in enumerate(stats):
            pid, ppid, pgid, uid, comm, _, _ = st
            by_pid[pid] = st
            node = nodes.get(pid)
            if node is None:
                node = nodes[pid] = Node(pid, comm, uid, (index, 1, 0))
            else:
                node.name = comm[:NAME_MAX]
                node.uid = uid
                node.seq = (index, 1, 0)
            node.pgid = pgid
            if ppid == pid:
                ppid = 0
            parent = nodes.get(ppid)
            if parent is None:
                parent = nodes[ppid] = Node(ppid, b"?", 0, (0, 0, 0))
                placeholders.append(parent)
            if pid != 0:
                parent.children.append(node)
                node.parent = parent
        self._count = index + 1
        root = nodes.get(root_pid)
        if root is None:
            root = nodes[root_pid] = Node(root_pid, b"?", 0, (0, 0, 0))
            placeholders.append(root)
        # fix_orphans(): placeholders still without a parent go under the root, walking
        # psmisc's list, which is newest first.
        order = self._count
        for node in reversed(placeholders):
            if node.pid in (0, 1) or node.parent is not None:
                continue
            order += 1
            node.seq = (order, 0, 0)
            root.children.append(node)
            node.parent = root

    # -- queries -------------------------------------------------------------------------

    def __contains__(self, pid: int) -> bool:
        return pid in self._nodes

    def stat(self, pid: int) -> ProcStat | None:
        """The snapshot a process came from (None for placeholders and threads)."""
        return self._stats.get(pid)

    def highlight(self, pid: int) -> None:
        """-h/-H: mark `pid` and every ancestor for bold printing."""
        node = self._nodes.get(pid)
        while node is not None:
            node.highlight = True
            node = node.parent

    def trim_to_parents(self, pid: int) -> bool:
        """-s: every ancestor of `pid` keeps only the child on the way down; False if absent."""
        node = self._nodes.get(pid)
        if node is None:
            return False
        while node.parent is not None:
            node.parent.children = [node]
            node.parent.fixed = True
            node = node.parent
        return True

    def user_roots(self, uid: int, by_pid: bool = False) -> list[int]:
        """psmisc dump_by_user(): topmost processes of `uid` under the root, in output order."""
        roots: list[int] = []
        start = self._nodes.get(self.root_pid)
        stack = [start] if start is not None else []
        while stack:
            node = stack.pop()
            if node.uid == uid:
                roots.append(node.pid)
                continue
            stack.extend(reversed(self._sorted(node, by_pid)))
        return roots

    def shown_pids(self, roots: Iterable[int]) -> list[int]:
        """Processes (not threads, not placeholders) in the subtrees of `roots`."""
        shown: list[int] = []
        stack = [self._nodes[pid] for pid in roots if pid in self._nodes]
        stats = self._stats
        while stack:
            node = stack.pop()
            if not node.thread and node.pid in stats:
                shown.append(node.pid)
            stack.extend(node.children)
        return shown

    def threads_wanted(self, pids: Iterable[int]) -> list[int]:
        """Of `pids`, the processes whose stat says they have more than one thread."""
        stats = self._stats
        return [
            pid
            for pid in pids
            if (st := stats.get(pid)) is not None and st.nthreads > 1 and not self._nodes[pid].fixed
        ]

    # -- attaching what the scanner read later -----------------------------------------------

    def add_threads(self, pid: int, threads: Sequence[tuple[int, bytes | None]]) -> None:
        """Attach (tid, own comm or None) threads of process `pid`, in task readdir order."""
        node = self._nodes.get(pid)
        if node is None or node.fixed:
            return
        seq0 = node.seq[0]
        for k, (tid, own) in enumerate(threads):
            if tid == pid or tid == 0 or tid in self._nodes:
                continue
            child = Node(
                tid, thread_label(node.name if own is None else own), node.uid, (seq0, 0, k)
            )
            child.thread = True
            child.pgid = node.pgid
            child.parent = node
            node.children.append(child)
            self._nodes[tid] = child

    def set_cmdline(self, pid: int, raw: bytes) -> None:
        """Attach what was read of /proc/PID/cmdline (at most cmdline_limit() bytes)."""
        node = self._nodes.get(pid)
        if node is not None:
            node.cmdline = raw

    # -- rendering ---------------------------------------------------------------------------

    def node(self, pid: int) -> Node | None:
        """The node of a process, thread or placeholder."""
        return self._nodes.get(pid)

    def kids(self, node: Node, by_pid: bool = False) -> list[Node]:
        """The children of `node` in output order (sorted in place)."""
        return self._sorted(node, by_pid)

    def is_process(self, node: Node) -> bool:
        """True for nodes read from /proc/PID/stat (not threads, placeholders, headings)."""
        return not node.thread and not node.heading and node.pid in self._stats

    def subtree_ids(self, roots: Iterable[int]) -> list[int]:
        """Every node id (processes, threads, placeholders) under `roots`, roots included."""
        found: list[int] = []
        stack = [self._nodes[pid] for pid in roots if pid in self._nodes]
        while stack:
            node = stack.pop()
            found.append(node.pid)
            stack.extend(node.children)
        return found

    def set_ns(self, pid: int, inodes: tuple[int, ...]) -> None:
        """Attach the namespace inode numbers of a node (for -S and -N)."""
        node = self._nodes.get(pid)
        if node is not None:
            node.ns = inodes

    def parent_id(self, pid: int) -> int | None:
        """The id of a node's parent, if it has one."""
        node = self._nodes.get(pid)
        return node.parent.pid if node is not None and node.parent is not None else None

    def render_by_namespace(self, kind: str, options: TreeOptions, by_pid: bool = False) -> str:
        """-N TYPE (psmisc sort_by_namespace() and dump_by_namespace()).

        Walking down from PID 1, every node whose namespace differs from its parent's is
        cut off and filed under its namespace, in first-seen order. Each namespace prints
        `[inode]` and then its trees; that header line is counted as part of the first
        tree line (psmisc writes it with out_string(), newline included), and is cut to
        13 characters by psmisc's 14-byte buffer.
        """
        index = NS_NAMES.index(kind)
        order: list[int] = []
        groups: dict[int, list[Node]] = {}
        start = self._nodes.get(1)
        stack = [start] if start is not None else []
        while stack:
            node = stack.pop()
            parent = node.parent
            ino = node.ns[index]
            if parent is None or parent.ns[index] != ino:
                if ino not in groups:
                    groups[ino] = []
                    order.append(ino)
                groups[ino].append(node)
                if parent is not None:
                    parent.children.remove(node)
                    node.parent = None
            stack.extend(reversed(self._sorted(node, by_pid)))
        out = _Out(options.width, options.truncate)
        for ino in order:
            out.text(f"[{ino}]\n"[:13])
            for top in groups[ino]:
                _dump(self, top, options, by_pid, out, 0)
        return "".join(out.parts)

    def render_nodes(self, tops: Sequence[Node], options: TreeOptions, by_pid: bool = False) -> str:
        """Trees rooted at arbitrary nodes (such as --units headings), one after the other."""
        out = _Out(options.width, options.truncate)
        for top in tops:
            _dump(self, top, options, by_pid, out, 0)
        return "".join(out.parts)

    def _sorted(self, node: Node, by_pid: bool) -> list[Node]:
        kids = node.children
        if len(kids) > 1:
            if by_pid:
                kids.sort(key=lambda n: n.pid)
            else:
                kids.sort(key=lambda n: (n.name, n.uid, n.seq))
        return kids

    def render(self, pid: int, options: TreeOptions, by_pid: bool = False) -> str:
        """Text of the tree rooted at `pid` (nothing when there is no such node)."""
        node = self._nodes.get(pid)
        if node is None:
            return ""
        out = _Out(options.width, options.truncate)
        _dump(self, node, options, by_pid, out, 0)
        return "".join(out.parts)

    def render_user(self, uid: int, options: TreeOptions, by_pid: bool = False) -> str | None:
        """pstree USER: every topmost process of `uid`, or None when there is none."""
        roots = self.user_roots(uid, by_pid)
        if not roots:
            return None
        out = _Out(options.width, options.truncate)
        for i, pid in enumerate(roots):
            if i:
                out.parts.append("\n")
            _dump(self, self._nodes[pid], options, by_pid, out, uid)
        return "".join(out.parts)


class _Out:
    """psmisc's out_char() state: characters per line, the `+` in the last column."""

    __slots__ = ("parts", "trunc", "width", "x")

    def __init__(self, width: int, trunc: bool) -> None:
        self.parts: list[str] = []
        self.x = 0  # characters on the current line so far (psmisc cur_x - 1)
        self.width = width
        self.trunc = trunc

    def text(self, s: str) -> None:
        x = self.x
        end = x + len(s)
        self.x = end
        limit = self.width - 1
        if end <= limit or not self.trunc:
            self.parts.append(s)
            return
        keep = limit - x
        if keep >= 0:
            if keep:
                self.parts.append(s[:keep])
            # The character landing in the last column is replaced by '+', once per byte.
            self.parts.append("+" * len(s[keep].encode("utf-8", "surrogateescape")))

    def newline(self) -> None:
        self.parts.append("\n")
        self.x = 0


def _signatures(
    tree: ProcTree, top: Node, by_pid: bool, with_uid: bool, with_ns: bool
) -> dict[int, int]:
    """Interned shape ids (name, uid with -u, namespaces with -S, child shapes in order).

    Two subtrees get the same id exactly when psmisc tree_equal() says they are equal.
    """
    ids: dict[object, int] = {}
    sig: dict[int, int] = {}
    order: list[Node] = []
    stack = [top]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(tree._sorted(node, by_pid))
    for node in reversed(order):
        key = (
            node.name,
            node.uid if with_uid else None,
            node.ns if with_ns else None,
            tuple(sig[id(k)] for k in node.children),
        )
        sig[id(node)] = ids.setdefault(key, len(ids))
    return sig


def _groups(
    kids: list[Node], sig: dict[int, int] | None, threads_only: bool
) -> list[tuple[Node, int]]:
    """Merge later identical siblings into the first one: (survivor, extra copies)."""
    if sig is None or len(kids) < 2:
        return [(k, 0) for k in kids]
    groups: list[tuple[Node, int]] = []
    leader: dict[int, int] = {}  # shape -> index in groups
    for kid in kids:
        shape = sig[id(kid)]
        at = leader.get(shape)
        if at is not None:
            node, count = groups[at]
            groups[at] = (node, count + 1)
            continue
        if not threads_only or kid.thread:
            leader[shape] = len(groups)
        groups.append((kid, 0))
    return groups


def _age_colour(age: int) -> str:
    for limit, colour in _AGE_COLOURS:
        if age < limit:
            return colour
    return _AGE_OLD


def _dump(
    tree: ProcTree, top: Node, opt: TreeOptions, by_pid: bool, out: _Out, prev_uid: int
) -> None:
    """psmisc dump_tree(), iterative so that deep chains cannot hit the recursion limit."""
    sym = opt.symbols
    args_mode = opt.show_args
    contexts = opt.contexts
    # -a and -Z put every node on its own line; only -a shows arguments (psmisc swapped)
    line_mode = args_mode or contexts is not None
    compact = opt.compact and not opt.show_pids
    sig = _signatures(tree, top, by_pid, opt.uid_changes, opt.ns_changes) if compact else None
    ages = opt.ages
    widths: list[int] = []
    more: list[bool] = []
    text = out.text
    # frame: node, level, rep, leaf (continues the parent's line), last, prev_uid, closing
    stack: list[tuple[Node, int, int, bool, bool, int, int]] = [
        (top, 0, 1, True, True, prev_uid, 0)
    ]
    while stack:
        node, level, rep, leaf, last, puid, closing = stack.pop()
        if not leaf:
            pieces = []
            for lvl in range(level):
                pieces.append(" " * (widths[lvl] + 1))
                if lvl == level - 1:
                    pieces.append(sym.last_2 if last else sym.branch_2)
                else:
                    pieces.append(sym.vert_2 if more[lvl + 1] else sym.empty_2)
            text("".join(pieces))
        add = 0
        if rep >= 2:
            head = f"{rep}*["
            add = len(head)
            text(head)
        if ages is not None:
            out.parts.append(_age_colour(ages.get(node.pid, 0)))
        bold = opt.bold if node.highlight else None
        if bold and bold[0]:
            out.parts.append(bold[0])  # written with tputs(), so not counted in the width
        raw = node.cmdline
        argv = parse_args(raw, opt.args_limit) if args_mode and raw is not None else None
        swapped = argv == ()
        if swapped:
            text("(")
        heading = node.heading
        label = node.name.decode() if heading else escape_name(node.name)
        text(label)
        comm_len = len(label)
        offset = out.x
        info = args_mode
        if not heading:
            if opt.show_pids:
                num = c_int_text(node.pid)
                text(f",{num}" if info else f"({num}")
                info = True
            if opt.show_pgids:
                num = c_int_text(node.pgid)
                text(f",{num}" if info else f"({num}")
                info = True
            if opt.uid_changes and puid != node.uid:
                user = opt.user_names.get(node.uid) or c_int_text(node.uid)
                text(f",{user}" if info else f"({user}")
                info = True
            if opt.ns_changes and node.parent is not None:
                for name, mine, theirs in zip(NS_NAMES, node.ns, node.parent.ns, strict=True):
                    if mine and theirs and mine != theirs:
                        text(f",{name}" if info else f"({name}")
                        info = True
            if contexts is not None:
                context = contexts.get(node.pid, "")
                text(f",`{context}'" if info else f"(`{context}'")
                info = True
        if swapped or (not args_mode and info):
            text(")")
        if bold and bold[1]:
            out.parts.append(bold[1])
        if argv:
            argc = len(argv)
            for i, arg in enumerate(argv):
                final = i == argc - 1
                if not final:
                    text(" ")
                if not out.trunc or out.x + 1 + arg_cost(arg) <= out.width - (0 if final else 4):
                    text(escape_name(arg))
                else:
                    text("...")
                    break
        if ages is not None:
            out.parts.append(_COLOUR_RESET)
        kids = tree._sorted(node, by_pid)
        if line_mode or not kids:
            if closing:
                text("]" * closing)
            out.newline()
        if level == len(more):
            more.append(not last)
            widths.append(0)
        else:
            more[level] = not last
        if line_mode:
            widths[level] = (1 if args_mode else 0) + (0 if comm_len > 1 else -1)
            groups = _groups(kids, sig, threads_only=True)
            n = len(groups)
            for i in range(n - 1, -1, -1):
                kid, count = groups[i]
                extra = 1 if count else 0
                stack.append((kid, level + 1, count + 1, False, i == n - 1, node.uid, extra))
            continue
        widths[level] = comm_len + out.x - offset + add
        if out.trunc and out.x + 1 >= out.width:
            text(sym.first_3)
            text("+")
            out.newline()
            continue
        if not kids:
            continue
        groups = _groups(kids, sig, threads_only=False)
        n = len(groups)
        text(sym.first_3 if n > 1 else sym.single_3)
        for i in range(n - 1, -1, -1):
            kid, count = groups[i]
            stack.append(
                (
                    kid,
                    level + 1,
                    count + 1,
                    i == 0,
                    i == n - 1,
                    node.uid,
                    closing + (1 if count else 0),
                )
            )
