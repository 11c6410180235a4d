"""Fork and exec one ExecCommand with its ExecContext; report set-up failures through a pipe.

The child's steps, their order and exit statuses are in linux.spawnchild (systemd 252
exec_child(), simplified). Every failure writes (exit status, errno) to a close-on-exec
pipe and `_exit`s with the status; EOF on the pipe means execve succeeded (spec 02 §1,
Type=exec).

How the child is made, cheapest first: posix_spawn when the plan needs no child-side work
(linux.fastspawn); else clone3 from the small spawn helper, into the unit's cgroup
(linux.spawn_cgroup); else, when the helper is off or refuses, fork of the daemon (the
child then joins its cgroup itself, a migration).

A forked child runs Python between fork and exec, so it must stay away from anything that
takes a lock another thread of the daemon might have held at fork time (logging, the
journal writer, buffered file objects, imports). Everything is prepared in the parent:
paths and argv as bytes, user and group ids resolved through NSS, the environment as a
bytes dict, the modules of the rarer steps loaded (spawnchild.prepare). The child only
calls os.* functions. Signals are blocked in the parent across fork() so that no
Python-level handler (and no set_wakeup_fd write into the parent's pipe) can run in the
child before step 1.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import signal
import sys
from collections.abc import Callable, Iterable, Mapping

from pidone.core.dataclass_lite import dataclass, replace
from pidone.core.environment import SELF_PID, DirectoryBases
from pidone.core.execline import ExecCommand, expand_exec_argv
from pidone.core.exitstatus import EXIT_STATUS_NAMES
from pidone.core.hints import TYPE_CHECKING
from pidone.core.model import ExecContext, implies_no_new_privileges
from pidone.linux import fastspawn, spawn_cgroup, spawnchild, userdb
from pidone.linux.directories import DirectoryError, create_directories
from pidone.linux.execprep import (
    LIMIT_RESOURCES,
    Identity,
    find_executable,
    resolve_identity,
    rlim,
)
from pidone.linux.mountns import NetworkNamespaceError
from pidone.linux.privileges import PrivilegePlan, build_privilege_plan
from pidone.linux.reaper import open_pidfd
from pidone.linux.sandbox import (
    SandboxPlan,
    build_sandbox_plan,
    not_enforced_settings,
    sandbox_available,
    user_namespaces_available,
    wants_sandbox,
)
from pidone.linux.spawnchild import EXIT_NAMESPACE, EXIT_NETWORK

if TYPE_CHECKING:
    from pidone.linux.spawnchild import Plan, SeccompWire, StdioWire
from pidone.linux.stdio import StdioSource, input_source, output_source

_ALL_SIGNALS = frozenset(int(s) for s in signal.valid_signals())
# The signal module wraps every mask and handler it returns in enums, which costs about
# a millisecond per spawn; the C functions underneath return plain ints.
_signal_c = importlib.import_module("_signal")
_sigmask: Callable[[int, Iterable[int]], set[int]] = _signal_c.pthread_sigmask
_getsignal: Callable[[int], object] = _signal_c.getsignal
_RESETTABLE = tuple(
    s for s in range(1, signal.NSIG) if s not in (signal.SIGKILL, signal.SIGSTOP, 32, 33)
)
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def _handled_signals() -> tuple[int, ...]:
    """The signals this process handles or ignores, which a forked child must set back to
    SIG_DFL (step 1 of linux.spawnchild). Only the fork path needs them: the spawn helper's
    dispositions are all SIG_DFL, and posix_spawn resets every signal (setsigdef). Asked
    only then: 60-odd getsignal() calls were ~25 us of every plan."""
    return tuple(s for s in _RESETTABLE if _getsignal(s) not in (signal.SIG_DFL, None))


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
    # (resource, soft, hard) for the resources the unit sets no Limit*= for: the manager's
    # defaults (linux.rlimits.service_nofile_default())
    default_limits: tuple[tuple[int, int, int], ...] = ()
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
    seccomp: SeccompWire | None = None
    userns: tuple[bytes, bytes] | None = None  # PrivateUsers=: (uid_map, gid_map)


def _working_directory(ctx: ExecContext, identity: Identity) -> bytes:
    wd = ctx.working_directory
    if wd == "~":
        if identity.user is not None:
            home = identity.user.home
        else:  # no User=: the manager's own home (systemd get_home_dir())
            manager = userdb.user_by_uid(os.getuid())
            home = os.environ.get("HOME") or (manager.home if manager else "/")
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
        k = key.encode(_FS_ENCODING, _FS_ERRORS)  # = os.fsencode(), without its fspath()
        if value == SELF_PID:
            self_keys.append(k)
            env[k] = b""
        else:
            env[k] = value.encode(_FS_ENCODING, _FS_ERRORS)
    is_pid1 = os.getpid() == 1
    input_kind, in_src = input_source(ctx, req.stdin_fd, data_fd)
    out_src = output_source(ctx, 1, req.stdout_fd, req.stdin_fd, input_kind, is_pid1)
    err_src = output_source(ctx, 2, req.stderr_fd, req.stdin_fd, input_kind, is_pid1)
    limits = []
    for name, (soft, hard) in ctx.limits.items():
        res = LIMIT_RESOURCES.get(name.removeprefix("Limit"))
        if res is not None:
            limits.append((res, rlim(soft), rlim(hard)))
    for default in req.default_limits:
        if all(res != default[0] for res, _soft, _hard in limits):
            limits.append(default)
    privileged = cmd.full_privileges or cmd.no_setuid
    pre_error = (identity.error_status, identity.error_errno)
    seccomp: SeccompWire | None = None
    if not cmd.full_privileges:  # (`+`: no sandboxing at all, 252's needs_sandboxing)
        try:
            seccomp = _seccomp_wire(ctx)
        except SeccompError as exc:
            if not pre_error[0]:
                pre_error = (exc.status, exc.errno)
    # DynamicUser= implies NoNewPrivileges= (spec 02 §5)
    no_new_privileges = (ctx.no_new_privileges or identity.dynamic) and not cmd.full_privileges
    privileges = _privilege_plan(
        ctx,
        -1 if privileged else identity.uid,
        not cmd.full_privileges,
        sandbox is not None and any(op.kind == "dev" for op in sandbox.ops),
    )
    return _Plan(
        path=os.fsencode(path),
        argv=[os.fsencode(a) for a in argv],
        deferred_argv=deferred,
        env_text=dict(req.environment) if deferred is not None else {},
        env=env,
        self_pid_keys=tuple(self_keys),
        pre_error=pre_error,
        exec_error=exec_error,
        reset_signals=(),  # filled in for the fork path only (_handled_signals())
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
        seccomp=seccomp,
        userns=(
            _user_maps(-1 if privileged else identity.uid, -1 if privileged else identity.gid)
            if ctx.private_users and not cmd.full_privileges and user_namespaces_available()
            else None
        ),
    )


def _user_maps(uid: int, gid: int) -> tuple[bytes, bytes]:
    """PrivateUsers='s uid_map and gid_map (systemd 252 setup_private_users()): the manager's
    own ID to itself and, where the manager may write a second line (CAP_SETUID/CAP_SETGID),
    the service's to itself; every other ID is then the overflow ID, nobody."""
    caps = _daemon_capabilities()
    setuid, setgid = caps >> 7 & 1, caps >> 6 & 1  # CAP_SETUID, CAP_SETGID
    ouid, ogid = os.getuid(), os.getgid()
    uid_map = b"%d %d 1\n" % (ouid, ouid)
    if setuid and uid >= 0 and uid != ouid:
        uid_map += b"%d %d 1\n" % (uid, uid)
    gid_map = b"%d %d 1\n" % (ogid, ogid)
    if setgid and gid >= 0 and gid != ogid:
        gid_map += b"%d %d 1\n" % (gid, gid)
    return uid_map, gid_map


