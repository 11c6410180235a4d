"""Path units: [Path] parsing and the pure machine (core.pathunit, systemd 252 path.c)."""

from __future__ import annotations

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.pathseam import (
    MakePathDirectories,
    PathEvent,
    PathsChecked,
    UnwatchPaths,
    WatchPaths,
    build_path_config,
)
from pidone.core.pathunit import PathMachine
from pidone.core.triggering import (
    Now,
    StartFailed,
    StartUnit,
    TriggeredUnitChanged,
    TriggerRefused,
)
from tests.core.unitbuild import unit_from_bytes

T0 = Now(1_700_000_000_000_000, 5_000_000)


def machine(body: bytes, name: str = "p.path") -> PathMachine:
    return PathMachine(build_path_config(unit_from_bytes(name, body)))


def states(actions: list[object]) -> list[str]:
    return [a.new_sub for a in actions if isinstance(a, act.StateChanged)]


def of(kind: type, actions: list[object]) -> list[object]:
    return [a for a in actions if isinstance(a, kind)]


# --- parsing ---------------------------------------------------------------------------------


def test_specs_in_file_order_simplified_and_an_empty_value_clears_them() -> None:
    unit = unit_from_bytes(
        "p.path",
        b"[Path]\nPathExists=/run/a//b/\nPathChanged=/etc/x\nPathExists=\n"
        b"DirectoryNotEmpty=/var/spool/q/./in\nPathModified=/etc/%N.conf\n"
        b"PathExistsGlob=/dev/tty*\nMakeDirectory=yes\nDirectoryMode=0700\n"
        b"TriggerLimitBurst=3\nTriggerLimitIntervalSec=5s\nUnit=other.service\n",
    )
    assert unit.load_state == "loaded"
    assert unit.path is not None
    assert unit.path.specs == [
        ("DirectoryNotEmpty", "/var/spool/q/in"),
        ("PathModified", "/etc/p.conf"),
        ("PathExistsGlob", "/dev/tty*"),
    ]
    config = build_path_config(unit)
    assert (config.target, config.make_directory, config.directory_mode) == (
        "other.service",
        True,
        0o700,
    )
    assert (config.trigger_limit_burst, config.trigger_limit_interval_usec) == (3, 5_000_000)
    # path_add_trigger_dependencies(): Before= the unit it triggers
    assert "other.service" in unit.unit.before
    assert "/var/spool/q/in" in unit.unit.requires_mounts_for


def test_relative_path_is_ignored_and_no_path_at_all_refuses_the_unit() -> None:
    unit = unit_from_bytes("p.path", b"[Path]\nPathExists=run/x\n")
    messages = [d.message for d in unit.diagnostics]
    assert "PathExists= path is not absolute, ignoring: run/x" in messages
    assert unit.load_state == "bad-setting"
    assert unit.load_error == "Path unit lacks path setting. Refusing."


def test_target_defaults_to_the_service_of_the_same_name() -> None:
    config = build_path_config(unit_from_bytes("cups.path", b"[Path]\nPathExists=/x\n"))
    assert config.target == "cups.service"


# --- the machine ------------------------------------------------------------------------------


def test_start_watches_and_waits_then_a_path_that_holds_starts_the_unit() -> None:
    m = machine(b"[Path]\nPathExists=/run/flag\n")
    out = m.handle(ev.StartRequested("p.path"), T0)
    assert of(WatchPaths, out) == [WatchPaths("p.path", (("PathExists", "/run/flag"),), True)]
    assert states(out) == []  # path_start() checks and watches before it returns: the answer
    out = m.handle(PathsChecked("p.path"), T0)  # nothing holds: waiting ends the start job
    assert states(out) == ["waiting"]
    assert m.handle(PathsChecked("p.path"), T0) == []  # a later empty answer: still waiting
    out = m.handle(PathEvent("p.path"), T0)  # inotify: check again
    assert of(WatchPaths, out) == [WatchPaths("p.path", (("PathExists", "/run/flag"),))]
    out = m.handle(PathsChecked("p.path", "/run/flag"), T0)
    start = of(StartUnit, out)
    assert start == [
        StartUnit(
            "p.path", "p.service", (("TRIGGER_UNIT", "p.path"), ("TRIGGER_PATH", "/run/flag"))
        )
    ]
    assert of(UnwatchPaths, out) == [UnwatchPaths("p.path")]
    assert states(out) == ["running"]
    assert m.active_state == "active"


