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


PACKAGED_DIR = Path("/lib/systemd/system")
DROPIN_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system")


def packaged_unit(name: str) -> Unit:
    """Debian's own unit file `name` from this machine's /lib/systemd/system, as the oracle
    reads it; the test is skipped where it is missing or drop-ins change it."""
    import pytest

    path = PACKAGED_DIR / name
    if not path.is_file() or any(Path(d, f"{name}.d").is_dir() for d in DROPIN_DIRS):
        pytest.skip(f"{path} is not here, or has drop-ins")
    return unit_from_bytes(name, path.read_bytes(), path=str(path))


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
