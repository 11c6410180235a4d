"""pidoned entry: parse options, wire loop + tracker + journal + executor + manager + control.

Start-up order matters (spec 08 §1):

1. Block every blockable signal first thing: a SIGTERM sent while Python is still importing
   stays pending instead of being discarded (a namespace PID 1 drops SIG_DFL signals).
   Handlers installed later on the loop unblock what they handle.
2. Become child subreaper (PID 1 already is one), so double-forked daemons come back to us.
3. Directories, journal writer (its thread inherits the blocked mask), log inputs,
   tracker, notify socket, control socket; then the units named by `--start`.
4. SIGTERM/SIGINT: stop every unit that is not inactive (their own stop sequences, all in
   parallel), and exit 0 once every stop job finished. As PID 1, then SIGTERM and after a
   grace period SIGKILL whatever is left in the namespace, reaping all of it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable

from pidone.core.dataclass_lite import dataclass, field
from pidone.linux.signals import block_signals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from pidone.core.model import Unit
    from pidone.daemon.executor import TrackerWithEvents
    from pidone.daemon.privatebus import PrivateBus

GRACE_SECONDS = 5.0  # PID 1: SIGTERM to leftovers, then SIGKILL after this long


# Memory (bench/RESULTS.md "engine"): `import hashlib` maps OpenSSL's libcrypto (~3.8 MiB
# of RSS) and `import uuid` pulls platform and friends (~0.4 MiB). The daemon needs one
# SHA-256 (the cgroup sub-tree tag, equal to testing.harness's) and random 128-bit ids, so
# it uses CPython's built-in _sha256 and os.urandom() instead.


def _sha256_hex(data: bytes) -> str:
    try:
        sha256 = importlib.import_module("_sha256").sha256
    except ImportError:  # an interpreter built without it: OpenSSL's
        from hashlib import sha256
    return str(sha256(data).hexdigest())


def _random_id() -> str:
    """A random UUID (version 4, RFC 4122 variant) as 32 hex digits, as uuid4().hex."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return b.hex()


@dataclass(slots=True)
class DaemonOptions:
    """The parsed command line of `pidone daemon`."""

    root: str | None = None
    runtime_dir: str | None = None
    state_dir: str | None = None
    log_to_stdout: bool = False
    start: list[str] = field(default_factory=list)
    dev_log: str | None = None
    journal_socket: str | None = None
    no_cgroups: bool = False
    tmpfiles: str = "auto"
    tmpfiles_root: str | None = None
    boot: bool = False


# The options, in --help order: (name, kind, metavar, help). Kinds: "value" takes one
# argument (`--x V` or `--x=V`), "flag" none, "units" one or more (up to the next option),
# "tmpfiles" an optional one of auto|yes|no (bare: yes). A hand parser rather than argparse:
# argparse costs the running daemon ~1.3 MiB of RSS (it imports re, gettext and, for its
# help formatter, shutil with bz2 and lzma; gettext loads locale on the first message).
# Its rules are kept: unique prefixes of option names are accepted (`--run` for
# --runtime-dir), errors print the usage line and exit 2, -h/--help exits 0.
_OPTIONS = (
    ("--root", "value", "ROOT", "read unit files below this directory"),
    ("--runtime-dir", "value", "RUNTIME_DIR", "sockets (default /run/pidone)"),
    ("--state-dir", "value", "STATE_DIR", "journal and state (default /var/lib/pidone)"),
    (
        "--log-to-stdout",
        "flag",
        "",
        "also write every journal record to stdout, prefixed with its unit",
    ),
    ("--start", "units", "UNIT", "units to start"),
    ("--dev-log", "value", "PATH", "syslog socket to listen on"),
    ("--journal-socket", "value", "PATH", "native journal protocol socket to listen on"),
    ("--no-cgroups", "flag", "", "track processes through /proc"),
    (
        "--tmpfiles",
        "tmpfiles",
        "",
        "apply tmpfiles.d before starting units (auto: only as the kernel's init; "
        "see daemon/boot.py)",
    ),
    ("--tmpfiles-root", "value", "DIR", "tmpfiles.d below DIR"),
    (
        "--boot",
        "flag",
        "",
        "isolate default.target at start; shut down through shutdown.target (see daemon/boot.py)",
    ),
)
_TMPFILES_CHOICES = ("auto", "yes", "no")
_PROG = "pidone daemon"


