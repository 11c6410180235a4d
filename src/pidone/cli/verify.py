"""`pidone verify FILE...`: check unit files the way `systemd-analyze verify` does.

One run works like systemd-analyze verify 252 (src/analyze/analyze-verify-util.c):

1. The directories of all FILEs come first in the search path (so drop-ins and
   `.wants/` next to them count). A template is checked as its instance `i`.
2. Each FILE is loaded in turn, and with it everything it names, as the manager's load
   queue does: a unit's dependencies are pushed in the order they were added (file order,
   then `.wants/`, then implicit ones) and the queue is a stack (the last pushed loads
   first); a unit loads once per run. Every diagnostic of every loaded unit is printed
   (`FILE:LINE: message`, `x.service: ... Refusing.`). A FILE that is not loadable prints
   `Unit x.service has a bad unit file setting.` (or not found / masked / failed to load).
3. Then each loadable FILE is checked, in verify_unit()'s order: hard dependencies, at
   any depth, that are missing, masked or refused (`Failed to create x.service/start:
   ...`; when several are, which one systemd names follows its hash order), the service
   of a socket, executables that do not exist (`x.service: Command /usr/bin/foo is not
   executable: ...`, the first command of each Exec list, `-` ones skipped).
4. Last, pidone's own lines: what it accepts but does not enforce on this machine
   (`FILE:LINE: ProtectSystem= is not enforced by pidone.`; `--no-not-enforced` hides them).

Everything goes to stderr. Exit status as systemd-analyze verify: 0 when only warnings were
printed, 1 when a FILE cannot be loaded or a check in step 3 fails, 2 on usage errors.
Not done: man-page checks for `Documentation=man:` (systemd's `--man=no`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

from pidone.core.directives import lookup
from pidone.core.errors import Diagnostic, InvalidUnitName
from pidone.core.model import Unit
from pidone.core.specifiers import SpecifierHost, expand_specifiers
from pidone.core.unitname import is_valid_unit_name
from pidone.core.units import build_unit
from pidone.core.unitsource import UnitSource
from pidone.linux.unitload import UnitLoader

# The fixed lookup list for bare command names (spec 02 §2.1, split-usr Debian 12)
EXEC_SEARCH_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

# units that load without a file (slices, devices, the root mount), so a missing file is
# not an error; a missing .mount/.swap/.scope file is (checked with systemd-analyze 252)
_BUILTIN = frozenset({"-.mount"})
_NO_FRAGMENT_NEEDED = (".device", ".slice")
# parsers whose values name other units (they are loaded too)
_NAMING_PARSERS = frozenset(
    {"deps", "deps_obsolete", "sockets", "slice", "socket_service", "timer_unit"}
)

USAGE = "usage: pidone verify [--root DIR] [--man=no] [--no-not-enforced] FILE...\n"


def _err(text: str) -> None:
    sys.stderr.buffer.write((text + "\n").encode("utf-8", "surrogateescape"))
    sys.stderr.flush()


def _diag_text(diag: Diagnostic) -> str:
    return str(diag) if diag.path else diag.message


class _Run:
    """One verify run: one loader, and every unit loaded so far (by each of its names)."""

    def __init__(self, loader: UnitLoader, host: SpecifierHost) -> None:
        self.loader = loader
        self.host = host
        self.units: dict[str, Unit] = {}
        self.sources: dict[str, UnitSource] = {}

    def load(self, name: str) -> tuple[UnitSource, Unit] | None:
        """Load `name` once; print its diagnostics the first time; None for a bad name."""
        if name in self.units:
            return self.sources[name], self.units[name]
        try:
            source = self.loader.load(name)
        except InvalidUnitName:
            return None
        unit = build_unit(source, self.host)
        for diag in unit.diagnostics:
            _err(_diag_text(diag))
        for alias in {name, unit.id, *unit.names}:
            self.units[alias] = unit
            self.sources[alias] = source
        return source, unit

    def load_closure(self, name: str) -> tuple[UnitSource, Unit] | None:
        """Load a unit and everything it names, in the manager's load-queue order."""
        first = self.load(name)
        if first is None:
            return None
        stack: list[str] = []
        self._push(stack, *first)
        while stack:
            loaded = self.load(stack.pop())
            if loaded is not None:
                self._push(stack, *loaded)
        return first

    def _push(self, stack: list[str], source: UnitSource, unit: Unit) -> None:
        for dep in _named_units(source, unit, self.host):
            if dep not in self.units and dep not in stack:
                stack.append(dep)


