"""Test helpers: dependency graphs from in-memory unit texts (plus pidone's built-in units)."""

from __future__ import annotations

from collections.abc import Mapping

from pidone.core.depgraph import DepGraph, build_graph
from pidone.core.model import Unit
from pidone.core.targets import BUILTIN_ALIASES, BUILTIN_UNITS
from pidone.core.transaction import InstalledJob, TransactionResult, build_transaction
from pidone.core.unitfile import parse_unit_file
from pidone.core.unitname import KNOWN_SECTIONS
from pidone.core.units import build_unit
from pidone.core.unitsource import LoadState, UnitSource
from tests.core.unitbuild import HOST

SERVICE_BODY = "[Service]\nExecStart=/bin/true\n"


def make_unit(
    name: str,
    text: str,
    load_state: LoadState = "loaded",
    aliases: tuple[str, ...] = (),
    path: str = "",
) -> Unit:
    """A built unit from its text; services without [Service] get `ExecStart=/bin/true`."""
    utype = name.rsplit(".", 1)[-1]
    if utype == "service" and "[Service]" not in text:
        text = text + "\n" + SERVICE_BODY
    if load_state != "loaded":
        source = UnitSource(name=name, id=name, names=(name, *aliases), load_state=load_state)
        return build_unit(source, HOST)
    fragment = path or f"/etc/systemd/system/{name}"
    parsed = parse_unit_file(text.encode(), fragment, KNOWN_SECTIONS.get(utype))
    source = UnitSource(
        name=name,
        id=name,
        names=(name, *aliases),
        load_state="loaded",
        fragment_path=fragment,
        files=(parsed,),
    )
    return build_unit(source, HOST)


def graph(
    texts: Mapping[str, str],
    builtins: bool = True,
    masked: tuple[str, ...] = (),
) -> DepGraph:
    """The graph of `texts` (name -> [Unit]... text), the built-in units that no text
    overrides (without `builtins`: only the slices every service requires), `masked` names."""
    units = [make_unit(n, t) for n, t in texts.items()]
    units += [make_unit(n, "", "masked") for n in masked]
    if not builtins:
        units += [make_unit(n, BUILTIN_UNITS[n].decode()) for n in ("-.slice", "system.slice")]
    else:
        aliases: dict[str, tuple[str, ...]] = {}
        for alias, real in BUILTIN_ALIASES.items():
            if alias not in texts:
                aliases.setdefault(real, ())
                aliases[real] = (*aliases[real], alias)
        for name, data in BUILTIN_UNITS.items():
            if name not in texts:
                units.append(
                    make_unit(name, data.decode(), aliases=aliases.get(name, ()), path=f"/b/{name}")
                )
    return build_graph(units)


def plan(
    g: DepGraph,
    unit: str,
    job_type: str = "start",
    mode: str = "replace",
    active: tuple[str, ...] = (),
    states: Mapping[str, str] | None = None,
    installed: Mapping[str, InstalledJob] | None = None,
    order: tuple[str, ...] = (),
) -> TransactionResult:
    """build_transaction with units in `active` active and `states` overriding."""
    table = dict.fromkeys(active, "active")
    table.update(states or {})
    return build_transaction(
        g,
        unit,
        job_type,  # type: ignore[arg-type]
        mode,
        state=lambda u: table.get(u, "inactive"),
        installed=installed,
        order=order,
    )


def jobs(result: TransactionResult, slices: bool = False) -> list[str]:
    """`unit/type` for each planned job, in runnable order (slice jobs only with `slices`)."""
    assert result.ok, result.error
    return [f"{j.unit}/{j.type}" for j in result.jobs if slices or not j.unit.endswith(".slice")]


def job_set(result: TransactionResult) -> set[str]:
    return set(jobs(result))


def waits(result: TransactionResult) -> dict[str, set[str]]:
    """unit -> the units whose jobs it waits for (only jobs of this transaction; slices,
    which every service waits for, are left out)."""
    by_id = {j.id: j.unit for j in result.jobs}
    return {
        j.unit: {by_id[w] for w in j.waits_for if w in by_id and not by_id[w].endswith(".slice")}
        for j in result.jobs
        if not j.unit.endswith(".slice")
    }


def logs(result: TransactionResult, max_priority: int = 6) -> list[str]:
    return [line.message for line in result.log if line.priority <= max_priority]
