"""Unit names: validation, parts (prefix, instance, type), templates and CLI-argument mangling.

Rules (spec 01 §1, systemd 252 src/basic/unit-name.c `unit_name_is_valid()`):

1. A name is `PREFIX[@[INSTANCE]].TYPE` with TYPE one of UNIT_TYPES; the suffix is found
   at the *last* `.`, the instance starts at the *first* `@`.
2. Every character before the suffix is an ASCII letter or digit or one of `:-_.\\@`;
   the name does not start with `@`; the whole name is at most 255 bytes.
3. `foo@.service` is a template (empty instance), `foo@bar.service` an instance.
4. Only service, socket, target, timer and path units may be templated
   (`unit_type_may_template()`); only those plus device may have aliases.
"""

from __future__ import annotations

import re

from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import InvalidUnitName

# systemd's unit_type_table order (src/basic/unit-def.c)
UNIT_TYPES: tuple[str, ...] = (
    "service",
    "mount",
    "swap",
    "socket",
    "target",
    "device",
    "automount",
    "timer",
    "path",
    "slice",
    "scope",
)
_TYPE_SET = frozenset(UNIT_TYPES)
TEMPLATE_TYPES = frozenset({"service", "socket", "target", "timer", "path"})
ALIAS_TYPES = frozenset({"service", "socket", "target", "device", "timer", "path"})

UNIT_NAME_MAX = 255  # bytes; systemd's UNIT_NAME_MAX is 256 including the NUL
_VALID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\")
_VALID_WITH_AT = _VALID_CHARS | {"@"}
_GLOB_CHARS = frozenset("*?[")
_VALID_GLOB = _VALID_WITH_AT | frozenset("[]!-*?")

# The sections systemd reads for each unit type (the vtable's `sections` in src/core/*.c).
KNOWN_SECTIONS: dict[str, frozenset[str]] = {
    t: frozenset({"Unit", "Install", t.capitalize()}) for t in UNIT_TYPES if t != "target"
}
KNOWN_SECTIONS["target"] = frozenset({"Unit", "Install"})
KNOWN_SECTIONS["device"] = frozenset({"Unit", "Install"})


@dataclass(frozen=True, slots=True)
class UnitName:
    """A valid unit name split into its parts."""

    prefix: str
    instance: str | None  # None: plain name; "": template; else the instance text
    type: str

    @property
    def is_template(self) -> bool:
        return self.instance == ""

    @property
    def is_instance(self) -> bool:
        return bool(self.instance)

    @property
    def name(self) -> str:
        if self.instance is None:
            return f"{self.prefix}.{self.type}"
        return f"{self.prefix}@{self.instance}.{self.type}"

    @property
    def template(self) -> str | None:
        """`foo@.service` for `foo@bar.service` and for the template itself, else None."""
        if self.instance is None:
            return None
        return f"{self.prefix}@.{self.type}"

    def with_instance(self, instance: str) -> str:
        return f"{self.prefix}@{instance}.{self.type}"

    def __str__(self) -> str:
        return self.name


_VALID_RE = re.compile(r"[A-Za-z0-9:\-_.\\][A-Za-z0-9:\-_.\\@]*\.(?:" + "|".join(UNIT_TYPES) + r")")


def _problem(name: str) -> str | None:
    """Why `name` is not a valid unit name, or None when it is."""
    if len(name) <= UNIT_NAME_MAX and _VALID_RE.fullmatch(name):
        return None
    if not name:
        return "empty unit name"
    if len(name.encode("utf-8", "surrogateescape")) > UNIT_NAME_MAX:
        return f"longer than {UNIT_NAME_MAX} bytes"
    dot = name.rfind(".")
    if dot <= 0:
        return "missing unit type suffix"
    if name[dot + 1 :] not in _TYPE_SET:
        return f"unknown unit type '.{name[dot + 1 :]}'"
    head = name[:dot]
    for char in head:
        if char not in _VALID_WITH_AT:
            return f"invalid character {char!r}"
    if head.startswith("@"):
        return "empty prefix before '@'"
    return None


def parse_unit_name(name: str) -> UnitName:
    """Split a valid unit name; raise InvalidUnitName with the reason otherwise."""
    problem = _problem(name)
    if problem is not None:
        raise InvalidUnitName(f'Invalid unit name "{name}": {problem}.')
    dot = name.rfind(".")
    head, utype = name[:dot], name[dot + 1 :]
    prefix, at, instance = head.partition("@")
    return UnitName(prefix, instance if at else None, utype)


