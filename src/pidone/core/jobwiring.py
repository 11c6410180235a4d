"""What the manager's transaction wiring needs besides the manager: requests, views, built-ins.

1. `CancelJobRequested` (`systemctl cancel [JOB...]`) and `SystemJobRequested` (jobs the
   daemon itself enqueues: boot, shutdown; no RefuseManualStart= check, as systemd's own
   manager_add_job() calls bypass bus_unit_queue_job()) are manager events.
2. `InstalledView` shows the manager's jobs to core.transaction/core.jobeffects as
   InstalledJob records without copying the job table on every ordering check.
3. `builtin_unit()` builds pidone's built-in targets and slices (core.targets) as typed
   units, for names no loader knows; `bare_unit()` gives a model to a unit that exists only
   in the graph (a file-less slice or device, core.depgraph rule 3). `container_override()`
   keeps the early-boot targets pidone's own even when the unit path has them (`EARLY_BOOT`),
   with only the `.wants/`/`.requires/` links `admitted_links()` lets through.
4. `JobRow` is one line of `list-jobs` (systemctl's JOB UNIT TYPE STATE).
5. `plan_request()` holds what the manager refuses before any transaction (the client's
   words and exit codes of bus_unit_queue_job() and systemctl, spec 06 §2.1) and maps a
   verb to its job type.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from pidone.core.dataclass_lite import dataclass, replace
from pidone.core.depgraph import UnitInfo
from pidone.core.job import Job, JobType
from pidone.core.model import Unit, UnitSection
from pidone.core.specifiers import SpecifierHost
from pidone.core.targets import (
    BUILTIN_ALIASES,
    BUILTIN_DIR,
    PERPETUAL,
    builtin_alias,
    builtin_unit_text,
)
from pidone.core.transaction import InstalledJob
from pidone.core.unitfile import parse_unit_file
from pidone.core.unitname import KNOWN_SECTIONS
from pidone.core.units import build_unit
from pidone.core.unitsource import UnitSource

# Container mode (spec 04 §7): these targets and slices are always pidone's own, whatever
# the unit path holds. Every service Requires=sysinit.target; the host's sysinit.target.wants/
# names systemd-tmpfiles-setup (which empties /tmp), sysctl, sysusers, journald, udev... that
# are the host's business. Their .wants/ directories are ignored with their files, except
# the enabled units of sockets/timers/paths.target (LINKS_KEPT, admitted_links()).
EARLY_BOOT: frozenset[str] = frozenset(
    {
        "sysinit.target",
        "basic.target",
        "local-fs.target",
        "local-fs-pre.target",
        "remote-fs.target",
        "remote-fs-pre.target",
        "swap.target",
        "cryptsetup.target",
        "cryptsetup-pre.target",
        "remote-cryptsetup.target",
        "integritysetup.target",
        "integritysetup-pre.target",
        "veritysetup.target",
        "veritysetup-pre.target",
        "remote-veritysetup.target",
        "sockets.target",
        "timers.target",
        "paths.target",
        "slices.target",
        "shutdown.target",
        "umount.target",
        "final.target",
        "emergency.target",
        "rescue.target",
        "getty.target",
        "getty-pre.target",
        "-.slice",
        "system.slice",
    }
)
# The early-boot targets that keep some `.wants/`/`.requires/` links (admitted_links()):
# `systemctl enable` of a socket, timer or path unit links it there, and a daemon that loads
# timers.target as a timer's Before= must show (and start) what was enabled (issue #8).
LINKS_KEPT: frozenset[str] = frozenset({"sockets.target", "timers.target", "paths.target"})
_SYSTEMD_OWN = "systemd-"


@dataclass(frozen=True, slots=True)
class CancelJobRequested:
    """`systemctl cancel JOB...`; no ids: every job (ClearJobs)."""

    request_id: int
    job_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SystemJobRequested:
    """A job the daemon enqueues for itself (boot: start default.target in mode isolate;
    shutdown: start shutdown.target in mode replace-irreversibly). `request_id` 0: nobody
    waits for the answer, but JobQueued/JobFinished are still emitted with it."""

    request_id: int
    unit: str
    job_type: JobType
    mode: str = "replace"


@dataclass(frozen=True, slots=True)
class JobRow:
    """One installed job as `list-jobs` shows it."""

    id: int
    unit: str
    type: str
    state: str


class InstalledView(Mapping[str, InstalledJob]):
    """The manager's `unit -> Job` table seen as InstalledJob records (read-only)."""

    __slots__ = ("_jobs",)

    def __init__(self, jobs: Mapping[str, Job]) -> None:
        self._jobs = jobs

    def __getitem__(self, unit: str) -> InstalledJob:
        j = self._jobs[unit]
        return InstalledJob(j.id, j.unit, j.type, j.irreversible, j.ignore_order)

    def __iter__(self) -> Iterator[str]:
        return iter(self._jobs)

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, unit: object) -> bool:
        return unit in self._jobs


