"""core.units on golden unit files: spec 01 rules, the model pitfalls, systemd 252's wording."""

from __future__ import annotations

import pytest

from pidone.core.values import USEC_INFINITY
from tests.core.unitbuild import golden, messages, unit_from_text

SEC = 1_000_000


def test_no_inline_comments_continuations_and_case_sensitive_keys() -> None:
    unit = golden("inline-comment.service")
    assert unit.unit.description == "Foo # bar ; baz"
    assert unit.unit.documentation == ["man:foo(1)", "https://example.com/doc"]
    assert unit.service is not None
    assert [c.argv for c in unit.service.exec_start] == [("/bin/true",)]
    assert messages(unit) == [
        "11: Unknown key 'execstart' in section [Service], ignoring.",
        "13: Unknown section 'service'. Ignoring.",
    ]
    assert unit.load_state == "loaded"


def test_empty_assignments_follow_each_keys_rule() -> None:
    unit = golden("empty-values.service", None, "empty-values.service.d.conf")
    s = unit.service
    assert s is not None
    # dependencies cannot be removed by an empty assignment
    assert unit.unit.after[0] == "network.target"
    assert "foo.service" in unit.unit.wants
    # Condition*= empty resets all conditions, asserts are separate
    assert unit.unit.conditions == []
    assert [a.value for a in unit.unit.asserts] == ["/etc/b"]
    # enums, time spans and booleans: "Failed to parse ..., ignoring" and keep the value
    assert s.type == "forking"
    assert s.restart == "on-failure"
    assert s.timeout_start_usec == 10 * SEC
    assert s.remain_after_exit is True
    # KillMode= resets to the default; strings become unset
    assert s.kill.kill_mode == "control-group"
    assert s.exec.user == ""
    assert s.exec.working_directory == ""
    assert s.pid_file == ""
    # lists are cleared, then refilled
    assert s.exec.environment == []
    assert [c.path for c in s.exec_start] == ["/bin/false"]
    dropin = [
        m
        for d, m in zip(unit.diagnostics, messages(unit), strict=False)
        if d.path.endswith(".conf")
    ]
    assert dropin == [
        "7: Failed to parse service type, ignoring: ",
        "8: Failed to parse service restart specifier, ignoring: ",
        "9: Failed to parse TimeoutStartSec= parameter, ignoring: ",
        "10: Failed to parse boolean value, ignoring: ",
    ]
    assert unit.load_state == "loaded"


def test_time_spans_default_unit_and_case() -> None:
    unit = golden("timespans.service")
    s = unit.service
    assert s is not None
    assert s.timeout_start_usec == 3630 * SEC  # 1h30 = 1 h 30 s
    assert s.timeout_stop_usec == 90 * SEC  # 5S is invalid, default kept
    assert s.restart_usec == 1_500_000
    assert s.runtime_max_usec == USEC_INFINITY
    assert s.watchdog_usec == 600 * SEC
    assert s.timeout_abort_usec == 123 * SEC
    assert s.notify_access == "main"  # forced by WatchdogSec=
    assert messages(unit) == ["5: Failed to parse time value, ignoring: 5S"]


def test_exec_lines_keep_variables_for_exec_time() -> None:
    unit = golden("exec-lines.service")
    s = unit.service
    assert s is not None
    first, sh, echo = s.exec_start
    assert first.ignore_failure
    assert first.argv == ("/bin/echo", "$ONE", "${TWO}", "a b", "c d", ";", "x$ONE")
    assert (sh.path, sh.argv) == ("/bin/sh", ("mysh", "-c", "echo $0"))
    assert echo.no_env_expand
    assert echo.argv == ("/bin/echo", "$$HOME")
    assert s.exec_start_pre[0].full_privileges
    assert s.exec_start_post[0].no_setuid
    assert s.exec_reload[0].ambient_fallback
    assert s.exec_stop[0].argv == ("/bin/printf", "%s\n", "done")
    assert s.exec.environment == [("ONE", "one"), ("TWO", "two two"), ("EMPTY", "")]
    assert unit.diagnostics == []