def test_running_goes_back_to_checking_when_the_unit_stops_and_waits_while_it_runs() -> None:
    m = machine(b"[Path]\nPathExists=/run/flag\n")
    m.handle(ev.StartRequested("p.path"), T0)
    m.handle(PathsChecked("p.path", "/run/flag"), T0)
    # a job still queued: nothing (path_trigger_notify())
    assert m.handle(TriggeredUnitChanged("p.path", "p.service", "active", has_job=True), T0) == []
    assert m.handle(TriggeredUnitChanged("p.path", "p.service", "active", "running"), T0) == []
    out = m.handle(TriggeredUnitChanged("p.path", "p.service", "inactive", "dead"), T0)
    assert of(WatchPaths, out) == [
        WatchPaths("p.path", (("PathExists", "/run/flag"),), False, True)
    ]
    assert states(m.handle(PathsChecked("p.path"), T0)) == ["waiting"]
    # the unit started by other means while waiting: the path is running, unwatched
    out = m.handle(TriggeredUnitChanged("p.path", "p.service", "active", "running"), T0)
    assert states(out) == ["running"]
    assert of(UnwatchPaths, out) == [UnwatchPaths("p.path")]
    assert of(StartUnit, out) == []


def test_changed_event_starts_at_once_and_make_directory_skips_exists_kinds() -> None:
    m = machine(
        b"[Path]\nPathChanged=/etc/x.conf\nDirectoryNotEmpty=/var/q\nPathExists=/run/e\n"
        b"MakeDirectory=yes\n"
    )
    out = m.handle(ev.StartRequested("p.path"), T0)
    assert of(MakePathDirectories, out) == [
        MakePathDirectories("p.path", ("/etc/x.conf", "/var/q"), 0o755)
    ]
    m.handle(PathsChecked("p.path"), T0)
    out = m.handle(PathEvent("p.path", "/etc/x.conf"), T0)
    (start,) = of(StartUnit, out)
    assert isinstance(start, StartUnit)
    assert start.env == (("TRIGGER_UNIT", "p.path"), ("TRIGGER_PATH", "/etc/x.conf"))
    assert states(out) == ["running"]


def test_trigger_limit_fails_the_path() -> None:
    m = machine(b"[Path]\nPathExists=/run/flag\nTriggerLimitBurst=2\nTriggerLimitIntervalSec=10s\n")
    m.handle(ev.StartRequested("p.path"), T0)
    for _ in range(2):
        assert of(StartUnit, m.handle(PathsChecked("p.path", "/run/flag"), T0))
        m.handle(TriggeredUnitChanged("p.path", "p.service", "inactive", "dead"), T0)
    out = m.handle(PathsChecked("p.path", "/run/flag"), T0)
    assert of(StartUnit, out) == []
    logs = [a.message for a in out if isinstance(a, act.Log)]
    assert "p.path: Trigger limit hit, refusing further activation." in logs
    assert "p.path: Failed with result 'trigger-limit-hit'." in logs
    assert states(out) == ["failed"]
    assert m.result.value == "trigger-limit-hit"
    # a window later, a new start may trigger again
    later = Now(T0.realtime + 11_000_000, T0.monotonic + 11_000_000)
    m.handle(ev.ResetFailedRequested("p.path"), later)
    m.handle(ev.StartRequested("p.path"), later)
    assert of(StartUnit, m.handle(PathsChecked("p.path", "/run/flag"), later))


def test_unit_start_limit_refusal_and_watch_error_fail_the_path() -> None:
    m = machine(b"[Path]\nPathExists=/run/flag\n")
    m.handle(ev.StartRequested("p.path"), T0)
    m.handle(PathsChecked("p.path", "/run/flag"), T0)
    out = m.handle(
        TriggeredUnitChanged("p.path", "p.service", "failed", "failed", start_limit_hit=True), T0
    )
    assert states(out) == ["failed"]
    assert m.result.value == "unit-start-limit-hit"

    m = machine(b"[Path]\nPathExists=/run/flag\n")
    m.handle(ev.StartRequested("p.path"), T0)
    out = m.handle(PathsChecked("p.path", error="Permission denied"), T0)
    assert states(out) == ["failed"]
    assert m.result.value == "resources"

    m = machine(b"[Path]\nPathExists=/run/flag\n")
    m.handle(ev.StartRequested("p.path"), T0)
    out = m.handle(PathsChecked("p.path", "/run/flag"), T0)
    out = m.handle(TriggerRefused("p.path", "p.service", "Unit p.service is masked."), T0)
    logs = [a.message for a in out if isinstance(a, act.Log)]
    assert "p.path: Failed to queue unit startup job: Unit p.service is masked." in logs
    assert m.result.value == "resources"


def test_stop_unwatches_and_a_late_answer_is_ignored() -> None:
    m = machine(b"[Path]\nPathExists=/run/flag\n")
    m.handle(ev.StartRequested("p.path"), T0)
    m.handle(PathsChecked("p.path"), T0)
    out = m.handle(ev.StopRequested("p.path"), T0)
    assert of(UnwatchPaths, out) == [UnwatchPaths("p.path")]
    assert states(out) == ["dead"]
    assert m.handle(PathsChecked("p.path", "/run/flag"), T0) == []
    assert m.handle(PathEvent("p.path", "/run/flag"), T0) == []
    # stopped before the start's answer: still dead, and the answer is dropped
    m.handle(ev.StartRequested("p.path"), T0)
    out = m.handle(ev.StopRequested("p.path"), T0)
    assert (of(UnwatchPaths, out), states(out)) == ([UnwatchPaths("p.path")], [])
    assert m.handle(PathsChecked("p.path", "/run/flag"), T0) == []
    assert m.state.value == "dead"


