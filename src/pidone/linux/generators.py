"""Run the system's unit generators, as systemd 252 does before it loads units.

systemd.generator(7): generators are small executables that the manager runs very early
at boot and at every daemon-reload, "before unit files are loaded". Each gets three
output directories (normal, early, late) and writes unit files, drop-ins and `.wants/`
symlinks there; those directories are part of the unit search path (spec 01 §7). Debian
packages depend on them: postfix's `postfix-instance-generator` is what links
`postfix@-.service` into `postfix.service.wants/` (without it `postfix.service` is a
oneshot `/bin/true` that starts no mail system), postgresql's generator does the same for
`postgresql@VERSION-CLUSTER.service`, and `systemd-sysv-generator` turns an LSB script in
/etc/init.d with no native unit (exim4) into a `.service` in the late directory.

What is done as systemd 252's manager_run_generators() does it:

1. The generator binaries come from /run/systemd/system-generators,
   /etc/systemd/system-generators, /usr/local/lib/systemd/system-generators and the
   distribution's directory (Debian: /lib/systemd/system-generators; /usr/lib too, which a
   merged /usr makes the same directory). A name found in an earlier directory overrides
   the same name in a later one, and a link to /dev/null (or an empty file) masks it
   (conf_files_list(), execute_directories(); systemd.generator(7) "Generators in
   /etc/systemd/system-generators/ ... override those with the same name").
   $SYSTEMD_GENERATOR_PATH (systemd(1) "Environment"; here PIDONE_GENERATOR_PATH first)
   replaces that list, a trailing `:` appends it, and an empty value names no directory:
   no generator runs (how tests point the daemon at their own, or turn them off).
2. The three output directories are emptied first (systemd removes and recreates them),
   then every generator runs in parallel with `normal early late` as its arguments. All of
   them share one 90 s budget (DEFAULT_TIMEOUT_USEC); a generator still running then is
   killed. A failing generator is logged and the others' output is kept.
3. The environment is the one the manager gives its services (pidone: its own) plus what
   systemd.generator(7) "Environment" lists for 252: $SYSTEMD_SCOPE=system,
   $SYSTEMD_IN_INITRD (0/1), $SYSTEMD_FIRST_BOOT (0/1, the fact ConditionFirstBoot= reads:
   /run/systemd/first-boot), $SYSTEMD_VIRTUALIZATION (`container:docker`, `vm:kvm`; unset
   on bare metal; the container wins, as detect_virtualization() checks it first) and
   $SYSTEMD_ARCHITECTURE (`x86-64`...). These are informative: systemd's own generators
   decide by calling detect_container() themselves. Not being PID 1, they find a
   container through /run/host/container-manager, /run/systemd/container, PID 1's
   $container (/proc/1/environ: pidone's own environment as a container's init),
   /run/.containerenv or /.dockerenv; and in a container their "kernel command line" is
   PID 1's argv (proc_cmdline(): get_process_cmdline(1) when detect_container() > 0),
   never the host's /proc/cmdline. So systemd-debug-generator ignores a host's
   systemd.mask=/systemd.wants= in a container, under pidone as under systemd.

Where the output goes is pidone's choice: below the daemon's runtime directory, not
/run/systemd/generator*. Several pidone managers (a container's and a test's, or two
tests) may share one /run; each needs its own generated units, and emptying a shared
directory would pull units from under another manager (the same reason PrivateTmp=
directories carry a per-manager tag). The registry puts these directories in the search
path where systemd has its own (`relocate_generator_dirs`).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Callable, Mapping, Sequence

from pidone.core.dataclass_lite import dataclass

# generator_binary_paths(LOOKUP_SCOPE_SYSTEM), highest priority first (path-lookup.c).
GENERATOR_BINARY_DIRS: tuple[str, ...] = (
    "/run/systemd/system-generators",
    "/etc/systemd/system-generators",
    "/usr/local/lib/systemd/system-generators",
    "/lib/systemd/system-generators",
    "/usr/lib/systemd/system-generators",
)
PATH_VARS = ("PIDONE_GENERATOR_PATH", "SYSTEMD_GENERATOR_PATH")
TIMEOUT_SEC = 90.0  # DEFAULT_TIMEOUT_USEC, the budget of all generators together
OUTPUT_NAMES = ("generator", "generator.early", "generator.late")


@dataclass(frozen=True, slots=True)
class GeneratorRun:
    """What one generator did: its path, exit status (negative: signal) and output."""

    path: str
    status: int
    output: str
    timed_out: bool = False


def generator_dirs(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Where generators are looked for: $PIDONE_GENERATOR_PATH or $SYSTEMD_GENERATOR_PATH
    (a trailing `:` appends the defaults; empty: nowhere), else GENERATOR_BINARY_DIRS
    (systemd 252 generator_binary_paths(), get_paths_from_environ())."""
    for var in PATH_VARS:
        value = environ.get(var)
        if value is None:
            continue
        append = value.endswith(":")
        dirs = tuple(os.path.abspath(p) for p in value.removesuffix(":").split(":") if p)
        return dirs + GENERATOR_BINARY_DIRS if append else dirs
    return GENERATOR_BINARY_DIRS


