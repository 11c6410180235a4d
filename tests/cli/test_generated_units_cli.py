"""The unit-file verbs see what the running manager's generators wrote (systemd.generator(7)).

A daemon that is PID 1 runs the system's generators into its runtime directory
(linux/generators.py) instead of /run/systemd/generator*; `show`, `cat`,
`list-unit-files` and `list-dependencies` read unit files themselves, so they must look
there too, as systemctl finds /run/systemd/generator.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


def pidone(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pidone", *args],
        env={**env, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    units = tmp_path / "units"
    units.mkdir()
    (units / "plain.service").write_text("[Service]\nExecStart=/bin/true\n")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # a trailing ':' appends systemd's list, generator directories included
        "PIDONE_UNIT_PATH": f"{units}:",
        "PIDONE_RUNTIME_DIR": str(tmp_path / "run"),
    }


def test_generated_unit_is_found_only_where_the_manager_put_it(env: dict[str, str]) -> None:
    name = f"pidone-generated-{os.getpid()}.service"
    assert "LoadState=not-found" in pidone(env, "show", "-p", "LoadState", name).stdout
    late = Path(env["PIDONE_RUNTIME_DIR"]) / "generator.late"
    late.mkdir(parents=True)
    (late / name).write_text(
        "[Unit]\nDescription=from an LSB script\n[Service]\nExecStart=/bin/true\n"
    )
    shown = pidone(env, "show", "-p", "LoadState", "-p", "FragmentPath", name)
    assert shown.stdout.splitlines() == ["LoadState=loaded", f"FragmentPath={late / name}"]
    cat = pidone(env, "cat", name)
    assert cat.returncode == 0, cat.stderr
    assert cat.stdout.startswith(f"# {late / name}\n[Unit]\nDescription=from an LSB script\n")
    listed = pidone(env, "list-unit-files", "--no-legend", name)
    assert listed.stdout.split()[:2] == [name, "generated"]
