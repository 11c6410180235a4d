"""The path unit machine (man 5 systemd.path): events in, actions out; the I/O side watches.

Theory of operation (systemd 252 src/core/path.c, procedure by procedure):

1. States dead/waiting/running/failed (path_state_table); waiting and running are
   ActiveState `active`. Results: success, resources, start-limit-hit,
   unit-start-limit-hit, trigger-limit-hit.
2. Start (path_start()): with MakeDirectory=, the directories of every spec but
   PathExists=/PathExistsGlob= are created (path_mkdir()); then path_enter_waiting(initial).
3. Waiting (path_enter_waiting()): if the triggered unit is active, the path is `running`
   and watches nothing. Otherwise the I/O side checks the specs (path_check_good()), and
   if none holds, adds its inotify watches and checks again (a file may have appeared in
   between). Both checks are file-system reads, so they happen behind `WatchPaths`, whose
   answer `PathsChecked` says which path holds, if any; `error` is a failed watch
   ("Failed to enter waiting state: ...", path_enter_dead(resources)). path_start() does
   all this before it returns, so a start stays `dead` (or `failed`) until the answer:
   then `waiting` or `running` finishes the start job ("Started"), and a failed watch
   fails it ("Failed to start", `systemctl start` exits 1; oracle: ENOTDIR for a path under
   a file, ELOOP for a symlink loop, tests/data/oracle/capture-triggers-252.md). A path
   that fails later (the triggered unit went inactive and the re-watch fails) just fails.
   PathExists= holds while the path exists,
   PathExistsGlob= while the glob matches, DirectoryNotEmpty= while the directory has an
   entry; PathChanged=/PathModified= hold after an inotify event on the path itself, and,
   on a re-check that is neither the first one nor caused by the unit's state, when the
   path appeared or disappeared since the last check (path_spec_check_good()).
4. An inotify event (path_dispatch_io(), only in waiting or running) comes back as
   `PathEvent`: with `changed` (PathChanged=/PathModified= saw their file change) the unit
   is started at once, else the specs are checked again as in 3.
5. Running (path_enter_running()): past
   TriggerLimitBurst= starts in TriggerLimitIntervalSec= the path fails ("Trigger limit
   hit, refusing further activation.", trigger-limit-hit); else `StartUnit(target)` with
   TRIGGER_UNIT= and TRIGGER_PATH= (the path that held), state running, watches removed.
6. The triggered unit's state (path_trigger_notify()), from waiting or running only: a
   start rate limit hit fails the path (unit-start-limit-hit); nothing while the unit has a
   job; running with the unit inactive, or waiting with the unit active: 3 again.
7. Stop (path_stop()): watches removed, dead (or failed with a result other than success).
"""

from __future__ import annotations

import enum

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass, field
from pidone.core.pathseam import (
    NO_MKDIR_KINDS,
    MakePathDirectories,
    PathAction,
    PathConfig,
    PathEvent,
    PathEventType,
    PathsChecked,
    UnwatchPaths,
    WatchPaths,
)
from pidone.core.triggering import (
    Now,
    StartFailed,
    StartUnit,
    TriggeredUnitChanged,
    TriggerRefused,
)


class PathState(enum.Enum):
    """Path SubState= (src/basic/unit-def.c path_state_table)."""

    DEAD = "dead"
    WAITING = "waiting"
    RUNNING = "running"
    FAILED = "failed"


class PathResult(enum.Enum):
    SUCCESS = "success"
    RESOURCES = "resources"
    START_LIMIT_HIT = "start-limit-hit"
    UNIT_START_LIMIT_HIT = "unit-start-limit-hit"
    TRIGGER_LIMIT_HIT = "trigger-limit-hit"


ACTIVE_STATE_OF = {
    PathState.DEAD: "inactive",
    PathState.WAITING: "active",
    PathState.RUNNING: "active",
    PathState.FAILED: "failed",
}
_INACTIVE = ("inactive", "failed")


