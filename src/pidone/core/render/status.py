"""`systemctl status` text, exactly as systemd 252 prints it: one unit, or the manager overview.

Pure: a StatusView (core.statusview) in, text out. The rules come from systemd 252's
print_status_info() (src/systemctl/systemctl-show.c) and were checked against real 252
captures (tests/data/oracle/capture-*-252.md). Facts that surprise:
- Debian's 252.38 says `; preset: enabled` (the `vendor preset:` wording is older) and
  prints `Duration:` for an inactive/failed non-target unit that was active before.
- `Main PID:` shows ExecMainPID; `(comm)` only while MainPID is set, otherwise the exit
  description when ExecMainCode is set. The ExecStart `Process:` line is printed as well
  (the duplicate check in 252 compares the exit stamp with the start stamp and in practice
  never fires). A control PID already listed in a `Process:` line is not repeated.
- Exit names in status are the libc and systemd ones only (`status=2`, not
  `2/INVALIDARGUMENT`, which the manager's own log lines do use).
- Labels end at column 12; the overview's at column 10 (`    State:`).
"""

from __future__ import annotations

from pidone.core.record import Record
from pidone.core.render.statusfmt import (
    format_bytes,
    format_exit_description,
    format_exit_status,
    format_local_timestamp,
    format_relative,
    format_timespan,
)
from pidone.core.statusview import (
    CLD_EXITED,
    UINT64_MAX,
    ExecRun,
    ProcessEntry,
    StatusView,
)

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `pidone status` must not import typing
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import tzinfo

    # time.localtime: the CLI passes it in, so neither this module nor the status command
    # imports datetime (timestamps for a `tz` come from core.timefmt).
    from pidone.core.render.statusfmt import LocalTime

USEC_PER_MSEC = 1000

# --- glyphs and colours (src/basic/glyph-util.c, src/basic/terminal-util.h) --------------------

_UTF8 = {
    "black": "●",
    "white": "○",
    "cross": "×",
    "arrow": "↻",
    "branch": "├─",
    "right": "└─",
    "vertical": "│ ",
    "space": "  ",
    "bullet": "‣",
    "ellipsis": "…",
}
_ASCII = {
    "black": "*",
    "white": "*",
    "cross": "x",
    "arrow": "*",
    "branch": "|-",
    "right": "`-",
    "vertical": "| ",
    "space": "  ",
    "bullet": ">",
    "ellipsis": "...",
}
RED = "\x1b[0;1;31m"
GREEN = "\x1b[0;1;32m"
YELLOW = "\x1b[0;1;38;5;185m"
GREY = "\x1b[0;38;5;245m"
NORMAL = "\x1b[0m"

_STATE_GLYPH = {
    "active": "black",
    "activating": "black",
    "deactivating": "black",
    "reloading": "arrow",
    "refreshing": "arrow",
    "inactive": "white",
    "maintenance": "white",
    "failed": "cross",
}


def state_glyph(active_state: str, utf8: bool = True) -> str:
    """unit_active_state_to_glyph(): ● active/activating/deactivating, ↻ reloading,
    ○ inactive, × failed."""
    table = _UTF8 if utf8 else _ASCII
    return table[_STATE_GLYPH.get(active_state, "black")]


def _state_colour(active_state: str, color: bool) -> tuple[str, str]:
    """format_active_state(): failed red, active/reloading green, the rest plain."""
    if not color:
        return "", ""
    if active_state == "failed":
        return RED, NORMAL
    if active_state in ("active", "reloading"):
        return GREEN, NORMAL
    return "", ""


def _enable_colour(state: str, color: bool) -> tuple[str, str]:
    """format_enable_state(): disabled yellow, enabled-ish green."""
    if not color:
        return "", ""
    if state in ("disabled", "bad"):
        return YELLOW, NORMAL
    if state in ("enabled", "enabled-runtime", "alias"):
        return GREEN, NORMAL
    return "", ""


# systemd's shell_maybe_quote(): these need the argument in double quotes.
_NEED_QUOTES = frozenset("\"\\`$*?['()<>|&;!")
_NEED_ESCAPE = frozenset('"\\`$')


