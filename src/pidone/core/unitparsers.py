"""Apply functions for the directive table: validate one value, warn as systemd 252, store it.

This module holds the [Unit], [Service], [Socket] and [Timer] parsers and assembles
`PARSERS` (name -> function) from it and `core.execparsers`. The messages were checked
one by one against `systemd-analyze verify` on 252.
"""

from __future__ import annotations

from collections.abc import Callable

from pidone.core import execparsers, resparsers, seccompparsers, sockparsers
from pidone.core.directives import Directive
from pidone.core.errors import ValueParseError
from pidone.core.escape import path_is_valid, simplify_path
from pidone.core.execline import ExecLineError, parse_exec_line
from pidone.core.hints import Any
from pidone.core.model import Condition, NotEnforced
from pidone.core.parsebase import (
    Context,
    Fatal,
    Ignored,
    get_target,
    printf,
    sec_or_ignore,
    set_target,
    split_value,
    to_int,
)
from pidone.core.unitname import is_valid_unit_name
from pidone.core.values import (
    USEC_INFINITY,
    ExitStatusSet,
    parse_boolean,
    parse_exit_status_set,
    parse_mode,
    parse_signal,
)


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


def p_sec(ctx: Context, d: Directive, value: str) -> None:
    set_target(ctx, d.target, sec_or_ignore(value, f"Failed to parse sec value, ignoring: {value}"))


