"""`pidone show UNIT...`: unit properties as `systemctl show` prints them, offline or live.

Offline (today) the configuration comes from the unit files under `--root` and the
runtime part is a unit that never ran. The seam for the daemon is `RuntimeSource`:
once a manager answers on the control socket, `main()` passes a source that asks it
for each unit's `RuntimeState` (and reverse dependencies) instead of `offline_runtime`.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from pidone.cli.timestyle import TIMESTAMP_STYLES, timestamp_formatter
from pidone.cli.unitargs import local_unit_paths
from pidone.core.dataclass_lite import dataclass, field
from pidone.core.depgraph import info_of, loaded_without_file
from pidone.core.errors import InvalidUnitName
from pidone.core.jobwiring import bare_unit
from pidone.core.model import Unit
from pidone.core.render.show import (
    ManagerFacts,
    RuntimeState,
    render_show,
    render_show_json,
    unit_properties,
)
from pidone.core.render.showexec import DEFAULT_LIMITS
from pidone.core.specifiers import SpecifierHost
from pidone.core.unitname import mangle_unit_name
from pidone.core.units import build_unit
from pidone.linux.unitload import UnitLoader

RuntimeSource = Callable[[Unit], RuntimeState]
# A unit's relations in the manager's graph (property -> units), None = the unit's own files
RelationSource = Callable[[Unit], Mapping[str, Sequence[str]] | None]

USAGE = """usage: pidone show [--root DIR] [-p PROP[,PROP...]]... [-P PROP] [--value] [-a]
                   [-o json] [--timestamp=pretty|unix|us|utc|us+utc] UNIT...