def _named_units(source: UnitSource, unit: Unit, host: SpecifierHost) -> Iterator[str]:
    """Every unit `unit` names, in the order systemd adds them: file order, then the
    `.wants/`/`.requires/` links, then what the model holds besides (implicit ones)."""
    seen: set[str] = {unit.id, *unit.names}
    model = _model_names(unit)
    for f in source.files:
        for a in f.assignments:
            row = lookup(unit.type, a.section, a.key)
            if row is None or row.parser not in _NAMING_PARSERS:
                continue
            for word in a.value.split():
                try:
                    name = expand_specifiers(word, unit.id, host, source.fragment_path)
                except ValueError:
                    continue
                if name in model and name not in seen:
                    seen.add(name)
                    yield name
    for name in (*source.wants, *source.requires, *model):
        if name not in seen:
            seen.add(name)
            yield name


def _model_names(unit: Unit) -> list[str]:
    u = unit.unit
    names = [
        *u.requires,
        *u.requisite,
        *u.wants,
        *u.binds_to,
        *u.part_of,
        *u.upholds,
        *u.conflicts,
        *u.before,
        *u.after,
        *u.on_failure,
        *u.on_success,
        *u.propagates_reload_to,
        *u.reload_propagated_from,
        *u.joins_namespace_of,
    ]
    if unit.slice:
        names.append(unit.slice)
    if unit.service is not None:
        names += unit.service.sockets
    if unit.socket is not None and unit.socket.service:
        names.append(unit.socket.service)
    if unit.timer is not None and unit.timer.unit:
        names.append(unit.timer.unit)
    return names


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


def _unit_name(path: str) -> str:
    name = os.path.basename(path)
    if "@." in name:
        # systemd-analyze verify 252 loads a template as the instance "i"
        return name.replace("@.", "@i.", 1)
    return name


def _load_file(run: _Run, path: str) -> Unit | None:
    """Step 2 for one FILE: the loaded unit, or None (and a message) when it is unusable."""
    name = os.path.basename(path)
    if not is_valid_unit_name(name):
        _err(f"Failed to prepare filename {path}: Invalid argument")
        return None
    unit_name = _unit_name(path)
    loaded = run.load_closure(unit_name)
    if loaded is None:
        _err(f"Failed to prepare filename {path}: Invalid argument")
        return None
    source, unit = loaded
    looped = source.load_state == "error" and "symbolic links" in (source.load_error or "")
    if os.path.isdir(path) or source.load_state == "not-found" or looped:
        _err(f"Unit {unit_name} not found.")
        return None
    if unit.load_state == "masked":
        _err(f"Unit {unit.id} is masked.")
        return None
    if unit.load_state == "bad-setting":
        _err(f"Unit {unit.id} has a bad unit file setting.")
        return None
    if unit.load_state != "loaded":
        _err(
            f"Unit {unit.id} failed to load properly, please adjust/correct and reload "
            f"service manager: {_errno_text(unit)}"
        )
        return None
    return unit


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


def _job_problem(run: _Run, dep: str) -> tuple[str | None, Unit | None]:
    """Why a start job for `dep` cannot be added (bus_unit_validate_load_state())."""
    loaded = run.load(dep)
    if loaded is None:
        return None, None
    source, other = loaded
    if source.load_state == "not-found":
        return f"Unit {dep} not found.", None
    if source.load_state == "masked":
        return f"Unit {dep} is masked.", None
    if other.load_state == "bad-setting":
        return f"Unit {other.id} has a bad unit file setting.", None
    return None, other


