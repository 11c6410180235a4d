"""Which unit owns a process, judged from the text of /proc/PID/cgroup.

Format (man 7 cgroups, "/proc/[pid]/cgroup"): one line per hierarchy,
`hierarchy-ID:controller-list:cgroup-path`. The cgroup2 (unified) line is `0::/path`;
a systemd-managed cgroup1 ("legacy"/"hybrid") box also has a named hierarchy
`N:name=systemd:/path`. We prefer the `0::` line and fall back to `name=systemd`
(a hybrid box carries both, and on a pure-v1 box `0::` is absent).

The path is read as systemd's cg_path_get_unit() does (src/basic/cgroup-util.c):
skip leading `*.slice` components, then the next component, after undoing systemd's
cgroup escaping (a leading `_`, see cg_escape()), must be a valid unit name that is
not a slice; anything below it (e.g. `foo.service/worker`) still belongs to that unit.
pidone's own cgroups look like `<anything>/pidone-<hash of the runtime dir>/<unit>` (the
daemon's subtree, linux/cgroups.py) or `<anything>/pidone/<unit>`; for such paths the
attribution starts after the last such component.
"""

from __future__ import annotations

# Unit type suffixes (systemd.unit(5), "DESCRIPTION").
UNIT_SUFFIXES = (
    ".service",
    ".socket",
    ".device",
    ".mount",
    ".automount",
    ".swap",
    ".target",
    ".path",
    ".timer",
    ".slice",
    ".scope",
)

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@")
_UNIT_NAME_MAX = 255  # UNIT_NAME_MAX in systemd's unit-name.h


def is_plain_unit_name(name: str) -> bool:
    """True for `foo.service` or `foo@bar.service` (no template `foo@.service`)."""
    if not name or len(name) > _UNIT_NAME_MAX or not set(name) <= _NAME_CHARS:
        return False
    dot = name.rfind(".")
    if dot <= 0 or name[dot:] not in UNIT_SUFFIXES:
        return False
    prefix = name[:dot]
    at = prefix.find("@")
    if at == 0:
        return False
    # an instance must be non-empty: "foo@.service" is a template, never a cgroup owner
    return not (at > 0 and at == len(prefix) - 1)


def _unescape(component: str) -> str:
    # cg_escape() prefixes "_" to names that start with "_" or "." or collide with
    # cgroupfs attribute names (cgroup.procs, cpu.weight, ...); undo that.
    return component[1:] if component.startswith("_") else component


def parent_slice(slice_name: str) -> str:
    """The slice a slice sits in (slice_add_parent_slice()): `system-getty.slice` ->
    `system.slice` -> `-.slice`; "" for the root slice itself."""
    if slice_name == "-.slice":
        return ""
    stem = slice_name[: -len(".slice")]
    return stem.rsplit("-", 1)[0] + ".slice" if "-" in stem else "-.slice"


def slice_dirs(slice_name: str) -> str:
    """The cgroup directories of a slice, systemd's slice_build_subslice() nesting: each
    dash in the name opens a level, `a-b-c.slice` -> `a.slice/a-b.slice/a-b-c.slice`;
    `-.slice` (the root slice) and "" are the root itself (systemd.slice(5))."""
    if slice_name in ("", "-.slice") or not slice_name.endswith(".slice"):
        return ""
    stem = slice_name[: -len(".slice")]
    parts = stem.split("-")
    return "/".join("-".join(parts[: i + 1]) + ".slice" for i in range(len(parts)))


def unit_from_path(path: str) -> str | None:
    """The owning unit of one cgroup path such as `/system.slice/foo.service/sub`."""
    parts = [p for p in path.split("/") if p]
    ours = [i for i, p in enumerate(parts) if p == "pidone" or p.startswith("pidone-")]
    if ours:
        parts = parts[ours[-1] + 1 :]
    for part in parts:
        name = _unescape(part)
        if name.endswith(".slice") and is_plain_unit_name(name):
            continue
        return name if is_plain_unit_name(name) else None
    return None


def unit_from_cgroup(data: bytes) -> str | None:
    """The owning unit from /proc/PID/cgroup content; None when no unit owns the process.

    The `0::` line wins when it names a unit; otherwise the `name=systemd` line is tried
    (hybrid boxes where only the v1 named hierarchy is organised by unit).
    """
    v2_path: str | None = None
    v1_path: str | None = None
    for raw in data.split(b"\n"):
        if raw.startswith(b"0::"):
            v2_path = raw[3:].decode("utf-8", "surrogateescape")
            continue
        fields = raw.split(b":", 2)
        if len(fields) == 3 and fields[1] == b"name=systemd":
            v1_path = fields[2].decode("utf-8", "surrogateescape")
    for path in (v2_path, v1_path):
        if path is not None:
            unit = unit_from_path(path)
            if unit is not None:
                return unit
    return None
