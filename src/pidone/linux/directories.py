"""RuntimeDirectory=, StateDirectory=, CacheDirectory=, LogsDirectory=, ConfigurationDirectory=.

Rules (man 5 systemd.exec "PATHS"; systemd 252 src/core/execute.c setup_exec_directory();
spec 02 §6):

1. Created before each command of the unit runs (idempotent): parents root-owned 0755,
   the innermost directory gets `*DirectoryMode=` (default 0755) and `User=`/`Group=` as
   owner, except ConfigurationDirectory=, which stays root's. An innermost directory with
   the wrong owner is chowned recursively (if its top already has the right owner the
   rest is assumed to have it, like path_chown_recursive()).
2. A `:LINK` suffix also creates LINK (relative to the same base) as a relative symlink to
   the directory.
3. With DynamicUser= (and no static user of that name) State/Cache/Logs directories live
   under `<base>/private/` (mode 0700) with a symlink at the usual place, so the transient
   UID's files are unreachable by other users after the UID is recycled; a real directory
   found at the usual place is moved there.
4. On stop RuntimeDirectory= entries (the innermost directories) are removed, unless
   RuntimeDirectoryPreserve=yes, or `restart` and the unit is restarting. The other kinds
   are kept.
5. A failure exits the command with 233 (runtime), 238 (state), 239 (cache), 240 (logs)
   or 241 (configuration).
"""

from __future__ import annotations

import contextlib
import os

from pidone.core.dataclass_lite import dataclass
from pidone.core.environment import DirectoryBases
from pidone.core.model import ExecContext

EXIT_STATUS = {"runtime": 233, "state": 238, "cache": 239, "logs": 240, "configuration": 241}
KINDS = ("runtime", "state", "cache", "logs", "configuration")


@dataclass(frozen=True, slots=True)
class ManagedDirectory:
    """One entry: kind, absolute path, mode, symlink to create ("" = none), private copy."""

    kind: str
    path: str
    mode: int
    link: str = ""
    private_path: str = ""  # DynamicUser=: the real directory under <base>/private


class DirectoryError(OSError):
    """Setting up a directory failed; `status` is the exit status systemd would report."""

    def __init__(self, status: int, err: int, path: str) -> None:
        super().__init__(err, f"{path}: {os.strerror(err)}")
        self.status = status
        self.path = path


def _base(bases: DirectoryBases, kind: str) -> str:
    return str(getattr(bases, kind)).rstrip("/") or "/"


def plan_directories(
    ctx: ExecContext, bases: DirectoryBases | None = None, *, dynamic: bool = False
) -> list[ManagedDirectory]:
    """Every managed directory of `ctx`, in the order systemd creates them."""
    b = bases or DirectoryBases()
    out: list[ManagedDirectory] = []
    for kind in KINDS:
        entries: list[str] = getattr(ctx, f"{kind}_directory")
        mode: int = getattr(ctx, f"{kind}_directory_mode")
        base = _base(b, kind)
        for entry in entries:
            rel, _, link = entry.partition(":")
            rel = rel.strip("/")
            path = f"{base}/{rel}"
            private = ""
            if dynamic and kind in ("state", "cache", "logs"):
                private = f"{base}/private/{rel}"
            out.append(
                ManagedDirectory(kind, path, mode, f"{base}/{link}" if link else "", private)
            )
    return out


def _chown_tree(path: str, uid: int, gid: int) -> None:
    st = os.lstat(path)
    if (st.st_uid, st.st_gid) == (uid, gid):
        return
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                os.lchown(os.path.join(root, name), uid, gid)
    os.lchown(path, uid, gid)


def _make_parents(path: str) -> None:
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent, mode=0o755, exist_ok=True)


def _symlink(target: str, link: str) -> None:
    rel = os.path.relpath(target, os.path.dirname(link))
    with contextlib.suppress(OSError):
        if os.readlink(link) == rel:
            return
    _make_parents(link)
    if os.path.islink(link):
        os.unlink(link)
    os.symlink(rel, link)


def _adopt_into_private(path: str, private: str) -> None:
    """A real directory where the DynamicUser= symlink goes (made before DynamicUser= was
    turned on, or by another manager) moves into private/, as systemd migrates it."""
    if os.path.islink(path) or not os.path.isdir(path):
        return
    if not os.path.exists(private):
        _make_parents(private)
        os.rename(path, private)
    elif not os.listdir(path):
        os.rmdir(path)


def create_directories(
    ctx: ExecContext,
    uid: int,
    gid: int,
    bases: DirectoryBases | None = None,
    *,
    dynamic: bool = False,
) -> list[ManagedDirectory]:
    """Rules 1-3; uid/gid -1 = root's (no User=). Raises DirectoryError."""
    owner = (0 if uid < 0 else uid, 0 if gid < 0 else gid)
    made = plan_directories(ctx, bases, dynamic=dynamic)
    for d in made:
        real = d.private_path or d.path
        try:
            if d.private_path:
                private_root = os.path.dirname(d.private_path.rstrip("/"))
                while os.path.basename(private_root) != "private":
                    private_root = os.path.dirname(private_root)
                os.makedirs(private_root, mode=0o700, exist_ok=True)
                os.chmod(private_root, 0o700)
                _adopt_into_private(d.path, d.private_path)
            _make_parents(real)
            created = False
            try:
                os.mkdir(real, d.mode & 0o7777)
                created = True
            except FileExistsError:
                pass
            if d.kind != "configuration":
                os.chmod(real, d.mode & 0o7777)
                _chown_tree(real, *owner)
            elif created:
                os.chmod(real, d.mode & 0o7777)
            if d.private_path:
                _symlink(d.private_path, d.path)
            if d.link:
                _symlink(d.path, d.link)
        except OSError as exc:
            raise DirectoryError(EXIT_STATUS[d.kind], exc.errno or 5, real) from None
    return made


def remove_runtime_directories(
    ctx: ExecContext, bases: DirectoryBases | None = None, *, restarting: bool = False
) -> list[str]:
    """Rule 4: remove the RuntimeDirectory= entries (and their links); returns the paths."""
    preserve = ctx.runtime_directory_preserve
    if preserve == "yes" or (preserve == "restart" and restarting):
        return []
    removed = []
    for d in plan_directories(ctx, bases):
        if d.kind != "runtime":
            continue
        if d.link and os.path.islink(d.link):
            with contextlib.suppress(OSError):
                os.unlink(d.link)
        if os.path.lexists(d.path):
            import shutil  # rare path; shutil imports bz2 and lzma (~0.8 MiB RSS)

            shutil.rmtree(d.path, ignore_errors=True)
            removed.append(d.path)
    return removed
