"""Built-in standard targets and slices (systemd.special(7)) and get-default/set-default rules.

Packages name targets they do not ship (`WantedBy=multi-user.target`, `After=network.target`):
systemd ships those files itself. pidone carries their facts (name, Description=,
dependencies, the special flags) as it finds them in Debian 12's systemd 252, as unit TEXT the
loader parses like any fragment whenever no file of that name is on the unit path; a file
always wins. `-.slice` and `system.slice` are compiled into systemd (no file on Debian) and
every service Requires= its slice, so they are here too.

Deliberate differences: `default.target` is an alias of `multi-user.target` (Debian points
it at graphical.target; a service manager without a display manager should not), and the
distribution's `.wants/` directories are not reproduced (the early-boot units they name,
udev, tmpfiles, fsck, ..., are the host's business: spec 04 §7 "container mode").
The power targets keep Requires=systemd-poweroff.service etc. as Debian has them; pidone's
daemon carries out poweroff/halt/reboot itself and must not depend on those services.
"""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass

_DOC = "man:systemd.special(7)"
BUILTIN_DIR = "/usr/lib/pidone/builtin"  # FragmentPath= of a built-in unit (no such file)
_NO_DEFAULTS = "DefaultDependencies=no"
# Built into systemd 252 itself, with no unit file on Debian: `status` shows no path on
# their Loaded: line and `show` an empty FragmentPath= (checked on sd-oracle).
COMPILED_IN = frozenset({"-.slice", "system.slice", "init.scope"})
# Units systemd 252 never stops (u->perpetual: slice_load_root_slice(),
# slice_load_system_slice(), the init scope): a stop or restart job is "not applicable" for
# them (unit_job_is_applicable()), and shutdown leaves them be. `show` says Perpetual=yes.
PERPETUAL = frozenset({"-.slice", "system.slice", "init.scope"})
# Made by the manager at run time, with no unit file (status: `Transient: yes`).
TRANSIENT = frozenset({"init.scope"})


def shown_fragment_path(unit_id: str, fragment_path: str) -> str:
    """FragmentPath= as systemd shows it: empty for a unit compiled into systemd."""
    if unit_id in COMPILED_IN and fragment_path == f"{BUILTIN_DIR}/{unit_id}":
        return ""
    return fragment_path


