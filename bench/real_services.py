"""Start Debian's apache2 and nginx through pidone and by hand; time until port 80 answers.

    .venv/bin/python bench/real_services.py [--runs N]

Root only; apache2 and nginx must be installed (the acceptance tier installs them). The
script first moves itself into a private network namespace (unshare(2) CLONE_NEWNET, lo
up), so port 80 is its own and nothing is reachable from outside. Each start lives in a
fresh PID namespace that is killed afterwards, so nothing outlives the script.

* by hand: `unshare --pid --fork --mount-proc` runs the unit's ExecStartPre=/ExecStart=
  lines (the same words, the same Environment=) in `sh -c`;
* pidone: a daemon is started as PID 1 of a PID namespace and asked for the unit's status
  (not timed: systemd too has its units loaded since boot), then the clock runs from
  `pidone start UNIT` (a new CLI process, as a user would type it) until the port
  answers. pidone reads the packaged unit from /lib/systemd/system unchanged, so it
  also sets up what the unit asks for (apache2's PrivateTmp=: a mount namespace).

Runs alternate (hand, pidone, hand, ...); the medians and their ratios are printed. Two
more pidone columns split the cost: "no CLI" times one control-socket request instead of a
CLI process, "no cgroup" runs the daemon with --no-cgroups (no cgroup.procs migration).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import ctypes
import fcntl
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
from pathlib import Path

from pidone.testing.harness import NamespaceDaemon

CLONE_NEWNET = 0x40000000
# The units' own lines (/lib/systemd/system/apache2.service, nginx.service, Debian 12).
BY_HAND = {
    "apache2": "APACHE_STARTED_BY_SYSTEMD=true /usr/sbin/apachectl start",
    "nginx": "/usr/sbin/nginx -t -q -g 'daemon on; master_process on;' && "
    "/usr/sbin/nginx -g 'daemon on; master_process on;'",
}
TIMEOUT = 30.0


def private_network() -> None:
    """This process into a new network namespace with `lo` up (netdevice(7) ioctls)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
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
        time.sleep(0.002)
    return time.perf_counter() - t0


def wait_port_free() -> None:
    deadline = time.monotonic() + TIMEOUT
    while answers() and time.monotonic() < deadline:
        time.sleep(0.01)


def by_hand(service: str) -> float:
    cmd = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
           "sh", "-c", f"{BY_HAND[service]}; exec sleep 1000"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_answer(t0)
    finally:
        proc.kill()  # --kill-child: the namespace's PID 1 dies, and every process with it
        proc.wait()
        wait_port_free()


class RealUnits(NamespaceDaemon):
    """The harness daemon, reading systemd's own unit directories after its empty one."""

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env["PIDONE_UNIT_PATH"] = f"{self.unit_dir}:"
        return env


def through_pidone(service: str, workdir: Path, *, cli: bool = True, cgroups: bool = True) -> float:
    d = RealUnits(workdir, no_cgroups=not cgroups)
    try:
        d.start()
        # The unit is loaded before the clock starts, as systemd has it loaded since boot.
        d.call("status", units=[f"{service}.service"])
        t0 = time.perf_counter()
        if not cli:  # one request on the control socket: the manager's own share
            d.call("start", units=[f"{service}.service"])
            elapsed = wait_answer(t0)
        else:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pidone", "start", service],
                env=d.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            elapsed = wait_answer(t0)
            _, err = proc.communicate(timeout=TIMEOUT)
            if proc.returncode != 0:
                raise RuntimeError(f"pidone start {service} failed: {err.decode()}")
        d.cli("stop", service)
        return elapsed
    finally:
        d.close()
        wait_port_free()
        for pattern in ("/tmp/pidone-private-*", "/var/tmp/pidone-private-*"):
            for path in Path("/").glob(pattern.lstrip("/")):
                shutil.rmtree(path, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1)
    args = p.parse_args()
    if os.geteuid() != 0:
        print("bench/real_services.py needs root (namespaces)")
        return 1
    missing = [s for s in BY_HAND if not Path(f"/lib/systemd/system/{s}.service").exists()]
    if missing or shutil.which("unshare") is None:
        print(f"not installed: {' '.join(missing) or 'unshare'} (apt-get install apache2 nginx)")
        return 1
    # This shell exports PYTHONDONTWRITEBYTECODE=1: without bytecode every CLI run would
    # recompile the modules it imports (as an installed package would not).
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "src" / "pidone"), quiet=1)
    private_network()
    if answers():
        print("port 80 answers in a fresh network namespace?")
        return 1
    os.environ.pop("PIDONE_UNIT_PATH", None)
    load = os.getloadavg()[0]
    print(f"runs per path: {args.runs}, load average {load:.1f}")
    paths = {
        "pidone": {},
        "no CLI": {"cli": False},
        "no cgroup": {"cgroups": False},
    }
    print(f"{'service':8s} {'by hand':>9s}" + "".join(f" {k:>9s} {'ratio':>5s}" for k in paths))
    ratios = []
    with tempfile.TemporaryDirectory(prefix="pidone-bench-") as tmp:
        for service in BY_HAND:
            hand: list[float] = []
            ours: dict[str, list[float]] = {k: [] for k in paths}
            for i in range(args.runs):
                hand.append(by_hand(service))
                for k, kw in paths.items():
                    ours[k].append(through_pidone(service, Path(tmp) / f"{service}{k}{i}", **kw))
            h = statistics.median(hand)
            row = f"{service:8s} {h * 1e3:6.1f} ms"
            for k in paths:
                o = statistics.median(ours[k])
                row += f" {o * 1e3:6.1f} ms {o / h:5.2f}"
            ratios.append(statistics.median(ours["pidone"]) / h)
            print(row)
    print(f"goal <= 1.1; worst ratio {max(ratios):.2f}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        sys.exit(main())
