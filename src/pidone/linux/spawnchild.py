"""The child side of a spawn: the steps between fork/clone3 and execve, on a plain-tuple plan.

Order of operations (systemd 252 exec_child(), simplified; docs/processes.md):

 1. drop the parent's signal wake-up fd, reset every handled/ignored signal to SIG_DFL,
    then SIGPIPE per IgnoreSIGPIPE= (man 7 signal: ignored dispositions survive execve);
 2. setsid()                                            -> 220 SETSID
 3. join the unit's cgroup: write "0" to its cgroup.procs (cgroups(7)) -> 219 CGROUP
    (fork path only: a clone3(CLONE_INTO_CGROUP) child is born there, linux.spawn_cgroup)
 4. UMask=, then stdin, stdout, stderr (files are created under the unit's umask, as
    systemd creates them with 0666 & ~UMask=) -> 208 STDIN, 209 STDOUT, 222 STDERR
 5. passed fds renumbered from 3, the error pipe parked right after them, every other fd
    closed (close_range(2) via os.closerange)           -> 202 FDS
 6. Limit*= (setrlimit_closest), Nice=, OOMScoreAdjust= -> 205 LIMITS, 201 NICE, 206 OOM_ADJUST;
    IO/CPU scheduling (211, 214), the mount namespace (226 NAMESPACE), bounding and
    inheritable capabilities (218 CAPABILITIES)
 7. unless the command has `+` or `!`, setgroups/setresgid -> 216 GROUP
    and setresuid                                        -> 217 USER; then ambient
    capabilities and SecureBits= (218, 213)
 8. WorkingDirectory= (after the user switch, as systemd does: the directory may be
    reachable only by that user, e.g. root-squashed NFS) -> 200 CHDIR
 9. NoNewPrivileges= (prctl PR_SET_NO_NEW_PRIVS)     -> 227 NO_NEW_PRIVILEGES
10. empty signal mask, execve                           -> 203 EXEC

Every failure writes (exit status, errno) to a close-on-exec pipe and `_exit`s with the
status; EOF on the pipe means execve succeeded (spec 02 §1, Type=exec).

csrc/pidone-spawn.c, the compiled spawn helper, runs the same steps in the same order with
the same statuses for the plans linux.cspawn encodes: a change here needs its twin there
(tests/linux/test_cspawn.py runs each case through both and compares).

Why a module of its own with almost no imports: the spawn helper (linux.spawn_cgroup) is a
fresh interpreter that runs these steps after clone3, and every module it holds is
anonymous memory whose page tables clone3 copies (~1.5 ms for the 21 MiB daemon). So
this module needs only os, errno, fcntl and _signal (the C module: `signal` wraps every
value in an enum, and imports enum). The plan is a plain tuple (`Plan`, built by
linux.spawn) that marshal carries as it is. The rarer steps live in their own modules and
are loaded by `prepare()`, in the parent, only when a plan needs them: a TTY or file
stdio (linux.stdiosteps), Limit*= (linux.rlimits), capabilities and scheduling
(linux.privsteps), the mount namespace (linux.mountns): none of them imports pidone's core
(linux.stdio, linux.execprep, linux.privileges and linux.sandbox plan those steps in the
daemon); argv naming $SYSTEMD_EXEC_PID (core.execline, with core modules: rare). The
child itself never imports: its parent may be the threaded daemon, where the import lock
may be held by another thread at fork time.
"""

from __future__ import annotations

import errno
import fcntl
import os

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the helper does not import typing
if TYPE_CHECKING:
    import signal as _signal
    from collections.abc import Callable
    from typing import Any, Final, NoReturn
else:
    import _signal

EXIT_CHDIR = 200
EXIT_NICE = 201
EXIT_FDS = 202
EXIT_EXEC = 203
EXIT_LIMITS = 205
EXIT_OOM_ADJUST = 206
EXIT_SIGNAL_MASK = 207
EXIT_STDIN = 208
EXIT_STDOUT = 209
EXIT_GROUP = 216
EXIT_USER = 217
EXIT_CAPABILITIES = 218  # = linux.privsteps.EXIT_CAPABILITIES (systemd's exit status)
EXIT_CGROUP = 219
EXIT_SETSID = 220
EXIT_STDERR = 222
EXIT_NETWORK = 225  # PrivateNetwork='s namespace (linux.mountns.NetworkNamespaceError)
EXIT_NAMESPACE = 226  # = linux.sandbox.EXIT_NAMESPACE
EXIT_NO_NEW_PRIVILEGES = 227
EXIT_EXCEPTION = 255

