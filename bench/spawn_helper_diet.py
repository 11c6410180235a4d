"""The spawn helper's size after a privileged plan, and what every later plain spawn costs.

    .venv/bin/python bench/spawn_helper_diet.py [--runs N] [--rounds R] [--base TREE]

Root (a scratch cgroup under this process's own). A fresh spawn helper
(linux.spawn_cgroup) serves a plain `/bin/true` plan, then one plan with
CapabilityBoundingSet=, AmbientCapabilities=CAP_NET_BIND_SERVICE, IOSchedulingClass= and
StandardOutput=append: (what chrony, ssh and many Debian units have), then N plain plans
again. Printed: the helper's RssAnon (proc(5) /proc/PID/status) after the first plain plan
and after the privileged one, and the median wall time, CPU (the child's rusage + the
helper's schedstat) and minor faults of the plain spawns after it. With --base, a child
process per side (this tree, then TREE's src/ first on sys.path) runs alternately R times,
N/R spawns each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _rss_anon(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def _helper_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/schedstat", "rb") as f:
        return int(f.read().split()[0]) / 1e9


def child(runs: int) -> dict[str, object]:
    """One side: a fresh helper, the two plans, `runs` plain spawns (in this tree)."""
    from pidone.core.execline import ExecCommand
    from pidone.core.model import ExecContext
    from pidone.linux import spawn_cgroup
    from pidone.linux.cgroups import find_writable_cgroup2
    from pidone.linux.spawn import SpawnRequest, read_spawn_failure, spawn

    found = find_writable_cgroup2()
    if found is None:
        raise SystemExit("no writable cgroup2 hierarchy")
    cg = f"{found.own_dir.rstrip('/')}/bench-helper-diet-{os.getpid()}"
    os.mkdir(cg)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    fd, log = tempfile.mkstemp(prefix="pidone-diet-")
    os.close(fd)
    plain_ctx = ExecContext()
    priv_ctx = ExecContext(
        capability_bounding_set=(1 << 10) | (1 << 21),
        ambient_capabilities=1 << 10,
        io_scheduling_class=2,
        standard_output=f"append:{log}",
    )
    spawner = spawn_cgroup.spawner()
    out: dict[str, object] = {}

    def one(ctx: ExecContext) -> tuple[float, int]:
        cmd = ExecCommand("/bin/true", ("/bin/true",))
        req = SpawnRequest(cmd, ctx, {"PATH": "/usr/bin"}, cgroup=cg, stdout_fd=out_w,
                           stderr_fd=out_w, parent_join=False)  # fmt: skip
        t0 = time.perf_counter()
        s = spawn(req)
        failure = read_spawn_failure(s)
        t = time.perf_counter() - t0
        if s.pidfd is not None:
            os.close(s.pidfd)
        if failure is not None:
            raise SystemExit(f"spawn failed: {failure.message}")
        return t, s.pid

    try:
        spawner.start()
        os.waitpid(one(plain_ctx)[1], 0)
        out["rss_plain_kib"] = _rss_anon(spawner.pid)
        os.waitpid(one(priv_ctx)[1], 0)
        out["rss_priv_kib"] = _rss_anon(spawner.pid)
        times, cpus, faults = [], [], []
        for _ in range(runs):
            before = _helper_cpu(spawner.pid)
            t, pid = one(plain_ctx)
            usage = os.wait4(pid, 0)[2]
            times.append(t * 1000)
            cpus.append((usage.ru_utime + usage.ru_stime + _helper_cpu(spawner.pid) - before)
                        * 1000)  # fmt: skip
            faults.append(usage.ru_minflt)
            with contextlib.suppress(BlockingIOError):
                os.set_blocking(out_r, False)
                while os.read(out_r, 65536):
                    pass
        out.update(times=times, cpu=cpus, faults=faults)
    finally:
        spawner.stop()
        if spawner.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(spawner.pid, 0)
        with contextlib.suppress(OSError):
            os.rmdir(cg)
        os.unlink(log)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--base", help="a source tree to compare with (its src/ on sys.path)")
    p.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    if os.geteuid() != 0:
        print("bench/spawn_helper_diet.py needs root")
        return 1
    sides = {"this tree": os.path.join(HERE, "..", "src")}
    if args.base:
        sides["base"] = os.path.join(os.path.abspath(args.base), "src")
    rounds = args.rounds if args.base else 1
    got: dict[str, list[dict[str, object]]] = {side: [] for side in sides}
    for _ in range(rounds):
        for side, src in sides.items():
            env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
            res = subprocess.run([sys.executable, __file__, "--child", str(args.runs // rounds)],
                                 env=env, capture_output=True, text=True, check=True)  # fmt: skip
            got[side].append(json.loads(res.stdout))
    print(f"plain /bin/true spawns after one privileged plan; {args.runs} per side, "
          f"{rounds} round(s); medians; load {os.getloadavg()[0]:.1f}")  # fmt: skip
    for side, results in got.items():
        rss_plain = statistics.median(int(r["rss_plain_kib"]) for r in results)  # type: ignore[call-overload]
        rss_priv = statistics.median(int(r["rss_priv_kib"]) for r in results)  # type: ignore[call-overload]
        times = [t for r in results for t in r["times"]]  # type: ignore[attr-defined]
        cpu = [t for r in results for t in r["cpu"]]  # type: ignore[attr-defined]
        faults = [t for r in results for t in r["faults"]]  # type: ignore[attr-defined]
        print(f"  {side:10s} helper RssAnon {rss_plain / 1024:.2f} -> {rss_priv / 1024:.2f} MiB"
              f"  spawn {statistics.median(times):.3f} ms  cpu {statistics.median(cpu):.3f} ms"
              f"  faults {statistics.median(faults):.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