def quote_arg(arg: str) -> str:
    """One argv element as the CGroup tree prints it (quote_command_line, SHELL_ESCAPE_EMPTY)."""
    if arg == "":
        return '""'
    if not any(c <= " " or ord(c) >= 127 or c in _NEED_QUOTES for c in arg):
        return arg
    return '"' + "".join("\\" + c if c in _NEED_ESCAPE else c for c in arg) + '"'


def format_cmdline(proc: ProcessEntry) -> str:
    """argv shell-quoted and space-joined; `[comm]` when the process has no cmdline."""
    if not proc.argv:
        return proc.cmdline or f"[{proc.comm}]"
    return " ".join(quote_arg(a) for a in proc.argv)


def _ellipsize(text: str, width: int, ellipsis: str) -> str:
    if width <= 0 or len(text) <= width:
        return text
    if width <= len(ellipsis):
        return ellipsis[:width]
    return text[: width - len(ellipsis)] + ellipsis


# --- the unit block -----------------------------------------------------------------------------


class _Opts:
    """Rendering options of one call (a plain slotted class: no dataclasses here)."""

    __slots__ = ("color", "full", "localtime", "now_usec", "stamp", "tz", "utf8", "width")

    def __init__(
        self,
        now_usec: int,
        tz: tzinfo | None,
        utf8: bool,
        color: bool,
        full: bool,
        width: int,
        localtime: LocalTime | None = None,
        stamp: Callable[[int], str] | None = None,
    ) -> None:
        self.stamp = stamp
        self.now_usec = now_usec
        self.tz = tz
        self.utf8 = utf8
        self.color = color
        self.full = full
        self.width = width
        self.localtime = localtime

    def glyph(self, name: str) -> str:
        return (_UTF8 if self.utf8 else _ASCII)[name]

    def when(self, usec: int) -> str:
        if self.stamp is not None:  # systemctl --timestamp=
            absolute = self.stamp(usec)
        elif self.localtime is not None and self.tz is None:
            absolute = format_local_timestamp(usec, self.localtime)
        else:
            from pidone.core.timefmt import format_timestamp

            absolute = format_timestamp(usec, self.tz)
        return f"{absolute}; {format_relative(usec, self.now_usec)}"


def _loaded_line(v: StatusView, o: _Opts) -> str:
    on, off = (
        (RED, NORMAL)
        if o.color and v.load_state in ("error", "not-found", "bad-setting")
        else ("", "")
    )
    state = f"{on}{v.load_state}{off}"
    path = v.source_path or v.fragment_path
    if v.load_error:
        return f"     Loaded: {state} (Reason: {v.load_error})"
    if path and v.unit_file_state:
        eon, eoff = _enable_colour(v.unit_file_state, o.color)
        preset = ""
        # show_preset_for_state(): no preset for alias/static/generated/transient.
        if v.unit_file_preset and v.unit_file_state not in (
            "alias",
            "static",
            "generated",
            "transient",
        ):
            pon, poff = _enable_colour(v.unit_file_preset, o.color)
            preset = f"; preset: {pon}{v.unit_file_preset}{poff}"
        return f"     Loaded: {state} ({path}; {eon}{v.unit_file_state}{eoff}{preset})"
    if path:
        return f"     Loaded: {state} ({path})"
    return f"     Loaded: {state}"


def _dropin_lines(paths: Sequence[str], o: _Opts) -> list[str]:
    """One `Drop-In: DIR` group per run of files sharing a directory, files comma-joined."""
    lines: list[str] = []
    current = ""
    names: list[str] = []
    for path in paths:
        directory, _, name = path.rpartition("/")
        if names and directory == current:
            names.append(name)
            continue
        if names:
            lines[-1] += ", ".join(names)
        label = "    Drop-In: " if not lines else "             "
        lines.append(f"{label}{directory}")
        lines.append(f"             {o.glyph('right')}")
        current, names = directory, [name]
    if names:
        lines[-1] += ", ".join(names)
    return lines


