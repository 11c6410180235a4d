"""Golden tests: the status renderer fed with real systemd 252's `show` output for a unit
gives the text real 252's `status` printed for it (after normalize()).

Source: tests/data/oracle/capture-matrix-252.md (capture-matrix.sh under sd-oracle). For each
state, the process list and comm come from the captured CGroup tree and Main PID line (they
are /proc facts, not manager state) and the journal tail from the captured block; every
other line is rebuilt from the properties.
"""

from __future__ import annotations

import os
import re
import shlex
from datetime import UTC

import pytest

from pidone.core.render.status import (
    ManagerView,
    format_manager_status,
    format_status,
    is_not_found,
    status_exit_code,
)
from pidone.core.statusview import ProcessEntry, StatusView, view_from_properties
from tests.cli.oraclecap import (
    Capture,
    journal_tail,
    normalize,
    read_captures,
    show_pairs,
    status_comms,
    status_processes,
)

CAPTURE = "capture-matrix-252.md"
NOW = 1_800_000_000_000_000  # any: relative times are normalized away


def _captures() -> list[Capture]:
    return read_captures(CAPTURE)


def _states(caps: list[Capture]) -> dict[str, str]:
    out = {}
    for c in caps:
        parts = c.command.split()
        if parts[:2] == ["systemctl", "is-active"] and len(parts) == 3:
            out[parts[2]] = c.stdout.strip()
    return out


def _show_for(caps: list[Capture], unit: str) -> Capture:
    for c in caps:
        if c.command.startswith(f"systemctl show {unit} -p Id,"):
            return c
    raise LookupError(unit)


def view_for(caps: list[Capture], unit: str, status_text: str) -> StatusView:
    props, execs = show_pairs(_show_for(caps, unit).stdout)
    main, control = status_comms(status_text)
    return view_from_properties(
        props,
        exec_lines=execs,
        processes=status_processes(status_text),
        journal_lines=journal_tail(status_text),
        main_comm=main,
        control_comm=control,
        unit_states=_states(caps),
    )


def _single_status(caps: list[Capture]) -> list[Capture]:
    return [
        c
        for c in caps
        if c.section.startswith(("m-", "x-")) or c.section == "does-not-exist.service"
        if c.command.startswith("systemctl status ") and c.command.endswith(" --no-pager")
    ]


def _ids(caps: list[Capture]) -> list[str]:
    return [c.command.split()[2] for c in caps]


STATUS = _single_status(_captures())
EXTRA = _single_status(read_captures("capture-extra-252.md"))


def test_capture_has_the_state_matrix() -> None:
    assert set(_ids(EXTRA)) == {
        f"x-{n}.service" for n in ("cond", "assert", "until", "errno", "ignored")
    }
    units = set(_ids(STATUS))
    for unit in (
        "m-run.service",
        "m-exited.service",
        "m-fail-code.service",
        "m-fail-signal.service",
        "m-fail-timeout.service",
        "m-startlimit.service",
        "m-autorestart.service",
        "m-inactive.service",
        "m-masked.service",
        "does-not-exist.service",
        "m-sock.service",
        "m-timer.timer",
    ):
        assert unit in units


@pytest.mark.parametrize(
    ("name", "cap"),
    [(CAPTURE, c) for c in STATUS] + [("capture-extra-252.md", c) for c in EXTRA],
    ids=_ids(STATUS) + _ids(EXTRA),
)
def test_status_matches_252(name: str, cap: Capture) -> None:
    caps = read_captures(name)
    unit = cap.command.split()[2]
    view = view_for(caps, unit, cap.stdout)
    if view.status_errno:
        view = view._replace(status_errno_text=os.strerror(view.status_errno))
    if cap.exit_code == 4:
        assert is_not_found(view)
        assert status_exit_code([None]) == 4
        assert cap.stderr == f"Unit {unit} could not be found.\n"
        return
    assert not is_not_found(view)
    if unit == "m-timer.timer":
        # OnActiveSec= elapses on CLOCK_MONOTONIC; show prints NextElapseUSecRealtime= empty
        # and the monotonic value relative to boot, so the realtime needs the boot time,
        # which show does not give. Any future instant renders the same after normalize().
        assert view.next_elapse_usec == 0
        view = view._replace(next_elapse_usec=NOW + 3_600_000_000)
    # "now" a few seconds after the last state change, as when the capture was taken
    # (ages are normalized, but "ago" vs "left" for Until:/Trigger: is not)
    stamps = (view.active_enter_usec, view.inactive_enter_usec, view.inactive_exit_usec)
    now = max(stamps) + 5_000_000 if any(stamps) else NOW
    text = format_status(view, now_usec=now, tz=UTC)
    assert normalize(text) == normalize(cap.stdout)
    assert status_exit_code([view]) == cap.exit_code