"""


@dataclass
class ShowOptions:
    units: list[str] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)
    value: bool = False
    all: bool = False
    json: bool = False
    root: str | None = None
    timestamp: str = "pretty"


class _Usage(Exception):
    pass


def parse_args(argv: list[str]) -> ShowOptions:
    opts = ShowOptions()
    i = 0

    def take(name: str) -> str:
        nonlocal i
        i += 1
        if i >= len(argv):
            raise _Usage(f"option '{name}' requires an argument")
        return argv[i]

    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        if arg in ("-p", "--property") or (eq and name == "--property"):
            value = inline if eq else take(arg)
            opts.properties += [p for p in value.split(",") if p]
        elif arg.startswith("-p") and len(arg) > 2:
            opts.properties += [p for p in arg[2:].split(",") if p]
        elif arg == "-P":
            opts.properties += [p for p in take(arg).split(",") if p]
            opts.value = True
        elif arg == "--value":
            opts.value = True
        elif arg in ("-a", "--all"):
            opts.all = True
        elif arg in ("-o", "--output") or (eq and name == "--output"):
            mode = inline if eq else take(arg)
            if mode not in ("json", "json-pretty", "short"):
                raise _Usage(f"Unknown output '{mode}'.")
            opts.json = mode.startswith("json")
        elif arg == "--root" or (eq and name == "--root"):
            opts.root = inline if eq else take(arg)
        elif arg == "--timestamp" or (eq and name == "--timestamp"):
            style = inline if eq else take(arg)
            if style not in TIMESTAMP_STYLES:
                raise _Usage(f"Invalid value: {style}.")
            opts.timestamp = style
        elif arg in ("--no-pager", "--system", "--full", "-l"):
            pass
        elif arg == "--":  # getopt's end of options: `show -- -.slice`
            opts.units += argv[i + 1 :]
            break
        elif arg.startswith("-") and arg != "-":
            raise _Usage(f"unrecognized option '{arg}'")
        else:
            opts.units.append(arg)
        i += 1
    return opts


def offline_runtime(unit: Unit) -> RuntimeState:
    """A unit that never ran, plus its unit-file state (enabled/static/...) from disk."""
    return RuntimeState()


def _read_int(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def read_manager_facts() -> ManagerFacts:
    """What a system manager on this host would use as defaults (read from this process)."""
    from pidone.linux.rlimits import service_nofile_default

    limits = dict(DEFAULT_LIMITS)
    limits["NOFILE"] = service_nofile_default()
    for name, rlim in (
        ("NPROC", resource.RLIMIT_NPROC),
        ("SIGPENDING", resource.RLIMIT_SIGPENDING),
    ):
        soft, hard = resource.getrlimit(rlim)
        inf = 2**64 - 1
        limits[name] = (inf if soft < 0 else soft, inf if hard < 0 else hard)
    pid_max = _read_int("/proc/sys/kernel/pid_max")
    threads = _read_int("/proc/sys/kernel/threads-max")
    known = [v for v in (pid_max, threads) if v]
    tasks_max = min(known) * 15 // 100 if known else 2**64 - 1  # DefaultTasksMax=15%
    return ManagerFacts(limits=limits, tasks_max=tasks_max)


def format_timestamp(usec: int) -> str:
    """Realtime µs -> `Sun 2026-11-29 13:23:47 UTC` in local time (systemd FORMAT_TIMESTAMP)."""
    return time.strftime("%a %Y-%m-%d %H:%M:%S %Z", time.localtime(usec / 1_000_000))


def _file_state(root: str | None, unit: Unit) -> tuple[str, str]:
    from pidone.core.installplan import InstallError
    from pidone.linux.install import read_presets, unit_file_state

    if unit.load_state == "not-found":
        return "", ""
    try:
        paths = local_unit_paths(root)
        state = unit_file_state(paths, unit.id)
    except (InstallError, OSError, ValueError):
        return "", ""
    preset = ""
    if state not in ("alias", "static", "generated", "transient", "masked"):
        try:
            from pidone.core.install import query_preset

            preset = "enabled" if query_preset(read_presets(paths), unit.id) else "disabled"
        except (OSError, ValueError, ImportError):
            preset = ""
    return state, preset


def _write(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))


def show_units(
    opts: ShowOptions,
    runtime: RuntimeSource | None = None,
    host: SpecifierHost | None = None,
    relations: RelationSource | None = None,
) -> int:
    """Print every requested unit; blocks separated by an empty line, as systemctl does.

    Offline (`runtime` None) the relations come from a graph of every unit on disk; with a
    daemon, from `relations` (asked after `runtime` for the same unit)."""
    from pidone.linux.hostfacts import read_specifier_host

    # built-ins too (-.slice, system.slice, targets a host without systemd has no file for),
    # as the daemon's registry loads them
    loader = UnitLoader(local_unit_paths(opts.root), builtins=True)
    spec_host = host or read_specifier_host(opts.root or "/")
    facts = read_manager_facts()
    source = runtime or offline_runtime
    blocks: list[str] = []
    rc = 0
    graph = _offline_graph(loader, spec_host) if runtime is None else relations
    stamp = format_timestamp if opts.timestamp == "pretty" else timestamp_formatter(opts.timestamp)
    for arg in opts.units:
        try:
            name = mangle_unit_name(arg).name
            unit = build_unit(loader.load(name), spec_host)
        except InvalidUnitName as e:
            sys.stderr.write(f"{e}\n")
            rc = 1
            continue
        if unit.load_state == "not-found" and unit.type in ("slice", "device"):
            unit = bare_unit(loaded_without_file(info_of(unit)))  # rule 3 of core.depgraph
        if opts.root:
            unit = _strip_root(unit, loader.paths.strip_root)
        state = source(unit)
        if state.unit_file_state == "" and runtime is None:
            ufs, preset = _file_state(opts.root, unit)
            state = _with_file_state(state, ufs, preset)
        rel = graph(unit) if graph is not None else None
        props = unit_properties(unit, state, facts, stamp, rel)
        if opts.json:
            blocks.append(render_show_json(props, opts.properties, opts.all) + "\n")
        else:
            lines = render_show(props, opts.properties, opts.all, opts.value)
            blocks.append("".join(line + "\n" for line in lines))
    _write("\n".join(blocks))
    return rc


def _offline_graph(
    loader: UnitLoader, host: SpecifierHost
) -> Callable[[Unit], dict[str, tuple[str, ...]]] | None:
    """Every unit on disk in one dependency graph, so WantedBy=, TriggeredBy=, After= from
    others' Before= show as they would on a running manager (None if that fails)."""
    from pidone.core.depgraph import build_graph

    def load(name: str) -> Unit | None:
        try:
            return build_unit(loader.load(name), host)
        except InvalidUnitName:
            return None

    try:
        models = [build_unit(source, host) for source in loader.load_all()]
        dep_graph = build_graph(models, load)
    except Exception:
        return None

    def relations(unit: Unit) -> dict[str, tuple[str, ...]]:
        if unit.id not in dep_graph.units or unit.load_state == "not-found":
            return {}
        return dep_graph.relations(unit.id)

    return relations


def _strip_root(unit: Unit, strip: Callable[[str], str]) -> Unit:
    """Show paths as they are inside the root, as systemctl --root does."""
    from pidone.core.dataclass_lite import replace

    return replace(
        unit,
        fragment_path=strip(unit.fragment_path) if unit.fragment_path else "",
        source_path=strip(unit.source_path) if unit.source_path else "",
        dropin_paths=tuple(strip(p) for p in unit.dropin_paths),
    )


def _with_file_state(state: RuntimeState, ufs: str, preset: str) -> RuntimeState:
    from pidone.core.dataclass_lite import replace

    return replace(state, unit_file_state=ufs, unit_file_preset=preset)


def main(argv: list[str]) -> int:
    """`pidone show`; exit 0, or 1 for a bad unit name, 2 for a bad command line."""
    try:
        opts = parse_args(argv)
    except _Usage as e:
        sys.stderr.write(f"pidone show: {e}\n{USAGE}")
        return 2
    if not opts.units:
        sys.stderr.write("pidone show: the manager's own properties need the daemon; name a unit\n")
        return 1
    if opts.root is not None and not os.path.isdir(opts.root):
        sys.stderr.write(f"pidone show: --root {opts.root}: not a directory\n")
        return 1
    try:
        return show_units(opts)
    except BrokenPipeError:
        return 0
