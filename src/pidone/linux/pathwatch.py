"""The kernel side of path units: the checks of [Path] specs and their inotify watches.

systemd 252 src/core/path.c, procedure by procedure (man 5 systemd.path):

1. `check_good()` is path_check_good(): the first spec that holds, in file order, gives
   the path that triggers (TRIGGER_PATH=). PathExists= holds if access(F_OK) succeeds,
   PathExistsGlob= if the glob (with braces, glob(3) GLOB_BRACE) matches (its first match
   is the path), DirectoryNotEmpty= if the directory has an entry that is not hidden or a
   backup file (dir_is_empty(ignore_hidden_or_backup=true)). PathChanged=/PathModified=
   hold when the file appeared or went since the previous check, except at the start and
   on a check caused by the triggered unit's state; each check records whether it exists.
2. `watch()` is path_spec_watch(), one inotify fd per spec: every prefix of the path from
   `/` down is watched for IN_CREATE|IN_MOVED_TO (and IN_MOVE_SELF|IN_DELETE_SELF|
   IN_ATTRIB), up to the first one missing; once a prefix exists, its parent's watch is
   narrowed to IN_MOVE_SELF. The path itself gets its kind's mask (inotify(7)), with and
   without IN_DONT_FOLLOW, so a symlink and its target are both watched. EACCES/ENOENT
   just stop the walk (an incomplete watch); nothing watched at all is an error, and so
   is any other errno (ENOTDIR under a file, ELOOP in a symlink loop, ENOSPC past
   fs.inotify.max_user_watches): the path unit fails (core.pathunit rule 3).
3. An event on a spec's fd is read whole; for PathChanged=/PathModified=, one on the
   watch of the path itself (primary_wd) means "changed" (path_spec_fd_event()).
4. `make_directories()` is path_mkdir() (MakeDirectory=): mkdir -p with DirectoryMode=,
   a failure is a warning ("mkdir(...) failed: ..."), logged as path_spec_mkdir() does,
   without the unit (log_warning_errno()).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import glob
import os
import struct
from collections.abc import Callable

from pidone.core.pathseam import CHANGE_KINDS
from pidone.linux.conditions import brace_expand

# inotify(7) masks (linux/inotify.h)
IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_DONT_FOLLOW = 0x2000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

_SELF = IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB
_CHANGED = _SELF | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
# path.c flags_table[]
FLAGS = {
    "PathExists": _SELF,
    "PathExistsGlob": _SELF,
    "PathChanged": _CHANGED,
    "PathModified": _CHANGED | IN_MODIFY,
    "DirectoryNotEmpty": _SELF | IN_CREATE | IN_MOVED_TO,
}
_PREFIX_FLAGS = IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB | IN_CREATE | IN_MOVED_TO
_EVENT = struct.Struct("iIII")  # struct inotify_event {int wd; u32 mask, cookie, len;}

# hidden_or_backup_file() (src/basic/dirent-util.c): these entries do not make a
# directory "not empty" for DirectoryNotEmpty=.
_BACKUP_SUFFIXES = (
    "~", ".rpmnew", ".rpmsave", ".rpmorig", ".dpkg-old", ".dpkg-new", ".dpkg-tmp",
    ".dpkg-dist", ".dpkg-bak", ".dpkg-backup", ".dpkg-remove", ".ucf-new", ".ucf-old",
    ".ucf-dist", ".swp", ".bak", ".old", ".new",
)  # fmt: skip

_libc: ctypes.CDLL | None = None


def _c() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def _check(result: int) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def hidden_or_backup(name: str) -> bool:
    return name.startswith(".") or name.endswith(_BACKUP_SUFFIXES)


def _dir_has_entries(path: str) -> bool:
    try:
        with os.scandir(path) as it:
            return any(not hidden_or_backup(e.name) for e in it)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True  # dir_is_empty() < 0 other than ENOENT/ENOTDIR counts as "good"


def _first_glob(pattern: str) -> str:
    for p in brace_expand(pattern):
        found = sorted(glob.glob(p))
        if found:
            return found[0]
    return ""


class NothingWatched(OSError):
    """No component of the path could be watched (EACCES/ENOENT from `/` down)."""


def format_watch_error(exc: OSError) -> str:
    """path_spec_watch()'s error line (a manager message, not about the unit: systemd 252
    logs it with log_error_errno(), so `journalctl -u` and status do not show it; the
    wording of inotify_add_watch_and_warn(): tests/data/oracle/capture-triggers-252.md)."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, NothingWatched):
        return f"Failed to add watch on any of the components of {exc.filename}: {reason}"
    if exc.errno == errno.ENOSPC:
        return f"Failed to add a watch for {exc.filename}: inotify watch limit reached"
    return f"Failed to add a watch for {exc.filename}: {reason}"


