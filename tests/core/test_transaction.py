"""core.transaction on unit graphs built from text: expected job lists, waits and messages."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pidone.core.transaction import (
    CYCLIC,
    InstalledJob,
    build_transaction,
    check_request,
    job_compare,
    job_is_runnable,
)
from tests.core.depkit import SERVICE_BODY, graph, job_set, jobs, logs, plan, waits

NODEPS = "[Unit]\nDefaultDependencies=no\n"


def svc(*lines: str) -> str:
    return NODEPS + "".join(f"{line}\n" for line in lines)


# --- closure (spec 04 §4) ----------------------------------------------------------------------


def test_plain_service_pulls_in_sysinit_and_its_slice_in_order() -> None:
    g = graph({"a.service": "[Unit]\nDescription=A\n"})
    r = plan(g, "a.service")
    assert jobs(r, slices=True) == [
        "local-fs.target/start",
        "swap.target/start",
        "sysinit.target/start",
        "-.slice/start",
        "system.slice/start",
        "a.service/start",
    ]
    assert waits(r)["a.service"] == {"sysinit.target"}
    assert len(next(j for j in r.jobs if j.unit == "a.service").waits_for) == 2  # + its slice
    # shutdown.target (Conflicts=) is inactive: its stop job changed nothing and was dropped
    assert "shutdown.target/stop" not in jobs(r)
    anchor = [j for j in r.jobs if j.anchor]
    assert [j.unit for j in anchor] == ["a.service"]
    assert anchor[0].id == 1  # the anchor job is created first


def test_requires_without_after_runs_in_parallel_pitfall_14() -> None:
    g = graph({"a.service": svc("Requires=b.service"), "b.service": svc()}, builtins=False)
    r = plan(g, "a.service")
    assert job_set(r) == {"a.service/start", "b.service/start"}
    assert waits(r) == {"a.service": set(), "b.service": set()}


def test_requires_with_after_waits() -> None:
    g = graph(
        {"a.service": svc("Requires=b.service", "After=b.service"), "b.service": svc()},
        builtins=False,
    )
    r = plan(g, "a.service")
    assert jobs(r) == ["b.service/start", "a.service/start"]
    assert waits(r)["a.service"] == {"b.service"}
    assert waits(r)["b.service"] == set()


def test_requisite_adds_verify_active_and_wants_merges_with_it() -> None:
    g = graph(
        {
            "a.service": svc("Requisite=b.service", "After=b.service"),
            "b.service": svc(),
            "c.service": svc("Requisite=b.service", "Wants=b.service"),
        },
        builtins=False,
    )
    assert jobs(plan(g, "a.service")) == ["b.service/verify-active", "a.service/start"]
    # start + verify-active merge into start (job_type_lookup_merge)
    assert job_set(plan(g, "c.service")) == {"c.service/start", "b.service/start"}


def test_wants_on_missing_or_masked_unit_is_dropped_silently() -> None:
    g = graph(
        {"a.service": svc("Wants=nope.service gone.service", "After=nope.service")},
        builtins=False,
        masked=("gone.service",),
    )
    r = plan(g, "a.service")
    assert jobs(r) == ["a.service/start"]
    assert logs(r) == []  # only debug lines
    assert "nope.service: Cannot add dependency job, ignoring: Unit nope.service not found." in (
        logs(r, 7)
    )


@pytest.mark.parametrize(
    ("name", "masked", "error", "code"),
    [
        ("nope.service", (), "Unit nope.service not found.", 5),
        ("m.service", ("m.service",), "Unit m.service is masked.", 1),
    ],
)
def test_hard_requirement_on_absent_unit_fails_the_request(
    name: str, masked: tuple[str, ...], error: str, code: int
) -> None:
    g = graph({"a.service": svc(f"Requires={name}")}, builtins=False, masked=masked)
    r = plan(g, "a.service")
    assert not r.ok
    assert (r.error, r.exit_code) == (error, code)
    assert r.jobs == ()


def test_missing_requirement_of_a_wanted_unit_is_ignored_and_its_job_kept() -> None:
    """systemd 252 keeps x's start job (verify logs "Installed new job x.service/start");
    only the error is dropped at the Wants= edge. Later versions delete x's job."""
    g = graph(
        {
            "a.service": svc("Wants=x.service"),
            "x.service": svc("Requires=nope.service"),
        },
        builtins=False,
    )
    r = plan(g, "a.service")
    assert job_set(r) == {"a.service/start", "x.service/start"}
    assert "x.service: Cannot add dependency job, ignoring: Unit nope.service not found." in (
        logs(r, 7)
    )


