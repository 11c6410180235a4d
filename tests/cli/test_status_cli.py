"""cli/status.py: option parsing, locale rule, and the verbs end to end against a daemon in a
PID namespace (text, -o json, PID arguments, the overview, exit codes)."""

from __future__ import annotations

import calendar
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pidone.cli.status import InvalidValue, UsageError, locale_is_utf8, parse_args, unit_name

SHIM = "import sys; sys.argv[0] = 'systemctl'; from pidone.cli.main import main; sys.exit(main())"


def test_parse_args() -> None:
    opts = parse_args(["-n", "3", "--failed", "-t", "service,socket", "-o", "json", "a", "-l"])
    assert (opts.lines, opts.states, opts.types, opts.output, opts.args, opts.full) == (
        3,
        ["failed"],
        ["service", "socket"],
        "json",
        ["a"],
        True,
    )
    assert parse_args(["--lines=0", "--legend=no", "--plain"]).legend is False
    assert parse_args(["-n5"]).lines == 5
    with pytest.raises(UsageError):
        parse_args(["--bogus"])
    with pytest.raises(UsageError):
        parse_args(["-n", "x"])
    with pytest.raises(UsageError):
        parse_args(["-o", "yaml"])


def test_unit_name_and_locale() -> None:
    assert unit_name("foo") == "foo.service"
    assert unit_name("foo.socket") == "foo.socket"
    assert unit_name("m-*") == "m-*"
    assert locale_is_utf8({}) is True
    assert locale_is_utf8({"LANG": "C"}) is False
    assert locale_is_utf8({"LANG": "en_US.UTF-8", "LC_ALL": "C"}) is False
    assert locale_is_utf8({"LC_CTYPE": "C.utf8"}) is True


UNITS = {
    "run.service": "[Unit]\nDescription=Runner\n\n[Service]\nExecStart=/bin/sleep 1000\n",
    "bad.service": "[Service]\nExecStart=/bin/sh -c 'exit 1'\n",
}


_STARTED: list[float] = []  # wall clock just before the module's daemon started


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for the namespace daemon")
    from pidone.testing.harness import NamespaceDaemon

    _STARTED[:] = [time.time()]
    with NamespaceDaemon(tmp_path_factory.mktemp("st"), UNITS) as d:
        env = dict(d.env)
        env["LANG"] = "C.UTF-8"
        for unit in UNITS:
            subprocess.run([sys.executable, "-c", SHIM, "start", unit], env=env, check=False)
        d.wait_state("bad.service", "failed/failed")
        yield env


def _sc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SHIM, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.system
def test_status_json_and_exit_codes(daemon: dict[str, str]) -> None:
    out = _sc(daemon, "status", "-o", "json", "run", "bad", "nope")
    assert out.returncode == 3
    assert out.stderr == "Unit nope.service could not be found.\n"
    doc = json.loads(out.stdout)
    assert doc["schema"] == "pidone/1"
    assert doc["not_found"] == ["nope.service"]
    run, bad = doc["units"]
    assert (run["unit"], run["active"]["state"], run["main"]["running"]) == (
        "run.service",
        "active",
        True,
    )
    assert run["cgroup"]["processes"][0]["pid"] == run["main"]["pid"]
    assert bad["active"]["result"] == "exit-code"
    assert bad["main"]["exit"]["text"] == "code=exited, status=1/FAILURE"
    alone = _sc(daemon, "status", "nope")
    assert (alone.returncode, alone.stdout) == (4, "")


