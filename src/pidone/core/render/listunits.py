"""`systemctl list-units` text exactly as systemd 252 prints it, plus the row filters.

Pure: rows in, text out. Rules (systemd 252 src/systemctl/systemctl-list-units.c and
format-table.c, checked against tests/data/oracle/capture-matrix-252.md):
- Columns: glyph, UNIT, LOAD, ACTIVE, SUB, [JOB], DESCRIPTION, separated by one space, each
  as wide as its widest cell (header included), left-aligned; the last column is not
  padded. JOB appears only when some row has a job. `--plain` drops the glyph column.
- The glyph is `●` (`*` without UTF-8; bold red on a tty) for a failed unit or a load state
  of error/not-found/bad-setting/masked, else a space.
- Rows sort by unit type (the suffix, case-insensitively), then by name.
- Default: a unit is hidden when it is inactive and has no pending job (252
  output_show_unit()); --all shows every loaded unit; --state= filters on the LOAD,
  ACTIVE and SUB words instead (the manager applies it in ListUnitsFiltered).
- Footer (legend on): with rows, a blank line and the LOAD/ACTIVE/SUB legend (+ JOB line and
  a blank line when jobs are shown); then `N loaded units listed.` followed by
  ` Pass --all to see loaded but inactive units, too.` + the list-unit-files hint when
  neither --all nor --state was given; --all (or a state list containing inactive) keeps
  the hint only; any other --state/--failed prints the count alone.
- On a tty the table is fitted to the terminal width: DESCRIPTION shrinks first, then UNIT,
  with `…` at the end of cut cells. A pipe never cuts.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from pidone.core.dataclass_lite import dataclass

RED = "\x1b[0;1;31m"
NORMAL = "\x1b[0m"
UNDERLINE = "\x1b[4m"

LEGEND = (
    "LOAD   = Reflects whether the unit definition was properly loaded.",
    "ACTIVE = The high-level unit activation state, i.e. generalization of SUB.",
    "SUB    = The low-level unit activation state, values depend on unit type.",
)
JOB_LEGEND = "JOB    = Pending job for the unit."
_BAD_LOAD = frozenset({"error", "not-found", "bad-setting", "masked"})


@dataclass(frozen=True, slots=True)
class UnitListRow:
    """One loaded unit as list-units shows it."""

    unit: str
    load: str
    active: str
    sub: str
    description: str
    job: str = ""  # pending job type ("start", "stop"...), "" = none


@dataclass(frozen=True, slots=True)
class ListUnitsOptions:
    """The options of list-units that change which rows show and how."""

    all: bool = False
    states: tuple[str, ...] = ()  # --state= values (--failed = ("failed",))
    types: tuple[str, ...] = ()  # --type= values ("service", "socket", ...)
    patterns: tuple[str, ...] = ()
    plain: bool = False
    legend: bool = True
    utf8: bool = True
    color: bool = False
    width: int = 0  # terminal columns; 0 = a pipe (never cut)


def unit_type(unit: str) -> str:
    return unit.rpartition(".")[2]


def sort_key(row: UnitListRow) -> tuple[str, str]:
    """By type suffix, then name, both case-insensitive (compare_unit_info())."""
    return (unit_type(row.unit).lower(), row.unit.lower())


def select_rows(rows: Iterable[UnitListRow], opts: ListUnitsOptions) -> list[UnitListRow]:
    """Apply --all, --state, --type and the name patterns; sort as systemctl does."""
    out = []
    for row in rows:
        if opts.patterns and not any(fnmatch.fnmatchcase(row.unit, p) for p in opts.patterns):
            continue
        if opts.types and unit_type(row.unit) not in opts.types:
            continue
        if opts.states:
            if not {row.load, row.active, row.sub} & set(opts.states):
                continue
        elif not opts.all and row.active == "inactive" and not row.job:
            # 252 output_show_unit(): hide inactive units without a job unless --all
            continue
        out.append(row)
    return sorted(out, key=sort_key)


def _cut(text: str, width: int, ellipsis: str) -> str:
    if len(text) <= width:
        return text
    if width <= len(ellipsis):
        return ellipsis[:width]
    return text[: width - len(ellipsis)] + ellipsis


def _fit(widths: list[int], total_limit: int, shrinkable: Sequence[int]) -> list[int]:
    """Shrink the given columns (in order) until the line fits the terminal."""
    widths = list(widths)
    excess = sum(widths) + len(widths) - 1 - total_limit
    for index in shrinkable:
        if excess <= 0:
            break
        floor = 8 if index != len(widths) - 1 else 10
        can = max(widths[index] - floor, 0)
        take = min(can, excess)
        widths[index] -= take
        excess -= take
    return widths


def format_list_units(rows: Sequence[UnitListRow], opts: ListUnitsOptions) -> str:
    """The table and its footer for rows already selected by select_rows()."""
    jobs = any(r.job for r in rows)
    header = ["UNIT", "LOAD", "ACTIVE", "SUB"] + (["JOB"] if jobs else []) + ["DESCRIPTION"]
    table = [
        [r.unit, r.load, r.active, r.sub] + ([r.job] if jobs else []) + [r.description]
        for r in rows
    ]
    widths = [max([len(header[i])] + [len(t[i]) for t in table]) for i in range(len(header))]
    glyph_cols = 0 if opts.plain else 2
    ellipsis = "…" if opts.utf8 else "..."
    if opts.width:
        widths = _fit(widths, opts.width - glyph_cols, (len(widths) - 1, 0))
    lines: list[str] = []

    def join(cells: Sequence[str]) -> str:
        padded = [
            _cut(c, widths[i], ellipsis).ljust(widths[i])
            if i < len(cells) - 1
            else _cut(c, widths[i], ellipsis)
            for i, c in enumerate(cells)
        ]
        return " ".join(padded).rstrip(" ")

    if opts.legend:
        lines.append(("" if opts.plain else "  ") + join(header))
    for row, cells in zip(rows, table, strict=True):
        text = join(cells)
        if not opts.plain:
            bad = row.active == "failed" or row.load in _BAD_LOAD
            mark = ("●" if opts.utf8 else "*") if bad else " "
            if bad and opts.color:
                mark = f"{RED}{mark}{NORMAL}"
            text = f"{mark} {text}"
        lines.append(text)
    if opts.legend:
        if rows:
            lines.append("")
            lines.extend(LEGEND)
            if jobs:
                lines += [JOB_LEGEND, ""]
        count = f"{len(rows)} loaded units listed."
        hint = "To show all installed unit files use 'systemctl list-unit-files'."
        if opts.all or "inactive" in opts.states:
            lines += [count, hint]
        elif not opts.states:
            lines += [f"{count} Pass --all to see loaded but inactive units, too.", hint]
        else:
            lines.append(count)
    return "".join(line + "\n" for line in lines)


def format_table_json(rows: Sequence[UnitListRow], pretty: bool = False) -> str:
    """`systemctl list-units -o json` / `-o json-pretty` of 252: its table as JSON (no
    `pidone/1` wrapper: the systemctl face prints what systemctl prints). One object per
    row with the column names as keys, the glyph column left out: `unit`, `load`, `active`,
    `sub`, `job` (only when the JOB column is shown; "" for a row without a job),
    `description`. Compact is `json.dumps` without spaces; pretty is format-table.c's
    JSON_FORMAT_PRETTY (tab indents, `"key" : value`), as list-unit-files prints it.
    Checked against real 252 in the sd-oracle (a table without jobs)."""
    import json

    jobs = any(r.job for r in rows)
    objects = []
    for r in rows:
        obj = {"unit": r.unit, "load": r.load, "active": r.active, "sub": r.sub}
        if jobs:
            obj["job"] = r.job
        obj["description"] = r.description
        objects.append(obj)
    if not pretty:
        return json.dumps(objects, separators=(",", ":"), ensure_ascii=False) + "\n"
    if not objects:
        return "[]\n"

    def pair(key: str, value: str) -> str:
        return (
            f"\t\t{json.dumps(key, ensure_ascii=False)} : {json.dumps(value, ensure_ascii=False)}"
        )

    parts = ["\t{\n" + ",\n".join(pair(k, v) for k, v in obj.items()) + "\n\t}" for obj in objects]
    return "[\n" + ",\n".join(parts) + "\n]\n"