def test_ordering_against_absent_units_is_ignored() -> None:
    g = graph(
        {"a.service": svc("After=auditd.service local.mount", "Before=nope.target")},
        builtins=False,
    )
    r = plan(g, "a.service")
    assert jobs(r) == ["a.service/start"]
    assert r.jobs[0].waits_for == ()


def test_bad_setting_requirement() -> None:
    g = graph({"a.service": svc("Requires=b.service"), "b.service": "[Service]\nType=bogus\n"})
    r = plan(g, "a.service")
    assert r.error == "Unit b.service has a bad unit file setting."


def test_conflicts_stop_the_other_unit_stop_first() -> None:
    g = graph(
        {
            "a.service": svc("Conflicts=b.service", "After=b.service"),
            "b.service": svc(),
        },
        builtins=False,
    )
    r = plan(g, "a.service", active=("b.service",))
    assert jobs(r) == ["b.service/stop", "a.service/start"]
    assert waits(r)["a.service"] == {"b.service"}
    # starting b stops a (ConflictedBy), and the stop goes first whatever the ordering
    r = plan(g, "b.service", active=("a.service",))
    assert jobs(r) == ["a.service/stop", "b.service/start"]


def test_contradicting_requirements_fail_with_systemds_message() -> None:
    g = graph(
        {
            "c.service": svc("Requires=d.service e.service"),
            "d.service": svc(),
            "e.service": svc("Conflicts=d.service"),
        },
        builtins=False,
    )
    r = plan(g, "c.service")
    # d has start (c Requires=) and stop (e Conflicts=); the stop of d propagates to c (it
    # Requires= d), so c has both too. systemd names whichever its hash map yields first:
    # 8 runs of systemd-analyze verify on 252 said c.service 4 times and d.service 4 times.
    assert r.error == (
        "Transaction contains conflicting jobs 'stop' and 'start' for c.service. "
        "Probably contradicting requirement dependencies configured."
    )
    assert logs(r)[-1] == "Requested transaction contains unmergeable jobs: " + r.error


def test_conflict_with_a_wanted_unit_drops_the_wanted_start() -> None:
    g = graph(
        {
            "h.service": svc("Wants=i.service", "Requires=j.service"),
            "i.service": svc(),
            "j.service": svc("Conflicts=i.service"),
        },
        builtins=False,
    )
    r = plan(g, "h.service", active=("i.service",))
    assert job_set(r) == {"h.service/start", "j.service/start", "i.service/stop"}


def test_already_active_units_get_no_job_and_no_wait() -> None:
    g = graph(
        {"a.service": svc("Requires=b.service", "After=b.service"), "b.service": svc()},
        builtins=False,
    )
    r = plan(g, "a.service", active=("b.service",))
    assert jobs(r) == ["a.service/start"]
    # the anchor is kept even when redundant: it finishes at once
    assert jobs(plan(g, "a.service", active=("a.service", "b.service"))) == ["a.service/start"]


# --- stop, restart, reload propagation --------------------------------------------------------


def _stop_graph() -> dict[str, str]:
    return {
        "b.service": svc(),
        "req.service": svc("Requires=b.service", "After=b.service"),
        "bind.service": svc("BindsTo=b.service"),
        "part.service": svc("PartOf=b.service"),
        "want.service": svc("Wants=b.service"),
        "reqoff.service": svc("Requires=b.service"),
    }


def test_stop_propagates_to_requiredby_boundby_consistsof_not_wantedby() -> None:
    g = graph(_stop_graph(), builtins=False)
    running = ("b.service", "req.service", "bind.service", "part.service", "want.service")
    r = plan(g, "b.service", "stop", active=running)
    assert job_set(r) == {
        "b.service/stop",
        "req.service/stop",
        "bind.service/stop",
        "part.service/stop",
    }
    # stops run in reverse order: req (After b) stops before b
    assert waits(r)["b.service"] == {"req.service"}
    assert waits(r)["req.service"] == set()


def test_restart_propagates_as_try_restart() -> None:
    g = graph(_stop_graph(), builtins=False)
    running = ("b.service", "req.service", "part.service", "want.service")
    r = plan(g, "b.service", "restart", active=running)
    # reqoff/bind are inactive: try-restart collapses to nothing
    assert job_set(r) == {"b.service/restart", "req.service/restart", "part.service/restart"}
    assert waits(r)["b.service"] == {"req.service"}  # a restart orders like a stop