def _active_line(v: StatusView, o: _Opts) -> list[str]:
    on, off = _state_colour(v.active_state, o.color)
    text = f"     Active: {on}{v.active_state}"
    text += f" ({v.sub_state}){off}" if v.sub_state != v.active_state else off
    if v.freezer_state and v.freezer_state != "running":
        yon, yoff = (YELLOW, NORMAL) if o.color else ("", "")
        text += f" {yon}({v.freezer_state}){yoff}"
    if v.result and v.result != "success":
        text += f" (Result: {v.result})"
    if v.active_state in ("active", "reloading"):
        stamp = v.active_enter_usec
    elif v.active_state in ("inactive", "failed"):
        stamp = v.inactive_enter_usec
    elif v.active_state == "activating":
        stamp = v.inactive_exit_usec
    else:
        stamp = v.active_exit_usec
    if not stamp:
        return [text]
    lines = [f"{text} since {o.when(stamp)}"]
    if v.active_state == "active" and v.runtime_max_usec < UINT64_MAX:
        lines.append(f"      Until: {o.when(stamp + v.runtime_max_usec)}")
    if (
        not v.id.endswith(".target")
        and v.active_state in ("inactive", "failed")
        and v.active_enter_usec
        and v.active_exit_usec
        and v.active_exit_usec >= v.active_enter_usec
    ):
        duration = v.active_exit_usec - v.active_enter_usec
        lines.append(f"   Duration: {format_timespan(duration, USEC_PER_MSEC)}")
    return lines


def _trigger_lines(v: StatusView, o: _Opts) -> list[str]:
    lines = []
    for index, ref in enumerate(v.triggered_by):
        on, off = _state_colour(ref.active_state, o.color)
        label = "TriggeredBy:" if index == 0 else "            "
        lines.append(f"{label} {on}{state_glyph(ref.active_state, o.utf8)}{off} {ref.id}")
    if v.id.endswith(".timer") and v.next_elapse_usec is not None:
        if v.next_elapse_usec:
            lines.append(f"    Trigger: {o.when(v.next_elapse_usec)}")
        else:
            lines.append("    Trigger: n/a")
    for index, ref in enumerate(v.triggers):
        on, off = _state_colour(ref.active_state, o.color)
        label = "   Triggers:" if index == 0 else "            "
        lines.append(f"{label} {on}{o.glyph('black')}{off} {ref.id}")
    return lines


def _condition_lines(v: StatusView, o: _Opts) -> list[str]:
    """systemctl 252 print_status_info(): after the trigger lines, a start whose conditions
    failed (yellow), then one whose assertions failed (red), each check that was not met on
    a tree line."""
    lines: list[str] = []
    for label, word, colour, stamp, checks in (
        ("  Condition", "condition", YELLOW, v.condition_failed_usec, v.conditions_unmet),
        ("     Assert", "assertion", RED, v.assert_failed_usec, v.asserts_unmet),
    ):
        if not stamp:
            continue
        on, off = (colour, NORMAL) if o.color else ("", "")
        lines.append(f"{label}: start {on}{word} failed{off} at {o.when(stamp)}")
        last = len(checks) - 1
        for index, check in enumerate(checks):
            glyph = o.glyph("right" if index == last else "branch")
            lines.append(f"             {glyph} {check} was not met")
    return lines


def _process_lines(v: StatusView, o: _Opts) -> tuple[list[str], int]:
    """`Process:` lines for exited commands; returns them and the control PID still to show."""
    lines = []
    control_pid = v.control_pid
    for run in v.exec_runs:
        if run.code == 0 or run.kind.endswith("Ex"):
            continue
        good = run.code == CLD_EXITED and run.status == 0
        on, off = ("", "")
        if not good and o.color:
            on, off = (YELLOW if run.ignore_failure else RED), NORMAL
        argv = " ".join(run.argv)
        lines.append(
            f"    Process: {run.pid} {run.kind}={argv} "
            f"{on}({format_exit_description(run.code, run.status)}){off}"
        )
        if run.pid == control_pid:
            control_pid = 0
    return lines, control_pid


def _pid_line(v: StatusView, control_pid: int) -> list[str]:
    main_pid = v.exec_main_pid or v.main_pid
    if not main_pid and not control_pid:
        return []
    text = ""
    if main_pid:
        text = f"   Main PID: {main_pid}"
        if v.main_pid:
            if v.main_comm:
                text += f" ({v.main_comm})"
        elif v.exec_main_code > 0:
            text += f" ({format_exit_description(v.exec_main_code, v.exec_main_status)})"
    if control_pid:
        text += "; Control PID: " if main_pid else "  Cntrl PID: "
        text += str(control_pid)
        if v.control_comm:
            text += f" ({v.control_comm})"
    return [text]


