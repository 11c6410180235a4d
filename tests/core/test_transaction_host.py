"""Differential: start transactions of this machine's real Debian units against systemd 252.

A copy of /etc/systemd/system and /lib/systemd/system (symlinks kept) is the only unit path
of both sides. For every unit, `systemd-analyze verify` at debug level logs each job it
installs ("Installed new job X/start as N") or the error; pidone loads the same copy
(linux.unitload, loading referenced template instances on demand like systemd), builds the
graph and the start transaction, and must install the same jobs or fail with the same text.
Nothing is started.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pidone.core.depgraph import DepGraph, build_graph
from pidone.core.errors import PidoneError
from pidone.core.model import Unit
from pidone.core.targets import BUILTIN_UNITS
from pidone.core.transaction import build_transaction
from pidone.core.units import build_unit
from pidone.linux.unitload import UnitLoader
from pidone.linux.unitpaths import build_unit_paths
from tests.core.depkit import make_unit
from tests.core.unitbuild import HOST

SOURCES = (Path("/etc/systemd/system"), Path("/lib/systemd/system"))


def _copy(tmp: Path) -> str:
    dirs = []
    for index, source in enumerate(SOURCES):
        target = tmp / f"d{index}"
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
            dirs.append(str(target))
    return ":".join(dirs)


def _graph(path: str) -> tuple[DepGraph, list[Unit]]:
    loader = UnitLoader(build_unit_paths(environ={"PIDONE_UNIT_PATH": path}))
    units = [build_unit(s, HOST) for s in loader.load_all()]
    ids = {u.id for u in units}
    # compiled into systemd; pidone's loader does not fall back to core.targets yet
    units += [
        make_unit(n, BUILTIN_UNITS[n].decode()) for n in ("-.slice", "system.slice") if n not in ids
    ]

    def load(name: str) -> Unit | None:
        try:
            return build_unit(loader.load(name), HOST)
        except PidoneError:
            return None

    return build_graph(units, load), units


def _systemd(path: str, name: str) -> tuple[str, set[str]]:
    env = {**os.environ, "SYSTEMD_UNIT_PATH": path, "SYSTEMD_LOG_LEVEL": "debug"}
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "--generators=no", name],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    lines = proc.stderr.splitlines()
    marker = f"Failed to create {name}/start: "
    errors = [line.split(marker, 1)[1] for line in lines if marker in line]
    masked = f"Unit {name} is masked."  # verify refuses a masked unit before any job
    missing = f"Unit {name} not found."  # and a dangling link (a package removed)
    if not errors:
        errors = [line for line in (masked, missing) if line in lines]
    jobs = {
        re.sub(r" as \d+$", "", line.split("Installed new job ", 1)[1])
        for line in lines
        if "Installed new job " in line
    }
    return (errors[0] if errors else ""), jobs


@pytest.mark.differential
def test_every_host_unit_starts_with_systemds_jobs(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None or not SOURCES[1].is_dir():
        pytest.skip("systemd-analyze or /lib/systemd/system is missing")
    path = _copy(tmp_path)
    g, units = _graph(path)
    names = sorted(u.id for u in units if not u.id.split("@")[-1].startswith("."))
    names = [n for n in names if n not in ("-.slice", "system.slice")]
    assert len(names) > 50
    with ThreadPoolExecutor(max_workers=2) as pool:
        theirs = dict(zip(names, pool.map(lambda n: _systemd(path, n), names), strict=True))
    mismatches = []
    for name in names:
        error, jobs = theirs[name]
        r = build_transaction(g, name, "start")
        ours = {f"{j.unit}/{j.type}" for j in r.jobs}
        if error != r.error or (not error and ours != jobs):
            mismatches.append((name, error, r.error, sorted(ours ^ jobs)))
    assert mismatches == [], "\n".join(map(str, mismatches))
