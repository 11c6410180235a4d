"""daemon.main.parse_args, the hand parser of `pidone daemon`, against argparse given the
declarations it replaced: same values, same errors (exit 2, usage line), same --help."""

from __future__ import annotations

import argparse

import pytest

from pidone.core.dataclass_lite import fields
from pidone.daemon.main import DaemonOptions, parse_args


def oracle() -> argparse.ArgumentParser:
    """The argparse declaration daemon/main.py used before (the reference behaviour)."""
    p = argparse.ArgumentParser(prog="pidone daemon", description="Run the pidone manager.")
    p.add_argument("--root", default=None, help="read unit files below this directory")
    p.add_argument("--runtime-dir", default=None, help="sockets (default /run/pidone)")
    p.add_argument("--state-dir", default=None, help="journal and state (default /var/lib/pidone)")
    p.add_argument(
        "--log-to-stdout",
        action="store_true",
        help="also write every journal record to stdout, prefixed with its unit",
    )
    p.add_argument("--start", nargs="+", default=[], metavar="UNIT", help="units to start")
    p.add_argument("--dev-log", default=None, metavar="PATH", help="syslog socket to listen on")
    p.add_argument(
        "--journal-socket",
        default=None,
        metavar="PATH",
        help="native journal protocol socket to listen on",
    )
    p.add_argument("--no-cgroups", action="store_true", help="track processes through /proc")
    p.add_argument(
        "--tmpfiles",
        nargs="?",
        const="yes",
        default="auto",
        choices=("auto", "yes", "no"),
        help="apply tmpfiles.d before starting units (auto: only as the kernel's init; "
        "see daemon/boot.py)",
    )
    p.add_argument("--tmpfiles-root", default=None, metavar="DIR", help="tmpfiles.d below DIR")
    p.add_argument(
        "--boot",
        action="store_true",
        help="isolate default.target at start; shut down through shutdown.target "
        "(see daemon/boot.py)",
    )
    return p


def run(parse: object, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, ...]:
    try:
        result = parse(argv)  # type: ignore[operator]
    except SystemExit as exc:
        out, err = capsys.readouterr()
        return ("exit", exc.code, out, err)
    values = vars(result) if isinstance(result, argparse.Namespace) else _as_dict(result)
    return ("ok", values)


def _as_dict(opts: DaemonOptions) -> dict[str, object]:
    return {f.name: getattr(opts, f.name) for f in fields(opts)}


CASES = [
    [],
    ["--root", "/r", "--runtime-dir=/run/x", "--state-dir", "/s"],
    ["--start", "a.service", "b.service", "--no-cgroups"],
    ["--start=a.service", "--boot"],
    ["--start", "a.service", "--start", "c.service"],
    ["--start"],
    ["--start", "--boot"],
    ["--tmpfiles"],
    ["--tmpfiles", "no"],
    ["--tmpfiles=auto", "--tmpfiles-root", "/t"],
    ["--tmpfiles", "maybe"],
    ["--tmpfiles", "--boot"],
    ["--run", "/x"],  # a unique prefix
    ["--tmp", "yes"],  # an ambiguous one
    ["--no-c", "--log-to-stdout", "--dev-log", "/dev/log", "--journal-socket", "/j"],
    ["--root"],
    ["--root", "--boot"],
    ["--bogus"],
    ["stray"],
    ["--boot", "stray", "more"],
    ["--boot=1"],
    ["--root", "-5"],
    ["--help"],
    ["-h", "--bogus"],
    ["--boot", "--he"],
]


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(c) or "(none)" for c in CASES])
def test_the_hand_parser_agrees_with_argparse(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps --help to the terminal width
    expected = run(oracle().parse_args, argv, capsys)
    assert run(parse_args, argv, capsys) == expected


def test_defaults_are_those_of_the_dataclass() -> None:
    assert parse_args([]) == DaemonOptions()
    assert parse_args(["--start", "a", "b"]).start == ["a", "b"]
