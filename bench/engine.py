"""Side-by-side bench of the service engine: pidone vs supervisord vs circus (issue 3).

Each manager supervises N services running `sleep`. Measured, one run each:

* start-all: from launching the manager until N `sleep` processes run below it;
* RSS of the manager process (VmRSS, after start-all), and the PSS (smaps_rollup) of the
  manager plus every helper process it keeps (non-service descendants, counted in
  brackets): the memory the manager costs, however it is split into processes;
* idle: CPU time and context switches (voluntary + involuntary, all threads, from
  /proc/PID/task/*/status) of the manager over IDLE seconds with nothing happening;
* restart latency: SIGKILL one service's process, time until its replacement is forked
  by (or for) the manager, 20 times on 20 different services; median and max; and the
  median until that replacement has exec'd `sleep`. Both from the kernel's fork/exec
  event stamps (connector(4), ForkWatch) where available, else by polling /proc;
* stop-all: SIGTERM to the manager until the manager and every `sleep` are gone.

supervisor and circus are installed into bench/.venv (created on first use), never into
the project. Run as: `python3 bench/engine.py [--n 100 500] [--idle 20] [--only pidone]`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venv"
SLEEP = "/bin/sleep"
TIMEOUT = 120.0


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    if not (VENV / "bin" / "supervisord").exists() or not (VENV / "bin" / "circusd").exists():
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "supervisor", "circus"], check=True)
    return VENV / "bin"


# --- /proc helpers ------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(p) for p in f.read().split())
    return out


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        out.extend(kids)
        todo.extend(kids)
    return out


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2 : data.rfind(b")") + 3] not in (b"Z", b"X")


def sleeps_below(pid: int) -> list[int]:
    return [p for p in descendants(pid) if comm(p) == "sleep"]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size (smaps_rollup(5)): shared pages divided among their mappers."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def footprint_kib(pid: int) -> tuple[int, int]:
    """(PSS of the manager and of its own helper processes, how many helpers): everything
    below the manager that is not a service. pidone's clone3 spawn helper is such a
    process; so is any worker a manager forks for itself. Counting them keeps a manager
    from looking small by moving memory into a second process."""
    helpers = [p for p in descendants(pid) if comm(p) != "sleep"]
    return pss_kib(pid) + sum(pss_kib(p) for p in helpers), len(helpers)


def cpu_and_switches(pid: int) -> tuple[float, int]:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    fields = data[data.rfind(b")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime (proc(5) fields 14, 15)
    switches = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
    return ticks / os.sysconf("SC_CLK_TCK"), switches


def wait_until(predicate, timeout: float = TIMEOUT, step: float = 0.01) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


# --- restart timing ------------------------------------------------------------------------


class ForkWatch:
    """Restart latency from the kernel's own clock: the process events connector
    (connector(4) CN_IDX_PROC, linux/cn_proc.h) reports every fork and exec on the host with
    a CLOCK_MONOTONIC timestamp taken in the kernel, so the observer needs no polling loop
    of its own (at N=500, reading the manager's 500-entry children file every 0.2 ms took a
    large share of a CPU on a 2-core box, slowing the manager it was timing). A fork event
    names the new task's real parent: the manager for supervisord and circus, and for
    pidone too, whose spawn helper clones with CLONE_PARENT."""

    _FORK, _EXEC = 0x1, 0x2

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def open(cls) -> ForkWatch | None:
        netlink_connector, cn_idx_proc, cn_val_proc, mcast_listen = 11, 1, 1, 1
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, netlink_connector)
            sock.bind((os.getpid(), cn_idx_proc))
            op = struct.pack("=I", mcast_listen)
            cn = struct.pack("=IIIIHH", cn_idx_proc, cn_val_proc, 0, 0, len(op), 0) + op
            sock.send(struct.pack("=IHHII", 16 + len(cn), 3, 0, 0, os.getpid()) + cn)
        except OSError:
            return None  # no CAP_NET_ADMIN or no CONFIG_PROC_EVENTS: poll instead
        return cls(sock)

    def close(self) -> None:
        self.sock.close()

    def restart(self, manager: int, victim: int) -> tuple[float, float]:
        """SIGKILL `victim`; seconds until the manager's new child was forked, and until it
        exec'd (the manager's set-up before exec done)."""
        self.sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while self.sock.recv(65536):
                pass  # events from before the kill
        self.sock.settimeout(30)
        t0 = time.monotonic_ns()
        os.kill(victim, signal.SIGKILL)
        child, forked = 0, float("nan")
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:  # timed out, or events lost (ENOBUFS)
                return forked, float("nan")
            what, _cpu, stamp = struct.unpack_from("=IIQ", data, 36)
            if what == self._FORK and not child:
                _ppid, parent, _cpid, tgid = struct.unpack_from("=IIII", data, 52)
                if parent == manager and stamp >= t0:
                    child, forked = tgid, (stamp - t0) / 1e9
            elif what == self._EXEC and child:
                _pid, tgid = struct.unpack_from("=II", data, 52)
                if tgid == child:
                    return forked, (stamp - t0) / 1e9


def _poll_restart(manager: int, victim: int, before: set[int]) -> tuple[float, float]:
    """The same by polling /proc (where the connector is not available)."""
    t = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    got = wait_until(
        lambda b=before: len(set(children_of(manager)) - b) >= 1, timeout=30, step=0.0002
    )
    forked = time.monotonic() - t if got else float("nan")
    new = sorted(set(children_of(manager)) - before)
    ran = got and wait_until(lambda n=new: comm(n[0]) == "sleep", timeout=30, step=0.0002)
    return forked, time.monotonic() - t if ran else float("nan")


# --- the three managers ---------------------------------------------------------------------


class Manager:
    name = ""

    def __init__(self, n: int, work: Path) -> None:
        self.n = n
        self.work = work
        self.proc: subprocess.Popen[bytes] | None = None
        self.known: list[int] = []  # service PIDs seen last (killed at the end if left over)

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def launch(self) -> None:
        log = open(self.work / f"{self.name}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
            start_new_session=True,
        )
        log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # Services run in sessions of their own (killpg misses them): note them first.
            self.known = self.known or sleeps_below(self.proc.pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in self.known:
            if alive(pid) and comm(pid) == "sleep":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


class Pidone(Manager):
    name = "pidone"

    def __init__(self, n: int, work: Path, *extra: str) -> None:
        super().__init__(n, work)
        self.extra = list(extra)
        if extra:
            self.name = "pidone " + " ".join(extra)
        units = work / "units"
        units.mkdir()
        for i in range(n):
            (units / f"s{i}.service").write_text(
                f"[Service]\nExecStart={SLEEP} 100000\nRestart=always\nRestartSec=0\n"
            )

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PIDONE_UNIT_PATH"] = str(self.work / "units")
        return env

    def command(self) -> list[str]:
        pidone = ROOT / ".venv" / "bin" / "pidone"
        return [str(pidone), "daemon", "--runtime-dir", str(self.work / "run"),
                "--state-dir", str(self.work / "state"),
                *self.extra, "--start", *[f"s{i}.service" for i in range(self.n)]]  # fmt: skip


class Supervisord(Manager):
    name = "supervisord"

    def __init__(self, n: int, work: Path, bindir: Path) -> None:
        super().__init__(n, work)
        self.bindir = bindir
        logs = work / "logs"
        logs.mkdir()
        lines = [
            "[supervisord]", "nodaemon=true", f"logfile={work}/supervisord.log",
            f"pidfile={work}/supervisord.pid", f"childlogdir={logs}", "minfds=16384",
            "minprocs=200", "",
        ]  # fmt: skip
        for i in range(n):
            lines += [f"[program:s{i}]", f"command={SLEEP} 100000", "autorestart=true",
                      "startsecs=0", "startretries=100", ""]  # fmt: skip
        (work / "supervisord.conf").write_text("\n".join(lines))

    def command(self) -> list[str]:
        return [str(self.bindir / "supervisord"), "-c", str(self.work / "supervisord.conf")]


class Circus(Manager):
    name = "circus"

    def __init__(self, n: int, work: Path, bindir: Path) -> None:
        super().__init__(n, work)
        self.bindir = bindir
        lines = [
            "[circus]", f"endpoint = ipc://{work}/endpoint",
            f"pubsub_endpoint = ipc://{work}/pubsub", "statsd = False", "",
        ]  # fmt: skip
        for i in range(n):
            lines += [f"[watcher:s{i}]", f"cmd = {SLEEP} 100000", "numprocesses = 1",
                      "respawn = True", "graceful_timeout = 5", ""]  # fmt: skip
        (work / "circus.ini").write_text("\n".join(lines))

    def command(self) -> list[str]:
        return [str(self.bindir / "circusd"), str(self.work / "circus.ini")]


# --- measurements -----------------------------------------------------------------------------


def measure(m: Manager, idle: float, restarts: int) -> dict[str, object]:
    res: dict[str, object] = {"manager": m.name, "n": m.n, "load": os.getloadavg()[0]}
    t0 = time.monotonic()
    m.launch()
    ok = wait_until(lambda: len(children_of(m.pid)) >= m.n, step=0.02)
    ok = ok and wait_until(lambda: len(sleeps_below(m.pid)) >= m.n, step=0.02)
    res["start_all_s"] = time.monotonic() - t0 if ok else float("nan")
    if not ok:
        res["error"] = f"only {len(sleeps_below(m.pid))} of {m.n} running"
        return res
    time.sleep(1.0)  # let start-up work settle (journal writes, log files)
    res["rss_mib"] = rss_kib(m.pid) / 1024
    pss, helpers = footprint_kib(m.pid)
    res["pss_total_mib"] = pss / 1024
    res["helper_processes"] = helpers
    cpu0, sw0 = cpu_and_switches(m.pid)
    time.sleep(idle)
    cpu1, sw1 = cpu_and_switches(m.pid)
    res["idle_cpu_s"] = cpu1 - cpu0
    res["idle_switches"] = sw1 - sw0
    latencies: list[float] = []
    exec_latencies: list[float] = []
    watch = ForkWatch.open()
    res["restart_clock"] = "proc connector" if watch else "polling /proc"
    try:
        for _ in range(restarts):
            before = set(children_of(m.pid))
            services = sorted(p for p in before if comm(p) == "sleep")  # not a helper
            victim = services[len(latencies) * 7 % len(services)]
            if watch is not None:
                forked, execd = watch.restart(m.pid, victim)
            else:
                forked, execd = _poll_restart(m.pid, victim, before)
            latencies.append(forked)
            exec_latencies.append(execd)
            wait_until(
                lambda: sum(comm(p) == "sleep" for p in children_of(m.pid)) >= m.n, timeout=30
            )
    finally:
        if watch is not None:
            watch.close()
    if latencies:
        res["restart_median_ms"] = statistics.median(latencies) * 1000
        res["restart_max_ms"] = max(latencies) * 1000
        res["restart_exec_median_ms"] = statistics.median(exec_latencies) * 1000
    pids = m.known = sleeps_below(m.pid)
    t = time.monotonic()
    os.kill(m.pid, signal.SIGTERM)
    assert m.proc is not None
    done = wait_until(
        lambda: m.proc is not None and m.proc.poll() is not None
        and not any(alive(p) for p in pids),
        timeout=60, step=0.002,
    )  # fmt: skip
    res["stop_all_s"] = time.monotonic() - t if done else float("nan")
    if not done:
        res["left_after_60s"] = sum(alive(p) for p in pids)
        res["manager_exited"] = m.proc.poll() is not None
    return res


def stop_cycles(make: Callable[[Path], Manager], reps: int) -> dict[str, object]:
    """`reps` fresh start-all + stop-all cycles of one manager: stop-all median and spread
    (one stop of 100 services lasts a few hundred ms, so one run is noise on a shared box)."""
    starts, stops = [], []
    name, n = "", 0
    for _ in range(reps):
        work = Path(tempfile.mkdtemp(prefix="bench-stop-"))
        m = make(work)
        name, n = m.name, m.n
        try:
            res = measure(m, 0.0, 0)
        finally:
            m.kill()
            shutil.rmtree(work, ignore_errors=True)
        starts.append(float(res.get("start_all_s", float("nan"))))  # type: ignore[arg-type]
        stops.append(float(res.get("stop_all_s", float("nan"))))  # type: ignore[arg-type]
    return {
        "manager": name, "n": n, "reps": reps, "load": os.getloadavg()[0],
        "start_median_s": statistics.median(starts), "stop_median_s": statistics.median(stops),
        "stop_min_s": min(stops), "stop_max_s": max(stops), "stops": [round(x, 3) for x in stops],
    }  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, nargs="+", default=[100, 500])
    p.add_argument("--idle", type=float, default=20.0)
    p.add_argument("--restarts", type=int, default=20)
    p.add_argument("--only", nargs="+", default=["pidone", "pidone-proc", "supervisord", "circus"])
    p.add_argument(
        "--stop-reps", type=int, default=0, metavar="K",
        help="instead: K start+stop cycles per manager (interleaved), stop-all median/spread",
    )  # fmt: skip
    opts = p.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 500 services need fds
    # Bytecode for the daemon's interpreter (as an installed package has it): without it,
    # under PYTHONDONTWRITEBYTECODE=1 or after a change, every daemon compiles the modules
    # it imports, and the compiler's garbage shows in its RSS (~0.6 MiB at N=100).
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "compileall", "-q", str(ROOT / "src")],
        check=False,
    )
    bindir = ensure_venv() if set(opts.only) - {"pidone", "pidone-proc"} else Path()
    if opts.stop_reps:
        return stop_main(opts.n, opts.only, opts.stop_reps, bindir)
    rows = []
    for n in opts.n:
        for name in opts.only:
            work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-{n}-"))
            m: Manager
            if name == "pidone":
                m = Pidone(n, work)
            elif name == "pidone-proc":
                m = Pidone(n, work, "--no-cgroups")
            elif name == "supervisord":
                m = Supervisord(n, work, bindir)
            else:
                m = Circus(n, work, bindir)
            try:
                res = measure(m, opts.idle, opts.restarts)
            finally:
                m.kill()
                shutil.rmtree(work, ignore_errors=True)
            rows.append(res)
            print(res, flush=True)
    print()
    print(
        "| N | manager | start-all s | RSS MiB | PSS with helpers MiB | idle CPU s "
        "| idle wake-ups | restart median ms | restart max ms | restart to exec median ms "
        "| stop-all s | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']} | {r['manager']} | {r.get('start_all_s', 0):.3f} | "
            f"{r.get('rss_mib', 0):.1f} | {r.get('pss_total_mib', 0):.1f} "
            f"({r.get('helper_processes', 0)}) | {r.get('idle_cpu_s', 0):.2f} | "
            f"{r.get('idle_switches', '-')} | {r.get('restart_median_ms', 0):.1f} | "
            f"{r.get('restart_max_ms', 0):.1f} | {r.get('restart_exec_median_ms', 0):.1f} | "
            f"{r.get('stop_all_s', 0):.3f} | "
            f"{r.get('load', 0):.1f} |"
        )
    by = {(r["n"], r["manager"]): r for r in rows}
    for n in opts.n:
        p1, sv, ci = by.get((n, "pidone")), by.get((n, "supervisord")), by.get((n, "circus"))
        if p1 and sv and "error" not in p1 and "error" not in sv:
            print(
                f"N={n}: start-all pidone/supervisord = "
                f"{p1['start_all_s'] / sv['start_all_s']:.2f} (goal <= 0.25); "  # type: ignore[operator]
                f"RSS ratio = {p1['rss_mib'] / sv['rss_mib']:.2f} (goal <= 0.75)"
            )  # type: ignore[operator]
        if p1 and ci and "error" not in p1 and "error" not in ci:
            print(
                f"N={n}: stop-all pidone/circus = "
                f"{p1['stop_all_s'] / ci['stop_all_s']:.2f} (goal <= 0.5)"
            )  # type: ignore[operator]
    return 0


def make_manager(name: str, n: int, work: Path, bindir: Path) -> Manager:
    if name == "pidone":
        return Pidone(n, work)
    if name == "pidone-proc":
        return Pidone(n, work, "--no-cgroups")
    if name == "supervisord":
        return Supervisord(n, work, bindir)
    return Circus(n, work, bindir)


def stop_main(sizes: list[int], names: list[str], reps: int, bindir: Path) -> int:
    """Cycles interleaved (a, b, a, b, ...) so that load changes hit every manager alike."""
    for n in sizes:
        runs: dict[str, list[dict[str, object]]] = {name: [] for name in names}
        for _ in range(reps):
            for name in names:
                make = functools.partial(make_manager, name, n, bindir=bindir)
                runs[name].append(stop_cycles(lambda w, make=make: make(work=w), 1))  # type: ignore[misc]
        print(f"N={n}, {reps} cycles each:")
        medians: dict[str, float] = {}
        for name, got in runs.items():
            stops = [float(r["stop_median_s"]) for r in got]  # type: ignore[arg-type]
            starts = [float(r["start_median_s"]) for r in got]  # type: ignore[arg-type]
            medians[name] = statistics.median(stops)
            print(
                f"  {name}: stop-all median {medians[name]:.3f} s (min {min(stops):.3f}, "
                f"max {max(stops):.3f}; {[round(x, 3) for x in stops]}); start-all median "
                f"{statistics.median(starts):.2f} s; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        if "pidone" in medians and "circus" in medians:
            ratio = medians["pidone"] / medians["circus"]
            print(f"  stop-all pidone/circus (medians) = {ratio:.2f} (goal <= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
