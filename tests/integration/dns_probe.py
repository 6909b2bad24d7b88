#!/usr/bin/env python3
"""dns_probe.py - one DNS query over UDP, standard library only.

usage: dns_probe.py SERVER PORT NAME [TYPE] [TIMEOUT_S]
       dns_probe.py --blackhole SERVER PORT READY_FILE

First form: sends one query (TYPE: A or TXT, default TXT; recursion
desired), prints the response code and the answer records ("TXT <strings>"
or "A <address>"). Exit 0 when a response with the query's id came back
(whatever its code), 1 when none came within TIMEOUT_S (default 1), 2 on a
usage error. The integration suite polls its DNS server with it.

Second form: binds SERVER:PORT (UDP), creates READY_FILE and reads and drops
every datagram until killed: a DNS server that never answers.
"""
import os
import random
import socket
import struct
import sys

TYPES = {"A": 1, "TXT": 16}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError("bad label in %r" % name)
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def skip_name(msg, pos):
    while True:
        n = msg[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + n


def txt_strings(rdata):
    out, pos = [], 0
    while pos < len(rdata):
        n = rdata[pos]
        out.append(rdata[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    return out


def query(server, port, name, qtype, timeout):
    qid = random.randrange(65536)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    packet += encode_name(name) + struct.pack(">HH", TYPES[qtype], 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.sendto(packet, (server, port))
        while True:
            msg, _ = sock.recvfrom(4096)
            if len(msg) >= 12 and struct.unpack(">H", msg[:2])[0] == qid:
                break
    except (socket.timeout, ConnectionRefusedError, OSError) as e:
        print("no answer: %s" % e)
        return 1
    finally:
        sock.close()
    flags, qd, an = struct.unpack(">HHH", msg[2:8])
    print(RCODES.get(flags & 0xF, "rcode %d" % (flags & 0xF)))
    pos = 12
    for _ in range(qd):
        pos = skip_name(msg, pos) + 4
    for _ in range(an):
        pos = skip_name(msg, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
        pos += 10
        rdata = msg[pos:pos + rdlen]
        pos += rdlen
        if rtype == 16:
            print("TXT " + " ".join('"%s"' % s for s in txt_strings(rdata)))
        elif rtype == 1 and rdlen == 4:
            print("A " + socket.inet_ntoa(rdata))
        else:
            print("type %d" % rtype)
    return 0


def blackhole(server, port, ready):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((server, port))
    with open(ready, "w"):
        pass
    while True:
        sock.recvfrom(4096)


def main(argv):
    if len(argv) == 5 and argv[1] == "--blackhole":
        blackhole(argv[2], int(argv[3]), argv[4])
        return 0
    if not 4 <= len(argv) <= 6:
        print(__doc__, file=sys.stderr)
        return 2
    qtype = argv[4].upper() if len(argv) > 4 else "TXT"
    if qtype not in TYPES:
        print("type must be A or TXT", file=sys.stderr)
        return 2
    timeout = float(argv[5]) if len(argv) > 5 else 1.0
    return query(argv[1], int(argv[2]), argv[3], qtype, timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
