"""Fork and exec one ExecCommand with its ExecContext; report set-up failures through a pipe.

Order of operations in the child (systemd 252 exec_child(), simplified; docs/processes.md):

 1. drop the parent's signal wake-up fd, reset every handled/ignored signal to SIG_DFL,
    then SIGPIPE per IgnoreSIGPIPE= (man 7 signal: ignored dispositions survive execve);
 2. setsid()                                            -> 220 SETSID
 3. join the unit's cgroup: write "0" to its cgroup.procs (cgroups(7)) -> 219 CGROUP
 4. UMask=, then stdin, stdout, stderr (files are created under the unit's umask, as
    systemd creates them with 0666 & ~UMask=) -> 208 STDIN, 209 STDOUT, 222 STDERR
 5. passed fds renumbered from 3, the error pipe parked right after them, every other fd
    closed (close_range(2) via os.closerange)           -> 202 FDS
 6. Limit*= (setrlimit_closest), Nice=, OOMScoreAdjust= -> 205 LIMITS, 201 NICE, 206 OOM_ADJUST
 7. unless the command has `+` or `!`, setgroups/setresgid -> 216 GROUP
    and setresuid                                        -> 217 USER
 8. WorkingDirectory= (after the user switch, as systemd does: the directory may be
    reachable only by that user, e.g. root-squashed NFS) -> 200 CHDIR
 9. NoNewPrivileges= (prctl PR_SET_NO_NEW_PRIVS)     -> 227 NO_NEW_PRIVILEGES
10. empty signal mask, execve                           -> 203 EXEC

Every failure writes (exit status, errno) to a close-on-exec pipe and `_exit`s with the
status; EOF on the pipe means execve succeeded (spec 02 §1, Type=exec).

The child runs Python between fork and exec, so it must stay away from anything that takes
a lock another thread of the daemon might have held at fork time (logging, the journal
writer, buffered file objects, imports). Everything is prepared in the parent: paths and
argv as bytes, user and group ids resolved through NSS, the environment as a bytes dict.
The child only calls os.* functions. Signals are blocked in the parent across fork() so
that no Python-level handler (and no set_wakeup_fd write into the parent's pipe) can run in
the child before step 1.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import importlib
import os
import pwd
import signal
from collections.abc import Callable, Iterable, Mapping

from pidone.core.exitstatus import EXIT_STATUS_NAMES

from pidone.core.dataclass_lite import dataclass, replace
from pidone.core.environment import SELF_PID, DirectoryBases
from pidone.core.execline import ExecCommand, expand_exec_argv
from pidone.core.model import ExecContext
from pidone.linux import fastspawn, spawn_cgroup
from pidone.linux.directories import DirectoryError, create_directories
from pidone.linux.execprep import (
    LIMIT_RESOURCES,
    PR_SET_NO_NEW_PRIVS,
    Identity,
    find_executable,
    last_ctypes_errno,
    prctl_function,
    resolve_identity,
    rlim,
    setrlimit_closest,
)
from pidone.linux.privileges import (
    EXIT_CAPABILITIES,
    PrivilegePlan,
    apply_after_user,
    apply_before_user,
    apply_scheduling,
    build_privilege_plan,
)
from pidone.linux.reaper import open_pidfd
from pidone.linux.sandbox import (
    EXIT_NAMESPACE,
    SandboxPlan,
    apply_sandbox,
    build_sandbox_plan,
    not_enforced_settings,
    sandbox_available,
)
from pidone.linux.stdio import StdioSource, input_source, open_source, output_source

EXIT_CHDIR = 200
EXIT_NICE = 201
EXIT_FDS = 202
EXIT_EXEC = 203
EXIT_LIMITS = 205
EXIT_OOM_ADJUST = 206
EXIT_NO_NEW_PRIVILEGES = 227
EXIT_SIGNAL_MASK = 207
EXIT_STDIN = 208
EXIT_STDOUT = 209
EXIT_GROUP = 216
EXIT_USER = 217
EXIT_CGROUP = 219
EXIT_SETSID = 220
EXIT_STDERR = 222
EXIT_EXCEPTION = 255

_MAX_FD = 0x7FFFFFFF
_ALL_SIGNALS = frozenset(int(s) for s in signal.valid_signals())
# The signal module wraps every mask and handler it returns in enums, which costs about
# a millisecond per spawn; the C functions underneath return plain ints.
_signal_c = importlib.import_module("_signal")
_sigmask: Callable[[int, Iterable[int]], set[int]] = _signal_c.pthread_sigmask
_getsignal: Callable[[int], object] = _signal_c.getsignal
_RESETTABLE = tuple(
    s for s in range(1, signal.NSIG) if s not in (signal.SIGKILL, signal.SIGSTOP, 32, 33)
)


@dataclass(frozen=True, slots=True)
class SpawnRequest:
    """What to run and how; fds are the caller's and stay open in the parent."""

    command: ExecCommand
    context: ExecContext
    environment: Mapping[str, str]  # core.environment.build_environment(); SELF_PID allowed
    identity: Identity | None = None  # None: resolve_identity(context) now
    cgroup: str = ""  # the unit's cgroup directory ("" = no cgroup placement)
    stdin_fd: int = -1  # StandardInput=socket / fd:NAME
    stdout_fd: int = -1  # journal / kmsg / socket / fd:NAME (e.g. a socketpair end)
    stderr_fd: int = -1
    pass_fds: tuple[int, ...] = ()  # become 3, 4, ... (LISTEN_FDS)
    non_blocking: bool = False  # NonBlocking=: O_NONBLOCK on the passed fds, else cleared
    expand_argv: bool = True  # $VAR expansion (ExecCommand `:` turns it off too)
    fast: bool = True  # allow the posix_spawn path when the settings permit (linux.fastspawn)
    unit: str = ""  # the unit's name: names a DynamicUser= when User= is empty
    directory_bases: DirectoryBases | None = None  # where RuntimeDirectory= & co. live
    # Also write the PID to cgroup.procs from the parent after fork (systemd does). Each
    # write is a migration: cgroup_threadgroup_rwsem for writing, an RCU grace period
    # (~10 ms) that blocks the caller. False: the caller accepts that the child is in its
    # cgroup only once it reaches exec (the child joins first; posix_spawn children are
    # born there) and covers the window itself (linux.cgroups CgroupTracker.expect).
    parent_join: bool = True