def test_auto_restart_restarts_requires_after_dependents_pitfall_15() -> None:
    """B auto-restarts: bound units were stopped when B went down (core.jobeffects), so the
    restart request restarts the Requires=+After= dependent only."""
    g = graph(_stop_graph(), builtins=False)
    states = {"b.service": "activating", "req.service": "active", "bind.service": "inactive"}
    r = plan(g, "b.service", "restart", states=states)
    assert job_set(r) == {"b.service/restart", "req.service/restart"}


def test_reload_propagates_to_active_units() -> None:
    g = graph(
        {
            "a.service": svc("PropagatesReloadTo=b.service c.service")
            + "[Service]\nExecStart=/bin/true\nExecReload=/bin/true\n",
            "b.service": svc() + "[Service]\nExecStart=/bin/true\nExecReload=/bin/true\n",
            "c.service": svc() + "[Service]\nExecStart=/bin/true\nExecReload=/bin/true\n",
            "d.service": svc("ReloadPropagatedFrom=a.service")
            + "[Service]\nExecStart=/bin/true\nExecReload=/bin/true\n",
        },
        builtins=False,
    )
    r = plan(g, "a.service", "reload", active=("a.service", "b.service", "d.service"))
    assert job_set(r) == {"a.service/reload", "b.service/reload", "d.service/reload"}
    not_reloadable = plan(g, "a.service", "reload", active=("a.service",))
    assert not_reloadable.ok
    g2 = graph({"x.service": svc()}, builtins=False)
    r2 = plan(g2, "x.service", "reload", active=("x.service",))
    assert r2.error == "Job type reload is not applicable for unit x.service."


# --- ordering cycles (spec 04 §2) --------------------------------------------------------------


def _cycle() -> dict[str, str]:
    return {
        "a.service": svc("Wants=b.service", "After=c.service"),
        "b.service": svc("Wants=c.service", "After=a.service"),
        "c.service": svc("After=b.service"),
    }


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # the lines systemd-analyze verify printed for this graph on 252, per start point
        (
            "a.service",
            [
                "a.service: Found ordering cycle on c.service/start",
                "a.service: Found dependency on b.service/start",
                "a.service: Found dependency on a.service/start",
                "a.service: Job c.service/start deleted to break ordering cycle starting with "
                "a.service/start",
            ],
        ),
        (
            "b.service",
            [
                "b.service: Found ordering cycle on a.service/start",
                "b.service: Found dependency on c.service/start",
                "b.service: Found dependency on b.service/start",
                "b.service: Job c.service/start deleted to break ordering cycle starting with "
                "b.service/start",
            ],
        ),
    ],
)
def test_cycle_is_reported_and_a_wants_job_deleted(start: str, expected: list[str]) -> None:
    g = graph(_cycle(), builtins=False)
    r = plan(g, "a.service", order=(start,))
    assert logs(r) == expected
    assert jobs(r) == ["a.service/start", "b.service/start"]


def test_deleting_a_job_collects_what_only_it_pulled_in() -> None:
    g = graph(_cycle(), builtins=False)
    r = plan(g, "a.service", order=("c.service",))
    assert logs(r)[-1] == (
        "c.service: Job b.service/start deleted to break ordering cycle starting with "
        "c.service/start"
    )
    assert jobs(r) == ["a.service/start"]  # c was wanted by b only: garbage-collected


def test_cycle_of_required_jobs_fails() -> None:
    g = graph(
        {
            "a.service": svc("Requires=b.service", "After=b.service"),
            "b.service": svc("Requires=a.service", "After=a.service"),
        },
        builtins=False,
    )
    r = plan(g, "a.service", order=("b.service",))
    assert (r.error, r.exit_code) == (CYCLIC, 1)
    assert logs(r) == [
        "b.service: Found ordering cycle on a.service/start",
        "b.service: Found dependency on b.service/start",
        "b.service: Unable to break cycle starting with b.service/start",
        "Requested transaction contains an unfixable cyclic ordering dependency: " + CYCLIC,
    ]


