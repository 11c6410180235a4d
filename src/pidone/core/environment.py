"""The environment of a spawned command, assembled in systemd 252's order (spec 02 §4).

Theory of operation (systemd src/core/service.c service_spawn() and src/core/execute.c
build_environment()/exec_child(); man 5 systemd.exec "ENVIRONMENT VARIABLES IN SPAWNED
PROCESSES"):

1. Layers, later wins, a replaced name keeps its first position (strv_env_merge()):
   a. manager defaults: `DefaultEnvironment=` / `set-environment` (PATH, LANG, ...);
   b. service-level variables the manager defines: NOTIFY_SOCKET, MAINPID, PIDFILE,
      SERVICE_RESULT, EXIT_CODE, EXIT_STATUS, MONITOR_*, TRIGGER_*, REMOTE_*;
   c. exec-level variables: LISTEN_*, WATCHDOG_*, HOME/LOGNAME/USER/SHELL, INVOCATION_ID,
      TERM, *_DIRECTORY, JOURNAL_STREAM, SYSTEMD_EXEC_PID;
   d. `PassEnvironment=` names taken from the manager's own environment (if set there);
   e. `Environment=` in order;
   f. `EnvironmentFile=` contents, file by file, line by line.
2. `UnsetEnvironment=` is applied last, to all of it: `NAME` removes the name,
   `NAME=VALUE` removes only that exact assignment.
3. Values that only the child knows (its own PID, for SYSTEMD_EXEC_PID, WATCHDOG_PID and
   LISTEN_PID) are written as `SELF_PID`, a sentinel that cannot occur in a real
   environment (it holds a NUL byte); linux.spawn replaces it after fork.
4. USER/LOGNAME/HOME/SHELL come only with `User=`; like systemd's USER_CREDS_CLEAN a home
   of "" or "/" gives no HOME and a placeholder shell (nologin, false) gives no SHELL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.model import ExecContext, ServiceSection

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The executable search list for bare names (spec 02 §2.1 item 4), split-usr order.
EXEC_SEARCH_PATH = tuple(DEFAULT_PATH.split(":"))
SELF_PID = "\x00self-pid"  # replaced with the child's PID in the child (rule 3)

# shell_is_placeholder() in systemd's user-util.c.
_PLACEHOLDER_SHELLS = frozenset(
    {
        "/bin/nologin",
        "/sbin/nologin",
        "/usr/bin/nologin",
        "/usr/sbin/nologin",
        "/bin/false",
        "/usr/bin/false",
    }
)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """The passwd entry of `User=` (resolved by linux.spawn.resolve_identity)."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str


@dataclass(frozen=True, slots=True)
class DirectoryBases:
    """Where `RuntimeDirectory=` and friends live (system manager defaults, spec 02 §6)."""

    runtime: str = "/run"
    state: str = "/var/lib"
    cache: str = "/var/cache"
    logs: str = "/var/log"
    configuration: str = "/etc"


@dataclass(frozen=True, slots=True)
class ManagerVariables:
    """What the manager defines for one command (layers b and c); "" / 0 means unset."""

    invocation_id: str = ""
    notify_socket: str = ""  # only when the effective NotifyAccess is not "none"
    main_pid: int = 0  # MAINPID, for control processes when a main PID is known
    pid_file: str = ""  # PIDFILE, absolute (see resolve_pid_file_path)
    service_result: str = ""  # SERVICE_RESULT, EXIT_CODE, EXIT_STATUS: stop commands
    exit_code: str = ""
    exit_status: str = ""
    watchdog_usec: int = 0  # main process only; WATCHDOG_PID is the child itself
    listen_fd_names: tuple[str, ...] = ()  # LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES
    user: UserRecord | None = None  # User= resolved: USER LOGNAME HOME SHELL
    term: str = ""  # only when a stdio stream is a terminal
    journal_stream: str = ""  # "dev:ino" of the stdout/stderr stream socket
    directories: tuple[tuple[str, str], ...] = ()  # from directory_variables()
    extra: tuple[tuple[str, str], ...] = ()  # MONITOR_*, TRIGGER_*, REMOTE_* ...
    exec_pid: bool = True  # SYSTEMD_EXEC_PID


@dataclass(frozen=True, slots=True)
class EnvironmentInputs:
    """Everything outside the unit file that feeds build_environment()."""

    manager_defaults: tuple[tuple[str, str], ...] = (("PATH", DEFAULT_PATH),)
    manager_environ: Mapping[str, str] = field(default_factory=dict)
    variables: ManagerVariables = field(default_factory=ManagerVariables)
    environment_files: tuple[tuple[tuple[str, str], ...], ...] = ()  # already parsed, in order


def resolve_pid_file_path(path: str, runtime: str = "/run") -> str:
    """PIDFile= relative paths are taken relative to /run (spec 02 §1)."""
    if not path or path.startswith("/"):
        return path
    return f"{runtime.rstrip('/')}/{path}"


