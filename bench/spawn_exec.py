"""spawn -> execve latency of pidone's spawn paths, against posix_spawn and fork+exec floors.

    .venv/bin/python bench/spawn_exec.py [--runs N] [--ballast MB] [--fork]

Root (a scratch cgroup under this process's own, and PrivateTmp='s mount namespace). Each
round starts `/bin/true` once per variant, variants interleaved so that the box's noise
falls on all of them alike, and times from the call until the new program has been
executed: for pidone's paths until EOF on the status pipe (close-on-exec: the kernel
closes it in execve(2) after the old address space is gone, fs/exec.c begin_new_exec());
for posix_spawn until it returns (glibc's vfork-style clone returns after the exec); for
fork+exec until EOF on a close-on-exec pipe too. Variants:

* helper: linux.spawn.spawn() of a plain service plan (the environment a unit gets, with
  $SYSTEMD_EXEC_PID, stdout/stderr on a pipe) through the Python clone3 spawn helper
  (linux.spawnhelper) into a cgroup;
* helper+PrivateTmp: the same with PrivateTmp=yes (apache2's);
* C helper, C helper+PrivateTmp: the same two through the compiled helper
  (csrc/pidone-spawn.c: linux.spawn_cgroup.find_compiled_helper(), else compiled here
  with cc into a scratch directory);
* fork path (with --fork): the same plain plan with the helper off (fork of this process,
  the child writes cgroup.procs: a migration, whose RCU grace period also slows the other
  variants' clone3 for a while, so it is off by default);
* posix_spawn: os.posix_spawn of /bin/true from this process (no set-up at all: the floor);
* fork+exec: os.fork() + os.execv from this process (what a shell does).

Wall times on a shared 2-core box are noisy; so each variant also reports CPU time, which
other load disturbs less: the child's (wait4 rusage, user + system, the exec'd /bin/true
included) plus, for the helper paths, the helper's own per start (/proc/PID/schedstat,
ns), and the child's minor page faults (each copy-on-write fault after clone3 is a page
the child touched before execve).
BALLAST_MB inflates this process (the "daemon") for the fork paths; the helper is a separate
process and does not see it. Medians and quartiles in ms; ratios against posix_spawn.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from pidone.core.environment import EnvironmentInputs, ManagerVariables, build_environment
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux import spawn_cgroup
from pidone.linux.cgroups import find_writable_cgroup2
from pidone.linux.sandbox import remove_private_tmp, sandbox_available
from pidone.linux.spawn import SpawnRequest, read_spawn_failure, spawn

TRUE = "/bin/true"
INVOCATION = uuid.uuid4().hex
UNIT = "bench-spawn-exec.service"


def _eof(fd: int) -> None:
    while os.read(fd, 64):
        pass


def via_spawn(ctx: ExecContext, cgroup: str, out_w: int) -> Callable[[], tuple[float, int]]:
    env = build_environment(
        ctx,
        EnvironmentInputs(variables=ManagerVariables(invocation_id=INVOCATION)),
    )
    req = SpawnRequest(
        ExecCommand(TRUE, (TRUE,)),
        ctx,
        env,
        cgroup=cgroup,
        stdout_fd=out_w,
        stderr_fd=out_w,
        unit=UNIT,
        parent_join=False,
    )

    def run() -> tuple[float, int]:
        t0 = time.perf_counter()
        s = spawn(req)
        failure = read_spawn_failure(s)  # EOF: execve done
        t = time.perf_counter() - t0
        if s.pidfd is not None:
            os.close(s.pidfd)
        if failure is not None:
            raise SystemExit(f"spawn failed: {failure.message}")
        return t, s.pid

    return run


def via_posix_spawn() -> tuple[float, int]:
    t0 = time.perf_counter()
    pid = os.posix_spawn(TRUE, [TRUE], os.environ)
    return time.perf_counter() - t0, pid


def via_fork() -> tuple[float, int]:
    r, w = os.pipe2(os.O_CLOEXEC)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.execv(TRUE, [TRUE])
        finally:
            os._exit(127)
    os.close(w)
    _eof(r)
    t = time.perf_counter() - t0
    os.close(r)
    return t, pid


def compiled_helper(scratch: str) -> str:
    """The compiled helper the daemon would use, else one built from csrc now ("": none)."""
    found = spawn_cgroup.find_compiled_helper()
    if found or not shutil.which("cc"):
        return found
    source = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "csrc", "pidone-spawn.c"
    )
    binary = os.path.join(scratch, "pidone-spawn")
    built = subprocess.run(["cc", "-std=c11", "-O2", "-o", binary, source], check=False)
    return binary if built.returncode == 0 else ""


def using(
    spawner: spawn_cgroup.Spawner, fn: Callable[[], tuple[float, int]]
) -> Callable[[], tuple[float, int]]:
    """`fn` with `spawner` as the process-wide helper handle."""

    def run() -> tuple[float, int]:
        spawn_cgroup._SPAWNER = spawner
        return fn()

    return run


def helper_cpu(pid: int) -> float:
    """Seconds the helper has run on a CPU (proc(5) /proc/PID/schedstat, first field: ns)."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def summary(values: list[float]) -> tuple[float, str]:
    ms = [v * 1000 for v in values]
    q1, med, q3 = statistics.quantiles(ms, n=4)
    return med, f"{med:6.3f} ({q1:6.3f}-{q3:6.3f})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--ballast", type=int, default=0, help="MiB of heap for the fork paths")
    p.add_argument("--fork", action="store_true", help="also the fork path (cgroup migration)")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("bench/spawn_exec.py needs root")
        return 1
    found = find_writable_cgroup2()
    if found is None:
        print("no writable cgroup2 hierarchy")
        return 1
    ballast = [b"x" * 1024 for _ in range(args.ballast * 1024)]
    cg = f"{found.own_dir.rstrip('/')}/bench-spawn-exec-{os.getpid()}"
    os.mkdir(cg)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    scratch = tempfile.mkdtemp(prefix="bench-spawn-exec-")
    binary = compiled_helper(scratch)
    spawner = spawn_cgroup.Spawner()
    spawner.use_compiled(False)
    compiled = spawn_cgroup.Spawner()
    os.environ[spawn_cgroup.SPAWN_HELPER_ENV] = binary
    plain = using(spawner, via_spawn(ExecContext(), cg, out_w))
    boxed = using(spawner, via_spawn(ExecContext(private_tmp=True), cg, out_w))
    variants: dict[str, Callable[[], tuple[float, int]]] = {"helper": plain}
    if sandbox_available():
        variants["helper+PrivateTmp"] = boxed
    if binary:
        variants["C helper"] = using(compiled, via_spawn(ExecContext(), cg, out_w))
        if sandbox_available():
            variants["C helper+PrivateTmp"] = using(
                compiled, via_spawn(ExecContext(private_tmp=True), cg, out_w)
            )
    else:
        print("no compiled helper (no cc): the C helper rows are left out")

    def forked() -> tuple[float, int]:
        spawner.disabled = True
        try:
            return plain()
        finally:
            spawner.disabled = False

    if args.fork:
        variants["fork path"] = forked
    variants["posix_spawn"] = via_posix_spawn
    variants["fork+exec"] = via_fork
    times: dict[str, list[float]] = {k: [] for k in variants}
    faults: dict[str, list[int]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    owner = {name: compiled if name.startswith("C ") else spawner for name in variants}
    try:
        spawner.start()
        compiled.start()
        for fn in variants.values():  # warm-up: helper boot, modules, first-use imports
            for _ in range(3):
                os.waitpid(fn()[1], 0)
        for _ in range(args.runs):
            for name, fn in variants.items():
                helper = owner[name].pid if "helper" in name else 0
                before = helper_cpu(helper)
                t, pid = fn()
                usage = os.wait4(pid, 0)[2]
                times[name].append(t)
                faults[name].append(usage.ru_minflt)
                own = helper_cpu(helper) - before if helper else 0.0
                cpu[name].append(usage.ru_utime + usage.ru_stime + own)
                while True:  # drain the services' output pipe
                    try:
                        os.set_blocking(out_r, False)
                        if not os.read(out_r, 65536):
                            break
                    except BlockingIOError:
                        break
    finally:
        for each in (spawner, compiled):
            each.stop()
            for helper_pid in each.pids:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(helper_pid, 0)
        shutil.rmtree(scratch, ignore_errors=True)
        remove_private_tmp(INVOCATION, UNIT)
        with contextlib.suppress(OSError):
            os.rmdir(cg)
    del ballast
    print(f"ms, median (quartiles) of {args.runs}; cpu: median ms; load {os.getloadavg()[0]:.1f}; "
          f"helpers served {spawner.served} (Python), {compiled.compiled_served} (C)")  # fmt: skip
    floor = summary(times["posix_spawn"])[0]
    for name, values in times.items():
        med, text = summary(values)
        minflt = statistics.median(faults[name])
        used = statistics.median(cpu[name]) * 1000
        print(f"  {name:18s} {text}  x{med / floor:5.2f}  cpu {used:6.3f}  faults {minflt:4.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
