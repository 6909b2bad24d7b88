#!/usr/bin/python3
"""verify.py - an independent check of gatehouse's DKIM signatures.

usage: verify.py ZONE REPORT.json MESSAGE.eml SIGNED.eml

Builds the message the MTA would deliver (every DKIM-Signature gatehouse
asked to insert, at the top, LF turned into CRLF), writes it to SIGNED.eml
and verifies every signature with Debian's python3-dkim, its DNS answers
taken from ZONE (the same fixture gatehouse's own verifier reads). Prints
one line per signature; exits 0 only when there is at least one signature
and all verify.
"""
import json
import re
import sys

import dkim


def load_zone(path):
    zone = {}
    for line in open(path, encoding="ascii"):
        m = re.match(r"^(\S+)\s+\d+\s+IN\s+TXT\s+(.*)$", line.strip())
        if m:
            strings = re.findall(r'"([^"]*)"', m.group(2))
            zone[m.group(1).rstrip(".").lower()] = "".join(strings).encode()
    return zone


def main():
    zone_path, report_path, msg_path, out_path = sys.argv[1:5]
    zone = load_zone(zone_path)
    report = json.load(open(report_path))
    sigs = [h for h in report.get("headers_added", []) if h["name"] == "DKIM-Signature"]
    if not sigs:
        print("no DKIM-Signature in headers_added")
        return 1
    body = open(msg_path, "rb").read()
    # each insert at index 0 lands above the ones before it
    top = b"".join(b"DKIM-Signature: " + s["value"].encode() + b"\n" for s in reversed(sigs))
    msg = (top + body).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    open(out_path, "wb").write(msg.replace(b"\r\n", b"\n"))

    def dnsfunc(name, timeout=5):
        return zone.get(name.decode().rstrip(".").lower())

    d = dkim.DKIM(msg, minkey=1024)
    ok = True
    for i in range(len(sigs)):
        try:
            good = d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            good = False
            print("signature %d: %s" % (i, e))
        print("signature %d: %s" % (i, "pass" if good else "FAIL"))
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
