"""The dependency graph of loaded units: every relation in both directions, as systemd derives it.

Theory of operation (systemd 252, src/core/unit.c unit_add_dependency(), man 5 systemd.unit):

1. Every dependency is stored twice: `A Wants=B` gives A "Wants" B and B "WantedBy" A, and so
   on for each pair of `INVERSE` (the names are `systemctl show` property names). A unit never
   depends on itself (unit_add_dependency() drops such edges silently).
2. The edges come from the typed model (`core.units.build_unit` has already merged `.wants/`
   and `.requires/` links and added the implicit and default dependencies of spec 04 §7),
   plus what only the graph can know:
   - Triggers=/TriggeredBy=: a socket with Accept=no triggers its Service= (default: the
     same-named .service), a timer its Unit= (socket_add_extras(), timer_load());
   - target default dependencies (target_add_default_dependencies()): a target orders itself
     After= each unit it Requires=/Requisite=/Wants=/BindsTo=/Upholds=/PartOf=, only when both
     are loaded, both have DefaultDependencies=yes and the target is not already Before= that
     unit ("don't create loops"). core.units adds a cruder version (it cannot see the other
     unit); an After= on a unit that itself says After= the target is removed here, because
     systemd would never have added it (an explicit two-way After= is lost with it).
3. A name that is referenced but has no unit is still a node, with load state `not-found`
   (systemd creates a stub unit for it): ordering against it is ignored because it never gets
   a job, a Wants= on it is dropped silently, and a hard requirement fails the transaction with
   `Unit X not found.` (core.transaction). Slices and devices need no file: a referenced
   one without a file (`system-modprobe.slice` of a template instance, `BindsTo=` a .device)
   is a loaded, empty unit; every slice Requires=+After= its parent slice.
4. Aliases resolve to the unit's id everywhere (unit_follow_merge()).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from pidone.core.model import Unit

# Relation -> its inverse (unit-dependency.c inverse_table); each side is a `show` property.
INVERSE: dict[str, str] = {
    "Wants": "WantedBy",
    "Requires": "RequiredBy",
    "Requisite": "RequisiteOf",
    "BindsTo": "BoundBy",
    "PartOf": "ConsistsOf",
    "Upholds": "UpheldBy",
    "Conflicts": "ConflictedBy",
    "Before": "After",
    "OnFailure": "OnFailureOf",
    "OnSuccess": "OnSuccessOf",
    "PropagatesReloadTo": "ReloadPropagatedFrom",
    "Triggers": "TriggeredBy",
}
INVERSE.update({v: k for k, v in list(INVERSE.items())})

# [Unit] list fields of the model -> the relation they state.
_MODEL_FIELDS: tuple[tuple[str, str], ...] = (
    ("wants", "Wants"),
    ("requires", "Requires"),
    ("requisite", "Requisite"),
    ("binds_to", "BindsTo"),
    ("part_of", "PartOf"),
    ("upholds", "Upholds"),
    ("conflicts", "Conflicts"),
    ("before", "Before"),
    ("after", "After"),
    ("on_failure", "OnFailure"),
    ("on_success", "OnSuccess"),
    ("propagates_reload_to", "PropagatesReloadTo"),
    ("reload_propagated_from", "ReloadPropagatedFrom"),
)
# Relations whose targets a target unit orders itself After= (UNIT_ATOM_ADD_DEFAULT_TARGET_
# DEPENDENCY_QUEUE in unit-dependency-atom.c).
_TARGET_ORDERED = ("Requires", "Requisite", "Wants", "BindsTo", "Upholds", "PartOf")


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """What transactions need to know about one unit besides its edges."""

    id: str
    type: str
    load_state: str  # loaded, not-found, bad-setting, error, masked
    description: str
    default_dependencies: bool = True
    stop_when_unneeded: bool = False
    refuse_manual_start: bool = False
    refuse_manual_stop: bool = False
    allow_isolate: bool = False
    ignore_on_isolate: bool = False
    on_failure_job_mode: str = "replace"
    can_reload: bool = False
    can_start: bool = True
    load_error: str = ""


def _unit_type(name: str) -> str:
    return name.rsplit(".", 1)[-1] if "." in name else ""


def info_of(unit: Unit) -> UnitInfo:
    """The UnitInfo of a typed unit (unit_can_reload(): services with ExecReload=)."""
    u = unit.unit
    can_reload = unit.type == "service" and bool(unit.service and unit.service.exec_reload)
    return UnitInfo(
        id=unit.id,
        type=unit.type,
        load_state=unit.load_state,
        description=u.description or unit.id,
        default_dependencies=u.default_dependencies,
        stop_when_unneeded=u.stop_when_unneeded,
        refuse_manual_start=u.refuse_manual_start,
        refuse_manual_stop=u.refuse_manual_stop,
        allow_isolate=u.allow_isolate,
        ignore_on_isolate=u.ignore_on_isolate,
        on_failure_job_mode=u.on_failure_job_mode,
        can_reload=can_reload,
        # unit_can_start(): types pidone cannot start (mount, device, ...) are "not
        # applicable" for restart; start/stop/verify jobs are always allowed (job.c)
        can_start=unit.type in ("service", "socket", "target", "timer", "slice", "path"),
        load_error=unit.load_error,
    )


def stub_info(name: str) -> UnitInfo:
    """A referenced unit without a file: systemd's stub with load state not-found."""
    return UnitInfo(id=name, type=_unit_type(name), load_state="not-found", description=name)


