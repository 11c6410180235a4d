"""Build the typed `Unit` from a `UnitSource`: apply fragment and drop-ins, defaults, checks.

The steps follow systemd 252's unit_load() for a fragment-backed unit:

1. Every assignment of the fragment, then of each drop-in (in the loader's order), is
   looked up in `core.directives` for the unit's type and applied by its parser
   (`core.unitparsers`, `core.execparsers`). Unknown keys warn
   `Unknown key 'K' in section [S], ignoring.`; `X-` keys are silent. A fatal parser
   error stops reading (config_parse() aborts) and the unit becomes `bad-setting`
   ("Unit configuration has fatal error, unit will not be started."). A line that is
   not valid UTF-8 also stops reading, and the load state is `error` (EINVAL), as 252.
2. Per-type defaults (service_add_extras()): Type= from ExecStart=/BusName=, no start
   timeout for oneshot, NotifyAccess=main for notify/watchdog/fd store.
3. Per-type checks that refuse the unit (service_verify(), socket_verify(),
   timer_verify()), worded as systemd words them.
4. `.wants/`/`.requires/` links, then implicit and default dependencies (spec 04 §7).
   Their order mimics what systemd 252 showed for a plain service: explicit ones first,
   then system.slice, systemd-journald.socket, sysinit.target, basic.target.

Never raises on any input: every value problem is a `Diagnostic`.
"""

from __future__ import annotations

import contextlib

from pidone.core.capabilities import (
    ALL_CAPABILITIES,
    CAP_MKNOD,
    CAP_SYS_MODULE,
    CAP_SYS_RAWIO,
    CAP_SYS_TIME,
    CAP_SYSLOG,
    CAP_WAKE_ALARM,
)
from pidone.core.directives import Directive, sections_for
from pidone.core.errors import Diagnostic, ValueParseError
from pidone.core.escape import simplify_path, unescape_path
from pidone.core.install import build_install_section
from pidone.core.model import (
    ExecContext,
    PathSection,
    ServiceSection,
    SocketSection,
    TimerSection,
    Unit,
)
from pidone.core.parsebase import Context, Fatal, Ignored, reset_target
from pidone.core.specifiers import SpecifierHost, expand_specifiers
from pidone.core.unitfile import Assignment
from pidone.core.unitname import prefix_of, template_of
from pidone.core.unitparsers import PARSERS, record_not_enforced
from pidone.core.unitsource import UnitSource
from pidone.core.values import USEC_INFINITY

FATAL_NOTICE = "Unit configuration has fatal error, unit will not be started."
_NOT_UTF8 = "String is not UTF-8 clean, ignoring assignment: "
_SECTION_OBJECTS = {
    "service": ServiceSection,
    "socket": SocketSection,
    "timer": TimerSection,
    "path": PathSection,
}
_ONESHOT_RESTARTS = frozenset({"no", "on-failure", "on-abnormal", "on-watchdog", "on-abort"})
_JOURNAL_OUTPUTS = (
    "journal",
    "journal+console",
    "kmsg",
    "kmsg+console",
)


def _unit_type(name: str) -> str:
    return name.rsplit(".", 1)[-1] if "." in name else ""


