"""systemd-escape: strings and paths <-> unit-name fragments, byte-exact (spec 01 §1.1).

Rules from systemd 252 src/basic/unit-name.c:
1. Work on the UTF-8 bytes (non-UTF-8 input is carried via `surrogateescape`). Every byte
   that is not an ASCII letter, digit, `:`, `_` or `.` becomes `\\xNN` (lowercase hex);
   `/` becomes `-` instead. `-` and `\\` are escaped too.
2. A leading `.` is escaped (`\\x2e`), so `/.dotdir` never yields a hidden unit name.
3. Path mode first normalizes the path (duplicate and trailing `/` and `.` components
   dropped); the root (or empty) path is `-`; a path with a `..` component is refused.
4. Unescaping maps `-` to `/` and `\\xNN` (either case) to the byte; any other backslash
   sequence is an error. The result is a C string: it ends at an unescaped NUL byte.
"""

from __future__ import annotations

from pidone.core.errors import ValueParseError
from pidone.core.unitname import is_valid_unit_name, replace_instance
from pidone.core.words import text_bytes

_VALID = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.")
_HEX = "0123456789abcdef"
_HEX_BYTES = frozenset(b"0123456789abcdefABCDEF")


def _encode(s: str) -> bytes:
    return text_bytes(s)


def _decode(b: bytes) -> str:
    # systemd hands the result on as a C string: an escaped NUL (`\\x00`) ends it.
    return b.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def path_is_valid(path: str) -> bool:
    """path_is_valid(): shorter than PATH_MAX (4096), components at most NAME_MAX (255)."""
    data = _encode(path)
    return 0 < len(data) < 4096 and all(len(part) <= 255 for part in data.split(b"/"))


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
    if ".." in simple.split("/") or simple == "." or not path_is_valid(simple):
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
    body = _unescape_bytes(s).split(b"\0", 1)[0]
    if body.startswith(b"/") or body.endswith(b"/"):
        raise ValueParseError(f"Failed to unescape path: {s}")
    path = "/" + _decode(body)
    if simplify_path(path) != path or ".." in path.split("/") or not path_is_valid(path):
        raise ValueParseError(f"Failed to unescape path: {s}")
    return path


def template_instance(template: str, instance_text: str, path: bool = False) -> str:
    """`systemd-escape --template=TEMPLATE [--path] TEXT` -> `foo@ESCAPED.service`."""
    if not is_valid_unit_name(template, plain=False, instance=False):
        raise ValueParseError(f"Template name {template} is not valid.")
    escaped = escape_path(instance_text) if path else escape_string(instance_text)
    name = replace_instance(template, escaped)
    if not escaped or not is_valid_unit_name(name, plain=False, template=False):
        raise ValueParseError("Failed to replace instance: Invalid argument")
    return name
