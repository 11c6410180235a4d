"""linux.spawn with real processes: environment, identity, stdio, fds, limits, failures."""

from __future__ import annotations

import errno
import os
import pwd
import resource
import signal

import pytest

from pidone.core.environment import SELF_PID
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.core.values import RLIM_INFINITY
from pidone.linux.execprep import (
    find_executable,
    missing_executable,
    resolve_identity,
    setrlimit_closest,
)
from pidone.linux.spawn import SpawnRequest, read_spawn_failure
from tests.linux.proc_helpers import PY, env_for, py, run_to_file, started, wait_exit

SYSTEM_PY = "/usr/bin/python3"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="spawn tests switch users: need root")


def test_exact_environment_cwd_umask_and_session(tmp_path):
    ctx = ExecContext(working_directory=str(tmp_path), umask=0o027, environment=[("A", "x y")])
    env = env_for(ctx, invocation_id="0123456789abcdef0123456789abcdef")
    cmd = ExecCommand(
        path="/bin/sh",
        argv=(
            "sh",
            "-c",
            "cat /proc/$$$$/environ; echo; pwd; umask; ps -o sid= -p $$$$; echo $$$$",
        ),
    )
    status, out = run_to_file(cmd, ctx, str(tmp_path / "out"), env=env)
    assert status == 0, out
    environ, cwd, umask, sid, pid = out.splitlines()
    assert environ.split("\0")[:-1] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "INVOCATION_ID=0123456789abcdef0123456789abcdef",
        f"SYSTEMD_EXEC_PID={pid}",
        "A=x y",
    ]
    assert (cwd, umask, sid.strip()) == (str(tmp_path), "0027", pid)


def test_exec_time_expansion_and_argv0(tmp_path):
    ctx = ExecContext(environment=[("ONE", "one"), ("TWO", "two two")])
    cmd = ExecCommand(path="/bin/sh", argv=("sh", "-c", 'echo "$0|$1|$2|$#"', "$TWO", "${TWO}"))
    status, out = run_to_file(cmd, ctx, str(tmp_path / "out"))
    assert (status, out) == (0, "two|two|two two|2\n")
    named = ExecCommand(path="/bin/cat", argv=("mycat", "/proc/self/cmdline"))
    status, out = run_to_file(named, ctx, str(tmp_path / "out"))
    assert (status, out) == (0, "mycat\0/proc/self/cmdline\0")
    raw = ExecCommand(path="/bin/echo", argv=("echo", "$ONE", "$$"), no_env_expand=True)
    status, out = run_to_file(raw, ctx, str(tmp_path / "out"))
    assert (status, out) == (0, "$ONE $$\n")


def test_bare_name_is_searched_in_the_fixed_list():
    path, err = find_executable("true")
    assert err == 0
    assert path in ("/usr/bin/true", "/bin/true")
    assert find_executable("no-such-binary-xyz") == ("no-such-binary-xyz", 2)


def test_missing_executable_gives_find_executable_fulls_errno(tmp_path):
    """0 for an executable file; ENOENT, EISDIR, EACCES (no x bit) otherwise, as systemd
    252's find_executable_full() for the `-` prefix's "missing, skipping"."""
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    assert missing_executable("true") == 0
    assert missing_executable("/bin/sh") == 0
    assert missing_executable(str(tmp_path / "absent")) == errno.ENOENT
    assert missing_executable("no-such-binary-xyz") == errno.ENOENT
    assert missing_executable(str(tmp_path)) == errno.EISDIR
    assert missing_executable(str(plain)) == errno.EACCES


def test_user_nobody_and_groups(tmp_path):
    ctx = ExecContext(user="nobody", working_directory="/")
    code = "import os; print(os.getresuid(), os.getresgid(), sorted(os.getgroups()))"
    # The test venv's python lives under /root, which nobody cannot traverse.
    cmd = ExecCommand(path=SYSTEM_PY, argv=(SYSTEM_PY, "-S", "-c", code), no_env_expand=True)
    status, out = run_to_file(cmd, ctx, str(tmp_path / "out"))
    assert status == 0, out
    expected_groups = sorted(set(os.getgrouplist("nobody", 65534)))
    assert out.strip() == f"(65534, 65534, 65534) (65534, 65534, 65534) {expected_groups}"