def test_a_watch_that_cannot_be_made_fails_the_start_itself() -> None:
    """systemd 252 (tests/data/oracle/capture-triggers-252.md, iv-notdir.path with
    PathExists=/etc/hostname/x): path_start() fails the job: "Failed to enter waiting
    state: Not a directory" (ERRNO=20), "Failed with result 'resources'", dead -> failed
    without passing through waiting; again from failed, the job fails the same way."""
    m = machine(b"[Path]\nPathExists=/etc/hostname/x\n")
    m.handle(ev.StartRequested("p.path", "ab" * 16), T0)
    out = m.handle(PathsChecked("p.path", error="Not a directory", errno=20), T0)
    logs = [(a.message, a.priority, dict(a.fields)) for a in out if isinstance(a, act.Log)]
    assert logs == [
        (
            "p.path: Failed to enter waiting state: Not a directory",
            act.LOG_WARNING,
            {"ERRNO": "20", "INVOCATION_ID": "ab" * 16},
        ),
        (
            "p.path: Failed with result 'resources'.",
            act.LOG_WARNING,
            {"UNIT_RESULT": "resources", "INVOCATION_ID": "ab" * 16},
        ),
    ]
    assert states(out) == ["failed"]
    assert of(StartFailed, out) == []  # dead -> failed ends the start job by itself
    m.handle(ev.StartRequested("p.path", "cd" * 16), T0)
    out = m.handle(PathsChecked("p.path", error="Not a directory", errno=20), T0)
    assert states(out) == []  # failed -> failed: no state change, so the job is told
    assert of(StartFailed, out) == [StartFailed("p.path")]
    assert (m.result.value, m.invocation_id) == ("resources", "cd" * 16)


def test_invocation_id_is_taken_at_a_real_start_and_kept() -> None:
    m = machine(b"[Path]\nPathExists=/run/flag\n")
    m.handle(ev.StartRequested("p.path", "11" * 16), T0)
    m.handle(PathsChecked("p.path"), T0)
    m.handle(ev.StartRequested("p.path", "22" * 16), T0)  # already active: no new start
    assert m.invocation_id == "11" * 16
    out = m.handle(ev.StopRequested("p.path"), T0)
    logs = [dict(a.fields) for a in out if isinstance(a, act.Log)]
    assert logs == [{"INVOCATION_ID": "11" * 16}]  # "Deactivated successfully."
    assert m.invocation_id == "11" * 16  # kept until the next start


def test_show_lists_the_path_properties_in_systemd_order() -> None:
    """Captured from systemd 252 (`systemctl show h1p.path`, PathExists=/run/h1flag)."""
    from pidone.core.render.show import RuntimeState, unit_properties

    unit = unit_from_bytes(
        "h1p.path", b"[Path]\nPathExists=/run/h1flag\nPathChanged=/etc/h1.conf\n"
    )
    props = unit_properties(unit, RuntimeState(result="trigger-limit-hit"))
    assert props[:8] == [
        ("Unit", "h1p.service"),
        ("Paths", "/run/h1flag (PathExists)"),
        ("Paths", "/etc/h1.conf (PathChanged)"),
        ("MakeDirectory", "no"),
        ("DirectoryMode", "0755"),
        ("Result", "trigger-limit-hit"),
        ("TriggerLimitIntervalUSec", "2s"),
        ("TriggerLimitBurst", "200"),
    ]
    assert props[8] == ("Id", "h1p.path")
    # unset exit statuses (-1) are left out, as systemctl does (printed empty with --all)
    from pidone.core.render.show import render_show

    lines = render_show(props)
    assert not [line for line in lines if "ActionExitStatus" in line]
    assert "FailureActionExitStatus=" in render_show(props, show_all=True)


def test_a_path_started_while_its_unit_runs_is_running_at_once() -> None:
    """path_enter_waiting(): the triggered unit is active, so no check and no watch (the
    manager tells a starting path its unit's state, as it tells a starting socket)."""
    m = machine(b"[Path]\nPathExists=/run/flag\n")
    assert m.handle(TriggeredUnitChanged("p.path", "p.service", "active", "running"), T0) == []
    out = m.handle(ev.StartRequested("p.path"), T0)
    assert states(out) == ["running"]
    assert of(WatchPaths, out) == []
    out = m.handle(TriggeredUnitChanged("p.path", "p.service", "inactive", "dead"), T0)
    assert of(WatchPaths, out) == [
        WatchPaths("p.path", (("PathExists", "/run/flag"),), False, True)
    ]
