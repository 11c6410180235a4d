"""SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), pure.

systemd keys its stable per-machine values with it (FixedRandomDelay=: src/core/timer.c
timer_get_fixed_delay_hash()). Written from the paper's description; the test checks the
paper's Appendix A vector.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _MASK


def _rounds(v: list[int], n: int) -> None:
    v0, v1, v2, v3 = v
    for _ in range(n):
        v0 = (v0 + v1) & _MASK
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = (v2 + v3) & _MASK
        v3 = _rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & _MASK
        v3 = _rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & _MASK
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)
    v[:] = [v0, v1, v2, v3]


def siphash24(key: bytes, data: bytes) -> int:
    """The 64-bit SipHash-2-4 of `data` under the 16-byte `key` (little-endian words)."""
    if len(key) != 16:
        raise ValueError("SipHash key must be 16 bytes")
    k0 = int.from_bytes(key[:8], "little")
    k1 = int.from_bytes(key[8:], "little")
    v = [
        k0 ^ 0x736F6D6570736575,
        k1 ^ 0x646F72616E646F6D,
        k0 ^ 0x6C7967656E657261,
        k1 ^ 0x7465646279746573,
    ]
    full = len(data) - len(data) % 8
    for i in range(0, full, 8):
        m = int.from_bytes(data[i : i + 8], "little")
        v[3] ^= m
        _rounds(v, 2)
        v[0] ^= m
    last = int.from_bytes(data[full:], "little") | ((len(data) & 0xFF) << 56)
    v[3] ^= last
    _rounds(v, 2)
    v[0] ^= last
    v[2] ^= 0xFF
    _rounds(v, 4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]
