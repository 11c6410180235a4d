"""`pidone verify FILE...`: check unit files the way `systemd-analyze verify` does.

Each FILE is loaded as the unit named by its file name, with its directory put first
in the search path (so drop-ins and `.wants/` next to it count). Printed, on stderr
like systemd-analyze: every diagnostic (`FILE:LINE: message`), the unit-level refusals
(`x.service: Service has no ExecStart= ... Refusing.`), `Unit x.service has a bad unit
file setting.`, executables that do not exist (`x.service: Command /usr/bin/foo is not
executable: No such file or directory`, skipped for `-` commands, as systemd), and
`Requires=`/`Requisite=`/`BindsTo=` units that cannot be found, and the missing
service of a socket. A template is checked as its instance `i`, as systemd-analyze
does. Then, one line per directive, what pidone accepts but does not enforce on this
machine (mount-namespace sandboxing counts as enforced where linux.sandbox can use it):
`FILE:LINE: ProtectSystem= is not enforced by pidone.`

Exit status (as systemd-analyze verify 252): 0 when every unit loads and only warnings
were printed; 1 when a unit is bad-setting, masked, cannot be loaded, names a missing
executable, or requires a unit that does not exist. Not done: man-page checks for
`Documentation=man:` (systemd's `--man=no`) and the recursive load of every dependency.
"""

from __future__ import annotations

import os
import sys

from pidone.core.errors import Diagnostic, InvalidUnitName
from pidone.core.model import Unit
from pidone.core.specifiers import SpecifierHost
from pidone.core.unitname import is_valid_unit_name
from pidone.core.units import build_unit

# The fixed lookup list for bare command names (spec 02 §2.1, split-usr Debian 12)
EXEC_SEARCH_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

# units that load without a file (slices, devices, the root mount), so a missing file is
# not an error; a missing .mount/.swap/.scope file is (checked with systemd-analyze 252)
_BUILTIN = frozenset({"-.mount"})
_NO_FRAGMENT_NEEDED = (".device", ".slice")

USAGE = "usage: pidone verify [--root DIR] [--man=no] [--no-not-enforced] FILE...\n"


def _err(text: str) -> None:
    sys.stderr.buffer.write((text + "\n").encode("utf-8", "surrogateescape"))
    sys.stderr.flush()


def _executable(root: str, path: str) -> bool:
    if path.startswith("/"):
        candidates = [path]
    else:
        candidates = [f"{d}/{path}" for d in EXEC_SEARCH_PATH]
    for candidate in candidates:
        full = root.rstrip("/") + candidate if root != "/" else candidate
        if os.path.isfile(full) and os.access(full, os.X_OK):
            return True
    return False


def _commands(unit: Unit) -> list[object]:
    """What verify_executables() checks: the first command of each service Exec list.

    (Sockets are checked through their control command, which is unset at load time.)
    """
    if unit.service is None:
        return []
    s = unit.service
    groups = (
        s.exec_condition,
        s.exec_start_pre,
        s.exec_start,
        s.exec_start_post,
        s.exec_reload,
        s.exec_stop,
        s.exec_stop_post,
    )
    return [group[0] for group in groups if group]


def verify_file(path: str, root: str | None, show_not_enforced: bool = True) -> bool:
    """Check one file; print what systemd-analyze would; True when it is an error."""
    from pidone.linux.hostfacts import read_specifier_host
    from pidone.linux.unitload import UnitLoader
    from pidone.linux.unitpaths import build_unit_paths

    name = os.path.basename(path)
    if not is_valid_unit_name(name):
        _err(f"Failed to prepare filename {path}: Invalid argument")
        return True
    directory = os.path.dirname(os.path.abspath(path))
    env = dict(os.environ)
    env["PIDONE_UNIT_PATH"] = directory + ":"
    paths = build_unit_paths(root, env)
    loader = UnitLoader(paths)
    unit_name = name
    if "@." in name:
        # systemd-analyze verify 252 loads a template as the instance "i"
        unit_name = name.replace("@.", "@i.", 1)
    try:
        source = loader.load(unit_name)
    except InvalidUnitName as e:
        _err(f"{path}: {e}")
        return True
    looped = source.load_state == "error" and "symbolic links" in (source.load_error or "")
    if os.path.isdir(path) or source.load_state == "not-found" or looped:
        _err(f"Unit {unit_name} not found.")
        return True
    host = read_specifier_host(root or "/")
    unit = build_unit(source, host)
    for diag in unit.diagnostics:
        _err(str(diag) if diag.path else diag.message)
    failed = False
    if unit.load_state == "masked":
        _err(f"Unit {unit.id} is masked.")
        failed = True
    elif unit.load_state == "bad-setting":
        _err(f"Unit {unit.id} has a bad unit file setting.")
        failed = True
    elif unit.load_state != "loaded":
        _err(
            f"Unit {unit.id} failed to load properly, please adjust/correct and reload "
            f"service manager: {_errno_text(unit)}"
        )
        failed = True
    else:
        failed = _check_exec(unit, root or "/") or failed
        failed = _check_requirements(unit, loader, host) or failed
        failed = _check_socket_service(unit, loader) or failed
    if show_not_enforced:
        from pidone.linux.sandbox import still_not_enforced

        seen: set[tuple[str, str]] = set()
        for n in still_not_enforced(unit.not_enforced):
            if (n.section, n.key) in seen:
                continue
            seen.add((n.section, n.key))
            _err(
                str(
                    Diagnostic(n.source_path, n.source_line, f"{n.key}= is not enforced by pidone.")
                )
            )
    return failed


