"""`pidone journal`: journalctl's options and output formats on a prepared journal."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys

import pytest

from pidone.core.journal import StreamSplitter
from pidone.journal.store import JournalWriter

RT = 1_795_958_468_495_908  # Sun 2026-11-29 13:21:08.495908 UTC


@pytest.fixture
def journal(tmp_path):
    path = str(tmp_path / "journal.sqlite")
    w = JournalWriter(path, "0123abcd")
    nginx = w.context(
        "b" * 32,
        "nginx.service",
        "nginx",
        {
            "_HOSTNAME": b"vm",
            "SYSLOG_IDENTIFIER": b"nginx",
            "_PID": b"1233",
            "_SYSTEMD_UNIT": b"nginx.service",
            "_COMM": b"nginx",
        },
    )
    mgr = w.context(
        "b" * 32,
        "nginx.service",
        "systemd",
        {
            "_HOSTNAME": b"vm",
            "SYSLOG_IDENTIFIER": b"systemd",
            "_PID": b"1",
            "UNIT": b"nginx.service",
        },
    )
    other = w.context(
        "b" * 32,
        "redis-server.service",
        "redis",
        {"_HOSTNAME": b"vm", "_COMM": b"redis-server", "_PID": b"77"},
    )
    w.append(mgr, RT, 284_981_111, 6, b"Starting nginx.service - A web server...")
    w.append_batch(
        nginx,
        RT + 1_000_000,
        285_981_111,
        StreamSplitter().feed(b"ready\n<3>bind failed\nline one\n"),
    )
    w.append(other, RT + 2_000_000, 286_000_000, 6, b"Ready to accept connections")
    w.append(nginx, RT + 3_000_000, 287_000_000, 6, b"multi\nline")
    w.append(nginx, RT + 4_000_000, 288_000_000, 6, b"bin\x01ary")
    w.close()
    return path


def run(journal, *args, env_extra=None):
    env = dict(os.environ, TZ="UTC", LANG="C.UTF-8")
    env.update(env_extra or {})
    proc = subprocess.run(
        [sys.executable, "-m", "pidone", "journal", "--file", journal, *args],
        capture_output=True,
        env=env,
        timeout=60,
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_short_format_exact(journal):
    rc, out, _ = run(journal, "-u", "nginx")
    assert rc == 0
    assert out == (
        "Nov 29 13:21:08 vm systemd[1]: Starting nginx.service - A web server...\n"
        "Nov 29 13:21:09 vm nginx[1233]: ready\n"
        "Nov 29 13:21:09 vm nginx[1233]: bind failed\n"
        "Nov 29 13:21:09 vm nginx[1233]: line one\n"
        "Nov 29 13:21:11 vm nginx[1233]: multi\n"
        "                                line\n"
        "Nov 29 13:21:12 vm nginx[1233]: [7B blob data]\n"
    )


def test_identifier_falls_back_to_comm(journal):
    _, out, _ = run(journal, "-u", "redis-*")
    assert out == "Nov 29 13:21:10 vm redis-server[77]: Ready to accept connections\n"


def test_lines_priority_grep_and_reverse(journal):
    assert run(journal, "-n", "2", "-o", "cat")[1] == "multi\nline\nbin\x01ary\n"
    assert run(journal, "-p", "err", "-o", "cat")[1] == "bind failed\n"
    # an upper-case letter makes the pattern case-sensitive (journalctl smart case)
    assert run(journal, "-g", "READY", "-o", "cat")[1] == "-- No entries --\n"
    assert run(journal, "-g", "ready", "-o", "cat")[1] == "ready\nReady to accept connections\n"
    assert run(journal, "-r", "-n", "1", "-o", "cat")[1] == "bin\x01ary\n"


def test_no_entries_and_grep_exit_code(journal):
    assert run(journal, "-u", "absent.service") == (0, "-- No entries --\n", "")
    rc, out, _ = run(journal, "-g", "zzz")
    assert (rc, out) == (1, "-- No entries --\n")
    assert run(journal, "-q", "-u", "absent.service")[1] == ""


def test_other_short_modes(journal):
    first = lambda mode: run(journal, "-o", mode, "-n", "+1", "-r")[1]  # noqa: E731
    assert run(journal, "-o", "short-iso", "-u", "redis*")[1].startswith(
        "2026-11-29T13:21:10+0000 vm redis-server[77]:"
    )
    assert run(journal, "-o", "short-precise", "-u", "redis*")[1].startswith(
        "Nov 29 13:21:10.495908 vm"
    )
    assert run(journal, "-o", "short-monotonic", "-u", "redis*")[1].startswith("[  286.000000] vm")
    assert run(journal, "-o", "short-full", "-u", "redis*")[1].startswith(
        "Sun 2026-11-29 13:21:10 UTC vm"
    )
    assert run(journal, "-o", "short-unix", "-u", "redis*")[1].startswith("1795958470.495908 vm")
    assert first("cat") == "bin\x01ary\n"


def test_json_values_are_strings_and_binary_is_an_array(journal):
    _, out, _ = run(journal, "-o", "json", "-n", "2")
    multi, binary = (json.loads(line) for line in out.splitlines())
    assert multi["MESSAGE"] == "multi\nline"
    assert multi["PRIORITY"] == "6"
    assert multi["__REALTIME_TIMESTAMP"] == str(RT + 3_000_000)
    assert multi["__CURSOR"].startswith("s=0123abcd;i=6;")
    assert binary["MESSAGE"] == list(b"bin\x01ary")


def test_cursor_options(journal):
    _, out, _ = run(journal, "-n", "1", "--show-cursor", "-u", "redis*")
    cursor = out.splitlines()[-1].removeprefix("-- cursor: ")
    assert cursor.startswith("s=0123abcd;i=5;")
    _, after, _ = run(journal, "--after-cursor", cursor, "-o", "cat")
    assert after == "multi\nline\nbin\x01ary\n"


def test_since_until(journal):
    _, out, _ = run(
        journal, "--since", "2026-11-29 13:21:10", "--until", "2026-11-29 13:21:11", "-o", "cat"
    )
    assert out == "Ready to accept connections\n"


def test_bad_options_are_one_line_errors(journal):
    rc, _, err = run(journal, "-p", "loud")
    assert (rc, err) == (1, "Unknown log level loud\n")
    rc, _, err = run(journal, "-o", "fancy")
    assert (rc, err) == (1, "Unknown output format 'fancy'.\n")


def test_follow_prints_new_entries(journal):
    env = dict(os.environ, TZ="UTC")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pidone",
            "journal",
            "--file",
            journal,
            "-f",
            "-n",
            "1",
            "-o",
            "cat",
        ],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"bin\x01ary\n"
        w = JournalWriter(journal, "x")
        ctx = w.context("b" * 32, "nginx.service", "nginx", {})
        w.append(ctx, RT + 9_000_000, 1, 6, b"a new line")
        w.close()
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "follow did not print the new entry within 30 s"
        assert proc.stdout.readline() == b"a new line\n"
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
