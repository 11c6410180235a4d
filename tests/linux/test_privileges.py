"""Capabilities, secure bits, IO/CPU scheduling and DynamicUser= on real spawned processes."""

from __future__ import annotations

import grp
import os
import pwd
import shutil

import pytest

from pidone.core.capabilities import (
    ALL_CAPABILITIES,
    CAP_NET_BIND_SERVICE,
    SECURE_BITS,
    format_capabilities,
    parse_capability_assignments,
    parse_secure_bits,
)
from pidone.core.dataclass_lite import replace
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux import dynamicuser
from pidone.linux.execprep import resolve_identity
from pidone.linux.spawn import SpawnRequest, read_spawn_failure
from tests.linux.proc_helpers import env_for, run_to_file, started, wait_exit

SYSTEM_PY = "/usr/bin/python3"  # nobody cannot traverse /root, where the venv lives
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switches users and capabilities")

# What the child reports: its capability sets and secure bits, read from the kernel.
REPORT = (
    "import ctypes\n"
    "lines = open('/proc/self/status').read().splitlines()\n"
    "f = dict(l.split(':\\t') for l in lines if ':\\t' in l)\n"
    "print(f['CapEff'].strip(), f['CapPrm'].strip(), f['CapBnd'].strip(), f['CapAmb'].strip(),"
    " f['NoNewPrivs'].strip(), ctypes.CDLL(None).prctl(27, 0, 0, 0, 0), f['Uid'].split()[0])\n"
)


def report(ctx: ExecContext, tmp_path: object, **cmd_flags: bool) -> list[str]:
    cmd = ExecCommand(
        path=SYSTEM_PY, argv=(SYSTEM_PY, "-S", "-c", REPORT), no_env_expand=True, **cmd_flags
    )
    status, out = run_to_file(cmd, ctx, f"{tmp_path}/out")
    assert status == 0, out
    return out.split()


def mask(*caps: int) -> str:
    return f"{sum(1 << c for c in caps):016x}"


def own_bounding_set() -> str:
    with open("/proc/self/status") as f:
        return next(line.split()[1] for line in f if line.startswith("CapBnd:"))


# --------------------------------------------------------------------------- pure rules


def test_capability_assignment_rules_as_config_parse_capability_set():
    bnd = parse_capability_assignments
    assert bnd(["CAP_NET_BIND_SERVICE cap_chown"], bounding=True).mask == 1 << 10 | 1
    # later plain lists are OR-ed in, inverted ones masked out
    assert bnd(["CAP_CHOWN", "CAP_KILL"], bounding=True).mask == 1 | 1 << 5
    assert bnd(["CAP_CHOWN CAP_KILL", "~CAP_KILL"], bounding=True).mask == 1
    # `~` first: everything but; empty: nothing at all (redis-server.service)
    assert bnd(["~CAP_SYS_ADMIN"], bounding=True).mask == ALL_CAPABILITIES & ~(1 << 21)
    assert bnd([""], bounding=True).mask == 0
    assert bnd(["CAP_KILL", ""], bounding=True).mask == 0
    # ambient starts empty; unknown names are reported and ignored
    got = parse_capability_assignments(["CAP_NET_BIND_SERVICE cap_bogus"], bounding=False)
    assert (got.mask, got.unknown) == (1 << CAP_NET_BIND_SERVICE, ("cap_bogus",))
    assert format_capabilities(1 << 10 | 1) == "cap_chown cap_net_bind_service"
    bits = parse_secure_bits(["keep-caps noroot", "no-setuid-fixup"])
    assert bits.mask == SECURE_BITS["keep-caps"] | 1 | 4
    assert parse_secure_bits(["noroot", ""]).mask == 0


# --------------------------------------------------------------------------- capabilities


def test_ambient_capability_for_a_non_root_user(tmp_path):
    ctx = ExecContext(user="nobody", ambient_capabilities=1 << CAP_NET_BIND_SERVICE)
    eff, prm, bnd, amb, _nnp, secbits, uid = report(ctx, tmp_path)
    assert (uid, eff, prm, amb) == ("65534", *[mask(CAP_NET_BIND_SERVICE)] * 3)
    assert bnd == own_bounding_set()
    assert secbits == "0"  # the keep-caps bit used for the switch does not survive execve


