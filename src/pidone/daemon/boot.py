"""Start-up tmpfiles.d pass: when pidoned applies it (--tmpfiles), and applying it.

systemd runs `systemd-tmpfiles --create --remove --boot` from systemd-tmpfiles-setup.service
early at boot. pidone does the --create --boot half itself, before it starts any unit, but
only when it is the machine's (or a container's) system manager: the pass writes below /,
and a test daemon that ran it would rewrite the host's /run, /tmp and /var.

The rule (`tmpfiles_wanted`):

- `--tmpfiles=no`: never.
- `--tmpfiles` / `--tmpfiles=yes`: with `--tmpfiles-root DIR`, always (everything stays
  below DIR: configuration from DIR/etc/tmpfiles.d & co., paths created below DIR); on /
  only as PID 1 of its PID namespace. That is how a container's init asks for it: a
  container's PID 1 creating the tmpfiles.d entries of its image is exactly what is
  wanted, but from the inside a container looks like a test namespace (same kernel, a
  fresh PID namespace, and `/.dockerenv` or `container=` inherited from the host when the
  tests themselves run in a container), so no guess is made: the image opts in.
- `--tmpfiles=auto` (the default): only as PID 1 of the *initial* PID namespace, i.e. the
  kernel's own init. The initial namespace has the fixed inode number PROC_PID_INIT_INO
  (0xEFFFFFFC, include/linux/proc_ns.h) on /proc/self/ns/pid; every PID namespace made with
  clone(CLONE_NEWPID)/unshare(1), as pidone.testing.harness does, has another one
  (namespaces(7)), so a test daemon, though PID 1 of its namespace, never runs it.

The --remove half (purging /tmp and `D` directories) is never done.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pidone.core.actions import LOG_INFO, LOG_WARNING

PROC_PID_INIT_INO = 0xEFFFFFFC  # include/linux/proc_ns.h
TMPFILES_CHOICES = ("auto", "yes", "no")


def in_initial_pid_namespace() -> bool:
    """Whether this process lives in the kernel's initial PID namespace."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino == PROC_PID_INIT_INO
    except OSError:  # no /proc: no proof, so no
        return False


def tmpfiles_wanted(choice: str, root: str, pid: int, initial_pid_namespace: bool) -> bool:
    """The rule of the module docstring; `root` is --tmpfiles-root ("/" when not given)."""
    if choice == "no":
        return False
    if choice == "yes":
        return pid == 1 or os.path.realpath(root) != "/"
    return pid == 1 and initial_pid_namespace


def apply_tmpfiles(choice: str, root: str | None, log: Callable[[str, str, int], None]) -> bool:
    """Run the --create --boot pass when the rule says so; log what it did. True if run."""
    root = root or "/"
    if not tmpfiles_wanted(choice, root, os.getpid(), in_initial_pid_namespace()):
        return False
    from pidone.linux.tmpfiles import run_create

    report = run_create(root, boot=True)
    for message in report.errors or []:
        log("init.scope", f"tmpfiles: {message}", LOG_WARNING)
    for message in report.skipped or []:
        log("init.scope", f"tmpfiles: {message}", LOG_INFO)
    where = "" if root == "/" else f" below {root}"
    errors = len(report.errors or [])
    log("init.scope", f"tmpfiles: --create --boot pass done{where}, {errors} errors.", LOG_INFO)
    return True
