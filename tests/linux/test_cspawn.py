"""The compiled spawn helper (csrc/pidone-spawn.c) against the Python one, on real processes.

Each case runs the same SpawnRequest twice, through a Spawner whose compiled helper is off
(linux.spawnhelper serves it) and through one pointed at a freshly compiled pidone-spawn
(PIDONE_SPAWN_HELPER), and compares what the started program sees: a probe that dumps its
ids, groups, umask, cwd, environment, fds 0-11 (targets, O_NONBLOCK, FD_CLOEXEC), rlimits,
nice, oom_score_adj, session, signal dispositions and mask, NoNewPrivs, cgroup and /tmp;
or, for a failing step, the (status, errno) read through read_spawn_failure and the exit
status. Every case also checks which helper served it, so that a plan the compiled helper
turns away cannot pass as "identical". Plus linux.cspawn.encode() on what goes where.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pidone.core.dataclass_lite import replace
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux import cspawn, sandbox, spawn_cgroup
from pidone.linux.spawn import SpawnRequest, read_spawn_failure
from tests.linux.proc_helpers import env_for, started, wait_exit
from tests.linux.test_cspawn_encode import _wire

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"  # reachable by User=nobody (the venv may not be)
INVOCATION = "0123456789abcdef0123456789abcd02"
UNIT = "cspawn-test.service"

# What the program sees: /proc/self/status through grep (it touches no signal: the
# dispositions and mask as execve left them; Python ignores SIGPIPE and SIGXFSZ at start-up
# and sh may change the mask), the rest through a Python probe.
PROBE = r"""
import json, os, resource, fcntl, sys
out = {}
fds = {}
for n in range(12):
    try:
        target = os.readlink(f"/proc/self/fd/{n}")
        fl = fcntl.fcntl(n, fcntl.F_GETFL)
        fd_flags = fcntl.fcntl(n, fcntl.F_GETFD)
        fds[n] = [target if not target.startswith("/proc/") else "proc",
                  bool(fl & os.O_NONBLOCK), fl & os.O_ACCMODE, bool(fd_flags & fcntl.FD_CLOEXEC)]
    except OSError:
        pass
out["fds"] = fds
out["ids"] = [os.getresuid(), os.getresgid(), sorted(os.getgroups())]
out["cwd"] = os.getcwd()
env = dict(os.environ)
out["exec_pid_is_own"] = env.pop("SYSTEMD_EXEC_PID", None) == str(os.getpid())
env.pop("PWD", None)  # (set by sh)
out["env"] = env
out["rlimits"] = {name: resource.getrlimit(getattr(resource, name))
                  for name in dir(resource) if name.startswith("RLIMIT_")}
out["nice"] = os.getpriority(os.PRIO_PROCESS, 0)
out["oom"] = open("/proc/self/oom_score_adj").read().strip()
out["sid_pgid_is_own"] = [os.getsid(0) == os.getpid(), os.getpgid(0) == os.getpid()]
out["ppid"] = os.getppid()
out["ctty"] = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[4])  # tty_nr
out["cgroup"] = [ln.strip() for ln in open("/proc/self/cgroup")]
try:
    private = os.readlink("/proc/self/ns/mnt") != os.readlink(f"/proc/{os.getppid()}/ns/mnt")
except OSError:  # (User=nobody)
    private = False
try:  # /tmp itself private (PrivateTmp=), not only the namespace: the host's, others write
    host_tmp = os.stat(f"/proc/{os.getppid()}/root/tmp")
    own_tmp = (host_tmp.st_dev, host_tmp.st_ino) != (os.stat("/tmp").st_dev, os.stat("/tmp").st_ino)
except OSError:
    own_tmp = private
out["tmp"] = sorted(os.listdir("/tmp"))[:50] if private and own_tmp else "not private"
out["own_mount_namespace"] = private
if private:  # what the namespace holds: (mount point, per-mount options, type, its options)
    mounts = []
    for line in open("/proc/self/mountinfo"):
        fields = line.split(" ")
        rest = line.split(" - ", 1)[1].split(" ")
        mounts.append([fields[4], fields[5], rest[0], rest[2].strip()])
    out["mounts"] = mounts
    out["hidden"] = {p: os.path.exists(p) and len(os.listdir(p)) if os.path.isdir(p) else
                     os.path.exists(p) for p in ("/home", "/root", "/run/user")}
    if ["/dev", "tmpfs"] in [[m[0], m[2]] for m in mounts]:  # PrivateDevices=: ls -l /dev
        def entry(path):
            st = os.lstat(path)
            return [oct(st.st_mode), st.st_uid, st.st_gid,
                    [os.major(st.st_rdev), os.minor(st.st_rdev)] if st.st_rdev else None,
                    os.readlink(path) if os.path.islink(path) else None]
        out["dev"] = {n: entry("/dev/" + n) for n in sorted(os.listdir("/dev"))}
        out["pts"] = {n: entry("/dev/pts/" + n) for n in sorted(os.listdir("/dev/pts"))}
out["sched"] = [os.sched_getscheduler(0), os.sched_getparam(0).sched_priority]
if os.uname().machine == "x86_64":
    import ctypes
    out["ioprio"] = ctypes.CDLL(None).syscall(252, 1, 0)  # ioprio_get(IOPRIO_WHO_PROCESS, 0)