def test_without_ambient_capabilities_nobody_has_none(tmp_path):
    eff, prm, _bnd, amb, *_ = report(ExecContext(user="nobody"), tmp_path)
    assert (eff, prm, amb) == (mask(), mask(), mask())


def test_bounding_set_limits_root(tmp_path):
    keep = 1 << CAP_NET_BIND_SERVICE | 1 << 0
    eff, prm, bnd, *_ = report(ExecContext(capability_bounding_set=keep), tmp_path)
    assert (eff, prm, bnd) == (mask(0, 10), mask(0, 10), mask(0, 10))


def test_plus_prefix_ignores_capability_settings(tmp_path):
    ctx = ExecContext(user="nobody", capability_bounding_set=1, no_new_privileges=True)
    _eff, _prm, bnd, _amb, nnp, _sb, uid = report(ctx, tmp_path, full_privileges=True)
    assert (bnd, nnp, uid) == (own_bounding_set(), "0", "0")


def test_exclamation_prefix_keeps_root_but_applies_the_bounding_set(tmp_path):
    ctx = ExecContext(user="nobody", capability_bounding_set=1 << 5)
    _eff, _prm, bnd, *_rest, uid = report(ctx, tmp_path, no_setuid=True)
    assert (bnd, uid) == (mask(5), "0")


def test_secure_bits_for_root(tmp_path):
    noroot = SECURE_BITS["noroot"] | SECURE_BITS["no-setuid-fixup"]
    *_rest, secbits, uid = report(ExecContext(secure_bits=noroot), tmp_path)
    assert (secbits, uid) == (str(noroot), "0")


# --------------------------------------------------------------------------- scheduling


def test_io_and_cpu_scheduling(tmp_path):
    if shutil.which("ionice") is None:
        pytest.skip("util-linux ionice is not installed")
    ctx = ExecContext(
        io_scheduling_class=3,
        cpu_scheduling_policy=os.SCHED_BATCH,
        cpu_scheduling_reset_on_fork=True,
    )
    cmd = ExecCommand(
        path="/bin/sh",
        argv=("sh", "-c", "ionice -p $$$$; chrt -p $$$$"),
    )
    status, out = run_to_file(cmd, ctx, str(tmp_path / "out"))
    assert status == 0, out
    assert out.splitlines()[0] == "idle"
    assert "SCHED_BATCH|SCHED_RESET_ON_FORK" in out
    be = ExecContext(io_scheduling_class=2, io_scheduling_priority=7)
    status, out = run_to_file(
        ExecCommand("/bin/sh", ("sh", "-c", "ionice -p $$$$")), be, str(tmp_path / "o2")
    )
    assert (status, out.strip()) == (0, "best-effort: prio 7")


def test_fifo_priority_is_clamped_into_the_policy_range(tmp_path):
    # CPUSchedulingPolicy=fifo alone: the priority becomes 1 (sched_get_priority_min)
    code = "import os; print(os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)"
    cmd = ExecCommand(SYSTEM_PY, (SYSTEM_PY, "-S", "-c", code), no_env_expand=True)
    status, out = run_to_file(
        cmd, ExecContext(cpu_scheduling_policy=os.SCHED_FIFO), f"{tmp_path}/o"
    )
    if status == 214:
        pytest.skip("real-time scheduling is not allowed in this cgroup (EPERM)")
    assert (status, out.split()) == (0, [str(os.SCHED_FIFO), "1"])


# --------------------------------------------------------------------------- DynamicUser=