@pytest.mark.parametrize(
    ("file_name", "expected_type", "timeout"),
    [
        ("type-defaults-simple.service", "simple", 90 * SEC),
        ("type-defaults-oneshot.service", "oneshot", USEC_INFINITY),
        ("type-defaults-dbus.service", "dbus", 90 * SEC),
    ],
)
def test_type_default_and_oneshot_timeout(file_name: str, expected_type: str, timeout: int) -> None:
    unit = golden(file_name)
    assert unit.service is not None
    assert unit.service.type == expected_type
    assert unit.service.timeout_start_usec == timeout
    assert unit.load_state == "loaded"


def test_dbus_service_requires_dbus_socket() -> None:
    unit = golden("type-defaults-dbus.service")
    assert "dbus.socket" in unit.unit.requires
    assert "dbus.socket" in unit.unit.after


def test_notify_forces_notify_access_main() -> None:
    unit = golden("notify.service")
    assert unit.service is not None
    assert unit.service.notify_access == "main"
    explicit = unit_from_text(
        "n.service", "[Service]\nType=notify\nNotifyAccess=all\nExecStart=/x\n"
    )
    assert explicit.service is not None
    assert explicit.service.notify_access == "all"


@pytest.mark.parametrize(
    ("file_name", "reason"),
    [
        (
            "bad-no-execstart.service",
            "Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.",
        ),
        (
            "bad-two-execstart.service",
            "Service has more than one ExecStart= setting, which is only allowed for "
            "Type=oneshot services. Refusing.",
        ),
        (
            "bad-relative-exec.service",
            "Neither a valid executable name nor an absolute path: relative/path",
        ),
        (
            "bad-oneshot-restart.service",
            "Service has Restart= set to either always or on-success, which isn't allowed "
            "for Type=oneshot services. Refusing.",
        ),
        (
            "bad-dbus.service",
            "Service is of type D-Bus but no D-Bus service name has been specified. Refusing.",
        ),
        (
            "nolisten.socket",
            "Unit has no Listen setting (ListenStream=, ListenDatagram=, ListenFIFO=, ...). "
            "Refusing.",
        ),
        ("empty.timer", "Timer unit lacks value setting. Refusing."),
    ],
)
def test_fatal_settings_make_bad_setting(file_name: str, reason: str) -> None:
    unit = golden(file_name)
    assert unit.load_state == "bad-setting"
    assert unit.load_error == reason


def test_a_fatal_parser_error_stops_reading_the_file() -> None:
    unit = golden("bad-relative-exec.service")
    # line 3 (an unknown key) is never reached, as in systemd's config_parse()
    assert messages(unit) == [
        "2: Neither a valid executable name nor an absolute path: relative/path",
        "Unit configuration has fatal error, unit will not be started.",
    ]


def test_values_of_every_kind() -> None:
    unit = golden("values.service")
    s = unit.service
    assert s is not None
    e = s.exec
    assert unit.unit.default_dependencies is True  # "Y"
    assert unit.unit.refuse_manual_start is False
    assert unit.unit.start_limit_burst == 3
    assert unit.unit.start_limit_interval_usec == 20 * SEC  # [Service] StartLimitInterval=
    assert s.remain_after_exit is True  # "True"
    assert e.limits["NOFILE"] == (1024, 65536)
    assert e.limits["CORE"] == (2**64 - 1, 2**64 - 1)
    assert e.limits["MEMLOCK"] == (65536, 65536)
    assert e.umask == 0o027
    assert (s.kill.kill_signal, s.kill.final_kill_signal, s.kill.restart_kill_signal) == (2, 9, 9)
    assert s.success_exit_status.format() == "1 2 75 USR1"
    assert s.restart_prevent_exit_status.format() == "255"
    assert (e.nice, e.oom_score_adjust, e.io_scheduling_class) == (-5, -100, 3)
    assert (s.type, s.restart, s.notify_access) == ("simple", "no", "all")
    assert (e.standard_output, e.standard_error) == ("append:/var/log/x.log", "journal+console")
    assert (e.protect_system, e.private_tmp, e.read_write_paths) == ("full", True, ["/var/lib/x"])
    assert e.permissions_start_only is True
    assert {n.key for n in unit.not_enforced} >= {
        "ProtectSystem",
        "PrivateTmp",
        "MemoryMax",
        "ReadWriteDirectories",
    }
    assert e.capability_bounding_set == 1 << 10  # CAP_NET_BIND_SERVICE
    assert messages(unit) == [
        "4: Failed to parse boolean value, ignoring: bogus",
        "22: Failed to parse service type, ignoring: bogus",
        "23: Failed to parse service restart specifier, ignoring: sometimes",
    ]


