"""cProfile a warm daemon's start/stop loop of a real unit (the manager's own share of a start).

    .venv/bin/python bench/start_profile.py [--runs N] [--only SERVICE] [--sort KEY]
                                            [--top N] [--out FILE]

Root; the same private namespaces and daemon as bench/real_services.py, except that the
daemon (PID 1 of its PID namespace) runs `pidone.daemon.main.main` under cProfile. The
daemon leaves with os._exit(2), which skips every atexit hook, so this runner's child
replaces os._exit with a wrapper that dumps the profile first. Two warm-up starts and stops
are not profiled: profiling begins at the loop turn after them (a flag file), and ends
at the daemon's exit (its SIGTERM shutdown of nothing is in the table). `--out FILE`
keeps the raw pstats file for `python -m pstats`.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(out: str, argv: list[str]) -> None:
    """The daemon under cProfile; the profile is written when it calls os._exit."""
    from pidone.daemon import main as daemon_main

    prof = cProfile.Profile()
    real_exit = os._exit

    def dump_and_exit(code: int) -> None:
        prof.disable()
        prof.dump_stats(out)
        real_exit(code)

    os._exit = dump_and_exit  # type: ignore[assignment]
    # Profile from the loop turn after the runner creates the flag file (after warm-up).
    from pidone.daemon.loop import EventLoop

    run_once = EventLoop.run_once
    flag = out + ".go"

    def turn(self: EventLoop, *a: object, **k: object) -> object:
        if EventLoop.run_once is turn and os.path.exists(flag):
            EventLoop.run_once = run_once  # type: ignore[method-assign]
            prof.enable()
        return run_once(self, *a, **k)

    EventLoop.run_once = turn  # type: ignore[method-assign,assignment]
    code = daemon_main.main(argv)
    dump_and_exit(code)


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return 0
    sys.path.insert(0, str(HERE))
    import real_services as rs

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--only", choices=sorted(rs.SERVICES), default="nginx")
    p.add_argument("--sort", default="tottime")
    p.add_argument("--top", type=int, default=45)
    p.add_argument("--out", help="keep the pstats file here")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("bench/start_profile.py needs root (namespaces)")
        return 1
    rs.private_namespaces()
    os.environ.pop("PIDONE_UNIT_PATH", None)
    with tempfile.TemporaryDirectory(prefix="pidone-prof-") as tmp:
        out = args.out or os.path.join(tmp, "daemon.pstats")

        ours = rs.Pidone(args.only, Path(tmp) / "d")
        ours.daemon.daemon_command = [sys.executable, str(Path(__file__).resolve()), "--child", out]
        with ours:
            ours.request()
            ours.request()
            Path(out + ".go").touch()
            times = [ours.request() for _ in range(args.runs)]
            status = ours.daemon.stop()
        times.sort()
        print(
            f"{args.only}: {args.runs} warm starts, median {times[len(times) // 2] * 1e3:.1f} ms "
            f"(profiled), daemon exit {status}"
        )
        deadline = time.monotonic() + 10
        while not os.path.exists(out) and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = pstats.Stats(out)
        stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
