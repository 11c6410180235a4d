"""Capability sets and secure bits: names, masks and systemd 252's assignment rules.

CapabilityBoundingSet= and AmbientCapabilities= (man 5 systemd.exec; systemd
src/core/load-fragment.c config_parse_capability_set()):

1. A value is a space-separated list of names (`CAP_NET_BIND_SERVICE`, case-insensitive,
   the `cap_` prefix optional in systemd's capability_from_name()) or numbers; a leading
   `~` inverts it ("everything but these").
2. The first assignment, an empty one or a lone `~` replaces the set (empty bounding set =
   no capabilities at all, as redis-server.service uses it); later ones merge: a plain
   list is OR-ed in, an inverted one is masked out.
3. Unknown names are ignored with a warning (capability_set_from_string() returns > 0).

SecureBits= (config_parse_exec_secure_bits()): names from capabilities(7) "The securebits
flags", OR-ed across assignments; an empty value resets to 0.
"""

from __future__ import annotations

from collections.abc import Iterable

from pidone.core.dataclass_lite import dataclass

# capability(7) numbers 0..40 (<linux/capability.h>, Linux 5.9: CAP_CHECKPOINT_RESTORE = 40)
CAPABILITY_NAMES: tuple[str, ...] = (
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
)
CAP_LAST_KNOWN = len(CAPABILITY_NAMES) - 1
ALL_CAPABILITIES = (1 << 64) - 1  # systemd's CAP_MASK_ALL: "unchanged", whatever the kernel has

CAP_SETPCAP = 8
CAP_NET_BIND_SERVICE = 10
CAP_SYS_MODULE = 16
CAP_SYS_RAWIO = 17
CAP_SYS_ADMIN = 21
CAP_SYS_TIME = 25
CAP_MKNOD = 27
CAP_SYSLOG = 34
CAP_WAKE_ALARM = 35

# capabilities(7) "The securebits flags" (<linux/securebits.h>)
SECURE_BITS: dict[str, int] = {
    "noroot": 1 << 0,
    "noroot-locked": 1 << 1,
    "no-setuid-fixup": 1 << 2,
    "no-setuid-fixup-locked": 1 << 3,
    "keep-caps": 1 << 4,
    "keep-caps-locked": 1 << 5,
}
SECBIT_KEEP_CAPS = SECURE_BITS["keep-caps"]


@dataclass(frozen=True, slots=True)
class CapabilityParse:
    """The resulting mask and the words that named no capability."""

    mask: int
    unknown: tuple[str, ...] = ()


def capability_number(word: str) -> int | None:
    """`CAP_NET_BIND_SERVICE`, `net_bind_service` or `10` -> 10; None if unknown."""
    w = word.strip().lower()
    if w.isdigit():
        n = int(w)
        return n if n < 64 else None
    if not w.startswith("cap_"):
        w = "cap_" + w
    try:
        return CAPABILITY_NAMES.index(w)
    except ValueError:
        return None


def capability_name(n: int) -> str:
    return CAPABILITY_NAMES[n] if 0 <= n <= CAP_LAST_KNOWN else str(n)


def format_capabilities(mask: int, last_cap: int = CAP_LAST_KNOWN) -> str:
    """A mask as systemd shows it: lower-case names, space-separated, in number order."""
    return " ".join(capability_name(n) for n in range(last_cap + 1) if mask >> n & 1)


def parse_capability_assignments(values: Iterable[str], *, bounding: bool) -> CapabilityParse:
    """Fold every `CapabilityBoundingSet=` (bounding) or `AmbientCapabilities=` value (rule 2)."""
    initial = ALL_CAPABILITIES if bounding else 0
    current = initial
    unknown: list[str] = []
    for raw in values:
        text = raw.strip()
        invert = text.startswith("~")
        if invert:
            text = text[1:]
        total = 0
        for word in text.split():
            n = capability_number(word)
            if n is None:
                unknown.append(word)
            else:
                total |= 1 << n
        if total == 0 or current == initial:
            current = (~total & ALL_CAPABILITIES) if invert else total
        elif invert:
            current &= ~total
        else:
            current |= total
    return CapabilityParse(current, tuple(unknown))


def parse_secure_bits(values: Iterable[str]) -> CapabilityParse:
    """Fold every `SecureBits=` value; an empty one resets to 0."""
    bits = 0
    unknown: list[str] = []
    for raw in values:
        words = raw.split()
        if not words:
            bits = 0
        for word in words:
            if word in SECURE_BITS:
                bits |= SECURE_BITS[word]
            else:
                unknown.append(word)
    return CapabilityParse(bits, tuple(unknown))


def bounding_set_drops(keep: int, last_cap: int) -> tuple[int, ...]:
    """The capability numbers to drop (PR_CAPBSET_DROP) so only `keep` stays bounded."""
    return tuple(n for n in range(last_cap + 1) if not keep >> n & 1)


def capability_numbers(mask: int, last_cap: int) -> tuple[int, ...]:
    return tuple(n for n in range(last_cap + 1) if mask >> n & 1)