@pytest.mark.system
def test_status_by_pid_and_overview(daemon: dict[str, str]) -> None:
    doc = json.loads(_sc(daemon, "status", "-o", "json", "run").stdout)
    pid = str(doc["units"][0]["main"]["pid"])
    by_pid = _sc(daemon, "status", "--no-pager", "-n", "0", pid)
    assert by_pid.returncode == 0
    assert by_pid.stdout.startswith("● run.service - Runner\n")
    overview = _sc(daemon, "status")
    assert overview.returncode == 0
    lines = overview.stdout.splitlines()
    # every loaded unit counts: ours and the slices and targets the manager loads itself
    loaded = len(_sc(daemon, "list-units", "--all", "--no-legend").stdout.splitlines())
    assert loaded >= 2
    assert lines[1:5] == [
        "    State: degraded",
        f"    Units: {loaded} loaded (incl. loaded aliases)",
        "     Jobs: 0 queued",
        "   Failed: 1 units",
    ]
    assert any(line.endswith(f"{pid} /bin/sleep 1000") for line in lines)
    # Since: is the daemon's own start, not that of the host's PID 1 (the daemon is PID 1 of
    # its namespace; it reports its start in `ping`)
    since = re.fullmatch(r"    Since: \w{3} ([0-9-]+ [0-9:]+) (\S+); .* ago", lines[5])
    assert since is not None, lines[5]
    stamp = time.strptime(since.group(1), "%Y-%m-%d %H:%M:%S")
    started = time.mktime(stamp) if since.group(2) != "UTC" else calendar.timegm(stamp)
    assert _STARTED[0] - 1 <= started <= time.time()


@pytest.mark.system
def test_list_units_text_and_json(daemon: dict[str, str]) -> None:
    text = _sc(daemon, "list-units", "--all", "--type=service", "--no-pager")
    assert text.returncode == 0
    assert text.stdout.splitlines()[:3] == [
        "  UNIT        LOAD   ACTIVE SUB     DESCRIPTION",
        "● bad.service loaded failed failed  bad.service",
        "  run.service loaded active running Runner",
    ]
    # the systemctl face prints 252's table JSON (checked in the sd-oracle) ...
    row = '{"unit":"bad.service","load":"loaded","active":"failed","sub":"failed",'
    compact = f'[{row}"description":"bad.service"}}]\n'
    assert _sc(daemon, "list-units", "--failed", "-o", "json").stdout == compact
    pretty = _sc(daemon, "list-units", "--failed", "-o", "json-pretty").stdout
    assert pretty.splitlines()[:3] == ["[", "\t{", '\t\t"unit" : "bad.service",']
    assert json.loads(pretty) == json.loads(compact)
    # ... pidone's own face the pidone/1 document (docs/json.md)
    own = subprocess.run(
        [sys.executable, "-m", "pidone", "list-units", "--failed", "-o", "json"],
        capture_output=True,
        text=True,
        env=daemon,
        check=False,
    )
    doc = json.loads(own.stdout)
    assert (doc["schema"], doc["kind"]) == ("pidone/1", "list-units")
    assert [u["unit"] for u in doc["units"]] == ["bad.service"]


@pytest.mark.system
def test_is_system_running_degraded(daemon: dict[str, str]) -> None:
    out = _sc(daemon, "is-system-running")
    assert (out.stdout, out.returncode) == ("degraded\n", 1)
    assert _sc(daemon, "is-system-running", "-q").stdout == ""
    # the same verb in pidone's own face (tuned's ExecStop asks it through systemctl)
    own = subprocess.run(
        [sys.executable, "-m", "pidone", "is-system-running"],
        capture_output=True,
        text=True,
        env=daemon,
        timeout=120,
        check=False,
    )
    assert (own.stdout, own.returncode) == ("degraded\n", 1)


@pytest.mark.system
def test_status_journal_tail_modes(daemon: dict[str, str]) -> None:
    out = _sc(daemon, "status", "-n", "1", "-o", "short-iso", "bad")
    assert out.returncode == 3
    block, _, tail = out.stdout.partition("\n\n")
    assert block.startswith("× bad.service\n")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \S+ \S+: .*\n", tail)
    cat = _sc(daemon, "status", "-n", "1", "-o", "cat", "bad").stdout.partition("\n\n")[2]
    assert cat == "bad.service: Failed with result 'exit-code'.\n"
    assert "\n\n" not in _sc(daemon, "status", "-n", "0", "bad").stdout