@dataclass(frozen=True, slots=True)
class Spawned:
    """A started child: its pid, a pidfd (None before Linux 5.3) and the error pipe."""

    pid: int
    pidfd: int | None
    status_fd: int  # read end: EOF = exec succeeded; 8 bytes = failure (read_spawn_failure);
    # -1 when exec is already known to have succeeded (the posix_spawn path)
    argv: tuple[str, ...]
    path: str
    not_enforced: tuple[str, ...] = ()  # sandbox settings this start could not enforce


@dataclass(frozen=True, slots=True)
class SpawnFailure:
    """What the child reported before dying: exit status (2xx) and errno."""

    status: int
    errno: int
    path: str

    @property
    def step(self) -> str:
        return EXIT_STATUS_NAMES.get(self.status, str(self.status))

    @property
    def message(self) -> str:
        """systemd's wording: `Failed at step EXEC spawning /x: No such file or directory`."""
        reason = os.strerror(self.errno) if self.errno else "Unknown error"
        return f"Failed at step {self.step} spawning {self.path}: {reason}"


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True)
class _Plan:
    path: bytes
    argv: list[bytes]
    deferred_argv: tuple[str, ...] | None  # expand in the child: argv names a SELF_PID variable
    env_text: dict[str, str]
    env: dict[bytes, bytes]
    self_pid_keys: tuple[bytes, ...]
    pre_error: tuple[int, int]  # (status, errno) to fail with at the identity step
    exec_error: int  # errno from the executable lookup
    reset_signals: tuple[int, ...]
    ignore_sigpipe: bool
    cgroup_fd: int
    stdio: tuple[StdioSource, StdioSource, StdioSource]
    pass_fds: tuple[int, ...]
    limits: tuple[tuple[int, int, int], ...]
    nice: int | None
    oom_score_adjust: bytes
    no_new_privileges: bool
    umask: int
    switch_ids: bool
    uid: int
    gid: int
    groups: tuple[int, ...] | None
    cwd: bytes
    cwd_missing_ok: bool
    privileges: PrivilegePlan
    sandbox: SandboxPlan | None
    non_blocking: bool = False


