"""Terminal bold on/off strings for pstree -h/-H, from libtinfo exactly as psmisc gets them.

psmisc calls tgetent(area, $TERM), then tgetstr("md") / tgetstr("me") and writes them
with tputs(), which drops `$<n>` padding when no output speed is set (curs_termcap(3X),
curs_terminfo(3X)). Loading libtinfo through ctypes costs start-up time, so this module
is imported only when highlighting is asked for.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_PUTC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)


def _library() -> ctypes.CDLL | None:
    for name in ("libtinfo.so.6", ctypes.util.find_library("tinfo"), "libncursesw.so.6"):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def bold_strings(term: str) -> tuple[bytes, bytes] | None:
    """(md, me) as tputs() would write them for `term`; None when tgetent() fails.

    An absent capability gives b"" (pstree then prints nothing for it).
    """
    lib = _library()
    if lib is None:
        return None
    lib.tgetent.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.tgetent.restype = ctypes.c_int
    lib.tgetstr.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    lib.tgetstr.restype = ctypes.c_void_p
    lib.tputs.argtypes = [ctypes.c_void_p, ctypes.c_int, _PUTC]
    lib.tputs.restype = ctypes.c_int
    area = ctypes.create_string_buffer(2048)
    if lib.tgetent(area, term.encode()) <= 0:
        return None
    result: list[bytes] = []
    for cap in (b"md", b"me"):
        raw = lib.tgetstr(cap, None)
        out = bytearray()

        def put(ch: int, out: bytearray = out) -> int:
            out.append(ch & 0xFF)
            return ch

        if raw:
            lib.tputs(raw, 1, _PUTC(put))
        result.append(bytes(out))
    return result[0], result[1]
