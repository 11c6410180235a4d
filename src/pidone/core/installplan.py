"""enable/disable/reenable/mask/unmask planning and unit-file states, as systemd 252 computes them.

A sans-IO port of the behaviour of systemd 252 src/shared/install.c. The file system is a
narrow seam (`InstallFS`); every symlink the plan would make or remove goes into an
overlay, so later steps of the same plan see earlier ones (systemd works on the real tree
as it goes), and `linux.install` applies `Plan.changes` in order afterwards. Rules:

1. Discovery (install_info_traverse()): look for NAME in each search-path directory, then
   for its template. A symlink inside the search path is an alias (followed by name, with
   the instance carried over), one outside is a linked unit file, one to /dev/null (or an
   empty file) a mask. Drop-ins read for [Install] are only `NAME.d/` and `TEMPLATE.d/`.
2. State (unit_file_lookup_state()): masked[-runtime]; alias when asked by another name;
   generated/transient by directory; enabled[-runtime] when a .wants/.requires link or an
   Alias= link with a known name exists; indirect when links with other names exist or
   only Also= is set; disabled when [Install] has rules; static otherwise.
3. Enable creates links with the absolute fragment path (root stripped) as target;
   .wants/.requires links are replaced when they point elsewhere, aliases are not.
4. Disable removes, anywhere below the config directory and in readdir order, every
   symlink whose name, template name, or resolved target (path or file name) is marked,
   marking each removed path in turn and rescanning while new marks appear.

The seam (file-system protocol, overlay, alias rules) lives in `core.installseam`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.hints import TYPE_CHECKING
from pidone.core.install import Change, ChangeType, InstallSection, UnitFileState
from pidone.core.installseam import (
    STRERROR,
    InstallError,
    Kind,
    Stat,
    _base,
    _Overlay,
    _parent,
    _startswith,
    alias_problem,
    symlink_name_compatible,
    validate_alias,
)
from pidone.core.unitfile import Assignment
from pidone.core.unitname import (
    TEMPLATE_TYPES,
    instance_of,
    is_valid_unit_name,
    replace_instance,
    template_of,
    unit_type,
)

if TYPE_CHECKING:
    from pidone.core.installseam import InstallFS

__all__ = [
    "STRERROR",
    "InstallError",
    "Kind",
    "Plan",
    "Planner",
    "Stat",
    "symlink_name_compatible",
    "validate_alias",
]

FOLLOW_MAX = 64  # UNIT_FILE_FOLLOW_SYMLINK_MAX
_LOAD = 1
_FOLLOW_CONFIG = 2

_CHANGE_FOR_ERRNO: dict[str, ChangeType] = {
    "ENOENT": "not-found",
    "ELOOP": "linked",
    "EXDEV": "bad-alias",
    "EUCLEAN": "bad-name",
}


@dataclass(slots=True)
class _Info:
    """systemd's InstallInfo: one name being looked up (mutable while it is resolved)."""

    name: str
    path: str | None = None
    mode: str | None = None  # regular, masked, alias, linked
    symlink_target: str | None = None
    install: InstallSection = field(default_factory=InstallSection)
    assignments: list[Assignment] = field(default_factory=list)  # [Install] lines read so far
    auxiliary: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """What a verb would do: changes in systemctl's order, and its result."""

    changes: tuple[Change, ...]
    result: int  # < 0: the verb failed; for enable, 0 means "no installation config"
    error: str | None = None  # errno name when the verb failed without a change saying why


