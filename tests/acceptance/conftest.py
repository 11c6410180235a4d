"""Acceptance tier: Debian's own packages, started from their packaged unit files by pidone.

`debian_packages` installs apache2, nginx and redis-server with apt once per session. A
policy-rc.d that exits 101 (invoke-rc.d(8), "POLICY-RC.D"; deb-systemd-invoke honours it
too) keeps the maintainer scripts from starting anything: only pidone ever starts them.

`real_ns` runs the daemon as PID 1 of fresh PID *and network* namespaces (lo up, nothing
else), with the real unit search path (`PIDONE_UNIT_PATH=<test dir>:`, the trailing colon
appending systemd's list) so `/lib/systemd/system/*.service` is read unchanged. The services
bind port 80 inside that namespace only, and when its PID 1 dies every process in it dies
(pid_namespaces(7)), so nothing can outlive a test.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pidone.testing.harness import HarnessError, NamespaceDaemon

PACKAGES = ("apache2", "nginx", "redis-server", "dbus")
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")

# Bring `lo` up inside the namespace (SIOCGIFFLAGS / SIOCSIFFLAGS, netdevice(7)), without
# depending on iproute2.
_LO_UP = (
    "import fcntl, socket, struct\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "req = struct.pack('16sH14x', b'lo', 0)\n"
    "flags = struct.unpack('16sH14x', fcntl.ioctl(s, 0x8913, req))[1]\n"
    "fcntl.ioctl(s, 0x8914, struct.pack('16sH14x', b'lo', flags | 1))\n"
)


def _installed(package: str) -> bool:
    r = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return r.stdout.strip() == "install ok installed"


_APT = ("apt-get", "-o", "DPkg::Lock::Timeout=300")  # wait for another apt, never fail on it


def apt_install(missing: list[str]) -> subprocess.CompletedProcess[str]:
    """`apt-get install` of `missing`, with a policy-rc.d that starts nothing (made for the
    call when there is none); once more after `apt-get update` if the first try fails (stale
    or absent lists). Skips the test when apt-get is absent or no package source answers."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-query") is None:
        pytest.skip("apt-get is not available on this machine: cannot install " + " ".join(missing))
    made_policy = not POLICY_RC_D.exists()
    if made_policy:
        POLICY_RC_D.write_text("#!/bin/sh\n# pidone acceptance tests: start nothing\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = [*_APT, "install", "-y", "-qq", "--no-install-recommends", *missing]
    try:
        install = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if install.returncode != 0:
            update = subprocess.run(
                [*_APT, "update", "-qq"], env=env, capture_output=True, text=True, check=False
            )
            if update.returncode != 0:
                pytest.skip(
                    f"apt-get update failed (no package source reachable):\n{update.stderr}"
                )
            install = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    finally:
        if made_policy:
            POLICY_RC_D.unlink()
    return install


def require(*packages: str) -> None:
    """Install what is missing of `packages` (nothing started), or skip if apt cannot."""
    if os.geteuid() != 0:
        pytest.skip("the acceptance tier needs root (apt-get, namespaces)")
    missing = [p for p in packages if not _installed(p)]
    if not missing:
        return
    install = apt_install(missing)
    if install.returncode != 0:
        pytest.skip(f"apt-get install {' '.join(missing)} failed:\n{install.stderr[-2000:]}")


@pytest.fixture(scope="session")
def debian_packages() -> tuple[str, ...]:
    """apache2, nginx, redis-server, dbus installed (apt-get once), none of them started."""
    if os.geteuid() != 0:
        pytest.skip("the acceptance tier needs root (apt-get, namespaces)")
    for tool in ("unshare", "nsenter"):
        if shutil.which(tool) is None:
            pytest.skip(f"util-linux {tool} is not installed")
    missing = [p for p in PACKAGES if not _installed(p)]
    if not missing:
        return PACKAGES
    install = apt_install(missing)
    assert install.returncode == 0, f"apt-get install {missing} failed:\n{install.stderr}"
    return PACKAGES


class RealServicesDaemon(NamespaceDaemon):
    """A NamespaceDaemon that also gets its own network namespace and the real unit path."""

    def __init__(self, workdir: Path, units: dict[str, str] | None = None) -> None:
        super().__init__(workdir, units)
        # the control and notify sockets next to the workdir, out of /tmp (see real_ns)
        os.rmdir(self.runtime_dir)
        self.runtime_dir = str(workdir.parent / f"{workdir.name}-run")
        os.makedirs(self.runtime_dir, mode=0o755)
        os.chmod(self.runtime_dir, 0o755)
        os.chmod(workdir.parent, 0o755)

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env["PIDONE_UNIT_PATH"] = f"{self.unit_dir}:"  # then systemd's own directories
        return env

    def start(self) -> RealServicesDaemon:
        # The harness's command, behind `unshare --net` (a private loopback).
        cmd = [
            "unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child",
            sys.executable, "-m", "pidone", "daemon",
            "--runtime-dir", self.runtime_dir, "--state-dir", str(self.state_dir),
            *self.args,
        ]  # fmt: skip
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        finally:
            log.close()
        self.wait_for(self._answers, what="the daemon to answer on its control socket")
        self.pid1 = self._find_pid1()
        self.in_net(sys.executable, "-c", _LO_UP, check=True)
        return self

    def in_net(
        self, *argv: str, check: bool = False, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace's network (as root, on the host's files)."""
        if not self.pid1:
            raise HarnessError("the daemon is not running")
        return subprocess.run(
            ["nsenter", "-t", str(self.pid1), "-n", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )


Factory = Callable[..., RealServicesDaemon]


@pytest.fixture
def real_ns(debian_packages: tuple[str, ...]) -> Iterator[Factory]:
    """`real_ns(units={...})` starts a daemon; every one started is killed afterwards.

    Its files live under /var/tmp, not /tmp: a `systemd-tmpfiles --boot --remove` on the
    host (Debian's `D /tmp`) would empty /tmp under a running daemon."""
    started: list[RealServicesDaemon] = []
    top = Path(tempfile.mkdtemp(prefix="pidone-acceptance-", dir="/var/tmp"))

    def make(units: dict[str, str] | None = None) -> RealServicesDaemon:
        d = RealServicesDaemon(top / f"ns{len(started)}", units)
        started.append(d)
        return d.__enter__()

    try:
        yield make
    finally:
        for d in started:
            d.close()
        # PrivateTmp= directories of the units these daemons ran (apache2, redis-server...),
        # and only theirs: another run on this host (a second pytest, a bench) may have
        # units with live PrivateTmp= directories at this moment.
        for d in started:
            for path in _private_tmp_dirs(d.runtime_dir):
                shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(top, ignore_errors=True)


def _private_tmp_dirs(runtime_dir: str) -> list[str]:
    """/tmp and /var/tmp directories of the daemon with this runtime directory: named
    pidone-private-TAG-UNIT-INVOCATION, TAG the first 8 hex digits of the SHA-256 of its
    absolute runtime directory (daemon/main.py, set_private_tmp_scope)."""
    tag = hashlib.sha256(os.path.abspath(runtime_dir).encode()).hexdigest()[:8]
    return glob.glob(f"/tmp/pidone-private-{tag}-*") + glob.glob(f"/var/tmp/pidone-private-{tag}-*")