def test_plus_prefix_keeps_root_but_env_names_the_user(tmp_path):
    ctx = ExecContext(user="nobody")
    cmd = ExecCommand(
        path=PY,
        argv=(PY, "-S", "-c", "import os; print(os.getuid(), os.environ['USER'])"),
        full_privileges=True,
        no_env_expand=True,
    )
    identity = resolve_identity(ctx)
    assert identity.user is not None
    env = env_for(ctx, user=identity.user)
    status, out = run_to_file(cmd, ctx, str(tmp_path / "out"), env=env, identity=identity)
    assert (status, out) == (0, "0 nobody\n")


def test_stdout_to_a_pipe_and_stdin_data(tmp_path):
    r, w = os.pipe()
    try:
        ctx = ExecContext(
            standard_input="data", standard_input_data=b"hello\n", standard_output="journal"
        )
        code = "import sys; sys.stdout.write(sys.stdin.read().upper())"
        with started(SpawnRequest(py(code), ctx, env_for(ctx), stdout_fd=w)) as s:
            os.close(w)
            w = -1
            assert wait_exit(s.pid) == 0
            assert os.read(r, 100) == b"HELLO\n"
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_append_and_file_outputs(tmp_path):
    out = tmp_path / "log"
    out.write_text("old-line\n")
    ctx = ExecContext(standard_output=f"append:{out}", standard_error=f"append:{out}")
    code = "import sys; print('out'); sys.stdout.flush(); print('err', file=sys.stderr)"
    with started(SpawnRequest(py(code), ctx, env_for(ctx))) as s:
        assert wait_exit(s.pid) == 0
    assert out.read_text() == "old-line\nout\nerr\n"


def test_passed_fds_are_renumbered_and_others_closed(tmp_path):
    r, w = os.pipe()
    stray = os.open("/dev/null", os.O_RDONLY)  # inheritable: must still be closed
    os.set_inheritable(stray, True)
    try:
        code = "import os; os.write(3, repr(sorted(os.listdir('/proc/self/fd'))).encode())"
        ctx = ExecContext(standard_output="null")
        with started(SpawnRequest(py(code), ctx, env_for(ctx), pass_fds=(w,))) as s:
            os.close(w)
            w = -1
            assert wait_exit(s.pid) == 0
            listing = eval(os.read(r, 1000))
        # 0-2, the passed fd as 3, and the fd python opened to list the directory
        assert listing[:4] == ["0", "1", "2", "3"]
        assert len(listing) == 5
    finally:
        os.close(r)
        os.close(stray)
        if w >= 0:
            os.close(w)


def _sig_mask(status_text: str, field: str) -> int:
    for line in status_text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1], 16)
    raise AssertionError(field)


@pytest.mark.parametrize("ignore", [True, False])
def test_signals_reset_mask_empty_sigpipe_per_setting(tmp_path, ignore):
    ctx = ExecContext(ignore_sigpipe=ignore)
    old = signal.signal(signal.SIGUSR1, lambda *_: None)  # a handler the child must not keep
    try:
        cmd = ExecCommand(path="/bin/cat", argv=("cat", "/proc/self/status"))
        status, out = run_to_file(cmd, ctx, str(tmp_path / "out"))
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert status == 0
    assert _sig_mask(out, "SigBlk") == 0
    assert _sig_mask(out, "SigCgt") == 0
    ignored = _sig_mask(out, "SigIgn")
    assert bool(ignored & (1 << (signal.SIGPIPE - 1))) is ignore
    assert not ignored & (1 << (signal.SIGXFSZ - 1))  # CPython's start-up ignore undone


