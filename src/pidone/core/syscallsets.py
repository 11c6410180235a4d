"""systemd 252's system call groups (@default, @system-service, ...). STUB: to be generated."""

from __future__ import annotations

SETS: dict[str, tuple[str, ...]] = {}


def expand(name: str) -> tuple[str, ...]:
    """A group's system calls, its @groups expanded, each once, in order."""
    out: list[str] = []
    seen: set[str] = set()

    def walk(n: str) -> None:
        for m in SETS.get(n, ()):
            if m.startswith("@"):
                walk(m)
            elif m not in seen:
                seen.add(m)
                out.append(m)

    walk(name)
    return tuple(out)