def format_cgroup_tree(
    processes: Sequence[ProcessEntry],
    prefix: str,
    o: _Opts,
) -> list[str]:
    """The CGroup: tree: own processes by PID (right-aligned to the widest PID of the
    group), then sub-cgroups sorted by path, then processes outside the cgroup (‣)."""
    own = sorted((p for p in processes if not p.cgroup and not p.outside), key=lambda p: p.pid)
    subs: dict[str, list[ProcessEntry]] = {}
    for p in processes:
        if p.cgroup and not p.outside:
            head, _, rest = p.cgroup.partition("/")
            subs.setdefault(head, []).append(
                ProcessEntry(p.pid, p.argv, p.comm, rest, False, p.cmdline)
            )
    outside = sorted((p for p in processes if p.outside), key=lambda p: p.pid)
    lines: list[str] = []
    grey, normal = (GREY, NORMAL) if o.color else ("", "")
    width = len(str(max((p.pid for p in own), default=0)))
    for index, p in enumerate(own):
        more = index < len(own) - 1 or bool(subs)
        glyph = o.glyph("branch" if more else "right")
        line = f"{prefix}{glyph}{grey}{p.pid:>{width}} {format_cmdline(p)}{normal}"
        lines.append(line if o.full else _ellipsize_colour(line, o))
    names = sorted(subs)
    for index, name in enumerate(names):
        last = index == len(names) - 1
        lines.append(f"{prefix}{o.glyph('right' if last else 'branch')}{name}")
        inner = prefix + o.glyph("space" if last else "vertical")
        lines.extend(format_cgroup_tree(subs[name], inner, o))
    for p in outside:
        line = f"{prefix}{o.glyph('bullet')} {grey}{p.pid} {format_cmdline(p)}{normal}"
        lines.append(line if o.full else _ellipsize_colour(line, o))
    return lines


def _ellipsize_colour(line: str, o: _Opts) -> str:
    """Cut a tree line to the terminal width (plain lines only: escape codes have no width)."""
    if not o.width or o.color:
        return line
    return _ellipsize(line, o.width, o.glyph("ellipsis"))


def format_status(
    view: StatusView,
    *,
    now_usec: int,
    tz: tzinfo | None = None,
    utf8: bool = True,
    color: bool = False,
    lines: int = 10,
    full: bool = True,
    width: int = 0,
    localtime: LocalTime | None = None,
    stamp: Callable[[int], str] | None = None,
) -> str:
    """One unit's `systemctl status` block (with the journal tail when `lines` > 0), each
    line ending in a newline. `full=False` with a `width` cuts the CGroup lines as a tty
    does; a pipe (systemctl's default when not on a tty) never cuts. Timestamps are in
    `tz`, else in the zone of `localtime` (time.localtime), else the process's zone;
    `stamp` renders them instead (systemctl --timestamp=), "; N ago" still follows."""
    o = _Opts(now_usec, tz, utf8, color, full, width, localtime, stamp)
    v = view
    on, off = _state_colour(v.active_state, color)
    head = f"{on}{state_glyph(v.active_state, utf8)}{off} {v.id}"
    if v.description and v.description != v.id:
        head += f" - {v.description}"
    out = [head, _loaded_line(v, o)]
    if v.transient:
        out.append("  Transient: yes")
    out += _dropin_lines(v.dropin_paths, o)
    out += _active_line(v, o)
    out += _trigger_lines(v, o)
    out += _condition_lines(v, o)
    for index, doc in enumerate(v.documentation):
        out.append(f"   {'Docs:' if index == 0 else '':>9} {doc}")
    for index, (kind, address) in enumerate(v.listen):
        out.append(f"   {'Listen:' if index == 0 else '':>9} {address} ({kind})")
    if v.accept_counts is not None:
        # systemctl print_status_info(): an Accept=yes socket's counters after its Listen:
        # lines (NAccepted, NConnections, NRefused, systemd.socket(5) Accept=)
        accepted, connected, refused = v.accept_counts
        line = f"   Accepted: {accepted}; Connected: {connected};"
        out.append(line + (f"   Refused: {refused}" if refused else ""))
    process_lines, control_pid = _process_lines(v, o)
    out += process_lines
    out += _pid_line(v, control_pid)
    if v.status_text:
        out.append(f'     Status: "{v.status_text}"')
    if v.status_errno > 0:
        text = f" ({v.status_errno_text})" if v.status_errno_text else ""
        out.append(f"      Error: {v.status_errno}{text}")
    if v.tasks_current is not None:
        limit = f" (limit: {v.tasks_max})" if v.tasks_max is not None else ""
        out.append(f"      Tasks: {v.tasks_current}{limit}")
    if v.memory_current is not None:
        out.append(f"     Memory: {format_bytes(v.memory_current)}")
    if v.cpu_usage_nsec is not None:
        out.append(f"        CPU: {format_timespan(v.cpu_usage_nsec // 1000, USEC_PER_MSEC)}")
    if v.control_group:
        out.append(f"     CGroup: {v.control_group}")
        out += format_cgroup_tree(v.processes, "             ", o)
    elif v.processes:
        # /proc tracking (no writable cgroup2, --no-cgroups): no group to name, but the
        # unit's processes are known and listed as systemd lists its cgroup's
        out.append("     CGroup: (none: processes tracked through /proc)")
        out += format_cgroup_tree(v.processes, "             ", o)
    if lines > 0 and v.journal_lines:
        out.append("")
        out += list(v.journal_lines[-lines:])
    return "".join(line + "\n" for line in out)