def build_unit(source: UnitSource, host: SpecifierHost) -> Unit:
    """The typed unit for `source`. Never raises."""
    utype = _unit_type(source.id)
    unit = Unit(
        id=source.id,
        names=source.names or (source.id,),
        type=utype,
        load_state=source.load_state,
        fragment_path=source.fragment_path or "",
        source_path=source.source_path or "",
        dropin_paths=source.dropin_paths,
        load_error=source.load_error or "",
    )
    sections: dict[str, object] = {"Unit": unit.unit}
    if utype in _SECTION_OBJECTS:
        obj = _SECTION_OBJECTS[utype]()
        setattr(unit, utype, obj)
        sections[utype.capitalize()] = obj

    diags: list[Diagnostic] = []
    for diag in source.diagnostics:
        if diag not in diags:
            diags.append(diag)
    if source.load_state != "loaded":
        unit.diagnostics = diags
        return unit

    fragment = source.fragment_path or None

    def expand(text: str) -> str:
        return expand_specifiers(text, source.id, host, fragment)

    seen: set[str] = set()
    fatal = _apply_files(unit, source, sections, expand, seen, diags)
    assignments = [a for f in source.files for a in f.assignments]
    with contextlib.suppress(Exception):  # [Install] never stops the unit from loading
        unit.install, _ = build_install_section(assignments, source.id, expand)
    for name in source.wants:
        if name not in unit.unit.wants:
            unit.unit.wants.append(name)
    for name in source.requires:
        if name not in unit.unit.requires:
            unit.unit.requires.append(name)

    if fatal is not None and fatal.startswith(_NOT_UTF8):
        unit.load_state = "error"
        unit.load_error = fatal
    elif fatal is not None:
        unit.load_state = "bad-setting"
        unit.load_error = fatal
        diags.append(Diagnostic(unit.id, 0, FATAL_NOTICE, "error"))
    else:
        refusal = _finish_type(unit, seen, diags)
        if refusal is not None:
            unit.load_state = "bad-setting"
            unit.load_error = refusal
            diags.append(Diagnostic(unit.id, 0, refusal, "error"))
    _patch_exec_context(unit)
    if unit.unit.source_path:
        # SourcePath= (systemd-sysv-generator's /etc/init.d/NAME): systemctl's Loaded: line
        # and show's SourcePath= name it instead of the generated file
        unit.source_path = unit.unit.source_path
    _add_implicit_dependencies(unit)
    unit.diagnostics = diags
    return unit


def _apply_files(
    unit: Unit,
    source: UnitSource,
    sections: dict[str, object],
    expand: object,
    seen: set[str],
    diags: list[Diagnostic],
) -> str | None:
    """Apply every assignment in order; returns the fatal message that stopped it, if any."""
    table = sections_for(unit.type)
    for f in source.files:
        file_diags: list[Diagnostic] = [d for d in f.diagnostics if d not in diags]
        stop: str | None = None
        for a in f.assignments:
            if not _utf8_clean(a.key) or not _utf8_clean(a.value):
                # config_parse(): a line that is not UTF-8 aborts the file with EINVAL
                # utf8_escape_invalid(): each bad byte is shown as U+FFFD
                message = _NOT_UTF8 + _escape_invalid(f"{a.key}={a.value}")
                file_diags.append(Diagnostic(a.path, a.line, message, "error"))
                stop = message
                break
            keys = table.get(a.section)
            if keys is None:
                continue  # the lexer already said "Unknown section"
            row = keys.get(a.key)
            if row is None:
                if not a.key.startswith("X-"):
                    file_diags.append(
                        Diagnostic(
                            a.path,
                            a.line,
                            f"Unknown key '{a.key}' in section [{a.section}], ignoring.",
                        )
                    )
                continue
            stop = _apply_one(unit, sections, row, a, expand, seen, file_diags)
            if stop is not None:
                break
        file_diags.sort(key=lambda d: d.line)
        diags.extend(file_diags)
        if stop is not None:
            return stop
    return None


def _utf8_clean(text: str) -> bool:
    """False when the lexer had to keep undecodable bytes (surrogate escapes)."""
    return not any("\udc80" <= c <= "\udcff" for c in text)


def _escape_invalid(text: str) -> str:
    return "".join("\ufffd" if "\udc80" <= c <= "\udcff" else c for c in text)


