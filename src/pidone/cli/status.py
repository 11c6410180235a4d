"""`pidone status [UNIT|PID...]` and `pidone list-units` with systemctl 252's text, options and
exit codes, and `-o json` (schema pidone/1, docs/json.md).

Data comes from the daemon's `status`, `show-runtime` and `list-units` verbs (one
connection); the unit-file state (enabled/disabled; preset) is read from disk as systemctl
does; the journal tail is read from the journal file directly, as journalctl does.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from pidone.cli import client

USAGE_STATUS = "usage: pidone status [-n N] [-l] [-o json] [UNIT|PID|PATTERN...]\n"
USAGE_LIST = (
    "usage: pidone list-units [--all] [--state=S,...] [--type=T,...] [--failed] [--plain]\n"
    "                         [--no-legend] [-o json] [PATTERN...]\n"
)
_SUFFIXES = (
    ".service",
    ".socket",
    ".target",
    ".timer",
    ".path",
    ".mount",
    ".automount",
    ".swap",
    ".slice",
    ".scope",
    ".device",
)


# -o for status: json documents, or the journal tail's short-family mode (journalctl -o)
_OUTPUTS = frozenset(
    {
        "json",
        "json-pretty",
        "short",
        "short-iso",
        "short-iso-precise",
        "short-precise",
        "short-unix",
        "short-monotonic",
        "short-full",
        "with-unit",
        "cat",
    }
)


class UsageError(Exception):
    pass


@dataclass
class Options:
    args: list[str] = field(default_factory=list)
    lines: int = 10
    full: bool = False
    all: bool = False
    quiet: bool = False
    output: str = "short"
    plain: bool = False
    legend: bool = True
    states: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    runtime_dir: str | None = None
    root: str | None = None


_VALUES = {
    "-n": "lines",
    "--lines": "lines",
    "-o": "output",
    "--output": "output",
    "--state": "state",
    "-t": "type",
    "--type": "type",
    "--runtime-dir": "runtime_dir",
    "--root": "root",
    "--legend": "legend",
}
_IGNORED = {"--no-pager", "--system", "--no-ask-password", "--no-reload", "--full-width"}


def parse_args(argv: list[str]) -> Options:
    """systemctl-style options, anywhere on the line."""
    opts = Options()
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            opts.args += argv[i:]
            break
        if not arg.startswith("-") or arg == "-":
            opts.args.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name in _VALUES:
            if not eq:
                if name == "--legend":
                    value = "yes"
                else:
                    if i >= len(argv):
                        raise UsageError(f"option '{name}' requires an argument")
                    value = argv[i]
                    i += 1
            _set(opts, _VALUES[name], value)
        elif len(name) > 2 and name[:2] in ("-n", "-o", "-t") and not name.startswith("--"):
            _set(opts, _VALUES[name[:2]], name[2:])
        elif name in ("-l", "--full"):
            opts.full = True
        elif name in ("-a", "--all"):
            opts.all = True
        elif name in ("-q", "--quiet"):
            opts.quiet = True
        elif name == "--plain":
            opts.plain = True
        elif name == "--no-legend":
            opts.legend = False
        elif name == "--failed":
            opts.states.append("failed")
        elif name in _IGNORED:
            pass
        else:
            raise UsageError(f"unrecognized option '{arg}'")
    return opts


def _set(opts: Options, key: str, value: str) -> None:
    if key == "lines":
        if not value.isdigit():
            raise UsageError(f"Failed to parse lines '{value}'")
        opts.lines = int(value)
    elif key == "output":
        if value not in _OUTPUTS:
            raise UsageError(f"Unknown output '{value}'.")
        opts.output = value
    elif key == "state":
        opts.states += [s for s in value.split(",") if s]
    elif key == "type":
        opts.types += [t.lstrip(".") for t in value.split(",") if t]
    elif key == "legend":
        opts.legend = value.lower() in ("yes", "y", "true", "1", "on")
    else:
        setattr(opts, key, value)


def unit_name(arg: str) -> str:
    """`foo` -> `foo.service`; globs and typed names stay (spec 06 §1)."""
    if any(c in arg for c in "*?[") or arg.endswith(_SUFFIXES):
        return arg
    return arg + ".service"


# --- terminal facts -------------------------------------------------------------------------


def locale_is_utf8(environ: dict[str, str] | os._Environ[str]) -> bool:
    """is_locale_utf8() of systemd: the first of LC_ALL, LC_CTYPE, LANG decides; nothing set
    counts as UTF-8 (glibc's C locale, "effectively unset")."""
    for key in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = environ.get(key, "")
        if value:
            low = value.lower()
            return "utf-8" in low or "utf8" in low
    return True


def _tty() -> tuple[bool, bool, int]:
    """(colour, on a tty, columns)."""
    tty = sys.stdout.isatty()
    forced = os.environ.get("SYSTEMD_COLORS")
    color = tty if forced is None else forced.lower() in ("1", "yes", "true", "on", "256", "16")
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        color = False
    columns = 0
    if tty:
        try:
            columns = os.get_terminal_size(sys.stdout.fileno()).columns
        except OSError:
            columns = 80
    return color, tty, columns


def _write(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))


