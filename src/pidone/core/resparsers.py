"""Validators for resource-control and sandboxing directives pidone records but does not enforce.

They store nothing (the row is `not-enforced`, so `core.units` records the raw value in
`Unit.not_enforced`); they only say what systemd 252 says about a bad value, so that
`pidone verify` reports the same problems. Messages were checked with
`systemd-analyze verify` (systemd.resource-control(5), systemd.exec(5)).
"""

from __future__ import annotations

import re

from pidone.core.directives import Directive
from pidone.core.parsebase import Context, Ignored, set_target, to_int
from pidone.core.values import parse_boolean, parse_size

_PERCENT = re.compile(r"(\d+)(?:\.(\d))?%\Z")  # parse_permyriad(): one decimal digit at most


def _percent(value: str) -> float | None:
    m = _PERCENT.match(value)
    if m is None:
        return None
    return int(m.group(1)) + (int(m.group(2)) / 10 if m.group(2) else 0.0)


def _deprecated(ctx: Context, d: Directive, instead: str) -> None:
    ctx.warnings.append(
        f"Unit uses {d.key}=; please use {instead} instead. "
        f"Support for {d.key}= will be removed soon."
    )


def p_memory(ctx: Context, d: Directive, value: str) -> None:
    """MemoryMin/Low/High/Max/SwapMax/Limit=: bytes with K/M/G..., N%, or infinity."""
    if d.key == "MemoryLimit":
        _deprecated(ctx, d, "MemoryMax=")
    if value == "infinity":
        return
    pct = _percent(value)
    if pct is not None:
        if pct > 100:
            raise Ignored(f"Invalid memory limit '{value}', ignoring: Invalid argument")
        return
    if value.startswith("-"):
        raise Ignored(f"Invalid memory limit '{value}', ignoring: Numerical result out of range")
    try:
        parse_size(value, 1024)
    except ValueError:
        raise Ignored(f"Invalid memory limit '{value}', ignoring: Invalid argument") from None


def p_tasks_max(ctx: Context, d: Directive, value: str) -> None:
    if value == "infinity":
        return
    pct = _percent(value)
    number = to_int(value) if pct is None else None
    if pct is None and number is None:
        raise Ignored(f"Invalid maximum tasks value '{value}', ignoring: Invalid argument")
    if (pct is not None and (pct <= 0 or pct > 100)) or number == 0:
        raise Ignored(f"Maximum tasks value '{value}' out of range, ignoring.")


def p_cpu_quota(ctx: Context, d: Directive, value: str) -> None:
    pct = _percent(value)
    if pct is None or pct <= 0:
        raise Ignored(f"Invalid CPU quota '{value}', ignoring.")


def _weight(value: str, low: int, high: int) -> bool:
    number = to_int(value)
    return number is not None and not value.startswith(("+", "-")) and low <= number <= high


def p_cpu_weight(ctx: Context, d: Directive, value: str) -> None:
    if value == "idle" and d.key == "CPUWeight":
        return
    if not _weight(value, 1, 10000):
        raise Ignored(f"Invalid CPU weight, ignoring: {value}")


def p_io_weight(ctx: Context, d: Directive, value: str) -> None:
    if not _weight(value, 1, 10000):
        raise Ignored(f"Invalid weight, ignoring: {value}")


def p_blockio_weight(ctx: Context, d: Directive, value: str) -> None:
    if not _weight(value, 10, 1000):
        raise Ignored(f"Invalid block IO weight, ignoring: {value}")


def p_cpu_shares(ctx: Context, d: Directive, value: str) -> None:
    _deprecated(ctx, d, "CPUWeight=")
    if not _weight(value, 2, 262144):
        raise Ignored(f"Invalid CPU shares, ignoring: {value}")


def p_blockio_device(ctx: Context, d: Directive, value: str) -> None:
    """BlockIODeviceWeight=/BlockIORead|WriteBandwidth=: accepted with a deprecation notice."""
    _deprecated(ctx, d, "IO*= settings")


def p_removed_option(ctx: Context, d: Directive, value: str) -> None:
    raise Ignored(f"Support for option {d.key}= has been removed and it is ignored")


_CONTROLLER_NAMES = (
    "cpu cpuacct cpuset io blkio memory devices pids bpf-firewall bpf-devices bpf-foreign "
    "bpf-socket-bind bpf-restrict-network-interfaces"
)
_CONTROLLERS = frozenset(_CONTROLLER_NAMES.split())


def p_delegate(ctx: Context, d: Directive, value: str) -> None:
    try:
        parse_boolean(value)
        return
    except ValueError:
        pass
    for word in value.split():
        if word not in _CONTROLLERS:
            raise Ignored(f"Invalid controller name '{word}', ignoring")


def _choice(value: str, choices: str, message: str) -> None:
    if value not in choices.split():
        raise Ignored(f"{message}, ignoring: {value}")


def p_device_policy(ctx: Context, d: Directive, value: str) -> None:
    _choice(value, "auto closed strict", "Failed to parse device policy")


def p_protect_proc(ctx: Context, d: Directive, value: str) -> None:
    _choice(
        value, "noaccess invisible ptraceable default", "Failed to parse /proc/ protection mode"
    )
    set_target(ctx, d.target, value)


def p_proc_subset(ctx: Context, d: Directive, value: str) -> None:
    _choice(value, "all pid", "Failed to parse /proc/ subset mode")
    set_target(ctx, d.target, value)


def p_keyring_mode(ctx: Context, d: Directive, value: str) -> None:
    _choice(value, "inherit private shared", "Failed to parse keyring mode")


def p_utmp_mode(ctx: Context, d: Directive, value: str) -> None:
    _choice(value, "init login user", "Failed to parse utmp mode")


def p_managed_oom(ctx: Context, d: Directive, value: str) -> None:
    if value not in ("auto", "kill"):
        raise Ignored(f"Invalid syntax, ignoring: {value}")


def p_oom_preference(ctx: Context, d: Directive, value: str) -> None:
    _choice(value, "none avoid omit", f"Failed to parse {d.key}=")