def find_generators(dirs: Sequence[str] | None = None) -> list[str]:
    """The generators to run, in file-name order (the first directory having a name wins;
    a /dev/null link or an empty file masks the name); `dirs` defaults to generator_dirs()."""
    if dirs is None:
        dirs = generator_dirs(os.environ)
    chosen: dict[str, str] = {}
    seen_dirs: set[str] = set()
    for directory in dirs:
        real = os.path.realpath(directory)
        if real in seen_dirs:
            continue
        seen_dirs.add(real)
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if name.startswith(".") or name in chosen:
                continue
            chosen[name] = os.path.join(directory, name)
    out = []
    for name in sorted(chosen):
        path = chosen[name]
        try:
            st = os.stat(path)
        except OSError:
            continue  # a dangling link runs nothing
        if os.path.realpath(path) == "/dev/null" or st.st_size == 0:
            continue  # masked
        if os.path.isfile(path) and os.access(path, os.X_OK):
            out.append(path)
    return out


def output_dirs(base: str) -> tuple[str, str, str]:
    """The normal, early and late output directories below `base`."""
    normal, early, late = (os.path.join(base, name) for name in OUTPUT_NAMES)
    return normal, early, late


def generator_environment(base: Mapping[str, str]) -> dict[str, str]:
    """`base` plus the variables systemd 252 sets for generators (rule 3)."""
    from pidone.linux.conditions import detect_container, detect_vm
    from pidone.linux.hostfacts import _ARCHITECTURES

    env = dict(base)
    env["SYSTEMD_SCOPE"] = "system"
    # in_initrd(): /etc/initrd-release marks an initrd (os-release(5))
    env["SYSTEMD_IN_INITRD"] = "1" if os.path.exists("/etc/initrd-release") else "0"
    # manager_set_first_boot() creates /run/systemd/first-boot on a first boot
    env["SYSTEMD_FIRST_BOOT"] = "1" if os.path.exists("/run/systemd/first-boot") else "0"
    env.pop("SYSTEMD_VIRTUALIZATION", None)  # set only when something is detected
    container = detect_container()
    vm = "" if container else detect_vm()
    if container or vm:
        env["SYSTEMD_VIRTUALIZATION"] = f"container:{container}" if container else f"vm:{vm}"
    machine = os.uname().machine
    env["SYSTEMD_ARCHITECTURE"] = _ARCHITECTURES.get(machine, machine)
    return env


def _empty_dir(path: str) -> None:
    """rm -rf path; mkdir path (without shutil: the daemon's import diet)."""
    if os.path.isdir(path) and not os.path.islink(path):
        for top, dirs, files in os.walk(path, topdown=False):
            for name in files:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(top, name))
            for name in dirs:
                full = os.path.join(top, name)
                with contextlib.suppress(OSError):
                    if os.path.islink(full):
                        os.unlink(full)
                    else:
                        os.rmdir(full)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)
    os.makedirs(path, mode=0o755, exist_ok=True)


