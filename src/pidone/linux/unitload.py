"""Find and read a unit's files: fragment, aliases, masks, templates, drop-ins, .wants/.requires.

Follows systemd 252's manager-side lookup (src/basic/unit-file.c, src/shared/dropin.c,
src/core/load-dropin.c), spec 01 §7-§11:

1. Each search-path directory is read once. A regular file or symlink with a valid unit
   name is an entry; the first directory that has a name wins (fragments never merge).
2. A symlink whose target lies inside the search path is an alias: the entry maps to
   the target's *name* (it may dangle). Invalid aliases (type or instance mismatch, a
   self-link) are ignored. A symlink that leaves the path is a linked unit file: the
   fragment path is the link itself. Links are followed at most 8 times (FOLLOW_MAX);
   an instance whose name is not found falls back to its template.
3. A fragment that is /dev/null, a device or an empty file means `masked`.
4. Drop-in directories, per search-path directory: NAME.d, then the template's, then
   each dash prefix (`foo-bar-.service.d`, `foo-.service.d`), recursively; then the same
   for every alias; then `TYPE.d` in every directory. A `*.conf` name is taken from the
   first directory that has it; survivors are applied in file-name order.
5. `.wants/` and `.requires/` are found the same way; entries must be symlinks with valid
   names; a template entry gets the unit's instance (or its prefix) filled in.
6. Nothing raises for bad input: a problem becomes a one-line Diagnostic naming the
   file, and the unit's load state says `error` when the fragment itself is unusable.
7. With `builtins=True`, a name no directory has falls back to pidone's built-in units
   (core.targets: the standard targets and slices systemd ships itself): `default.target`
   is then an alias of multi-user.target, and a built-in still gets its drop-ins and its
   `.wants/`/`.requires/` links from the search path (that is how enabled units join
   multi-user.target). A file of that name always wins.
"""

from __future__ import annotations

import os
import posixpath
import stat as stat_mod

from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import Diagnostic, InvalidUnitName
from pidone.core.targets import BUILTIN_DIR, builtin_alias, builtin_unit_text
from pidone.core.unitfile import UnitFile, parse_unit_file
from pidone.core.unitname import (
    KNOWN_SECTIONS,
    instance_of,
    is_valid_unit_name,
    parse_unit_name,
    prefix_of,
    replace_instance,
    template_of,
    unit_type,
)
from pidone.core.unitsource import UnitSource
from pidone.linux.unitpaths import UnitPaths, build_unit_paths, chase

FOLLOW_MAX = 8  # unit-file.c
_MAX_FILE = 64 * 1024 * 1024  # refuse to read anything bigger (no unit file is)


@dataclass(frozen=True, slots=True)
class _Entry:
    """What one unit-file name in the search path points to."""

    path: str  # the file or link in the search path
    alias: str | None = None  # for alias symlinks: the target unit name
    error: str | None = None  # a problem that makes this entry unusable


class _Loop(Exception):
    pass


