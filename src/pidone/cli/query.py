"""State queries of the CLI: is-active, is-failed, list-units, status (spec 06 §3, §4).

is-active is on the hot path of scripts, so this module imports only cli.client (the
control client on `_socket` and `_json`, no `socket`/`json`/`re`) and cli.jobs (which uses
the same) at start-up. list-units and status are cli.status's (systemd 252's full layout,
-o json); they are imported only when they run.
"""

from __future__ import annotations

import sys

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
    """`pidone list-units`: see cli.status.list_units_main."""
    from pidone.cli.status import list_units_main as run

    return run(argv)


def status_main(argv: list[str]) -> int:
    """`pidone status [UNIT|PID...]`: see cli.status.status_main."""
    from pidone.cli.status import status_main as run

    return run(argv)