_HOST = SpecifierHost()


def builtin_unit(name: str) -> Unit | None:
    """A built-in target or slice as a loaded unit (an alias such as default.target comes
    back as the unit it names, every built-in alias among its names); None if unknown."""
    real = builtin_alias(name) or name
    text = builtin_unit_text(real)
    if text is None:
        return None
    path = f"{BUILTIN_DIR}/{real}"
    utype = real.rsplit(".", 1)[-1]
    parsed = parse_unit_file(text, path, KNOWN_SECTIONS.get(utype))
    aliases = sorted(a for a, target in BUILTIN_ALIASES.items() if target == real)
    names = (real, *aliases)
    source = UnitSource(name, real, names, "loaded", fragment_path=path, files=(parsed,))
    return build_unit(source, _HOST)


def admitted_links(target: str, names: Iterable[str]) -> list[str]:
    """The `.wants/`/`.requires/` link names an early-boot target keeps (issue #8).

    Only sockets.target, timers.target and paths.target keep links, and never to systemd's
    own units (`systemd-*`): Debian's /lib/systemd/system/sockets.target.wants/ names
    systemd-journald*.socket and systemd-initctl.socket, and timers.target.wants/ names
    systemd-tmpfiles-clean.timer (`systemd-tmpfiles --clean`, which ages files out of
    /tmp); those belong to the host (spec 04 §7). What remains is what `systemctl enable`
    of a package's socket, timer or path unit made (WantedBy=sockets.target, ...): the
    administrator's choice in /etc/systemd/system, the daemon's own unit directories, and
    packages' static links such as dbus.socket. sysinit.target and the other early-boot
    targets keep none: their links are the host's boot (tmpfiles-setup, sysctl, udev...).
    """
    if target not in LINKS_KEPT:
        return []
    return [n for n in names if not n.startswith(_SYSTEMD_OWN)]


def container_override(unit: Unit, source: UnitSource | None = None) -> Unit:
    """The unit the manager keeps for a loaded one: pidone's own for the EARLY_BOOT names.

    `source` is what the loader found for `unit`: its `.wants/`/`.requires/` links that
    `admitted_links()` keeps are added to pidone's own target (without it, none are: the
    manager re-checks units the registry already overrode, cli tools may not have it)."""
    if unit.id not in EARLY_BOOT:
        return unit
    if unit.fragment_path.startswith(BUILTIN_DIR):
        if unit.id not in LINKS_KEPT:
            return unit  # today's rule: the unit path held no file, links as found
        wants = admitted_links(unit.id, unit.unit.wants)
        requires = admitted_links(unit.id, unit.unit.requires)
        if wants == unit.unit.wants and requires == unit.unit.requires:
            return unit
        return replace(unit, unit=replace(unit.unit, wants=wants, requires=requires))
    own = builtin_unit(unit.id)
    if own is None:
        return unit
    names = (*own.names, *(n for n in unit.names if n not in own.names))
    if source is not None:  # `own` is fresh: its lists are ours to extend
        for name in admitted_links(unit.id, source.wants):
            if name not in own.unit.wants:
                own.unit.wants.append(name)
        for name in admitted_links(unit.id, source.requires):
            if name not in own.unit.requires:
                own.unit.requires.append(name)
    return replace(own, names=names)


