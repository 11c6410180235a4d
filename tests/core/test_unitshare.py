"""core.unitshare: a shared unit equals the unshared one, shows the same, and refuses changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pidone.core.model import ExecContext, Unit
from pidone.core.render.show import RuntimeState, render_show, unit_properties
from pidone.core.unitshare import EMPTY_DICT, EMPTY_LIST, SealedDict, SealedList, share_unit
from tests.core.unitbuild import UNITS, golden, unit_from_bytes, unit_from_text

DEBIAN = Path(__file__).parent / "data" / "debian"
PLAIN = "[Service]\nExecStart=/bin/sleep 100000\nRestart=always\nRestartSec=0\n"


def _corpus() -> list[Path]:
    names = [p for p in sorted(UNITS.iterdir()) if not p.name.endswith(".conf")]
    return names + [p for p in sorted(DEBIAN.iterdir()) if p.suffix != ".md"]


def _build(path: Path) -> Unit:
    name = path.name.replace("@.", "@x.") if "@." in path.name else path.name
    return unit_from_bytes(name, path.read_bytes(), (), str(path))


def _show(unit: Unit) -> list[str]:
    return render_show(unit_properties(unit, RuntimeState()), show_all=True)


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_a_shared_unit_equals_and_shows_as_the_unshared_one(path: Path) -> None:
    shared = share_unit(_build(path))
    fresh = _build(path)
    assert shared == fresh
    assert _show(shared) == _show(fresh)


def test_empty_and_repeated_lists_are_one_object_across_units() -> None:
    a = share_unit(unit_from_text("a.service", PLAIN))
    b = share_unit(unit_from_text("b.service", PLAIN))
    assert a.unit.wants is EMPTY_LIST
    assert b.unit.wants is EMPTY_LIST
    assert a.unit.after == ["system.slice", "systemd-journald.socket", "sysinit.target",
                            "basic.target"]  # fmt: skip
    assert a.unit.after is b.unit.after
    assert a.unit.requires is b.unit.requires
    assert a.service is not None
    assert b.service is not None
    assert a.service.exec is b.service.exec  # both as ExecContext() makes it
    assert a.service.exec.limits is EMPTY_DICT
    assert a.service.kill is b.service.kill
    assert a.install is b.install
    # what is the unit's own stays its own
    assert a.service.exec_start is not b.service.exec_start
    assert a.service.exec_start[0].source_path == "/etc/systemd/system/a.service"
    assert b.service.exec_start[0].source_path == "/etc/systemd/system/b.service"


def test_a_changed_section_is_kept_and_its_empties_shared() -> None:
    a = share_unit(unit_from_text("a.service", PLAIN + "User=nobody\nKillSignal=SIGINT\n"))
    b = share_unit(unit_from_text("b.service", PLAIN))
    assert a.service is not None
    assert b.service is not None
    assert a.service.exec is not b.service.exec
    assert a.service.exec.user == "nobody"
    assert b.service.exec.user == ""
    assert a.service.exec.environment is EMPTY_LIST
    assert a.service.kill is not b.service.kill
    assert a.service.kill.kill_signal == 2
    assert b.service.kill.kill_signal == 15
    assert ExecContext().user == ""  # the shared default is not the class's default object


def test_shared_lists_and_dicts_refuse_every_change() -> None:
    unit = share_unit(unit_from_text("a.service", PLAIN))
    after = unit.unit.after
    assert isinstance(after, SealedList)
    for change in (
        lambda: after.append("x"),
        lambda: after.extend(["x"]),
        lambda: after.insert(0, "x"),
        lambda: after.remove("basic.target"),
        lambda: after.pop(),
        lambda: after.clear(),
        lambda: after.sort(),
        lambda: after.reverse(),
        lambda: after.__setitem__(0, "x"),
        lambda: after.__delitem__(0),
        lambda: after.__iadd__(["x"]),
        lambda: after.__imul__(2),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert after == ["system.slice", "systemd-journald.socket", "sysinit.target", "basic.target"]
    assert EMPTY_LIST == []
    assert isinstance(unit.service.exec.limits if unit.service else None, SealedDict)
    for change_dict in (
        lambda: EMPTY_DICT.__setitem__("NOFILE", (1, 1)),
        lambda: EMPTY_DICT.update(NOFILE=(1, 1)),
        lambda: EMPTY_DICT.setdefault("NOFILE", (1, 1)),
        lambda: EMPTY_DICT.__ior__({"NOFILE": (1, 1)}),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change_dict()
    assert EMPTY_DICT == {}


def test_reading_a_shared_list_behaves_as_a_list() -> None:
    unit = share_unit(unit_from_text("a.service", PLAIN))
    u = unit.unit
    joined = u.requires + u.wants + u.after
    assert type(joined) is list
    assert joined[:2] == ["sysinit.target", "system.slice"]
    assert "basic.target" in u.after
    assert len(u.after) == 4
    assert list(reversed(u.before)) == ["shutdown.target"]
    assert repr(u.wants) == "[]"


def test_a_golden_socket_and_timer_share_too() -> None:
    sock = share_unit(golden("socket.socket"))
    timer = share_unit(golden("daily.timer"))
    assert sock == golden("socket.socket")
    assert timer == golden("daily.timer")
    assert timer.timer is not None
    assert timer.timer.on_active_usec is EMPTY_LIST
