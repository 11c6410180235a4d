"""`systemctl list-sockets` as systemd 252 prints it, and a socket's runtime show values.

Pure. One row per listening address (src/systemctl/systemctl-list-units.c
output_sockets_list()): LISTEN (the address as `Listen=` prints it: `[::]:80`,
`/run/foo.sock`, `@name`), TYPE (only with --show-types: Stream, Datagram,
SequentialPacket, FIFO, Special), UNIT, ACTIVATES (the socket's Triggers=: `-` when none,
several on several lines). Rows sort by address, then type, by plain byte comparison
(socket_info_compare()). Footer: a blank line, `N sockets listed.`, and without --all
`Pass --all to see loaded but inactive sockets, too.`
"""

from __future__ import annotations

from collections.abc import Sequence

from pidone.core.dataclass_lite import dataclass
from pidone.core.listen import KIND_LABELS, format_listen
from pidone.core.render.fmttable import format_table
from pidone.core.socketunit import SocketMachine


@dataclass(frozen=True, slots=True)
class SocketRow:
    listen: str
    type: str
    unit: str
    activates: tuple[str, ...]


def socket_rows(machine: SocketMachine) -> list[SocketRow]:
    """One row per Listen*= line of a socket machine."""
    triggers = tuple(machine.triggers())
    return [
        SocketRow(format_listen(spec), KIND_LABELS[spec.kind], machine.name, triggers)
        for spec in machine.config.listen
    ]


def format_list_sockets(
    rows: Sequence[SocketRow],
    show_all: bool = False,
    show_types: bool = False,
    legend: bool = True,
) -> str:
    """The whole output, ending with a newline. `rows` are already filtered (without --all
    only sockets that are not inactive or have a job)."""
    ordered = sorted(rows, key=lambda r: (r.listen.encode(), r.type.encode()))
    header = (
        ("listen", "type", "unit", "activates") if show_types else ("listen", "unit", "activates")
    )
    cells = []
    for r in ordered:
        activates = "\n".join(r.activates)
        cells.append(
            (r.listen, r.type, r.unit, activates) if show_types else (r.listen, r.unit, activates)
        )
    lines = format_table(header, cells, legend)
    if legend:
        lines += ["", f"{len(rows)} sockets listed."]
        if not show_all:
            lines.append("Pass --all to see loaded but inactive sockets, too.")
    return "".join(line + "\n" for line in lines)


def socket_runtime_properties(machine: SocketMachine) -> dict[str, str]:
    """Values of `systemctl show` a socket machine knows (override render.show's static
    ones): ControlPID, Result, NConnections, NAccepted, NRefused, and Triggers."""
    return {
        "ControlPID": str(machine.control_pid),
        "Result": machine.result.value,
        "NConnections": str(machine.n_connections),
        "NAccepted": str(machine.n_accepted),
        "NRefused": str(machine.n_refused),
        "Triggers": " ".join(machine.triggers()),
    }
