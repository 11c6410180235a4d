"""The event loop on real fds, timers, signals and child processes; and its idle sleep."""

from __future__ import annotations

import gc
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pidone.cli.client import Client
from pidone.daemon.children import ChildWatcher
from pidone.daemon.loop import EventLoop
from pidone.linux.reaper import ChildExit


@pytest.fixture
def loop() -> Iterator[EventLoop]:
    ev = EventLoop()
    try:
        yield ev
    finally:
        ev.close()


def run_until(loop: EventLoop, done: list[object], *, guard: float = 20.0) -> None:
    """Run until `done` is non-empty; a watchdog thread stops a hung loop (no timing asserted)."""
    cancel = threading.Event()

    def watchdog() -> None:
        if not cancel.wait(guard):
            loop.call_soon_threadsafe(loop.stop)

    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    try:
        while not done:
            loop.run_once()
            if not thread.is_alive():
                break
    finally:
        cancel.set()
        thread.join()


def test_reader_and_writer_callbacks_on_a_pipe(loop: EventLoop) -> None:
    r, w = os.pipe2(os.O_NONBLOCK)
    got: list[bytes] = []
    writable: list[bool] = []
    try:
        loop.add_reader(r, lambda: got.append(os.read(r, 100)))
        loop.add_writer(w, lambda: (writable.append(True), loop.remove_writer(w)))
        loop.run_once()
        assert writable == [True]
        os.write(w, b"hello")
        run_until(loop, got)  # type: ignore[arg-type]
        assert got == [b"hello"]
        loop.remove_reader(r)
        os.write(w, b"more")
        loop.call_soon(lambda: None)
        loop.run_once()
        assert got == [b"hello"]
    finally:
        os.close(r)
        os.close(w)


def test_a_hang_up_wakes_the_reader_and_a_reused_fd_number_is_watched_afresh(
    loop: EventLoop,
) -> None:
    r, w = os.pipe2(os.O_NONBLOCK)
    seen: list[str] = []
    loop.add_reader(r, lambda: seen.append("eof" if os.read(r, 100) == b"" else "data"))
    os.close(w)  # EPOLLHUP alone: a reader must still run (it reads EOF)
    run_until(loop, seen)  # type: ignore[arg-type]
    assert seen == ["eof"]
    loop.remove_reader(r)
    os.close(r)
    # An fd closed while registered (rule 5 broken) and its number reused by a new pipe:
    # epoll dropped the old file on close (man 7 epoll, Q6); adding a writer then a reader
    # for the new file must watch the new file.
    r2, w2 = os.pipe2(os.O_NONBLOCK)
    stale: list[bool] = []
    loop.add_reader(r2, lambda: stale.append(True))
    os.close(r2)
    os.close(w2)
    r3, w3 = os.pipe2(os.O_NONBLOCK)
    got: list[bytes] = []
    try:
        assert r3 == r2  # the lowest free number comes back
        loop.add_writer(r3, lambda: None)  # modify() of the stale registration fails
        loop.remove_writer(r3)
        loop.add_reader(r3, lambda: got.append(os.read(r3, 100)))
        os.write(w3, b"new")
        run_until(loop, got)  # type: ignore[arg-type]
        assert got == [b"new"]
    finally:
        loop.remove_reader(r3)
        os.close(r3)
        os.close(w3)


def test_garbage_is_collected_between_turns_never_inside_a_callback(loop: EventLoop) -> None:
    inside: list[bool] = []
    collections: list[bool] = []  # per collection: did it run inside the callback?

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(bool(inside))

    def churn() -> None:
        inside.append(True)
        for _ in range(5 * gc.get_threshold()[0]):
            cycle: list[object] = []
            cycle.append(cycle)  # reference-cycle garbage: only the collector frees it
        inside.clear()

    was_enabled = gc.isenabled()
    gc.callbacks.append(on_gc)
    try:
        loop.collect_between_turns()
        assert not gc.isenabled()  # no automatic runs
        loop.call_soon(churn)
        done: list[int] = []
        loop.call_later(0.01, lambda: done.append(1))
        run_until(loop, done)  # type: ignore[arg-type]
        assert collections, "nothing collected before the loop blocked"
        assert not any(collections), "a collection ran inside a callback"
    finally:
        gc.callbacks.remove(on_gc)
        if was_enabled:
            gc.enable()


def test_timers_fire_in_deadline_order_never_early(loop: EventLoop) -> None:
    order: list[str] = []
    now = loop.time()
    loop.call_at(now - 1, lambda: order.append("b"))
    loop.call_at(now - 2, lambda: order.append("a"))
    doomed = loop.call_at(now - 3, lambda: order.append("cancelled"))
    doomed.cancel()
    doomed.cancel()
    loop.run_once()
    assert order == ["a", "b"]

    deadline = loop.time() + 0.05
    fired_at: list[float] = []
    loop.call_at(deadline, lambda: fired_at.append(loop.time()))
    run_until(loop, fired_at)  # type: ignore[arg-type]
    assert fired_at[0] >= deadline
    assert loop.armed_timers == 0


