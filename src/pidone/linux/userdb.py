"""User and group lookups for the daemon: /etc/passwd and /etc/group first, NSS only after.

Why not simply pwd/grp/os.getgrouplist: those go through NSS (nsswitch.conf(5)), and a
module such as sss asks a daemon over a socket and waits up to its own timeout (sssd's
client: 300 s) for the answer. When that socket belongs to a socket unit pidone itself
listens on (sssd-nss.socket, /var/lib/sss/pipes/nss), the daemon that should start
sssd_nss is the one blocked in the lookup: a boot stalled five minutes on the first
unit with User=, and every zombie waited with it. initgroups(3)/getgrouplist(3) are the
worst case: they ask every source, even for a user found in /etc/passwd.

systemd 252 resolves User=/Group= and the supplementary groups in the forked child
(exec_child() -> get_fixed_user()/get_supplementary_groups()), never in PID 1. pidone
resolves them in the daemon (the compiled spawn helper is a static binary, which cannot
load NSS modules), so it reads the "files" source itself, as nss_files does:

* a name or id found in /etc/passwd (/etc/group) is answered from there, which is what NSS
  answers with "files" first (Debian's nsswitch.conf: `passwd: files systemd sss`);
* a name or id missing from the files is asked through NSS (a directory user, LDAP), as
  before;
* the supplementary groups of a user from /etc/passwd are the groups of /etc/group that
  list it. Groups that only a directory service (sss, ldap) gives to a local user are not
  added (systemd's initgroups(3) in the child would add them): documented in
  docs/execution.md.

A name the files lack still goes to NSS, and sss may be the module that answers, through
a socket pidone serves and cannot serve while it waits (a user that was removed, a
package's user not created yet). So NSS is asked from a worker thread (pwd/grp release the
GIL around getpwnam_r(3) & co.) and waited for at most NSS_TIMEOUT: a lookup that has not
answered by then counts as "no such user" (the unit's command fails with 217/USER, as
under systemd when NSS fails), `on_timeout` is told (the daemon logs it), and while that
thread is still stuck the same lookup fails at once instead of waiting again.

The files are parsed again when their size, inode or mtime changes.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import threading
from collections.abc import Callable

from pidone.core.dataclass_lite import dataclass
from pidone.core.environment import UserRecord
from pidone.core.hints import Final

PASSWD: Final = "/etc/passwd"
GROUP: Final = "/etc/group"
NSS_TIMEOUT = 2.0  # seconds the daemon waits for one NSS answer (sssd's own client: 300)
# Told "getpwnam(smokeping)" & co. when NSS did not answer in time (the daemon logs it).
on_timeout: Callable[[str], None] | None = None


@dataclass(frozen=True, slots=True)
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


class FilesDB:
    """One parsed /etc/passwd and /etc/group, re-read when either file changes."""

    def __init__(self, passwd: str = PASSWD, group: str = GROUP) -> None:
        self.passwd_path = passwd
        self.group_path = group
        self._stamp: tuple[object, object] | None = None
        self._users: dict[str, UserRecord] = {}
        self._uids: dict[int, UserRecord] = {}
        self._groups: dict[str, GroupEntry] = {}
        self._gids: dict[int, GroupEntry] = {}

    def _fresh(self) -> None:
        stamp = (_stamp(self.passwd_path), _stamp(self.group_path))
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self._users, self._uids = {}, {}
        for fields in _records(self.passwd_path, 7):
            try:
                user = UserRecord(fields[0], int(fields[2]), int(fields[3]), fields[5], fields[6])
            except ValueError:
                continue  # nss_files skips a malformed line too
            self._users.setdefault(user.name, user)  # the first entry of a name wins
            self._uids.setdefault(user.uid, user)
        self._groups, self._gids = {}, {}
        for fields in _records(self.group_path, 4):
            try:
                members = tuple(filter(None, fields[3].split(",")))
                entry = GroupEntry(fields[0], int(fields[2]), members)
            except ValueError:
                continue
            self._groups.setdefault(entry.name, entry)
            self._gids.setdefault(entry.gid, entry)

    def user(self, name: str) -> UserRecord | None:
        self._fresh()
        return self._users.get(name)

    def user_by_uid(self, uid: int) -> UserRecord | None:
        self._fresh()
        return self._uids.get(uid)

    def group(self, name: str) -> GroupEntry | None:
        self._fresh()
        return self._groups.get(name)

    def group_by_gid(self, gid: int) -> GroupEntry | None:
        self._fresh()
        return self._gids.get(gid)

    def member_of(self, name: str) -> list[int]:
        """The GIDs of every group that lists `name`, in file order."""
        self._fresh()
        return [g.gid for g in self._groups.values() if name in g.members]


def _stamp(path: str) -> object:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _records(path: str, width: int) -> list[list[str]]:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        if not line or line.startswith(("#", "+", "-")):  # comments, NIS compat entries
            continue
        fields = line.split(":")
        if len(fields) >= width:
            out.append(fields[:width])
    return out


FILES = FilesDB()


class _Lookup:
    """One NSS call on a worker thread; `done` is set when it returned or raised."""

    def __init__(self, call: Callable[[], object]) -> None:
        self.done = threading.Event()
        self.value: object = None
        self._call = call
        threading.Thread(target=self._run, name="pidone-nss", daemon=True).start()

    def _run(self) -> None:
        try:
            self.value = self._call()
        except (KeyError, OverflowError, ValueError, OSError):
            self.value = None
        self.done.set()


_stuck: dict[str, _Lookup] = {}  # lookups that outlived NSS_TIMEOUT, by what they ask


def _nss(what: str, call: Callable[[], object]) -> object:
    """call() (an NSS lookup) with at most NSS_TIMEOUT of waiting; None if unknown."""
    stuck = _stuck.get(what)
    if stuck is not None:
        if not stuck.done.is_set():
            return None  # still hanging in NSS: do not wait for it twice
        del _stuck[what]  # it came back in the end: ask afresh
    lookup = _Lookup(call)
    if lookup.done.wait(NSS_TIMEOUT):
        return lookup.value
    _stuck[what] = lookup
    if on_timeout is not None:
        on_timeout(what)
    return None


def _from_nss(entry: pwd.struct_passwd) -> UserRecord:
    return UserRecord(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, entry.pw_shell)


def user_by_name(name: str, db: FilesDB = FILES) -> UserRecord | None:
    """getpwnam(3), files first."""
    found = db.user(name)
    if found is not None:
        return found
    entry = _nss(f"getpwnam({name})", lambda: pwd.getpwnam(name))
    return _from_nss(entry) if isinstance(entry, pwd.struct_passwd) else None


def user_by_uid(uid: int, db: FilesDB = FILES) -> UserRecord | None:
    """getpwuid(3), files first."""
    found = db.user_by_uid(uid)
    if found is not None:
        return found
    entry = _nss(f"getpwuid({uid})", lambda: pwd.getpwuid(uid))
    return _from_nss(entry) if isinstance(entry, pwd.struct_passwd) else None


def gid_by_name(name: str, db: FilesDB = FILES) -> int | None:
    """getgrnam(3)'s gid, files first."""
    found = db.group(name)
    if found is not None:
        return found.gid
    entry = _nss(f"getgrnam({name})", lambda: grp.getgrnam(name))
    return entry.gr_gid if isinstance(entry, grp.struct_group) else None


def group_name(gid: int, db: FilesDB = FILES) -> str | None:
    """getgrgid(3)'s name, files first."""
    found = db.group_by_gid(gid)
    if found is not None:
        return found.name
    entry = _nss(f"getgrgid({gid})", lambda: grp.getgrgid(gid))
    return entry.gr_name if isinstance(entry, grp.struct_group) else None


def grouplist(name: str, gid: int, db: FilesDB = FILES) -> list[int]:
    """getgrouplist(3): `gid` first, then the user's other groups.

    A user of /etc/passwd gets the groups of /etc/group that list it (no NSS: see the
    module docstring); any other user is asked through NSS. Raises OSError when NSS fails
    or does not answer in time."""
    if db.user(name) is None:
        groups = _nss(f"getgrouplist({name})", lambda: os.getgrouplist(name, gid))
        if not isinstance(groups, list):
            raise OSError(errno.ETIMEDOUT, f"getgrouplist({name}) did not answer")
        return [int(g) for g in groups]
    groups = [gid]
    for other in db.member_of(name):
        if other not in groups:
            groups.append(other)
    return groups
