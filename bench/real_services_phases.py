"""Where a warm start of apache2/nginx goes, phase by phase: pidone's daemon vs by hand.

    .venv/bin/python bench/real_services_phases.py [--runs N] [--only SERVICE]

Root, and perf(1) able to trace syscalls (`perf trace`). The same private namespaces,
daemon and by-hand shell as bench/real_services.py (whose "no CLI" column this splits).
Each round runs `perf trace -a` on execve, exit_group, clone3, sendmsg, sendto and
recvfrom around one start request to a warm daemon (PID 1 of its namespace), and keeps
the daemon's, its spawn helper's (comm pidone-spawn) and the unit's commands' calls
(comm: the commands' file names). Entry timestamps give, in ms:

* request -> spawn: the daemon read the request .. sent the first plan to its helper
  (dispatch, transaction, cgroup, PrivateTmp= directories, plan);
* spawn -> exec N: plan sent .. the command's execve(2) (helper round trip, clone3, the
  child's set-up before execve);
* run N: execve .. exit_group of the command (for a Type=forking ExecStart=, its parent);
* exit -> spawn N: one command's exit .. the next plan sent (reaping, the manager);
* exit -> reply: the last exit .. the reply sent (PIDFile=, job done, reply).

"by hand run N" is the same command's execve .. exit_group under the by-hand shell, and
"daemon share" is request -> reply minus the commands' own run time. perf's own cost is
in every figure (a few us per traced call); medians and quartiles over the rounds.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import real_services as rs

SYSCALLS = "execve,exit_group,clone3,sendmsg,sendto,recvfrom"
# perf trace: "  3.096 ( 0.548 ms): comm/pid [... [continued]: ]name(args) = ret"
LINE = re.compile(
    r"^\s*([\d.]+) \(\s*[\d.]*\s*(?:ms)?\): (.+?)/(\d+) (?:\.\.\. \[continued\]: )?(\w+)\("
)
Event = tuple[float, str, int, str]  # entry time (ms), comm, pid, syscall


def traced(action: object, out: str) -> list[Event]:
    """Run `action()` under `perf trace -a`; the events, deduplicated, in time order."""
    perf = subprocess.Popen(
        ["perf", "trace", "-a", "-o", out, "-e", SYSCALLS], stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(0.5)  # perf sets its tracepoints up before it reports anything
        action()  # type: ignore[operator]
        time.sleep(0.05)
    finally:
        perf.send_signal(signal.SIGINT)
        perf.wait()
    seen: set[Event] = set()
    with open(out, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m:
                seen.add((float(m.group(1)), m.group(2), int(m.group(3)), m.group(4)))
    os.unlink(out)
    return sorted(seen)


def commands(service: str) -> list[str]:
    """The comm each ExecStartPre=/ExecStart= command gets: its file name, 15 bytes."""
    lines, _env = rs.unit_lines(service)
    return [line.split()[0].rsplit("/", 1)[1][:15] for line in lines]


def runs_by_hand(events: list[Event], comms: list[str]) -> list[float] | None:
    """execve .. exit_group of each command, in order (None if one is missing)."""
    out = []
    after = 0.0
    for comm in comms:
        ex = next((e for e in events if e[3] == "execve" and e[1] == comm and e[0] > after), None)
        if ex is None:
            return None
        end = next((e for e in events if e[2] == ex[2] and e[3] == "exit_group"), None)
        if end is None:
            return None
        out.append(end[0] - ex[0])
        after = end[0]
    return out


def daemon_phases(events: list[Event], daemon: int, comms: list[str]) -> dict[str, float] | None:
    """The phases of one start (see the module docstring); None if an event is missing."""
    mine = [e for e in events if e[2] == daemon]
    request = next((e for e in mine if e[3] == "recvfrom"), None)
    if request is None:
        return None
    phases: dict[str, float] = {}
    at = request[0]
    exit_at = at
    for n, comm in enumerate(comms, 1):
        sent = next((e for e in mine if e[3] == "sendmsg" and e[0] > exit_at), None)
        if sent is None:
            return None
        ex = next((e for e in events if e[3] == "execve" and e[1] == comm and e[0] > sent[0]), None)
        if ex is None:
            return None
        end = next((e for e in events if e[2] == ex[2] and e[3] == "exit_group"), None)
        if end is None:
            return None
        key = "request -> spawn" if n == 1 else f"exit -> spawn {n}"
        phases[key] = sent[0] - exit_at
        phases[f"spawn -> exec {n}"] = ex[0] - sent[0]
        phases[f"run {n}"] = end[0] - ex[0]
        exit_at = end[0]
    reply = next((e for e in mine if e[3] == "sendto" and e[0] > exit_at), None)
    if reply is None:
        return None
    phases["exit -> reply"] = reply[0] - exit_at
    phases["request -> reply"] = reply[0] - at
    runs = sum(v for k, v in phases.items() if k.startswith("run "))
    phases["daemon share"] = phases["request -> reply"] - runs
    return phases


def summary(samples: list[float]) -> str:
    if len(samples) < 2:
        return f"{samples[0]:6.2f}" if samples else "     -"
    q1, _median, q3 = statistics.quantiles(samples, n=4)
    return f"{statistics.median(samples):6.2f} ({q1:5.2f}-{q3:5.2f})"


def bench(service: str, runs: int, tmp: Path) -> None:
    comms = commands(service)
    rows: dict[str, list[float]] = {}
    lost = 0
    with rs.Pidone(service, tmp / service) as ours:
        ours.request()  # the first start loads sysinit.target & co
        ours.request()
        daemon = ours.daemon.pid1
        for i in range(runs):
            events = traced(ours.request, str(tmp / f"perf.{i}"))
            phases = daemon_phases(events, daemon, comms)
            hand = runs_by_hand(
                traced(lambda: rs.by_hand(service), str(tmp / f"perf-h.{i}")), comms
            )
            if phases is None or hand is None:
                lost += 1  # perf drops events under load; the round is left out
                continue
            for key, value in phases.items():
                rows.setdefault(key, []).append(value)
            for n, value in enumerate(hand, 1):
                rows.setdefault(f"by hand run {n}", []).append(value)
    print(f"{service}: {runs - lost} of {runs} rounds complete; commands {' '.join(comms)}")
    for key, values in rows.items():
        print(f"  {key:18s} {summary(values)}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--only", action="append", choices=sorted(rs.SERVICES))
    args = p.parse_args()
    if os.geteuid() != 0 or shutil.which("perf") is None:
        print("bench/real_services_phases.py needs root and perf(1)")
        return 1
    rs.private_namespaces()
    print(f"ms: median (quartiles), load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="pidone-phases-") as tmp:
        for service in args.only or list(rs.SERVICES):
            bench(service, args.runs, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