def _errno_text(unit: Unit) -> str:
    """The strerror() systemd reports for a unit that could not be loaded at all."""
    text = unit.load_error + " " + " ".join(d.message for d in unit.diagnostics)
    for needle, errno_text in (
        ("Line too long", "No buffer space available"),
        ("Continuation line too long", "No buffer space available"),
        ("Invalid section header", "Bad message"),
        ("symbolic links", "Too many levels of symbolic links"),
        ("Permission denied", "Permission denied"),
    ):
        if needle in text:
            return errno_text
    return "Invalid argument"


def _check_exec(unit: Unit, root: str) -> bool:
    failed = False
    for cmd in _commands(unit):
        if getattr(cmd, "ignore_failure", False):
            continue  # verify_executable() skips "-" commands
        exe = str(getattr(cmd, "path", ""))
        if exe and not _executable(root, exe):
            _err(f"{unit.id}: Command {exe} is not executable: No such file or directory")
            failed = True
    return failed


def _check_requirements(unit: Unit, loader: object, host: SpecifierHost) -> bool:
    """Building the start transaction fails on a hard dependency, at any depth, that is
    missing, masked or refused (transaction_add_job_and_dependencies())."""
    seen = {unit.id}
    queue = [unit]
    while queue and len(seen) < 500:
        current = queue.pop(0)
        u = current.unit
        for dep in u.requires + u.requisite + u.binds_to:
            if dep in seen or dep in _BUILTIN or dep.endswith(_NO_FRAGMENT_NEEDED):
                continue
            seen.add(dep)
            try:
                source = loader.load(dep)  # type: ignore[attr-defined]
            except InvalidUnitName:
                continue
            problem = {
                "not-found": f"Unit {dep} not found.",
                "masked": f"Unit {dep} is masked.",
            }.get(source.load_state)
            other = None
            if problem is None:
                other = build_unit(source, host)
                if other.load_state == "bad-setting":
                    problem = f"Unit {other.id} has a bad unit file setting."
            if problem is not None:
                _err(f"{unit.id}: Failed to create {unit.id}/start: {problem}")
                return True
            if other is not None:
                queue.append(other)
    return False


def _check_socket_service(unit: Unit, loader: object) -> bool:
    """The service a socket starts must load (an error for verify)."""
    if unit.socket is None:
        return False
    prefix = unit.id.rsplit(".", 1)[0]
    if unit.socket.accept:
        service = f"{prefix}@internal.service"  # what 252 loads to check the template
    else:
        service = unit.socket.service or prefix + ".service"
    try:
        other = loader.load(service)  # type: ignore[attr-defined]
    except InvalidUnitName:
        return False
    if other.load_state != "loaded":
        _err(f"{unit.id}: service {service} not loaded, socket cannot be started.")
        return True
    return False


def main(argv: list[str]) -> int:
    """`pidone verify`; exit 0 when clean (warnings allowed), 1 on errors, 2 on usage."""
    root: str | None = None
    files: list[str] = []
    show_ne = True
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--root" and i + 1 < len(argv):
            root = argv[i + 1]
            i += 1
        elif arg.startswith("--root="):
            root = arg[len("--root=") :]
        elif arg.startswith("--man") or arg in ("--no-pager", "--system"):
            pass
        elif arg == "--no-not-enforced":
            show_ne = False
        elif arg.startswith("-") and arg != "-":
            sys.stderr.write(f"pidone verify: unrecognized option '{arg}'\n{USAGE}")
            return 2
        else:
            files.append(arg)
        i += 1
    if not files:
        sys.stderr.write(USAGE)
        return 2
    failed = False
    for path in files:
        failed = verify_file(path, root, show_ne) or failed
    return 1 if failed else 0
