"""systemd's format-table layout for list-timers/list-sockets: uppercase header, one space
between columns, each column as wide as its widest cell, left-aligned, `-` for empty cells.

Rules of src/shared/format-table.c (252) that matter on a pipe: the header cells are
uppercased (table_new() sets uppercase on them); table_set_ersatz_string(TABLE_ERSATZ_DASH)
prints `-` for an empty cell; the last column's trailing spaces are dropped (no colors); a
cell holding several lines (TABLE_STRV) makes the row that many lines high, the other
cells blank on the extra lines. Nothing is cut: a pipe has no width.
"""

from __future__ import annotations

from collections.abc import Sequence

ERSATZ = "-"


def format_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], legend: bool = True
) -> list[str]:
    """The table's lines (header first when `legend`), without a trailing newline."""
    cells = [[c if c else ERSATZ for c in row] for row in rows]
    table = ([[h.upper() for h in header]] if legend else []) + cells
    if not table:
        return []
    widths = [
        max(max((len(line) for line in row[i].split("\n")), default=0) for row in table)
        for i in range(len(header))
    ]
    lines: list[str] = []
    for row in table:
        parts = [cell.split("\n") for cell in row]
        for sub in range(max(len(p) for p in parts)):
            texts = [p[sub] if sub < len(p) else "" for p in parts]
            padded = [t.ljust(w) for t, w in zip(texts[:-1], widths, strict=False)]
            # Only the last cell loses its padding; the separator before it stays.
            lines.append(" ".join([*padded, texts[-1].rstrip(" ")]))
    return lines