# name -> (Description=, further [Unit] lines). Facts from Debian 12 /lib/systemd/system.
_TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "basic.target": (
        "Basic System",
        (
            "Requires=sysinit.target",
            "Wants=sockets.target timers.target paths.target slices.target",
            "After=sysinit.target sockets.target paths.target slices.target tmp.mount",
            "RequiresMountsFor=/var /var/tmp",
            "Wants=tmp.mount",
        ),
    ),
    "multi-user.target": (
        "Multi-User System",
        (
            "Requires=basic.target",
            "Conflicts=rescue.service rescue.target",
            "After=basic.target rescue.service rescue.target",
            "AllowIsolate=yes",
        ),
    ),
    "graphical.target": (
        "Graphical Interface",
        (
            "Requires=multi-user.target",
            "Wants=display-manager.service",
            "Conflicts=rescue.service rescue.target",
            "After=multi-user.target rescue.service rescue.target display-manager.service",
            "AllowIsolate=yes",
        ),
    ),
    "sysinit.target": (
        "System Initialization",
        (
            "Wants=local-fs.target swap.target",
            "After=local-fs.target swap.target",
            "Conflicts=emergency.service emergency.target",
            "Before=emergency.service emergency.target",
        ),
    ),
    "local-fs-pre.target": ("Preparation for Local File Systems", ("RefuseManualStart=yes",)),
    "local-fs.target": (
        "Local File Systems",
        (
            _NO_DEFAULTS,
            "Conflicts=shutdown.target",
            "After=local-fs-pre.target",
            "OnFailure=emergency.target",
            "OnFailureJobMode=replace-irreversibly",
        ),
    ),
    "remote-fs-pre.target": ("Preparation for Remote File Systems", ("RefuseManualStart=yes",)),
    "remote-fs.target": (
        "Remote File Systems",
        ("After=remote-fs-pre.target", _NO_DEFAULTS, "Conflicts=shutdown.target"),
    ),
    "swap.target": ("Swaps", ()),
    "network-pre.target": ("Preparation for Network", ("RefuseManualStart=yes",)),
    "network.target": ("Network", ("After=network-pre.target", "RefuseManualStart=yes")),
    "network-online.target": ("Network is Online", ("After=network.target",)),
    "nss-lookup.target": ("Host and Network Name Lookups", ("RefuseManualStart=yes",)),
    "nss-user-lookup.target": ("User and Group Name Lookups", ("RefuseManualStart=yes",)),
    "time-set.target": ("System Time Set", ("RefuseManualStart=yes",)),
    "time-sync.target": (
        "System Time Synchronized",
        ("RefuseManualStart=yes", "After=time-set.target", "Wants=time-set.target"),
    ),
    "sockets.target": ("Socket Units", ()),
    "timers.target": ("Timer Units", (_NO_DEFAULTS, "Conflicts=shutdown.target")),
    "paths.target": ("Path Units", ()),
    "slices.target": ("Slice Units", ("Wants=-.slice system.slice", "After=-.slice system.slice")),
    "getty-pre.target": ("Preparation for Logins", ()),
    "getty.target": ("Login Prompts", ()),
    "rpcbind.target": ("RPC Port Mapper", ("RefuseManualStart=yes",)),
    "cryptsetup-pre.target": (
        "Local Encrypted Volumes (Pre)",
        ("RefuseManualStart=yes", "Before=cryptsetup.target"),
    ),
    "cryptsetup.target": ("Local Encrypted Volumes", ()),
    "remote-cryptsetup.target": (
        "Remote Encrypted Volumes",
        (
            "After=remote-fs-pre.target cryptsetup-pre.target",
            _NO_DEFAULTS,
            "Conflicts=shutdown.target",
        ),
    ),
    "integritysetup-pre.target": (
        "Local Integrity Protected Volumes (Pre)",
        ("RefuseManualStart=yes", "Before=integritysetup.target"),
    ),
    "integritysetup.target": ("Local Integrity Protected Volumes", ()),
    "veritysetup-pre.target": (
        "Local Verity Protected Volumes (Pre)",
        ("RefuseManualStart=yes", "Before=veritysetup.target"),
    ),
    "veritysetup.target": ("Local Verity Protected Volumes", ()),
    "remote-veritysetup.target": (
        "Remote Verity Protected Volumes",
        (
            "After=remote-fs-pre.target veritysetup-pre.target",
            _NO_DEFAULTS,
            "Conflicts=shutdown.target",
        ),
    ),
    "shutdown.target": ("System Shutdown", (_NO_DEFAULTS, "RefuseManualStart=yes")),
    "umount.target": ("Unmount All Filesystems", (_NO_DEFAULTS, "RefuseManualStart=yes")),
    "final.target": (
        "Late Shutdown Services",
        (_NO_DEFAULTS, "RefuseManualStart=yes", "After=shutdown.target umount.target"),
    ),
    "rescue.target": (
        "Rescue Mode",
        (
            "Requires=sysinit.target rescue.service",
            "After=sysinit.target rescue.service",
            "AllowIsolate=yes",
        ),
    ),
    "emergency.target": (
        "Emergency Mode",
        ("Requires=emergency.service", "After=emergency.service", "AllowIsolate=yes"),
    ),
    "system-update-pre.target": (
        "Offline System Update (Pre)",
        ("RefuseManualStart=yes", "After=sysinit.target"),
    ),
    "system-update.target": (
        "Offline System Update",
        (
            "Requires=sysinit.target",
            "After=sysinit.target system-update-pre.target",
            "AllowIsolate=yes",
            "Wants=system-update-cleanup.service",
        ),
    ),
    "sleep.target": (
        "Sleep",
        (_NO_DEFAULTS, "RefuseManualStart=yes", "StopWhenUnneeded=yes"),
    ),
    "sigpwr.target": ("Power Failure", ()),
    "boot-complete.target": (
        "Boot Completion Check",
        ("Requires=sysinit.target", "After=sysinit.target"),
    ),
    "first-boot-complete.target": (
        "First Boot Complete",
        ("RefuseManualStart=yes", "ConditionFirstBoot=yes"),
    ),
    "factory-reset.target": ("Factory Reset", ()),
    "printer.target": ("Printer Support", ("StopWhenUnneeded=yes",)),
    "sound.target": ("Sound Card", ("StopWhenUnneeded=yes",)),
    "bluetooth.target": ("Bluetooth Support", ("StopWhenUnneeded=yes",)),
    "smartcard.target": ("Smart Card", ("StopWhenUnneeded=yes",)),
    "usb-gadget.target": ("Hardware activated USB gadget", ()),
}


