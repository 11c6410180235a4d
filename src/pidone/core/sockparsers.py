"""Apply functions for [Socket] (systemd.socket(5)): listen addresses and socket options.

Listen addresses are checked the way socket_address_parse() (src/shared/socket-netlink.c)
accepts them: an absolute path, `@abstract`, a port, `IPv4:port`, `[IPv6]:port` (with an
optional `%interface`), `vsock:CID:PORT`. Messages were checked against
`systemd-analyze verify` 252.
"""

from __future__ import annotations

import re

from pidone.core.directives import Directive
from pidone.core.errors import ValueParseError
from pidone.core.parsebase import Context, Ignored, printf, set_target, to_int
from pidone.core.values import parse_boolean, parse_size

_STREAMS = ("ListenStream", "ListenDatagram", "ListenSequentialPacket")
_PATHS = ("ListenFIFO", "ListenSpecial", "ListenMessageQueue", "ListenUSBFunction")
_NETLINK_NAMES = (
    "route usersock firewall sock-diag inet-diag nflog xfrm selinux iscsi audit fib-lookup "
    "connector netfilter ip6-fw dnrtmsg kobject-uevent generic scsitransport ecryptfs rdma "
    "crypto smc"
)
_NETLINK_FAMILIES = frozenset(_NETLINK_NAMES.split())
_V6 = re.compile(r"\[([^\]]+)\]:(.+)\Z")


def _port(text: str) -> str | None:
    """None when valid, else the errno text ("Invalid argument" or ERANGE's)."""
    number = to_int(text)
    if number is None or text.startswith(("+", "-")):
        return "Invalid argument"
    if number > 65535:
        return "Numerical result out of range"
    return None if number > 0 else "Invalid argument"


def _address_problem(address: str) -> str | None:
    if address.startswith(("/", "@")):
        return None
    if address.startswith("vsock:"):
        parts = address.split(":")
        ok = len(parts) == 3 and to_int(parts[2]) is not None
        return None if ok else "Invalid argument"
    import ipaddress  # here only: ~0.25 MiB that a daemon without IP sockets never needs

    m = _V6.match(address)
    if m is not None:
        try:
            ipaddress.IPv6Address(m.group(1).partition("%")[0])
        except ValueError:
            return "Invalid argument"
        return _port(m.group(2))
    if address.isascii() and address.isdigit():
        return _port(address)
    host, sep, port = address.rpartition(":")
    if not sep:
        return "Invalid argument"
    try:
        ipaddress.IPv4Address(host.partition("%")[0])
    except ValueError:
        return "Invalid argument"
    return _port(port)


def p_listen(ctx: Context, d: Directive, value: str) -> None:
    address = printf(ctx, value)
    if d.key in _PATHS:
        if not address.startswith("/"):
            raise Ignored(f"{d.key}= path is not absolute, ignoring: {address}")
    elif d.key == "ListenNetlink":
        words = address.split()
        family_ok = bool(words) and (words[0] in _NETLINK_FAMILIES or words[0].isdigit())
        if not family_ok or len(words) > 2 or (len(words) == 2 and not words[1].isdigit()):
            raise Ignored(
                f"Failed to parse address value in '{address}', ignoring: Invalid argument"
            )
    elif d.key in _STREAMS:
        problem = _address_problem(address)
        if problem is not None:
            raise Ignored(f"Failed to parse address value in '{address}', ignoring: {problem}")
    ctx.section.listen.append((d.key, address))


def p_bind_ipv6_only(ctx: Context, d: Directive, value: str) -> None:
    # config_parse_socket_bind(): `default`, `both`, `ipv6-only`, or a boolean (yes =
    # ipv6-only, no = both); gpsd.socket says BindIPv6Only=yes (checked on 252's show).
    if value in d.choices:
        set_target(ctx, d.target, value)
        return
    try:
        set_target(ctx, d.target, "ipv6-only" if parse_boolean(value) else "both")
    except ValueParseError:
        raise Ignored(f"Failed to parse {d.what}, ignoring: {value}") from None


def p_symlinks(ctx: Context, d: Directive, value: str) -> None:
    for word in value.split():
        path = printf(ctx, word)
        if not path.startswith("/"):
            ctx.warnings.append(f"{d.key}= path is not absolute, ignoring: {path}")
        elif path not in ctx.section.symlinks:
            ctx.section.symlinks.append(path)


def p_fdname(ctx: Context, d: Directive, value: str) -> None:
    # fdname_is_valid(): printable ASCII without ':', at most 255 characters
    name = printf(ctx, value)
    if len(name) > 255 or any(not (32 <= ord(c) < 127) or c == ":" for c in name):
        raise Ignored(f"Invalid file descriptor name, ignoring: {value}")
    ctx.section.file_descriptor_name = name


def p_size(ctx: Context, d: Directive, value: str) -> None:
    try:
        parse_size(value, 1024)
    except ValueError:
        raise Ignored(f"Failed to parse size value '{value}', ignoring: Invalid argument") from None


def p_int(ctx: Context, d: Directive, value: str) -> None:
    if to_int(value) is None:
        raise Ignored(f"Failed to parse int value, ignoring: {value}")


def p_iptos(ctx: Context, d: Directive, value: str) -> None:
    if (
        value not in ("low-delay", "throughput", "reliability", "low-cost")
        and to_int(value) is None
    ):
        raise Ignored(f"Failed to parse IP TOS value, ignoring: {value}")


def p_socket_protocol(ctx: Context, d: Directive, value: str) -> None:
    if value not in ("udplite", "sctp"):
        raise Ignored(f"Failed to parse socket protocol, ignoring: {value}")


def p_timestamping(ctx: Context, d: Directive, value: str) -> None:
    if value not in ("off", "us", "usec", "µs", "ns", "nsec"):
        raise Ignored(f"Failed to parse timestamping precision, ignoring: {value}")


def p_ifname(ctx: Context, d: Directive, value: str) -> None:
    # ifname_valid(): 1..15 bytes, no '/', ':' or whitespace, not "." or ".."
    bad = (
        not 0 < len(value.encode("utf-8", "surrogateescape")) < 16
        or any(c in "/:" or c.isspace() for c in value)
        or value in (".", "..")
    )
    if bad:
        raise Ignored(f"Invalid interface name, ignoring: {value}")