def _apply_one(
    unit: Unit,
    sections: dict[str, object],
    row: Directive,
    a: Assignment,
    expand: object,
    seen: set[str],
    out: list[Diagnostic],
) -> str | None:
    section = sections.get(a.section, unit.unit)
    ctx = Context(unit, section, expand, a.key, a.section, a.path, a.line)  # type: ignore[arg-type]
    value = a.value
    result: str | None = None
    try:
        if value == "" and row.empty not in ("warn", "parser"):
            if row.empty in ("reset", "default") and row.parser not in ("accept", "install"):
                reset_target(ctx, row.target)
                if row.parser == "condition":
                    attr = "asserts" if a.key.startswith("Assert") else "conditions"
                    setattr(unit.unit, attr, [])
        else:
            PARSERS[row.parser](ctx, row, value)
            seen.add(a.key)
        if row.klass == "not-enforced":
            record_not_enforced(ctx, row, value)
    except Ignored as e:
        ctx.warnings.append(str(e))
    except Fatal as e:
        out.append(Diagnostic(a.path, a.line, str(e), "error"))
        result = str(e)
    except Exception as e:  # a parser bug must not take the loader down
        ctx.warnings.append(f"Failed to parse {a.key}=, ignoring: {value} ({type(e).__name__})")
    for message in ctx.warnings:
        if message.startswith("\0"):  # logged by systemd without a file position
            out.append(Diagnostic("", 0, message[1:]))
        else:
            out.append(Diagnostic(a.path, a.line, message))
    return result


# --- per-type defaults and checks -----------------------------------------------------------


def _finish_type(unit: Unit, seen: set[str], diags: list[Diagnostic]) -> str | None:
    if unit.service is not None:
        return _finish_service(unit, unit.service, seen, diags)
    if unit.socket is not None:
        if not unit.socket.listen:
            return (
                "Unit has no Listen setting (ListenStream=, ListenDatagram=, ListenFIFO=, ...). "
                "Refusing."
            )
        nodes = [
            a
            for kind, a in unit.socket.listen
            if a.startswith("/") and kind not in ("ListenNetlink", "ListenMessageQueue")
        ]
        if unit.socket.symlinks and len(nodes) != 1:
            return (
                "Unit has symlinks set but none or more than one node in the file system. Refusing."
            )
        return None
    if unit.timer is not None:
        t = unit.timer
        if not (
            t.on_active_usec
            or t.on_boot_usec
            or t.on_startup_usec
            or t.on_unit_active_usec
            or t.on_unit_inactive_usec
            or t.on_calendar
        ):
            return "Timer unit lacks value setting. Refusing."
    if unit.path is not None and not unit.path.specs:
        return "Path unit lacks path setting. Refusing."  # path_verify()
    return None


def _finish_service(
    unit: Unit, s: ServiceSection, seen: set[str], diags: list[Diagnostic]
) -> str | None:
    # service_add_extras(): pick a type when none was given
    if not s.type_explicit:
        s.type = "dbus" if s.bus_name else ("simple" if s.exec_start else "oneshot")
    if s.type == "oneshot" and not s.timeout_start_explicit:
        s.timeout_start_usec = USEC_INFINITY
    if s.notify_access == "none" and (
        s.type == "notify" or s.watchdog_usec > 0 or s.file_descriptor_store_max > 0
    ):
        s.notify_access = "main"
    e = s.exec
    if e.standard_input_data and "StandardInput" not in seen:
        e.standard_input = "data"
    if "StandardOutput" not in seen and (
        e.standard_input.startswith(("tty", "fd:")) or e.standard_input == "socket"
    ):
        e.standard_output = "inherit"
    if not unit.slice:
        unit.slice = _default_slice(unit.id)

    # service_verify()
    success_action = unit.unit.success_action
    if not s.exec_start and not s.exec_stop and success_action == "none":
        return "Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing."
    if s.type != "oneshot" and not s.exec_start:
        return (
            "Service has no ExecStart= setting, which is only allowed for Type=oneshot "
            "services. Refusing."
        )
    if not s.remain_after_exit and not s.exec_start and success_action == "none":
        return (
            "Service has no ExecStart= and no SuccessAction= settings and does not have "
            "RemainAfterExit=yes set. Refusing."
        )
    if s.type != "oneshot" and len(s.exec_start) > 1:
        return (
            "Service has more than one ExecStart= setting, which is only allowed for "
            "Type=oneshot services. Refusing."
        )
    if s.type == "oneshot" and s.restart not in _ONESHOT_RESTARTS:
        return (
            "Service has Restart= set to either always or on-success, which isn't allowed "
            "for Type=oneshot services. Refusing."
        )
    if s.type == "oneshot" and s.exit_type == "cgroup":
        return (
            "Service has ExitType=cgroup set, which isn't allowed for Type=oneshot services. "
            "Refusing."
        )
    if s.type == "dbus" and not s.bus_name:
        return "Service is of type D-Bus but no D-Bus service name has been specified. Refusing."
    if e.pam_name and s.kill.kill_mode not in ("control-group", "mixed"):
        return (
            "Service has PAM enabled. Kill mode must be set to 'control-group' or 'mixed'. "
            "Refusing."
        )
    usb = ("USBFunctionDescriptors" in seen, "USBFunctionStrings" in seen)
    if usb[0] != usb[1]:
        have, lack = (
            ("USBFunctionDescriptors", "USBFunctionStrings")
            if usb[0]
            else ("USBFunctionStrings", "USBFunctionDescriptors")
        )
        diags.append(
            Diagnostic(unit.id, 0, f"Service has {have}= setting, but no {lack}=. Ignoring.")
        )
    if s.type == "oneshot" and s.runtime_max_usec != USEC_INFINITY:
        diags.append(
            Diagnostic(
                unit.id,
                0,
                "RuntimeMaxSec= has no effect in combination with Type=oneshot. Ignoring.",
            )
        )
    return None


