"""Condition*=/Assert*= checks: list semantics (triggers, negation, asserts) and the kinds."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from pidone.core.model import Condition
from pidone.linux.conditions import CHECKS, evaluate, format_check


def cond(kind: str, value: str, *, trigger: bool = False, negate: bool = False) -> Condition:
    return Condition(kind, value, trigger=trigger, negate=negate)


def test_every_plain_check_must_hold(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    v = evaluate([cond("PathExists", str(tmp_path / "f")), cond("PathExists", "/nonexistent")], [])
    assert (v.ok, v.failed, v.assert_failed) == (False, "ConditionPathExists=/nonexistent", False)
    assert evaluate([cond("PathExists", str(tmp_path / "f"))], []).ok


def test_negation_and_triggers(tmp_path: Path) -> None:
    assert evaluate([cond("PathExists", "/nonexistent", negate=True)], []).ok
    triggers = [
        cond("PathExists", "/nonexistent", trigger=True),
        cond("PathIsDirectory", str(tmp_path), trigger=True),
    ]
    assert evaluate(triggers, []).ok  # one trigger holds: enough
    v = evaluate([cond("PathExists", "/nonexistent", trigger=True)], [])
    assert (v.ok, v.failed) == (False, "ConditionPathExists=|/nonexistent")


def test_a_failed_assert_is_reported_as_such() -> None:
    a = Condition("PathExists", "/nonexistent", is_assert=True)
    v = evaluate([], [a])
    assert (v.ok, v.failed, v.assert_failed) == (False, "AssertPathExists=/nonexistent", True)


def test_unknown_kinds_pass_with_a_warning() -> None:
    v = evaluate([cond("FrobnicatorPresent", "yes")], [])
    assert v.ok
    assert v.warnings == ("Unsupported check ConditionFrobnicatorPresent=yes, assuming it holds.",)


def test_file_checks(tmp_path: Path) -> None:
    empty, full, exe, d = tmp_path / "e", tmp_path / "full", tmp_path / "x", tmp_path / "d"
    empty.write_text("")
    full.write_text("data")
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    d.mkdir()
    assert not CHECKS["FileNotEmpty"](str(empty))
    assert CHECKS["FileNotEmpty"](str(full))
    assert CHECKS["FileIsExecutable"](str(exe))
    assert not CHECKS["FileIsExecutable"](str(full))
    assert not CHECKS["DirectoryNotEmpty"](str(d))
    assert CHECKS["DirectoryNotEmpty"](str(tmp_path))
    assert CHECKS["PathExistsGlob"](str(tmp_path / "f*"))
    assert not CHECKS["PathExistsGlob"](str(tmp_path / "zz*"))


def test_host_facts() -> None:
    assert CHECKS["User"](str(os.getuid()))
    assert CHECKS["Group"](str(os.getgid()))
    assert CHECKS["CPUs"](f">={len(os.sched_getaffinity(0))}")
    assert not CHECKS["CPUs"](f">{len(os.sched_getaffinity(0))}")
    assert CHECKS["Memory"](">1M")
    assert CHECKS["KernelVersion"](f">={platform.release().split('-')[0]}")
    assert CHECKS["Environment"]("PATH") == ("PATH" in os.environ)
    assert CHECKS["Architecture"]("native")
    assert not CHECKS["Architecture"]("no-such-arch")
    assert CHECKS["KernelCommandLine"]("no_such_kernel_word_xyz") is False


@pytest.mark.parametrize(
    "c",
    [
        Condition("PathExists", "/x", trigger=True, negate=True),
        Condition("User", "root", is_assert=True),
    ],
)
def test_format_check(c: Condition) -> None:
    prefix = "Assert" if c.is_assert else "Condition"
    assert format_check(c).startswith(f"{prefix}{c.kind}=")
    assert format_check(c).endswith(c.value)


def test_path_exists_glob_expands_braces_as_glob_brace(tmp_path: Path) -> None:
    """clamav-daemon.service: ConditionPathExistsGlob=/var/lib/clamav/main.{c[vl]d,inc}."""
    from pidone.linux.conditions import brace_expand

    assert brace_expand("/x/main.{c[vl]d,inc}") == ["/x/main.c[vl]d", "/x/main.inc"]
    assert brace_expand("{a,b{c,d}}-{1,2}") == ["a-1", "a-2", "bc-1", "bc-2", "bd-1", "bd-2"]
    assert brace_expand("no{brace") == ["no{brace"]
    assert brace_expand("esc\\{a,b}") == ["esc\\{a,b}"]
    glob = str(tmp_path / "main.{c[vl]d,inc}")
    assert not CHECKS["PathExistsGlob"](glob)
    (tmp_path / "main.cld").write_text("")
    assert CHECKS["PathExistsGlob"](glob)