out["notify"] = os.path.exists(os.environ.get("NOTIFY_SOCKET", "/nonexistent"))
print(json.dumps(out, sort_keys=True))
"""
STATUS_FIELDS = ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "NoNewPrivs",
                 "Umask", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Seccomp")  # fmt: skip
STATUS = ExecCommand(
    "/bin/grep", ("grep", "-E", "^(" + "|".join(STATUS_FIELDS) + "):", "/proc/self/status")
)
SIGPIPE = 1 << (13 - 1)  # its bit in SigIgn (proc(5))
PYTHON_PROBE = ExecCommand(PYTHON, (PYTHON, "-S", "-c", PROBE), no_env_expand=True)


@pytest.fixture(scope="module")
def compiled() -> Iterator[str]:
    """csrc/pidone-spawn.c compiled into a scratch directory (as setup.py builds it)."""
    cc = shlex.split(os.environ.get("CC", "")) or ["cc"]
    if shutil.which(cc[0]) is None:
        pytest.skip("no C compiler (cc, $CC): the compiled spawn helper is not built here")
    if os.environ.get("PIDONE_NO_CLONE3"):
        pytest.skip("PIDONE_NO_CLONE3 is set: no spawn helper at all")
    top = tempfile.mkdtemp(prefix="pidone-cspawn-", dir="/tmp")
    try:
        os.chmod(top, 0o755)
        binary = os.path.join(top, "pidone-spawn")
        flags = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror"]
        flags += shlex.split(os.environ.get("PIDONE_FAST_CFLAGS", ""))
        built = subprocess.run(
            [*cc, *flags, "-o", binary, str(ROOT / "csrc" / "pidone-spawn.c")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert built.returncode == 0, built.stderr
        yield binary
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _end(spawner: spawn_cgroup.Spawner) -> None:
    spawner.stop()
    for pid in spawner.pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


@pytest.fixture
def helpers(
    compiled: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, spawn_cgroup.Spawner]]:
    """{"python": a Spawner with the compiled helper off, "c": one using `compiled`}."""
    monkeypatch.setenv(spawn_cgroup.SPAWN_HELPER_ENV, compiled)
    python, c = spawn_cgroup.Spawner(), spawn_cgroup.Spawner()
    python.use_compiled(False)
    try:
        yield {"python": python, "c": c}
    finally:
        _end(python)
        _end(c)


def _run(
    monkeypatch: pytest.MonkeyPatch, spawner: spawn_cgroup.Spawner, req: SpawnRequest, out: Path
) -> tuple[int, tuple[int, int] | None, str]:
    """(exit status, (status, errno) from the error pipe or None, the output)."""
    monkeypatch.setattr(spawn_cgroup, "_SPAWNER", spawner)
    out.write_bytes(b"")
    before = spawner.served
    with started(req) as s:
        failure = read_spawn_failure(s, close=False)
        status = wait_exit(s.pid)
    assert spawner.served == before + 1  # a helper served it (not the fork path)
    return status, None if failure is None else (failure.status, failure.errno), out.read_text()


def _both(
    monkeypatch: pytest.MonkeyPatch,
    helpers: dict[str, spawn_cgroup.Spawner],
    req: SpawnRequest,
    out: Path,
    before: Callable[[], None] = lambda: None,
) -> tuple[int, tuple[int, int] | None, str]:
    """Run `req` through both helpers (`before` each); assert the same result; return it."""
    c_before = helpers["c"].compiled_served
    before()
    by_python = _run(monkeypatch, helpers["python"], req, out)
    before()
    by_c = _run(monkeypatch, helpers["c"], req, out)
    assert helpers["c"].compiled_served == c_before + 1  # the compiled helper took it
    assert helpers["python"].compiled_served == 0
    assert by_c[:2] == by_python[:2]
    if by_c[2] != by_python[2] and by_c[2].startswith("{"):  # the probe: name what differs
        seen_c, seen_python = json.loads(by_c[2]), json.loads(by_python[2])
        keys = sorted(set(seen_c) | set(seen_python))
        differ = [k for k in keys if seen_c.get(k) != seen_python.get(k)]
        assert {k: seen_c.get(k) for k in differ} == {k: seen_python.get(k) for k in differ}
    assert by_c[2] == by_python[2]
    return by_c


def _req(ctx: ExecContext, out: Path, own_stdout: bool = True, **kw: object) -> SpawnRequest:
    if own_stdout:
        ctx = replace(ctx, standard_output=f"truncate:{out}")
    return SpawnRequest(
        kw.pop("command", PYTHON_PROBE),  # type: ignore[arg-type]
        ctx,
        env_for(ctx, invocation_id=INVOCATION),
        fast=False,  # (never the posix_spawn path: the helpers are under test)
        unit=UNIT,
        **kw,  # type: ignore[arg-type]
    )


def _status(text: str) -> dict[str, str]:
    return {k: v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}


def _probe(text: str) -> dict[str, object]:
    return json.loads(text)  # type: ignore[no-any-return]


def test_a_plain_service_sees_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    status, failure, text = _both(monkeypatch, helpers, _req(ExecContext(), out), out)
    assert (status, failure) == (0, None)
    seen = _probe(text)
    assert seen["exec_pid_is_own"] is True
    assert seen["sid_pgid_is_own"] == [True, True]
    assert seen["ppid"] == os.getpid()  # CLONE_PARENT: our child
    assert sorted(seen["fds"]) == ["0", "1", "2"]  # type: ignore[arg-type]
    status, failure, text = _both(
        monkeypatch, helpers, _req(ExecContext(), out, command=STATUS), out
    )
    fields = _status(text)
    assert fields["SigBlk"] == "0" * 16
    # IgnoreSIGPIPE=yes, the default, and nothing else: not glibc's internal signals 32 and
    # 33 either, which posix_spawn(3) leaves ignored in the helpers (csrc/pidone-spawn.c)
    assert int(fields["SigIgn"], 16) == SIGPIPE


def test_identity_limits_and_fds_are_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("User=, Nice=-5 and OOMScoreAdjust= need root")
    out = tmp_path / "out"
    top = tempfile.mkdtemp(prefix="pidone-cspawn-cwd-", dir="/tmp")  # (tmp_path: 0700 above)
    os.chmod(top, 0o755)
    work = Path(top) / "work"
    work.mkdir()
    ctx = ExecContext(
        user="nobody",
        supplementary_groups=["daemon"],
        umask=0o027,
        working_directory=str(work),
        limits={"LimitNOFILE": (1234, 2345), "LimitCORE": (-1, -1), "LimitNPROC": (77, 88)},
        nice=-5,
        oom_score_adjust=123,
        no_new_privileges=True,
        ignore_sigpipe=False,
        standard_error="inherit",
        environment=[("A", "1"), ("B", "two words"), ("EMPTY", "")],
    )
    r_in, w_in = os.pipe2(os.O_CLOEXEC)
    r1, w1 = os.pipe2(os.O_CLOEXEC)
    r2, w2 = os.pipe2(os.O_CLOEXEC)
    try:
        for non_blocking in (True, False):
            req = _req(ctx, out, stdin_fd=r_in, pass_fds=(w1, r2), non_blocking=non_blocking)
            req = replace(req, context=replace(req.context, standard_input="fd"))

            def flip(wanted: bool = non_blocking) -> None:  # (a flag of the shared pipes)
                for fd in (w1, r2):
                    os.set_blocking(fd, wanted)

            status, failure, text = _both(monkeypatch, helpers, req, out, flip)
            assert (status, failure) == (0, None), text
            seen = _probe(text)
            fds = seen["fds"]
            assert isinstance(fds, dict)
            assert sorted(fds) == ["0", "1", "2", "3", "4"]
            assert [fds["3"][1], fds["4"][1]] == [non_blocking, non_blocking]
            assert fds["2"][0] == str(out)  # inherit: a copy of stdout
        status, failure, text = _both(monkeypatch, helpers, _req(ctx, out, command=STATUS), out)
        assert (status, failure) == (0, None), text
        fields = _status(text)
    finally:
        for fd in (r_in, w_in, r1, w1, r2, w2):
            os.close(fd)
        shutil.rmtree(top)
    assert fields["NoNewPrivs"] == "1"
    assert fields["SigBlk"] == "0" * 16
    assert not int(fields["SigIgn"], 16) & SIGPIPE  # IgnoreSIGPIPE=no
    assert fields["Umask"] == "0027"
    assert seen["ids"][0] == [65534] * 3  # type: ignore[index]
    assert seen["cwd"] == str(work)
    assert seen["nice"] == -5
    assert seen["oom"] == "123"
    assert seen["rlimits"]["RLIMIT_NOFILE"] == [1234, 2345]  # type: ignore[index]
    assert seen["env"]["B"] == "two words"  # type: ignore[index]


def test_private_tmp_and_the_cgroup_are_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch,
    helpers: dict[str, spawn_cgroup.Spawner],
    tracker: object,
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    from pidone.linux.cgroups import CgroupTracker

    assert isinstance(tracker, CgroupTracker)
    tracker.create(UNIT)
    out = tmp_path / "out"
    top = Path(tempfile.mkdtemp(prefix="pidone-cspawn-notify-", dir="/tmp"))
    notify = top / "notify"
    notify.write_bytes(b"")
    req = _req(ExecContext(private_tmp=True), out, cgroup=tracker.spawn_cgroup(UNIT),
               parent_join=False)  # fmt: skip
    req = replace(req, environment={**req.environment, "NOTIFY_SOCKET": str(notify)})
    try:
        # (the same invocation: the second run sees the first one's private /tmp, empty)
        status, failure, text = _both(monkeypatch, helpers, req, out)
    finally:
        sandbox.remove_private_tmp(INVOCATION, UNIT)
        shutil.rmtree(top)
    assert (status, failure) == (0, None), text
    seen = _probe(text)
    # private, with only the way to the notify socket bound back in ("keep")
    assert seen["tmp"] == [top.name]
    assert seen["notify"] is True
    assert seen["own_mount_namespace"] is True
    assert str(seen["cgroup"]).endswith(f"/{UNIT}']")
    assert tracker.pids(UNIT) == []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing binary", (203, errno.ENOENT)),
        ("missing cwd", (200, errno.ENOENT)),
        ("missing cwd, -", (0, 0)),
        ("unknown user", (217, None)),
        ("missing stdin file", (208, errno.ENOENT)),
        ("stdout a directory", (209, errno.EISDIR)),
        ("stderr a directory", (222, errno.EISDIR)),
    ],
)
def test_failing_steps_report_the_same_status_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch,
    helpers: dict[str, spawn_cgroup.Spawner],
    tmp_path: Path,
    case: str,
    expected: tuple[int, int | None],
) -> None:
    out = tmp_path / "out"
    ctx = ExecContext(standard_output=f"truncate:{out}")
    command = ExecCommand("/bin/true", ("true",))
    if case == "missing binary":
        command = ExecCommand(str(tmp_path / "nothing"), ("nothing",))
    elif case.startswith("missing cwd"):
        ctx = replace(ctx, working_directory=str(tmp_path / "gone"),
                      working_directory_missing_ok=case.endswith("-"))  # fmt: skip
    elif case == "unknown user":
        ctx = replace(ctx, user="pidone-no-such-user")
    elif case == "missing stdin file":
        ctx = replace(ctx, standard_input=f"file:{tmp_path / 'absent'}")
    elif case == "stdout a directory":
        ctx = replace(ctx, standard_output=f"append:{tmp_path}")
    elif case == "stderr a directory":
        ctx = replace(ctx, standard_error=f"truncate:{tmp_path}")
    req = _req(ctx, out, command=command, own_stdout=False)
    status, failure, _text = _both(monkeypatch, helpers, req, out)
    if expected[0] == 0:
        assert (status, failure) == (0, None)
        return
    assert failure is not None
    assert (status, failure[0]) == (expected[0], expected[0])
    if expected[1] is not None:
        assert failure[1] == expected[1]


def _changed_sandbox_plans(monkeypatch: pytest.MonkeyPatch, change: Callable[[Any], Any]) -> None:
    """Every spawn's sandbox plan (linux.sandbox.build_sandbox_plan) passed through `change`."""
    from pidone.linux import spawn

    original = spawn.build_sandbox_plan

    def build(ctx: ExecContext, environment: dict[str, str], unit: str = "", **kw: bool) -> object:
        box = original(ctx, environment, unit, **kw)
        assert box is not None
        return change(box)

    monkeypatch.setattr(spawn, "build_sandbox_plan", build)


