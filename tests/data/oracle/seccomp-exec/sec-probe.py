#!/usr/bin/python3
"""What a command may do under systemd's seccomp settings: one line per check named on the
command line, `name=ok` or `name=<errno name>`. Run by the sec-*.service units, under real
systemd 252 (capture-seccomp-exec.sh) and under pidone (tests/system/test_seccomp_units.py).
It only asks or changes what is private to it: a socket, a mapping, its own scheduling
policy and personality, a file it made, and the host name of a UTS namespace it made."""

import ctypes
import errno
import mmap
import os
import socket
import sys
import tempfile

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUTS = 0x04000000
CLONE_NEWUSER = 0x10000000
PER_LINUX32 = 0x0008


def result(fn):
    try:
        r = fn()
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    if isinstance(r, str):
        return r
    if isinstance(r, int) and r < 0:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    return "ok"


def inet():
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()


def unix():
    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()


def wx():
    mmap.mmap(-1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC).close()


def fifo():
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def suid():
    with tempfile.NamedTemporaryFile() as f:
        os.chmod(f.name, 0o4755)


def userns():
    pid = os.fork()
    if pid == 0:  # (in a child: the probe's own namespaces stay as they are)
        os._exit(0 if libc.unshare(CLONE_NEWUSER) == 0 else ctypes.get_errno())
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code:
        raise OSError(code, os.strerror(code))


def personality():
    return libc.personality(PER_LINUX32)


def hostname():
    # only ever inside a UTS namespace of its own: never the host's name
    if libc.unshare(CLONE_NEWUTS) != 0:
        return "no-uts-namespace"
    return libc.sethostname(b"sec-probe", 9)


def syslog():
    return libc.klogctl(10, None, 0)  # SYSLOG_ACTION_SIZE_BUFFER


def adjtimex():
    buf = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
    return libc.adjtimex(buf)


def nnp():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("NoNewPrivs:"):
                return line.split()[1]
    return "?"


def _map(name):
    with open(f"/proc/self/{name}") as f:
        return ",".join("-".join(line.split()) for line in f)


def uidmap():
    return _map("uid_map")


def gidmap():
    return _map("gid_map")


def setgroups():
    with open("/proc/self/setgroups") as f:
        return f.read().strip()


def mounts():
    # the exec bit of the last mount on each path (NoExecPaths=/, ExecPaths=/usr/lib)
    last = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            last[fields[4]] = "noexec" if "noexec" in fields[5].split(",") else "exec"
    return ",".join(f"{p}:{last.get(p, 'none')}" for p in ("/", "/usr/lib", "/tmp"))


def devices():
    out = []
    for name, flags, label in (
        ("null", os.O_RDONLY, "null"),
        ("null", os.O_WRONLY, "null-w"),
        ("zero", os.O_RDONLY, "zero"),
        ("zero", os.O_WRONLY, "zero-w"),
        ("urandom", os.O_RDONLY, "urandom"),
    ):
        try:
            os.close(os.open(f"/dev/{name}", flags | os.O_NONBLOCK))
            out.append(f"{label}:ok")
        except OSError as exc:
            out.append(f"{label}:{errno.errorcode.get(exc.errno, exc.errno)}")
    return ",".join(out)


def swapoff():
    return libc.swapoff(b"/nonexistent-sec-probe")


for check in sys.argv[1:]:
    print(f"{check}={result(globals()[check])}", flush=True)
