"""Run pidoned as PID 1 of a fresh PID namespace, drive it through the real CLI, tear it down.

`unshare --pid --fork --mount-proc --kill-child` makes the daemon PID 1 of a new PID
namespace (with its own /proc mount in a private mount namespace), so orphans, reaping and
"nothing left after stop" are checked against a namespace that holds only what the
daemon started. `--kill-child` plus an explicit SIGKILL in `close()` guarantee that the
namespace dies with the test: when its init dies, the kernel kills every process in it
(pid_namespaces(7)).

The runtime dir lives under /tmp with mode 0755 (not in pytest's 0700 tmp_path) so that
services running as `nobody` reach the notify socket and a `nobody` client reaches the
control socket.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pidone.cli import client

DEFAULT_WAIT = 30.0  # generous bound for every wait (the machine is shared and noisy)


class HarnessError(AssertionError):
    """The daemon did not get where a test waited for it to be."""


class NamespaceDaemon:
    """One daemon in its own PID namespace; use as a context manager."""

    def __init__(
        self,
        workdir: Path,
        units: dict[str, str] | None = None,
        *,
        args: Sequence[str] = (),
        no_cgroups: bool = False,
        isolated: bool = False,
        cgroupns: bool = False,
    ) -> None:
        self.workdir = workdir
        self.unit_dir = workdir / "units"
        self.state_dir = workdir / "state"
        self.runtime_dir = tempfile.mkdtemp(prefix="pidone-ns-", dir="/tmp")
        os.chmod(self.runtime_dir, 0o755)
        self.unit_dir.mkdir(parents=True, exist_ok=True)
        for name, text in (units or {}).items():
            self.write_unit(name, text)
        # --dev-log= keeps a namespace PID 1 away from the host's shared /dev/log.
        self.args = ["--dev-log=", *args] + (["--no-cgroups"] if no_cgroups else [])
        self.isolated = isolated or cgroupns  # own network namespace, a tmpfs on /run
        # A container's cgroup namespace: its root is a fresh cgroup of ours, with a
        # cgroup2 mounted on /sys/fs/cgroup (as Docker and podman give one).
        self.cgroupns = cgroupns
        self.cgroupns_dir = ""
        self.log_path = workdir / "daemon.log"
        # What runs as the namespace's PID 1, before its options (benches put a wrapper of
        # the daemon's main here: a profiler, a clock).
        self.daemon_command: list[str] = [sys.executable, "-m", "pidone", "daemon"]
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid1 = 0  # host PID of the namespace's PID 1

    # --- set-up and tear-down ------------------------------------------------------------

    def write_unit(self, name: str, text: str) -> None:
        (self.unit_dir / name).write_text(text)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Isolated daemons also see the system's unit files (real daemons' units).
        env["PIDONE_UNIT_PATH"] = str(self.unit_dir) + (":" if self.isolated else "")
        env["PIDONE_RUNTIME_DIR"] = self.runtime_dir
        env["PIDONE_STATE_DIR"] = str(self.state_dir)
        return env

    def start(self) -> NamespaceDaemon:
        if shutil.which("unshare") is None:
            raise HarnessError("unshare(1) is not installed")
        isolate = ["--net", "--propagation", "private"] if self.isolated else []
        # As PID 1 of an isolated namespace: a tmpfs on /run (PID files, RuntimeDirectory=)
        # and loopback up, then exec the daemon (same PID). Mounted as systemd mounts /run
        # (mount_setup(): mode=0755, nosuid, nodev): a tmpfs's default mode is 1777, and
        # atopacctd refuses to start when /run "may be writable for group/others".
        # (and wait until unshare(1), outside the PID namespace, has been moved out of the
        # namespace's root cgroup below: daemon/boot.py's owns_cgroup_namespace())
        cgroup2 = (
            "mount -t cgroup2 cgroup2 /sys/fs/cgroup && "
            "while grep -qx 0 /sys/fs/cgroup/cgroup.procs; do sleep 0.01; done && "
            if self.cgroupns
            else ""
        )
        wrap = (
            [
                "sh",
                "-c",
                "mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run && mkdir -p /run/lock && "
                f'{cgroup2}(ip link set lo up 2>/dev/null; true) && exec "$0" "$@"',
            ]
            if self.isolated
            else []
        )
        enter_cgroup = None
        if self.cgroupns:
            isolate.append("--cgroup")
            enter_cgroup = self._make_cgroupns_root()
        cmd = [
            "unshare", "--pid", "--fork", "--mount-proc", *isolate, "--kill-child", *wrap,
            *self.daemon_command,
            "--runtime-dir", self.runtime_dir, "--state-dir", str(self.state_dir),
            *self.args,
        ]  # fmt: skip
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=enter_cgroup,
            )
        finally:
            log.close()
        if self.cgroupns:  # unshare(1) back out, once it has made the namespaces and forked
            self.wait_for(self._forked, what="unshare(1) to fork the namespace's PID 1")
            parent = os.path.dirname(self.cgroupns_dir)
            with open(os.path.join(parent, "cgroup.procs"), "w") as f:
                f.write(str(self.proc.pid))
        self.wait_for(self._answers, what="the daemon to answer on its control socket")
        self.pid1 = self._find_pid1()
        return self

    def _forked(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise HarnessError(f"unshare exited with {self.proc.returncode}:\n{self.log()}")
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            return bool(f.read().split())

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise HarnessError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
        try:
            self.call("ping")
        except client.ClientError:
            return False
        return True

    def _find_pid1(self) -> int:
        assert self.proc is not None
        path = f"/proc/{self.proc.pid}/task/{self.proc.pid}/children"
        with open(path) as f:
            children = [int(p) for p in f.read().split()]
        if len(children) != 1:
            raise HarnessError(f"unshare has children {children}")
        return children[0]

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = DEFAULT_WAIT) -> int:
        """SIGTERM to PID 1 (a clean shutdown); returns the daemon's exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid1, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.close()
                raise HarnessError(f"daemon did not exit on SIGTERM:\n{self.log()}") from None
        return self.proc.returncode

    def close(self) -> None:
        """Kill the namespace (always safe to call)."""
        if self.proc is not None and self.proc.poll() is None:
            for pid in (self.pid1, self.proc.pid):
                if pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        self._remove_cgroups()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def _make_cgroupns_root(self) -> Callable[[], None]:
        """A fresh cgroup for the namespace's root, and the child's step into it."""
        from pidone.linux.cgroups import find_writable_cgroup2

        mount = find_writable_cgroup2()
        if mount is None:
            raise HarnessError("cgroupns=True needs a writable cgroup2")
        self.cgroupns_dir = tempfile.mkdtemp(prefix="pidone-cgns-", dir=mount.own_dir)
        procs = os.path.join(self.cgroupns_dir, "cgroup.procs")

        def enter() -> None:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))

        return enter

    def _remove_cgroups(self) -> None:
        """rmdir the daemon's (now empty) cgroup subtree, which a SIGKILL leaves behind."""
        from pidone.linux.cgroups import find_writable_cgroup2

        mount = find_writable_cgroup2()
        if mount is None:
            return
        tag = hashlib.sha256(os.path.abspath(self.runtime_dir).encode()).hexdigest()[:8]
        base = self.cgroupns_dir or f"{mount.own_dir.rstrip('/')}/pidone-{tag}"
        deadline = time.monotonic() + 5.0  # the killed namespace may still be dying
        while os.path.isdir(base) and time.monotonic() < deadline:
            for directory, _dirs, _files in sorted(os.walk(base), key=lambda w: -len(w[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(directory)
            if os.path.isdir(base):
                time.sleep(0.05)

    def __enter__(self) -> NamespaceDaemon:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- talking to it -------------------------------------------------------------------

    def call(self, verb: str, **args: object) -> Any:  # noqa: ANN401 - JSON results
        """One request through the real client library (fast, for waiting loops)."""
        with client.connect(self.runtime_dir, timeout=DEFAULT_WAIT) as c:
            return c.call(verb, **args)

    def cli(
        self,
        *argv: str,
        user: str | None = None,
        inside: bool = False,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run `pidone ARGV...` as a real process; `inside` enters the PID namespace."""
        cmd = [sys.executable, "-m", "pidone", *argv]
        if inside:
            cmd = ["nsenter", "-t", str(self.pid1), "-p", "-m", *cmd]
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            ids = [f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
            cmd = ["setpriv", *ids, *cmd]
        return subprocess.run(
            cmd, capture_output=True, text=True, env=self.env, timeout=timeout, check=False
        )

    def status(self, unit: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("status", units=[unit])["units"][0]
        return result

    def state(self, unit: str) -> str:
        info = self.status(unit)
        return f"{info.get('active')}/{info.get('sub')}"

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = DEFAULT_WAIT, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise HarnessError(f"timed out waiting for {what or predicate}:\n{self.log()}")
            time.sleep(0.05)

    def wait_state(self, unit: str, *states: str, timeout: float = DEFAULT_WAIT) -> dict[str, Any]:
        """Wait until `unit` is in one of `states` ("active", or "active/running")."""
        seen: list[str] = []

        def ok() -> bool:
            info = self.status(unit)
            now = f"{info.get('active')}/{info.get('sub')}"
            seen.append(now)
            return any(now == s or now.startswith(s + "/") for s in states)

        try:
            self.wait_for(ok, timeout, f"{unit} to be {' or '.join(states)}")
        except HarnessError as exc:
            raise HarnessError(f"{exc}\nlast state: {seen[-1:]}") from None
        return self.status(unit)

    # --- looking inside the namespace ------------------------------------------------------

    def namespace_pids(self) -> list[int]:
        """Host PIDs of every process in the namespace but its PID 1 and the daemon's
        spawn helper (see `spawn_helper_pid`)."""
        try:
            mine = os.readlink(f"/proc/{self.pid1}/ns/pid")
        except OSError:
            return []
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == self.pid1:
                continue
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{name}/ns/pid") == mine and not self._is_helper(int(name)):
                    out.append(int(name))
        return sorted(out)

    def _is_helper(self, pid: int) -> bool:
        """The clone3 spawn helper of linux/spawn_cgroup.py (PID 1's own child)."""
        from pidone.linux.spawn_cgroup import is_spawn_helper

        return is_spawn_helper(pid, self.pid1)

    def spawn_helper_pid(self) -> int:
        """Host PID of the daemon's clone3 spawn helper (0 while there is none: it starts
        with the first spawn into a cgroup and is absent with PIDONE_NO_CLONE3=1)."""
        try:
            with open(f"/proc/{self.pid1}/task/{self.pid1}/children") as f:
                children = [int(p) for p in f.read().split()]
        except OSError:
            return 0
        return next((pid for pid in children if self._is_helper(pid)), 0)

    def namespace_processes(self) -> list[tuple[int, str, str]]:
        """(namespace PID, state letter, comm) of every process in the namespace but PID 1."""
        out = []
        for pid in self.namespace_pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    fields = dict(line.split(":\t", 1) for line in f if ":\t" in line)
            except OSError:
                continue
            nspid = int(fields.get("NSpid", str(pid)).split()[-1])
            out.append((nspid, fields.get("State", "?").split()[0], fields["Name"].strip()))
        return out

    def host_pid(self, nspid: int) -> int:
        """The host PID of the namespace's process `nspid` (0 if there is none)."""
        for pid in self.namespace_pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("NSpid:") and int(line.split()[-1]) == nspid:
                            return pid
            except OSError:
                continue
        return 0

    def uid_of(self, nspid: int) -> int:
        """The real uid of the namespace's process `nspid` (-1 if it is gone)."""
        try:
            return os.stat(f"/proc/{self.host_pid(nspid)}").st_uid
        except OSError:
            return -1

    def journal(self, *argv: str) -> str:
        """`pidone journal ARGV... --no-pager` output."""
        return self.cli("journal", *argv, "--no-pager").stdout
