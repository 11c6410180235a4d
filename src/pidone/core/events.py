"""Events: past facts fed to the service machine and the manager (frozen, slotted).

Time never travels inside an event; `handle(event, now_usec)` receives it separately.
Three families:
1. Requests a job or the CLI made (StartRequested, StopRequested, ...). A service machine
   raises `IllegalEvent` for a request its state has no row for (the manager checks first).
2. Kernel and helper observations (ProcessExited, Spawned, NotifyReceived, TimerFired,
   UnitProcessesGone, PidFileRead, ...). They cannot be wrong, only stale: one that matches
   nothing is ignored.
3. Manager-level requests that need a reply (JobRequested, KillUnitRequested, ...), carrying
   a caller-chosen `request_id` that the reply action echoes.
Events bound to one unit carry `unit`; `ProcessExited` is routed by PID.
"""

from __future__ import annotations

from collections.abc import Mapping

from pidone.core.dataclass_lite import dataclass
from pidone.core.hints import Literal

KillWhom = Literal["main", "control", "all"]
JobVerb = Literal[
    "start",
    "stop",
    "restart",
    "try-restart",
    "reload",
    "reload-or-restart",
    "try-reload-or-restart",
    "verify-active",
]


# --- requests a service machine accepts ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartRequested:
    """Begin a run. `invocation_id` is a fresh 32-hex id (the caller draws it: core is pure).

    `manual` is False for the start half of an automatic restart job; a manual start
    flushes NRestarts (service_start(): flush_n_restarts).
    """

    unit: str = ""
    invocation_id: str = ""
    manual: bool = True


@dataclass(frozen=True, slots=True)
class StopRequested:
    """Stop the unit; `restart` selects RestartKillSignal= (the stop half of a restart job)."""

    unit: str = ""
    restart: bool = False


@dataclass(frozen=True, slots=True)
class ReloadRequested:
    """Run ExecReload= (only from running/exited)."""

    unit: str = ""


@dataclass(frozen=True, slots=True)
class RestartRequested:
    """`systemctl restart` as one event (the manager turns it into a restart job)."""

    unit: str = ""


@dataclass(frozen=True, slots=True)
class KillRequested:
    """`systemctl kill --kill-whom=WHOM --signal=SIG`: no job, independent of KillMode=."""

    unit: str = ""
    whom: KillWhom = "all"
    signal: int = 15


@dataclass(frozen=True, slots=True)
class ResetFailedRequested:
    """`systemctl reset-failed`: failed -> dead, Result and start limit cleared."""

    unit: str = ""


# --- observations ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcessExited:
    """waitid() saw `pid` end: `status` is the exit code, or `signal` killed it (with core).

    `unit_empty`: the reaper saw that no other process of the pid's unit is left (so the
    machine need not wait for a separate UnitProcessesGone, as systemd's cg_kill() would
    find nothing either).
    """

    pid: int
    status: int = 0
    signal: int = 0
    core_dumped: bool = False
    unit_empty: bool = False


@dataclass(frozen=True, slots=True)
class Spawned:
    """The Spawn action with `token` forked `pid` (fed back before any other event)."""

    unit: str
    token: str
    pid: int


@dataclass(frozen=True, slots=True)
class SpawnFailed:
    """The Spawn action with `token` could not fork or set up (`error`: strerror text)."""

    unit: str
    token: str
    error: str


@dataclass(frozen=True, slots=True)
class ExecSucceeded:
    """Type=exec: the child's execve() succeeded (CLOEXEC pipe hit EOF)."""

    unit: str
    pid: int


@dataclass(frozen=True, slots=True)
class ExecFailed:
    """Type=exec: setup or execve() failed; the child exits with `status` (2xx) next."""

    unit: str
    pid: int
    status: int


@dataclass(frozen=True, slots=True)
class NotifyReceived:
    """One sd_notify datagram with SCM_CREDENTIALS, already split into KEY=VALUE fields.

    `fields` keeps datagram order; `unit` is the unit the sender's cgroup (or tracked
    ancestry) belongs to, "" when the receiver could not tell (the manager then maps
    the PID through main/control PIDs).
    """

    pid: int
    uid: int
    fields: tuple[tuple[str, str], ...]
    unit: str = ""

    @staticmethod
    def parse(pid: int, uid: int, payload: str, unit: str = "") -> NotifyReceived:
        """Split a payload of newline-separated KEY=VALUE lines; other lines are ignored."""
        pairs = []
        for line in payload.split("\n"):
            key, sep, value = line.partition("=")
            if sep and key:
                pairs.append((key, value))
        return NotifyReceived(pid, uid, tuple(pairs), unit)

    def as_dict(self) -> Mapping[str, str]:
        """First value per key, as systemd's strv_find_startswith() finds it."""
        out: dict[str, str] = {}
        for key, value in self.fields:
            out.setdefault(key, value)
        return out


@dataclass(frozen=True, slots=True)
class PidFileRead:
    """Answer to ReadPidFile: a valid PID, or None and strerror-style `error`."""

    unit: str
    pid: int | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class MainPidGuessed:
    """Answer to GuessMainPid: the only process left in the unit, or None."""

    unit: str
    pid: int | None


@dataclass(frozen=True, slots=True)
class BusNameOwnerChanged:
    """Answer to WatchBusName, and every later change: the owner of BusName= on the system
    bus ("" for none); `bus` False when no bus could be reached (Type=dbus runs as simple)."""

    unit: str
    name: str
    owner: str
    bus: bool = True


@dataclass(frozen=True, slots=True)
class TimerFired:
    """The monotonic deadline of ArmTimer(`token`) passed."""

    token: str


@dataclass(frozen=True, slots=True)
class UnitProcessesGone:
    """The unit's cgroup (or tracked process set) became empty."""

    unit: str


@dataclass(frozen=True, slots=True)
class ConditionsEvaluated:
    """Answer to CheckConditions. `failed` names the first failing check as systemd prints
    it (`ConditionPathExists=/nonexistent`); `assert_failed` when it was an Assert*=."""

    unit: str
    ok: bool
    failed: str = ""
    assert_failed: bool = False


# --- manager-level requests ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobRequested:
    """A client asks for a job (`systemctl start` and friends)."""

    request_id: int
    verb: JobVerb
    unit: str
    mode: str = "replace"  # --job-mode= (core.transaction.JOB_MODES; others are refused)


@dataclass(frozen=True, slots=True)
class KillUnitRequested:
    """`systemctl kill`."""

    request_id: int
    unit: str
    whom: KillWhom = "all"
    signal: int = 15


@dataclass(frozen=True, slots=True)
class ResetFailedUnitRequested:
    """`systemctl reset-failed [UNIT]`; unit "" means every unit."""

    request_id: int
    unit: str = ""


ServiceEvent = (
    StartRequested
    | StopRequested
    | ReloadRequested
    | KillRequested
    | ResetFailedRequested
    | ProcessExited
    | Spawned
    | SpawnFailed
    | ExecSucceeded
    | ExecFailed
    | NotifyReceived
    | PidFileRead
    | MainPidGuessed
    | BusNameOwnerChanged
    | TimerFired
    | UnitProcessesGone
)
