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
