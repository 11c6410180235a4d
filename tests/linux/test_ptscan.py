"""The pstree scanner on captured stat lines and on the test's own live children."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pidone.linux import ptscan

STAT = (
    b"4242 (a b) (c) S 17 4242 17 34816 4242 4194304 120 0 0 0 1 2 0 0 20 0 3 0 98765 "
    b"9000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
)


def test_parse_stat_takes_comm_between_first_open_and_last_close_paren() -> None:
    parsed = ptscan.parse_stat(STAT, 4242, 1000)
    assert parsed is not None
    assert (parsed.pid, parsed.ppid, parsed.pgid, parsed.uid) == (4242, 17, 4242, 1000)
    assert parsed.comm == b"a b) (c"
    assert (parsed.nthreads, parsed.starttime) == (3, 98765)


@pytest.mark.parametrize(
    "bad", [b"", b"12 (x S 1 2", b"12 (x) S 1 2 3\n", b"x (y) S a b" + b" 0" * 30]
)
def test_parse_stat_rejects_what_psmisc_skips(bad: bytes) -> None:
    assert ptscan.parse_stat(bad, 12, 0) is None


@given(st.binary(max_size=15).filter(lambda c: b"\n" not in c))
def test_parse_stat_any_comm(comm: bytes) -> None:
    line = b"7 (" + comm + b") R 1 7" + b" 0" * 14 + b" 5 0 4444 0\n"
    parsed = ptscan.parse_stat(line, 7, 0)
    assert parsed is not None
    assert parsed.comm == comm
    assert parsed.nthreads == 5


@pytest.fixture
def threaded_child():
    code = (
        "import threading, time, sys\n"
        "for _ in range(2): threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "print('up', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, "arg one", "ünï"], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"up\n"
        yield child.pid
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_live_child_is_scanned(threaded_child: int) -> None:
    stats = {s.pid: s for s in ptscan.read_stats()}
    mine = stats[threaded_child]
    assert mine.ppid == os.getpid()
    assert mine.uid == os.stat(f"/proc/{threaded_child}").st_uid
    assert mine.nthreads == 3
    threads = ptscan.read_threads(threaded_child)
    assert threads[0][0] == threaded_child
    assert len(threads) == 3
    named = ptscan.read_threads(threaded_child, own_names=True)
    assert all(name is not None for tid, name in named if tid != threaded_child)
    raw = ptscan.read_cmdline(threaded_child, 4096)
    assert raw is not None
    assert raw.endswith(b"\0arg one\0\xc3\xbcn\xc3\xaf\0")
    assert ptscan.read_cmdline(threaded_child, 10) == raw[:10]


def test_vanished_process_reads_as_none() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    time.sleep(0.01)
    assert ptscan.read_cmdline(child.pid, 100) is None
    assert ptscan.read_threads(child.pid) == []
    assert ptscan.read_cgroup_units([child.pid]) == {}


def test_own_locale_environment_is_the_one_execve_got() -> None:
    code = (
        "from pidone.linux import ptscan; print(sorted(ptscan.read_initial_locale_env().items()))"
    )
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C", "LC_MESSAGES": "xx"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    # Python's PEP 538 coercion adds LC_CTYPE=C.UTF-8 to os.environ, not to /proc/self/environ
    assert done.stdout == b"[('LANG', 'C'), ('LC_MESSAGES', 'xx')]\n"
