"""EnvironmentFile= with a wildcard reads every matching file (systemd 252 globs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system


def test_environment_file_wildcard(pidone_ns: Factory, tmp_path: Path) -> None:
    d = tmp_path / "env.d"
    d.mkdir()
    (d / "10-a.conf").write_text("A=one\nB=first\n")
    (d / "20-b.conf").write_text("B=second\n")  # later files win, in sorted order
    unit = (
        f"[Service]\nType=oneshot\nEnvironmentFile={d}/*\nEnvironmentFile=-{tmp_path}/none.d/*\n"
        "ExecStart=/bin/sh -c 'echo \"env=$A/$B\"'\n"
    )
    missing = f"[Service]\nType=oneshot\nEnvironmentFile={tmp_path}/none.d/*\nExecStart=/bin/true\n"
    n = pidone_ns({"glob.service": unit, "missing.service": missing})
    r = n.cli("start", "glob")
    assert r.returncode == 0, r.stdout + r.stderr
    n.wait_for(lambda: "env=one/second" in n.journal("-u", "glob", "-o", "cat"), what="the echo")
    assert n.cli("start", "missing").returncode != 0  # no match and no `-`: ENOENT
    assert n.state("missing.service") == "failed/failed"
