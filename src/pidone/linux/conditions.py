"""Condition*=/Assert*= checks against the running system (man 5 systemd.unit, spec 04 §1.1).

Rules (systemd 252 src/shared/condition.c condition_test_list()):

1. Every check without `|` must hold; of the checks with `|` (triggering), at least one must
   hold when there are any. `!` negates the raw result.
2. Conditions and asserts are evaluated the same way; a failed Assert*= fails the start job
   (`assert`) while a failed Condition*= skips it silently.
3. A check that cannot be evaluated (an error reading the system) counts as failed, except
   for kinds pidone does not know: those pass with a warning, so a unit written for a newer
   systemd still starts.
"""

from __future__ import annotations

import fnmatch
import os
import re
import socket
from collections.abc import Callable, Sequence

from pidone.core.dataclass_lite import dataclass
from pidone.core.model import Condition
from pidone.linux import userdb


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome; `failed` names the first failing check as systemd prints it."""

    ok: bool
    failed: str = ""
    assert_failed: bool = False
    warnings: tuple[str, ...] = ()


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _path_exists(v: str) -> bool:
    return os.path.lexists(v) or os.path.exists(v)


def _file_not_empty(v: str) -> bool:
    try:
        st = os.stat(v)
    except OSError:
        return False
    return os.path.isfile(v) and st.st_size > 0


def _executable(v: str) -> bool:
    return os.path.isfile(v) and os.access(v, os.X_OK)


def _dir_not_empty(v: str) -> bool:
    try:
        return os.path.isdir(v) and any(not n.startswith(".") for n in os.listdir(v))
    except OSError:
        return False


# --- virtualization (systemd-detect-virt) ----------------------------------------------------

_CONTAINER_NAMES = (
    "docker",
    "podman",
    "lxc",
    "lxc-libvirt",
    "systemd-nspawn",
    "rkt",
    "wsl",
    "proot",
    "pouch",
    "openvz",
    "container-other",
)
_VM_VENDORS = (
    ("KVM", "kvm"),
    ("QEMU", "qemu"),
    ("VMware", "vmware"),
    ("VMW", "vmware"),
    ("innotek GmbH", "oracle"),
    ("VirtualBox", "oracle"),
    ("Xen", "xen"),
    ("Bochs", "bochs"),
    ("Parallels", "parallels"),
    ("BHYVE", "bhyve"),
    ("Hyper-V", "microsoft"),
    ("Microsoft Corporation", "microsoft"),
    ("Amazon EC2", "amazon"),
    ("Google", "google"),
)


def detect_container() -> str:
    """The container technology we run in, or "" (detect_container(), simplified)."""
    text = _read("/run/systemd/container").strip()
    if text:
        return text
    try:
        with open("/proc/1/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"container="):
                    return item[10:].decode(errors="replace") or "container-other"
    except OSError:
        pass
    if os.path.exists("/.dockerenv"):
        return "docker"
    if os.path.exists("/run/.containerenv"):
        return "podman"
    cgroup = _read("/proc/1/cgroup")
    for hint, name in (("/docker/", "docker"), ("/lxc/", "lxc"), ("kubepods", "docker")):
        if hint in cgroup:
            return name
    return ""


def detect_vm() -> str:
    """The hypervisor we run under, or "" (DMI vendor strings, then the cpuinfo flag)."""
    for name in ("sys_vendor", "product_name", "board_vendor", "bios_vendor"):
        text = _read(f"/sys/class/dmi/id/{name}")
        for needle, vm in _VM_VENDORS:
            if text.startswith(needle):
                return vm
    if re.search(r"^flags\s*:.*\bhypervisor\b", _read("/proc/cpuinfo"), re.M):
        return "vm-other"
    return ""


def _virtualization(v: str) -> bool:
    container, vm = detect_container(), detect_vm()
    if v in ("yes", "true", "1"):
        return bool(container or vm)
    if v in ("no", "false", "0"):
        return not (container or vm)
    if v == "container":
        return bool(container)
    if v == "vm":
        return bool(vm) and not container
    return v in (container, vm)


# --- the rest --------------------------------------------------------------------------------

_CAPS = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
]


def _capability(v: str) -> bool:
    name = v.lower().removeprefix("cap_")
    if name not in _CAPS:
        return False
    for line in _read("/proc/self/status").splitlines():
        if line.startswith("CapBnd:"):
            return bool(int(line.split()[1], 16) >> _CAPS.index(name) & 1)
    return False


def _kernel_command_line(v: str) -> bool:
    words = _read("/proc/cmdline").split()
    if "=" in v:
        return v in words
    return any(w == v or w.startswith(v + "=") for w in words)


def _host(v: str) -> bool:
    machine_id = _read("/etc/machine-id").strip()
    if re.fullmatch(r"[0-9a-fA-F-]{32,36}", v):
        return v.replace("-", "").lower() == machine_id
    return fnmatch.fnmatchcase(socket.gethostname(), v)


def _user(v: str) -> bool:
    uid = os.getuid()
    if v == "@system":
        return uid < 1000
    if v.isdigit():
        return int(v) in (uid, os.geteuid())
    user = userdb.user_by_name(v)
    return user is not None and user.uid in (uid, os.geteuid())


def _group(v: str) -> bool:
    ids = {os.getgid(), os.getegid(), *os.getgroups()}
    if v.isdigit():
        return int(v) in ids
    gid = userdb.gid_by_name(v)
    return gid is not None and gid in ids


def _compare(v: str, actual: float, parse: Callable[[str], float]) -> bool:
    m = re.fullmatch(r"\s*(<=|>=|!=|<|>|=)?\s*(\S+)\s*", v)
    if m is None:
        return False
    op, value = m.group(1) or "=", parse(m.group(2))
    return {
        "<": actual < value,
        "<=": actual <= value,
        "=": actual == value,
        "!=": actual != value,
        ">=": actual >= value,
        ">": actual > value,
    }[op]


def _size(text: str) -> float:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text[-1:].upper() in units:
        return float(text[:-1]) * units[text[-1].upper()]
    return float(text)


def _memory(v: str) -> bool:
    m = re.search(r"^MemTotal:\s+(\d+) kB", _read("/proc/meminfo"), re.M)
    return m is not None and _compare(v, int(m.group(1)) * 1024, _size)


def _cpus(v: str) -> bool:
    return _compare(v, len(os.sched_getaffinity(0)), float)


def _ac_power(v: str) -> bool:
    import glob  # here and in _glob_exists only: glob (~0.2 MiB) is no import of every daemon

    on_ac = True
    found_ac = False
    for supply in glob.glob("/sys/class/power_supply/*"):
        if _read(f"{supply}/type").strip() == "Mains":
            found_ac = True
            on_ac = _read(f"{supply}/online").strip() == "1"
            if on_ac:
                break
    result = on_ac if found_ac else True
    return result == (v.lower() in ("yes", "true", "1", "on"))


def _environment(v: str) -> bool:
    if "=" in v:
        name, value = v.split("=", 1)
        return os.environ.get(name) == value
    return v in os.environ


_ARCH = {
    "x86_64": "x86-64",
    "i686": "x86",
    "i386": "x86",
    "aarch64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64-le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def _architecture(v: str) -> bool:
    arch = _ARCH.get(os.uname().machine, os.uname().machine)
    return v in (arch, "native")


def _security(v: str) -> bool:
    lsms = _read("/sys/kernel/security/lsm").split(",")
    if v == "selinux":
        return os.path.isdir("/sys/fs/selinux")
    if v == "apparmor":
        return "apparmor" in lsms or os.path.isdir("/sys/kernel/security/apparmor")
    if v in ("smack", "tomoyo", "ima", "audit", "uefi-secureboot", "tpm2"):
        return v in lsms or (v == "audit" and os.path.exists("/proc/self/loginuid"))
    return False


def _os_release(v: str) -> bool:
    fields = {}
    for line in (_read("/etc/os-release") or _read("/usr/lib/os-release")).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'")
    for term in v.split():
        m = re.fullmatch(r"([A-Z_]+)(!=|=|<=|>=|<|>|\$=|!\$=)(.*)", term)
        if m is None:
            return False
        key, op, want = m.groups()
        have = fields.get(key, "")
        if op in ("=", "!="):
            if (have == want) != (op == "="):
                return False
        elif op in ("$=", "!$="):
            if fnmatch.fnmatchcase(have, want) != (op == "$="):
                return False
        elif not _compare(op + want, _version_key(have), _version_key):
            return False
    return True


def _version_key(text: str) -> float:
    parts = re.findall(r"\d+", text)[:3]
    key = 0.0
    for i, part in enumerate(parts):
        key += int(part) / (1000.0**i)
    return key


def _kernel_version(v: str) -> bool:
    release = os.uname().release
    m = re.fullmatch(r"\s*(<=|>=|!=|<|>|=)\s*(.+)", v)
    if m is None:
        return fnmatch.fnmatchcase(release, v.strip())
    return _compare(m.group(1) + m.group(2).strip(), _version_key(release), _version_key)


def _first_boot(v: str) -> bool:
    first = os.path.exists("/run/systemd/first-boot")
    return first == (v.lower() in ("yes", "true", "1", "on"))


def _glob_exists(v: str) -> bool:
    """glob_exists(): glob(3) with GLOB_BRACE (systemd 252 src/basic/glob-util.c), so
    clamav-daemon's `ConditionPathExistsGlob=/var/lib/clamav/main.{c[vl]d,inc}` holds when
    main.cvd exists. Python's glob has no braces: they are expanded first."""
    import glob

    return any(glob.glob(p) for p in brace_expand(v))


