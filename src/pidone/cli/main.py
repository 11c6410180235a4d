"""argv -> subcommand. Imports only the module of the verb that runs, so start-up stays cheap.

Invoked as `systemctl` or `journalctl` (argv[0]), pidone behaves as those commands.
Every verb module exposes `main(argv: list[str]) -> int`, where argv is everything on
the command line except the program name and the verb itself (options may stand before
or after the verb, as with systemctl).
"""

from __future__ import annotations

import sys

# verb -> "module:function". Keep this table the only place that names verb modules.
VERBS: dict[str, str] = {
    # offline unit-file verbs (no daemon needed)
    "cat": "pidone.cli.unitfiles:cat_main",
    "list-unit-files": "pidone.cli.unitfiles:list_unit_files_main",
    "verify": "pidone.cli.verify:main",
    "enable": "pidone.cli.install:enable_main",
    "disable": "pidone.cli.install:disable_main",
    "reenable": "pidone.cli.install:reenable_main",
    "mask": "pidone.cli.install:mask_main",
    "unmask": "pidone.cli.install:unmask_main",
    "is-enabled": "pidone.cli.install:is_enabled_main",
    "show": "pidone.cli.showlive:pidone_main",
    # process views
    "ps": "pidone.cli.ps:main",
    "tree": "pidone.cli.tree:main",
    # the manager and the verbs that talk to it
    "daemon": "pidone.daemon.main:main",
    "start": "pidone.cli.jobs:start_main",
    "stop": "pidone.cli.jobs:stop_main",
    "restart": "pidone.cli.jobs:restart_main",
    "try-restart": "pidone.cli.jobs:try_restart_main",
    "reload": "pidone.cli.jobs:reload_main",
    "reload-or-restart": "pidone.cli.jobs:reload_or_restart_main",
    "kill": "pidone.cli.jobs:kill_main",
    "reset-failed": "pidone.cli.jobs:reset_failed_main",
    "daemon-reload": "pidone.cli.jobs:daemon_reload_main",
    "is-active": "pidone.cli.query:is_active_main",
    "is-failed": "pidone.cli.query:is_failed_main",
    "is-system-running": "pidone.cli.systemctl:is_system_running",
    "list-units": "pidone.cli.query:list_units_main",
    "status": "pidone.cli.query:status_main",
    "get-default": "pidone.cli.deps:get_default_main",
    "set-default": "pidone.cli.deps:set_default_main",
    "isolate": "pidone.cli.deps:isolate_main",
    "list-jobs": "pidone.cli.deps:list_jobs_main",
    "cancel": "pidone.cli.deps:cancel_main",
    "list-dependencies": "pidone.cli.deps:list_dependencies_main",
    "poweroff": "pidone.cli.deps:poweroff_main",
    "halt": "pidone.cli.deps:halt_main",
    "reboot": "pidone.cli.deps:reboot_main",
    "exit": "pidone.cli.deps:exit_main",
    "default": "pidone.cli.deps:default_main",
    "list-sockets": "pidone.cli.triggers:list_sockets_main",
    "list-timers": "pidone.cli.triggers:list_timers_main",
    "journal": "pidone.cli.journal:main",
    "calendar": "pidone.cli.calendar:main",
    "tmpfiles": "pidone.cli.tmpfiles:main",
    "install-shims": "pidone.cli.shims:main",
    "demo": "pidone.cli.demo:main",
}

# Options that take a separate value, so that value is never mistaken for the verb.
VALUE_OPTIONS = frozenset(
    {
        "--root",
        "--runtime-dir",
        "--state-dir",
        "-p",
        "--property",
        "-o",
        "--output",
        "-t",
        "--type",
        "--state",
        "-s",
        "--signal",
        "--kill-whom",
        "-n",
        "--lines",
        "-u",
        "-U",
        "--sort",
        "--job-mode",
        "-H",
        "--host",
        "-M",
        "--machine",
        "-P",
        "--legend",
        "--tmpfiles-root",
        "--file",
        "--since",
        "--until",
        "-S",
        "--cursor",
        "--after-cursor",
        "--identifier",
        "--unit",
        "--grep",
        "-g",
        "--priority",
        "--prefix",
    }
)

USAGE = """usage: pidone VERB [OPTIONS] [ARGS]

Unit files (no daemon needed):
  cat UNIT...            show unit files and drop-ins
  show UNIT...           show properties
  list-unit-files        list installed unit files
  verify FILE...         check unit files
  enable|disable|reenable|mask|unmask|is-enabled UNIT...

Processes:
  ps [ps options]        like procps ps, plus a unit column (--unit, -o unit)
  tree [pstree options]  like psmisc pstree, plus --units

Manager:
  daemon                 run the manager in the foreground
  start|stop|restart|try-restart|reload|reload-or-restart|kill|reset-failed UNIT...
  is-active|is-failed|status UNIT...   list-units   daemon-reload   is-system-running
  list-dependencies [--reverse|--before|--after] UNIT   get-default   set-default TARGET
  isolate TARGET   list-jobs   cancel JOB...   poweroff|halt|reboot|exit [CODE]   default
  list-sockets   list-timers
  journal [journalctl options]         read the journal (-u, -f, -n, -p, -g, -o ...)
  calendar EXPR...       normalize calendar expressions, show next elapses
  tmpfiles --create      create what tmpfiles.d asks for (--root DIR)
  install-shims [--prefix DIR]         create `systemctl` and `journalctl` commands
  demo                   run the bundled examples under a private manager
"""


def _find_verb(argv: list[str]) -> int | None:
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--":
            return None
        if arg.startswith("-"):
            if arg in VALUE_OPTIONS:
                skip = True
            continue
        return index if arg in VERBS else None
    return None


def _run(target: str, argv: list[str]) -> int:
    module_name, _, func_name = target.partition(":")
    module = __import__(module_name, fromlist=[func_name])
    result: int = getattr(module, func_name)(argv)
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `pidone` console script."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # `pidone ps aux | head`: the reader went away; that is not an error (as procps).
        # stdout is pointed at /dev/null so that the interpreter's last flush of what is
        # still buffered does not print "Exception ignored ... BrokenPipeError".
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    except KeyboardInterrupt:
        return 130


def _main(argv: list[str] | None) -> int:
    args = sys.argv[1:] if argv is None else argv
    prog = sys.argv[0].rsplit("/", 1)[-1] if argv is None else "pidone"
    if prog == "systemctl":
        return _run("pidone.cli.systemctl:main", args)
    if prog == "journalctl":
        return _run("pidone.cli.journal:main", args)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if args else 2
    if args[0] == "--version":
        from pidone import __version__

        sys.stdout.write(f"pidone {__version__}\n")
        return 0
    index = _find_verb(args)
    if index is None:
        sys.stderr.write(f"pidone: unknown or missing verb in: {' '.join(args)}\n{USAGE}")
        return 2
    return _run(VERBS[args[index]], args[:index] + args[index + 1 :])


def daemon_main() -> int:
    """Entry point of the `pidoned` console script."""
    return _run(VERBS["daemon"], sys.argv[1:])
