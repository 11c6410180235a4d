"""linux.bpfdevices: DevicePolicy=/DeviceAllow= entries resolved as 252's bpf-devices.c does,
and the cgroup device program on a real cgroup, judged by real open(2) calls."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

import pytest

from pidone.core.devicepolicy import STATIC_DEVICES, DevicePolicy, allow_list
from pidone.linux import bpfdevices as b
from tests.linux.proc_helpers import errnos_in_cgroup

PROC_DEVICES = """Character devices:
  1 mem
  4 /dev/vc/0
  5 /dev/tty
136 pts
180 usb
254 rtc0
253 rtc

Block devices:
  7 loop
  8 sd
259 blkext
"""


def test_majors_by_driver_name_with_globs_and_types() -> None:
    rules = b.resolve(
        (("char-rtc", "r"), ("char-rtc*", "rw"), ("block-loop", "rwm"), ("char-*", "m")),
        PROC_DEVICES,
    )
    assert rules == [
        (b.DEV_CHAR, 253, -1, b.ACC["r"]),
        (b.DEV_CHAR, 254, -1, b.ACC["r"] | b.ACC["w"]),
        (b.DEV_CHAR, 253, -1, b.ACC["r"] | b.ACC["w"]),
        (b.DEV_BLOCK, 7, -1, 7),
        (b.DEV_CHAR, -1, -1, b.ACC["m"]),
    ]
    # a number is that major; an unknown name, a bare path or no rights: nothing
    assert b.resolve((("block-259", "r"), ("char-nosuch", "r"), ("foo", "r")), PROC_DEVICES) == [
        (b.DEV_BLOCK, 259, -1, b.ACC["r"])
    ]


def test_device_paths_are_their_nodes() -> None:
    null = os.stat("/dev/null").st_rdev
    assert b.resolve((("/dev/null", "rw"), ("/dev/nonexistent-pidone", "r"))) == [
        (b.DEV_CHAR, os.major(null), os.minor(null), b.ACC["r"] | b.ACC["w"])
    ]
    assert b.resolve((("/dev/char/10:200", "r"), ("/run/systemd/inaccessible/blk", "r"))) == [
        (b.DEV_CHAR, 10, 200, b.ACC["r"]),
        (b.DEV_BLOCK, 0, 0, b.ACC["r"]),
    ]


def test_allow_list_by_policy() -> None:
    assert allow_list(DevicePolicy("auto", ())) is None
    assert allow_list(DevicePolicy("auto", (("/dev/sda", "r"),))) == (
        *STATIC_DEVICES,
        ("/dev/sda", "r"),
    )
    assert allow_list(DevicePolicy("closed", ())) == STATIC_DEVICES
    assert allow_list(DevicePolicy("strict", (("/dev/zero", "r"),))) == (("/dev/zero", "r"),)


def _opens(cgroup: str, paths: list[tuple[str, int]]) -> list[int]:
    """errno (0 = opened) of each open(2) by a child that joined `cgroup` first."""

    def opener(path: str, flags: int) -> Callable[[], None]:
        return lambda: os.close(os.open(path, flags | os.O_NONBLOCK))

    return errnos_in_cgroup(cgroup, [opener(path, flags) for path, flags in paths])


@pytest.mark.cgroup
def test_the_program_allows_only_its_entries(tracker) -> None:  # type: ignore[no-untyped-def]
    if not b.available():
        pytest.skip("this process may not load BPF cgroup device programs")
    tracker.create("dev.service")
    cgroup = tracker.path("dev.service")
    rules = b.resolve((("/dev/null", "rw"), ("char-mem", "r"), ("block-*", "rwm")))
    fd = b.attach(cgroup, rules)
    try:
        seen = _opens(
            cgroup,
            [("/dev/null", os.O_RDONLY), ("/dev/null", os.O_WRONLY),
             ("/dev/zero", os.O_RDONLY), ("/dev/zero", os.O_WRONLY), ("/dev/tty", os.O_RDONLY)],
        )  # fmt: skip
        # /dev/null read and written; /dev/zero is char-mem (major 1): read only; /dev/tty
        # (char 5:0) matches no entry: every block device is no character device
        assert seen == [0, 0, 0, errno.EPERM, errno.EPERM]
    finally:
        b.detach(cgroup, fd)
    # detached: everything as before
    assert _opens(cgroup, [("/dev/zero", os.O_WRONLY)]) == [0]
