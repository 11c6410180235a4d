"""core.depgraph: relations both ways, triggers, stubs, target default ordering."""

from __future__ import annotations

import pytest

from pidone.core.depgraph import INVERSE, build_graph
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
