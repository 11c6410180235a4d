"""How close any client + daemon design can come to "by hand": a null supervisor side by side.

    .venv/bin/python bench/start_floor.py [--runs N] [--only SERVICE]

Root; the same private namespaces, by-hand shell and `pidone start` as
bench/real_services.py. One more column, "null sup": a supervisor that does nothing but
what a `start` cannot avoid, timed through the same installed `pidone` launcher:

* it is PID 1 of its own PID namespace (as the pidone daemon is), listening on a
  control.sock in a runtime directory of its own, and speaks just enough of pidone's
  control protocol (docs/daemon.md) for the compiled client: it reads the client's Hello
  and Request frames, runs the unit's ExecStartPre=/ExecStart= lines one after the other
  with os.posix_spawn(3) (the words split as the shell splits them, the environment the
  by-hand shell gets, output to /dev/null), waits for each with waitpid(2), and answers
  `{"ok": true}`;
* no unit files, no state machine, no journal, no cgroup, no PID file, no log record, no
  bookkeeping of any kind: everything pidone does beyond that is its own cost.

"C null sup" is the same null supervisor in C (bench/null_supervisor.c, built with gcc -O2
when gcc is there; posix_spawn(3) and waitpid(2), no interpreter): the floor of any
client + daemon design, whatever language its daemon is written in.

So "null sup" / "by hand" is the ratio of a supervisor with zero features: the client's
fork+exec, connect and round trip plus one wake-up of a Python daemon per command. If it
is already near 1.1, the goal leaves (almost) nothing for managing the service. A fresh
null supervisor serves each timed start, then its namespace is killed (taking the service
with it), as by_hand() does with its shell.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import real_services as rs

HERE = Path(__file__).resolve().parent

# The null supervisor itself, run by `python3 -c` as PID 1 of a fresh PID namespace.
# argv: runtime dir, then one argument per command line (already split, joined by US, 0x1f).
NULL_SUPERVISOR = r"""
import os, socket, struct, sys
rundir, lines = sys.argv[1], [a.split("\x1f") for a in sys.argv[2:]]
env = {k: v for k, v in (w.split("=", 1) for w in os.environ["NULL_ENV"].split("\x1f"))}
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(rundir + "/control.sock")
srv.listen(8)
open(rundir + "/ready", "w").close()
devnull = os.open("/dev/null", os.O_RDWR)
acts = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
        (os.POSIX_SPAWN_DUP2, devnull, 2)]

def frames(conn, n):
    buf = b""
    while n:
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
        size = struct.unpack(">I", buf[:4])[0]
        buf = buf[4 + size:]
        n -= 1

def send(conn, body):
    conn.sendall(struct.pack(">I", len(body)) + body)

while True:
    conn, _ = srv.accept()
    frames(conn, 2)  # Hello, Request
    send(conn, b'{"type":"hello","version":1}')
    ok = True
    for argv in lines:
        pid = os.posix_spawn(argv[0], argv, env, file_actions=acts)
        while True:  # PID 1: orphans (the forking daemon's parent is gone) come here too
            got, status = os.waitpid(-1, 0)
            if got == pid:
                break
        if status:
            ok = False
            break
    send(conn, b'{"type":"response","id":1,"ok":%s,"result":{}}' % (b"true" if ok else b"false"))
    conn.close()
