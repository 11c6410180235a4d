"""Journal benchmarks (issue 5), side by side with supervisord where there is a peer.

    .venv/bin/python bench/journal.py [--lines 1000000] [--big 5000000] [--skip-supervisord]

1. Ingest: one program prints N lines as fast as it can. pidone: the daemon's LogCollector
   (event loop + journal writer thread) reading the program's pipe, until every line is
   committed and verified in order. supervisord: the same program with stdout_logfile, until
   the file holds every line. Also the collector process's peak RSS growth (VmHWM).
2. Queries on a journal of `--big` lines: `pidone journal -u X -n 50` and `-g PATTERN`,
   end to end (a fresh CLI process each time, interpreter start-up included), medians.
3. Follow latency: `pidone journal -f` running, a record appended, time until it shows.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = sys.executable
PRINTER = "import sys\nw=sys.stdout.write\nfor i in range({n}): w('line %d of the burst\\n' % i)\n"

COLLECTOR = textwrap.dedent("""
    import os, subprocess, sys, time
    from pidone.daemon.loop import EventLoop
    from pidone.daemon.logpipes import HostIdentity, LogCollector, StreamSource
    from pidone.journal.store import JournalWriter, JournalReader, Query
    def hwm():
        for line in open('/proc/self/status'):
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    db, n, printer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    loop = EventLoop()
    writer = JournalWriter(db, 'bench')
    collector = LogCollector(loop, writer, HostIdentity('b' * 32, 'm' * 32, 'bench'))
    base = hwm()
    r, w = os.pipe()
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, '-c', printer], stdout=w)
    os.close(w)
    collector.add_stream(r, StreamSource('burst.service', 'python3', child.pid))
    while collector.stream_count():
        loop.run_once()
    writer.flush()
    t1 = time.perf_counter()
    child.wait()
    peak = hwm()
    got = 0
    expect = 0
    ok = True
    for e in JournalReader(db).entries(Query(units=['burst.service'])):
        if e.message != b'line %d of the burst' % expect:
            ok = False
            break
        expect += 1
    print(t1 - t0, expect, int(ok and expect == n), base, peak)
""")


def _vm(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def ingest_daemon(n: int, tmp: str) -> tuple[float, int, bool, int]:
    """The same burst through a real `pidone daemon` (PID 1 of a PID namespace): time from
    `pidone start` until every line is in the journal, and the daemon's VmHWM growth."""
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from pathlib import Path

    from pidone.journal.store import JournalReader, Query
    from pidone.testing.harness import NamespaceDaemon

    printer = os.path.join(tmp, "burst.py")
    with open(printer, "w") as f:
        f.write(PRINTER.format(n=n))
    unit = f"[Service]\nType=oneshot\nExecStart={PY} {printer}\n"
    work = Path(tmp) / "daemon"
    ident = os.path.basename(PY)  # SYSLOG_IDENTIFIER: the executable's basename
    with NamespaceDaemon(work, {"burst.service": unit}) as daemon:
        base = _vm(daemon.pid1, "VmRSS:")
        db = str(daemon.state_dir / "journal.sqlite")
        t0 = time.perf_counter()
        daemon.cli("start", "--no-block", "burst.service")
        count = 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                    count = conn.execute(
                        "SELECT coalesce(sum(count), 0) FROM blocks WHERE context IN"
                        " (SELECT id FROM contexts WHERE identifier = ?)",
                        (ident,),
                    ).fetchone()[0]
            except sqlite3.Error:  # not created yet
                count = 0
            if count >= n:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        peak = _vm(daemon.pid1, "VmHWM:")
        reader = JournalReader(db)
        ok = all(
            e.message == b"line %d of the burst" % i
            for i, e in enumerate(reader.entries(Query(identifiers=[ident])))
        )
        reader.close()
    return elapsed, count, ok and count == n, peak - base


def _median(values: list[float]) -> float:
    return statistics.median(values)


