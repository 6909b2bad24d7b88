#!/usr/bin/env python3
"""negotiate_once.py PORT - connect to the milter on 127.0.0.1:PORT, send
option negotiation, exit 0 when its reply arrives within 2 s (1 otherwise)."""
import socket
import struct
import sys

try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.sendall(struct.pack(">I", 13) + b"O" + struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
    head = s.recv(5)
    sys.exit(0 if len(head) == 5 and head[4:5] == b"O" else 1)
except OSError:
    sys.exit(1)
