"""The facts `pidone status UNIT` prints that only the daemon holds cheaply, added to the
`status` verb's answer when the request says `detail`.

Without them the CLI would load the install planner for the unit-file state, open the
journal with sqlite3 and load the unit file for the ExecStart line: three times its
whole start-up (bench/cli.py). Here every module is already imported and the journal is
open, so one round trip answers everything:

- `unit_file_state`, `unit_file_preset`: what systemctl's Loaded line shows. The state is
  read from disk on every request (a `pidone enable` does not reload the daemon); the
  preset is kept per loaded unit, as systemd 252 keeps `u->unit_file_preset` until the next
  daemon-reload.
- `journal`: the unit's last N entries, newest last, each `[shown_usec, received_usec,
  text]`. `text` is the `short` line without its 15-character time prefix (`Nov 29
  17:46:29`, fixed width), so the CLI prints the time in its own zone as journalctl does;
  with `journal_mode: "cat"` it is the bare message. No cut at the last start: the CLI
  keeps the entries received at or after the unit's InactiveExitTimestamp when 252 would
  (show_journal_by_unit() with not_before), which needs the view it builds.
- `cgroup_figures`: [CPU ns, tasks, memory bytes] read from the unit's cgroup2 directory
  as systemd reads them (cpu.stat usage_usec; pids.current and memory.current only with
  those controllers, else null). CPU counts from the unit's last start
  (unit_reset_cpu_accounting(): a cgroup kept across a restart keeps its counter), and once
  the cgroup is gone it is the figure taken when the unit stopped, as 252 keeps
  `cpu_usage_last` (unit_prune_cgroup() reads it just before removing the group):
  `[CPU ns, null, null]`. Absent when there is neither.
- `unit_states`: ActiveState of the loaded units named like this one with another suffix
  (x.socket, x.timer, x.path trigger x.service: man 5 systemd.socket/.timer/.path), and
  of the units in `triggered_by`/`triggers`.
- `triggered_by`, `triggers`: the sockets, timers and paths that trigger this unit, and
  what this socket, timer or path triggers (TriggeredBy=/Triggers=), when there are any.
- `exec_start`: [argv, ignore_failure] of the only ExecStart= command, for the `Process:`
  line of an exited main process (with several, which ran last is not recorded).
- `runtime_max_usec`: RuntimeMaxSec= when set (status prints `Until:` for an active unit).
- `next_elapse_usec` (timers: `Trigger:`, realtime µs, 0 = n/a) and `listen` (sockets:
  [[type, address], ...] for `Listen:`), from daemon/verbs_triggers.trigger_detail().
- `processes` (made by verbs.describe(argv=True)): [pid, argv, comm] instead of [pid, joined
  cmdline], so the CGroup tree quotes arguments as systemd does (an argv with no cmdline is
  a kernel thread or zombie: `[comm]`).
"""

from __future__ import annotations

import contextlib
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pidone.core.actions import StateChanged
    from pidone.core.model import Unit
    from pidone.daemon.main import Daemon
    from pidone.journal.store import JournalReader

TRIGGER_SUFFIXES = ("service", "socket", "timer", "path")
# unit types that have no cgroup in systemd (no CGroup: line, no CPU/Tasks figures)
NO_CGROUP = frozenset({"timer", "path", "target", "device", "automount"})
IDLE = ("inactive", "failed")
USEC_INFINITY = 2**64 - 1
JOURNAL_FLUSH_WAIT = 0.25  # seconds the loop may wait for the journal writer per status
SHORT_PREFIX = len("Nov 29 17:46:29")  # %b %d %H:%M:%S in the C locale: always 15


