"""Standard streams of spawned commands: terminals (TTYPath=), AF_UNIX file: paths, kmsg."""

from __future__ import annotations

import os
import socket

import pytest

from pidone.core.dataclass_lite import replace
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux import stdio
from pidone.linux.spawn import SpawnRequest, read_spawn_failure
from tests.linux.proc_helpers import env_for, kill_and_reap, run_to_file, started, wait_exit

# Prints whether fd 0 is our controlling terminal and which terminal it is.
TTY_REPORT = (
    "import os; print(os.ttyname(0), os.tcgetpgrp(0) == os.getsid(0) == os.getpid(), flush=True)"
)


def py_cmd(code: str) -> ExecCommand:
    return ExecCommand("/usr/bin/python3", ("python3", "-S", "-c", code), no_env_expand=True)


def test_file_output_to_an_af_unix_socket_connects(tmp_path):
    path = str(tmp_path / "log.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(20)
    ctx = ExecContext(standard_output=f"file:{path}", standard_error="inherit")
    req = SpawnRequest(ExecCommand("/bin/echo", ("echo", "to the socket")), ctx, env_for(ctx))
    try:
        with started(req) as s:
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(20)
                data = b""
                while chunk := conn.recv(100):
                    data += chunk
            assert wait_exit(s.pid) == 0
    finally:
        srv.close()
    assert data == b"to the socket\n"


def test_tty_force_makes_the_terminal_controlling(tmp_path):
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        ctx = ExecContext(standard_input="tty-force", tty_path=name, tty_reset=True)
        status, out = run_to_file(py_cmd(TTY_REPORT), ctx, str(tmp_path / "o"))
        assert (status, out.split()) == (0, [name, "True"])
    finally:
        os.close(master)
        os.close(slave)


def test_plain_tty_waits_for_the_holder_and_tty_fail_does_not(tmp_path):
    master, slave = os.openpty()
    name = os.ttyname(slave)
    os.close(slave)
    holder_ctx = ExecContext(standard_input="tty-force", tty_path=name, standard_output="null")
    holder = SpawnRequest(
        py_cmd("import time; time.sleep(60)"), holder_ctx, env_for(holder_ctx), fast=False
    )
    try:
        with started(holder) as h:
            assert read_spawn_failure(h, close=False) is None  # exec'd: it holds the terminal
            # tty-fail gives up at once: 208/STDIN
            fail_ctx = replace(holder_ctx, standard_input="tty-fail")
            failing = SpawnRequest(ExecCommand("/bin/true", ("true",)), fail_ctx, env_for(fail_ctx))
            with started(failing) as f:
                assert wait_exit(f.pid) == 208
            # plain tty waits until the holder's session lets go of the terminal
            out = tmp_path / "o"
            wait_ctx = replace(holder_ctx, standard_input="tty", standard_output=f"file:{out}")
            waiter = SpawnRequest(py_cmd(TTY_REPORT), wait_ctx, env_for(wait_ctx))
            with started(waiter) as w:
                with open(f"/proc/{w.pid}/cmdline", "rb") as c:
                    assert b"ttyname" not in c.read()  # not exec'd yet: still waiting
                kill_and_reap(h.pid)
                assert wait_exit(w.pid) == 0
            assert out.read_text().split() == [name, "True"]
    finally:
        os.close(master)


def test_kmsg_goes_to_dev_kmsg_when_writable_else_to_the_callers_stream():
    ctx = ExecContext(standard_output="kmsg", standard_error="kmsg")
    src = stdio.output_source(ctx, 1, supplied=7, stdin_fd=-1, input_kind="null", is_pid1=False)
    if os.access("/dev/kmsg", os.W_OK):
        assert (src.kind, src.path) == ("open", b"/dev/kmsg")
        err = stdio.output_source(ctx, 2, 7, -1, "null", False)
        assert err == stdio.COPY_1
    else:
        assert (src.kind, src.fd) == ("fd", 7)
    journal = ExecContext(standard_output="journal")
    assert stdio.output_source(journal, 1, 7, -1, "null", False) == stdio.StdioSource("fd", 7)


@pytest.mark.parametrize(
    ("setting", "kind"),
    [("socket", "socket"), ("fd:foo", "fd"), ("data", "data"), ("null", "null")],
)
def test_input_kinds(setting, kind):
    ctx = ExecContext(standard_input=setting)
    got_kind, src = stdio.input_source(ctx, stdin_fd=9, data_fd=8)
    assert got_kind == kind
    assert src.fd == {"socket": 9, "fd": 9, "data": 8, "null": -1}[kind]


def test_standard_output_socket_is_the_socket_even_when_stdin_is_not():
    """setup_output() EXEC_OUTPUT_SOCKET: dup2(socket_fd, fileno), whatever stdin is; with
    StandardInput=null (or data) fd 0 is /dev/null, so a copy of fd 0 was wrong."""
    ctx = ExecContext(standard_input="null", standard_output="socket", standard_error="inherit")
    out = stdio.output_source(ctx, 1, supplied=-1, stdin_fd=9, input_kind="null", is_pid1=True)
    assert out == stdio.StdioSource("fd", 9)
    assert stdio.output_source(ctx, 2, -1, 9, "null", True) == stdio.COPY_1
    both = ExecContext(standard_input="socket", standard_output="socket")
    assert stdio.output_source(both, 1, -1, 9, "socket", True) in (
        stdio.COPY_0,
        stdio.StdioSource("fd", 9),
    )