def p_sec_param(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse {d.key}= parameter, ignoring: {value}"
    set_target(ctx, d.target, sec_or_ignore(value, msg))


def p_sec_fix0(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_sec_fix_0(): 0 means "no timeout" (infinity)
    usec = sec_or_ignore(value, f"Failed to parse {d.what}, ignoring: {value}")
    set_target(ctx, d.target, usec or USEC_INFINITY)


def p_timeout(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_service_timeout(): TimeoutSec= sets start and stop; 0 = infinity
    usec = (
        sec_or_ignore(value, f"Failed to parse {d.key}= parameter, ignoring: {value}")
        or USEC_INFINITY
    )
    ctx.section.timeout_start_usec = usec
    ctx.section.timeout_start_explicit = True
    if d.key == "TimeoutSec":
        ctx.section.timeout_stop_usec = usec


def p_timeout_abort(ctx: Context, d: Directive, value: str) -> None:
    msg = f"Failed to parse {d.key}= setting, ignoring: {value}"
    set_target(ctx, d.target, sec_or_ignore(value, msg) or USEC_INFINITY)


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


def p_action_status(ctx: Context, d: Directive, value: str) -> None:
    number = to_int(value)
    if number is None:
        raise Ignored(f"Failed to parse exit status '{value}', ignoring: Invalid argument")
    if not 0 <= number <= 255:
        raise Ignored(
            f"Failed to parse exit status '{value}', ignoring: Numerical result out of range"
        )
    set_target(ctx, d.target, number)


def p_unsigned(ctx: Context, d: Directive, value: str) -> None:
    number = to_int(value)
    if number is None or value.startswith("-") or number >= 2**32:
        raise Ignored(f"Failed to parse unsigned value, ignoring: {value}")
    set_target(ctx, d.target, number)


def p_string(ctx: Context, d: Directive, value: str) -> None:
    set_target(ctx, d.target, printf(ctx, value))


def p_path(ctx: Context, d: Directive, value: str) -> None:
    path = printf(ctx, value)
    if not path.startswith("/"):
        raise Ignored(f"{d.key}= path is not absolute, ignoring: {path}")
    set_target(ctx, d.target, path)


def p_path_fatal(ctx: Context, d: Directive, value: str) -> None:
    path = printf(ctx, value)
    if not path.startswith("/"):
        raise Fatal(f"{d.key}= path is not absolute: {path}")
    set_target(ctx, d.target, path)


def p_pidfile(ctx: Context, d: Directive, value: str) -> None:
    path = printf(ctx, value)
    if not path.startswith("/"):
        path = "/run/" + path  # relative PIDFile= lives in /run (spec 02 §1)
    set_target(ctx, d.target, path)


def p_busname(ctx: Context, d: Directive, value: str) -> None:
    name = printf(ctx, value)
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


def p_strv(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = get_target(ctx, d.target)
    for word in split_value(ctx, value):
        items.append(printf(ctx, word))


def _documentation_url_ok(url: str) -> bool:
    """documentation_url_is_valid(): http(s)://X, file:/X, man:X, info:X with X non-empty."""
    for prefix in ("http://", "https://", "file:/", "man:", "info:"):
        if url.startswith(prefix):
            return len(url) > len(prefix)
    return False


def p_documentation(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.unit.unit.documentation
    for word in value.split():
        try:
            url = printf(ctx, word)
        except Ignored as e:
            ctx.warnings.append(str(e))
            continue
        if not _documentation_url_ok(url):
            ctx.warnings.append(f"Invalid URL, ignoring: {url}")
            continue
        if url not in items:
            items.append(url)


# unit_should_warn_about_dependency(): a dependency on the unit itself is dropped; only
# these say so ("Dependency After=x.service is dropped."), checked on 252
_WARN_SELF = frozenset({"before", "after", "conflicts", "on_failure", "on_success"})
_CANONICAL = {
    "BindTo": "BindsTo",
    "PropagateReloadTo": "PropagatesReloadTo",
    "PropagateReloadFrom": "ReloadPropagatedFrom",
}


def _unit_words(ctx: Context, d: Directive, value: str) -> list[str]:
    names: list[str] = []
    for word in value.split():
        try:
            name = printf(ctx, word)
        except Ignored as e:
            ctx.warnings.append(str(e))
            continue
        if not is_valid_unit_name(name):
            ctx.warnings.append(f"Failed to add dependency on {name}, ignoring: Invalid argument")
            continue
        if name in ctx.unit.names or name == ctx.unit.id:
            if d.target in _WARN_SELF:
                key = _CANONICAL.get(d.key, d.key.replace("Overridable", ""))
                ctx.warnings.append(f"\0{ctx.unit.id}: Dependency {key}={name} is dropped.")
            continue
        names.append(name)
    return names


def p_deps(ctx: Context, d: Directive, value: str) -> None:
    if not d.target:
        _unit_words(ctx, d, value)
        return
    items: list[str] = getattr(ctx.unit.unit, d.target)
    for name in _unit_words(ctx, d, value):
        if name not in items:
            items.append(name)


def p_deps_obsolete(ctx: Context, d: Directive, value: str) -> None:
    new = d.key.replace("Overridable", "")
    ctx.warnings.append(
        f"Unit dependency type {d.key}= is obsolete, replacing by {new}=, "
        "please update your unit file"
    )
    p_deps(ctx, d, value)


def p_on_failure_isolate(ctx: Context, d: Directive, value: str) -> None:
    # the old spelling of OnFailureJobMode=isolate; 252 logs the notice without file:line
    try:
        isolate = parse_boolean(value)
    except ValueError:
        raise Ignored(f"Failed to parse boolean, ignoring: {value}") from None
    ctx.warnings.append("\0OnFailureIsolate is deprecated. Please use OnFailureJobMode= instead")
    ctx.unit.unit.on_failure_job_mode = "isolate" if isolate else "replace"


def p_removed(ctx: Context, d: Directive, value: str) -> None:
    raise Ignored(f"Support for option {d.key}= has been removed and it is ignored")


def p_mounts_for(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.unit.unit.requires_mounts_for
    for word in split_value(ctx, value):
        try:
            path = printf(ctx, word)
        except Ignored as e:
            ctx.warnings.append(str(e))
            continue
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


def _checked_absolute_path(key: str, path: str) -> str:
    """252's path_simplify_and_warn(PATH_CHECK_ABSOLUTE), as config_parse_unit_condition_path()
    calls it: the path is kept simplified (`ConditionDirectoryNotEmpty=|/etc/sssd/conf.d/`
    is checked and shown by `status` as `/etc/sssd/conf.d`); one that is relative, too long
    or has a `..` component is ignored."""
    if not path.startswith("/"):
        raise Ignored(f"{key}= path is not absolute, ignoring: {path}")
    simple = simplify_path(path)
    if not path_is_valid(simple):
        size = len(simple.encode("utf-8", "surrogateescape"))
        raise Ignored(f"{key}= path has invalid length ({size} bytes), ignoring.")
    if ".." in simple.split("/"):
        raise Ignored(f"{key}= path is not normalized, ignoring: {simple}")
    return simple


def p_condition(ctx: Context, d: Directive, value: str) -> None:
    is_assert = d.key.startswith("Assert")
    kind = d.key[len("Assert") :] if is_assert else d.key[len("Condition") :]
    text = value
    trigger = text.startswith("|")  # no blanks are skipped after "|" or "!" (252)
    if trigger:
        text = text[1:]
    negate = text.startswith("!")
    if negate:
        text = text[1:]
    text = printf(ctx, text)
    if kind in _PATH_CONDITIONS:
        text = _checked_absolute_path(d.key, text)
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


def p_mode(ctx: Context, d: Directive, value: str) -> None:
    try:
        set_target(ctx, d.target, parse_mode(value))
    except (ValueParseError, ValueError):
        raise Ignored(f"Failed to parse mode value, ignoring: {value}") from None


def p_sockets(ctx: Context, d: Directive, value: str) -> None:
    items: list[str] = ctx.section.sockets
    for word in value.split():
        name = printf(ctx, word)
        if not name.endswith(".socket"):
            ctx.warnings.append(f"Unit must be of type socket, ignoring: {name}")
        elif name not in items:
            items.append(name)


def p_slice(ctx: Context, d: Directive, value: str) -> None:
    name = printf(ctx, value)
    if not is_valid_unit_name(name, template=False):
        raise Ignored(f"Failed to load slice unit {name}, ignoring: Unit name {name} is not valid.")
    if not name.endswith(".slice"):
        raise Ignored(f"Slice unit {name} is not a slice, ignoring.")
    ctx.unit.slice = name


def p_socket_service(ctx: Context, d: Directive, value: str) -> None:
    name = printf(ctx, value)
    if not name.endswith(".service") or not is_valid_unit_name(name, template=False):
        raise Ignored(f"Unit must be of type service, ignoring: {value}")
    set_target(ctx, d.target, name)


_TIMER_LISTS = (
    "on_active_usec",
    "on_boot_usec",
    "on_startup_usec",
    "on_unit_active_usec",
    "on_unit_inactive_usec",
    "on_calendar",
)


def _timer_reset(ctx: Context) -> None:
    # config_parse_timer(): an empty On*= value drops every trigger, of every kind
    for name in _TIMER_LISTS:
        setattr(ctx.section, name, [])


def p_timer_sec(ctx: Context, d: Directive, value: str) -> None:
    if value == "":
        _timer_reset(ctx)
        return
    items: list[int] = get_target(ctx, d.target)
    message = f"Failed to parse timer value, ignoring: {value}"
    items.append(sec_or_ignore(printf(ctx, value), message))


def p_calendar(ctx: Context, d: Directive, value: str) -> None:
    if value == "":
        _timer_reset(ctx)
        return
    text = printf(ctx, value)
    from pidone.core.calendar import parse_calendar  # OnCalendar= only: not every daemon's

    try:
        parse_calendar(text)
    except ValueError:
        raise Ignored(f"Failed to parse calendar specification, ignoring: {text}") from None
    ctx.section.on_calendar.append(text)


def p_timer_unit(ctx: Context, d: Directive, value: str) -> None:
    name = printf(ctx, value)
    if not is_valid_unit_name(name):
        raise Ignored(f"Unit type not valid, ignoring: {value}")
    set_target(ctx, d.target, name)


def p_path_spec(ctx: Context, d: Directive, value: str) -> None:
    """PathExists=, PathChanged=, ... (config_parse_path_spec()): an absolute path,
    simplified; the empty value drops every path given so far, of every kind."""
    specs: list[tuple[str, str]] = ctx.section.specs
    if value == "":
        specs.clear()
        return
    path = printf(ctx, value)
    if not path.startswith("/"):
        raise Ignored(f"{d.key}= path is not absolute, ignoring: {path}")
    # path_simplify(): no "//", no "/./" and no trailing slash
    parts = [p for p in path.split("/") if p not in ("", ".")]
    specs.append((d.key, "/" + "/".join(parts)))


ApplyFn = Callable[[Context, Directive, str], None]

PARSERS: dict[str, ApplyFn] = {
    name[2:]: fn
    for module in (
        globals(),
        vars(execparsers),
        vars(resparsers),
        vars(seccompparsers),
        vars(sockparsers),
    )
    for name, fn in module.items()
    if name.startswith("p_") and callable(fn)
}
PARSERS["install"] = p_accept


# Values that ask for nothing (systemd.exec(5) defaults), like a boolean set to false.
_DEFAULTS = {"ProtectProc": "default", "ProcSubset": "all"}


def record_not_enforced(ctx: Context, d: Directive, value: str) -> None:
    """Remember a not-enforced directive (an empty value forgets the earlier ones).

    A boolean one set to false asks for nothing (every such option defaults to off:
    PrivateNetwork=false in mariadb.service is the default spelled out, systemd.exec(5)),
    so it only overrides an earlier true, as the last assignment wins.
    """
    items = ctx.unit.not_enforced
    if (
        value == ""
        or (d.parser == "bool" and not parse_boolean(value))
        or _DEFAULTS.get(d.key) == value
    ):
        items[:] = [n for n in items if not (n.section == ctx.section_name and n.key == d.key)]
        return
    items.append(NotEnforced(ctx.section_name, d.key, value, ctx.path, ctx.line))
