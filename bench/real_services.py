"""Start Debian's apache2 and nginx with `pidone start` and by hand; time until both are done.

    .venv/bin/python bench/real_services.py [--runs N] [--only SERVICE] [--launcher PATH]

Root only; apache2 and nginx must be installed (the acceptance tier installs them). The
script first moves itself into a private network namespace (unshare(2) CLONE_NEWNET, lo
up), so port 80 is its own, and a private mount namespace with a tmpfs on /run, so PID
files and /run/apache2 never reach the host's /run. Every start lives in a PID namespace
that is killed afterwards, so nothing outlives the script.

Both sides are measured the same way (from_shell()): a /bin/sh, already running and
waiting on `read`, is told to go and runs the command; the clock starts at "go" and stops
when the command has returned (the forking parent exited; for pidone, the job finished)
AND 127.0.0.1:80 answers an HTTP request. (Until session 5 `pidone start` was spawned by
this Python script instead, which added Python's fork+exec, ~0.3-0.8 ms, to pidone's side
only.)

* by hand: a shell, already running as PID 1 of a fresh `unshare --pid --fork
  --mount-proc` namespace, runs the unit's ExecStartPre=/ExecStart= lines (the same
  words, read from the packaged unit file) with the environment the manager gives them
  (PATH, LANG and the unit's Environment=); the clock starts when the shell is told to go.
* pidone: one daemon per service, PID 1 of its own PID namespace, that has started and
  stopped the unit once before the clock runs (systemd has its units loaded and their
  dependencies active since boot; the first start, which also loads and starts
  sysinit.target and the rest, is printed as "first"). Then `pidone start UNIT` through
  the installed `pidone` launcher, issued by a waiting shell as a user types it.
* no CLI: the same start as one control-socket request (the manager's own share).
* no cgroup: the same request to a second daemon run with --no-cgroups (what the cgroup
  placement of each spawned command costs).
* not PID 1: `pidone start UNIT` to a third daemon that is the child of a shell that is the
  namespace's PID 1 (pidone under another init, as a child subreaper). Since cf1da97 it
  spawns through the same clone3(CLONE_INTO_CGROUP) helper (linux/spawn_cgroup.py) as a
  PID-1 daemon, so this column should match "pidone".
* floor: `pidone is-active UNIT` through the same launcher: what every CLI call pays
  (launcher, client start-up, one round trip to the daemon) without a start. The installed
  `pidone` is a compiled program when a C compiler was found at install (csrc/pidone.c,
  docs/cli-launcher.md) that answers these verbs itself; with PIDONE_NO_FAST=1 both run
  the Python path.

`--launcher PATH` times another `pidone` command (an older install, to compare) in the
"pidone", "not PID 1" and "floor" columns.

Each round runs every path once, in an order rotated from round to round; medians,
quartiles and the ratios of medians to "by hand" are printed.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import ctypes
import fcntl
import functools
import os
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
from typing import NoReturn

from pidone.testing.harness import NamespaceDaemon

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
# The services benched, and where each writes its PID file (removed after a by-hand run,
# see by_hand()). What the by-hand side runs comes from the packaged unit itself
# (unit_lines()).
SERVICES: dict[str, str] = {
    "apache2": "/run/apache2/apache2.pid",
    "nginx": "/run/nginx.pid",
}
UNIT_DIR = "/lib/systemd/system"
# What the manager puts in every service's environment (systemd's default PATH).
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
}
TIMEOUT = 30.0


def private_namespaces() -> None:
    """This process into new network and mount namespaces: `lo` up, a tmpfs on /run."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET | CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET|CLONE_NEWNS)")
    # mount(2): make every mount private first, or the tmpfs would propagate to the host.
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    if libc.mount(b"tmpfs", b"/run", b"tmpfs", 0, b"mode=0755") != 0:
        raise OSError(ctypes.get_errno(), "mount tmpfs /run")
    os.mkdir("/run/lock", 0o1777)
    # netdevice(7): SIOCGIFFLAGS / SIOCSIFFLAGS with IFF_UP.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    req = struct.pack("16sH14x", b"lo", 0)
    flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, req))[1]
    fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 1))
    s.close()


def answers(port: int = 80) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
            c.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            return c.recv(12).startswith(b"HTTP/")
    except OSError:
        return False


def wait_answer(t0: float) -> float:
    while not answers():
        if time.perf_counter() - t0 > TIMEOUT:
            raise TimeoutError("port 80 never answered")
        time.sleep(0.001)
    return time.perf_counter() - t0


def wait_port_free() -> None:
    deadline = time.monotonic() + TIMEOUT
    while answers() and time.monotonic() < deadline:
        time.sleep(0.01)


