"""Parent-side preparation for linux.spawn: User=/Group= (linux.userdb), executable search,
rlimits.

Everything here runs in the daemon before fork (NSS lookups take locks and may open files,
so they must never run in a forked child of a threaded process). linux.userdb reads
/etc/passwd and /etc/group before asking NSS, so that a files user never waits on sssd.
"""

from __future__ import annotations

import errno
import functools
import os
import resource
import stat
from collections.abc import Callable

from pidone.core.dataclass_lite import dataclass
from pidone.core.environment import EXEC_SEARCH_PATH, UserRecord
from pidone.core.hints import cast
from pidone.core.model import ExecContext
from pidone.core.values import RLIM_INFINITY
from pidone.linux import dynamicuser, userdb
from pidone.linux.dynamicuser import dynamic_user_name
from pidone.linux.rlimits import setrlimit_closest as setrlimit_closest  # (re-exported)

EXIT_GROUP = 216
EXIT_USER = 217


@dataclass(frozen=True, slots=True)
class Identity:
    """User=/Group=/SupplementaryGroups= resolved in the parent; -1 / None keep as is.

    A failed lookup is not raised: the child exits with `error_status` (217/216) just as
    systemd's does, so the service machine sees an ordinary exit status.
    """

    user: UserRecord | None = None
    uid: int = -1
    gid: int = -1
    groups: tuple[int, ...] | None = None
    error_status: int = 0
    error_errno: int = 0
    dynamic: bool = False  # DynamicUser= with a transient UID (linux.dynamicuser)
    error_message: str = ""  # why, for the log (DynamicUser= refusals)


def _synthetic_user(name: str) -> UserRecord | None:
    """root and nobody are synthesized without NSS, as systemd's get_user_creds() does."""
    if name in ("root", "0"):
        return UserRecord("root", 0, 0, "/root", "/bin/sh")
    if name in ("nobody", "65534"):
        return UserRecord("nobody", 65534, 65534, "/", "/usr/sbin/nologin")
    return None


def lookup_user(name: str) -> UserRecord | None:
    """A User= value (name or numeric UID) -> its passwd record, None if unknown."""
    synthetic = _synthetic_user(name)
    if synthetic is not None:
        return synthetic
    return userdb.user_by_uid(int(name)) if name.isdigit() else userdb.user_by_name(name)


def lookup_group(name: str) -> int | None:
    """A Group= value (name or numeric GID) -> gid, None if unknown."""
    if name in ("root", "0"):
        return 0
    if name.isdigit():
        return int(name)
    return userdb.gid_by_name(name)


def _dynamic_identity(context: ExecContext, unit: str) -> Identity | None:
    """DynamicUser=: None when a static user of that name exists (systemd then uses it)."""
    name = dynamic_user_name(unit, context.user)
    if not name:
        # Never fall back to running as root (spec 09): refuse with 217/USER.
        return Identity(
            error_status=EXIT_USER,
            error_errno=errno.EINVAL,
            error_message="DynamicUser=yes needs User= or the unit name to name the user",
        )
    if lookup_user(name) is not None:
        return None
    try:
        uid = dynamicuser.allocate(name)
    except OSError as exc:
        return Identity(
            error_status=EXIT_USER,
            error_errno=exc.errno or errno.EBUSY,
            error_message=f"Failed to allocate dynamic user {name}: {exc.strerror}",
        )
    # Group= other than the user's name is a group of its own (systemd.exec(5),
    # "DynamicUser=": "If a statically allocated user or group of the configured name
    # already exists, it is used"): uwsgi-app@.service's Group=www-data is GID 33, a name
    # with no static group gets a transient GID of its own. The GID equals the UID otherwise.
    gid = uid
    if context.group and context.group != name:
        static = lookup_group(context.group)
        try:
            gid = static if static is not None else dynamicuser.allocate(context.group)
        except OSError as exc:
            return Identity(
                error_status=EXIT_GROUP,
                error_errno=exc.errno or errno.EBUSY,
                error_message=f"Failed to allocate dynamic group {context.group}: {exc.strerror}",
            )
    # initgroups(3) with the dynamic name puts the primary GID in the supplementary list
    # (systemd's get_supplementary_groups), then SupplementaryGroups= follow.
    groups: list[int] = [gid]
    for group in context.supplementary_groups:
        found = lookup_group(group)
        if found is None:
            return Identity(error_status=EXIT_GROUP, error_errno=errno.ESRCH)
        if found not in groups:
            groups.append(found)
    user = UserRecord(name, uid, gid, "/", "/usr/sbin/nologin")
    return Identity(user, uid, gid, tuple(groups), dynamic=True)


