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
2. The three output directories are emptied first (systemd removes and recreates them),
   then every generator runs in parallel with `normal early late` as its arguments, with
   $SYSTEMD_SCOPE=system and $SYSTEMD_IN_INITRD set (systemd.generator(7) "Environment").
   All of them share one 90 s budget (DEFAULT_TIMEOUT_USEC); a generator still running
   then is killed. A failing generator is logged and the others' output is kept.

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
from collections.abc import Callable, Sequence

from pidone.core.dataclass_lite import dataclass

# generator_binary_paths(LOOKUP_SCOPE_SYSTEM), highest priority first (path-lookup.c).
GENERATOR_BINARY_DIRS: tuple[str, ...] = (
    "/run/systemd/system-generators",
    "/etc/systemd/system-generators",
    "/usr/local/lib/systemd/system-generators",
    "/lib/systemd/system-generators",
    "/usr/lib/systemd/system-generators",
)
TIMEOUT_SEC = 90.0  # DEFAULT_TIMEOUT_USEC, the budget of all generators together
OUTPUT_NAMES = ("generator", "generator.early", "generator.late")


@dataclass(frozen=True, slots=True)
class GeneratorRun:
    """What one generator did: its path, exit status (negative: signal) and output."""

    path: str
    status: int
    output: str
    timed_out: bool = False


def find_generators(dirs: Sequence[str] = GENERATOR_BINARY_DIRS) -> list[str]:
    """The generators to run, in file-name order (the first directory having a name wins;
    a /dev/null link or an empty file masks the name)."""
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


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["SYSTEMD_SCOPE"] = "system"
    # in_initrd(): /etc/initrd-release marks an initrd (os-release(5))
    env["SYSTEMD_IN_INITRD"] = "1" if os.path.exists("/etc/initrd-release") else "0"
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
    env = _environment()
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
    timed_out = _drain(readers, output, time.monotonic() + timeout)
    out = []
    for index, (path, pid) in enumerate(order, 1):
        if pid < 0:
            out.append(runs[-index])
            continue
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


def _drain(
    readers: dict[int, tuple[int, str]], output: dict[int, bytearray], deadline: float
) -> set[int]:
    """Read every generator's output until all have closed it (they exited) or the
    deadline passed; returns the PIDs still holding their pipe then."""
    poller = select.poll()
    for fd in readers:
        poller.register(fd, select.POLLIN)
    while readers:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for fd, _mask in poller.poll(left * 1000):
            chunk = os.read(fd, 65536)
            if chunk:
                output[readers[fd][0]] += chunk
                continue
            poller.unregister(fd)
            os.close(fd)
            del readers[fd]
    late = {pid for pid, _path in readers.values()}
    for fd in readers:
        os.close(fd)
    return late


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
