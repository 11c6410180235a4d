"""Subreaper adoption and the waitpid(-1) loop, each run in a child so pytest stays unchanged."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

ORPHAN_SCENARIO = """
import json, os, signal, sys
from pidone.linux.reaper import become_subreaper, has_exited, is_subreaper, reap, reap_all

subreaper = sys.argv[1] == "1"
if subreaper:
    become_subreaper()
out = {"is_subreaper": is_subreaper(), "me": os.getpid(), "empty": reap_all()}
release_r, release_w = os.pipe()
report_r, report_w = os.pipe()
middle = os.fork()
if middle == 0:  # the middle process double-forks and exits at once
    grandchild = os.fork()
    if grandchild == 0:
        os.close(release_w)
        os.read(release_r, 1)  # wait for the scenario's go, then die of SIGTERM
        os.kill(os.getpid(), signal.SIGTERM)
    os.write(report_w, str(grandchild).encode())
    os._exit(0)
os.close(release_r)
grandchild = int(os.read(report_r, 20))
_, status = os.waitpid(middle, 0)
out["middle"] = os.waitstatus_to_exitcode(status)
while True:  # re-parenting happens when the middle process is reaped
    with open(f"/proc/{grandchild}/stat") as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    if ppid != middle:
        break
out["grandchild_ppid"] = ppid
out["has_exited_before"] = has_exited(grandchild)
out["reap_running"] = reap(grandchild)
os.close(release_w)
exits = []
while not exits:
    if subreaper:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)  # block until a zombie exists
        out["has_exited_after"] = has_exited(grandchild)
        exits = reap_all()
    else:
        exits = [None]
out["exits"] = [[e.pid, e.exit_code, e.signal, e.core_dumped] for e in exits if e]
out["grandchild"] = grandchild
print(json.dumps(out))
"""


def run_scenario(subreaper: bool) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", ORPHAN_SCENARIO, "1" if subreaper else "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_double_forked_orphan_is_adopted_and_reaped_by_the_subreaper() -> None:
    out = run_scenario(subreaper=True)
    assert out["is_subreaper"] is True
    assert out["empty"] == []
    assert out["middle"] == 0
    assert out["grandchild_ppid"] == out["me"]
    assert out["has_exited_before"] is False
    assert out["reap_running"] is None
    assert out["has_exited_after"] is True
    assert out["exits"] == [[out["grandchild"], None, 15, False]]


def test_without_subreaper_the_orphan_goes_elsewhere() -> None:
    out = run_scenario(subreaper=False)
    assert out["is_subreaper"] is False
    assert out["grandchild_ppid"] != out["me"]
    assert out["exits"] == []


MANY_EXITS = """
import json, os
from pidone.linux.reaper import reap_all
pids = {}
for code in range(20):
    pid = os.fork()
    if pid == 0:
        os._exit(code)
    pids[pid] = code
# Wait until all 20 are zombies without reaping any, then one call must collect them all.
for pid in pids:
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
got = {e.pid: e.exit_code for e in reap_all()}
print(json.dumps({"expected": pids, "got": got, "again": len(reap_all())}))
"""


def test_one_reap_all_collects_every_zombie() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", MANY_EXITS], capture_output=True, text=True, timeout=60, check=True
    )
    out = json.loads(proc.stdout)
    assert out["got"] == out["expected"]
    assert len(out["got"]) == 20
    assert out["again"] == 0


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (7 << 8, (7, None, False)),
        (9, (None, 9, False)),
        (11 | 0x80, (None, 11, True)),
        (0x137F, None),  # stopped by SIGSTOP: not an exit
    ],
)
def test_decode_wait_status(status: int, expected: tuple[object, ...] | None) -> None:
    from pidone.linux.reaper import decode_wait_status

    child = decode_wait_status(42, status)
    if expected is None:
        assert child is None
    else:
        assert child is not None
        assert (child.exit_code, child.signal, child.core_dumped) == expected
