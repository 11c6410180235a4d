"""`pidone list-sockets` and `pidone list-timers`: the daemon's rows in systemctl 252's layout.

Options as systemctl takes them: `-a/--all` (inactive units too), `--no-legend`,
`--show-types` (list-sockets), `--runtime-dir DIR`, and shell patterns matched against
unit names. The rows come from the daemon (daemon/verbs_triggers.py); the text is
core.render.sockets / core.render.timers. Times print in the local zone, as systemctl does.
"""

from __future__ import annotations

import sys
from typing import Any

from pidone.cli import client

_FLAGS = {"-a": "all", "--all": "all", "--no-legend": "no_legend", "--show-types": "show_types"}
_IGNORED = {"--no-pager", "-l", "--full", "--system"}


class _Usage(Exception):
    pass


def _parse(argv: list[str], verb: str) -> tuple[dict[str, Any], list[str]]:
    opts: dict[str, Any] = {"all": False, "no_legend": False, "show_types": False}
    opts["runtime_dir"] = None
    patterns: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        name, eq, value = arg.partition("=")
        if arg in _FLAGS and (arg != "--show-types" or verb == "list-sockets"):
            opts[_FLAGS[arg]] = True
        elif arg in _IGNORED:
            continue
        elif name == "--runtime-dir":
            if not eq:
                if i >= len(argv):
                    raise _Usage("option '--runtime-dir' requires an argument")
                value = argv[i]
                i += 1
            opts["runtime_dir"] = value
        elif arg.startswith("-") and arg != "-":
            raise _Usage(f"{verb}: unrecognized option '{arg}'")
        else:
            patterns.append(arg)
    return opts, patterns


def _ask(verb: str, argv: list[str]) -> tuple[dict[str, Any], dict[str, Any]] | int:
    try:
        opts, patterns = _parse(argv, verb)
    except _Usage as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    try:
        answer = client.call(
            verb, runtime_dir=opts["runtime_dir"], all=opts["all"], patterns=patterns
        )
    except client.ClientError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    return opts, answer if isinstance(answer, dict) else {}


def list_sockets_main(argv: list[str]) -> int:
    """`list-sockets [PATTERN...]`: LISTEN [TYPE] UNIT ACTIVATES."""
    from pidone.core.render.sockets import SocketRow, format_list_sockets

    asked = _ask("list-sockets", argv)
    if isinstance(asked, int):
        return asked
    opts, answer = asked
    rows = [
        SocketRow(str(r[0]), str(r[1]), str(r[2]), tuple(str(a) for a in r[3]))
        for r in answer.get("sockets", [])
    ]
    text = format_list_sockets(rows, opts["all"], opts["show_types"], not opts["no_legend"])
    sys.stdout.write(text)
    return 0


def list_timers_main(argv: list[str]) -> int:
    """`list-timers [PATTERN...]`: NEXT LEFT LAST PASSED UNIT ACTIVATES."""
    from pidone.core.render.timers import TimerRow, format_list_timers

    asked = _ask("list-timers", argv)
    if isinstance(asked, int):
        return asked
    opts, answer = asked
    rows = [
        TimerRow(str(r[0]), tuple(str(a) for a in r[1]), int(r[2]), int(r[3]))
        for r in answer.get("timers", [])
    ]
    now = int(answer.get("now", 0))
    sys.stdout.write(format_list_timers(rows, now, None, opts["all"], not opts["no_legend"]))
    return 0
