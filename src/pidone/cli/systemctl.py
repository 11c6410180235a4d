"""`systemctl` shim: pidone invoked as `systemctl` (argv[0]) parses systemctl's command line
and runs the matching pidone verb, with systemctl 252's messages and exit codes.

Which verbs work without a manager is what real systemctl 252 does on a host where systemd
is not PID 1 (checked on this Debian 12 box):
- unit-file verbs run offline: enable, disable, reenable, mask, unmask, is-enabled,
  list-unit-files (systemctl's install_client_side());
- every other verb, daemon-reload and cat included, prints
  `System has not been booted with systemd as init system (PID 1). Can't operate.` and
  `Failed to connect to bus: Host is down` on stderr and exits 1;
- with --root=DIR the manager verbs say `Verb 'X' cannot be used with --root= or --image=.`
  (exit 1); pidone's own cat accepts --root, so the shim lets `cat --root=` through.
No verb means list-units. `--version` answers `systemd 252 (pidone VERSION)` so scripts
that parse the second word keep working.
"""

from __future__ import annotations

import sys

# systemctl options that take a separate value (systemctl.c parse_argv, 252)
VALUE_OPTIONS = frozenset(
    {
        "-t",
        "--type",
        "-p",
        "--property",
        "-P",
        "--state",
        "-s",
        "--signal",
        "--kill-who",
        "--kill-whom",
        "-n",
        "--lines",
        "-o",
        "--output",
        "--job-mode",
        "--root",
        "--image",
        "-H",
        "--host",
        "-M",
        "--machine",
        "--what",
        "--timestamp",
        "--check-inhibitors",
        "--message",
        "--preset-mode",
        "--boot-loader-menu",
        "--boot-loader-entry",
        "--reboot-argument",
        "--drop-in",
        "--when",
        "--runtime-dir",
    }
)

# verb -> "module:function"; status and list-units use the full 252 renderers.
TARGETS: dict[str, str] = {
    "status": "pidone.cli.status:status_main",
    "list-units": "pidone.cli.status:list_units_main",
    "show": "pidone.cli.showlive:main",
    "cat": "pidone.cli.unitfiles:cat_main",
    "list-unit-files": "pidone.cli.unitfiles:list_unit_files_main",
    "enable": "pidone.cli.install:enable_main",
    "disable": "pidone.cli.install:disable_main",
    "reenable": "pidone.cli.install:reenable_main",
    "mask": "pidone.cli.install:mask_main",
    "unmask": "pidone.cli.install:unmask_main",
    "is-enabled": "pidone.cli.install:is_enabled_main",
    "start": "pidone.cli.jobs:start_main",
    "stop": "pidone.cli.jobs:stop_main",
    "restart": "pidone.cli.jobs:restart_main",
    "try-restart": "pidone.cli.jobs:try_restart_main",
    "condrestart": "pidone.cli.jobs:try_restart_main",
    "reload": "pidone.cli.jobs:reload_main",
    "reload-or-restart": "pidone.cli.jobs:reload_or_restart_main",
    "kill": "pidone.cli.jobs:kill_main",
    "reset-failed": "pidone.cli.jobs:reset_failed_main",
    "daemon-reload": "pidone.cli.jobs:daemon_reload_main",
    "is-active": "pidone.cli.query:is_active_main",
    "is-failed": "pidone.cli.query:is_failed_main",
    "isolate": "pidone.cli.deps:isolate_main",
    "list-jobs": "pidone.cli.deps:list_jobs_main",
    "list-sockets": "pidone.cli.triggers:list_sockets_main",
    "list-timers": "pidone.cli.triggers:list_timers_main",
    "cancel": "pidone.cli.deps:cancel_main",
    "poweroff": "pidone.cli.deps:poweroff_main",
    "halt": "pidone.cli.deps:halt_main",
    "reboot": "pidone.cli.deps:reboot_main",
    "exit": "pidone.cli.deps:exit_main",
    "default": "pidone.cli.deps:default_main",
}
# systemctl 252 verbs pidone does not implement: without a manager they fail as real
# systemctl does (NO_SYSTEMD); with one, with a plain "not implemented" line.
NOT_IMPLEMENTED = frozenset(
    {
        "list-automounts",
        "list-dependencies",
        "list-machines",
        "list-paths",
        "freeze",
        "thaw",
        "clean",
        "try-reload-or-restart",
        "force-reload",
        "reload-or-try-restart",
        "help",
        "set-property",
        "bind",
        "mount-image",
        "service-log-level",
        "service-log-target",
        "show-environment",
        "set-environment",
        "unset-environment",
        "import-environment",
        "daemon-reexec",
        "log-level",
        "log-target",
        "service-watchdogs",
        "edit",
        "revert",
        "preset",
        "preset-all",
        "link",
        "add-wants",
        "add-requires",
        "get-default",
        "set-default",
        "rescue",
        "emergency",
        "kexec",
        "switch-root",
        "suspend",
        "hibernate",
        "hybrid-sleep",
        "suspend-then-hibernate",
    }
)
OFFLINE = frozenset(
    {"enable", "disable", "reenable", "mask", "unmask", "is-enabled", "list-unit-files"}
)
ROOT_OK = OFFLINE | {"cat"}
NO_SYSTEMD = (
    "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
    "Failed to connect to bus: Host is down\n"
)
HELP = """systemctl [OPTIONS...] COMMAND ...

pidone's systemctl: the same commands, options, output and exit codes as systemd 252.

Unit commands: list-units status show cat is-active is-failed start stop restart
  try-restart reload reload-or-restart kill reset-failed daemon-reload isolate list-jobs
  cancel poweroff halt reboot exit default
Unit file commands: list-unit-files enable disable reenable mask unmask is-enabled
"""


