"""Unit-file specifiers (`%n`, `%i`, `%t`, ...) expanded at load time (spec 01 §6).

Follows systemd 252 src/core/unit-printf.c and src/shared/specifier.c:
1. `%%` is a literal `%`; a lone `%` at the very end is kept literally.
2. Any other unknown `%x` makes the whole value invalid (`-EBADSLT`, "Invalid slot");
   so does a name part that cannot be unescaped ("Invalid argument"): SpecifierError.
3. Name parts come from the unit name alone; `%u %U %g %G %h %s` describe the user
   running the *manager*, never `User=` (systemd.unit(5), "Specifiers").
4. Host facts are an input (`SpecifierHost`), read once by `linux.hostfacts`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.errors import ValueParseError
from pidone.core.escape import unescape_path, unescape_string


class SpecifierError(ValueParseError):
    """A specifier that cannot be resolved; `reason` is systemd's errno text.

    "Invalid slot" (EBADSLT) for an unknown `%x`, "Invalid argument" when a name part
    does not unescape (e.g. `%f` of instance `a-`). Callers word the message as systemd
    does for their setting; str() gives the common form.
    """

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"Failed to resolve unit specifiers in '{text}': {reason}")
        self.text = text
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SpecifierHost:
    """Facts about the host and the manager's user; defaults are a root system manager."""

    hostname: str = "localhost"
    machine_id: str = ""
    boot_id: str = ""
    kernel_release: str = ""
    architecture: str = ""
    os_release: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    user_name: str = "root"
    uid: int = 0
    group_name: str = "root"
    gid: int = 0
    home: str = "/root"
    shell: str = "/bin/sh"
    pretty_hostname: str = ""
    runtime_dir: str = "/run"  # %t
    state_dir: str = "/var/lib"  # %S
    cache_dir: str = "/var/cache"  # %C
    logs_dir: str = "/var/log"  # %L
    config_dir: str = "/etc"  # %E
    tmp_dir: str = "/tmp"  # %T
    var_tmp_dir: str = "/var/tmp"  # %V
    credentials_dir: str = "/run/credentials"  # %d is this + "/" + unit name


@dataclass(frozen=True, slots=True)
class _NameParts:
    name: str
    stem: str  # name without ".type"
    prefix: str  # before the first "@"
    instance: str | None  # between the first "@" and ".type"; None for non-instances


def _split_name(unit_name: str) -> _NameParts:
    stem = unit_name.rpartition(".")[0] if "." in unit_name else unit_name
    prefix, at, instance = stem.partition("@")
    return _NameParts(unit_name, stem, prefix, instance if at and instance else None)


def _last_component(prefix: str) -> str:
    return prefix.rpartition("-")[2]


def _dirname(path: str) -> str:
    head = path.rstrip("/").rpartition("/")[0]
    return head or ("/" if path.startswith("/") else ".")


def _short_hostname(hostname: str) -> str:
    return hostname.partition(".")[0]


def _lookup_table(
    parts: _NameParts, host: SpecifierHost, fragment_path: str | None
) -> dict[str, Callable[[], str]]:
    os_rel = host.os_release

    def filename() -> str:
        # %f: instance as a path if there is one, else the prefix (specifier_filename()).
        return unescape_path(parts.instance if parts.instance is not None else parts.prefix)

    return {
        "a": lambda: host.architecture,
        "A": lambda: os_rel.get("IMAGE_VERSION", ""),
        "b": lambda: host.boot_id,
        "B": lambda: os_rel.get("BUILD_ID", ""),
        "C": lambda: host.cache_dir,
        "d": lambda: f"{host.credentials_dir}/{parts.name}",
        "E": lambda: host.config_dir,
        "f": filename,
        "g": lambda: host.group_name,
        "G": lambda: str(host.gid),
        "h": lambda: host.home,
        "H": lambda: host.hostname,
        "i": lambda: parts.instance or "",
        "I": lambda: unescape_string(parts.instance or ""),
        "j": lambda: _last_component(parts.prefix),
        "J": lambda: unescape_string(_last_component(parts.prefix)),
        "l": lambda: _short_hostname(host.hostname),
        "L": lambda: host.logs_dir,
        "m": lambda: host.machine_id,
        "M": lambda: os_rel.get("IMAGE_ID", ""),
        "n": lambda: parts.name,
        "N": lambda: parts.stem,
        "o": lambda: os_rel.get("ID", ""),
        "p": lambda: parts.prefix,
        "P": lambda: unescape_string(parts.prefix),
        "q": lambda: host.pretty_hostname or _short_hostname(host.hostname),
        "s": lambda: host.shell,
        "S": lambda: host.state_dir,
        "t": lambda: host.runtime_dir,
        "T": lambda: host.tmp_dir,
        "u": lambda: host.user_name,
        "U": lambda: str(host.uid),
        "v": lambda: host.kernel_release,
        "V": lambda: host.var_tmp_dir,
        "w": lambda: os_rel.get("VERSION_ID", ""),
        "W": lambda: os_rel.get("VARIANT_ID", ""),
        "y": lambda: fragment_path or "",
        "Y": lambda: _dirname(fragment_path) if fragment_path else "",
    }


SPECIFIER_CHARS = frozenset("aAbBCdEfgGhHiIjJlLmMnNopPqsStTuUvVwWyY")


def expand_specifiers(
    text: str,
    unit_name: str,
    host: SpecifierHost,
    fragment_path: str | None = None,
) -> str:
    """Replace every `%x` in `text` for unit `unit_name` (systemd unit_full_printf())."""
    if "%" not in text:
        return text
    table = _lookup_table(_split_name(unit_name), host, fragment_path)
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:
            out.append("%")  # a trailing lone "%" is kept
            break
        spec = text[i + 1]
        i += 2
        if spec == "%":
            out.append("%")
            continue
        lookup = table.get(spec)
        if lookup is None:
            raise SpecifierError(text, "Invalid slot")
        try:
            out.append(lookup())
        except ValueParseError:
            raise SpecifierError(text, "Invalid argument") from None
    return "".join(out)
