"""Build hook: compile the `pidone` command (csrc/pidone.c, csrc/pidone-job.c) with a C compiler.

Everything else about the package is in pyproject.toml. `pip install .` and
`pip install -e .` both run `build_scripts` (the editable wheel installs its scripts as a
regular one does): the compiled program replaces the bin/pidone script in PREFIX/bin, next
to pidone-py. No compiler (neither $CC nor `cc` on PATH), or a failed compile: a one-line
note, and the script is installed as it is (it runs every verb in Python;
docs/cli-launcher.md).
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
# the installed `pidone`: the launcher and the job verbs' client, in place of the script
LAUNCHER = "pidone"
LAUNCHER_SOURCES = [os.path.join("csrc", "pidone.c"), os.path.join("csrc", "pidone-job.c")]
DAEMON = "pidoned"  # a copy of the compiled launcher, in place of bin/pidoned
OBSOLETE = ["pidone-job"]  # what earlier builds put next to the scripts: never install it again
# the compiled spawn helper (the daemon looks for it next to its interpreter and in the
# scripts directory: linux/spawn_cgroup.py find_compiled_helper); without it the daemon
# uses the Python one (linux/spawnhelper.py) for every plan
SPAWN_HELPER = "pidone-spawn"
SPAWN_HELPER_SOURCES = [os.path.join("csrc", "pidone-spawn.c")]
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra"]
# Linked as a static PIE where the toolchain can (glibc's libc.a: Debian's libc6-dev has it):
# no dynamic loader, whose mapping and relocating of libc.so is ~0.3 ms of every call here
# (more than the rest of a job verb's client); else linked as usual.
LINKS = [["-static-pie"], []]


def compiler() -> list[str] | None:
    """$CC (may carry options, as make's CC does), else `cc` on PATH; None when absent."""
    words = shlex.split(os.environ.get("CC", "")) or ["cc"]
    found = shutil.which(words[0])
    return [found, *words[1:]] if found else None


def compile_program(cc: list[str], sources: list[str], target: str) -> str | None:
    """Compiles and links `sources` (paths under HERE) into `target`, trying each of LINKS;
    None when it worked, else what went wrong (the last attempt's)."""
    temporary = f"{target}.tmp"
    problem = None
    for link in LINKS:
        command = [*cc, *CFLAGS, *link, "-o", temporary, *(os.path.join(HERE, s) for s in sources)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            problem = f"{shlex.join(command)} failed ({exc})"
            continue
        if done.returncode == 0:
            os.replace(temporary, target)  # over the script build_scripts copied there
            return None
        problem = f"{shlex.join(command)} failed\n{done.stderr}"
    if os.path.exists(temporary):
        os.unlink(temporary)
    return problem


class BuildScriptsWithClient(build_scripts):  # type: ignore[misc,valid-type]
    """The scripts of pyproject.toml's script-files, `pidone` compiled when it can be."""

    def run(self) -> None:
        # build_scripts copies a script only when it is newer than the build's copy: drop a
        # compiled `pidone` of an earlier build, so a failed compile installs the script.
        for name in [LAUNCHER, DAEMON, SPAWN_HELPER, *OBSOLETE]:
            if os.path.exists(os.path.join(self.build_dir, name)):
                os.unlink(os.path.join(self.build_dir, name))
        super().run()
        cc = compiler()
        self._build_spawn_helper(cc)
        missing = [s for s in LAUNCHER_SOURCES if not os.path.exists(os.path.join(HERE, s))]
        if cc is None or missing:
            note = "no C compiler" if cc is None else f"no {missing[0]}"
            sys.stderr.write(f"pidone: {note}; `pidone` is the sh script (Python path)\n")
            return
        target = os.path.join(self.build_dir, LAUNCHER)
        problem = compile_program(cc, LAUNCHER_SOURCES, target)
        if problem:
            sys.stderr.write(f"pidone: {problem}; `pidone` is the sh script (Python path)\n")
        else:
            os.chmod(target, 0o755)  # as build_scripts leaves a script (cc's follows the umask)
            # `pidoned` is the same program (it runs `pidone daemon` when called so): the
            # daemon starts as a child subreaper without loading ctypes, as `pidone daemon`
            daemon = os.path.join(self.build_dir, DAEMON)
            shutil.copyfile(target, daemon)
            os.chmod(daemon, 0o755)

    def _build_spawn_helper(self, cc: list[str] | None) -> None:
        """pidone-spawn next to the scripts; without it, a one-line note (not an error)."""
        if cc is None:
            sys.stderr.write("pidone: no C compiler; the daemon spawns through its Python helper\n")
            return
        target = os.path.join(self.build_dir, SPAWN_HELPER)
        self.mkpath(self.build_dir)
        problem = compile_program(cc, SPAWN_HELPER_SOURCES, target)
        if problem:
            sys.stderr.write(f"pidone: {problem}; the daemon spawns through its Python helper\n")
        else:
            os.chmod(target, 0o755)


class PlatformDistribution(Distribution):  # type: ignore[misc]
    """A wheel holding a compiled `pidone` is for this platform only (not py3-none-any)."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_scripts": BuildScriptsWithClient}, distclass=PlatformDistribution)