@functools.cache
def _daemon_capabilities() -> int:
    """The daemon's effective capabilities, read once (they do not change while it runs)."""
    from pidone.linux.privsteps import effective_capabilities

    return effective_capabilities()


# build_privilege_plan() reads only the unit's settings and the kernel's cap_last_cap: one
# per context, uid and flags, remembered (~30 us of every spawn on the path to the helper).
# An entry holds its context, so its id() is not reused while it is kept; a daemon-reload
# makes new contexts (new keys), and the table is emptied when it is full.
_PRIVILEGE_PLANS: dict[tuple[int, int, bool, bool], tuple[ExecContext, PrivilegePlan]] = {}
_PRIVILEGE_PLANS_MAX = 128


def _privilege_plan(
    ctx: ExecContext, uid: int, sandboxing: bool, private_devices: bool
) -> PrivilegePlan:
    key = (id(ctx), uid, sandboxing, private_devices)
    kept = _PRIVILEGE_PLANS.get(key)
    if kept is not None and kept[0] is ctx:
        return kept[1]
    plan = build_privilege_plan(
        ctx, switch_to_uid=uid, sandboxing=sandboxing, private_devices=private_devices
    )
    if len(_PRIVILEGE_PLANS) >= _PRIVILEGE_PLANS_MAX:
        _PRIVILEGE_PLANS.clear()
    _PRIVILEGE_PLANS[key] = (ctx, plan)
    return plan


