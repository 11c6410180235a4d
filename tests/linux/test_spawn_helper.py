"""The small spawn helper (linux.spawnhelper) carries every plan: sandboxed, privileged,
without a cgroup; it is a fresh interpreter, much smaller than the daemon."""

from __future__ import annotations

import contextlib
import ctypes
import marshal
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux import sandbox, spawn_cgroup, spawnhelper
from pidone.linux.spawn import SpawnRequest, read_spawn_failure
from tests.linux.proc_helpers import env_for, started, wait_exit

SHOW = (
    'echo "$PPID $(grep ^0:: /proc/self/cgroup) $(ls /tmp | wc -l) '
    '$(grep CapBnd /proc/self/status | cut -f2)"'
)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[spawn_cgroup.Spawner]:
    """A Python helper of this test's own, ended and reaped afterwards (the compiled one,
    csrc/pidone-spawn.c, is off: tests/linux/test_cspawn.py compares the two)."""
    if os.environ.get("PIDONE_NO_CLONE3"):
        pytest.skip("PIDONE_NO_CLONE3 is set")
    monkeypatch.setenv(spawn_cgroup.SPAWN_HELPER_ENV, "")
    spawner = spawn_cgroup.Spawner()
    monkeypatch.setattr(spawn_cgroup, "_SPAWNER", spawner)
    try:
        yield spawner
    finally:
        spawner.stop()
        if spawner.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(spawner.pid, 0)


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return {k: v.strip() for k, _, v in (line.partition(":") for line in f)}


def _run(req: SpawnRequest, out: Path) -> tuple[int, str]:
    with started(req) as s:
        status = wait_exit(s.pid)
    return status, out.read_text()


def test_a_sandboxed_privileged_plan_goes_through_the_helper_into_its_cgroup(
    tracker: object, fresh: spawn_cgroup.Spawner, tmp_path: Path
) -> None:
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    from pidone.linux.cgroups import CgroupTracker

    assert isinstance(tracker, CgroupTracker)
    unit = "boxed.service"
    tracker.create(unit)
    out = tmp_path / "out"
    # PrivateTmp= (linux.sandbox) and a bounding set of CAP_NET_BIND_SERVICE only
    # (linux.privileges): the plan kinds that used to fork the daemon and migrate.
    ctx = ExecContext(
        private_tmp=True,
        capability_bounding_set=1 << 10,
        standard_output=f"truncate:{out}",
    )
    env = env_for(ctx, invocation_id="0123456789abcdef0123456789abcd01")
    req = SpawnRequest(
        ExecCommand("/bin/sh", ("sh", "-c", SHOW)),
        ctx,
        env,
        cgroup=tracker.spawn_cgroup(unit),
        parent_join=False,
    )
    try:
        status, text = _run(req, out)
    finally:  # (named after the unit: linux.spawn takes it from the cgroup's name)
        sandbox.remove_private_tmp("0123456789abcdef0123456789abcd01", unit)
    assert fresh.served == 1
    ppid, cgroup, tmp_entries, bounding = text.split()
    assert (status, int(ppid)) == (0, os.getpid())  # CLONE_PARENT: our child
    assert cgroup.endswith("/boxed.service")
    assert tmp_entries == "0"  # a private, empty /tmp
    assert int(bounding, 16) == 1 << 10
    assert tracker.pids(unit) == []


def test_a_namespace_failure_is_reported_through_the_helper(
    fresh: spawn_cgroup.Spawner, tmp_path: Path
) -> None:
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    ctx = ExecContext(inaccessible_paths=[str(tmp_path / "missing")], standard_output="null")
    req = SpawnRequest(ExecCommand("/bin/true", ("true",)), ctx, env_for(ctx))
    with started(req) as s:
        assert fresh.served == 1
        failure = read_spawn_failure(s, close=False)
        assert failure is not None
        assert failure.message.startswith("Failed at step NAMESPACE spawning /bin/true: ")
        assert wait_exit(s.pid) == 226


