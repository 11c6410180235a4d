"""Run as PID 1 of a fresh PID namespace: exercise ProcTracker, print one JSON report.

Usage: unshare --pid --fork --mount-proc python proctrack_driver.py MODE ENV
(MODE setsid|nosetsid, ENV keep|scrub; see tracking_scripts.DOUBLE_FORK).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from pidone.core.environment import EnvironmentInputs, ManagerVariables, build_environment
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux.spawn import SpawnRequest, spawn
from pidone.linux.tracking import open_tracker
from tests.linux.tracking_scripts import DOUBLE_FORK


def reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> int:
    mode, env_mode = sys.argv[1], sys.argv[2]
    report: dict[str, object] = {"pid": os.getpid()}
    tracker = open_tracker(allow_cgroup=False)  # PID 1 here: no prctl needed
    report["kind"] = tracker.kind
    unit, other = "double.service", "bystander.service"
    invocation = "f" * 32
    tracker.create(unit, invocation_id=invocation)
    tracker.create(other, invocation_id="e" * 32)
    ctx = ExecContext(standard_output="journal")
    env = build_environment(
        ctx, EnvironmentInputs(variables=ManagerVariables(invocation_id=invocation))
    )
    r, w = os.pipe()
    cmd = ExecCommand(
        path=sys.executable,
        argv=(sys.executable, "-S", "-c", DOUBLE_FORK, mode, env_mode),
        no_env_expand=True,
    )
    s = spawn(SpawnRequest(cmd, ctx, env, stdout_fd=w))
    tracker.attach(unit, s.pid)
    bystander = spawn(
        SpawnRequest(
            ExecCommand(path="/bin/sleep", argv=("sleep", "600")),
            ExecContext(standard_output="null"),
            {},
        )
    )
    tracker.attach(other, bystander.pid)
    os.close(w)
    with os.fdopen(r) as out:
        grandchild, main_pid = int(out.readline()), int(out.readline())
    reap_all()  # the intermediate child was re-parented to us and exited
    report["main"] = main_pid == s.pid
    report["members"] = tracker.pids(unit) == sorted([grandchild, main_pid])
    report["unit_of_grandchild"] = tracker.unit_of(grandchild)
    report["bystander"] = tracker.pids(other) == [bystander.pid]
    report["events_before"] = tracker.drain_events()
    report["killed"] = tracker.kill(unit, signal.SIGTERM) == sorted([grandchild, main_pid])
    for _ in range(2000):  # bounded wait for the exits
        reap_all()
        if tracker.is_empty(unit):
            break
        time.sleep(0.005)
    report["empty"] = tracker.is_empty(unit)
    report["events_after"] = tracker.drain_events()
    report["bystander_alive"] = tracker.pids(other) == [bystander.pid]
    report["removed"] = tracker.remove(unit)
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
