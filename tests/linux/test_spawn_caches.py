"""What linux.spawn remembers between spawns: privilege plans per unit context (a
daemon-reload's new contexts get plans of their own), and argv left as written when it
names no variable."""

from __future__ import annotations

from pidone.core.dataclass_lite import replace
from pidone.linux import spawn
from pidone.linux.privileges import build_privilege_plan
from tests.core.unitbuild import unit_from_bytes


def ctx_of(body: bytes) -> object:
    unit = unit_from_bytes("x.service", b"[Service]\nExecStart=/bin/true $A ${B}\n" + body)
    assert unit.service is not None
    return unit.service.exec


def test_a_privilege_plan_is_kept_per_context_and_made_anew_for_a_new_one() -> None:
    # (earlier spawns in this process may have filled the table close to its bound, which
    # empties it when full: start from an empty one)
    spawn._PRIVILEGE_PLANS.clear()
    ctx = ctx_of(b"AmbientCapabilities=CAP_NET_BIND_SERVICE\n")
    first = spawn._privilege_plan(ctx, 33, True, False)  # type: ignore[arg-type]
    assert first == build_privilege_plan(ctx, switch_to_uid=33, sandboxing=True)  # type: ignore[arg-type]
    assert spawn._privilege_plan(ctx, 33, True, False) is first  # type: ignore[arg-type]
    assert spawn._privilege_plan(ctx, 0, True, False) is not first  # type: ignore[arg-type]
    assert spawn._privilege_plan(ctx, 33, False, False).empty  # type: ignore[arg-type]
    # daemon-reload: the unit file changed, the unit gets a new context
    reloaded = replace(ctx, ambient_capabilities=0)  # type: ignore[type-var]
    assert spawn._privilege_plan(reloaded, 33, True, False).empty
    assert spawn._privilege_plan(ctx, 33, True, False) is first  # type: ignore[arg-type]


def test_the_kept_plans_are_bounded() -> None:
    contexts = [ctx_of(f"Nice={n % 19}\n".encode()) for n in range(spawn._PRIVILEGE_PLANS_MAX + 5)]
    for ctx in contexts:
        spawn._privilege_plan(ctx, 0, True, False)  # type: ignore[arg-type]
    assert 0 < len(spawn._PRIVILEGE_PLANS) <= spawn._PRIVILEGE_PLANS_MAX


def test_argv_without_a_dollar_is_taken_as_written_else_expanded() -> None:
    unit = unit_from_bytes("x.service", b"[Service]\nExecStart=/bin/echo a b$$c ${B} $A\n")
    assert unit.service is not None
    cmd = unit.service.exec_start[0]
    env = {"A": "1 2", "B": "x y"}
    req = spawn.SpawnRequest(command=cmd, context=unit.service.exec, environment=env)
    assert spawn._expand(req) == (["/bin/echo", "a", "b$c", "x y", "1", "2"], None)
    plain = replace(cmd, argv=("/bin/echo", "a", "b"))
    req = spawn.SpawnRequest(command=plain, context=unit.service.exec, environment=env)
    assert spawn._expand(req) == (["/bin/echo", "a", "b"], None)