def test_instance_specifiers_unescape() -> None:
    unit = golden("specifiers@.service", "specifiers@dev-sda1.service")
    s = unit.service
    assert s is not None
    assert unit.unit.description == (
        "specifiers@dev-sda1.service specifiers@dev-sda1 specifiers specifiers dev-sda1 "
        "dev/sda1 specifiers /dev/sda1"
    )
    assert "other@dev-sda1.service" in unit.unit.requires
    assert s.exec_start[0].argv == ("/bin/echo", "dev/sda1")
    assert s.exec.environment == [("INST", "dev-sda1")]
    assert s.pid_file == "/run/specifiers.pid"
    assert s.exec.runtime_directory == ["specifiers"]
    assert unit.slice == "system-specifiers.slice"


def test_unknown_specifiers_drop_only_that_word() -> None:
    unit = golden("unknown-specifier.service")
    assert unit.unit.description == ""
    assert unit.unit.after[0] == "a.service"
    assert unit.service is not None
    assert unit.service.exec.environment == [("B", "ok")]
    assert messages(unit) == [
        "2: Failed to resolve unit specifiers in '%Z', ignoring: Invalid slot",
        "3: Failed to resolve unit specifiers in 'bad%Z.service', ignoring: Invalid slot",
        "3: Failed to add dependency on b, ignoring: Invalid argument",
        "6: Failed to resolve specifiers in A=%Z, ignoring: Invalid slot",
    ]


def test_socket_model_and_implicit_dependencies() -> None:
    unit = golden("socket.socket")
    k = unit.socket
    assert k is not None
    assert k.listen == [("ListenStream", "127.0.0.1:8080"), ("ListenStream", "/run/x.sock")]
    assert k.socket_mode == 0o600
    assert unit.unit.before[:2] == ["socket.service", "sockets.target"]
    assert unit.install.wanted_by == ("sockets.target",)


def test_timer_model_and_default_dependencies() -> None:
    unit = golden("daily.timer")
    t = unit.timer
    assert t is not None
    assert (t.on_calendar, t.persistent, t.randomized_delay_usec) == (["daily"], True, 3600 * SEC)
    assert {"time-set.target", "time-sync.target", "sysinit.target"} <= set(unit.unit.after)
    assert {"daily.service", "timers.target", "shutdown.target"} <= set(unit.unit.before)


def test_sandboxing_is_recorded_not_enforced_and_empty_bool_warns() -> None:
    unit = golden("sandbox.service")
    keys = [n.key for n in unit.not_enforced]
    assert keys == [
        "ProtectHome",
        "ProtectKernelTunables",
        "SystemCallFilter",
        "RestrictAddressFamilies",
        "TasksMax",
    ]
    assert "NoNewPrivileges" not in keys  # pidone applies it (prctl)
    assert messages(unit) == ["9: Failed to parse boolean value, ignoring: "]


def test_plain_service_default_dependencies() -> None:
    unit = unit_from_text("t.service", "[Service]\nExecStart=/bin/sleep 1\n")
    assert unit.unit.requires == ["sysinit.target", "system.slice"]
    assert unit.unit.after == [
        "system.slice",
        "systemd-journald.socket",
        "sysinit.target",
        "basic.target",
    ]
    assert (unit.unit.conflicts, unit.unit.before) == (["shutdown.target"], ["shutdown.target"])
    nodeps = unit_from_text(
        "t.service", "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1\n"
    )
    assert nodeps.unit.requires == ["system.slice"]
    assert "shutdown.target" not in nodeps.unit.conflicts


