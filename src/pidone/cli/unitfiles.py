"""`pidone cat` and `pidone list-unit-files`, offline, laid out as systemctl 252 prints them.

list-unit-files: rows sorted by type suffix, then name (both case-insensitive, as
strcasecmp); columns as wide as their widest cell (the header counts only when shown),
one space apart, trailing blanks cut; footer "N unit files listed."; exit 1 when no
row matched. `-o json` prints the rows as `[{"unit_file":…,"state":…,"preset":…}]`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from fnmatch import fnmatchcase

from pidone.cli.unitargs import UsageError, check_root, local_unit_paths, parse_unit_args
from pidone.core.errors import InvalidUnitName
from pidone.core.unitname import UNIT_TYPES, is_glob, mangle_unit_name

# systemctl --type also accepts load states (they filter list-units)
_LOAD_STATES = frozenset(
    {"stub", "loaded", "not-found", "bad-setting", "error", "merged", "masked"}
)
_LINE_END = re.compile(rb"\r\n|[\r\n\0]")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _sort_key(path: str) -> tuple[bytes, bytes]:
    base = path.rsplit("/", 1)[-1]
    dot = path.rfind(".")
    suffix = path[dot:] if dot >= 0 else ""
    return (
        suffix.encode("utf-8", "surrogateescape").lower(),
        base.encode("utf-8", "surrogateescape").lower(),
    )


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str] | None) -> str:
    """systemd format-table, plain: left-aligned columns, one space apart, no trailing blanks."""
    lines = ([list(header)] if header is not None else []) + [list(r) for r in rows]
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for line in lines:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(line)]
        out.append(" ".join(cells).rstrip(" ") + "\n")
    return "".join(out)


def list_unit_files_main(argv: list[str]) -> int:
    """`pidone list-unit-files [PATTERN...] [--type=] [--state=] [--root=] [-o json]`."""
    try:
        opts = parse_unit_args(argv)
    except UsageError as err:
        _err(str(err))
        return 1
    types: list[str] = []
    for value in opts.types:
        if value in UNIT_TYPES:
            types.append(value)
        elif value not in _LOAD_STATES:
            _err(f"Unknown unit type or load state '{value}'.")
            _err("Use -t help to see a list of allowed values.")
            return 1
    problem = check_root(opts.root)
    if problem is not None:
        _err(f"Failed to get unit file list: {problem}")
        return 1

    from pidone.linux.install import DiskFS, list_unit_files

    paths = local_unit_paths(opts.root)
    fs = DiskFS(paths)
    entries = list_unit_files(paths, opts.states, opts.args, fs)
    for message in fs.messages:
        _err(message)
    if types:
        entries = [e for e in entries if e.path.rsplit(".", 1)[-1] in types]
    entries.sort(key=lambda e: _sort_key(e.path))
    out = sys.stdout
    if opts.output.startswith("json"):
        import json

        rows = [{"unit_file": e.name, "state": e.state, "preset": e.preset} for e in entries]
        if opts.output == "json-pretty":
            text = _pretty_json(rows)
        else:
            text = json.dumps(rows, separators=(",", ":"), ensure_ascii=False) + "\n"
            if opts.output == "json-seq":
                text = "\x1e" + text
        out.write(text)
        return 0 if entries else 1
    legend = not opts.no_legend
    table_rows = [(e.name, e.state, e.preset or "-") for e in entries]
    out.write(format_table(table_rows, ("UNIT FILE", "STATE", "PRESET") if legend else None))
    if legend:
        out.write(f"\n{len(entries)} unit files listed.\n")
    return 0 if entries else 1


def _pretty_json(rows: list[dict[str, str | None]]) -> str:
    """systemd's JSON_FORMAT_PRETTY: tabs, `"key" : value`."""
    import json

    if not rows:
        return "[]\n"
    parts = []
    for row in rows:
        fields = ",\n".join(
            f"\t\t{json.dumps(k, ensure_ascii=False)} : {json.dumps(v, ensure_ascii=False)}"
            for k, v in row.items()
        )
        parts.append("\t{\n" + fields + "\n\t}")
    return "[\n" + ",\n".join(parts) + "\n]\n"


def _write_file(path: str, first: bool) -> str | None:
    """systemctl cat_file(): a `# path` header, then the lines; an error text on failure."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        return f"Failed to cat {path}: {err.strerror}"
    out = sys.stdout.buffer
    header = ("" if first else "\n") + f"# {path}\n"
    out.write(header.encode("utf-8", "surrogateescape"))
    lines = _LINE_END.split(data)
    if lines and lines[-1] == b"":
        lines.pop()
    for line in lines:
        out.write(line + b"\n")
    return None


def cat_main(argv: list[str]) -> int:
    """`pidone cat UNIT...`: the fragment, then each drop-in, with `# /path` headers."""
    try:
        opts = parse_unit_args(argv)
    except UsageError as err:
        _err(str(err))
        return 1
    if not opts.args:
        _err("Too few arguments.")
        return 1
    from pidone.linux.unitload import UnitLoader

    loader = UnitLoader(local_unit_paths(opts.root))
    names: list[str] = []
    for arg in opts.args:
        try:
            mangled = mangle_unit_name(arg, allow_globs=True)
        except InvalidUnitName:
            _err(f"Failed to expand names: Invalid argument ({arg})")
            return 1
        if is_glob(mangled.name):
            names.extend(n for n, _ in loader.list_unit_files() if fnmatchcase(n, mangled.name))
        else:
            names.append(mangled.name)
    rc = 0
    first = True
    sys.stdout.flush()
    for name in names:
        try:
            source = loader.load(name)
        except InvalidUnitName as err:
            _err(str(err))
            rc = 1
            continue
        if source.load_state == "masked":
            sys.stdout.buffer.write(f"# Unit {name} is masked.\n".encode())
            continue
        if source.fragment_path is None and not source.dropin_paths:
            _err(f"No files found for {name}.")
            rc = 1
            continue
        if not first:
            sys.stdout.buffer.write(b"\n")
        first = False
        files = ([source.fragment_path] if source.fragment_path else []) + list(source.dropin_paths)
        for index, path in enumerate(files):
            problem = _write_file(path, index == 0)
            if problem is not None:
                sys.stdout.buffer.flush()
                _err(problem)
                return 1
    sys.stdout.buffer.flush()
    return rc