class SpecWatch:
    """One spec's inotify fd (rule 2) and its primary watch."""

    def __init__(self, kind: str, path: str) -> None:
        self.kind = kind
        self.path = path
        self.fd = _check(_c().inotify_init1(IN_NONBLOCK | IN_CLOEXEC))
        self.primary_wd = -1
        try:
            self._add_all()
        except OSError:
            os.close(self.fd)
            raise

    def _add(self, path: str, mask: int) -> int:
        return int(_c().inotify_add_watch(self.fd, os.fsencode(path), ctypes.c_uint32(mask)))

    def _add_all(self) -> None:
        parts = [p for p in self.path.split("/") if p]
        prefixes = ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
        exists = False
        previous = ""
        for index, prefix in enumerate(prefixes):
            last = index == len(prefixes) - 1
            mask = FLAGS[self.kind] if last else _PREFIX_FLAGS
            wd = -1
            incomplete = False
            for follow in (False, True):
                wd = self._add(prefix, mask if follow else mask | IN_DONT_FOLLOW)
                if wd < 0:
                    code = ctypes.get_errno()
                    if code in (errno.EACCES, errno.ENOENT):
                        incomplete = True
                        break
                    raise OSError(code, os.strerror(code), prefix)
            if incomplete:
                break
            exists = True
            if previous:  # "Path exists, we don't need to watch parent too closely."
                self._add(previous, IN_MOVE_SELF)
            previous = prefix
            if last:
                self.primary_wd = wd
        if not exists:
            code = ctypes.get_errno() or errno.ENOENT
            raise NothingWatched(code, os.strerror(code), self.path)

    def read_changed(self) -> bool:
        """Drain the fd; True if PathChanged=/PathModified= saw its own file (rule 3)."""
        changed = False
        while True:
            try:
                data = os.read(self.fd, 65536)
            except (BlockingIOError, InterruptedError):
                break
            if not data:
                break
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, _mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size + length
                if self.kind in CHANGE_KINDS and wd == self.primary_wd:
                    changed = True
        return changed

    def close(self) -> None:
        os.close(self.fd)


class PathWatcher:
    """Checks and watches of every path unit of one executor."""

    def __init__(
        self,
        add_reader: Callable[[int, Callable[[], None]], None],
        remove_reader: Callable[[int], None],
        report: Callable[[str, str], None],
    ) -> None:
        self.add_reader = add_reader
        self.remove_reader = remove_reader
        self.report = report  # (unit, changed path or "") for each inotify wake-up
        self.watches: dict[str, list[SpecWatch]] = {}
        self.previous_exists: dict[tuple[str, str, str], bool] = {}

    def check_good(
        self, unit: str, specs: tuple[tuple[str, str], ...], initial: bool, from_notify: bool
    ) -> str:
        """The path that triggers, or "" (rule 1)."""
        for kind, path in specs:
            trigger = ""
            if kind == "PathExists":
                trigger = path if os.path.exists(path) else ""  # access(F_OK) follows links
            elif kind == "PathExistsGlob":
                trigger = _first_glob(path)
            elif kind == "DirectoryNotEmpty":
                trigger = path if _dir_has_entries(path) else ""
            elif kind in CHANGE_KINDS:
                exists = os.path.exists(path)
                key = (unit, kind, path)
                before = self.previous_exists.get(key, False)
                self.previous_exists[key] = exists
                if not initial and not from_notify and exists != before:
                    trigger = path
            if trigger:
                return trigger
        return ""

    def watch(self, unit: str, specs: tuple[tuple[str, str], ...]) -> None:
        """path_watch(): (re)install every spec's watches; OSError if one cannot be made."""
        self.unwatch(unit)
        made: list[SpecWatch] = []
        try:
            for kind, path in specs:
                made.append(SpecWatch(kind, path))
        except OSError:
            for w in made:
                w.close()
            raise
        self.watches[unit] = made
        for w in made:
            self.add_reader(w.fd, functools.partial(self._readable, unit, w))

    def _readable(self, unit: str, w: SpecWatch) -> None:
        changed = w.read_changed()
        self.report(unit, w.path if changed else "")

    def unwatch(self, unit: str) -> None:
        for w in self.watches.pop(unit, []):
            self.remove_reader(w.fd)
            w.close()

    def forget(self, unit: str) -> None:
        self.unwatch(unit)
        for key in [k for k in self.previous_exists if k[0] == unit]:
            del self.previous_exists[key]


def make_directories(paths: tuple[str, ...], mode: int, warn: Callable[[str], None]) -> None:
    """path_mkdir() (rule 4)."""
    for path in paths:
        try:
            os.makedirs(path, mode=mode, exist_ok=True)
        except OSError as exc:
            warn(f"mkdir({path}) failed: {exc.strerror}")
