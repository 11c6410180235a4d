"""IPAddressAllow=/IPAddressDeny= enforced with cgroup socket-buffer programs
(BPF_PROG_TYPE_CGROUP_SKB), as systemd 252's bpf-firewall.c does.

systemd.resource-control(5): a packet of a process of the unit is let through when its
address (the destination going out, the source coming in) matches IPAddressAllow=;
otherwise it is dropped when it matches IPAddressDeny=; otherwise it passes. The kernel
runs one program on every packet a socket of the unit's cgroup sends (BPF_CGROUP_INET_EGRESS)
and one on every packet it receives (BPF_CGROUP_INET_INGRESS); 1 lets the packet pass, 0
drops it, and a dropped outgoing packet fails the send with EPERM ("Operation not
permitted": a connect(2) to a denied address).

systemd keeps the prefixes in LPM-trie maps; the lists units use are a few prefixes (`any`,
`localhost`, a subnet or two), so this program compares them inline instead, which needs
no map. For a cgroup program the packet starts at its network header (the kernel pushes
skb->data there before running it), so the addresses are at fixed offsets: IPv4 saddr 12,
daddr 16 (struct iphdr); IPv6 source 8, destination 24 (struct ip6_hdr). They are copied
to the stack with bpf_skb_load_bytes(); skb->protocol (__sk_buff offset 16) says which
header it is, in network byte order. A packet that is neither IPv4 nor IPv6 passes.
"""

from __future__ import annotations

import os

from pidone.core.hints import TYPE_CHECKING
from pidone.linux.bpfcall import insn, prog_attach, prog_detach, prog_load

if TYPE_CHECKING:
    from pidone.core.ipaccess import Network

BPF_PROG_TYPE_CGROUP_SKB = 8
BPF_CGROUP_INET_INGRESS, BPF_CGROUP_INET_EGRESS = 0, 1  # attach types
_FUNC_SKB_LOAD_BYTES = 26  # BPF_FUNC_skb_load_bytes
_ALLOWED, _DENIED = 1, 2  # verdict bits in r8

# opcodes (<linux/bpf_common.h>, <linux/bpf.h>)
_LDXW = 0x61  # r_dst = *(u32 *)(r_src + off)
_MOV64_X, _MOV64_K, _ADD64_K = 0xBF, 0xB7, 0x07
_MOV32_K, _AND32_K, _OR32_K = 0xB4, 0x54, 0x44
_JNE_K, _JEQ_K, _JA = 0x55, 0x15, 0x05
_JNE32_K = 0x56  # BPF_JMP32: compares the low 32 bits, imm not sign-extended to 64
_CALL, _EXIT = 0x85, 0x95
_ETH_P = {4: 0x0800, 6: 0x86DD}
_ADDRESS_OFFSET = {(4, True): 12, (4, False): 16, (6, True): 8, (6, False): 24}


def _le_words(data: bytes) -> list[int]:
    """`data` as the u32 words a little-endian load of it gives (what the program reads)."""
    return [int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data), 4)]


def _signed(word: int) -> int:
    return word - (1 << 32) if word >= 1 << 31 else word


class _Asm:
    """Instructions with forward jumps to labels, resolved at the end."""

    def __init__(self) -> None:
        self.code: list[tuple[int, int, int, int, int | str]] = []  # off may be a label
        self.labels: dict[str, int] = {}

    def __call__(
        self, code: int, dst: int = 0, src: int = 0, off: int | str = 0, imm: int = 0
    ) -> None:
        self.code.append((code, dst, src, imm, off))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def bytes(self) -> bytes:
        out = []
        for at, (code, dst, src, imm, off) in enumerate(self.code):
            jump = self.labels[off] - at - 1 if isinstance(off, str) else off
            out.append(insn(code, dst, src, jump, imm))
        return b"".join(out)