def _working_directory(ctx: ExecContext, identity: Identity) -> bytes:
    wd = ctx.working_directory
    if wd == "~":
        if identity.user is not None:
            home = identity.user.home
        else:  # no User=: the manager's own home (systemd get_home_dir())
            home = os.environ.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir
        return os.fsencode(home or "/")
    return os.fsencode(wd or "/")


def _build_plan(
    req: SpawnRequest,
    identity: Identity,
    argv: list[str],
    deferred: tuple[str, ...] | None,
    cgroup_fd: int,
    data_fd: int,
    sandbox: SandboxPlan | None,
) -> _Plan:
    cmd, ctx = req.command, req.context
    path, exec_error = find_executable(cmd.path)
    env: dict[bytes, bytes] = {}
    self_keys: list[bytes] = []
    for key, value in req.environment.items():
        k = os.fsencode(key)
        if value == SELF_PID:
            self_keys.append(k)
            env[k] = b""
        else:
            env[k] = os.fsencode(value)
    is_pid1 = os.getpid() == 1
    input_kind, in_src = input_source(ctx, req.stdin_fd, data_fd)
    out_src = output_source(ctx, 1, req.stdout_fd, req.stdin_fd, input_kind, is_pid1)
    err_src = output_source(ctx, 2, req.stderr_fd, req.stdin_fd, input_kind, is_pid1)
    limits = []
    for name, (soft, hard) in ctx.limits.items():
        res = LIMIT_RESOURCES.get(name.removeprefix("Limit"))
        if res is not None:
            limits.append((res, rlim(soft), rlim(hard)))
    reset = tuple(s for s in _RESETTABLE if _getsignal(s) not in (signal.SIG_DFL, None))
    privileged = cmd.full_privileges or cmd.no_setuid
    # DynamicUser= implies NoNewPrivileges= (spec 02 §5)
    no_new_privileges = (ctx.no_new_privileges or identity.dynamic) and not cmd.full_privileges
    if no_new_privileges:
        prctl_function()  # load libc and set up the call in the parent, not in the child
    privileges = build_privilege_plan(
        ctx,
        switch_to_uid=-1 if privileged else identity.uid,
        sandboxing=not cmd.full_privileges,
        private_devices=sandbox is not None and any(op.kind == "dev" for op in sandbox.ops),
    )
    return _Plan(
        path=os.fsencode(path),
        argv=[os.fsencode(a) for a in argv],
        deferred_argv=deferred,
        env_text=dict(req.environment) if deferred is not None else {},
        env=env,
        self_pid_keys=tuple(self_keys),
        pre_error=(identity.error_status, identity.error_errno),
        exec_error=exec_error,
        reset_signals=reset,
        ignore_sigpipe=ctx.ignore_sigpipe,
        cgroup_fd=cgroup_fd,
        stdio=(in_src, out_src, err_src),
        pass_fds=req.pass_fds,
        limits=tuple(limits),
        nice=ctx.nice,
        oom_score_adjust=b"" if ctx.oom_score_adjust is None else b"%d" % ctx.oom_score_adjust,
        # A sandboxing setting: the `+` prefix lifts it (spec 02 §2.2).
        no_new_privileges=no_new_privileges,
        umask=ctx.umask,
        switch_ids=not privileged,
        uid=identity.uid,
        gid=identity.gid,
        groups=identity.groups,
        cwd=_working_directory(ctx, identity),
        cwd_missing_ok=ctx.working_directory_missing_ok,
        privileges=privileges,
        sandbox=sandbox,
        non_blocking=req.non_blocking,
    )