"""


def build_c_supervisor(tmp: str) -> str | None:
    """bench/null_supervisor.c compiled with gcc -O2 into `tmp`, or None without gcc."""
    if shutil.which("gcc") is None:
        return None
    exe = os.path.join(tmp, "null_supervisor")
    subprocess.run(["gcc", "-O2", "-o", exe, str(HERE / "null_supervisor.c")], check=True)
    return exe


def null_supervisor(service: str, launcher: str, compiled: str | None = None) -> float:
    """One start through a fresh null supervisor (the Python one, or the `compiled` one);
    its namespace is killed afterwards."""
    lines, unit_env = rs.unit_lines(service)
    env = {**rs.BASE_ENV, **unit_env}
    words = ["\x1f".join(shlex.split(line)) for line in lines]
    with tempfile.TemporaryDirectory(prefix="pidone-null-") as rundir:
        os.chmod(rundir, 0o755)
        namespace = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
        if compiled is None:
            command = [sys.executable, "-c", NULL_SUPERVISOR, rundir, *words]
            sup_env = {"NULL_ENV": "\x1f".join(f"{k}={v}" for k, v in env.items())}
        else:  # it passes its own environment on: the same variables
            command, sup_env = [compiled, rundir, *words], env
        sup = subprocess.Popen([*namespace, *command], env=sup_env, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + rs.TIMEOUT
            while not Path(rundir, "ready").exists():
                if sup.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the null supervisor did not start")
                time.sleep(0.005)
            client_env = {
                "PATH": rs.BASE_ENV["PATH"],
                "PIDONE_RUNTIME_DIR": rundir,
                "PIDONE_LAUNCHER": launcher,
            }
            command = f'"$PIDONE_LAUNCHER" start {service}.service'
            return rs.from_shell(command, client_env, own_pid_namespace=False)
        finally:
            sup.kill()  # --kill-child: the namespace's PID 1 dies, and the service with it
            sup.wait()
            rs.wait_port_free()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(rs.SERVICES[service])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--only", action="append", choices=sorted(rs.SERVICES))
    args = p.parse_args()
    if os.geteuid() != 0:
        print("bench/start_floor.py needs root (namespaces)")
        return 1
    services = args.only or list(rs.SERVICES)
    missing = [s for s in services if not Path(f"{rs.UNIT_DIR}/{s}.service").exists()]
    if missing or shutil.which("unshare") is None:
        print(f"not installed: {' '.join(missing) or 'unshare'} (apt-get install apache2 nginx)")
        return 1
    launcher = str(Path(sys.executable).with_name("pidone"))
    import compileall

    compileall.compile_dir(str(HERE.parent / "src" / "pidone"), quiet=1)
    rs.private_namespaces()
    if rs.answers():
        print("port 80 answers in a fresh network namespace?")
        return 1
    os.environ.pop("PIDONE_UNIT_PATH", None)
    print(f"runs per path: {args.runs}, load average {os.getloadavg()[0]:.1f}")
    print("ms: median (quartiles); ratio: median / median by hand")
    tmp_bin = tempfile.mkdtemp(prefix="pidone-null-bin-")
    compiled = build_c_supervisor(tmp_bin)
    cols = (
        ("by hand", "null sup", "C null sup", "pidone")
        if compiled
        else ("by hand", "null sup", "pidone")
    )
    print(f"{'service':8s}" + "".join(f" {c:>20s} ratio" for c in cols))
    with tempfile.TemporaryDirectory(prefix="pidone-bench-") as tmp:
        for service in services:
            with rs.Pidone(service, Path(tmp) / service) as ours:
                ours.request()  # the first start loads and starts sysinit.target & co
                paths: dict[str, Callable[[], float]] = {
                    "by hand": functools.partial(rs.by_hand, service),
                    "null sup": functools.partial(null_supervisor, service, launcher),
                    "C null sup": functools.partial(null_supervisor, service, launcher, compiled),
                    "pidone": ours.cli,
                }
                times: dict[str, list[float]] = {c: [] for c in cols}
                for i in range(args.runs):
                    for c in cols[i % len(cols) :] + cols[: i % len(cols)]:
                        times[c].append(paths[c]())
            hand = statistics.median(times["by hand"])
            row = f"{service:8s}"
            for c in cols:
                row += f" {rs.summary(times[c])} {statistics.median(times[c]) / hand:5.2f}"
            print(row)
    shutil.rmtree(tmp_bin, ignore_errors=True)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        sys.exit(main())
