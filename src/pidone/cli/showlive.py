"""`show` with the manager's runtime state: cli.show's renderer fed through its RuntimeSource
seam with the daemon's `show-runtime` answer (MainPID, ExecMain*, timestamps, Result...).

With no daemon answering, the systemctl shim refuses (as real systemctl does) and `pidone
show` stays offline (cli.show.main).
"""

from __future__ import annotations

import sys
from typing import Any

from pidone.cli import client
from pidone.core.dataclass_lite import fields


def runtime_state(answer: dict[str, Any]) -> Any:  # noqa: ANN401 - core.render.show.RuntimeState
    """RuntimeState from one `show-runtime` entry (JSON lists -> tuples, unknown keys dropped)."""
    from pidone.core.render.show import RuntimeState

    known = {f.name for f in fields(RuntimeState)}
    kwargs: dict[str, Any] = {}
    for key, value in answer.items():
        if key not in known:
            continue
        kwargs[key] = _tuples(value)
    return RuntimeState(**kwargs)


def _tuples(value: Any) -> Any:  # noqa: ANN401 - JSON value
    """JSON lists -> tuples, nested too (timer_values is a list of lists)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _split_runtime_dir(argv: list[str]) -> tuple[str | None, list[str]]:
    """(`--runtime-dir` value, the other arguments): cli.show does not know the option."""
    runtime_dir = None
    rest: list[str] = []
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg == "--runtime-dir" and index + 1 < len(argv):
            runtime_dir, skip = argv[index + 1], True
        elif arg.startswith("--runtime-dir="):
            runtime_dir = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return runtime_dir, rest


def main(argv: list[str]) -> int:
    """`show` through the daemon: same options as cli.show, runtime properties live."""
    from pidone.cli import show

    runtime_dir, rest = _split_runtime_dir(argv)
    try:
        opts = show.parse_args(rest)
    except show._Usage as exc:  # cli.show's own usage error type
        sys.stderr.write(f"{exc}\n")
        return 1
    if not opts.units:
        sys.stderr.write("pidone show: the manager's own properties are not implemented\n")
        return 1
    try:
        conn = client.connect(runtime_dir)
    except client.ClientError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code

    graph_relations: dict[str, dict[str, list[str]]] = {}

    def source(unit: Any) -> Any:  # noqa: ANN401 - Unit -> RuntimeState
        from pidone.cli.status import file_state, is_referenced
        from pidone.core.dataclass_lite import replace

        answer = conn.call("show-runtime", units=[unit.id]).get("units", [{}])
        entry = answer[0] if answer and answer[0] else {}
        rel = entry.get("relations")
        if isinstance(rel, dict):  # a stub of a unit not found keeps its reverse edges
            graph_relations[unit.id] = rel
        state = runtime_state(entry)
        ufs, preset = file_state(unit.id, unit.fragment_path)
        if (
            state.active_state == "inactive"
            and state.result == "success"
            and not state.main_pid
            and not state.control_pid
            and not is_referenced(ufs, unit=unit.id)
            and entry.get("referenced") is not True  # core.unittable rule 6
        ):
            # collected by 252 (core.statusview.looks_collected): shown as loaded afresh
            state = runtime_state({"tasks_current": state.tasks_current})
        if ufs in ("alias", "static", "generated", "transient", "masked"):
            preset = ""
        return replace(state, unit_file_state=ufs, unit_file_preset=preset)

    try:
        with conn:
            return show.show_units(
                opts, runtime=source, relations=lambda unit: graph_relations.get(unit.id)
            )
    except client.ClientError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    except BrokenPipeError:
        return 0


def pidone_main(argv: list[str]) -> int:
    """`pidone show`: the live properties when a daemon answers, else offline from the unit
    files (as `systemctl --root` would); the systemctl shim keeps systemctl's refusal."""
    from pidone.cli import show

    runtime_dir, offline = _split_runtime_dir(argv)
    if "--root" in argv or any(a.startswith("--root=") for a in argv):
        return show.main(offline)
    try:
        client.connect(runtime_dir).close()
    except client.ClientError:
        return show.main(offline)
    return main(argv)
