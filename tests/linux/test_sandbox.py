"""Mount-namespace sandboxing of spawned commands (linux.sandbox), on real processes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux import mountns, sandbox
from pidone.linux.spawn import SpawnRequest, read_spawn_failure
from tests.linux.proc_helpers import env_for, run_to_file, started, wait_exit

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not sandbox.sandbox_available(),
    reason="mount namespaces need root with CAP_SYS_ADMIN",
)
INVOCATION = "0123456789abcdef0123456789abcd00"


@pytest.fixture
def top() -> Iterator[Path]:
    """A world-traversable scratch directory (pytest's tmp_path is 0700)."""
    d = Path(tempfile.mkdtemp(prefix="pidone-sandbox-", dir="/var/lib"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)
        sandbox.remove_private_tmp(INVOCATION)


def sh(script: str, ctx: ExecContext, out: Path, **kw: object) -> tuple[int, str]:
    env = env_for(ctx, invocation_id=INVOCATION)
    return run_to_file(ExecCommand("/bin/sh", ("sh", "-c", script)), ctx, str(out), env=env, **kw)


def host_mounts() -> str:
    with open("/proc/self/mountinfo") as f:
        return f.read()


def test_private_tmp_is_private_and_shared_by_the_invocation(top):
    before = host_mounts()
    ctx = ExecContext(private_tmp=True)
    status, out = sh(
        "echo x > /tmp/pidone-probe && echo y > /var/tmp/pidone-probe && ls /tmp", ctx, top / "o"
    )
    assert (status, out) == (0, "pidone-probe\n")
    tmp, var_tmp = sandbox.private_tmp_dirs(INVOCATION)
    assert Path(tmp, "tmp/pidone-probe").read_text() == "x\n"
    assert Path(var_tmp, "tmp/pidone-probe").read_text() == "y\n"
    assert oct(os.stat(f"{tmp}/tmp").st_mode & 0o7777) == "0o1777"
    assert not Path("/tmp/pidone-probe").exists()
    # a second command of the same invocation sees the same /tmp (ExecStartPre= -> ExecStart=)
    status, out = sh("cat /tmp/pidone-probe", ctx, top / "o2")
    assert (status, out) == (0, "x\n")
    assert host_mounts() == before  # nothing propagated back to the host


def test_protect_system_strict_with_read_write_paths(top):
    (top / "rw").mkdir()
    (top / "ro").mkdir()
    ctx = ExecContext(protect_system="strict", read_write_paths=[str(top / "rw"), "-/nonexistent"])
    script = (
        f"touch {top}/rw/ok && echo rw-ok; "
        f"touch {top}/ro/no 2>/dev/null || echo ro-refused; "
        "touch /usr/pidone-probe 2>/dev/null || echo usr-refused; "
        "touch /dev/null && echo dev-writable"
    )
    status, out = sh(script, ctx, top / "rw/o")
    assert (status, out.split()) == (0, ["rw-ok", "ro-refused", "usr-refused", "dev-writable"])
    assert not (top / "ro/no").exists()


def test_protect_system_full_and_read_only_paths(top):
    ctx = ExecContext(protect_system="full", read_only_paths=[str(top)])
    script = (
        "touch /etc/pidone-probe 2>/dev/null || echo etc-refused; "
        f"touch {top}/x 2>/dev/null || echo top-refused; touch /var/tmp/pidone-p && echo var-ok; "
        "rm -f /var/tmp/pidone-p"
    )
    out_file = top.parent / f"{top.name}.o"  # outside the read-only tree
    try:
        status, out = sh(script, ctx, out_file)
    finally:
        out_file.unlink(missing_ok=True)
    assert (status, out.split()) == (0, ["etc-refused", "top-refused", "var-ok"])


def test_inaccessible_paths_and_protect_home(top):
    secret = top / "secret"
    secret.mkdir()
    (secret / "f").write_text("x")
    (top / "file").write_text("x")
    ctx = ExecContext(
        user="nobody", inaccessible_paths=[str(secret), str(top / "file")], protect_home="yes"
    )
    script = (
        f"ls {secret} 2>/dev/null || echo dir-hidden; "
        f"cat {top}/file 2>/dev/null || echo file-hidden; ls -A /root 2>/dev/null | wc -l"
    )
    out_file = Path(tempfile.mktemp(prefix="pidone-sb-", dir="/tmp"))
    try:
        status, out = sh(script, ctx, out_file)
    finally:
        out_file.unlink(missing_ok=True)
    assert (status, out.split()) == (0, ["dir-hidden", "file-hidden", "0"])


def test_missing_required_inaccessible_path_fails_with_226(top):
    ctx = ExecContext(inaccessible_paths=[str(top / "missing")])
    req = SpawnRequest(ExecCommand("/bin/true", ("true",)), ctx, env_for(ctx))
    with started(req) as s:
        assert wait_exit(s.pid) == 226
        failure = read_spawn_failure(s, close=False)
    assert failure is not None
    assert failure.step == "NAMESPACE"


def test_bind_read_only_paths_with_a_socket_like_haproxys_dev_log(top):
    # haproxy.service: BindReadOnlyPaths=/dev/log:/var/lib/haproxy/dev/log (spec 09)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(str(top / "log.sock"))
    srv.settimeout(10)
    (top / "data").mkdir()
    (top / "data/f").write_text("content")
    ctx = ExecContext(
        bind_read_only_paths=[f"{top}/log.sock:{top}/chroot/dev/log", f"{top}/data:{top}/view"],
        bind_paths=[f"-{top}/does-not-exist:/x"],
    )
    script = (
        f'python3 -S -c "import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM);'
        f" s.sendto(b'hello', '{top}/chroot/dev/log')\" && cat {top}/view/f && echo; "
        f"touch {top}/view/g 2>/dev/null || echo view-read-only"
    )
    try:
        status, out = sh(script, ctx, top / "o")
        assert (status, out.split()) == (0, ["content", "view-read-only"])
        assert srv.recv(100) == b"hello"
    finally:
        srv.close()
    assert (top / "chroot/dev/log").exists()  # the mount point was created


def test_temporary_file_system_and_private_devices(top):
    (top / "full").mkdir()
    (top / "full/f").write_text("x")
    ctx = ExecContext(temporary_file_system=[f"{top}/full:ro"], private_devices=True)
    script = (
        f"ls -A {top}/full | wc -l; touch {top}/full/g 2>/dev/null || echo tmpfs-ro; "
        "ls /dev | tr '\\n' ' '; echo; echo x > /dev/null && echo null-ok; "
        "grep CapBnd /proc/self/status"
    )
    status, out = sh(script, ctx, top / "o")
    assert status == 0, out
    lines = out.splitlines()
    assert lines[:2] == ["0", "tmpfs-ro"]
    devices = set(lines[2].split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm"} <= devices
    assert (
        not {name for name in os.listdir("/dev") if name.startswith(("vd", "sd", "loop"))} & devices
    )
    assert lines[3] == "null-ok"
    bounding = int(lines[4].split()[1], 16)
    assert not bounding & (1 << 27 | 1 << 17)  # CAP_MKNOD, CAP_SYS_RAWIO dropped


def test_plus_prefix_skips_the_sandbox(top):
    ctx = ExecContext(protect_system="strict")
    env = env_for(ctx)
    probe = top / "plus"
    cmd = ExecCommand("/bin/sh", ("sh", "-c", f"touch {probe}"), full_privileges=True)
    status, _ = run_to_file(cmd, ctx, str(top / "o"), env=env)
    assert status == 0
    assert probe.exists()


def test_settings_reported_as_not_enforced():
    ctx = ExecContext(private_tmp=True, protect_system="full", read_only_paths=["/x"])
    assert sandbox.used_settings(ctx) == ("PrivateTmp", "ProtectSystem", "ReadOnlyPaths")
    assert sandbox.used_settings(ExecContext(dynamic_user=True)) == (
        "PrivateTmp",
        "ProtectSystem",
        "ProtectHome",
    )
    # enforced here (the test runs with CAP_SYS_ADMIN), and never missing for `+`
    assert sandbox.not_enforced_settings(ctx) == ()
    assert sandbox.not_enforced_settings(ctx, full_privileges=True) == ()
    assert "PrivateTmp" in sandbox.enforced_keys()
    assert "ReadWriteDirectories" in sandbox.enforced_keys()


def test_parse_mountinfo_unescapes_and_reads_flags():
    line = b"36 35 98:0 / /mnt/a\\040b rw,nosuid,noexec,relatime shared:1 - ext4 /dev/x rw\n"
    assert sandbox.parse_mountinfo(line) == [
        (b"/mnt/a b", mountns.MS_NOSUID | mountns.MS_NOEXEC | mountns.MS_RELATIME)
    ]
    # "ro" is one of them too: a remount that changes another flag keeps it
    ro = line.replace(b" rw,nosuid", b" ro,nosuid")
    assert sandbox.parse_mountinfo(ro)[0][1] & mountns.MS_RDONLY


def test_notify_socket_under_tmp_stays_reachable_with_private_tmp(top):
    # The daemon's runtime directory may live under /tmp (tests do that): PrivateTmp=
    # would hide $NOTIFY_SOCKET, so it is bound back in (systemd's is in /run, never hidden).
    directory = Path(tempfile.mkdtemp(prefix="pidone-notify-", dir="/tmp"))
    directory.chmod(0o755)
    path = str(directory / "notify")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        srv.bind(path)
        os.chmod(path, 0o666)  # as the daemon's notify socket
        srv.settimeout(20)
        ctx = ExecContext(private_tmp=True, user="nobody")
        env = dict(env_for(ctx, invocation_id=INVOCATION), NOTIFY_SOCKET=path)
        code = (
            "import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
            "n = str(len(os.listdir('/tmp'))).encode(); "
            "s.sendto(b'READY=1 ' + n, os.environ['NOTIFY_SOCKET'])"
        )
        cmd = ExecCommand("/usr/bin/python3", ("python3", "-S", "-c", code), no_env_expand=True)
        status, out = run_to_file(cmd, ctx, str(top / "o"), env=env)
        assert status == 0, out
        # the datagram arrived, and the private /tmp holds only the path to the socket
        assert srv.recv(100) == b"READY=1 1"
    finally:
        srv.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_private_tmp_of_an_earlier_invocation_is_removed():
    unit = f"pidone-test-{os.getpid()}.service"
    old = sandbox.make_private_tmp("a" * 32, unit)
    other = sandbox.make_private_tmp("c" * 32, f"pidone-test-{os.getpid()}.service-x.service")
    try:
        new = sandbox.make_private_tmp("b" * 32, unit)
        assert not any(os.path.exists(p) for p in old)
        assert all(os.path.isdir(p) for p in new + other)
    finally:
        sandbox.remove_private_tmp("b" * 32, unit)
        sandbox.remove_private_tmp("c" * 32, f"pidone-test-{os.getpid()}.service-x.service")


def test_private_tmp_of_another_manager_is_left_alone():
    """Two managers on one host (test daemons, a bench beside a test run) each start a
    unit of the same name: a new start by one must not remove the other's live PrivateTmp=
    directories as if they were its own stale ones (that failed the other's next command
    at step NAMESPACE with ENOENT)."""
    unit = f"pidone-test-{os.getpid()}.service"
    try:
        sandbox.set_private_tmp_scope("managera")
        theirs = sandbox.make_private_tmp("a" * 32, unit)
        sandbox.set_private_tmp_scope("managerb")
        ours = sandbox.make_private_tmp("b" * 32, unit)
        assert all(os.path.isdir(p) for p in theirs + ours)
        assert all("managera" in p for p in theirs)
        assert all("managerb" in p for p in ours)
        # ... while a manager still removes its own earlier invocation's
        sandbox.make_private_tmp("c" * 32, unit)
        assert not any(os.path.exists(p) for p in ours)
        assert all(os.path.isdir(p) for p in theirs)
    finally:
        for scope, invocation in (("managera", "a"), ("managerb", "b"), ("managerb", "c")):
            sandbox.set_private_tmp_scope(scope)
            sandbox.remove_private_tmp(invocation * 32, unit)
        sandbox.set_private_tmp_scope("")


def test_private_tmp_left_by_an_earlier_manager_process_goes_at_the_first_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A killed manager's leftovers (same scope: the same runtime directory) are removed by
    its successor's first start of the unit (one listing of /tmp and /var/tmp serves every
    unit); later starts find their own earlier invocations without listing /tmp (~0.75 ms
    of every apache2 start), including one whose directories were made but never removed
    (a start that failed before its first command)."""
    unit = f"pidone-test-{os.getpid()}-sweep.service"
    other = f"pidone-test-{os.getpid()}-sweep-other.service"
    sandbox.set_private_tmp_scope(f"sweep{os.getpid()}")
    leftover = sandbox.private_tmp_dirs("d" * 32, unit)
    others = sandbox.private_tmp_dirs("e" * 32, other)
    try:
        for outer in leftover + others:
            os.makedirs(f"{outer}/tmp")
        listed: list[str] = []
        real_listdir = os.listdir

        def listdir(path: str) -> list[str]:
            listed.append(path)
            return real_listdir(path)

        monkeypatch.setattr(sandbox.os, "listdir", listdir)
        first = sandbox.make_private_tmp("a" * 32, unit)
        assert not any(os.path.exists(p) for p in leftover)
        assert all(os.path.isdir(p) for p in first + others)  # (another unit's: kept)
        assert sorted(listed) == ["/tmp", "/var/tmp"]
        assert [os.stat(p).st_mode & 0o7777 for p in first] == [0o1777, 0o1777]
        # a later command of the same invocation: the same directories, kept
        assert sandbox.make_private_tmp("a" * 32, unit) == first
        assert all(os.path.isdir(p) for p in first)
        # the next invocation: "a" was never removed (no stop went through), so it goes now
        second = sandbox.make_private_tmp("b" * 32, unit)
        assert not any(os.path.exists(p) for p in first)
        assert all(os.path.isdir(p) for p in second)
        # stopped as the daemon does it, then started again: nothing to remove, nothing listed
        sandbox.remove_private_tmp("b" * 32, unit)
        third = sandbox.make_private_tmp("c" * 32, unit)
        assert all(os.path.isdir(p) for p in third)
        # another unit's first start: its leftovers go too, found by the same listing
        fourth = sandbox.make_private_tmp("f" * 32, other)
        assert not any(os.path.exists(p) for p in others)
        assert all(os.path.isdir(p) for p in third + fourth)
        assert sorted(listed) == ["/tmp", "/var/tmp"]
    finally:
        for invocation in "abcdef":
            for name in (unit, other):
                for outer in sandbox.private_tmp_dirs(invocation * 32, name):
                    shutil.rmtree(outer, ignore_errors=True)
        sandbox.set_private_tmp_scope("")


def test_a_writable_bind_keeps_its_source_mount_flags(top):
    # systemd 252 make_read_only(): BindPaths= is bound (MS_BIND|MS_REC) and not remounted,
    # so a bind of a read-only mount stays read-only and a writable one stays writable.
    (top / "ro").mkdir()
    (top / "rw").mkdir()
    ro = os.fsencode(top / "ro")
    lib = mountns.libc()
    assert lib.mount(ro, ro, None, mountns.MS_BIND, None) == 0
    try:
        flags = mountns.MS_REMOUNT | mountns.MS_BIND | mountns.MS_RDONLY
        assert lib.mount(None, ro, None, flags, None) == 0
        ctx = ExecContext(bind_paths=[f"{top}/ro:{top}/a", f"{top}/rw:{top}/b"])
        script = (
            f"touch {top}/a/x 2>/dev/null && echo a-writable || echo a-read-only; "
            f"touch {top}/b/x 2>/dev/null && echo b-writable || echo b-read-only"
        )
        status, out = sh(script, ctx, top / "o")
    finally:
        subprocess.run(["umount", str(top / "ro")], check=False)
    assert (status, out.split()) == (0, ["a-read-only", "b-writable"])
    assert (top / "rw/x").exists()


def test_private_tmp_is_writable_under_protect_system_strict(top: Path) -> None:
    # systemd 252 binds first, then remounts read-only: the private /tmp and /var/tmp stay
    # writable under ProtectSystem=strict (redis-server's unit)
    ctx = ExecContext(protect_system="strict", private_tmp=True, read_write_paths=[str(top)])
    script = (
        "touch /tmp/p 2>/dev/null && echo tmp-writable || echo tmp-read-only; "
        "touch /var/tmp/p 2>/dev/null && echo var-tmp-writable || echo var-tmp-read-only; "
        "touch /usr/pidone-probe 2>/dev/null && echo usr-writable || echo usr-read-only"
    )
    env = env_for(ctx, invocation_id=INVOCATION)
    cmd = ExecCommand("/bin/sh", ("sh", "-c", script))
    status, out = run_to_file(cmd, ctx, str(top / "o"), env=env)
    assert (status, out.split()) == (0, ["tmp-writable", "var-tmp-writable", "usr-read-only"])
    tmp, var_tmp = sandbox.private_tmp_dirs(INVOCATION)
    assert Path(tmp, "tmp/p").exists()
    assert Path(var_tmp, "tmp/p").exists()


def test_notify_socket_under_var_tmp_with_strict_and_private_tmp(top: Path) -> None:
    # The acceptance daemons keep their runtime directory under /var/tmp (redis-server and
    # redis-sentinel have PrivateTmp= under ProtectSystem=strict)
    directory = Path(tempfile.mkdtemp(prefix="pidone-notify-", dir="/var/tmp"))
    directory.chmod(0o755)
    path = str(directory / "notify")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        srv.bind(path)
        os.chmod(path, 0o666)
        srv.settimeout(20)
        ctx = ExecContext(protect_system="strict", private_tmp=True, user="nobody")
        env = dict(env_for(ctx, invocation_id=INVOCATION), NOTIFY_SOCKET=path)
        code = (
            "import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
            "s.sendto(b'READY=1', os.environ['NOTIFY_SOCKET'])"
        )
        cmd = ExecCommand("/usr/bin/python3", ("python3", "-S", "-c", code), no_env_expand=True)
        status, out = run_to_file(cmd, ctx, str(top / "o"), env=env)
        assert status == 0, out
        assert srv.recv(100) == b"READY=1"
    finally:
        srv.close()
        shutil.rmtree(directory, ignore_errors=True)


def _kinds(plan: sandbox.SandboxPlan | None) -> list[tuple[str, str]]:
    assert plan is not None
    return [(op.kind, op.target.decode()) for op in plan.ops]


def test_kernel_protections_plan_systemd_252s_mounts() -> None:
    ops = _kinds(sandbox.build_sandbox_plan(ExecContext(protect_kernel_tunables=True), {}))
    assert ("ro", "/proc/sys") in ops
    assert ("ro", "/proc/sysrq-trigger") in ops
    assert ("ro-sys", "/sys") in ops
    assert ("ro", "/sys/fs/cgroup") not in ops  # kept as it is: ProtectControlGroups= decides
    hidden = {("hide-file", p) for p in ("/proc/kallsyms", "/proc/kcore") if os.path.exists(p)}
    assert hidden  # (a kernel without /proc/kcore: kallsyms only)
    assert hidden <= set(ops)
    ops = _kinds(sandbox.build_sandbox_plan(ExecContext(protect_control_groups=True), {}))
    assert ops == [("ro", "/sys/fs/cgroup")]
    ops = _kinds(sandbox.build_sandbox_plan(ExecContext(protect_kernel_logs=True), {}))
    assert ops == [("hide-file", "/proc/kmsg"), ("hide-file", "/dev/kmsg")]
    ops = _kinds(sandbox.build_sandbox_plan(ExecContext(protect_hostname=True), {}))
    assert ops == [
        ("uts", ""),
        ("ro", "/proc/sys/kernel/hostname"),
        ("ro", "/proc/sys/kernel/domainname"),
    ]
    modules = sandbox.build_sandbox_plan(ExecContext(protect_kernel_modules=True), {})
    expected = [("hide-dir", p) for p in ("/usr/lib/modules", "/lib/modules") if os.path.isdir(p)]
    if os.path.realpath("/lib/modules") == os.path.realpath("/usr/lib/modules"):
        expected = expected[:1]  # merged /usr: one directory, one mount
    # (a context whose only setting has nothing to hide here asks for no namespace at all)
    assert (_kinds(modules) if modules is not None else []) == expected


def test_private_network_is_one_namespace_per_invocation_with_loopback_up(top: Path) -> None:
    ctx = ExecContext(private_network=True)
    script = "readlink /proc/self/ns/net; tail -n +3 /proc/self/net/dev | cut -d: -f1; ip -o link"
    try:
        status, first = sh(script, ctx, top / "o1")
        assert status == 0, first
        status, second = sh(script, ctx, top / "o2")  # a later command of the invocation
        assert status == 0, second
        plus = ExecCommand("/bin/sh", ("sh", "-c", script), full_privileges=True)
        status, third = run_to_file(
            plus, ctx, str(top / "o3"), env=env_for(ctx, invocation_id=INVOCATION)
        )
        assert status == 0, third
    finally:
        sandbox.remove_private_network(INVOCATION)
    net, link, *rest = first.splitlines()
    assert net != os.readlink("/proc/self/ns/net")
    assert link.strip() == "lo"
    if shutil.which("ip"):
        assert "<LOOPBACK,UP,LOWER_UP>" in rest[0]
    assert second.splitlines()[0] == net  # the same namespace for every command
    assert third.splitlines()[0] == net  # `+` too: systemd 252 joins it for every command
    assert not sandbox._NETWORKS  # released: the daemon holds no fd to it any more


def test_protect_hostname_gives_a_uts_namespace_and_read_only_names(top: Path) -> None:
    script = (
        "readlink /proc/self/ns/uts; "
        "(: > /proc/sys/kernel/hostname) 2>/dev/null && echo writable || echo read-only"
    )
    status, out = sh(script, ExecContext(protect_hostname=True), top / "o")
    assert status == 0, out
    uts, names = out.splitlines()
    assert uts != os.readlink("/proc/self/ns/uts")
    assert names == "read-only"


def test_kernel_protections_are_enforced_here() -> None:
    keys = sandbox.enforced_keys()
    assert {"ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups"} <= keys
    assert {"ProtectHostname", "PrivateNetwork"} <= keys
    from pidone.linux import bpfdevices, seccomp

    filters = seccomp.available()
    # ProtectClock=: its capability drop, its @clock filter and its char-rtc device rule
    assert ("ProtectClock" in keys) == (filters and bpfdevices.available())
    # ProtectKernelLogs=: syslog(2) closed by its filter, or by CAP_SYSLOG where restricted
    assert ("ProtectKernelLogs" in keys) == (filters or sandbox.dmesg_restricted())


@pytest.mark.parametrize("ctx", [ExecContext(private_mounts=True), ExecContext(mount_apivfs=True)])
def test_private_mounts_and_mount_apivfs_give_a_mount_namespace_of_its_own(
    top: Path, ctx: ExecContext
) -> None:
    before = host_mounts()
    status, out = sh(
        f"readlink /proc/self/ns/mnt; mount -t tmpfs none {top} && echo mounted", ctx, top / "o"
    )
    assert status == 0, out
    namespace, mounted = out.splitlines()
    assert namespace != os.readlink("/proc/self/ns/mnt")
    assert mounted == "mounted"
    assert host_mounts() == before  # the unit's own mount stayed in its namespace
    assert _kinds(sandbox.build_sandbox_plan(ctx, {})) == [("ns", "/")]