# --------------------------------------------------------------------------- the child


def _fail(err_fd: int, status: int, code: int) -> None:
    with contextlib.suppress(OSError):
        os.write(err_fd, status.to_bytes(4, "little") + code.to_bytes(4, "little"))
    os._exit(status)


def _child(plan: _Plan, err_w: int) -> None:
    err = err_w
    status = EXIT_SIGNAL_MASK
    try:
        # 1. signals: the wake-up fd first, so nothing reaches the parent's self-pipe.
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(-1)
        for sig in plan.reset_signals:
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN if plan.ignore_sigpipe else signal.SIG_DFL)
        # 2. new session
        status = EXIT_SETSID
        os.setsid()
        # 3. cgroup: writing "0" moves the writer itself (cgroups(7), "cgroup.procs")
        if plan.cgroup_fd >= 0:
            status = EXIT_CGROUP
            os.write(plan.cgroup_fd, b"0")
        if plan.pre_error[0]:
            _fail(err, plan.pre_error[0], plan.pre_error[1])
        # 5a. lift every fd we still need above the final layout, so no dup2 clobbers one
        status = EXIT_FDS
        n = len(plan.pass_fds)
        base = 3 + n + 1
        err = fcntl.fcntl(err_w, fcntl.F_DUPFD_CLOEXEC, base)
        sources = list(plan.stdio)
        for i, src in enumerate(sources):
            if src.kind == "fd":
                sources[i] = StdioSource("fd", fcntl.fcntl(src.fd, fcntl.F_DUPFD_CLOEXEC, base))
        lifted = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, base) for fd in plan.pass_fds]
        # 4. stdio; UMask= first, so that file:/append:/truncate: create files with it
        os.umask(plan.umask)
        for fileno, step in ((0, EXIT_STDIN), (1, EXIT_STDOUT), (2, EXIT_STDERR)):
            status = step
            open_source(sources[fileno], fileno)
        # 5b. passed fds at 3.., the error pipe right after them, everything else closed
        status = EXIT_FDS
        for i, fd in enumerate(lifted):
            os.dup2(fd, 3 + i, inheritable=True)
            # exec_child() flags_fds(): O_NONBLOCK as NonBlocking= says. It is a flag of the
            # open file description (fcntl(2)), so the daemon's copy changes too; the daemon
            # only polls a listener whose service is gone, which is unaffected.
            os.set_blocking(3 + i, not plan.non_blocking)
        os.dup2(err, 3 + n, inheritable=False)
        err = 3 + n
        os.closerange(3 + n + 1, _MAX_FD)
        # 6. limits, nice, OOM score
        status = EXIT_LIMITS
        for res, soft, hard in plan.limits:
            setrlimit_closest(res, soft, hard)
        if plan.nice is not None:
            status = EXIT_NICE
            os.setpriority(os.PRIO_PROCESS, 0, plan.nice)
        if plan.oom_score_adjust:
            status = EXIT_OOM_ADJUST
            fd = os.open(b"/proc/self/oom_score_adj", os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, plan.oom_score_adjust)
            except PermissionError:
                # Lowering the score needs CAP_SYS_RESOURCE, which containers usually lack
                # (Docker drops it): systemd 252's exec_child() ignores EPERM/EACCES here
                # ("assuming containerized execution") and fails only on other errors.
                # dbus.service (OOMScoreAdjust=-900) depends on this.
                pass
            finally:
                os.close(fd)
        # 6b. IOSchedulingClass=/Priority=, CPUSchedulingPolicy=/Priority=
        priv = plan.privileges
        if not priv.empty:
            failed = apply_scheduling(priv)
            if failed:
                _fail(err, failed, last_ctypes_errno() or errno.EPERM)
        # 6c. the mount namespace (PrivateTmp=, ProtectSystem=, ...; linux.sandbox)
        if plan.sandbox is not None:
            status = EXIT_NAMESPACE
            apply_sandbox(plan.sandbox)
        # 6d. bounding set, inheritable set, keep-caps (linux.privileges step 1)
        if not priv.empty:
            status = EXIT_CAPABILITIES
            apply_before_user(priv)
        # 7. groups, user
        if plan.switch_ids:
            status = EXIT_GROUP
            if plan.groups is not None:
                os.setgroups(list(plan.groups))
            if plan.gid >= 0:
                os.setresgid(plan.gid, plan.gid, plan.gid)
            status = EXIT_USER
            if plan.uid >= 0:
                os.setresuid(plan.uid, plan.uid, plan.uid)
        # 7b. ambient capabilities, SecureBits= (linux.privileges step 3)
        if not priv.empty:
            failed = apply_after_user(priv)
            if failed:
                _fail(err, failed, last_ctypes_errno() or errno.EPERM)
        # 8. working directory
        status = EXIT_CHDIR
        try:
            os.chdir(plan.cwd)
        except OSError:
            if not plan.cwd_missing_ok:
                raise
        # 8b. NoNewPrivileges= (prctl(2) PR_SET_NO_NEW_PRIVS): the last privilege step
        if plan.no_new_privileges:
            status = EXIT_NO_NEW_PRIVILEGES
            prctl = prctl_function()
            if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                _fail(err, EXIT_NO_NEW_PRIVILEGES, last_ctypes_errno() or errno.EPERM)
        # 9. exec
        status = EXIT_EXEC
        if plan.exec_error:
            _fail(err, EXIT_EXEC, plan.exec_error)
        env, argv = plan.env, plan.argv
        if plan.self_pid_keys:
            pid = b"%d" % os.getpid()
            for key in plan.self_pid_keys:
                env[key] = pid
            if plan.deferred_argv is not None:
                text = plan.env_text
                for key in plan.self_pid_keys:
                    text[os.fsdecode(key)] = pid.decode()
                words = expand_exec_argv(plan.deferred_argv, text) or [os.fsdecode(plan.path)]
                argv = [os.fsencode(w) for w in words]
        _sigmask(signal.SIG_SETMASK, ())
        os.execve(plan.path, argv, env)
    except OSError as exc:
        _fail(err, status, exc.errno or errno.EIO)
    except BaseException:
        _fail(err, EXIT_EXCEPTION, errno.EIO)
    finally:
        os._exit(EXIT_EXCEPTION)


