"""Dependency verbs: get-default, set-default, isolate, list-jobs, cancel, list-dependencies.

get-default and set-default work on the unit files (`--root=` too), as systemctl does
offline. list-dependencies builds the dependency graph from the unit files the way the
manager does (core.depgraph over the loader with pidone's built-in targets, early-boot
targets kept pidone's own) and asks the daemon for ActiveStates when one answers;
systemctl 252 refuses this verb with --root, pidone does it offline. isolate, list-jobs and
cancel talk to the daemon (control verbs `isolate`, `list-jobs`, `cancel`), as do poweroff,
halt and reboot.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from pidone.cli import client
from pidone.cli.jobs import UsageError, parse, report, run, unit_name
from pidone.cli.unitargs import local_unit_paths
from pidone.core.depgraph import DepGraph, build_graph
from pidone.core.errors import PidoneError
from pidone.core.install import Change
from pidone.core.jobwiring import container_override
from pidone.core.model import Unit
from pidone.core.render.deptree import RELATIONS, format_dependency_tree
from pidone.core.render.fmttable import format_table
from pidone.core.targets import format_get_default, normalize_target_name, plan_set_default
from pidone.core.units import build_unit
from pidone.linux.hostfacts import read_specifier_host
from pidone.linux.install import apply_changes
from pidone.linux.unitload import UnitLoader

_DEFAULT_LINK = "/etc/systemd/system/default.target"


def _fail(message: str, code: int = 1) -> int:
    sys.stderr.write(message + "\n")
    return code


def _opts(argv: list[str]) -> tuple[dict[str, Any], list[str]] | int:
    try:
        return parse(argv)
    except UsageError as exc:
        return _fail(str(exc))


def _relative(path: str, root: str | None) -> str:
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) :]
    return path


# --- get-default / set-default ----------------------------------------------------------------


def get_default_main(argv: list[str]) -> int:
    """`get-default`: the unit default.target resolves to (pidone's built-in alias when no
    file names it: multi-user.target)."""
    parsed = _opts(argv)
    if isinstance(parsed, int):
        return parsed
    opts, _args = parsed
    loader = UnitLoader(local_unit_paths(opts.get("root")), builtins=True)
    try:
        fragment, _names = loader.find("default.target")
    except PidoneError as exc:
        return _fail(f"Failed to get default target: {exc}")
    resolved = fragment
    if fragment is None:
        source = loader.load("default.target")
        resolved = source.id if source.load_state != "not-found" else None
    lines, code = format_get_default(resolved)
    (sys.stdout if code == 0 else sys.stderr).write("".join(f"{line}\n" for line in lines))
    return code


def set_default_main(argv: list[str]) -> int:
    """`set-default NAME`: point /etc/systemd/system/default.target at NAME's file."""
    parsed = _opts(argv)
    if isinstance(parsed, int):
        return parsed
    opts, args = parsed
    if len(args) != 1:
        return _fail("Too few arguments." if not args else "Too many arguments.")
    root = opts.get("root")
    name = normalize_target_name(args[0])
    loader = UnitLoader(local_unit_paths(root))
    try:
        fragment = loader.find(name)[0] if name.endswith(".target") else None
    except PidoneError:
        fragment = None
    link = (root.rstrip("/") if root else "") + _DEFAULT_LINK
    current = os.readlink(link) if os.path.islink(link) else None
    found = _relative(fragment, root) if fragment else None
    plan = plan_set_default(name, found, current, link_path=link)
    if plan.exit_code:
        return _fail("\n".join(plan.lines), plan.exit_code)
    if plan.link_target:
        changes = [Change("unlink", link)] if plan.remove_old else []
        changes.append(Change("symlink", link, plan.link_target))
        failed = apply_changes(changes, os.path.dirname(link))
        if failed:
            return _fail(f"Failed to set default target: {failed[0].message}")
    for line in plan.lines:  # install_changes_dump() logs them: stderr
        sys.stderr.write(line + "\n")
    return 0


# --- daemon verbs --------------------------------------------------------------------------------


def isolate_main(argv: list[str]) -> int:
    """`isolate NAME`: start NAME (a target by default) in job mode isolate."""
    parsed = _opts(argv)
    if isinstance(parsed, int):
        return parsed
    opts, args = parsed
    if len(args) != 1:
        return _fail("Too few arguments." if not args else "Too many arguments.")
    name = args[0] if "." in args[0] else f"{args[0]}.target"
    return run("isolate", opts, units=[name], no_block=bool(opts.get("no_block")))


def default_main(argv: list[str]) -> int:
    """`default`: isolate default.target (systemctl's start_special() for ACTION_DEFAULT)."""
    parsed = _opts(argv)
    if isinstance(parsed, int):
        return parsed
    opts, args = parsed
    if args:
        return _fail("Too many arguments.")
    return run("isolate", opts, units=["default.target"], no_block=bool(opts.get("no_block")))


def list_jobs_main(argv: list[str]) -> int:
    """`list-jobs`: JOB UNIT TYPE STATE, then `N jobs listed.` (or `No jobs running.`)."""
    parsed = _opts(argv)
    if isinstance(parsed, int):
        return parsed
    opts, _args = parsed
    try:
        result = client.call("list-jobs", runtime_dir=opts["runtime_dir"])
    except client.ClientError as exc:
        return _fail(str(exc), exc.exit_code)
    rows = [[str(j[0]), str(j[1]), str(j[2]), str(j[3])] for j in result.get("jobs", [])]
    legend = not opts.get("no_legend")
    if not rows:
        if legend:
            sys.stdout.write("No jobs running.\n")
        return 0
    out = format_table(("job", "unit", "type", "state"), rows, legend)
    if legend:
        out += ["", f"{len(rows)} jobs listed."]
    sys.stdout.write("".join(f"{line}\n" for line in out))
    return 0


