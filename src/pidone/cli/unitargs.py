"""Options and unit-name arguments shared by the offline unit-file verbs (systemctl's spelling)."""

from __future__ import annotations

import os
import sys

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.errors import InvalidUnitName
from pidone.core.unitname import mangle_unit_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from pidone.linux.unitpaths import UnitPaths

_FLAGS = {
    "--runtime": "runtime",
    "--now": "now",
    "-q": "quiet",
    "--quiet": "quiet",
    "-f": "force",
    "--force": "force",
    "--no-reload": "",
    "--system": "",
    "--no-pager": "",
    "--no-ask-password": "",
    "--no-legend": "no_legend",
    "--plain": "plain",
    "-l": "full",
    "--full": "full",
    "-a": "all",
    "--all": "all",
}
_VALUED = {
    "--root": "root",
    "-t": "types",
    "--type": "types",
    "--state": "states",
    "-o": "output",
    "--output": "output",
    "--legend": "legend",
}


class UsageError(Exception):
    """A command line systemctl would refuse; the message is systemctl's."""


@dataclass
class UnitArgs:
    """The parsed command line of one offline verb."""

    args: list[str] = field(default_factory=list)
    root: str | None = None
    runtime: bool = False
    now: bool = False
    quiet: bool = False
    force: bool = False
    no_legend: bool = False
    plain: bool = False
    full: bool = False
    all: bool = False
    types: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    output: str = "short"


def parse_unit_args(argv: list[str], prog: str = "pidone") -> UnitArgs:
    """Parse systemctl-style options anywhere on the line; `--` ends them."""
    out = UnitArgs()
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            out.args.extend(argv[i:])
            break
        if not arg.startswith("-") or arg == "-":
            out.args.append(arg)
            continue
        key, eq, value = arg.partition("=")
        if key in _VALUED:
            if not eq:
                if i >= len(argv):
                    raise UsageError(f"{prog}: option '{key}' requires an argument")
                value = argv[i]
                i += 1
            _set_valued(out, _VALUED[key], value)
            continue
        if arg in _FLAGS:
            if _FLAGS[arg]:
                setattr(out, _FLAGS[arg], True)
            continue
        if not arg.startswith("--") and len(arg) > 2 and all(f"-{c}" in _FLAGS for c in arg[1:]):
            for c in arg[1:]:
                if _FLAGS[f"-{c}"]:
                    setattr(out, _FLAGS[f"-{c}"], True)
            continue
        if arg.startswith("--"):
            raise UsageError(f"{prog}: unrecognized option '{arg}'")
        raise UsageError(f"{prog}: invalid option -- '{arg[1:2]}'")
    return out


def _set_valued(out: UnitArgs, attr: str, value: str) -> None:
    if attr == "root":
        out.root = value or None
    elif attr in ("types", "states"):
        getattr(out, attr).extend(v for v in value.split(",") if v)
    elif attr == "legend":
        out.no_legend = value.lower() in ("no", "false", "0", "off", "n", "f")
    else:
        out.output = value


def mangle_names(names: list[str], operation: str, quiet: bool) -> list[str]:
    """systemctl mangle_names(): paths made absolute, bare words get `.service`."""
    out: list[str] = []
    for name in names:
        if "/" in name:
            out.append(os.path.normpath(os.path.join(os.getcwd(), name)))
            continue
        try:
            mangled = mangle_unit_name(name, operation=operation)
        except InvalidUnitName:
            raise UsageError(
                f"Failed to mangle unit name or path '{name}': Invalid argument"
            ) from None
        if not quiet:
            for notice in mangled.notices:
                sys.stderr.write(notice + "\n")
        out.append(mangled.name)
    return out


def check_root(root: str | None) -> str | None:
    """An error text when --root is not a directory (lookup_paths_init())."""
    if root is None or os.path.isdir(root):
        return None
    if os.path.exists(root):
        return "Not a directory"
    return "No such file or directory"


def local_unit_paths(root: str | None, environ: Mapping[str, str] | None = None) -> UnitPaths:
    """The unit search path of the offline verbs: systemd's (or --root's), plus the running
    manager's generator output (`--runtime-dir`'s default: $PIDONE_RUNTIME_DIR or
    /run/pidone) when it has run the system's generators."""
    from pidone.cli.client import DEFAULT_RUNTIME_DIR, RUNTIME_DIR_ENV
    from pidone.linux.unitpaths import build_unit_paths, with_manager_generators

    paths = build_unit_paths(root, environ)
    env = os.environ if environ is None else environ
    return with_manager_generators(paths, env.get(RUNTIME_DIR_ENV) or DEFAULT_RUNTIME_DIR)
