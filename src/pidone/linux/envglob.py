"""EnvironmentFile= paths: a wildcard names every matching file, in glob(3)'s order."""

from __future__ import annotations

_MAGIC = frozenset("*?[")


def environment_file_paths(pattern: str) -> list[str]:
    """The files one EnvironmentFile= value names.

    systemd 252's exec_context_load_environment(): "Filename supports globbing, take all
    matching files" through safe_glob(fn, 0): sorted (no GLOB_NOSORT), no braces, a
    leading dot matched only literally. kamailio.service has
    `EnvironmentFile=-/etc/default/kamailio.d/*`. No match is ENOENT there; here the
    pattern itself is returned, and opening it fails with ENOENT the same way (the `-`
    prefix then skips it). glob is imported only for a pattern that has a wildcard.
    """
    if _MAGIC.isdisjoint(pattern):
        return [pattern]
    import glob

    return sorted(glob.glob(pattern)) or [pattern]
