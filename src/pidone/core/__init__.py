"""PURE: what pidone decides. No syscalls, no clock reads, no file I/O (see docs/design.md)."""
