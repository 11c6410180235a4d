"""Differential oracle: systemd 252's own parsers, called from libsystemd-shared via ctypes.

The library is loaded in a child process (this file run as a script), so a failed C
assert() in systemd cannot take the test run down. Inputs and outputs travel as JSON with
strings as latin-1-mapped bytes, so any byte sequence round-trips.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import tempfile
from typing import Any

LIBRARY = "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"
CORE_LIBRARY = "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-core-252.so"

# ExtractFlags of systemd 252 (src/basic/extract-word.h), found by probing the library.
EXTRACT_RELAX = 1
EXTRACT_CUNESCAPE = 2
EXTRACT_UNESCAPE_RELAX = 4
EXTRACT_UNQUOTE = 32

RLIMIT_NUMBERS = {
    "LimitCPU": 0,
    "LimitFSIZE": 1,
    "LimitDATA": 2,
    "LimitSTACK": 3,
    "LimitCORE": 4,
    "LimitRSS": 5,
    "LimitNPROC": 6,
    "LimitNOFILE": 7,
    "LimitMEMLOCK": 8,
    "LimitAS": 9,
    "LimitLOCKS": 10,
    "LimitSIGPENDING": 11,
    "LimitMSGQUEUE": 12,
    "LimitNICE": 13,
    "LimitRTPRIO": 14,
    "LimitRTTIME": 15,
}


def available() -> bool:
    return os.path.exists(LIBRARY)


def enc(s: str) -> str:
    """str (surrogateescape) -> JSON-safe latin-1 text of its bytes."""
    return s.encode("utf-8", "surrogateescape").decode("latin-1")


def dec(s: str) -> str:
    return s.encode("latin-1").decode("utf-8", "surrogateescape")


def run_tool(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a systemd tool in a UTF-8 locale and decode its output as UTF-8.

    Other tests may leave the process locale at "C" (via setlocale()), which would change
    both what systemd prints (glyphs such as "μs") and how Python decodes it.
    """
    return subprocess.run(
        argv,
        capture_output=True,
        encoding="utf-8",
        errors="surrogateescape",
        env={**os.environ, "LC_ALL": "C.UTF-8"},
        check=False,
        timeout=timeout,
    )


def call(op: str, items: list[Any]) -> list[Any]:
    """Run `op` over `items` in a child process; returns one result per item."""
    proc = subprocess.run(
        [sys.executable, __file__, op],
        input=json.dumps(items),
        capture_output=True,
        encoding="utf-8",
        check=True,
        timeout=120,
    )
    return list(json.loads(proc.stdout))


# --- child side -----------------------------------------------------------------------------


def _b(s: str) -> bytes:
    return s.encode("latin-1")


def _s(b: bytes | None) -> str | None:
    return None if b is None else b.decode("latin-1")


def _logged(fn: Any) -> tuple[Any, list[str]]:
    """Call fn() with fd 2 captured; returns (result, the "/f:3: " log messages)."""
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            result = fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode("latin-1")
    return result, [line.split(":3: ", 1)[1] for line in text.splitlines() if ":3: " in line]


def _config_parse(lib: Any, name: str) -> Any:
    f = getattr(lib, name)
    f.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint, ctypes.c_char_p, ctypes.c_uint]
    f.argtypes += [ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p]
    return f


