"""bench/real_services.py's "no CLI" start, for two source trees side by side, interleaved.

    .venv/bin/python bench/real_services_ab.py --base TREE [--runs N] [--only SERVICE]

Root; apache2 and nginx installed. TREE is a pidone source tree (for instance
`mkdir TREE && git archive COMMIT src | tar -x -C TREE`). Per service, two warm daemons
run at once, each PID 1 of its own namespace: one from this checkout (or whatever
PYTHONPATH names), one with TREE/src first on its PYTHONPATH. Each round times, in an
order rotated from round to round, one start request to each daemon (the clock stops
when the request returned and port 80 answers, then the unit is stopped untimed) and one
run of the unit's commands by hand. On a shared box whose load moves by the minute, only
such interleaved rounds compare two trees fairly; medians, quartiles, ratios to by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import real_services as rs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="the other source tree (its src/ is used)")
    p.add_argument("--runs", type=int, default=21)
    p.add_argument("--only", action="append", choices=sorted(rs.SERVICES))
    args = p.parse_args()
    if os.geteuid() != 0:
        print("bench/real_services_ab.py needs root (namespaces)")
        return 1
    base_src = str(Path(args.base).resolve() / "src")
    if not os.path.isdir(f"{base_src}/pidone"):
        print(f"{base_src}/pidone: not a pidone source tree")
        return 1
    rs.private_namespaces()
    os.environ.pop("PIDONE_UNIT_PATH", None)
    mine = os.environ.get("PYTHONPATH")
    print(f"runs: {args.runs}, load average {os.getloadavg()[0]:.1f}; this tree: "
          f"{mine or 'the installed checkout'}; base: {base_src}")  # fmt: skip
    print("ms: median (quartiles); ratio: median / median by hand")
    cols = ("by hand", "this tree", "base")
    print(f"{'service':8s}" + "".join(f" {c:>20s} ratio" for c in cols))
    with tempfile.TemporaryDirectory(prefix="pidone-ab-") as tmp:
        for service in args.only or list(rs.SERVICES):
            daemons = {}
            for side, path in (("this tree", mine), ("base", base_src)):
                if path is None:
                    os.environ.pop("PYTHONPATH", None)
                else:
                    os.environ["PYTHONPATH"] = path
                daemons[side] = rs.Pidone(service, Path(tmp) / f"{service}-{side[:4]}")
                daemons[side].__enter__()
            if mine is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = mine
            try:
                for d in daemons.values():
                    d.request()  # loads sysinit.target & co
                    d.request()
                paths: dict[str, Callable[[], float]] = {
                    "by hand": lambda s=service: rs.by_hand(s),
                    "this tree": daemons["this tree"].request,
                    "base": daemons["base"].request,
                }
                times: dict[str, list[float]] = {c: [] for c in cols}
                for i in range(args.runs):
                    for c in cols[i % len(cols) :] + cols[: i % len(cols)]:
                        times[c].append(paths[c]())
            finally:
                for d in daemons.values():
                    with contextlib.suppress(Exception):
                        d.__exit__(None, None, None)
            hand = statistics.median(times["by hand"])
            row = f"{service:8s}"
            for c in cols:
                row += f" {rs.summary(times[c])} {statistics.median(times[c]) / hand:5.2f}"
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
