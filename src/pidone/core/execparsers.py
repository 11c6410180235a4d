"""Apply functions for process settings shared by [Service] and [Socket] (systemd.exec(5)).

Identity, environment, limits, scheduling, logging, managed directories and standard
streams; messages checked against `systemd-analyze verify` 252.
"""

from __future__ import annotations

import binascii
import re

from pidone.core.capabilities import ALL_CAPABILITIES, SECURE_BITS, capability_number
from pidone.core.directives import Directive
from pidone.core.environ import (
    env_assignment_is_valid,
    env_name_is_valid,
    parse_environment_assignments,
)
from pidone.core.errors import ValueParseError
from pidone.core.escape import simplify_path
from pidone.core.parsebase import (
    Context,
    Fatal,
    Ignored,
    get_target,
    named,
    printf,
    ranged,
    reason_of,
    set_target,
    split_value,
    to_int,
)
from pidone.core.values import (
    parse_rlimit,
    parse_timespan,
)

_STRICT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,30}\Z")


def _check_user_name(ctx: Context, name: str) -> None:
    """valid_user_group_name(RELAX|ALLOW_NUMERIC|WARN) of systemd 252 (user-util.c)."""
    if name.isascii() and name.isdigit():
        uid = int(name)
        if uid >= 2**32 - 1 or uid == 65535:  # (uid_t) -1 and the 16-bit -1 are invalid
            raise Fatal(f"Invalid user/group name or numeric ID: {name}")
        return
    bad = (
        not name
        or ":" in name
        or "/" in name
        or name in (".", "..")
        or any(ord(c) < 32 or ord(c) == 127 or "\udc80" <= c <= "\udcff" for c in name)
        or (name.startswith("-") and name[1:].isdigit())
    )
    if bad:
        raise Fatal(f"Invalid user/group name or numeric ID: {name}")
    if _STRICT_NAME.match(name) is None:
        # logged without a file position
        ctx.warnings.append(
            f"\0Accepting user/group name '{name}', which does not match strict user/group "
            "name rules."
        )


def _printf_fatal(ctx: Context, text: str) -> str:
    # config_parse_user_group_compat(): an unresolvable specifier is fatal here
    try:
        return ctx.expand(text)
    except ValueParseError as e:
        raise Fatal(f"Failed to resolve unit specifiers in {text}: {reason_of(e)}") from None


def p_user(ctx: Context, d: Directive, value: str) -> None:
    name = _printf_fatal(ctx, value)
    _check_user_name(ctx, name)
    if name == "nobody" and d.key == "User":
        # systemd warns about the overflow user (it owns files of unmapped users)
        ctx.warnings.append(f"Special user {name} configured, this is not safe!")
    set_target(ctx, d.target, name)