def brace_expand(pattern: str) -> list[str]:
    """GLOB_BRACE's expansion: the first unescaped `{` with its matching `}` gives one
    pattern per top-level comma-separated alternative, nested braces in turn (`{a,b{c,d}}`
    -> a, bc, bd); a `{` without its `}` is kept as it is (glibc: "an invalid expression",
    globbed without GLOB_BRACE)."""
    depth, start, i = 0, -1, 0
    commas: list[int] = []
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2  # an escaped character is no brace (GLOB_NOESCAPE is not set)
            continue
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                head, tail = pattern[:start], pattern[i + 1 :]
                cuts = [start, *commas, i]
                alternatives = [pattern[cuts[k] + 1 : cuts[k + 1]] for k in range(len(cuts) - 1)]
                return [p for alt in alternatives for p in brace_expand(head + alt + tail)]
        elif c == "," and depth == 1:
            commas.append(i)
        i += 1
    return [pattern]


def _needs_update(v: str) -> bool:
    directory = v.lstrip("!")
    try:
        target = os.stat(directory).st_mtime
        usr = os.stat("/usr").st_mtime
    except OSError:
        return False
    return usr > target


CHECKS: dict[str, Callable[[str], bool]] = {
    "PathExists": _path_exists,
    "PathExistsGlob": _glob_exists,
    "PathIsDirectory": os.path.isdir,
    "PathIsSymbolicLink": os.path.islink,
    "PathIsMountPoint": os.path.ismount,
    "PathIsReadWrite": lambda v: os.access(v, os.W_OK),
    "FileNotEmpty": _file_not_empty,
    "FileIsExecutable": _executable,
    "DirectoryNotEmpty": _dir_not_empty,
    "Virtualization": _virtualization,
    "Capability": _capability,
    "KernelCommandLine": _kernel_command_line,
    "Host": _host,
    "User": _user,
    "Group": _group,
    "CPUs": _cpus,
    "ACPower": _ac_power,
    "Environment": _environment,
    "Architecture": _architecture,
    "Security": _security,
    "OSRelease": _os_release,
    "Memory": _memory,
    "FirstBoot": _first_boot,
    "NeedsUpdate": _needs_update,
    "KernelVersion": _kernel_version,
}