def _changed_sandbox_ops(monkeypatch: pytest.MonkeyPatch, change: Callable[[Any], Any]) -> None:
    """Every mount operation of every spawn's sandbox plan passed through `change`."""
    _changed_sandbox_plans(
        monkeypatch, lambda box: replace(box, ops=tuple(change(op) for op in box.ops))
    )


def test_a_missing_bind_source_fails_namespace_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    # PrivateTmp='s plan with the /tmp bind's source gone (a plan the compiled helper
    # takes; BindPaths= plans go to the Python one) fails at step NAMESPACE, ENOENT.
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    gone = os.fsencode(tmp_path / "absent")
    _changed_sandbox_ops(
        monkeypatch, lambda op: replace(op, source=gone) if op.target == b"/tmp" else op
    )
    out = tmp_path / "out"
    req = _req(ExecContext(private_tmp=True), out, command=ExecCommand("/bin/true", ("true",)))
    try:
        status, failure, _text = _both(monkeypatch, helpers, req, out)
    finally:
        sandbox.remove_private_tmp(INVOCATION, UNIT)
    assert (status, failure) == (226, (226, errno.ENOENT))


def test_capabilities_and_scheduling_are_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    # A non-root service binding a port below 1024 (the acceptance test's unit), with IO
    # and CPU scheduling and SecureBits=: linux.privsteps' steps, in C for the compiled one.
    if os.geteuid() != 0:
        pytest.skip("capabilities and User= need root")
    out = tmp_path / "out"
    bind = 1 << 10  # CAP_NET_BIND_SERVICE
    ctx = ExecContext(
        user="nobody",
        capability_bounding_set=bind | (1 << 7),  # and CAP_SETUID
        ambient_capabilities=bind,
        io_scheduling_class=2,
        io_scheduling_priority=6,
        cpu_scheduling_policy=os.SCHED_BATCH,
        secure_bits=1,  # SECBIT_NOROOT
    )
    for command in (STATUS, PYTHON_PROBE):
        status, failure, text = _both(monkeypatch, helpers, _req(ctx, out, command=command), out)
        assert (status, failure) == (0, None), text
        if command is STATUS:
            fields = _status(text)
    assert int(fields["CapAmb"], 16) == bind
    assert int(fields["CapBnd"], 16) == bind | (1 << 7)
    seen = _probe(text)
    assert seen["sched"] == [os.SCHED_BATCH, 0]
    if "ioprio" in seen:
        assert seen["ioprio"] == (2 << 13) | 6