def test_requires_edges_make_the_cycle_unbreakable_only_where_they_reach() -> None:
    g = graph(
        {
            "a.service": svc("Requires=b.service", "After=c.service"),
            "b.service": svc("Wants=c.service", "After=a.service"),
            "c.service": svc("After=b.service"),
        },
        builtins=False,
    )
    r = plan(g, "a.service", order=("a.service",))
    # a and b matter (Requires=), c was only wanted: c is the one deleted
    assert logs(r)[-1].startswith("a.service: Job c.service/start deleted")


# --- job modes ---------------------------------------------------------------------------------


def _ab() -> dict[str, str]:
    return {"a.service": svc("Requires=b.service", "After=b.service"), "b.service": svc()}


def test_mode_fail_refuses_to_reverse_a_queued_job() -> None:
    g = graph(_ab(), builtins=False)
    installed = {"b.service": InstalledJob(7, "b.service", "stop")}
    r = plan(g, "a.service", mode="fail", installed=installed, active=("b.service",))
    assert r.error == (
        "Transaction for a.service/start is destructive (b.service has 'stop' job queued, "
        "but 'start' is included in transaction)."
    )
    assert logs(r)[-1] == "Requested transaction contradicts existing jobs: " + r.error


def test_mode_replace_cancels_the_conflicting_job() -> None:
    g = graph(_ab(), builtins=False)
    installed = {"b.service": InstalledJob(7, "b.service", "stop")}
    r = plan(g, "a.service", installed=installed, active=("b.service",))
    assert r.canceled == (7,)
    assert jobs(r) == ["b.service/start", "a.service/start"]


def test_a_compatible_installed_job_absorbs_the_new_one() -> None:
    g = graph(_ab(), builtins=False)
    installed = {"b.service": InstalledJob(7, "b.service", "start")}
    r = plan(g, "a.service", installed=installed)
    b = next(j for j in r.jobs if j.unit == "b.service")
    a = next(j for j in r.jobs if j.unit == "a.service")
    assert (b.id, b.merged, b.type) == (7, True, "start")
    assert 7 in a.waits_for
    assert waits(r)["a.service"] == {"b.service"}
    assert r.canceled == ()


def test_irreversible_jobs_cannot_be_replaced() -> None:
    g = graph(_ab(), builtins=False)
    installed = {"b.service": InstalledJob(7, "b.service", "stop", irreversible=True)}
    r = plan(g, "a.service", installed=installed, active=("b.service",))
    assert "is destructive" in r.error
    r = plan(g, "a.service", "start", "replace-irreversibly")
    assert all(j.irreversible for j in r.jobs)


def test_ignore_dependencies_and_ignore_requirements() -> None:
    g = graph(_ab(), builtins=False)
    installed = {"b.service": InstalledJob(7, "b.service", "start")}
    r = plan(g, "a.service", mode="ignore-dependencies", installed=installed)
    assert jobs(r) == ["a.service/start"]
    assert r.jobs[0].waits_for == ()
    r = plan(g, "a.service", mode="ignore-requirements", installed=installed)
    assert jobs(r) == ["a.service/start"]
    assert 7 in r.jobs[0].waits_for  # ordering is kept


def test_isolate_stops_everything_not_needed() -> None:
    texts = {
        "app.service": "[Unit]\nDescription=App\n",
        "old.service": "[Unit]\nDescription=Old\n",
        "keep.service": "[Unit]\nIgnoreOnIsolate=yes\n",
        "app.socket": "[Socket]\nListenStream=/run/app.sock\n",
        "multi-user.target.wants": "",
    }
    texts.pop("multi-user.target.wants")
    texts["multi-user.target"] = (
        "[Unit]\nDescription=Multi-User System\nRequires=basic.target\n"
        "Wants=app.socket\nAllowIsolate=yes\n"
    )
    g = graph(texts)
    running = ("old.service", "keep.service", "app.service", "app.socket", "sysinit.target")
    r = plan(g, "multi-user.target", mode="isolate", active=running)
    js = job_set(r)
    assert "old.service/stop" in js
    assert "keep.service/stop" not in js  # IgnoreOnIsolate=yes
    assert "app.service/stop" not in js  # triggered by app.socket, which is in the transaction
    assert "multi-user.target/start" in js
    assert "sysinit.target/start" not in js  # active already: redundant


def test_isolate_needs_allow_isolate_and_start() -> None:
    g = graph({"a.service": svc()})
    assert plan(g, "a.service", mode="isolate").error == (
        "Operation refused, unit may not be isolated."
    )
    assert plan(g, "multi-user.target", "stop", mode="isolate").error == (
        "Isolate is only valid for start."
    )


