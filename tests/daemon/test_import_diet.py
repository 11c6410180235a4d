"""The running daemon's import diet (issue 3: daemon RSS <= 0.75 of supervisord's).

A real daemon (PID 1 of a fresh PID namespace, pidone.testing.harness) runs with
PYTHONPROFILEIMPORTTIME=1, starts a service, answers `status`, stops; every module it
imported on the way is in its log. None of the modules below may be among them: each one
was removed from the daemon on purpose and costs RSS in every running daemon:

* dataclasses (+ inspect, ast, dis, tokenize, linecache: ~2.8 MiB, and it exec()s the
  methods of every class): src uses core.dataclass_lite;
* typing (~0.65 MiB): src imports typing's names from core.hints;
* argparse (+ gettext, locale, and shutil with bz2/lzma for its help formatter): the
  daemon's options have a hand parser (daemon/main.py);
* ctypes (~0.3-0.7 MiB): only a daemon that is not PID 1 and was not started through the
  compiled launcher loads it, to become a child subreaper (prctl(2); the launcher does
  that before exec: tests/system/test_launcher_subreaper.py), and a daemon whose units
  ask for sandboxing (the mount namespace
  probe), for capabilities on the fork path, for a realtime timer's clock watch, and for
  inotify (a PID file not written yet);
* traceback (+ linecache, tokenize, textwrap): only when a loop callback fails;
* platform (os.uname() instead), calendar (+ locale; core.calendar counts the days),
  zoneinfo (read by the first timer unit), ipaddress (only for IP socket addresses),
  glob (ConditionACPower=, PathExistsGlob=), base64 (StandardInputData=), zlib
  (binascii.crc32 for DynamicUser=): none is needed by a daemon running one service;
* pidone's own core.calendar (OnCalendar= only), linux.conditions (Condition*=/Assert*=
  only), core.render.sockets/timers (list-sockets, list-timers, status of those units),
  linux.sockets and core.socketunit (socket units), core.timerunit (timer units),
  linux.timerstamps (Persistent= timers). (linux.proctrack
  is loaded only without a writable cgroup2, but is not guarded: hosts differ.)
* the spawn child's modules: linux.spawnhelper (the Python spawn helper's own process
  runs it; with ctypes, mmap and marshal) and linux.stdiosteps (with termios): the spawn
  helpers open stdio and do the child's steps, the daemon only plans them.

If this fails, the message names the module and the import chain that pulled it in: make
that import lazy (inside the function that needs it) rather than widening this list.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from pidone.testing.harness import NamespaceDaemon

GUARDED = frozenset(
    {
        "dataclasses",
        "inspect",
        "ast",
        "dis",
        "tokenize",
        "linecache",
        "typing",
        "ctypes",
        "argparse",
        "gettext",
        "locale",
        "shutil",
        "traceback",
        "textwrap",
        "platform",
        "calendar",
        "zoneinfo",
        "ipaddress",
        "glob",
        "base64",
        "zlib",
        "pidone.core.calendar",
        "pidone.linux.conditions",
        "pidone.core.render.sockets",
        "pidone.core.render.timers",
        "pidone.linux.sockets",
        "pidone.core.socketunit",
        "pidone.core.timerunit",
        "pidone.linux.timerstamps",
        "termios",
        "mmap",
        "pidone.linux.spawnhelper",
        "pidone.linux.stdiosteps",
    }
)
_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|( *)(\S+)\s*$")


def imported(log: str) -> list[tuple[int, str]]:
    """(depth, module) of every `-X importtime` line, in the order Python printed them
    (a module's imports come before it, one level deeper)."""
    rows = []
    for line in log.splitlines():
        m = _LINE.match(line)
        if m is not None:
            rows.append((len(m.group(1)) // 2, m.group(2)))
    return rows


def chain(rows: list[tuple[int, str]], index: int) -> str:
    """`module <- importer <- ...` for rows[index]."""
    depth, names = rows[index][0], [rows[index][1]]
    for d, name in rows[index + 1 :]:
        if d < depth:
            names.append(name)
            depth = d
    return " <- ".join(names) + (" <- (a function-level import)" if depth > 0 else "")


def test_the_parser_of_importtime_lines_finds_chains() -> None:
    log = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:        10 |         10 |     a\n"
        "import time:        10 |         20 |   b\n"
        "import time:        10 |         30 | c\n"
    )
    rows = imported(log)
    assert rows == [(2, "a"), (1, "b"), (0, "c")]
    assert chain(rows, 0) == "a <- b <- c"


def test_a_running_daemon_imports_none_of_the_guarded_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.geteuid() != 0:
        pytest.skip("a namespace daemon needs root (PID namespaces)")
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is not installed")
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")  # inherited through harness.env
    units = {"a.service": "[Service]\nExecStart=/bin/sleep 1000\n"}
    with NamespaceDaemon(tmp_path / "diet", units, args=["--start", "a.service"]) as d:
        d.wait_state("a.service", "active")
        d.call("status", units=["a.service"], detail=True)
        d.call("list-units")
        assert d.stop() == 0
        log = d.log()
    rows = imported(log)
    assert any(name == "pidone.daemon.main" for _depth, name in rows), log[-2000:]
    found = [chain(rows, i) for i, (_d, name) in enumerate(rows) if name in GUARDED]
    assert found == []


def _rss_anon_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("RssAnon:")).split()[1])


def test_the_spawn_helper_stays_small_after_a_privileged_unit(tmp_path: Path) -> None:
    """The daemon's spawn helper (linux.spawnhelper) loads the child steps a plan needs on
    first use, and every module it holds is memory whose page tables each later clone3(2)
    copies. A unit with capabilities, IO scheduling and a file stream (redis-server's
    CapabilityBoundingSet=, chrony's...) once loaded linux.privileges and linux.stdio with
    pidone.core.model: +2.2 MiB, for every later spawn of every service."""
    if os.geteuid() != 0:
        pytest.skip("a namespace daemon needs root (PID namespaces)")
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is not installed")
    log = tmp_path / "caps.log"
    units = {
        "plain.service": "[Service]\nExecStart=/bin/sleep 1000\n",
        "caps.service": (
            "[Service]\nExecStart=/bin/sleep 1000\nUser=nobody\n"
            "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID\n"
            f"IOSchedulingClass=best-effort\nStandardOutput=append:{log}\n"
        ),
    }
    with NamespaceDaemon(tmp_path / "helper", units, args=["--start", "plain.service"]) as d:
        d.wait_state("plain.service", "active")
        helper = d.spawn_helper_pid()
        if helper == 0:
            pytest.skip("no spawn helper (PIDONE_NO_CLONE3 or no clone3)")
        before = _rss_anon_kib(helper)
        d.call("start", units=["caps.service"])
        d.wait_state("caps.service", "active")
        assert d.spawn_helper_pid() == helper
        after = _rss_anon_kib(helper)
        assert d.stop() == 0
    assert after - before < 1024, (before, after)  # KiB


def test_both_ends_of_the_spawn_helper_protocol_read_the_same_reply() -> None:
    """linux.spawn_cgroup states the reply format itself instead of importing
    linux.spawnhelper (which would bring that module's imports into the daemon)."""
    from pidone.linux import spawn_cgroup, spawnhelper

    assert spawn_cgroup.REPLY.format == spawnhelper.REPLY.format
    assert spawn_cgroup.HELPER_COMM.encode() == spawnhelper.HELPER_COMM
