"""Control-socket verbs for socket and timer units: `list-sockets` and `list-timers`.

Both take `{"all": bool, "patterns": [...]}` and answer rows the CLI renders with
core.render.sockets / core.render.timers, as systemctl 252 does it: a unit is listed when
it is loaded, not inactive or with a job unless `all` (output_show_unit()), and matches one
of the shell patterns if any are given (fnmatch on the unit name).
- list-sockets: `{"sockets": [[listen, type, unit, [activates...]], ...]}`;
- list-timers: `{"timers": [[unit, [activates...], next_usec, last_usec], ...],
  "now": realtime µs}` (times are CLOCK_REALTIME µs, 0 = none).

`trigger-detail {units}` answers, per unit, what `status` shows of a socket or timer
beyond its state (`trigger_detail()`; {} for other units). `show_extras()` is what
`show-runtime` (daemon.verbs) adds for `show`: the unit's relations in the dependency graph
and a socket's or timer's own runtime properties.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

from pidone.core.hints import TYPE_CHECKING, Any
from pidone.core.protocol import Response
from pidone.core.triggering import Now
from pidone.daemon.control import Call, Verb
from pidone.daemon.executor import now_usec
from pidone.daemon.triggerio import realtime_usec

if TYPE_CHECKING:
    from pidone.core.render.sockets import SocketRow
    from pidone.core.render.timers import TimerRow
    from pidone.core.socketunit import SocketMachine
    from pidone.core.timerunit import TimerMachine
    from pidone.daemon.main import Daemon


# The row builders (core.render.sockets/timers) load with the first socket or timer shown:
# a daemon that is never asked about one does not hold them.


def socket_rows(machine: SocketMachine) -> list[SocketRow]:
    from pidone.core.render.sockets import socket_rows as rows

    return rows(machine)


def timer_row(machine: TimerMachine, now: Now) -> TimerRow:
    from pidone.core.render.timers import timer_row as row

    return row(machine, now)


def _listed(daemon: Daemon, unit: str, call: Call) -> bool:
    manager = daemon.manager
    inactive = manager.active_state(unit) == "inactive" and unit not in manager.jobs
    if inactive and not call.args.get("all"):
        return False
    patterns = call.args.get("patterns") or []
    if not isinstance(patterns, list):
        return False
    return not patterns or any(fnmatch.fnmatchcase(unit, str(p)) for p in patterns)


def _list_sockets(daemon: Daemon) -> Callable[[Call], Response | None]:
    def handle(call: Call) -> Response | None:
        hub = daemon.manager.triggers
        rows: list[list[Any]] = []
        for name in sorted(hub.sockets):
            if not _listed(daemon, name, call):
                continue
            for row in socket_rows(hub.sockets[name]):
                rows.append([row.listen, row.type, row.unit, list(row.activates)])
        return Response.success(call.request.id, {"sockets": rows})

    return handle


def _list_timers(daemon: Daemon) -> Callable[[Call], Response | None]:
    def handle(call: Call) -> Response | None:
        hub = daemon.manager.triggers
        now = Now(realtime_usec(), now_usec())
        rows: list[list[Any]] = []
        for name in sorted(hub.timers):
            if not _listed(daemon, name, call):
                continue
            row = timer_row(hub.timers[name], now)
            rows.append([row.unit, list(row.activates), row.next_elapse, row.last_trigger])
        return Response.success(call.request.id, {"timers": rows, "now": now.realtime})

    return handle


def trigger_detail(daemon: Daemon, unit_id: str) -> dict[str, Any]:
    """What `status` shows of a socket or timer beyond its state ({} for other units):
    `next_elapse_usec` (a timer's Trigger: line, realtime µs, 0 = n/a) and `listen`
    ([[type, address], ...]: a socket's Listen: lines, e.g. ["Stream", "/run/foo.sock"]),
    and an Accept=yes socket's `accept_counts` ([accepted, connected, refused])."""
    hub = daemon.manager.triggers
    timer = hub.timers.get(unit_id)
    if timer is not None:
        row = timer_row(timer, Now(realtime_usec(), now_usec()))
        return {"next_elapse_usec": row.next_elapse}
    sock = hub.sockets.get(unit_id)
    if sock is not None:
        detail: dict[str, Any] = {"listen": [[row.type, row.listen] for row in socket_rows(sock)]}
        if sock.config.accept:  # the `Accepted: N; Connected: M;` line
            detail["accept_counts"] = [sock.n_accepted, sock.n_connections, sock.n_refused]
        return detail
    return {}


def show_extras(daemon: Daemon, unit_id: str) -> dict[str, Any]:
    """Keys of core.render.show.RuntimeState beyond the manager's snapshot, plus `relations`
    (property -> [unit, ...], every relation both ways as DepGraph.relations() gives it):
    - a timer: `timer_values` ([[base, usec or calendar text, next_elapse], ...] in the
      machine's order), `next_elapse` and `last_trigger` ([realtime, monotonic] µs) and its
      own `result`;
    - a socket: `n_connections`, `n_accepted`, `n_refused` and its own `result`;
    - a path: its own `result`.
    An Accept=yes connection's instance is After= and TriggeredBy= its socket, which is
    Before= and Triggers= it while it is loaded (socket_enter_running() adds them at run
    time: oracle, tests/data/oracle/capture-accept-sockets-252.md)."""
    out: dict[str, Any] = {}
    graph = daemon.manager.graph
    relations: dict[str, list[str]] = {}
    if unit_id in graph.units:
        relations = {k: list(v) for k, v in graph.relations(unit_id).items()}
    if unit_id.endswith(".slice"):  # SliceOf=: the loaded units placed in this slice,
        # its child slices among them (slice_add_parent_slice() uses unit_set_slice())
        from pidone.core.cgroupunit import parent_slice

        members = [
            u.id
            for u in daemon.manager.units.values()
            if (parent_slice(u.id) if u.type == "slice" else u.slice) == unit_id
        ]
        if members:
            relations["SliceOf"] = members
    hub = daemon.manager.triggers
    for name, s in hub.sockets.items():
        if s.config.accept and unit_id in s.instances:
            for key in ("After", "TriggeredBy"):
                if name not in relations.setdefault(key, []):
                    relations[key].append(name)
            described = daemon.manager.description(unit_id, "")
            if described:
                out["description"] = described  # "Description (PEER)"
    accepting = hub.sockets.get(unit_id)
    if accepting is not None and accepting.config.accept:
        for instance in sorted(accepting.instances):
            for key in ("Before", "Triggers"):
                if instance not in relations.setdefault(key, []):
                    relations[key].append(instance)
    if relations:
        out["relations"] = relations
    timer = hub.timers.get(unit_id)
    if timer is not None:
        out["timer_values"] = [
            [v.base, v.calendar.text if v.calendar is not None else v.usec, v.next_elapse]
            for v in timer.values
        ]
        out["next_elapse"] = [timer.next_elapse_realtime, timer.next_elapse_monotonic]
        out["last_trigger"] = list(timer.last_trigger)
        out["result"] = timer.result.value
    sock = hub.sockets.get(unit_id)
    if sock is not None:
        out["n_connections"] = sock.n_connections
        out["n_accepted"] = sock.n_accepted
        out["n_refused"] = sock.n_refused
        out["result"] = sock.result.value
    path = hub.paths.get(unit_id)
    if path is not None:
        out["result"] = path.result.value
    return out


def _trigger_detail(daemon: Daemon) -> Callable[[Call], Response | None]:
    def handle(call: Call) -> Response | None:
        names = call.args.get("units") or []
        if not isinstance(names, list):
            return Response.failure(call.request.id, "bad-argument", "'units' must be a list")
        out = []
        for name in names:
            unit = daemon.units.get(str(name))
            out.append(trigger_detail(daemon, unit.id) if unit is not None else {})
        return Response.success(call.request.id, {"units": out})

    return handle


def trigger_verbs(daemon: Daemon) -> dict[str, Verb]:
    """The verbs of this module, for daemon.verbs.build_verbs()."""
    return {
        "list-sockets": Verb(_list_sockets(daemon), mutating=False),
        "list-timers": Verb(_list_timers(daemon), mutating=False),
        "trigger-detail": Verb(_trigger_detail(daemon), mutating=False),
    }
