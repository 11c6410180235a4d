"""What a spawned command sees: environment, working directory, $MAINPID, failures to spawn."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pidone.core.localeenv import LOCALE_VARIABLES, manager_locale
from pidone.daemon.executor import LOCALE_CONFIG_FILES
from tests.system.conftest import Factory
from tests.system.scripts import oneshot

pytestmark = pytest.mark.system


def read_env(path: Path) -> dict[str, str]:
    out = {}
    for item in path.read_bytes().split(b"\0"):
        name, sep, value = item.decode().partition("=")
        if sep:
            out[name] = value
    return out


def test_environment_working_directory_and_mainpid(pidone_ns: Factory, tmp_path: Path) -> None:
    envfile = tmp_path / "env"
    envfile.write_text("# comment\nFROM_FILE=file value\nSHARED=file\n")
    out = tmp_path / "out"
    d = pidone_ns(
        {
            "e.service": "[Service]\n"
            'Environment="GREETING=hello world" SHARED=unit\n'
            f"EnvironmentFile={envfile}\n"
            "EnvironmentFile=-/nonexistent/optional\n"
            f"WorkingDirectory={tmp_path}\n"
            f"ExecStart=/bin/sh -c 'cat /proc/self/environ > {out}.start; pwd > {out}.pwd; "
            "exec sleep 1000'\n"
            f"ExecReload=/bin/sh -c 'echo $MAINPID > {out}.reload'\n"
        }
    )
    assert d.cli("start", "e").returncode == 0
    d.wait_for(lambda: Path(f"{out}.pwd").exists(), what="the service to write its files")
    env = read_env(Path(f"{out}.start"))
    info = d.status("e.service")
    assert env["GREETING"] == "hello world"
    assert env["FROM_FILE"] == "file value"
    assert env["SHARED"] == "file"  # EnvironmentFile= comes after Environment=
    assert env["INVOCATION_ID"] == info["invocation_id"]
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert "NOTIFY_SOCKET" not in env  # NotifyAccess=none for Type=simple
    assert Path(f"{out}.pwd").read_text() == f"{tmp_path}\n"
    assert d.cli("reload", "e").returncode == 0
    assert Path(f"{out}.reload").read_text() == f"{info['main_pid']}\n"


def test_a_missing_environment_file_fails_the_start(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {"m.service": "[Service]\nEnvironmentFile=/nonexistent/env\nExecStart=/bin/sleep 1000\n"}
    )
    r = d.cli("start", "m")
    assert r.returncode == 1
    assert r.stderr.startswith(
        "Job for m.service failed because of unavailable resources or another system error."
    )
    log = d.journal("-u", "m", "-o", "cat")
    assert "m.service: Failed to load environment files: No such file or directory" in log
    assert "m.service: Failed to spawn 'start' task: No such file or directory" in log


def test_a_missing_executable_with_the_dash_prefix_is_skipped_as_success(
    pidone_ns: Factory,
) -> None:
    """systemd 252 (exec_child(), checked on the oracle): `-` and a missing executable log
    "Executable X missing, skipping: ..." and the command exits 0; without `-` it is
    "Failed at step EXEC" and 203/EXEC. sshguard's `-/usr/sbin/nft` without nftables."""
    d = pidone_ns(
        {
            "dash.service": "[Service]\nExecStartPre=-/nonexistent/nft add\n"
            "ExecStart=/bin/sleep 1000\n",
            "nodash.service": "[Service]\nExecStartPre=/nonexistent/nft add\n"
            "ExecStart=/bin/sleep 1000\n",
        }
    )
    assert d.cli("start", "dash").returncode == 0
    log = d.journal("-u", "dash", "-o", "cat").splitlines()
    skip = "dash.service: Executable /nonexistent/nft missing, skipping: No such file or directory"
    assert log.index("Starting dash.service...") < log.index(skip)
    status = d.cli("status", "dash").stdout
    assert "ExecStartPre=/nonexistent/nft add (code=exited, status=0/SUCCESS)" in status
    assert d.cli("start", "nodash").returncode == 1
    log = d.journal("-u", "nodash", "-o", "cat")
    assert "Failed at step EXEC spawning /nonexistent/nft: No such file or directory" in log
    assert "missing, skipping" not in log
    status = d.cli("status", "nodash").stdout
    assert "ExecStartPre=/nonexistent/nft add (code=exited, status=203/EXEC)" in status


