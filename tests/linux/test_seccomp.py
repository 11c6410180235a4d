"""linux.seccomp on the real kernel: each kind of step is compiled, then a forked child
loads the programs into itself and makes real system calls; the parent reads what they
returned (JSON through a pipe) or how the child died.

Each filtered result has a control where it matters: the same call without the filter,
so that a test cannot pass because the machine refuses the call anyway.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pidone.core import seccompplan as plan
from pidone.core.model import PERSONALITY_INVALID
from pidone.linux import seccomp
from tests.linux.proc_helpers import kill_and_reap

pytestmark = pytest.mark.skipif(
    not seccomp.available(),
    reason="seccomp filters unavailable (no CONFIG_SECCOMP_FILTER, or no libseccomp.so.2)",
)

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
)
libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
libc.personality.restype = ctypes.c_int
libc.personality.argtypes = (ctypes.c_ulong,)
libc.unshare.argtypes = (ctypes.c_int,)
libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)
libc.sethostname.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
libc.setdomainname.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
libc.klogctl.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int)

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_PRIVATE, MAP_ANONYMOUS = 0x02, 0x20
MAP_FAILED = 2**64 - 1
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x20000, 0x4000000, 0x8000000, 0x40000000
PER_LINUX, PER_LINUX32 = 0, 8
NR_SYSCTL, NR_CLONE3 = 156, 435  # x86-64 numbers
SYSLOG_ACTION_SIZE_BUFFER = 10

x86_64 = pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86-64 system call numbers")


def c_errno(ret: int) -> int:
    """0 for a libc call that worked, else its errno."""
    return ctypes.get_errno() if ret == -1 else 0


def py_errno(fn: Callable[[], object]) -> int:
    try:
        fn()
    except OSError as exc:
        return exc.errno or -1
    return 0


class Child:
    def __init__(self, status: int, out: bytes) -> None:
        self.status = status
        self.out = out

    @property
    def result(self) -> object:
        assert os.WIFEXITED(self.status), (self.status, self.out)
        assert os.WEXITSTATUS(self.status) == 0, (self.status, self.out)
        return json.loads(self.out)

    @property
    def signal(self) -> int | None:
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None


def run(
    programs: tuple[seccomp.Program, ...],
    probe: Callable[[], object],
    before: Callable[[], object] | None = None,
) -> Child:
    """Fork; the child runs `before`, loads `programs`, runs `probe` and writes its JSON
    result to a pipe (a traceback-ish text and exit 1 if anything raises). The parent
    reads until EOF (bounded) and reaps it."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(r)
            if before is not None:
                before()
            seccomp.load(programs)
            out = json.dumps(probe()).encode()
            os.write(w, out)
            code = 0
        except BaseException as exc:
            with open(w, "wb", closefd=False) as f:
                f.write(repr(exc).encode())
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    try:
        deadline = time.monotonic() + 20
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                raise TimeoutError("seccomp test child hangs")
            data = os.read(r, 65536)
            if not data:
                break
            chunks.append(data)
        status = os.waitpid(pid, 0)[1]
    except BaseException:
        kill_and_reap(pid)
        raise
    finally:
        os.close(r)
    return Child(status, b"".join(chunks))


def both(
    step: plan.Step, probe: Callable[[], object], before: Callable[[], object] | None = None
) -> tuple[object, object]:
    """(the probe's result without filters, with the step's filters)."""
    return run((), probe, before).result, run(seccomp.compile_steps((step,)), probe, before).result


def arch_names(steps: tuple[plan.Step, ...]) -> list[str]:
    return [p.arch for p in seccomp.compile_steps(steps)]


# --- compiling --------------------------------------------------------------------------


@x86_64
def test_programs_per_local_architecture() -> None:
    progs = seccomp.compile_steps((plan.Builtin("protect_syslog"),))
    assert [p.arch for p in progs] == ["x86", "x32", "x86-64"]  # native last, as 252
    assert all(p.exit_status == plan.EXIT_SECCOMP and len(p.bpf) % 8 == 0 for p in progs)
    # 252 skips the ABIs whose socket() goes through socketcall(2), and x32 for _sysctl()
    fams = seccomp.compile_steps((plan.AddressFamilies(True, (socket.AF_UNIX,)),))
    assert [p.arch for p in fams] == ["x32", "x86-64"]
    assert {p.exit_status for p in fams} == {plan.EXIT_ADDRESS_FAMILIES}
    assert arch_names((plan.Builtin("protect_sysctl"),)) == ["x86", "x86-64"]


