"""Actions: commands the pure core returns for the daemon's executor to carry out.

Contract with the executor (daemon/executor.py):
1. Actions are carried out in list order.
2. Every `Spawn` is answered with `Spawned` or `SpawnFailed` (and `ReadPidFile`,
   `GuessMainPid`, `CheckConditions` with their answer events); the answers are fed
   back, in order, once the whole list is carried out and before any other event.
   Other actions produce no event.
3. `ArmTimer` with a new token never replaces another token: the core cancels old
   tokens itself. Tokens are unique per arming, so a stale `TimerFired` is harmless.
4. `Signal(target="cgroup")` signals every process of the unit except `exclude`; with
   `log_kill` each signalled process (also for target "pid") is logged with
   `format_kill_message()` at priority 5, as systemd's unit_kill_context() does.
5. The executor reports `UnitProcessesGone` each time a unit's cgroup (or tracked set)
   becomes empty, re-checking emptiness just before feeding it (a Spawn may have come
   in between); the machine assumes "populated" from each Spawned on.
`Log` records are the manager's own journal lines, already worded as systemd 252 writes
them (man 7 systemd.journal-fields: `UNIT=`, `MESSAGE_ID=`, ...).
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass
from pidone.core.execline import ExecCommand
from pidone.core.hints import Literal
from pidone.core.signames import signal_name

LOG_ERR = 3
LOG_WARNING = 4
LOG_NOTICE = 5
LOG_INFO = 6

# MESSAGE_IDs of systemd 252 (src/systemd/sd-messages.h, spec 06 §7).
MID_UNIT_STARTING = "7d4958e842da4a758f6c1cdc7b36dcc5"
MID_UNIT_STARTED = "39f53479d3a045ac8e11786248231fbf"
MID_UNIT_FAILED = "be02cf6855d2428ba40df7e9d022f03d"
MID_UNIT_STOPPING = "de5b426a63be47a7b6ac3eaac82e2f6f"
MID_UNIT_STOPPED = "9d1aaa27d60140bd96365438aad20286"
MID_UNIT_RELOADING = "d34d037fff1847e6ae669a370e694725"
MID_UNIT_RELOADED = "7b05ebc668384222baa8881179cfda54"
MID_UNIT_PROCESS_EXIT = "98e322203f7a4ed290d09fe03c09fe15"
MID_UNIT_FAILURE_RESULT = "d9b373ed55a64feb8242e02dbe79a49c"
MID_UNIT_SUCCESS = "7ad2d189f7e94e70a38c781354912448"
MID_UNIT_RESTART_SCHEDULED = "5eb03494b6584870a536b337290809b3"
MID_UNIT_SKIPPED = "0e4284a0caca4bfc81c0bb6786972673"
MID_SPAWN_FAILED = "641257651c1b4ec9a8624d7a40a9e1e7"
MID_UNIT_RESOURCES = "ae8f7b866b0347b9af31fe1c80b127c0"

ExecRole = Literal["condition", "start-pre", "start", "start-post", "reload", "stop", "stop-post"]


@dataclass(frozen=True, slots=True)
class Spawn:
    """Fork and exec `command` for `unit` (role = the Exec*= directive it comes from).

    `env` holds what the manager defines for this process (INVOCATION_ID, MAINPID,
    SERVICE_RESULT, EXIT_CODE, EXIT_STATUS, WATCHDOG_USEC, PIDFILE); the spawner adds
    the unit's Environment=/EnvironmentFile= on top (spec 02 §4) and, when `main` and
    WATCHDOG_USEC is present, WATCHDOG_PID. `notify_socket`: export $NOTIFY_SOCKET.
    `report_exec`: Type=exec, answer ExecSucceeded/ExecFailed.
    Socket activation (the manager fills these in, core.triggerwiring): `fds` become fds
    3, 4, ... with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES (`fd_names`); `socket_fd` is the
    socket for StandardInput=socket (an Accept=yes connection, or the one listening
    socket of Accept=no); `socket_error`, when set, fails the spawn with that line and
    EINVAL (exec_spawn(): "Got no socket."); `extra_env` holds TRIGGER_*/REMOTE_*.
    `promises`: the service has a successor in mind for this control process: the Spawn
    a status-0 exit leads to if the service sees no other event before that (its next
    ExecStartPre=, or ExecStart=). The executor asks for it (`successor()` of the manager)
    once this process runs, may start it as soon as it reaps this one, before the exit has
    gone through the manager, and answers the Spawn the manager then makes (equal but for
    its own `promises`) with that process; DropSuccessor withdraws the promise.
    """

    unit: str
    token: str
    role: ExecRole
    index: int
    command: ExecCommand
    env: tuple[tuple[str, str], ...]
    main: bool
    notify_socket: bool = False
    report_exec: bool = False
    fds: tuple[int, ...] = ()
    fd_names: tuple[str, ...] = ()
    socket_fd: int = -1
    extra_env: tuple[tuple[str, str], ...] = ()
    socket_error: str = ""
    promises: bool = False


@dataclass(frozen=True, slots=True)
class DropSuccessor:
    """The successor promised for `unit`'s running control process no longer holds."""

    unit: str


@dataclass(frozen=True, slots=True)
class Signal:
    """Send `signal` to one PID (`target="pid"`) or to the unit's processes but `exclude`.

    `sigcont`: follow with SIGCONT (kill_and_sigcont()); `log_kill`: log every process hit.
    `client`: sent for `kill` (unit_kill_common()): "main" or "control" for a PID, "aux" for
    the rest of the unit, each logged "... on client request."
    """

    unit: str
    target: Literal["pid", "cgroup"]
    signal: int
    pid: int = 0
    exclude: tuple[int, ...] = ()
    sigcont: bool = False
    log_kill: bool = False
    client: str = ""