PR_SET_NO_NEW_PRIVS = 38  # <linux/prctl.h>, Linux 3.5+
PR_SET_SECCOMP = 22  # <linux/prctl.h>
SECCOMP_MODE_FILTER = 2  # <linux/seccomp.h>
CAP_SYS_ADMIN = 21
# 252's ERRNO_IS_SECCOMP_FATAL(): a filter failing to load with these fails the command
_FATAL_LOAD_ERRNOS = frozenset({errno.EPERM, errno.EACCES, errno.ENOMEM, errno.EFAULT})
_MAX_FD = 0x7FFFFFFF

if TYPE_CHECKING:
    # One stdio source: linux.stdio.StdioSource's fields in order (linux.stdiosteps.Wire)
    # (kind, fd, path, flags, tty, reset, vhangup).
    StdioWire = tuple[str, int, bytes, int, str, bool, bool]
    # The plan, field by field (linux.spawn._Plan, same order; `wire_plan` there builds it):
    Plan = tuple[
        bytes,  # 0 path
        list[bytes],  # 1 argv
        "tuple[str, ...] | None",  # 2 deferred argv: expand in the child (names SELF_PID)
        dict[str, str],  # 3 env_text (for the deferred expansion)
        dict[bytes, bytes],  # 4 env
        tuple[bytes, ...],  # 5 self_pid_keys
        tuple[int, int],  # 6 pre_error (status, errno)
        int,  # 7 exec_error
        tuple[int, ...],  # 8 reset_signals
        bool,  # 9 ignore_sigpipe
        int,  # 10 cgroup_fd (cgroup.procs, -1 = none)
        tuple[StdioWire, StdioWire, StdioWire],  # 11 stdio
        tuple[int, ...],  # 12 pass_fds
        tuple[tuple[int, int, int], ...],  # 13 limits (resource, soft, hard)
        "int | None",  # 14 nice
        bytes,  # 15 oom_score_adjust (b"" = leave)
        bool,  # 16 no_new_privileges
        int,  # 17 umask
        bool,  # 18 switch_ids
        int,  # 19 uid
        int,  # 20 gid
        "tuple[int, ...] | None",  # 21 groups
        bytes,  # 22 cwd
        bool,  # 23 cwd_missing_ok
        "tuple[Any, ...] | None",  # 24 privileges: PrivilegePlan's fields (linux.privsteps)
        "tuple[tuple[tuple[Any, ...], ...], bytes] | None",  # 25 sandbox: (MountOp fields, dev_log)
        bool,  # 26 non_blocking
        "SeccompWire | None",  # 27 seccomp (linux.spawn._seccomp_wire)
        "tuple[bytes, bytes] | None",  # 28 PrivateUsers=: (uid_map, gid_map)
    ]
    # (NoNewPrivileges= unless CAP_SYS_ADMIN is effective, ((BPF program, exit status), ...))
    SeccompWire = tuple[bool, tuple[tuple[bytes, int], ...]]

RESET_SIGNALS: Final = 8
CGROUP_FD: Final = 10
STDIO: Final = 11
PASS_FDS: Final = 12


class Prepared:
    """What `prepare()` loaded for one plan: the objects and functions of the rarer steps."""

    __slots__ = ("effective_caps", "expand", "get_errno", "open_source", "prctl", "privileges",
                 "sandbox", "seccomp", "setrlimit", "signals_set", "userns")  # fmt: skip

    def __init__(self) -> None:
        self.open_source: Callable[[Any, int], None] | None = None  # "open"/"tty" kinds
        self.privileges: Any = None  # (linux.privsteps module, the plan's field 24)
        self.sandbox: Any = None  # (linux.mountns module, (mount operations, dev_log))
        self.setrlimit: Callable[[int, int, int], None] | None = None
        self.prctl: Callable[[int, int, int, int, int], int] | None = None
        self.get_errno: Callable[[], int] = _no_errno
        self.expand: Callable[[Any, Any], list[str] | None] | None = None
        # seccomp: (struct sock_fprog addresses with their exit statuses, the buffers)
        self.seccomp: tuple[tuple[tuple[int, int], ...], list[Any]] | None = None
        self.userns: Callable[[bytes, bytes], None] | None = None  # PrivateUsers=
        self.effective_caps: Callable[[], int] | None = None  # seccomp's implied NNP
        # The parent has already set every disposition and the mask as step 1 and step 10
        # want them (the spawn helper, linux.spawnhelper): the child skips those calls.
        self.signals_set = False