@x86_64
def test_archs_drops_the_blocked_abis_from_later_filters() -> None:
    steps = (
        plan.Builtin("protect_syslog"),
        plan.Archs(("native",)),
        plan.Builtin("protect_syslog"),
    )
    assert arch_names(steps) == ["x86", "x32", "x86-64", "x86-64", "x86-64"]
    assert arch_names((plan.Archs(("native", "x86")), plan.Builtin("protect_syslog"))) == [
        "x86-64+x86",
        "x86",
        "x86-64",
    ]
    # every local ABI listed: nothing blocked, no filter (as 252)
    assert arch_names((plan.Archs(("native", "x86", "x32")),)) == []


def test_compiled_once_per_steps() -> None:
    steps = (plan.Builtin("protect_hostname"), plan.LockPersonality(PERSONALITY_INVALID))
    first = seccomp.compile_steps(steps)
    assert seccomp.compile_steps(steps) is first
    assert seccomp.compile_steps(tuple(steps)) == first


def test_unknown_and_absent_calls_are_skipped() -> None:
    step = plan.SyscallSet(
        plan.ACTION_ALLOW, (("nosuchcall", 1), ("mmap2", 1)), "SystemCallFilter="
    )
    assert seccomp.compile_steps((step,))  # mmap2 exists on x86 only: -EDOM elsewhere


def test_a_rule_libseccomp_refuses_fails_with_231() -> None:
    # a rule whose action is the default one: seccomp_rule_add(3) says EACCES, 252 fails
    step = plan.SyscallSet(errno.EPERM, (("getcwd", errno.EPERM),), "SystemCallFilter=")
    with pytest.raises(seccomp.CompileError) as caught:
        seccomp.compile_steps((step,))
    assert caught.value.status == plan.EXIT_SECCOMP
    assert caught.value.errno == errno.EACCES
    assert "SystemCallFilter=" in str(caught.value)


def test_available_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    assert seccomp.available() is seccomp.available() is True
    monkeypatch.setenv("SYSTEMD_SECCOMP", "0")
    assert seccomp.available() is True  # asked once
    monkeypatch.setattr(seccomp, "_available", None)
    assert seccomp.available() is False  # 252's $SYSTEMD_SECCOMP=0
    monkeypatch.setattr(seccomp, "_available", None)
    monkeypatch.setenv("SYSTEMD_SECCOMP", "yes")
    assert seccomp.available() is True


# --- RestrictAddressFamilies= -----------------------------------------------------------


def sockets(*families: int) -> Callable[[], dict[str, int]]:
    """A probe: socket(2) of each family, its errno (0: made)."""

    def make(af: int) -> None:
        socket.socket(af, socket.SOCK_RAW if af == socket.AF_NETLINK else socket.SOCK_DGRAM).close()

    def probe() -> dict[str, int]:
        return {str(af): py_errno(lambda af=af: make(af)) for af in families}

    return probe


def test_address_families_allow_list() -> None:
    probe = sockets(socket.AF_UNIX, socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK)
    without, got = both(plan.AddressFamilies(True, (socket.AF_UNIX,)), probe)
    assert without[str(socket.AF_UNIX)] == without[str(socket.AF_INET)] == 0  # type: ignore[index]
    assert got == {
        str(socket.AF_UNIX): 0,
        str(socket.AF_INET): errno.EAFNOSUPPORT,
        str(socket.AF_INET6): errno.EAFNOSUPPORT,
        str(socket.AF_NETLINK): errno.EAFNOSUPPORT,
    }


def test_address_families_deny_list() -> None:
    probe = sockets(socket.AF_UNIX, socket.AF_INET, socket.AF_NETLINK)
    without, got = both(plan.AddressFamilies(False, (socket.AF_INET, socket.AF_NETLINK)), probe)
    assert without[str(socket.AF_INET)] == 0  # type: ignore[index]
    assert got == {
        str(socket.AF_UNIX): 0,
        str(socket.AF_INET): errno.EAFNOSUPPORT,
        str(socket.AF_NETLINK): errno.EAFNOSUPPORT,
    }