class Planner:
    """One systemctl invocation's view of the unit tree (systemd's InstallContext + LookupPaths)."""

    def __init__(self, fs: InstallFS) -> None:
        self.fs = fs
        self.paths = fs.paths
        self.ov = _Overlay(fs)
        self.changes: list[Change] = []
        self._will: dict[str, _Info] = {}
        self._have: dict[str, _Info] = {}
        self._index: dict[str, dict[str, list[str]]] = {}
        self._kinds: dict[str, dict[str, Kind]] = {}
        self._dests: dict[str, dict[str, list[str]]] = {}

    # ------------------------------------------------------------------ path classes
    def _skip_root(self, path: str) -> str | None:
        root = self.paths.root
        if not root:
            return path
        if path == root:
            return "/"
        if path.startswith(root + "/"):
            return path[len(root) :]
        return None

    def _is_generator(self, path: str) -> bool:
        return _parent(path) in self.paths.generators

    def _is_transient(self, path: str) -> bool:
        return _parent(path) == self.paths.transient

    def _is_config(self, path: str, check_parent: bool) -> bool:
        p = _parent(path) if check_parent else path
        return p in (self.paths.persistent_config, self.paths.runtime_config)

    def _is_runtime(self, path: str, check_parent: bool) -> bool:
        rpath = self._skip_root(path)
        if rpath is not None and _startswith(rpath, "/run"):
            return True
        p = _parent(path) if check_parent else path
        return p in (
            self.paths.runtime_config,
            *self.paths.generators,
            self.paths.transient,
            self.paths.runtime_control,
        )

    def _under_search_path(self, path: str) -> bool:
        return any(_startswith(path, d) for d in self.paths.known_dirs)

    def _in_search_path(self, path: str) -> bool:
        return _parent(path) in self.paths.known_dirs

    def _null_or_empty_with_root(self, path: str) -> bool:
        if self._skip_root(path) == "/dev/null":
            return True
        st = self.fs.stat(path)
        return st is not None and st.empty

    def _add_change(self, change_type: ChangeType, path: str, source: str | None = None) -> None:
        self.changes.append(Change(change_type, path, source))

    def _add_error(self, code: str, path: str) -> None:
        change_type = _CHANGE_FOR_ERRNO.get(code)
        if change_type is None:
            self.changes.append(Change("io", path, None, STRERROR.get(code, code)))
        else:
            self._add_change(change_type, path)

    # ------------------------------------------------------------------ context
    def _reset(self) -> None:
        self._will = {}
        self._have = {}

    def _add(self, name: str | None, path: str | None = None, auxiliary: bool = False) -> _Info:
        if name is None:
            assert path is not None
            name = _base(path)
        if not is_valid_unit_name(name):
            raise InstallError("EINVAL")
        found = self._have.get(name) or self._will.get(name)
        if found is not None:
            found.auxiliary = found.auxiliary and auxiliary
            return found
        info = _Info(name=name, path=path, auxiliary=auxiliary)
        self._will[name] = info
        return info

    # ------------------------------------------------------------------ loading
    def _load(self, info: _Info, path: str, flags: int) -> None:
        """unit_file_load() for a fragment."""
        utype = unit_type(info.name)
        if utype is None:
            raise InstallError("EINVAL")
        if instance_of(info.name) is not None and utype not in TEMPLATE_TYPES:
            raise InstallError("EINVAL")
        st = self.ov.lstat(path)
        if st is None:
            parent = self.ov.lstat(_parent(path))
            raise InstallError("ENOTDIR" if parent is not None and parent.kind != "d" else "ENOENT")
        if st.kind == "l":
            raise InstallError("ELOOP")
        if st.empty:
            info.mode = "masked"
            return
        if st.kind == "d":
            raise InstallError("EISDIR")
        if st.kind != "f":
            raise InstallError("ENOTTY" if not flags & _LOAD else "EBADMSG")
        info.mode = "regular"

    def _parse(self, info: _Info, files: Sequence[str], flags: int) -> None:
        """config_parse() of [Install], file by file, into `info` (only with SEARCH_LOAD).

        Like systemd, values accumulate in the InstallInfo: for an alias or linked name the
        drop-ins found under that name are read first and the target file later.
        """
        if not flags & _LOAD:
            return
        for path in files:
            lines = self.fs.parse_install(info.name, path)
            if lines is None:
                raise InstallError("EBADMSG")
            info.assignments.extend(lines)
            info.install = self.fs.build_install(info.name, info.assignments, info.path or path)
            for name in info.install.also:
                if is_valid_unit_name(name):
                    self._add(name, auxiliary=True)

    def _load_or_readlink(self, info: _Info, path: str, flags: int) -> None:
        try:
            self._load(info, path, flags)
            return
        except InstallError as err:
            if err.code != "ELOOP":
                raise
        target = self.ov.readlink(path)
        if target is None:
            raise InstallError("ENOENT")
        root = self.paths.root
        if target.startswith("/"):
            full = (root + target) if root else target
        else:
            full = f"{_parent(path)}/{target}"
        simplified = posixpath.normpath(full)
        if simplified.startswith("//"):
            simplified = simplified[1:]
        directory = self.fs.realpath(_parent(simplified))
        if not root or _startswith(directory, root):
            simplified = f"{directory.rstrip('/')}/{_base(simplified)}"
        outside = not self._under_search_path(simplified)
        if not outside:
            problem = alias_problem(_base(path), simplified)
            if problem is not None:
                if problem[0] != "ELOOP":
                    self.fs.note(problem[1])  # systemd logs these at LOG_NOTICE
                raise InstallError(problem[0])
            tail = next(
                (
                    simplified[len(d) + 1 :]
                    for d in self.paths.known_dirs
                    if _startswith(simplified, d)
                ),
                "",
            )
            if "/" in tail:
                self.fs.note(f"Suspicious symlink {path} \u2192 {simplified}, treating as alias.")
        info.symlink_target = simplified
        if self._null_or_empty_with_root(simplified):
            info.mode = "masked"
        elif outside:
            info.mode = "linked"
        else:
            info.mode = "alias"

    def _conf_files(self, dirs: Sequence[str], suffix: str | None) -> list[str]:
        """conf_files_list_strv(): first directory wins per file name; sorted by name."""
        seen: dict[str, str] = {}
        done: set[str] = set()
        for d in dirs:
            if self._names_in(_parent(d)).get(_base(d)) not in ("d", "l"):
                continue
            real = self.fs.realpath(d)
            if real in done:
                continue
            done.add(real)
            for name, _kind in self.ov.listdir(real):
                if suffix is not None and not name.endswith(suffix):
                    continue
                seen.setdefault(name, f"{real}/{name}")
        return [seen[n] for n in sorted(seen, key=lambda s: s.encode("utf-8", "surrogateescape"))]

    def _search(self, info: _Info, flags: int) -> None:
        """unit_file_search()."""
        if info.mode is not None:
            return
        if info.path:
            self._load_or_readlink(info, info.path, flags)
            if info.mode == "regular":
                self._parse(info, [info.path], flags)
            return
        template = template_of(info.name) if instance_of(info.name) else None
        found = False
        for name in (info.name, template):
            if name is None or found:
                continue
            for directory in self.paths.search_path:
                path = f"{directory}/{name}"
                try:
                    self._load_or_readlink(info, path, flags)
                except InstallError as err:
                    if err.code in ("ENOENT", "ENOTDIR", "EACCES"):
                        continue
                    raise
                info.path = path
                found = True
                break
        if not found:
            raise InstallError("ENOENT")
        if info.mode == "masked":
            return
        dirs = [f"{d}/{info.name}.d" for d in self.paths.search_path]
        if template:
            dirs += [f"{d}/{template}.d" for d in self.paths.search_path]
        dropins = self._conf_files(dirs, ".conf") if flags & _LOAD else []
        usable: list[str] = []
        for dropin in dropins:
            st = self.fs.stat(dropin)
            if st is None:
                raise InstallError("ENOENT")
            if st.empty:
                continue
            if st.kind != "f":
                raise InstallError("EISDIR" if st.kind == "d" else "EBADMSG")
            usable.append(dropin)
        assert info.path is not None
        self._parse(info, [info.path, *usable] if info.mode == "regular" else usable, flags)

    def _follow(self, info: _Info, flags: int, ignore_different_name: bool) -> None:
        target = info.symlink_target
        if info.mode not in ("alias", "linked") or target is None:
            raise InstallError("EINVAL")
        if not ignore_different_name and _base(target) != info.name:
            raise InstallError("EXDEV")
        info.path = target
        info.mode = None
        self._load_or_readlink(info, target, flags)
        if info.mode == "regular":
            self._parse(info, [target], flags)

    def _traverse(self, start: _Info, flags: int) -> _Info:
        """install_info_traverse()."""
        self._search(start, flags)
        info = start
        hops = 0
        while info.mode in ("alias", "linked"):
            hops += 1
            if hops > FOLLOW_MAX:
                raise InstallError("ELOOP")
            if not flags & _FOLLOW_CONFIG and info.path and self._is_config(info.path, True):
                raise InstallError("ELOOP")
            try:
                self._follow(info, flags, info.mode == "linked")
            except InstallError as err:
                if err.code != "EXDEV" or not info.symlink_target:
                    raise
                base = _base(info.symlink_target)
                inst = instance_of(info.name)
                if inst and instance_of(base) == "":
                    buffer = replace_instance(base, inst)
                    if buffer == info.name:
                        self._follow(info, flags, True)
                        continue
                    base = buffer
                info = self._add(base)
                try:
                    self._search(info, flags)
                except InstallError as err2:
                    raise InstallError("ENOLINK" if err2.code == "ENOENT" else err2.code) from None
        return info

    def _discover(self, name_or_path: str, flags: int, record: bool = True) -> _Info:
        try:
            if name_or_path.startswith("/"):
                root = self.paths.root
                start = self._add(None, (root + name_or_path) if root else name_or_path)
            else:
                start = self._add(name_or_path)
            return self._traverse(start, flags)
        except InstallError as err:
            if record:
                self._add_error(err.code, name_or_path)
            raise

    # ------------------------------------------------------------------ state
    def _find_in_dir(
        self,
        entries: Sequence[tuple[str, Kind]],
        dir_path: str,
        info: _Info,
        ignore_destination: bool,
        match_name: bool,
        ignore_same_name: bool,
        config_path: str,
        same: list[bool],
    ) -> bool:
        for name, kind in entries:
            if kind != "l":
                continue
            found_path = found_dest = False
            if not ignore_destination:
                dest = self.ov.readlink(f"{dir_path}/{name}")
                if dest is None:
                    continue
                if not dest.startswith("/"):
                    dest = f"{dir_path}/{dest}"
                found_dest = _base(dest) == info.name
            if ignore_destination or not ignore_same_name:
                found_path = name == info.name
            if not found_path and ignore_destination and is_valid_unit_name(name):
                template = template_of(name)
                if template is not None:
                    found_dest = template == info.name
            if found_path and found_dest and f"{dir_path}/{name}" == f"{config_path}/{info.name}":
                same[0] = True
            elif (found_path or found_dest) and (not match_name or self._known_name(info, name)):
                return True
        return False

    def _names_in(self, directory: str) -> dict[str, Kind]:
        if self.ov.links or self.ov.removed:
            return dict(self.ov.listdir(directory))
        found = self._kinds.get(directory)
        if found is None:
            found = self._kinds[directory] = dict(self.ov.listdir(directory))
        return found

    def _dest_index(self, directory: str) -> dict[str, list[str]]:
        """For the unchanged tree: target file name -> names of symlinks in `directory`."""
        index = self._dests.get(directory)
        if index is None:
            index = {}
            for name, kind in self.ov.listdir(directory):
                if kind == "l":
                    dest = self.ov.readlink(f"{directory}/{name}")
                    if dest is not None:
                        index.setdefault(_base(dest), []).append(name)
            self._dests[directory] = index
        return index

    def _wants_index(self, config_path: str) -> dict[str, list[str]]:
        """For the unchanged tree: unit name -> names of .wants/.requires links that match it
        (by their own name, or by their template name), as _find_in_dir() would see them."""
        index = self._index.get(config_path)
        if index is not None:
            return index
        index = {}
        for name, kind in self.ov.listdir(config_path):
            dot = name.rfind(".")
            if kind != "d" or dot < 0 or name[dot:] not in (".wants", ".requires"):
                continue
            for link, link_kind in self.ov.listdir(f"{config_path}/{name}"):
                if link_kind != "l":
                    continue
                index.setdefault(link, []).append(link)
                if is_valid_unit_name(link):
                    template = template_of(link)
                    if template is not None and template != link:
                        index.setdefault(template, []).append(link)
        self._index[config_path] = index
        return index

    @staticmethod
    def _known_name(info: _Info, name: str) -> bool:
        if name == info.name or name in info.install.alias:
            return True
        default = info.install.default_instance
        if default and instance_of(info.name) == "":
            return replace_instance(info.name, default) == name
        return False

    def _find_symlinks(
        self,
        info: _Info,
        match_name: bool,
        ignore_same_name: bool,
        config_path: str,
        same: list[bool],
    ) -> bool:
        entries = self.ov.listdir(config_path)
        if not self.ov.links and not self.ov.removed:
            for link in self._wants_index(config_path).get(info.name, ()):
                if not match_name or self._known_name(info, link):
                    return True
            candidates = list(self._dest_index(config_path).get(info.name, ()))
            if (
                not ignore_same_name
                and self._names_in(config_path).get(info.name) == "l"
                and info.name not in candidates
            ):
                candidates.append(info.name)
            for link in candidates:
                if (
                    link == info.name
                    and not ignore_same_name
                    and link in self._dest_index(config_path).get(info.name, ())
                ):
                    same[0] = True
                elif not match_name or self._known_name(info, link):
                    return True
            return False
        for name, kind in entries:
            if kind != "d":
                continue
            dot = name.rfind(".")
            if dot < 0 or name[dot:] not in (".wants", ".requires"):
                continue
            sub = f"{config_path}/{name}"
            if self._find_in_dir(
                self.ov.listdir(sub),
                sub,
                info,
                True,
                match_name,
                ignore_same_name,
                config_path,
                same,
            ):
                return True
        return self._find_in_dir(
            entries, config_path, info, False, match_name, ignore_same_name, config_path, same
        )

    def _find_symlinks_in_scope(self, info: _Info, match_name: bool) -> UnitFileState | None:
        same_runtime = same_config = in_runtime = at_all = ignore_same = False
        for directory in self.paths.search_path:
            same = [False]
            if self._find_symlinks(info, match_name, ignore_same, directory, same):
                if directory == self.paths.persistent_config:
                    return "enabled"
                if self._is_runtime(directory, False):
                    in_runtime = True
                else:
                    at_all = True
            elif same[0]:
                if directory == self.paths.persistent_config:
                    same_config = True
                elif self._is_runtime(directory, False):
                    same_runtime = True
            if not ignore_same and info.path and _startswith(info.path, directory):
                ignore_same = True
        if in_runtime:
            return "enabled-runtime"
        if at_all and instance_of(info.name):
            return "static"
        if same_config:
            return "linked"
        if same_runtime:
            return "linked-runtime"
        return None

    def lookup_state(self, name: str) -> UnitFileState:
        """unit_file_lookup_state(); raises InstallError."""
        if not is_valid_unit_name(name):
            raise InstallError("EINVAL")
        self._reset()
        info = self._discover(name, _LOAD | _FOLLOW_CONFIG, record=False)
        assert info.path is not None
        if info.mode == "masked":
            return "masked-runtime" if self._is_runtime(info.path, True) else "masked"
        if name != _base(info.path) and not instance_of(info.name):
            return "alias"
        if self._is_generator(info.path):
            return "generated"
        if self._is_transient(info.path):
            return "transient"
        state = self._find_symlinks_in_scope(info, True)
        if state is not None:
            return state
        if self._find_symlinks_in_scope(info, False) is not None:
            return "indirect"
        if info.install.has_rules:
            return "disabled"
        if info.install.also:
            return "indirect"
        return "static"

    def sysv_precheck(self, name: str) -> str | None:
        """enable_sysv_units(): systemctl first checks that a `.service` argument can be looked
        up at all; an error other than ENOENT/ELOOP/ERFKILL/EADDRNOTAVAIL stops the verb."""
        if not name.endswith(".service") or name.startswith("/"):
            return None
        saved_will, saved_have = self._will, self._have
        self._reset()
        try:
            self._discover(name, 0, record=False)
        except InstallError as err:
            return None if err.code in ("ENOENT", "ELOOP") else err.code
        finally:
            self._will, self._have = saved_will, saved_have
        return None

    def unit_exists(self, name: str) -> bool:
        """unit_file_exists(): only "not found" counts as absent."""
        saved_will, saved_have = self._will, self._have
        self._reset()
        try:
            self._discover(name, 0, record=False)
        except InstallError as err:
            return err.code != "ENOENT"
        finally:
            self._will, self._have = saved_will, saved_have
        return True
