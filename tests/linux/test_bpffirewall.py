"""linux.bpffirewall: the cgroup socket-buffer programs of IPAddressAllow=/IPAddressDeny=,
judged by real datagrams: a child joins the scratch cgroup and sends one UDP datagram to
each address; an egress drop fails sendto(2) with EPERM at once (nothing needs to listen)."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Callable

import pytest

from pidone.core.ipaccess import prefixes
from pidone.linux import bpffirewall as fw
from tests.linux.proc_helpers import errnos_in_cgroup

pytestmark = pytest.mark.cgroup


def _sends(cgroup: str, addresses: list[str]) -> list[int]:
    """errno (0 = sent) of one sendto(2) per address, by a child inside `cgroup`."""

    def sender(address: str) -> Callable[[], None]:
        def send() -> None:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.sendto(b"x", (address, 9))

        return send

    return errnos_in_cgroup(cgroup, [sender(a) for a in addresses])


@pytest.fixture
def cgroup(tracker):  # type: ignore[no-untyped-def]
    if not fw.available():
        pytest.skip("this process may not load BPF cgroup socket-buffer programs")
    if not socket.has_ipv6 or not os.path.exists("/proc/net/if_inet6"):
        pytest.skip("no IPv6 on this machine (the programs are checked on ::1 too)")
    tracker.create("fw.service")
    return tracker.path("fw.service")


LOOPBACKS = ["127.0.0.1", "127.200.0.1", "::1"]
EPERM = errno.EPERM


@pytest.mark.parametrize(
    ("allow", "deny", "want"),
    [
        ([], ["any"], [EPERM, EPERM, EPERM]),
        (["localhost"], ["any"], [0, 0, 0]),
        ([], ["127.0.0.0/9"], [EPERM, 0, 0]),  # a mask that splits a byte
        (["127.128.0.0/9"], ["0.0.0.0/0"], [EPERM, 0, 0]),
        ([], ["::/127"], [0, 0, EPERM]),  # the last word masked with 0xfffffffe
        ([], ["::2/127"], [0, 0, 0]),
        ([], ["10.0.0.0/8 fe80::/64"], [0, 0, 0]),
        (["127.0.0.1"], [], [0, 0, 0]),  # nothing denied: no program is needed
        (["127.0.0.1 ::1"], ["127.0.0.0/8 ::/0"], [0, EPERM, 0]),
    ],
)
def test_allow_wins_then_deny_then_pass(
    cgroup: str, allow: list[str], deny: list[str], want: list[int]
) -> None:
    fds = fw.attach(cgroup, prefixes(allow), prefixes(deny))
    try:
        assert _sends(cgroup, LOOPBACKS) == want
    finally:
        fw.detach(cgroup, fds)
    assert _sends(cgroup, LOOPBACKS) == [0, 0, 0]  # detached: nothing is dropped


def test_two_attachments_both_apply(cgroup: str) -> None:
    """BPF_F_ALLOW_MULTI: a second pair (a daemon-reload's, before the first is detached)
    adds its verdict; a packet passes only if every program lets it."""
    one = fw.attach(cgroup, [], [ipaddress.ip_network("127.0.0.1/32")])
    two = fw.attach(cgroup, [], [ipaddress.ip_network("::1/128")])
    try:
        assert _sends(cgroup, LOOPBACKS) == [EPERM, 0, EPERM]
    finally:
        fw.detach(cgroup, one)
        fw.detach(cgroup, two)
