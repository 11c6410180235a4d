"""The unit search path (spec 01 §7): systemd 252's list, a `--root` prefix, PIDONE_UNIT_PATH.

systemd 252 `lookup_paths_init()` (src/basic/path-lookup.c) builds, highest priority first:
control dirs, transient, generator.early, /etc/systemd/system, attached, /run/systemd/system,
attached, generator, /usr/local/lib, /lib (Debian's SYSTEM_DATA_UNIT_DIR), /usr/lib,
generator.late. `$SYSTEMD_UNIT_PATH` (here PIDONE_UNIT_PATH; SYSTEMD_UNIT_PATH is honoured
too) replaces the list; a trailing `:` appends the defaults. With a root directory every
entry is prefixed by it. systemd removes textual duplicates; we also drop entries that are
the same directory by real path (Debian: /lib -> usr/lib), keeping the first spelling, and
remember every spelling in `known_dirs` so that a symlink into /usr/lib still counts as
"inside the search path" (systemd's `expanded_search_path` in unit_file_build_name_map()).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pidone.core.dataclass_lite import dataclass
from pidone.core.escape import simplify_path

_SYSTEM_DIRS: tuple[tuple[str, str], ...] = (
    ("persistent_control", "/etc/systemd/system.control"),
    ("runtime_control", "/run/systemd/system.control"),
    ("transient", "/run/systemd/transient"),
    ("generator_early", "/run/systemd/generator.early"),
    ("persistent_config", "/etc/systemd/system"),
    ("persistent_attached", "/etc/systemd/system.attached"),
    ("runtime_config", "/run/systemd/system"),
    ("runtime_attached", "/run/systemd/system.attached"),
    ("generator", "/run/systemd/generator"),
    ("", "/usr/local/lib/systemd/system"),
    ("", "/lib/systemd/system"),
    ("", "/usr/lib/systemd/system"),
    ("generator_late", "/run/systemd/generator.late"),
)
DEFAULT_SEARCH_PATH: tuple[str, ...] = tuple(path for _, path in _SYSTEM_DIRS)
ENV_VARS = ("PIDONE_UNIT_PATH", "SYSTEMD_UNIT_PATH")


@dataclass(frozen=True, slots=True)
class UnitPaths:
    """Where unit files live, with the role of each special directory (root-prefixed)."""

    root: str | None  # None for "/"
    search_path: tuple[str, ...]  # the directories to look in, highest priority first
    known_dirs: tuple[str, ...]  # search_path plus every other spelling of those dirs
    listed: tuple[str, ...]  # the list as systemd prints it (`systemd-analyze unit-paths`)
    persistent_config: str
    runtime_config: str
    persistent_control: str
    runtime_control: str
    transient: str
    generator: str
    generator_early: str
    generator_late: str

    @property
    def generators(self) -> tuple[str, str, str]:
        return (self.generator, self.generator_early, self.generator_late)

    def strip_root(self, path: str) -> str:
        """The path as seen inside the root (systemd skip_root())."""
        if self.root and (path == self.root or path.startswith(self.root + "/")):
            return path[len(self.root) :] or "/"
        return path

    def under_search_path(self, path: str) -> bool:
        """True when `path` lies below one of the search-path directories."""
        return any(path.startswith(d + "/") for d in self.known_dirs)

    def in_search_path(self, path: str) -> bool:
        """True when the parent directory of `path` is a search-path directory."""
        return os.path.dirname(path) in self.known_dirs


def _normalize_root(root: str | None) -> str | None:
    if not root:
        return None
    clean = os.path.normpath(os.path.abspath(root))
    return None if clean == "/" else clean


def _prefix(root: str | None, path: str) -> str:
    return root + path if root else path


def _from_environ(environ: Mapping[str, str]) -> tuple[list[str] | None, bool]:
    for var in ENV_VARS:
        value = environ.get(var)
        if value is None:
            continue
        append = value.endswith(":")
        if append:
            value = value[:-1]
        # path_split_and_make_absolute() + path_simplify(): `//` and `/./` go, `..` stays
        paths = [
            simplify_path(p if p.startswith("/") else os.path.join(os.getcwd(), p))
            for p in value.split(":")
            if p
        ]
        return paths, append
    return None, False


def build_unit_paths(
    root: str | None = None, environ: Mapping[str, str] | None = None
) -> UnitPaths:
    """The search path for the system manager under `root`, honouring PIDONE_UNIT_PATH."""
    env = os.environ if environ is None else environ
    croot = _normalize_root(root)
    custom, append = _from_environ(env)
    raw: list[str] = []
    if custom is not None:
        raw.extend(custom)
    if custom is None or append:
        raw.extend(DEFAULT_SEARCH_PATH)
    search: list[str] = []
    known: list[str] = []
    listed: list[str] = []
    seen_real: set[str] = set()
    for path in raw:
        full = _prefix(croot, path)
        if full not in listed:
            listed.append(full)
        if full in known:
            continue
        known.append(full)
        real = os.path.realpath(full)
        if real != full and real not in known:
            known.append(real)
        if real in seen_real:
            continue
        seen_real.add(real)
        search.append(full)
    roles = {role: _prefix(croot, path) for role, path in _SYSTEM_DIRS if role}
    return UnitPaths(
        root=croot,
        search_path=tuple(search),
        known_dirs=tuple(known),
        listed=tuple(listed),
        persistent_config=roles["persistent_config"],
        runtime_config=roles["runtime_config"],
        persistent_control=roles["persistent_control"],
        runtime_control=roles["runtime_control"],
        transient=roles["transient"],
        generator=roles["generator"],
        generator_early=roles["generator_early"],
        generator_late=roles["generator_late"],
    )


def chase(path: str, root: str | None, max_links: int = 64) -> str:
    """Resolve every symlink in `path` (which carries the root prefix) inside `root`.

    Like systemd chase_symlinks(CHASE_NONEXISTENT): a missing tail is kept as is; absolute
    link targets are taken relative to the root; `..` never climbs above the root.
    """
    base = root or ""
    if base and (path == base or path.startswith(base + "/")):
        rest = path[len(base) :]
    else:
        rest = path
    todo = [p for p in rest.split("/") if p]
    done = ""
    links = 0
    while todo:
        part = todo.pop(0)
        if part == ".":
            continue
        if part == "..":
            done = done.rsplit("/", 1)[0]
            continue
        candidate = f"{done}/{part}"
        try:
            target = os.readlink(base + candidate)
        except OSError:
            done = candidate
            continue
        links += 1
        if links > max_links:
            raise OSError(40, "Too many levels of symbolic links", base + candidate)
        parts = [p for p in target.split("/") if p]
        if target.startswith("/"):
            done = ""
        todo = parts + todo
    return (base + done) or "/"


def with_manager_generators(paths: UnitPaths, runtime_dir: str) -> UnitPaths:
    """`paths` as the manager with this runtime directory sees them: its generator output
    (below `runtime_dir`, linux/generators.py) in place of /run/systemd/generator*, when
    it ran generators; `paths` unchanged otherwise (no root prefix, no such directory).
    The CLI's unit-file verbs (show, cat, list-unit-files, list-dependencies) must find
    generated units where the daemon found them, as systemctl finds /run/systemd/generator."""
    if paths.root is not None:
        return paths
    if not any(
        os.path.isdir(os.path.join(runtime_dir, n))
        for n in ("generator", "generator.early", "generator.late")
    ):
        return paths
    return relocate_generator_dirs(paths, runtime_dir)


def relocate_generator_dirs(paths: UnitPaths, base: str) -> UnitPaths:
    """`paths` with the three generator directories moved below `base` (a manager's own
    generator output, linux/generators.py), each in the place systemd gives its own."""
    normal, early, late = (
        os.path.join(base, n) for n in ("generator", "generator.early", "generator.late")
    )
    moved = {paths.generator: normal, paths.generator_early: early, paths.generator_late: late}

    def move(dirs: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(moved.get(d, d) for d in dirs)

    return UnitPaths(
        root=paths.root,
        search_path=move(paths.search_path),
        known_dirs=move(paths.known_dirs),
        listed=move(paths.listed),
        persistent_config=paths.persistent_config,
        runtime_config=paths.runtime_config,
        persistent_control=paths.persistent_control,
        runtime_control=paths.runtime_control,
        transient=paths.transient,
        generator=normal,
        generator_early=early,
        generator_late=late,
    )


def has_generator_dirs(paths: UnitPaths) -> bool:
    """Whether any generator output directory is on the search path (else generators'
    output would never be read, and running them would be wasted work)."""
    return any(d in paths.search_path for d in paths.generators)
