"""Build hook: compile csrc/pidone-job.c into the installed scripts when a C compiler is found.

Everything else about the package is in pyproject.toml. `pip install .` and
`pip install -e .` both run `build_scripts` (the editable wheel installs its scripts as a
regular one does), so the compiled job-verb client lands next to `pidone` in PREFIX/bin,
where bin/pidone looks for it. No compiler (neither $CC nor `cc` on PATH), or a failed
compile: a one-line note and no binary, and `pidone` keeps using its Python path for
every verb (docs/cli-launcher.md).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

from setuptools import Distribution, setup  # type: ignore[import-untyped]

# distutils' build_scripts as this setuptools provides it (setuptools.command has none)
build_scripts = Distribution().get_command_class("build_scripts")

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join("csrc", "pidone-job.c")
BINARY = "pidone-job"
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra"]


def compiler() -> list[str] | None:
    """$CC (may carry options, as make's CC does), else `cc` on PATH; None when absent."""
    words = shlex.split(os.environ.get("CC", "")) or ["cc"]
    found = shutil.which(words[0])
    return [found, *words[1:]] if found else None


class BuildScriptsWithClient(build_scripts):  # type: ignore[misc,valid-type]
    """The scripts of pyproject.toml's script-files, plus the compiled pidone-job."""

    def run(self) -> None:
        super().run()
        source = os.path.join(HERE, SOURCE)
        target = os.path.join(self.build_dir, BINARY)
        if os.path.exists(target):  # from an earlier build: never install a stale one
            os.unlink(target)
        cc = compiler()
        if cc is None or not os.path.exists(source):
            note = "no C compiler" if cc is None else f"no {SOURCE}"
            sys.stderr.write(f"pidone: {note}; the job verbs use the Python path\n")
            return
        self.mkpath(self.build_dir)
        command = [*cc, *CFLAGS, "-o", target, source]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            sys.stderr.write(f"pidone: {shlex.join(command)} failed ({exc}); Python path\n")
            return
        if done.returncode != 0:
            sys.stderr.write(
                f"pidone: {shlex.join(command)} failed; the job verbs use the Python path\n"
                f"{done.stderr}"
            )
            if os.path.exists(target):
                os.unlink(target)


class PlatformDistribution(Distribution):  # type: ignore[misc]
    """A wheel holding pidone-job is for this platform only (not py3-none-any)."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_scripts": BuildScriptsWithClient}, distclass=PlatformDistribution)
