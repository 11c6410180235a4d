"""Unit tests of the status renderer's pieces, at fixed width (the golden files cover layout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pidone.core.render.jsonout import status_document
from pidone.core.render.status import (
    format_bytes,
    format_cgroup_tree,
    format_exit_description,
    format_exit_status,
    format_local_timestamp,
    format_relative,
    format_status,
    quote_arg,
    state_glyph,
    status_exit_code,
)
from pidone.core.statusview import (
    ExecRun,
    ProcessEntry,
    StatusView,
    UnitRef,
    parse_exec_property,
    parse_show_timestamp,
    view_from_status_info,
)

NOW = 1_764_430_000_000_000  # Sat 2025-11-29 15:26:40 UTC


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0B"),
        (1023, "1023B"),
        (1024, "1.0K"),
        (1535, "1.4K"),  # truncated, not rounded (1.499...)
        (1536, "1.5K"),
        (27_158_528, "25.9M"),
        (5_138_022, "4.8M"),  # 4.8999... truncates
        (1024**3, "1.0G"),
        (6_012_954_214, "5.5G"),
    ],
)
def test_format_bytes_truncates(size: int, text: str) -> None:
    assert format_bytes(size) == text


@pytest.mark.parametrize(
    ("arg", "quoted"),
    [
        ("plain", "plain"),
        ("", '""'),
        ("a b", '"a b"'),
        ("import time; time.sleep(1)", '"import time; time.sleep(1)"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("$HOME", '"\\$HOME"'),
        ("glob*", '"glob*"'),
        ("nginx: worker", '"nginx: worker"'),
        ("-c", "-c"),
        ("a=b,c", "a=b,c"),
    ],
)
def test_quote_arg(arg: str, quoted: str) -> None:
    assert quote_arg(arg) == quoted


def test_exit_descriptions() -> None:
    assert format_exit_description(1, 0) == "code=exited, status=0/SUCCESS"
    assert format_exit_description(1, 2) == "code=exited, status=2"  # LSB: no name in status
    assert format_exit_description(1, 203) == "code=exited, status=203/EXEC"
    assert format_exit_description(2, 15) == "code=killed, signal=TERM"
    assert format_exit_description(3, 11) == "code=dumped, signal=SEGV"


def test_glyphs() -> None:
    assert [state_glyph(s) for s in ("active", "reloading", "inactive", "failed")] == [
        "●",
        "↻",
        "○",
        "×",
    ]
    assert [state_glyph(s, utf8=False) for s in ("active", "inactive", "failed")] == [
        "*",
        "*",
        "x",
    ]


def _running() -> StatusView:
    return StatusView(
        id="web.service",
        description="Web",
        fragment_path="/etc/systemd/system/web.service",
        unit_file_state="disabled",
        unit_file_preset="enabled",
        active_state="active",
        sub_state="running",
        active_enter_usec=NOW - 125_000_000,
        main_pid=1233,
        exec_main_pid=1233,
        main_comm="nginx",
        tasks_current=3,
        tasks_max=4915,
        memory_current=5_138_022,
        cpu_usage_nsec=48_123_456,
        control_group="/system.slice/web.service",
        processes=(
            ProcessEntry(1233, ("nginx: master process /usr/sbin/nginx",)),
            ProcessEntry(99999, ("nginx: worker process",)),
            ProcessEntry(1235, (), comm="kworker"),
        ),
        exec_runs=(ExecRun("ExecStartPre", ("/usr/sbin/nginx", "-t"), 1230, 1, 0),),
        journal_lines=tuple(f"line {i}" for i in range(15)),
    )


def test_full_block() -> None:
    text = format_status(_running(), now_usec=NOW, tz=UTC, lines=2)
    assert text == (
        "● web.service - Web\n"
        "     Loaded: loaded (/etc/systemd/system/web.service; disabled; preset: enabled)\n"
        "     Active: active (running) since Sat 2025-11-29 15:24:35 UTC; 2min 5s ago\n"
        "    Process: 1230 ExecStartPre=/usr/sbin/nginx -t (code=exited, status=0/SUCCESS)\n"
        "   Main PID: 1233 (nginx)\n"
        "      Tasks: 3 (limit: 4915)\n"
        "     Memory: 4.8M\n"
        "        CPU: 48ms\n"
        "     CGroup: /system.slice/web.service\n"
        '             ├─ 1233 "nginx: master process /usr/sbin/nginx"\n'
        "             ├─ 1235 [kworker]\n"
        '             └─99999 "nginx: worker process"\n'
        "\n"
        "line 13\n"
        "line 14\n"
    )


def test_tty_width_cuts_tree_lines_and_colours() -> None:
    text = format_status(_running(), now_usec=NOW, tz=UTC, lines=0, full=False, width=40)
    tree = [line for line in text.splitlines() if "─" in line]
    assert all(len(line) <= 40 for line in tree)
    assert tree[0].endswith("…")
    coloured = format_status(_running(), now_usec=NOW, tz=UTC, lines=0, color=True)
    assert coloured.startswith("\x1b[0;1;32m●\x1b[0m web.service")
    assert "\x1b[0;1;38;5;185mdisabled\x1b[0m" in coloured


def test_sub_cgroups_and_outside_processes() -> None:
    from pidone.core.render.status import _Opts

    procs = [
        ProcessEntry(10, ("a",)),
        ProcessEntry(12, ("b",), cgroup="payload"),
        ProcessEntry(13, ("c",), cgroup="payload/inner"),
        ProcessEntry(7, ("d",), outside=True),
    ]
    lines = format_cgroup_tree(procs, "  ", _Opts(NOW, UTC, True, False, True, 0))
    assert lines == [
        "  ├─10 a",
        "  └─payload",
        "    ├─12 b",
        "    └─inner",
        "      └─13 c",
        "  ‣ 7 d",
    ]


def test_triggers_and_exit_codes() -> None:
    view = StatusView(
        id="s.service",
        triggered_by=(UnitRef("s.socket", "active"), UnitRef("s.path", "failed")),
    )
    text = format_status(view, now_usec=NOW, tz=UTC)
    assert "TriggeredBy: ● s.socket\n             × s.path\n" in text
    assert status_exit_code([view]) == 3
    assert status_exit_code([None, view]) == 4
    assert status_exit_code([]) == 0


def test_parsers_of_show_values() -> None:
    assert parse_show_timestamp("Sun 2026-11-29 15:28:49 UTC") == 1_795_966_129_000_000
    assert parse_show_timestamp("") == 0
    run = parse_exec_property(
        "ExecStart",
        "{ path=/bin/sh ; argv[]=/bin/sh -c exit 3 ; ignore_errors=no ; start_time=[x] ; "
        "stop_time=[y] ; pid=101 ; code=exited ; status=3 }",
    )
    assert run == ExecRun("ExecStart", ("/bin/sh", "-c", "exit", "3"), 101, 1, 3)


def test_view_from_daemon_json_and_json_document() -> None:
    info = {
        "unit": "a.service",
        "description": "A",
        "load_state": "loaded",
        "fragment_path": "/u/a.service",
        "active": "failed",
        "sub": "failed",
        "result": "signal",
        "since": NOW - 1_000_000,
        "exec_main_pid": 42,
        "exec_main_exit": "code=killed, status=9/KILL",
        "processes": [],
    }
    view = view_from_status_info(info)
    assert (view.exec_main_code, view.exec_main_status) == (2, 9)
    text = format_status(view, now_usec=NOW, tz=UTC)
    assert "   Main PID: 42 (code=killed, signal=KILL)\n" in text
    doc = json.loads(json.dumps(status_document([view], ["nope.service"])))
    assert doc["schema"] == "pidone/1"
    assert doc["not_found"] == ["nope.service"]
    unit = doc["units"][0]
    assert unit["active"]["inactive_enter"] == NOW - 1_000_000
    assert unit["main"] == {
        "pid": 42,
        "running": False,
        "comm": None,
        "exit": {"code": "killed", "status": 9, "text": "code=killed, signal=KILL"},
    }


def test_collected_units_lose_their_runtime() -> None:
    from pidone.core.statusview import as_collected, looks_collected

    done = StatusView(
        id="job.service",
        active_state="inactive",
        inactive_enter_usec=NOW - 1_000_000,
        active_enter_usec=NOW - 2_000_000,
        active_exit_usec=NOW - 1_000_000,
        exec_main_pid=5,
        exec_main_code=1,
        exec_runs=(ExecRun("ExecStart", ("/bin/true",), 5, 1, 0),),
    )
    assert looks_collected(done)
    assert not looks_collected(done, referenced=True)
    assert not looks_collected(done._replace(active_state="failed", result="exit-code"))
    assert not looks_collected(done._replace(result="exit-code"))
    text = format_status(as_collected(done), now_usec=NOW, tz=UTC)
    assert text == "○ job.service\n     Loaded: loaded\n     Active: inactive (dead)\n"


def test_lossy_daemon_cmdline_is_printed_as_given() -> None:
    view = view_from_status_info(
        {
            "unit": "p.service",
            "load_state": "loaded",
            "active": "active",
            "sub": "running",
            "main_pid": 7,
            "control_group": "/p.service",
            "processes": [[7, "python3 -c import time; time.sleep(9)"], [8, ["a b", "c"]]],
        }
    )
    text = format_status(view, now_usec=NOW, tz=UTC)
    assert "             ├─7 python3 -c import time; time.sleep(9)\n" in text
    assert '             └─8 "a b" c\n' in text
    doc = status_document([view])
    assert doc["units"][0]["cgroup"]["processes"][0]["cmdline"].startswith("python3 -c")


# --- the status formatters: the originals, imported without datetime/dataclasses -----------


def test_status_formatters_are_the_originals() -> None:
    from pidone.core import exitstatus, timefmt, values
    from pidone.core.render import statusfmt

    assert statusfmt.format_exit_status is exitstatus.format_exit_status
    assert statusfmt.format_timespan is timefmt.format_timespan is values.format_timespan
    assert statusfmt.format_relative is timefmt.format_timestamp_relative
    assert (format_exit_status(203), format_exit_status(3)) == ("203/EXEC", "3")
    assert format_relative(NOW - 300_000_000, NOW) == "5min ago"


@given(st.integers(min_value=0, max_value=7_258_118_400_000_000))  # to 2200
def test_local_timestamp_is_timefmt_format_timestamp(usec: int) -> None:
    from pidone.core.timefmt import format_timestamp

    # both in the process's zone: time.localtime here, datetime.astimezone() there
    assert format_local_timestamp(usec, time.localtime) == format_timestamp(usec)


def test_status_with_localtime_is_status_in_the_local_zone() -> None:
    view = _running()
    assert format_status(view, now_usec=NOW, localtime=time.localtime) == format_status(
        view, now_usec=NOW
    )


def test_the_status_path_imports_no_dataclasses_typing_or_datetime() -> None:
    """What bench/cli.py needs (status <= 3x `python3 -c pass`): the modules of the status
    path render a unit from a daemon answer without these imports."""
    code = (
        "import sys, time\n"
        "from pidone.cli.status import Options, build_view\n"
        "from pidone.core.render.status import format_status\n"
        "info = {'unit': 'x.service', 'load_state': 'loaded', 'active': 'active',\n"
        "        'sub': 'running', 'processes': [[5, ['/bin/sleep', '9'], 'sleep']],\n"
        "        'runtime': {'active_state': 'active', 'main_pid': 5,\n"
        "                    'active_enter': [1764430000000000, 1], 'control_group': '/x'},\n"
        "        'cgroup_figures': [5000000, None, None], 'unit_file_state': 'static',\n"
        "        'journal': [[1764430000000000, 1764430000000000, ' h x[5]: hi']]}\n"
        "text = format_status(build_view(info, Options()), now_usec=1764430060000000,\n"
        "                     localtime=time.gmtime)\n"
        "assert 'CPU: 5ms' in text and 'Nov 29 15:26:40 h x[5]: hi' in text, text\n"
        "heavy = {'dataclasses', 'typing', 'datetime', 'inspect', 'sqlite3', 'shlex',\n"
        "         'collections'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    env = {**os.environ, "TZ": "UTC"}  # the journal time is printed in the local zone
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (out.returncode, out.stdout, out.stderr) == (0, "[]\n", "")