def test_flush_cancels_unrelated_jobs() -> None:
    g = graph(_ab(), builtins=False)
    installed = {"z.service": InstalledJob(3, "z.service", "start")}
    assert plan(g, "a.service", mode="flush", installed=installed).canceled == (3,)
    assert plan(g, "a.service", installed=installed).canceled == ()


def test_mode_fail_keeps_running_units_it_would_only_stop_for_a_wants() -> None:
    g = graph(
        {
            "a.service": svc("Wants=w.service"),
            "w.service": svc("Conflicts=r.service"),
            "r.service": svc(),
        },
        builtins=False,
    )
    r = plan(g, "a.service", mode="fail", active=("r.service",))
    # minimize impact: w's conflict would stop running r; w's start is not needed: dropped
    assert jobs(r) == ["a.service/start"]
    assert job_set(plan(g, "a.service", active=("r.service",))) == {
        "a.service/start",
        "w.service/start",
        "r.service/stop",
    }


# --- requests, runnable checks ------------------------------------------------------------------


def test_refuse_manual_start_and_stop() -> None:
    g = graph({"a.service": "[Unit]\nRefuseManualStop=yes\n"})
    msg = (
        "Operation refused, unit {} may be requested by dependency only (it is configured "
        "to refuse manual start/stop)."
    )
    assert check_request(g.info("shutdown.target"), "start", "inactive") == (
        msg.format("shutdown.target"),
        4,
    )
    assert check_request(g.info("a.service"), "stop", "active") == (msg.format("a.service"), 4)
    assert check_request(g.info("a.service"), "restart", "active") is not None
    assert check_request(g.info("a.service"), "start", "inactive") is None
    # pulled in as a dependency it is fine
    assert plan(g, "network-online.target").ok
    assert check_request(g.info("nope.service"), "stop", "inactive") == (
        "Unit nope.service not loaded.",
        5,
    )


@pytest.mark.parametrize(
    ("a", "b", "a_before_b", "expected"),
    [
        ("start", "start", True, -1),  # a first
        ("start", "stop", True, 1),  # the stop goes first
        ("stop", "start", True, -1),
        ("stop", "stop", True, 1),  # reverse order: the later unit stops first
        ("start", "restart", True, 1),  # a restart is a stop in disguise
        ("start", "start", False, 1),
        ("nop", "start", True, 0),
    ],
)
def test_job_compare(a: str, b: str, a_before_b: bool, expected: int) -> None:
    assert job_compare(a, b, a_before_b) == expected  # type: ignore[arg-type]


def test_job_is_runnable_follows_installed_jobs() -> None:
    g = graph(_ab(), builtins=False)
    b_job = {"b.service": InstalledJob(1, "b.service", "start")}
    assert not job_is_runnable(g, "a.service", "start", b_job)
    assert job_is_runnable(g, "a.service", "start", {})
    assert job_is_runnable(g, "a.service", "start", b_job, ignore_order=True)
    assert job_is_runnable(
        g, "b.service", "start", {"a.service": InstalledJob(2, "a.service", "start")}
    )
    # b's stop waits for a's stop (a is After b)
    assert not job_is_runnable(
        g, "b.service", "stop", {"a.service": InstalledJob(2, "a.service", "stop")}
    )


def test_job_ids_continue_from_next_job_id() -> None:
    g = graph(_ab(), builtins=False)
    r = build_transaction(g, "a.service", "start", next_job_id=40)
    assert sorted(j.id for j in r.jobs) == [40, 41, 42, 43]  # a, b, system.slice, -.slice
    assert r.next_job_id == 44


def test_deep_chains_do_not_hit_the_recursion_limit() -> None:
    n = 1500  # deeper than Python's default recursion limit
    texts = {
        f"u{i}.service": svc(f"Wants=u{i + 1}.service", f"After=u{i + 1}.service") for i in range(n)
    }
    texts[f"u{n}.service"] = svc()
    g = graph(texts, builtins=False)
    r = plan(g, "u0.service")
    assert len(jobs(r)) == n + 1
    assert jobs(r)[0] == f"u{n}.service/start"


# --- differential: ordering cycles against systemd-analyze verify ------------------------------


