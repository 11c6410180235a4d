"""PrivateTmp= under ProtectSystem=strict (redis-server's and redis-sentinel's units): the
private /tmp and /var/tmp stay writable, as in systemd 252, and $NOTIFY_SOCKET under
/var/tmp is still reachable."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux import sandbox
from tests.linux.proc_helpers import env_for, run_to_file

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not sandbox.sandbox_available(),
    reason="mount namespaces need root with CAP_SYS_ADMIN",
)
INVOCATION = "0123456789abcdef0123456789abcd01"


@pytest.fixture
def top() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="pidone-sandbox-", dir="/var/lib"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)
        sandbox.remove_private_tmp(INVOCATION)


def test_private_tmp_is_writable_under_protect_system_strict(top: Path) -> None:
    ctx = ExecContext(protect_system="strict", private_tmp=True, read_write_paths=[str(top)])
    script = (
        "touch /tmp/p 2>/dev/null && echo tmp-writable || echo tmp-read-only; "
        "touch /var/tmp/p 2>/dev/null && echo var-tmp-writable || echo var-tmp-read-only; "
        "touch /usr/pidone-probe 2>/dev/null && echo usr-writable || echo usr-read-only"
    )
    env = env_for(ctx, invocation_id=INVOCATION)
    cmd = ExecCommand("/bin/sh", ("sh", "-c", script))
    status, out = run_to_file(cmd, ctx, str(top / "o"), env=env)
    assert (status, out.split()) == (0, ["tmp-writable", "var-tmp-writable", "usr-read-only"])
    tmp, var_tmp = sandbox.private_tmp_dirs(INVOCATION)
    assert Path(tmp, "tmp/p").exists()
    assert Path(var_tmp, "tmp/p").exists()


def test_notify_socket_under_var_tmp_with_strict_and_private_tmp(top: Path) -> None:
    # The acceptance daemons keep their runtime directory under /var/tmp
    directory = Path(tempfile.mkdtemp(prefix="pidone-notify-", dir="/var/tmp"))
    directory.chmod(0o755)
    path = str(directory / "notify")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        srv.bind(path)
        os.chmod(path, 0o666)
        srv.settimeout(20)
        ctx = ExecContext(protect_system="strict", private_tmp=True, user="nobody")
        env = dict(env_for(ctx, invocation_id=INVOCATION), NOTIFY_SOCKET=path)
        code = (
            "import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
            "s.sendto(b'READY=1', os.environ['NOTIFY_SOCKET'])"
        )
        cmd = ExecCommand("/usr/bin/python3", ("python3", "-S", "-c", code), no_env_expand=True)
        status, out = run_to_file(cmd, ctx, str(top / "o"), env=env)
        assert status == 0, out
        assert srv.recv(100) == b"READY=1"
    finally:
        srv.close()
        shutil.rmtree(directory, ignore_errors=True)
