"""`pidone status [UNIT|PID...]` and `pidone list-units` with systemctl 252's text, options and
exit codes, and `-o json` (schema pidone/1, docs/json.md).

Everything comes from the daemon in one round trip: its `status` verb with `detail` answers
the runtime, the unit-file state and preset, the journal tail, the cgroup figures and the
trigger units' states (daemon/statusdetail.py). `pidone status` is start-up-bound
(bench/cli.py, goal <= 3x `python3 -c pass`), so this module talks through cli.client
(no socket, json or re imports), imports neither dataclasses nor typing nor datetime, and
status loads only core.record, core.statusview and core.render.status on top. Journal
modes other than short and cat are read from the journal file here.
"""

from __future__ import annotations

import os
import sys

from pidone.cli import client

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs a status call ~5 ms
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pidone.core.statusview import ExecRun, StatusView

USAGE_STATUS = (
    "usage: pidone status [-n N] [-l] [-o json] [--timestamp=pretty|unix|us|utc|us+utc]\n"
    "                     [UNIT|PID|PATTERN...]\n"
)
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


class InvalidValue(Exception):
    """An option value systemctl refuses with just `Invalid value: X.` (no usage)."""


class UsageError(Exception):
    pass


class Options:
    """Parsed command line (a plain class: dataclasses cost more than the whole call)."""

    __slots__ = (
        "all",
        "args",
        "full",
        "legend",
        "lines",
        "output",
        "plain",
        "quiet",
        "root",
        "runtime_dir",
        "states",
        "timestamp",
        "types",
    )

    def __init__(self) -> None:
        self.args: list[str] = []
        self.lines = 10
        self.full = False
        self.all = False
        self.quiet = False
        self.output = "short"
        self.plain = False
        self.legend = True
        self.states: list[str] = []
        self.types: list[str] = []
        self.runtime_dir: str | None = None
        self.root: str | None = None
        self.timestamp = "pretty"


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
    "--timestamp": "timestamp",
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
    elif key == "timestamp":
        from pidone.cli.timestyle import TIMESTAMP_STYLES

        if value not in TIMESTAMP_STYLES:
            raise InvalidValue(f"Invalid value: {value}.")
        opts.timestamp = value
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


def terminal() -> tuple[bool, bool, int]:
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


def _as_systemctl() -> bool:
    """Invoked as `systemctl` (the shim sets argv[0]): print systemctl's own formats where
    252 has one (list-units -o json is its table JSON, not the pidone/1 document)."""
    return os.path.basename(sys.argv[0]) == "systemctl"


def write_out(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))


# --- status ---------------------------------------------------------------------------------


def file_state(unit: str, fragment: str) -> tuple[str, str]:
    """(UnitFileState, UnitFilePreset) from disk, as systemctl asks the manager for it."""
    if not fragment:
        return "", ""
    try:
        from pidone.cli.unitargs import local_unit_paths
        from pidone.core.install import query_preset
        from pidone.linux.install import read_presets, unit_file_state

        paths = local_unit_paths(None)
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


# unit types that have no cgroup in systemd (no CGroup: line, no CPU/Tasks figures)
_NO_CGROUP = frozenset({"timer", "path", "target", "device", "automount"})
_TRIGGERS = ("socket", "timer", "path")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def with_implicit_triggers(view: StatusView, states: dict[str, str]) -> StatusView:
    """TriggeredBy:/Triggers: from the implicit same-name pairs (x.socket, x.timer and
    x.path trigger x.service: man 5 systemd.socket/.timer/.path), for the loaded units
    among `states` (unit -> ActiveState), when the daemon did not name them."""
    from pidone.core.statusview import UnitRef

    stem, _, kind = view.id.rpartition(".")
    if kind == "service":
        refs = tuple(
            UnitRef(f"{stem}.{t}", states[f"{stem}.{t}"])
            for t in _TRIGGERS
            if f"{stem}.{t}" in states
        )
        return view._replace(triggered_by=refs)
    if kind in _TRIGGERS and f"{stem}.service" in states:
        return view._replace(triggers=(UnitRef(f"{stem}.service", states[f"{stem}.service"]),))
    return view


def main_exec_run(view: StatusView, exec_start: Any) -> ExecRun | None:  # noqa: ANN401 - JSON
    """The `Process: PID ExecStart=ARGV (...)` line of an exited main process, built from
    ExecMainPID/Code/Status and the unit's only ExecStart= ([argv, ignore_failure] from the
    daemon; with several, which one ran last is the manager's knowledge)."""
    if not isinstance(exec_start, list) or len(exec_start) != 2:
        return None
    from pidone.core.statusview import ExecRun

    return ExecRun(
        "ExecStart",
        tuple(str(a) for a in exec_start[0]),
        view.exec_main_pid,
        view.exec_main_code,
        view.exec_main_status,
        bool(exec_start[1]),
    )


