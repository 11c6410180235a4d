"""linux.cspawn.encode(): which plans go to the compiled spawn helper, and what it sends.

What the helper does with them is tests/linux/test_cspawn.py (real processes, against the
Python helper).
"""

from __future__ import annotations

import pytest

from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux import cspawn, sandbox
from pidone.linux.spawn import SpawnRequest, wire_plan
from tests.linux.proc_helpers import env_for


def _wire(ctx: ExecContext, argv: tuple[str, ...] = ("/bin/true",)) -> object:
    from pidone.linux import spawn

    req = SpawnRequest(ExecCommand(argv[0], argv), ctx, env_for(ctx))
    identity = spawn.resolve_identity(ctx, "")
    words, deferred = spawn._expand(req)
    box = None
    if any((ctx.private_tmp, ctx.protect_system, ctx.private_devices)):
        box = sandbox.build_sandbox_plan(ctx, req.environment, "encode-test.service")
    return wire_plan(spawn._build_plan(req, identity, words, deferred, -1, -1, box))


@pytest.mark.parametrize(
    ("ctx", "argv", "takes"),
    [
        (ExecContext(), ("/bin/true",), True),
        (ExecContext(user="nobody", nice=3, limits={"LimitNOFILE": (5, 6)}), ("/bin/true",), True),
        (ExecContext(standard_output="append:/tmp/x"), ("/bin/true",), True),
        (ExecContext(no_new_privileges=True, umask=0o077), ("/bin/true",), True),
        (ExecContext(), ("/bin/echo", "$SYSTEMD_EXEC_PID"), False),  # deferred argv
        (
            ExecContext(capability_bounding_set=1 << 10, ambient_capabilities=1 << 10),
            ("/bin/true",),
            True,
        ),
        (ExecContext(standard_input="tty"), ("/bin/true",), True),
        (
            ExecContext(standard_input="tty-fail", tty_reset=True, tty_vhangup=True),
            ("/bin/true",),
            True,
        ),
        (ExecContext(private_devices=True), ("/bin/true",), True),
    ],
)
def test_encode_takes_the_common_plans_and_leaves_the_rest_to_python(
    ctx: ExecContext, argv: tuple[str, ...], takes: bool
) -> None:
    plan = _wire(ctx, argv)
    data = cspawn.encode(plan, False)  # type: ignore[arg-type]
    assert (data is not None) == takes
    if data is not None:
        assert data[:4] == cspawn.MAGIC.to_bytes(4, "little")


def test_encode_takes_every_sandbox_private_devices_too() -> None:
    if not sandbox.sandbox_available():
        pytest.skip("no mount namespaces here: no sandbox plan is built")
    try:
        assert cspawn.encode(_wire(ExecContext(private_tmp=True)), True) is not None  # type: ignore[arg-type]
        strict = ExecContext(private_tmp=True, protect_system="strict", protect_home="yes")
        assert cspawn.encode(_wire(strict), True) is not None  # type: ignore[arg-type]
        devices = ExecContext(private_tmp=True, private_devices=True)
        data = cspawn.encode(_wire(devices), True)  # type: ignore[arg-type]
        assert data is not None
    finally:
        for invocation in ("",):
            sandbox.remove_private_tmp(invocation, "encode-test.service")


NO_MAPS = bytes(4) + b"\0" + bytes(4) + b"\0"  # field 28 None: two empty blobs


def test_encode_sends_the_dev_log_target_after_the_mount_operations() -> None:
    # PrivateDevices= alone: one "dev" op; its /dev/log target is the last blob before the
    # privileges field (i32 0: none), the seccomp programs (i32 0: none) and the user
    # namespace's two maps (empty blobs: none).
    plan = list(_wire(ExecContext()))  # type: ignore[call-overload]
    plan[25] = ((("dev", b"/dev", b"", b"mode=755", 0, False, False, False),), b"/run/x/log")
    data = cspawn.encode(tuple(plan), False)  # type: ignore[arg-type]
    assert data is not None
    dev = cspawn.MOUNT_KINDS.index("dev").to_bytes(4, "little")
    tail = b"".join(
        [dev, bytes(16), (4).to_bytes(4, "little"), b"/dev\0", bytes(4), b"\0",
         (8).to_bytes(4, "little"), b"mode=755\0", (10).to_bytes(4, "little"),
         b"/run/x/log\0", bytes(4), bytes(4), NO_MAPS]
    )  # fmt: skip
    assert data.endswith(tail)
    plan[25] = ((), b"")  # a namespace without operations still sends an (empty) dev_log
    data = cspawn.encode(tuple(plan), False)  # type: ignore[arg-type]
    assert data is not None
    assert data.endswith(bytes(4) + bytes(4) + b"\0" + bytes(4) + bytes(4) + NO_MAPS)