def format_check(c: Condition) -> str:
    """`ConditionPathExists=|!/x` as systemd prints a check."""
    prefix = "Assert" if c.is_assert else "Condition"
    return f"{prefix}{c.kind}={'|' if c.trigger else ''}{'!' if c.negate else ''}{c.value}"


def _run(c: Condition, warnings: list[str]) -> bool:
    check = CHECKS.get(c.kind)
    if check is None:
        warnings.append(f"Unsupported check {format_check(c)}, assuming it holds.")
        return True
    try:
        raw = check(c.value)
    except (OSError, ValueError, KeyError, IndexError):
        raw = False
    return raw != c.negate


def _test_list(items: Sequence[Condition], warnings: list[str]) -> str | None:
    """None when the list holds (rule 1), else the failing check's text."""
    triggered = False
    first_trigger_failure = ""
    for c in items:
        ok = _run(c, warnings)
        if c.trigger:
            triggered = triggered or ok
            if not ok and not first_trigger_failure:
                first_trigger_failure = format_check(c)
        elif not ok:
            return format_check(c)
    if first_trigger_failure and not triggered:
        return first_trigger_failure
    return None


def evaluate(conditions: Sequence[Condition], asserts: Sequence[Condition]) -> Verdict:
    """Conditions first, then asserts (unit_test_condition(), unit_test_assert())."""
    warnings: list[str] = []
    failed = _test_list(conditions, warnings)
    if failed is not None:
        return Verdict(False, failed, False, tuple(warnings))
    failed = _test_list(asserts, warnings)
    if failed is not None:
        return Verdict(False, failed, True, tuple(warnings))
    return Verdict(True, "", False, tuple(warnings))
