"""The verbs enable, disable, reenable, mask and unmask as plans (systemd 252 install.c), pure.

Each function returns a `Plan`: the changes in the order systemctl prints them, and the
result code (negative: failure). `linux.install` performs the symlink changes in order.
See `core.installplan` for the lookup rules these build on.
"""

from __future__ import annotations

from collections.abc import Sequence

from pidone.core.installplan import InstallError, Plan, Planner, _Info
from pidone.core.installseam import (
    _parent,
    _startswith,
    symlink_name_compatible,
    validate_alias,
)
from pidone.core.unitname import (
    instance_of,
    is_valid_unit_name,
    replace_instance,
    template_of,
)

_LOAD = 1
_FOLLOW_CONFIG = 2


def _config_path(planner: Planner, runtime: bool) -> str:
    paths = planner.paths
    return paths.runtime_config if runtime else paths.persistent_config


def _equivalent(planner: Planner, src: str, target_a: str, target_b: str) -> bool:
    """chroot_unit_symlinks_equivalent()."""
    root = planner.paths.root or "/"
    directory = _parent(src)

    def absolute(target: str) -> str:
        base = root if target.startswith("/") else directory
        joined = base.rstrip("/") + "/" + target.lstrip("/")
        return joined

    a, b = absolute(target_a), absolute(target_b)
    if a == b or planner.fs.same_file(a, b):
        return True
    return (
        a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1]
        and any(_startswith(a, d) for d in planner.paths.search_path)
        and any(_startswith(b, d) for d in planner.paths.search_path)
    )


def _create_symlink(planner: Planner, old_path: str, new_path: str, force: bool) -> int:
    """create_symlink(): 1 when the link exists afterwards, -1 (with a change) otherwise."""
    stripped = planner._skip_root(old_path)
    old = stripped if stripped is not None else old_path
    st = planner.ov.lstat(new_path)
    if st is None:
        planner.ov.symlink(old, new_path)
        planner._add_change("symlink", new_path, old)
        return 1
    dest = planner.ov.readlink(new_path) if st.kind == "l" else None
    if dest is None:
        planner._add_change("exists", new_path)
        return -1
    if _equivalent(planner, new_path, dest, old):
        return 1
    if not force:
        planner._add_change("exists", new_path, dest)
        return -1
    planner.ov.symlink(old, new_path)
    planner._add_change("unlink", new_path)
    planner._add_change("symlink", new_path, old)
    return 1


def _verify_alias(planner: Planner, info: _Info, dst: str) -> tuple[int, str]:
    """unit_file_verify_alias(): (0, name) to create, (-1, "") on error, (1, "") for self."""
    if "/" in dst:
        directory, alias = dst.rsplit("/", 1)
        stem = None
        for suffix in (".wants", ".requires"):
            if directory.endswith(suffix):
                stem = directory[: -len(suffix)]
        if stem is None or not is_valid_unit_name(stem):
            planner._add_change("bad-alias", dst)
            return -1, ""
        propagate = instance_of(stem) == ""
        if not symlink_name_compatible(alias, info.name, propagate):
            planner._add_change("bad-alias", dst, info.name)
            return -1, ""
        return 0, dst
    updated = dst
    if is_valid_unit_name(dst, plain=False, instance=False):
        inst = instance_of(info.name)
        if inst:
            updated = replace_instance(dst, inst)
    problem = validate_alias(updated, info.name)
    if problem == "ELOOP":
        return 1, ""
    if problem is not None:
        planner._add_change("bad-alias", updated, info.name)
        return -1, ""
    return 0, updated


def _symlink_wants(
    planner: Planner, info: _Info, config: str, targets: Sequence[str], suffix: str
) -> int:
    """install_info_symlink_wants()."""
    if not targets:
        return 0
    inst = instance_of(info.name)
    want_instance_or_template = False
    if inst != "":
        n = info.name
    elif info.install.default_instance:
        n = replace_instance(info.name, info.install.default_instance)
        probe = _Info(name=n)
        saved = planner._will, planner._have
        planner._reset()
        try:
            planner._search(probe, _FOLLOW_CONFIG)
        finally:
            planner._will, planner._have = saved
        if probe.mode == "masked" and probe.path:
            planner._add_change("masked", probe.path)
            return -1
    else:
        want_instance_or_template = True
        n = info.name
    r = 0
    for dst in targets:
        ok = (
            is_valid_unit_name(dst, plain=False)
            if want_instance_or_template
            else is_valid_unit_name(dst)
        )
        if not ok:
            if is_valid_unit_name(dst):
                planner._add_change("non-template", dst, n)
            else:
                planner._add_change("bad-name", dst)
            if r >= 0:
                r = -1
            continue
        assert info.path is not None
        q = _create_symlink(planner, info.path, f"{config}/{dst}{suffix}{n}", True)
        if (q < 0 and r >= 0) or r == 0:
            r = q
        if not planner.unit_exists(dst):
            planner._add_change("destination-not-present", dst, info.path)
    return r