def status_exit_code(views: Sequence[StatusView | None]) -> int:
    """systemctl status: the first non-zero code in argument order, where a unit that
    could not be found (None) gives 4 and one that is not active or reloading gives 3
    (spec 06 §3; 252: `status failed-unit missing-unit` exits 3)."""
    for view in views:
        if view is None:
            return 4
        if view.active_state not in ("active", "reloading"):
            return 3
    return 0


def not_found_message(unit: str) -> str:
    """stderr line for a unit status cannot find (load state not-found, no processes)."""
    return f"Unit {unit} could not be found.\n"


def is_not_found(view: StatusView) -> bool:
    """systemctl's test: LoadState=not-found and nothing running in the unit."""
    return (
        view.load_state == "not-found"
        and view.active_state in ("inactive", "")
        and not (view.main_pid or view.processes)
    )


# --- the manager overview (`systemctl status` with no unit) -------------------------------------


class ManagerView(Record):
    """The head of `systemctl status` with no argument (print_status_info for the system)."""

    hostname: str
    state: str  # running, degraded, starting, stopping...
    n_units: int
    n_jobs: int
    n_failed: int
    since_usec: int = 0
    version: str = ""
    processes: tuple[ProcessEntry, ...] = ()  # cgroup relative to "/" in ProcessEntry.cgroup


def format_manager_status(
    m: ManagerView,
    *,
    now_usec: int,
    tz: tzinfo | None = None,
    utf8: bool = True,
    color: bool = False,
    full: bool = True,
    width: int = 0,
    localtime: LocalTime | None = None,
    stamp: Callable[[int], str] | None = None,
) -> str:
    """`● host` + State/Units/Jobs/Failed/Since/systemd lines + the whole cgroup tree."""
    o = _Opts(now_usec, tz, utf8, color, full, width, localtime, stamp)
    # 252 prints the black circle in every state; the colour tells them apart.
    on, off = "", ""
    if color:
        on = GREEN if m.state == "running" else RED if m.state == "degraded" else YELLOW
        off = NORMAL
    fon, foff = (RED, NORMAL) if color and m.n_failed else ("", "")
    out = [
        f"{on}{o.glyph('black')}{off} {m.hostname}",
        f"    State: {on}{m.state}{off}",
        f"    Units: {m.n_units} loaded (incl. loaded aliases)",
        f"     Jobs: {m.n_jobs} queued",
        f"   Failed: {fon}{m.n_failed} units{foff}",
    ]
    if m.since_usec:
        out.append(f"    Since: {o.when(m.since_usec)}")
    if m.version:
        out.append(f"  systemd: {m.version}")
    out.append("   CGroup: /")
    out += format_cgroup_tree(m.processes, "           ", o)
    return "".join(line + "\n" for line in out)


__all__ = [
    "ExecRun",
    "ManagerView",
    "format_bytes",
    "format_cgroup_tree",
    "format_cmdline",
    "format_exit_description",
    "format_exit_status",
    "format_local_timestamp",
    "format_manager_status",
    "format_relative",
    "format_status",
    "format_timespan",
    "is_not_found",
    "not_found_message",
    "quote_arg",
    "state_glyph",
    "status_exit_code",
]
