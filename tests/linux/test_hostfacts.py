"""read_specifier_host() against fake roots and the live host."""

from __future__ import annotations

import os
import platform
import pwd

from pidone.core.specifiers import expand_specifiers
from pidone.linux.hostfacts import parse_os_release, read_specifier_host


def test_reads_files_under_root(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (tmp_path / "etc/os-release").write_text(
        '# comment\nID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian \\"x\\""\nBUILD_ID=\n'
    )
    (tmp_path / "etc/machine-info").write_text('PRETTY_HOSTNAME="Lab Box"\n')
    (tmp_path / "proc/sys/kernel/random").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/random/boot_id").write_text(
        "8c9d5d04-06ba-46e1-be05-4d909bb41522\n"
    )
    host = read_specifier_host(str(tmp_path))
    assert host.machine_id == "0123456789abcdef0123456789abcdef"
    assert host.boot_id == "8c9d5d0406ba46e1be054d909bb41522"  # %b has no dashes
    assert host.os_release["ID"] == "debian"
    assert host.os_release["VERSION_ID"] == "12"
    assert host.os_release["PRETTY_NAME"] == 'Debian "x"'
    assert host.os_release["BUILD_ID"] == ""
    assert host.pretty_hostname == "Lab Box"
    assert expand_specifiers("%o %w %q", "x.service", host) == "debian 12 Lab Box"


def test_usr_lib_os_release_fallback(tmp_path):
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/os-release").write_text("ID=fallback\n")
    assert read_specifier_host(str(tmp_path)).os_release["ID"] == "fallback"


def test_missing_files_give_empty_values(tmp_path):
    host = read_specifier_host(str(tmp_path))
    assert (host.machine_id, host.boot_id, dict(host.os_release), host.pretty_hostname) == (
        "", "", {}, ""
    )  # fmt: skip


def test_live_user_and_kernel(monkeypatch):
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.delenv("SHELL", raising=False)
    host = read_specifier_host()
    entry = pwd.getpwuid(os.getuid())
    assert (host.uid, host.user_name, host.home, host.shell) == (
        os.getuid(), entry.pw_name, entry.pw_dir, entry.pw_shell
    )  # fmt: skip
    assert host.kernel_release == platform.release()
    assert host.hostname == platform.node()
    if platform.machine() == "x86_64":
        assert host.architecture == "x86-64"


def test_parse_os_release_quoting():
    text = "A='single $x'\nB=\"dq \\\\ \\$ \\` end\"\nC=plain\n  D = spaced \nnoequals\n"
    parsed = parse_os_release(text)
    assert parsed["A"] == "single $x"
    assert parsed["B"] == "dq \\ $ ` end"
    assert parsed["C"] == "plain"
    assert "noequals" not in parsed


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", "/home/x")
    monkeypatch.setenv("SHELL", "/bin/zsh")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    host = read_specifier_host()
    assert (host.home, host.shell, host.tmp_dir, host.var_tmp_dir) == (
        "/home/x", "/bin/zsh", str(tmp_path), str(tmp_path)
    )  # fmt: skip


def test_environment_overrides_must_be_valid(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", "relative")
    monkeypatch.setenv("SHELL", "/bin/../zsh")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "missing"))
    host = read_specifier_host()
    entry = pwd.getpwuid(os.getuid())
    assert (host.home, host.shell, host.tmp_dir, host.var_tmp_dir) == (
        entry.pw_dir, entry.pw_shell, "/tmp", "/var/tmp"
    )  # fmt: skip