@dataclass(frozen=True, slots=True)
class ArmTimer:
    """Fire TimerFired(`token`) at CLOCK_MONOTONIC `deadline_usec`."""

    token: str
    deadline_usec: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Forget the timer `token` (no event follows)."""

    token: str


@dataclass(frozen=True, slots=True)
class WatchPid:
    """Watch a PID that may not be our child (MAINPID=, PID file): report its exit."""

    unit: str
    pid: int


@dataclass(frozen=True, slots=True)
class ReadPidFile:
    """Read PIDFile= and answer PidFileRead; with `watch`, answer again when it changes.
    A file naming `known` (the main PID already known) is answered with it, unchecked:
    service_load_pid_file() returns early for it, before its suitability checks."""

    unit: str
    path: str
    watch: bool = False
    known: int = 0


@dataclass(frozen=True, slots=True)
class GuessMainPid:
    """GuessMainPID=yes: answer MainPidGuessed with the only process left, if exactly one."""

    unit: str
    exclude: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class WatchBusName:
    """Type=dbus: answer BusNameOwnerChanged with the owner of `name` now and at each change."""

    unit: str
    name: str


@dataclass(frozen=True, slots=True)
class CheckConditions:
    """Evaluate the unit's Condition*=/Assert*= lines; answer ConditionsEvaluated."""

    unit: str


@dataclass(frozen=True, slots=True)
class CreateDirectories:
    """Create RuntimeDirectory= and friends before the first command of a run."""

    unit: str


@dataclass(frozen=True, slots=True)
class RemoveDirectories:
    """Remove RuntimeDirectory= (unless RuntimeDirectoryPreserve=) after a run."""

    unit: str


@dataclass(frozen=True, slots=True)
class RemovePidFile:
    """Delete the out-of-date PIDFile= once the service is dead (service_enter_dead())."""

    unit: str
    path: str


@dataclass(frozen=True, slots=True)
class WarnLeftoverProcesses:
    """Log each process still in the unit with `format_leftover_message(when=...)`."""

    unit: str
    when: Literal["start", "stop"]


@dataclass(frozen=True, slots=True)
class Log:
    """One journal record of the manager (`MESSAGE=` text complete, `UNIT=unit`)."""

    unit: str
    message: str
    priority: int = LOG_INFO
    message_id: str = ""
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class LogResources:
    """The unit just stopped or failed: log what it consumed (252's unit_log_resources(),
    called by unit_notify() after the unit's job has finished, so after "Stopped X.")."""

    unit: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The unit moved between SubStates (ActiveState words as `systemctl show` prints)."""

    unit: str
    old_active: str
    old_sub: str
    new_active: str
    new_sub: str
    result: str


# --- addressed to the manager (never reach the executor) --------------------------------------


@dataclass(frozen=True, slots=True)
class RestartJobWanted:
    """RestartSec= elapsed in auto-restart: enqueue a restart job (mode replace)."""

    unit: str


@dataclass(frozen=True, slots=True)
class StartRefused:
    """The start rate limit refused a start (unit_start() -> -ECANCELED)."""

    unit: str


# --- replies to clients -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobQueued:
    """A JobRequested was accepted as job `job_id` (maybe merged into a pending one)."""

    request_id: int
    job_id: int
    unit: str


@dataclass(frozen=True, slots=True)
class JobFinished:
    """Job `job_id` ended; `lines` and `exit_code` are what systemctl prints and returns."""

    job_id: int
    unit: str
    job_type: str
    result: str
    lines: tuple[str, ...]
    exit_code: int


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """A request was refused before any job existed (stderr lines and exit code)."""

    request_id: int
    lines: tuple[str, ...]
    exit_code: int


@dataclass(frozen=True, slots=True)
class RequestDone:
    """A request without a job (kill, reset-failed) succeeded."""

    request_id: int


Action = (
    Spawn
    | DropSuccessor
    | Signal
    | ArmTimer
    | CancelTimer
    | WatchPid
    | ReadPidFile
    | GuessMainPid
    | WatchBusName
    | CheckConditions
    | CreateDirectories
    | RemoveDirectories
    | RemovePidFile
    | WarnLeftoverProcesses
    | Log
    | LogResources
    | StateChanged
    | RestartJobWanted
    | StartRefused
    | JobQueued
    | JobFinished
    | RequestFailed
    | RequestDone
)


def format_kill_message(unit: str, pid: int, comm: str, signal: int) -> str:
    """`X: Killing process N (comm) with signal SIGKILL.` (unit_kill_context_log())."""
    return f"{unit}: Killing process {pid} ({comm or 'n/a'}) with signal SIG{signal_name(signal)}."


def format_leftover_message(unit: str, pid: int, comm: str, when: str) -> list[str]:
    """The warning(s) for a process left in the unit (unit_log_leftover_process_*()).

    The start warning is one message with a newline in systemd 252; its log_dispatch_internal()
    writes each line as a record of its own, and only the first carries the `UNIT: ` prefix
    of log_unit_warning() (oracle: isc-dhcp-server's restart)."""
    if when == "stop":
        return [f"{unit}: Unit process {pid} ({comm or 'n/a'}) remains running after unit stopped."]
    return [
        f"{unit}: Found left-over process {pid} ({comm or 'n/a'}) in control group while "
        "starting unit. Ignoring.",
        "This usually indicates unclean termination of a previous run, or service "
        "implementation deficiencies.",
    ]
