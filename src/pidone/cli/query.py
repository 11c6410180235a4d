"""State queries of the CLI: is-active, is-failed, list-units, status (spec 06 §3, §4).

is-active is on the hot path of scripts, so this module imports only cli.client and
cli.jobs (itself light) at start-up; status pulls in the journal reader when it runs.
"""

from __future__ import annotations

import sys
import time

from pidone.cli import client
from pidone.cli.jobs import UsageError, parse, unit_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _call(opts: dict[str, Any], verb: str, **args: object) -> Any:  # noqa: ANN401
    with client.connect(opts["runtime_dir"]) as c:
        return c.call(verb, **args)


def _states(argv: list[str]) -> tuple[dict[str, Any], list[str]] | int:
    try:
        opts, args = parse(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    if not args:
        sys.stderr.write("Too few arguments.\n")
        return 1
    try:
        result = _call(opts, "is-active", units=[unit_name(a) for a in args])
    except client.ClientError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    states: list[str] = result.get("states", [])
    if not opts["quiet"]:
        sys.stdout.write("".join(f"{s}\n" for s in states))
    return opts, states


def is_active_main(argv: list[str]) -> int:
    """One ActiveState word per unit; 0 if any is active or reloading, else 3."""
    got = _states(argv)
    if isinstance(got, int):
        return got
    return 0 if any(s in ("active", "reloading") for s in got[1]) else 3


def is_failed_main(argv: list[str]) -> int:
    """One ActiveState word per unit; 0 if any is failed, else 1."""
    got = _states(argv)
    if isinstance(got, int):
        return got
    return 0 if "failed" in got[1] else 1


def list_units_main(argv: list[str]) -> int:
    try:
        opts, args = parse(argv, ("--state", "-t", "--type"))
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    try:
        result = _call(opts, "list-units", all=opts["all"])
    except client.ClientError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    rows: list[list[str]] = result.get("units", [])
    if args:
        import fnmatch

        rows = [r for r in rows if any(fnmatch.fnmatchcase(r[0], unit_name(a)) for a in args)]
    if opts.get("state"):
        wanted = set(str(opts["state"]).split(","))
        rows = [r for r in rows if r[1] in wanted or r[2] in wanted or r[3] in wanted]
    header = ["UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION"]
    widths = [max([len(header[i])] + [len(r[i]) for r in rows]) for i in range(4)]
    out = []
    legend = not opts.get("no_legend")
    if legend:
        out.append(
            "  "
            + " ".join(h.ljust(w) for h, w in zip(header, widths, strict=False))
            + " "
            + header[4]
        )
    for r in rows:
        mark = "●" if r[2] == "failed" or r[1] != "loaded" else " "
        cells = " ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True))
        out.append(f"{mark} {cells} {r[4]}")
    if legend:
        out += [
            "",
            "LOAD   = Reflects whether the unit definition was properly loaded.",
            "ACTIVE = The high-level unit activation state, i.e. generalization of SUB.",
            "SUB    = The low-level unit activation state, values depend on unit type.",
            f"{len(rows)} loaded units listed."
            + ("" if opts["all"] else " Pass --all to see loaded but inactive units, too."),
            "To show all installed unit files use 'systemctl list-unit-files'.",
        ]
    sys.stdout.write("".join(f"{line.rstrip()}\n" for line in out))
    return 0


def _when(usec: int) -> str:
    if not usec:
        return ""
    from pidone.core.values import format_timespan

    stamp = time.strftime("%a %Y-%m-%d %H:%M:%S %Z", time.localtime(usec / 1e6))
    delta = max(0, time.time_ns() // 1000 - usec)
    accuracy = 1000 if delta < 1_000_000 else 1_000_000
    return f" since {stamp}; {format_timespan(delta, accuracy)} ago"


_BULLET = {
    "active": "●",
    "reloading": "●",
    "activating": "●",
    "deactivating": "●",
    "failed": "×",
    "inactive": "○",
}


def render_status(info: dict[str, Any]) -> list[str]:
    """The basic `systemctl status` block for one unit (spec 06 §4)."""
    name = info["unit"]
    desc = info.get("description") or ""
    active = info.get("active", "inactive")
    lines = [f"{_BULLET.get(active, '○')} {name}" + (f" - {desc}" if desc else "")]
    load = info.get("load_state", "not-found")
    if load == "loaded":
        loaded = f"loaded ({info.get('fragment_path') or '/dev/null'})"
    elif load == "not-found":
        loaded = f"not-found (Reason: Unit {name} not found.)"
    elif load == "masked":
        loaded = f"masked (Reason: Unit {name} is masked.)"
    else:
        loaded = f"{load} (Reason: Unit {name} has a bad unit file setting.)"
    lines.append(f"     Loaded: {loaded}")
    dropins = info.get("dropin_paths") or []
    if dropins:
        dirs: dict[str, list[str]] = {}
        for path in dropins:
            head, _, tail = path.rpartition("/")
            dirs.setdefault(head, []).append(tail)
        for i, (d, files) in enumerate(dirs.items()):
            lines.append(f"    {'Drop-In' if i == 0 else '       '}: {d}")
            lines.append(f"             └─{', '.join(files)}")
    sub = info.get("sub", "dead")
    if active == "failed":
        state = f"failed (Result: {info.get('result')})"
    else:
        state = f"{active} ({sub})"
    lines.append(f"     Active: {state}{_when(info.get('since', 0))}")
    if info.get("status_text"):
        lines.append(f'     Status: "{info["status_text"]}"')
    if info.get("main_pid"):
        lines.append(f"   Main PID: {info['main_pid']} ({info.get('main_comm') or 'n/a'})")
    elif info.get("exec_main_pid") and info.get("exec_main_exit"):
        lines.append(f"   Main PID: {info['exec_main_pid']} ({info['exec_main_exit']})")
    procs = info.get("processes") or []
    if procs:
        lines.append(f"     CGroup: {info.get('control_group') or name}")
        for i, (pid, cmd) in enumerate(procs):
            guide = "└─" if i == len(procs) - 1 else "├─"
            lines.append(f"             {guide}{pid} {cmd}")
    return lines


def status_main(argv: list[str]) -> int:
    try:
        opts, args = parse(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    try:
        if not args:
            args = [r[0] for r in _call(opts, "list-units", all=False).get("units", [])]
        units = [unit_name(a) for a in args]
        result = _call(opts, "status", units=units)
    except client.ClientError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    code = 0
    first = True
    for info in result.get("units", []):
        if info.get("load_state") == "not-found" and not info.get("processes"):
            sys.stderr.write(f"Unit {info['unit']} could not be found.\n")
            code = max(code, 4)
            continue
        if not first:
            sys.stdout.write("\n")
        first = False
        sys.stdout.write("".join(f"{line}\n" for line in render_status(info)))
        if info.get("active") not in ("active", "reloading"):
            code = max(code, 3)
        if opts["lines"] > 0:
            sys.stdout.write("\n")
            sys.stdout.flush()
            _journal_tail(opts, info["unit"])
    return code


def _journal_tail(opts: dict[str, Any], unit: str) -> None:
    from pidone.cli import journal

    argv = ["-u", unit, "-n", str(opts["lines"]), "--no-pager", "-q"]
    if opts["runtime_dir"]:
        argv += ["--runtime-dir", opts["runtime_dir"]]
    journal.main(argv)