def unit_lines(service: str) -> tuple[list[str], dict[str, str]]:
    """ExecStartPre= and ExecStart= of UNIT_DIR/SERVICE.service in order, and Environment=.

    The words go to /bin/sh unchanged, so refuse anything whose meaning differs between a
    unit file and sh (systemd.service(5) prefixes, $ and % expansion, line continuations,
    quoting other than plain single quotes): the by-hand side must run exactly what the
    unit runs.
    """
    path = f"{UNIT_DIR}/{service}.service"
    lines: list[str] = []
    env: dict[str, str] = {}
    section = ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if line.startswith("["):
                section = line
                continue
            if section != "[Service]" or "=" not in line or line.startswith(("#", ";")):
                continue
            key, _, value = line.partition("=")
            if key == "Environment":
                if any(c in value for c in '$%\\"'):
                    raise SystemExit(f"{path}: {key}={value}: quoting not handled here")
                for word in value.split():
                    name, _, val = word.partition("=")
                    env[name] = val
            elif key in ("ExecStartPre", "ExecStart"):
                if value[:1] in "-@+!:" or any(c in value for c in '$%\\"'):
                    raise SystemExit(f"{path}: {key}={value}: not runnable by hand unchanged")
                lines.append(value)
    if not lines:
        raise SystemExit(f"{path}: no ExecStart=")
    return lines, env


def from_shell(command: str, env: dict[str, str], *, own_pid_namespace: bool) -> float:
    """Time COMMAND run by a /bin/sh that is already running when the clock starts.

    Both sides of the comparison are issued this way, as a user at a shell prompt issues
    them: the shell is started and waits on `read`; the clock starts when it is told to
    go, so it covers the shell's own fork+exec of the command (or commands), not the
    start-up of the shell. With `own_pid_namespace` the shell is PID 1 of a fresh
    `unshare --pid --fork --mount-proc` namespace and stays there (`exec sleep`), so what
    COMMAND leaves running lives until the namespace is killed. Returns seconds until
    COMMAND has returned and 127.0.0.1:80 answers; raises if COMMAND failed.
    """
    script = f'read go; {{ {command}; }} >/dev/null 2>"$BENCH_ERR"; echo "done $?"'
    if own_pid_namespace:
        script += "; exec sleep 1000"
    cmd = ["/bin/sh", "-c", f"echo ready; {script}"]
    if own_pid_namespace:
        cmd = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--kill-child", *cmd]
    with tempfile.NamedTemporaryFile(prefix="pidone-bench-err-") as err:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**env, "BENCH_ERR": err.name},
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            if proc.stdout.readline() != b"ready\n":
                raise RuntimeError("the shell did not start")
            t0 = time.perf_counter()
            proc.stdin.write(b"\n")
            proc.stdin.flush()
            done = proc.stdout.readline()
            if done != b"done 0\n":
                message = Path(err.name).read_text(errors="replace")
                raise RuntimeError(f"{command}: {done.decode().strip() or 'died'}: {message}")
            return wait_answer(t0)
        finally:
            proc.kill()  # --kill-child: the namespace's PID 1 dies, and every process with it
            proc.wait()


def by_hand(service: str) -> float:
    lines, unit_env = unit_lines(service)
    pid_file = SERVICES[service]
    try:
        return from_shell(" && ".join(lines), {**BASE_ENV, **unit_env}, own_pid_namespace=True)
    finally:
        wait_port_free()
        # SIGKILLed services leave their PID file; a stale one naming a PID that exists in
        # the daemon's namespace would make apache2 refuse to start ("already running").
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pid_file)


class RealUnits(NamespaceDaemon):
    """The harness daemon, reading systemd's own unit directories after its empty one.

    With `pid1=False` a shell is the namespace's PID 1 and the daemon its child (pidone
    under another init: it becomes a child subreaper; it spawns through the clone3 helper
    of linux/spawn_cgroup.py like a PID-1 daemon).
    """

    def __init__(self, workdir: Path, *, no_cgroups: bool = False, pid1: bool = True) -> None:
        super().__init__(workdir, no_cgroups=no_cgroups)
        self.as_pid1 = pid1

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env["PIDONE_UNIT_PATH"] = f"{self.unit_dir}:"
        return env

    def start(self) -> RealUnits:
        if self.as_pid1:
            super().start()
            return self
        cmd = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
               "/bin/sh", "-c", '"$@" & wait', "sh",
               sys.executable, "-m", "pidone", "daemon",
               "--runtime-dir", self.runtime_dir, "--state-dir", str(self.state_dir),
               *self.args]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        self.wait_for(self._answers, what="the daemon to answer on its control socket")
        self.pid1 = self._find_pid1()  # the shell; killing it ends the namespace
        return self


