"""Read the host facts that unit-file specifiers need (machine id, boot id, os-release, user)."""

from __future__ import annotations

import os
from types import MappingProxyType

from pidone.core.environ import parse_environment_file
from pidone.core.errors import ValueParseError
from pidone.core.specifiers import SpecifierHost
from pidone.linux import userdb

# uname -m -> systemd's architecture names (src/basic/architecture.c, `systemd-detect-virt
# --list`-style strings printed by `systemd-analyze` and used by %a and ConditionArchitecture=).
_ARCHITECTURES = {
    "x86_64": "x86-64",
    "i386": "x86",
    "i486": "x86",
    "i586": "x86",
    "i686": "x86",
    "aarch64": "arm64",
    "aarch64_be": "arm64-be",
    "armv7l": "arm",
    "armv8l": "arm",
    "armv6l": "arm",
    "ppc64le": "ppc64-le",
    "ppc64": "ppc64",
    "ppc": "ppc",
    "s390x": "s390x",
    "s390": "s390",
    "riscv64": "riscv64",
    "riscv32": "riscv32",
    "mips64": "mips64",
    "mips": "mips",
    "loongarch64": "loongarch64",
    "sparc64": "sparc64",
    "alpha": "alpha",
    "parisc": "parisc",
    "parisc64": "parisc64",
    "m68k": "m68k",
    "sh4": "sh",
    "arc": "arc",
}


def _read_text(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None


def _join(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5) / machine-info(5) text -> dict; systemd reads both with its env-file
    parser (parse_env_file()), so quoting and escapes follow EnvironmentFile= rules."""
    try:
        pairs, _ = parse_environment_file(text.encode("utf-8", "surrogateescape"))
    except ValueParseError:
        return {}
    return dict(pairs)


def _pretty_hostname(root: str) -> str:
    text = _read_text(_join(root, "/etc/machine-info")) or ""
    return parse_os_release(text).get("PRETTY_HOSTNAME", "")


def _env_path(name: str) -> str | None:
    """$NAME when it is an absolute path without `.`/`..`/`//` parts, else None."""
    value = os.environ.get(name, "")
    if not value.startswith("/") or "//" in value:
        return None
    if any(part in (".", "..") for part in value.split("/")):
        return None
    return value


def _tmpdir() -> str | None:
    """$TMPDIR as systemd's tmp_dir()/var_tmp_dir() take it: absolute and a directory."""
    value = _env_path("TMPDIR")
    return value if value is not None and os.path.isdir(value) else None


def read_specifier_host(root: str = "/") -> SpecifierHost:
    """Collect SpecifierHost facts from `root` (files) and the running kernel and user.

    Missing files give empty strings; os-release is looked up in /etc then /usr/lib.
    Like systemd, $HOME and $SHELL override the password database, and $TMPDIR (when
    it is an existing directory) sets %T and %V.
    """
    machine_id = (_read_text(_join(root, "/etc/machine-id")) or "").strip()
    boot_id = (_read_text(_join(root, "/proc/sys/kernel/random/boot_id")) or "").strip()
    boot_id = boot_id.replace("-", "")  # %b is the 128-bit id without dashes, like %m
    os_text = _read_text(_join(root, "/etc/os-release"))
    if os_text is None:
        os_text = _read_text(_join(root, "/usr/lib/os-release")) or ""
    uname = os.uname()  # what platform.uname() reads on Linux, without importing platform
    uid = os.getuid()
    gid = os.getgid()
    pw = userdb.user_by_uid(uid)  # files first, NSS bounded (linux/userdb.py)
    if pw is not None:
        user_name, home, shell = pw.name, pw.home, pw.shell
    else:
        user_name, home, shell = str(uid), "/", "/bin/sh"
    if uid == 0:
        user_name, home = "root", "/root"  # systemd hardcodes root to avoid NSS lookups
    # get_home_dir()/get_shell(): an absolute, normalized $HOME/$SHELL wins.
    home = _env_path("HOME") or home
    shell = _env_path("SHELL") or shell
    group_name = userdb.group_name(gid) or str(gid)
    if gid == 0:
        group_name = "root"
    return SpecifierHost(
        hostname=uname.nodename,
        machine_id=machine_id,
        boot_id=boot_id,
        kernel_release=uname.release,
        architecture=_ARCHITECTURES.get(uname.machine, uname.machine),
        os_release=MappingProxyType(parse_os_release(os_text)),
        user_name=user_name,
        uid=uid,
        group_name=group_name,
        gid=gid,
        home=home,
        shell=shell,
        pretty_hostname=_pretty_hostname(root),
        tmp_dir=_tmpdir() or "/tmp",
        var_tmp_dir=_tmpdir() or "/var/tmp",
    )
