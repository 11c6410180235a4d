"""RequiresMountsFor= paths -> the mount unit names a unit depends on, as systemd 252 derives them.

systemd.unit(5) RequiresMountsFor=: "Automatically adds dependencies of type Requires= and
After= for all mount units required to access the specified path." For each path (stated, or
implied: systemd.exec(5) and systemd.mount(5) "Implicit Dependencies", see core.units) every
prefix counts, the path itself down to "/" (src/core/unit.c unit_add_mount_dependencies(),
PATH_FOREACH_PREFIX_MORE): `/var/lib/machines` -> var-lib-machines.mount, var-lib.mount,
var.mount, -.mount. core.depgraph adds the edges to those that are loaded: After= always,
Requires= only when the mount unit has a file (a mount that only /proc/self/mountinfo
knows, such as the root, is ordered against but not required). A path that cannot be a unit
name (not normalized, a name over 255 bytes) adds nothing (unit_name_from_path() fails with
EINVAL/ENAMETOOLONG and is skipped).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from pidone.core.errors import ValueParseError
from pidone.core.escape import escape_path, simplify_path

_UNIT_NAME_MAX = 255  # UNIT_NAME_MAX is 256 with the NUL


def path_prefixes(path: str) -> tuple[str, ...]:
    """`/a/b/c` -> (`/a/b/c`, `/a/b`, `/a`, `/`), for an absolute path."""
    simple = simplify_path(path)
    if not simple.startswith("/"):
        return ()
    out = [simple]
    while simple != "/":
        simple = simple.rsplit("/", 1)[0] or "/"
        out.append(simple)
    return tuple(out)


def mount_unit_names(paths: Iterable[str]) -> tuple[str, ...]:
    """The mount unit names for every prefix of every path, each once, longest first."""
    names: dict[str, None] = {}
    for path in paths:
        names.update(dict.fromkeys(_names_of(path)))
    return tuple(names)


@functools.lru_cache(maxsize=1024)
def _names_of(path: str) -> tuple[str, ...]:
    """One path's mount unit names (cached: many units share /var/tmp, /run, ...)."""
    if ".." in path.split("/") or not path.startswith("/"):
        return ()  # unit_require_mounts_for(): not normalized (EPERM), nothing registered
    try:
        escaped = escape_path(path)
    except ValueParseError:
        return tuple(dict.fromkeys(n for p in path_prefixes(path)[1:] for n in _names_of(p)))
    # "-" in an escaped name only ever stands for "/" (a "-" in the path becomes \x2d), so
    # the parents' names are the name cut at each "-"; "/" itself is "-.mount"
    out: list[str] = []
    while escaped not in ("", "-"):
        if len(escaped) + len(".mount") <= _UNIT_NAME_MAX:
            out.append(escaped + ".mount")
        escaped = escaped.rsplit("-", 1)[0] if "-" in escaped else ""
    out.append("-.mount")
    return tuple(out)
