"""linux.spawn asks core.model's predicate, not core.seccompplan, whether a spawn has
seccomp filters: every seccomp setting counts, and a plain context loads nothing."""

from __future__ import annotations

import pytest

from pidone.core import seccompplan
from pidone.core.dataclass_lite import replace
from pidone.core.model import ExecContext
from pidone.linux import spawn

SETTINGS: list[dict[str, object]] = [
    {"syscall_filter": {"swapoff": -1}},
    {"syscall_allow_list": True},
    {"syscall_log": {"read": -1}},
    {"syscall_log_allow_list": True},
    {"syscall_archs": ["native"]},
    {"address_families": [1]},
    {"address_families_allow_list": True},
    {"restrict_namespaces": 0},
    {"lock_personality": True},
    {"memory_deny_write_execute": True},
    {"restrict_realtime": True},
    {"restrict_suid_sgid": True},
    {"private_devices": True},
    {"protect_clock": True},
    {"protect_hostname": True},
    {"protect_kernel_tunables": True},
    {"protect_kernel_modules": True},
    {"protect_kernel_logs": True},
]


@pytest.mark.parametrize("fields", SETTINGS)
def test_every_seccomp_setting_passes_the_pre_check(fields: dict[str, object]) -> None:
    ctx = replace(ExecContext(), **fields)
    assert seccompplan.implies_no_new_privileges(ctx)  # (each one is a seccomp setting)
    assert seccompplan.seccomp_steps(ctx)  # (and each one gives a filter step)


def test_a_plain_context_needs_no_seccomp_module() -> None:
    ctx = ExecContext(user="nobody", private_tmp=True, protect_system="strict")
    assert not seccompplan.implies_no_new_privileges(ctx)
    assert spawn._seccomp_wire(ctx) is None