def _apply_one(planner: Planner, info: _Info, config: str, force: bool) -> int:
    """install_info_apply()."""
    if info.mode != "regular" or info.path is None:
        return 0
    if not planner._in_search_path(info.path):
        r = _create_symlink(planner, info.path, f"{config}/{info.name}", force)
        if r < 0:
            return r
    r = 0
    for alias in info.install.alias:
        code, dst = _verify_alias(planner, info, alias)
        if code == 1:
            continue
        if code < 0:
            r = r if r < 0 else -1
            continue
        q = _create_symlink(planner, info.path, f"{config}/{dst}", force)
        r = r if r < 0 else q
    q = _symlink_wants(planner, info, config, info.install.wanted_by, ".wants/")
    if r == 0:
        r = q
    q = _symlink_wants(planner, info, config, info.install.required_by, ".requires/")
    if r == 0:
        r = q
    return r


def _context_apply(planner: Planner, config: str, force: bool) -> int:
    """install_context_apply()."""
    r = 0
    while planner._will:
        name = next(iter(planner._will))
        info = planner._will.pop(name)
        planner._have[name] = info
        try:
            planner._traverse(info, _LOAD)
        except InstallError as err:
            if info.auxiliary:
                planner._add_change("auxiliary-failed", info.name)
                continue
            planner._add_error(err.code, info.name)
            return -1
        if info.mode == "masked":
            planner._add_change("is-masked", info.path or info.name)
            if r >= 0:
                r += 1
            continue
        if info.mode != "regular":
            continue
        q = _apply_one(planner, info, config, force)
        if r >= 0:
            r = q if q < 0 else r + q
    return r


def _do_enable(planner: Planner, names: Sequence[str], config: str, force: bool) -> int:
    planner._reset()
    for name in names:
        try:
            info = planner._discover(name, _LOAD | _FOLLOW_CONFIG)
        except InstallError:
            return -1
        assert info.path is not None
        if info.mode == "masked":
            planner._add_change("masked", info.path)
            return -1
        if planner._is_generator(info.path) or planner._is_transient(info.path):
            planner._add_change("generated", info.path)
            return -1
    return _context_apply(planner, config, force)


def plan_enable(
    planner: Planner, names: Sequence[str], runtime: bool = False, force: bool = False
) -> Plan:
    """`systemctl enable NAME...`; names may be absolute paths (linked unit files)."""
    r = _do_enable(planner, names, _config_path(planner, runtime), force)
    return Plan(tuple(planner.changes), r)


def _remove_marked(planner: Planner, marks: set[str], config: str) -> int:
    """remove_marked_symlinks(): rescan from the top while removals add new marks."""
    if not marks or planner.ov.lstat(config) is None:
        return 0
    while _remove_in(planner, marks, config, config):
        pass
    return 0


def _remove_in(planner: Planner, marks: set[str], directory: str, config: str) -> bool:
    restart = False
    for name, kind in planner.ov.listdir(directory):
        path = f"{directory}/{name}"
        if kind == "d":
            restart |= _remove_in(planner, marks, path, config)
        elif kind == "l":
            restart |= _remove_link(planner, marks, path, name)
    return restart


def _remove_link(planner: Planner, marks: set[str], path: str, name: str) -> bool:
    if not is_valid_unit_name(name):
        return False
    found = name in marks
    if not found:
        template = template_of(name)
        found = template is not None and template in marks
    if not found:
        dest = planner.fs.realpath(path) if path not in planner.ov.links else None
        if dest is None:
            target = planner.ov.links[path]
            dest = target if target.startswith("/") else f"{_parent(path)}/{target}"
        stripped = planner._skip_root(dest)
        dest = stripped if stripped is not None else dest
        found = dest in marks or dest.rsplit("/", 1)[-1] in marks
    if not found:
        return False
    planner.ov.unlink(path)
    planner._add_change("unlink", path)
    stripped = planner._skip_root(path)
    key = stripped if stripped is not None else path
    if key in marks:
        return False
    marks.add(key)
    return True


