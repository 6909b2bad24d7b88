#!/usr/bin/env python3
"""validate.py - does loadgen make a milter do what Postfix makes it do?

usage: validate.py SINK_FILE DUMP_FILE AUTHSERV_ID ORIGINAL

SINK_FILE is one message as smtp-sink stored it after Postfix passed it
through the milters; DUMP_FILE is `loadgen -d` output for the same corpus
message (ORIGINAL) against the same milters. Compares every header field
the milters added each way: the fields in SINK_FILE that are not in
ORIGINAL (leaving out Received and smtp-sink's own records) against the
addheader/insheader replies in DUMP_FILE, as multisets of name and value
(whitespace and folding normalized, a session=ID made neutral since it
differs per connection). Also checks that loadgen's final reply accepted
the message as Postfix did. Prints a one-line summary; exit 0 if equal.
"""
import email
import email.policy
import re
import sys


SESSION = re.compile(r"session=[A-Za-z0-9.]+")
SINK_OWN = re.compile(r"^(x-client-.*|x-helo-args|x-mail-args|x-rcpt-args|received)$", re.I)


def norm(value):
    return SESSION.sub("session=*", " ".join(value.split()))


def fields(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.compat32)
    return [(k.lower(), norm(v)) for k, v in msg.items() if not SINK_OWN.match(k)]


def added_in_sink(sink, original):
    """the sink's fields minus the original's, as a sorted list"""
    left = fields(original)
    out = []
    for f in fields(sink):
        if f in left:
            left.remove(f)
        else:
            out.append(f)
    return sorted(out)


QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def unescape(s):
    return (s.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t")
            .replace('\\"', '"').replace("\\\\", "\\"))


def from_dump(path):
    added, finals = [], []
    with open(path) as f:
        for line in f:
            # "[2]< h "Name" "value"" / "< i index=0 "Name" "value"" / "< a"
            m = re.match(r'^(\[\d\])?< (\S)(.*)$', line.rstrip("\n"))
            if not m:
                continue
            cmd, rest = m.group(2), m.group(3)
            strings = [unescape(q) for q in QUOTED.findall(rest)]
            if cmd in "hi" and len(strings) == 2:
                added.append((strings[0].lower(), norm(strings[1])))
            elif cmd in "acrtdy":
                finals.append(cmd)
    return sorted(added), finals


def main():
    sink, dump, authserv, original = sys.argv[1:5]
    want = added_in_sink(sink, original)
    got, finals = from_dump(dump)
    ours = [v for k, v in want if k == "authentication-results" and v.startswith(authserv + ";")]
    if not ours:
        print("Postfix delivered no Authentication-Results of %s" % authserv)
        return 1
    if finals and finals[-1] not in "ac":
        print("loadgen's last reply was %r, Postfix accepted the message" % finals[-1])
        return 1
    if want != got:
        print("differ: Postfix delivered %r; loadgen got %r" % (want, got))
        return 1
    print("%d added fields identical (%s); Authentication-Results: %s" % (
        len(want), ", ".join(k for k, _ in want),
        " | ".join(v[len(authserv) + 1:].strip()[:60] for v in ours)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