def ingest_pidone(n: int, tmp: str) -> tuple[float, int, bool, int]:
    db = os.path.join(tmp, "ingest.sqlite")
    out = subprocess.run(
        [PY, "-c", COLLECTOR, db, str(n), PRINTER.format(n=n)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    seconds, count, ok, base, peak = out.stdout.split()
    return float(seconds), int(count), ok == "1", int(peak) - int(base)


def _bench_venv() -> str | None:
    venv = os.path.join(HERE, ".venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(os.path.join(venv, "bin", "supervisord")):
        subprocess.run([PY, "-m", "venv", venv], check=True)
        res = subprocess.run(
            [python, "-m", "pip", "install", "-q", "supervisor", "circus"],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            print("supervisor could not be installed:", res.stderr.strip()[-300:])
            return None
    return venv


def ingest_supervisord(n: int, tmp: str) -> float | None:
    venv = _bench_venv()
    if venv is None:
        return None
    printer = os.path.join(tmp, "printer.py")
    with open(printer, "w") as f:
        f.write(PRINTER.format(n=n))
    log = os.path.join(tmp, "burst.log")
    conf = os.path.join(tmp, "supervisord.conf")
    with open(conf, "w") as f:
        f.write(
            textwrap.dedent(f"""
            [supervisord]
            nodaemon=true
            logfile={tmp}/supervisord.log
            pidfile={tmp}/supervisord.pid
            [unix_http_server]
            file={tmp}/supervisor.sock
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
            [program:burst]
            command={PY} {printer}
            autorestart=false
            startsecs=0
            stdout_logfile={log}
            stdout_logfile_maxbytes=0
            stdout_logfile_backups=0
        """)
        )
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [os.path.join(venv, "bin", "supervisord"), "-c", conf],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        expected = sum(len(f"line {i} of the burst\n") for i in range(n))
        while time.monotonic() < deadline:
            try:
                if os.path.getsize(log) >= expected:
                    break
            except OSError:
                pass
            time.sleep(0.005)
        elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(30)
    with open(log, "rb") as f:
        lines = f.read().count(b"\n")
    return elapsed if lines == n else None


def build_big(path: str, lines: int) -> None:
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from pidone.core.journal import StreamSplitter
    from pidone.journal.store import JournalWriter

    writer = JournalWriter(path, "big")
    units = [
        writer.context(
            "b" * 32,
            f"svc{i}.service",
            f"svc{i}",
            {
                "_SYSTEMD_UNIT": f"svc{i}.service".encode(),
                "SYSLOG_IDENTIFIER": f"svc{i}".encode(),
                "_PID": b"100",
            },
        )
        for i in range(10)
    ]
    chunk = 2000
    for start in range(0, lines, chunk):
        data = b"".join(
            b"request %d served in %d ms\n" % (j, j % 97)
            for j in range(start, min(start + chunk, lines))
        )
        writer.append_batch(
            units[(start // chunk) % 10],
            1_700_000_000_000_000 + start,
            start,
            StreamSplitter().feed(data),
        )
    writer.close()


def time_cli(args: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return _median(times)


def follow_latency(path: str, samples: int = 20) -> tuple[float, float]:
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from pidone.journal.store import JournalWriter

    pidone = os.path.join(os.path.dirname(PY), "pidone")
    proc = subprocess.Popen(
        [pidone, "journal", "--file", path, "-f", "-n", "0", "-o", "cat"], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    time.sleep(1.0)  # let it reach its inotify wait
    latencies = []
    writer = JournalWriter(path, "big")
    ctx = writer.context("b" * 32, "follow.service", "f", {})
    try:
        for i in range(samples):
            t0 = time.perf_counter()
            writer.append(ctx, 1, 1, 6, b"follow %d" % i)
            writer.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            if not ready:
                break
            proc.stdout.readline()
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.05)
    finally:
        writer.close()
        proc.kill()
        proc.wait()
        proc.stdout.close()
    return _median(latencies), max(latencies)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=5_000_000)
    ap.add_argument("--skip-supervisord", action="store_true")
    args = ap.parse_args()
    # Installed packages have bytecode; this shell may export PYTHONDONTWRITEBYTECODE=1,
    # which would make every CLI run recompile pidone. Compile once, and let the CLI read it.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(
        [PY, "-m", "compileall", "-q", os.path.join(ROOT, "src", "pidone")],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    tmp = tempfile.mkdtemp(prefix="pidone-bench-journal-")
    try:
        secs, count, ok, rss_kib = ingest_pidone(args.lines, tmp)
        print(
            f"ingest pidone: {args.lines} lines in {secs:.2f} s = {count / secs:,.0f} lines/s; "
            f"all stored in order: {ok}; collector RSS growth {rss_kib / 1024:.1f} MiB"
        )
        dsecs, dcount, dok, drss = ingest_daemon(args.lines, tmp)
        print(
            f"ingest through pidone daemon: {args.lines} lines in {dsecs:.2f} s = "
            f"{dcount / dsecs:,.0f} lines/s (polled every 50 ms, so a slight under-estimate); "
            f"all stored in order: {dok}; daemon RSS growth (VmHWM - VmRSS at start) "
            f"{drss / 1024:.1f} MiB"
        )
        if not args.skip_supervisord:
            sup = ingest_supervisord(args.lines, tmp)
            if sup is not None:
                print(
                    f"ingest supervisord (log file): {sup:.2f} s = {args.lines / sup:,.0f} "
                    f"lines/s; ratio pidone/supervisord time = {secs / sup:.2f}"
                )
        big = os.path.join(tmp, "big.sqlite")
        t0 = time.perf_counter()
        build_big(big, args.big)
        print(
            f"built a {args.big:,}-line journal in {time.perf_counter() - t0:.1f} s "
            f"({os.path.getsize(big) / 1e6:.0f} MB)"
        )
        pidone = os.path.join(os.path.dirname(PY), "pidone")
        base = time_cli([PY, "-c", "pass"])
        n50 = time_cli([pidone, "journal", "--file", big, "-u", "svc3", "-n", "50"])
        grep = time_cli(
            [pidone, "journal", "--file", big, "-u", "svc3", "-g", "served in 96 ms", "-n", "50"],
            runs=3,
        )
        grep_all = time_cli([pidone, "journal", "--file", big, "-g", "request 4999999 "], runs=3)
        print(f"python3 -c pass: {base * 1000:.1f} ms")
        print(f"pidone journal -u svc3 -n 50: {n50 * 1000:.1f} ms (goal <= 100 ms)")
        print(f"pidone journal -u svc3 -g 'served in 96 ms' -n 50: {grep * 1000:.1f} ms")
        print(f"pidone journal -g 'request 4999999 ' (whole journal): {grep_all * 1000:.0f} ms")
        med, worst = follow_latency(big)
        print(
            f"pidone journal -f latency: median {med * 1000:.1f} ms, max {worst * 1000:.1f} ms "
            f"(goal <= 50 ms)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
