"""ConditionVirtualization= against systemd 252's own verdicts, inside private namespaces.

Each case runs in `unshare --mount --pid --fork --mount-proc`, writes the container marker
that systemd's detect_container() reads (/run/systemd/container on a private tmpfs) or sets
`container=` in the environment of the namespace's PID 1, then compares pidone's
linux.conditions with `systemd-detect-virt` and `systemd-analyze condition` run in the
same namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.differential,
    pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces need root"),
]
VALUES = ("container", "!container", "vm", "yes", "no", "lxc", "docker", "systemd-nspawn")

_INSIDE = r"""
import json, os, subprocess, sys
from pidone.core.model import Condition
from pidone.linux import conditions
marker = sys.argv[1]
if marker:
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], check=True)
    with open("/run/systemd/container", "w") as f:
        f.write(marker + "\n")
out = {"pidone": conditions.detect_container()}
out["systemd"] = subprocess.run(
    ["systemd-detect-virt", "--container"], capture_output=True, text=True).stdout.strip()
for value in json.loads(sys.argv[2]):
    negate = value.startswith("!")
    c = Condition("Virtualization", value.lstrip("!"), negate=negate)
    mine = conditions.evaluate([c], []).ok
    r = subprocess.run(["systemd-analyze", "condition", "ConditionVirtualization=" + value],
                       capture_output=True, text=True)
    out[value] = [mine, r.returncode == 0]
print(json.dumps(out))
"""


def run_inside(marker: str, environ_container: str = "") -> dict[str, object]:
    env = dict(os.environ)
    env.pop("container", None)
    if environ_container:
        env["container"] = environ_container
    r = subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "--mount-proc",
         sys.executable, "-c", _INSIDE, marker, json.dumps(VALUES)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    result: dict[str, object] = json.loads(r.stdout)
    return result


@pytest.fixture(autouse=True)
def _tools() -> None:
    for tool in ("unshare", "systemd-detect-virt", "systemd-analyze"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


@pytest.mark.parametrize("marker", ["lxc", "systemd-nspawn"])
def test_container_marker_file(marker):
    got = run_inside(marker)
    assert got["pidone"] == got["systemd"] == marker
    for value in VALUES:
        mine, systemd = got[value]  # type: ignore[misc]
        assert mine == systemd, value
    assert got["!container"] == [False, False]  # a `!container` unit is skipped


def test_container_variable_of_pid_1():
    # the namespace's PID 1 is the python that evaluates: its own `container=` counts
    got = run_inside("", environ_container="podman")
    assert got["pidone"] == got["systemd"]
    for value in VALUES:
        mine, systemd = got[value]  # type: ignore[misc]
        assert mine == systemd, value
