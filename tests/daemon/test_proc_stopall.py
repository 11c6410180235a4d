"""Stop-all with the /proc tracker (`--no-cgroups`): the daemon as a subreaper, not PID 1.

Runs in a fresh PID namespace whose PID 1 is a small driver: the daemon is its child, so
it tracks through /proc as a child subreaper exactly as on a host without cgroup2. The
driver waits for every service's `sleep` (each double-forked and re-parented, so the
tracker must attribute it), sends SIGTERM to the daemon, waits for it to exit, and reports
what is left in the namespace. When the driver exits the kernel kills anything left.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

N = 20

DRIVER = r"""
import json, os, signal, subprocess, sys, time

work, n = sys.argv[1], int(sys.argv[2])
pidone = os.path.join(os.path.dirname(sys.executable), "pidone")
env = dict(os.environ, PIDONE_UNIT_PATH=work + "/units")
daemon = subprocess.Popen(
    [pidone, "daemon", "--dev-log=", "--no-cgroups", "--runtime-dir", work + "/run",
     "--state-dir", work + "/state", "--start", *[f"s{i}.service" for i in range(n)]],
    env=env, stdout=open(work + "/daemon.log", "wb"), stderr=subprocess.STDOUT,
)

def procs():
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in (1, daemon.pid):
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            state = data[data.rfind(b")") + 2 : data.rfind(b")") + 3]
            if state not in (b"Z", b"X"):
                out[int(name)] = data[data.find(b"(") + 1 : data.rfind(b")")].decode()
    return out

report = {}
deadline = time.monotonic() + 60  # a hang guard, not a measurement
while time.monotonic() < deadline:
    if sum(1 for c in procs().values() if c == "sleep") >= 2 * n:
        break
    time.sleep(0.05)
report["running"] = sum(1 for c in procs().values() if c == "sleep")
os.kill(daemon.pid, signal.SIGTERM)
try:
    report["exit"] = daemon.wait(timeout=100)
except subprocess.TimeoutExpired:
    report["exit"] = None
# Reap orphans handed to us (PID 1) once the daemon is gone.
time.sleep(0.2)
while True:
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            break
    except ChildProcessError:
        break
report["left"] = sorted(procs().values())
print(json.dumps(report))
"""

# Each service leaves a double-forked `sleep` (re-parented to the daemon, found through its
# session) next to its main `sleep`.
UNIT = "[Service]\nExecStart=/bin/sh -c '(sleep 1000 &) ; exec sleep 1000'\nTimeoutStopSec=20\n"


def test_stop_all_with_proc_tracker_leaves_nothing(tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    if os.geteuid() != 0:
        pytest.skip("needs root for unshare --pid")
    units = tmp_path / "units"
    units.mkdir()
    for i in range(N):
        (units / f"s{i}.service").write_text(UNIT)
    proc = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", DRIVER,
         str(tmp_path), str(N)],
        capture_output=True, text=True, timeout=200, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    log = (tmp_path / "daemon.log").read_text(errors="replace")[-2000:]
    assert report == {"running": 2 * N, "exit": 0, "left": []}, log
