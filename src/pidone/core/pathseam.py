"""The path machine's seam: its config, the events it takes and the actions it gives
(core.pathunit runs on them; daemon.triggerio and linux.pathwatch carry them out).

These live apart from the machine, as core.timerseam does for timers, so that
core.triggerunits names them without loading core.pathunit: a daemon without path units
never imports it.
"""

from __future__ import annotations

from pidone.core import actions as act
from pidone.core import events as ev
from pidone.core.dataclass_lite import dataclass
from pidone.core.model import Unit
from pidone.core.triggering import StartFailed, StartUnit, TriggeredUnitChanged, TriggerRefused

# path_type_table: the kinds whose file itself, not only its existence, is watched
CHANGE_KINDS = ("PathChanged", "PathModified")
NO_MKDIR_KINDS = ("PathExists", "PathExistsGlob")  # path_spec_mkdir() skips these


@dataclass(frozen=True, slots=True)
class PathConfig:
    """What the machine needs from [Path]."""

    unit: str
    target: str
    specs: tuple[tuple[str, str], ...]  # (kind, path) in file order
    make_directory: bool = False
    directory_mode: int = 0o755
    trigger_limit_interval_usec: int = 2_000_000
    trigger_limit_burst: int = 200


def build_path_config(unit: Unit) -> PathConfig:
    p = unit.path
    if p is None:
        raise ValueError(f"{unit.id} is not a path unit")
    return PathConfig(
        unit=unit.id,
        target=p.unit or unit.id.rsplit(".", 1)[0] + ".service",
        specs=tuple(p.specs),
        make_directory=p.make_directory,
        directory_mode=p.directory_mode,
        trigger_limit_interval_usec=p.trigger_limit_interval_usec,
        trigger_limit_burst=p.trigger_limit_burst,
    )


# --- the seam: actions for the I/O side, events from it ---------------------------------------


@dataclass(frozen=True, slots=True)
class MakePathDirectories:
    """MakeDirectory=: mkdir -p each path (with DirectoryMode=) of a kind that needs it."""

    unit: str
    paths: tuple[str, ...]
    mode: int


@dataclass(frozen=True, slots=True)
class WatchPaths:
    """Check the specs (rule 3) and, if none holds, watch them; answer `PathsChecked`.
    `initial`: the check at start; `from_trigger_notify`: caused by the unit's state."""

    unit: str
    specs: tuple[tuple[str, str], ...]
    initial: bool = False
    from_trigger_notify: bool = False


@dataclass(frozen=True, slots=True)
class UnwatchPaths:
    unit: str


@dataclass(frozen=True, slots=True)
class PathsChecked:
    """The answer to WatchPaths: `path` holds ("" if none, then the specs are watched);
    `error` when a watch could not be added (strerror), `errno` its number (ERRNO=)."""

    unit: str
    path: str = ""
    error: str = ""
    errno: int = 0


@dataclass(frozen=True, slots=True)
class PathEvent:
    """inotify reported something for one of the unit's watches; `changed` names the
    PathChanged=/PathModified= path whose file changed ("" if it was something else)."""

    unit: str
    changed: str = ""


PathEventType = (
    ev.StartRequested
    | ev.StopRequested
    | ev.ResetFailedRequested
    | PathsChecked
    | PathEvent
    | TriggeredUnitChanged
    | TriggerRefused
)
PathAction = (
    act.StateChanged
    | act.Log
    | MakePathDirectories
    | WatchPaths
    | UnwatchPaths
    | StartUnit
    | StartFailed
)
PATH_EVENTS = (
    ev.StartRequested,
    ev.StopRequested,
    ev.ResetFailedRequested,
    PathsChecked,
    PathEvent,
    TriggeredUnitChanged,
    TriggerRefused,
)
