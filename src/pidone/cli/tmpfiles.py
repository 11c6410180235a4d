"""`pidone tmpfiles --create [--boot] [--root DIR] [CONFIG...]`: the tmpfiles.d --create pass."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from pidone.linux.tmpfiles import run_create

    root = "/"
    files: list[str] = []
    create = False
    boot = False
    args = iter(argv)
    for arg in args:
        if arg == "--create":
            create = True
        elif arg == "--boot":
            boot = True
        elif arg.startswith("--root"):
            root = arg.partition("=")[2] or next(args, "/")
        elif arg.startswith("-"):
            sys.stderr.write(f"pidone tmpfiles: unknown option {arg}\n")
            return 1
        else:
            files.append(arg)
    if not create:
        sys.stderr.write("pidone tmpfiles: only --create is supported\n")
        return 1
    report = run_create(root, files, boot)
    for message in report.skipped or []:
        sys.stderr.write(message + "\n")
    for message in report.errors or []:
        sys.stderr.write(message + "\n")
    return 1 if report.errors else 0
