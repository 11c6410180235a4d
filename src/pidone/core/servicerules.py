"""Pure helpers of the service machine: who may notify, what a command's env is, whom to kill.

Each function restates one systemd 252 procedure (src/core/service.c, src/core/unit.c) as a
function of plain values, so core/service.py keeps only the state handling.
"""

from __future__ import annotations

from pidone.core import actions as act
from pidone.core.dataclass_lite import dataclass
from pidone.core.model import KillContext
from pidone.core.servicestate import SIGCONT, SIGHUP, SIGKILL, ExitInfo, SubState

S = SubState


@dataclass(slots=True)
class ExecMain:
    """ExecMainPID=/ExecMainCode=/ExecMainStatus= and their timestamps (monotonic usec)."""

    pid: int = 0
    start_usec: int = 0
    exit_usec: int = 0
    exit: ExitInfo | None = None


@dataclass(slots=True)
class Timestamps:
    """Unit timestamps (monotonic usec; 0 = never), as unit_notify() keeps them."""

    state_change: int = 0
    inactive_exit: int = 0
    active_enter: int = 0
    active_exit: int = 0
    inactive_enter: int = 0


def notify_rejection(unit: str, access: str, pid: int, main_pid: int, control_pid: int) -> str:
    """service_notify_message()'s NotifyAccess= check: the warning, or "" when allowed."""
    head = f"{unit}: Got notification message from PID {pid}, but reception"
    if access == "none":
        return f"{head} is disabled."
    if access == "main" and pid != main_pid:
        if main_pid:
            return f"{head} only permitted for main PID {main_pid}"
        return f"{head} only permitted for main PID which is currently not known"
    if access == "exec" and pid not in (main_pid, control_pid):
        if main_pid and control_pid:
            return f"{head} only permitted for main PID {main_pid} and control PID {control_pid}"
        if main_pid:
            return f"{head} only permitted for main PID {main_pid}"
        if control_pid:
            return f"{head} only permitted for control PID {control_pid}"
        return f"{head} only permitted for main PID and control PID which are currently not known"
    return ""


def spawn_env(
    role: act.ExecRole,
    main: bool,
    *,
    invocation_id: str,
    main_pid: int,
    result: str,
    exec_main: ExecMain,
    watchdog_usec: int,
    pid_file: str,
) -> tuple[tuple[str, str], ...]:
    """service_spawn()'s manager-defined variables (spec 02 §4, 03 §3)."""
    env: list[tuple[str, str]] = [("INVOCATION_ID", invocation_id)]
    if not main and main_pid:
        env.append(("MAINPID", str(main_pid)))
    if role in ("stop", "stop-post"):  # EXEC_SETENV_RESULT
        env.append(("SERVICE_RESULT", result))
        x = exec_main.exit
        if exec_main.pid and x is not None:
            env += [("EXIT_CODE", x.code_word), ("EXIT_STATUS", x.status_word)]
    if main and watchdog_usec:
        env.append(("WATCHDOG_USEC", str(watchdog_usec)))
    if pid_file:
        env.append(("PIDFILE", pid_file))
    return tuple(env)


def kill_plan(
    unit: str,
    k: KillContext,
    state: SubState,
    *,
    main_pid: int,
    control_pid: int,
    populated: bool,
    restart: bool,
) -> tuple[list[act.Signal], bool]:
    """unit_kill_context(): the signals for entering `state`, and whether to wait for exits.

    The operation follows state_to_kill_operation(): watchdog states send WatchdogSignal=,
    sigkill states FinalKillSignal=, stop-sigterm of a restart job RestartKillSignal=, the
    rest KillSignal=. SIGCONT follows (kill_and_sigcont()), SIGHUP too with SendSIGHUP=
    for plain terminations; SIGKILL and watchdog kills are logged per process.
    """
    if k.kill_mode == "none":
        return [], False
    terminate = state in (S.STOP_SIGTERM, S.FINAL_SIGTERM)
    if state in (S.STOP_WATCHDOG, S.FINAL_WATCHDOG):
        sig = k.watchdog_signal
    elif state in (S.STOP_SIGKILL, S.FINAL_SIGKILL):
        sig = k.final_kill_signal
    elif state == S.STOP_SIGTERM and restart and k.restart_kill_signal:
        sig, terminate = k.restart_kill_signal, False  # KILL_RESTART: no SIGHUP
    else:
        sig = k.kill_signal
    noteworthy = not terminate and state != S.STOP_SIGTERM
    sighup = k.send_sighup and terminate and sig != SIGHUP
    sigcont = sig not in (SIGCONT, SIGKILL)
    out: list[act.Signal] = []
    wait = False
    for pid in (main_pid, control_pid):
        if pid:
            out.append(act.Signal(unit, "pid", sig, pid=pid, sigcont=sigcont, log_kill=noteworthy))
            if sighup:
                out.append(act.Signal(unit, "pid", SIGHUP, pid=pid))
            wait = True
    kill_all = state in (S.STOP_SIGKILL, S.FINAL_SIGKILL)
    if populated and (k.kill_mode == "control-group" or (k.kill_mode == "mixed" and kill_all)):
        exclude = tuple(p for p in (main_pid, control_pid) if p)
        out.append(
            act.Signal(unit, "cgroup", sig, exclude=exclude, sigcont=sigcont, log_kill=noteworthy)
        )
        if sighup:
            out.append(act.Signal(unit, "cgroup", SIGHUP, exclude=exclude))
        wait = True
    return out, wait