def _cyclic_graph(seed: int) -> dict[str, str]:
    """Units u0..uN (u0 the anchor): one ordering cycle, random pull-in edges so that every
    unit gets a job, and extra orderings that cannot close another cycle."""
    rnd = random.Random(seed)
    n = rnd.randint(3, 8)
    names = [f"u{i}.service" for i in range(n)]
    lines: dict[str, list[str]] = {name: [] for name in names}
    for i in range(1, n):
        parent = names[rnd.randrange(i)]
        kind = rnd.choice(("Wants", "Wants", "Requires", "BindsTo"))
        lines[parent].append(f"{kind}={names[i]}")
    for _ in range(rnd.randint(0, 3)):
        a, b = rnd.sample(names, 2)
        lines[a].append(f"{rnd.choice(('Wants', 'Requires'))}={b}")
    k = rnd.randint(2, min(5, n))
    cycle = rnd.sample(names, k)
    for i, earlier in enumerate(cycle):
        later = cycle[(i + 1) % k]  # `earlier` runs before `later`
        if rnd.random() < 0.5:
            lines[later].append(f"After={earlier}")
        else:
            lines[earlier].append(f"Before={later}")
    rest = [x for x in names if x not in cycle]
    rnd.shuffle(rest)
    for _ in range(rnd.randint(0, 4)):
        if not rest:
            break
        x = rnd.choice(rest)
        pool = cycle + rest[: rest.index(x)]
        lines[x].append(f"After={rnd.choice(pool)}")
    return {name: svc(*body) for name, body in lines.items()}


def _systemd_verify(directory: Path, unit: str) -> list[str]:
    env = {**os.environ, "SYSTEMD_UNIT_PATH": str(directory), "SYSTEMD_LOG_COLOR": "0"}
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "--generators=no", str(directory / unit)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return [line for line in proc.stderr.splitlines() if line]