# --------------------------------------------------------------------------- the parent


def _expand(req: SpawnRequest) -> tuple[list[str], tuple[str, ...] | None]:
    """(argv to run, or the words to expand in the child when they name a variable whose
    value is the child's own PID, such as $SYSTEMD_EXEC_PID)."""
    argv = list(req.command.argv)
    if req.command.no_env_expand or not req.expand_argv:
        return argv, None
    own = [k for k, v in req.environment.items() if v == SELF_PID]
    if any(f"${k}" in w or f"${{{k}}}" in w for k in own for w in argv):
        return argv, tuple(argv)
    return expand_exec_argv(argv, req.environment) or [req.command.path], None


def _memfd_with(data: bytes) -> int:
    fd = os.memfd_create("pidone-stdin", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def spawn(req: SpawnRequest) -> Spawned:
    """Fork and exec `req.command`; returns at once (the child may still be setting up).

    The caller owns the returned pidfd and status_fd (close both, or hand them to the
    loop). Exit statuses of the child are never collected here: the reaper does that.
    """
    ctx = req.context
    identity = req.identity
    unit = req.unit or _unit_from_cgroup(req.cgroup)
    if identity is None or (ctx.dynamic_user and identity.error_status and unit and not req.unit):
        # (a caller that resolved DynamicUser= without the unit's name: name it after the
        # unit's cgroup, whose last component is the escaped unit name)
        identity = resolve_identity(ctx, unit)
    argv, deferred = _expand(req)
    identity, sandbox = _prepare(req, identity, unit)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    cgroup_fd = data_fd = -1
    try:
        if req.cgroup:
            cgroup_fd = os.open(f"{req.cgroup}/cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
        if req.context.standard_input == "data":
            data_fd = _memfd_with(req.context.standard_input_data)
        plan = _build_plan(req, identity, argv, deferred, cgroup_fd, data_fd, sandbox)
        pid = 0
        if req.fast and fastspawn.eligible(plan, _getsignal(signal.SIGPIPE) == signal.SIG_IGN):
            with contextlib.suppress(OSError):  # exec failed: the fork path reports it
                pid = fastspawn.posix_spawn_plan(plan)
                os.close(err_r)
                err_r = -1
        born_inside = False  # clone3(CLONE_INTO_CGROUP): no migration (linux.spawn_cgroup)
        if not pid and cgroup_fd >= 0:
            pid = spawn_cgroup.spawn_into(plan, err_w, req.cgroup)
            born_inside = pid > 0
        if not pid:
            old_mask = _sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
            try:
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child never returns
                    _child(plan, err_w)
            finally:
                _sigmask(signal.SIG_SETMASK, old_mask)
        # Both sides join the cgroup (systemd exec_spawn()): the child so that no code of
        # the service runs outside it, the parent so that it is in there when we return.
        if cgroup_fd >= 0 and req.parent_join and not born_inside:
            with contextlib.suppress(OSError):  # ESRCH: already gone
                os.write(cgroup_fd, b"%d" % pid)
    except BaseException:
        if err_r >= 0:
            os.close(err_r)
        raise
    finally:
        os.close(err_w)
        if cgroup_fd >= 0:
            os.close(cgroup_fd)
        if data_fd >= 0:
            os.close(data_fd)
    try:
        pidfd = open_pidfd(pid)
    except ProcessLookupError:  # pragma: no cover - our unreaped child always exists
        pidfd = None
    path = plan.path.decode("utf-8", "surrogateescape")
    missing = not_enforced_settings(ctx, full_privileges=req.command.full_privileges)
    return Spawned(pid, pidfd, err_r, tuple(argv), path, missing)


def _unit_from_cgroup(cgroup: str) -> str:
    """`.../pidone/foo.service` -> `foo.service` (undoing cg_escape()'s `_` prefix)."""
    name = os.path.basename(cgroup.rstrip("/"))
    if name.startswith("_"):
        name = name[1:]
    return name if "." in name else ""


def _prepare(
    req: SpawnRequest, identity: Identity, unit: str
) -> tuple[Identity, SandboxPlan | None]:
    """Parent-side set-up that may fail the command: the managed directories (spec 02 §6;
    created before every command, as systemd's exec_child() does) and the sandbox plan.
    A failure becomes the identity's error, so the child exits with systemd's status."""
    ctx = req.context
    if identity.error_status:
        return identity, None
    try:
        create_directories(
            ctx, identity.uid, identity.gid, req.directory_bases, dynamic=identity.dynamic
        )
    except DirectoryError as exc:
        return replace(identity, error_status=exc.status, error_errno=exc.errno or 5), None
    if req.command.full_privileges or not sandbox_available():
        return identity, None
    try:
        return identity, build_sandbox_plan(ctx, req.environment, unit)
    except OSError as exc:
        return replace(identity, error_status=EXIT_NAMESPACE, error_errno=exc.errno or 5), None


def read_spawn_failure(spawned: Spawned, *, close: bool = True) -> SpawnFailure | None:
    """Read the status pipe (blocks until exec or failure unless the fd is non-blocking).

    None means execve succeeded (EOF, or status_fd -1). Raises BlockingIOError on a
    non-blocking fd whose child has not got that far yet.
    """
    if spawned.status_fd < 0:
        return None
    try:
        data = b""
        while len(data) < 8:
            chunk = os.read(spawned.status_fd, 8 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        if close:
            os.close(spawned.status_fd)
    if len(data) < 8:
        return None
    return SpawnFailure(
        int.from_bytes(data[:4], "little"), int.from_bytes(data[4:], "little"), spawned.path
    )


def journal_stream_value(fd: int) -> str:
    """JOURNAL_STREAM= for a stdout/stderr stream fd: `device:inode` in decimal."""
    st = os.fstat(fd)
    return f"{st.st_dev}:{st.st_ino}"