def test_the_fork_path_resets_the_signals_this_process_handles_or_ignores(tmp_path, monkeypatch):
    # The list is asked for only when a start forks (the helper is off or refused): the
    # child must still set back every disposition the daemon changed.
    monkeypatch.setenv("PIDONE_NO_CLONE3", "1")
    old_usr1 = signal.signal(signal.SIGUSR1, lambda *_: None)
    old_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        cmd = ExecCommand(path="/bin/cat", argv=("cat", "/proc/self/status"))
        status, out = run_to_file(cmd, ExecContext(), str(tmp_path / "out"), fast=False)
    finally:
        signal.signal(signal.SIGUSR1, old_usr1)
        signal.signal(signal.SIGHUP, old_hup)
    assert status == 0
    assert _sig_mask(out, "SigCgt") == 0
    assert not _sig_mask(out, "SigIgn") & (1 << (signal.SIGHUP - 1))
    assert _sig_mask(out, "SigBlk") == 0


def test_limits_nice_and_oom(tmp_path):
    ctx = ExecContext(limits={"NOFILE": (100, 200), "CORE": (0, 0)}, nice=5, oom_score_adjust=300)
    code = (
        "import os, resource; print(resource.getrlimit(resource.RLIMIT_NOFILE),"
        " resource.getrlimit(resource.RLIMIT_CORE), os.getpriority(os.PRIO_PROCESS, 0),"
        " open('/proc/self/oom_score_adj').read().strip())"
    )
    status, out = run_to_file(py(code), ctx, str(tmp_path / "out"))
    assert (status, out) == (0, "(100, 200) (0, 0) 5 300\n")


def test_rlimit_above_nr_open_is_clamped(tmp_path):
    ctx = ExecContext(limits={"NOFILE": (RLIM_INFINITY, RLIM_INFINITY)})
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE))"
    status, out = run_to_file(py(code), ctx, str(tmp_path / "out"))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert (status, out) == (0, f"({hard}, {hard})\n")


def test_setrlimit_closest_refuses_soft_above_hard():
    with pytest.raises(OSError):
        setrlimit_closest(resource.RLIMIT_CORE, 10, 5)


@pytest.mark.parametrize(
    ("ctx", "path", "status", "errno_name"),
    [
        (ExecContext(), "/nonexistent/binary", 203, "ENOENT"),
        (ExecContext(working_directory="/nonexistent-dir"), "/bin/true", 200, "ENOENT"),
        (ExecContext(user="no-such-user-pidone"), "/bin/true", 217, "ESRCH"),
        (ExecContext(group="no-such-group-pidone"), "/bin/true", 216, "ESRCH"),
        (ExecContext(standard_output="file:/nonexistent-dir/x"), "/bin/true", 209, "ENOENT"),
    ],
)
def test_failures_exit_with_systemd_codes_and_report_through_the_pipe(
    ctx, path, status, errno_name
):
    cmd = ExecCommand(path=path, argv=(path,))
    with started(SpawnRequest(cmd, ctx, env_for(ctx))) as s:
        failure = read_spawn_failure(s)
        assert failure is not None
        assert (failure.status, failure.errno) == (status, getattr(__import__("errno"), errno_name))
        assert wait_exit(s.pid) == status
    assert failure.message.startswith(f"Failed at step {failure.step} spawning {path}: ")


def test_exec_success_reads_eof_and_missing_ok_directory(tmp_path):
    ctx = ExecContext(
        working_directory=str(tmp_path / "missing"), working_directory_missing_ok=True
    )
    cmd = ExecCommand(path="/bin/true", argv=("true",))
    with started(SpawnRequest(cmd, ctx, env_for(ctx))) as s:
        assert read_spawn_failure(s) is None
        assert wait_exit(s.pid) == 0


def test_home_tilde_uses_the_users_home(tmp_path):
    ctx = ExecContext(working_directory="~")
    status, out = run_to_file(ExecCommand(path="/bin/pwd", argv=("pwd",)), ctx, str(tmp_path / "o"))
    assert (status, out.strip()) == (0, pwd.getpwuid(0).pw_dir)