def _usage_of(name: str, kind: str, metavar: str) -> str:
    if kind == "value":
        return f"[{name} {metavar}]"
    if kind == "units":
        return f"[{name} {metavar} [{metavar} ...]]"
    if kind == "tmpfiles":
        return f"[{name} [{{{','.join(_TMPFILES_CHOICES)}}}]]"
    return f"[{name}]"


def _usage() -> str:
    lines, line = [], f"usage: {_PROG} [-h]"
    indent = " " * len(f"usage: {_PROG} ")
    for name, kind, metavar, _help in _OPTIONS:
        item = _usage_of(name, kind, metavar)
        if len(line) + 1 + len(item) > 78:
            lines.append(line)
            line = indent + item
        else:
            line += " " + item
    return "\n".join([*lines, line]) + "\n"


def _help() -> str:
    out = [_usage(), "\nRun the pidone manager.\n\noptions:\n"]
    rows = [("-h, --help", "show this help message and exit")]
    rows += [(_usage_of(n, k, m)[1:-1], text) for n, k, m, text in _OPTIONS]
    for head, text in rows:
        lines = _wrap(text, 78 - 24)
        if len(head) <= 20:
            out.append(f"  {head:<20}  {lines[0]}\n")
            lines = lines[1:]
        else:
            out.append(f"  {head}\n")
        out.extend(f"{'':<24}{line}\n" for line in lines)
    return "".join(out)


def _wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most `width` columns (textwrap's job, without its import)."""
    lines = [""]
    for word in text.split():
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    return lines


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"{_usage()}{_PROG}: error: {message}\n")
    raise SystemExit(2)


def _option(word: str) -> tuple[str, str]:
    """(name, kind) of `word` (an exact name or a unique prefix of one, as argparse)."""
    for name, kind, _metavar, _help in _OPTIONS:
        if word == name:
            return name, kind
    found = [(name, kind) for name, kind, _m, _h in _OPTIONS if name.startswith(word)]
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(name for name, _kind in found)
        _fail(f"ambiguous option: {word} could match {names}")
    _fail(f"unrecognized arguments: {word}")


def parse_args(argv: list[str]) -> DaemonOptions:
    """`pidone daemon`'s options (argparse's behaviour for the same declarations)."""
    opts = DaemonOptions()
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word in ("-h", "--help") or (len(word) > 2 and "--help".startswith(word)):
            sys.stdout.write(_help())
            raise SystemExit(0)
        if not word.startswith("--") or word == "--":
            rest = argv[i - 1 :] if word != "--" else argv[i:]
            if rest:
                _fail(f"unrecognized arguments: {' '.join(rest)}")
            break
        word, eq, attached = word.partition("=")
        name, kind = _option(word)
        attr = name[2:].replace("-", "_")
        if kind == "flag":
            if eq:
                _fail(f"argument {name}: ignored explicit argument '{attached}'")
            setattr(opts, attr, True)
        elif kind == "value":
            if eq:
                setattr(opts, attr, attached)
            elif i < len(argv) and not _looks_like_option(argv[i]):
                setattr(opts, attr, argv[i])
                i += 1
            else:
                _fail(f"argument {name}: expected one argument")
        elif kind == "units":
            units = [attached] if eq else []
            while not eq and i < len(argv) and not _looks_like_option(argv[i]):
                units.append(argv[i])
                i += 1
            if not units:
                _fail(f"argument {name}: expected at least one argument")
            opts.start = units
        else:  # --tmpfiles [auto|yes|no]
            value = "yes"
            if eq:
                value = attached
            elif i < len(argv) and not _looks_like_option(argv[i]):
                value = argv[i]
                i += 1
            if value not in _TMPFILES_CHOICES:
                choices = ", ".join(f"'{c}'" for c in _TMPFILES_CHOICES)
                _fail(f"argument {name}: invalid choice: '{value}' (choose from {choices})")
            opts.tmpfiles = value
    return opts