class DepGraph:
    """Units (with stubs for referenced names) and their relations, in insertion order."""

    __slots__ = ("_aliases", "_edges", "units")

    def __init__(
        self,
        units: Mapping[str, UnitInfo],
        edges: Mapping[str, Mapping[str, dict[str, None]]],
        aliases: Mapping[str, str],
    ) -> None:
        self.units: dict[str, UnitInfo] = dict(units)
        self._edges = {u: {r: dict(t) for r, t in rel.items()} for u, rel in edges.items()}
        self._aliases = dict(aliases)

    def resolve(self, name: str) -> str:
        """The unit id for any of its names (unknown names stay as they are)."""
        return self._aliases.get(name, name)

    def info(self, name: str) -> UnitInfo:
        """The unit's info; a not-found stub for a name never seen."""
        uid = self.resolve(name)
        found = self.units.get(uid)
        return found if found is not None else stub_info(uid)

    def deps(self, name: str, relation: str) -> tuple[str, ...]:
        """Units that `name` has `relation` to, in the order the edges were added."""
        rel = self._edges.get(self.resolve(name))
        if rel is None:
            return ()
        return tuple(rel.get(relation, ()))

    def has(self, name: str, relation: str, other: str) -> bool:
        """True if `name` has `relation` to `other`."""
        rel = self._edges.get(self.resolve(name))
        return rel is not None and self.resolve(other) in rel.get(relation, {})

    def relations(self, name: str) -> dict[str, tuple[str, ...]]:
        """Every non-empty relation of a unit (for `show` and `list-dependencies`)."""
        rel = self._edges.get(self.resolve(name), {})
        return {r: tuple(t) for r, t in rel.items() if t}

    def ordered_neighbours(self, name: str) -> tuple[str, ...]:
        """Units ordered against `name` either way: whose jobs to re-check when its job ends
        (job_finish_and_invalidate() puts their jobs back on the run queue)."""
        seen = dict.fromkeys(self.deps(name, "After"))
        seen.update(dict.fromkeys(self.deps(name, "Before")))
        return tuple(seen)


class _Builder:
    def __init__(self) -> None:
        self.units: dict[str, UnitInfo] = {}
        self.edges: dict[str, dict[str, dict[str, None]]] = {}
        self.aliases: dict[str, str] = {}

    def node(self, name: str) -> str:
        uid = self.aliases.get(name, name)
        if uid not in self.units:
            self.units[uid] = stub_info(uid)
        return uid

    def add(self, a: str, relation: str, b: str) -> None:
        ua, ub = self.node(a), self.node(b)
        if ua == ub:
            return  # unit_add_dependency(): "We won't allow dependencies on ourselves"
        self.edges.setdefault(ua, {}).setdefault(relation, {})[ub] = None
        self.edges.setdefault(ub, {}).setdefault(INVERSE[relation], {})[ua] = None

    def remove(self, a: str, relation: str, b: str) -> None:
        self.edges.get(a, {}).get(relation, {}).pop(b, None)
        self.edges.get(b, {}).get(INVERSE[relation], {}).pop(a, None)

    def has(self, a: str, relation: str, b: str) -> bool:
        return b in self.edges.get(a, {}).get(relation, {})