# --- status ---------------------------------------------------------------------------------


def file_state(unit: str, fragment: str) -> tuple[str, str]:
    """(UnitFileState, UnitFilePreset) from disk, as systemctl asks the manager for it."""
    if not fragment:
        return "", ""
    try:
        from pidone.core.install import query_preset
        from pidone.linux.install import read_presets, unit_file_state
        from pidone.linux.unitpaths import build_unit_paths

        paths = build_unit_paths(None)
        state = unit_file_state(paths, unit)
        preset = "enabled" if query_preset(read_presets(paths), unit) else "disabled"
    except Exception:  # a cosmetic part of the Loaded line: never fatal
        return "", ""
    return state, preset


def _journal(
    unit: str, lines: int, since_usec: int, runtime_dir: str | None, mode: str = "short"
) -> list[str]:
    """The last `lines` journal entries of the unit since it last left `inactive`, rendered
    `short` (show_journal_by_unit() with not_before = InactiveExitTimestamp)."""
    if lines <= 0:
        return []
    try:
        from pidone.cli.journal import Options as JOptions
        from pidone.cli.journal import journal_path
        from pidone.core.render.journal import format_short
        from pidone.journal.store import JournalReader, Query

        jopts = JOptions()
        jopts.runtime_dir = runtime_dir
        path = journal_path(jopts)
        if not os.path.exists(path):
            return []
        reader = JournalReader(path)
        query = Query(units=[unit], since_usec=since_usec or None, last=lines)
        out = []
        for entry in reader.entries(query):
            if mode == "cat":
                text = entry.fields.get("MESSAGE", b"").decode("utf-8", "replace")
            else:
                text = format_short(entry, mode).decode("utf-8", "replace").rstrip("\n")
            out.extend(text.split("\n"))
        return out
    except Exception:  # no journal, or one we cannot read: no tail
        return []


def _cgroup2_mounts() -> list[str]:
    """Mount points of cgroup2 in this mount namespace (proc(5) mountinfo: the filesystem
    type follows the lone "-" field)."""
    out = []
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            for line in f:
                fields = line.split()
                if b"-" in fields[6:] and fields[fields.index(b"-", 6) + 1] == b"cgroup2":
                    out.append(fields[4].decode("utf-8", "surrogateescape"))
    except (OSError, ValueError, IndexError):
        return []
    return out


def _read_first_int(path: str, key: bytes = b"") -> int | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    for line in data.splitlines():
        words = line.split()
        if not key and words:
            return int(words[0]) if words[0].isdigit() else None
        if len(words) == 2 and words[0] == key and words[1].isdigit():
            return int(words[1])
    return None


def cgroup_figures(control_group: str) -> tuple[int | None, int | None, int | None] | None:
    """(CPU ns, tasks, memory bytes) from the unit's cgroup2 directory, as systemd reads
    them: cpu.stat usage_usec (always present on cgroup2), pids.current and memory.current
    (only with those controllers; absent -> None, and status prints no Tasks/Memory line).
    None when the cgroup cannot be found from here (status keeps the daemon's figures)."""
    for mount in _cgroup2_mounts():
        directory = mount.rstrip("/") + control_group
        if not os.path.exists(directory + "/cgroup.procs"):
            continue
        usage = _read_first_int(directory + "/cpu.stat", b"usage_usec")
        cpu = usage * 1000 if usage is not None else None
        return (
            cpu,
            _read_first_int(directory + "/pids.current"),
            _read_first_int(directory + "/memory.current"),
        )
    return None


# unit types that have no cgroup in systemd (no CGroup: line, no CPU/Tasks figures)
_NO_CGROUP = frozenset({"timer", "path", "target", "device", "automount"})
_TRIGGERS = ("socket", "timer", "path")