def test_a_failing_capability_step_reports_the_same_status_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    # An ambient capability outside the bounding set cannot even be made inheritable
    # (capset(2): EPERM), before the user switch: 218 CAPABILITIES.
    if os.geteuid() != 0:
        pytest.skip("capabilities and User= need root")
    out = tmp_path / "out"
    ctx = ExecContext(user="nobody", capability_bounding_set=1 << 7, ambient_capabilities=1 << 10)
    req = _req(ctx, out, command=ExecCommand("/bin/true", ("true",)))
    status, failure, _text = _both(monkeypatch, helpers, req, out)
    assert failure is not None
    assert (status, failure[0]) == (218, 218)


# --------------------------------------------------------------------------- the Spawner


def _plain(out: Path) -> SpawnRequest:
    return _req(ExecContext(), out, command=ExecCommand("/bin/true", ("true",)))


def test_the_compiled_helper_is_named_and_ended_like_the_python_one(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    c = helpers["c"]
    out = tmp_path / "out"
    assert _run(monkeypatch, c, _plain(out), out)[:2] == (0, None)
    # $SYSTEMD_EXEC_PID in the command line: the Python helper starts beside it
    own_pid = ExecCommand("/bin/echo", ("echo", "$SYSTEMD_EXEC_PID"))
    assert _run(monkeypatch, c, _req(ExecContext(), out, command=own_pid), out)[:2] == (0, None)
    assert int(out.read_text()) > 0
    assert (c.compiled_served, c.served) == (1, 2)
    assert c.compiled_pid
    assert c.python_pid not in (0, c.compiled_pid)
    for pid in (c.compiled_pid, c.python_pid):
        assert spawn_cgroup.is_spawn_helper(pid, os.getpid())  # comm, own session, our child
    with open(f"/proc/{c.compiled_pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == os.fsencode(os.environ[spawn_cgroup.SPAWN_HELPER_ENV])
    c.stop()
    for pid in c.pids:  # both exited (zombies until reaped here)
        assert os.waitpid(pid, 0)[0] == pid


def test_a_helper_of_another_build_is_dropped_for_the_python_one(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    # The compiled helper refuses a request it cannot read (EPROTO); that start, and every
    # later one, goes to the Python helper instead of forking.
    c = helpers["c"]
    monkeypatch.setattr(cspawn, "MAGIC", cspawn.MAGIC + 1)
    out = tmp_path / "out"
    for _ in range(2):
        assert _run(monkeypatch, c, _plain(out), out)[:2] == (0, None)
    assert (c.compiled_served, c.served, c.disabled) == (0, 2, False)
    assert c.compiled_path() == ""
    assert c.python_pid


def test_no_compiled_helper_where_the_variable_points_nowhere_or_is_empty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(spawn_cgroup.SPAWN_HELPER_ENV, str(tmp_path / "absent"))
    assert spawn_cgroup.find_compiled_helper() == ""
    monkeypatch.setenv(spawn_cgroup.SPAWN_HELPER_ENV, "")
    assert spawn_cgroup.find_compiled_helper() == ""
    monkeypatch.setenv(spawn_cgroup.SPAWN_HELPER_ENV, "/bin/true")
    assert spawn_cgroup.find_compiled_helper() == "/bin/true"


def test_the_compiled_helper_is_found_next_to_the_interpreter_or_the_script(
    tmp_path: Path,
) -> None:
    """Without $PIDONE_SPAWN_HELPER: next to the interpreter (a venv's bin/), else next to
    the running script (pidone-py's scripts directory); sysconfig, whose build variables
    cost the daemon ~0.45 MiB, is not imported for either."""
    src = Path(spawn_cgroup.__file__).resolve().parents[2]
    venv, scripts = tmp_path / "venv", tmp_path / "scripts"
    for d in (venv, scripts):
        d.mkdir()
    (venv / "python").symlink_to(os.path.realpath(sys.executable))
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        " from pidone.linux import spawn_cgroup as s;"
        " print(s.find_compiled_helper(), 'sysconfig' in sys.modules)"
    )
    script = scripts / "pidone-py"
    script.write_text(code.replace("sys.argv[1]", repr(str(src))) + "\n")
    env = {k: v for k, v in os.environ.items() if k != spawn_cgroup.SPAWN_HELPER_ENV}

    def found(*argv: str) -> str:
        return subprocess.run(
            [str(venv / "python"), "-IS", *argv], capture_output=True, text=True,
            env=env, check=True, timeout=60,
        ).stdout  # fmt: skip

    for d in (venv, scripts):
        helper = d / spawn_cgroup.HELPER_COMM
        helper.write_text("#!/bin/sh\n")
        helper.chmod(0o755)
        assert found(str(script)) == f"{helper} False\n"
        helper.unlink()
    assert found("-c", code, str(src)).endswith(" True\n")  # none nearby: sysconfig's turn


def test_the_compiled_helper_answers_a_malformed_request_with_eproto(
    helpers: dict[str, spawn_cgroup.Spawner],
) -> None:
    helper = helpers["c"]._helper(True)
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        good = cspawn.encode(_wire(ExecContext()), False)  # type: ignore[arg-type]
        assert good is not None
        for data, fds in ((good[:-1], [w]), (good + b"x", [w]), (good, [w, w]), (b"", [w])):
            assert helper.request(data, fds) == (0, errno.EPROTO), (data[:8], fds)
        for n in range(0, len(good), 3):  # every cut is seen (bounds checks), none served
            assert helper.request(good[:n], [w]) == (0, errno.EPROTO), n
        pid, err = helper.request(good, [w])  # and it still serves
        assert (pid > 0, err) == (True, 0)
        assert wait_exit(pid) == 0
    finally:
        os.close(r)
        os.close(w)


def test_limits_beyond_what_may_be_set_are_clamped_alike(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    # LimitNOFILE=infinity: above fs.nr_open even root gets EPERM (setrlimit(2)); both
    # clamp to the current hard limit as systemd's setrlimit_closest() does.
    import resource

    out = tmp_path / "out"
    ctx = ExecContext(limits={"LimitNOFILE": (2**64 - 1, 2**64 - 1), "LimitSTACK": (-1, -1)})
    status, failure, text = _both(monkeypatch, helpers, _req(ctx, out), out)
    assert (status, failure) == (0, None), text
    limits = _probe(text)["rlimits"]
    assert isinstance(limits, dict)
    assert limits["RLIMIT_NOFILE"] == [resource.getrlimit(resource.RLIMIT_NOFILE)[1]] * 2


def test_an_output_path_that_is_a_socket_is_connected_to_by_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    # StandardOutput=file:PATH where PATH is an AF_UNIX socket: open(2) gives ENXIO, and
    # the child connects instead (systemd.exec(5), StandardOutput=file:path).
    import socket

    path = tmp_path / "listener"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(4)
        server.settimeout(20)
        out = tmp_path / "out"
        ctx = ExecContext(standard_output=f"file:{path}")
        req = _req(ctx, out, own_stdout=False, command=ExecCommand("/bin/echo", ("echo", "hi")))
        got = []

        def accept() -> None:
            conn, _ = server.accept()
            with conn:
                got.append(conn.recv(64))

        status, failure, _text = _both(monkeypatch, helpers, req, out)
        accept()
        accept()
    assert (status, failure) == (0, None)
    assert got == [b"hi\n", b"hi\n"]


def test_start_boots_the_compiled_helper_and_the_python_one_only_when_asked(
    helpers: dict[str, spawn_cgroup.Spawner],
) -> None:
    c = helpers["c"]
    c.start()
    assert (bool(c.compiled_pid), c.python_pid) == (True, 0)
    c.start(python_too=True)
    assert c.python_pid not in (0, c.compiled_pid)
    python = helpers["python"]  # no compiled helper: start() boots the Python one
    python.start()
    assert (python.compiled_pid, bool(python.python_pid)) == (0, True)


def _sandbox_tree() -> Path:
    """A scratch tree under /tmp (reachable, outside PrivateTmp='s /tmp: its paths are seen
    through ReadWritePaths= & co. only when those are bound)."""
    top = Path(tempfile.mkdtemp(prefix="pidone-cspawn-box-", dir="/var/lib"))
    for name in ("rw", "ro", "hidden-dir", "bind-src", "bind-ro-src", "bind-dst", "tmpfs"):
        (top / name).mkdir()
        (top / name / "f").write_text(name)
    (top / "hidden-file").write_text("secret")
    return top


@pytest.mark.parametrize("variant", ["strict", "full+home", "yes+tmpfs-home", "noexec"])
def test_sandboxes_are_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch,
    helpers: dict[str, spawn_cgroup.Spawner],
    tmp_path: Path,
    variant: str,
) -> None:
    # ProtectSystem=, ProtectHome=, ReadWritePaths=, ReadOnlyPaths=, InaccessiblePaths=,
    # BindPaths=, BindReadOnlyPaths=, TemporaryFileSystem= with PrivateTmp=: the mount
    # table the program sees (points, per-mount options, types) is the same.
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    top = _sandbox_tree()
    sub = top / "rw-sub"  # a writable mount below "/": the recursive remount reaches it
    sub.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(sub)], check=True)
    try:
        if variant == "strict":
            ctx = ExecContext(
                private_tmp=True,
                protect_system="strict",
                protect_home="read-only",
                read_write_paths=[str(top / "rw"), "-/nonexistent-pidone"],
                read_only_paths=[str(top / "ro")],
                inaccessible_paths=[str(top / "hidden-dir"), str(top / "hidden-file")],
                bind_paths=[f"{top / 'bind-src'}:{top / 'bind-dst'}", "-/nonexistent-pidone"],
                bind_read_only_paths=[f"{top / 'bind-ro-src'}:{top / 'bind-ro-dst'}:norbind"],
                temporary_file_system=[f"{top / 'tmpfs'}:ro,mode=700"],
            )
        elif variant == "full+home":
            ctx = ExecContext(protect_system="full", protect_home="yes", private_tmp=True)
        elif variant == "noexec":  # redis-server's: NoExecPaths=/, ExecPaths= its binary
            ctx = ExecContext(
                private_tmp=True,
                protect_system="strict",
                no_exec_paths=["/"],
                exec_paths=[PYTHON, "/usr/lib", "/lib", "-/nonexistent-pidone"],
            )
        else:
            ctx = ExecContext(protect_system="yes", protect_home="tmpfs",
                              read_only_paths=["-/nonexistent-pidone"])  # fmt: skip
        out = tmp_path / "out"
        status, failure, text = _both(monkeypatch, helpers, _req(ctx, out), out)
    finally:
        subprocess.run(["umount", "-l", str(sub)], check=False)
        sandbox.remove_private_tmp(INVOCATION, UNIT)
        shutil.rmtree(top)
    assert (status, failure) == (0, None), text
    seen = _probe(text)
    mounts = {point: options for point, options, _kind, _super in seen["mounts"]}  # type: ignore[union-attr]
    if variant == "strict":
        assert mounts["/"].startswith("ro")
        assert mounts[str(sub)].startswith("ro")
        assert mounts[str(top / "rw")].startswith("rw")
        assert mounts[str(top / "bind-dst")].startswith("rw")
        assert mounts[str(top / "bind-ro-dst")].startswith("ro")
        assert mounts[str(top / "tmpfs")].startswith("ro")
    elif variant == "noexec":
        binary = os.path.realpath(PYTHON)
        for point in ("/", str(sub)):
            assert "noexec" in mounts[point].split(","), point
        # another entry keeps its exec bit (252's deny list: PrivateTmp='s /tmp)
        assert "noexec" not in mounts["/tmp"].split(",")
        for point in (binary, "/usr/lib"):  # exec again, and still read-only
            assert "noexec" not in mounts[point].split(","), point
            assert mounts[point].startswith("ro,"), point
    else:
        assert mounts["/usr"].startswith("ro")


