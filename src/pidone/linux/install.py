"""The real file system behind `core.installplan`: lookups, [Install] reading, applying plans.

`DiskFS` answers the planner's questions with cached lstat/readdir calls (one
`systemctl list-unit-files` asks the same ones hundreds of times). Paths are absolute
and already carry the `--root` prefix; symlink targets are resolved inside the root
(systemd chase_symlinks() with a root directory), never on the host.
"""

from __future__ import annotations

import os
import stat as st
from collections.abc import Callable, Sequence

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.errors import Diagnostic, ValueParseError
from pidone.core.hints import TYPE_CHECKING
from pidone.core.install import (
    NO_PRESET_STATES,
    Change,
    InstallSection,
    PresetRule,
    UnitFileState,
    build_install_section,
    parse_preset_file,
    query_preset,
)
from pidone.core.installplan import InstallError, Kind, Planner, Stat
from pidone.core.unitfile import Assignment, parse_unit_file
from pidone.core.unitname import is_valid_unit_name
from pidone.linux.unitpaths import UnitPaths, chase

if TYPE_CHECKING:
    from pidone.core.specifiers import SpecifierHost

_MAX_UNIT_FILE = 16 * 1024 * 1024  # bigger files are refused before reading (not a unit)
# install.c parses "Install" and ignores the type sections silently ("-Service" ...)
INSTALL_PARSE_SECTIONS = frozenset(
    {
        "Install",
        "Unit",
        "Automount",
        "Device",
        "Mount",
        "Path",
        "Scope",
        "Service",
        "Slice",
        "Socket",
        "Swap",
        "Target",
        "Timer",
    }
)


def _kind_of(mode: int) -> Kind:
    if st.S_ISREG(mode):
        return "f"
    if st.S_ISLNK(mode):
        return "l"
    if st.S_ISDIR(mode):
        return "d"
    if st.S_ISCHR(mode) or st.S_ISBLK(mode):
        return "c"
    return "o"


def _stat_of(result: os.stat_result) -> Stat:
    kind = _kind_of(result.st_mode)
    empty = kind == "c" or (kind == "f" and result.st_size == 0)
    return Stat(kind, empty)