def _variant(command: str) -> Capture:
    for c in _captures():
        if c.command == command:
            return c
    raise LookupError(command)


@pytest.mark.parametrize(
    ("command", "lines"),
    [
        ("systemctl status --no-pager -n 0 m-run.service", 0),
        ("systemctl status --no-pager --lines=2 m-run.service", 2),
    ],
)
def test_journal_line_count(command: str, lines: int) -> None:
    caps = _captures()
    full = next(c for c in STATUS if c.command.split()[2] == "m-run.service")
    view = view_for(caps, "m-run.service", full.stdout)
    got = format_status(view, now_usec=NOW, tz=UTC, lines=lines)
    assert normalize(got) == normalize(_variant(command).stdout)


def test_ascii_glyphs_under_lang_c() -> None:
    caps = _captures()
    cap = _variant(
        "env LANG=C systemctl status --no-pager m-fail-code.service m-run.service "
        "m-inactive.service"
    )
    blocks = []
    for unit in ("m-fail-code.service", "m-run.service", "m-inactive.service"):
        full = next(c for c in STATUS if c.command.split()[2] == unit)
        view = view_for(caps, unit, full.stdout)
        blocks.append(format_status(view, now_usec=NOW, tz=UTC, utf8=False))
    assert normalize("\n".join(blocks)) == normalize(cap.stdout)
    assert cap.exit_code == 3


def test_several_units_blank_line_and_exit_code() -> None:
    caps = _captures()
    cap = _variant(
        "systemctl status m-fail-code.service m-exited.service does-not-exist.service "
        "m-inactive.service --no-pager"
    )
    blocks = []
    views: list[StatusView | None] = []
    for unit in (
        "m-fail-code.service",
        "m-exited.service",
        "does-not-exist.service",
        "m-inactive.service",
    ):
        full = next(c for c in STATUS if c.command.split()[2] == unit)
        view = view_for(caps, unit, full.stdout)
        if is_not_found(view):
            views.append(None)
            continue
        views.append(view)
        blocks.append(format_status(view, now_usec=NOW, tz=UTC))
    assert normalize("\n".join(blocks)) == normalize(cap.stdout)
    # 252: a missing unit among others that are shown -> 3 (the "not running" code wins
    # once a block was printed); alone -> 4
    assert cap.exit_code == 3


def _tree_processes(text: str) -> list[ProcessEntry]:
    """Processes of a captured overview tree with their cgroup paths (depth from the indent)."""
    procs: list[ProcessEntry] = []
    path: list[str] = []
    lines = text.split("\n")
    start = lines.index("   CGroup: /") + 1
    for line in lines[start:]:
        m = re.match(r"^ {11}((?:[│ ] )*)(?:├─|└─)(.*)$", line)
        if not m:
            break
        depth = len(m.group(1)) // 2
        body = m.group(2)
        pid = re.match(r"^([0-9]+) (.*)$", body)
        if pid:
            group = "/".join(path[:depth])
            procs.append(
                ProcessEntry(int(pid.group(1)), tuple(shlex.split(pid.group(2))), "", group)
            )
        else:
            path[depth:] = [body]
    return procs


def test_manager_overview_matches_252() -> None:
    cap = _variant("systemctl status --no-pager")
    procs = _tree_processes(cap.stdout)
    assert len(procs) == 9
    view = ManagerView(
        hostname="sd-oracle",
        state="degraded",
        n_units=156,
        n_jobs=1,
        n_failed=7,
        since_usec=NOW - 5_000_000,
        version="252.38-1~deb12u1",
        processes=tuple(procs),
    )
    got = format_manager_status(view, now_usec=NOW, tz=UTC)
    assert normalize(got) == normalize(cap.stdout)
