#!/usr/bin/env python3
"""slow_client.py - an SMTP client that stops in the middle of a message.

usage: slow_client.py PORT FROM TO TEST_ID READY_FILE GO_FILE [TIMEOUT_S]

Sends EHLO, MAIL, RCPT, DATA and the header plus the first body line, then
creates READY_FILE and waits (at most TIMEOUT_S) until GO_FILE exists. Then
it sends the rest of the body and the final dot, prints the server's reply
and QUITs. Exit status 0 when the message was accepted (2xx after the dot),
1 when the server refused it, 2 on a protocol or timeout problem. Every
line sent and received goes to standard output.
"""
import os
import socket
import sys
import time


def main():
    if len(sys.argv) < 7:
        print(__doc__, file=sys.stderr)
        return 2
    port, sender, rcpt, test_id, ready, go = sys.argv[1:7]
    timeout = float(sys.argv[7]) if len(sys.argv) > 7 else 30.0
    sock = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    rfile = sock.makefile("rb")

    def reply():
        last = ""
        while True:
            line = rfile.readline().decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                raise EOFError("connection closed by the server")
            print("<- " + line, flush=True)
            last = line
            if len(line) < 4 or line[3] != "-":
                return last

    def send(line):
        print("-> " + line, flush=True)
        sock.sendall(line.encode() + b"\r\n")

    def command(line, want):
        send(line)
        r = reply()
        if not r.startswith(want):
            raise RuntimeError("%s: unexpected reply %s" % (line, r))
        return r

    try:
        if not reply().startswith("220"):
            return 2
        command("EHLO slow.gatehouse.test", "250")
        command("MAIL FROM:<%s>" % sender, "250")
        command("RCPT TO:<%s>" % rcpt, "250")
        command("DATA", "354")
        for line in ("From: <%s>" % sender, "To: <%s>" % rcpt,
                     "Subject: slow client", "X-Test-Id: %s" % test_id, "",
                     "first body line, sent before the pause"):
            send(line)
        with open(ready, "w") as f:
            f.write("%d\n" % os.getpid())
        deadline = time.monotonic() + timeout
        while not os.path.exists(go):
            if time.monotonic() > deadline:
                print("timed out waiting for " + go, flush=True)
                return 2
            time.sleep(0.05)
        send("second body line, sent after the pause")
        send(".")
        final = reply()
        try:
            send("QUIT")
            reply()
        except (EOFError, OSError):
            pass
        return 0 if final.startswith("2") else 1
    except (EOFError, OSError, RuntimeError) as e:
        print("error: %s" % e, flush=True)
        return 2
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
