"""Parsing of the seccomp settings (core.seccompparsers) with systemd 252's semantics:
the typed ExecContext fields, the merging of several assignments, and the generated
tables (core.syscallsets, core.kernelnames). Show output against 252 itself is in
test_show_seccomp.py."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pidone.core import seccompplan, syscallsets
from pidone.core.model import (
    NAMESPACE_FLAGS_ALL,
    NAMESPACE_FLAGS_INITIAL,
    PERSONALITY_INVALID,
    SECCOMP_ERROR_NUMBER_KILL,
    ExecContext,
)
from pidone.core.render.show import render_show, unit_properties
from pidone.core.seccompparsers import extract_words, parse_errno
from tests.core.unitbuild import DATA, messages, unit_from_text

ROOT = Path(__file__).resolve().parents[2]
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWCGROUP = 0x02000000


def exec_of(*lines: str, dropin: str = "") -> ExecContext:
    text = "[Service]\nExecStart=/bin/true\n" + "".join(line + "\n" for line in lines)
    unit = unit_from_text("t.service", text, *((dropin,) if dropin else ()))
    assert unit.service is not None
    return unit.service.exec


def warnings_of(*lines: str) -> list[str]:
    text = "[Service]\nExecStart=/bin/true\n" + "".join(line + "\n" for line in lines)
    return messages(unit_from_text("t.service", text))


def show(*lines: str, key: str) -> str:
    text = "[Service]\nExecStart=/bin/true\n" + "".join(line + "\n" for line in lines)
    (line,) = render_show(unit_properties(unit_from_text("t.service", text)), [key])
    return line.split("=", 1)[1]


# --- the generated tables -------------------------------------------------------------------


def test_groups_keep_their_group_references_and_expand_flattens_them() -> None:
    members = syscallsets.SETS["@system-service"]
    assert "@basic-io" in members
    assert "@signal" in members
    flat = syscallsets.expand("@system-service")
    assert not any(m.startswith("@") for m in flat)
    assert set(syscallsets.expand("@basic-io")) <= set(flat)
    assert len(flat) == len(set(flat))
    assert syscallsets.expand("@nosuchgroup") == ()


def test_known_syscalls_are_libseccomps_names() -> None:
    known = syscallsets.KNOWN_SYSCALLS
    assert {"read", "openat", "_llseek", "futex_time64"} <= known  # native and pseudo ones
    assert "arc_gettls" not in known  # in @known, but libseccomp 2.5.4 does not know it
    assert "nosuchcall" not in known


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add(node.module or "")
    return out


@pytest.mark.parametrize("module", ["syscallsets.py", "kernelnames.py"])
def test_generated_modules_are_plain_data(module: str) -> None:
    path = ROOT / "src" / "pidone" / "core" / module
    assert _imports(path) == {"__future__"}
    assert "scripts/gen_syscallsets.py" in path.read_text()


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None
    or shutil.which("cpp") is None
    or not Path("/lib/x86_64-linux-gnu/libseccomp.so.2").exists(),
    reason="needs systemd-analyze, cpp and libseccomp",
)
def test_generated_modules_are_up_to_date() -> None:
    version = subprocess.run(
        ["systemd-analyze", "--version"], capture_output=True, text=True, check=False
    ).stdout
    if not version.startswith("systemd 252 "):
        pytest.skip("the tables are systemd 252's")
    res = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_syscallsets.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr


# --- word splitting and errnos --------------------------------------------------------------


def test_words_keep_quotes_unless_unquoting_and_a_backslash_takes_the_next_char() -> None:
    assert extract_words('a "b c" d\\ e', unquote=False) == (["a", '"b', 'c"', "d e"], False)
    assert extract_words('a "b c" d\\ e', unquote=True) == (["a", "b c", "d e"], False)
    assert extract_words('a "b', unquote=True) == (["a"], True)
    assert extract_words("a b\\", unquote=False) == (["a"], True)


def test_parse_errno_names_numbers_and_range() -> None:
    assert parse_errno("EPERM") == 1
    assert parse_errno("EWOULDBLOCK") == 11  # an alias is accepted
    assert parse_errno("0x10") == 16  # safe_atoi(): base 0
    assert parse_errno("0") == 0
    assert parse_errno("4095") == 4095
    assert parse_errno("4096") is None
    assert parse_errno("-1") is None
    assert parse_errno("eperm") is None  # names are case-sensitive


# --- SystemCallFilter= ----------------------------------------------------------------------


def test_an_allow_list_starts_with_default() -> None:
    e = exec_of("SystemCallFilter=read")
    assert e.syscall_allow_list
    assert e.syscall_filter["read"] == -1
    assert e.syscall_filter["exit_group"] == -1  # from @default
    assert "mount" not in e.syscall_filter


def test_a_deny_list_keeps_errnos_and_kill() -> None:
    e = exec_of("SystemCallFilter=~mount:EPERM umount2:kill reboot")
    assert not e.syscall_allow_list
    assert e.syscall_filter == {"mount": 1, "umount2": SECCOMP_ERROR_NUMBER_KILL, "reboot": -1}


def test_later_lines_add_and_remove() -> None:
    e = exec_of("SystemCallFilter=~@clock", "SystemCallFilter=adjtimex settimeofday")
    assert "adjtimex" not in e.syscall_filter
    assert "clock_settime" in e.syscall_filter
    e = exec_of("SystemCallFilter=@basic-io", "SystemCallFilter=~read write:EIO")
    assert "read" not in e.syscall_filter
    assert e.syscall_filter["write"] == 5  # denied with EIO inside an allow list
    assert (
        "write"
        not in show(
            "SystemCallFilter=@basic-io", "SystemCallFilter=~write:EIO", key="SystemCallFilter"
        ).split()
    )


def test_a_bare_tilde_fixes_a_deny_list_that_later_lines_cannot_turn_around() -> None:
    e = exec_of("SystemCallFilter=~", "SystemCallFilter=read")
    assert not e.syscall_allow_list
    assert e.syscall_filter == {}
    assert not seccompplan.has_syscall_filter(e)


def test_the_empty_value_resets_and_the_next_line_decides_again() -> None:
    e = exec_of("SystemCallFilter=~read", "SystemCallFilter=", "SystemCallFilter=write")
    assert e.syscall_allow_list
    assert "write" in e.syscall_filter
    assert "read" not in e.syscall_filter


def test_a_dropin_can_reset_the_fragment() -> None:
    e = exec_of("SystemCallFilter=~@mount", dropin="[Service]\nSystemCallFilter=\n")
    assert e.syscall_filter == {}
    assert not e.syscall_allow_list


def test_group_members_libseccomp_does_not_know_are_dropped_silently() -> None:
    lines = ("SystemCallFilter=~@known",)
    e = exec_of(*lines)
    assert "arc_gettls" not in e.syscall_filter
    assert "read" in e.syscall_filter
    assert warnings_of(*lines) == []


def test_names_are_stored_as_libseccomp_names_them_natively() -> None:
    e = exec_of("SystemCallFilter=~sys_debug_setcontext")
    assert list(e.syscall_filter) == ["switch_endian"]


def test_syscall_filter_warnings() -> None:
    assert warnings_of(
        "SystemCallFilter=read:EPERM",
        "SystemCallFilter=~nosuch @nosuch :EPERM open:EBOGUS",
    ) == [
        "3: Allow-listed system calls cannot take error number, ignoring: read:EPERM",
        "4: Failed to parse system call, ignoring: nosuch",
        "4: Unknown system call group, ignoring: @nosuch",
        "4: Failed to parse syscall:errno, ignoring: :EPERM",
        "4: Failed to parse syscall:errno, ignoring: open:EBOGUS",
    ]


# --- SystemCallErrorNumber=, SystemCallLog=, SystemCallArchitectures= -------------------------


def test_syscall_errno() -> None:
    assert exec_of().syscall_errno == SECCOMP_ERROR_NUMBER_KILL
    assert exec_of("SystemCallErrorNumber=EPERM").syscall_errno == 1
    assert exec_of("SystemCallErrorNumber=EPERM", "SystemCallErrorNumber=kill").syscall_errno == (
        SECCOMP_ERROR_NUMBER_KILL
    )
    assert exec_of("SystemCallErrorNumber=EPERM", "SystemCallErrorNumber=").syscall_errno == (
        SECCOMP_ERROR_NUMBER_KILL
    )
    assert exec_of("SystemCallErrorNumber=EIO", "SystemCallErrorNumber=0").syscall_errno == 5
    assert show("SystemCallErrorNumber=EACCES", key="SystemCallErrorNumber") == "13"
    assert show(key="SystemCallErrorNumber") == "2147483646"  # 252's INT_MAX - 1 for kill


def test_syscall_log_has_no_default_group() -> None:
    e = exec_of("SystemCallLog=read")
    assert e.syscall_log_allow_list
    assert e.syscall_log == {"read": -1}
    e = exec_of("SystemCallLog=~@clock", "SystemCallLog=adjtimex")
    assert not e.syscall_log_allow_list
    assert "adjtimex" not in e.syscall_log


def test_syscall_archs_are_a_set_shown_sorted() -> None:
    e = exec_of("SystemCallArchitectures=x86-64 native", "SystemCallArchitectures=x86-64")
    assert e.syscall_archs == ["x86-64", "native"]
    assert show("SystemCallArchitectures=x86-64 native", key="SystemCallArchitectures") == (
        "native x86-64"
    )
    assert exec_of("SystemCallArchitectures=native", "SystemCallArchitectures=").syscall_archs == []


# --- RestrictAddressFamilies= ---------------------------------------------------------------


def test_address_families() -> None:
    e = exec_of("RestrictAddressFamilies=AF_UNIX AF_INET", "RestrictAddressFamilies=~AF_INET")
    assert e.address_families_allow_list
    assert e.address_families == [1]
    e = exec_of("RestrictAddressFamilies=none")
    assert e.address_families_allow_list
    assert e.address_families == []
    assert seccompplan.has_address_families(e)
    e = exec_of("RestrictAddressFamilies=none", "RestrictAddressFamilies=~AF_PACKET")
    assert not e.address_families_allow_list
    assert e.address_families == [17]
    assert show("RestrictAddressFamilies=AF_LOCAL AF_ROUTE", key="RestrictAddressFamilies") == (
        "AF_NETLINK AF_UNIX"
    )
    assert warnings_of("RestrictAddressFamilies=AF_BOGUS ~AF_UNIX") == [
        "3: Failed to parse address family, ignoring: AF_BOGUS",
        "3: Failed to parse address family, ignoring: ~AF_UNIX",
    ]


# --- RestrictNamespaces= --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "flags", "shown"),
    [
        ((), NAMESPACE_FLAGS_INITIAL, "no"),
        (("RestrictNamespaces=yes",), 0, "yes"),
        (("RestrictNamespaces=no",), NAMESPACE_FLAGS_ALL, "no"),
        (
            ("RestrictNamespaces=~user net",),
            NAMESPACE_FLAGS_ALL & ~(CLONE_NEWUSER | CLONE_NEWNET),
            "cgroup ipc mnt pid uts",
        ),
        (("RestrictNamespaces=cgroup ipc",), CLONE_NEWCGROUP | CLONE_NEWIPC, "cgroup ipc"),
        (
            ("RestrictNamespaces=cgroup ipc net", "RestrictNamespaces=~ipc"),
            CLONE_NEWCGROUP | CLONE_NEWNET,
            "cgroup net",
        ),
        (("RestrictNamespaces=yes", "RestrictNamespaces=user"), CLONE_NEWUSER, "user"),
        (("RestrictNamespaces=user", "RestrictNamespaces=no"), NAMESPACE_FLAGS_ALL, "no"),
        (("RestrictNamespaces=user", "RestrictNamespaces="), NAMESPACE_FLAGS_INITIAL, "no"),
    ],
)
def test_restrict_namespaces(lines: tuple[str, ...], flags: int, shown: str) -> None:
    assert exec_of(*lines).restrict_namespaces == flags
    assert show(*lines, key="RestrictNamespaces") == shown


def test_restrict_namespaces_warning_keeps_the_earlier_value() -> None:
    lines = ("RestrictNamespaces=net", "RestrictNamespaces=~net bogus")
    assert exec_of(*lines).restrict_namespaces == CLONE_NEWNET
    assert warnings_of(*lines) == ["4: Failed to parse namespace type string, ignoring: net bogus"]


# --- Personality= and the booleans ----------------------------------------------------------


def test_personality() -> None:
    assert exec_of().personality == PERSONALITY_INVALID
    assert exec_of("Personality=x86").personality == 8
    assert exec_of("Personality=x86", "Personality=").personality == PERSONALITY_INVALID
    assert exec_of("Personality=x86", "Personality=arm64").personality == 8
    assert show("Personality=x86-64", key="Personality") == "x86-64"
    assert warnings_of("Personality=arm64") == ["3: Failed to parse personality, ignoring: arm64"]


def test_booleans_and_what_dynamic_user_implies() -> None:
    e = exec_of(
        "LockPersonality=yes",
        "MemoryDenyWriteExecute=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
    )
    assert e.lock_personality
    assert e.memory_deny_write_execute
    assert e.restrict_realtime
    assert e.restrict_suid_sgid
    assert not exec_of().restrict_suid_sgid
    assert exec_of("DynamicUser=yes").restrict_suid_sgid


# --- what the plan gets, what is recorded ---------------------------------------------------


def test_redis_server_gives_the_plan_its_filters() -> None:
    text = (DATA / "debian" / "redis-server.service").read_text()
    unit = unit_from_text("redis-server.service", text)
    assert unit.service is not None
    steps = seccompplan.seccomp_steps(unit.service.exec)
    assert seccompplan.AddressFamilies(True, (1, 2, 10)) in steps
    assert seccompplan.RestrictNamespaces(0) in steps
    assert seccompplan.Archs(("native",)) in steps
    (syscalls,) = [
        s
        for s in steps
        if isinstance(s, seccompplan.SyscallSet) and s.setting == "SystemCallFilter="
    ]
    assert syscalls.default == seccompplan.ACTION_KILL
    assert ("read", seccompplan.ACTION_ALLOW) in syscalls.rules
    assert not any(name == "mount" for name, _ in syscalls.rules)


def test_settings_are_still_reported_as_not_enforced() -> None:
    unit = unit_from_text(
        "t.service",
        "[Service]\nExecStart=/bin/true\nSystemCallFilter=@system-service\nPersonality=x86\n",
    )
    keys = {n.key: n.value for n in unit.not_enforced}
    assert keys == {"SystemCallFilter": "@system-service", "Personality": "x86"}