def _no_errno() -> int:
    return 0


class _Loaded:
    prctl: Callable[[int, int, int, int, int], int] | None = None


def _prctl() -> Callable[[int, int, int, int, int], int]:
    if _Loaded.prctl is None:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).prctl
        fn.restype = ctypes.c_int
        fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                       ctypes.c_ulong]  # fmt: skip
        _Loaded.prctl = fn
    return _Loaded.prctl


def prepare(plan: Plan) -> Prepared:
    """Load (once) and build, in the parent, what the rarer steps of `plan` need."""
    out = Prepared()
    stdio = plan[STDIO]
    if any(src[0] in ("open", "tty") for src in stdio):
        from pidone.linux import stdiosteps  # (not linux.stdio: see stdiosteps's docstring)

        out.open_source = stdiosteps.open_source
    if plan[13]:
        from pidone.linux.rlimits import setrlimit_closest  # (not execprep: NSS, core)

        out.setrlimit = setrlimit_closest
    if plan[24] is not None:
        from pidone.linux import privsteps  # (not linux.privileges: see privsteps's docstring)

        privsteps.libc()  # ctypes set-up in the parent, not in the child
        out.privileges = (privsteps, plan[24])
    if plan[25] is not None:
        from pidone.linux import mountns  # (not linux.sandbox: see mountns's docstring)

        mountns.libc()
        out.sandbox = (mountns, plan[25])
    if plan[16] or plan[27] is not None:
        out.prctl = _prctl()
    if plan[27] is not None:
        from pidone.linux.privsteps import effective_capabilities

        out.effective_caps = effective_capabilities
        if plan[27][1]:
            out.seccomp = _fprogs(plan[27][1])
    if plan[24] is not None or plan[16] or plan[27] is not None:
        import ctypes

        out.get_errno = ctypes.get_errno
    if plan[28] is not None:
        from pidone.linux.mountns import private_users

        out.userns = private_users
    if plan[2] is not None:
        from pidone.core.execline import expand_exec_argv

        out.expand = expand_exec_argv
    return out


