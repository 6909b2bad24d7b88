#!/usr/bin/env python3
"""notify_listen.py SOCKET OUT - stand in for systemd's notification socket.

Binds an AF_UNIX datagram socket at SOCKET (what NOTIFY_SOCKET names) and
appends every message gatehouse sends (READY=1, RELOADING=1, WATCHDOG=1 ...)
to OUT, one assignment per line, until it is killed. The suite reads OUT.
"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as fp:
    while True:
        data = s.recv(4096)
        for line in data.decode("utf-8", "replace").splitlines():
            fp.write(line + "\n")
