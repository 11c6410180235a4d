"""`pidone ps` against procps-ng `ps` on hand-made process tables (fake /proc trees).

See the comment below for what the table holds and how both tools are run on it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.differential

PS = shutil.which("ps")
UNSHARE = shutil.which("unshare")

# ------------------------------------------------------------------ fake tables
#
# Hand-made process tables that the live kernel rarely shows: pid_max 4194304 (PID
# width 7), a 7-digit PID, overflowing VSZ/RSS/TIME, a start last year and one earlier
# this year, every STAT flag at once, a real-time process (NI "-"), a zombie, a kernel
# thread, a user without a passwd entry and one with a long name, odd command lines,
# a process without a status file (euid from the directory owner), a tty that exists
# (/dev/tty1 or /dev/console). The table is bind-mounted over /proc in a private mount
# namespace and both tools run there; each tool gets its own /proc/PID (a copy of a
# fixed entry) and /proc/self just before it runs, behind a gate, and its own row is
# left out of the comparison.

HZ = os.sysconf("SC_CLK_TCK")


class Fake:
    """One process of a fake table."""

    def __init__(self, pid: int, ppid: int, comm: bytes, **kw: object) -> None:
        self.pid, self.ppid, self.comm = pid, ppid, comm
        self.state = str(kw.get("state", "S"))
        self.pgrp = int(kw.get("pgrp", pid))  # type: ignore[call-overload]
        self.session = int(kw.get("session", 1))  # type: ignore[call-overload]
        self.tty_nr = int(kw.get("tty_nr", 0))  # type: ignore[call-overload]
        self.tpgid = int(kw.get("tpgid", -1))  # type: ignore[call-overload]
        self.utime = int(kw.get("utime", 3))  # type: ignore[call-overload]
        self.nice = int(kw.get("nice", 0))  # type: ignore[call-overload]
        self.threads = int(kw.get("threads", 1))  # type: ignore[call-overload]
        self.start = int(kw.get("start", 500 * HZ))  # type: ignore[call-overload]
        self.policy = int(kw.get("policy", 0))  # type: ignore[call-overload]
        self.uid = int(kw.get("uid", 0))  # type: ignore[call-overload]
        self.vm = kw.get("vm", (12345, 2345, 0))  # (VmSize, VmRSS, VmLck) KiB, None: kthread
        self.cmdline = kw.get("cmdline", comm + b"\0")
        self.status = bool(kw.get("status", True))

    def stat_line(self) -> bytes:
        prio = 20 + self.nice if self.policy == 0 else -51
        fields = (
            [
                self.state,
                self.ppid,
                self.pgrp,
                self.session,
                self.tty_nr,
                self.tpgid,
                4194304,
                10,
                0,
                0,
                0,
                self.utime,
                7,
                0,
                0,
                prio,
                self.nice,
                self.threads,
                0,
                self.start,
                1 << 20,
                100,
            ]
            + [0] * 16
            + [1, 0, self.policy]
            + [0] * 11
        )
        return b"%d (%s) " % (self.pid, self.comm) + " ".join(map(str, fields)).encode() + b"\n"

    def status_text(self) -> bytes:
        names = {"S": "sleeping", "R": "running", "Z": "zombie", "T": "stopped", "I": "idle"}
        lines = [
            b"Name:\t" + self.comm[:15], b"Umask:\t0022",
            f"State:\t{self.state} ({names.get(self.state, 'sleeping')})".encode(),
            f"Tgid:\t{self.pid}".encode(), b"Ngid:\t0", f"Pid:\t{self.pid}".encode(),
            f"PPid:\t{self.ppid}".encode(), b"TracerPid:\t0",
            f"Uid:\t{self.uid}\t{self.uid}\t{self.uid}\t{self.uid}".encode(),
            b"Gid:\t0\t0\t0\t0", b"FDSize:\t64", b"Groups:\t ",
        ]  # fmt: skip
        if self.vm is not None:
            size, rss, lck = self.vm  # type: ignore[misc]
            lines += [f"VmPeak:\t{size:8} kB".encode(), f"VmSize:\t{size:8} kB".encode(),
                      f"VmLck:\t{lck:8} kB".encode(), f"VmPin:\t{0:8} kB".encode(),
                      f"VmHWM:\t{rss:8} kB".encode(), f"VmRSS:\t{rss:8} kB".encode()]  # fmt: skip
        lines += [f"Threads:\t{self.threads}".encode(), b"SigQ:\t0/96364"]
        return b"\n".join(lines) + b"\n"


def _table(now: float) -> list[Fake]:
    boot = 400 * 86400  # the box booted 400 days ago
    today = int((boot - 600) * HZ)
    early = int((boot - 200 * 86400) * HZ) if time.localtime(now).tm_yday > 201 else 0
    return [
        Fake(1, 0, b"init", cmdline=b"/sbin/init\0splash\0", start=1, session=1, nice=-10,
             vm=(46308, 14884, 4), threads=3),
        Fake(2, 0, b"kthreadd", cmdline=b"", vm=None, session=0, pgrp=0, start=1),
        Fake(3, 2, b"kworker/0:0H-events_highpri", cmdline=b"", state="I", nice=-20, vm=None,
             session=0, pgrp=0),
        Fake(90, 1, b"rt", policy=1, start=today),
        Fake(4193999, 1, b"timesyncd", uid=997, vm=(12345678, 1234567, 0), utime=7407360 * HZ,
             start=early),
        Fake(500, 1, b"a) (b", state="Z", cmdline=b"", start=today),
        Fake(501, 1, b"stopped", state="T", tty_nr=(4 << 8) | 1, session=501, pgrp=501,
             tpgid=501, cmdline="sleep\0ünïcödé\0tab\there\0nl\nx\0bad\xff\xfeend\0".encode(
                 "utf-8", "surrogateescape")),
        Fake(502, 501, b"all flags", nice=5, vm=(3000, 200, 8), threads=4, session=502,
             pgrp=502, tpgid=502, cmdline=b"no nul at end "),
        Fake(503, 1, b"nouser", uid=4242, cmdline=b"\0\0"),
        Fake(504, 1, b"nostatus", status=False, uid=65534),
        Fake(505, 502, b"child", cmdline=b"x" * 300 + b"\0"),
        Fake(506, 502, b"child2", state="R", utime=123 * HZ),
        Fake(1000, 1, b"console", tty_nr=(5 << 8) | 1, session=1000, pgrp=1000, tpgid=1000),
        # a 40-deep chain and a child whose PID is lower than its parent's
        *(Fake(2000 + i, 1999 + i if i else 1, b"deep", start=today + i) for i in range(40)),
        Fake(1500, 2039, b"lowpid", start=today + 50),
    ]  # fmt: skip


def _write_fake(root: str, procs: list[Fake]) -> float:
    """Write the table; returns the boot time (seconds since the epoch) it uses."""
    now = time.time()
    btime = int(now - 400 * 86400)
    os.makedirs(f"{root}/sys/kernel")
    os.makedirs(f"{root}/tty")
    with open(f"{root}/sys/kernel/pid_max", "w") as f:
        f.write("4194304\n")
    with open(f"{root}/uptime", "w") as f:
        f.write(f"{now - btime:.2f} 1.00\n")
    with open("/proc/stat") as src, open(f"{root}/stat", "w") as f:
        f.write("".join(f"btime {btime}\n" if ln.startswith("btime") else ln for ln in src))
    for name in ("meminfo", "tty/drivers", "loadavg", "cpuinfo"):
        shutil.copyfile(f"/proc/{name}", f"{root}/{name}")
    for p in procs:
        d = f"{root}/{p.pid}"
        os.mkdir(d)
        with open(f"{d}/stat", "wb") as f:
            f.write(p.stat_line())
        if p.status:
            with open(f"{d}/status", "wb") as f:
                f.write(p.status_text())
        for name, data in (("cmdline", p.cmdline), ("environ", b""), ("wchan", b"0")):
            with open(f"{d}/{name}", "wb") as f:
                f.write(data)  # type: ignore[arg-type]
        os.chown(d, p.uid, p.uid)
    return btime


DRIVER = r"""
import json, os, shutil, subprocess, sys
fake, cases = sys.argv[1], json.loads(sys.argv[2])
subprocess.run(["mount", "--bind", fake, "/proc"], check=True)
me = os.path.join(fake, "template")
results = []
for argv, env in cases:
    outs = []
    for tool in (["ps"], [sys.executable, "-m", "pidone", "ps"]):
        # The child's real PID may be one the fake table already uses (PIDs wrap; CI
        # containers start low): such a child is told to exit and we fork again, so the
        # table stays intact (as in test_tree_tables).
        while True:
            gate_r, gate_w = os.pipe()
            out_r, out_w = os.pipe()
            child = os.fork()
            if child == 0 or not os.path.lexists(os.path.join(fake, str(child))):
                break
            os.write(gate_w, b"n")
            for fd in (gate_r, gate_w, out_r, out_w):
                os.close(fd)
            os.waitpid(child, 0)
        if child == 0:
            os.close(gate_w); os.close(out_r)
            if os.read(gate_r, 1) != b"x":
                os._exit(0)
            os.dup2(out_w, 1)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            os.execvpe(tool[0], tool + argv, env)
        os.close(gate_r); os.close(out_w)
        entry = os.path.join(fake, str(child))
        shutil.copytree(me, entry)
        with open(os.path.join(entry, "stat"), "rb") as f:
            line = f.read()
        with open(os.path.join(entry, "stat"), "wb") as f:
            f.write(str(child).encode() + line[line.index(b" "):])
        with open(os.path.join(entry, "status"), "rb") as f:
            status = f.read().replace(b"\tTEMPLATE\n", b"\t%d\n" % child)
        with open(os.path.join(entry, "status"), "wb") as f:
            f.write(status)
        if os.path.lexists(os.path.join(fake, "self")):
            os.unlink(os.path.join(fake, "self"))
        os.symlink(str(child), os.path.join(fake, "self"))
        os.write(gate_w, b"x"); os.close(gate_w)
        chunks = []
        while data := os.read(out_r, 65536):
            chunks.append(data)
        os.close(out_r)
        code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        shutil.rmtree(entry)
        outs.append([code, b"".join(chunks).decode("utf-8", "surrogateescape"), child])
    results.append(outs)
