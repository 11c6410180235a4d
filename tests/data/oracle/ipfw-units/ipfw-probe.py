# One UDP datagram and one TCP connect to 127.0.0.1 and ::1 (port 9 and 1: nothing
# listens), and what each gave; tests/data/oracle/capture-ipfirewall.sh runs it as a unit.
import socket

for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    u = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        u.sendto(b"x", (addr, 9))
        r = "sent"
    except OSError as e:
        r = e.strerror
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.settimeout(1.5)
    try:
        t.connect((addr, 1))
        c = "connected"
    except OSError as e:
        c = e.strerror or type(e).__name__
    print(f"{addr} udp={r} tcp={c}", flush=True)
