"""D-Bus activation refusals carry the error names systemd 252 sends."""

from __future__ import annotations

from pidone.daemon.busactivation import error_name


def test_refusal_texts_map_to_systemds_error_names() -> None:
    assert error_name("Unit nope.service not found.") == "org.freedesktop.systemd1.NoSuchUnit"
    assert error_name("Unit x.service is masked.") == "org.freedesktop.systemd1.UnitMasked"
    text = "Operation refused, x.service may be requested by dependency only (it is ...)."
    assert error_name(text) == "org.freedesktop.systemd1.OnlyByDependency"
    assert error_name("something else") == "org.freedesktop.DBus.Error.Failed"