class StatusSources:
    """Per-daemon state behind the detail: the journal reader, the presets, CPU counters."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._reader: JournalReader | None = None
        self._presets: dict[str, tuple[Unit, str]] = {}
        # CPU counter of the unit's cgroup: (directory inode, usage ns) at its last start and
        # at its last stop; a base applies only to the same directory (not to one the
        # executor pruned and created again, which counts from zero)
        self._cpu_base: dict[str, tuple[int, int]] = {}
        self._cpu_stop: dict[str, tuple[int, int]] = {}
        self._cpu_last: dict[str, int] = {}  # CPUUsageNSec when the unit last stopped

    def forget(self, unit: str) -> None:
        """Drop what is kept for a garbage-collected unit (an ended Accept=yes instance)."""
        for table in (self._cpu_base, self._cpu_stop, self._cpu_last, self._presets):
            table.pop(unit, None)

    # -- CPU accounting ------------------------------------------------------------------

    def watch(self) -> None:
        """Follow the executor's state changes (chained after any hook already set)."""
        executor = self.daemon.executor
        before = executor.on_state

        def on_state(change: StateChanged) -> None:
            before(change)
            self.state_changed(change)

        executor.on_state = on_state
        executor.cpu_used = self._cpu_last.get  # read for "Consumed ... CPU time."
        _WATCHING[id(self.daemon)] = self

    def _counter(self, unit: str) -> tuple[int, int] | None:
        """(inode of the unit's cgroup directory, cpu.stat usage in ns), None without one."""
        path: str = getattr(self.daemon.tracker, "path", lambda _u: "")(unit)
        if not path:
            return None
        try:
            inode = os.stat(path).st_ino
        except OSError:
            return None
        usage = _read_first_int(path + "/cpu.stat", b"usage_usec")
        return None if usage is None else (inode, usage * 1000)

    def _since_start(self, unit: str, counter: tuple[int, int]) -> int:
        inode, usage = counter
        base_inode, base = self._cpu_base.get(unit, (inode, 0))
        return max(usage - base, 0) if base_inode == inode else usage

    def state_changed(self, change: StateChanged) -> None:
        """A start takes the counter's base (systemd resets CPU accounting on every start,
        an auto-restart's too); a stop keeps the last figure. Stops are seen before the
        executor prunes the cgroup (it does so after the current batch)."""
        unit = change.unit
        stopped = change.new_active in IDLE or change.new_sub == "auto-restart"
        was_stopped = change.old_active in IDLE or change.old_sub == "auto-restart"
        if stopped and not was_stopped:
            counter = self._counter(unit)
            if counter is not None:
                self._cpu_last[unit] = self._since_start(unit, counter)
                self._cpu_stop[unit] = counter
        elif was_stopped and not stopped:
            # the group of the last run, if it is still there, counts on from its figure
            self._cpu_base[unit] = self._cpu_stop.pop(unit, (-1, 0))
            self._cpu_last.pop(unit, None)

    def cpu_figures(self, unit: str) -> list[int | None] | None:
        """`cgroup_figures` of the module docstring."""
        path: str = getattr(self.daemon.tracker, "path", lambda _u: "")(unit)
        figures = cgroup_figures(path)
        if figures is not None:
            counter = self._counter(unit)
            figures[0] = self._since_start(unit, counter) if counter is not None else None
            return figures
        last = self._cpu_last.get(unit)
        return None if last is None else [last, None, None]

    # -- unit-file state ---------------------------------------------------------------

    def file_state(self, unit: Unit) -> tuple[str, str]:
        """(UnitFileState, UnitFilePreset); ("", "") without a fragment or on any error
        (a cosmetic part of the Loaded line: never fatal)."""
        if unit.load_state != "loaded" or not unit.fragment_path:
            return "", ""
        try:
            from pidone.core.install import query_preset
            from pidone.linux.install import read_presets, unit_file_state

            paths = self.daemon.units.paths()  # with the daemon's generator directories
            state = str(unit_file_state(paths, unit.id))
            cached = self._presets.get(unit.id)
            if cached is None or cached[0] is not unit:
                preset = "enabled" if query_preset(read_presets(paths), unit.id) else "disabled"
                self._presets[unit.id] = (unit, preset)
            else:
                preset = cached[1]
        except Exception:  # see the docstring
            return "", ""
        return state, preset

    # -- journal -----------------------------------------------------------------------

    def journal(self, unit_id: str, lines: int, mode: str) -> list[list[Any]]:
        if lines <= 0:
            return []
        try:
            from pidone.core.render.journal import format_short
            from pidone.journal.store import JournalReader, Query

            # What the daemon logged up to now (e.g. "Started x.service.") is committed by
            # the writer thread within moments; wait for it briefly so the tail has it.
            self.daemon.writer.flush(JOURNAL_FLUSH_WAIT)
            if self._reader is None:
                self._reader = JournalReader(self.daemon.writer.path)
            out: list[list[Any]] = []
            for entry in self._reader.entries(Query(units=[unit_id], last=lines)):
                raw = entry.fields.get("_SOURCE_REALTIME_TIMESTAMP", b"")
                shown = int(raw) if raw.isdigit() else entry.realtime_usec
                if mode == "cat":
                    text = entry.fields.get("MESSAGE", b"").decode("utf-8", "replace")
                else:
                    line = format_short(entry, "short", utc=True)
                    text = line.decode("utf-8", "replace").rstrip("\n")[SHORT_PREFIX:]
                out.append([shown, entry.realtime_usec, text])
        except Exception:  # no journal, or one we cannot read: no tail
            return []
        return out

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