def test_a_missing_temporary_file_system_fails_namespace_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    out = tmp_path / "out"
    ctx = ExecContext(temporary_file_system=[str(tmp_path / "absent")])
    req = _req(ctx, out, command=ExecCommand("/bin/true", ("true",)))
    status, failure, _text = _both(monkeypatch, helpers, req, out)
    assert (status, failure) == (226, (226, errno.ENOENT))


# ------------------------------------------------------------------ PrivateDevices=

PSEUDO_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
                  "urandom": (1, 9), "tty": (5, 0)}  # fmt: skip
DEV_LINKS = {"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
             "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}  # fmt: skip


def _with_dev_log(monkeypatch: pytest.MonkeyPatch, target: bytes) -> None:
    """Plans carry `target` as the host's /dev/log symlink target (here /dev/log may be a
    socket, or absent: then no /dev/log link is made)."""
    _changed_sandbox_plans(monkeypatch, lambda box: replace(box, dev_log=target))


@pytest.mark.parametrize("variant", ["alone", "strict", "binds"])
def test_private_devices_are_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch,
    helpers: dict[str, spawn_cgroup.Spawner],
    tmp_path: Path,
    variant: str,
) -> None:
    # PrivateDevices= (linux.mountns _private_dev): what the program finds in /dev (names,
    # types and modes, owners, majors/minors, symlink targets), in /dev/pts, and the mount
    # table are the same from both helpers.
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    top = _sandbox_tree()
    in_shm = Path(tempfile.mkdtemp(prefix="pidone-cspawn-dev-", dir="/dev/shm"))
    # A BindPaths= target in /dev that does not exist: both helpers make it in the private
    # /dev, and the host's /dev stays as it was.
    made = Path("/dev") / f"pidone-cspawn-{os.getpid()}"
    # A mount below /dev/shm: the recursive bind of /dev/shm brings it along
    sub = Path(tempfile.mkdtemp(prefix="pidone-cspawn-sub-", dir="/dev/shm"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(sub)], check=True)
    try:
        if variant == "alone":
            ctx = ExecContext(private_devices=True)
            _with_dev_log(monkeypatch, b"/run/systemd/journal/dev-log")
        elif variant == "strict":
            ctx = ExecContext(private_devices=True, private_tmp=True, protect_system="strict",
                              read_write_paths=[str(top / "rw")])  # fmt: skip
        else:
            ctx = ExecContext(
                private_devices=True,
                bind_paths=[f"{top / 'bind-src'}:{in_shm}", f"{top / 'bind-ro-src'}:{made}"],
                bind_read_only_paths=[f"{top / 'ro'}:/dev/pidone-cspawn-ro-{os.getpid()}"],
            )
        out = tmp_path / "out"
        status, failure, text = _both(monkeypatch, helpers, _req(ctx, out), out)
        host_dev_made = made.exists()
    finally:
        sandbox.remove_private_tmp(INVOCATION, UNIT)
        shutil.rmtree(top)
        shutil.rmtree(in_shm, ignore_errors=True)
        subprocess.run(["umount", "-l", str(sub)], check=False)
        sub.rmdir()
        for path in (made, Path(f"/dev/pidone-cspawn-ro-{os.getpid()}")):
            with contextlib.suppress(OSError):
                path.rmdir()
    assert (status, failure) == (0, None), text
    assert not host_dev_made  # mount points inside the private /dev are made there only
    seen = _probe(text)
    dev = seen["dev"]
    assert isinstance(dev, dict)
    for name, numbers in PSEUDO_DEVICES.items():
        assert dev[name][3] == list(numbers), name
        assert dev[name][0].startswith("0o20"), name  # a character device
    for name, target in DEV_LINKS.items():
        assert dev[name][4] == target, name
    assert dev["pts"][0] == oct(0o40755)
    assert seen["pts"] == {"ptmx": [oct(0o20666), 0, 0, [5, 2], None]}  # its own instance
    table = seen["mounts"]
    assert isinstance(table, list)
    mounts = {point: (options, kind, sb) for point, options, kind, sb in table}
    assert mounts["/dev"][1] == "tmpfs"
    assert "mode=755" in mounts["/dev"][2].split(",")
    assert mounts["/dev/pts"][1] == "devpts"
    assert {"mode=620", "gid=5", "ptmxmode=666"} <= set(mounts["/dev/pts"][2].split(","))
    assert str(sub) in mounts
    if variant == "alone":
        assert dev["log"][4] == "/run/systemd/journal/dev-log"
    if variant == "strict":
        assert mounts["/"][0].startswith("ro")
        assert mounts["/dev"][0].startswith("rw")  # (made after "/" went read-only)
    if variant == "binds":
        assert sorted(n for n in dev if n.startswith("pidone-cspawn-")) == [
            made.name, f"pidone-cspawn-ro-{os.getpid()}"]  # fmt: skip
        assert mounts[f"/dev/pidone-cspawn-ro-{os.getpid()}"][0].startswith("ro")
        assert mounts[str(in_shm)][0].startswith("rw")


