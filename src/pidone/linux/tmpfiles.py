"""Apply tmpfiles.d(5) entries (the --create pass), under an optional root prefix.

Implemented on --create: d D v q Q (directory), e (adjust an existing one), f f+ (file,
with content; f+ truncates), w w+ (write/append to an existing file), L L+ (symlink; L+
replaces), p (fifo), C (copy a tree), z Z (fix mode/ownership, Z recursively), x X
(exclusions: nothing to create). c/b (device nodes) are refused without CAP_MKNOD and
reported; r R t T h H a A are parsed and reported as not applied. Every action is
idempotent: running the pass twice changes nothing the second time.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterable

from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import ValueParseError
from pidone.core.specifiers import SpecifierHost, expand_specifiers
from pidone.core.tmpfiles import (
    CONFIG_DIRS,
    DEFAULT_MODES,
    TmpfilesEntry,
    TmpfilesProblem,
    merge_config_files,
    parse_tmpfiles,
)
from pidone.linux import userdb


@dataclass(slots=True)
class TmpfilesReport:
    applied: int = 0
    skipped: list[str] | None = None
    errors: list[str] | None = None

    def skip(self, message: str) -> None:
        self.skipped = [*(self.skipped or []), message]

    def error(self, message: str) -> None:
        self.errors = [*(self.errors or []), message]


def find_config_files(root: str = "/") -> list[str]:
    found: dict[str, list[str]] = {}
    for directory in CONFIG_DIRS:
        real = os.path.join(root, directory.lstrip("/"))
        try:
            found[real] = sorted(os.listdir(real))
        except OSError:
            continue
    return merge_config_files(found)


def read_entries(files: Iterable[str]) -> tuple[list[TmpfilesEntry], list[TmpfilesProblem]]:
    entries: list[TmpfilesEntry] = []
    problems: list[TmpfilesProblem] = []
    for path in files:
        try:
            with open(path, "rb") as f:
                text = f.read(4 * 1024 * 1024).decode("utf-8", "surrogateescape")
        except OSError as exc:
            problems.append(TmpfilesProblem(path, 0, f"Failed to open: {exc.strerror}"))
            continue
        got, bad = parse_tmpfiles(text, path)
        entries += got
        problems += bad
    return entries, problems


_ROOT_DBS: dict[str, userdb.FilesDB] = {}  # --root: that root's own passwd and group


def _lookup(name: str, kind: str, root: str) -> int:
    """A user or group id; under --root from the root's own /etc files, as systemd does."""
    if name.isdigit():
        return int(name)
    found: int | None
    if root in ("", "/"):  # files first, then NSS (linux.userdb: never wait on sssd)
        if kind == "passwd":
            user = userdb.user_by_name(name)
            found = None if user is None else user.uid
        else:
            found = userdb.gid_by_name(name)
    else:
        db = _ROOT_DBS.get(root)
        if db is None:
            etc = os.path.join(root, "etc")
            db = _ROOT_DBS[root] = userdb.FilesDB(f"{etc}/passwd", f"{etc}/group")
        if kind == "passwd":
            user = db.user(name)
            found = None if user is None else user.uid
        else:
            group = db.group(name)
            found = None if group is None else group.gid
    if found is None:
        raise KeyError(name)
    return found


def _ids(entry: TmpfilesEntry, root: str = "/") -> tuple[int, int]:
    uid = _lookup(entry.user, "passwd", root) if entry.user else -1
    gid = _lookup(entry.group, "group", root) if entry.group else -1
    return uid, gid