def is_valid_unit_name(
    name: str, *, plain: bool = True, instance: bool = True, template: bool = True
) -> bool:
    """systemd unit_name_is_valid() with UNIT_NAME_PLAIN/INSTANCE/TEMPLATE flags."""
    if _problem(name) is not None:
        return False
    head = name[: name.rfind(".")]
    at = head.find("@")
    if at < 0:
        return plain
    if at == len(head) - 1:
        return template
    return instance


def is_valid_instance(text: str) -> bool:
    """unit_instance_is_valid(): non-empty, name characters and `@` only."""
    return bool(text) and all(c in _VALID_WITH_AT for c in text)


def unit_type(name: str) -> str | None:
    """The type suffix of a (possibly invalid) name, if it is a known type."""
    dot = name.rfind(".")
    if dot < 0:
        return None
    suffix = name[dot + 1 :]
    return suffix if suffix in _TYPE_SET else None


def template_of(name: str) -> str | None:
    """`foo@.service` for `foo@bar.service` (and for `foo@.service`), else None."""
    dot = name.rfind(".")
    at = name.find("@")
    if at < 0 or dot < at:
        return None
    return name[: at + 1] + name[dot:]


def instance_of(name: str) -> str | None:
    """The instance text (`bar` in `foo@bar.service`); "" for templates; None for plain names."""
    dot = name.rfind(".")
    at = name.find("@")
    if at < 0 or dot < at:
        return None
    return name[at + 1 : dot]


def replace_instance(name: str, instance: str) -> str:
    """unit_name_replace_instance(): `foo@.service` + `x` -> `foo@x.service`."""
    dot = name.rfind(".")
    at = name.find("@")
    return name[: at + 1] + instance + name[dot:]


def prefix_of(name: str) -> str:
    """unit_name_to_prefix(): the part before the first `@` (or before the suffix)."""
    at = name.find("@")
    if at >= 0:
        return name[:at]
    return name[: name.rfind(".")]


def is_glob(text: str) -> bool:
    return any(c in _GLOB_CHARS for c in text)


@dataclass(frozen=True, slots=True)
class Mangled:
    """A command-line unit argument turned into a unit name, plus systemctl's notice."""

    name: str
    notices: tuple[str, ...] = ()


def _escape_char(char: str) -> str:
    return "".join(f"\\x{b:02x}" for b in char.encode("utf-8", "surrogateescape"))


def mangle_unit_name(
    arg: str, *, operation: str = "", suffix: str = ".service", allow_globs: bool = False
) -> Mangled:
    """unit_name_mangle_with_suffix(): `foo` -> `foo.service`, `a b` -> `a\\x20b.service`.

    Paths (`/dev/sda`, `/home`) are not turned into device/mount names: pidone rejects them
    with InvalidUnitName, like any argument that cannot be made valid.
    """
    if not arg:
        raise InvalidUnitName('Invalid unit name "": empty unit name.')
    if is_valid_unit_name(arg):
        return Mangled(arg)
    suggest_escape = True
    notices: list[str] = []
    if is_glob(arg) and all(c in _VALID_GLOB for c in arg):
        if allow_globs:
            return Mangled(arg)
        notices.append(
            f"Glob pattern passed{' ' if operation else ''}{operation}, "
            "but globs are not supported for this."
        )
        suggest_escape = False
    if arg.startswith("/"):
        raise InvalidUnitName(f'Unit name from path "{arg}" is not supported.')
    valid = _VALID_GLOB if allow_globs else _VALID_WITH_AT
    out: list[str] = []
    mangled = False
    for char in arg:
        if char == "/":
            out.append("-")
            mangled = True
        elif char not in valid:
            out.append(_escape_char(char))
            mangled = True
        else:
            out.append(char)
    text = "".join(out)
    if mangled:
        hint = " (maybe you should use systemd-escape?)" if suggest_escape else ""
        notices.append(f'Invalid unit name "{arg}" escaped as "{text}"{hint}.')
    # unit_name_to_type() fails for anything that is not a valid name: then append
    if (not allow_globs or not is_glob(text)) and not is_valid_unit_name(text):
        text += suffix
    if not allow_globs and not is_valid_unit_name(text):
        raise InvalidUnitName(f'Invalid unit name "{arg}".')
    return Mangled(text, tuple(notices))
