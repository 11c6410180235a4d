"""D-Bus activation: dbus-daemon asks the service manager to start a SystemdService= unit.

A D-Bus system service file (/usr/share/dbus-1/system-services/*.service) names the unit
that provides a bus name: `SystemdService=polkit.service`. dbus-daemon, run with
`--systemd-activation` (Debian's dbus.service), does not start such services itself: it
sends the signal org.freedesktop.systemd1.Activator.ActivationRequest(unit) to whoever
owns org.freedesktop.systemd1, and queues it until someone does (dbus-daemon(1), "Bus
activation"). systemd takes that name when dbus.service is up and answers each request
with a start job in mode replace, or, when no job can be queued (no such unit, masked,
RefuseManualStart=), with an ActivationFailure signal that fails the waiting call at once
(signal_activation_request(), src/core/dbus.c, systemd 252).

pidone does the same: when dbus.service becomes active it connects (linux/dbuswatch.py),
owns org.freedesktop.systemd1 and takes the requests. Without this, a program calling a
bus-activated service (accounts-daemon asking polkit) waits 25 s for a timeout and fails.
Method calls addressed to org.freedesktop.systemd1 get an UnknownMethod error at once:
pidone has no D-Bus API.
"""

from __future__ import annotations

from pidone.core import actions as act
from pidone.core.hints import TYPE_CHECKING

if TYPE_CHECKING:
    from pidone.daemon.main import Daemon

DBUS_SERVICE = "dbus.service"

# The error names systemd's manager_load_unit()/manager_add_job() give (bus-common-errors.h)
_ERRORS = (
    ("not found", "org.freedesktop.systemd1.NoSuchUnit"),
    ("is masked", "org.freedesktop.systemd1.UnitMasked"),
    ("requested by dependency only", "org.freedesktop.systemd1.OnlyByDependency"),
)
_FAILED = "org.freedesktop.DBus.Error.Failed"


def error_name(message: str) -> str:
    """The D-Bus error name of a refused start, from the refusal's text."""
    return next((name for needle, name in _ERRORS if needle in message), _FAILED)


def wire_bus_activation(daemon: Daemon) -> None:
    """Take activation requests whenever dbus.service becomes active."""
    executor = daemon.executor
    before = executor.on_state

    def on_state(change: act.StateChanged) -> None:
        before(change)
        if (
            change.unit == DBUS_SERVICE
            and change.new_active == "active"
            and change.old_active != "active"
        ):
            executor.bus().serve_activation()

    executor.on_state = on_state
    executor.on_activation = lambda unit: activate(daemon, unit)


def activate(daemon: Daemon, unit: str) -> None:
    """A start job for `unit`, as `systemctl start` would queue it; an ActivationFailure
    when it is refused before a job exists."""

    def done(reply: object) -> None:
        if isinstance(reply, act.RequestFailed):
            text = " ".join(reply.lines) or f"Failed to start {unit}."
            daemon.executor.bus().activation_failure(unit, error_name(text), text)

    daemon.requests.job("start", unit, mode="replace", on_done=done)