def _fix(path: str, entry: TmpfilesEntry, default_mode: int | None, root: str = "/") -> None:
    """Mode and ownership as the entry asks (z semantics)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return
    mode = entry.mode if entry.mode is not None else default_mode
    if mode is not None:
        if entry.mode_masked:
            mode &= stat.S_IMODE(st.st_mode)
        if stat.S_IMODE(st.st_mode) != mode:
            os.chmod(path, mode)
    uid, gid = _ids(entry, root)
    if (uid >= 0 and st.st_uid != uid) or (gid >= 0 and st.st_gid != gid):
        os.chown(path, uid, gid)


def apply_entry(entry: TmpfilesEntry, path: str, root: str, report: TmpfilesReport) -> None:
    kind = entry.type
    default = DEFAULT_MODES.get(kind)
    if kind in "dDvqQ":
        os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
        if not os.path.isdir(path):
            os.mkdir(path)
        _fix(path, entry, default, root)
    elif kind == "e":
        if os.path.isdir(path):
            _fix(path, entry, None, root)
    elif kind == "f":
        # systemd-tmpfiles creates missing parent directories (0755) for what it creates.
        os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
        exists = os.path.exists(path)
        if not exists or entry.plus:
            with open(
                path, "w" if entry.plus else "x", encoding="utf-8", errors="surrogateescape"
            ) as f:
                f.write(entry.argument)
        _fix(path, entry, default, root)
    elif kind == "w":
        if os.path.exists(path):
            with open(
                path, "a" if entry.plus else "w", encoding="utf-8", errors="surrogateescape"
            ) as f:
                f.write(entry.argument)
    elif kind == "L":
        target = entry.argument or os.path.join("/usr/share/factory", entry.path.lstrip("/"))
        if os.path.islink(path) and os.readlink(path) == target:
            return
        if os.path.lexists(path):
            if not entry.plus:
                return
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
        os.symlink(target, path)
    elif kind == "p":
        os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
        if not os.path.exists(path):
            os.mkfifo(path, entry.mode if entry.mode is not None else 0o644)
        _fix(path, entry, default, root)
    elif kind == "C":
        source = entry.argument or os.path.join("/usr/share/factory", entry.path.lstrip("/"))
        source = os.path.join(root, source.lstrip("/"))
        if not os.path.exists(path) and os.path.exists(source):
            os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
            if os.path.isdir(source):
                shutil.copytree(source, path, symlinks=True)
            else:
                shutil.copy2(source, path)
    elif kind in "zZ":
        if not os.path.lexists(path):
            return
        _fix(path, entry, None, root)
        if kind == "Z" and os.path.isdir(path) and not os.path.islink(path):
            for base, dirs, files in os.walk(path):
                for name in dirs + files:
                    _fix(os.path.join(base, name), entry, None, root)
    elif kind in "xX":
        return
    else:
        report.skip(f"{entry.source}:{entry.line}: '{kind}' lines are not applied by pidone")
        return
    report.applied += 1


def create(
    entries: Iterable[TmpfilesEntry],
    host: SpecifierHost,
    root: str = "/",
    boot: bool = False,
    log: Callable[[str], None] | None = None,
) -> TmpfilesReport:
    """The --create pass. Errors are collected (and logged), never raised."""
    report = TmpfilesReport()
    for entry in entries:
        if entry.boot_only and not boot:
            continue
        if entry.credential:
            report.skip(f"{entry.source}:{entry.line}: credentials ('^') are not available")
            continue
        try:
            target = expand_specifiers(entry.path, "", host)
        except ValueParseError as exc:
            report.error(f"{entry.source}:{entry.line}: {exc}")
            continue
        path = os.path.join(root, target.lstrip("/"))
        try:
            apply_entry(entry, path, root, report)
        except (OSError, KeyError) as exc:
            if entry.ignore_errors:
                continue
            reason = exc.strerror if isinstance(exc, OSError) else f"unknown user or group {exc}"
            message = f"{entry.source}:{entry.line}: {target}: {reason}"
            report.error(message)
            if log is not None:
                log(message)
    return report


def run_create(
    root: str = "/", files: list[str] | None = None, boot: bool = False
) -> TmpfilesReport:
    """Read the configuration (or the given files) and apply it; what `pidone tmpfiles` does."""
    from pidone.linux.hostfacts import read_specifier_host

    entries, problems = read_entries(files if files else find_config_files(root))
    report = create(entries, read_specifier_host(root), root, boot)
    for problem in problems:
        report.error(str(problem))
    return report
