"""DynamicUser=: a transient UID/GID from 61184-65519, named after the unit, no passwd entry.

How systemd 252 does it (src/core/dynamic-user.c, man 5 systemd.exec "DynamicUser="): the
name is `User=` when set, else the unit name without its suffix; if that name exists in
the user database, the static user is used instead. Otherwise a UID is picked in the
range 61184..65519 (the first candidate is a hash of the name), checked against the user
and group databases, and claimed by a lock file so two units never share one. The GID
equals the UID. Nothing is written to /etc/passwd: services see the numbers only.

pidone claims a UID by creating `<registry>/<uid>` (O_EXCL, holding the name) and
remembers the name's UID in `<registry>/name:<name>`; the registry lives under /run so it
disappears at boot, as systemd's does. `release()` frees both when the unit stops.
"""

from __future__ import annotations

import binascii
import contextlib
import errno
import os

from pidone.linux import userdb

DYNAMIC_UID_MIN = 61184
DYNAMIC_UID_MAX = 65519
DEFAULT_REGISTRY = "/run/pidone-dynamic-uid"


def dynamic_user_name(unit: str, user: str) -> str:
    """`User=` if given, else the unit name without its type suffix (foo@x.service -> foo@x)."""
    if user:
        return user
    return unit.rsplit(".", 1)[0] if "." in unit else unit


def _taken_by_database(uid: int) -> bool:
    """A user or group with this number exists (files first, NSS bounded: linux/userdb.py;
    an NSS source that does not answer in time counts as "not taken")."""
    return userdb.user_by_uid(uid) is not None or userdb.group_name(uid) is not None


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


def allocate(name: str, registry: str = DEFAULT_REGISTRY) -> int:
    """The UID (= GID) for `name`: the one it already holds, or a free one; raises OSError
    (EBUSY when the range is exhausted)."""
    if not name or "/" in name or name.startswith("."):
        raise OSError(errno.EINVAL, f"invalid dynamic user name {name!r}")
    os.makedirs(registry, mode=0o755, exist_ok=True)
    held = _read(f"{registry}/name:{name}")
    if held.isdigit() and _read(f"{registry}/{held}") == name:
        return int(held)
    size = DYNAMIC_UID_MAX - DYNAMIC_UID_MIN + 1
    # binascii.crc32 is zlib.crc32 (the same CRC-32) without mapping libz into the daemon
    start = binascii.crc32(name.encode()) % size
    for i in range(size):
        uid = DYNAMIC_UID_MIN + (start + i) % size
        if _taken_by_database(uid):
            continue
        try:
            fd = os.open(f"{registry}/{uid}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        try:
            os.write(fd, name.encode() + b"\n")
        finally:
            os.close(fd)
        tmp = f"{registry}/.name:{name}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{uid}\n")
        os.replace(tmp, f"{registry}/name:{name}")
        return uid
    raise OSError(errno.EBUSY, "no free UID in the dynamic user range 61184-65519")


def lookup(name: str, registry: str = DEFAULT_REGISTRY) -> int | None:
    """The UID `name` holds now, or None."""
    held = _read(f"{registry}/name:{name}")
    if held.isdigit() and _read(f"{registry}/{held}") == name:
        return int(held)
    return None


def release(name: str, registry: str = DEFAULT_REGISTRY) -> None:
    """Give the UID back (the unit stopped)."""
    uid = lookup(name, registry)
    for path in (f"{registry}/name:{name}", f"{registry}/{uid}" if uid is not None else ""):
        if path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