def cancel_main(argv: list[str]) -> int:
    """`cancel [JOB...]`: cancel the jobs named by id; without ids, every job."""
    parsed = _opts(argv)
    if isinstance(parsed, int):
        return parsed
    opts, args = parsed
    ids: list[int] = []
    for arg in args:
        if not arg.isdigit() or int(arg) >= 2**32:
            return _fail(f'Failed to parse job id "{arg}": Invalid argument')
        ids.append(int(arg))
    try:
        result = client.call("cancel", runtime_dir=opts["runtime_dir"], jobs=ids)
    except client.ClientError as exc:
        return _fail(str(exc), exc.exit_code)
    return report(result if isinstance(result, dict) else {})


def _power_main(action: str, argv: list[str]) -> int:
    """`poweroff`/`halt`/`reboot`: the daemon answers, then shuts down (daemon/boot.py)."""
    parsed = _opts(argv)
    if isinstance(parsed, int):
        return parsed
    opts, args = parsed
    if args:
        return _fail("Too many arguments.")
    return run(action, opts)


def poweroff_main(argv: list[str]) -> int:
    """`poweroff`: stop every unit (shutdown.target with --boot), then the daemon exits."""
    return _power_main("poweroff", argv)


def halt_main(argv: list[str]) -> int:
    """`halt`: as poweroff (a container has nothing to halt)."""
    return _power_main("halt", argv)


def reboot_main(argv: list[str]) -> int:
    """`reboot`: as poweroff; in a container the daemon exits 0 (docs/dependencies.md)."""
    return _power_main("reboot", argv)


def exit_main(argv: list[str]) -> int:
    """`exit [CODE]`: as poweroff, and the daemon exits with CODE (0..255; systemctl's
    safe_atou8(): anything else is `Invalid exit code.`)."""
    parsed = _opts(argv)
    if isinstance(parsed, int):
        return parsed
    opts, args = parsed
    if len(args) > 1:
        return _fail("Too many arguments.")
    code = 0
    if args:
        text = args[0]
        if not text.isdigit() or int(text) > 255:
            return _fail("Invalid exit code.")
        code = int(text)
    return run("exit", opts, code=code)


# --- list-dependencies ---------------------------------------------------------------------------


def _graph(root: str | None, names: list[str], every_file: bool) -> DepGraph:
    loader = UnitLoader(local_unit_paths(root), builtins=True)
    host = read_specifier_host(root or "/")

    def load(name: str) -> Unit | None:
        try:
            source = loader.load(name)
            return container_override(build_unit(source, host), source)
        except PidoneError:
            return None

    if every_file:  # reverse dependencies are known only from the units that state them
        names = [*names, *(n for n, _path in loader.list_unit_files() if "@." not in n)]
    units: dict[str, Unit] = {}
    for name in dict.fromkeys(names):
        unit = load(name)
        if unit is not None and unit.load_state != "not-found":
            units.setdefault(unit.id, unit)
    return build_graph(list(units.values()), load)


def _states(opts: dict[str, Any], names: list[str]) -> dict[str, str]:
    """ActiveStates from the daemon; without one, every unit is shown inactive."""
    try:
        result = client.call("is-active", runtime_dir=opts["runtime_dir"], units=names)
    except client.ClientError:
        return {}
    states = result.get("states", []) if isinstance(result, dict) else []
    return dict(zip(names, (str(s) for s in states), strict=False))


def list_dependencies_main(argv: list[str]) -> int:
    """`list-dependencies [UNIT] [--reverse|--before|--after] [--all]`."""
    flags = {"--reverse": "reverse", "--before": "before", "--after": "after"}
    mode = "forward"
    rest: list[str] = []
    for arg in argv:
        if arg in flags:
            mode = flags[arg]
        else:
            rest.append(arg)
    parsed = _opts(rest)
    if isinstance(parsed, int):
        return parsed
    opts, args = parsed
    if len(args) > 1:
        return _fail("Too many arguments.")
    root_name = unit_name(args[0]) if args else "default.target"
    graph = _graph(opts.get("root"), [root_name], mode == "reverse")
    relations = RELATIONS[mode]

    def children(unit: str) -> list[str]:
        out: dict[str, None] = {}
        for relation in relations:
            out.update(dict.fromkeys(graph.deps(unit, relation)))
        return list(out)

    names = list(graph.units)
    states = _states(opts, names) if names else {}
    tty = sys.stdout.isatty()
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else (os.get_terminal_size().columns if tty else 80)
    lines = format_dependency_tree(
        root_name,
        children,
        lambda u: states.get(u, "inactive"),
        expand_all=bool(opts.get("all")),
        columns=width,
        full=bool(opts.get("full")),
        utf8=_utf8(),
        color=tty,
    )
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


def _utf8() -> bool:
    """is_locale_utf8() in short: the C/POSIX locale is not UTF-8."""
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(var)
        if value:
            return "utf" in value.lower().replace("-", "")
    return False