def _add_job(unit: Unit, run: _Run, visited: set[str]) -> str | None:
    """transaction_add_job_and_dependencies() for a start job, depth first: a hard
    dependency that cannot start fails the whole job; a wanted one is skipped, and only
    a bad setting is worth a warning (not-found and masked ones are logged at debug)."""
    u = unit.unit
    for dep in u.requires + u.binds_to:
        if dep in visited or dep in _BUILTIN or dep.endswith(_NO_FRAGMENT_NEEDED):
            continue
        visited.add(dep)
        problem, other = _job_problem(run, dep)
        if problem is None and other is not None:
            problem = _add_job(other, run, visited)
        if problem is not None:
            return problem
    for dep in u.requisite:
        if dep not in visited and not dep.endswith(_NO_FRAGMENT_NEEDED):
            visited.add(dep)
            problem, _ = _job_problem(run, dep)
            if problem is not None:
                return problem
    for dep in u.wants + u.upholds:
        if dep in visited or dep in _BUILTIN or dep.endswith(_NO_FRAGMENT_NEEDED):
            continue
        visited.add(dep)
        problem, other = _job_problem(run, dep)
        if problem is None and other is not None:
            problem = _add_job(other, run, visited)
        if problem is not None and problem.endswith("has a bad unit file setting."):
            _err(f"{dep}: Cannot add dependency job, ignoring: {problem}")
    return None


def _check_requirements(unit: Unit, run: _Run) -> bool:
    """The start job of a FILE: `Failed to create X/start: ...` when it cannot be built."""
    problem = _add_job(unit, run, {unit.id, *unit.names})
    if problem is not None:
        _err(f"{unit.id}: Failed to create {unit.id}/start: {problem}")
        return True
    return False


def _check_socket_service(unit: Unit, run: _Run) -> bool:
    """The service a socket starts must load (an error for verify)."""
    if unit.socket is None:
        return False
    prefix = unit.id.rsplit(".", 1)[0]
    if unit.socket.accept:
        service = f"{prefix}@internal.service"  # what 252 loads to check the template
    else:
        service = unit.socket.service or prefix + ".service"
    loaded = run.load(service)
    if loaded is not None and loaded[1].load_state != "loaded":
        _err(f"{unit.id}: service {service} not loaded, socket cannot be started.")
        return True
    return False


def _print_not_enforced(unit: Unit) -> None:
    from pidone.linux.sandbox import still_not_enforced

    seen: set[tuple[str, str]] = set()
    for n in still_not_enforced(unit.not_enforced):
        if (n.section, n.key) in seen:
            continue
        seen.add((n.section, n.key))
        _err(str(Diagnostic(n.source_path, n.source_line, f"{n.key}= is not enforced by pidone.")))


def verify_files(paths: list[str], root: str | None, show_not_enforced: bool = True) -> bool:
    """Check every FILE in one run; print what systemd-analyze would; True on errors."""
    from pidone.linux.hostfacts import read_specifier_host
    from pidone.linux.unitpaths import build_unit_paths

    dirs: list[str] = []
    for path in paths:
        directory = os.path.dirname(os.path.abspath(path))
        if directory not in dirs:
            dirs.append(directory)
    env = dict(os.environ)
    env["PIDONE_UNIT_PATH"] = ":".join(dirs) + ":"
    run = _Run(UnitLoader(build_unit_paths(root, env)), read_specifier_host(root or "/"))
    failed = False
    checked: list[Unit] = []
    for path in paths:
        unit = _load_file(run, path)
        if unit is None:
            failed = True
        else:
            checked.append(unit)
    for unit in checked:  # verify_unit(): the start job, the socket, the executables
        failed = _check_requirements(unit, run) or failed
        failed = _check_socket_service(unit, run) or failed
        failed = _check_exec(unit, root or "/") or failed
    if show_not_enforced:
        for unit in checked:
            _print_not_enforced(unit)
    return failed


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
    return 1 if verify_files(files, root, show_ne) else 0
