"""Units the daemon knows: loaded lazily by name (UnitLoader + build_unit), reloaded on demand.

The loader falls back to pidone's built-in targets and slices (core.targets) for names no
unit directory has, so `multi-user.target`, `default.target` and `shutdown.target` exist, and
a built-in still gets the `.wants/`/`.requires/` links of the unit path (that is how enabled
units join multi-user.target). The early-boot targets stay pidone's own whatever the unit
path holds (core.jobwiring.container_override, spec 04 §7), keeping only the enabled units
of sockets/timers/paths.target (core.jobwiring.admitted_links): the registry keeps the same
model the manager keeps, whether the unit was named by a client or by another unit's
dependency (both come through `load()`).

systemd loads a unit the first time something names it (manager_load_unit()) and keeps it
while it is referenced or active; `daemon-reload` re-reads every loaded unit while runtime
state (processes, timers, counters) stays with the service machines. Units that are not
found are not cached, so a file added later is found by the next request, as with
systemd's "not-found" units that are garbage-collected right away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pidone.core.errors import InvalidUnitName
from pidone.core.jobwiring import container_override
from pidone.core.model import Unit
from pidone.core.specifiers import SpecifierHost
from pidone.core.units import build_unit
from pidone.core.unitshare import share_unit
from pidone.linux.hostfacts import read_specifier_host
from pidone.linux.unitload import UnitLoader
from pidone.linux.unitpaths import UnitPaths, build_unit_paths, relocate_generator_dirs


class UnitRegistry:
    """Name -> Unit for every loaded unit (aliases map to the same object)."""

    def __init__(
        self,
        root: str | None = None,
        host: SpecifierHost | None = None,
        generator_base: str | None = None,
    ) -> None:
        self.root = root
        self.host = host if host is not None else read_specifier_host(root or "/")
        self.generator_base = generator_base  # the manager's own generator output (or none)
        self._loader = UnitLoader(self.paths(), builtins=True, watch=True)
        self._units: dict[str, Unit] = {}
        self._names: dict[str, str] = {}  # any name -> id
        self.on_loaded: Callable[[Unit], None] = lambda unit: None

    def paths(self) -> UnitPaths:
        """The unit search path, with the generator directories below `generator_base`."""
        paths = build_unit_paths(self.root)
        if self.generator_base is None:
            return paths
        return relocate_generator_dirs(paths, self.generator_base)

    def get(self, name: str) -> Unit | None:
        """The loaded unit called `name` (an id or alias), without loading."""
        uid = self._names.get(name)
        return self._units.get(uid) if uid is not None else None

    def load(self, name: str) -> Unit:
        """The unit `name`, loading it now if needed. Raises InvalidUnitName."""
        unit = self.get(name)
        if unit is not None:
            return unit
        source = self._loader.load(name)
        unit = container_override(build_unit(source, self.host), source)
        if unit.load_state == "not-found":
            return unit  # not cached: see the module docstring
        self._resolve_trigger_target(unit)
        self._remember(share_unit(unit), name)
        self.on_loaded(unit)
        return unit

    def unit_id_of(self, name: str) -> str:
        """The id of the unit called `name` (an alias gives its fragment's name), read from
        the unit path without loading the unit into the manager."""
        unit = self.get(name)
        if unit is not None:
            return unit.id
        try:
            return self._loader.load(name).id
        except InvalidUnitName:
            return name

    def _resolve_trigger_target(self, unit: Unit) -> None:
        """A socket's service (Service=, or the socket's own name with .service) and a
        timer's Unit= are unit *names*, and may be aliases: Debian's syslog.socket triggers
        syslog.service, which /etc/systemd/system/syslog.service links to rsyslog.service.
        systemd loads that name and so triggers (and passes its fds to) rsyslog.service
        (socket_add_extras() -> unit_load_related_unit(), which merges an alias into its
        unit). Here the name is replaced by the unit's id before the trigger machine is
        built, so LISTEN_FDS and TriggeredBy= find the service by its id."""
        sock, timer = unit.socket, unit.timer
        if sock is not None and not sock.accept and unit.load_state == "loaded":
            name = sock.service or unit.id.rsplit(".", 1)[0] + ".service"
            resolved = self.unit_id_of(name)
            if resolved != name:
                sock.service = resolved
        if timer is not None and unit.load_state == "loaded":
            name = timer.unit or unit.id.rsplit(".", 1)[0] + ".service"
            resolved = self.unit_id_of(name)
            if resolved != name:
                timer.unit = resolved

    def _remember(self, unit: Unit, asked: str) -> None:
        self._units[unit.id] = unit
        for alias in (*unit.names, asked):
            self._names[alias] = unit.id

    def forget(self, unit_id: str) -> None:
        """A unit the manager garbage-collected (core.unittable rule 5): loaded again from
        its file if it is ever named again, as systemd does."""
        unit = self._units.pop(unit_id, None)
        if unit is None:
            return
        for name in (unit_id, *unit.names):
            if self._names.get(name) == unit_id:
                del self._names[name]

    def reload(self) -> list[Unit]:
        """daemon-reload: a fresh loader (new directory listings); every unit re-read."""
        self._loader = UnitLoader(self.paths(), builtins=True, watch=True)
        self.host = read_specifier_host(self.root or "/")
        old = list(self._units)
        self._units.clear()
        self._names.clear()
        out = []
        for uid in old:
            try:
                source = self._loader.load(uid)
                unit = container_override(build_unit(source, self.host), source)
                self._resolve_trigger_target(unit)
                unit = share_unit(unit)
            except InvalidUnitName:
                continue
            self._remember(unit, uid)
            out.append(unit)
        return out

    def __iter__(self) -> Iterator[Unit]:
        return iter(list(self._units.values()))

    def unit_files(self) -> list[tuple[str, str]]:
        """(name, path) of every unit file on the search path (list-units --all)."""
        return self._loader.list_unit_files()