def _worker(op: str, items: list[Any]) -> list[Any]:
    lib = ctypes.CDLL(LIBRARY, mode=ctypes.RTLD_GLOBAL)
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    u64 = ctypes.c_uint64
    out: list[Any] = []

    def take(ptr: int | None) -> str | None:
        if not ptr:
            return None
        value = ctypes.string_at(ptr)
        libc.free(ptr)
        return _s(value)

    if op == "parse_time":
        f = lib.parse_time
        f.argtypes = [ctypes.c_char_p, ctypes.POINTER(u64), u64]
        for text, unit in items:
            v = u64()
            r = f(_b(text), ctypes.byref(v), unit)
            out.append(v.value if r >= 0 else None)
    elif op == "format_timespan":
        f = lib.format_timespan
        f.argtypes = [ctypes.c_char_p, ctypes.c_size_t, u64, u64]
        f.restype = ctypes.c_char_p
        for usec, acc in items:
            buf = ctypes.create_string_buffer(256)
            out.append(_s(f(buf, 256, usec, acc)))
    elif op == "parse_size":
        f = lib.parse_size
        f.argtypes = [ctypes.c_char_p, u64, ctypes.POINTER(u64)]
        for text, base in items:
            v = u64()
            r = f(_b(text), base, ctypes.byref(v))
            out.append(v.value if r >= 0 else None)
    elif op == "rlimit_parse":

        class RLimit(ctypes.Structure):
            _fields_ = [("cur", u64), ("max", u64)]

        f = lib.rlimit_parse
        f.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(RLimit)]
        for key, text in items:
            rl = RLimit()
            r = f(RLIMIT_NUMBERS[key], _b(text), ctypes.byref(rl))
            out.append([rl.cur, rl.max] if r >= 0 else None)
    elif op == "parse_mode":
        f = lib.parse_mode
        f.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint32)]
        for text in items:
            v = ctypes.c_uint32()
            r = f(_b(text), ctypes.byref(v))
            out.append(v.value if r >= 0 else None)
    elif op in ("parse_boolean", "signal_from_string", "exit_status_from_string"):
        f = getattr(lib, op)
        f.argtypes = [ctypes.c_char_p]
        for text in items:
            r = f(_b(text))
            out.append(r if r >= 0 else None)
    elif op == "exit_status_to_string":
        f = lib.exit_status_to_string
        f.argtypes = [ctypes.c_int, ctypes.c_int]
        f.restype = ctypes.c_char_p
        out.extend(_s(f(code, classes)) for code, classes in items)
    elif op == "signal_to_string":
        f = lib.signal_to_string
        f.argtypes = [ctypes.c_int]
        f.restype = ctypes.c_char_p
        out.extend(_s(f(n)) for n in items)
    elif op == "extract_words":
        f = lib.extract_first_word
        f.argtypes = [
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        for text, flags in items:
            buf = ctypes.create_string_buffer(_b(text))
            p = ctypes.c_char_p(ctypes.addressof(buf))
            words: list[str | None] = []
            result: Any = words
            while True:
                w = ctypes.c_void_p()
                r = f(ctypes.byref(p), ctypes.byref(w), None, flags)
                if r < 0:
                    result = None
                    break
                if r == 0:
                    break
                words.append(take(w.value))
            out.append(result)
    elif op == "replace_env_argv":
        f = lib.replace_env_argv
        f.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p)]
        f.restype = ctypes.POINTER(ctypes.c_char_p)
        for argv, env in items:
            a = (ctypes.c_char_p * (len(argv) + 1))(*[_b(x) for x in argv], None)
            e = (ctypes.c_char_p * (len(env) + 1))(*[_b(x) for x in env], None)
            res = f(a, e)
            words2: list[str | None] = []
            i = 0
            while res[i] is not None:
                words2.append(_s(res[i]))
                i += 1
            out.append(words2)
    elif op == "load_env_file":
        f = lib.load_env_file
        f.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        for data in items:
            with tempfile.NamedTemporaryFile() as tmp:
                tmp.write(_b(data))
                tmp.flush()
                lst = ctypes.c_void_p()
                r = f(None, tmp.name.encode(), ctypes.byref(lst))
                if r < 0:
                    out.append(None)
                    continue
                arr = ctypes.cast(lst, ctypes.POINTER(ctypes.c_char_p))
                entries = []
                i = 0
                while arr and arr[i] is not None:
                    entries.append(_s(arr[i]))
                    i += 1
                out.append(entries)
    elif op == "env_assignment_is_valid":
        f = lib.env_assignment_is_valid
        f.argtypes = [ctypes.c_char_p]
        f.restype = ctypes.c_bool
        out.extend(bool(f(_b(t))) for t in items)
    elif op == "unit_name_escape":
        f = lib.unit_name_escape
        f.argtypes = [ctypes.c_char_p]
        f.restype = ctypes.c_void_p
        out.extend(take(f(_b(t))) for t in items)
    elif op in ("unit_name_path_escape", "unit_name_unescape", "unit_name_path_unescape"):
        f = getattr(lib, op)
        f.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        for t in items:
            ret = ctypes.c_void_p()
            r = f(_b(t), ctypes.byref(ret))
            out.append(take(ret.value) if r >= 0 else None)
    elif op == "config_parse_environ":
        # Environment= as systemd's own parser handles it; with no unit, specifiers are
        # the host ones (%H %m %T ...) and unit ones (%n %i ...) are unknown.
        f = _config_parse(ctypes.CDLL(CORE_LIBRARY), "config_parse_environ")
        for text in items:
            env = ctypes.c_void_p()
            r, logs = _logged(
                lambda env=env, text=text: f(
                    b"u.service", b"/f", 3, b"Service", 1, b"Environment", 0, _b(text),
                    ctypes.byref(env), None,
                )
            )  # fmt: skip
            arr = ctypes.cast(env, ctypes.POINTER(ctypes.c_char_p))
            entries = []
            i = 0
            while env.value and arr[i] is not None:
                entries.append(_s(arr[i]))
                i += 1
            out.append([r, entries, logs])
    elif op == "config_parse_set_status":

        class Bitmap(ctypes.Structure):
            _fields_ = [("bitmaps", ctypes.POINTER(u64)), ("n_bitmaps", ctypes.c_size_t)]

        class StatusSet(ctypes.Structure):
            _fields_ = [("status", Bitmap), ("signal", Bitmap)]

        def bits(bm: Bitmap) -> list[int]:
            return [
                64 * i + b for i in range(bm.n_bitmaps) for b in range(64) if bm.bitmaps[i] >> b & 1
            ]

        f = _config_parse(ctypes.CDLL(CORE_LIBRARY), "config_parse_set_status")
        for text in items:
            st = StatusSet()
            r, logs = _logged(
                lambda st=st, text=text: f(
                    b"u.service", b"/f", 3, b"Service", 1, b"SuccessExitStatus", 0, _b(text),
                    ctypes.byref(st), None,
                )
            )  # fmt: skip
            out.append([r, bits(st.status), bits(st.signal), logs])
    else:
        raise SystemExit(f"unknown op {op}")
    return out


if __name__ == "__main__":
    json.dump(_worker(sys.argv[1], json.load(sys.stdin)), sys.stdout)