@dataclass
class DiskFS:
    """InstallFS on the real disk, with caches for one command's lifetime."""

    paths: UnitPaths
    host: SpecifierHost | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # what systemctl prints, in order
    _lstat: dict[str, Stat | None] = field(default_factory=dict)
    _list: dict[str, list[tuple[str, Kind]]] = field(default_factory=dict)
    _links: dict[str, str | None] = field(default_factory=dict)
    _real: dict[str, str] = field(default_factory=dict)
    _name_sets: dict[str, frozenset[str]] = field(default_factory=dict)
    _install: dict[
        tuple[str, str], tuple[tuple[Assignment, ...] | None, tuple[Diagnostic, ...]]
    ] = field(default_factory=dict)

    def lstat(self, path: str) -> Stat | None:
        if path in self._lstat:
            return self._lstat[path]
        parent, _, name = path.rpartition("/")
        if parent in self.paths.known_dirs and name not in self._names(parent):
            self._lstat[path] = None  # the search directories are listed once
            return None
        try:
            result: Stat | None = _stat_of(os.lstat(path))
        except OSError:
            result = None
        self._lstat[path] = result
        return result

    def _names(self, directory: str) -> frozenset[str]:
        found = self._name_sets.get(directory)
        if found is None:
            found = self._name_sets[directory] = frozenset(n for n, _ in self.listdir(directory))
        return found

    def stat(self, path: str) -> Stat | None:
        try:
            return _stat_of(os.stat(self.realpath(path)))
        except OSError:
            return None

    def readlink(self, path: str) -> str | None:
        if path in self._links:
            return self._links[path]
        try:
            result: str | None = os.readlink(path)
        except OSError:
            result = None
        self._links[path] = result
        return result

    def listdir(self, path: str) -> list[tuple[str, Kind]]:
        cached = self._list.get(path)
        if cached is not None:
            return cached
        out: list[tuple[str, Kind]] = []
        try:
            with os.scandir(path) as it:
                for entry in it:
                    if entry.is_symlink():
                        out.append((entry.name, "l"))
                    elif entry.is_dir(follow_symlinks=False):
                        out.append((entry.name, "d"))
                    elif entry.is_file(follow_symlinks=False):
                        out.append((entry.name, "f"))
                    else:
                        out.append((entry.name, "o"))
        except OSError:
            pass
        self._list[path] = out
        return out

    def realpath(self, path: str) -> str:
        found = self._real.get(path)
        if found is None:
            try:
                found = chase(path, self.paths.root)
            except OSError:
                found = path
            self._real[path] = found
        return found

    def note(self, message: str) -> None:
        """A message systemctl would print while looking things up."""
        self.messages.append(message)

    def same_file(self, a: str, b: str) -> bool:
        try:
            return os.path.samefile(a, b)
        except OSError:
            return False

    def _expander(self, name: str, fragment: str) -> Callable[[str], str]:
        from pidone.core.specifiers import expand_specifiers

        host = self.host
        if host is None:
            from pidone.linux.hostfacts import read_specifier_host

            host = self.host = read_specifier_host(self.paths.root or "/")

        def expand(text: str) -> str:
            return expand_specifiers(text, name, host, fragment)

        return expand

    def parse_install(self, name: str, path: str) -> tuple[Assignment, ...] | None:
        """The [Install] lines of one file; prints systemctl's messages each time (it does)."""
        key = (name, path)
        cached = self._install.get(key)
        if cached is None:
            cached = self._read_install(name, path)
            self._install[key] = cached
        lines, diags = cached
        self.diagnostics.extend(diags)
        self.messages.extend(str(d) for d in diags)
        return lines

    def build_install(
        self, name: str, assignments: Sequence[Assignment], fragment: str
    ) -> InstallSection:
        needs_expansion = any("%" in a.value for a in assignments)
        expand = self._expander(name, fragment) if needs_expansion else None
        return build_install_section(assignments, name, expand)[0]

    def _read_install(
        self, name: str, path: str
    ) -> tuple[tuple[Assignment, ...] | None, tuple[Diagnostic, ...]]:
        try:
            with open(path, "rb") as handle:
                data = handle.read(_MAX_UNIT_FILE)
        except OSError as err:
            return None, (Diagnostic(path, 0, f"Failed to open: {err.strerror}", "error"),)
        parsed = parse_unit_file(data, path, INSTALL_PARSE_SECTIONS)
        if parsed.fatal:
            return None, parsed.diagnostics
        lines = tuple(a for a in parsed.assignments if a.section == "Install")
        needs_expansion = any("%" in a.value for a in lines)
        expand = self._expander(name, path) if needs_expansion else None
        _section, mine = build_install_section(lines, name, expand)
        return lines, tuple(sorted([*parsed.diagnostics, *mine], key=lambda d: d.line))