def test_a_failing_private_dev_mount_fails_namespace_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    # The /dev tmpfs refused (a mount option tmpfs(5) rejects): 226 NAMESPACE, EINVAL.
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    _changed_sandbox_ops(
        monkeypatch, lambda op: replace(op, data=b"mode=bogus") if op.kind == "dev" else op
    )
    out = tmp_path / "out"
    req = _req(ExecContext(private_devices=True), out, command=ExecCommand("/bin/true", ("true",)))
    status, failure, _text = _both(monkeypatch, helpers, req, out)
    assert (status, failure) == (226, (226, errno.EINVAL))


# ------------------------------------------------------------------ TTY streams

_HOLDER = (
    "import fcntl, os, sys, termios, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR)\n"
    "fcntl.ioctl(fd, termios.TIOCSCTTY, 0)\n"
    "print('ok', flush=True)\n"
    "time.sleep(60)\n"
)


@contextlib.contextmanager
def _pty(
    hung_up: list[bool],
) -> Iterator[tuple[str, int, Callable[[], None], Callable[[], list[object]]]]:
    """(a pty's path, its master fd, start a session that holds it as its controlling terminal, its
    termios attributes now); the holders are killed by PID and reaped afterwards, each
    noting in `hung_up` whether it had a SIGHUP (dead of it, or pending)."""
    import fcntl
    import termios
    import tty

    master, slave = os.openpty()
    path = os.ttyname(slave)
    holders: list[subprocess.Popen[bytes]] = []

    def end() -> None:
        for old in holders:
            pending = 0
            with contextlib.suppress(OSError), open(f"/proc/{old.pid}/status") as f:
                for line in f:
                    if line.startswith(("SigPnd:", "ShdPnd:")):
                        pending |= int(line.split()[1], 16)
            hung_up.append(old.poll() == -1 or bool(pending & 1))  # (SIGHUP: 1, bit 0)
            old.kill()
            old.wait()
            assert old.stdout is not None
            old.stdout.close()
        holders.clear()

    def hold() -> None:
        end()
        holders.append(subprocess.Popen([PYTHON, "-c", _HOLDER, path], stdout=subprocess.PIPE,
                                        start_new_session=True))  # fmt: skip
        assert holders[-1].stdout is not None
        assert holders[-1].stdout.readline() == b"ok\n"

    def attrs() -> list[object]:
        """The termios attributes and the bytes waiting in the input queue."""
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)  # (a hangup voids older opens)
        try:
            waiting = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
            return [*termios.tcgetattr(fd), int.from_bytes(waiting, "little")]
        finally:
            os.close(fd)

    try:
        tty.setraw(slave)
        yield path, master, hold, attrs
    finally:
        end()
        os.close(slave)
        os.close(master)


