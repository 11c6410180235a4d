"""An Accept=yes socket's status has systemctl's `Accepted: N; Connected: M;` line after
its Listen: lines (approx.socket, saned.socket); Accept=no sockets have none."""

from __future__ import annotations

from pidone.core.render.status import format_status
from pidone.core.statusview import StatusView, view_from_properties

NOW = 1_764_430_000_000_000


def _socket(counts: tuple[int, int, int] | None) -> StatusView:
    return StatusView(
        id="approx.socket",
        description="caching proxy server for Debian archive files",
        fragment_path="/lib/systemd/system/approx.socket",
        active_state="active",
        sub_state="listening",
        active_enter_usec=NOW - 5_000_000,
        listen=(("Stream", "[::]:9999"),),
        accept_counts=counts,
        control_group="/system.slice/approx.socket",
    )


def _lines(view: StatusView) -> list[str]:
    return format_status(view, now_usec=NOW, lines=0).splitlines()


def test_accepted_line_follows_listen() -> None:
    lines = _lines(_socket((2, 0, 0)))
    at = lines.index("     Listen: [::]:9999 (Stream)")
    assert lines[at + 1] == "   Accepted: 2; Connected: 0;"


def test_refused_connections_are_counted_on_the_same_line() -> None:
    assert "   Accepted: 7; Connected: 1;   Refused: 3" in _lines(_socket((7, 1, 3)))


def test_no_accepted_line_without_accept() -> None:
    assert not [line for line in _lines(_socket(None)) if "Accepted:" in line]


def test_from_show_properties() -> None:
    props = {
        "Id": "approx.socket",
        "Listen": "[::]:9999 (Stream)",
        "Accept": "yes",
        "NAccepted": "4",
        "NConnections": "1",
        "NRefused": "0",
        "ActiveState": "active",
        "SubState": "listening",
    }
    assert view_from_properties(props).accept_counts == (4, 1, 0)
    assert view_from_properties({**props, "Accept": "no"}).accept_counts is None


def test_a_stopped_socket_that_252_collected_counts_from_zero() -> None:
    """systemd 252 (tests/data/oracle/capture-triggers-252.md, iv-acc.socket): after 2
    connections and a stop, the unreferenced socket is collected, and status shows
    `Accepted: 0; Connected: 0;` with its Listen: line."""
    from pidone.core.statusview import as_collected, looks_collected

    stopped = _socket((2, 0, 0))._replace(active_state="inactive", sub_state="dead")
    assert looks_collected(stopped)
    lines = _lines(as_collected(stopped))
    assert "     Listen: [::]:9999 (Stream)" in lines
    assert "   Accepted: 0; Connected: 0;" in lines
    assert as_collected(_socket(None)).accept_counts is None