def _list_block(asm: _Asm, nets: list[Network], ingress: bool, bit: int, tag: str) -> None:
    """Set `bit` in r8 when the packet's address matches one of `nets` (one family each)."""
    for version in (4, 6):
        family = [n for n in nets if n.version == version]
        if not family:
            continue
        size = 4 if version == 4 else 16
        skip = f"{tag}{version}.end"
        proto = int.from_bytes(_ETH_P[version].to_bytes(2, "big"), "little")
        asm(_JNE_K, 7, off=skip, imm=proto)
        asm(_MOV64_X, 1, 6)  # r1 = skb
        asm(_MOV64_K, 2, imm=_ADDRESS_OFFSET[(version, ingress)])
        asm(_MOV64_X, 3, 10)  # r3 = fp - 16: the address on the stack
        asm(_ADD64_K, 3, imm=-16)
        asm(_MOV64_K, 4, imm=size)
        asm(_CALL, imm=_FUNC_SKB_LOAD_BYTES)
        asm(_JNE_K, 0, off=skip, imm=0)  # (a packet too short for its header)
        for index, net in enumerate(family):
            nxt = f"{tag}{version}.{index}"
            addr = _le_words(net.network_address.packed)
            mask = _le_words(net.netmask.packed)
            for word, (a, m) in enumerate(zip(addr, mask, strict=True)):
                if m == 0:
                    continue
                asm(_LDXW, 2, 10, off=-16 + 4 * word)
                if m != 0xFFFFFFFF:
                    asm(_AND32_K, 2, imm=_signed(m))
                asm(_JNE32_K, 2, off=nxt, imm=_signed(a))
            asm(_OR32_K, 8, imm=bit)
            asm(_JA, off=skip)
            asm.label(nxt)
        asm.label(skip)


def program(allow: list[Network], deny: list[Network], ingress: bool) -> bytes:
    """The instructions for one direction: r6 = skb, r7 = skb->protocol, r8 = verdict bits;
    then r0 = 0 when only the deny list matched, else 1."""
    asm = _Asm()
    asm(_MOV64_X, 6, 1)
    asm(_LDXW, 7, 6, off=16)  # __sk_buff.protocol
    asm(_MOV64_K, 8, imm=0)
    _list_block(asm, allow, ingress, _ALLOWED, "a")
    _list_block(asm, deny, ingress, _DENIED, "d")
    asm(_MOV64_K, 0, imm=1)
    asm(_AND32_K, 8, imm=_ALLOWED | _DENIED)
    asm(_JNE_K, 8, off=1, imm=_DENIED)
    asm(_MOV64_K, 0, imm=0)
    asm(_EXIT)
    return asm.bytes()


def attach(cgroup: str, allow: list[Network], deny: list[Network]) -> tuple[int, int]:
    """Load both programs and attach them to `cgroup`: (ingress fd, egress fd), to keep for
    detach(). Raises OSError (nothing stays attached then)."""
    fds: list[int] = []
    try:
        for attach_type in (BPF_CGROUP_INET_INGRESS, BPF_CGROUP_INET_EGRESS):
            code = program(allow, deny, attach_type == BPF_CGROUP_INET_INGRESS)
            fds.append(prog_load(BPF_PROG_TYPE_CGROUP_SKB, attach_type, code))
            prog_attach(cgroup, fds[-1], attach_type)
    except BaseException:
        for attach_type, fd in enumerate(fds):
            prog_detach(cgroup, fd, attach_type)
            os.close(fd)
        raise
    return fds[0], fds[1]


def detach(cgroup: str, fds: tuple[int, int]) -> None:
    """Detach both programs from `cgroup` (gone already: nothing to do) and close them."""
    for attach_type, fd in zip((BPF_CGROUP_INET_INGRESS, BPF_CGROUP_INET_EGRESS), fds, strict=True):
        try:
            prog_detach(cgroup, fd, attach_type)
        finally:
            os.close(fd)


_available: bool | None = None


def available() -> bool:
    """Whether this process may load a cgroup socket-buffer program (cached)."""
    global _available
    if _available is None:
        try:
            code = program([], [], False)
            os.close(prog_load(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, code))
            _available = True
        except OSError:
            _available = False
    return _available