def _fprogs(
    programs: tuple[tuple[bytes, int], ...],
) -> tuple[tuple[tuple[int, int], ...], list[Any]]:
    """Each BPF program as a `struct sock_fprog` (seccomp(2)) built in the parent: the child
    only hands addresses to prctl(2). The buffers are returned to stay alive."""
    import ctypes

    class SockFprog(ctypes.Structure):
        _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

    keep: list[Any] = []
    out = []
    for bpf, status in programs:
        buf = ctypes.create_string_buffer(bpf, len(bpf))
        prog = SockFprog(len(bpf) // 8, ctypes.addressof(buf))  # 8 bytes per sock_filter
        keep += (buf, prog)
        out.append((ctypes.addressof(prog), status))
    return tuple(out), keep


def _fail(err_fd: int, status: int, code: int) -> NoReturn:
    try:  # noqa: SIM105 (contextlib is one module more in the helper)
        os.write(err_fd, status.to_bytes(4, "little") + code.to_bytes(4, "little"))
    except OSError:
        pass
    os._exit(status)


def _open_stdio(src: StdioWire, fileno: int, prepared: Prepared) -> None:
    """Step 4 for one fd. The common kinds inline; "open" and "tty" through linux.stdiosteps'
    open_source (the ENXIO socket fallback, TIOCSCTTY and its waits live there)."""
    kind = src[0]
    if kind == "keep":
        return
    if kind in ("copy", "fd"):
        os.dup2(src[1], fileno)
        return
    if kind != "null":
        assert prepared.open_source is not None
        prepared.open_source(src, fileno)
        return
    fd = os.open(b"/dev/null", src[3] | os.O_CLOEXEC)
    if fd != fileno:
        os.dup2(fd, fileno)
        os.close(fd)
    else:  # the parent had this fd closed, so open() landed on it: keep it across exec
        os.set_inheritable(fd, True)


def _lifted(src: StdioWire, base: int) -> StdioWire:
    """An "fd" stdio source moved to a new close-on-exec fd at or above `base`."""
    return ("fd", fcntl.fcntl(src[1], fcntl.F_DUPFD_CLOEXEC, base), *src[2:])


def run(plan: Plan, err_w: int, prepared: Prepared) -> NoReturn:
    """Steps 1-10 in the new process: execs, or reports through `err_w` and `_exit`s."""
    (path, argv, deferred, env_text, env, self_pid_keys, pre_error, exec_error, reset_signals,
     ignore_sigpipe, cgroup_fd, stdio, pass_fds, limits, nice, oom_score_adjust,
     no_new_privileges, umask, switch_ids, uid, gid, groups, cwd, cwd_missing_ok, _privileges,
     _sandbox, non_blocking, seccomp, userns) = plan  # fmt: skip
    err = err_w
    status = EXIT_SIGNAL_MASK
    try:
        # 1. signals: the wake-up fd first, so nothing reaches the parent's self-pipe.
        if not prepared.signals_set:
            try:  # noqa: SIM105 (no contextlib in the helper)
                _signal.set_wakeup_fd(-1)
            except (ValueError, OSError):
                pass
            for sig in reset_signals:
                try:  # noqa: SIM105
                    _signal.signal(sig, _signal.SIG_DFL)
                except (OSError, ValueError):
                    pass
            _signal.signal(_signal.SIGPIPE, _signal.SIG_IGN if ignore_sigpipe else _signal.SIG_DFL)
        # 2. new session
        status = EXIT_SETSID
        os.setsid()
        # 3. cgroup: writing "0" moves the writer itself (cgroups(7), "cgroup.procs")
        if cgroup_fd >= 0:
            status = EXIT_CGROUP
            os.write(cgroup_fd, b"0")
        if pre_error[0]:
            _fail(err, pre_error[0], pre_error[1])
        # 5a. lift every fd we still need above the final layout, so no dup2 clobbers one
        status = EXIT_FDS
        n = len(pass_fds)
        base = 3 + n + 1
        # (Straight-line code on purpose: every object this child creates or touches is a
        # copy-on-write fault of its page; no comprehension, no enumerate, no list copy.)
        err = fcntl.fcntl(err_w, fcntl.F_DUPFD_CLOEXEC, base)
        in_src, out_src, err_src = stdio
        if in_src[0] == "fd":
            in_src = _lifted(in_src, base)
        if out_src[0] == "fd":
            out_src = _lifted(out_src, base)
        if err_src[0] == "fd":
            err_src = _lifted(err_src, base)
        lifted: list[int] = []
        for fd in pass_fds:
            lifted.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, base))
        # 4. stdio; UMask= first, so that file:/append:/truncate: create files with it
        os.umask(umask)
        status = EXIT_STDIN
        _open_stdio(in_src, 0, prepared)
        status = EXIT_STDOUT
        _open_stdio(out_src, 1, prepared)
        status = EXIT_STDERR
        _open_stdio(err_src, 2, prepared)
        # 5b. passed fds at 3.., the error pipe right after them, everything else closed
        status = EXIT_FDS
        target = 3
        for fd in lifted:
            os.dup2(fd, target, True)
            # exec_child() flags_fds(): O_NONBLOCK as NonBlocking= says. It is a flag of the
            # open file description (fcntl(2)), so the daemon's copy changes too; the daemon
            # only polls a listener whose service is gone, which is unaffected.
            os.set_blocking(target, not non_blocking)
            target += 1
        os.dup2(err, 3 + n, False)  # (not inheritable)
        err = 3 + n
        os.closerange(3 + n + 1, _MAX_FD)
        # 6. limits, nice, OOM score
        status = EXIT_LIMITS
        if limits:
            assert prepared.setrlimit is not None
            for res, soft, hard in limits:
                prepared.setrlimit(res, soft, hard)
        if nice is not None:
            status = EXIT_NICE
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        if oom_score_adjust:
            status = EXIT_OOM_ADJUST
            fd = os.open(b"/proc/self/oom_score_adj", os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, oom_score_adjust)
            except PermissionError:
                # Lowering the score needs CAP_SYS_RESOURCE, which containers usually lack
                # (Docker drops it): systemd 252's exec_child() ignores EPERM/EACCES here
                # ("assuming containerized execution") and fails only on other errors.
                # dbus.service (OOMScoreAdjust=-900) depends on this.
                pass
            finally:
                os.close(fd)
        # 6b. IOSchedulingClass=/Priority=, CPUSchedulingPolicy=/Priority=
        priv = prepared.privileges
        if priv is not None:
            failed = priv[0].apply_scheduling(priv[1])
            if failed:
                _fail(err, failed, prepared.get_errno() or errno.EPERM)
        # 6c. the mount namespace (PrivateTmp=, ProtectSystem=, ...; linux.sandbox)
        if prepared.sandbox is not None:
            status = EXIT_NAMESPACE
            try:
                prepared.sandbox[0].apply_sandbox(*prepared.sandbox[1])
            except prepared.sandbox[0].NetworkNamespaceError as exc:
                _fail(err, EXIT_NETWORK, exc.errno or errno.EIO)
        # 6d. bounding set, inheritable set, keep-caps (linux.privileges step 1); under
        # PrivateUsers= in the new user namespace (7a), which starts with a full one
        if priv is not None and userns is None:
            status = EXIT_CAPABILITIES
            priv[0].apply_before_user(priv[1])
        # 7. groups, user
        if switch_ids:
            status = EXIT_GROUP
            if groups is not None:
                os.setgroups(list(groups))
            if gid >= 0:
                os.setresgid(gid, gid, gid)
        # 7a. PrivateUsers=, after the groups and before the user (252's exec_child())
        if userns is not None:
            status = EXIT_USER
            assert prepared.userns is not None
            prepared.userns(*userns)
            if priv is not None:
                status = EXIT_CAPABILITIES
                priv[0].apply_before_user(priv[1])
        if switch_ids:
            status = EXIT_USER
            if uid >= 0:
                os.setresuid(uid, uid, uid)
        # 7b. ambient capabilities, SecureBits= (linux.privileges step 3)
        if priv is not None:
            failed = priv[0].apply_after_user(priv[1])
            if failed:
                _fail(err, failed, prepared.get_errno() or errno.EPERM)
        # 8. working directory
        status = EXIT_CHDIR
        try:
            os.chdir(cwd)
        except OSError:
            if not cwd_missing_ok:
                raise
        # 8b. NoNewPrivileges= (prctl(2) PR_SET_NO_NEW_PRIVS): the last privilege step;
        # implied by a seccomp setting when CAP_SYS_ADMIN is gone (252
        # context_has_no_new_privileges(): loading a filter needs one or the other)
        if seccomp is not None and not no_new_privileges:
            status = EXIT_NO_NEW_PRIVILEGES
            assert prepared.effective_caps is not None
            no_new_privileges = not prepared.effective_caps() >> CAP_SYS_ADMIN & 1
        if no_new_privileges:
            status = EXIT_NO_NEW_PRIVILEGES
            assert prepared.prctl is not None
            if prepared.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                _fail(err, EXIT_NO_NEW_PRIVILEGES, prepared.get_errno() or errno.EPERM)
        # 9. exec
        status = EXIT_EXEC
        if exec_error:
            _fail(err, EXIT_EXEC, exec_error)
        if self_pid_keys:
            pid = b"%d" % os.getpid()
            for key in self_pid_keys:
                env[key] = pid
            if deferred is not None:
                assert prepared.expand is not None
                for key in self_pid_keys:
                    env_text[os.fsdecode(key)] = pid.decode()
                words = prepared.expand(deferred, env_text) or [os.fsdecode(path)]
                argv = [os.fsencode(w) for w in words]
        if not prepared.signals_set:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, ())
        # 8c. the seccomp filters, last (252: "should remain the last step before the
        # execve()"), each one prctl(2) PR_SET_SECCOMP
        if prepared.seccomp is not None:
            assert prepared.prctl is not None
            for fprog, filter_status in prepared.seccomp[0]:
                if prepared.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog, 0, 0) != 0:
                    code = prepared.get_errno()
                    if code in _FATAL_LOAD_ERRNOS:  # (252: the others skip that filter)
                        _fail(err, filter_status, code)
        os.execve(path, argv, env)
    except OSError as exc:
        _fail(err, status, exc.errno or errno.EIO)
    except BaseException:
        _fail(err, EXIT_EXCEPTION, errno.EIO)
    finally:
        os._exit(EXIT_EXCEPTION)
