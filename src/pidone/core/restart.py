"""Restart= decisions and the start rate limiter, as pure data and functions.

1. `RESTART_TABLE` is spec 03 §6's table row for row: for each Result, the Restart=
   values that restart (service_shall_restart() in src/core/service.c).
2. `shall_restart()` applies, in order: a stop asked for by a job never restarts;
   RestartPreventExitStatus= wins; RestartForceExitStatus= forces; then the table.
   The exit-status sets test the *main* process's last exit (ExecMainCode/Status).
3. `StartLimit` is systemd's RateLimit (src/basic/ratelimit.c ratelimit_below()):
   a window opens at the first counted start; once `now - begin > interval` the window
   reopens with count 0; a start is allowed while count <= burst. Once refused, starts
   stay refused until the window passes or reset-failed (pitfalls 12, 13).
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass
from pidone.core.exitstatus import ExitStatusSet
from pidone.core.model import RestartPolicy
from pidone.core.servicestate import ExitCode, ExitInfo, Result

R = Result
_ALL: frozenset[RestartPolicy] = frozenset({"always"})

# man 5 systemd.service, "Table 2. Exit causes and the effect of the Restart= settings".
RESTART_TABLE: dict[Result, frozenset[RestartPolicy]] = {
    R.SUCCESS: frozenset({"always", "on-success"}),
    R.EXIT_CODE: frozenset({"always", "on-failure"}),
    R.SIGNAL: frozenset({"always", "on-failure", "on-abnormal", "on-abort"}),
    R.CORE_DUMP: frozenset({"always", "on-failure", "on-abnormal", "on-abort"}),
    R.TIMEOUT: frozenset({"always", "on-failure", "on-abnormal"}),
    R.WATCHDOG: frozenset({"always", "on-failure", "on-abnormal", "on-watchdog"}),
    R.PROTOCOL: frozenset({"always", "on-failure", "on-abnormal"}),
    R.RESOURCES: frozenset({"always", "on-failure", "on-abnormal"}),
    R.OOM_KILL: frozenset({"always", "on-failure", "on-abnormal"}),
    R.START_LIMIT_HIT: frozenset({"always", "on-failure", "on-abnormal"}),
    R.EXEC_CONDITION: frozenset(),
}


def exit_status_matches(statuses: ExitStatusSet, last_exit: ExitInfo | None) -> bool:
    """exit_status_set_test(): an exit code in the codes, or a kill signal in the signals."""
    if last_exit is None:
        return False
    if last_exit.code == ExitCode.EXITED:
        return last_exit.status in statuses.statuses
    if last_exit.code in (ExitCode.KILLED, ExitCode.DUMPED):
        return last_exit.status in statuses.signals
    return False


def shall_restart(
    policy: RestartPolicy,
    result: Result,
    *,
    stop_requested: bool,
    last_main_exit: ExitInfo | None,
    prevent: ExitStatusSet,
    force: ExitStatusSet,
) -> bool:
    """Whether the end of a run schedules an automatic restart (spec 03 §6)."""
    if stop_requested:
        return False
    if exit_status_matches(prevent, last_main_exit):
        return False
    if exit_status_matches(force, last_main_exit):
        return True
    return policy in RESTART_TABLE[result]


@dataclass(frozen=True, slots=True)
class StartLimit:
    """StartLimitIntervalSec=/StartLimitBurst= window: `begin` (None = none) and `count`."""

    begin: int | None = None
    count: int = 0

    def test(self, now_usec: int, interval_usec: int, burst: int) -> tuple[bool, StartLimit]:
        """Count one start at `now_usec`: (allowed, the limiter after counting)."""
        if interval_usec <= 0 or burst <= 0:  # ratelimit_configured(): 0 disables
            return True, self
        if self.begin is None or now_usec - self.begin > interval_usec:
            return True, StartLimit(now_usec, 1)
        count = self.count + 1
        return count <= burst, StartLimit(self.begin, count)