@pytest.mark.system
def test_show_json_documents_carry_the_schema(daemon: dict[str, str]) -> None:
    out = _sc(daemon, "show", "-o", "json", "-p", "Id,ActiveState,MainPID", "run", "bad")
    assert out.returncode == 0, out.stderr
    docs = [json.loads(block) for block in out.stdout.split("\n\n")]
    assert [list(d)[:2] for d in docs] == [["schema", "kind"]] * 2
    assert [(d["schema"], d["kind"], d["Id"], d["ActiveState"]) for d in docs] == [
        ("pidone/1", "show", "run.service", "active"),
        ("pidone/1", "show", "bad.service", "failed"),
    ]
    assert int(docs[0]["MainPID"]) > 0


@pytest.mark.system
def test_jobs_runtime_limit_trigger_and_listen(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The JOB column: a oneshot still running its ExecStart= has its start job pending
    (252: `slow.service loaded activating start start ...`); `Until:` of RuntimeMaxSec=;
    a timer's `Trigger:` and a socket's `Listen:` (layout of the 252 captures)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for the namespace daemon")
    from pidone.testing.harness import NamespaceDaemon

    work = tmp_path_factory.mktemp("jobs")
    slow = "[Service]\nType=oneshot\nExecStart=/bin/sleep 1000\n"
    limited = "[Service]\nExecStart=/bin/sh -c 'sleep 1000; true'\nRuntimeMaxSec=1h 5min\n"
    units = {
        "slow.service": slow,
        "limited.service": limited,
        "tick.timer": "[Timer]\nOnCalendar=*-*-* 03:00:00\n",
        "tick.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
        "echo.socket": f"[Socket]\nListenStream={work}/echo.sock\n",
        "echo.service": "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
    }
    with NamespaceDaemon(work / "ns", units) as d:
        env = {**d.env, "LANG": "C.UTF-8"}
        # a timer's Trigger: and a socket's Listen: lines, as 252 prints them
        assert _sc(env, "start", "tick.timer", "echo.socket").returncode == 0
        timer = _sc(env, "status", "-n", "0", "tick.timer").stdout.splitlines()
        assert re.fullmatch(r"    Trigger: \w{3} \d{4}-\d\d-\d\d 03:00:00 \S+; .* left", timer[3])
        assert timer[4:] == ["   Triggers: ● tick.service"]
        sock = _sc(env, "status", "-n", "0", "echo.socket").stdout.splitlines()
        assert sock[3:5] == [
            "   Triggers: ● echo.service",
            f"     Listen: {work}/echo.sock (Stream)",
        ]
        assert _sc(env, "start", "--no-block", "slow").returncode == 0
        d.wait_state("slow.service", "activating/start")
        rows = _sc(env, "list-units", "--no-legend", "slow*").stdout.splitlines()  # the JOB
        assert rows == ["  slow.service loaded activating start start slow.service"]
        # RuntimeMaxSec=: `Until:` = the active-enter time + the limit (252)
        assert _sc(env, "start", "limited").returncode == 0
        lines = _sc(env, "status", "-n", "0", "limited").stdout.splitlines()
        since = lines[2].partition(" since ")[2].partition(";")[0]
        until = lines[3].partition("Until: ")[2].partition(";")[0]
        assert lines[3].startswith("      Until: "), lines
        assert lines[3].endswith(" left"), lines
        from datetime import datetime, timedelta

        stamp = "%a %Y-%m-%d %H:%M:%S"
        gap = datetime.strptime(until[:-4], stamp) - datetime.strptime(since[:-4], stamp)
        assert gap == timedelta(hours=1, minutes=5)
        # the CGroup trees quote an argument as 252 does, the unit's and the overview's
        quoted = '/bin/sh -c "sleep 1000; true"'
        assert any(line.endswith(quoted) for line in lines), lines
        assert any(line.endswith(quoted) for line in _sc(env, "status").stdout.splitlines())
        head = _sc(env, "list-units", "--type=service").stdout.splitlines()[0]
        assert head.split() == ["UNIT", "LOAD", "ACTIVE", "SUB", "JOB", "DESCRIPTION"]
        rows = json.loads(_sc(env, "list-units", "-o", "json", "slow*").stdout)
        assert rows == [
            {
                "unit": "slow.service",
                "load": "loaded",
                "active": "activating",
                "sub": "start",
                "job": "start",
                "description": "slow.service",
            }
        ]
        d.cli("stop", "slow.service", "limited.service", "tick.timer", "echo.socket")


@pytest.mark.system
def test_a_failed_unit_keeps_its_last_cpu_figure(daemon: dict[str, str]) -> None:
    """252 caches CPUUsageNSec when it prunes the cgroup (unit_prune_cgroup), so a failed
    unit still shows `CPU:`; with its cgroup gone it has no CGroup/Tasks/Memory lines."""
    if "        CPU: " not in _sc(daemon, "status", "-n", "0", "run").stdout:
        pytest.skip("the daemon has no cgroup2 here (no CPU figures at all)")
    lines = _sc(daemon, "status", "-n", "0", "bad").stdout.splitlines()
    assert [line.split(":")[0] for line in lines[1:]] == [
        "     Loaded",
        "     Active",
        "   Duration",
        "    Process",
        "   Main PID",
        "        CPU",
    ]
    assert re.fullmatch(r"        CPU: \d+(\.\d+)?(us|ms|s)", lines[-1])
    # show's CPUUsageNSec is the same figure, in ns
    shown = _sc(daemon, "show", "-p", "CPUUsageNSec", "--value", "bad").stdout.strip()
    assert shown.isdigit(), shown
    assert int(shown) > 0


def test_timestamp_option_is_parsed_and_checked() -> None:
    assert parse_args(["--timestamp=us+utc", "a"]).timestamp == "us+utc"
    assert parse_args(["--timestamp", "unix"]).timestamp == "unix"
    assert parse_args([]).timestamp == "pretty"
    with pytest.raises(InvalidValue, match=r"^Invalid value: bogus\.$"):
        parse_args(["--timestamp=bogus"])


@pytest.mark.system
def test_status_timestamp_styles_as_252_prints_them(daemon: dict[str, str]) -> None:
    # systemd 252 (sd-oracle, TZ=Europe/Paris): "since @1796042305; 472ms ago",
    # "since Mon 2026-11-30 13:38:25.761971 CET; 639ms ago", "... 12:38:25 UTC; ...",
    # and `Invalid value: bogus.` alone with exit 1; the journal lines keep their format
    env = {**daemon, "TZ": "CET-1"}  # (a POSIX zone: no tzdata needed, no DST)
    shown = _sc(env, "show", "-p", "ActiveEnterTimestamp", "--timestamp=us+utc", "run").stdout
    found = re.fullmatch(r"ActiveEnterTimestamp=(\w{3} [0-9-]+ [0-9:]+)\.([0-9]{6}) UTC\n", shown)
    assert found is not None, shown
    utc, micro = found.groups()
    entered = calendar.timegm(time.strptime(utc, "%a %Y-%m-%d %H:%M:%S"))
    active = {}
    for style in ("unix", "us", "utc", "us+utc", "µs"):
        out = _sc(env, "status", "--no-pager", "-n", "0", f"--timestamp={style}", "run")
        assert out.returncode == 0, out.stderr
        active[style] = out.stdout.splitlines()[2]
    since = "     Active: active (running) since "
    pattern = re.escape(since)
    cet = datetime.datetime.fromtimestamp(entered, datetime.timezone(datetime.timedelta(hours=1)))
    local = cet.strftime("%a %Y-%m-%d %H:%M:%S")
    assert re.fullmatch(rf"{pattern}@{entered}; .+ ago", active["unix"])
    assert re.fullmatch(rf"{pattern}{local}\.{micro} CET; .+ ago", active["us"])
    assert re.fullmatch(rf"{pattern}{local}\.{micro} CET; .+ ago", active["µs"])
    assert active["utc"].startswith(f"{since}{utc} UTC; ")
    assert active["us+utc"].startswith(f"{since}{utc}.{micro} UTC; ")
    bad = _sc(env, "status", "--timestamp=bogus", "run")
    assert (bad.returncode, bad.stdout, bad.stderr) == (1, "", "Invalid value: bogus.\n")