def test_a_plan_without_a_cgroup_is_cloned_by_the_helper_in_our_cgroup(
    fresh: spawn_cgroup.Spawner, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    ctx = ExecContext(standard_output=f"truncate:{out}")
    req = SpawnRequest(ExecCommand("/bin/sh", ("sh", "-c", SHOW)), ctx, env_for(ctx))
    status, text = _run(req, out)
    assert fresh.served == 1
    with open("/proc/self/cgroup") as f:
        ours = next(line.strip() for line in f if line.startswith("0::"))
    assert status == 0
    assert text.split()[:2] == [str(os.getpid()), ours]


def test_the_helper_is_a_small_fresh_interpreter_named_pidone_spawn(
    fresh: spawn_cgroup.Spawner, tmp_path: Path
) -> None:
    ctx = ExecContext(standard_output="null")
    req = SpawnRequest(ExecCommand("/bin/true", ("true",)), ctx, env_for(ctx))
    with started(req) as s:
        assert wait_exit(s.pid) == 0
    assert fresh.served == 1
    assert spawn_cgroup.is_spawn_helper(fresh.pid, os.getpid())
    with open(f"/proc/{fresh.pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[1:3] == [b"-I", b"-S"]  # not a fork of this process
    helper, ours = _status(fresh.pid), _status(os.getpid())
    helper_anon, our_anon = int(helper["RssAnon"].split()[0]), int(ours["RssAnon"].split()[0])
    assert helper_anon * 2 < our_anon  # what clone3 copies the page tables of


def test_the_helper_stays_small_after_a_privileged_plan_with_file_stdio(
    fresh: spawn_cgroup.Spawner, tmp_path: Path
) -> None:
    # Every later clone3 copies the page tables of what the helper holds: a plan with
    # capabilities, IO scheduling and an append: stream must not load linux.privileges or
    # linux.stdio (with pidone.core.model: +2.2 MiB of anonymous memory, measured).
    if os.geteuid() != 0:
        pytest.skip("capabilities need root")
    out = tmp_path / "out"
    plain = ExecContext(standard_output="null")
    with started(SpawnRequest(ExecCommand("/bin/true", ("true",)), plain, env_for(plain))) as s:
        assert wait_exit(s.pid) == 0
    before = int(_status(fresh.pid)["RssAnon"].split()[0])
    ctx = ExecContext(
        capability_bounding_set=(1 << 10) | (1 << 21),
        ambient_capabilities=1 << 10,
        io_scheduling_class=2,
        standard_output=f"append:{out}",
    )
    cmd = ExecCommand("/bin/sh", ("sh", "-c", "grep -E '^Cap(Bnd|Amb)' /proc/self/status"))
    status, text = _run(SpawnRequest(cmd, ctx, env_for(ctx)), out)
    assert status == 0
    assert [int(line.split()[1], 16) for line in text.splitlines()] == [1 << 10 | 1 << 21, 1 << 10]
    assert fresh.served == 2
    after = int(_status(fresh.pid)["RssAnon"].split()[0])
    assert after - before < 1024, (before, after)  # KiB


def test_the_fd_remap_keeps_the_plan_and_replaces_daemon_fd_numbers() -> None:
    stdio = (("null", -1, b"", 0, "", False, False), ("fd", 7, b"", 0, "", False, False),
             ("fd", 7, b"", 0, "", False, False))  # fmt: skip
    plan = (b"/bin/true", [b"true"], None, {}, {b"A": b"1"}, (), (0, 0), 0, (), False, 9,
            stdio, (8, 7), (), None, b"", False, 0o22, True, -1, -1, None, b"/", False, None,
            None, False)  # fmt: skip
    carried = marshal.loads(marshal.dumps(plan))  # what the request carries: unchanged
    assert carried == plan
    out = spawnhelper.remap(carried, {7: 17, 8: 18, 9: 19})  # type: ignore[arg-type]
    assert out[10] == -1  # born in its cgroup: no cgroup.procs write
    assert [src[1] for src in out[11]] == [-1, 17, 17]
    assert out[12] == (18, 17)
    assert out[:10] == plan[:10]
    assert out[13:] == plan[13:]


def _mask(status: str, field: str) -> int:
    return int(next(ln for ln in status.splitlines() if ln.startswith(field + ":")).split()[1], 16)


def test_signal_dispositions_and_mask_set_by_the_helper_follow_each_plan(
    fresh: spawn_cgroup.Spawner, tmp_path: Path
) -> None:
    # The helper sets SIGPIPE per plan before clone3 (the child inherits it): a plan that
    # ignores it must not leave it ignored for the next one, and the reverse.
    sigpipe = 1 << (signal.SIGPIPE - 1)
    seen = []
    for n, ignore in enumerate((True, False, True)):
        out = tmp_path / f"status{n}"
        ctx = ExecContext(ignore_sigpipe=ignore, standard_output=f"truncate:{out}")
        req = SpawnRequest(ExecCommand("/bin/cat", ("cat", "/proc/self/status")), ctx, env_for(ctx))
        status, text = _run(req, out)
        assert status == 0
        seen.append((_mask(text, "SigIgn") & sigpipe != 0, _mask(text, "SigBlk"),
                     _mask(text, "SigCgt")))  # fmt: skip
    assert fresh.served == 3
    assert seen == [(True, 0, 0), (False, 0, 0), (True, 0, 0)]


def test_a_new_child_takes_the_given_name() -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            buffer = ctypes.create_string_buffer(b"x")  # (the prctl fallback's, unused)
            spawnhelper._take_name(b"h3-named-child", ctypes.PyDLL(None), buffer)
            with open("/proc/self/comm", "rb") as f:
                os.write(w, f.read())
        finally:
            os._exit(0)
    os.close(w)
    try:
        got = os.read(r, 100)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    assert got == b"h3-named-child\n"


def modules_after_prepare(plan: tuple[object, ...], check: str = "") -> list[str]:
    """The modules a fresh `python -I -S` (as the helper is) holds after
    spawnchild.prepare(plan); `check` is a statement run on `prepared` before the listing."""
    code = (
        "import marshal, sys; sys.path.insert(0, sys.argv[1]);"
        "from pidone.linux import spawnchild;"
        "prepared = spawnchild.prepare(tuple(marshal.loads(bytes.fromhex(sys.argv[2]))));"
        + check
        + "print(' '.join(sorted(sys.modules)))"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(spawnchild_file())))
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, root, marshal.dumps(plan).hex()],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip


