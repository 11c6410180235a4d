"""Rows of ps output: procps's column placement, header, sorting and forest order.

Placement follows src/ps/output.c show_one_proc(): `correct` is where a column should
start, `actual` where the cursor is; a right-aligned value gets left padding up to its
width, and a value wider than its column pushes the rest of the line right until a
later column's padding soaks the overflow up (spec 07 §1.2). Left and user columns
print no trailing padding themselves. The last column gets the rest of the screen
(`active_cols`) as its cell budget.
"""

from __future__ import annotations

from pidone.core.ps.escape import text_cells
from pidone.core.ps.fields import RIGHT, UNLIMITED, WCHAN, Field
from pidone.core.ps.model import Context, Proc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

OUTBUF_SIZE = 2 * 64 * 1024  # src/ps/common.h: also the "unlimited" screen width
SPACE_AMOUNT = 144  # output.c: the most padding one column can get
LEVEL_MAX = 4 * 32 * 1024 + 99  # global.c forest_prefix[] size: deeper levels stay put


class Column:
    """A field placed in the output, with its effective width and header text."""

    __slots__ = ("align", "field", "fmt", "header", "width")

    def __init__(self, field: Field, width: int, header: str) -> None:
        self.field = field
        self.fmt = field.fmt
        self.align = field.align
        self.width = width
        self.header = header


def make_column(field: Field, pid_length: int, header: str | None, width: int | None) -> Column:
    """sortformat.c do_one_spec(): PID-like widths follow pid_max; a header override
    widens the column to fit it; an explicit `:width` wins over both."""
    base = max(pid_length, len(field.header)) if field.pidmax else field.width
    if header is not None:
        base = max(base, len(header))
    else:
        header = field.header
    return Column(field, width if width is not None else base, header)


def active_columns(screen_cols: int, columns: list[Column]) -> int:
    """output.c check_header_width(): widen a too-narrow screen by whole multiples."""
    total = 0
    was_normal = 0
    for index, col in enumerate(columns):
        if col.align == UNLIMITED and index == len(columns) - 1:
            total += 3
        else:
            total += col.width
        total += was_normal
        was_normal = 1
    i = 0
    while True:
        i += 1
        active = screen_cols * i
        if active >= total or active >= OUTBUF_SIZE // 2:
            return active


def render_row(columns: list[Column], p: Proc | None, c: Context, active: int) -> str:
    """One output line without the newline; p=None renders the header."""
    correct = actual = 0
    dospace = 0
    out: list[str] = []
    last = len(columns) - 1
    for index, col in enumerate(columns):
        width = col.width
        if index < last:
            room = width
            tmpspace = 0
        else:
            tmpspace = correct - actual
            if tmpspace < 1:
                tmpspace = dospace
                room = active - actual - tmpspace
            else:
                room = active - (correct if correct > actual else actual)
            if room < 0:
                room = 0
            elif room >= OUTBUF_SIZE:
                room = OUTBUF_SIZE - 1
        text = col.header if p is None else col.fmt(p, c, room)
        amount = len(text) if text.isascii() else text_cells(text)
        align = col.align
        if align == RIGHT:
            leftpad = width - amount
            if leftpad < 0:
                leftpad = 0
        else:
            leftpad = 0
            if align in (UNLIMITED, WCHAN) and active - actual - tmpspace < 1:
                text = text[:1]  # output.c: "we (mostly) lose this column"
        space = correct - actual + leftpad
        if space < 1:
            space = dospace
        if space > SPACE_AMOUNT:
            space = SPACE_AMOUNT
        out.append(" " * space + text)
        actual += space + amount
        correct += width + 1
        dospace = 1
    return "".join(out)


# ------------------------------------------------------------------------ order


def sort_procs(procs: list[Proc], keys: list[tuple[Field, bool]], c: Context) -> list[Proc]:
    """Stable multi-key sort, first key most significant (procps_pids_sort per key)."""
    out = list(procs)
    for field, reverse in reversed(keys):
        key = field.key
        out.sort(key=lambda p: key(p, c), reverse=reverse)  # type: ignore[arg-type,return-value]
    return out