def test_cancelled_timers_leave_nothing_armed(loop: EventLoop) -> None:
    handles = [loop.call_later(3600 + i, lambda: None) for i in range(200)]
    assert loop.armed_timers == 200
    for handle in handles:
        handle.cancel()
    assert loop.armed_timers == 0
    loop.call_soon(lambda: None)
    loop.run_once()
    assert loop._timeout() is None  # nothing left to wake for


def test_threadsafe_wakes_a_sleeping_loop(loop: EventLoop) -> None:
    done: list[str] = []
    started = threading.Event()

    def other() -> None:
        started.wait()
        loop.call_soon_threadsafe(lambda: done.append(threading.current_thread().name))

    thread = threading.Thread(target=other)
    thread.start()
    started.set()
    run_until(loop, done)  # type: ignore[arg-type]
    thread.join()
    assert done == [threading.main_thread().name]


def test_failing_callback_is_reported_and_loop_goes_on() -> None:
    errors: list[tuple[str, str]] = []
    ev = EventLoop(on_error=lambda exc, where: errors.append((type(exc).__name__, where)))
    ran: list[int] = []
    try:

        def boom() -> None:
            raise ZeroDivisionError

        ev.call_soon(boom)
        ev.call_soon(lambda: ran.append(1))
        ev.run_once()
    finally:
        ev.close()
    assert errors == [("ZeroDivisionError", "call_soon")]
    assert ran == [1]


def test_signal_delivered_through_the_loop(loop: EventLoop) -> None:
    got: list[int] = []
    before = signal.getsignal(signal.SIGUSR1)
    loop.add_signal_handler(signal.SIGUSR1, got.append)
    os.kill(os.getpid(), signal.SIGUSR1)
    os.kill(os.getpid(), signal.SIGUSR1)
    run_until(loop, got)  # type: ignore[arg-type]
    assert got == [signal.SIGUSR1]
    loop.close()
    assert signal.getsignal(signal.SIGUSR1) == before


def test_signal_blocked_since_start_is_not_lost(loop: EventLoop) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
    try:
        os.kill(os.getpid(), signal.SIGUSR2)
        assert signal.SIGUSR2 in signal.sigpending()
        got: list[int] = []
        loop.add_signal_handler(signal.SIGUSR2, got.append)  # unblocks: pending is delivered
        run_until(loop, got)  # type: ignore[arg-type]
        assert got == [signal.SIGUSR2]
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})


def spawn_child(code: str) -> tuple[int, int]:
    """A python child blocked reading a pipe; returns (pid, write end to release it)."""
    r, w = os.pipe()  # both close-on-exec
    os.set_inheritable(r, True)
    pid = os.posix_spawn(
        sys.executable, [sys.executable, "-c", f"import os; os.read({r}, 1); {code}"], os.environ
    )
    os.close(r)
    return pid, w


