"""The posix_spawn path of linux.spawn gives the same process set-up as the fork path."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid

import pytest

from pidone.core.environment import EnvironmentInputs, ManagerVariables, build_environment
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux.cgroups import find_writable_cgroup2, parse_own_cgroup2_path
from pidone.linux.spawn import SpawnRequest, read_spawn_failure
from tests.linux.proc_helpers import started, wait_exit


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fast_ctx(**kw: object) -> ExecContext:
    """Settings equal to this process's own, so that the fast path applies."""
    return ExecContext(working_directory=os.getcwd(), umask=_umask(), **kw)  # type: ignore[arg-type]


def fast_env(ctx: ExecContext) -> dict[str, str]:
    variables = ManagerVariables(invocation_id="ab" * 16, exec_pid=False)
    return build_environment(ctx, EnvironmentInputs(variables=variables))


def _sig(status: str, field: str) -> int:
    line = next(x for x in status.splitlines() if x.startswith(field + ":"))
    return int(line.split()[1], 16)


def test_fast_path_sets_up_like_the_fork_path(tmp_path):
    out = tmp_path / "out"
    stray = os.open("/dev/null", os.O_RDONLY)
    os.set_inheritable(stray, True)  # the one-time sweep must catch it... or already did
    try:
        ctx = fast_ctx(standard_output=f"file:{out}", standard_error="inherit")
        script = (
            "cat /proc/$$$$/environ; echo; cat /proc/self/status | grep -E '^Sig(Blk|Ign|Cgt)';"
            " ps -o sid= -p $$$$; echo $$$$; ls /proc/$$$$/fd"
        )
        cmd = ExecCommand(path="/bin/sh", argv=("sh", "-c", script))
        with started(SpawnRequest(cmd, ctx, fast_env(ctx))) as s:
            assert s.status_fd == -1  # the posix_spawn path was taken
            assert read_spawn_failure(s) is None
            assert wait_exit(s.pid) == 0
    finally:
        os.close(stray)
    environ, blk, ign, cgt, sid, pid, *fds = out.read_text().splitlines()
    assert environ.split("\0")[:-1] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "INVOCATION_ID=" + "ab" * 16,
    ]
    assert int(blk.split()[1], 16) == 0
    # glibc's posix_spawn leaves its internal signals 32 and 33 ignored in the child
    # (__spawni_child); every other disposition is the default, SIGPIPE as configured.
    assert int(ign.split()[1], 16) == (1 << (signal.SIGPIPE - 1)) | (0b11 << 31)
    assert int(cgt.split()[1], 16) == 0
    assert sorted(fds, key=int) == ["0", "1", "2"]
    assert sid.strip() == pid


def test_settings_that_need_the_child_take_the_fork_path():
    for ctx, env in [
        (fast_ctx(nice=3, standard_output="null"), None),
        (fast_ctx(standard_output="null"), {"SYSTEMD_EXEC_PID": "\x00self-pid"}),
        (ExecContext(working_directory="/", umask=0o077, standard_output="null"), None),
    ]:
        cmd = ExecCommand(path="/bin/true", argv=("true",))
        req = SpawnRequest(cmd, ctx, env if env is not None else fast_env(ctx))
        with started(req) as s:
            assert s.status_fd >= 0
            assert wait_exit(s.pid) == 0


def test_exec_failure_falls_back_to_the_fork_path_and_reports_203():
    ctx = fast_ctx(standard_output="null")
    cmd = ExecCommand(path="/nonexistent/x", argv=("x",))
    with started(SpawnRequest(cmd, ctx, fast_env(ctx))) as s:
        failure = read_spawn_failure(s)
        assert failure is not None
        assert failure.status == 203
        assert wait_exit(s.pid) == 203


def _own_cgroup() -> bytes:
    with open("/proc/self/cgroup", "rb") as f:
        return f.read()


@pytest.mark.cgroup
def test_fast_path_places_the_child_in_the_cgroup_before_exec_and_moves_back(tmp_path):
    found = find_writable_cgroup2()
    if found is None:
        pytest.skip("no writable cgroup2 hierarchy on this machine")
    unit_dir = f"{found.own_dir.rstrip('/')}/pidone-fast-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.mkdir(unit_dir)
    before = _own_cgroup()
    try:
        out = tmp_path / "cg"
        ctx = fast_ctx(standard_output=f"file:{out}")
        cmd = ExecCommand(path="/bin/cat", argv=("cat", "/proc/self/cgroup"))
        with started(SpawnRequest(cmd, ctx, fast_env(ctx), cgroup=unit_dir)) as s:
            assert s.status_fd == -1
            assert wait_exit(s.pid) == 0
        child_cgroup = parse_own_cgroup2_path(out.read_bytes())
        assert child_cgroup is not None
        assert unit_dir.endswith(child_cgroup)
        assert _own_cgroup() == before
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(unit_dir)


def test_fast_path_renumbers_passed_fds_and_feeds_stdin_data():
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        ctx = fast_ctx(standard_input="data", standard_input_data=b"abc", standard_output="journal")
        cmd = ExecCommand(
            path="/bin/sh", argv=("sh", "-c", "cat >&3; echo >&3; ls /proc/self/fd >&3; echo ok")
        )
        req = SpawnRequest(cmd, ctx, fast_env(ctx), pass_fds=(w,), stdout_fd=out_w)
        with started(req) as s:
            assert s.status_fd == -1
            os.close(w)
            os.close(out_w)
            w = out_w = -1
            assert wait_exit(s.pid) == 0
            passed = os.read(r, 1000).decode()
            assert os.read(out_r, 100) == b"ok\n"
        first, *fds = passed.split()
        assert first == "abc"
        assert fds == ["0", "1", "2", "3", "4"]  # 3 = the passed pipe, 4 = ls's own dir fd
    finally:
        for fd in (r, w, out_r, out_w):
            if fd >= 0:
                os.close(fd)