def directory_variables(
    context: ExecContext, bases: DirectoryBases | None = None
) -> tuple[tuple[str, str], ...]:
    """RUNTIME_DIRECTORY= ... CONFIGURATION_DIRECTORY=: colon-joined absolute paths.

    Entries may carry a `:LINK` suffix (a symlink to create); the variable names the
    directory itself, never the link.
    """
    b = bases or DirectoryBases()
    table = (
        ("RUNTIME_DIRECTORY", b.runtime, context.runtime_directory),
        ("STATE_DIRECTORY", b.state, context.state_directory),
        ("CACHE_DIRECTORY", b.cache, context.cache_directory),
        ("LOGS_DIRECTORY", b.logs, context.logs_directory),
        ("CONFIGURATION_DIRECTORY", b.configuration, context.configuration_directory),
    )
    out: list[tuple[str, str]] = []
    for name, base, entries in table:
        if entries:
            paths = [f"{base.rstrip('/')}/{e.split(':', 1)[0].strip('/')}" for e in entries]
            out.append((name, ":".join(paths)))
    return tuple(out)


def clean_user_record(user: UserRecord) -> tuple[str, str]:
    """(HOME, SHELL) as systemd exports them: "" where USER_CREDS_CLEAN drops the value."""
    home = "" if user.home in ("", "/") else user.home
    shell = "" if user.shell in _PLACEHOLDER_SHELLS or not user.shell else user.shell
    return home, shell


def manager_variables_list(v: ManagerVariables) -> list[tuple[str, str]]:
    """Layers b and c in systemd's order (service_spawn(), then build_environment())."""
    out: list[tuple[str, str]] = []
    if v.notify_socket:
        out.append(("NOTIFY_SOCKET", v.notify_socket))
    if v.main_pid > 0:
        out.append(("MAINPID", str(v.main_pid)))
    if v.pid_file:
        out.append(("PIDFILE", v.pid_file))
    if v.service_result:
        out.append(("SERVICE_RESULT", v.service_result))
    if v.exit_code:
        out.append(("EXIT_CODE", v.exit_code))
    if v.exit_status:
        out.append(("EXIT_STATUS", v.exit_status))
    out.extend(v.extra)
    if v.listen_fd_names:
        out.append(("LISTEN_PID", SELF_PID))
        out.append(("LISTEN_FDS", str(len(v.listen_fd_names))))
        out.append(("LISTEN_FDNAMES", ":".join(v.listen_fd_names)))
    if v.watchdog_usec > 0:
        out.append(("WATCHDOG_PID", SELF_PID))
        out.append(("WATCHDOG_USEC", str(v.watchdog_usec)))
    if v.user is not None:
        home, shell = clean_user_record(v.user)
        if home:
            out.append(("HOME", home))
        out.append(("LOGNAME", v.user.name))
        out.append(("USER", v.user.name))
        if shell:
            out.append(("SHELL", shell))
    if v.invocation_id:
        out.append(("INVOCATION_ID", v.invocation_id))
    if v.term:
        out.append(("TERM", v.term))
    out.extend(v.directories)
    if v.journal_stream:
        out.append(("JOURNAL_STREAM", v.journal_stream))
    if v.exec_pid:
        out.append(("SYSTEMD_EXEC_PID", SELF_PID))
    return out


def _merge(env: dict[str, str], pairs: Iterable[tuple[str, str]]) -> None:
    for name, value in pairs:
        env[name] = value  # a replaced name keeps its first position, like strv_env_merge()


def apply_unset(env: dict[str, str], unset: Sequence[str]) -> None:
    """UnsetEnvironment=: `NAME` drops the name, `NAME=VALUE` only that exact assignment."""
    for item in unset:
        name, eq, value = item.partition("=")
        if not eq:
            env.pop(name, None)
        elif env.get(name) == value:
            del env[name]


def build_environment(context: ExecContext, inputs: EnvironmentInputs) -> dict[str, str]:
    """The command's final environment, in order (see the module docstring)."""
    env: dict[str, str] = {}
    _merge(env, inputs.manager_defaults)
    _merge(env, manager_variables_list(inputs.variables))
    for name in context.pass_environment:
        value = inputs.manager_environ.get(name)
        if value is not None:
            env[name] = value
    _merge(env, context.environment)
    for pairs in inputs.environment_files:
        _merge(env, pairs)
    apply_unset(env, context.unset_environment)
    return env


def effective_notify_access(service: ServiceSection) -> str:
    """NotifyAccess= after systemd's service_add_extras(): `none` becomes `main` for
    Type=notify, WatchdogSec= > 0 or FileDescriptorStoreMax= > 0 (spec 02 §1.1)."""
    if service.notify_access == "none" and (
        service.type == "notify"
        or service.watchdog_usec > 0
        or service.file_descriptor_store_max > 0
    ):
        return "main"
    return service.notify_access


def default_term_for_tty(tty_path: str) -> str:
    """TERM for a service on a terminal: `linux` on a virtual console, else `vt220`.

    (systemd's default_term_for_tty(); /dev/console counts as not-a-VC here because
    pidone cannot resolve it to the active VC without reading sysfs.)
    """
    name = tty_path.removeprefix("/dev/")
    if name.startswith("tty") and name[3:].isdigit():
        return "linux"
    return "vt220"