def test_services_get_the_managers_locale_and_a_unit_setting_wins(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    # systemd 252's locale_setup(): /etc/locale.conf, Debian's /etc/default/locale, else
    # the manager's own environment, else LANG=C.UTF-8 (rules: tests/core/test_localeenv.py)
    plain, own = tmp_path / "plain", tmp_path / "own"
    d = pidone_ns(
        {
            "p.service": oneshot(f"cat /proc/self/environ > {plain}"),
            "o.service": oneshot(f"cat /proc/self/environ > {own}", "Environment=LANG=xx_YY\n"),
        }
    )
    assert d.cli("start", "p", "o").returncode == 0
    configs = []
    for path in LOCALE_CONFIG_FILES:
        try:
            configs.append(Path(path).read_bytes())
        except OSError:
            configs.append(None)
    want = dict(manager_locale(configs, d.env))
    got = {k: v for k, v in read_env(plain).items() if k in LOCALE_VARIABLES}
    assert got == want
    assert got  # never none at all (C.UTF-8 at the least)
    assert read_env(own)["LANG"] == "xx_YY"


def test_journal_streams_are_sockets_named_by_journal_stream(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    # systemd.exec(5) $JOURNAL_STREAM: "the device and inode numbers of the connection file
    # descriptor" when stdout or stderr goes to the journal; systemd connects them to a
    # stream socket (journald's), so programs compare it with fstat() of fd 1 or 2.
    script = tmp_path / "probe.sh"
    script.write_text(
        "#!/bin/sh\n"
        # (the shell's own fds, read while none of them is redirected)
        'out=$(stat -L -c "%d:%i %F" /proc/$$/fd/1)\n'
        'err=$(stat -L -c "%d:%i %F" /proc/$$/fd/2)\n'
        'printf \'JS=%s\\n%s\\n%s\\n\' "$JOURNAL_STREAM" "$out" "$err" > "$1"\n'
    )
    script.chmod(0o755)
    both, err_only, neither = tmp_path / "both", tmp_path / "err", tmp_path / "neither"
    d = pidone_ns(
        {
            "b.service": f"[Service]\nType=oneshot\nExecStart={script} {both}\n",
            "e.service": f"[Service]\nType=oneshot\nStandardOutput=null\n"
            f"StandardError=journal\nExecStart={script} {err_only}\n",
            "n.service": f"[Service]\nType=oneshot\nStandardOutput=null\n"
            f"StandardError=null\nExecStart={script} {neither}\n",
        }
    )
    assert d.cli("start", "b", "e", "n").returncode == 0
    js, out, err = both.read_text().splitlines()
    assert js.startswith("JS=")
    assert len(js) > 3, js
    assert out == err == f"{js[3:]} socket"
    js, out, err = err_only.read_text().splitlines()
    assert err == f"{js[3:]} socket"
    assert out.endswith("character special file")  # /dev/null
    assert neither.read_text().splitlines()[0] == "JS="


def test_a_failed_spawn_is_logged_by_the_child_before_its_exit(pidone_ns: Factory) -> None:
    """systemd 252's exec_spawn() child logs "Failed at step X spawning /path: ..." itself
    before it exits (checked on the oracle): the record is the child's, `(name)[PID]` with
    the name from rename_process_from_path() (the basename's last 8 characters), with
    MESSAGE_ID= SD_MESSAGE_SPAWN_FAILED and EXECUTABLE=, and it comes before the manager's
    "Main process exited" line; for a failed chdir() after exec_child()'s own "Changing to
    the requested working directory failed: ..." line. tinc@NET.service without
    /etc/tinc/NET."""
    d = pidone_ns(
        {
            "wd.service": "[Service]\nWorkingDirectory=/nonexistent\nExecStart=/bin/sleep 1000\n",
            "exe.service": "[Service]\nExecStart=/nonexistent/a-long-binary-name\n",
        }
    )
    d.cli("start", "wd")
    d.cli("start", "exe")
    for unit, name, step, path in (
        ("wd", "(sleep)", "CHDIR", "/bin/sleep"),
        ("exe", "(ary-name)", "EXEC", "/nonexistent/a-long-binary-name"),
    ):
        d.wait_for(lambda u=unit: "Failed with result" in d.journal("-u", u), what=unit)
        log = d.journal("-u", unit, "-o", "short").splitlines()
        failed = [i for i, line in enumerate(log) if f"Failed at step {step} spawning" in line]
        exited = [i for i, line in enumerate(log) if "Main process exited" in line]
        assert failed, log
        assert exited, log
        assert failed[0] < exited[0], log
        found = re.search(
            rf" {re.escape(name)}\[(\d+)\]: {unit}\.service: Failed at step", log[failed[0]]
        )
        assert found, log
        pid = found.group(1)
        if step == "CHDIR":  # exec_child()'s line for the step comes first
            chdir = [i for i, line in enumerate(log) if "working directory failed" in line]
            assert chdir == [failed[0] - 1], log
            assert log[chdir[0]].endswith(
                f" {name}[{pid}]: wd.service: Changing to the requested working directory "
                "failed: No such file or directory"
            ), log
        fields = d.journal("-u", unit, "-o", "verbose", f"EXECUTABLE={path}")
        assert "MESSAGE_ID=641257651c1b4ec9a8624d7a40a9e1e7" in fields, fields
        assert f"SYSLOG_IDENTIFIER={name}" in fields, fields