def _looks_like_option(word: str) -> bool:
    """argparse takes a word starting with '-' for an option (negative numbers aside)."""
    return word.startswith("-") and word != "-" and not _is_negative_number(word)


def _is_negative_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def main(argv: list[str]) -> int:
    """`pidone daemon` / `pidoned`."""
    block_signals()
    opts = parse_args(argv)
    from pidone.core.errors import PidoneError

    try:
        daemon = Daemon(opts)
    except PidoneError as exc:
        sys.stderr.write(f"pidone daemon: {exc}\n")
        return 1
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        sys.stderr.write(f"pidone daemon:{where} {exc.strerror or exc}\n")
        return 1
    return daemon.run()


def _host_identity() -> object:
    from pidone.daemon.logpipes import HostIdentity

    def read(path: str) -> str:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except OSError:
            return ""

    boot = read("/proc/sys/kernel/random/boot_id").replace("-", "")
    return HostIdentity(boot, read("/etc/machine-id"), os.uname().nodename)


class Daemon:
    """Everything one running manager owns."""

    def __init__(self, opts: DaemonOptions) -> None:
        from pidone.daemon.control import ControlServer
        from pidone.daemon.executor import LinuxExecutor
        from pidone.daemon.logpipes import HostIdentity, LogCollector
        from pidone.daemon.loop import EventLoop
        from pidone.daemon.paths import prepare_dirs, resolve_paths
        from pidone.daemon.registry import UnitRegistry
        from pidone.daemon.verbs import Requests, build_verbs
        from pidone.journal.store import JournalWriter
        from pidone.linux.reaper import become_subreaper

        self.opts = opts
        self.pid1 = os.getpid() == 1
        self.private_bus: PrivateBus | None = None  # /run/systemd/private, as PID 1 owning /run
        self.init_scope_dir = ""  # <cgroup root>/init.scope in systemd's layout, else ""
        self.cgroup_mount = ""
        if not self.pid1:
            become_subreaper()
        if opts.root is None and os.environ.get("PIDONE_ROOT"):
            opts.root = os.environ["PIDONE_ROOT"]
        self.paths = resolve_paths(opts.runtime_dir, opts.state_dir)
        from pidone.linux.sandbox import set_private_tmp_scope

        # The same tag as the daemon's cgroup sub-tree: PrivateTmp= directories of units of
        # another manager on this host are not this one's to clean up (linux/sandbox.py).
        set_private_tmp_scope(_sha256_hex(self.paths.runtime_dir.encode())[:8])
        prepare_dirs(self.paths)
        os.chdir("/")  # a daemon holds no directory busy; "/" is also every unit's default cwd
        self.loop = EventLoop()
        journal_file = self.paths.state_path("journal.sqlite")
        self.writer = JournalWriter(journal_file, _random_id())
        with open(self.paths.runtime_path("journal.path"), "w", encoding="utf-8") as f:
            f.write(journal_file + "\n")
        self.tracker = self._make_tracker(opts.no_cgroups)
        host = _host_identity()
        assert isinstance(host, HostIdentity)
        echo = sys.stdout.buffer if opts.log_to_stdout else None
        self.logs = LogCollector(self.loop, self.writer, host, echo, self.tracker.unit_of)
        self._listen_logs(opts)
        self.units = UnitRegistry(opts.root, generator_base=self.paths.runtime_dir)
        from pidone.daemon.boot import apply_generators

        apply_generators(self)  # before any unit is loaded, as systemd does
        self.executor = LinuxExecutor(
            self.loop,
            self.tracker,
            self.logs,
            self.units.get,
            notify_path=self.paths.runtime_path("notify"),
            state_dir=self.paths.state_dir,
        )
        from pidone.core.manager import Manager
        from pidone.daemon.triggerio import build_trigger_units

        triggers = build_trigger_units(self.paths.state_dir)
        self.manager = Manager([], _random_id, triggers=triggers)
        if hasattr(self.manager, "load"):  # dependencies: the manager loads what units name
            self.manager.load = self._load_for_manager  # type: ignore[attr-defined,unused-ignore]
        self.executor.brain = self.manager
        self.logs.unit_of_pid = self.executor.unit_of_sender
        self.requests = Requests(self.executor)
        from pidone.daemon.busactivation import wire_bus_activation

        wire_bus_activation(self)  # dbus-daemon's SystemdService= requests
        self.executor.on_reply = self.requests.reply
        self.units.on_loaded = self.manager.add_unit
        from pidone.core.manager import PerpetualUnitsRunning

        # -.slice and system.slice are up from the start, and so is init.scope where the
        # daemon moved itself into that cgroup (core.targets.PERPETUAL)
        scope = ("init.scope",) if self.init_scope_dir else ()
        self.executor.submit(PerpetualUnitsRunning(("-.slice", "system.slice", *scope)))
        self.server = ControlServer(
            self.loop, self.paths.control_socket, build_verbs(self), software="pidone"
        )
        self.stopping = False
        self.exit_code = 0
        self.power_action = "poweroff"
        self.booting = False  # --boot: until default.target's job has ended (daemon/boot.py)

    def _make_tracker(self, no_cgroups: bool) -> TrackerWithEvents:
        from pidone.daemon.boot import enter_init_scope, owns_cgroup_namespace
        from pidone.linux.cgroups import CgroupTracker, find_writable_cgroup2

        if not no_cgroups:
            mount = find_writable_cgroup2()
            if mount is not None and owns_cgroup_namespace(
                self.pid1, mount.own_cgroup, mount.own_dir
            ):
                # The container's (or machine's) init: systemd's own layout, itself in
                # /init.scope and each unit below its slice (linux/cgroups.py).
                with contextlib.suppress(OSError):
                    tracker = CgroupTracker(mount.own_dir, slice_of=self._slice_of)
                    self.init_scope_dir = enter_init_scope(mount.own_dir)
                    self.cgroup_mount = mount.mount_point.rstrip("/")
                    return tracker
            elif mount is not None:
                # One sub-tree per daemon: several test daemons may share our cgroup.
                tag = _sha256_hex(self.paths.runtime_dir.encode())[:8]
                base = f"{mount.own_dir.rstrip('/')}/pidone-{tag}"
                with contextlib.suppress(OSError):
                    tracker = CgroupTracker(base)
                    self.cgroup_mount = mount.mount_point.rstrip("/")
                    return tracker
        from pidone.linux.proctrack import ProcTracker  # only without a usable cgroup2

        return ProcTracker(become_subreaper=not self.pid1)

    def _slice_of(self, name: str) -> str:
        """The unit's Slice= (or its default slice) for its cgroup's place."""
        unit = self.units.get(name) if hasattr(self, "units") else None
        return unit.slice if unit is not None and unit.slice else "system.slice"

    def _listen_logs(self, opts: DaemonOptions) -> None:
        dev_log, native = opts.dev_log, opts.journal_socket
        if self.pid1 and dev_log is None and not os.path.exists("/dev/log"):
            dev_log = "/dev/log"  # only when nobody else serves it (a shared /dev in tests)
        if dev_log:
            self.logs.listen_syslog(dev_log)
        if native:
            os.makedirs(os.path.dirname(native) or ".", exist_ok=True)
            self.logs.listen_native(native)

    # --- running ------------------------------------------------------------------------

    def run(self) -> int:
        from pidone.core.actions import LOG_INFO, LOG_WARNING
        from pidone.linux.spawn_cgroup import spawner

        # The spawn helper is a fresh interpreter (~25 ms to boot): it boots now, on the
        # other CPU while the units load, not at the first start (linux.spawn_cgroup).
        spawner().start()
        self.server.start()
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, lambda _n: self.shutdown())
        self.loop.add_signal_handler(signal.SIGHUP, lambda _n: self.reload())
        from pidone.daemon.boot import POWER_SIGNALS, start_boot

        for power_signal, action in POWER_SIGNALS.items():
            self.loop.add_signal_handler(power_signal, functools.partial(self._power, action))
        self.logs.manager_record("init.scope", f"pidone manager {os.getpid()} running.", LOG_INFO)
        from pidone.linux import userdb

        def nss_timeout(what: str) -> None:  # linux/userdb.py: an NSS source that hangs
            text = f"{what}: NSS gave no answer within {userdb.NSS_TIMEOUT:g}s, taken as unknown."
            self.logs.manager_record("init.scope", text, LOG_WARNING)

        userdb.on_timeout = nss_timeout
        from pidone.daemon.boot import JOURNALD_SOCKET, apply_tmpfiles, owns_run

        root = self.opts.tmpfiles_root or "/"
        ran = apply_tmpfiles(self.opts.tmpfiles, root, self.logs.manager_record)
        if ran and owns_run(root) and self.opts.journal_socket is None:
            # journald's native socket (systemd-journald.socket): charon-systemd and other
            # sd_journal_send(3) users log only there; --journal-socket= chooses another.
            self.logs.listen_native(JOURNALD_SOCKET)
        if ran and owns_run(root):
            # systemctl's own socket: a foreign systemctl run by a unit fails at once
            # instead of waiting on a system bus that cannot start yet (daemon/privatebus.py)
            from pidone.daemon.privatebus import PrivateBus

            self.private_bus = PrivateBus(self.loop)
            try:
                self.private_bus.listen()
            except OSError as exc:
                self.logs.manager_record(
                    "init.scope", f"Failed to listen on {self.private_bus.path}: {exc}", LOG_WARNING
                )
        # Load every unit first, then queue the jobs: the dependency graph is then built once
        # for the first job and reused, instead of rebuilt after each newly loaded unit.
        if self.opts.boot:
            start_boot(self)
        started = [name for name in self.opts.start if self.load_for_start(name)]
        for name in started:
            self.start_unit(name)
        # Python's cyclic garbage collector runs between loop turns, never inside a start
        # (daemon/loop.py); what start-up built (modules, units, the graph) is moved out of
        # its scans for good (gc.freeze()): without that, the first older-generation runs
        # walked it all (one took 24 ms in a warm start/stop loop). The price: a start-up
        # object that later ends up in unreachable reference cycles is never freed, at
        # most what start-up built, once (units and graphs are freed by reference count).
        gc.freeze()
        self.loop.collect_between_turns()
        try:
            self.loop.run()
        finally:
            self._close()
        if self.pid1 and self.stopping:
            from pidone.daemon.boot import reboot_machine

            reboot_machine(self.power_action)  # returns only in a container
        # Everything is flushed and closed (journal committed, sockets unlinked, cgroups
        # removed): skip the interpreter's teardown, which frees every object of ~150
        # modules one by one (~60 ms of a 100-service stop-all, bench/engine.py) and would
        # only delay the moment our parent sees the exit. _exit(2) still closes every fd.
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(self.exit_code)

    def load_for_start(self, name: str) -> bool:
        """Load `name` ahead of its start job; a failure is logged (False)."""
        from pidone.core.actions import LOG_ERR
        from pidone.core.errors import PidoneError

        try:
            self.units.load(name)
        except PidoneError as exc:
            self.logs.manager_record("init.scope", f"Failed to start {name}: {exc}", LOG_ERR)
            return False
        return True

    def start_unit(self, name: str) -> None:
        """A start job for `name` (loading it first), its failure logged, not answered."""
        from pidone.core.actions import LOG_ERR
        from pidone.core.errors import PidoneError

        try:
            self.units.load(name)
        except PidoneError as exc:
            self.logs.manager_record("init.scope", f"Failed to start {name}: {exc}", LOG_ERR)
            return

        def done(reply: object) -> None:
            for line in getattr(reply, "lines", ()):
                self.logs.manager_record(name, line, LOG_ERR)

        self.requests.job("start", name, on_done=done)

    def _load_for_manager(self, name: str) -> Unit | None:
        """The manager's loader for units named by dependencies (may raise PidoneError)."""
        return self.units.load(name)

    def reload(self) -> None:
        from pidone.daemon.boot import apply_generators

        apply_generators(self)
        self.executor.drop_successors()  # promised from the old unit files
        units = self.units.reload()
        reload_units = getattr(self.manager, "reload_units", None)
        if reload_units is not None:
            reload_units(units)  # also forgets units whose files are gone
            from pidone.core.triggerwiring import TriggersReloaded

            self.executor.submit(TriggersReloaded())  # timers re-plan on their new files
            return
        for unit in units:
            self.manager.add_unit(unit)

    def shutdown(self, action: str = "poweroff") -> None:
        """With --boot, shutdown.target first (daemon/boot.py); then stop every unit still
        up in parallel; exit once all stop jobs are done."""
        if self.stopping:
            return
        self.stopping = True
        self.power_action = action
        self.writer.checkpoint_soon()  # in the writer thread, while the units stop
        if self.opts.boot:
            from pidone.daemon.boot import start_shutdown

            start_shutdown(self, self._stop_the_rest)
            return
        self._stop_the_rest()

    def _power(self, action: str, _signum: int) -> None:
        self.shutdown(action)

    def _stop_the_rest(self) -> None:
        from pidone.daemon.boot import SHUTDOWN_TARGET

        active = [
            name
            for name in self.manager_unit_names()
            if name != SHUTDOWN_TARGET and self._needs_stop(name)
        ]
        pending = set(active)
        if not pending:
            self._finish()
            return

        def done(name: str) -> None:
            pending.discard(name)
            if not pending:
                self._finish()

        # One event for all of them: the manager builds one stop transaction (as systemd's
        # shutdown does) instead of one per unit (core.manager.StopUnitsRequested).
        from pidone.core.manager import StopUnitsRequested

        asked = tuple(
            (self.requests.new_id(None, functools.partial(_ignore_reply, done, name)), name)
            for name in active
        )
        self.executor.submit(StopUnitsRequested(asked))

    def manager_unit_names(self) -> list[str]:
        return [u.id for u in self.units]

    def _needs_stop(self, name: str) -> bool:
        from pidone.daemon.verbs import unit_state

        # (-.slice, system.slice and init.scope are asked for too: the manager refuses
        # their stop, core.targets.PERPETUAL, and the refusal answers the request)
        return unit_state(self, name)[0] not in ("inactive", "failed")

    def _finish(self) -> None:
        if self.pid1:
            from pidone.daemon.boot import final_words
            from pidone.linux.spawn_cgroup import spawner

            # Every unit has stopped: the clone3 spawn helper (our child, in no unit) ends
            # now, on EOF, rather than as a leftover of kill(-1) below.
            spawner().stop()
            self._kill_everything()
            final_words(self.power_action, self.logs.manager_record)
        # The writer thread commits what is logged so far while this loop turn ends (the
        # stopped units' cgroups are pruned) and _close() runs; nothing waits for it here.
        self.writer.flush(0)
        self.loop.stop()

    def _kill_everything(self) -> None:
        """PID 1: kill(-1) hits every process of the namespace but us (spec 08 §1.7)."""
        from pidone.linux.reaper import reap_all

        for sig, grace in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, GRACE_SECONDS)):
            try:
                os.kill(-1, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                reap_all()
                if not _has_children():
                    return
                time.sleep(0.01)

    def _close(self) -> None:
        self.server.close()
        if self.private_bus is not None:
            self.private_bus.close()
        self.executor.close()
        self.logs.close()
        # The last commit and the journal's last checkpoint (fdatasync, WAL unlink) run in
        # the writer thread while the cgroups are removed here; close() waits for them.
        self.writer.close_soon()
        remove = getattr(self.tracker, "remove", None)
        if remove is not None:
            for unit in self.units:
                with contextlib.suppress(OSError):
                    remove(unit.id)
        base = getattr(self.tracker, "base", None)
        if base:
            with contextlib.suppress(OSError):
                os.rmdir(base)
        self.writer.close()


def _ignore_reply(callback: Callable[[str], None], name: str, _reply: object) -> None:
    callback(name)


def _has_children() -> bool:
    try:
        names = os.listdir("/proc")
    except OSError:
        return False
    me = str(os.getpid())
    for name in names:
        if not name.isdigit() or name == me:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if len(fields) > 1 and fields[1] == me.encode():
            return True
    return False
