#!/usr/bin/env python3
"""dns_wait_others.py HOST PORT N CLIENT_IP - while the DNS server is
silent: N milter connections to HOST:PORT each send CONNECT (from
CLIENT_IP), HELO, MAIL FROM a name no cache holds and RCPT, so each leaves a
worker waiting on DNS; 0.1 s later one more connection negotiates, and its
option negotiation reply is timed. Then the N connections must each get a
reply to their RCPT (a tempfail, once their DNS deadline passed). Prints:

    optneg_ms=MS answered=K/N

gatehouse lets as many workers wait for events as there are CPUs; one that
is about to wait for DNS gives its turn to a standby worker. N is more than
the CPUs, so without that hand-over the new connection would wait for the
DNS deadline.
"""
import os
import select
import socket
import struct
import sys
import time

host, port, n, client_ip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


def frame(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def read_frame(s, deadline):
    """the next frame's command byte from S, or None at DEADLINE or EOF"""
    buf = b""
    want = 5
    while len(buf) < want:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return None
        chunk = s.recv(want - len(buf))
        if not chunk:
            return None
        buf += chunk
        if len(buf) == 5:
            want = 4 + struct.unpack(">I", buf[:4])[0]
    return buf[4:5]


def negotiate():
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(frame(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF)))
    if read_frame(s, time.monotonic() + 5) != b"O":
        raise SystemExit("no option negotiation reply")
    return s


tag = "%d%d" % (os.getpid(), int(time.time()))
waiting = []
for i in range(n):
    s = negotiate()
    s.sendall(frame(b"C", b"client.example\0" + b"4" + struct.pack(">H", 25000 + i) +
                    client_ip.encode() + b"\0") +
              frame(b"H", b"mx.example\0") +
              frame(b"M", ("<w%d@slow%d-%s.example>\0" % (i, i, tag)).encode()) +
              frame(b"R", b"<rcpt@example.org>\0"))
    waiting.append(s)
time.sleep(0.1)
t0 = time.monotonic()
late = negotiate()
optneg_ms = (time.monotonic() - t0) * 1000
late.close()

# every waiting connection answers its RCPT in the end: the last reply
# before the deadline is a tempfail (t) or a reply code (y)
answered = 0
deadline = time.monotonic() + 10
for s in waiting:
    last = None
    while True:
        cmd = read_frame(s, deadline)
        if cmd is None:
            break
        last = cmd
        if cmd in (b"t", b"y", b"r"):
            break
    if last in (b"t", b"y", b"r"):
        answered += 1
    s.close()
print("optneg_ms=%.0f answered=%d/%d" % (optneg_ms, answered, n))
