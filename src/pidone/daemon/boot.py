"""Boot and shutdown of a `pidone daemon --boot`, and the start-up tmpfiles.d pass.

Boot and shutdown (spec 04 §8, systemd 252 manager_startup() and the shutdown path):

1. `--boot`: once the control socket listens, the daemon enqueues a start job for
   `default.target` in job mode `isolate` (a SystemJobRequested: systemd's own jobs skip the
   RefuseManualStart= check). The transaction pulls in everything reachable through Wants=,
   Requires= and the `.wants/`/`.requires/` links; the jobs run in parallel wherever no
   After=/Before= edge orders them.
2. Shutdown (SIGTERM, SIGINT, SIGRTMIN+3/+4/+5, `pidone poweroff|halt|reboot`, `systemctl
   exit`): a start job for `shutdown.target` in mode `replace-irreversibly`. Every unit with
   default dependencies has Conflicts=+Before=shutdown.target, so the conflicts become
   stop jobs, which job_compare() runs in the reverse of the start order (of two ordered
   units, the later one stops first). Once that job ends, whatever is still up (units with
   DefaultDependencies=no and no conflict) is stopped in parallel, as without --boot.
3. Then the daemon exits 0, or N after `systemctl exit N` (systemd's ExitCode=, which only
   that verb sets; systemd-shutdown returns it from a container). As PID 1 of a container,
   `reboot` and `halt` exit 0 too: that is what systemd 252 does in a container without
   CAP_SYS_BOOT (the default of Docker and podman): systemd-shutdown's reboot(2) fails
   with EPERM, it logs "Exiting container." and returns EXIT_SUCCESS. (With CAP_SYS_BOOT,
   reboot(2) in a child PID namespace makes the kernel kill the namespace's init with
   SIGHUP for a restart and SIGINT for power-off/halt, reboot(2) "Behavior inside PID
   namespaces"; pidone does not do that, so a supervisor sees exit 0 for all three.) Only
   as the kernel's own init (initial PID namespace) does pidone call reboot(2), since that
   PID 1 must never exit.

The tmpfiles.d pass (`--tmpfiles`):

systemd runs `systemd-tmpfiles --create --remove --boot` from systemd-tmpfiles-setup.service
early at boot. pidone does the --create --boot half itself, before it starts any unit, but
only when it is the machine's (or a container's) system manager: the pass writes below /,
and a test daemon that ran it would rewrite the host's /run, /tmp and /var.

The rule (`tmpfiles_wanted`):

- `--tmpfiles=no`: never.
- `--tmpfiles` / `--tmpfiles=yes`: with `--tmpfiles-root DIR`, always (everything stays
  below DIR: configuration from DIR/etc/tmpfiles.d & co., paths created below DIR); on /
  only as PID 1 of its PID namespace. That is how a container's init asks for it: a
  container's PID 1 creating the tmpfiles.d entries of its image is exactly what is
  wanted, but from the inside a container looks like a test namespace (same kernel, a
  fresh PID namespace, and `/.dockerenv` or `container=` inherited from the host when the
  tests themselves run in a container), so no guess is made: the image opts in.
- `--tmpfiles=auto` (the default): only as PID 1 of the *initial* PID namespace, i.e. the
  kernel's own init. The initial namespace has the fixed inode number PROC_PID_INIT_INO
  (0xEFFFFFFC, include/linux/proc_ns.h) on /proc/self/ns/pid; every PID namespace made with
  clone(CLONE_NEWPID)/unshare(1), as pidone.testing.harness does, has another one
  (namespaces(7)), so a test daemon, though PID 1 of its namespace, never runs it.

The --remove half (purging /tmp and `D` directories) is never done. The same rule creates
/run/systemd/system, systemd's "booted" marker (sd_booted(3)).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable

from pidone.core.actions import LOG_ERR, LOG_INFO, LOG_WARNING
from pidone.core.hints import TYPE_CHECKING

if TYPE_CHECKING:
    from pidone.daemon.main import Daemon

PROC_PID_INIT_INO = 0xEFFFFFFC  # include/linux/proc_ns.h
TMPFILES_CHOICES = ("auto", "yes", "no")


def in_initial_pid_namespace() -> bool:
    """Whether this process lives in the kernel's initial PID namespace."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino == PROC_PID_INIT_INO
    except OSError:  # no /proc: no proof, so no
        return False


