"""The locale variables a system manager passes to every service (systemd 252's
locale_setup(), src/core/locale-setup.c, and locale_context_load(), locale-util).

systemd's system manager starts its children with a clean environment: PATH and the
locale. The locale comes from the first source that sets anything: `/etc/locale.conf`
(Debian's package falls back to `/etc/default/locale`, the file update-locale(8)
writes), then the manager's own environment; nothing set at all gives the compile-time
default, `LANG=C.UTF-8` on Debian (the oracle's services see exactly that on this
host, whose /etc/default/locale sets nothing). LC_* variables equal to LANG are dropped
(LOCALE_LOAD_SIMPLIFY). (The kernel command line's locale.LANG= & co., read first by
systemd outside containers, is not read here.) Pure: the caller reads the files.
"""

from __future__ import annotations

from collections.abc import Mapping

from pidone.core.environ import parse_environment_file
from pidone.core.errors import PidoneError

# locale_variable_table (locale-util.c), in its order; no LC_ALL
LOCALE_VARIABLES = (
    "LANG",
    "LANGUAGE",
    "LC_CTYPE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_COLLATE",
    "LC_MONETARY",
    "LC_MESSAGES",
    "LC_PAPER",
    "LC_NAME",
    "LC_ADDRESS",
    "LC_TELEPHONE",
    "LC_MEASUREMENT",
    "LC_IDENTIFICATION",
)
DEFAULT_LOCALE = "C.UTF-8"  # SYSTEMD_DEFAULT_LOCALE as Debian builds it


def _pick(pairs: Mapping[str, str]) -> dict[str, str]:
    return {name: pairs[name] for name in LOCALE_VARIABLES if pairs.get(name)}


def manager_locale(
    config_files: list[bytes | None], environ: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    """The locale pairs for services: from the first config file (contents, or None when
    absent/unreadable) that sets one, else from `environ`, else LANG=C.UTF-8."""
    found: dict[str, str] = {}
    for data in config_files:
        if data is None:
            continue
        try:
            pairs, _warnings = parse_environment_file(data)
        except PidoneError:
            continue  # (systemd logs and goes on without it)
        found = _pick(dict(pairs))
        if found:
            break
    if not found:
        found = _pick(environ)
    if not found:
        return (("LANG", DEFAULT_LOCALE),)
    lang = found.get("LANG")
    return tuple(
        (name, value)
        for name, value in found.items()
        if not (name.startswith("LC_") and value == lang)
    )
