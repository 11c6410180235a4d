"""The install planner's seam: file-system questions, errno names, alias rules (pure).

`core.installplan` asks everything it needs to know about the disk through `InstallFS`
(implemented by `linux.install.DiskFS`, or by an in-memory fake in tests). `_Overlay`
lets a plan see its own earlier symlink changes before anything is written. The alias
rules are systemd 252's unit_validate_alias_symlink_or_warn() and
unit_symlink_name_compatible() (src/basic/unit-file.c), with their log messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from pidone.core.dataclass_lite import dataclass
from pidone.core.hints import TYPE_CHECKING, Literal, Protocol
from pidone.core.unitname import (
    ALIAS_TYPES,
    TEMPLATE_TYPES,
    instance_of,
    is_valid_unit_name,
    template_of,
    unit_type,
)

if TYPE_CHECKING:
    from pidone.core.install import InstallSection
    from pidone.core.unitfile import Assignment

Kind = Literal["f", "l", "d", "c", "o"]  # regular, symlink, directory, char/block device, other

# strerror() texts for the errno values this module produces
STRERROR = {
    "ENOENT": "No such file or directory",
    "ELOOP": "Too many levels of symbolic links",
    "EINVAL": "Invalid argument",
    "EXDEV": "Invalid cross-device link",
    "ENOLINK": "Link has been severed",
    "EISDIR": "Is a directory",
    "EBADMSG": "Bad message",
    "ENOTTY": "Inappropriate ioctl for device",
    "EUCLEAN": "Structure needs cleaning",
    "EACCES": "Permission denied",
    "ENOTDIR": "Not a directory",
    "EIO": "Input/output error",
}


class InstallError(Exception):
    """A failed lookup; `code` is the errno name (ENOENT, ELOOP, ...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def strerror(self) -> str:
        return STRERROR.get(self.code, self.code)


@dataclass(frozen=True, slots=True)
class Stat:
    kind: Kind
    empty: bool  # systemd null_or_empty(): empty regular file or a device node


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _startswith(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


if TYPE_CHECKING:  # typing.Protocol classes cost start-up time; only mypy needs them

    class InstallPaths(Protocol):
        """The parts of `linux.unitpaths.UnitPaths` the planner reads."""

        @property
        def root(self) -> str | None: ...
        @property
        def search_path(self) -> tuple[str, ...]: ...
        @property
        def known_dirs(self) -> tuple[str, ...]: ...
        @property
        def persistent_config(self) -> str: ...
        @property
        def runtime_config(self) -> str: ...
        @property
        def runtime_control(self) -> str: ...
        @property
        def transient(self) -> str: ...
        @property
        def generators(self) -> tuple[str, str, str]: ...

    class InstallFS(Protocol):
        """The file-system questions the planner asks (implemented in linux.install)."""

        @property
        def paths(self) -> InstallPaths: ...
        def lstat(self, path: str) -> Stat | None: ...
        def stat(self, path: str) -> Stat | None: ...
        def readlink(self, path: str) -> str | None: ...
        def listdir(self, path: str) -> Sequence[tuple[str, Kind]]: ...
        def realpath(self, path: str) -> str: ...
        def same_file(self, a: str, b: str) -> bool: ...
        def parse_install(self, name: str, path: str) -> tuple[Assignment, ...] | None: ...
        def build_install(
            self, name: str, assignments: Sequence[Assignment], fragment: str
        ) -> InstallSection: ...
        def note(self, message: str) -> None: ...


class _Overlay:
    """The file system as the plan so far would leave it."""

    def __init__(self, fs: InstallFS) -> None:
        self.fs = fs
        self.links: dict[str, str] = {}
        self.removed: set[str] = set()

    def lstat(self, path: str) -> Stat | None:
        if path in self.links:
            return Stat("l", False)
        if path in self.removed:
            return None
        return self.fs.lstat(path)

    def readlink(self, path: str) -> str | None:
        if path in self.links:
            return self.links[path]
        if path in self.removed:
            return None
        return self.fs.readlink(path)

    def listdir(self, path: str) -> Sequence[tuple[str, Kind]]:
        if not self.links and not self.removed:
            return self.fs.listdir(path)
        out: list[tuple[str, Kind]] = []
        for name, kind in self.fs.listdir(path):
            full = f"{path}/{name}"
            if full not in self.removed and full not in self.links:
                out.append((name, kind))
        prefix = path + "/"
        for full in self.links:
            if full.startswith(prefix) and "/" not in full[len(prefix) :]:
                out.append((full[len(prefix) :], "l"))
        dirs = {n for n, k in out if k == "d"}
        for full in self.links:
            if full.startswith(prefix):
                first = full[len(prefix) :].split("/", 1)
                if len(first) == 2 and first[0] not in dirs:
                    dirs.add(first[0])
                    out.append((first[0], "d"))
        return out

    def symlink(self, target: str, path: str) -> None:
        self.links[path] = target

    def unlink(self, path: str) -> None:
        self.links.pop(path, None)
        self.removed.add(path)


def alias_problem(filename: str, target: str) -> tuple[str, str] | None:
    """unit_validate_alias_symlink_or_warn(): None, or (EINVAL/EXDEV/ELOOP, systemd's message)."""
    src, dst = _base(filename), _base(target)
    if not is_valid_unit_name(src):
        return "EINVAL", f'{filename}: not a valid unit name "{src}": Invalid argument'
    src_type = unit_type(src)
    if src_type not in ALIAS_TYPES:
        return "EINVAL", f"{filename}: symlinks are not allowed for units of this type, rejecting."
    src_inst = instance_of(src)
    if src_inst is not None and src_type not in TEMPLATE_TYPES:
        return "EINVAL", f"{filename}: templates not allowed for {src_type} units, rejecting."
    if src == dst:
        return "ELOOP", f"{filename}: unit self-alias: {src} \u2192 {dst}, ignoring."
    if not is_valid_unit_name(dst):
        return (
            "EXDEV",
            f'{filename} points to "{dst}" which is not a valid unit name: '
            "Invalid cross-device link",
        )
    dst_inst = instance_of(dst)

    def kind(inst: str | None) -> str:
        return "plain" if inst is None else ("template" if inst == "" else "instance")

    if not (
        kind(src_inst) == kind(dst_inst)
        or (kind(src_inst), kind(dst_inst)) == ("instance", "template")
    ):
        return (
            "EXDEV",
            f'{filename}: symlink target name type "{dst}" does not match source, rejecting.',
        )
    if kind(dst_inst) == "instance" and src_inst != dst_inst:
        return (
            "EXDEV",
            f'{filename}: unit symlink target "{dst}" instance name doesn\'t match, rejecting.',
        )
    if unit_type(dst) != src_type:
        return "EXDEV", f'{filename}: symlink target "{dst}" has incompatible suffix, rejecting.'
    return None


def validate_alias(filename: str, target: str) -> str | None:
    """The errno name of alias_problem(), or None."""
    problem = alias_problem(filename, target)
    return problem[0] if problem else None


def symlink_name_compatible(symlink: str, target: str, instance_propagation: bool) -> bool:
    """unit_symlink_name_compatible()."""
    inst = instance_of(symlink)
    if symlink == target and inst != "" and is_valid_unit_name(symlink):
        return True
    template = template_of(symlink)
    if template is None or not is_valid_unit_name(symlink):
        return False
    target_inst = instance_of(target)
    if inst and target_inst == "" and template == target:
        return True
    return bool(instance_propagation and inst == "" and target_inst == "" and template == target)
