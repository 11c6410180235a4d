"""The service transition table: (SubState, trigger, guard) -> step, row by row as systemd 252.

Read a row as a sentence: "in `state`, when `trigger` happens and `when` holds, do `step`
(recording `result` as the failure, if given) and log `log`". The first matching row wins,
so specific guards come before the fallback row of the same (state, trigger).
Steps are systemd's service_enter_*() procedures (src/core/service.c); a step may pass
through several states at once when a phase has nothing to do (rule 3 of core/service.py).
Kept apart from core/service.py only for size: the table is data, the rules live there.
"""

from __future__ import annotations

import enum

from pidone.core.dataclass_lite import dataclass
from pidone.core.servicestate import Result, SubState

S = SubState
R = Result


class Trigger(enum.Enum):
    """What happened, after core/service.py classified the event."""

    __hash__ = object.__hash__  # C, not Enum's Python (see servicestate.ActiveState)

    START = "start"
    STOP = "stop"
    RELOAD = "reload"
    RESET_FAILED = "reset-failed"
    SPAWNED = "spawned"
    SPAWN_FAILED = "spawn-failed"
    EXEC_OK = "exec-ok"
    MAIN_EXIT = "main-exit"
    CONTROL_EXIT = "control-exit"
    READY = "READY=1"
    RELOADING = "RELOADING=1"
    STOPPING = "STOPPING=1"
    PIDFILE_OK = "pidfile-ok"
    PIDFILE_MISSING = "pidfile-missing"
    TIMEOUT = "timeout"
    WATCHDOG = "watchdog"
    CGROUP_EMPTY = "cgroup-empty"
    BUS_NAME = "BusName= owner changed"


REQUESTS = frozenset({Trigger.START, Trigger.STOP, Trigger.RELOAD})


class Guard(enum.Enum):
    """Conditions a row may require; core/service.py evaluates them (`_guard`)."""

    __hash__ = object.__hash__  # C, not Enum's Python (see servicestate.ActiveState)

    ALWAYS = "always"
    CLEAN = "clean"  # the exit counted as success (0, SuccessExitStatus=, `-`, clean signal)
    MORE = "clean, more commands"  # another command of the same directive follows
    CONDITION_UNMET = "exit 1-254"  # ExecCondition= skip (spec 02 §3)
    SIMPLE = "Type=simple/idle, or dbus with its name (or no bus)"
    DBUS_READY = "Type=dbus, main known, name owned (or no bus)"
    DBUS_NAME_LOST = "Type=dbus, name not owned"
    EXEC = "Type=exec"
    NOTIFY = "Type=notify"
    ONESHOT_CLEAN = "Type=oneshot, clean"
    ONESHOT = "Type=oneshot"
    NOTIFY_FAILED = "Type=notify, failed"
    NOTIFY_NEVER_READY = "Type=notify, no RemainAfterExit= or NotifyAccess=main"
    EXIT_CGROUP_POPULATED = "ExitType=cgroup, processes left"
    NO_CONTROL = "no control process"
    NO_MAIN = "main process gone"
    NOTHING_LEFT = "main and control gone"
    AWAITING_PID_FILE = "waiting for PIDFile="
    PID_FILE_GIVE_UP = "waiting for PIDFile=, unit empty"
    NOTIFY_DEAD = "Type=notify, main and control gone"
    MODE_TERMINATE = "TimeoutFailureMode=terminate"
    MODE_ABORT = "TimeoutFailureMode=abort"
    MODE_KILL_SIGKILL = "TimeoutFailureMode=kill, SendSIGKILL=yes"
    SIGKILL = "SendSIGKILL=yes"