def tmpfiles_wanted(choice: str, root: str, pid: int, initial_pid_namespace: bool) -> bool:
    """The rule of the module docstring; `root` is --tmpfiles-root ("/" when not given)."""
    if choice == "no":
        return False
    if choice == "yes":
        return pid == 1 or os.path.realpath(root) != "/"
    return pid == 1 and initial_pid_namespace


def apply_tmpfiles(choice: str, root: str | None, log: Callable[[str, str, int], None]) -> bool:
    """Run the --create --boot pass when the rule says so; log what it did. True if run."""
    root = root or "/"
    if not tmpfiles_wanted(choice, root, os.getpid(), in_initial_pid_namespace()):
        return False
    # sd_booted(3): "Internally, this function checks whether the directory
    # /run/systemd/system/ exists"; systemd 252 creates it when it starts as the system
    # manager. Daemons decide by it whether the manager passes sockets: rsyslog takes
    # /run/systemd/journal/syslog from syslog.socket only then, else it binds /dev/log
    # itself. Made under the same rule as the pass: by a manager that owns /run.
    with contextlib.suppress(OSError):
        os.makedirs(os.path.join(root, "run/systemd/system"), mode=0o755, exist_ok=True)
    if owns_run(root):
        take_systemd_comm()
    from pidone.linux.tmpfiles import run_create

    report = run_create(root, boot=True)
    for message in report.errors or []:
        log("init.scope", f"tmpfiles: {message}", LOG_WARNING)
    for message in report.skipped or []:
        log("init.scope", f"tmpfiles: {message}", LOG_INFO)
    where = "" if root == "/" else f" below {root}"
    errors = len(report.errors or [])
    log("init.scope", f"tmpfiles: --create --boot pass done{where}, {errors} errors.", LOG_INFO)
    return True


JOURNALD_SOCKET = "/run/systemd/journal/socket"  # systemd-journald.socket's native one
PROC_CGROUP_INIT_INO = 0xEFFFFFFB  # include/linux/proc_ns.h: the initial cgroup namespace


def owns_cgroup_namespace(pid1: bool, own_cgroup: str, own_dir: str) -> bool:
    """PID 1 at the root of its own cgroup namespace (a container: Docker and podman give
    one on cgroup v2), or the kernel's own init: the whole visible hierarchy is the
    manager's, so it lays it out as systemd does.

    Not so a test daemon: PID 1 of a fresh PID namespace, but in the cgroup namespace of
    whoever runs the tests (the host's, or a CI container's, whose root cgroup holds the
    test runner). That shows in the root's cgroup.procs: a process outside our PID
    namespace is listed as 0 (cgroup_procs_show() prints task_pid_vnr()), so a root
    cgroup with a 0 in it is shared with the world outside, and the daemon keeps to a
    subtree of its own."""
    if not pid1 or own_cgroup != "/":
        return False
    try:
        cgroup_ns = os.stat("/proc/self/ns/cgroup").st_ino
        with open(os.path.join(own_dir, "cgroup.procs"), encoding="ascii") as f:
            shared = "0" in f.read().split()
    except OSError:
        return False
    if shared:
        return False
    return cgroup_ns != PROC_CGROUP_INIT_INO or in_initial_pid_namespace()


