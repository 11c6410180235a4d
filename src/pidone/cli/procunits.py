"""Process -> unit attribution from a running daemon, for `ps --unit` and `tree --units`.

The daemon answers the `pids` verb (daemon/verbs_procs.py) with every process it
tracks. This module is only imported when a unit column or grouping was asked for, and
costs one stat() when no daemon runs: no socket, no import of the client, unless the
control socket file exists. The answer is used only by a client in the daemon's PID
namespace (pid_namespaces(7): elsewhere the same process has another PID); any failure
(no daemon, an older daemon without the verb, a timeout, a malformed answer) means
"no answer", and the caller falls back to cgroup membership.
"""

from __future__ import annotations

import os
import stat

DEFAULT_RUNTIME_DIR = "/run/pidone"  # == daemon.paths.DEFAULT_RUNTIME_DIR
TIMEOUT = 2.0  # seconds: a wedged daemon must not hang `ps`


def control_socket(runtime_dir: str | None = None) -> str:
    directory = runtime_dir or os.environ.get("PIDONE_RUNTIME_DIR") or DEFAULT_RUNTIME_DIR
    return f"{directory}/control.sock"


def parse_answer(result: object, own_pidns: str) -> dict[int, str] | None:
    """{pid: unit} from a `pids` result, or None when it is malformed or comes from
    another PID namespace (or either side could not tell which namespace it is in)."""
    if not isinstance(result, dict):
        return None
    pidns = result.get("pidns")
    pairs = result.get("pids")
    if not isinstance(pidns, str) or not pidns or pidns != own_pidns:
        return None
    if not isinstance(pairs, list):
        return None
    out: dict[int, str] = {}
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2):
            return None
        pid, unit = pair
        if not isinstance(pid, int) or isinstance(pid, bool) or not isinstance(unit, str):
            return None
        out[pid] = unit
    return out


def read_daemon_units(runtime_dir: str | None = None) -> dict[int, str] | None:
    """{pid: unit} for every process a reachable daemon tracks, else None."""
    path = control_socket(runtime_dir)
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return None
    except OSError:
        return None
    try:
        own = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    from pidone.cli import client

    try:
        with client.Client(path, TIMEOUT) as conn:
            result = conn.call("pids")
    except client.ClientError:
        return None
    return parse_answer(result, own)
