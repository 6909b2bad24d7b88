#!/usr/bin/python3
"""submission_verify.py - group p: verify a delivered message's DKIM signatures.

usage: submission_verify.py SINK_FILE KEYDIR

SINK_FILE is smtp-sink's dump of one message (the message from its first
header field on). The public keys are derived from KEYDIR/rsa.pem (selector
s1) and KEYDIR/ed.pem (selector ed) of example.com, as DNS would publish
them. Every DKIM-Signature must verify with Debian's python3-dkim; prints
the algorithms, sorted and comma-separated; exit 1 otherwise.
"""
import base64
import re
import subprocess
import sys

import dkim


def public_record(pem, kind):
    der = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"],
                         capture_output=True, check=True).stdout
    if kind == "ed25519":
        der = der[-32:]  # RFC 8463: the bare key
    return ("v=DKIM1; k=%s; p=%s" % (kind, base64.b64encode(der).decode())).encode()


def main():
    raw = open(sys.argv[1], "rb").read()
    m = re.search(rb"^[A-Za-z][A-Za-z0-9-]*:", raw, re.M)
    msg = raw[m.start():] if m else raw
    msg = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    keys = {
        "s1._domainkey.example.com": public_record(sys.argv[2] + "/rsa.pem", "rsa"),
        "ed._domainkey.example.com": public_record(sys.argv[2] + "/ed.pem", "ed25519"),
    }

    def dnsfunc(name, timeout=5):
        return keys.get(name.decode().rstrip("."))

    n = len(re.findall(rb"^dkim-signature:", msg, re.M | re.I))
    d = dkim.DKIM(msg)
    algs = []
    for i in range(n):
        if not d.verify(idx=i, dnsfunc=dnsfunc):
            print("signature %d does not verify" % i)
            return 1
        algs.append(d.signature_fields[b"a"].decode())
    print(",".join(sorted(algs)) if algs else "none")
    return 0 if algs else 1


if __name__ == "__main__":
    sys.exit(main())