def is_referenced(unit_file_state: str, triggered_by: object = (), unit: str = "") -> bool:
    """Something keeps the unit loaded in systemd: an install symlink (enabled, linked...),
    a generator's link to a generated `unit` (generator_linked()) or a trigger (socket,
    timer) -- so it is not garbage-collected when inactive."""
    if unit_file_state == "generated" and unit:
        return bool(triggered_by) or generator_linked(unit)
    return bool(triggered_by) or unit_file_state in (
        "enabled",
        "enabled-runtime",
        "indirect",
        "linked",
        "linked-runtime",
    )


def generator_linked(unit: str) -> bool:
    """A generator also linked the unit into a `.wants/` or `.requires/` directory of its
    output: systemd-sysv-generator does for an LSB script enabled in /etc/rc?.d
    (multi-user.target.wants/NAME.service, 252's generate_unit_file()), so `WantedBy=` shows
    the target and the unit stays loaded as an enabled unit does, whose UnitFileState is
    still `generated` (oracle: zookeeper.service keeps `since`, Duration: and Process:
    after a stop)."""
    try:
        from pidone.cli.unitargs import local_unit_paths

        dirs = local_unit_paths(None).generators
    except Exception:  # a cosmetic part of status: never fatal
        return False
    for directory in dirs:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if name.endswith((".wants", ".requires")) and os.path.islink(
                os.path.join(directory, name, unit)
            ):
                return True
    return False


def _pair(value: Any, index: int = 0) -> int:  # noqa: ANN401 - JSON
    if isinstance(value, list) and len(value) > index:
        return int(value[index] or 0)
    return 0