class Step(enum.Enum):
    """systemd's service_enter_*() procedures (and two bookkeeping-only steps)."""

    __hash__ = object.__hash__  # C, not Enum's Python (see servicestate.ActiveState)

    NOTHING = "nothing (remember, wait)"
    BEGIN = "start a run"
    START_PRE = "enter start-pre"
    START = "enter start"
    START_POST = "enter start-post"
    RUNNING = "enter running"
    STOP = "enter stop"
    STOP_WATCHDOG = "signal stop-watchdog"
    STOP_SIGTERM = "signal stop-sigterm"
    STOP_SIGKILL = "signal stop-sigkill"
    STOP_POST = "enter stop-post"
    FINAL_WATCHDOG = "signal final-watchdog"
    FINAL_SIGTERM = "signal final-sigterm"
    FINAL_SIGKILL = "signal final-sigkill"
    DEAD = "enter dead/failed/auto-restart"
    SET_DEAD = "set dead"
    NEXT_CONTROL = "run next control command"
    NEXT_MAIN = "run next ExecStart="
    RELOAD = "enter reload"
    RELOAD_DONE = "reload done"
    RELOAD_TIMEOUT = "kill reload, reload failed"
    RELOAD_BY_NOTIFY = "reload by notify"
    STOP_BY_NOTIFY = "stop by notify"
    FORKING_STARTED = "find main PID, enter start-post"
    START_POST_DONE = "find main PID, enter running"
    RESTART = "schedule restart job"


# Where each step lands when it does its own work (for the state diagram).
STEP_TARGET: dict[Step, SubState | None] = {
    Step.NOTHING: None,
    Step.BEGIN: S.CONDITION,
    Step.START_PRE: S.START_PRE,
    Step.START: S.START,
    Step.START_POST: S.START_POST,
    Step.RUNNING: S.RUNNING,
    Step.STOP: S.STOP,
    Step.STOP_WATCHDOG: S.STOP_WATCHDOG,
    Step.STOP_SIGTERM: S.STOP_SIGTERM,
    Step.STOP_SIGKILL: S.STOP_SIGKILL,
    Step.STOP_POST: S.STOP_POST,
    Step.FINAL_WATCHDOG: S.FINAL_WATCHDOG,
    Step.FINAL_SIGTERM: S.FINAL_SIGTERM,
    Step.FINAL_SIGKILL: S.FINAL_SIGKILL,
    Step.DEAD: S.FAILED,
    Step.SET_DEAD: S.DEAD,
    Step.NEXT_CONTROL: None,
    Step.NEXT_MAIN: None,
    Step.RELOAD: S.RELOAD,
    Step.RELOAD_DONE: S.RUNNING,
    Step.RELOAD_TIMEOUT: S.RUNNING,
    Step.RELOAD_BY_NOTIFY: S.RELOAD,
    Step.STOP_BY_NOTIFY: S.STOP_SIGTERM,
    Step.FORKING_STARTED: S.START_POST,
    Step.START_POST_DONE: S.RUNNING,
    Step.RESTART: None,
}


@dataclass(frozen=True, slots=True)
class Row:
    """One transition. `log` is logged (warning) with `{unit}: ` before it when it fires."""

    state: SubState
    trigger: Trigger
    step: Step
    when: Guard = Guard.ALWAYS
    result: Result | None = None
    log: str = ""


T = Trigger
G = Guard
St = Step
_RUNNING_STOP_ON = (S.CONDITION, S.START_PRE, S.START, S.START_POST, S.RELOAD, S.STOP_WATCHDOG)
_ALREADY_STOPPING = (
    S.STOP,
    S.STOP_SIGTERM,
    S.STOP_SIGKILL,
    S.STOP_POST,
    S.FINAL_WATCHDOG,
    S.FINAL_SIGTERM,
    S.FINAL_SIGKILL,
)
_KILLING = (S.STOP_WATCHDOG, S.STOP_SIGTERM, S.STOP_SIGKILL)
_FINAL = (S.FINAL_WATCHDOG, S.FINAL_SIGTERM, S.FINAL_SIGKILL)
_STARTING = (S.CONDITION, S.START_PRE, S.START, S.START_POST)
_TIMED_OUT = "{state} operation timed out."