print(json.dumps(results))
"""

TABLE_CASES = [
    ["aux"],
    ["-ef"],
    ["-e"],
    ["ax"],
    ["axf"],
    ["-eH", "-o", "pid,ppid,stat,args"],
    ["-eo", "pid,user,ruser,uid,ppid,pgid,sid,tty,stat,s,ni,pri,nlwp,vsz,rss,sz,time,etime"],
    ["-eo", "pid,start_time,start,stime,lstart,bsdtime,time,pcpu,pmem,c,comm,args"],
    ["aux", "--sort=-vsz,pid"],
    ["-o", "pid,user:4,vsz:3,tty,stat:2,comm", "-e"],
    ["-e", "-o", "pid,args,user"],
    ["x"],
    ["ux"],
    ["u"],
    ["-u", "997,nobody", "-o", "pid,euser,comm"],
    ["-p", "500,501,4193999"],
    ["-N", "-p", "1"],
    ["-e", "--sort=user,-pid", "-o", "user,pid,comm"],
    ["-ef", "--forest"],
    ["ax", "--no-headers"],
    ["-o", "pid=,comm="],
]


def test_fake_tables_match_procps(tmp_path):
    if PS is None or UNSHARE is None or os.geteuid() != 0:
        pytest.skip("needs root, util-linux unshare and procps ps")
    fake = str(tmp_path / "proc")
    os.mkdir(fake)
    now = time.time()
    _write_fake(fake, _table(now))
    template = Fake(7, 1, b"ps", cmdline=b"ps\0", start=int((400 * 86400 - 1) * HZ))
    os.mkdir(f"{fake}/template")
    for name, data in (
        ("stat", template.stat_line()),
        ("status", template.status_text().replace(b"\t7\n", b"\tTEMPLATE\n")),
        ("cmdline", template.cmdline),
        ("environ", b"LANG=C.UTF-8\0"),
    ):
        with open(f"{fake}/template/{name}", "wb") as f:
            f.write(data)  # type: ignore[arg-type]
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    cases = [[argv, base] for argv in TABLE_CASES]
    cases += [
        [["aux"], {**base, "COLUMNS": "80"}],
        [["-eo", "pid,comm,args"], {**base, "LC_ALL": "C"}],
        # the /proc reads split over a forked child (psscan._read_split), with and
        # without a selection; procps ignores the variable
        [["aux"], {**base, "PIDONE_PS_JOBS": "2"}],
        [["ux"], {**base, "PIDONE_PS_JOBS": "2"}],
        [["-eo", "pid,wchan,args"], {**base, "PIDONE_PS_JOBS": "2"}],
    ]
    proc = subprocess.run(
        [UNSHARE, "--mount", "--propagation", "private", sys.executable, "-c", DRIVER, fake,
         json.dumps(cases)],
        capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    for (argv, env), (theirs, ours) in zip(cases, json.loads(proc.stdout), strict=True):
        label = f"{env.get('COLUMNS', '')} {env.get('LC_ALL', '')} ps {' '.join(argv)}"
        label += " (2 jobs)" if env.get("PIDONE_PS_JOBS") else ""
        assert ours[0] == theirs[0], (label, ours, theirs)

        def rows(text: str, self_pid: int) -> list[str]:
            return [ln for ln in text.split("\n") if str(self_pid) not in ln.split()[:3]]

        assert rows(ours[1], ours[2]) == rows(theirs[1], theirs[2]), label