def enter_init_scope(root: str) -> str:
    """Move the manager into `<root>/init.scope`, where systemd 252 keeps PID 1
    (/proc/1/cgroup reads `0::/init.scope`; `ps -o unit` says init.scope). Returns the
    scope's directory, "" if the move failed."""
    scope = os.path.join(root, "init.scope")
    try:
        os.makedirs(scope, 0o755, exist_ok=True)
        with open(os.path.join(scope, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    except OSError:
        return ""
    return scope


def owns_run(root: str) -> bool:
    """PID 1 applying tmpfiles.d to "/" (apply_tmpfiles() ran): /run is the manager's, and
    it stands in for what systemd and journald put there (the booted marker, the name
    `systemd`, the native journal socket that sd_journal_send(3) writes to)."""
    return os.getpid() == 1 and os.path.realpath(root) == "/"


def take_systemd_comm() -> None:
    """PID 1 that owns /run names itself `systemd` (proc(5): /proc/[pid]/comm, what
    /proc/1/stat shows in parentheses). Some daemons send sd_notify(3) only when their
    parent is PID 1 and /proc/1/stat begins with "1 (systemd) ": keepalived's
    check_parent_systemd() (Type=notify; without it READY=1 never comes and the start
    times out), tailscaled's runningUnderSystemd(). The /run/systemd/system marker above
    answers sd_booted(3) the same way."""
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as f:
        f.write("systemd")


def apply_generators(daemon: Daemon) -> None:
    """systemd.generator(7), at start-up and at every daemon-reload: only as PID 1 (of any
    PID namespace), not for a --root tree, and only when their output directories are on
    the unit search path (linux/generators.py, imported only then)."""
    from pidone.linux.unitpaths import has_generator_dirs

    units = daemon.units
    if daemon.pid1 and units.root is None and has_generator_dirs(units.paths()):
        from pidone.linux.generators import generate

        record = daemon.logs.manager_record
        generate(daemon.paths.runtime_dir, lambda text, prio: record("init.scope", text, prio))


# --- boot and shutdown ------------------------------------------------------------------------

BOOT_TARGET = "default.target"
SHUTDOWN_TARGET = "shutdown.target"
# SIGRTMIN+3/+4/+5: halt/poweroff/reboot, systemd(1) "Signals" (podman's and `machinectl
# poweroff`'s stop signals for a systemd container).
POWER_SIGNALS: dict[int, str] = {
    signal.SIGRTMIN + 3: "halt",
    signal.SIGRTMIN + 4: "poweroff",
    signal.SIGRTMIN + 5: "reboot",
}
# <sys/reboot.h>: RB_AUTOBOOT, RB_HALT_SYSTEM, RB_POWER_OFF
_REBOOT_CMDS = {"reboot": 0x01234567, "halt": 0xCDEF0123, "poweroff": 0x4321FEDC}
_FINAL_WORDS = {"poweroff": "Powering off.", "halt": "Halting system.", "reboot": "Rebooting."}


def _log_failure(daemon: Daemon, unit: str) -> Callable[[object], None]:
    def done(reply: object) -> None:
        for line in getattr(reply, "lines", ()):
            daemon.logs.manager_record(unit, line, LOG_ERR)

    return done


def start_boot(daemon: Daemon) -> None:
    """Rule 1: isolate default.target (its failure is logged: nobody waits for it)."""
    log = _log_failure(daemon, BOOT_TARGET)

    def queued(reply: object) -> None:
        # main.c do_queue_default_job(): "Queued start job for default target %s."
        name = str(getattr(reply, "unit", BOOT_TARGET))
        unit = daemon.units.get(name)
        description = unit.unit.description if unit is not None else ""
        shown = f"{name} - {description}" if description and description != name else name
        text = f"Queued start job for default target {shown}."
        daemon.logs.manager_record("init.scope", text, LOG_INFO)

    def done(reply: object) -> None:
        daemon.booting = False  # is-system-running: no longer `starting`
        log(reply)

    daemon.booting = True
    daemon.requests.system_job(BOOT_TARGET, "start", "isolate", done, queued)


def start_shutdown(daemon: Daemon, then: Callable[[], None]) -> None:
    """Rule 2: start shutdown.target irreversibly; `then()` once its job has ended."""
    log = _log_failure(daemon, SHUTDOWN_TARGET)

    def done(reply: object) -> None:
        log(reply)
        then()

    daemon.requests.system_job(SHUTDOWN_TARGET, "start", "replace-irreversibly", done)


def final_words(action: str, log: Callable[[str, str, int], None]) -> None:
    """Rule 3: what PID 1 logs last (systemd-shutdown's words; `exit` has only the last)."""
    words = _FINAL_WORDS.get(action)
    if words is not None:
        log("init.scope", words, LOG_INFO)
    if not in_initial_pid_namespace():
        log("init.scope", "Exiting container.", LOG_INFO)


def reboot_machine(action: str) -> None:
    """Rule 3: reboot(2) as the kernel's own init (it does not return); in any other PID
    namespace nothing: the daemon exits 0 and its container ends."""
    if os.getpid() != 1 or not in_initial_pid_namespace():
        return
    import ctypes

    os.sync()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.reboot(ctypes.c_int(_REBOOT_CMDS.get(action, _REBOOT_CMDS["poweroff"])))
