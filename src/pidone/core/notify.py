"""sd_notify(3) datagrams: parse the KEY=VALUE payload and judge NotifyAccess= (spec 03 §8).

Rules (systemd 252 src/core/manager.c manager_dispatch_notify_fd(), service.c
service_notify_message(); man 3 sd_notify):

1. The payload is newline-separated `KEY=VALUE` lines; a trailing newline is optional,
   unknown keys are ignored. Flags are exact lines (`READY=1`); for a valued key the first
   line with that key wins (strv_find_startswith()).
2. A datagram with an embedded NUL byte is ignored as a whole; so is one over 4096 bytes
   (the receiver sees it truncated) or without sender credentials.
3. A bad value (STATUS= not UTF-8, MAINPID= not a positive number, ERRNO= negative...)
   drops that one field with a warning; it never raises.
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass, field

NOTIFY_BUFFER_MAX = 4096  # PIPE_BUF; systemd ignores longer datagrams
_U64_MAX = 2**64 - 1
_INT_MAX = 2**31 - 1
_FDNAME_MAX = 255


@dataclass(frozen=True, slots=True)
class NotifyMessage:
    """One parsed datagram; None / False for what it did not say."""

    ready: bool = False
    reloading: bool = False
    stopping: bool = False
    status: str | None = None  # "" clears the status text
    errno: int | None = None
    bus_error: str | None = None
    main_pid: int | None = None
    watchdog: bool = False  # WATCHDOG=1
    watchdog_trigger: bool = False  # WATCHDOG=trigger
    watchdog_usec: int | None = None
    extend_timeout_usec: int | None = None
    fdstore: bool = False
    fdstore_remove: bool = False
    fdname: str | None = None
    fdpoll: bool = True  # FDPOLL=0 turns it off
    barrier: bool = False
    monotonic_usec: int | None = None
    exit_status: int | None = None
    notify_access: str | None = None
    ignored: bool = False  # the whole datagram is to be ignored (rule 2)
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _u64(text: str) -> int | None:
    """safe_atou64(): decimal digits only (no sign, no spaces), within 64 bits."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= _U64_MAX else None


def _fdname_ok(name: str) -> bool:
    """fdname_is_valid(): printable ASCII, no ':', at most 255 characters."""
    return len(name) <= _FDNAME_MAX and all(0x20 <= ord(c) < 0x7F and c != ":" for c in name)


def parse_notify_message(data: bytes) -> NotifyMessage:
    """Parse one sd_notify payload; never raises."""
    if b"\0" in data:
        return NotifyMessage(
            ignored=True,
            warnings=("Received notify message with embedded NUL bytes, ignoring.",),
        )
    if len(data) > NOTIFY_BUFFER_MAX:
        return NotifyMessage(
            ignored=True, warnings=("Got notification message with truncated payload, ignoring.",)
        )
    lines = data.split(b"\n")
    flags = set(lines)
    first: dict[bytes, bytes] = {}
    for line in lines:
        key, eq, value = line.partition(b"=")
        if eq and key not in first:
            first[key] = value
    warnings: list[str] = []

    def text(key: bytes) -> str | None:
        raw = first.get(key)
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            warnings.append(f"{key.decode()}= value in notification message is not UTF-8 clean.")
            return None

    def number(key: bytes, limit: int = _U64_MAX, minimum: int = 0) -> int | None:
        raw = text(key)
        if raw is None:
            return None
        value = _u64(raw)
        if value is None or not minimum <= value <= limit:
            warnings.append(f"Failed to parse {key.decode()}= field value '{raw}', ignoring.")
            return None
        return value

    fdname = text(b"FDNAME")
    if fdname is not None and not _fdname_ok(fdname):
        warnings.append(f"Passed FDNAME field is invalid, ignoring: {fdname}")
        fdname = None
    access = text(b"NOTIFYACCESS")
    if access is not None and access not in ("none", "main", "exec", "all"):
        warnings.append(f"Failed to parse NOTIFYACCESS= field value '{access}', ignoring.")
        access = None
    return NotifyMessage(
        ready=b"READY=1" in flags,
        reloading=b"RELOADING=1" in flags,
        stopping=b"STOPPING=1" in flags,
        status=text(b"STATUS"),
        errno=number(b"ERRNO", _INT_MAX),
        bus_error=text(b"BUSERROR"),
        main_pid=number(b"MAINPID", _INT_MAX, 1),
        watchdog=b"WATCHDOG=1" in flags,
        watchdog_trigger=b"WATCHDOG=trigger" in flags,
        watchdog_usec=number(b"WATCHDOG_USEC"),
        extend_timeout_usec=number(b"EXTEND_TIMEOUT_USEC"),
        fdstore=b"FDSTORE=1" in flags,
        fdstore_remove=b"FDSTOREREMOVE=1" in flags,
        fdname=fdname,
        fdpoll=b"FDPOLL=0" not in flags,
        barrier=b"BARRIER=1" in flags,
        monotonic_usec=number(b"MONOTONIC_USEC"),
        exit_status=number(b"EXIT_STATUS", 255),
        notify_access=access,
        warnings=tuple(warnings),
    )


def check_notify_access(
    access: str, sender: int, main_pid: int, control_pid: int, in_unit: bool
) -> str | None:
    """None if `sender` may notify under NotifyAccess=`access`, else systemd's log text.

    `in_unit`: the sender belongs to the unit's process group (cgroup or tracker).
    """
    if access == "none":
        return f"Got notification message from PID {sender}, but reception is disabled."
    if access == "main" and sender != main_pid:
        if main_pid:
            return (
                f"Got notification message from PID {sender}, "
                f"but reception only permitted for main PID {main_pid}"
            )
        return (
            f"Got notification message from PID {sender}, "
            "but reception only permitted for main PID which is currently not known"
        )
    if access == "exec" and sender not in (main_pid, control_pid):
        parts = []
        parts.append(
            f"main PID {main_pid}" if main_pid else "main PID which is currently not known"
        )
        parts.append(
            f"control PID {control_pid}"
            if control_pid
            else "control PID which is currently not known"
        )
        return (
            f"Got notification message from PID {sender}, "
            f"but reception only permitted for {' and '.join(parts)}"
        )
    if access == "all" and not in_unit and sender not in (main_pid, control_pid):
        return f"Got notification message from PID {sender}, but it does not belong to the unit"
    return None