@pytest.mark.differential
@pytest.mark.parametrize("seed", range(40))
def test_cycle_reports_match_systemd_analyze_verify(seed: int, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    texts = _cyclic_graph(seed)
    for name, text in texts.items():
        (tmp_path / name).write_text(text + SERVICE_BODY)
    theirs = _systemd_verify(tmp_path, "u0.service")
    # systemd walks its hash map in random order; start our walk where it started
    start = [m.group(1) for line in theirs if (m := re.search(r"starting with (\S+)/", line))]
    assert start, theirs
    r = plan(graph(texts, builtins=False), "u0.service", order=(start[0],))
    failed = [line for line in theirs if "Failed to create u0.service/start: " in line]
    assert [line for line in theirs if line not in failed] == logs(r)
    if failed:
        assert failed == [f"u0.service: Failed to create u0.service/start: {r.error}"]
    else:
        assert r.ok


_KINDS = ("Wants", "Wants", "Requires", "Requisite", "BindsTo", "PartOf", "Conflicts", "Upholds")


def _random_graph(seed: int) -> tuple[dict[str, str], tuple[str, ...]]:
    """Random dependencies of every kind (some on a missing and a masked unit); orderings
    follow the unit index, so there is no cycle."""
    rnd = random.Random(seed)
    n = rnd.randint(3, 9)
    names = [f"u{i}.service" for i in range(n)]
    extra = ["nope.service", "masked.service"]
    lines: dict[str, list[str]] = {name: [] for name in names}
    for i in range(1, n):
        lines[names[rnd.randrange(i)]].append(f"{rnd.choice(_KINDS[:3])}={names[i]}")
    for _ in range(rnd.randint(1, 2 * n)):
        a = rnd.choice(names)
        b = rnd.choice(names + extra if rnd.random() < 0.2 else names)
        if a != b:
            lines[a].append(f"{rnd.choice(_KINDS)}={b}")
    for _ in range(rnd.randint(0, n)):
        i, j = sorted(rnd.sample(range(n), 2))
        if rnd.random() < 0.5:
            lines[names[j]].append(f"After={names[i]}")
        else:
            lines[names[i]].append(f"Before={names[j]}")
    return {name: svc(*body) for name, body in lines.items()}, ("masked.service",)


def _installed_jobs(lines: list[str]) -> set[str]:
    found = (re.match(r"\S+: Installed new job (\S+) as \d+$", line) for line in lines)
    return {m.group(1) for m in found if m}


def _systemd_outcome(directory: Path) -> tuple[str, frozenset[str]]:
    """(error, jobs) of one `systemd-analyze verify` of u0.service at debug level, which
    logs each job it installs ("Installed new job X/start as N")."""
    env = {**os.environ, "SYSTEMD_UNIT_PATH": str(directory), "SYSTEMD_LOG_LEVEL": "debug"}
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "--generators=no", str(directory / "u0.service")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    lines = proc.stderr.splitlines()
    marker = "Failed to create u0.service/start: "
    errors = [x.split(marker, 1)[1] for x in lines if marker in x]
    return (errors[0] if errors else ""), frozenset(_installed_jobs(lines))


def _same_error(theirs: str, ours: str) -> bool:
    if "conflicting jobs" not in theirs:
        return theirs == ours
    # the two job types are named in the order of systemd's per-unit job list
    return (
        "conflicting jobs" in ours
        and sorted(re.findall(r"'(\w+)'", theirs)) == sorted(re.findall(r"'(\w+)'", ours))
        and theirs.split(" for ")[1] == ours.split(" for ")[1]
    )


@pytest.mark.differential
@pytest.mark.parametrize("seed", range(100))
def test_start_transactions_match_systemd_job_for_job(seed: int, tmp_path: Path) -> None:
    """The jobs (or the error) of a start transaction on a random graph are what systemd 252
    installs. Where several merge conflicts cascade, systemd's outcome depends on its hash
    order and changes between runs: pidone's must then be one systemd produced (up to 16
    runs are compared: for seed 20, 13 of 30 runs drop u2's Wants= chain, so 8 runs all
    without pidone's outcome happened once in CI, p = 0.43**8 ~ 0.1%; 16 makes it ~1e-6)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    texts, masked = _random_graph(seed)
    for name, text in texts.items():
        (tmp_path / name).write_text(text + SERVICE_BODY)
    for name in masked:
        (tmp_path / name).symlink_to("/dev/null")
    g = graph(texts, builtins=False, masked=masked)
    seen = []
    for _ in range(16):
        error, theirs = _systemd_outcome(tmp_path)
        conflict = re.findall(r"jobs .* for (\S+)\. ", error)
        r = plan(g, "u0.service", order=tuple(conflict))
        ours = frozenset(f"{j.unit}/{j.type}" for j in r.jobs)
        if (error and _same_error(error, r.error)) or (not error and r.ok and ours == theirs):
            return
        seen.append((error, sorted(theirs), r.error, sorted(ours)))
    pytest.fail(f"pidone never matched systemd: {seen[0]}")


def test_merging_into_an_installed_job_collapses_by_state() -> None:
    body = "[Service]\nExecStart=/bin/true\nExecReload=/bin/true\n"
    g = graph({"a.service": svc() + body}, builtins=False)
    installed = {"a.service": InstalledJob(5, "a.service", "reload")}
    up = plan(g, "a.service", installed=installed, active=("a.service",))
    assert [(j.id, j.type, j.merged) for j in up.jobs if j.unit == "a.service"] == [
        (5, "reload", True)  # reload-or-start on an active unit is a reload
    ]
    down = plan(g, "a.service", installed=installed)
    assert [(j.id, j.type) for j in down.jobs if j.unit == "a.service"] == [(5, "start")]


def test_shutdown_stops_everything_in_reverse_order() -> None:
    """The daemon's shutdown: start shutdown.target (replace-irreversibly); the
    Conflicts=shutdown.target of every normal unit becomes a stop job, run in reverse
    ordering (spec 04 §8)."""
    g = graph(
        {
            "db.service": "[Unit]\nDescription=DB\n",
            "web.service": "[Unit]\nRequires=db.service\nAfter=db.service\n",
            "raw.service": NODEPS,  # DefaultDependencies=no: not stopped by shutdown.target
        }
    )
    running = ("db.service", "web.service", "raw.service", "sysinit.target", "basic.target")
    r = plan(g, "shutdown.target", mode="replace-irreversibly", active=running)
    stops = {j.unit for j in r.jobs if j.type == "stop"}
    assert stops == {"db.service", "web.service", "sysinit.target", "basic.target"}
    assert waits(r)["db.service"] == {"web.service"}  # web stops first
    assert "shutdown.target" in {j.unit for j in r.jobs if j.type == "start"}
    assert waits(r)["shutdown.target"] >= {"db.service", "web.service"}  # stops first
    assert all(j.irreversible for j in r.jobs)
    # a later start request cannot undo it
    installed = {j.unit: InstalledJob(j.id, j.unit, j.type, j.irreversible) for j in r.jobs}
    again = plan(g, "web.service", installed=installed, active=running)
    assert "is destructive" in again.error
