"""Test helpers: build a typed Unit from golden files or text, without touching the loader."""

from __future__ import annotations

from pathlib import Path

from pidone.core.model import Unit
from pidone.core.specifiers import SpecifierHost
from pidone.core.unitfile import parse_unit_file
from pidone.core.unitname import KNOWN_SECTIONS
from pidone.core.units import build_unit
from pidone.core.unitsource import UnitSource

DATA = Path(__file__).parent / "data"
UNITS = DATA / "units"
HOST = SpecifierHost(hostname="host.example", machine_id="0" * 32)


PACKAGED_UNITS = Path(__file__).parents[1] / "data" / "packaged-units"


def packaged_unit(name: str) -> Unit:
    """Debian 12's own unit file `name`, vendored in tests/data/packaged-units (package and
    version in its SOURCES.txt), at the path the oracle read it from; no drop-ins."""
    vendored = PACKAGED_UNITS / name
    if not vendored.is_file():
        raise FileNotFoundError(f"{vendored} is not vendored: see scripts/fetch_packaged_units.sh")
    return unit_from_bytes(name, vendored.read_bytes(), path=f"/lib/systemd/system/{name}")


def unit_from_bytes(
    unit_id: str, fragment: bytes, dropins: tuple[bytes, ...] = (), path: str = ""
) -> Unit:
    utype = unit_id.rsplit(".", 1)[-1]
    sections = KNOWN_SECTIONS.get(utype)
    fragment_path = path or f"/etc/systemd/system/{unit_id}"
    files = [parse_unit_file(fragment, fragment_path, sections)]
    dropin_paths = []
    for index, data in enumerate(dropins):
        dpath = f"/etc/systemd/system/{unit_id}.d/{index:02d}.conf"
        dropin_paths.append(dpath)
        files.append(parse_unit_file(data, dpath, sections))
    source = UnitSource(
        name=unit_id,
        id=unit_id,
        names=(unit_id,),
        load_state="loaded",
        fragment_path=fragment_path,
        files=tuple(files),
        dropin_paths=tuple(dropin_paths),
    )
    return build_unit(source, HOST)


def unit_from_text(unit_id: str, text: str, *dropins: str) -> Unit:
    return unit_from_bytes(unit_id, text.encode(), tuple(d.encode() for d in dropins))


def golden(file_name: str, unit_id: str | None = None, *dropin_files: str) -> Unit:
    """A golden file from tests/core/data/units, loaded as `unit_id` (default: its name)."""
    path = UNITS / file_name
    dropins = tuple((UNITS / d).read_bytes() for d in dropin_files)
    return unit_from_bytes(unit_id or file_name, path.read_bytes(), dropins, str(path))


def messages(unit: Unit) -> list[str]:
    """Diagnostics as `LINE: message` (file-level) or `message` (unit-level)."""
    return [f"{d.line}: {d.message}" if d.line else d.message for d in unit.diagnostics]