@pytest.mark.parametrize(
    "variant", ["tty+reset", "tty-force+vhangup", "tty-force, held", "tty-fail, held"]
)
def test_tty_streams_are_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch,
    helpers: dict[str, spawn_cgroup.Spawner],
    tmp_path: Path,
    variant: str,
) -> None:
    # StandardInput=tty* on TTYPath= (a pty made here): the controlling terminal, fds and
    # the terminal's attributes afterwards (TTYReset=) are the same from both helpers; a
    # terminal another session holds fails tty-fail (208 STDIN, EPERM) and is stolen by
    # tty-force (TIOCSCTTY 1, root), after TTYVHangup=.
    import termios
    import tty

    if os.geteuid() != 0:
        pytest.skip("tty-force steals a terminal: CAP_SYS_ADMIN")
    out = tmp_path / "out"
    hung_up: list[bool] = []
    with _pty(hung_up) as (path, master, hold, attrs):
        mode, _, extra = variant.removesuffix(", held").partition("+")
        ctx = ExecContext(standard_input=mode, tty_path=path, tty_reset=extra == "reset",
                          tty_vhangup=extra == "vhangup")  # fmt: skip
        after: list[list[object]] = []

        def before() -> None:
            if after or helpers["python"].served:  # the previous run's outcome
                after.append(attrs())
            fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
            try:
                tty.setraw(fd)
            finally:
                os.close(fd)
            os.write(master, b"typed ahead\n")  # (TTYReset= flushes it)
            if mode != "tty":
                hold()

        status, failure, text = _both(monkeypatch, helpers, _req(ctx, out), out, before)
        after.append(attrs())
        rdev = os.stat(path).st_rdev
    assert len(after) == 2
    assert after[0] == after[1]
    # TTYVHangup=: SIGHUP to the session holding it (one holder per run but for plain tty)
    assert hung_up == ([] if mode == "tty" else [extra == "vhangup"] * 2)
    if mode == "tty-fail":
        assert (status, failure) == (208, (208, errno.EPERM))
        return
    assert (status, failure) == (0, None), text
    seen = _probe(text)
    assert seen["ctty"] == rdev
    fds = seen["fds"]
    assert isinstance(fds, dict)
    assert fds["0"][:3] == [path, False, os.O_RDWR]
    lflag = after[0][3]
    assert isinstance(lflag, int)
    if extra == "reset":  # (raw before each run; a hangup may leave it either way)
        assert lflag & termios.ICANON
        assert after[0][-1] == 0  # the typed-ahead line flushed


# What a command sees of the kernel protections and namespaces (the same from both helpers).
KERNEL_PROBE = r"""
import json, os
def ns(kind): return os.readlink(f"/proc/self/ns/{kind}")
def last_mount(point):
    flags = ""
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        if f[4] == point:
            flags = f[5].split(",")[0]
    return flags
def writable(path):
    try:
        os.close(os.open(path, os.O_WRONLY))
        return True
    except OSError:
        return False
print(json.dumps({
    "net": ns("net"), "uts": ns("uts"),
    "links": sorted(l.split(":")[0].strip() for l in open("/proc/self/net/dev").readlines()[2:]),
    "proc_sys": writable("/proc/sys/kernel/printk_ratelimit"),
    "sys": last_mount("/sys"), "cgroup": last_mount("/sys/fs/cgroup"),
    "kcore": os.stat("/proc/kcore").st_size if os.path.exists("/proc/kcore") else None,
    "kmsg": oct(os.stat("/proc/kmsg").st_mode & 0o777) if os.path.exists("/proc/kmsg") else None,
}))
"""


def test_kernel_protections_and_namespaces_are_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    ctx = ExecContext(
        protect_kernel_tunables=True,
        protect_kernel_logs=True,
        protect_control_groups=True,
        protect_hostname=True,
        private_network=True,
    )
    out = tmp_path / "out"
    probe = ExecCommand(PYTHON, (PYTHON, "-S", "-c", KERNEL_PROBE), no_env_expand=True)
    try:  # (one invocation: both helpers' commands join the same network namespace)
        status, failure, text = _both(monkeypatch, helpers, _req(ctx, out, command=probe), out)
        plus = replace(probe, full_privileges=True)
        plus_status, _, plus_text = _both(monkeypatch, helpers, _req(ctx, out, command=plus), out)
    finally:
        sandbox.remove_private_network(INVOCATION, UNIT)
    assert (status, failure, plus_status) == (0, None, 0), text
    seen, plus_seen = _probe(text), _probe(plus_text)
    assert seen["net"] != os.readlink("/proc/self/ns/net")
    assert seen["links"] == ["lo"]
    assert seen["uts"] != os.readlink("/proc/self/ns/uts")
    assert (seen["proc_sys"], seen["sys"], seen["cgroup"]) == (False, "ro", "ro")
    assert seen["kcore"] in (0, None)
    assert seen["kmsg"] in ("0o0", None)
    # a `+` command: the unit's network namespace, nothing else (systemd 252 exec_child())
    assert plus_seen["net"] == seen["net"]
    assert plus_seen["uts"] == os.readlink("/proc/self/ns/uts")
    assert plus_seen["proc_sys"] is True


PROC_PROBE = r"""
import json, os
opts = [l.split()[-1] for l in open("/proc/self/mountinfo") if l.split()[4] == "/proc"][-1]
print(json.dumps({
    "options": sorted(o for o in opts.split(",") if o.startswith(("hidepid=", "subset="))),
    "sys": os.path.exists("/proc/sys"),
    "pid1": os.path.exists("/proc/1"),
}))
"""


@pytest.mark.parametrize(
    ("protect", "subset", "options", "sys_there"),
    [
        ("invisible", "pid", ["hidepid=invisible", "subset=pid"], False),
        ("noaccess", "all", ["hidepid=noaccess"], True),
        ("default", "pid", ["subset=pid"], False),  # (hidepid=off: the kernel does not say)
    ],
)
def test_protect_proc_is_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch,
    helpers: dict[str, spawn_cgroup.Spawner],
    tmp_path: Path,
    protect: str,
    subset: str,
    options: list[str],
    sys_there: bool,
) -> None:
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    ctx = ExecContext(protect_proc=protect, proc_subset=subset, user="nobody")
    out = tmp_path / "out"
    tmp_path.chmod(0o777)  # (nobody writes the output file)
    probe = ExecCommand(PYTHON, (PYTHON, "-S", "-c", PROC_PROBE), no_env_expand=True)
    status, failure, text = _both(monkeypatch, helpers, _req(ctx, out, command=probe), out)
    assert (status, failure) == (0, None), text
    seen = _probe(text)
    # systemd 252 in sd-oracle: "hidepid=invisible subset=pid", no /proc/sys, no /proc/1
    # for nobody under invisible (tests/data/oracle/capture-sandbox-252.md)
    assert seen["options"] == options
    assert seen["sys"] is sys_there
    assert seen["pid1"] is (protect != "invisible")