def _mark_for_removal(planner: Planner) -> set[str]:
    """install_context_mark_for_removal()."""
    marks: set[str] = set()
    while planner._will:
        name = next(iter(planner._will))
        info = planner._will.pop(name)
        planner._have[name] = info
        try:
            planner._traverse(info, _LOAD | _FOLLOW_CONFIG)
        except InstallError as err:
            if err.code == "ENOLINK":
                planner._add_change("is-dangling", info.path or info.name)
            elif err.code == "ENOENT":
                if not info.auxiliary:
                    planner._add_change("not-found", info.path or info.name)
            else:
                planner._add_error(err.code, info.path or info.name)
        else:
            if info.mode == "masked":
                planner._add_change("is-masked", info.path or info.name)
                continue
            if info.mode != "regular":
                continue
        marks.add(info.name)
    return marks


def _do_disable(planner: Planner, names: Sequence[str], config: str) -> int:
    planner._reset()
    for name in names:
        if not is_valid_unit_name(name):
            planner._add_change("bad-name", name)
            return -1
        planner._add(name)
    marks = _mark_for_removal(planner)
    return _remove_marked(planner, marks, config)


def plan_disable(planner: Planner, names: Sequence[str], runtime: bool = False) -> Plan:
    """`systemctl disable NAME...` (names, never paths: the CLI strips directories)."""
    r = _do_disable(planner, names, _config_path(planner, runtime))
    return Plan(tuple(planner.changes), r)


def plan_reenable(
    planner: Planner, names: Sequence[str], runtime: bool = False, force: bool = False
) -> Plan:
    """`systemctl reenable`: disable by name, then enable by the discovered path."""
    config = _config_path(planner, runtime)
    bases: list[str] = []
    files: list[str] = []
    for arg in names:
        base = arg.rsplit("/", 1)[-1]
        bases.append(base)
        path: str | None = None
        if "/" not in arg:
            planner._reset()
            try:
                info = planner._discover(base, _LOAD | _FOLLOW_CONFIG, record=False)
                path = info.path
            except InstallError:
                path = None
        stripped = planner._skip_root(path) if path else None
        files.append(stripped if stripped is not None and planner.paths.root else (path or arg))
    r = _do_disable(planner, bases, config)
    if r < 0:
        return Plan(tuple(planner.changes), r)
    r = _do_enable(planner, files, config, force)
    return Plan(tuple(planner.changes), r)


def plan_mask(
    planner: Planner, names: Sequence[str], runtime: bool = False, force: bool = False
) -> Plan:
    """`systemctl mask NAME...`: NAME -> /dev/null in the config directory."""
    config = _config_path(planner, runtime)
    r = 0
    error: str | None = None
    for name in names:
        if not is_valid_unit_name(name):
            if r == 0:
                r, error = -1, "EINVAL"
            continue
        q = _create_symlink(planner, "/dev/null", f"{config}/{name}", force)
        if q < 0 and r >= 0:
            r = q
    return Plan(tuple(planner.changes), r, error)


def plan_unmask(planner: Planner, names: Sequence[str], runtime: bool = False) -> Plan:
    """`systemctl unmask NAME...`: remove NAME -> /dev/null and links to it."""
    config = _config_path(planner, runtime)
    todo: list[str] = []
    for name in names:
        if not is_valid_unit_name(name):
            return Plan(tuple(planner.changes), -1, "EINVAL")
        path = f"{config}/{name}"
        if planner.ov.lstat(path) is None:
            continue
        target = planner.ov.readlink(path)
        st = planner.fs.stat(path) if target is None or path not in planner.ov.links else None
        masked = (target is not None and target == "/dev/null") or (st is not None and st.empty)
        if masked and name not in todo:
            todo.append(name)
    marks: set[str] = set()
    for name in todo:
        path = f"{config}/{name}"
        planner.ov.unlink(path)
        planner._add_change("unlink", path)
        stripped = planner._skip_root(path)
        marks.add(stripped if stripped is not None else path)
    _remove_marked(planner, marks, config)
    return Plan(tuple(planner.changes), 0)
