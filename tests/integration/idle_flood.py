#!/usr/bin/env python3
"""idle_flood.py PORT N READY_FILE - open N idle connections to the milter.

Each connection says nothing (the local flood that used to exhaust
libmilter's threads and descriptors). Writes the number actually open to
READY_FILE, then holds them until it is killed.
"""
import resource
import signal
import socket
import sys
import time

port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
held = []
for _ in range(n):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError:
        break
with open(ready, "w") as fp:
    fp.write("%d\n" % len(held))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(1)