def forest_order(procs: list[Proc], c: Context) -> list[tuple[Proc, str]]:
    """display.c show_forest()/show_tree(): (process, prefix) in display order.

    procs must already be sorted (ppid, then start time, unless --sort said
    otherwise). Roots (no parent in the list) are taken from the END of the list
    backwards, as procps does; a node's children are the run of entries starting at
    the first one whose ppid is the node's pid. The prefix holds one character per
    level: '+' (child with later siblings), 'L' (last child), '|' and ' ' for the
    levels above. In BSD/GNU forest mode the children of PID 1 stay at PID 1's level.
    """
    n = len(procs)
    pids = {p.pid for p in procs}
    first_child: dict[int, int] = {}
    for i, p in enumerate(procs):
        first_child.setdefault(p.ppid, i)
    out: list[tuple[Proc, str]] = []
    prefix: list[str] = []
    flat = c.forest_type != "u"  # BSD f / --forest: PID 1's children at PID 1's level

    def enter(i: int, level: int, have_sibling: bool) -> int | None:
        # show_tree() up to its child loop: print self, return the first child's index
        del prefix[level:]
        if level:
            prefix[level - 1 :] = ["+" if have_sibling else "L"]
        out.append((procs[i], "".join(prefix[:level])))
        j = first_child.get(procs[i].pid)
        if j is not None and level:
            prefix[level - 1] = "|" if have_sibling else " "
        return j

    # An explicit stack instead of show_tree()'s recursion: a chain of thousands of
    # processes must not hit Python's recursion limit.
    for root in range(n - 1, -1, -1):
        if procs[root].ppid in pids:
            continue
        j = enter(root, 0, False)
        stack = [] if j is None else [[procs[root].pid, 0, j]]
        while stack:
            frame = stack[-1]
            self_pid, level, j = frame
            if j >= n:
                del prefix[level:]
                stack.pop()
                continue
            more = j + 1 < n and procs[j + 1].ppid == self_pid
            frame[2] = j + 1 if more else n
            child_level = level if self_pid == 1 and flat else min(level + 1, LEVEL_MAX)
            grandchild = enter(j, child_level, more)
            if grandchild is not None:
                stack.append([procs[j].pid, child_level, grandchild])
    return out


def _head_function(head: list[Column]) -> Callable[[Proc, Context], str]:
    """`p, c -> "root         1  0.0 ... "`: every column but the last, padded, one space
    apart, plus the space before the last column (one str.format per row)."""
    template = "".join(f"{{:{'>' if col.align == RIGHT else '<'}{col.width}}} " for col in head)
    pairs = [(col.fmt, col.width) for col in head]
    fmt = template.format

    def head_of(p: Proc, c: Context) -> str:
        return fmt(*[f(p, c, w) for f, w in pairs])

    return head_of


def render_rows(
    columns: list[Column],
    procs: list[Proc],
    c: Context,
    active: int,
    prefixes: list[str] | None = None,
) -> list[str]:
    """render_row() for many processes, with a fast path for the common case.

    When every column but the last fits its width and is ASCII, show_one_proc()'s
    arithmetic reduces to fixed padding: right-aligned values are right-justified,
    the others left-justified, one space apart, and the last column starts at
    sum(widths) + count - 1 with the rest of the screen as its budget. A line that
    does not fit (its padded head is longer than that, or not ASCII) takes the
    general path, so output is the same either way.
    """
    if not columns:
        return ["" for _ in procs]
    head = columns[:-1]
    last = columns[-1]
    start = sum(col.width for col in head) + len(head)
    room = active - start
    if not head:
        room = active
    room = min(room, OUTBUF_SIZE - 1)
    fast = room >= 1
    head_of = _head_function(head)
    last_fmt = last.fmt
    last_right = last.align == RIGHT
    last_width = last.width
    head_len = start
    out: list[str] = []
    append = out.append
    for index, p in enumerate(procs):
        if prefixes is not None:
            c.forest_prefix = prefixes[index]
        if fast:
            text = head_of(p, c)
            if len(text) == head_len and text.isascii():
                value = last_fmt(p, c, room)
                if not last_right:
                    append(text + value)
                    continue
                if value.isascii():
                    append(text + value.rjust(last_width))
                    continue
        append(render_row(columns, p, c, active))
    if prefixes is not None:
        c.forest_prefix = ""
    return out