def split_verb(argv: list[str]) -> tuple[str | None, list[str]]:
    """(verb, the rest of argv without it); options may stand before or after the verb."""
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--":
            break
        if arg.startswith("-") and arg != "-":
            if arg in VALUE_OPTIONS:
                skip = True
            continue
        return arg, argv[:index] + argv[index + 1 :]
    return None, list(argv)


def _option_value(argv: list[str], names: tuple[str, ...]) -> str | None:
    for index, arg in enumerate(argv):
        if arg in names and index + 1 < len(argv):
            return argv[index + 1]
        for name in names:
            if arg.startswith(name + "="):
                return arg[len(name) + 1 :]
    return None


def daemon_answers(runtime_dir: str | None) -> bool:
    """True when something accepts connections on pidone's control socket.

    Through cli.client (_socket only): `socket` and `json` would cost the shim 25-35 ms of
    imports before every verb (bench/cli.py, systemctl rows)."""
    from pidone.cli import client

    try:
        client.connect(runtime_dir).close()
    except client.ClientError:
        return False
    return True


def _run(target: str, argv: list[str]) -> int:
    module_name, _, func_name = target.partition(":")
    module = __import__(module_name, fromlist=[func_name])
    result: int = getattr(module, func_name)(argv)
    return result


def is_system_running(argv: list[str]) -> int:
    """`offline` (exit 1) with no manager, as 252 answers on a host without systemd; else
    `stopping`, `starting` (a --boot daemon whose default.target job has not ended yet),
    `degraded` (a unit failed) or `running` (exit 0 only for running)."""
    from pidone.cli import client

    quiet = "-q" in argv or "--quiet" in argv
    runtime_dir = _option_value(argv, ("--runtime-dir",))
    try:
        with client.connect(runtime_dir) as c:
            ping = c.call("ping")
            stopping, starting = bool(ping.get("stopping")), bool(ping.get("starting"))
            rows = c.call("list-units", all=True).get("units", [])
    except client.ClientError:
        state = "offline"
    else:
        failed = any(len(r) > 2 and r[2] == "failed" for r in rows)
        state = "degraded" if failed else "running"
        if starting or stopping:
            state = "stopping" if stopping else "starting"
    if not quiet:
        sys.stdout.write(state + "\n")
    return 0 if state == "running" else 1


def main(argv: list[str]) -> int:
    """Entry point for argv[0] == "systemctl" (argv without the program name)."""
    if "--version" in argv:
        from pidone import __version__

        sys.stdout.write(f"systemd 252 (pidone {__version__})\n")
        return 0
    if "-h" in argv or "--help" in argv:
        sys.stdout.write(HELP)
        return 0
    verb, rest = split_verb(argv)
    if verb is None:
        verb = "list-units"
    if verb == "is-system-running":
        return is_system_running(rest)
    target = TARGETS.get(verb)
    if target is None and verb not in NOT_IMPLEMENTED:
        sys.stderr.write(f"Unknown command verb {verb}.\n")
        return 1
    root = _option_value(argv, ("--root", "--image"))
    if root is not None and verb not in ROOT_OK:
        sys.stderr.write(f"Verb '{verb}' cannot be used with --root= or --image=.\n")
        return 1
    if verb not in OFFLINE and root is None:
        runtime_dir = _option_value(argv, ("--runtime-dir",))
        if not daemon_answers(runtime_dir):
            sys.stderr.write(NO_SYSTEMD)
            return 1
    if target is None:
        sys.stderr.write(f"pidone: systemctl {verb} is not implemented.\n")
        return 1
    try:
        return _run(target, rest)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover - `python -m pidone.cli.systemctl ...`
    sys.exit(main(sys.argv[1:]))
