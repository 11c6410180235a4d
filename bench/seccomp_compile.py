"""Compile time of a unit's seccomp filters (linux.seccomp, libseccomp through ctypes).

    .venv/bin/python bench/seccomp_compile.py [--runs N] [--unit FILE]

Debian's redis-server.service by default (tests/core/data/debian/): its ExecContext is
built as the daemon builds it (core.units.build_unit), core.seccompplan gives the steps
(ProtectHostname=, RestrictAddressFamilies=, MemoryDenyWriteExecute=, RestrictRealtime=,
RestrictSUIDSGID=, RestrictNamespaces=, ProtectKernelTunables=, ProtectKernelModules=,
ProtectKernelLogs=, ProtectClock=, PrivateDevices=, SystemCallArchitectures=,
LockPersonality=, SystemCallFilter=), then:

* first: the first compile_steps() in a fresh process, libseccomp loaded by it (ctypes
  import and dlopen included: what the first start of such a unit pays);
* cold: compile_steps() of the same steps with the memo emptied (libseccomp loaded);
* memoized: compile_steps() again (the daemon's later starts).

Prints medians in ms, the number of programs and their total size.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
DEFAULT_UNIT = ROOT / "tests/core/data/debian/redis-server.service"


def steps_of(path: Path) -> tuple[object, ...]:
    from pidone.core import seccompplan
    from pidone.core.specifiers import SpecifierHost
    from pidone.core.unitfile import parse_unit_file
    from pidone.core.unitname import KNOWN_SECTIONS
    from pidone.core.units import build_unit
    from pidone.core.unitsource import UnitSource

    name = path.name
    files = (parse_unit_file(path.read_bytes(), str(path), KNOWN_SECTIONS.get("service")),)
    source = UnitSource(
        name=name,
        id=name,
        names=(name,),
        load_state="loaded",
        fragment_path=str(path),
        files=files,
        dropin_paths=(),
    )
    unit = build_unit(source, SpecifierHost(hostname="bench", machine_id="0" * 32))
    assert unit.service is not None, f"{name}: not a service"
    return seccompplan.seccomp_steps(unit.service.exec)


def first_compile(path: Path) -> float:
    """ms of the first compile_steps() in a fresh interpreter (this script, --first)."""
    out = subprocess.run(
        [sys.executable, __file__, "--first", "--unit", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--unit", type=Path, default=DEFAULT_UNIT)
    ap.add_argument("--first", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    steps = steps_of(args.unit)
    from pidone.linux import seccomp

    if args.first:
        t = time.perf_counter()
        seccomp.compile_steps(steps)  # type: ignore[arg-type]
        print((time.perf_counter() - t) * 1e3)
        return
    names = [type(s).__name__ + (f"({s.name})" if hasattr(s, "name") else "") for s in steps]
    print(f"{args.unit.name}: {len(steps)} steps: {', '.join(names)}")

    firsts = [first_compile(args.unit) for _ in range(min(args.runs, 10))]
    colds, memos = [], []
    progs = seccomp.compile_steps(steps)  # type: ignore[arg-type]
    for _ in range(args.runs):
        seccomp._memo.clear()
        t = time.perf_counter()
        seccomp.compile_steps(steps)  # type: ignore[arg-type]
        colds.append((time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        seccomp.compile_steps(steps)  # type: ignore[arg-type]
        memos.append((time.perf_counter() - t) * 1e3)
    size = sum(len(p.bpf) for p in progs)
    print(
        f"{len(progs)} programs ({', '.join(p.arch for p in progs)}), "
        f"{size // 8} instructions, {size} bytes"
    )
    print(f"first (fresh process, ctypes + dlopen): {statistics.median(firsts):.2f} ms")
    print(f"cold (libseccomp loaded):               {statistics.median(colds):.2f} ms")
    print(f"memoized:                               {statistics.median(memos) * 1e3:.2f} µs")


if __name__ == "__main__":
    main()
