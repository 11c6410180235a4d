"""Small programs the system tests run as services (written to files, run with python3)."""

from __future__ import annotations

import sys
from pathlib import Path

PY = sys.executable if sys.executable.startswith("/usr/") else "/usr/bin/python3"

# sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET.
NOTIFY = """
import os, socket, sys, time
def notify(text):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"):
        addr = "\\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect(addr)
    s.send(text.encode())
    s.close()
"""

# Forks a child, a double-forked grandchild (its parent exits) and a setsid()'d one, writes
# their PIDs, then sleeps: what KillMode= must deal with.
FORKER = """
import os, sys, time
out = sys.argv[1]
pids = []
def child(setsid=False):
    pid = os.fork()
    if pid == 0:
        if setsid:
            os.setsid()
        os.execv("/bin/sleep", ["sleep", "1000"])
    return pid
pids.append(child())
r, w = os.pipe()
mid = os.fork()
if mid == 0:
    g = child()
    os.write(w, str(g).encode())
    os._exit(0)
os.waitpid(mid, 0)
pids.append(int(os.read(r, 64)))
pids.append(child(setsid=True))
with open(out + ".tmp", "w") as f:
    f.write(" ".join(map(str, [os.getpid()] + pids)))
os.rename(out + ".tmp", out)
time.sleep(1000)
"""


def write(directory: Path, name: str, body: str) -> str:
    path = directory / name
    path.write_text(body)
    path.chmod(0o755)
    return str(path)


def oneshot(shell: str, extra: str = "") -> str:
    """A Type=oneshot unit whose ExecStart= runs `shell` through /bin/sh -c ('...'), with
    `extra` [Service] lines before it."""
    return f"[Service]\nType=oneshot\n{extra}ExecStart=/bin/sh -c '{shell}'\n"
