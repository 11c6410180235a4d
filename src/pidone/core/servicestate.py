"""Names of a service's states and results (systemd 252 spelling) and exit classification.

ActiveState, SubState and Result values are the exact words `systemctl show` prints
(spec 03 §1-§3, src/basic/unit-def.c). Exit statuses are classified as systemd's
is_clean_exit() does (src/basic/exit-status.c) and worded as unit_log_process_exit().
"""

from __future__ import annotations

import enum

from pidone.core.dataclass_lite import dataclass
from pidone.core.exitstatus import EXIT_STATUS_NAMES, ExitStatusSet
from pidone.core.signames import signal_name

SIGHUP, SIGINT, SIGKILL, SIGPIPE, SIGTERM, SIGCONT, SIGABRT = 1, 2, 9, 13, 15, 18, 6


class ActiveState(enum.Enum):
    """Unit ActiveState= (all unit types)."""

    # Members are singletons compared by identity (Enum defines no __eq__); Enum's own
    # __hash__ is Python code (hash(self._name_)), run for every dict and set lookup of a
    # member: the machine makes ~30 per start (transition index, state sets).
    __hash__ = object.__hash__

    INACTIVE = "inactive"
    ACTIVATING = "activating"
    ACTIVE = "active"
    RELOADING = "reloading"
    DEACTIVATING = "deactivating"
    FAILED = "failed"
    MAINTENANCE = "maintenance"


class SubState(enum.Enum):
    """Service SubState= of systemd 252 (src/basic/unit-def.c service_state_table)."""

    __hash__ = object.__hash__  # C, not Enum's Python (see servicestate.ActiveState)

    DEAD = "dead"
    CONDITION = "condition"
    START_PRE = "start-pre"
    START = "start"
    START_POST = "start-post"
    RUNNING = "running"
    EXITED = "exited"
    RELOAD = "reload"
    STOP = "stop"
    STOP_WATCHDOG = "stop-watchdog"
    STOP_SIGTERM = "stop-sigterm"
    STOP_SIGKILL = "stop-sigkill"
    STOP_POST = "stop-post"
    FINAL_WATCHDOG = "final-watchdog"
    FINAL_SIGTERM = "final-sigterm"
    FINAL_SIGKILL = "final-sigkill"
    FAILED = "failed"
    AUTO_RESTART = "auto-restart"
    CLEANING = "cleaning"


S = SubState
A = ActiveState

# service.c state_translation_table: `auto-restart` is activating [verified, spec 03 §2].
ACTIVE_STATE_OF: dict[SubState, ActiveState] = {
    S.DEAD: A.INACTIVE,
    S.CONDITION: A.ACTIVATING,
    S.START_PRE: A.ACTIVATING,
    S.START: A.ACTIVATING,
    S.START_POST: A.ACTIVATING,
    S.RUNNING: A.ACTIVE,
    S.EXITED: A.ACTIVE,
    S.RELOAD: A.RELOADING,
    S.STOP: A.DEACTIVATING,
    S.STOP_WATCHDOG: A.DEACTIVATING,
    S.STOP_SIGTERM: A.DEACTIVATING,
    S.STOP_SIGKILL: A.DEACTIVATING,
    S.STOP_POST: A.DEACTIVATING,
    S.FINAL_WATCHDOG: A.DEACTIVATING,
    S.FINAL_SIGTERM: A.DEACTIVATING,
    S.FINAL_SIGKILL: A.DEACTIVATING,
    S.FAILED: A.FAILED,
    S.AUTO_RESTART: A.ACTIVATING,
    S.CLEANING: A.MAINTENANCE,
}

