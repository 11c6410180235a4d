"""`pidone demo`: the README's first command: pidone's main job on the bundled examples."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _examples_dir(argv: list[str]) -> Path:
    if argv and not argv[0].startswith("-"):
        return Path(argv[0]).resolve()
    here = Path.cwd() / "examples" / "units"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "examples" / "units"


def _section(title: str) -> None:
    sys.stdout.write(f"\n=== {title}\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    """List and verify the example units (the daemon part arrives with the service engine)."""
    from pidone.cli import unitfiles, verify

    units = _examples_dir(argv)
    if not units.is_dir():
        sys.stderr.write(f"pidone demo: no examples directory at {units}\n")
        return 1
    # Only the examples: a search path of that one directory, as PIDONE_UNIT_PATH allows.
    os.environ["PIDONE_UNIT_PATH"] = str(units)
    _section(f"pidone list-unit-files  (PIDONE_UNIT_PATH={units})")
    rc = unitfiles.list_unit_files_main([])
    files = sorted(str(p) for p in units.glob("*.service"))
    _section("pidone verify " + " ".join(Path(f).name for f in files))
    rc = verify.main(files) or rc
    _section("pidone cat web.service")
    rc = unitfiles.cat_main(["web.service"]) or rc
    return rc