def test_dynamic_user_gets_a_transient_uid_and_no_passwd_entry(tmp_path):
    name = f"pidone-dyn-test-{os.getpid()}"
    ctx = ExecContext(dynamic_user=True)
    try:
        identity = resolve_identity(ctx, f"{name}.service")
        assert identity.dynamic
        assert dynamicuser.DYNAMIC_UID_MIN <= identity.uid <= dynamicuser.DYNAMIC_UID_MAX
        assert identity.gid == identity.uid
        assert identity.user is not None
        assert identity.user.name == name
        with pytest.raises(KeyError):
            pwd.getpwuid(identity.uid)
        # the same unit keeps its UID; another unit gets another
        assert resolve_identity(ctx, f"{name}.service").uid == identity.uid
        other = resolve_identity(ctx, f"{name}-2.service")
        assert other.uid != identity.uid
        req = SpawnRequest(
            ExecCommand(SYSTEM_PY, (SYSTEM_PY, "-S", "-c", REPORT), no_env_expand=True),
            ctx,
            env_for(ctx),
            identity=identity,
        )
        out = tmp_path / "out"
        from pidone.core.dataclass_lite import replace

        req = replace(req, context=replace(ctx, standard_output=f"truncate:{out}"))
        with started(req) as s:
            assert wait_exit(s.pid) == 0
        *_caps, nnp, _sb, uid = out.read_text().split()
        assert (uid, nnp) == (str(identity.uid), "1")  # DynamicUser= implies NoNewPrivileges=
    finally:
        dynamicuser.release(name)
        dynamicuser.release(f"{name}-2")
        # DynamicUser= implies PrivateTmp=; a plan made outside a unit has no invocation
        from pidone.linux import sandbox

        sandbox.remove_private_tmp("")
    assert dynamicuser.lookup(name) is None


def test_dynamic_user_without_a_name_is_refused_never_root(tmp_path):
    ctx = ExecContext(dynamic_user=True)
    identity = resolve_identity(ctx)  # no unit name, no User=
    assert identity.error_status == 217
    assert "DynamicUser" in identity.error_message
    req = SpawnRequest(ExecCommand("/bin/true", ("true",)), ctx, env_for(ctx), identity=identity)
    with started(req) as s:
        assert wait_exit(s.pid) == 217
        failure = read_spawn_failure(s, close=False)
    assert failure is not None
    assert failure.step == "USER"


def test_dynamic_user_uses_a_static_user_of_that_name():
    identity = resolve_identity(ExecContext(dynamic_user=True, user="nobody"), "x.service")
    assert (identity.uid, identity.dynamic) == (65534, False)


def test_dynamic_user_with_a_static_group_runs_in_that_group(tmp_path):
    # uwsgi-app@.service: DynamicUser=yes, User=www-%i, Group=www-data. systemd.exec(5):
    # a static group of the configured name is used; the UID stays transient, and
    # initgroups(3) puts the GID in the supplementary list.
    name = f"pidone-dyngrp-{os.getpid()}"
    ctx = ExecContext(dynamic_user=True, user=name, group="daemon")
    own = f"pidone-dyngrp-g{os.getpid()}"
    try:
        identity = resolve_identity(ctx, "x.service")
        assert identity.dynamic
        assert dynamicuser.DYNAMIC_UID_MIN <= identity.uid <= dynamicuser.DYNAMIC_UID_MAX
        assert identity.gid == grp.getgrnam("daemon").gr_gid != identity.uid
        assert identity.groups == (identity.gid,)
        out = tmp_path / "ids"
        probe = "import os; print(os.getuid(), os.getgid(), *os.getgroups())"
        req = SpawnRequest(
            ExecCommand(SYSTEM_PY, (SYSTEM_PY, "-S", "-c", probe), no_env_expand=True),
            replace(ctx, standard_output=f"truncate:{out}"),
            env_for(ctx),
            identity=identity,
        )
        with started(req) as s:
            assert wait_exit(s.pid) == 0
        assert out.read_text().split() == [str(identity.uid), str(identity.gid), str(identity.gid)]
        # a Group= name with no static group gets a transient GID of its own
        other = resolve_identity(replace(ctx, group=own), "x.service")
        assert other.gid == dynamicuser.lookup(own) != other.uid
    finally:
        dynamicuser.release(name)
        dynamicuser.release(own)
        from pidone.linux import sandbox

        sandbox.remove_private_tmp("")