STARTING = frozenset({S.CONDITION, S.START_PRE, S.START, S.START_POST})
STOPPING = frozenset(
    {
        S.STOP,
        S.STOP_WATCHDOG,
        S.STOP_SIGTERM,
        S.STOP_SIGKILL,
        S.STOP_POST,
        S.FINAL_WATCHDOG,
        S.FINAL_SIGTERM,
        S.FINAL_SIGKILL,
    }
)
# States that keep the watchdog armed (service_set_state(): service_stop_watchdog()).
WATCHDOG_STATES = frozenset({S.START_POST, S.RUNNING, S.RELOAD})


class Result(enum.Enum):
    """Service Result= (src/core/service.c service_result_table)."""

    __hash__ = object.__hash__  # C, not Enum's Python (see servicestate.ActiveState)

    SUCCESS = "success"
    RESOURCES = "resources"
    PROTOCOL = "protocol"
    TIMEOUT = "timeout"
    EXIT_CODE = "exit-code"
    SIGNAL = "signal"
    CORE_DUMP = "core-dump"
    WATCHDOG = "watchdog"
    START_LIMIT_HIT = "start-limit-hit"
    OOM_KILL = "oom-kill"
    EXEC_CONDITION = "exec-condition"


class ExitCode(enum.Enum):
    """ExecMainCode= numbers (CLD_* of waitid(2)); words as $EXIT_CODE prints them."""

    __hash__ = object.__hash__  # C, not Enum's Python (see servicestate.ActiveState)

    NONE = 0
    EXITED = 1
    KILLED = 2
    DUMPED = 3


_CODE_WORDS = {ExitCode.EXITED: "exited", ExitCode.KILLED: "killed", ExitCode.DUMPED: "dumped"}


@dataclass(frozen=True, slots=True)
class ExitInfo:
    """How one process ended: CLD code and status (exit code or signal number)."""

    code: ExitCode
    status: int

    @staticmethod
    def of(status: int, signal: int, core_dumped: bool) -> ExitInfo:
        """From a ProcessExited's fields."""
        if signal:
            return ExitInfo(ExitCode.DUMPED if core_dumped else ExitCode.KILLED, signal)
        return ExitInfo(ExitCode.EXITED, status)

    @property
    def code_word(self) -> str:
        """`exited`, `killed`, `dumped` ($EXIT_CODE, `code=` in the log line)."""
        return _CODE_WORDS.get(self.code, "")

    @property
    def status_word(self) -> str:
        """$EXIT_STATUS: the decimal exit code, or the signal name without SIG."""
        if self.code == ExitCode.EXITED:
            return str(self.status)
        return signal_name(self.status)

    def format_log(self) -> str:
        """`code=exited, status=1/FAILURE`: every exit-status name, `n/a` when none."""
        if self.code == ExitCode.EXITED:
            name = EXIT_STATUS_NAMES.get(self.status, "n/a")
        else:
            name = signal_name(self.status)
        return f"code={self.code_word}, status={self.status}/{name}"


def is_clean_exit(info: ExitInfo, daemon: bool, success: ExitStatusSet) -> bool:
    """systemd is_clean_exit(): exit 0, SuccessExitStatus=, or (daemons) HUP/INT/TERM/PIPE.

    `daemon` is EXIT_CLEAN_DAEMON, used for every type but oneshot (spec 03 §4, pitfall 9).
    A core dump is never clean.
    """
    if info.code == ExitCode.EXITED:
        return info.status == 0 or info.status in success.statuses
    if info.code == ExitCode.KILLED:
        if daemon and info.status in (SIGHUP, SIGINT, SIGTERM, SIGPIPE):
            return True
        return info.status in success.signals
    return False


def result_of_exit(info: ExitInfo, daemon: bool, success: ExitStatusSet) -> Result:
    """The failure an exit stands for (success when clean), as service_sigchld_event()."""
    if is_clean_exit(info, daemon, success):
        return Result.SUCCESS
    if info.code == ExitCode.EXITED:
        return Result.EXIT_CODE
    if info.code == ExitCode.KILLED:
        return Result.SIGNAL
    return Result.CORE_DUMP