def _patch_exec_context(unit: Unit) -> None:
    """What DynamicUser= implies, and what some sandboxing settings take out of
    CapabilityBoundingSet=, at load time (systemd 252 unit_patch_contexts(), so `show`
    prints them as 252 does): PrivateDevices= CAP_MKNOD
    and CAP_SYS_RAWIO, ProtectKernelModules= CAP_SYS_MODULE, ProtectKernelLogs= CAP_SYSLOG,
    ProtectClock= CAP_SYS_TIME and CAP_WAKE_ALARM (systemd.exec(5)). A `+` command is
    exempt from the bounding set as from the rest of the sandbox."""
    section = unit.service or unit.socket
    if section is None:
        return
    e = section.exec
    if e.dynamic_user:
        # 252: "make sure that the unit can't leave its UID/GID around in the file system or
        # on IPC objects. Hence enforce a strict sandbox."
        e.private_tmp = True
        e.remove_ipc = True
        e.protect_system = "strict"
        if e.protect_home == "no":
            e.protect_home = "read-only"
        e.no_new_privileges = True
        e.restrict_suid_sgid = True
    drop = 0
    if e.private_devices:
        drop |= 1 << CAP_MKNOD | 1 << CAP_SYS_RAWIO
    if e.protect_kernel_modules:
        drop |= 1 << CAP_SYS_MODULE
    if e.protect_kernel_logs:
        drop |= 1 << CAP_SYSLOG
    if e.protect_clock:
        drop |= 1 << CAP_SYS_TIME | 1 << CAP_WAKE_ALARM
    if drop:
        bounding = (
            ALL_CAPABILITIES if e.capability_bounding_set is None else e.capability_bounding_set
        )
        e.capability_bounding_set = bounding & ~drop


def _default_slice(unit_id: str) -> str:
    """system.slice, or system-PREFIX.slice for instances (unit_set_default_slice())."""
    if template_of(unit_id) is not None and "@" in unit_id:
        prefix = prefix_of(unit_id)
        escaped = prefix.replace("-", "\\x2d")
        return f"system-{escaped}.slice"
    return "system.slice"


# --- implicit and default dependencies (spec 04 §7) ------------------------------------------


def _add(items: list[str], *names: str) -> None:
    for name in names:
        if name and name not in items:
            items.append(name)


