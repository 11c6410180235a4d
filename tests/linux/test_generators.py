"""Unit generators (systemd.generator(7)): which run, with what, and where their output goes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pidone.linux.generators import find_generators, generate, output_dirs, run_generators
from pidone.linux.unitload import UnitLoader
from pidone.linux.unitpaths import build_unit_paths, has_generator_dirs, relocate_generator_dirs


def script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_earlier_directory_overrides_and_dev_null_masks(tmp_path: Path) -> None:
    etc, lib = tmp_path / "etc", tmp_path / "lib"
    etc.mkdir()
    lib.mkdir()
    script(lib / "a-gen", "exit 0\n")
    script(lib / "b-gen", "exit 0\n")
    script(lib / "c-gen", "exit 0\n")
    script(etc / "b-gen", "exit 0\n")  # overrides lib's b-gen
    os.symlink("/dev/null", etc / "c-gen")  # masks lib's c-gen
    (lib / "d-not-executable").write_text("#!/bin/sh\n")
    (lib / ".hidden").write_text("#!/bin/sh\n")
    found = find_generators([str(etc), str(lib), str(tmp_path / "missing")])
    assert found == [str(lib / "a-gen"), str(etc / "b-gen")]


def test_generators_get_three_fresh_directories_and_the_scope(tmp_path: Path) -> None:
    base = tmp_path / "run"
    normal, early, late = output_dirs(str(base))
    os.makedirs(f"{normal}/stale.service.wants")
    Path(f"{normal}/stale.service").write_text("[Service]\n")
    gen = script(
        tmp_path / "gen",
        'mkdir -p "$1/postfix.service.wants"\n'
        'ln -s /lib/systemd/system/postfix@.service "$1/postfix.service.wants/postfix@-.service"\n'
        'echo "$SYSTEMD_SCOPE $SYSTEMD_IN_INITRD" > "$3/seen"\n'
        'echo "$2" > "$2/early"\n'
        "echo to-stdout; echo to-stderr >&2\n",
    )
    (run,) = run_generators(str(base), [gen])
    assert (run.status, run.timed_out) == (0, False)
    assert sorted(run.output.split()) == ["to-stderr", "to-stdout"]
    assert not os.path.exists(f"{normal}/stale.service")  # emptied before the run
    assert os.listdir(normal) == ["postfix.service.wants"]
    link = f"{normal}/postfix.service.wants/postfix@-.service"
    assert os.readlink(link) == "/lib/systemd/system/postfix@.service"
    assert Path(f"{late}/seen").read_text().split()[0] == "system"
    assert Path(f"{early}/early").read_text().strip() == early
    assert stat.S_IMODE(os.stat(normal).st_mode) == 0o755


def test_a_failing_or_hanging_generator_is_logged_and_the_rest_kept(tmp_path: Path) -> None:
    ok = script(tmp_path / "ok", 'touch "$1/ok.service"\n')
    bad = script(tmp_path / "bad", "echo broken config >&2; exit 3\n")
    slow = script(tmp_path / "slow", "exec sleep 30\n")
    runs = run_generators(str(tmp_path / "out"), [ok, bad, slow], timeout=0.5)
    by_name = {os.path.basename(r.path): r for r in runs}
    assert by_name["ok"].status == 0
    assert (by_name["bad"].status, by_name["bad"].output.strip()) == (3, "broken config")
    assert by_name["slow"].timed_out
    assert by_name["slow"].status == -9  # killed, and reaped (no zombie left)
    assert os.path.exists(tmp_path / "out/generator/ok.service")


def test_generate_logs_output_and_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = script(tmp_path / "bad-gen", "echo oops >&2; exit 1\n")
    monkeypatch.setattr("pidone.linux.generators.find_generators", lambda: [bad])
    lines: list[tuple[str, int]] = []
    generate(str(tmp_path / "out"), lambda text, prio: lines.append((text, prio)))
    assert ("bad-gen: oops", 6) in lines
    assert (f"{bad} failed with exit status 1.", 3) in lines


def test_relocated_generator_dirs_take_systemds_places(tmp_path: Path) -> None:
    paths = build_unit_paths(None, {})
    moved = relocate_generator_dirs(paths, str(tmp_path))
    assert has_generator_dirs(moved)
    for old, new in zip(paths.generators, moved.generators, strict=True):
        assert new.startswith(str(tmp_path) + "/")
        assert paths.search_path.index(old) == moved.search_path.index(new)
    assert "/run/systemd/generator" not in moved.search_path
    # a unit path without the system directories has none: nothing to run generators for
    assert not has_generator_dirs(build_unit_paths(None, {"PIDONE_UNIT_PATH": str(tmp_path)}))


def test_a_generated_wants_link_is_found_by_the_loader(tmp_path: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    (units / "mta.service").write_text("[Service]\nType=oneshot\nExecStart=/bin/true\n")
    (units / "mta@.service").write_text("[Service]\nExecStart=/bin/sleep 1\n")
    gen = script(
        tmp_path / "gen",
        'mkdir -p "$1/mta.service.wants"\n'
        f'ln -s {units}/mta@.service "$1/mta.service.wants/mta@-.service"\n',
    )
    run_generators(str(tmp_path / "rt"), [gen])
    paths = build_unit_paths(None, {"PIDONE_UNIT_PATH": f"{units}:{tmp_path}/rt/generator"})
    source = UnitLoader(paths).load("mta.service")
    assert "mta@-.service" in source.wants
