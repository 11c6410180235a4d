"""The compiled `pidone` for tests: built from csrc/ as setup.py builds it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "csrc" / "pidone.c", ROOT / "csrc" / "pidone-job.c"]


def compile_pidone(target: Path) -> None:
    """cc the two sources into `target` as setup.py does, plus -Werror and any
    PIDONE_FAST_CFLAGS (linked as a static PIE as setup.py prefers, unless those flags are
    set: the sanitizers need the dynamic loader); skips when there is no compiler."""
    cc = shlex.split(os.environ.get("CC", "")) or ["cc"]  # as setup.py finds it
    if shutil.which(cc[0]) is None:
        pytest.skip("no C compiler (cc, $CC): the compiled pidone is not built here")
    extra = shlex.split(os.environ.get("PIDONE_FAST_CFLAGS", ""))
    flags = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", *extra]
    errors = ""
    for link in [[]] if extra else [["-static-pie"], []]:
        built = subprocess.run(
            [*cc, *flags, *link, "-o", str(target), *map(str, SOURCES)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if built.returncode == 0:
            return
        errors += built.stderr
    raise AssertionError(errors)