def bare_unit(info: UnitInfo) -> Unit:
    """The model of a unit known only to the graph (no file: a slice, a device, a stub)."""
    load_state = info.load_state if info.load_state in ("loaded", "not-found") else "not-found"
    return Unit(
        id=info.id,
        names=(info.id,),
        type=info.type,
        load_state=load_state,  # type: ignore[arg-type]
        unit=UnitSection(description=info.description),
    )


_VERB_TYPES: dict[str, JobType] = {
    "start": "start",
    "stop": "stop",
    "restart": "restart",
    "try-restart": "try-restart",
    "reload": "reload",
    "verify-active": "verify-active",
}
_SEE_LOGS = "See system logs and 'systemctl status {}' for details."


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused before any transaction: systemctl's stderr lines, exit code."""

    lines: tuple[str, ...]
    exit_code: int


def plan_request(
    verb: str, name: str, unit: Unit | None, active: str, mode: str = "replace"
) -> JobType | Refusal:
    """The job type for `systemctl VERB NAME`, or why the manager refuses it first."""
    if mode == "isolate" and verb == "start":
        # manager_add_job_full() checks AllowIsolate= before the transaction looks at the
        # load state: `isolate nosuch.target` is refused as not isolatable (exit 4), not as
        # not found (checked in the 252 oracle); RefuseManualStart= comes first.
        u = unit.unit if unit is not None and unit.load_state == "loaded" else None
        if u is None or (not u.allow_isolate and not u.refuse_manual_start):
            text = f"Failed to start {name}: Operation refused, unit may not be isolated."
            return Refusal((text, _SEE_LOGS.format(name)), 4)
    gone = unit is not None and unit.load_state == "not-found"
    if unit is None or (gone and (verb != "stop" or active == "inactive")):
        word = "not loaded" if verb == "stop" else "not found"
        return Refusal((f"Failed to {verb} {name}: Unit {name} {word}.",), 5)
    if verb != "stop" and unit.load_state == "masked":
        return Refusal((f"Failed to {verb} {name}: Unit {name} is masked.",), 1)
    if unit.load_state in ("bad-setting", "error"):
        if verb == "stop" and active == "inactive":
            return Refusal((f"Failed to stop {name}: Unit {name} not loaded.",), 5)
        if verb != "stop":
            return Refusal(
                (
                    f"Failed to {verb} {name}: Unit {name} has a bad unit file setting.",
                    _SEE_LOGS.format(name),
                ),
                1,
            )
    u = unit.unit
    if (verb != "stop" and u.refuse_manual_start) or (verb == "stop" and u.refuse_manual_stop):
        return Refusal(
            (
                f"Failed to {verb} {name}: Operation refused, unit {name} may be requested by "
                "dependency only (it is configured to refuse manual start/stop).",
                _SEE_LOGS.format(name),
            ),
            4,
        )
    can_reload = bool(unit.service and unit.service.exec_reload)
    if verb == "reload" and not can_reload:
        msg = f"Failed to reload {name}: Job type reload is not applicable for unit {name}."
        return Refusal((msg,), 3)
    if verb == "reload-or-restart":
        jtype: JobType = "reload-or-start" if can_reload else "restart"
    elif verb == "try-reload-or-restart":
        jtype = "try-reload" if can_reload else "try-restart"
    else:
        jtype = _VERB_TYPES[verb]
    if unit.id in PERPETUAL and jtype in ("stop", "restart", "try-restart"):
        # unit_job_is_applicable(); systemctl names a try-restart job "restart" (sd-oracle)
        shown = "stop" if jtype == "stop" else "restart"
        msg = f"Failed to {verb} {name}: Job type {shown} is not applicable for unit {name}."
        return Refusal((msg,), 3)
    return jtype