def test_address_families_empty_allow_list() -> None:
    # RestrictAddressFamilies=none: an allow list without entries, no socket() at all
    got = run(seccomp.compile_steps((plan.AddressFamilies(True, ()),)), sockets(socket.AF_UNIX))
    assert got.result == {str(socket.AF_UNIX): errno.EAFNOSUPPORT}


# --- MemoryDenyWriteExecute= ------------------------------------------------------------


def mdwe_probe() -> dict[str, int]:
    def mmap(prot: int) -> int:
        addr = libc.mmap(None, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        return ctypes.get_errno() if addr in (None, MAP_FAILED) else 0

    rw = libc.mmap(None, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    assert rw not in (None, MAP_FAILED)
    return {
        "wx": mmap(PROT_WRITE | PROT_EXEC),
        "rx": mmap(PROT_READ | PROT_EXEC),
        "rw": mmap(PROT_READ | PROT_WRITE),
        "mprotect_rx": c_errno(libc.mprotect(rw, 4096, PROT_READ | PROT_EXEC)),
        "mprotect_r": c_errno(libc.mprotect(rw, 4096, PROT_READ)),
    }


def test_memory_deny_write_execute() -> None:
    without, got = both(plan.Builtin("memory_deny_write_execute"), mdwe_probe)
    assert without == {"wx": 0, "rx": 0, "rw": 0, "mprotect_rx": 0, "mprotect_r": 0}
    # 252 refuses any mprotect() that adds PROT_EXEC, writable or not
    assert got == {"wx": errno.EPERM, "rx": 0, "rw": 0, "mprotect_rx": errno.EPERM, "mprotect_r": 0}


# --- RestrictRealtime= ------------------------------------------------------------------


def sched_probe() -> dict[str, int]:
    out = {}
    for name in ("SCHED_FIFO", "SCHED_RR", "SCHED_OTHER", "SCHED_BATCH", "SCHED_IDLE"):
        policy = getattr(os, name)
        prio = 1 if name in ("SCHED_FIFO", "SCHED_RR") else 0
        out[name] = py_errno(
            lambda p=policy, q=prio: os.sched_setscheduler(0, p, os.sched_param(q))
        )
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return out


def test_restrict_realtime() -> None:
    without, got = both(plan.Builtin("restrict_realtime"), sched_probe)
    if without["SCHED_FIFO"] != 0:  # type: ignore[index]
        pytest.skip(f"SCHED_FIFO refused here without any filter: {without}")
    assert got == {
        "SCHED_FIFO": errno.EPERM,
        "SCHED_RR": errno.EPERM,
        "SCHED_OTHER": 0,
        "SCHED_BATCH": 0,
        "SCHED_IDLE": 0,
    }


# --- RestrictSUIDSGID= ------------------------------------------------------------------


def test_restrict_suid_sgid(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"")

    def probe() -> dict[str, int]:
        return {
            "chmod_suid": py_errno(lambda: os.chmod(target, 0o4755)),
            "chmod_sgid": py_errno(lambda: os.chmod(target, 0o2755)),
            "chmod_plain": py_errno(lambda: os.chmod(target, 0o755)),
            "create_suid": py_errno(
                lambda: os.close(os.open(tmp_path / "new", os.O_CREAT | os.O_WRONLY, 0o4755))
            ),
            "mkdir_sgid": py_errno(lambda: os.mkdir(tmp_path / "dir", 0o2755)),
            "mkdir_plain": py_errno(lambda: os.mkdir(tmp_path / "dir2", 0o755)),
        }

    without = run((), probe).result
    assert without == dict.fromkeys(without, 0)  # type: ignore[arg-type]
    (tmp_path / "new").unlink()
    (tmp_path / "dir").rmdir()
    (tmp_path / "dir2").rmdir()
    got = run(seccomp.compile_steps((plan.Builtin("restrict_suid_sgid"),)), probe).result
    assert got == {
        "chmod_suid": errno.EPERM,
        "chmod_sgid": errno.EPERM,
        "chmod_plain": 0,
        "create_suid": errno.EPERM,
        "mkdir_sgid": errno.EPERM,
        "mkdir_plain": 0,
    }
    assert not (tmp_path / "new").exists()
    assert target.stat().st_mode & 0o7777 == 0o755


# --- RestrictNamespaces= ----------------------------------------------------------------


def ns_probe() -> dict[str, int]:
    uts = os.open("/proc/self/ns/uts", os.O_RDONLY)
    try:
        return {
            "unshare_uts": c_errno(libc.unshare(CLONE_NEWUTS)),
            "unshare_ipc": c_errno(libc.unshare(CLONE_NEWIPC)),
            "unshare_net": c_errno(libc.unshare(CLONE_NEWNET)),
            "setns_uts": c_errno(libc.setns(uts, CLONE_NEWUTS)),
            "setns_any": c_errno(libc.setns(uts, 0)),
            "clone3": c_errno(libc.syscall(NR_CLONE3, None, 0)),
        }
    finally:
        os.close(uts)


@x86_64
def test_restrict_namespaces_none_retained() -> None:
    without, got = both(plan.RestrictNamespaces(0), ns_probe)
    if without["unshare_uts"] != 0:  # type: ignore[index]
        pytest.skip(f"unshare() refused here without any filter: {without}")
    assert without["clone3"] not in (0, errno.ENOSYS)  # type: ignore[index]
    assert got == {
        "unshare_uts": errno.EPERM,
        "unshare_ipc": errno.EPERM,
        "unshare_net": errno.EPERM,
        "setns_uts": errno.EPERM,  # nothing retained: setns() refused altogether
        "setns_any": errno.EPERM,
        "clone3": errno.ENOSYS,  # so that callers fall back to clone()
    }


@x86_64
def test_restrict_namespaces_uts_retained() -> None:
    without, got = both(plan.RestrictNamespaces(CLONE_NEWUTS), ns_probe)
    if without["unshare_ipc"] != 0:  # type: ignore[index]
        pytest.skip(f"unshare() refused here without any filter: {without}")
    assert got == {
        "unshare_uts": 0,
        "unshare_ipc": errno.EPERM,
        "unshare_net": errno.EPERM,
        "setns_uts": 0,
        "setns_any": errno.EPERM,  # nstype 0 could be anything: refused
        "clone3": errno.ENOSYS,
    }


# --- ProtectHostname=, ProtectKernelLogs=, ProtectKernelTunables= -----------------------


def test_protect_hostname() -> None:
    host_uts = os.readlink("/proc/self/ns/uts")
    host_name = os.uname().nodename

    def private_uts() -> None:
        # the child's own UTS namespace, proven, before anything sets a name
        if libc.unshare(CLONE_NEWUTS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUTS)")
        if os.readlink("/proc/self/ns/uts") == host_uts:
            raise RuntimeError("still in the host's UTS namespace")

    def probe() -> dict[str, int]:
        assert os.readlink("/proc/self/ns/uts") != host_uts
        return {
            "sethostname": c_errno(libc.sethostname(b"pidone-test", 11)),
            "setdomainname": c_errno(libc.setdomainname(b"pidone-test", 11)),
        }

    control = run((), probe, before=private_uts)
    if not os.WIFEXITED(control.status) or os.WEXITSTATUS(control.status):
        pytest.skip(f"no private UTS namespace for the child here: {control.out!r}")
    assert control.result == {"sethostname": 0, "setdomainname": 0}
    got = run(seccomp.compile_steps((plan.Builtin("protect_hostname"),)), probe, before=private_uts)
    assert got.result == {"sethostname": errno.EPERM, "setdomainname": errno.EPERM}
    assert os.uname().nodename == host_name


def test_protect_syslog() -> None:
    def probe() -> int:
        return c_errno(libc.klogctl(SYSLOG_ACTION_SIZE_BUFFER, None, 0))

    without, got = both(plan.Builtin("protect_syslog"), probe)
    if without != 0:
        pytest.skip(f"syslog(2) refused here without any filter: errno {without}")
    assert got == errno.EPERM


@x86_64
def test_protect_sysctl() -> None:
    def probe() -> int:
        return c_errno(libc.syscall(NR_SYSCTL, None))

    without, got = both(plan.Builtin("protect_sysctl"), probe)
    assert without != errno.EPERM  # ENOSYS since Linux 5.5, EFAULT before
    assert got == errno.EPERM


# --- LockPersonality= -------------------------------------------------------------------


def personality_probe() -> dict[str, int]:
    def call(p: int) -> int:
        return c_errno(libc.personality(p))

    return {
        "linux32": call(PER_LINUX32),
        "linux": call(PER_LINUX),
        "query": call(0xFFFFFFFF),
    }


def test_lock_personality_current() -> None:
    assert libc.personality(0xFFFFFFFF) & 0xFFFF == PER_LINUX  # the test runs as PER_LINUX
    without, got = both(plan.LockPersonality(PERSONALITY_INVALID), personality_probe)
    assert without == {"linux32": 0, "linux": 0, "query": 0}
    # only PER_LINUX itself; even the query (0xffffffff) is refused, as 252's own
    # test-seccomp asserts (safe_personality(PERSONALITY_INVALID) == -EPERM)
    assert got == {"linux32": errno.EPERM, "linux": 0, "query": errno.EPERM}


def test_lock_personality_given() -> None:
    def probe() -> dict[str, int]:
        return {
            "linux32": c_errno(libc.personality(PER_LINUX32)),
            "linux": c_errno(libc.personality(PER_LINUX)),
        }

    got = run(seccomp.compile_steps((plan.LockPersonality(PER_LINUX32),)), probe).result
    assert got == {"linux32": 0, "linux": errno.EPERM}


# --- SystemCallFilter= ------------------------------------------------------------------


def native_call_names() -> list[str]:
    """Every system call libseccomp knows on this ABI (seccomp_syscall_resolve_num_arch)."""
    so = ctypes.CDLL("libseccomp.so.2")
    so.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
    so.seccomp_syscall_resolve_num_arch.argtypes = (ctypes.c_uint32, ctypes.c_int)
    libc.free.argtypes = (ctypes.c_void_p,)
    names = []
    for nr in range(1024):
        ptr = so.seccomp_syscall_resolve_num_arch(0, nr)
        if ptr:
            names.append(ctypes.string_at(ptr).decode())
            libc.free(ptr)
    return names


def allow_all_but(*denied: str) -> tuple[tuple[str, int], ...]:
    names = native_call_names()
    assert "getcwd" in names
    assert "write" in names
    return tuple((n, plan.ACTION_ALLOW) for n in names if n not in denied)


def cwd_probe() -> dict[str, object]:
    return {"pid": os.getpid() > 0, "getcwd": py_errno(os.getcwd)}


def test_allow_list_kills_on_an_unlisted_call() -> None:
    step = plan.SyscallSet(plan.ACTION_KILL, allow_all_but("getcwd"), "SystemCallFilter=")
    without = run((), cwd_probe).result
    assert without == {"pid": True, "getcwd": 0}
    child = run(seccomp.compile_steps((step,)), cwd_probe)
    assert child.signal == signal.SIGSYS, (child.status, child.out)
    assert child.out == b""


def test_allow_list_with_an_errno() -> None:
    step = plan.SyscallSet(errno.EXDEV, allow_all_but("getcwd"), "SystemCallFilter=")
    got = run(seccomp.compile_steps((step,)), cwd_probe).result
    assert got == {"pid": True, "getcwd": errno.EXDEV}


def test_deny_list() -> None:
    step = plan.SyscallSet(
        plan.ACTION_ALLOW,
        (("getcwd", errno.ENOTTY), ("nosuchcall", errno.EPERM), ("mmap2", errno.EPERM)),
        "SystemCallFilter=",
    )
    got = run(seccomp.compile_steps((step,)), cwd_probe).result
    assert got == {"pid": True, "getcwd": errno.ENOTTY}


def test_deny_list_kill_entry() -> None:
    step = plan.SyscallSet(plan.ACTION_ALLOW, (("getcwd", plan.ACTION_KILL),), "SystemCallFilter=")
    child = run(seccomp.compile_steps((step,)), cwd_probe)
    assert child.signal == signal.SIGSYS, (child.status, child.out)


# --- load() -----------------------------------------------------------------------------


def test_load_needs_no_new_privs_or_cap_sys_admin() -> None:
    progs = seccomp.compile_steps((plan.Builtin("protect_syslog"),))

    def drop_root() -> None:
        os.setgroups([])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)

    def probe() -> None:
        raise AssertionError("load() did not fail")

    if os.geteuid() != 0:
        pytest.skip("needs root to drop CAP_SYS_ADMIN in the child")
    child = run(progs, probe, before=drop_root)
    assert os.WEXITSTATUS(child.status) == 1
    assert b"EACCES" in child.out or b"Permission denied" in child.out, child.out


def test_load_skips_a_program_the_kernel_finds_invalid() -> None:
    # not ending in a return: EINVAL, which 252 only logs (ERRNO_IS_SECCOMP_FATAL)
    bogus = seccomp.Program(b"\x00" * 8, plan.EXIT_SECCOMP, "x86-64")
    assert run((bogus,), lambda: py_errno(os.getcwd)).result == 0


# --- SystemCallArchitectures= and the i386 ABI (a compiled int 0x80 probe) ---------------

PROBE_C = r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    long a[4] = {0, 0, 0, 0};
    for (int i = 1; i < argc && i <= 4; i++) a[i - 1] = strtol(argv[i], 0, 0);
    long ret;
    __asm__ volatile ("int $0x80" : "=a"(ret)
                      : "a"(a[0]), "b"(a[1]), "c"(a[2]), "d"(a[3]) : "memory");
    printf("%d\n", (int) ret);
    return 0;
}
"""
I386_GETPID, I386_OLD_MMAP, I386_SYSLOG = 20, 90, 103


@pytest.fixture(scope="module")
def int80_probe(tmp_path_factory: pytest.TempPathFactory) -> str:
    if os.uname().machine != "x86_64":
        pytest.skip("the int 0x80 probe is for x86-64 machines")
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the int 0x80 probe")
    d = tmp_path_factory.mktemp("int80")
    (d / "probe.c").write_text(PROBE_C)
    subprocess.run([cc, "-O0", "-o", str(d / "probe"), str(d / "probe.c")], check=True, timeout=60)
    out = subprocess.run([str(d / "probe"), str(I386_GETPID)], capture_output=True, timeout=10)
    if out.returncode != 0 or int(out.stdout) <= 0:
        pytest.skip(f"no i386 system calls on this kernel (int 0x80 gives {out})")
    return str(d / "probe")


def exec_probe(programs: tuple[seccomp.Program, ...], argv: list[str]) -> Child:
    """The child loads the programs, then execs the probe with its stdout on the pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            os.dup2(w, 1)
            seccomp.load(programs)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    os.close(w)
    try:
        with open(r, "rb") as f:
            out = f.read()
        status = os.waitpid(pid, 0)[1]
    except BaseException:
        kill_and_reap(pid)
        raise
    return Child(status, out)