def read_presets(paths: UnitPaths) -> tuple[PresetRule, ...]:
    """All preset rules under the root, in systemd's order (CONF_PATHS("systemd/system-preset"))."""
    root = paths.root or ""
    dirs = [
        f"{root}/etc/systemd/system-preset",
        f"{root}/run/systemd/system-preset",
        f"{root}/usr/local/lib/systemd/system-preset",
        f"{root}/usr/lib/systemd/system-preset",
        f"{root}/lib/systemd/system-preset",
    ]
    files: dict[str, str] = {}
    seen: set[str] = set()
    for d in dirs:
        real = chase(d, paths.root)
        if real in seen:
            continue
        seen.add(real)
        try:
            names = os.listdir(real)
        except OSError:
            continue
        for name in names:
            if name.endswith(".preset"):
                files.setdefault(name, f"{real}/{name}")
    rules: list[PresetRule] = []
    for name in sorted(files):
        try:
            with open(files[name], "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        found, _diags = parse_preset_file(data, files[name])
        rules.extend(found)
    return tuple(rules)


@dataclass(frozen=True, slots=True)
class UnitFileEntry:
    """One row of `list-unit-files`: the file's path, its state, and its preset."""

    path: str
    name: str
    state: UnitFileState
    preset: str | None  # "enabled" / "disabled", None when systemctl shows "-"


def list_unit_file_paths(paths: UnitPaths, fs: DiskFS) -> list[tuple[str, str]]:
    """unit_file_get_list(): (name, path) of every unit file, first directory wins."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for directory in paths.search_path:
        for name, kind in fs.listdir(directory):
            if kind not in ("f", "l") or name in seen:
                continue
            if not is_valid_unit_name(name):
                continue
            seen.add(name)
            out.append((name, f"{directory}/{name}"))
    return out


def list_unit_files(
    paths: UnitPaths,
    states: Sequence[str] = (),
    patterns: Sequence[str] = (),
    fs: DiskFS | None = None,
) -> list[UnitFileEntry]:
    """Every unit file with its state and preset, unsorted (systemctl sorts for display)."""
    from fnmatch import fnmatchcase

    disk = fs or DiskFS(paths)
    planner = Planner(disk)
    rules: tuple[PresetRule, ...] | None = None
    out: list[UnitFileEntry] = []
    for name, path in list_unit_file_paths(paths, disk):
        if patterns and not any(fnmatchcase(name, p) for p in patterns):
            continue
        try:
            state: UnitFileState = planner.lookup_state(name)
        except InstallError:
            state = "bad"
        if states and state not in states:
            continue
        preset: str | None = None
        if state not in NO_PRESET_STATES:
            if rules is None:
                rules = read_presets(paths)
            preset = "enabled" if query_preset(rules, name) else "disabled"
        out.append(UnitFileEntry(path, name, state, preset))
    return out


def unit_file_state(paths: UnitPaths, name: str, fs: DiskFS | None = None) -> UnitFileState:
    """`systemctl is-enabled NAME` offline; raises InstallError (ENOENT: no such unit)."""
    return Planner(fs or DiskFS(paths)).lookup_state(name)


def _rmdir_parents(path: str, stop: str) -> None:
    """systemd rmdir_parents(): remove now-empty directories between `path` and `stop`."""
    directory = os.path.dirname(path)
    while directory.startswith(stop + "/") and directory != stop:
        try:
            os.rmdir(directory)
        except OSError:
            return
        directory = os.path.dirname(directory)


def apply_changes(changes: Sequence[Change], stop: str) -> list[Change]:
    """Carry out the symlink changes of a plan, in order; returns changes that failed."""
    failed: list[Change] = []
    for index, change in enumerate(changes):
        try:
            if change.type == "symlink" and change.source is not None:
                os.makedirs(os.path.dirname(change.path), mode=0o755, exist_ok=True)
                replacing = index > 0 and changes[index - 1] == Change("unlink", change.path)
                if replacing:
                    tmp = f"{change.path}.pidone-tmp"
                    os.symlink(change.source, tmp)
                    os.replace(tmp, change.path)
                else:
                    os.symlink(change.source, change.path)
            elif change.type == "unlink":
                nxt = changes[index + 1] if index + 1 < len(changes) else None
                if nxt is not None and nxt.type == "symlink" and nxt.path == change.path:
                    continue  # replaced atomically by the next change
                try:
                    os.unlink(change.path)
                except FileNotFoundError:
                    continue
                _rmdir_parents(change.path, stop)
        except OSError as err:
            failed.append(Change("io", change.path, None, err.strerror or str(err)))
    return failed


# systemctl hands SysV init scripts to this helper (ROOTLIBEXECDIR on Debian is /lib/systemd)
SYSV_INSTALL = "/lib/systemd/systemd-sysv-install"


def sysv_script(paths: UnitPaths, service: str) -> str | None:
    """The init script for `foo.service` (`ROOT/etc/init.d/foo`), if there is one."""
    stem = service[: -len(".service")]
    path = f"{paths.root or ''}/etc/init.d/{stem}"
    return path if os.path.lexists(path) else None


def run_sysv_install(paths: UnitPaths, verb: str, service: str) -> int:
    """Run systemd-sysv-install like systemctl does; its output goes to ours."""
    import subprocess

    argv = sysv_install_argv(paths, verb, service)
    try:
        return subprocess.run(argv, check=False).returncode
    except OSError:
        return 127


def sysv_install_argv(paths: UnitPaths, verb: str, service: str) -> list[str]:
    argv = [SYSV_INSTALL]
    if paths.root:
        argv.append(f"--root={paths.root}")
    return [*argv, verb, service[: -len(".service")]]


def new_planner(paths: UnitPaths) -> Planner:
    return Planner(DiskFS(paths))


__all__ = [
    "DiskFS",
    "InstallError",
    "UnitFileEntry",
    "ValueParseError",
    "apply_changes",
    "chase",
    "list_unit_file_paths",
    "list_unit_files",
    "new_planner",
    "read_presets",
    "run_sysv_install",
    "sysv_install_argv",
    "sysv_script",
    "unit_file_state",
]