def _add_implicit_dependencies(unit: Unit) -> None:
    if unit.load_state not in ("loaded", "bad-setting"):
        return
    u = unit.unit
    dd = u.default_dependencies
    if unit.service is not None:
        s = unit.service
        # 252 showed Requires=sysinit.target system.slice and After=system.slice
        # systemd-journald.socket sysinit.target basic.target for a plain service
        if dd:
            _add(u.requires, "sysinit.target")
        _add(u.requires, unit.slice)
        _add(u.after, unit.slice)
        e = s.exec
        if e.standard_output in _JOURNAL_OUTPUTS or e.standard_error in _JOURNAL_OUTPUTS:
            _add(u.after, "systemd-journald.socket")
        for sock in s.sockets:
            _add(u.wants, sock)
            _add(u.after, sock)
        if s.type == "dbus":
            _add(u.requires, "dbus.socket")
            _add(u.after, "dbus.socket")
        if dd:
            _add(u.after, "sysinit.target", "basic.target")
            _add(u.conflicts, "shutdown.target")
            _add(u.before, "shutdown.target")
        _add_exec_dependencies(unit, e)
    elif unit.socket is not None:
        sk = unit.socket
        # socket_add_mount_dependencies(): the file system path of each AF_UNIX socket
        # (not an abstract one), FIFO, special file and USB function (systemd.socket(5)
        # "Implicit Dependencies"); a message queue's /name is not a path
        for kind, address in sk.listen:
            if address.startswith("/") and kind not in _NOT_PATHS:
                _add_mount_path(u.requires_mounts_for, address)
        # socket_add_extras(): the exec context counts only with an Exec*= command
        if sk.exec_start_pre or sk.exec_start_post or sk.exec_stop_pre or sk.exec_stop_post:
            _add_exec_dependencies(unit, sk.exec)
        if not unit.slice:
            unit.slice = "system.slice"
        _add(u.requires, unit.slice)
        _add(u.after, unit.slice)
        if not sk.accept:
            _add(u.before, sk.service or _sibling(unit.id, "service"))
        if dd:
            _add(u.before, "sockets.target")
            _add(u.requires, "sysinit.target")
            _add(u.after, "sysinit.target")
            _add(u.conflicts, "shutdown.target")
            _add(u.before, "shutdown.target")
    elif unit.timer is not None:
        t = unit.timer
        _add(u.before, t.unit or _sibling(unit.id, "service"))
        if dd:
            _add(u.requires, "sysinit.target")
            _add(u.after, "sysinit.target")
            _add(u.before, "timers.target")
            _add(u.conflicts, "shutdown.target")
            _add(u.before, "shutdown.target")
            if t.on_calendar:
                _add(u.after, "time-set.target", "time-sync.target")
    elif unit.type == "scope":
        # unit_set_default_slice(); pidone's only scope is the manager's own, init.scope,
        # which 252 puts in the root slice (scope_load_init_scope())
        if not unit.slice:
            unit.slice = "-.slice" if unit.id == "init.scope" else "system.slice"
        _add(u.requires, unit.slice)
        _add(u.after, unit.slice)
    elif unit.type == "mount":
        # unit_set_default_slice(): a mount is in system.slice unless it is "extrinsic"
        # (mount_is_extrinsic() -> fstab_is_extrinsic(): /, /usr, /etc and the API file
        # systems under /run/initramfs, /proc, /sys, /dev), which stays in the root slice;
        # unit_add_slice_dependencies() then adds Requires= and After= on the slice.
        # Where= is the path the unit's name escapes (systemd.mount(5): they must match).
        if not unit.slice:
            unit.slice = "-.slice" if _extrinsic_mount(unit.id) else "system.slice"
        _add(u.requires, unit.slice)
        _add(u.after, unit.slice)
        # mount_add_mount_dependencies(): a mount needs the mounts of its parent directory
        # (systemd.mount(5) "Implicit Dependencies"). What= of a bind/loop/local mount
        # counts too in 252; pidone keeps no [Mount] values, so that part is left out.
        parent = _where_parent(unit.id)
        if parent:
            _add_mount_path(u.requires_mounts_for, parent)
    elif unit.type == "path":
        # path_add_trigger_dependencies(): Before= the unit it triggers;
        # path_add_mount_dependencies(): RequiresMountsFor= each watched path
        if unit.path is not None:
            _add(u.before, unit.path.unit or _sibling(unit.id, "service"))
            for _kind, watched in unit.path.specs:
                _add_mount_path(u.requires_mounts_for, watched)
        if dd:
            # path_add_default_dependencies() (systemd.path(5) "Default Dependencies"):
            # cups.path, acpid.path and the like pull in sysinit.target like sockets do
            _add(u.before, "paths.target")
            _add(u.requires, "sysinit.target")
            _add(u.after, "sysinit.target")
            _add(u.conflicts, "shutdown.target")
            _add(u.before, "shutdown.target")
    elif unit.type == "target" and dd:
        # target_add_default_dependencies(): After= what it pulls in. The exceptions need
        # the other unit's file (Before= the target, DefaultDependencies=no): the names
        # added here are recorded, and core.depgraph drops those the other unit refuses.
        pulled = u.requires + u.requisite + u.wants + u.binds_to + u.upholds + u.part_of
        implicit = [n for n in pulled if n not in u.before and n != unit.id and n not in u.after]
        _add(u.after, *implicit)
        u.target_default_after = tuple(dict.fromkeys(implicit))
        _add(u.conflicts, "shutdown.target")
        _add(u.before, "shutdown.target")