def _start_timeouts(state: SubState) -> list[Row]:
    """service_dispatch_timer() for condition/start-pre/start/start-post."""
    what = _TIMED_OUT.format(state=state.value)
    return [
        Row(state, T.TIMEOUT, St.STOP_SIGTERM, G.MODE_TERMINATE, R.TIMEOUT, f"{what} Terminating."),
        Row(state, T.TIMEOUT, St.STOP_WATCHDOG, G.MODE_ABORT, R.TIMEOUT, f"{what} Aborting."),
        Row(state, T.TIMEOUT, St.STOP_SIGKILL, G.MODE_KILL_SIGKILL, R.TIMEOUT, f"{what} Killing."),
        Row(state, T.TIMEOUT, St.STOP_POST, G.ALWAYS, R.TIMEOUT, f"{what} Skipping SIGKILL."),
    ]


def _rows() -> tuple[Row, ...]:
    rows: list[Row] = [
        # --- requests (service_start(), service_stop(), service_reload()) ---
        Row(S.DEAD, T.START, St.BEGIN),
        Row(S.FAILED, T.START, St.BEGIN),
        *(Row(s, T.START, St.NOTHING) for s in _STARTING),  # "Already on it!"
        Row(S.RUNNING, T.STOP, St.STOP),
        Row(S.EXITED, T.STOP, St.STOP),
        *(Row(s, T.STOP, St.STOP_SIGTERM) for s in _RUNNING_STOP_ON),  # ExecStop= skipped
        Row(S.AUTO_RESTART, T.STOP, St.SET_DEAD),  # the pending restart is cancelled
        *(Row(s, T.STOP, St.NOTHING) for s in _ALREADY_STOPPING),
        Row(S.RUNNING, T.RELOAD, St.RELOAD),
        Row(S.EXITED, T.RELOAD, St.RELOAD),
        Row(S.FAILED, T.RESET_FAILED, St.SET_DEAD),
        # --- the ExecStart= process was forked (service_enter_start()) ---
        Row(S.START, T.SPAWNED, St.START_POST, G.SIMPLE),  # simple: started after fork
        Row(S.START, T.EXEC_OK, St.START_POST, G.EXEC),  # exec: started after execve()
        # --- a command could not be spawned ("Failed to run 'X' task: ...") ---
        Row(S.CONDITION, T.SPAWN_FAILED, St.DEAD, result=R.RESOURCES),
        Row(S.START_PRE, T.SPAWN_FAILED, St.DEAD, result=R.RESOURCES),
        Row(S.START, T.SPAWN_FAILED, St.STOP_SIGTERM, result=R.RESOURCES),
        Row(S.START_POST, T.SPAWN_FAILED, St.STOP, result=R.RESOURCES),
        Row(S.RELOAD, T.SPAWN_FAILED, St.RELOAD_DONE, result=R.RESOURCES),
        Row(S.STOP, T.SPAWN_FAILED, St.STOP_SIGTERM, result=R.RESOURCES),
        Row(S.STOP_POST, T.SPAWN_FAILED, St.FINAL_SIGTERM, result=R.RESOURCES),
        # --- the main process exited (service_sigchld_event(), main PID branch) ---
        Row(S.START, T.MAIN_EXIT, St.NEXT_MAIN, G.MORE),  # oneshot: next ExecStart=
        Row(S.START, T.MAIN_EXIT, St.START_POST, G.ONESHOT_CLEAN),
        Row(S.START, T.MAIN_EXIT, St.STOP_SIGTERM, G.ONESHOT),
        Row(S.START, T.MAIN_EXIT, St.STOP_SIGTERM, G.NOTIFY_FAILED),
        Row(S.START, T.MAIN_EXIT, St.STOP_SIGTERM, G.NOTIFY_NEVER_READY, R.PROTOCOL),
        Row(S.START, T.MAIN_EXIT, St.NOTHING, G.NOTIFY),  # READY=1 may still come from others
        Row(S.START, T.MAIN_EXIT, St.RUNNING),  # Type=exec died before execve()
        Row(S.RUNNING, T.MAIN_EXIT, St.NOTHING, G.EXIT_CGROUP_POPULATED),
        Row(S.RUNNING, T.MAIN_EXIT, St.RUNNING),  # clean: ExecStop= runs; unclean: it does not
        Row(S.START_POST, T.MAIN_EXIT, St.NOTHING),  # remembered until the command ends
        Row(S.RELOAD, T.MAIN_EXIT, St.NOTHING),
        Row(S.STOP, T.MAIN_EXIT, St.NOTHING),
        *(Row(s, T.MAIN_EXIT, St.STOP_POST, G.NO_CONTROL) for s in _KILLING),
        *(Row(s, T.MAIN_EXIT, St.NOTHING) for s in _KILLING),
        Row(S.STOP_POST, T.MAIN_EXIT, St.NOTHING),
        *(Row(s, T.MAIN_EXIT, St.DEAD, G.NO_CONTROL) for s in _FINAL),
        *(Row(s, T.MAIN_EXIT, St.NOTHING) for s in _FINAL),
        # --- a control process exited (service_sigchld_event(), control PID branch) ---
        Row(S.CONDITION, T.CONTROL_EXIT, St.NEXT_CONTROL, G.MORE),
        Row(S.CONDITION, T.CONTROL_EXIT, St.STOP_SIGTERM, G.CONDITION_UNMET, R.EXEC_CONDITION),
        Row(S.CONDITION, T.CONTROL_EXIT, St.START_PRE, G.CLEAN),
        Row(S.CONDITION, T.CONTROL_EXIT, St.STOP_SIGTERM),
        Row(S.START_PRE, T.CONTROL_EXIT, St.NEXT_CONTROL, G.MORE),
        Row(S.START_PRE, T.CONTROL_EXIT, St.START, G.CLEAN),
        Row(S.START_PRE, T.CONTROL_EXIT, St.STOP_SIGTERM),
        Row(S.START, T.CONTROL_EXIT, St.FORKING_STARTED, G.CLEAN),  # forking parent exited 0
        Row(S.START, T.CONTROL_EXIT, St.STOP_SIGTERM),
        Row(S.START_POST, T.CONTROL_EXIT, St.NEXT_CONTROL, G.MORE),
        Row(S.START_POST, T.CONTROL_EXIT, St.START_POST_DONE, G.CLEAN),
        Row(S.START_POST, T.CONTROL_EXIT, St.STOP_SIGTERM),  # main killed, ExecStop= skipped
        Row(S.RELOAD, T.CONTROL_EXIT, St.NEXT_CONTROL, G.MORE),
        Row(S.RELOAD, T.CONTROL_EXIT, St.RELOAD_DONE),  # unit stays running either way
        Row(S.STOP, T.CONTROL_EXIT, St.NEXT_CONTROL, G.MORE),
        Row(S.STOP, T.CONTROL_EXIT, St.STOP_SIGTERM),  # a failure skips the rest
        *(Row(s, T.CONTROL_EXIT, St.STOP_POST, G.NO_MAIN) for s in _KILLING),
        *(Row(s, T.CONTROL_EXIT, St.NOTHING) for s in _KILLING),
        Row(S.STOP_POST, T.CONTROL_EXIT, St.NEXT_CONTROL, G.MORE),
        Row(S.STOP_POST, T.CONTROL_EXIT, St.FINAL_SIGTERM),
        *(Row(s, T.CONTROL_EXIT, St.DEAD, G.NO_MAIN) for s in _FINAL),
        *(Row(s, T.CONTROL_EXIT, St.NOTHING) for s in _FINAL),
        # --- sd_notify (service_notify_message()) ---
        Row(S.START, T.READY, St.START_POST, G.NOTIFY),
        # --- Type=dbus: BusName= acquired or released (service_bus_name_owner_change()) ---
        Row(S.START, T.BUS_NAME, St.START_POST, G.DBUS_READY),
        Row(S.RUNNING, T.BUS_NAME, St.RUNNING, G.DBUS_NAME_LOST),  # not good any more: stop
        Row(S.RELOAD, T.READY, St.RUNNING, G.NO_CONTROL),
        Row(S.RUNNING, T.RELOADING, St.RELOAD_BY_NOTIFY),
        # STOPPING=1 acts in running only ("if (s->state == SERVICE_RUNNING)", systemd 252);
        # in reload it waits for service_enter_running() (frr's reload replaces watchfrr,
        # whose old instance says STOPPING=1 and the new one READY=1: last one wins).
        Row(S.RUNNING, T.STOPPING, St.STOP_BY_NOTIFY),
        # --- PIDFile= (service_load_pid_file(), service_retry_pid_file()) ---
        Row(S.START, T.PIDFILE_OK, St.START_POST, G.AWAITING_PID_FILE),
        Row(S.START_POST, T.PIDFILE_OK, St.RUNNING, G.AWAITING_PID_FILE),
        Row(S.START, T.PIDFILE_MISSING, St.STOP_SIGTERM, G.PID_FILE_GIVE_UP, R.PROTOCOL),
        Row(S.START_POST, T.PIDFILE_MISSING, St.STOP, G.PID_FILE_GIVE_UP, R.PROTOCOL),
        # --- the state timer (service_dispatch_timer()) ---
        *(r for s in _STARTING for r in _start_timeouts(s)),
        Row(
            S.RUNNING,
            T.TIMEOUT,
            St.STOP,
            result=R.TIMEOUT,
            log="Service reached runtime time limit. Stopping.",
        ),
        Row(
            S.RELOAD,
            T.TIMEOUT,
            St.RELOAD_TIMEOUT,
            log="Reload operation timed out. Killing reload process.",
        ),
        Row(
            S.STOP,
            T.TIMEOUT,
            St.STOP_SIGTERM,
            G.MODE_TERMINATE,
            R.TIMEOUT,
            "Stopping timed out. Terminating.",
        ),
        Row(
            S.STOP,
            T.TIMEOUT,
            St.STOP_WATCHDOG,
            G.MODE_ABORT,
            R.TIMEOUT,
            "Stopping timed out. Aborting.",
        ),
        Row(
            S.STOP,
            T.TIMEOUT,
            St.STOP_SIGKILL,
            G.MODE_KILL_SIGKILL,
            R.TIMEOUT,
            "Stopping timed out. Killing.",
        ),
        Row(
            S.STOP,
            T.TIMEOUT,
            St.STOP_POST,
            G.ALWAYS,
            R.TIMEOUT,
            "Stopping timed out. Skipping SIGKILL.",
        ),
        Row(
            S.STOP_WATCHDOG,
            T.TIMEOUT,
            St.STOP_SIGKILL,
            G.SIGKILL,
            R.TIMEOUT,
            "State 'stop-watchdog' timed out. Killing.",
        ),
        Row(
            S.STOP_WATCHDOG,
            T.TIMEOUT,
            St.STOP_POST,
            G.ALWAYS,
            R.TIMEOUT,
            "State 'stop-watchdog' timed out. Skipping SIGKILL.",
        ),
        Row(
            S.STOP_SIGTERM,
            T.TIMEOUT,
            St.STOP_WATCHDOG,
            G.MODE_ABORT,
            R.TIMEOUT,
            "State 'stop-sigterm' timed out. Aborting.",
        ),
        Row(
            S.STOP_SIGTERM,
            T.TIMEOUT,
            St.STOP_SIGKILL,
            G.SIGKILL,
            R.TIMEOUT,
            "State 'stop-sigterm' timed out. Killing.",
        ),
        Row(
            S.STOP_SIGTERM,
            T.TIMEOUT,
            St.STOP_POST,
            G.ALWAYS,
            R.TIMEOUT,
            "State 'stop-sigterm' timed out. Skipping SIGKILL.",
        ),
        Row(
            S.STOP_SIGKILL,
            T.TIMEOUT,
            St.STOP_POST,
            G.ALWAYS,
            R.TIMEOUT,
            "Processes still around after SIGKILL. Ignoring.",
        ),
        Row(
            S.STOP_POST,
            T.TIMEOUT,
            St.FINAL_WATCHDOG,
            G.MODE_ABORT,
            R.TIMEOUT,
            "State 'stop-post' timed out. Aborting.",
        ),
        Row(
            S.STOP_POST,
            T.TIMEOUT,
            St.FINAL_SIGTERM,
            G.MODE_TERMINATE,
            R.TIMEOUT,
            "State 'stop-post' timed out. Terminating.",
        ),
        Row(
            S.STOP_POST,
            T.TIMEOUT,
            St.FINAL_SIGKILL,
            G.MODE_KILL_SIGKILL,
            R.TIMEOUT,
            "State 'stop-post' timed out. Killing.",
        ),
        Row(
            S.STOP_POST,
            T.TIMEOUT,
            St.DEAD,
            G.ALWAYS,
            R.TIMEOUT,
            "State 'stop-post' timed out. Skipping SIGKILL. Entering failed mode.",
        ),
        Row(
            S.FINAL_WATCHDOG,
            T.TIMEOUT,
            St.FINAL_SIGKILL,
            G.SIGKILL,
            R.TIMEOUT,
            "State 'final-watchdog' timed out. Killing.",
        ),
        Row(
            S.FINAL_WATCHDOG,
            T.TIMEOUT,
            St.DEAD,
            G.ALWAYS,
            R.TIMEOUT,
            "State 'final-watchdog' timed out. Skipping SIGKILL. Entering failed mode.",
        ),
        Row(
            S.FINAL_SIGTERM,
            T.TIMEOUT,
            St.FINAL_WATCHDOG,
            G.MODE_ABORT,
            R.TIMEOUT,
            "State 'final-sigterm' timed out. Aborting.",
        ),
        Row(
            S.FINAL_SIGTERM,
            T.TIMEOUT,
            St.FINAL_SIGKILL,
            G.SIGKILL,
            R.TIMEOUT,
            "State 'final-sigterm' timed out. Killing.",
        ),
        Row(
            S.FINAL_SIGTERM,
            T.TIMEOUT,
            St.DEAD,
            G.ALWAYS,
            R.TIMEOUT,
            "State 'final-sigterm' timed out. Skipping SIGKILL. Entering failed mode.",
        ),
        Row(
            S.FINAL_SIGKILL,
            T.TIMEOUT,
            St.DEAD,
            G.ALWAYS,
            R.TIMEOUT,
            "Processes still around after final SIGKILL. Entering failed mode.",
        ),
        Row(S.AUTO_RESTART, T.TIMEOUT, St.RESTART),  # RestartSec= elapsed
        # --- the watchdog (service_dispatch_watchdog(), WATCHDOG=trigger) ---
        Row(S.START_POST, T.WATCHDOG, St.STOP_WATCHDOG, result=R.WATCHDOG),
        Row(S.RUNNING, T.WATCHDOG, St.STOP_WATCHDOG, result=R.WATCHDOG),
        Row(S.RELOAD, T.WATCHDOG, St.STOP_WATCHDOG, result=R.WATCHDOG),
        # --- the unit's cgroup became empty (service_notify_cgroup_empty_event()) ---
        Row(S.START, T.CGROUP_EMPTY, St.STOP_POST, G.NOTIFY_DEAD, R.PROTOCOL),
        Row(
            S.START,
            T.CGROUP_EMPTY,
            St.STOP_POST,
            G.PID_FILE_GIVE_UP,
            R.PROTOCOL,
            "Daemon never wrote its PID file. Failing.",
        ),
        Row(
            S.START_POST,
            T.CGROUP_EMPTY,
            St.STOP,
            G.PID_FILE_GIVE_UP,
            R.PROTOCOL,
            "Daemon never wrote its PID file. Failing.",
        ),
        Row(S.RUNNING, T.CGROUP_EMPTY, St.RUNNING),  # forking without main PID: done
        *(Row(s, T.CGROUP_EMPTY, St.STOP_POST, G.NOTHING_LEFT) for s in _KILLING),
        *(Row(s, T.CGROUP_EMPTY, St.DEAD, G.NOTHING_LEFT) for s in _FINAL),
    ]
    return tuple(rows)


TRANSITIONS: tuple[Row, ...] = _rows()


def rows_for(state: SubState, trigger: Trigger) -> list[tuple[int, Row]]:
    """The candidate rows of (state, trigger) in table order, with their indexes."""
    return _INDEX.get((state, trigger), [])


_INDEX: dict[tuple[SubState, Trigger], list[tuple[int, Row]]] = {}
for _i, _row in enumerate(TRANSITIONS):
    _INDEX.setdefault((_row.state, _row.trigger), []).append((_i, _row))
