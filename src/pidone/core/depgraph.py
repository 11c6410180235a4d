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
   is a loaded, empty unit; every slice Requires=+After= its parent slice, which is loaded
   or synthesized in turn (`a-b-c.slice` needs no `a-b.slice` file, as in 252).
4. Aliases resolve to the unit's id everywhere (unit_follow_merge()).
5. References (UNIT_ATOM_REFERENCES in 252: every dependency a unit file states, a socket's
   or timer's Triggers=, a slice's parent, a target's default After=) are kept apart from
   the edges: a unit nothing references may be garbage-collected (core.unittable rule 5).
   An Accept=yes socket's Triggers= on its connection instances is not a reference
   (socket.c adds it with add_reference=false), and pidone does not put it in the graph.
6. RequiresMountsFor= (stated and implied, core.units; core.mountsfor names the mount units
   of every prefix): Requires=+After= each such mount unit that is loaded (After= only when
   it has no file), whichever of the two loads first (unit_add_mount_dependencies() on the
   unit's side, mount_add_mount_dependencies() on the mount's). These names are loaded
   like referenced ones, but one that has no unit leaves no stub behind.
7. The graph grows in place: `DepGraph.insert()` adds newly loaded units at the cost of
   their own edges (plus the units they load), and `DepGraph.remove()` takes out an
   unreferenced unit at the cost of its edges. Both give the graph a full `build_graph()`
   of the same units would give (tests/core/test_depgraph_incremental.py); only the order
   of a relation's members may differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from pidone.core.cgroupunit import parent_slice
from pidone.core.dataclass_lite import dataclass, replace
from pidone.core.errors import ValueParseError
from pidone.core.escape import unescape_path
from pidone.core.model import Unit
from pidone.core.mountsfor import mount_unit_names
from pidone.core.targets import PERPETUAL

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
    perpetual: bool = False  # core.targets.PERPETUAL: no stop, no restart
    load_error: str = ""
    target_default_after: tuple[str, ...] = ()  # core.model UnitSection's, for _target_pair
    own_before: Sequence[str] = ()  # Before= of the unit's own files (the model's list)
    fragment: bool = False  # loaded from a unit file (a mount is Required= only then)
    mounts_for: tuple[str, ...] = ()  # rule 6: mount units of RequiresMountsFor= prefixes


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
        perpetual=unit.id in PERPETUAL and unit.load_state == "loaded",
        load_error=unit.load_error,
        target_default_after=u.target_default_after,
        own_before=u.before,
        fragment=bool(unit.fragment_path),
        mounts_for=(
            mount_unit_names(u.requires_mounts_for)
            if unit.load_state == "loaded" and u.requires_mounts_for
            else ()
        ),
    )


def stub_info(name: str) -> UnitInfo:
    """A referenced unit without a file: systemd's stub with load state not-found."""
    return UnitInfo(id=name, type=_unit_type(name), load_state="not-found", description=name)


