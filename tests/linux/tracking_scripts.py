"""Child programs for the tracking tests (run with `python -S -c`)."""

from __future__ import annotations

# Forks a child that (optionally) calls setsid() and forks a grandchild, then exits: the
# grandchild is orphaned. Prints "<grandchild pid>" then "<main pid>", then sleeps.
# argv[1] = "setsid" or "nosetsid"; argv[2] = "scrub" clears the grandchild's environment.
DOUBLE_FORK = """
import os, sys, time
mode, env = sys.argv[1], sys.argv[2]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    if mode == "setsid":
        os.setsid()
    if os.fork() == 0:
        os.write(w, b"%d\\n" % os.getpid())
        if env == "scrub":
            os.execve("/bin/sleep", ["sleep", "600"], {})
        time.sleep(600)
        os._exit(0)
    os._exit(0)
os.waitpid(pid, 0)
grandchild = os.read(r, 100).decode().strip()
print(grandchild, flush=True)
print(os.getpid(), flush=True)
time.sleep(600)
"""
