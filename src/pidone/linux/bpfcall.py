"""bpf(2) for cgroup programs: load, attach, detach (the shared part of linux.bpfdevices and
linux.bpffirewall).

No libbpf: the few commands these programs need are one system call each, made through
ctypes with a `union bpf_attr` packed by hand (<linux/bpf.h>). Loading a cgroup program
needs CAP_SYS_ADMIN (or CAP_BPF); callers treat an OSError as "this machine cannot enforce
it" and say so.
"""

from __future__ import annotations

import os
import struct

from pidone.core.hints import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

    Attr = ctypes.Array[ctypes.c_char]  # a union bpf_attr in a ctypes buffer

BPF_PROG_LOAD, BPF_PROG_ATTACH, BPF_PROG_DETACH = 5, 8, 9  # <linux/bpf.h> commands
BPF_F_ALLOW_MULTI = 2
_SYS_BPF = {"x86_64": 321, "aarch64": 280}


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One eBPF instruction (struct bpf_insn: opcode, dst:4 src:4, s16 offset, s32 imm)."""
    return struct.pack("<BBhi", code, src << 4 | dst, off, imm)


class _Bpf:
    def __init__(self) -> None:
        import ctypes

        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.syscall.restype = ctypes.c_long
        self.nr = _SYS_BPF.get(os.uname().machine, -1)

    def call(self, cmd: int, attr: Attr) -> int:
        if self.nr < 0:
            raise OSError(38, "bpf(2): unknown system call number here")
        r = int(self.libc.syscall(self.nr, cmd, attr, len(attr)))
        if r < 0:
            err = self.ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return r


_bpf: _Bpf | None = None


def _lib() -> _Bpf:
    global _bpf
    if _bpf is None:
        _bpf = _Bpf()
    return _bpf


def prog_load(prog_type: int, attach_type: int, code: bytes) -> int:
    """BPF_PROG_LOAD of `code` (GPL) for `attach_type`; the program's fd. Raises OSError."""
    b = _lib()
    c = b.ctypes
    insns = c.create_string_buffer(code, len(code))
    license_ = c.create_string_buffer(b"GPL")
    attr = c.create_string_buffer(128)  # union bpf_attr, the BPF_PROG_LOAD member
    struct.pack_into("<IIQQ", attr, 0, prog_type, len(code) // 8,
                     c.addressof(insns), c.addressof(license_))  # fmt: skip
    struct.pack_into("<I", attr, 68, attach_type)  # expected_attach_type
    return b.call(BPF_PROG_LOAD, attr)


def _attach_attr(cgroup_fd: int, prog_fd: int, attach_type: int, flags: int) -> Attr:
    import ctypes

    attr = ctypes.create_string_buffer(128)
    struct.pack_into("<IIII", attr, 0, cgroup_fd, prog_fd, attach_type, flags)
    return attr


def prog_attach(cgroup: str, prog_fd: int, attach_type: int) -> None:
    """Attach `prog_fd` to the cgroup directory `cgroup` with BPF_F_ALLOW_MULTI (as systemd
    252 attaches its own: the programs of the parent cgroups keep running too)."""
    cg = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _lib().call(BPF_PROG_ATTACH, _attach_attr(cg, prog_fd, attach_type, BPF_F_ALLOW_MULTI))
    finally:
        os.close(cg)


def prog_detach(cgroup: str, prog_fd: int, attach_type: int) -> None:
    """Detach `prog_fd` from `cgroup`; a cgroup already gone is no error. Does not close."""
    try:
        cg = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _lib().call(BPF_PROG_DETACH, _attach_attr(cg, prog_fd, attach_type, 0))
        finally:
            os.close(cg)
    except OSError:
        pass
