"""CLI job and query verbs without a daemon, and their argument parsing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pidone.cli.jobs import UsageError, parse, parse_signal, unit_name


@pytest.mark.parametrize(
    ("arg", "name"),
    [("foo", "foo.service"), ("foo.socket", "foo.socket"), ("a@b", "a@b.service"),
     ("t-*", "t-*"), ("x.service", "x.service")],
)  # fmt: skip
def test_unit_names_get_service_appended(arg: str, name: str) -> None:
    assert unit_name(arg) == name


@pytest.mark.parametrize(
    ("text", "number"), [("9", 9), ("KILL", 9), ("SIGTERM", 15), ("hup", 1), ("RTMIN+2", 36)]
)
def test_signal_names(text: str, number: int) -> None:
    assert parse_signal(text) == number


def test_bad_signal_and_options() -> None:
    with pytest.raises(UsageError, match=r"Failed to parse signal string FOO\."):
        parse_signal("FOO")
    with pytest.raises(UsageError, match="unrecognized option"):
        parse(["--frobnicate"])
    opts, args = parse(["--runtime-dir", "/x", "a", "--no-block", "-s", "USR1", "b"])
    assert (opts["runtime_dir"], opts["no_block"], opts["signal"], args) == (
        "/x",
        True,
        10,
        ["a", "b"],
    )


def test_kill_who_is_taken_for_kill_whom() -> None:
    """getopt_long(3) abbreviation, as systemctl 252 takes it (Debian's logrotate.d/ulogd2)."""
    opts, args = parse(["--kill-who", "main", "--signal=SIGHUP", "ulogd2.service"])
    assert (opts["whom"], opts["signal"], args) == ("main", 1, ["ulogd2.service"])
    assert parse(["--kill-who=control", "x"])[0]["whom"] == "control"


@pytest.mark.parametrize("verb", ["start", "stop", "is-active", "status", "list-units", "kill"])
def test_no_daemon_gives_one_line_and_exit_1(tmp_path: Path, verb: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pidone", verb, "--runtime-dir", str(tmp_path), "foo"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    assert r.stderr == (
        f"Failed to connect to pidone at {tmp_path}/control.sock: No such file or directory\n"
    )
    assert r.stdout == ""
