"""Signal masks for the daemon and the signal reset a forked child needs before exec.

Kernel and CPython lore (man 7 signal, man 2 sigprocmask, spec 08):

* A PID 1 must block signals first thing and unblock each one only once its handler is in
  place: a blocked signal stays pending and is delivered on unblock, while a signal whose
  disposition is still SIG_DFL is silently discarded for a namespace init.
* Synchronous fault signals (SEGV, BUS, ILL, FPE, TRAP, SYS) must never be blocked: a fault
  while they are blocked kills the process outright.
* CPython sets SIGPIPE and SIGXFSZ to SIG_IGN at start-up; ignored dispositions survive
  execve, so a child must restore them (subprocess's restore_signals does the same).
* After fork, the child still has the parent's `signal.set_wakeup_fd`: a signal landing in
  the child before exec would write a byte into the *parent's* wake-up pipe and be taken for
  a signal the daemon received. The child must drop it first.
"""

from __future__ import annotations

import contextlib
import signal

from pidone.core.hints import Final

# Never blocked: delivered synchronously on faults (man 7 signal, "Signal mask").
FAULT_SIGNALS: Final = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGTRAP, signal.SIGSYS}
)
UNCATCHABLE: Final = frozenset({signal.SIGKILL, signal.SIGSTOP})


def blockable_signals() -> set[int]:
    """Every signal a daemon may block: all valid ones (RT included) but faults and KILL/STOP."""
    return {
        int(s) for s in signal.valid_signals() if s not in FAULT_SIGNALS and s not in UNCATCHABLE
    }


def block_signals(signals: set[int] | None = None) -> set[int]:
    """Block `signals` (default: all blockable) in this thread; returns the previous mask."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals or blockable_signals())
    return {int(s) for s in previous}


def unblock_signals(signals: set[int]) -> None:
    """Unblock `signals` in this thread (pending ones are delivered at once)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)


def reset_signals_in_child() -> None:
    """Call in a forked child before exec: default dispositions, empty mask, no wake-up fd.

    Order matters: drop the inherited wake-up fd first, then reset dispositions, and only then
    unblock, so that nothing pending can reach a Python handler or the parent's pipe.
    """
    signal.set_wakeup_fd(-1)
    for sig in blockable_signals():
        with contextlib.suppress(OSError, ValueError):  # 32/33 belong to glibc's threads
            signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