def test_encode_refuses_what_os_execve_would_refuse() -> None:
    plan = list(_wire(ExecContext()))  # type: ignore[call-overload]
    good = tuple(plan)
    assert cspawn.encode(good, False) is not None  # type: ignore[arg-type]
    for index, value in ((4, {b"A=B": b"1"}), (1, [b"true", b"a\0b"]), (1, [b""]), (1, [])):
        bad = list(good)
        bad[index] = value
        assert cspawn.encode(tuple(bad), False) is None, (index, value)  # type: ignore[arg-type]


def test_encode_indexes_the_attached_fds_in_the_helper_protocol_order() -> None:
    stdio = (("fd", 40, b"", 0, "", False, False), ("null", -1, b"", 1, "", False, False),
             ("fd", 41, b"", 0, "", False, False))  # fmt: skip
    plan = (b"/bin/true", [b"true"], None, {}, {}, (), (0, 0), 0, (), False, -1, stdio,
            (50, 51), (), None, b"", False, 0o22, True, -1, -1, None, b"/", False, None,
            None, False, None, None)  # fmt: skip
    assert cspawn.fd_order(plan, 9, 8) == [8, 9, 40, 41, 50, 51]  # type: ignore[arg-type]
    assert cspawn.fd_order(plan, 9, -1) == [9, 40, 41, 50, 51]  # type: ignore[arg-type]
    data = cspawn.encode(plan, True)  # type: ignore[arg-type]
    assert data is not None
    assert int.from_bytes(data[8:12], "little") == 6  # fds attached


def test_encode_sends_a_tty_stream_with_its_mode_reset_and_vhangup() -> None:
    ctx = ExecContext(standard_input="tty-force", tty_path="/dev/tty9", tty_vhangup=True)
    data = cspawn.encode(_wire(ctx), False)  # type: ignore[arg-type]
    assert data is not None
    tty = cspawn.STDIO_KINDS.index("tty")
    mode = cspawn.TTY_MODES.index("tty-force")
    stdin = b"".join(int(v).to_bytes(4, "little", signed=True) for v in (tty, -1, 0, mode, 0, 1))
    assert stdin + (9).to_bytes(4, "little") + b"/dev/tty9\0" in data
    plan = list(_wire(ctx))  # type: ignore[call-overload]
    plan[11] = (("tty", -1, b"/dev/tty9", 0, "tty-sometimes", False, False), *plan[11][1:])
    assert cspawn.encode(tuple(plan), False) is None  # (a mode it does not know)


def test_encode_sends_the_seccomp_programs_last_with_their_exit_statuses() -> None:
    # field 27: (NoNewPrivileges= unless CAP_SYS_ADMIN, ((BPF, exit status), ...)); raw
    # blobs, NULs included; a program that is not whole instructions is refused
    plan = list(_wire(ExecContext()))  # type: ignore[call-overload]
    bpf = bytes(range(16))  # two instructions, with a NUL
    plan[27] = (True, ((bpf, 232), (bpf[:8], 231)))
    data = cspawn.encode(tuple(plan), False)  # type: ignore[arg-type]
    assert data is not None
    flags = int.from_bytes(data[4:8], "little")
    assert flags & cspawn.F_NNP_UNLESS_ADMIN
    tail = b"".join(
        [(2).to_bytes(4, "little"), (232).to_bytes(4, "little"), (16).to_bytes(4, "little"),
         bpf, b"\0", (231).to_bytes(4, "little"), (8).to_bytes(4, "little"), bpf[:8], b"\0",
         NO_MAPS]
    )  # fmt: skip
    assert data.endswith(tail)
    plan[27] = (True, ((bpf[:12], 231),))
    assert cspawn.encode(tuple(plan), False) is None  # type: ignore[arg-type]
    plan[27] = None
    data = cspawn.encode(tuple(plan), False)  # type: ignore[arg-type]
    assert data is not None
    assert not int.from_bytes(data[4:8], "little") & cspawn.F_NNP_UNLESS_ADMIN


def test_encode_sends_private_users_maps_last() -> None:
    plan = list(_wire(ExecContext()))  # type: ignore[call-overload]
    plan[28] = (b"0 0 1\n112 112 1\n", b"0 0 1\n")
    data = cspawn.encode(tuple(plan), False)  # type: ignore[arg-type]
    assert data is not None
    assert data.endswith(
        (16).to_bytes(4, "little") + b"0 0 1\n112 112 1\n\0" + (6).to_bytes(4, "little")
        + b"0 0 1\n\0"
    )  # fmt: skip
