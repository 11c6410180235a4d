"""What the loader found for one unit: its names, files and load state, before typing."""

from __future__ import annotations

from pidone.core.dataclass_lite import dataclass, field
from pidone.core.errors import Diagnostic
from pidone.core.hints import Literal
from pidone.core.unitfile import UnitFile

# systemctl show -p LoadState values (spec 01 §9)
LoadState = Literal["loaded", "not-found", "bad-setting", "error", "masked"]


@dataclass(frozen=True, slots=True)
class UnitSource:
    """The raw material of one unit, as the loader (linux.unitload) found it on disk.

    `files` holds the parsed fragment first, then the drop-ins in application order
    (spec 01 §10). `wants`/`requires` come from `.wants/` and `.requires/` directories
    (spec 01 §11). `core.units.build_unit` turns this into the typed model.
    """

    name: str  # the name that was asked for
    id: str  # the primary name: the fragment's own name (Id= in systemctl show)
    names: tuple[str, ...]  # every name of the unit, id first, then aliases
    load_state: LoadState
    fragment_path: str | None = None  # FragmentPath= ("" in show when None)
    source_path: str | None = None  # the file read when the fragment is a link outside the path
    files: tuple[UnitFile, ...] = ()
    dropin_paths: tuple[str, ...] = ()
    wants: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    load_error: str | None = None  # one-line reason for load_state error/bad-setting