def _power(description: str, service: str, action: str = "") -> tuple[str, tuple[str, ...]]:
    lines = [_NO_DEFAULTS, f"Requires={service}", f"After={service}", "AllowIsolate=yes"]
    if action:
        lines += ["JobTimeoutSec=30min", f"JobTimeoutAction={action}"]
    return description, tuple(lines)


_TARGETS.update(
    {
        "poweroff.target": _power("System Power Off", "systemd-poweroff.service", "poweroff-force"),
        "reboot.target": _power("System Reboot", "systemd-reboot.service", "reboot-force"),
        "halt.target": _power("System Halt", "systemd-halt.service"),
        "kexec.target": _power("Reboot via kexec", "systemd-kexec.service"),
        "exit.target": _power("Exit the Container", "systemd-exit.service"),
    }
)
for _name, _service, _desc in (
    ("hibernate", "systemd-hibernate.service", "System Hibernation"),
    ("hybrid-sleep", "systemd-hybrid-sleep.service", "Hybrid Suspend+Hibernate"),
    ("suspend", "systemd-suspend.service", "Suspend"),
    (
        "suspend-then-hibernate",
        "systemd-suspend-then-hibernate.service",
        "Suspend; Hibernate if not used for a period of time",
    ),
):
    _TARGETS[f"{_name}.target"] = (
        _desc,
        (_NO_DEFAULTS, f"Requires={_service}", f"After={_service}", "StopWhenUnneeded=yes"),
    )

_SLICES: dict[str, tuple[str, tuple[str, ...]]] = {
    # compiled into systemd 252 (slice_load_root_slice(), slice_load_system_slice())
    # (both IgnoreOnIsolate=yes, as 252 loads them: an isolate leaves them be)
    "-.slice": ("Root Slice", (_NO_DEFAULTS, "IgnoreOnIsolate=yes")),
    # a slice Requires=+After= its parent (slice_add_parent_slice())
    "system.slice": (
        "System Slice",
        (
            _NO_DEFAULTS,
            "IgnoreOnIsolate=yes",
            "Requires=-.slice",
            "After=-.slice",
            "Before=slices.target",
        ),
    ),
    "user.slice": ("User and Session Slice", ("Before=slices.target",)),
    "machine.slice": ("Virtual Machine and Container Slice", ("Before=slices.target",)),
}

# Alias names -> the unit they name (symlinks in Debian's /lib/systemd/system).
BUILTIN_ALIASES: dict[str, str] = {
    "default.target": "multi-user.target",
    "ctrl-alt-del.target": "reboot.target",
    "runlevel0.target": "poweroff.target",
    "runlevel1.target": "rescue.target",
    "runlevel2.target": "multi-user.target",
    "runlevel3.target": "multi-user.target",
    "runlevel4.target": "multi-user.target",
    "runlevel5.target": "graphical.target",
    "runlevel6.target": "reboot.target",
}