class UnitLoader:
    """Loads units from one search path; directory listings are cached for its lifetime.

    With `watch` (the daemon's loader), each load first checks whether a directory of the
    search path changed since it was listed (its mtime) and lists again if so: 252 does the
    same before it loads a unit (unit_load_fragment() -> unit_file_build_name_map(), which
    compares lookup_paths_timestamp_hash_same()), so a unit file, or a `.wants/` directory,
    installed after the manager started is seen by the next unit loaded, without
    daemon-reload. A unit already loaded keeps what it was loaded with until then."""

    def __init__(
        self,
        paths: UnitPaths | None = None,
        *,
        root: str | None = None,
        builtins: bool = False,
        watch: bool = False,
    ) -> None:
        self.paths = paths if paths is not None else build_unit_paths(root)
        self.builtins = builtins
        self.watch = watch
        self._dirs: dict[str, dict[str, str]] = {}
        self._ids: dict[str, _Entry] | None = None
        self._names: dict[str, list[str]] | None = None
        self._subdir_cache: dict[tuple[str, str], frozenset[str]] = {}
        self._mtimes: dict[str, int] = {}  # a search-path directory -> its mtime when listed
        self.diagnostics: list[Diagnostic] = []  # problems met while scanning directories

    def _search_path_changed(self) -> bool:
        """Whether a directory of the search path was listed and has changed since (or
        appeared: a missing directory is recorded as mtime -1)."""
        for path, seen in self._mtimes.items():
            try:
                now = os.stat(path).st_mtime_ns
            except OSError:
                now = -1
            if now != seen:
                return True
        return False

    def _forget_listings(self) -> None:
        self._dirs.clear()
        self._subdir_cache.clear()
        self._mtimes.clear()
        self._ids = None
        self._names = None

    # ------------------------------------------------------------------ directory cache
    def _listdir(self, path: str) -> dict[str, str]:
        """name -> kind ('f' file, 'l' link, 'd' dir, 'o' other), in readdir order."""
        cached = self._dirs.get(path)
        if cached is not None:
            return cached
        out: dict[str, str] = {}
        if path in self.paths.search_path:
            try:  # before the listing: a change made while listing shows as a change
                self._mtimes[path] = os.stat(path).st_mtime_ns
            except OSError:
                self._mtimes[path] = -1
        try:
            with os.scandir(path) as it:
                for entry in it:
                    if entry.is_symlink():
                        out[entry.name] = "l"
                    elif entry.is_dir(follow_symlinks=False):
                        out[entry.name] = "d"
                    elif entry.is_file(follow_symlinks=False):
                        out[entry.name] = "f"
                    else:
                        out[entry.name] = "o"
        except FileNotFoundError:
            pass
        except OSError as err:
            self.diagnostics.append(
                Diagnostic(path, 0, f"Failed to open directory, ignoring: {err.strerror}")
            )
        self._dirs[path] = out
        return out

    def _is_dir(self, parent: str, name: str) -> bool:
        kind = self._listdir(parent).get(name)
        if kind == "d":
            return True
        return kind == "l" and os.path.isdir(f"{parent}/{name}")

    # ------------------------------------------------------------------ name map
    def _build_ids(self) -> dict[str, _Entry]:
        if self._ids is not None:
            return self._ids
        ids: dict[str, _Entry] = {}
        for directory in self.paths.search_path:
            for name, kind in self._listdir(directory).items():
                if kind not in ("f", "l"):
                    if kind == "d" and is_valid_unit_name(name):
                        self.diagnostics.append(
                            Diagnostic(
                                f"{directory}/{name}",
                                0,
                                "Is a directory, not a unit file; ignoring.",
                            )
                        )
                    continue
                if name in ids:
                    continue
                if not is_valid_unit_name(name):
                    if unit_type(name) is not None:
                        self.diagnostics.append(
                            Diagnostic(
                                f"{directory}/{name}", 0, "Invalid unit file name, ignoring."
                            )
                        )
                    continue
                path = f"{directory}/{name}"
                if kind == "l":
                    entry = self._resolve_link(path)
                    if entry is None:
                        continue
                    ids[name] = entry
                else:
                    ids[name] = _Entry(path)
        self._ids = ids
        return ids

    def _resolve_link(self, path: str) -> _Entry | None:
        """unit_file_resolve_symlink(): alias (target name) or linked file (the link itself)."""
        try:
            target = os.readlink(path)
        except OSError as err:
            self.diagnostics.append(Diagnostic(path, 0, f"Failed to read symlink: {err.strerror}"))
            return None
        root = self.paths.root
        if target.startswith("/"):
            full = (root + target) if root else target
        else:
            full = f"{os.path.dirname(path)}/{target}"
        simplified = posixpath.normpath(full)
        try:
            directory = chase(os.path.dirname(simplified), root)
        except OSError:
            directory = os.path.dirname(simplified)
        simplified = f"{directory.rstrip('/')}/{os.path.basename(simplified)}"
        if not any(simplified.startswith(d + "/") for d in self.paths.known_dirs):
            return _Entry(path)
        # core.installseam (systemd's alias rules) only for unit files that are symlinks
        from pidone.core.installseam import validate_alias

        problem = validate_alias(path, simplified)
        if problem is not None:
            if problem != "ELOOP":
                self.diagnostics.append(
                    Diagnostic(path, 0, f"Invalid alias symlink to {simplified}, ignoring.")
                )
            return None
        return _Entry(path, alias=os.path.basename(simplified))

    def _fragment(self, name: str) -> str | None:
        """unit_ids_map_get(): follow aliases to a path; None if not found; _Loop on loops."""
        ids = self._build_ids()
        current = name
        for _ in range(FOLLOW_MAX):
            entry = ids.get(current)
            if entry is None:
                if current == name:
                    return None
                template = template_of(current) if instance_of(current) else None
                entry = ids.get(template) if template else None
                if entry is None:
                    return None
            if entry.alias is None:
                return entry.path
            current = entry.alias
        raise _Loop

    def _build_names(self) -> dict[str, list[str]]:
        """Reverse map: unit name -> the names (aliases) that lead to it."""
        if self._names is not None:
            return self._names
        names: dict[str, list[str]] = {}
        for src in self._build_ids():
            try:
                fragment = self._fragment(src)
            except _Loop:
                continue
            if fragment is None or _null_or_empty(fragment):
                continue
            dst = os.path.basename(fragment)
            if instance_of(dst) == "":
                inst = instance_of(src)
                if inst:
                    dst = replace_instance(dst, inst)
            names.setdefault(dst, []).append(src)
        self._names = names
        return names

    def _add_names(self, unit: str, fragment_base: str | None, name: str, out: list[str]) -> None:
        inst = instance_of(unit)
        if instance_of(name) != "" and name not in out:
            out.append(name)
        for alias in self._build_names().get(name, []):
            if inst and instance_of(alias) == "":
                candidate = replace_instance(alias, inst)
                try:
                    other = self._fragment(candidate)
                except _Loop:
                    other = None
                if other and fragment_base and os.path.basename(other) != fragment_base:
                    continue
                alias = candidate
            if alias not in out:
                out.append(alias)

    # ------------------------------------------------------------------ public API
    def list_unit_files(self) -> list[tuple[str, str]]:
        """(name, path) of every unit file in the search path, first directory wins."""
        self._build_ids()  # records diagnostics about names that are skipped
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for directory in self.paths.search_path:
            for name, kind in self._listdir(directory).items():
                if kind in ("f", "l") and name not in seen and is_valid_unit_name(name):
                    seen.add(name)
                    out.append((name, f"{directory}/{name}"))
        return out

    def find(self, name: str) -> tuple[str | None, tuple[str, ...]]:
        """unit_file_find_fragment(): the fragment path (or None) and every name of the unit."""
        parse_unit_name(name)
        names: list[str] = []
        self._add_names(name, None, name, names)
        fragment = self._fragment(name)
        if fragment is None and instance_of(name):
            template = template_of(name)
            if template:
                fragment = self._fragment(template)
        if fragment is not None:
            base = os.path.basename(fragment)
            if base != name:
                self._add_names(name, base, base, names)
        return fragment, tuple(names)

    def dropin_dirs(self, names: tuple[str, ...], suffix: str) -> list[str]:
        """unit_file_find_dropin_paths(): candidate directories, most specific first."""
        dirs: list[str] = []
        for name in names:
            candidates = _candidates(name)
            for directory in self.paths.search_path:
                present = self._subdirs(directory, suffix)
                if present:
                    dirs.extend(
                        f"{directory}/{c}{suffix}" for c in candidates if c + suffix in present
                    )
        utype = unit_type(names[0]) if names else None
        if utype:
            for directory in self.paths.search_path:
                if utype + suffix in self._subdirs(directory, suffix):
                    dirs.append(f"{directory}/{utype}{suffix}")
        return dirs

    def _subdirs(self, directory: str, suffix: str) -> frozenset[str]:
        """Names in `directory` ending in `suffix` that are directories (or links to them)."""
        key = (directory, suffix)
        found = self._subdir_cache.get(key)
        if found is None:
            found = frozenset(
                n
                for n, kind in self._listdir(directory).items()
                if n.endswith(suffix) and kind in ("d", "l") and self._is_dir(directory, n)
            )
            self._subdir_cache[key] = found
        return found

    def _collect(self, dirs: list[str], suffix: str | None) -> list[str]:
        """conf_files_list_strv(): first directory wins per file name; sorted by name."""
        chosen: dict[str, str] = {}
        seen: set[str] = set()
        for d in dirs:
            try:
                real = chase(d, self.paths.root)
            except OSError:
                continue
            if real in seen:
                continue
            seen.add(real)
            for fname in self._listdir(real):
                if suffix is None or fname.endswith(suffix):
                    chosen.setdefault(fname, f"{real}/{fname}")
        return [
            chosen[k] for k in sorted(chosen, key=lambda s: s.encode("utf-8", "surrogateescape"))
        ]

    def load(self, name: str) -> UnitSource:
        """Everything on disk about unit `name`. Raises InvalidUnitName for a bad name."""
        parsed = parse_unit_name(name)
        diags: list[Diagnostic] = []
        if self.watch and self._search_path_changed():
            self._forget_listings()
        try:
            fragment, names = self.find(name)
        except _Loop:
            reason = f"Failed to load unit {name}: Too many levels of symbolic links"
            return UnitSource(name, name, (name,), "error", load_error=reason)
        if fragment is None:
            builtin = self._load_builtin(name) if self.builtins else None
            if builtin is not None:
                return builtin
            return UnitSource(name, name, names or (name,), "not-found")
        base = os.path.basename(fragment)
        unit_id = base
        if parsed.instance and instance_of(base) == "":
            unit_id = replace_instance(base, parsed.instance)
        if not names:
            names = (unit_id,)
        elif unit_id in names and names[0] != unit_id:
            names = (unit_id, *[n for n in names if n != unit_id])
        if _null_or_empty(fragment):
            return UnitSource(name, unit_id, names, "masked", fragment_path=fragment)
        sections = KNOWN_SECTIONS[parsed.type]
        source_path = None
        if os.path.islink(fragment):
            try:
                source_path = chase(fragment, self.paths.root)
            except OSError as err:
                reason = f"{fragment}: Failed to read: {err.strerror}"
                problem = Diagnostic(fragment, 0, f"Failed to read: {err.strerror}", "error")
                return UnitSource(
                    name,
                    unit_id,
                    names,
                    "error",
                    fragment_path=fragment,
                    diagnostics=(problem,),
                    load_error=reason,
                )
        if source_path is not None and not os.path.lexists(source_path):
            # A dangling link (its package removed, e.g. dbus-org.freedesktop.timesync1
            # -> systemd-timesyncd.service once chrony replaced it; chase() keeps a missing
            # tail): systemd 252 fails to open the fragment while the unit is still a stub,
            # and unit_load() makes such a stub "not-found" ("Unit X not found.").
            return UnitSource(name, unit_id, names, "not-found")
        main, error = _read_unit_file(fragment, sections, source_path)
        if main is None or main.fatal:
            if main is None:
                problems: tuple[Diagnostic, ...] = (
                    Diagnostic(fragment, 0, error or "unreadable", "error"),
                )
            else:
                problems = main.diagnostics
            errors = [d for d in problems if d.severity == "error"] or list(problems)
            return UnitSource(
                name,
                unit_id,
                names,
                "error",
                fragment_path=fragment,
                source_path=source_path,
                files=(main,) if main else (),
                diagnostics=problems,
                load_error=str(errors[-1]) if errors else f"{fragment}: unreadable",
            )
        files = [main]
        dropin_paths: list[str] = []
        for path in self._collect(self.dropin_dirs(names, ".d"), ".conf"):
            dropin, why = _read_unit_file(path, sections)
            dropin_paths.append(path)
            if dropin is None:
                diags.append(Diagnostic(path, 0, f"Failed to read drop-in, ignoring: {why}"))
                continue
            files.append(dropin)
        wants = self._deps(names, unit_id, ".wants", diags)
        requires = self._deps(names, unit_id, ".requires", diags)
        return UnitSource(
            name,
            unit_id,
            names,
            "loaded",
            fragment_path=fragment,
            source_path=source_path,
            files=tuple(files),
            dropin_paths=tuple(dropin_paths),
            wants=wants,
            requires=requires,
            diagnostics=tuple(diags),
        )

    def _load_builtin(self, name: str) -> UnitSource | None:
        """Rule 7: a built-in unit (or built-in alias) for a name without a file."""
        real = builtin_alias(name)
        if real is not None:
            target = self.load(real)
            if target.load_state == "not-found":
                return None
            names = target.names if name in target.names else (*target.names, name)
            return UnitSource(
                name,
                target.id,
                names,
                target.load_state,
                fragment_path=target.fragment_path,
                source_path=target.source_path,
                files=target.files,
                dropin_paths=target.dropin_paths,
                wants=target.wants,
                requires=target.requires,
                diagnostics=target.diagnostics,
                load_error=target.load_error,
            )
        text = builtin_unit_text(name)
        if text is None:
            return None
        path = f"{BUILTIN_DIR}/{name}"
        sections = KNOWN_SECTIONS[parse_unit_name(name).type]
        diags: list[Diagnostic] = []
        files = [parse_unit_file(text, path, sections)]
        dropin_paths: list[str] = []
        names = (name,)
        for dropin_path in self._collect(self.dropin_dirs(names, ".d"), ".conf"):
            dropin, why = _read_unit_file(dropin_path, sections)
            dropin_paths.append(dropin_path)
            if dropin is None:
                diags.append(Diagnostic(dropin_path, 0, f"Failed to read drop-in, ignoring: {why}"))
                continue
            files.append(dropin)
        return UnitSource(
            name,
            name,
            names,
            "loaded",
            fragment_path=path,
            files=tuple(files),
            dropin_paths=tuple(dropin_paths),
            wants=self._deps(names, name, ".wants", diags),
            requires=self._deps(names, name, ".requires", diags),
            diagnostics=tuple(diags),
        )

    def _deps(
        self, names: tuple[str, ...], unit_id: str, suffix: str, diags: list[Diagnostic]
    ) -> tuple[str, ...]:
        """process_deps(): unit names from .wants/ or .requires/ symlinks."""
        out: list[str] = []
        kind_name = "Wants" if suffix == ".wants" else "Requires"
        inst = instance_of(unit_id)
        for path in self._collect(self.dropin_dirs(names, suffix), None):
            entry = os.path.basename(path)
            if _null_or_empty(path):
                continue  # masked dependency
            if not os.path.islink(path):
                diags.append(
                    Diagnostic(
                        path, 0, f"{kind_name} dependency dropin {path} is not a symlink, ignoring."
                    )
                )
                continue
            if not is_valid_unit_name(entry):
                diags.append(
                    Diagnostic(
                        path,
                        0,
                        f"{kind_name} dependency dropin {path} is not a valid unit name, ignoring.",
                    )
                )
                continue
            if instance_of(entry) == "":
                entry = replace_instance(entry, inst if inst else prefix_of(unit_id))
            if entry not in out:
                out.append(entry)
        return tuple(out)

    def load_all(self) -> list[UnitSource]:
        """Load every unit that has a file (aliases are loaded once, under their target)."""
        out: list[UnitSource] = []
        done: set[str] = set()
        for name, _path in self.list_unit_files():
            if name in done or instance_of(name) == "":
                continue
            try:
                source = self.load(name)
            except InvalidUnitName:
                continue
            done.update(source.names)
            out.append(source)
        return out