def cleanup(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def test_child_exit_seen_through_its_pidfd(loop: EventLoop) -> None:
    pid, release = spawn_child("raise SystemExit(7)")
    try:
        exited: list[int] = []
        watch = loop.watch_process(pid, exited.append)
        assert watch is not None
        loop.call_soon(lambda: None)
        loop.run_once()
        assert exited == []  # still running: the pidfd is not readable
        os.close(release)
        run_until(loop, exited)  # type: ignore[arg-type]
        assert exited == [pid]
        assert watch.pidfd == -1  # closed once fired
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 7
    finally:
        cleanup(pid)


def test_a_fired_pidfd_is_closed_when_the_loop_turn_ends_not_before_the_callback(
    loop: EventLoop,
) -> None:
    # (the callback is a command's exit on the way to the next spawn or the job's reply)
    pid, release = spawn_child("raise SystemExit(0)")
    try:
        seen: list[int] = []
        watch = loop.watch_process(pid, lambda _pid: seen.append(watch.pidfd))  # type: ignore[union-attr]
        assert watch is not None
        fd = watch.pidfd
        os.close(release)
        while not seen:
            loop.run_once()
        assert seen == [fd]  # still open while the callback ran
        assert watch.pidfd == -1  # and closed before the loop could poll it again
        with pytest.raises(OSError):
            os.fstat(fd)
    finally:
        cleanup(pid)


def test_child_watcher_reports_watched_exit_once(loop: EventLoop) -> None:
    exits: list[tuple[ChildExit, bool]] = []
    watcher = ChildWatcher(
        loop, lambda child, watched: exits.append((child, watched)), use_sigchld=False
    )
    pid, release = spawn_child("import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
    try:
        watcher.watch(pid)
        assert watcher.watched == {pid}
        os.close(release)
        run_until(loop, exits)  # type: ignore[arg-type]
        assert exits == [(ChildExit(pid, None, signal.SIGTERM, False), True)]
        assert watcher.watched == frozenset()
        loop.call_soon(lambda: None)
        loop.run_once()
        assert len(exits) == 1
    finally:
        watcher.close()
        cleanup(pid)


SIGCHLD_SCENARIO = """
import json, os, signal, sys
from pidone.daemon.children import ChildWatcher
from pidone.daemon.loop import EventLoop

loop = EventLoop()
exits = []
def on_exit(child, watched):
    exits.append([child.pid, child.exit_code, watched])
watcher = ChildWatcher(loop, on_exit)
pids = []
for code in (3, 4, 5):  # three unwatched exits: SIGCHLDs may coalesce, all must be reaped
    pid = os.fork()
    if pid == 0:
        os._exit(code)
    pids.append(pid)
while len(exits) < 3:
    loop.run_once()
print(json.dumps({"pids": pids, "exits": sorted(exits, key=lambda e: e[1])}))
"""


def test_sigchld_reaps_every_coalesced_exit() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SIGCHLD_SCENARIO],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["exits"] == [
        [pid, code, False] for pid, code in zip(result["pids"], (3, 4, 5), strict=True)
    ]


IDLE_LOOP = """
import os, signal, sys
from pidone.core.protocol import Response
from pidone.daemon.children import ChildWatcher
from pidone.daemon.control import ControlServer, Verb
from pidone.daemon.loop import EventLoop

loop = EventLoop()
# A watched child that lives as long as we do (it reads stdin from a pipe we hold).
hold_r, hold_w = os.pipe()
code = "import os; os.read(0, 1)"
child = os.posix_spawn(sys.executable, [sys.executable, "-c", code], os.environ,
                       file_actions=[(os.POSIX_SPAWN_DUP2, hold_r, 0)])
os.close(hold_r)
watcher = ChildWatcher(loop, lambda child, watched: None)  # SIGCHLD handler + pidfd
watcher.watch(child)
verbs = {"ping": Verb(lambda call: Response.success(call.request.id, "pong"), mutating=False)}
server = ControlServer(loop, os.path.join(sys.argv[1], "control.sock"), verbs)
server.start()
loop.add_signal_handler(signal.SIGUSR1, lambda s: None)
loop.call_later(3600, lambda: None).cancel()  # a cancelled timer must not wake us
print("ready", flush=True)
loop.run()
"""


def _switches(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


def _wait_asleep_in_epoll(pid: int) -> None:
    """Wait (no deadline asserted) until the loop is blocked in epoll_wait."""
    for _ in range(20_000):
        if Path(f"/proc/{pid}/wchan").read_text() == "do_epoll_wait":
            return
        time.sleep(0.001)
    raise AssertionError(
        f"loop never went to sleep in epoll_wait: {Path(f'/proc/{pid}/wchan').read_text()}"
    )


def _assert_blocked_without_timeout(pid: int) -> None:
    """Wait (no deadline asserted) until the loop sleeps in epoll_wait with no timeout."""
    if platform.machine() != "x86_64":
        _wait_asleep_in_epoll(pid)
        return
    fields: list[str] = []
    for _ in range(20_000):
        # /proc/PID/syscall: "232 epfd events maxevents timeout ...": epoll_wait(2) with
        # timeout -1 means no timer is armed at all, so no timed wake-up can ever happen.
        # A loop on its way to sleep may show a finite timeout for a moment (a client's
        # idle timer until its EOF is read); a loop with a periodic tick never shows -1.
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
        if fields[0] == "232" and int(fields[4], 16) & 0xFFFFFFFF == 0xFFFFFFFF:
            return
        time.sleep(0.001)
    raise AssertionError(f"loop never slept without a timeout: {fields}")


def test_idle_daemon_plumbing_makes_zero_wakeups(tmp_path: Path) -> None:
    """Loop + control server + child watcher + signal handler: asleep until poked."""
    proc = subprocess.Popen(
        [sys.executable, "-c", IDLE_LOOP, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "ready\n"
        _assert_blocked_without_timeout(proc.pid)
        before = _switches(proc.pid)
        time.sleep(1.0)  # an observation window, not a timing assertion
        assert _switches(proc.pid) == before

        # The counter does see a wake-up: one client session, then asleep again, with the
        # connection's idle timer gone with the connection.
        with Client(str(tmp_path / "control.sock"), timeout=20) as client:
            assert client.call("ping") == "pong"
        _assert_blocked_without_timeout(proc.pid)
        after_poke = _switches(proc.pid)
        assert after_poke > before
        time.sleep(0.5)
        assert _switches(proc.pid) == after_poke
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
