"""core.depgraph: relations both ways, triggers, stubs, target default ordering."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pidone.core.depgraph import INVERSE, DepGraph, build_graph
from pidone.core.model import Unit
from pidone.core.targets import BUILTIN_UNITS
from pidone.core.unitfile import parse_unit_file
from pidone.core.unitname import KNOWN_SECTIONS
from pidone.core.units import build_unit
from pidone.core.unitsource import UnitSource
from tests.core.depkit import graph, make_unit
from tests.core.unitbuild import HOST

NODEPS = "[Unit]\nDefaultDependencies=no\n"

FORWARD = {
    "Wants": "WantedBy",
    "Requires": "RequiredBy",
    "Requisite": "RequisiteOf",
    "BindsTo": "BoundBy",
    "PartOf": "ConsistsOf",
    "Upholds": "UpheldBy",
    "Conflicts": "ConflictedBy",
    "Before": "After",
    "After": "Before",
    "OnFailure": "OnFailureOf",
    "OnSuccess": "OnSuccessOf",
    "PropagatesReloadTo": "ReloadPropagatedFrom",
    "ReloadPropagatedFrom": "PropagatesReloadTo",
}


def test_inverse_table_is_an_involution() -> None:
    for relation, inverse in INVERSE.items():
        assert INVERSE[inverse] == relation


@pytest.mark.parametrize(("directive", "inverse"), sorted(FORWARD.items()))
def test_every_directive_is_stored_both_ways(directive: str, inverse: str) -> None:
    # targets without default dependencies: no implicit edge gets in the way
    g = graph({"a.target": f"{NODEPS}{directive}=b.target\n", "b.target": NODEPS})
    assert g.deps("a.target", directive) == ("b.target",)
    assert g.deps("b.target", inverse) == ("a.target",)
    assert g.has("b.target", inverse, "a.target")


def test_referenced_units_are_not_found_stubs_and_self_edges_vanish() -> None:
    g = graph({"a.service": f"{NODEPS}After=auditd.service a.service\nWants=var-lib.mount\n"})
    stub = g.info("auditd.service")
    assert (stub.load_state, stub.type, stub.description) == (
        "not-found",
        "service",
        "auditd.service",
    )
    assert g.info("var-lib.mount").load_state == "not-found"
    assert "a.service" not in g.deps("a.service", "After")
    assert g.info("never-mentioned.service").load_state == "not-found"


def test_aliases_resolve_to_the_unit() -> None:
    g = graph({"x.service": f"{NODEPS}Wants=default.target\n"})
    assert g.resolve("default.target") == "multi-user.target"
    assert g.deps("x.service", "Wants") == ("multi-user.target",)
    assert g.deps("default.target", "WantedBy") == ("x.service",)


def test_socket_and_timer_trigger_their_units() -> None:
    g = graph(
        {
            "web.socket": "[Socket]\nListenStream=80\n",
            "web.service": "[Unit]\n",
            "other.socket": "[Socket]\nListenStream=81\nService=web.service\n",
            "per.socket": "[Socket]\nListenStream=82\nAccept=yes\n",
            "job.timer": "[Timer]\nOnCalendar=daily\nUnit=web.service\n",
        }
    )
    assert g.deps("web.service", "TriggeredBy") == ("web.socket", "other.socket", "job.timer")
    assert g.deps("per.socket", "Triggers") == ()  # Accept=yes: instances per connection
    assert g.has("web.socket", "Before", "web.service")
    assert g.has("job.timer", "After", "time-sync.target")  # OnCalendar= default


def test_default_dependencies_of_a_service_are_edges() -> None:
    g = graph({"a.service": "[Unit]\n"})
    assert set(g.deps("a.service", "Requires")) == {"sysinit.target", "system.slice"}
    assert set(g.deps("a.service", "After")) >= {"sysinit.target", "basic.target"}
    assert g.deps("a.service", "Conflicts") == ("shutdown.target",)
    assert "a.service" in g.deps("shutdown.target", "ConflictedBy")


def test_target_orders_itself_after_what_it_pulls_in_unless_that_loops() -> None:
    g = graph(
        {
            "t.target": "[Unit]\nWants=a.service late.service\nRequires=b.service\n",
            "a.service": "[Unit]\n",
            "b.service": "[Unit]\n",
            "late.service": "[Unit]\nAfter=t.target\n",
        }
    )
    assert g.has("t.target", "After", "a.service")
    assert g.has("t.target", "After", "b.service")
    # late.service orders itself after the target: no After= the other way (no loop)
    assert not g.has("t.target", "After", "late.service")
    assert g.has("t.target", "Before", "late.service")


def test_target_is_not_ordered_after_a_unit_with_default_dependencies_no() -> None:
    # unit_add_default_target_dependency(): either side with DefaultDependencies=no, no
    # After=. Debian's basic.target Wants=timers.target (DefaultDependencies=no) unordered;
    # an implicit After= closed a cycle through chrony.service and time-sync.target.
    g = graph(
        {
            "b.target": "[Unit]\nWants=timers.target quiet.target x.service\nAfter=quiet.target\n",
            "timers.target": "[Unit]\nDefaultDependencies=no\n",
            "quiet.target": "[Unit]\nDefaultDependencies=no\n",
            "early.target": "[Unit]\nDefaultDependencies=no\nBefore=c.target\n",
            "c.target": "[Unit]\nWants=early.target\n",
            "x.service": "[Unit]\n",
        }
    )
    assert not g.has("b.target", "After", "timers.target")
    assert g.has("b.target", "After", "quiet.target")  # written in b.target's own file
    assert g.has("b.target", "After", "x.service")
    assert g.has("c.target", "After", "early.target")  # early.target's own Before=


def test_wants_directory_links_become_wanted_by() -> None:
    data = b"[Unit]\nDescription=Mine\n"
    source = UnitSource(
        name="mine.target",
        id="mine.target",
        names=("mine.target",),
        load_state="loaded",
        fragment_path="/etc/systemd/system/mine.target",
        files=(parse_unit_file(data, "/etc/systemd/system/mine.target", KNOWN_SECTIONS["target"]),),
        wants=("svc.service",),
        requires=("hard.service",),
    )
    g = build_graph([build_unit(source, HOST), make_unit("svc.service", NODEPS)])
    assert g.deps("svc.service", "WantedBy") == ("mine.target",)
    assert g.deps("hard.service", "RequiredBy") == ("mine.target",)


def test_ordered_neighbours_and_relations() -> None:
    g = graph({"a.target": f"{NODEPS}After=b.service\nBefore=c.service\n"})
    assert g.ordered_neighbours("a.target") == ("b.service", "c.service")
    rel = g.relations("a.target")
    assert rel["Before"] == ("c.service",)
    assert "Wants" not in rel


def test_unit_info_flags() -> None:
    g = graph(
        {
            "a.service": "[Unit]\nStopWhenUnneeded=yes\nRefuseManualStart=yes\n"
            "IgnoreOnIsolate=yes\nOnFailureJobMode=isolate\n"
            "[Service]\nExecStart=/bin/true\nExecReload=/bin/true\n"
        }
    )
    info = g.info("a.service")
    assert info.stop_when_unneeded
    assert info.refuse_manual_start
    assert info.ignore_on_isolate
    assert info.on_failure_job_mode == "isolate"
    assert info.can_reload
    assert info.description == "a.service"
    assert g.info("multi-user.target").allow_isolate


# --- differential: relations against systemd-analyze verify's unit dumps -----------------------

_DUMP_LINE = re.compile(r"^\t\t([A-Za-z]+): (\S+) \((?:origin|destination)")
_NAMES = ("s0.service", "s1.service", "s2.service", "s3.service", "t0.target", "t1.target")
_OTHERS = ("k0.timer", "p0.socket", "multi-user.target", "nope.service")
_DIRECTIVES = (
    "Wants",
    "Requires",
    "Requisite",
    "BindsTo",
    "PartOf",
    "Upholds",
    "Conflicts",
    "Before",
    "After",
    "OnFailure",
    "OnSuccess",
    "PropagatesReloadTo",
    "ReloadPropagatedFrom",
)


def _random_units(seed: int) -> dict[str, str]:
    rnd = random.Random(seed)
    lines: dict[str, list[str]] = {n: ["[Unit]"] for n in (*_NAMES, "k0.timer", "p0.socket")}
    for body in lines.values():
        if rnd.random() < 0.4:
            body.append("DefaultDependencies=no")
        for _ in range(rnd.randint(0, 4)):
            other = rnd.choice(_NAMES + _OTHERS)
            body.append(f"{rnd.choice(_DIRECTIVES)}={other}")
    texts = {n: "\n".join(body) + "\n" for n, body in lines.items()}
    for n in _NAMES[:4]:
        texts[n] += "[Service]\nExecStart=/bin/true\n"
    target = rnd.choice(("", "Unit=s1.service\n"))
    texts["k0.timer"] += f"[Timer]\nOnCalendar={rnd.choice(('daily', '*:0/5'))}\n{target}"
    texts["p0.socket"] += f"[Socket]\nListenStream=127.0.0.1:{4000 + seed}\n"
    if rnd.random() < 0.5:
        texts["p0.socket"] += "Service=s2.service\n"
    return texts


def _dumps(directory: Path, names: list[str]) -> dict[str, set[tuple[str, str]]]:
    env = {**os.environ, "SYSTEMD_UNIT_PATH": str(directory), "SYSTEMD_LOG_LEVEL": "debug"}
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "--generators=no"]
        + [str(directory / n) for n in names],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    out: dict[str, set[tuple[str, str]]] = {}
    current = ""
    for line in proc.stdout.splitlines():  # the dumps go to stdout, the log to stderr
        if line.startswith("\t-> Unit "):
            current = line[len("\t-> Unit ") : -1]
            out[current] = set()
        elif current and (m := _DUMP_LINE.match(line)) and m.group(1) in INVERSE:
            out[current].add((m.group(1), m.group(2)))
    return out


# Edges systemd 252 adds that pidone deliberately leaves out (see the comments).
_IGNORED = {
    "systemd-journald.socket",  # verify's test-mode manager does not add it; a real one does
    "-.mount",  # the root mount: systemd always has it (no unit file); pidone has no such unit
}


@pytest.mark.differential
@pytest.mark.parametrize("seed", range(60))
def test_relations_match_systemd_unit_dumps(seed: int, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    texts = _random_units(seed)
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    names = sorted(texts)
    theirs = _dumps(tmp_path, names)
    g = build_graph(
        [make_unit(n, t) for n, t in texts.items()]
        + [make_unit(n, BUILTIN_UNITS[n].decode()) for n in ("-.slice", "system.slice")]
    )
    for name in names:
        ours = {(rel, other) for rel, others in g.relations(name).items() for other in others}
        ours = {
            (r, o)
            for r, o in ours
            if o not in _IGNORED and not _units_py_target(g, texts, name, r, o)
        }
        assert ours == {(r, o) for r, o in theirs[name] if o not in _IGNORED}, name


def _units_py_target(
    g: DepGraph, texts: dict[str, str], name: str, relation: str, other: str
) -> bool:
    """core.units orders a target After= every unit it pulls in, also one with
    DefaultDependencies=no or not loaded (systemd 252 skips those; reported to its owner).
    True for such an edge that neither unit's text declares."""
    target, unit = (name, other) if relation == "After" else (other, name)
    if relation not in ("After", "Before") or not target.endswith(".target"):
        return False
    declared = f"After={unit}" in texts.get(target, "") or f"Before={target}" in texts.get(unit, "")
    if declared:
        return False
    pulled = any(
        g.has(target, r, unit)
        for r in ("Wants", "Requires", "Requisite", "BindsTo", "Upholds", "PartOf")
    )
    info = g.info(unit)
    return pulled and (info.load_state != "loaded" or not info.default_dependencies)