def journal_tail(entries: Any, since_usec: int, lines: int, mode: str) -> tuple[str, ...]:  # noqa: ANN401
    """The status tail from the daemon's `journal` ([shown µs, received µs, text], oldest
    first): the entries received at or after `since_usec` (0: all), then the last `lines`
    of their lines. `short` text comes without its time, which is printed here in the
    local zone (`Nov 29 17:46:29`), as journalctl does on the reader's side."""
    import time

    out: list[str] = []
    for shown, received, text in entries or ():
        if since_usec and received < since_usec:
            continue
        if mode != "cat":
            t = time.localtime(shown // 1_000_000)
            stamp = f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
            text = f"{stamp}{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}{text}"
        out.extend(text.split("\n"))
    return tuple(out[-lines:]) if lines > 0 else ()


def _journal_mode(output: str) -> str:
    """The journal tail's mode for `-o`: json documents carry `short` lines."""
    return output if output.startswith(("short", "with-unit", "cat")) else "short"


def build_view(info: dict[str, Any], opts: Options) -> StatusView:
    """StatusView of one unit from the daemon's detailed `status` answer."""
    from pidone.core.statusview import as_collected, looks_collected, view_from_status_info

    view = view_from_status_info(info)
    runtime = info.get("runtime") or {}
    if runtime:
        view = view._replace(
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
    runs = runtime.get("exec_runs") if runtime else None
    if isinstance(runs, list) and runs:  # `Process:` lines of this run's commands
        from pidone.core.statusview import ExecRun

        view = view._replace(
            exec_runs=tuple(
                ExecRun(str(kind), tuple(map(str, argv)), int(pid), int(code), int(st), bool(ig))
                for kind, argv, pid, code, st, ig in runs
            )
        )
    if isinstance(info.get("runtime_max_usec"), int):
        view = view._replace(runtime_max_usec=info["runtime_max_usec"])
    if isinstance(info.get("next_elapse_usec"), int):  # a timer's Trigger: (0 = n/a)
        view = view._replace(next_elapse_usec=info["next_elapse_usec"])
    listen = info.get("listen")  # a socket's Listen: lines
    if isinstance(listen, list):
        view = view._replace(listen=tuple((str(kind), str(addr)) for kind, addr in listen))
    counts = info.get("accept_counts")  # an Accept=yes socket's Accepted: line
    if isinstance(counts, list) and len(counts) == 3:
        accepted, connected, refused = (int(n) for n in counts)
        view = view._replace(accept_counts=(accepted, connected, refused))
    figures = info.get("cgroup_figures")  # also a stopped unit's last CPU figure
    if isinstance(figures, list) and len(figures) == 3:
        cpu, tasks, memory = figures
        view = view._replace(cpu_usage_nsec=cpu, tasks_current=tasks, memory_current=memory)
    if not view.processes and (
        view.active_state in ("inactive", "failed") or view.id.endswith(".service")
    ):
        # systemd prunes an emptied cgroup (ControlGroup= is empty then: a failed unit, an
        # exited oneshot); a listening socket keeps its (empty) cgroup.
        view = view._replace(control_group="")
    if view.status_errno > 0:
        view = view._replace(status_errno_text=os.strerror(view.status_errno))
    states = info.get("unit_states")
    by, to = info.get("triggered_by"), info.get("triggers")
    if isinstance(states, dict) and (isinstance(by, list) or isinstance(to, list)):
        from pidone.core.statusview import UnitRef

        view = view._replace(
            triggered_by=tuple(UnitRef(n, states.get(n, "inactive")) for n in by or []),
            triggers=tuple(UnitRef(n, states.get(n, "inactive")) for n in to or []),
        )
    elif isinstance(states, dict) and states and not view.triggered_by and not view.triggers:
        view = with_implicit_triggers(view, states)
    if view.id.rpartition(".")[2] in _NO_CGROUP:
        view = view._replace(control_group="")
    if view.exec_main_code and view.exec_main_pid and not view.exec_runs:
        run = main_exec_run(view, info.get("exec_start"))
        if run is not None:
            view = view._replace(exec_runs=(run,))
    kept = (
        is_referenced(view.unit_file_state, view.triggered_by, view.id)
        or info.get("referenced") is True
    )
    if looks_collected(view, referenced=kept):
        view = as_collected(view)
    mode = _journal_mode(opts.output)
    if mode in ("short", "cat"):
        tail = journal_tail(info.get("journal"), view.inactive_exit_usec, opts.lines, mode)
    else:
        tail = tuple(_journal(view.id, opts.lines, view.inactive_exit_usec, opts.runtime_dir, mode))
    return view._replace(journal_lines=tail)


def _pid_units(c: client.Client, pids: list[int]) -> dict[int, str]:
    """PID arguments -> the unit whose processes include them."""
    rows = c.call("list-units", all=True).get("units", [])
    infos = c.call("status", units=[r[0] for r in rows]).get("units", [])
    owner: dict[int, str] = {}
    for info in infos:
        if str(info.get("unit", "")).endswith(".slice"):
            continue  # a slice lists the processes of its units: the unit owns them
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
    except InvalidValue as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    if opts.root is not None:
        sys.stderr.write("Verb 'status' cannot be used with --root= or --image=.\n")
        return 1
    try:
        with client.connect(opts.runtime_dir) as c:
            if not opts.args:
                from pidone.cli.statusoverview import manager_status

                return manager_status(c, opts)
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
            infos: list[dict[str, Any]] = []
            if names:
                mode = _journal_mode(opts.output)
                answer = c.call(
                    "status",
                    units=names,
                    detail=True,
                    lines=opts.lines if mode in ("short", "cat") else 0,
                    journal_mode="cat" if mode == "cat" else "short",
                )
                infos = answer.get("units", [])
    except client.ClientError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    return _print_status(infos, opts, len(names) < len(opts.args))


def timestamp_style(opts: Options) -> Callable[[int], str] | None:
    """The absolute part of each timestamp for --timestamp= (None: pretty, local time)."""
    if opts.timestamp == "pretty":
        return None
    from pidone.cli.timestyle import timestamp_formatter

    return timestamp_formatter(opts.timestamp)


def _print_status(infos: list[dict[str, Any]], opts: Options, pid_error: bool) -> int:
    import time

    from pidone.core.render.status import format_status, is_not_found, status_exit_code

    color, tty, columns = terminal()
    utf8 = locale_is_utf8(os.environ)
    now = now_usec()
    views: list[StatusView | None] = []
    shown: list[StatusView] = []
    missing: list[str] = []
    for info in infos:
        view = build_view(info, opts)
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
        write_out(json.dumps(doc, indent=indent, ensure_ascii=False) + "\n")
    else:
        stamp = timestamp_style(opts)  # (one formatter for every unit)
        blocks = [
            format_status(
                view,
                now_usec=now,
                utf8=utf8,
                color=color,
                lines=opts.lines,
                full=opts.full or not tty,
                width=columns,
                localtime=time.localtime,
                stamp=stamp,
            )
            for view in shown
        ]
        write_out("\n".join(blocks))
        sys.stdout.flush()
    for name in missing:
        sys.stderr.write(f"Unit {name} could not be found.\n")
    code = status_exit_code(views)
    if pid_error and code == 0:
        code = 1
    return code


def now_usec() -> int:
    import time

    return time.time_ns() // 1000


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
    color, _tty_out, columns = terminal()
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
    if opts.output.startswith("json") and _as_systemctl():
        from pidone.core.render.listunits import format_table_json

        write_out(format_table_json(chosen, pretty=opts.output == "json-pretty"))
        return 0
    if opts.output.startswith("json"):
        import json

        from pidone.core.render.jsonout import list_units_document

        indent = 2 if opts.output == "json-pretty" else None
        write_out(json.dumps(list_units_document(chosen), indent=indent, ensure_ascii=False) + "\n")
        return 0
    write_out(format_list_units(chosen, lopts))
    return 0