_CANDIDATES: dict[str, tuple[str, ...]] = {}


def _candidates(name: str) -> tuple[str, ...]:
    """unit_file_find_dirs() order in one directory: name, template, dash prefixes, recursively."""
    cached = _CANDIDATES.get(name)
    if cached is not None:
        return cached
    out: list[str] = [name]
    inst = instance_of(name)
    if inst:
        template = template_of(name)
        if template:
            out.extend(_candidates(template))
    prefix = prefix_of(name)
    chopped = False
    while True:
        dash = prefix.rfind("-")
        if dash <= 0:
            prefix = ""
            break
        if dash + 1 < len(prefix) or chopped:
            prefix = prefix[: dash + 1]
            break
        prefix = prefix[:dash]
        chopped = True
    if prefix:
        utype = unit_type(name)
        built = f"{prefix}@{inst}.{utype}" if inst else f"{prefix}.{utype}"
        if is_valid_unit_name(built):
            out.extend(_candidates(built))
    result = tuple(out)
    _CANDIDATES[name] = result
    return result


def _null_or_empty(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    if stat_mod.S_ISCHR(st.st_mode) or stat_mod.S_ISBLK(st.st_mode):
        return True
    return stat_mod.S_ISREG(st.st_mode) and st.st_size == 0


def _read_unit_file(
    path: str, sections: frozenset[str], real: str | None = None
) -> tuple[UnitFile | None, str | None]:
    """Read and lex one file (from `real` when given); (None, reason) when it cannot be read."""
    try:
        with open(real or path, "rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except OSError as err:
        return None, f"Failed to read: {err.strerror}"
    if len(data) > _MAX_FILE:
        return None, "File too large"
    return parse_unit_file(data, path, sections), None
