"""Offline enable, disable, reenable, mask, unmask and is-enabled, worded as systemctl 252.

Everything goes to stderr except is-enabled's state words (stdout). Exit 1 on failure.
`--now` needs a running manager: like systemctl without one, the symlinks are made and
the start/stop part fails.
"""

from __future__ import annotations

import os
import sys

from pidone.cli.unitargs import UnitArgs, UsageError, check_root, mangle_names, parse_unit_args
from pidone.core.install import ENABLED_LIKE, format_change
from pidone.core.installplan import STRERROR, InstallError, Plan, Planner
from pidone.core.installverbs import (
    plan_disable,
    plan_enable,
    plan_mask,
    plan_reenable,
    plan_unmask,
)
from pidone.linux.install import (
    DiskFS,
    apply_changes,
    run_sysv_install,
    sysv_install_argv,
    sysv_script,
    unit_file_state,
)
from pidone.linux.unitpaths import UnitPaths, build_unit_paths

NO_INSTALL_INFO = """\
The unit files have no installation config (WantedBy=, RequiredBy=, Also=,
Alias= settings in the [Install] section, and DefaultInstance= for template
units). This means they are not meant to be enabled using systemctl.
\x20
Possible reasons for having this kind of units are:
\u2022 A unit may be statically enabled by being symlinked from another unit's
  .wants/ or .requires/ directory.
\u2022 A unit's purpose may be to act as a helper for some other unit which has
  a requirement dependency on it.
\u2022 A unit may be started when needed via activation (socket, path, timer,
  D-Bus, udev, scripted systemctl call, ...).
\u2022 In case of template units, the unit is meant to be enabled with some
  instance name specified.
"""
NO_MANAGER = (
    "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
    "Failed to connect to bus: Host is down\n"
)


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _parse(argv: list[str], operation: str) -> tuple[UnitArgs, list[str]] | int:
    try:
        opts = parse_unit_args(argv)
        if not opts.args:
            _err("Too few arguments.")
            return 1
        names = mangle_names(opts.args, operation, opts.quiet)
    except UsageError as err:
        _err(str(err))
        return 1
    return opts, names


def _dump(plan: Plan, verb: str, quiet: bool) -> None:
    """install_changes_dump(): one line per change, then a summary error if none said why."""
    logged_error = False
    for change in plan.changes:
        line = format_change(change, verb)
        if line is None:
            continue
        text, is_error = line
        if is_error:
            logged_error = True
            _err(text)
        elif not quiet:
            _err(text)
    if plan.result < 0 and not logged_error:
        reason = STRERROR.get(plan.error or "EINVAL", "Invalid argument")
        _err(f"Failed to {verb}: {reason}.")


def _flush(fs: DiskFS) -> None:
    for message in fs.messages:
        _err(message)
    fs.messages.clear()


def _sysv(
    verb: str, names: list[str], opts: UnitArgs, paths: UnitPaths, fs: DiskFS
) -> tuple[list[str], int | None, bool]:
    """enable_sysv_units(): hand names with an init script to systemd-sysv-install.

    Returns the names left for the native code, an exit code when the verb must stop,
    and whether is-enabled saw an enabled script.
    """
    if os.environ.get("SYSTEMCTL_SKIP_SYSV", "").lower() in ("1", "yes", "true", "on", "y", "t"):
        return names, None, False
    planner = Planner(fs)
    left: list[str] = []
    enabled = False
    for name in names:
        if not name.endswith(".service") or name.startswith("/"):
            left.append(name)
            continue
        code = planner.sysv_precheck(name)
        _flush(fs)
        if code is not None:
            _err(f"Failed to look up unit file state: {STRERROR.get(code, code)}")
            return left, 1, enabled
        native = planner.unit_exists(name)
        _flush(fs)
        if (native and verb == "is-enabled") or sysv_script(paths, name) is None:
            left.append(name)
            continue
        if not opts.quiet:
            helper = sysv_install_argv(paths, verb, name)
            if native:
                _err(f"Synchronizing state of {name} with SysV service script with {helper[0]}.")
            else:
                _err(f"{name} is not a native service, redirecting to systemd-sysv-install.")
            _err("Executing: " + " ".join(helper))
        sys.stdout.flush()
        sys.stderr.flush()
        status = run_sysv_install(paths, verb, name)
        if verb == "is-enabled":
            if not opts.quiet:
                sys.stdout.write("enabled\n" if status == 0 else "disabled\n")
            enabled = enabled or status == 0
        elif status != 0:
            return left, 1, enabled
        if native:
            left.append(name)
    return left, None, enabled