def with_implicit_triggers(view: Any, states: dict[str, str]) -> Any:  # noqa: ANN401
    """TriggeredBy:/Triggers: from the implicit same-name pairs (x.socket, x.timer and
    x.path trigger x.service: man 5 systemd.socket/.timer/.path), for the loaded units
    among `states` (unit -> ActiveState), when the daemon did not name them."""
    from dataclasses import replace

    from pidone.core.statusview import UnitRef

    stem, _, kind = view.id.rpartition(".")
    if kind == "service":
        refs = tuple(
            UnitRef(f"{stem}.{t}", states[f"{stem}.{t}"])
            for t in _TRIGGERS
            if f"{stem}.{t}" in states
        )
        return replace(view, triggered_by=refs)
    if kind in _TRIGGERS and f"{stem}.service" in states:
        return replace(view, triggers=(UnitRef(f"{stem}.service", states[f"{stem}.service"]),))
    return view


def main_exec_run(view: Any) -> Any:  # noqa: ANN401 - StatusView -> ExecRun | None
    """The `Process: PID ExecStart=ARGV (...)` line of an exited main process, built from
    ExecMainPID/Code/Status and the unit's ExecStart= (when it has exactly one: with
    several, which one ran last is the manager's knowledge). Loads the unit file, so it is
    paid only for units whose main process has exited."""
    try:
        from pidone.core.statusview import ExecRun
        from pidone.core.units import build_unit
        from pidone.linux.hostfacts import read_specifier_host
        from pidone.linux.unitload import UnitLoader

        unit = build_unit(UnitLoader().load(view.id), read_specifier_host("/"))
    except Exception:  # a unit we cannot read: no Process line, as before
        return None
    if unit.service is None or len(unit.service.exec_start) != 1:
        return None
    cmd = unit.service.exec_start[0]
    return ExecRun(
        "ExecStart",
        tuple(cmd.argv),
        view.exec_main_pid,
        view.exec_main_code,
        view.exec_main_status,
        cmd.ignore_failure,
    )


def is_referenced(unit_file_state: str, triggered_by: object = ()) -> bool:
    """Something keeps the unit loaded in systemd: an install symlink (enabled, linked...)
    or a trigger (socket, timer) -- so it is not garbage-collected when inactive."""
    return bool(triggered_by) or unit_file_state in (
        "enabled",
        "enabled-runtime",
        "indirect",
        "linked",
        "linked-runtime",
    )


def _pair(value: Any, index: int = 0) -> int:  # noqa: ANN401 - JSON
    if isinstance(value, list) and len(value) > index:
        return int(value[index] or 0)
    return 0


def build_view(
    info: dict[str, Any],
    runtime: dict[str, Any],
    opts: Options,
    states: dict[str, str] | None = None,
) -> Any:  # noqa: ANN401 - core.statusview.StatusView, imported lazily
    """StatusView of one unit from the daemon's two answers (status + show-runtime)."""
    from pidone.core.statusview import view_from_status_info

    view = view_from_status_info(info)
    if runtime:
        view = replace(
            view,
            active_state=str(runtime.get("active_state", view.active_state)),
            sub_state=str(runtime.get("sub_state", view.sub_state)),
            result=str(runtime.get("result", view.result)),
            main_pid=int(runtime.get("main_pid") or 0),
            control_pid=int(runtime.get("control_pid") or 0),
            exec_main_pid=int(runtime.get("exec_main_pid") or 0),
            exec_main_code=int(runtime.get("exec_main_code") or 0),
            exec_main_status=int(runtime.get("exec_main_status") or 0),
            status_text=str(runtime.get("status_text") or ""),
            status_errno=int(runtime.get("status_errno") or 0),
            active_enter_usec=_pair(runtime.get("active_enter")),
            active_exit_usec=_pair(runtime.get("active_exit")),
            inactive_enter_usec=_pair(runtime.get("inactive_enter")),
            inactive_exit_usec=_pair(runtime.get("inactive_exit")),
            control_group=str(runtime.get("control_group") or view.control_group),
            tasks_current=runtime.get("tasks_current", view.tasks_current),
        )
    if view.control_group:
        figures = cgroup_figures(view.control_group)
        if figures is not None:
            cpu, tasks, memory = figures
            view = replace(view, cpu_usage_nsec=cpu, tasks_current=tasks, memory_current=memory)
    if not view.processes and (
        view.active_state in ("inactive", "failed") or view.id.endswith(".service")
    ):
        # systemd prunes an emptied cgroup (ControlGroup= is empty then: a failed unit, an
        # exited oneshot); a listening socket keeps its (empty) cgroup.
        view = replace(view, control_group="")
    # The daemon may answer these itself (it has the install rules and the journal open);
    # reading them here costs the CLI the install planner and sqlite3 (bench/cli.py).
    if view.load_state == "loaded" and "unit_file_state" not in info:
        ufs, preset = file_state(view.id, view.fragment_path)
        view = replace(view, unit_file_state=ufs, unit_file_preset=preset)
    if view.status_errno > 0:
        view = replace(view, status_errno_text=os.strerror(view.status_errno))
    if states and not view.triggered_by and not view.triggers:
        view = with_implicit_triggers(view, states)
    if view.id.rpartition(".")[2] in _NO_CGROUP:
        view = replace(view, control_group="")
    if view.exec_main_code and view.exec_main_pid and not view.exec_runs:
        run = main_exec_run(view)
        if run is not None:
            view = replace(view, exec_runs=(run,))
    from pidone.core.statusview import as_collected, looks_collected

    if looks_collected(view, referenced=is_referenced(view.unit_file_state, view.triggered_by)):
        view = as_collected(view)
    if "journal" in info:
        return replace(view, journal_lines=view.journal_lines[-opts.lines :] if opts.lines else ())
    mode = opts.output if opts.output.startswith(("short", "with-unit", "cat")) else "short"
    tail = _journal(view.id, opts.lines, view.inactive_exit_usec, opts.runtime_dir, mode)
    return replace(view, journal_lines=tuple(tail))


