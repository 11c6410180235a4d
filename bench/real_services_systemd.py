"""The same start measured under real systemd 252 (sd-oracle) and under pidone, in one run.

    .venv/bin/python bench/real_services_systemd.py [--runs N] [--only SERVICE]
        [--oracle PATH]

Root; the systemd side needs the sd-oracle tool (default ../shared/oracle/sd-oracle next to
the project: it boots this machine's own systemd 252 in a throwaway container whose root is
an overlay of the host's, so the same apache2 and nginx binaries and unit files are there).

systemd side, inside the container: `systemctl start UNIT` against the unit's
ExecStartPre=/ExecStart= lines, each issued by a `/bin/sh` that is already running when the
clock starts (as bench/real_services.py's from_shell()); the clock stops when the command
has returned and 127.0.0.1:80 answers. `systemctl reset-failed` (untimed) before
each start keeps systemd's start limit (5 starts in 10 s) out of the way; each start is
followed by an untimed stop.

pidone side: bench/real_services.py with the same --runs/--only (its "pidone" column is
`pidone start UNIT` through the installed launcher, by default the compiled job client).
Each side's ratio is its own start over its own by-hand start on the same machine.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import real_services as rs

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ORACLE = ROOT.parent / "shared" / "oracle" / "sd-oracle"

# Runs inside the container with the container's python3 (the host's, through the overlay).
INSIDE = r"""
import socket, statistics, subprocess, sys, time
svc, runs = sys.argv[1], int(sys.argv[2])
lines, env_extra = [], {}
section = ""
for raw in open(f"/lib/systemd/system/{svc}.service", encoding="utf-8"):
    line = raw.strip()
    if line.startswith("["):
        section = line
    elif section == "[Service]" and line.startswith(("ExecStartPre=", "ExecStart=")):
        lines.append(line.partition("=")[2])
    elif section == "[Service]" and line.startswith("Environment="):
        for word in line.partition("=")[2].split():
            k, _, v = word.partition("=")
            env_extra[k] = v
pidfile = {"nginx": "/run/nginx.pid", "apache2": "/run/apache2/apache2.pid"}[svc]

def answers():
    try:
        with socket.create_connection(("127.0.0.1", 80), timeout=1) as c:
            c.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            return c.recv(12).startswith(b"HTTP/")
    except OSError:
        return False

def wait(t0):
    while not answers():
        time.sleep(0.001)
    return time.perf_counter() - t0

def free():
    while answers():
        time.sleep(0.01)

env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "LANG": "C.UTF-8", **env_extra}
ours, hand = [], []
subprocess.run(["systemctl", "start", svc], check=True)
subprocess.run(["systemctl", "stop", svc], check=True)
free()
def from_shell(command):
    # as bench/real_services.py's from_shell(): a shell already waiting on `read`
    sh = subprocess.Popen(
        ["/bin/sh", "-c",
         "echo ready; read go; { " + command + "; } >/dev/null 2>&1; echo done $?"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    assert sh.stdout.readline() == b"ready\n"
    t0 = time.perf_counter()
    sh.stdin.write(b"\n")
    sh.stdin.flush()
    done = sh.stdout.readline()
    assert done == b"done 0\n", (command, done)
    elapsed = wait(t0)
    sh.wait()
    return elapsed

for _ in range(runs):
    subprocess.run(["systemctl", "reset-failed", svc])
    ours.append(from_shell("systemctl start " + svc))
    subprocess.run(["systemctl", "stop", svc], check=True)
    free()
    hand.append(from_shell(" && ".join(lines)))
    subprocess.run(["kill", open(pidfile).read().split()[0]])
    free()
    time.sleep(0.2)
m = statistics.median
print(f"RESULT {svc} {m(ours) * 1e3:.1f} {m(hand) * 1e3:.1f}")
"""


def systemd_side(oracle: str, services: list[str], runs: int) -> dict[str, tuple[float, float]]:
    """{service: (systemctl start ms, by hand ms)} medians inside the oracle container."""
    out: dict[str, tuple[float, float]] = {}
    subprocess.run([oracle, "up"], check=True, stdout=subprocess.DEVNULL)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
            f.write(INSIDE)
        try:
            subprocess.run([oracle, "cp-in", f.name, "/root/sd_start_bench.py"], check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
        finally:
            os.unlink(f.name)
        for svc in services:
            done = subprocess.run(
                [oracle, "run", "python3", "/root/sd_start_bench.py", svc, str(runs)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            m = re.search(r"^RESULT (\S+) ([\d.]+) ([\d.]+)$", done.stdout, re.M)
            if m is None:
                raise SystemExit(f"systemd side, {svc}: {done.stdout}{done.stderr}")
            out[svc] = (float(m.group(2)), float(m.group(3)))
    finally:
        subprocess.run([oracle, "down"], stdout=subprocess.DEVNULL, check=False)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--only", action="append", choices=sorted(rs.SERVICES))
    p.add_argument("--oracle", default=str(DEFAULT_ORACLE), help="the sd-oracle command")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("bench/real_services_systemd.py needs root")
        return 1
    services = args.only or list(rs.SERVICES)
    if not Path(args.oracle).exists():
        print(f"no sd-oracle at {args.oracle} (--oracle PATH): the systemd side cannot run")
        return 1
    theirs = systemd_side(args.oracle, services, args.runs)
    print("systemd 252 in sd-oracle: `systemctl start UNIT` vs the Exec lines by hand, ms")
    for svc, (start, hand) in theirs.items():
        ratio = start / hand
        print(f"  {svc:8s} systemctl start {start:6.1f}, by hand {hand:6.1f}, ratio {ratio:.2f}")
    print("pidone (bench/real_services.py):", flush=True)
    sys.argv = [sys.argv[0], "--runs", str(args.runs), *[f"--only={s}" for s in services]]
    return rs.main()


if __name__ == "__main__":
    sys.exit(main())