def _run(verb: str, argv: list[str]) -> int:
    parsed = _parse(argv, f"to {verb}")
    if isinstance(parsed, int):
        return parsed
    opts, names = parsed
    problem = check_root(opts.root)
    if problem is not None:
        _err(f"Failed to {verb}: {problem}.")
        return 1
    paths = build_unit_paths(opts.root)
    fs = DiskFS(paths)
    planner = Planner(fs)
    if verb == "disable" and any("/" in n for n in names):
        names = [n.rsplit("/", 1)[-1] for n in names]
        _err("Warning: Can't execute disable on the unit file path. Proceeding with the unit name.")
    if verb in ("enable", "reenable") and opts.root:
        relative = [n for n in names if "/" in n and not n.startswith("/")]
        if relative:
            _err(f"Non-absolute paths are not allowed when --root is used: {relative[0]}")
            return 1
    if verb in ("enable", "disable"):
        names, stop, _enabled = _sysv(verb, names, opts, paths, fs)
        if stop is not None:
            return stop
        if not names:
            return 0
    if verb == "enable":
        plan = plan_enable(planner, names, opts.runtime, opts.force)
    elif verb == "disable":
        plan = plan_disable(planner, names, opts.runtime)
    elif verb == "reenable":
        plan = plan_reenable(planner, names, opts.runtime, opts.force)
    elif verb == "mask":
        plan = plan_mask(planner, names, opts.runtime, opts.force)
    else:
        plan = plan_unmask(planner, names, opts.runtime)
    config = paths.runtime_config if opts.runtime else paths.persistent_config
    failed = apply_changes(plan.changes, config)
    for message in fs.messages:
        _err(message)
    _dump(plan, verb, opts.quiet)
    for change in failed:
        _err(f'Failed to {verb} unit, file "{change.path}": {change.message}')
    if plan.result < 0 or failed:
        return 1
    if verb in ("enable", "reenable") and plan.result == 0 and not opts.quiet:
        sys.stderr.write(NO_INSTALL_INFO)
    if opts.now and verb in ("enable", "disable", "mask"):
        sys.stderr.write(NO_MANAGER)
        return 1
    return 0


def enable_main(argv: list[str]) -> int:
    """`pidone enable UNIT...`"""
    return _run("enable", argv)


def disable_main(argv: list[str]) -> int:
    """`pidone disable UNIT...`"""
    return _run("disable", argv)


def reenable_main(argv: list[str]) -> int:
    """`pidone reenable UNIT...`"""
    return _run("reenable", argv)


def mask_main(argv: list[str]) -> int:
    """`pidone mask UNIT...`"""
    return _run("mask", argv)


def unmask_main(argv: list[str]) -> int:
    """`pidone unmask UNIT...`"""
    return _run("unmask", argv)


def is_enabled_main(argv: list[str]) -> int:
    """`pidone is-enabled UNIT...`: state words on stdout; 0 if any is enabled-like."""
    parsed = _parse(argv, "to check")
    if isinstance(parsed, int):
        return parsed
    opts, names = parsed
    problem = check_root(opts.root)
    paths = build_unit_paths(opts.root)
    enabled = False
    out = sys.stdout
    if problem is None:
        names, stop, enabled = _sysv("is-enabled", names, opts, paths, DiskFS(paths))
        if stop is not None:
            return stop
    for name in names:
        fs = DiskFS(paths)
        try:
            if problem is not None:
                raise InstallError("ENOTDIR" if problem == "Not a directory" else "ENOENT")
            state = unit_file_state(paths, name, fs)
        except InstallError as err:
            for message in fs.messages:
                _err(message)
            out.flush()
            _err(f"Failed to get unit file state for {name}: {err.strerror}")
            return 1
        for message in fs.messages:
            _err(message)
        if state in ENABLED_LIKE:
            enabled = True
        if not opts.quiet:
            out.write(state + "\n")
    return 0 if enabled else 1
