#!/usr/bin/env python3
"""syslog_sink.py SOCKET LOGFILE - a tiny syslog daemon for a test's MTA.

Binds a unix datagram socket at SOCKET (the test links it as /dev/log in
the MTA's private mount namespace), then appends every message it receives
to LOGFILE as one line: the <PRI> prefix dropped, embedded newlines turned
into spaces. Runs until it is killed. Used by tests/lib/sendmail.sh: Sendmail
logs only to syslog, and its lines (queue ids, milter actions, quarantine)
are the test's diagnostics.
"""
import os
import re
import socket
import sys


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: syslog_sink.py SOCKET LOGFILE\n")
        return 2
    path, logfile = sys.argv[1], sys.argv[2]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)  # Sendmail's delivery agents may log as another user
    with open(logfile, "ab", buffering=0) as out:
        while True:
            data = sock.recv(65536)
            data = re.sub(rb"^<\d+>", b"", data).rstrip(b"\n\0")
            out.write(data.replace(b"\n", b" ") + b"\n")


if __name__ == "__main__":
    sys.exit(main())