def test_referenced_instances_load_on_demand_with_their_slice() -> None:
    template = "[Unit]\nDescription=Load %i\n[Service]\nExecStart=/sbin/modprobe %i\n"
    calls: list[str] = []

    def load(name: str) -> Unit | None:
        calls.append(name)
        if name.startswith("modprobe@") and name.endswith(".service"):
            return make_unit(name, template)
        return None

    g = build_graph(
        [
            make_unit("a.service", "[Unit]\nWants=modprobe@drm.service\nBindsTo=dev-x.device\n"),
            make_unit("alias-user.service", "[Unit]\nWants=other-name.service\n"),
        ],
        load,
    )
    assert g.info("modprobe@drm.service").load_state == "loaded"
    assert g.info("modprobe@drm.service").description == "Load drm"
    assert "modprobe@drm.service" in calls
    assert "nope" not in calls
    slice_info = g.info("system-modprobe.slice")
    assert (slice_info.load_state, slice_info.description) == (
        "loaded",
        "Slice /system/modprobe",
    )
    assert g.deps("system-modprobe.slice", "Requires") == ("system.slice",)
    assert g.deps("system.slice", "Requires") == ("-.slice",)
    assert g.info("dev-x.device").load_state == "loaded"  # devices need no file either
    assert g.info("dev-x.device").description == "/dev/x"  # 252: unit_name_to_path()
    assert g.info("other-name.service").load_state == "not-found"


