"""core.ps: field formatters, escaping, column placement, forest order, option parsing.

Expected strings come from procps-ng 4.0.2 on the reference box (spec 07 §1.4 and
captures noted next to each case), not from running pidone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time

import pytest

from pidone.core.ps import fields as F
from pidone.core.ps.escape import char_width, escape_args, library_escape, ps_escape
from pidone.core.ps.layout import (
    OUTBUF_SIZE,
    active_columns,
    forest_order,
    make_column,
    render_row,
    render_rows,
    sort_procs,
)
from pidone.core.ps.model import Context, Proc
from pidone.core.ps.options import UsageError, format_list, parse_args, parse_format

HZ = 100
NOW = 1_800_000_000  # 2027-01-15 08:00:00 UTC
BTIME = NOW - 86400 * 3


def gm(t: int) -> tuple[int, int, int, int, int, int, int, int]:
    tm = time.gmtime(t)
    return (tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_wday,
            tm.tm_yday)  # fmt: skip


def ctx(utf8: bool = True, uptime: float = 86400 * 3, memtotal: int = 1_000_000) -> Context:
    return Context(
        hz=HZ,
        uptime=uptime,
        btime=BTIME,
        now=NOW,
        memtotal=memtotal,
        page_size=4096,
        utf8=utf8,
        localtime=gm,
    )


def proc(pid: int = 100, comm: bytes = b"sleep", **kw: object) -> Proc:
    f = {
        "state": "S", "ppid": 1, "pgrp": pid, "session": 1, "tty_nr": 0, "tpgid": -1,
        "flags": 0, "utime": 0, "stime": 0, "cutime": 0, "cstime": 0, "priority": 20,
        "nice": 0, "nlwp": 1, "starttime": 100 * HZ, "processor": 0, "rtprio": 0,
        "policy": 0,
    }  # fmt: skip
    f.update({k: v for k, v in kw.items() if k in f})
    fields = [str(f[k]).encode() for k in ("state", "ppid", "pgrp", "session", "tty_nr", "tpgid",
                                           "flags")]  # fmt: skip
    fields += [b"0"] * 4
    fields += [str(f[k]).encode() for k in ("utime", "stime", "cutime", "cstime", "priority",
                                            "nice", "nlwp")]  # fmt: skip
    fields += [b"0", str(f["starttime"]).encode()] + [b"0"] * 16
    fields += [str(f[k]).encode() for k in ("processor", "rtprio", "policy")] + [b"0"] * 10
    p = Proc(pid, comm, fields)
    for key, value in kw.items():
        if key not in f:
            setattr(p, key, value)
    return p


def fmt(name: str, p: Proc, c: Context | None = None, room: int | None = None) -> str:
    field = F.FIELDS[name]
    return field.fmt(p, c or ctx(), field.width if room is None else room)


# ------------------------------------------------------------------- formatters


def test_pcpu_truncates_and_drops_the_decimal_above_99_9():
    c = ctx()
    start = c.boot_tics - 1000  # 10 s old
    assert fmt("pcpu", proc(utime=805, starttime=start), c) == "80.5"
    assert fmt("pcpu", proc(utime=9, starttime=start), c) == "0.9"
    assert fmt("pcpu", proc(utime=1500, stime=5, starttime=start), c) == "150"
    assert fmt("pcpu", proc(utime=0, starttime=start), c) == "0.0"
    assert fmt("c", proc(utime=1500, starttime=start), c) == "99"
    assert fmt("c", proc(utime=5, starttime=start), c) == " 0"


def test_pcpu_uses_the_float_round_trip_of_elapsed_time():
    # boot_tics 130, start 101: 29 ticks; (29 / 100.0) * 100 = 28.999... -> 28 jiffies
    c = ctx(uptime=1.30)
    assert c.boot_tics == 130
    assert fmt("pcpu", proc(utime=28, starttime=101), c) == "100"


def test_pmem_vsz_rss():
    c = ctx(memtotal=24_683_656)
    p = proc(vm_rss=1_160_000, vm_size=46308)
    assert fmt("pmem", p, c) == " 4.6"
    assert fmt("pmem", proc(vm_rss=24_683_656), c) == "99.9"
    assert fmt("vsz", p, c) == "46308"
    assert fmt("rss", p, c) == "1160000"


def test_times():
    assert fmt("bsdtime", proc(utime=72700)) == " 12:07"
    assert fmt("bsdtime", proc(utime=123456 * 60 * HZ)) == "123456:00"
    assert fmt("time", proc(utime=500)) == "00:00:05"
    assert fmt("time", proc(utime=(86400 + 7384) * HZ)) == "1-02:03:04"
    c = ctx()
    assert fmt("etime", proc(starttime=c.boot_tics - 65 * HZ), c) == "01:05"
    assert fmt("etime", proc(starttime=c.boot_tics - 3 * 3600 * HZ), c) == "03:00:00"
    assert fmt("etime", proc(starttime=c.boot_tics - 90000 * HZ), c) == "1-01:00:00"


def test_start_time_formats_by_calendar_day():
    c = ctx()
    today = (NOW - BTIME - 3600) * HZ  # 07:00 today
    yesterday = (NOW - BTIME - 9 * 3600) * HZ  # 23:00 the day before: < 24 h, other day
    assert fmt("start_time", proc(starttime=today), c) == "07:00"
    assert fmt("stime", proc(starttime=yesterday), c) == "Jan14"
    assert fmt("start", proc(starttime=yesterday), c) == "23:00:00"
    assert fmt("start", proc(starttime=0), c) == "  Jan 12"
    old = Context(hz=HZ, uptime=400 * 86400, btime=NOW - 400 * 86400, now=NOW, memtotal=1,
                  page_size=4096, utf8=True, localtime=gm)  # fmt: skip
    assert fmt("start_time", proc(starttime=0), old) == "2025"


def test_stat_flags_in_procps_order():
    assert fmt("stat", proc(pid=1, session=1, nice=-10, vm_lck=4, nlwp=3)) == "S<Lsl"
    assert fmt("stat", proc(pid=7, session=7, pgrp=7, tpgid=7)) == "Ss+"
    assert fmt("stat", proc(nice=19, state="S")) == "SN"
    assert fmt("stat", proc(state="Z")) == "Z"
    assert fmt("stat", proc(state="I", nice=-20, pgrp=5)) == "I<"


def test_user_truncation():
    c = ctx()
    assert fmt("user", proc(user="systemd-timesync", euid=997), c) == "systemd+"
    assert fmt("user", proc(user="systemd-timesync", euid=997), c, 5) == "syst+"
    assert fmt("user", proc(user="root"), c, 5) == "root"
    assert fmt("user", proc(user=None, euid=12345), c) == "12345"
    # the cut is by bytes; inside a multibyte character it shows the number instead
    assert fmt("user", proc(user="jürgen-hä", euid=1001), c) == "jürgen+"
    assert fmt("user", proc(user="aaaaaaéxyz", euid=1001), c) == "1001"


def test_nice_only_for_normal_policies():
    assert fmt("ni", proc(nice=5, policy=0)) == "5"
    assert fmt("ni", proc(nice=0, policy=1)) == "-"
    assert fmt("pri", proc(priority=20)) == "19"


def test_args_kernel_thread_zombie_and_empty():
    c = ctx()
    assert fmt("args", proc(comm=b"kthreadd", cmdline=b""), c, 100) == "[kthreadd]"
    assert fmt("args", proc(comm=b"python3", state="Z", cmdline=b""), c, 100) == (
        "[python3] <defunct>"
    )
    assert fmt("args", proc(cmdline=b"\0\0"), c, 100) == "?"
    assert fmt("args", proc(cmdline=b"sh\0-c\0a\nb\0"), c, 100) == "sh -c a b"
    assert fmt("args", proc(cmdline=b"abcdef\0"), c, 3) == "abc"
    assert fmt("comm", proc(comm=b"sl eep) (x"), c, 100) == "sl eep) (x"


# Captured from procps 4.0.2 `ps -o args` for argv[3] below (LC_ALL as named).
ARG = (
    b"a\tb\x01c\xc3\xa9d\xe2\x80\xa8e\xee\x80\x80f\xc2\x85g\xe2\x28\xa1h\xffi\xe4\xb8\xad"
    b"\xc2\xa0j\xf0\x9f\x98\x80k\xcc\x81l\x7fm\x1bn"
)
PREFIX = b"/usr/bin/python3\0-c\0import time;time.sleep(100)\0"
SEEN_UTF8 = (
    "/usr/bin/python3 -c import time;time.sleep(100) "
    "a?b?c\u00e9d?e\ue000f?g?(?h?i?????j????k??l.m.n"
)
SEEN_C = (
    "/usr/bin/python3 -c import time;time.sleep(100) a.b.c??d???e???f??g?(?h?i?????j????k??l.m.n"
)


def test_escaping_matches_procps_in_both_locales():
    p = proc(cmdline=PREFIX + ARG + b"\0")
    assert F.f_args(p, ctx(utf8=True), 1000) == SEEN_UTF8
    assert F.f_args(p, ctx(utf8=False), 1000) == SEEN_C


def test_escape_stages():
    assert escape_args(b"a\0b\nc\0\0") == b"a b c"
    assert escape_args(b"a b ") == b"a b"
    assert library_escape(b"x\xffy\x01", True) == b"x?y."
    assert library_escape(b"\x01\xc3\xa9", True) == b"?\xc3\xa9"
    assert ps_escape("中文字".encode(), True, 5) == ("中文", 4)
    assert ps_escape(b"abc", False, 2) == ("ab", 2)


def _glibc():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.setlocale.restype = ctypes.c_char_p
    if libc.setlocale(0, b"C.UTF-8") is None:  # LC_CTYPE
        pytest.skip("glibc C.UTF-8 locale is absent")
    libc.wcwidth.argtypes = [ctypes.c_uint]
    libc.iswprint.argtypes = [ctypes.c_uint]
    return libc


def test_width_and_printability_match_glibc():
    libc = _glibc()
    try:
        for code in list(range(0xA0, 0x3400, 7)) + list(range(0xD7A0, 0xD800)) + [
            0xAD, 0x600, 0x1F600, 0x110BD, 0xE000, 0x2028, 0x4DC0, 0x3248, 0xFE0F
        ]:  # fmt: skip
            char = chr(code)
            data = char.encode()
            text, cells = ps_escape(data, True, 10)
            if libc.iswprint(code):
                assert text == char, hex(code)
                assert cells == libc.wcwidth(code) == char_width(char), hex(code)
            else:
                assert text == "?", hex(code)
    finally:
        libc.setlocale(0, b"C")


# -------------------------------------------------------------------- placement


def columns(spec: str, pid_length: int = 5) -> list:
    return [make_column(F.FIELDS[n], pid_length, h, w) for n, h, w in parse_format(spec)]


def test_overflowing_values_shift_and_realign():
    # spec 07 §1.2: `ps -o pid,vsz:2,rss:2,tty,comm`
    cols = columns("pid,vsz:2,rss:2,tty,comm")
    p = proc(pid=1, comm=b"process_api", vm_size=46544, vm_rss=14944, tty="?")
    assert render_row(cols, p, ctx(), OUTBUF_SIZE) == "    1 46544 14944 ?  process_api"
    assert render_rows(cols, [p], ctx(), OUTBUF_SIZE) == ["    1 46544 14944 ?  process_api"]


def test_aux_header_and_row_pid_width_5_and_7():
    spec = "user,pid,pcpu,pmem,vsz,rss,tname,stat,start_time,bsdtime,args"
    assert render_row(columns(spec), None, ctx(), OUTBUF_SIZE) == (
        "USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"
    )
    assert render_row(columns(spec, 7), None, ctx(), OUTBUF_SIZE) == (
        "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"
    )
    f_spec = "uid_hack,pid,ppid,c,stime,tname,time,cmd"
    assert render_row(columns(f_spec, 7), None, ctx(), OUTBUF_SIZE) == (
        "UID          PID    PPID  C STIME TTY          TIME CMD"
    )


def test_fast_and_general_paths_agree():
    spec = "user,pid,pcpu,pmem,vsz,rss,tname,stat,start_time,bsdtime,args"
    cols = columns(spec)
    c = ctx()
    procs = [
        proc(pid=1, user="root", vm_size=46308, vm_rss=14884, cmdline=b"/init\0", nice=-1),
        proc(pid=2, user="systemd-timesync", vm_size=1_234_567, vm_rss=123_456, cmdline=b"x\0"),
        proc(pid=3, user="jürgen", cmdline="ünï\0".encode(), tty="pts/0", utime=99_999_900),
        proc(pid=4, comm=b"kthreadd", cmdline=b"", state="I", nice=-20),
    ]
    for width in (OUTBUF_SIZE, 80, 60, 20):
        active = active_columns(width, cols)
        assert render_rows(cols, procs, c, active) == [
            render_row(cols, p, c, active) for p in procs
        ], width


def test_terminal_width_cuts_the_last_column():
    cols = columns("pid,args")
    p = proc(pid=42, cmdline=b"x" * 200 + b"\0")
    line = render_row(cols, p, ctx(), active_columns(80, cols))
    assert len(line) == 80
    assert line.startswith("   42 xxx")


def test_user_column_pads_when_it_fits_and_shifts_when_numeric_overflows():
    cols = columns("user,pid")
    assert render_row(cols, proc(pid=5, user="root"), ctx(), OUTBUF_SIZE) == "root         5"
    assert render_row(cols, proc(pid=5, user=None, euid=123456789), ctx(), OUTBUF_SIZE) == (
        "123456789    5"
    )


# ------------------------------------------------------------------------ order


def test_forest_order_bsd_and_unix():
    c = ctx()
    procs = [
        proc(pid=1, ppid=0, starttime=1),
        proc(pid=2, ppid=0, starttime=1),
        proc(pid=10, ppid=1, starttime=5),
        proc(pid=11, ppid=10, starttime=6),
        proc(pid=12, ppid=10, starttime=7),
        proc(pid=20, ppid=2, starttime=3),
    ]
    keys = [(F.FIELDS["ppid"], False), (F.FIELDS["start_time"], False)]
    ordered = sort_procs(procs, keys, c)
    c.forest_type = "b"
    got = [(p.pid, prefix) for p, prefix in forest_order(ordered, c)]
    # roots come from the end of the sorted list; PID 1's children stay at its level
    assert got == [(2, ""), (20, "L"), (1, ""), (10, ""), (11, "+"), (12, "L")]
    c.forest_type = "u"
    got = [(p.pid, prefix) for p, prefix in forest_order(ordered, c)]
    assert got == [(2, ""), (20, "L"), (1, ""), (10, "L"), (11, " +"), (12, " L")]
    c.forest_prefix = " +"
    assert F.f_args(proc(cmdline=b"sleep\0"), c, 100) == "    sleep"
    c.forest_type = "b"
    assert F.f_args(proc(cmdline=b"sleep\0"), c, 100) == "     \\_ sleep"
    c.forest_prefix = "|L"
    assert F.f_comm(proc(comm=b"sh"), c, 100) == " |   \\_ sh"


def test_forest_of_a_very_deep_chain_needs_no_recursion():
    c = ctx()
    c.forest_type = "u"
    chain = [proc(pid=10 + i, ppid=9 + i, starttime=i) for i in range(3000)]
    order = forest_order(sort_procs(chain, [(F.FIELDS["ppid"], False)], c), c)
    assert [p.pid for p, _ in order] == [p.pid for p in chain]
    assert order[-1][1] == " " * 2998 + "L"


def test_sort_is_stable_and_multi_key():
    c = ctx()
    procs = [proc(pid=1, user="b"), proc(pid=2, user="a"), proc(pid=3, user="b")]
    got = sort_procs(procs, [(F.FIELDS["user"], False), (F.FIELDS["pid"], True)], c)
    assert [p.pid for p in got] == [2, 3, 1]


# --------------------------------------------------------------------- options


def test_formats_for_common_command_lines():
    def names(argv):
        return [n for n, _h, _w in format_list(parse_args(argv))]

    assert names(["aux"]) == (
        [
            "user",
            "pid",
            "pcpu",
            "pmem",
            "vsz",
            "rss",
            "tname",
            "stat",
            "start_time",
            "bsdtime",
            "args",
        ]
    )
    assert names(["-ef"]) == ["uid_hack", "pid", "ppid", "c", "stime", "tname", "time", "cmd"]
    assert names(["x"]) == ["pid", "tname", "stat", "bsdtime", "args"]
    assert names(["-e"]) == ["pid", "tname", "time", "ucmd"]
    assert names(["aux", "--unit"])[-2:] == ["unit", "args"]


def test_selection_bits():
    assert parse_args([]).select_bits == 0xAA00
    assert parse_args(["x"]).select_bits == 0xAAAA
    assert parse_args(["a"]).select_bits == 0x0F0F
    assert parse_args(["aux"]).all
    assert parse_args(["-e"]).all
    assert parse_args(["-p", "1,2"]).pids == {1, 2}


def test_format_parsing():
    assert parse_format("pid,user:12,args=CMD") == [
        ("pid", None, None),
        ("user", None, 12),
        ("args", "CMD", None),
    ]
    assert parse_format("pid,args=X=Y") == [("pid", None, None), ("args", "X=Y", None)]
    with pytest.raises(UsageError, match='unknown user-defined format specifier "LINE"'):
        parse_format("pid,args=COMMAND LINE")  # procps 4.0.2 says the same
    assert parse_format("pid=X,comm") == [("pid", "X", None), ("comm", None, None)]
    assert parse_format("pid,") == [("pid", None, None)]
    with pytest.raises(UsageError, match="improper format list"):
        parse_format("pid,,comm")
    with pytest.raises(UsageError, match='unknown user-defined format specifier "B"'):
        parse_format("comm=A B,pid")
    with pytest.raises(UsageError, match="column widths"):
        parse_format("pid:0")


def test_json_and_unknown_options():
    assert parse_args(["-o", "json"]).json
    with pytest.raises(UsageError):
        parse_args(["--bogus"])
    with pytest.raises(UsageError):
        parse_args(["-Z"])
