"""Job verbs of the CLI: start, stop, restart, ..., kill, reset-failed, daemon-reload.

Each verb sends one request naming all its units and waits for every job (unless
`--no-block`), then prints what the daemon returned with systemctl's words and exits with
the first non-zero exit code (spec 06 §2.1). Imports stay minimal: only cli.client
(the control client on `_socket` and `_json`; `pidone start` pays every import before the
daemon sees the request).

csrc/pidone-job.c is the compiled twin of the job verbs (and of cli/query.py's is-active and
is-failed), which bin/pidone runs when it is installed (docs/cli-launcher.md): a change to
what these verbs parse, send or print belongs in both; tests/cli/test_fast_client.py
compares the two.
"""

from __future__ import annotations

import sys

from pidone.cli import client

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

UNIT_SUFFIXES = (
    ".service",
    ".socket",
    ".target",
    ".timer",
    ".mount",
    ".automount",
    ".swap",
    ".path",
    ".slice",
    ".scope",
    ".device",
)
_SIGNALS = {
    "HUP": 1,
    "INT": 2,
    "QUIT": 3,
    "ILL": 4,
    "TRAP": 5,
    "ABRT": 6,
    "IOT": 6,
    "BUS": 7,
    "FPE": 8,
    "KILL": 9,
    "USR1": 10,
    "SEGV": 11,
    "USR2": 12,
    "PIPE": 13,
    "ALRM": 14,
    "TERM": 15,
    "STKFLT": 16,
    "CHLD": 17,
    "CONT": 18,
    "STOP": 19,
    "TSTP": 20,
    "TTIN": 21,
    "TTOU": 22,
    "URG": 23,
    "XCPU": 24,
    "XFSZ": 25,
    "VTALRM": 26,
    "PROF": 27,
    "WINCH": 28,
    "IO": 29,
    "POLL": 29,
    "PWR": 30,
    "SYS": 31,
}


class UsageError(Exception):
    pass


def unit_name(arg: str) -> str:
    """`foo` -> `foo.service` (spec 06 §1); globs and typed names stay as they are."""
    if any(c in arg for c in "*?[") or arg.endswith(UNIT_SUFFIXES):
        return arg
    return arg + ".service"


def parse_signal(text: str) -> int:
    if text.isdigit():
        return int(text)
    name = text.upper().removeprefix("SIG")
    if name in _SIGNALS:
        return _SIGNALS[name]
    if name.startswith("RTMIN+") and name[6:].isdigit():
        return 34 + int(name[6:])
    raise UsageError(f"Failed to parse signal string {text}.")


def parse(argv: list[str], values: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """Options common to the manager verbs -> (options, positional arguments)."""
    opts: dict[str, Any] = {
        "runtime_dir": None,
        "no_block": False,
        "quiet": False,
        "all": False,
        "lines": 10,
    }
    args: list[str] = []
    takes = {
        "--runtime-dir",
        "--root",
        "--signal",
        "-s",
        "--kill-whom",
        "-n",
        "--lines",
        "--job-mode",
        *values,
    }
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            args.extend(argv[i:])
            break
        if not arg.startswith("-") or arg == "-":
            args.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name == "--kill-who":
            # systemctl 252 has only --kill-whom=, but getopt_long(3) takes an unambiguous
            # abbreviation: Debian's /etc/logrotate.d/ulogd2 runs `systemctl kill
            # --kill-who main --signal=SIGHUP ulogd2.service`.
            name = "--kill-whom"
        if name in takes and not eq:
            if i >= len(argv):
                raise UsageError(f"option '{name}' requires an argument")
            value = argv[i]
            i += 1
        key = name.lstrip("-").replace("-", "_")
        if name in ("-s", "--signal"):
            opts["signal"] = parse_signal(value)
        elif name == "--kill-whom":
            if value not in ("main", "control", "all"):
                raise UsageError(f"Invalid kill-whom value: {value}")
            opts["whom"] = value
        elif name in ("-n", "--lines"):
            if not value.isdigit():
                raise UsageError(f"Failed to parse lines '{value}'")
            opts["lines"] = int(value)
        elif name in ("-q", "--quiet"):
            opts["quiet"] = True
        elif name in ("-a", "--all"):
            opts["all"] = True
        elif name in (
            "--no-block",
            "--no-pager",
            "--no-legend",
            "--full",
            "-l",
            "--no-ask-password",
            "--system",
            "--plain",
        ):
            opts[key] = True
        elif name in takes:
            opts[key] = value
        else:
            raise UsageError(f"unrecognized option '{arg}'")
    return opts, args


def report(result: dict[str, Any]) -> int:
    """Print the per-unit lines the daemon returned; the first non-zero exit code wins."""
    code = 0
    for entry in result.get("results", []):
        for line in entry.get("lines", []):
            sys.stderr.write(line + "\n")
        if entry.get("exit_code") and not code:
            code = int(entry["exit_code"])
    for line in result.get("lines", []):
        sys.stderr.write(line + "\n")
    if not code and result.get("exit_code"):
        code = int(result["exit_code"])
    return code


def run(verb: str, opts: dict[str, Any], **args: object) -> int:
    try:
        with client.connect(opts["runtime_dir"]) as c:
            result = c.call(verb, **args)
    except client.RemoteError as exc:
        message = exc.message
        if exc.code == "access-denied":
            units = args.get("units")
            what = f" {units[0]}" if isinstance(units, list) and units else ""
            message = f"Failed to {verb}{what}: Access denied"
        sys.stderr.write(message + "\n")
        return 4 if exc.code == "access-denied" else 1
    except client.ClientError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    return report(result if isinstance(result, dict) else {})


def _job_main(verb: str, argv: list[str]) -> int:
    try:
        opts, args = parse(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    if not args:
        sys.stderr.write("Too few arguments.\n")
        return 1
    units = [unit_name(a) for a in args]
    mode = opts.get("job_mode") or "replace"
    return run(verb, opts, units=units, no_block=opts["no_block"], mode=mode)


def start_main(argv: list[str]) -> int:
    return _job_main("start", argv)


def stop_main(argv: list[str]) -> int:
    return _job_main("stop", argv)


def restart_main(argv: list[str]) -> int:
    return _job_main("restart", argv)


def try_restart_main(argv: list[str]) -> int:
    return _job_main("try-restart", argv)


def reload_main(argv: list[str]) -> int:
    return _job_main("reload", argv)


def reload_or_restart_main(argv: list[str]) -> int:
    return _job_main("reload-or-restart", argv)


def kill_main(argv: list[str]) -> int:
    try:
        opts, args = parse(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    if not args:
        sys.stderr.write("Too few arguments.\n")
        return 1
    return run(
        "kill",
        opts,
        units=[unit_name(a) for a in args],
        signal=opts.get("signal", 15),
        whom=opts.get("whom", "all"),
    )


def reset_failed_main(argv: list[str]) -> int:
    try:
        opts, args = parse(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    return run("reset-failed", opts, units=[unit_name(a) for a in args])


def daemon_reload_main(argv: list[str]) -> int:
    try:
        opts, _args = parse(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    return run("daemon-reload", opts)
