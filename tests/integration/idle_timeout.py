#!/usr/bin/env python3
"""idle_timeout.py SOCKET SECONDS - two milter connections to SOCKET (a unix
socket path): one negotiates and falls silent, the other negotiates and then
sends a macro packet (which needs no reply) every SECONDS/4. Prints one line:

    silent_closed_after=S talker_open=yes|no

S is when the silent one read end-of-file, in seconds since it fell silent
("never" when it was still open after 3 x SECONDS); talker_open says whether
the talking one was still open then.
"""
import select
import socket
import struct
import sys
import time

path, timeout = sys.argv[1], float(sys.argv[2])


def frame(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def negotiate():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(frame(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF)))
    s.settimeout(5)
    head = s.recv(5)
    if len(head) < 5 or head[4:5] != b"O":
        raise SystemExit("no option negotiation reply: %r" % head)
    rest = struct.unpack(">I", head[:4])[0] - 1
    while rest > 0:
        rest -= len(s.recv(rest))
    s.setblocking(False)
    return s


def closed(s):
    """end-of-file is waiting on S (nothing else is expected)"""
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(64) == b""
    except OSError:
        return True


silent, talker = negotiate(), negotiate()
start = time.monotonic()
silent_after = None
while time.monotonic() - start < 3 * timeout:
    talker.sendall(frame(b"D", b"C" + b"j\0mx.example\0"))
    if silent_after is None and closed(silent):
        silent_after = time.monotonic() - start
    time.sleep(timeout / 4)
print("silent_closed_after=%s talker_open=%s" % (
    "never" if silent_after is None else "%.1f" % silent_after,
    "no" if closed(talker) else "yes"))
