"""Runtime and state directory defaults, the control socket path, and safe directory creation.

The runtime dir holds sockets (control.sock, the notify socket) and is mode 0755 so that any
local user can reach the world-writable control socket; the state dir (persistent state, the
journal) is 0755 as /var/lib/systemd is. Both are refused when they are symlinks, are not
directories, or belong to another user: a daemon running as root must not follow a path an
unprivileged user planted (the CVE-2018-6954 family of tmpfiles bugs).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import PidoneError
from pidone.core.hints import Final

DEFAULT_RUNTIME_DIR: Final = "/run/pidone"
DEFAULT_STATE_DIR: Final = "/var/lib/pidone"
RUNTIME_DIR_ENV: Final = "PIDONE_RUNTIME_DIR"
CONTROL_SOCKET_NAME: Final = "control.sock"
DIR_MODE: Final = 0o755


class UnsafePath(PidoneError):
    """A runtime or state directory that exists in a state the daemon must not use."""


@dataclass(frozen=True, slots=True)
class DaemonPaths:
    """Where the daemon keeps its sockets and its state."""

    runtime_dir: str
    state_dir: str

    @property
    def control_socket(self) -> str:
        return os.path.join(self.runtime_dir, CONTROL_SOCKET_NAME)

    def runtime_path(self, name: str) -> str:
        return os.path.join(self.runtime_dir, name)

    def state_path(self, name: str) -> str:
        return os.path.join(self.state_dir, name)


def resolve_paths(
    runtime_dir: str | None = None,
    state_dir: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> DaemonPaths:
    """Options first, then $PIDONE_RUNTIME_DIR, then the defaults; always absolute."""
    env = os.environ if environ is None else environ
    runtime = runtime_dir or env.get(RUNTIME_DIR_ENV) or DEFAULT_RUNTIME_DIR
    return DaemonPaths(os.path.abspath(runtime), os.path.abspath(state_dir or DEFAULT_STATE_DIR))


def ensure_dir(path: str, mode: int = DIR_MODE) -> None:
    """Create `path` (and parents) with `mode`, or check that an existing one is ours."""
    try:
        os.makedirs(path, mode=mode, exist_ok=True)
    except FileExistsError:
        raise UnsafePath(f"{path}: exists and is not a directory") from None
    except OSError as exc:
        raise UnsafePath(f"{path}: cannot create directory: {exc.strerror}") from None
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"{path}: is a symlink or not a directory, refusing to use it")
    if st.st_uid != os.geteuid():
        raise UnsafePath(f"{path}: owned by uid {st.st_uid}, not by uid {os.geteuid()}")
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)  # makedirs' mode is filtered by the umask


def prepare_dirs(paths: DaemonPaths) -> None:
    """Create the runtime and state directories with safe modes."""
    ensure_dir(paths.runtime_dir)
    ensure_dir(paths.state_dir)