def test_self_pid_sentinel_variables(tmp_path):
    ctx = ExecContext()
    env = env_for(ctx, watchdog_usec=5_000_000)
    assert env["WATCHDOG_PID"] == SELF_PID
    code = (
        "import os; e = os.environ;"
        "print(e['WATCHDOG_PID'] == e['SYSTEMD_EXEC_PID'] == str(os.getpid()), e['WATCHDOG_USEC'])"
    )
    status, out = run_to_file(py(code), ctx, str(tmp_path / "o"), env=env)
    assert (status, out) == (0, "True 5000000\n")


def test_own_pid_variables_in_argv_are_expanded_in_the_child(tmp_path):
    ctx = ExecContext()
    cmd = ExecCommand(path="/bin/sh", argv=("sh", "-c", 'echo "$0 $$$$"', "${SYSTEMD_EXEC_PID}"))
    status, out = run_to_file(cmd, ctx, str(tmp_path / "o"))
    first, second = out.split()
    assert status == 0
    assert first == second


def test_daemon_with_closed_stdio_still_gives_the_child_fds_0_to_2(tmp_path):
    # A daemon started with fd 0 closed: its own pipes take the low numbers, and the child
    # must still end up with exactly 0, 1, 2.
    out = tmp_path / "out"
    code = f"""
import os
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux.spawn import SpawnRequest, spawn
os.close(0)
ctx = ExecContext(standard_output="file:{out}", standard_error="inherit")
cmd = ExecCommand(path="/bin/sh", argv=("sh", "-c", "ls /proc/$$$$/fd"))
s = spawn(SpawnRequest(cmd, ctx, {{}}, fast=False))
os.waitpid(s.pid, 0)
"""
    import subprocess

    subprocess.run([PY, "-c", code], check=True, timeout=60)
    assert sorted(out.read_text().split(), key=int) == ["0", "1", "2"]


def test_group_and_supplementary_groups(tmp_path):
    ctx = ExecContext(user="nobody", group="daemon", supplementary_groups=["adm", "0"])
    code = "import os; print(os.getresgid(), sorted(os.getgroups()))"
    cmd = ExecCommand(path=SYSTEM_PY, argv=(SYSTEM_PY, "-S", "-c", code), no_env_expand=True)
    status, out = run_to_file(cmd, ctx, str(tmp_path / "out"))
    daemon_gid, adm_gid = 1, 4  # Debian's fixed ids (base-passwd)
    expected = sorted({*os.getgrouplist("nobody", daemon_gid), adm_gid, 0})
    assert (status, out) == (0, f"({daemon_gid}, {daemon_gid}, {daemon_gid}) {expected}\n")


def test_tty_input_becomes_the_controlling_terminal(tmp_path):
    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        ctx = ExecContext(standard_input="tty", tty_path=path, standard_output="tty")
        code = "import os; print(os.ttyname(0), os.tcgetpgrp(0) == os.getpgrp())"
        with started(SpawnRequest(py(code), ctx, env_for(ctx))) as s:
            assert wait_exit(s.pid) == 0
        output = os.read(master, 1000).decode()
        assert output.split() == [path, "True"]
    finally:
        os.close(master)
        os.close(slave)


def test_output_files_are_created_under_the_units_umask(tmp_path):
    out = tmp_path / "created"
    ctx = ExecContext(umask=0o077, standard_output=f"file:{out}")
    with started(SpawnRequest(ExecCommand(path="/bin/true", argv=("true",)), ctx, {})) as s:
        assert wait_exit(s.pid) == 0
    assert out.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("nnp", "plus", "expected"), [(True, False, "1"), (True, True, "0")])
def test_no_new_privileges_unless_plus(tmp_path, nnp, plus, expected):
    ctx = ExecContext(no_new_privileges=nnp)
    cmd = ExecCommand(
        path="/bin/sh",
        argv=("sh", "-c", "grep NoNewPrivs /proc/self/status"),
        full_privileges=plus,
    )
    status, out = run_to_file(cmd, ctx, str(tmp_path / "out"))
    assert (status, out.split()) == (0, ["NoNewPrivs:", expected])