def p_groups(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = get_target(ctx, d.target)
    for word in split_value(ctx, value):
        name = _printf_fatal(ctx, word)
        _check_user_name(ctx, name)
        items.append(name)


def p_caps(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_capability_set(): "~" inverts; the first, an empty or a lone-"~" value
    # replaces the set, later ones merge; unknown names are skipped silently at load
    e = ctx.section.exec
    bounding = d.key == "CapabilityBoundingSet"
    initial = ALL_CAPABILITIES if bounding else 0
    if bounding:
        current = (
            ALL_CAPABILITIES if e.capability_bounding_set is None else e.capability_bounding_set
        )
    else:
        current = e.ambient_capabilities
    text = value.removeprefix("~")
    invert = text != value
    total = 0
    for word in text.split():
        number = capability_number(word)
        if number is not None:
            total |= 1 << number
    if total == 0 or current == initial:
        current = (~total & ALL_CAPABILITIES) if invert else total
    elif invert:
        current &= ~total
    else:
        current |= total
    if bounding:
        e.capability_bounding_set = None if current == ALL_CAPABILITIES else current
    else:
        e.ambient_capabilities = current


def p_securebits(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_exec_secure_bits(): names OR-ed in, an empty value resets
    e = ctx.section.exec
    if not value.strip():
        e.secure_bits = 0
        return
    for word in value.split():
        e.secure_bits |= SECURE_BITS.get(word, 0)


_NSEC = re.compile(r"(\d+)\s*(ns|nsec)?\Z")


def p_nsec(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_nsec(): parse_nsec(), whose bare numbers are nanoseconds
    text = value.strip()
    m = _NSEC.match(text)
    try:
        if m is not None:
            nsec = int(m.group(1))
        elif text == "infinity":
            nsec = 2**64 - 1
        else:
            nsec = parse_timespan(text) * 1000
    except ValueError:
        raise Ignored(f"Failed to parse nsec value, ignoring: {value}") from None
    set_target(ctx, d.target, nsec)


def p_workdir(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_working_directory(): "-" = missing is fine, "~" = the user's home
    missing_ok = value.startswith("-")
    text = value[1:] if missing_ok else value
    if text == "~":
        path = "~"
    else:
        try:
            path = ctx.expand(text)
        except ValueParseError as e:
            message = f"Failed to resolve unit specifiers in working directory path '{text}'"
            if missing_ok:
                raise Ignored(f"{message}, ignoring: {reason_of(e)}") from None
            raise Fatal(f"{message}: {reason_of(e)}") from None
        if not path.startswith("/"):
            if missing_ok:
                raise Ignored(f"{d.key}= path is not absolute, ignoring: {path}")
            raise Fatal(f"{d.key}= path is not absolute: {path}")
    ctx.section.exec.working_directory = path
    ctx.section.exec.working_directory_missing_ok = missing_ok


def p_environ(ctx: Context, d: Directive, value: str) -> None:
    pairs = parse_environment_assignments(value, expand=ctx.expand, warnings=ctx.warnings)
    env: list[tuple[str, str]] = ctx.section.exec.environment
    for name, val in pairs:
        for index, (old, _) in enumerate(env):
            if old == name:
                env[index] = (name, val)
                break
        else:
            env.append((name, val))


def p_envfile(ctx: Context, d: Directive, value: str) -> None:
    optional = value.startswith("-")
    path = printf(ctx, value[1:] if optional else value)
    if not path.startswith("/"):
        raise Ignored(f"{d.key}= path is not absolute, ignoring: {path}")
    ctx.section.exec.environment_files.append((path, optional))


def p_passenv(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.section.exec.pass_environment
    for word in split_value(ctx, value):
        name = printf(ctx, word)
        if not env_name_is_valid(name):
            ctx.warnings.append(f"Invalid environment name for {d.key}, ignoring: {name}")
        elif name not in items:
            items.append(name)


def p_unsetenv(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.section.exec.unset_environment
    for word in split_value(ctx, value):
        name = printf(ctx, word)
        if not (env_name_is_valid(name) or env_assignment_is_valid(name)):
            ctx.warnings.append(f"Invalid environment name or assignment {d.key}, ignoring: {name}")
        elif name not in items:
            items.append(name)


def p_rlimit(ctx: Context, d: Directive, value: str) -> None:
    try:
        soft, hard = parse_rlimit(d.key, value)
    except (ValueParseError, ValueError) as e:
        raise Ignored(str(e)) from None
    ctx.section.exec.limits[d.key[len("Limit") :]] = (soft, hard)


def p_nice(ctx: Context, d: Directive, value: str) -> None:
    if to_int(value) is None:
        raise Ignored(f"Failed to parse nice priority '{value}', ignoring: Invalid argument")
    set_target(
        ctx, d.target, ranged(value, -20, 19, f"Nice priority out of range, ignoring: {value}")
    )


def p_oom(ctx: Context, d: Directive, value: str) -> None:
    msg = f"OOM score adjust value out of range, ignoring: {value}"
    if to_int(value) is None:
        msg = f"Failed to parse the OOM score adjust value, ignoring: {value}"
    set_target(ctx, d.target, ranged(value, -1000, 1000, msg))


_IO_CLASSES = {"none": 0, "realtime": 1, "best-effort": 2, "idle": 3}
_SCHED_POLICIES = {"other": 0, "fifo": 1, "rr": 2, "batch": 3, "idle": 5}
_FACILITIES = {
    name: n
    for n, name in enumerate(
        [
            "kern",
            "user",
            "mail",
            "daemon",
            "auth",
            "syslog",
            "lpr",
            "news",
            "uucp",
            "cron",
            "authpriv",
            "ftp",
        ]
    )
} | {f"local{i}": 16 + i for i in range(8)}
_LEVELS = {
    n: i
    for i, n in enumerate(["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"])
}


def p_ioclass(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse IO scheduling class, ignoring: {value}"
    set_target(ctx, d.target, named(value, _IO_CLASSES, 3, msg))


def p_ioprio(ctx: Context, d: Directive, value: str) -> None:
    set_target(
        ctx, d.target, ranged(value, 0, 7, f"Failed to parse IO priority, ignoring: {value}")
    )


def p_cpusched(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse CPU scheduling policy, ignoring: {value}"
    if value not in _SCHED_POLICIES:
        raise Ignored(msg)
    set_target(ctx, d.target, _SCHED_POLICIES[value])


def p_cpuprio(ctx: Context, d: Directive, value: str) -> None:
    if to_int(value) is None:
        raise Ignored(f"Failed to parse CPU scheduling priority, ignoring: {value}")
    msg = f"CPU scheduling priority is out of range, ignoring: {value}"
    set_target(ctx, d.target, ranged(value, 0, 99, msg))


def p_log_fields(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.section.exec.log_extra_fields
    for word in split_value(ctx, value):
        field = printf(ctx, word)
        if "=" not in field:
            ctx.warnings.append(f"Log field lacks '=' character, ignoring: {field}")
            continue
        items.append(field)


def p_facility(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse log facility, ignoring: {value}"
    if value not in _FACILITIES:
        raise Ignored(msg)
    set_target(ctx, d.target, _FACILITIES[value])


def p_loglevel(ctx: Context, d: Directive, value: str) -> None:
    set_target(
        ctx, d.target, named(value, _LEVELS, 7, f"Failed to parse log level, ignoring: {value}")
    )


def p_dirs(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_exec_directories(): SOURCE[:LINK], each simplified ("a/" -> "a"),
    # relative, and without ".." components
    items: list[str] = get_target(ctx, d.target)
    for word in split_value(ctx, value):
        path = printf(ctx, word)
        source, sep, link = path.partition(":")
        parts = [simplify_path(source)] + ([simplify_path(link)] if sep else [])
        problem = ""
        for part in parts:
            if part.startswith("/"):
                problem = f"{d.key}= path is absolute, ignoring: {part}"
            elif not part or ".." in part.split("/"):
                problem = f"{d.key}= path is not normalized, ignoring: {part}"
            if problem:
                break
        if problem:
            ctx.warnings.append(problem)
            continue
        entry = ":".join(parts)
        if entry not in items:
            items.append(entry)


_INPUTS = frozenset(["null", "tty", "tty-force", "tty-fail", "socket", "data"])
_OUTPUTS = frozenset(
    [
        "inherit",
        "null",
        "tty",
        "journal",
        "kmsg",
        "journal+console",
        "kmsg+console",
        "socket",
    ]
)
# config_parse_exec_output() (systemd 252): the syslog outputs are gone; they are read as the
# journal ones, with a notice (syslog-only setups get the journal's syslog forwarding).
_OBSOLETE_OUTPUTS = {"syslog": "journal", "syslog+console": "journal+console"}


def _printf_bare(ctx: Context, text: str) -> str:
    # config_parse_exec_input()/_output() word the failure without quotes
    try:
        return ctx.expand(text)
    except ValueParseError as e:
        raise Ignored(
            f"Failed to resolve unit specifiers in {text}, ignoring: {reason_of(e)}"
        ) from None


def p_stdin(ctx: Context, d: Directive, value: str) -> None:
    if value in _INPUTS or value.startswith("fd:"):
        set_target(ctx, d.target, value)
        return
    if value.startswith("file:"):
        path = printf(ctx, value[5:])
        if not path.startswith("/"):
            raise Ignored(f"{d.key}= path is not absolute: {path}")
        set_target(ctx, d.target, "file:" + path)
        return
    raise Ignored(f"Failed to parse {d.what}, ignoring: {value}")


def p_stdout(ctx: Context, d: Directive, value: str) -> None:
    if value in _OBSOLETE_OUTPUTS:
        now = _OBSOLETE_OUTPUTS[value]
        ctx.warnings.append(
            f"Standard output type {value} is obsolete, automatically updating to {now}."
            " Please update your unit file, and consider removing the setting altogether."
        )
        set_target(ctx, d.target, now)
        return
    if value in _OUTPUTS or value.startswith("fd:"):
        set_target(ctx, d.target, value)
        return
    for prefix in ("file:", "append:", "truncate:"):
        if value.startswith(prefix):
            path = _printf_bare(ctx, value[len(prefix) :])
            if not path.startswith("/"):
                raise Ignored(f"{d.key}= path is not absolute: {path}")
            set_target(ctx, d.target, prefix + path)
            return
    raise Ignored(f"Failed to parse {d.what}, ignoring: {value}")


def p_stdin_text(ctx: Context, d: Directive, value: str) -> None:
    text = printf(ctx, value)
    data = text.encode("utf-8", "surrogateescape") + b"\n"
    ctx.section.exec.standard_input_data += data


def p_stdin_data(ctx: Context, d: Directive, value: str) -> None:
    import base64  # StandardInputData= only: base64 is no import of every daemon

    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Ignored(f"Failed to decode base64 data, ignoring: {value}") from None
    ctx.section.exec.standard_input_data += data
