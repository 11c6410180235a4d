"""linux.procfs: pure parsers on captured bytes, thin readers on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from pidone.core.errors import NoSuchProcess
from pidone.linux import procfs

# A real stat line of `sleep` renamed to "a) (b" (comm with ") " inside), 52 fields.
STAT = (
    b"4380 (a) (b) T 4313 4380 4313 34816 4313 1077936128 99 0 0 0 7 3 5 2 20 5 1 0 "
    b"12345 2990080 460 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 "
    b"0 0 0 0 0 0 0 0\n"
)

STATUS = b"""Name:\tsleep
Umask:\t0022
State:\tS (sleeping)
Tgid:\t4381
Pid:\t4381
PPid:\t4313
Uid:\t1000\t997\t997\t997
Gid:\t100\t101\t102\t103
FDSize:\t64
VmPeak:\t    2920 kB
VmSize:\t    2920 kB
VmLck:\t       8 kB
VmPin:\t       0 kB
VmHWM:\t    1804 kB
VmRSS:\t    1804 kB
Threads:\t3
"""


def test_parse_stat_comm_with_parens_and_spaces():
    st = procfs.parse_stat(STAT)
    assert (st.pid, st.comm, st.state) == (4380, "a) (b", "T")
    assert (st.ppid, st.pgrp, st.session, st.tty_nr, st.tpgid) == (4313, 4380, 4313, 34816, 4313)
    assert (st.utime, st.stime, st.cutime, st.cstime) == (7, 3, 5, 2)
    assert (st.priority, st.nice, st.num_threads, st.starttime) == (20, 5, 1, 12345)
    assert (st.vsize, st.rss_pages, st.processor, st.policy) == (2990080, 460, 1, 0)


def test_parse_stat_rejects_garbage():
    with pytest.raises(ValueError, match="malformed"):
        procfs.parse_stat(b"garbage")


def test_parse_status():
    st = procfs.parse_status(STATUS)
    assert st.name == "sleep"
    assert st.uids == (1000, 997, 997, 997)
    assert st.gids == (100, 101, 102, 103)
    assert (st.vm_size, st.vm_rss, st.vm_lck, st.threads) == (2920, 1804, 8, 3)


def test_parse_status_kernel_thread_has_no_vm_lines():
    st = procfs.parse_status(b"Name:\tkthreadd\nUid:\t0\t0\t0\t0\nThreads:\t1\n")
    assert (st.vm_size, st.vm_rss, st.vm_lck) == (0, 0, 0)


def test_parse_cmdline():
    assert procfs.parse_cmdline(b"") == []
    assert procfs.parse_cmdline(b"sleep\x001000\x00") == [b"sleep", b"1000"]
    assert procfs.parse_cmdline(b"a b\x00\x00c\x00") == [b"a b", b"", b"c"]


def test_btime_and_memtotal_parsers():
    assert procfs.parse_btime(b"cpu 1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n") == 1700000000
    assert procfs.parse_memtotal(b"MemTotal:       24683656 kB\nMemFree: 1 kB\n") == 24683656


def test_device_number_split_matches_glibc():
    # the kernel's new_encode_dev() (include/linux/kdev_t.h) packs tty_nr this way
    tty_nr = (300 & 0xFF) | (136 << 8) | ((300 & ~0xFF) << 12)
    assert (procfs.dev_major(tty_nr), procfs.dev_minor(tty_nr)) == (136, 300)
    assert (procfs.dev_major(1025), procfs.dev_minor(1025)) == (4, 1)


def test_tty_drivers_table_order_and_ranges():
    data = (
        b"/dev/tty             /dev/tty        5       0 system:/dev/tty\n"
        b"serial               /dev/ttyS       4      64 serial\n"
        b"pty_slave            /dev/pts      136 0-1048575 pty:slave\n"
        b"devfs                /dev/tts/%d     7 0-3 serial\n"
    )
    table = procfs.parse_tty_drivers(data)
    assert table[0] == ("tts/", True, 7, 0, 3)  # later lines are searched first
    assert ("pts", False, 136, 0, 1048575) in table
    assert ("ttyS", False, 4, 64, 64) in table


def test_guess_tty_path():
    assert procfs.guess_tty_path(4, 1) == "/dev/tty1"
    assert procfs.guess_tty_path(4, 65) == "/dev/ttyS1"
    assert procfs.guess_tty_path(137, 2) == "/dev/pts/258"
    assert procfs.guess_tty_path(188, 0) == "/dev/ttyUSB0"
    assert procfs.guess_tty_path(3, 0x10) == "/dev/ttyq0"
    assert procfs.guess_tty_path(999, 0) is None


def test_abbreviate_tty_masks_unprintable():
    assert procfs.abbreviate_tty("/dev/pts/3") == "pts/3"
    assert procfs.abbreviate_tty("/dev/") == "/dev/"
    assert procfs.abbreviate_tty("/dev/t\tty") == "t?ty"


def test_tty_names_for_a_real_pty():
    master, slave = os.openpty()
    try:
        rdev = os.fstat(slave).st_rdev
        major, minor = os.major(rdev), os.minor(rdev)
        tty_nr = (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)
        names = procfs.TtyNames()
        assert names.name(tty_nr, os.getpid()) == os.ttyname(slave).removeprefix("/dev/")
        assert names.name(0, os.getpid()) == "?"
    finally:
        os.close(master)
        os.close(slave)


def test_readers_on_a_real_child():
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()", "arg one"],
        stdin=subprocess.PIPE,
    )
    try:
        st = procfs.read_stat(child.pid)
        assert st.pid == child.pid
        assert st.ppid == os.getpid()
        status = procfs.read_status(child.pid)
        assert status.uids[1] == os.geteuid()
        assert status.vm_rss > 0
        deadline = time.monotonic() + 10
        while not (argv := procfs.parse_cmdline(procfs.read_cmdline(child.pid))):
            assert time.monotonic() < deadline, "cmdline stayed empty"
            time.sleep(0.01)  # the child may still be inside execve()
        assert argv[-1] == b"arg one"
        assert child.pid in procfs.list_pids()
        assert b"::" in procfs.read_cgroup(child.pid)
    finally:
        child.kill()
        child.communicate()
    with pytest.raises(NoSuchProcess):
        procfs.read_stat(child.pid)


def test_text_readers_of_comm_and_argv(tmp_path):
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "comm").write_bytes(b"w\xc3\xa9ird name\n")
    (tmp_path / "7" / "cmdline").write_bytes(b"prog\0two words\0\xff\0")
    assert procfs.read_comm(7, str(tmp_path)) == "w\u00e9ird name"
    assert procfs.read_argv(7, str(tmp_path)) == ["prog", "two words", "\ufffd"]
    (tmp_path / "8").mkdir()
    (tmp_path / "8" / "cmdline").write_bytes(b"")  # a zombie or a kernel thread
    assert procfs.read_argv(8, str(tmp_path)) == []
    assert procfs.read_comm(9, str(tmp_path)) == ""  # gone
    assert procfs.read_argv(9, str(tmp_path)) == []


def test_read_file_of_missing_path_is_none(tmp_path):
    assert procfs.read_file(str(tmp_path / "nope")) is None
    big = tmp_path / "big"
    big.write_bytes(b"x" * 10000)
    assert procfs.read_file(str(big), 4096) == b"x" * 10000


def test_pid_length_is_the_length_of_pid_max(tmp_path):
    (tmp_path / "sys" / "kernel").mkdir(parents=True)
    (tmp_path / "sys" / "kernel" / "pid_max").write_text("4194304\n")
    assert procfs.read_pid_length(str(tmp_path)) == 7
    (tmp_path / "sys" / "kernel" / "pid_max").write_text("100000\n")
    assert procfs.read_pid_length(str(tmp_path)) == 6
    assert procfs.read_pid_length(str(tmp_path / "missing")) == 5
    with open("/proc/sys/kernel/pid_max") as f:
        assert procfs.read_pid_length() == len(f.read().strip())


def test_system_wide_values():
    assert procfs.read_boot_time() > 1_000_000_000
    assert procfs.read_uptime() > 0
    assert procfs.read_memtotal() > 0
    assert procfs.clock_ticks() == os.sysconf("SC_CLK_TCK")
    assert procfs.page_size() == os.sysconf("SC_PAGE_SIZE")