def build_graph(
    units: Iterable[Unit], load: Callable[[str], Unit | None] | None = None
) -> DepGraph:
    """The graph of `units` (built models; one per unit, aliases listed in `names`).

    `load(name)` (optional) loads a referenced name that is not among `units`, as systemd
    loads every unit a dependency names: template instances (`modprobe@drm.service`) and
    aliases come in this way. A referenced slice without a file is synthesized (rule 3).
    """
    b = _Builder()
    models = list(units)
    for unit in models:
        _register(b, unit)
    for unit in models:
        _add_edges(b, unit)
    tried: set[str] = set()
    while load is not None:
        todo = [n for n, i in b.units.items() if i.load_state == "not-found" and n not in tried]
        if not todo:
            break
        for name in todo:
            tried.add(name)
            found = load(name)
            if found is None or found.load_state == "not-found":
                continue
            if found.id in b.units and b.units[found.id].load_state != "not-found":
                _merge(b, name, found.id)  # an alias of a unit already there
                continue
            models.append(found)
            _register(b, found)
            if name != found.id:
                _merge(b, name, found.id)
            _add_edges(b, found)
    for name, info in list(b.units.items()):
        if info.load_state == "not-found" and info.type in ("slice", "device"):
            # slice_load()/device_load(): no fragment required, the unit is "loaded"
            b.units[name] = replace(info, load_state="loaded", description=_describe(name))
        if b.units[name].type == "slice" and b.units[name].load_state == "loaded":
            _slice_edges(b, name)
    for unit in models:
        if unit.type == "target":
            _target_defaults(b, unit)
    return DepGraph(b.units, b.edges, b.aliases)


def _register(b: _Builder, unit: Unit) -> None:
    b.units[unit.id] = info_of(unit)
    for name in unit.names:
        if name != unit.id:
            b.aliases[name] = unit.id


def _add_edges(b: _Builder, unit: Unit) -> None:
    for field_name, relation in _MODEL_FIELDS:
        for other in getattr(unit.unit, field_name):
            b.add(unit.id, relation, other)
    triggered = _triggered_unit(unit)
    if triggered:
        b.add(unit.id, "Triggers", triggered)


def _merge(b: _Builder, stub: str, real: str) -> None:
    """unit_merge(): the stub node of an alias becomes the real unit."""
    b.aliases[stub] = real
    for relation, others in b.edges.pop(stub, {}).items():
        for other in list(others):
            b.remove(stub, relation, other)
            b.add(real, relation, other)
    if stub != real:
        b.units.pop(stub, None)


def _describe(name: str) -> str:
    """The Description= of a unit that exists without a file: a slice names its cgroup
    path ("Slice /system/getty"), anything else its name."""
    if name.endswith(".slice") and name != "-.slice":
        return "Slice /" + name[: -len(".slice")].replace("-", "/")
    return name


def _slice_edges(b: _Builder, name: str) -> None:
    """slice_add_parent_slice(): a slice Requires=+After= its parent (`system-getty.slice`
    -> `system.slice` -> `-.slice`); slice_add_default_dependencies(): Conflicts=+Before=
    shutdown.target (with DefaultDependencies=yes; the root slice is perpetual)."""
    if name == "-.slice":
        return
    stem = name[: -len(".slice")]
    parent = stem.rsplit("-", 1)[0] + ".slice" if "-" in stem else "-.slice"
    b.add(name, "Requires", parent)
    b.add(name, "After", parent)
    if b.units[name].default_dependencies:
        b.add(name, "Conflicts", "shutdown.target")
        b.add(name, "Before", "shutdown.target")


def _triggered_unit(unit: Unit) -> str:
    if unit.load_state != "loaded":
        return ""
    stem = unit.id.rsplit(".", 1)[0]
    if unit.socket is not None and not unit.socket.accept:
        return unit.socket.service or f"{stem}.service"
    if unit.timer is not None:
        return unit.timer.unit or f"{stem}.service"
    return ""


def _target_defaults(b: _Builder, unit: Unit) -> None:
    """target_add_default_dependencies() + unit_add_default_target_dependency()."""
    tid = unit.id
    t = b.units[tid]
    pulled: dict[str, None] = {}
    for relation in _TARGET_ORDERED:
        pulled.update(b.edges.get(tid, {}).get(relation, {}))
    for other in pulled:
        o = b.units[other]
        contradicted = b.has(tid, "Before", other)
        if contradicted and b.has(tid, "After", other):
            b.remove(tid, "After", other)  # an implicit After= core.units could not avoid
        if contradicted or not t.default_dependencies or t.load_state != "loaded":
            continue
        if o.load_state != "loaded" or not o.default_dependencies:
            continue
        b.add(tid, "After", other)
