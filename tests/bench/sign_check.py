#!/usr/bin/python3
"""sign_check.py - do the signatures a signer added in the benchmark verify?

usage: sign_check.py DUMP ORIGINAL ZONE...

DUMP is `loadgen -d` output for corpus message ORIGINAL against one
signing milter. Takes every DKIM-Signature the milter inserted or added
(the trace's "< i" and "< h" packets), builds the message the MTA would
deliver (those fields on top, LF turned into CRLF) and verifies each with
Debian's python3-dkim, the public keys taken from the ZONE files (zone
file TXT lines, as gen_corpus.py and gen_outbound.py write them). Also
requires that the milter accepted the message. Prints a one-line summary;
exit 0 only when there is at least one signature and every one verifies.

Run with /usr/bin/python3: python3-dkim and python3-nacl (Ed25519) are
Debian's packages.
"""
import re
import sys

import dkim

TRACE = re.compile(r'^< (?:i index=\d+|h) "DKIM-Signature" "(.*)"$')
TAGS = re.compile(r"\b([ads])=([^;\s]+)")


def unescape(s):
    """mclient.c's trace escapes: \\n \\r \\t \\" \\\\ \\xNN"""
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"n": b"\n", "r": b"\r", "t": b"\t"}.get(n, n.encode())
            i += 2
            continue
        out += c.encode()
        i += 1
    return bytes(out)


def load_zones(paths):
    zone = {}
    for path in paths:
        for line in open(path, encoding="ascii"):
            m = re.match(r"^(\S+)\s+\d+\s+IN\s+TXT\s+(.*)$", line.strip())
            if m:
                zone[m.group(1).rstrip(".").lower()] = "".join(
                    re.findall(r'"([^"]*)"', m.group(2))).encode()
    return zone


def main():
    dump, original = sys.argv[1], sys.argv[2]
    zone = load_zones(sys.argv[3:])
    sigs, accepted = [], False
    for line in open(dump, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        m = TRACE.match(line)
        if m:
            sigs.append(unescape(m.group(1)))
        elif line == "< a" or line == "< c":
            accepted = True  # the last reply decides; checked below
        elif line.startswith("< ") and line[2:3] in "rtdy":
            accepted = False
    if not sigs:
        print("no DKIM-Signature added")
        return 1
    if not accepted:
        print("the milter did not accept the message")
        return 1
    body = open(original, "rb").read().replace(b"\r\n", b"\n")

    def dnsfunc(name, timeout=5):
        key = name.decode() if isinstance(name, bytes) else name
        return zone.get(key.rstrip(".").lower())

    ok, seen = True, []
    # each insert at index 0 lands above the ones before it
    top = b"".join(b"DKIM-Signature:" + s + b"\n" for s in reversed(sigs))
    msg = (top + body).replace(b"\n", b"\r\n")
    for i, s in enumerate(reversed(sigs)):
        tags = dict(TAGS.findall(s.decode("ascii", "replace")))
        what = "%s d=%s s=%s" % (tags.get("a", "?"), tags.get("d", "?"), tags.get("s", "?"))
        try:
            good, why = dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc), ""
        except dkim.DKIMException as e:
            good, why = False, " (%s)" % e
        if good:
            seen.append(what + " verifies")
        else:
            ok = False
            seen.append(what + " DOES NOT VERIFY" + why)
    print("%d signature%s: %s" % (len(sigs), "" if len(sigs) == 1 else "s", "; ".join(seen)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
