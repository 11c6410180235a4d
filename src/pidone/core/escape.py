"""systemd-escape: strings and paths <-> unit-name fragments, byte-exact (spec 01 §1.1).

Rules from systemd 252 src/basic/unit-name.c:
1. Work on the UTF-8 bytes (non-UTF-8 input is carried via `surrogateescape`). Every byte
   that is not an ASCII letter, digit, `:`, `_` or `.` becomes `\\xNN` (lowercase hex);
   `/` becomes `-` instead. `-` and `\\` are escaped too.
2. A leading `.` is escaped (`\\x2e`), so `/.dotdir` never yields a hidden unit name.
3. Path mode first normalizes the path (duplicate and trailing `/` and `.` components
   dropped); the root (or empty) path is `-`; a path with a `..` component is refused.
4. Unescaping maps `-` to `/` and `\\xNN` (either case) to the byte; any other backslash
   sequence is an error.
"""

from __future__ import annotations

from pidone.core.errors import ValueParseError

_VALID = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.")
_HEX = "0123456789abcdef"
_HEX_BYTES = frozenset(b"0123456789abcdefABCDEF")
UNIT_NAME_MAX = 256  # names must be shorter than this (unit_name_is_valid())
_UNIT_TYPES = (
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
)


def _encode(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _decode(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _escape_bytes(data: bytes) -> str:
    out: list[str] = []
    for index, byte in enumerate(data):
        if byte == 0x2F:  # "/"
            out.append("-")
        elif byte in _VALID and not (index == 0 and byte == 0x2E):
            out.append(chr(byte))
        else:
            out.append(f"\\x{_HEX[byte >> 4]}{_HEX[byte & 15]}")
    return "".join(out)


def escape_string(s: str) -> str:
    """`systemd-escape STRING`."""
    return _escape_bytes(_encode(s))


def simplify_path(path: str) -> str:
    """systemd path_simplify(): drop duplicate `/`, `.` components and a trailing `/`."""
    absolute = path.startswith("/")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    joined = "/".join(parts)
    if absolute:
        return "/" + joined
    return joined or ("." if path else "")


def escape_path(path: str) -> str:
    """`systemd-escape --path PATH`: `/dev/sda1` -> `dev-sda1`, `/` -> `-`."""
    simple = simplify_path(path)
    if simple in ("", "/"):
        return "-"
    if ".." in simple.split("/") or simple == ".":
        raise ValueParseError(f"Path {path} is not normalized, refusing to escape.")
    return _escape_bytes(_encode(simple.strip("/")))


def _unescape_bytes(s: str) -> bytes:
    data = _encode(s)
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        byte = data[i]
        if byte == 0x2D:  # "-"
            out.append(0x2F)
            i += 1
        elif byte == 0x5C:  # backslash
            digits = data[i + 2 : i + 4]
            if (
                data[i + 1 : i + 2] != b"x"
                or len(digits) != 2
                or any(d not in _HEX_BYTES for d in digits)
            ):
                raise ValueParseError(f"Failed to unescape string: {s}")
            value = int(digits, 16)
            out.append(value)
            i += 4
        else:
            out.append(byte)
            i += 1
    return bytes(out)


def unescape_string(s: str) -> str:
    """`systemd-escape -u STRING`: `-` -> `/`, `\\xNN` -> byte."""
    return _decode(_unescape_bytes(s))


def unescape_path(s: str) -> str:
    """`systemd-escape -u --path STRING`: `-` -> `/`, else `/` + unescaped, normalized."""
    if not s:
        raise ValueParseError("Failed to unescape path: empty string")
    if s == "-":
        return "/"
    body = _unescape_bytes(s)
    if body.startswith(b"/") or body.endswith(b"/"):
        raise ValueParseError(f"Failed to unescape path: {s}")
    path = "/" + _decode(body)
    if simplify_path(path) != path or ".." in path.split("/"):
        raise ValueParseError(f"Failed to unescape path: {s}")
    return path


def is_template_name(name: str) -> bool:
    """True for `prefix@.type` with a valid prefix (unit_name_is_valid(UNIT_NAME_TEMPLATE))."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix not in _UNIT_TYPES or len(name) >= UNIT_NAME_MAX:
        return False
    prefix, at, instance = stem.partition("@")
    if not at or instance or not prefix:
        return False
    allowed = _VALID | frozenset(b"-\\")
    return all(ord(c) < 128 and ord(c) in allowed for c in prefix)


def template_instance(template: str, instance_text: str, path: bool = False) -> str:
    """`systemd-escape --template=TEMPLATE [--path] TEXT` -> `foo@ESCAPED.service`."""
    if not is_template_name(template):
        raise ValueParseError(f"Template name {template} is not valid.")
    escaped = escape_path(instance_text) if path else escape_string(instance_text)
    stem, _, suffix = template.rpartition(".")
    name = f"{stem}{escaped}.{suffix}"
    if len(_encode(name)) >= UNIT_NAME_MAX:
        raise ValueParseError(f"Failed to replace instance of {template}: name too long")
    return name
