"""The daemon as PID 1 runs unit generators (systemd.generator(7)) from a scratch directory.

Real processes: each test starts pidoned as PID 1 of its own PID namespace
(pidone.testing.harness), with $PIDONE_GENERATOR_PATH naming the test's generator
directories (linux/generators.py rule 1) and the three generator places on its unit path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pidone.testing.harness import NamespaceDaemon

# systemd's places, which the daemon moves below its runtime directory (unitpaths.py)
GENERATOR_PLACES = ("/run/systemd/generator.early", "/run/systemd/generator.late")


class GeneratorDaemon(NamespaceDaemon):
    """A namespace daemon whose generators come from `gen_path` only."""

    def __init__(self, workdir: Path, units: dict[str, str], gen_path: str) -> None:
        super().__init__(workdir, units)
        self.gen_path = gen_path

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        early, late = GENERATOR_PLACES
        env["PIDONE_UNIT_PATH"] = f"{early}:{self.unit_dir}:/run/systemd/generator:{late}"
        env["PIDONE_GENERATOR_PATH"] = self.gen_path
        return env


def script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


SLEEPER = "[Service]\nExecStart=/bin/sleep 300\n"


@pytest.fixture
def gens(tmp_path: Path) -> tuple[Path, Path]:
    """Two generator directories, the first one overriding the second."""
    first, second = tmp_path / "gen-etc", tmp_path / "gen-lib"
    first.mkdir()
    second.mkdir()
    return first, second


def test_generated_units_and_links_masking_and_a_failure(
    tmp_path: Path, gens: tuple[Path, Path]
) -> None:
    first, second = gens
    # writes a unit and a .wants link for a unit of the test's own directory
    script(
        second / "10-writer",
        f"cat > \"$1/gen-made.service\" <<'EOF'\n{SLEEPER}EOF\n"
        'mkdir -p "$1/anchor.service.wants"\n'
        'ln -s ../gen-made.service "$1/anchor.service.wants/gen-made.service"\n'
        f"cat > \"$3/late-made.service\" <<'EOF'\n{SLEEPER}EOF\n",
    )
    # masked by a /dev/null link of the same name in the earlier directory
    script(second / "20-masked", f"cat > \"$1/masked-made.service\" <<'EOF'\n{SLEEPER}EOF\n")
    os.symlink("/dev/null", first / "20-masked")
    # fails: logged, the others' output kept
    script(second / "30-broken", "echo 'cannot parse /etc/h7tab' >&2; exit 4\n")
    units = {
        "anchor.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n"
    }
    with GeneratorDaemon(tmp_path, units, f"{first}:{second}") as d:
        assert d.cli("start", "anchor.service").returncode == 0
        info = d.wait_state("gen-made.service", "active/running")
        assert info["active"] == "active"
        shown = d.cli("status", "gen-made.service").stdout
        assert f"{d.runtime_dir}/generator/gen-made.service; generated" in shown
        late = d.cli("status", "late-made.service").stdout
        assert f"{d.runtime_dir}/generator.late/late-made.service" in late
        masked = d.cli("start", "masked-made.service")
        assert masked.returncode != 0
        assert "masked-made.service not found" in masked.stderr
        journal = d.journal("-b", "-o", "cat")
        assert "30-broken: cannot parse /etc/h7tab" in journal
        assert f"{second}/30-broken failed with exit status 4." in journal
        assert d.cli("stop", "gen-made.service").returncode == 0
        assert not [p for p in d.namespace_processes() if "sleep" in p[2]]


def test_reload_drops_a_generated_unit_like_a_removed_file(
    tmp_path: Path, gens: tuple[Path, Path]
) -> None:
    first, _ = gens
    flag = tmp_path / "generate-it"
    flag.touch()
    script(
        first / "on-flag",
        f"[ -e {flag} ] || exit 0\ncat > \"$1/flip.service\" <<'EOF'\n{SLEEPER}EOF\n",
    )
    with GeneratorDaemon(tmp_path, {}, str(first)) as d:
        assert d.cli("start", "flip.service").returncode == 0
        d.wait_state("flip.service", "active/running")
        pid = d.status("flip.service")["main_pid"]
        flag.unlink()
        assert d.cli("daemon-reload").returncode == 0
        # systemd 252: a running unit whose file went away stays up, with its processes,
        # until stopped; its fragment is gone (`not-found`)
        info = d.status("flip.service")
        assert (info["active"], info["sub"]) == ("active", "running")
        assert any(p[0] == pid for p in d.namespace_processes())
        assert not os.path.exists(f"{d.runtime_dir}/generator/flip.service")
        assert d.cli("stop", "flip.service").returncode == 0
        assert not [p for p in d.namespace_processes() if "sleep" in p[2]]
        again = d.cli("start", "flip.service")
        assert again.returncode != 0
        assert "flip.service not found" in again.stderr


def test_generators_see_systemd_252s_environment(tmp_path: Path, gens: tuple[Path, Path]) -> None:
    first, _ = gens
    script(first / "env-dump", 'env > "$3/env.txt"\n')
    with GeneratorDaemon(tmp_path, {}, str(first)) as d:
        text = Path(f"{d.runtime_dir}/generator.late/env.txt").read_text()
    env = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert env["SYSTEMD_SCOPE"] == "system"
    assert env["SYSTEMD_IN_INITRD"] in ("0", "1")
    assert env["SYSTEMD_FIRST_BOOT"] in ("0", "1")
    assert env["SYSTEMD_ARCHITECTURE"] == {"x86_64": "x86-64", "aarch64": "arm64"}.get(
        os.uname().machine, env["SYSTEMD_ARCHITECTURE"]
    )
    # the daemon's own environment is the base, as for its services
    assert env["PIDONE_GENERATOR_PATH"] == str(first)
