#!/usr/bin/env python3
"""idle_timeout.py SOCKET SECONDS SESSION_SECONDS - four milter connections
to SOCKET (a unix socket path), each after option negotiation:

  silent    falls silent before any SMTP session (no CONNECT);
  talker    sends a macro packet (which needs no reply) every SECONDS/4;
  session   sends CONNECT, MAIL and RCPT, then falls silent, as the MTA does
            while its client sends a message;
  midframe  sends CONNECT, then the first bytes of a frame, and stops.

Watches them for SESSION_SECONDS + 2 x SECONDS + 1 seconds and prints one
line:

    silent_closed_after=S midframe_closed_after=S session_closed_after=S talker_open=yes|no

each S being when that connection read end-of-file, in seconds since it fell
silent ("never" when it was still open at the end).
"""
import select
import socket
import struct
import sys
import time

path, timeout, session_timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])


def frame(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def read_frame(s):
    """one whole frame from S (blocking, 5 s at most); its command byte"""
    s.settimeout(5)
    head = b""
    while len(head) < 5:
        chunk = s.recv(5 - len(head))
        if not chunk:
            raise SystemExit("connection closed while a reply was due")
        head += chunk
    rest = struct.unpack(">I", head[:4])[0] - 1
    while rest > 0:
        rest -= len(s.recv(rest))
    return head[4:5]


def negotiate():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(frame(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF)))
    if read_frame(s) != b"O":
        raise SystemExit("no option negotiation reply")
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


CONNECT = frame(b"C", b"client.example\0" + b"4" + struct.pack(">H", 25) + b"192.0.2.7\0")

silent, talker, session, midframe = negotiate(), negotiate(), negotiate(), negotiate()
# negotiated as the MTA offered: CONNECT needs no reply, MAIL and RCPT do
session.sendall(CONNECT + frame(b"M", b"<a@example.org>\0"))
read_frame(session)
session.sendall(frame(b"R", b"<b@example.net>\0"))
read_frame(session)
session.setblocking(False)
midframe.sendall(CONNECT + struct.pack(">I", 20) + b"M<a@")

start = time.monotonic()
after = {"silent": None, "midframe": None, "session": None}
conns = {"silent": silent, "midframe": midframe, "session": session}
while time.monotonic() - start < session_timeout + 2 * timeout + 1:
    talker.sendall(frame(b"D", b"C" + b"j\0mx.example\0"))
    for name, s in conns.items():
        if after[name] is None and closed(s):
            after[name] = time.monotonic() - start
    time.sleep(timeout / 4)


def show(v):
    return "never" if v is None else "%.1f" % v


print("silent_closed_after=%s midframe_closed_after=%s session_closed_after=%s talker_open=%s" % (
    show(after["silent"]), show(after["midframe"]), show(after["session"]),
    "no" if closed(talker) else "yes"))