def test_file_less_slices_and_devices_are_described_by_the_path_their_name_stands_for() -> None:
    """As 252's `systemctl show -p Description` (sd-oracle, session 8): `-` is `/` and
    `\\x2d` a dash, for every level of a slice none of whose levels has a file."""
    unit = make_unit(
        "a.service",
        "[Unit]\nWants=team-app-web.slice\nBindsTo=dev-disk-by\\x2dlabel-foo.device\n",
    )
    g = build_graph([unit], lambda name: None)
    for name, description in (
        ("team-app-web.slice", "Slice /team/app/web"),
        ("team-app.slice", "Slice /team/app"),
        ("team.slice", "Slice /team"),
        ("dev-disk-by\\x2dlabel-foo.device", "/dev/disk/by-label/foo"),
    ):
        assert (g.info(name).load_state, g.info(name).description) == ("loaded", description)
    assert g.deps("team-app.slice", "Requires") == ("team.slice",)


def test_a_loaded_alias_merges_into_its_unit() -> None:
    real = make_unit("real.service", "[Unit]\n", aliases=("nick.service",))

    def load(name: str) -> Unit | None:
        return real if name == "nick.service" else None

    g = build_graph([make_unit("a.service", f"{NODEPS}Requires=nick.service\n")], load)
    assert g.resolve("nick.service") == "real.service"
    assert set(g.deps("a.service", "Requires")) == {"real.service", "system.slice"}
    assert g.deps("real.service", "RequiredBy") == ("a.service",)
    assert "nick.service" not in g.units