def resolve_identity(context: ExecContext, unit: str = "") -> Identity:
    """User=, Group=, SupplementaryGroups=, DynamicUser= -> ids, with initgroups(3) semantics.

    With User= and a non-zero gid the supplementary list starts from the group database
    (getgrouplist, linux.userdb), then SupplementaryGroups= are appended; without User=
    (or gid 0) only SupplementaryGroups= are set, and none at all leaves the manager's list alone.
    DynamicUser= needs `unit` (the unit name) unless User= is set.
    """
    if context.dynamic_user:
        dynamic = _dynamic_identity(context, unit)
        if dynamic is not None:
            return dynamic
        if not context.user:  # a static user named after the unit
            context = _with_user(context, dynamic_user_name(unit, ""))
    user: UserRecord | None = None
    uid = gid = -1
    if context.user:
        user = lookup_user(context.user)
        if user is None:
            return Identity(error_status=EXIT_USER, error_errno=errno.ESRCH)
        uid, gid = user.uid, user.gid
    if context.group:
        found = lookup_group(context.group)
        if found is None:
            return Identity(user=user, error_status=EXIT_GROUP, error_errno=errno.ESRCH)
        gid = found
    groups: list[int] | None = None
    if user is not None and gid > 0:
        try:
            groups = userdb.grouplist(user.name, gid)
        except OSError as exc:
            return Identity(user=user, error_status=EXIT_GROUP, error_errno=exc.errno or 0)
    if context.supplementary_groups:
        groups = groups or []
        for name in context.supplementary_groups:
            found = lookup_group(name)
            if found is None:
                return Identity(user=user, error_status=EXIT_GROUP, error_errno=errno.ESRCH)
            if found not in groups:
                groups.append(found)
    return Identity(user, uid, gid, None if groups is None else tuple(groups))


def _with_user(context: ExecContext, name: str) -> ExecContext:
    import copy

    clone = copy.copy(context)
    clone.user = name
    return clone


# --------------------------------------------------------------------------- resolution


def find_executable(path: str) -> tuple[str, int]:
    """(absolute path, 0) or (path, errno): bare names are searched in the fixed list."""
    if "/" in path:
        return path, 0
    last = errno.ENOENT
    for directory in EXEC_SEARCH_PATH:
        candidate = f"{directory}/{path}"
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            last = errno.EISDIR
            continue
        if os.access(candidate, os.X_OK):
            return candidate, 0
        last = errno.EACCES
    return path, last


def missing_executable(path: str) -> int:
    """0 when `path` names an executable regular file (a bare name looked up as
    find_executable() does), else the errno systemd 252's find_executable_full() gives:
    ENOENT and friends from the lookup, EISDIR for a directory, EBADFD for another
    non-regular file (fd_verify_regular()), EACCES without the x bit."""
    resolved, err = find_executable(path)
    if err:
        return err
    try:
        st = os.stat(resolved)
    except OSError as exc:
        return exc.errno or errno.ENOENT
    if stat.S_ISDIR(st.st_mode):
        return errno.EISDIR
    if not stat.S_ISREG(st.st_mode):
        return errno.EBADFD
    return 0 if os.access(resolved, os.X_OK) else errno.EACCES


# RLIMIT_* numbers from <asm-generic/resource.h> (Python's resource module lacks LOCKS).
LIMIT_NAMES = "CPU FSIZE DATA STACK CORE RSS NPROC NOFILE MEMLOCK AS LOCKS SIGPENDING MSGQUEUE"
LIMIT_RESOURCES = {
    name: n for n, name in enumerate((*LIMIT_NAMES.split(), "NICE", "RTPRIO", "RTTIME"))
}


def rlim(value: int) -> int:
    return resource.RLIM_INFINITY if value >= RLIM_INFINITY else value


PR_SET_NO_NEW_PRIVS = 38  # <linux/prctl.h>, Linux 3.5+


@functools.cache
def prctl_function() -> Callable[[int, int, int, int, int], int]:
    """libc's prctl(2), prepared in the parent so the child only calls it (NoNewPrivileges=)."""
    import ctypes  # (on the fork path only: a running daemon does without it, ~0.7 MiB)

    libc = ctypes.CDLL(None, use_errno=True)
    fn = libc.prctl
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return cast(Callable[[int, int, int, int, int], int], fn)


def last_ctypes_errno() -> int:
    import ctypes

    return ctypes.get_errno()