def test_dropin_must_clear_execstart_first() -> None:
    base = "[Service]\nExecStart=/usr/bin/old\n"
    doubled = unit_from_text("d.service", base, "[Service]\nExecStart=/usr/bin/new\n")
    assert doubled.load_state == "bad-setting"
    replaced = unit_from_text("d.service", base, "[Service]\nExecStart=\nExecStart=/usr/bin/new\n")
    assert replaced.load_state == "loaded"
    assert replaced.service is not None
    assert [c.path for c in replaced.service.exec_start] == ["/usr/bin/new"]


@pytest.mark.parametrize(
    ("key", "value", "attr", "expected"),
    [
        # list settings: cleared
        ("Environment", "A=1", ("exec", "environment"), []),
        ("SupplementaryGroups", "adm", ("exec", "supplementary_groups"), []),
        ("SuccessExitStatus", "3", ("success_exit_status",), None),
        ("ExecStartPre", "/bin/true", ("exec_start_pre",), []),
        ("RuntimeDirectory", "x", ("exec", "runtime_directory"), []),
        # strings: unset
        ("Group", "adm", ("exec", "group"), ""),
        ("SyslogIdentifier", "x", ("exec", "syslog_identifier"), ""),
        # default restored
        ("KillMode", "process", ("kill", "kill_mode"), "control-group"),
        ("Nice", "5", ("exec", "nice"), None),
        ("TimeoutAbortSec", "5", ("timeout_abort_usec",), None),
        # "Failed to parse ..., ignoring": value kept
        ("RestartSec", "5", ("restart_usec",), 5 * SEC),
        ("NonBlocking", "yes", ("non_blocking",), True),
        ("KillSignal", "SIGINT", ("kill", "kill_signal"), 2),
        ("LimitNOFILE", "10", ("exec", "limits"), {"NOFILE": (10, 10)}),
        ("UMask", "0077", ("exec", "umask"), 0o077),
    ],
)
def test_empty_assignment_per_key_class(
    key: str, value: str, attr: tuple[str, ...], expected: object
) -> None:
    unit = unit_from_text("e.service", f"[Service]\nExecStart=/bin/true\n{key}={value}\n{key}=\n")
    obj: object = unit.service
    for name in attr:
        obj = getattr(obj, name)
    if key == "SuccessExitStatus":
        assert not obj
    else:
        assert obj == expected


def test_dependency_lists_ignore_empty_and_deduplicate() -> None:
    unit = unit_from_text(
        "w.service",
        "[Unit]\nWants=a.service a.service\nWants=\nWants=b.service\n[Service]\nExecStart=/x\n",
    )
    assert unit.unit.wants == ["a.service", "b.service"]
    assert unit.diagnostics == []


def test_wants_and_requires_directories_are_merged() -> None:
    from pidone.core.dataclass_lite import replace
    from pidone.core.unitfile import parse_unit_file
    from pidone.core.units import build_unit
    from pidone.core.unitsource import UnitSource
    from tests.core.unitbuild import HOST

    f = parse_unit_file(b"[Unit]\nDescription=t\n", "/x/multi.target", None)
    source = UnitSource(
        "multi.target", "multi.target", ("multi.target",), "loaded", "/x/m", files=(f,)
    )
    unit = build_unit(replace(source, wants=("a.service",), requires=("b.service",)), HOST)
    assert unit.unit.wants == ["a.service"]
    assert unit.unit.requires == ["b.service"]
    # target default dependencies: After= what it pulls in
    assert unit.unit.after == ["b.service", "a.service"]  # Requires= first, then Wants=


