"""FIELD=VALUE matches (journalctl(1) MATCHES): one field's values are ORed, different fields
ANDed, context fields (_SYSTEMD_INVOCATION_ID=) and per-record ones (INVOCATION_ID=) alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pidone.journal.store import JournalReader, JournalWriter, Query

A, B = "a" * 32, "b" * 32


def make_journal(path: str) -> None:
    w = JournalWriter(path, "seq")
    mgr = w.context("boot", "s.socket", "systemd", {"UNIT": b"s.socket", "_PID": b"1"})
    pre = w.context(
        "boot",
        "s.socket",
        "echo",
        {"_SYSTEMD_UNIT": b"s.socket", "_SYSTEMD_INVOCATION_ID": A.encode(), "_PID": b"7"},
    )
    w.append(mgr, 1_000_000, 5, 6, b"Starting s.socket...", {"INVOCATION_ID": A.encode()})
    w.append(pre, 1_000_001, 6, 6, b"pre says hi")
    w.append(mgr, 1_000_002, 7, 6, b"Listening on s.socket.", {"INVOCATION_ID": A.encode()})
    w.append(mgr, 1_000_003, 8, 6, b"Listening on s.socket.", {"INVOCATION_ID": B.encode()})
    w.close()


def messages(path: str, matches: list[tuple[str, bytes]]) -> list[bytes]:
    r = JournalReader(path)
    try:
        return [e.message for e in r.entries(Query(matches=matches))]
    finally:
        r.close()


def test_matches_select_records_by_any_field(tmp_path: Path) -> None:
    path = str(tmp_path / "j.sqlite")
    make_journal(path)
    assert messages(path, [("_SYSTEMD_INVOCATION_ID", A.encode())]) == [b"pre says hi"]
    assert messages(path, [("INVOCATION_ID", A.encode())]) == [
        b"Starting s.socket...",
        b"Listening on s.socket.",
    ]
    # the same field twice: either value; two fields: both
    assert len(messages(path, [("INVOCATION_ID", A.encode()), ("INVOCATION_ID", B.encode())])) == 3
    assert messages(path, [("INVOCATION_ID", B.encode()), ("_PID", b"1")]) == [
        b"Listening on s.socket."
    ]
    assert messages(path, [("INVOCATION_ID", B.encode()), ("_PID", b"7")]) == []


def test_the_cli_takes_any_field_match(tmp_path: Path) -> None:
    path = str(tmp_path / "j.sqlite")
    make_journal(path)
    env = dict(os.environ, TZ="UTC", LANG="C.UTF-8")
    argv = [sys.executable, "-m", "pidone", "journal", "--file", path, "-o", "cat"]
    out = subprocess.run(
        [*argv, f"_SYSTEMD_INVOCATION_ID={A}"], capture_output=True, text=True, env=env, check=False
    )
    assert (out.returncode, out.stdout) == (0, "pre says hi\n")
    bad = subprocess.run([*argv, "lower=x"], capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 1
    assert "unsupported match 'lower=x'" in bad.stderr