# The manager's directory prefixes of the system instance (systemd.exec(5) "RuntimeDirectory="
# table), by ExecContext field.
_EXEC_DIRECTORIES = (
    ("runtime_directory", "/run"),
    ("state_directory", "/var/lib"),
    ("cache_directory", "/var/cache"),
    ("logs_directory", "/var/log"),
    ("configuration_directory", "/etc"),
)
_NOT_PATHS = frozenset({"ListenMessageQueue", "ListenNetlink"})


def _add_mount_path(paths: list[str], path: str) -> None:
    """unit_require_mounts_for(): one path, once (compared simplified)."""
    simple = simplify_path(path)
    if path not in paths and simple not in (simplify_path(p) for p in paths):
        paths.append(simple)


def _add_exec_dependencies(unit: Unit, e: ExecContext) -> None:
    """unit_add_exec_dependencies() (systemd.exec(5) "Implicit Dependencies"): the paths a
    process needs go to RequiresMountsFor= (core.depgraph turns them into Requires=/After=
    on mount units that exist); PrivateTmp= and the writable /var directories add
    ordering on the services that set those file systems up."""
    u = unit.unit
    paths = u.requires_mounts_for
    # WorkingDirectory=-PATH (missing is fine) and ~ (the user's home) add nothing
    if e.working_directory.startswith("/") and not e.working_directory_missing_ok:
        _add_mount_path(paths, e.working_directory)
    if e.root_directory.startswith("/"):
        _add_mount_path(paths, e.root_directory)
    for field_name, root in _EXEC_DIRECTORIES:
        for entry in getattr(e, field_name):
            _add_mount_path(paths, f"{root}/{entry.partition(':')[0]}")
    # 252 orders these after systemd-remount-fs.service: /var may be on the root file
    # system, which that service makes writable
    if e.state_directory or e.cache_directory or e.logs_directory:
        _add(u.after, "systemd-remount-fs.service")
    if e.private_tmp:
        # a weak dependency on tmp.mount (so a masked /tmp works), a hard one on /var/tmp
        _add(u.wants, "tmp.mount")
        _add(u.after, "tmp.mount")
        _add_mount_path(paths, "/var/tmp")
        _add(u.after, "systemd-tmpfiles-setup.service")


def _where_parent(unit_id: str) -> str:
    """The parent directory of a mount unit's Where= (its name unescaped); "" for /."""
    try:
        where = unescape_path(unit_id.rsplit(".", 1)[0])
    except ValueParseError:
        return ""
    if where in ("", "/"):
        return ""
    return where.rsplit("/", 1)[0] or "/"


def _extrinsic_mount(unit_id: str) -> bool:
    try:
        where = unescape_path(unit_id.rsplit(".", 1)[0])
    except ValueParseError:
        return False
    if where in ("/", "/usr", "/etc"):
        return True
    return any(
        where == top or where.startswith(top + "/")
        for top in ("/run/initramfs", "/proc", "/sys", "/dev")
    )


def _sibling(unit_id: str, suffix: str) -> str:
    """foo.socket -> foo.service (the unit a socket/timer triggers by default)."""
    return unit_id.rsplit(".", 1)[0] + "." + suffix
