"""DevicePolicy=/DeviceAllow= enforced with a cgroup device program (BPF_PROG_TYPE_CGROUP_DEVICE).

core.devicepolicy says which (path, rights) entries a unit may open; this module resolves
them as 252's bpf-devices.c does and builds one small eBPF program that the kernel runs
at every open(2)/mknod(2) of a device node by a process of the unit's cgroup (cgroup v2,
also on the unified hierarchy of a hybrid system): 1 allows, 0 refuses (EPERM).

* `/dev/...`: the node's own type and major:minor (stat(2)); `/dev/char/M:N`,
  `/dev/block/M:N` and 252's `/run/systemd/inaccessible/{chr,blk}` (0:0) are read from
  the path;
* `char-NAME`, `block-NAME`: every major of that type whose driver name in /proc/devices
  matches NAME (fnmatch), any minor; `*` is the whole type; a number is that major;
* rights `r`, `w`, `m` (BPF_DEVCG_ACC_READ, _WRITE, _MKNOD): a request is allowed when
  its access bits are a subset of an entry's.

The program (ctx: struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor},
access_type = access << 16 | type: kernel/bpf/cgroup.c) checks the entries in order and
returns 1 at the first match, else 0. It is attached with BPF_F_ALLOW_MULTI, as 252 attaches
its own, and stays until detached or the cgroup is removed. Loading needs CAP_SYS_ADMIN (or
CAP_BPF); where the kernel refuses, the caller reports the settings as not enforced.
"""

from __future__ import annotations

import fnmatch
import os
import stat

from pidone.linux.bpfcall import insn as _insn
from pidone.linux.bpfcall import prog_attach, prog_detach, prog_load

BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6  # attach type
DEV_BLOCK, DEV_CHAR = 1, 2  # BPF_DEVCG_DEV_*
ACC = {"m": 1, "r": 2, "w": 4}  # BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

# A rule: (type, major or -1 for any, minor or -1 for any, access bits allowed)
Rule = tuple[int, int, int, int]


def _proc_devices_majors(kind: int, pattern: str, text: str) -> list[int]:
    section = "Character devices:" if kind == DEV_CHAR else "Block devices:"
    out, inside = [], False
    for line in text.splitlines():
        if line == section:
            inside = True
            continue
        if not line.strip():
            inside = False
            continue
        words = line.split(None, 1)
        numbered = len(words) == 2 and words[0].isdigit() and int(words[0]) > 0
        if inside and numbered and fnmatch.fnmatchcase(words[1].strip(), pattern):
            out.append(int(words[0]))
    return out


def _device_rule(path: str, access: int) -> Rule | None:
    if path in ("/run/systemd/inaccessible/chr", "/run/systemd/inaccessible/blk"):
        return (DEV_CHAR if path.endswith("chr") else DEV_BLOCK, 0, 0, access)
    for prefix, kind in (("/dev/char/", DEV_CHAR), ("/dev/block/", DEV_BLOCK)):
        numbers = path.removeprefix(prefix).split(":")
        if path.startswith(prefix) and len(numbers) == 2 and all(n.isdigit() for n in numbers):
            return (kind, int(numbers[0]), int(numbers[1]), access)
    try:
        st = os.stat(path)
    except OSError:  # (252: "Couldn't stat device", the entry is skipped)
        return None
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        return None
    kind = DEV_CHAR if stat.S_ISCHR(st.st_mode) else DEV_BLOCK
    return (kind, os.major(st.st_rdev), os.minor(st.st_rdev), access)


def resolve(entries: tuple[tuple[str, str], ...], proc_devices: str | None = None) -> list[Rule]:
    """The rules for core.devicepolicy.allow_list() entries (unresolvable ones skipped)."""
    rules: list[Rule] = []
    for path, rights in entries:
        access = sum(ACC[c] for c in set(rights) if c in ACC)
        if not access:
            continue
        if path.startswith("/dev/") or path.startswith("/run/systemd/inaccessible/"):
            rule = _device_rule(path, access)
            if rule is not None:
                rules.append(rule)
            continue
        kind = DEV_BLOCK if path.startswith("block-") else DEV_CHAR
        if not path.startswith(("block-", "char-")):
            continue  # (252: "Ignoring device ... while writing cgroup attribute")
        name = path.split("-", 1)[1]
        if name == "*":
            rules.append((kind, -1, -1, access))
        elif name.isdigit():
            rules.append((kind, int(name), -1, access))
        else:
            if proc_devices is None:
                with open("/proc/devices", encoding="utf-8", errors="replace") as f:
                    proc_devices = f.read()
            rules += [(kind, m, -1, access) for m in _proc_devices_majors(kind, name, proc_devices)]
    return rules


_LDXW = 0x61  # BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
_AND_K, _RSH_K, _MOV_K, _MOV_X = 0x57, 0x77, 0xB7, 0xBF  # BPF_ALU64 ops
_JNE_K, _JA, _EXIT = 0x55, 0x05, 0x95


def program(rules: list[Rule]) -> bytes:
    """The eBPF instructions: r2 = device type, r3 = access bits, r4 = major, r5 = minor;
    per rule, a mismatch jumps to the next rule; a match returns 1; the end returns 0."""
    out = [
        _insn(_LDXW, 2, 1, 0),
        _insn(_LDXW, 3, 1, 0),
        _insn(_LDXW, 4, 1, 4),
        _insn(_LDXW, 5, 1, 8),
        _insn(_AND_K, 2, imm=0xFFFF),
        _insn(_RSH_K, 3, imm=16),
    ]
    for kind, major, minor, access in rules:
        checks = [(2, kind)]
        checks += [(4, major)] if major >= 0 else []
        checks += [(5, minor)] if minor >= 0 else []
        # each mismatch jumps past this rule's block: the checks, r1 = r3 & ~access (bits
        # asked beyond the allowed ones), "if r1 != 0", then r0 = 1 and exit
        length = len(checks) + 5
        for i, (reg, value) in enumerate(checks):
            out.append(_insn(_JNE_K, reg, off=length - i - 1, imm=value))
        out.append(_insn(_MOV_X, 1, 3))
        out.append(_insn(_AND_K, 1, imm=~access & 0xFFFF))
        out.append(_insn(_JNE_K, 1, off=2, imm=0))
        out += [_insn(_MOV_K, 0, imm=1), _insn(_EXIT)]
    out += [_insn(_MOV_K, 0, imm=0), _insn(_EXIT)]
    return b"".join(out)


def load(code: bytes) -> int:
    """BPF_PROG_LOAD of a cgroup device program; its fd (OSError when refused)."""
    return prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE, code)


def attach(cgroup: str, rules: list[Rule]) -> int:
    """Load the program for `rules` and attach it to `cgroup`; the program's fd (keep it to
    detach). Raises OSError."""
    fd = load(program(rules))
    try:
        prog_attach(cgroup, fd, BPF_CGROUP_DEVICE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def detach(cgroup: str, prog_fd: int) -> None:
    """Detach the program `prog_fd` from `cgroup` (gone already: nothing to do), close it."""
    try:
        prog_detach(cgroup, prog_fd, BPF_CGROUP_DEVICE)
    finally:
        os.close(prog_fd)


_available: bool | None = None


def available() -> bool:
    """Whether this process may load a cgroup device program (cached)."""
    global _available
    if _available is None:
        try:
            os.close(load(program([])))
            _available = True
        except OSError:
            _available = False
    return _available