def test_private_mounts_is_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    if os.geteuid() != 0 or not sandbox.sandbox_available():
        pytest.skip("mount namespaces need root with CAP_SYS_ADMIN")
    probe = ExecCommand(
        PYTHON,
        (
            PYTHON,
            "-S",
            "-c",
            "import os; n = lambda p: os.readlink(f'/proc/{p}/ns/mnt'); "
            "print(n('self') != n(os.getppid()))",
        ),
        no_env_expand=True,
    )
    out = tmp_path / "out"
    req = _req(ExecContext(private_mounts=True, mount_apivfs=True), out, command=probe)
    status, failure, text = _both(monkeypatch, helpers, req, out)
    assert (status, failure) == (0, None), text
    assert text == "True\n"  # a mount namespace other than its parent's


# --------------------------------------------------------------------------- seccomp

# What a filtered program can do: socket(AF_INET), swapoff(2) and NoNewPrivs (proc(5)).
SECCOMP_PROBE = r"""
import ctypes, errno, json, socket
out = {}
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    out["inet"] = "ok"
except OSError as exc:
    out["inet"] = errno.errorcode[exc.errno]
libc = ctypes.CDLL(None, use_errno=True)
out["swapoff"] = "ok" if libc.swapoff(b"/nonexistent") == 0 else errno.errorcode[ctypes.get_errno()]
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
out["nnp"] = status["NoNewPrivs"].strip()
out["seccomp"] = status["Seccomp"].strip()
print(json.dumps(out, sort_keys=True))
"""


def _seccomp_ready() -> None:
    from pidone.linux import seccomp

    if not seccomp.available():
        pytest.skip("this kernel or process cannot load seccomp filters")


@pytest.mark.parametrize("user", ["", "nobody"])
def test_seccomp_filters_are_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch,
    helpers: dict[str, spawn_cgroup.Spawner],
    tmp_path: Path,
    user: str,
) -> None:
    # RestrictAddressFamilies=AF_UNIX, SystemCallFilter=~@swap, SystemCallErrorNumber=EPERM:
    # loaded last in the child; under User= (no CAP_SYS_ADMIN left) with NoNewPrivileges=
    # implied (252 context_has_no_new_privileges()), as root without it.
    _seccomp_ready()
    if user and os.geteuid() != 0:
        pytest.skip("User= needs root")
    out = tmp_path / "out"
    ctx = ExecContext(
        user=user,
        address_families=[socket_af_unix()],
        address_families_allow_list=True,
        syscall_filter={"swapoff": -1, "swapon": -1},
        syscall_errno=errno.EPERM,
    )
    probe = ExecCommand(PYTHON, (PYTHON, "-S", "-c", SECCOMP_PROBE), no_env_expand=True)
    status, failure, text = _both(monkeypatch, helpers, _req(ctx, out, command=probe), out)
    assert (status, failure) == (0, None), text
    assert _probe(text) == {
        "inet": "EAFNOSUPPORT",
        "swapoff": "EPERM",
        "nnp": "1" if user else "0",
        "seccomp": "2",  # SECCOMP_MODE_FILTER
    }


def socket_af_unix() -> int:
    import socket

    return int(socket.AF_UNIX)


def test_a_command_killed_by_its_filter_dies_alike_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch, helpers: dict[str, spawn_cgroup.Spawner], tmp_path: Path
) -> None:
    # SystemCallFilter=~@swap without SystemCallErrorNumber=: the process dies of SIGSYS
    _seccomp_ready()
    out = tmp_path / "out"
    ctx = ExecContext(syscall_filter={"swapoff": -1})
    probe = ExecCommand(PYTHON, (PYTHON, "-S", "-c", SECCOMP_PROBE), no_env_expand=True)
    status, failure, _text = _both(monkeypatch, helpers, _req(ctx, out, command=probe), out)
    assert failure is None
    assert status == 128 + 31  # killed by SIGSYS
    plus = ExecCommand(
        PYTHON, (PYTHON, "-S", "-c", SECCOMP_PROBE), no_env_expand=True, full_privileges=True
    )
    status, failure, text = _both(monkeypatch, helpers, _req(ctx, out, command=plus), out)
    assert (status, failure) == (0, None)
    assert _probe(text)["swapoff"] == "ENOENT"  # `+`: no filter at all


# --------------------------------------------------------------------------- PrivateUsers=

USERNS_PROBE = ExecCommand(
    "/bin/sh",
    ("sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u; "
     "grep -E '^Cap(Bnd|Eff):' /proc/self/status; "
     "[ \"$(readlink /proc/self/ns/user)\" = \"$(readlink /proc/1/ns/user)\" ] || echo own"),
)  # fmt: skip


@pytest.mark.parametrize("user", ["", "nobody"])
def test_private_users_is_the_same_from_both_helpers(
    monkeypatch: pytest.MonkeyPatch,
    helpers: dict[str, spawn_cgroup.Spawner],
    tmp_path: Path,
    user: str,
) -> None:
    # systemd 252 setup_private_users(): the manager's IDs and the service's map to
    # themselves, setgroups denied; the bounding set is dropped inside the new namespace
    # (its creation gives a full one), so CapabilityBoundingSet= still holds there.
    if os.geteuid() != 0 or not sandbox.user_namespaces_available():
        pytest.skip("PrivateUsers= needs root and user namespaces (unshare(CLONE_NEWUSER))")
    out = tmp_path / "out"
    bind = 1 << 10  # CAP_NET_BIND_SERVICE
    ctx = ExecContext(user=user, private_users=True, capability_bounding_set=bind)
    status, failure, text = _both(monkeypatch, helpers, _req(ctx, out, command=USERNS_PROBE), out)
    assert (status, failure) == (0, None), text
    lines = [" ".join(line.split()) for line in text.splitlines()]
    nobody = "65534 65534 1"
    maps = ["0 0 1", nobody, "0 0 1", nobody] if user else ["0 0 1", "0 0 1"]
    assert lines[: len(maps)] == maps
    rest = lines[len(maps) :]
    assert rest[0] == "deny"
    assert rest[1] == ("65534" if user else "0")
    assert rest[2] == f"CapEff: {(0 if user else bind):016x}"
    assert rest[3] == f"CapBnd: {bind:016x}"
    assert rest[4] == "own"
