"""`pidone demo`: the README's first command: a private manager runs the bundled examples.

What it shows, in about fifteen seconds: a daemon started on `examples/units` in a
temporary runtime and state directory (as PID 1 of a fresh PID namespace when run as root
with util-linux `unshare`, else as a child subreaper of this process); services running
(`list-units`, `status`); the crasher failing and being restarted by Restart=on-failure
(its journal shows "Scheduled restart job, restart counter is at N."); a clean stop after
which no process of any unit is left. Exit status 0 when every step went as expected.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pidone.linux import procfs

UNITS = ["setup.service", "ticker.service", "greeter@world.service", "crasher.service"]
WAIT = 25.0


def _examples_dir(argv: list[str]) -> Path:
    if argv and not argv[0].startswith("-"):
        return Path(argv[0]).resolve()
    here = Path.cwd() / "examples" / "units"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "examples" / "units"


def _say(title: str) -> None:
    sys.stdout.write(f"\n$ {title}\n")
    sys.stdout.flush()


def _state(pid: int) -> str:
    """The state letter of /proc/PID/stat ('' when the process is gone)."""
    data = procfs.read_file(f"/proc/{pid}/stat")
    return "" if data is None else procfs.split_stat(data)[2][0].decode()


def _describe(pid: int) -> str:
    """`(comm) STATE argv` of a process (Z: exited, not yet reaped), or `(gone)`."""
    state = _state(pid)
    if not state:
        return "(gone)"
    return f"({procfs.read_comm(pid)}) {state} {' '.join(procfs.read_argv(pid))}"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


class Demo:
    def __init__(self, units: Path) -> None:
        self.units = units
        self.tmp = tempfile.mkdtemp(prefix="pidone-demo-")
        self.runtime = os.path.join(self.tmp, "run")
        self.state = os.path.join(self.tmp, "state")
        self.proc: subprocess.Popen[bytes] | None = None
        self.daemon_pid = 0
        self.namespace = False
        self.ok = True

    def check(self, condition: bool, what: str) -> None:
        mark = "ok" if condition else "FAILED"
        sys.stdout.write(f"  [{mark}] {what}\n")
        sys.stdout.flush()
        self.ok = self.ok and condition

    def start_daemon(self) -> None:
        os.environ["PIDONE_UNIT_PATH"] = str(self.units)
        os.environ["PIDONE_RUNTIME_DIR"] = self.runtime
        os.environ["PIDONE_STATE_DIR"] = self.state
        cmd = [sys.executable, "-m", "pidone", "daemon", "--runtime-dir", self.runtime,
               "--state-dir", self.state]  # fmt: skip
        self.namespace = os.geteuid() == 0 and shutil.which("unshare") is not None
        if self.namespace:
            cmd = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", *cmd, "--dev-log="]
        else:
            from pidone.linux.reaper import become_subreaper

            with contextlib.suppress(OSError):
                become_subreaper()  # so that nothing a unit leaves behind escapes us
        where = "as PID 1 of a new PID namespace" if self.namespace else "as a child process"
        _say(f"pidone daemon --runtime-dir {self.runtime} --state-dir {self.state} &")
        sys.stdout.write(f"  (units from {self.units}, daemon {where})\n")
        log = open(os.path.join(self.tmp, "daemon.log"), "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        from pidone.cli import client

        def answers() -> bool:
            try:
                client.call("ping", runtime_dir=self.runtime)
            except client.ClientError:
                return self.proc is not None and self.proc.poll() is not None
            return True

        _wait(answers)
        self.check(self.proc.poll() is None, "the daemon answers on its control socket")
        self.daemon_pid = self._pid1() if self.namespace else self.proc.pid

    def _pid1(self) -> int:
        assert self.proc is not None
        path = f"/proc/{self.proc.pid}/task/{self.proc.pid}/children"
        with contextlib.suppress(OSError, ValueError, IndexError), open(path) as f:
            return int(f.read().split()[0])
        return self.proc.pid

    def descendants(self) -> list[int]:
        """PIDs below the daemon (its whole PID namespace in namespace mode), but for the
        daemon's own spawn helper (linux/spawn_cgroup.is_spawn_helper),
        which belongs to no unit."""
        from pidone.linux.spawn_cgroup import is_spawn_helper

        out: list[int] = []
        todo = [self.daemon_pid]
        while todo:
            pid = todo.pop()
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        kids = [int(p) for p in f.read().split()]
                    if pid == self.daemon_pid:
                        kids = [k for k in kids if not is_spawn_helper(k, pid)]
                    out.extend(kids)
                    todo.extend(kids)
        return out

    def cli(self, *argv: str) -> int:
        _say("pidone " + " ".join(argv))
        from pidone.cli.main import main

        rc = main(list(argv))
        sys.stdout.flush()
        sys.stderr.flush()
        return rc

    def journal_count(self, unit: str, text: str) -> int:
        from pidone.journal.store import JournalReader, Query

        path = os.path.join(self.state, "journal.sqlite")
        if not os.path.exists(path):
            return 0
        reader = JournalReader(path)
        try:
            return sum(text.encode() in e.message for e in reader.entries(Query(units=[unit])))
        finally:
            reader.close()

    def journal_has(self, unit: str, text: str) -> bool:
        return self.journal_count(unit, text) > 0

    def run(self) -> int:
        try:
            self.start_daemon()
            if not self.ok:
                return 1
            units = list(UNITS)
            if _port_free(8088):
                units.insert(1, "web.service")
            self.check(self.cli("start", *units) == 0, "every start job succeeded")
            time.sleep(0.5)  # let the services print their first lines
            self.cli("list-units")
            self.cli("status", "ticker.service", "greeter@world.service", "-n", "3")
            sys.stdout.write("\n  ... waiting for crasher.service to fail and be restarted ...\n")
            sys.stdout.flush()
            restarted = _wait(
                lambda: (
                    self.journal_has(
                        "crasher.service", "Scheduled restart job, restart counter is at 1."
                    )
                    and self.journal_count("crasher.service", "crasher up") >= 2
                )
            )
            self.check(restarted, "crasher.service failed and was restarted (Restart=on-failure)")
            self.cli("journal", "-u", "crasher.service", "--no-pager")
            rc = self.cli("stop", *units)
            self.check(rc == 0, "every stop job succeeded")
            # A process killed at stop may still be a zombie for a moment: it has exited (and
            # left its cgroup, which ends the stop job) before the manager's SIGCHLD handling
            # reaps it. Give the reaper a second; a zombie that stays is reported.
            _wait(lambda: all(_state(pid) != "Z" for pid in self.descendants()), timeout=1.0)
            left = self.descendants()
            self.check(left == [], f"no process of any unit is left (found {len(left)})")
            for pid in left:  # name what was left, so a failure says what to look at
                sys.stdout.write(f"      left: {pid} {_describe(pid)}\n")
            self.cli("is-active", *units)
            _say(f"kill -TERM {self.daemon_pid}   # the manager exits 0")
            os.kill(self.daemon_pid, signal.SIGTERM)
            assert self.proc is not None
            try:
                code = self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                code = -1
            self.check(code == 0, f"the daemon exited with status {code}")
        finally:
            self.close()
        sys.stdout.write("\ndemo " + ("finished: all as expected\n" if self.ok else "FAILED\n"))
        return 0 if self.ok else 1

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            for pid in (self.daemon_pid, self.proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv: list[str]) -> int:
    """Run the examples under a private manager (see the module docstring)."""
    units = _examples_dir(argv)
    if not units.is_dir():
        sys.stderr.write(f"pidone demo: no examples directory at {units}\n")
        return 1
    return Demo(units).run()