@dataclass(slots=True)
class PathMachine:
    """One path unit (rules 1-7)."""

    config: PathConfig
    state: PathState = PathState.DEAD
    result: PathResult = PathResult.SUCCESS
    target_active: str = "inactive"  # the triggered unit's ActiveState, as last told
    invocation_id: str = ""  # drawn by the manager at each start (InvocationID=)
    _limit_begin: int = 0  # the trigger rate limit's window (struct RateLimit)
    _limit_num: int = 0
    _watching: bool = False
    _starting: bool = False  # path_start()'s check and watch are not answered yet (rule 3)
    _out: list[PathAction] = field(default_factory=list)
    _now: Now = field(default_factory=lambda: Now(0, 0))

    @property
    def name(self) -> str:
        return self.config.unit

    @property
    def active_state(self) -> str:
        return ACTIVE_STATE_OF[self.state]

    def handle(self, event: PathEventType, now: Now) -> list[PathAction]:
        self._out = []
        self._now = now
        match event:
            case ev.StartRequested():
                self._start(event.invocation_id)
            case ev.StopRequested():
                if self.state in (PathState.WAITING, PathState.RUNNING):
                    self._enter_dead(PathResult.SUCCESS)
                elif self._starting:  # stopped before the start's answer: it is dropped
                    self._starting = False
                    self._unwatch()
            case ev.ResetFailedRequested():
                if self.state == PathState.FAILED:
                    self._set_state(PathState.DEAD)
                self.result = PathResult.SUCCESS
            case PathsChecked():
                self._checked(event)
            case PathEvent():
                if self.state in (PathState.WAITING, PathState.RUNNING):
                    if event.changed:
                        self._enter_running(event.changed)
                    else:
                        self._enter_waiting(initial=False, from_trigger_notify=False)
            case TriggeredUnitChanged():
                self._trigger_notify(event)
            case TriggerRefused():
                self._log(f"Failed to queue unit startup job: {event.reason}", act.LOG_WARNING)
                self._enter_dead(PathResult.RESOURCES)
        out, self._out = self._out, []
        return out

    # --- procedures (path.c) -------------------------------------------------------------

    def _start(self, invocation_id: str) -> None:
        if self.state not in (PathState.DEAD, PathState.FAILED):
            return  # already active: the manager's start job finishes at once
        self.invocation_id = invocation_id  # path_start(): unit_acquire_invocation_id()
        if self.config.make_directory:
            dirs = tuple(p for kind, p in self.config.specs if kind not in NO_MKDIR_KINDS)
            if dirs:
                self._out.append(MakePathDirectories(self.name, dirs, self.config.directory_mode))
        self.result = PathResult.SUCCESS
        self._enter_waiting(initial=True, from_trigger_notify=False)

    def _enter_waiting(self, initial: bool, from_trigger_notify: bool) -> None:
        if self.target_active not in _INACTIVE:
            self._unwatch()
            self._set_state(PathState.RUNNING)
            return
        # The check and the watch are file-system work: the answer is PathsChecked. path.c
        # does both inside path_start(), so the start job ends there: a starting path is
        # `waiting` at once, and goes on to `running` if the answer names a path.
        self._watching = True
        self._out.append(WatchPaths(self.name, self.config.specs, initial, from_trigger_notify))
        if self.state in (PathState.DEAD, PathState.FAILED):
            self._starting = True  # the answer ends the start job (rule 3)

    def _checked(self, e: PathsChecked) -> None:
        if not self._watching:
            return  # stopped since
        starting, self._starting = self._starting, False
        if e.error:
            fields = (("ERRNO", str(e.errno)),) if e.errno else ()
            text = f"Failed to enter waiting state: {e.error}"
            self._log(text, act.LOG_WARNING, fields=fields)
            was_failed = self.state == PathState.FAILED
            self._enter_dead(PathResult.RESOURCES)
            if starting and was_failed:  # failed -> failed changes no state: end the job
                self._out.append(StartFailed(self.name))
            return
        if e.path:
            self._enter_running(e.path)
            return
        self._set_state(PathState.WAITING)

    def _enter_running(self, path: str) -> None:
        if not self._below_trigger_limit():
            self._log("Trigger limit hit, refusing further activation.", act.LOG_WARNING)
            self._enter_dead(PathResult.TRIGGER_LIMIT_HIT)
            return
        env = (("TRIGGER_UNIT", self.name), ("TRIGGER_PATH", path))
        self._out.append(StartUnit(self.name, self.config.target, env))
        self._unwatch()
        self._set_state(PathState.RUNNING)

    def _enter_dead(self, result: PathResult) -> None:
        if self.result == PathResult.SUCCESS:
            self.result = result
        self._unwatch()
        if self.result == PathResult.SUCCESS:
            self._log("Deactivated successfully.", act.LOG_INFO, act.MID_UNIT_SUCCESS)
        else:
            text = f"Failed with result '{self.result.value}'."
            fields = (("UNIT_RESULT", self.result.value),)  # unit_log_failure()
            self._log(text, act.LOG_WARNING, act.MID_UNIT_FAILURE_RESULT, fields)
        failed = self.result != PathResult.SUCCESS
        self._set_state(PathState.FAILED if failed else PathState.DEAD)

    def _trigger_notify(self, e: TriggeredUnitChanged) -> None:
        if e.target != self.config.target:
            return
        self.target_active = e.active_state
        if self.state not in (PathState.WAITING, PathState.RUNNING):
            return
        if e.start_limit_hit:
            self._enter_dead(PathResult.UNIT_START_LIMIT_HIT)
            return
        if e.has_job:
            return
        inactive = e.active_state in _INACTIVE
        if (self.state == PathState.RUNNING and inactive) or (
            self.state == PathState.WAITING and not inactive
        ):
            self._enter_waiting(initial=False, from_trigger_notify=True)

    # --- plumbing ------------------------------------------------------------------------

    def _below_trigger_limit(self) -> bool:
        """ratelimit_below(): at most TriggerLimitBurst= starts in each window of
        TriggerLimitIntervalSec= from the first start of the window; 0 = no limit."""
        interval, burst = self.config.trigger_limit_interval_usec, self.config.trigger_limit_burst
        if interval <= 0 or burst <= 0:
            return True
        now = self._now.monotonic
        if self._limit_begin == 0 or now - self._limit_begin > interval:
            self._limit_begin, self._limit_num = now, 0
        if self._limit_num < burst:
            self._limit_num += 1
            return True
        return False

    def _unwatch(self) -> None:
        if self._watching:
            self._watching = False
            self._out.append(UnwatchPaths(self.name))

    def _set_state(self, new: PathState) -> None:
        old = self.state
        self.state = new
        if old != new:
            self._out.append(
                act.StateChanged(
                    self.name,
                    ACTIVE_STATE_OF[old],
                    old.value,
                    ACTIVE_STATE_OF[new],
                    new.value,
                    self.result.value,
                )
            )

    def _log(
        self,
        text: str,
        priority: int,
        message_id: str = "",
        fields: tuple[tuple[str, str], ...] = (),
    ) -> None:
        if self.invocation_id:  # log_unit_*(): every record about the unit carries its ID
            fields = (*fields, ("INVOCATION_ID", self.invocation_id))
        self._out.append(act.Log(self.name, f"{self.name}: {text}", priority, message_id, fields))
