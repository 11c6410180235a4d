"""Apply functions for the directive table: validate one value, warn as systemd 252, store it.

Each function has the signature `(ctx, row, value)`. It raises `Ignored(message)` when
systemd would log "..., ignoring" and keep the earlier value, and `Fatal(message)` when
systemd's parser returns an error, which makes the unit `bad-setting` (systemd stops
reading the file there: config_parse() aborts on a negative return).
The messages were checked one by one against `systemd-analyze verify` on 252.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pidone.core.directives import Directive
from pidone.core.environ import (
    env_assignment_is_valid,
    env_name_is_valid,
    parse_environment_assignments,
)
from pidone.core.errors import ValueParseError
from pidone.core.escape import simplify_path
from pidone.core.execline import ExecLineError, parse_exec_line
from pidone.core.model import Condition, NotEnforced, Unit
from pidone.core.specifiers import SpecifierError
from pidone.core.unitname import is_valid_unit_name
from pidone.core.values import (
    USEC_INFINITY,
    ExitStatusSet,
    parse_boolean,
    parse_exit_status_set,
    parse_mode,
    parse_rlimit,
    parse_signal,
    parse_timespan,
)
from pidone.core.words import split_words_relaxed


class Ignored(Exception):
    """A warning; the assignment is dropped and the earlier value stays."""


class Fatal(Exception):
    """The unit cannot be loaded (bad-setting)."""


@dataclass(slots=True)
class Context:
    """What an apply function needs: the unit being built and where the line came from."""

    unit: Unit
    section: Any  # the section dataclass the row's target lives in
    expand: Callable[[str], str]  # specifier expansion; raises ValueParseError
    key: str = ""
    section_name: str = ""
    path: str = ""
    line: int = 0
    warnings: list[str] = field(default_factory=list)  # extra non-fatal warnings


# --- target access --------------------------------------------------------------------------


def _owner(ctx: Context, target: str) -> tuple[Any, str]:
    obj: Any = ctx.section
    if target.startswith("@unit."):
        obj, target = ctx.unit.unit, target[len("@unit.") :]
    *parents, name = target.split(".")
    for parent in parents:
        obj = getattr(obj, parent)
    return obj, name


def set_target(ctx: Context, target: str, value: object) -> None:
    if target:
        obj, name = _owner(ctx, target)
        setattr(obj, name, value)


def get_target(ctx: Context, target: str) -> Any:  # noqa: ANN401 - the row decides the type
    obj, name = _owner(ctx, target)
    return getattr(obj, name)


def reset_target(ctx: Context, target: str) -> None:
    """Put the dataclass default back (lists become empty)."""
    if not target:
        return
    obj, name = _owner(ctx, target)
    setattr(obj, name, getattr(type(obj)(), name))


def _printf(ctx: Context, text: str) -> str:
    try:
        return ctx.expand(text)
    except ValueParseError as e:
        raise Ignored(
            f"Failed to resolve unit specifiers in '{text}', ignoring: {_reason(e)}"
        ) from None


def _reason(e: Exception) -> str:
    if isinstance(e, SpecifierError):
        return e.reason
    text = str(e)
    return text.rsplit(": ", 1)[-1] if ": " in text else "Invalid slot"


# --- scalars --------------------------------------------------------------------------------


def p_accept(ctx: Context, d: Directive, value: str) -> None:
    """Accepted without validation (not enforced or information only)."""


def p_bool(ctx: Context, d: Directive, value: str) -> None:
    try:
        set_target(ctx, d.target, parse_boolean(value))
    except ValueParseError:
        raise Ignored(f"Failed to parse boolean value, ignoring: {value}") from None


def p_bool_fatal(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_bool with ltype=true (DynamicUser=): a bad value is fatal
    try:
        set_target(ctx, d.target, parse_boolean(value))
    except ValueParseError:
        raise Fatal(f"Failed to parse boolean value: {value}") from None


def _sec(value: str, message: str) -> int:
    try:
        return parse_timespan(value)
    except (ValueParseError, ValueError):
        raise Ignored(message) from None


def p_sec(ctx: Context, d: Directive, value: str) -> None:
    set_target(ctx, d.target, _sec(value, f"Failed to parse sec value, ignoring: {value}"))


def p_sec_param(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse {d.key}= parameter, ignoring: {value}"
    set_target(ctx, d.target, _sec(value, msg))


def p_sec_fix0(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_sec_fix_0(): 0 means "no timeout" (infinity)
    usec = _sec(value, f"Failed to parse {d.what}, ignoring: {value}")
    set_target(ctx, d.target, usec or USEC_INFINITY)


def p_timeout(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_service_timeout(): TimeoutSec= sets start and stop; 0 = infinity
    usec = _sec(value, f"Failed to parse {d.key}= parameter, ignoring: {value}") or USEC_INFINITY
    ctx.section.timeout_start_usec = usec
    ctx.section.timeout_start_explicit = True
    if d.key == "TimeoutSec":
        ctx.section.timeout_stop_usec = usec


def p_timeout_abort(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse {d.key}= setting, ignoring: {value}"
    set_target(ctx, d.target, _sec(value, msg) or USEC_INFINITY)


def p_enum(ctx: Context, d: Directive, value: str) -> None:
    if value not in d.choices:
        raise Ignored(f"Failed to parse {d.what}, ignoring: {value}")
    set_target(ctx, d.target, value)
    if d.key == "Type":
        ctx.section.type_explicit = True
    elif d.key == "NotifyAccess":
        ctx.section.notify_access_explicit = True


def p_protect(ctx: Context, d: Directive, value: str) -> None:
    # ProtectSystem=/ProtectHome= take a boolean or a mode name
    try:
        set_target(ctx, d.target, "yes" if parse_boolean(value) else "no")
        return
    except ValueParseError:
        pass
    p_enum(ctx, d, value)


def p_action(ctx: Context, d: Directive, value: str) -> None:
    if value not in d.choices:
        raise Ignored(f"Failed to parse {d.key}=, ignoring: {value}")
    set_target(ctx, d.target, value)


def _int(value: str) -> int | None:
    text = value.strip()
    if not text or not (text.lstrip("+-").isdigit() and text.isascii()):
        return None
    return int(text)


def p_action_status(ctx: Context, d: Directive, value: str) -> None:
    number = _int(value)
    if number is None or number < 0:
        raise Ignored(f"Failed to parse exit status '{value}', ignoring: Invalid argument")
    if number > 255:
        raise Ignored(
            f"Failed to parse exit status '{value}', ignoring: Numerical result out of range"
        )
    set_target(ctx, d.target, number)


def p_unsigned(ctx: Context, d: Directive, value: str) -> None:
    number = _int(value)
    if number is None or value.startswith("-") or number >= 2**32:
        raise Ignored(f"Failed to parse unsigned value, ignoring: {value}")
    set_target(ctx, d.target, number)


def p_string(ctx: Context, d: Directive, value: str) -> None:
    set_target(ctx, d.target, _printf(ctx, value))


def p_user(ctx: Context, d: Directive, value: str) -> None:
    name = _printf(ctx, value)
    if name == "nobody" and d.key == "User":
        # config_parse_user_group_compat(): systemd warns about the overflow user
        ctx.warnings.append(f"Special user {name} configured, this is not safe!")
    set_target(ctx, d.target, name)


def p_path(ctx: Context, d: Directive, value: str) -> None:
    path = _printf(ctx, value)
    if not path.startswith("/"):
        raise Ignored(f"{d.key}= path is not absolute, ignoring: {path}")
    set_target(ctx, d.target, path)


def p_path_fatal(ctx: Context, d: Directive, value: str) -> None:
    path = _printf(ctx, value)
    if not path.startswith("/"):
        raise Fatal(f"{d.key}= path is not absolute: {path}")
    set_target(ctx, d.target, path)


def p_workdir(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_working_directory(): "-" = missing is fine, "~" = the user's home
    missing_ok = value.startswith("-")
    text = value[1:] if missing_ok else value
    if text == "~":
        path = "~"
    else:
        path = _printf(ctx, text)
        if not path.startswith("/"):
            if missing_ok:
                raise Ignored(f"{d.key}= path is not absolute, ignoring: {path}")
            raise Fatal(f"{d.key}= path is not absolute: {path}")
    ctx.section.exec.working_directory = path
    ctx.section.exec.working_directory_missing_ok = missing_ok


def p_pidfile(ctx: Context, d: Directive, value: str) -> None:
    path = _printf(ctx, value)
    if not path.startswith("/"):
        path = "/run/" + path  # relative PIDFile= lives in /run (spec 02 §1)
    set_target(ctx, d.target, path)


def p_busname(ctx: Context, d: Directive, value: str) -> None:
    name = _printf(ctx, value)
    parts = name.split(".")
    ok = (
        len(parts) >= 2
        and len(name) <= 255
        and all(
            p and not p[0].isdigit() and all(c.isalnum() or c in "_-" for c in p) and p.isascii()
            for p in parts
        )
    )
    if not ok:
        raise Ignored(f"Invalid bus name, ignoring: {value}")
    set_target(ctx, d.target, name)


# --- lists ----------------------------------------------------------------------------------


def _words(ctx: Context, value: str) -> list[str]:
    try:
        words, warnings = split_words_relaxed(value)
    except ValueParseError:
        raise Ignored(f"Invalid syntax, ignoring: {value}") from None
    ctx.warnings.extend(warnings)
    return words


def p_strv(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = get_target(ctx, d.target)
    for word in _words(ctx, value):
        items.append(_printf(ctx, word))


def p_documentation(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.unit.unit.documentation
    for word in value.split():
        try:
            url = _printf(ctx, word)
        except Ignored as e:
            ctx.warnings.append(str(e))
            continue
        scheme = url.partition(":")[0]
        if scheme not in ("http", "https", "file", "info", "man") or ":" not in url:
            ctx.warnings.append(f"Invalid URL, ignoring: {url}")
            continue
        if url not in items:
            items.append(url)


def _unit_words(ctx: Context, value: str) -> list[str]:
    names: list[str] = []
    for word in value.split():
        try:
            name = _printf(ctx, word)
        except Ignored as e:
            ctx.warnings.append(str(e))
            continue
        if not is_valid_unit_name(name, template=False):
            ctx.warnings.append(f"Failed to add dependency on {name}, ignoring: Invalid argument")
            continue
        names.append(name)
    return names


def p_deps(ctx: Context, d: Directive, value: str) -> None:
    if not d.target:
        _unit_words(ctx, value)
        return
    items: list[str] = getattr(ctx.unit.unit, d.target)
    for name in _unit_words(ctx, value):
        if name not in items:
            items.append(name)


def p_deps_obsolete(ctx: Context, d: Directive, value: str) -> None:
    new = d.key.replace("Overridable", "")
    ctx.warnings.append(
        f"Unit dependency type {d.key}= is obsolete, replacing by {new}=, "
        "please update your unit file"
    )
    p_deps(ctx, d, value)


def p_removed(ctx: Context, d: Directive, value: str) -> None:
    raise Ignored(f"Support for option {d.key}= has been removed and it is ignored")


def p_mounts_for(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.unit.unit.requires_mounts_for
    for word in _words(ctx, value):
        path = _printf(ctx, word)
        if not path.startswith("/"):
            ctx.warnings.append(f"{d.key}= path is not absolute, ignoring: {path}")
        elif path not in items:
            items.append(path)


_PATH_CONDITIONS = frozenset(
    [
        "PathExists",
        "PathExistsGlob",
        "PathIsDirectory",
        "PathIsSymbolicLink",
        "PathIsMountPoint",
        "PathIsReadWrite",
        "PathIsEncrypted",
        "DirectoryNotEmpty",
        "FileNotEmpty",
        "FileIsExecutable",
    ]
)


def p_condition(ctx: Context, d: Directive, value: str) -> None:
    is_assert = d.key.startswith("Assert")
    kind = d.key[len("Assert") :] if is_assert else d.key[len("Condition") :]
    text = value
    trigger = text.startswith("|")
    if trigger:
        text = text[1:].lstrip(" \t")
    negate = text.startswith("!")
    if negate:
        text = text[1:].lstrip(" \t")
    text = _printf(ctx, text)
    if kind in _PATH_CONDITIONS and not text.startswith("/"):
        raise Ignored(f"{d.key}= path is not absolute, ignoring: {text}")
    cond = Condition(kind, text, is_assert, trigger, negate, ctx.path, ctx.line)
    (ctx.unit.unit.asserts if is_assert else ctx.unit.unit.conditions).append(cond)


def p_exec(ctx: Context, d: Directive, value: str) -> None:
    items: list[Any] = get_target(ctx, d.target)
    try:
        items.extend(
            parse_exec_line(value, ctx.path, ctx.line, expand=ctx.expand, warnings=ctx.warnings)
        )
    except ExecLineError as e:
        items.extend(e.commands)
        if e.fatal:
            raise Fatal(str(e)) from None
        raise Ignored(str(e)) from None


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
    path = _printf(ctx, value[1:] if optional else value)
    if not path.startswith("/"):
        raise Ignored(f"{d.key}= path is not absolute, ignoring: {path}")
    ctx.section.exec.environment_files.append((path, optional))


def p_passenv(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.section.exec.pass_environment
    for word in _words(ctx, value):
        name = _printf(ctx, word)
        if not env_name_is_valid(name):
            ctx.warnings.append(f"Invalid environment name for {d.key}, ignoring: {name}")
        elif name not in items:
            items.append(name)


def p_unsetenv(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.section.exec.unset_environment
    for word in _words(ctx, value):
        name = _printf(ctx, word)
        if not (env_name_is_valid(name) or env_assignment_is_valid(name)):
            ctx.warnings.append(f"Invalid environment name or assignment {d.key}, ignoring: {name}")
        elif name not in items:
            items.append(name)


def p_exitset(ctx: Context, d: Directive, value: str) -> None:
    old: ExitStatusSet = get_target(ctx, d.target)
    statuses, signals = set(old.statuses), set(old.signals)
    for word in value.split():
        try:
            one = parse_exit_status_set(word)
        except (ValueParseError, ValueError):
            ctx.warnings.append(f"Failed to parse value, ignoring: {word}")
            continue
        statuses |= one.statuses
        signals |= one.signals
    set_target(ctx, d.target, ExitStatusSet(frozenset(statuses), frozenset(signals)))


def p_signal(ctx: Context, d: Directive, value: str) -> None:
    try:
        set_target(ctx, d.target, parse_signal(value))
    except (ValueParseError, ValueError):
        raise Ignored(f"Failed to parse signal name, ignoring: {value}") from None


def p_rlimit(ctx: Context, d: Directive, value: str) -> None:
    try:
        soft, hard = parse_rlimit(d.key, value)
    except (ValueParseError, ValueError) as e:
        raise Ignored(str(e)) from None
    ctx.section.exec.limits[d.key[len("Limit") :]] = (soft, hard)


def p_mode(ctx: Context, d: Directive, value: str) -> None:
    try:
        set_target(ctx, d.target, parse_mode(value))
    except (ValueParseError, ValueError):
        raise Ignored(f"Failed to parse mode value, ignoring: {value}") from None


def _ranged(value: str, low: int, high: int, message: str) -> int:
    number = _int(value)
    if number is None or not low <= number <= high:
        raise Ignored(message)
    return number


def p_nice(ctx: Context, d: Directive, value: str) -> None:
    if _int(value) is None:
        raise Ignored(f"Failed to parse nice priority '{value}', ignoring: Invalid argument")
    set_target(
        ctx, d.target, _ranged(value, -20, 19, f"Nice priority out of range, ignoring: {value}")
    )


def p_oom(ctx: Context, d: Directive, value: str) -> None:
    msg = f"OOM score adjust value out of range, ignoring: {value}"
    if _int(value) is None:
        msg = f"Failed to parse the OOM score adjust value, ignoring: {value}"
    set_target(ctx, d.target, _ranged(value, -1000, 1000, msg))


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


def _named(value: str, names: dict[str, int], high: int, message: str) -> int:
    if value in names:
        return names[value]
    return _ranged(value, 0, high, message)


def p_ioclass(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse IO scheduling class, ignoring: {value}"
    set_target(ctx, d.target, _named(value, _IO_CLASSES, 3, msg))


def p_ioprio(ctx: Context, d: Directive, value: str) -> None:
    set_target(
        ctx, d.target, _ranged(value, 0, 7, f"Failed to parse IO priority, ignoring: {value}")
    )


def p_cpusched(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse CPU scheduling policy, ignoring: {value}"
    if value not in _SCHED_POLICIES:
        raise Ignored(msg)
    set_target(ctx, d.target, _SCHED_POLICIES[value])


def p_cpuprio(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse CPU scheduling priority, ignoring: {value}"
    set_target(ctx, d.target, _ranged(value, 0, 99, msg))


def p_facility(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse log facility, ignoring: {value}"
    if value not in _FACILITIES:
        raise Ignored(msg)
    set_target(ctx, d.target, _FACILITIES[value])


def p_loglevel(ctx: Context, d: Directive, value: str) -> None:
    set_target(
        ctx, d.target, _named(value, _LEVELS, 7, f"Failed to parse log level, ignoring: {value}")
    )


def p_dirs(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_exec_directories(): SOURCE[:LINK], each simplified ("a/" -> "a"),
    # relative, and without ".." components
    items: list[str] = get_target(ctx, d.target)
    for word in _words(ctx, value):
        path = _printf(ctx, word)
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
        "syslog",
        "syslog+console",
    ]
)


def p_stdin(ctx: Context, d: Directive, value: str) -> None:
    if value in _INPUTS or value.startswith("fd:"):
        set_target(ctx, d.target, value)
        return
    if value.startswith("file:"):
        path = _printf(ctx, value[5:])
        if not path.startswith("/"):
            raise Ignored(f"{d.key}= path is not absolute: {path}")
        set_target(ctx, d.target, "file:" + path)
        return
    raise Ignored(f"Failed to parse {d.what}, ignoring: {value}")


def p_stdout(ctx: Context, d: Directive, value: str) -> None:
    if value in _OUTPUTS or value.startswith("fd:"):
        set_target(ctx, d.target, value)
        return
    for prefix in ("file:", "append:", "truncate:"):
        if value.startswith(prefix):
            path = _printf(ctx, value[len(prefix) :])
            if not path.startswith("/"):
                raise Ignored(f"{d.key}= path is not absolute: {path}")
            set_target(ctx, d.target, prefix + path)
            return
    raise Ignored(f"Failed to parse {d.what}, ignoring: {value}")


def p_stdin_text(ctx: Context, d: Directive, value: str) -> None:
    text = _printf(ctx, value)
    data = text.encode("utf-8", "surrogateescape") + b"\n"
    ctx.section.exec.standard_input_data += data


def p_stdin_data(ctx: Context, d: Directive, value: str) -> None:
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Ignored(f"Failed to decode base64 data, ignoring: {value}") from None
    ctx.section.exec.standard_input_data += data


def p_sockets(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.section.sockets
    for word in value.split():
        name = _printf(ctx, word)
        if not name.endswith(".socket"):
            ctx.warnings.append(f"Unit must be of type socket, ignoring: {name}")
        elif name not in items:
            items.append(name)


def p_slice(ctx: Context, d: Directive, value: str) -> None:
    name = _printf(ctx, value)
    if not is_valid_unit_name(name, template=False):
        raise Ignored(f"Failed to load slice unit {name}, ignoring: Unit name {name} is not valid.")
    if not name.endswith(".slice"):
        raise Ignored(f"Slice unit {name} is not a slice, ignoring.")
    ctx.unit.slice = name


def p_listen(ctx: Context, d: Directive, value: str) -> None:
    ctx.section.listen.append((d.key, _printf(ctx, value)))


def p_socket_service(ctx: Context, d: Directive, value: str) -> None:
    name = _printf(ctx, value)
    if not name.endswith(".service") or not is_valid_unit_name(name, template=False):
        raise Ignored(f"Unit must be of type service, ignoring: {value}")
    set_target(ctx, d.target, name)


def p_timer_sec(ctx: Context, d: Directive, value: str) -> None:
    items: list[int] = get_target(ctx, d.target)
    items.append(_sec(_printf(ctx, value), f"Failed to parse timer value, ignoring: {value}"))


def p_calendar(ctx: Context, d: Directive, value: str) -> None:
    ctx.section.on_calendar.append(_printf(ctx, value))


def p_timer_unit(ctx: Context, d: Directive, value: str) -> None:
    name = _printf(ctx, value)
    if not is_valid_unit_name(name, template=False) or name.endswith(".timer"):
        raise Ignored(f"Failed to set unit name, ignoring: {value}")
    set_target(ctx, d.target, name)


ApplyFn = Callable[[Context, Directive, str], None]

PARSERS: dict[str, ApplyFn] = {
    name[2:]: fn for name, fn in globals().items() if name.startswith("p_") and callable(fn)
}
PARSERS["install"] = p_accept


def record_not_enforced(ctx: Context, d: Directive, value: str) -> None:
    """Remember a not-enforced directive (an empty value forgets the earlier ones)."""
    items = ctx.unit.not_enforced
    if value == "":
        items[:] = [n for n in items if not (n.section == ctx.section_name and n.key == d.key)]
        return
    items.append(NotEnforced(ctx.section_name, d.key, value, ctx.path, ctx.line))