class Pidone:
    """One daemon for one service; each timed start is followed by an untimed stop."""

    def __init__(
        self,
        service: str,
        workdir: Path,
        *,
        cgroups: bool = True,
        pid1: bool = True,
        launcher: str | None = None,
    ) -> None:
        self.unit = f"{service}.service"
        self.daemon = RealUnits(workdir, no_cgroups=not cgroups, pid1=pid1)
        self.launcher = launcher or str(Path(sys.executable).with_name("pidone"))

    def __enter__(self) -> Pidone:
        self.daemon.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.daemon.close()
        wait_port_free()
        # PrivateTmp= directories of this unit, should a stop have left any (only this
        # unit's: other sessions' tests may have theirs under /tmp at the same time).
        for base in ("/tmp", "/var/tmp"):
            for path in Path(base).glob(f"pidone-private-{self.unit}-*"):
                shutil.rmtree(path, ignore_errors=True)

    def _stop(self) -> None:
        self.daemon.call("stop", units=[self.unit])
        wait_port_free()

    def request(self) -> float:
        t0 = time.perf_counter()
        result = self.daemon.call("start", units=[self.unit])
        if any(r.get("exit_code") for r in result.get("results", [])):
            self.failed(f"start {self.unit} failed: {result}")
        elapsed = wait_answer(t0)
        self._stop()
        return elapsed

    def cli(self) -> float:
        """`pidone start UNIT` issued by an already running shell, as "by hand" issues the
        unit's own command lines (from_shell())."""
        env = {**self.daemon.env, "PIDONE_LAUNCHER": self.launcher}
        try:
            elapsed = from_shell(f'"$PIDONE_LAUNCHER" start {self.unit}', env,
                                 own_pid_namespace=False)  # fmt: skip
        except RuntimeError as exc:
            self.failed(str(exc))
        self._stop()
        return elapsed

    def failed(self, what: str) -> NoReturn:
        """Raise with the unit's last journal lines (the service's own words on why)."""
        journal = self.daemon.cli("journal", "-u", self.unit, "-n", "15", "--no-pager")
        raise RuntimeError(f"{what}\n{journal.stdout}{journal.stderr}")

    def floor(self) -> float:
        t0 = time.perf_counter()
        subprocess.run(
            [self.launcher, "is-active", self.unit],
            env=self.daemon.env,
            stdout=subprocess.DEVNULL,
            check=False,  # inactive between the timed starts: exit 3
        )
        return time.perf_counter() - t0


def summary(samples: list[float]) -> str:
    q1, _median, q3 = statistics.quantiles(samples, n=4) if len(samples) > 1 else samples * 3
    return f"{statistics.median(samples) * 1e3:6.1f} ({q1 * 1e3:5.1f}-{q3 * 1e3:5.1f})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--only", action="append", choices=sorted(SERVICES), help="bench only these")
    p.add_argument(
        "--launcher", help="the `pidone` command to time (default: the one next to this python)"
    )
    args = p.parse_args()
    if os.geteuid() != 0:
        print("bench/real_services.py needs root (namespaces)")
        return 1
    services = args.only or list(SERVICES)
    missing = [s for s in services if not Path(f"{UNIT_DIR}/{s}.service").exists()]
    if missing or shutil.which("unshare") is None:
        print(f"not installed: {' '.join(missing) or 'unshare'} (apt-get install apache2 nginx)")
        return 1
    # This shell exports PYTHONDONTWRITEBYTECODE=1: without bytecode every CLI run would
    # recompile the modules it imports (as an installed package would not).
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "src" / "pidone"), quiet=1)
    private_namespaces()
    if answers():
        print("port 80 answers in a fresh network namespace?")
        return 1
    os.environ.pop("PIDONE_UNIT_PATH", None)
    print(f"runs per path: {args.runs}, load average {os.getloadavg()[0]:.1f}")
    print("ms: median (quartiles); ratio: median / median by hand")
    cols = ("by hand", "pidone", "no CLI", "no cgroup", "not PID 1", "floor")
    print(f"{'service':8s} {'first':>6s}" + "".join(f" {c:>20s} ratio" for c in cols))
    ratios = []
    with tempfile.TemporaryDirectory(prefix="pidone-bench-") as tmp:
        for service in services:
            ours = Pidone(service, Path(tmp) / service, launcher=args.launcher)
            bare = Pidone(service, Path(tmp) / f"{service}-nocg", cgroups=False)
            child = Pidone(
                service, Path(tmp) / f"{service}-child", pid1=False, launcher=args.launcher
            )
            with ours, bare, child:
                first = ours.request()  # loads the dependencies, starts sysinit.target & co
                bare.request()
                child.request()
                paths: dict[str, Callable[[], float]] = {
                    "by hand": functools.partial(by_hand, service),
                    "pidone": ours.cli,
                    "no CLI": ours.request,
                    "no cgroup": bare.request,
                    "not PID 1": child.cli,
                    "floor": ours.floor,
                }
                times: dict[str, list[float]] = {c: [] for c in cols}
                for i in range(args.runs):
                    for c in cols[i % len(cols) :] + cols[: i % len(cols)]:
                        times[c].append(paths[c]())
            hand = statistics.median(times["by hand"])
            ratios.append(statistics.median(times["pidone"]) / hand)
            row = f"{service:8s} {first * 1e3:6.1f}"
            for c in cols:
                row += f" {summary(times[c])} {statistics.median(times[c]) / hand:5.2f}"
            print(row)
    print(f"goal <= 1.1; worst ratio (pidone / by hand) {max(ratios):.2f}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        sys.exit(main())