def test_not_loaded_units_keep_their_state() -> None:
    from pidone.core.units import build_unit
    from pidone.core.unitsource import UnitSource
    from tests.core.unitbuild import HOST

    unit = build_unit(UnitSource("n.service", "n.service", ("n.service",), "not-found"), HOST)
    assert unit.load_state == "not-found"
    assert unit.unit.requires == []
    assert unit.diagnostics == []


def test_invalid_utf8_stops_loading_with_error() -> None:
    from tests.core.unitbuild import unit_from_bytes

    unit = unit_from_bytes(
        "u.service", b"[Unit]\nDescription=ok\n[Service]\nExecStart=/bin/true \xff\nUser=x\n"
    )
    assert unit.load_state == "error"
    assert messages(unit) == [
        "4: String is not UTF-8 clean, ignoring assignment: ExecStart=/bin/true \ufffd"
    ]
    assert unit.unit.description == "ok"  # lines before it were applied


@pytest.mark.parametrize(
    ("lines", "bounding", "ambient"),
    [
        ("", None, 0),
        ("CapabilityBoundingSet=", 0, 0),  # the empty set, as redis-server.service uses
        (
            "CapabilityBoundingSet=CAP_CHOWN cap_kill\nCapabilityBoundingSet=CAP_SETUID",
            0b10100001,
            0,
        ),
        (
            "CapabilityBoundingSet=~CAP_SYS_ADMIN\nCapabilityBoundingSet=~CAP_CHOWN",
            ((1 << 64) - 1) & ~(1 << 21 | 1),
            0,
        ),
        ("CapabilityBoundingSet=~", None, 0),
        ("AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_BOGUS", None, 1 << 10),
        ("AmbientCapabilities=CAP_NET_RAW\nAmbientCapabilities=", None, 0),
    ],
)
def test_capability_sets(lines: str, bounding: int | None, ambient: int) -> None:
    unit = unit_from_text("c.service", f"[Service]\nExecStart=/bin/true\n{lines}\n")
    assert unit.service is not None
    e = unit.service.exec
    assert (e.capability_bounding_set, e.ambient_capabilities) == (bounding, ambient)
    assert unit.diagnostics == []


def test_secure_bits() -> None:
    unit = unit_from_text(
        "s.service",
        "[Service]\nExecStart=/bin/true\nSecureBits=keep-caps noroot\nSecureBits=bogus\n",
    )
    assert unit.service is not None
    assert unit.service.exec.secure_bits == (1 << 4) | 1


def test_bind_ipv6_only_takes_a_boolean_too() -> None:
    """config_parse_socket_bind(): yes = ipv6-only, no = both (gpsd.socket has
    BindIPv6Only=yes; 252's show prints ipv6-only, and `false` gives both)."""
    values = {"yes": "ipv6-only", "false": "both", "both": "both", "default": "default"}
    for text, expected in values.items():
        unit = unit_from_text("b.socket", f"[Socket]\nListenStream=[::]:1\nBindIPv6Only={text}\n")
        assert unit.socket is not None
        assert (unit.socket.bind_ipv6_only, messages(unit)) == (expected, [])
    unit = unit_from_text("m.socket", "[Socket]\nListenStream=[::]:1\nBindIPv6Only=maybe\n")
    assert messages(unit) == ["3: Failed to parse bind IPv6 only value, ignoring: maybe"]


def test_syslog_outputs_are_read_as_the_journal_ones() -> None:
    """systemd 252's config_parse_exec_output(): syslog and syslog+console are obsolete and
    become journal and journal+console, with a notice naming the line."""
    unit = golden("syslog-output.service")
    assert unit.service is not None
    e = unit.service.exec
    assert (e.standard_output, e.standard_error) == ("journal", "journal+console")
    assert messages(unit) == [
        "3: Standard output type syslog is obsolete, automatically updating to journal. Please"
        " update your unit file, and consider removing the setting altogether.",
        "4: Standard output type syslog+console is obsolete, automatically updating to"
        " journal+console. Please update your unit file, and consider removing the setting"
        " altogether.",
    ]
