"""core.environment against spec 02 §4 (assembly order, manager variables, unset rules)."""

from __future__ import annotations

from pidone.core.environment import (
    DEFAULT_PATH,
    SELF_PID,
    DirectoryBases,
    EnvironmentInputs,
    ManagerVariables,
    UserRecord,
    build_environment,
    default_term_for_tty,
    directory_variables,
    effective_notify_access,
    resolve_pid_file_path,
)
from pidone.core.model import ExecContext, ServiceSection

INV = "0123456789abcdef0123456789abcdef"


def build(ctx: ExecContext | None = None, **kw: object) -> dict[str, str]:
    return build_environment(ctx or ExecContext(), EnvironmentInputs(**kw))  # type: ignore[arg-type]


def test_a_service_with_no_settings_gets_exactly_the_verified_set():
    # spec 02 §4 "Exactly what a system service with no settings receives" (minus LANG,
    # which comes from the manager's locale, and JOURNAL_STREAM, which needs a stream).
    env = build(
        manager_defaults=(("LANG", "C.UTF-8"), ("PATH", DEFAULT_PATH)),
        variables=ManagerVariables(invocation_id=INV, journal_stream="8:1234"),
    )
    assert list(env.items()) == [
        ("LANG", "C.UTF-8"),
        ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        ("INVOCATION_ID", INV),
        ("JOURNAL_STREAM", "8:1234"),
        ("SYSTEMD_EXEC_PID", SELF_PID),
    ]


def test_layer_order_later_wins_and_keeps_first_position():
    ctx = ExecContext(
        environment=[("A", "env"), ("B", "env"), ("PATH", "/mine")],
        pass_environment=["A", "C", "MISSING"],
    )
    env = build(
        ctx,
        manager_environ={"A": "passed", "C": "passed"},
        variables=ManagerVariables(exec_pid=False),
        environment_files=((("B", "file1"),), (("B", "file2"), ("D", "file2"))),
    )
    # EnvironmentFile= beats Environment= which beats PassEnvironment= (spec 02 §4.2).
    assert list(env.items()) == [
        ("PATH", "/mine"),
        ("A", "env"),
        ("C", "passed"),
        ("B", "file2"),
        ("D", "file2"),
    ]


def test_environment_overrides_manager_variables():
    ctx = ExecContext(environment=[("INVOCATION_ID", "mine"), ("MAINPID", "1")])
    env = build(ctx, variables=ManagerVariables(invocation_id=INV, main_pid=42))
    assert env["INVOCATION_ID"] == "mine"
    assert env["MAINPID"] == "1"


def test_unset_environment_by_name_and_by_exact_assignment_applies_to_everything():
    ctx = ExecContext(
        environment=[("X", "1"), ("Y", "2")],
        unset_environment=["X", "Y=3", "PATH", "INVOCATION_ID=" + INV, "SYSTEMD_EXEC_PID"],
    )
    env = build(ctx, variables=ManagerVariables(invocation_id=INV))
    assert env == {"Y": "2"}


def test_user_variables_only_with_user_and_cleaned_like_systemd():
    plain = build(variables=ManagerVariables(exec_pid=False))
    assert "USER" not in plain
    assert "HOME" not in plain
    web = UserRecord("www-data", 33, 33, "/var/www", "/usr/sbin/nologin")
    env = build(variables=ManagerVariables(user=web, exec_pid=False))
    assert env == {
        "PATH": DEFAULT_PATH,
        "HOME": "/var/www",
        "LOGNAME": "www-data",
        "USER": "www-data",
    }
    rooted = UserRecord("svc", 5, 5, "/", "/bin/bash")
    env = build(variables=ManagerVariables(user=rooted, exec_pid=False))
    assert "HOME" not in env
    assert env["SHELL"] == "/bin/bash"


def test_stop_command_variables_and_notify_socket():
    v = ManagerVariables(
        notify_socket="/run/pidone/notify",
        main_pid=0,
        service_result="exit-code",
        exit_code="exited",
        exit_status="3",
        pid_file="/run/x.pid",
        exec_pid=False,
    )
    env = build(variables=v)
    assert env == {
        "PATH": DEFAULT_PATH,
        "NOTIFY_SOCKET": "/run/pidone/notify",
        "PIDFILE": "/run/x.pid",
        "SERVICE_RESULT": "exit-code",
        "EXIT_CODE": "exited",
        "EXIT_STATUS": "3",
    }


def test_watchdog_and_listen_fds_use_the_self_pid_sentinel():
    v = ManagerVariables(watchdog_usec=3_000_000, listen_fd_names=("http", "https"))
    env = build(variables=v)
    assert env["WATCHDOG_PID"] == SELF_PID
    assert env["WATCHDOG_USEC"] == "3000000"
    assert (env["LISTEN_PID"], env["LISTEN_FDS"], env["LISTEN_FDNAMES"]) == (
        SELF_PID,
        "2",
        "http:https",
    )


def test_directory_variables_join_with_colons_and_drop_link_suffixes():
    ctx = ExecContext(
        runtime_directory=["foo/bar", "baz"],
        state_directory=["app:applink"],
        configuration_directory=["app"],
    )
    assert directory_variables(ctx) == (
        ("RUNTIME_DIRECTORY", "/run/foo/bar:/run/baz"),
        ("STATE_DIRECTORY", "/var/lib/app"),
        ("CONFIGURATION_DIRECTORY", "/etc/app"),
    )
    relocated = directory_variables(ctx, DirectoryBases(runtime="/tmp/rt/"))
    assert relocated[0] == ("RUNTIME_DIRECTORY", "/tmp/rt/foo/bar:/tmp/rt/baz")


def test_pid_file_relative_paths_go_under_run():
    assert resolve_pid_file_path("x.pid") == "/run/x.pid"
    assert resolve_pid_file_path("/var/run/y.pid") == "/var/run/y.pid"
    assert resolve_pid_file_path("") == ""


def test_notify_access_is_forced_to_main_when_needed():
    assert effective_notify_access(ServiceSection()) == "none"
    assert effective_notify_access(ServiceSection(type="notify")) == "main"
    assert effective_notify_access(ServiceSection(watchdog_usec=1)) == "main"
    assert effective_notify_access(ServiceSection(file_descriptor_store_max=2)) == "main"
    assert effective_notify_access(ServiceSection(type="notify", notify_access="all")) == "all"


def test_term_for_tty():
    assert default_term_for_tty("/dev/tty1") == "linux"
    assert default_term_for_tty("/dev/console") == "vt220"
    assert default_term_for_tty("/dev/pts/3") == "vt220"