def _pid_units(c: client.Client, pids: list[int]) -> dict[int, str]:
    """PID arguments -> the unit whose processes include them."""
    rows = c.call("list-units", all=True).get("units", [])
    infos = c.call("status", units=[r[0] for r in rows]).get("units", [])
    owner: dict[int, str] = {}
    for info in infos:
        for proc in info.get("processes") or []:
            owner[int(proc[0])] = str(info.get("unit"))
        if info.get("main_pid"):
            owner.setdefault(int(info["main_pid"]), str(info.get("unit")))
    return {pid: owner[pid] for pid in pids if pid in owner}


def status_main(argv: list[str]) -> int:
    """`pidone status [UNIT|PID...]`: 0 all active, 3 one not running, 4 one not found."""
    try:
        opts = parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n{USAGE_STATUS}")
        return 1
    if opts.root is not None:
        sys.stderr.write("Verb 'status' cannot be used with --root= or --image=.\n")
        return 1
    try:
        with client.connect(opts.runtime_dir) as c:
            if not opts.args:
                return _manager_status(c, opts)
            names: list[str] = []
            pids = [int(a) for a in opts.args if a.isdigit()]
            by_pid = _pid_units(c, pids) if pids else {}
            for arg in opts.args:
                if arg.isdigit():
                    if int(arg) not in by_pid:
                        sys.stderr.write(
                            f"Failed to get unit for PID {arg}: "
                            f"PID {arg} does not belong to any loaded unit.\n"
                        )
                        continue
                    names.append(by_pid[int(arg)])
                else:
                    names.append(unit_name(arg))
            infos = c.call("status", units=names).get("units", []) if names else []
            runtimes = c.call("show-runtime", units=names).get("units", []) if names else []
            states: dict[str, str] = {}
            if any(n.endswith((".service", ".socket", ".timer", ".path")) for n in names):
                rows = c.call("list-units", all=True).get("units", [])
                states = {str(r[0]): str(r[2]) for r in rows if len(r) > 2 and r[1] == "loaded"}
    except client.ClientError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    return _print_status(infos, runtimes, opts, len(names) < len(opts.args), states)


def _print_status(
    infos: list[dict[str, Any]],
    runtimes: list[dict[str, Any]],
    opts: Options,
    pid_error: bool,
    states: dict[str, str],
) -> int:
    from pidone.core.render.status import format_status, is_not_found, status_exit_code

    color, tty, columns = _tty()
    utf8 = locale_is_utf8(os.environ)
    now = _now_usec()
    views: list[Any] = []
    shown: list[Any] = []
    missing: list[str] = []
    for index, info in enumerate(infos):
        runtime = runtimes[index] if index < len(runtimes) else {}
        view = build_view(info, runtime or {}, opts, states)
        if is_not_found(view):
            missing.append(view.id)
            views.append(None)
            continue
        views.append(view)
        shown.append(view)
    if opts.output.startswith("json"):
        import json

        from pidone.core.render.jsonout import status_document

        doc = status_document(shown, missing)
        indent = 2 if opts.output == "json-pretty" else None
        _write(json.dumps(doc, indent=indent, ensure_ascii=False) + "\n")
    else:
        blocks = []
        for view in views:
            if view is None:
                continue
            blocks.append(
                format_status(
                    view,
                    now_usec=now,
                    utf8=utf8,
                    color=color,
                    lines=opts.lines,
                    full=opts.full or not tty,
                    width=columns,
                )
            )
        _write("\n".join(blocks))
        sys.stdout.flush()
    for name in missing:
        sys.stderr.write(f"Unit {name} could not be found.\n")
    code = status_exit_code(views)
    if pid_error and code == 0:
        code = 1
    return code