class DepGraph:
    """Units (with stubs for referenced names) and their relations, in insertion order."""

    __slots__ = (
        "_aliases",
        "_edges",
        "_fresh",
        "_models",
        "_mount_users",
        "_refs",
        "_tried",
        "changes",
        "units",
    )

    def __init__(
        self,
        units: Mapping[str, UnitInfo] | None = None,
        edges: Mapping[str, Mapping[str, dict[str, None]]] | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.units: dict[str, UnitInfo] = dict(units or {})
        self._edges: dict[str, dict[str, dict[str, None]]] = {
            u: {r: dict(t) for r, t in rel.items()} for u, rel in (edges or {}).items()
        }
        self._aliases: dict[str, str] = dict(aliases or {})
        self._refs: dict[str, dict[str, None]] = {}  # unit -> the units referencing it
        self._tried: set[str] = set()  # stub names the loader has been asked for
        self._fresh: dict[str, None] | None = None  # nodes created during an insert()
        self._models: set[str] = set(self.units)  # nodes that are units, not stubs
        # rule 6: mount unit name -> the loaded units whose RequiresMountsFor= names it
        self._mount_users: dict[str, dict[str, None]] = {}
        # Bumped by every change after construction (insert, remove, adopt): what a result
        # computed from this graph may be remembered against (core.txcache).
        self.changes = 0

    # --- queries -----------------------------------------------------------------------------

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

    def referenced_by(self, name: str) -> tuple[str, ...]:
        """The units that reference `name` (rule 5: UNIT_ATOM_REFERENCED_BY)."""
        return tuple(self._refs.get(self.resolve(name), ()))

    def aliases_of(self, uid: str) -> tuple[str, ...]:
        """Alias names resolving to `uid` (for tests and `show Names=`; O(aliases))."""
        return tuple(a for a, u in self._aliases.items() if u == uid)

    # --- growing and shrinking (rule 6) --------------------------------------------------

    def insert(
        self, units: Iterable[Unit], load: Callable[[str], Unit | None] | None = None
    ) -> list[str] | None:
        """Add newly loaded units (and what they name, through `load`) in place.

        Returns the ids whose node was added or changed, or None when a unit is already
        in the graph as a loaded unit (a changed model: rebuild the graph instead)."""
        models = list(units)
        for unit in models:
            if any(
                self.units.get(self.resolve(n), _STUB).load_state != "not-found"
                for n in (unit.id, *unit.names)
            ):
                return None
        self.changes += 1
        self._fresh = {}
        try:
            changed: dict[str, None] = {}
            touched: dict[str, None] = {}
            for unit in models:
                self._register_unit(unit, changed)
            for unit in models:
                _add_edges(self, unit, touched)
            reached = dict(touched)
            settled: set[str] = set()
            while True:
                self._load_named(models, touched, reached, changed, load)
                changed.update(self._fresh)
                # a stub the new edges reach may become a file-less slice or device
                changed.update((n, None) for n in reached if self.info(n).load_state == "not-found")
                for name in list(changed):
                    if name in self.units and name not in settled:
                        settled.add(name)
                        self._settle(name)
                parents = [n for n in self._fresh if n not in changed]  # a slice's new parent
                if not parents:
                    break
                touched.update(dict.fromkeys(parents))
            for unit in models:
                self._mount_edges(unit.id)
            self._target_pairs(changed, models)
            return [n for n in changed if n in self.units]
        finally:
            self._fresh = None

    def remove(self, uid: str) -> None:
        """Take an unreferenced unit out with all its edges and aliases; stubs that only
        it named go too (a full build would not create them)."""
        self.changes += 1
        uid = self.resolve(uid)
        for relation, others in self._edges.pop(uid, {}).items():
            inverse = INVERSE[relation]
            for other in others:
                back = self._edges.get(other, {}).get(inverse)
                if back is not None:
                    back.pop(uid, None)
                refs = self._refs.get(other)
                if refs is not None:
                    refs.pop(uid, None)
                self._drop_if_orphan_stub(other)
        self._refs.pop(uid, None)
        gone = self.units.pop(uid, None)
        for name in gone.mounts_for if gone is not None else ():
            users = self._mount_users.get(name)
            if users is not None:
                users.pop(uid, None)
                if not users:
                    del self._mount_users[name]
        self._models.discard(uid)
        self._tried.discard(uid)
        for alias in self.aliases_of(uid) if self._aliases else ():
            del self._aliases[alias]

    def adopt(self, unit: Unit) -> None:
        """A file-less slice or device the graph made loaded now has a (bare) model."""
        self.changes += 1
        self._register(unit)

    # --- the primitives build_graph() uses ------------------------------------------------

    def _node(self, name: str) -> str:
        uid = self._aliases.get(name, name)
        if uid not in self.units:
            self.units[uid] = stub_info(uid)
            if self._fresh is not None:
                self._fresh[uid] = None
        return uid

    def _add(self, a: str, relation: str, b: str, ref: bool = True) -> str:
        ua, ub = self._node(a), self._node(b)
        if ua == ub:
            return ub  # unit_add_dependency(): "We won't allow dependencies on ourselves"
        self._edges.setdefault(ua, {}).setdefault(relation, {})[ub] = None
        self._edges.setdefault(ub, {}).setdefault(INVERSE[relation], {})[ua] = None
        if ref:
            self._refs.setdefault(ub, {})[ua] = None
        return ub

    def _remove(self, a: str, relation: str, b: str) -> None:
        self._edges.get(a, {}).get(relation, {}).pop(b, None)
        self._edges.get(b, {}).get(INVERSE[relation], {}).pop(a, None)

    def _has(self, a: str, relation: str, b: str) -> bool:
        return b in self._edges.get(a, {}).get(relation, {})

    def _register(self, unit: Unit) -> None:
        info = self.units[unit.id] = info_of(unit)
        self._models.add(unit.id)
        for name in info.mounts_for:
            self._mount_users.setdefault(name, {})[unit.id] = None
        for name in unit.names:
            if name != unit.id:
                self._aliases[name] = unit.id

    def _merge(self, stub: str, real: str) -> None:
        """unit_merge(): the stub node of an alias becomes the real unit."""
        self._aliases[stub] = real
        for relation, others in self._edges.pop(stub, {}).items():
            for other in list(others):
                self._remove(stub, relation, other)
                self._add(real, relation, other, ref=False)
        for referrer in self._refs.pop(stub, {}):
            if referrer != real:
                self._refs.setdefault(real, {})[referrer] = None
        if stub != real:
            self.units.pop(stub, None)
            self._models.discard(stub)

    # --- insert() steps ----------------------------------------------------------------------

    def _register_unit(self, unit: Unit, changed: dict[str, None]) -> None:
        """Register a model; a stub already standing for one of its names merges into it."""
        self._register(unit)
        changed[unit.id] = None
        for name in unit.names:
            if name != unit.id and name in self.units:
                self._merge(name, unit.id)

    def _load_named(
        self,
        models: list[Unit],
        touched: dict[str, None],
        reached: dict[str, None],
        changed: dict[str, None],
        load: Callable[[str], Unit | None] | None,
    ) -> None:
        """build_graph()'s load loop over the names the new edges reach."""
        while load is not None:
            todo = [
                n
                for n in touched
                if n not in self._tried and self.units.get(n, _STUB).load_state == "not-found"
            ]
            reached.update(touched)
            touched.clear()
            if not todo:
                return
            for name in todo:
                self._tried.add(name)
                found = load(name)
                if found is None or found.load_state == "not-found":
                    continue
                if found.id in self.units and self.units[found.id].load_state != "not-found":
                    if name != found.id:  # an alias of a unit already there
                        self._merge(name, found.id)
                        changed[found.id] = None
                    continue
                models.append(found)
                self._register_unit(found, changed)
                if name != found.id and name in self.units:
                    self._merge(name, found.id)
                _add_edges(self, found, touched)

    def _settle(self, name: str) -> None:
        """A file-less slice or device becomes loaded; a loaded slice gets its parent."""
        info = self.units[name]
        if info.load_state == "not-found" and info.type in ("slice", "device"):
            self.units[name] = loaded_without_file(info)
        if self.units[name].type == "slice" and self.units[name].load_state == "loaded":
            _slice_edges(self, name)

    def _target_pairs(self, changed: dict[str, None], models: list[Unit]) -> None:
        """Target default ordering: targets already there re-check the changed units they
        pull in, then the new targets run it whole (build_graph()'s order)."""
        new_targets = {u.id for u in models if u.type == "target"}
        for name in changed:
            for relation in _TARGET_ORDERED:
                for tid in self.deps(name, INVERSE[relation]):
                    if tid not in new_targets and self.units[tid].type == "target":
                        _target_pair(self, tid, name)
        for unit in models:
            if unit.type == "target":
                _target_defaults(self, unit)

    def _mount_edges(self, uid: str) -> None:
        """Rule 6 for one loaded unit, both ways: to the mounts its paths need, and (for a
        mount) from the units whose paths need it."""
        info = self.units.get(uid)
        if info is None or info.load_state != "loaded":
            return
        for name in info.mounts_for:
            _mount_pair(self, uid, self.resolve(name))
        if info.type == "mount":
            for name in (uid, *self.aliases_of(uid)) if self._aliases else (uid,):
                for user in self._mount_users.get(name, ()):
                    _mount_pair(self, user, uid)

    def _drop_if_orphan_stub(self, name: str) -> None:
        info = self.units.get(name)
        if info is None or info.load_state != "not-found" or name in self._models:
            return
        if any(self._edges.get(name, {}).values()):
            return
        self._edges.pop(name, None)
        self._refs.pop(name, None)
        self.units.pop(name, None)
        self._tried.discard(name)


_STUB = UnitInfo(id="", type="", load_state="not-found", description="")


def build_graph(
    units: Iterable[Unit], load: Callable[[str], Unit | None] | None = None
) -> DepGraph:
    """The graph of `units` (built models; one per unit, aliases listed in `names`).

    `load(name)` (optional) loads a referenced name that is not among `units`, as systemd
    loads every unit a dependency names: template instances (`modprobe@drm.service`) and
    aliases come in this way. A referenced slice without a file is synthesized (rule 3).
    """
    b = DepGraph()
    models = list(units)
    for unit in models:
        b._register(unit)
    for unit in models:
        _add_edges(b, unit)
    tried = b._tried
    settled: set[str] = set()
    while True:
        while load is not None:
            todo = [n for n, i in b.units.items() if i.load_state == "not-found" and n not in tried]
            todo += [n for n in b._mount_users if n not in b.units and n not in tried]
            if not todo:
                break
            for name in todo:
                tried.add(name)
                found = load(name)
                if found is None or found.load_state == "not-found":
                    continue
                if found.id in b.units and b.units[found.id].load_state != "not-found":
                    b._merge(name, found.id)  # an alias of a unit already there
                    continue
                models.append(found)
                b._register(found)
                if name != found.id:
                    b._merge(name, found.id)
                _add_edges(b, found)
        # Rule 3 once every name has been tried: a slice's parent is a name of its own,
        # loaded (or synthesized) in the next round (`a-b-c.slice` -> `a-b.slice` -> `a.slice`).
        nodes = len(b.units)
        for name in list(b.units):
            if name not in settled:
                settled.add(name)
                b._settle(name)
        if len(b.units) == nodes:
            break
    if b._mount_users:  # rule 6, once every unit is in
        for uid in list(b.units):
            if b.units[uid].mounts_for:
                b._mount_edges(uid)
    for unit in models:
        if unit.type == "target":
            _target_defaults(b, unit)
    return b


def _add_edges(b: DepGraph, unit: Unit, touched: dict[str, None] | None = None) -> None:
    for field_name, relation in _MODEL_FIELDS:
        for other in getattr(unit.unit, field_name):
            target = b._add(unit.id, relation, other)
            if touched is not None:
                touched[target] = None
    triggered = _triggered_unit(unit)
    if triggered:
        target = b._add(unit.id, "Triggers", triggered)
        if touched is not None:
            touched[target] = None
    if touched is not None:  # rule 6: names to load, not nodes (no stub if none is there)
        touched.update(dict.fromkeys(b.units[unit.id].mounts_for))


def loaded_without_file(info: UnitInfo) -> UnitInfo:
    """Rule 3: a slice or device named without a file is loaded all the same
    (slice_load()/device_load() call unit_load_fragment_and_dropin(u, false))."""
    if info.load_state != "not-found" or info.type not in ("slice", "device"):
        return info
    return replace(info, load_state="loaded", description=_describe(info.id))


def _describe(name: str) -> str:
    """The Description= of a slice or device that exists without a file: the path its name
    stands for (unit_name_to_path()), after "Slice " for a slice: `system-getty.slice` is
    "Slice /system/getty", `dev-sdz9.device` "/dev/sdz9" (slice_load(), and a device's
    description before udev has set one)."""
    stem, _, kind = name.rpartition(".")
    if name == "-.slice" or not stem:
        return name
    try:
        path = unescape_path(stem)
    except ValueParseError:
        return name
    return f"Slice {path}" if kind == "slice" else path


def _slice_edges(b: DepGraph, name: str) -> None:
    """slice_add_parent_slice(): a slice Requires=+After= its parent (`system-getty.slice`
    -> `system.slice` -> `-.slice`); slice_add_default_dependencies(): Conflicts=+Before=
    shutdown.target (with DefaultDependencies=yes; the root slice is perpetual)."""
    if name == "-.slice":
        return
    parent = parent_slice(name)
    b._add(name, "Requires", parent)
    b._add(name, "After", parent)
    if b.units[name].default_dependencies:
        b._add(name, "Conflicts", "shutdown.target")
        b._add(name, "Before", "shutdown.target")


def _triggered_unit(unit: Unit) -> str:
    if unit.load_state != "loaded":
        return ""
    stem = unit.id.rsplit(".", 1)[0]
    if unit.socket is not None and not unit.socket.accept:
        return unit.socket.service or f"{stem}.service"
    if unit.timer is not None:
        return unit.timer.unit or f"{stem}.service"
    if unit.path is not None:  # path_add_trigger_dependencies(): Unit=, else the sibling
        return unit.path.unit or f"{stem}.service"
    return ""


def _mount_pair(b: DepGraph, user: str, mount: str) -> None:
    """unit_add_mount_dependencies(): After= a loaded mount unit, Requires= it too when it
    has a file ("If we have fragment configuration, then make this dependency required")."""
    info = b.units.get(mount)
    if user == mount or info is None or info.type != "mount" or info.load_state != "loaded":
        return
    if b.units[user].load_state != "loaded":
        return
    b._add(user, "After", mount)
    if info.fragment:
        b._add(user, "Requires", mount)


def _target_defaults(b: DepGraph, unit: Unit) -> None:
    """target_add_default_dependencies() + unit_add_default_target_dependency()."""
    tid = unit.id
    pulled: dict[str, None] = {}
    for relation in _TARGET_ORDERED:
        pulled.update(b._edges.get(tid, {}).get(relation, {}))
    for other in pulled:
        _target_pair(b, tid, other)


def _target_pair(b: DepGraph, tid: str, other: str) -> None:
    """One target and one unit it pulls in: After= unless that would make a loop."""
    t, o = b.units[tid], b.units[other]
    contradicted = b._has(tid, "Before", other)
    if contradicted and b._has(tid, "After", other):
        b._remove(tid, "After", other)  # an implicit After= core.units could not avoid
    if contradicted or not t.default_dependencies or t.load_state != "loaded":
        return
    if o.load_state != "loaded" or not o.default_dependencies:
        # unit_add_default_target_dependency(): no After= when either side has
        # DefaultDependencies=no. basic.target Wants=timers.target (DefaultDependencies=no)
        # without ordering; an implicit After= there closes a cycle through calendar timers
        # (After=time-sync.target), chrony.service (Before=time-sync.target, After=
        # basic.target), and the transaction deleted timers.target/start to break it.
        # (Unless the other unit says Before= the target itself: the same edge, kept.)
        # Names as written: either side may be an alias of the unit the edge ends at.
        implicit = any(b.resolve(n) == other for n in t.target_default_after)
        if implicit and not any(b.resolve(n) == tid for n in o.own_before):
            b._remove(tid, "After", other)
        return
    b._add(tid, "After", other)
