"""DefaultLimitNOFILE= of systemd 252 (main.c fallback_rlimit_nofile()): what a service
without LimitNOFILE= gets, from the manager's own limit, computed in processes whose
limits the test sets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HIGH = 512 * 1024


def default_in_child(soft: int, hard: int, nr_open: Path) -> tuple[int, int]:
    """service_nofile_default() in a child whose RLIMIT_NOFILE is (soft, hard)."""
    code = (
        "import json, resource, sys\n"
        "from pidone.linux.rlimits import service_nofile_default\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
        f"print(json.dumps(service_nofile_default({str(nr_open)!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    return got[0], got[1]


@pytest.mark.parametrize(
    ("soft", "hard", "nr_open", "expected"),
    [
        (4096, 8192, 1048576, (1024, HIGH)),  # soft down to FD_SETSIZE, hard up to 512Ki
        (512, 8192, 1048576, (512, HIGH)),  # a lower soft limit is passed on as it is
        (1024, 8192, 100000, (1024, 100000)),  # ... and the raise stops at fs.nr_open
    ],
)
def test_default_from_the_managers_own_limit(
    tmp_path: Path, soft: int, hard: int, nr_open: int, expected: tuple[int, int]
) -> None:
    path = tmp_path / "nr_open"
    path.write_text(f"{nr_open}\n")
    assert default_in_child(soft, hard, path) == expected


def test_an_unreadable_nr_open_caps_at_512ki(tmp_path: Path) -> None:
    assert default_in_child(4096, 8192, tmp_path / "missing") == (1024, HIGH)
