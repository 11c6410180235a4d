"""The loop, signals and reaping as PID 1 of a fresh PID namespace (spec 08 rules 1-3)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

INIT = """
from pidone.linux.signals import block_signals
block_signals()  # first statement: nothing sent from now on may be lost
import json, os, signal, sys
from pidone.daemon.children import ChildWatcher
from pidone.daemon.loop import EventLoop

print("blocked", flush=True)
sys.stdin.readline()  # the test sends SIGTERM now, while nothing handles it yet
assert os.getpid() == 1
loop = EventLoop()
exits, signals = [], []
watcher = ChildWatcher(loop, lambda child, watched: exits.append([child.exit_code, watched]))
loop.add_signal_handler(signal.SIGTERM, signals.append)  # unblocks: the pending one arrives
release_r, release_w = os.pipe()
middle = os.fork()
if middle == 0:  # double-fork: the grandchild is orphaned and re-parented to PID 1
    if os.fork() == 0:
        os.close(release_w)
        os.read(release_r, 1)
        os._exit(9)
    os._exit(0)
watcher.watch(middle)
os.close(release_r)
while not exits:  # the middle child's exit; the SIGTERM byte was queued before it
    loop.run_once()
loop.call_soon(lambda: None)
loop.run_once()
os.close(release_w)  # now let the orphan exit
while len(exits) < 2:
    loop.run_once()
print(json.dumps({"exits": exits, "signals": signals}), flush=True)
"""


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_namespace_init_gets_early_signal_and_reaps_orphans() -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    if os.geteuid() != 0:
        pytest.skip("needs root for unshare --pid --mount-proc")
    proc = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", sys.executable, "-c", INIT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "blocked\n"
        init = _children(proc.pid)[0]  # the namespace's PID 1, seen from here
        os.kill(init, signal.SIGTERM)
        for _ in range(2000):  # until the kernel has queued it (no deadline asserted)
            status = Path(f"/proc/{init}/status").read_text()
            pending = next(x for x in status.splitlines() if x.startswith("ShdPnd:"))
            if int(pending.split()[1], 16) & (1 << (signal.SIGTERM - 1)):
                break
            time.sleep(0.01)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        out = json.loads(proc.stdout.readline())
        assert out["signals"] == [signal.SIGTERM]
        assert sorted(out["exits"]) == [[0, True], [9, False]]
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()  # unshare; the namespace dies with its init
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()
