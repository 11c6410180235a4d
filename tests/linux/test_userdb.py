"""linux.userdb: /etc/passwd and /etc/group answer first; NSS only for what they lack."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from pidone.linux import userdb
from pidone.linux.userdb import FilesDB


def _db(tmp_path: Path, passwd: str, group: str) -> FilesDB:
    (tmp_path / "passwd").write_text(passwd)
    (tmp_path / "group").write_text(group)
    return FilesDB(str(tmp_path / "passwd"), str(tmp_path / "group"))


PASSWD = """\
root:x:0:0:root:/root:/bin/bash
# a comment
zzfiles:x:4242:4243:Files only:/srv/zz:/usr/sbin/nologin
zzfiles:x:4999:4999:second entry of the name:/:/bin/sh
broken:x:notanumber:1::/:/bin/sh
+nisuser::::::
"""
GROUP = """\
root:x:0:
zzgroup:x:4243:
wheel2:x:4300:alice,zzfiles
ops2:x:4301:zzfiles
empty:x:4302:
"""


def test_a_files_user_comes_from_the_file(tmp_path: Path) -> None:
    db = _db(tmp_path, PASSWD, GROUP)
    user = userdb.user_by_name("zzfiles", db)
    assert user is not None
    assert (user.uid, user.gid, user.home, user.shell) == (
        4242,
        4243,
        "/srv/zz",
        "/usr/sbin/nologin",
    )
    by_uid = userdb.user_by_uid(4242, db)
    assert by_uid is not None
    assert by_uid.name == "zzfiles"
    assert userdb.gid_by_name("ops2", db) == 4301
    assert userdb.group_name(4300, db) == "wheel2"


def test_malformed_and_compat_lines_are_skipped(tmp_path: Path) -> None:
    db = _db(tmp_path, PASSWD, GROUP)
    assert db.user("broken") is None
    assert db.user("+nisuser") is None


def test_supplementary_groups_of_a_files_user_come_from_etc_group(tmp_path: Path) -> None:
    """getgrouplist(3) order: the given gid first, then the groups listing the user."""
    db = _db(tmp_path, PASSWD, GROUP)
    assert userdb.grouplist("zzfiles", 4243, db) == [4243, 4300, 4301]
    assert userdb.grouplist("zzfiles", 4301, db) == [4301, 4300]


def test_what_the_files_lack_is_asked_through_nss(tmp_path: Path) -> None:
    """A name missing from the files is resolved by NSS as before (here: the real
    /etc/passwd through glibc, which the scratch files do not hold)."""
    db = _db(tmp_path, PASSWD, GROUP)
    try:
        real = pwd.getpwnam("daemon")
    except KeyError:
        pytest.skip("this system has no user 'daemon' to look up through NSS")
    user = userdb.user_by_name("daemon", db)
    assert user is not None
    assert user.uid == real.pw_uid
    assert userdb.grouplist("daemon", real.pw_gid, db) == os.getgrouplist("daemon", real.pw_gid)
    assert userdb.user_by_name("no-such-user-zz", db) is None
    assert userdb.gid_by_name("no-such-group-zz", db) is None


def test_the_files_are_read_again_when_they_change(tmp_path: Path) -> None:
    db = _db(tmp_path, PASSWD, GROUP)
    assert db.user("newbie") is None
    (tmp_path / "passwd").write_text(PASSWD + "newbie:x:5000:5000::/:/bin/sh\n")
    user = db.user("newbie")
    assert user is not None
    assert user.uid == 5000


def test_an_nss_lookup_that_hangs_counts_as_unknown_and_is_not_waited_for_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker-thread bound: a stuck lookup gives None and one on_timeout report; asked
    again while still stuck, None at once (no second thread); once it returns, afresh."""
    import threading

    release = threading.Event()
    calls: list[str] = []
    told: list[str] = []

    def hangs() -> str:
        calls.append("called")
        release.wait(30)
        return "late answer"

    monkeypatch.setattr(userdb, "NSS_TIMEOUT", 0.2)
    monkeypatch.setattr(userdb, "on_timeout", told.append)
    try:
        assert userdb._nss("getpwnam(slow)", hangs) is None
        assert userdb._nss("getpwnam(slow)", hangs) is None
        assert calls == ["called"]
        assert told == ["getpwnam(slow)"]
    finally:
        release.set()
    userdb._stuck["getpwnam(slow)"].done.wait(5)
    assert userdb._nss("getpwnam(slow)", lambda: "fresh") == "fresh"


def test_a_stuck_sss_lookup_does_not_hold_the_daemon(tmp_path: Path) -> None:
    """The boot that found this: NSS's sss module asking a socket nobody answers (pidone's
    own sssd-nss.socket, its service not running). A private mount namespace puts such a
    socket at /var/lib/sss/pipes/nss; the lookup of an unknown name returns None (bounded
    by NSS_TIMEOUT) instead of waiting for sss's 300 s."""
    import shutil
    import subprocess
    import sys

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount namespace")
    nsswitch = Path("/etc/nsswitch.conf")
    passwd_line = [line for line in nsswitch.read_text().splitlines() if line.startswith("passwd:")]
    if not passwd_line or "sss" not in passwd_line[0].split():
        pytest.skip("nsswitch.conf does not ask sss for passwd (no libnss-sss here)")
    if not Path("/var/lib/sss/pipes").is_dir():
        pytest.skip("/var/lib/sss/pipes is missing (sssd-common not installed)")
    script = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX); s.bind('/var/lib/sss/pipes/nss'); s.listen(8)\n"
        "from pidone.linux import userdb\n"
        "userdb.NSS_TIMEOUT = 0.5\n"
        "told = []\n"
        "userdb.on_timeout = told.append\n"
        "print(userdb.user_by_name('no-such-user-pidone-zz'), told)\n"
    )
    shell = 'mount -t tmpfs tmpfs /var/lib/sss/pipes && exec "$0" -c "$1"'
    cmd = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", shell]
    r = subprocess.run([*cmd, sys.executable, script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "None ['getpwnam(no-such-user-pidone-zz)']", r.stdout