def run_generators(
    base: str,
    generators: Sequence[str] | None = None,
    timeout: float = TIMEOUT_SEC,
) -> list[GeneratorRun]:
    """Empty the output directories below `base` and run every generator into them."""
    dirs = output_dirs(base)
    for d in dirs:
        _empty_dir(d)
    paths = find_generators() if generators is None else list(generators)
    env = generator_environment(os.environ)
    runs: dict[int, GeneratorRun] = {}
    readers: dict[int, tuple[int, str]] = {}  # read end -> (pid, path)
    output: dict[int, bytearray] = {}
    order: list[tuple[str, int]] = []
    for path in paths:
        r, w = os.pipe()
        try:
            pid = os.posix_spawn(
                path,
                [path, *dirs],
                env,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, w, 1),
                    (os.POSIX_SPAWN_DUP2, w, 2),
                    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                ],
            )
        except OSError as exc:
            os.close(r)
            order.append((path, -1))
            runs[-len(order)] = GeneratorRun(path, 127, f"cannot execute: {exc.strerror}")
            continue
        finally:
            os.close(w)
        os.set_inheritable(r, False)
        readers[r] = (pid, path)
        output[pid] = bytearray()
        order.append((path, pid))
    exits, timed_out = _collect(readers, output, time.monotonic() + timeout)
    out = []
    for index, (path, pid) in enumerate(order, 1):
        if pid < 0:
            out.append(runs[-index])
            continue
        status = exits.get(pid)
        if status is None:
            if pid in timed_out:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            try:
                _, wstatus = os.waitpid(pid, 0)
                status = os.waitstatus_to_exitcode(wstatus)
            except ChildProcessError:  # a SIGCHLD reaper got it first: no status to report
                status = 0
        text = output[pid].decode(errors="replace")
        out.append(GeneratorRun(path, status, text, pid in timed_out))
    return out


def _pidfd(pid: int) -> int | None:
    """pidfd_open(2) (Linux 5.3): readable once the process has exited; None without it."""
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return None


def _collect(
    readers: dict[int, tuple[int, str]], output: dict[int, bytearray], deadline: float
) -> tuple[dict[int, int], set[int]]:
    """Read every generator's output until all have exited or the deadline passed; returns
    the exit statuses reaped here and the PIDs still running at the deadline.

    A generator is done when its process exits (a pidfd turns readable), as systemd waits
    for the PIDs: not when its pipe reaches end-of-file, which a background child of a
    generator that inherited stdout could hold open for the whole budget. Without pidfds
    (older kernels) the end-of-file is the sign. What is left in a pipe after its writer
    exited is read without blocking at the end."""
    poller = select.poll()
    waiting: dict[int, int] = {}  # pidfd -> pid
    for fd, (pid, _path) in readers.items():
        poller.register(fd, select.POLLIN)
        pidfd = _pidfd(pid)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
            waiting[pidfd] = pid
    by_eof = {pid for pid, _path in readers.values()} - set(waiting.values())
    exits: dict[int, int] = {}
    try:
        while waiting or by_eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for fd, _mask in poller.poll(left * 1000):
                if fd in waiting:
                    pid = waiting.pop(fd)
                    poller.unregister(fd)
                    os.close(fd)
                    with contextlib.suppress(ChildProcessError):
                        _, wstatus = os.waitpid(pid, 0)
                        exits[pid] = os.waitstatus_to_exitcode(wstatus)
                    continue
                if fd not in readers:
                    continue
                chunk = os.read(fd, 65536)
                if chunk:
                    output[readers[fd][0]] += chunk
                    continue
                poller.unregister(fd)
                os.close(fd)
                by_eof.discard(readers.pop(fd)[0])
    finally:
        for fd in waiting:
            os.close(fd)
    late = set(waiting.values()) | by_eof
    for fd, (pid, _path) in readers.items():
        if pid not in late:
            _read_rest(fd, output[pid])
        os.close(fd)
    return exits, late


def _read_rest(fd: int, into: bytearray, limit: int = 1 << 20) -> None:
    """What a pipe holds now, without waiting for more (its writer may live on)."""
    os.set_blocking(fd, False)
    with contextlib.suppress(BlockingIOError, OSError):
        while len(into) < limit:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            into += chunk


def generate(base: str, log: Callable[[str, int], None]) -> list[GeneratorRun]:
    """run_generators() with each generator's output and failure logged (text, priority
    as syslog(3) levels); systemd logs a failed generator and carries on."""
    runs = run_generators(base)
    for run in runs:
        name = os.path.basename(run.path)
        for line in run.output.splitlines():
            if line.strip():
                log(f"{name}: {line}", _LOG_INFO)
        if run.timed_out:
            log(f"{run.path} timed out, killed.", _LOG_ERR)
        elif run.status != 0:
            how = f"signal {-run.status}" if run.status < 0 else f"status {run.status}"
            log(f"{run.path} failed with exit {how}.", _LOG_ERR)
    return runs


_LOG_ERR, _LOG_INFO = 3, 6  # syslog(3) priorities