def test_a_sandboxed_limited_plan_loads_no_heavy_module_into_the_helper() -> None:
    # What spawnchild.prepare() loads for PrivateTmp= (linux.mountns) and Limit*=
    # (linux.rlimits) stays out of pidone's core: the helper's every module is memory whose
    # page tables each clone3 copies (linux.sandbox would add ~2 MiB: +60%).
    plan = (b"/bin/true", [b"true"], None, {}, {}, (), (0, 0), 0, (), False, -1,
            (("null", -1, b"", 0, "", False, False),) * 3, (), ((7, 100, 200),), None, b"",
            True, 0o22, True, -1, -1, None, b"/", False, None,
            ((("bind", b"/tmp", b"/tmp/x/tmp", b"", 0, False, True, False),), b""),
            False, None, None)  # fmt: skip
    out = modules_after_prepare(plan)
    assert "pidone.linux.mountns" in out
    assert "pidone.linux.rlimits" in out
    heavy = {"pidone.core.model", "pidone.linux.sandbox", "pidone.linux.execprep", "re", "enum"}
    assert heavy.isdisjoint(out)


def test_a_privileged_plan_with_file_and_tty_stdio_loads_no_heavy_module_into_the_helper() -> None:
    # Capabilities, scheduling (linux.privsteps) and file:/tty streams (linux.stdiosteps):
    # chrony, ssh and many more Debian units have them; after the first such plan every
    # spawn of every service pays for what the helper loaded (linux.privileges and
    # linux.stdio bring pidone.core.model: ~2 MiB).
    stdio = (("tty", -1, b"/dev/console", 0, "tty", True, True),
             ("open", -1, b"/tmp/x.log", os.O_WRONLY | os.O_APPEND, "", False, False),
             ("open", -1, b"/tmp/x.log", os.O_WRONLY, "", False, False))  # fmt: skip
    privileges = ((37, 38), (10,), 1 << 10, 16, True, 2 << 13 | 4, (0, 0))
    plan = (b"/bin/true", [b"true"], None, {}, {}, (), (0, 0), 0, (), False, -1, stdio, (),
            (), None, b"", True, 0o22, True, 65534, 65534, (), b"/", False, privileges, None,
            False, None, None)  # fmt: skip
    out = modules_after_prepare(
        plan, "assert prepared.privileges is not None and prepared.open_source is not None;"
    )
    assert "pidone.linux.privsteps" in out
    assert "pidone.linux.stdiosteps" in out
    heavy = {"pidone.core.model", "pidone.linux.privileges", "pidone.linux.stdio", "socket",
             "functools", "re", "enum", "contextlib"}  # fmt: skip
    assert sorted(heavy.intersection(out)) == []
    assert not [name for name in out if name.startswith("pidone.core")]


def test_a_seccomp_and_private_users_plan_loads_no_heavy_module_into_the_helper() -> None:
    # redis-server's: seccomp programs (field 27, compiled by the daemon: the helper needs
    # neither libseccomp nor linux.seccomp) and PrivateUsers='s maps (field 28: mountns)
    plan = (b"/bin/true", [b"true"], None, {}, {}, (), (0, 0), 0, (), False, -1,
            (("null", -1, b"", 0, "", False, False),) * 3, (), (), None, b"",
            False, 0o22, True, 102, 105, (), b"/", False, None, None, False,
            (True, ((bytes(8), 231), (bytes(16), 232))),
            (b"0 0 1\n102 102 1\n", b"0 0 1\n"))  # fmt: skip
    out = modules_after_prepare(
        plan,
        "assert prepared.seccomp is not None and len(prepared.seccomp[0]) == 2;"
        "assert prepared.userns is not None;",
    )
    assert "pidone.linux.mountns" in out
    heavy = {"pidone.linux.seccomp", "pidone.linux.sandbox", "re", "enum", "functools"}
    assert sorted(heavy.intersection(out)) == []
    assert not [name for name in out if name.startswith("pidone.core")]


def spawnchild_file() -> str:
    from pidone.linux import spawnchild

    return spawnchild.__file__