_WATCHING: dict[int, StatusSources] = {}  # id(daemon) -> its sources (one per process)


def sources_of(daemon: Daemon) -> StatusSources | None:
    """The StatusSources that follow `daemon`'s state changes (made by the status verb)."""
    return _WATCHING.get(id(daemon))


def _read_first_int(path: str, key: bytes = b"") -> int | None:
    # os.open/os.read, not open(): runs on every stop (state_changed), and a buffered
    # open() adds fstat, ioctl(TCGETS) and two lseek(2) calls to the openat/read/close.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)  # cpu.stat, pids.current, memory.current: well below
    except OSError:
        return None
    finally:
        os.close(fd)
    for line in data.splitlines():
        words = line.split()
        if not key and words:
            return int(words[0]) if words[0].isdigit() else None
        if len(words) == 2 and words[0] == key and words[1].isdigit():
            return int(words[1])
    return None


def cgroup_figures(directory: str) -> list[int | None] | None:
    """[CPU ns, tasks, memory bytes] of a cgroup2 directory; None if it does not exist."""
    if not directory or not os.path.exists(directory + "/cgroup.procs"):
        return None
    usage = _read_first_int(directory + "/cpu.stat", b"usage_usec")
    return [
        usage * 1000 if usage is not None else None,
        _read_first_int(directory + "/pids.current"),
        _read_first_int(directory + "/memory.current"),
    ]


def _accepts(unit: Unit) -> bool:
    """An Accept=yes socket."""
    return unit.socket is not None and unit.socket.accept


def status_detail(
    sources: StatusSources,
    unit: Unit,
    info: dict[str, Any],
    active_state: Callable[[str], str],
    *,
    lines: int,
    journal_mode: str,
) -> None:
    """Add the detail keys (module docstring) to `info`, one entry of the `status` answer;
    `active_state(name)` is the manager's ActiveState of a unit."""
    daemon = sources.daemon
    info["unit_file_state"], info["unit_file_preset"] = sources.file_state(unit)
    info["journal"] = sources.journal(unit.id, lines, journal_mode)
    stem = unit.id.rpartition(".")[0]
    states: dict[str, str] = {}
    for suffix in TRIGGER_SUFFIXES:
        other = daemon.units.get(f"{stem}.{suffix}")
        if other is None or other.id != f"{stem}.{suffix}" or other.load_state != "loaded":
            continue
        if _accepts(unit) or _accepts(other):
            # an Accept=yes socket triggers its connections' instances, never the service
            # of its own name (socket_add_extras() in 252's socket.c: Accept=no only);
            # proftpd.socket and the daemon's proftpd.service are strangers
            continue
        states[other.id] = active_state(other.id)
    # The real trigger relations, which may join units of different names: Debian's
    # syslog.socket triggers rsyslog.service through the alias syslog.service.
    triggers = getattr(daemon.manager, "triggers", None)
    if triggers is not None:
        by = list(triggers.triggered_by(unit.id))
        sock, timer = triggers.sockets.get(unit.id), triggers.timers.get(unit.id)
        to = list(sock.triggers()) if sock is not None else []
        to += [timer.config.target] if timer is not None else []
        path = triggers.paths.get(unit.id)  # Unit= may name another service (cups.path)
        to += [path.config.target] if path is not None else []
        for name in (*by, *to):
            states[name] = active_state(name)
        if by or to:
            info["triggered_by"], info["triggers"] = by, to
    info["unit_states"] = states
    service = unit.service
    if service is not None and len(service.exec_start) == 1:
        cmd = service.exec_start[0]
        info["exec_start"] = [list(cmd.argv), cmd.ignore_failure]
    if service is not None and service.runtime_max_usec < USEC_INFINITY:
        info["runtime_max_usec"] = service.runtime_max_usec
    if unit.type in ("socket", "timer"):
        from pidone.daemon.verbs_triggers import trigger_detail

        # a timer's `next_elapse_usec`, a socket's `listen`: not worth a failed status
        with contextlib.suppress(Exception):
            info.update(trigger_detail(daemon, unit.id))
    if unit.type not in NO_CGROUP:
        figures = sources.cpu_figures(unit.id)
        if figures is not None:
            info["cgroup_figures"] = figures
