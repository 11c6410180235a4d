"""PermissionsStartOnly= (systemd.service(5)): User= applies to ExecStart= only; the other
commands run as root with full privileges, as with the "+" prefix (Debian's
gearman-job-server creates its /run directory in ExecStartPre= with `install -d -o`)."""

from __future__ import annotations

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system

UNIT = """\
[Service]
Type=oneshot
RemainAfterExit=yes
User=nobody
PermissionsStartOnly={value}
ExecCondition=/bin/sh -c 'echo "condition=$(id -u)"'
ExecStartPre=/bin/sh -c 'echo "pre=$(id -u)"'
ExecStart=/bin/sh -c 'echo "start=$(id -u)"'
ExecStartPost=/bin/sh -c 'echo "post=$(id -u)"'
ExecStop=/bin/sh -c 'echo "stop=$(id -u)"'
"""


@pytest.mark.parametrize(
    ("value", "control_uid"), [("yes", 0), ("no", 65534)], ids=["only-start", "all"]
)
def test_permissions_start_only_spares_the_control_commands(
    pidone_ns: Factory, value: str, control_uid: int
) -> None:
    d = pidone_ns({"pso.service": UNIT.format(value=value)})
    assert d.cli("start", "pso").returncode == 0
    assert d.cli("stop", "pso").returncode == 0
    lines = d.journal("-u", "pso", "-o", "cat").split()
    c = control_uid
    assert [x for x in lines if "=" in x] == [
        f"condition={c}",
        f"pre={c}",
        "start=65534",
        f"post={c}",
        f"stop={c}",
    ]