def test_archs_native_kills_i386_calls(int80_probe: str) -> None:
    progs = seccomp.compile_steps((plan.Archs(("native",)),))
    assert [p.arch for p in progs] == ["x86-64"]
    # native calls still work
    assert run(progs, lambda: [os.getpid() > 0, py_errno(os.getcwd)]).result == [True, 0]
    child = exec_probe(progs, [int80_probe, str(I386_GETPID)])
    assert child.signal == signal.SIGSYS, (child.status, child.out)
    listed = exec_probe(
        seccomp.compile_steps((plan.Archs(("native", "x86")),)), [int80_probe, str(I386_GETPID)]
    )
    assert listed.status == 0
    assert int(listed.out) > 0


def test_i386_filters(int80_probe: str) -> None:
    # the x86 programs judge int 0x80 calls: the old mmap() refused outright by
    # MemoryDenyWriteExecute= (its arguments sit in memory), syslog() by ProtectKernelLogs=
    old_mmap = [int80_probe, str(I386_OLD_MMAP)]
    klog = [int80_probe, str(I386_SYSLOG), str(SYSLOG_ACTION_SIZE_BUFFER)]
    assert int(exec_probe((), old_mmap).out) == -errno.EFAULT
    assert int(exec_probe((), klog).out) > 0
    mdwe = seccomp.compile_steps((plan.Builtin("memory_deny_write_execute"),))
    assert int(exec_probe(mdwe, old_mmap).out) == -errno.EPERM
    syslog = seccomp.compile_steps((plan.Builtin("protect_syslog"),))
    assert int(exec_probe(syslog, klog).out) == -errno.EPERM