def _now_usec() -> int:
    import time

    return time.time_ns() // 1000


def _process_start_usec(pid: int) -> int:
    """Realtime µs at which PID started: /proc/PID/stat starttime (field 22, clock ticks
    since boot, proc(5)) + btime of /proc/stat."""
    if pid <= 0:
        return 0
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        with open("/proc/stat", "rb") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith(b"btime "))
    except (OSError, StopIteration, ValueError):
        return 0
    fields = stat[stat.rindex(b")") + 2 :].split()
    ticks = int(fields[19])  # field 22 counted from 1, minus pid and comm
    hz = os.sysconf("SC_CLK_TCK")
    return btime * 1_000_000 + ticks * 1_000_000 // hz


def _manager_status(c: client.Client, opts: Options) -> int:
    """`pidone status` without units: the host line, counts and the whole process tree."""
    import socket

    from pidone.core.render.status import ManagerView, format_manager_status
    from pidone.core.statusview import ProcessEntry

    rows = c.call("list-units", all=True).get("units", [])
    infos = c.call("status", units=[r[0] for r in rows]).get("units", [])
    ping = c.call("ping")
    procs: list[ProcessEntry] = []
    for info in infos:
        group = str(info.get("control_group") or "").strip("/") or str(info.get("unit"))
        for proc in info.get("processes") or []:
            cmd = proc[1] if len(proc) > 1 else ""
            if isinstance(cmd, list):
                procs.append(ProcessEntry(int(proc[0]), tuple(map(str, cmd)), cgroup=group))
            else:
                procs.append(ProcessEntry(int(proc[0]), (), cgroup=group, cmdline=str(cmd)))
    failed = sum(1 for r in rows if r[2] == "failed")
    since = _process_start_usec(int(ping.get("pid") or 0))
    from pidone import __version__

    view = ManagerView(
        hostname=socket.gethostname(),
        state="stopping" if ping.get("stopping") else ("degraded" if failed else "running"),
        n_units=len(rows),
        n_jobs=0,
        n_failed=failed,
        since_usec=since,
        version=f"pidone {__version__}",
        processes=tuple(procs),
    )
    color, tty, columns = _tty()
    _write(
        format_manager_status(
            view,
            now_usec=_now_usec(),
            utf8=locale_is_utf8(os.environ),
            color=color,
            full=opts.full or not tty,
            width=columns,
        )
    )
    return 0


# --- list-units -----------------------------------------------------------------------------


def list_units_main(argv: list[str]) -> int:
    """`pidone list-units`: systemctl 252's table, legend and counts; `-o json`."""
    try:
        opts = parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n{USAGE_LIST}")
        return 1
    if opts.root is not None:
        sys.stderr.write("Verb 'list-units' cannot be used with --root= or --image=.\n")
        return 1
    try:
        with client.connect(opts.runtime_dir) as c:
            result = c.call("list-units", all=True)
    except client.ClientError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    from pidone.core.render.listunits import (
        ListUnitsOptions,
        UnitListRow,
        format_list_units,
        select_rows,
    )

    rows = [
        UnitListRow(
            str(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3]),
            str(r[4]) if len(r) > 4 else str(r[0]),
            str(r[5]) if len(r) > 5 and r[5] else "",
        )
        for r in result.get("units", [])
    ]
    color, _tty_out, columns = _tty()
    lopts = ListUnitsOptions(
        all=opts.all,
        states=tuple(opts.states),
        types=tuple(opts.types),
        patterns=tuple(unit_name(a) for a in opts.args),
        plain=opts.plain,
        legend=opts.legend,
        utf8=locale_is_utf8(os.environ),
        color=color,
        width=0 if opts.full else columns,
    )
    chosen = select_rows(rows, lopts)
    if opts.output.startswith("json"):
        import json

        from pidone.core.render.jsonout import list_units_document

        indent = 2 if opts.output == "json-pretty" else None
        _write(json.dumps(list_units_document(chosen), indent=indent, ensure_ascii=False) + "\n")
        return 0
    _write(format_list_units(chosen, lopts))
    return 0