class SeccompError(Exception):
    """A filter that could not be compiled: the command fails with `status` (231/SECCOMP,
    232/ADDRESS_FAMILIES) and `errno`, as 252's exec_child() fails when loading it."""

    def __init__(self, status: int, errno: int) -> None:
        super().__init__(status, errno)
        self.status = status
        self.errno = errno


# The seccomp programs of a context, compiled once (libseccomp, linux.seccomp) and kept
# like the privilege plans above: (the context, its wire or the error it gave).
_SECCOMP_WIRES: dict[int, tuple[ExecContext, SeccompWire | SeccompError]] = {}


def _seccomp_wire(ctx: ExecContext) -> SeccompWire | None:
    """(NoNewPrivileges= unless CAP_SYS_ADMIN, the programs) for a sandboxed command of a
    context with seccomp settings; None without any. 252 sets NoNewPrivileges= for such a
    command when it has no CAP_SYS_ADMIN left after the user switch
    (context_has_no_new_privileges()), even where seccomp itself is unavailable and the
    filters are skipped (skip_seccomp_unavailable()): then the programs are empty."""
    if not implies_no_new_privileges(ctx):  # (most units: no import, no table entry)
        return None
    kept = _SECCOMP_WIRES.get(id(ctx))
    if kept is not None and kept[0] is ctx:
        if isinstance(kept[1], SeccompError):
            raise kept[1]
        return kept[1]
    from pidone.core import seccompplan
    from pidone.linux import seccomp

    result: SeccompWire | SeccompError = (True, ())
    if seccomp.available():
        try:
            programs = seccomp.compile_steps(seccompplan.seccomp_steps(ctx))
            result = (True, tuple((p.bpf, p.exit_status) for p in programs))
        except seccomp.CompileError as exc:
            result = SeccompError(exc.status, exc.errno)
    if len(_SECCOMP_WIRES) >= _PRIVILEGE_PLANS_MAX:
        _SECCOMP_WIRES.clear()
    _SECCOMP_WIRES[id(ctx)] = (ctx, result)
    if isinstance(result, SeccompError):
        raise result
    return result


# --------------------------------------------------------------------------- the wire


def _stdio_wire(src: StdioSource) -> StdioWire:
    return (src.kind, src.fd, src.path, src.flags, src.tty, src.reset, src.vhangup)


def wire_plan(plan: _Plan) -> Plan:
    """The plan as linux.spawnchild takes it: a plain tuple, the fields in _Plan's order
    (marshal carries it to the spawn helper as it is; no per-field reflection)."""
    priv = plan.privileges
    box = plan.sandbox
    return (
        plan.path, plan.argv, plan.deferred_argv, plan.env_text, plan.env,
        plan.self_pid_keys, plan.pre_error, plan.exec_error, plan.reset_signals,
        plan.ignore_sigpipe, plan.cgroup_fd,
        (_stdio_wire(plan.stdio[0]), _stdio_wire(plan.stdio[1]), _stdio_wire(plan.stdio[2])),
        plan.pass_fds, plan.limits, plan.nice, plan.oom_score_adjust, plan.no_new_privileges,
        plan.umask, plan.switch_ids, plan.uid, plan.gid, plan.groups, plan.cwd,
        plan.cwd_missing_ok,
        None if priv.empty else (
            priv.bounding_drops, priv.ambient, priv.ambient_mask, priv.secure_bits,
            priv.keep_caps, priv.ioprio, priv.sched,
        ),
        None if box is None else (
            tuple((op.kind, op.target, op.source, op.data, op.flags, op.optional,
                   op.recursive, op.readonly) for op in box.ops),
            box.dev_log,
        ),
        plan.non_blocking,
        plan.seccomp, plan.userns,
    )  # fmt: skip


# --------------------------------------------------------------------------- the parent