def _render(description: str, lines: tuple[str, ...], doc: str = _DOC) -> bytes:
    body = [
        "# built into pidone (facts of Debian 12 systemd 252)",
        "[Unit]",
        f"Description={description}",
        f"Documentation={doc}",
        *lines,
    ]
    return ("\n".join(body) + "\n").encode()


BUILTIN_UNITS: dict[str, bytes] = {
    name: _render(desc, lines) for name, (desc, lines) in {**_TARGETS, **_SLICES}.items()
}
# The manager's own scope (scope_load_init_scope(): perpetual, IgnoreOnIsolate=yes, in the
# root slice). It is running only where pidone lays cgroups out as systemd does (a
# container's PID 1: daemon/main.py puts itself in /init.scope); elsewhere it stays dead.
BUILTIN_UNITS["init.scope"] = _render(
    "System and Service Manager", (_NO_DEFAULTS, "IgnoreOnIsolate=yes"), doc="man:systemd(1)"
)


def builtin_alias(name: str) -> str | None:
    """The unit a built-in alias (default.target, runlevelN.target, ...) stands for."""
    return BUILTIN_ALIASES.get(name)


def builtin_unit_text(name: str) -> bytes | None:
    """Unit-file text for a built-in unit; an alias yields the text of the unit it names
    (a loader should rather use builtin_alias() so that the id is the real unit's)."""
    return BUILTIN_UNITS.get(BUILTIN_ALIASES.get(name, name))


# --- get-default / set-default (systemctl, src/shared/install.c) -------------------------------


@dataclass(frozen=True, slots=True)
class SetDefaultPlan:
    """What `systemctl set-default NAME` does: the link to (re)write and the lines it prints.

    `link_target` is the path the new /etc/systemd/system/default.target symlink points to
    ("" = leave it as it is); `exit_code` 1 with `lines` holding the error otherwise.
    """

    lines: tuple[str, ...]
    exit_code: int
    link_target: str = ""
    remove_old: bool = False


def normalize_target_name(name: str) -> str:
    """unit_name_mangle_with_suffix(".target"): `rescue` -> `rescue.target`."""
    if "." in name:
        return name
    return f"{name}.target"


def plan_set_default(
    name: str,
    found_path: str | None,
    current_link: str | None,
    link_path: str = "/etc/systemd/system/default.target",
) -> SetDefaultPlan:
    """unit_file_set_default(): `found_path` is where NAME's file is on the unit path (None:
    absent), `current_link` what default.target points to now (None: no link).

    Verified with systemctl --root on 252: a non-target is "Invalid argument", a missing one
    "unit X does not exist", an unchanged link prints nothing, a changed one is removed and
    created again.
    """
    unit = normalize_target_name(name)
    if not unit.endswith(".target"):
        return SetDefaultPlan(("Failed to set default: Invalid argument.",), 1)
    if found_path is None:
        return SetDefaultPlan((f"Failed to set default unit, unit {unit} does not exist.",), 1)
    if current_link == found_path:
        return SetDefaultPlan((), 0)
    lines: list[str] = []
    if current_link is not None:
        lines.append(f'Removed "{link_path}".')
    lines.append(f"Created symlink {link_path} \u2192 {found_path}.")
    return SetDefaultPlan(
        tuple(lines), 0, link_target=found_path, remove_old=current_link is not None
    )


def format_get_default(resolved: str | None) -> tuple[tuple[str, ...], int]:
    """`systemctl get-default`: the unit default.target resolves to (following aliases);
    stdout line or the stderr error, and the exit code."""
    if resolved is None:
        return ("Failed to get default target: No such file or directory",), 1
    return (resolved.rsplit("/", 1)[-1],), 0
