"""`pidone verify` and `pidone show` end to end, and verify against systemd-analyze verify."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pidone.cli import show, timestyle, verify

UNITS = Path(__file__).parent.parent / "core" / "data" / "units"
DEBIAN = Path(__file__).parent.parent / "core" / "data" / "debian"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def _about_installed_units(line: str) -> bool:
    """A warning about a unit file of this machine's own unit directories, which verify
    loads along the way as systemd-analyze does (e.g. freeradius.service:23's MemoryLimit=
    once that package is installed): it depends on the machine, not on the file tested."""
    return line.startswith(("/lib/systemd/", "/usr/lib/systemd/", "/etc/systemd/"))


def _own_lines(text: str) -> str:
    return "".join(f"{line}\n" for line in text.splitlines() if not _about_installed_units(line))


def _verify(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = verify.main(list(args))
    out, err = capfd.readouterr()
    assert out == ""  # like systemd-analyze, everything goes to stderr
    return rc, _own_lines(err)


def test_verify_warnings_only_exit_0(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "w.service"
    f.write_text("[Unit]\nFoo=1\n[Service]\nExecStart=/bin/true\nMemoryMax=1G\n")
    rc, err = _verify(capfd, str(f))
    assert rc == 0
    assert err.splitlines() == [
        f"{f}:2: Unknown key 'Foo' in section [Unit], ignoring.",
        f"{f}:5: MemoryMax= is not enforced by pidone.",
    ]


def test_verify_bad_setting_and_missing_executable_exit_1(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "b.service"
    bad.write_text("[Service]\nType=oneshot\nRestart=always\nExecStart=/bin/true\n")
    rc, err = _verify(capfd, str(bad))
    assert rc == 1
    assert err.splitlines()[-1] == "Unit b.service has a bad unit file setting."
    missing = tmp_path / "m.service"
    missing.write_text("[Service]\nExecStart=/nonexistent/bin/x\nExecStop=-/nonexistent/y\n")
    rc, err = _verify(capfd, str(missing))
    assert rc == 1
    assert err.splitlines() == [
        "m.service: Command /nonexistent/bin/x is not executable: No such file or directory"
    ]


def test_verify_bad_input_is_one_line_not_a_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "g.service"
    garbage.write_bytes(b"[Service]\nExecStart=/bin/true \xff\xfe\nUser=\x00\x01\n[Unit\n")
    rc, err = _verify(capfd, str(garbage))
    assert rc == 1
    assert "Traceback" not in err
    assert err.strip().splitlines()[0].startswith(str(garbage))
    rc, err = _verify(capfd, str(tmp_path / "not-a-unit.txt"))
    assert rc == 1
    assert "Traceback" not in err


def test_show_offline_with_root(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    etc = tmp_path / "etc/systemd/system"
    etc.mkdir(parents=True)
    (etc / "demo.service").write_text(
        "[Unit]\nDescription=demo %n\n[Service]\nExecStart=/bin/sleep 5\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )
    rc = show.main(["--root", str(tmp_path), "demo", "-p", "Id,Description,FragmentPath"])
    out, _ = capfd.readouterr()
    assert rc == 0
    assert out.splitlines() == [
        "Id=demo.service",
        "Description=demo demo.service",
        "FragmentPath=/etc/systemd/system/demo.service",
    ]
    rc = show.main(["--root", str(tmp_path), "-P", "UnitFileState", "demo.service", "x.service"])
    out, _ = capfd.readouterr()
    assert out == "disabled\n\n\n"  # x.service is not found: its state is empty
    show.main(["--root", str(tmp_path), "-p", "LoadState", "--property=SubState", "x.service"])
    out, _ = capfd.readouterr()
    assert out.splitlines() == ["LoadState=not-found", "SubState=dead"]
    assert show.main(["--bogus"]) == 2


# --- differential: the same files through systemd-analyze verify -----------------------------

GENERATED = [
    "[Service]\nExecStart=/bin/true\nType=forkin\n",
    "[Service]\nExecStart=/bin/true\nRestartSec=5S\nTimeoutSec=1h30\n",
    "[Service]\nExecStart=/bin/true\nKillMode=\nKillSignal=\nUMask=8\n",
    '[Service]\nExecStart=/bin/true\nEnvironment=1A=x B=%Z "C=ok"\n',
    "[Unit]\nAfter=x y.service\nDocumentation=nope man:x(1)\n[Service]\nExecStart=/bin/true\n",
    "[Service]\nExecStart=/bin/true\nLimitNOFILE=10:5\nLimitCPU=abc\nNice=50\n",
    "[Service]\nExecStart=/bin/true\nPassEnvironment=1X OK\nUnsetEnvironment=9\n",
    '[Service]\nExecStart=/bin/echo "unbalanced\n',
    "[Service]\nExecStart=-/bin/echo \\q\nWorkingDirectory=-rel\n",
    "[Service]\nExecStart=/bin/true\nDynamicUser=maybe\n",
    "[Service]\nType=notify\nExecStart=/bin/true\nNotifyAccess=\nExitType=x\n",
    "[Unit]\nConditionPathExists=rel\nAssertPathIsDirectory=|!/x\n[Service]\nExecStart=/bin/true\n",
    "[Service]\nExecStart=/bin/true\nStandardOutput=file:rel\nStandardInput=bogus\n",
    "[Service]\nExecStart=/bin/true\nRuntimeDirectory=../x ok\nStateDirectoryMode=9\n",
    "[Socket]\n[Service]\nExecStart=/bin/true\n[X-Foo]\nA=b\n[Bar]\nA=b\n",
    "[Unit]\nDescription=x\n",
    "[Service]\nType=oneshot\nExecStart=/bin/true\nRuntimeMaxSec=5\n",
    "[Service]\nExecStart=/bin/true\nMemoryLimit=1G\nCPUShares=1\nTasksMax=0\nCPUQuota=50\n",
    "[Service]\nExecStart=/bin/true\nCapabilities=x\nDelegate=x\nRestrictNamespaces=foo\n",
    "[Service]\nExecStart=/bin/true\nMemoryMax=101%\nIOWeight=0\nProtectProc=x\n",
    "[Unit]\nOnFailureIsolate=yes\n[Service]\nExecStart=/bin/true\nUSBFunctionStrings=/x\n",
    "[Service]\nExecStart=/bin/true\nRuntimeDirectory=a/ b//c /abs x:../y\n",
    "[Service]\nExecStart=/bin/true\nUser=a:b\n",
    "[Service]\nExecStart=/bin/true\nUser=-x\nGroup=65535\n",
    "[Service]\nExecStart=/bin/true\nSupplementaryGroups=%Z\n",
]
GENERATED_SOCKETS = [
    "[Socket]\nListenStream=bogus\nListenStream=65536\nListenFIFO=rel\nListenStream=[::1]:80\n",
    "[Socket]\nListenStream=0\nSymlinks=/run/x rel\nFileDescriptorName=a:b\nIPTOS=x\n",
    "[Socket]\nListenNetlink=bogus\nService=\nPipeSize=x\nTimestamping=x\nBindToDevice=a/b\n",
    "[Socket]\nListenStream=/run/p.sock\nAccept=yes\nSocketGroup=a b\n",
]
GENERATED_TIMERS = [
    "[Timer]\nOnBootSec=5\nOnCalendar=bogus\nUnit=bad\n",
    "[Timer]\nOnBootSec=5\nOnCalendar=\n",
    "[Timer]\nOnCalendar=Sun *-*-* 03:10:00\nOnBootSec=x\nAccuracySec=5S\n",
]


def _normalize(text: str, directory: Path) -> list[str]:
    return [
        line.replace(str(directory), "DIR")
        for line in text.splitlines()
        if not _about_installed_units(line)
    ]


@pytest.mark.differential
@pytest.mark.parametrize(
    "case",
    [p.name for p in sorted(UNITS.iterdir()) if not p.name.endswith(".conf")]
    + [f"generated-{i}.service" for i in range(len(GENERATED))]
    + [f"generated-{i}.socket" for i in range(len(GENERATED_SOCKETS))]
    + [f"generated-{i}.timer" for i in range(len(GENERATED_TIMERS))]
    + [f"debian/{p.name}" for p in sorted(DEBIAN.iterdir()) if p.suffix != ".md"],
)
def test_verify_matches_systemd_analyze(
    case: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze is not installed")
    target = tmp_path / case.removeprefix("debian/")
    if case.startswith("debian/"):
        shutil.copy(DEBIAN / target.name, target)
    elif case.startswith("generated-"):
        index = int(case.split("-")[1].split(".")[0])
        kind = target.suffix
        table = {".service": GENERATED, ".socket": GENERATED_SOCKETS, ".timer": GENERATED_TIMERS}
        target.write_text(table[kind][index])
        if kind != ".service":  # the unit it triggers, so only the file itself is judged
            (tmp_path / target.with_suffix(".service").name).write_text(
                "[Service]\nExecStart=/bin/true\n"
            )
    else:
        shutil.copy(UNITS / case, target)
    theirs = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    rc = verify.main(["--no-not-enforced", str(target)])
    _, ours = capfd.readouterr()
    assert _normalize(ours, tmp_path) == _normalize(theirs.stderr + theirs.stdout, tmp_path)
    assert rc == theirs.returncode


def _make_bad(kind: str, directory: Path) -> Path:
    target = directory / f"{kind}.service"
    if kind == "directory":
        target.mkdir()
    elif kind == "loop":
        (directory / "loop2.service").symlink_to("loop.service")
        target.symlink_to("loop2.service")
    elif kind == "header":
        target.write_text("[Service\nExecStart=/bin/true\n")
    elif kind == "utf8":
        target.write_bytes(b"[Service]\nExecStart=/bin/true\nDescription=\xff\xfe\nUser=x\n")
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "nul":
        target.write_bytes(b"[Unit]\nDescription=a\x00b\n[Service]\nExecStart=/bin/true\n")
    return target  # "missing": never created


@pytest.mark.differential
@pytest.mark.parametrize("kind", ["directory", "loop", "missing", "header", "utf8", "empty", "nul"])
def test_bad_input_matches_systemd_analyze(
    kind: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze is not installed")
    target = _make_bad(kind, tmp_path)
    theirs = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(target)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    rc = verify.main(["--no-not-enforced", str(target)])
    ours = capfd.readouterr().err.encode("utf-8", "surrogateescape")

    def own(stream: bytes) -> list[bytes]:
        lines = stream.replace(bytes(tmp_path), b"DIR").split(b"\n")
        return [line for line in lines if not _about_installed_units(line.decode("latin-1"))]

    assert own(ours) == own(theirs.stderr)
    assert rc == theirs.returncode


UNIT_SECTION_CASES = [
    "Documentation=https://x man:y(1) info:z file:/a http:/bad nope file:/ info: http://",
    "Wants=a.service b@.service %n\nAfter=%n\nOnSuccess=%n\nPropagatesReloadTo=%n",
    "ConditionPathExists=! /x\nConditionPathExists=| /x\nAssertPathIsDirectory=|!/x",
    "FailureActionExitStatus=-1\nSuccessActionExitStatus=abc\nRequiresMountsFor=/v /s%Z rel",
    "SourcePath=rel\nOnFailureIsolate=x\nStartLimitBurst=-1\nJobTimeoutAction=reboot-force",
]


@pytest.mark.differential
@pytest.mark.parametrize("index", range(len(UNIT_SECTION_CASES)))
def test_unit_section_matches_systemd_analyze(
    index: int, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze is not installed")
    target = tmp_path / "u.service"
    target.write_text(f"[Unit]\n{UNIT_SECTION_CASES[index]}\n[Service]\nExecStart=/bin/true\n")
    theirs = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    rc = verify.main(["--no-not-enforced", str(target)])
    _, ours = capfd.readouterr()
    assert _normalize(ours, tmp_path) == _normalize(theirs.stderr, tmp_path)
    assert rc == theirs.returncode


def test_show_uses_the_whole_graph_offline(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    etc = tmp_path / "etc/systemd/system"
    (etc / "multi-user.target.wants").mkdir(parents=True)
    (etc / "web.service").write_text("[Service]\nExecStart=/bin/true\n")
    (etc / "web.socket").write_text("[Socket]\nListenStream=8080\n")
    (etc / "multi-user.target").write_text("[Unit]\nDescription=m\n")
    (etc / "multi-user.target.wants" / "web.service").symlink_to("../web.service")
    rc = show.main(["--root", str(tmp_path), "-p", "WantedBy,TriggeredBy,After", "web.service"])
    out, _ = capfd.readouterr()
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "WantedBy=multi-user.target"
    assert "web.socket" in lines[1].split("=", 1)[1].split()  # After= from the socket's Before=
    assert lines[2] == "TriggeredBy=web.socket"


TREE = {
    "a.service": "[Unit]\nRequires=b.service\nWants=c.service\nAfter=d.service\nFooA=1\n"
    "[Service]\nExecStart=/bin/true\n",
    "b.service": "[Unit]\nWants=e.service\nFooB=1\n[Service]\nExecStart=/bin/true\n",
    "c.service": "[Unit]\nFooC=1\n[Service]\nType=simple\n",
    "d.service": "[Unit]\nFooD=1\n[Service]\nExecStart=/nonexistent/d\n",
    "e.service": "[Unit]\nFooE=1\n[Service]\nExecStart=/bin/true\n",
}


@pytest.mark.differential
@pytest.mark.parametrize(
    "files", [["a.service"], ["e.service", "a.service"], ["c.service", "d.service", "b.service"]]
)
def test_dependency_closure_matches_systemd_analyze(
    files: list[str], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Every unit a FILE names is loaded (once per run, load-queue order) and its
    diagnostics printed; then the FILEs are checked."""
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze is not installed")
    for name, text in TREE.items():
        (tmp_path / name).write_text(text)
    paths = [str(tmp_path / f) for f in files]
    theirs = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *paths],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    rc = verify.main(["--no-not-enforced", *paths])
    _, ours = capfd.readouterr()
    assert _normalize(ours, tmp_path) == _normalize(theirs.stderr, tmp_path)
    assert rc == theirs.returncode


def test_show_timestamp_styles_format_as_252() -> None:
    """systemctl --timestamp=: format_timestamp_style() (the zone of `pretty` and `us` is
    the process's own; `utc` styles say UTC)."""
    usec = 1_796_037_776_382_437
    assert timestyle.timestamp_formatter("unix")(usec) == "@1796037776"
    assert timestyle.timestamp_formatter("utc")(usec) == "Mon 2026-11-30 11:22:56 UTC"
    assert timestyle.timestamp_formatter("us+utc")(usec) == "Mon 2026-11-30 11:22:56.382437 UTC"
    assert timestyle.timestamp_formatter("µs+utc")(usec) == "Mon 2026-11-30 11:22:56.382437 UTC"
    local = timestyle.timestamp_formatter("us")(usec)
    assert local.endswith(".382437 " + local.rsplit(" ", 1)[1])
    assert show.parse_args(["--timestamp=unix", "x.service"]).timestamp == "unix"
    assert show.parse_args(["--timestamp", "us", "x.service"]).timestamp == "us"
    with pytest.raises(show._Usage, match=r"^Invalid value: bogus\.$"):
        show.parse_args(["--timestamp=bogus", "x.service"])