def _expand(req: SpawnRequest) -> tuple[list[str], tuple[str, ...] | None]:
    """(argv to run, or the words to expand in the child when they name a variable whose
    value is the child's own PID, such as $SYSTEMD_EXEC_PID)."""
    argv = list(req.command.argv)
    if req.command.no_env_expand or not req.expand_argv:
        return argv, None
    if not any("$" in word for word in argv):  # most command lines: nothing to expand
        return argv or [req.command.path], None
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
    procs_fd = data_fd = -1  # cgroup.procs: opened only for a path that writes it
    try:
        if req.context.standard_input == "data":
            data_fd = _memfd_with(req.context.standard_input_data)
        plan = _build_plan(req, identity, argv, deferred, -1, data_fd, sandbox)
        pid = 0
        if req.fast and fastspawn.eligible(
            plan, _getsignal(signal.SIGPIPE) == signal.SIG_IGN, bool(req.cgroup)
        ):
            if req.cgroup:
                procs_fd = _open_procs(req.cgroup)
                plan = replace(plan, cgroup_fd=procs_fd)
            with contextlib.suppress(OSError):  # exec failed: the fork path reports it
                pid = fastspawn.posix_spawn_plan(plan)
                os.close(err_r)
                err_r = -1
        born_inside = False  # clone3(CLONE_INTO_CGROUP): no migration (linux.spawn_cgroup)
        if not pid:
            wire = wire_plan(plan)
            if procs_fd >= 0:  # (the fast path had it and failed; the helper needs none)
                wire = _with_cgroup_fd(wire, -1)
            pid = spawn_cgroup.spawn_into(wire, err_w, req.cgroup)
            born_inside = pid > 0 and bool(req.cgroup)
            if not pid:
                if req.cgroup and procs_fd < 0:
                    procs_fd = _open_procs(req.cgroup)
                wire = _for_fork(wire, procs_fd)
                prepared = spawnchild.prepare(wire)
                old_mask = _sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
                try:
                    pid = os.fork()
                    if pid == 0:  # pragma: no cover - the child never returns
                        spawnchild.run(wire, err_w, prepared)
                finally:
                    _sigmask(signal.SIG_SETMASK, old_mask)
        # Both sides join the cgroup (systemd exec_spawn()): the child so that no code of
        # the service runs outside it, the parent so that it is in there when we return.
        if procs_fd >= 0 and req.parent_join and not born_inside:
            with contextlib.suppress(OSError):  # ESRCH: already gone
                os.write(procs_fd, b"%d" % pid)
    except BaseException:
        if err_r >= 0:
            os.close(err_r)
        raise
    finally:
        os.close(err_w)
        if procs_fd >= 0:
            os.close(procs_fd)
        if data_fd >= 0:
            os.close(data_fd)
    try:
        pidfd = open_pidfd(pid)
    except ProcessLookupError:  # pragma: no cover - our unreaped child always exists
        pidfd = None
    path = plan.path.decode("utf-8", "surrogateescape")
    missing = not_enforced_settings(ctx, full_privileges=req.command.full_privileges)
    return Spawned(pid, pidfd, err_r, tuple(argv), path, missing)


def _open_procs(cgroup: str) -> int:
    return os.open(f"{cgroup}/cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)


def _with_cgroup_fd(wire: Plan, fd: int) -> Plan:
    if wire[spawnchild.CGROUP_FD] == fd:
        return wire
    fields = list(wire)
    fields[spawnchild.CGROUP_FD] = fd
    return tuple(fields)  # type: ignore[return-value]


def _for_fork(wire: Plan, procs_fd: int) -> Plan:
    """The plan for a forked child: it writes cgroup.procs itself, and resets the signals
    the daemon handles."""
    fields = list(wire)
    fields[spawnchild.CGROUP_FD] = procs_fd
    fields[spawnchild.RESET_SIGNALS] = _handled_signals()
    return tuple(fields)  # type: ignore[return-value]


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
        if _has_managed_directories(ctx):  # (most units have none: no plan to build)
            create_directories(
                ctx, identity.uid, identity.gid, req.directory_bases, dynamic=identity.dynamic
            )
    except DirectoryError as exc:
        return replace(identity, error_status=exc.status, error_errno=exc.errno or 5), None
    # (the probe only for a unit that asks for sandboxing: it loads ctypes and forks)
    if not wants_sandbox(ctx) or not sandbox_available():
        return identity, None
    if req.command.full_privileges and not ctx.private_network:
        return identity, None
    try:
        plan = build_sandbox_plan(
            ctx, req.environment, unit, full_privileges=req.command.full_privileges
        )
    except NetworkNamespaceError as exc:
        return replace(identity, error_status=EXIT_NETWORK, error_errno=exc.errno or 5), None
    except OSError as exc:
        return replace(identity, error_status=EXIT_NAMESPACE, error_errno=exc.errno or 5), None
    return identity, plan


def _has_managed_directories(ctx: ExecContext) -> bool:
    """RuntimeDirectory=, StateDirectory=, CacheDirectory=, LogsDirectory= or
    ConfigurationDirectory= set (linux.directories.KINDS): else create_directories() has
    nothing to plan."""
    return bool(
        ctx.runtime_directory
        or ctx.state_directory
        or ctx.cache_directory
        or ctx.logs_directory
        or ctx.configuration_directory
    )


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
