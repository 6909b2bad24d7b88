#!/usr/bin/env python3
"""validate.py - does loadgen make a milter do what Postfix makes it do?

usage: validate.py SINK_FILE DUMP_FILE AUTHSERV_ID

SINK_FILE is one message as smtp-sink stored it after Postfix passed it
through the milters; DUMP_FILE is `loadgen -d` output for the same corpus
message against the same milters. Compares the Authentication-Results
fields with AUTHSERV_ID that each way produced (as multisets, whitespace
and folding normalized), and checks loadgen's final replies accepted the
message as Postfix did. Prints a one-line summary; exit 0 if equal, 1 if not.
"""
import email
import email.policy
import re
import sys


def norm(value):
    return " ".join(value.split())


def from_sink(path, authserv):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.compat32)
    return sorted(norm(v) for v in msg.get_all("Authentication-Results", [])
                  if norm(v).startswith(authserv + ";"))


QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def unescape(s):
    return (s.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t")
            .replace('\\"', '"').replace("\\\\", "\\"))


def from_dump(path, authserv):
    fields, finals = [], []
    with open(path) as f:
        for line in f:
            # "[2]< h "Name" "value"" / "< i index=0 "Name" "value"" / "< a"
            m = re.match(r'^(\[\d\])?< (\S)(.*)$', line.rstrip("\n"))
            if not m:
                continue
            cmd, rest = m.group(2), m.group(3)
            strings = [unescape(q) for q in QUOTED.findall(rest)]
            if cmd in "hi" and len(strings) == 2 and strings[0].lower() == "authentication-results":
                if norm(strings[1]).startswith(authserv + ";"):
                    fields.append(norm(strings[1]))
            elif cmd in "acrtdy":
                finals.append(cmd)
    return sorted(fields), finals


def main():
    sink, dump, authserv = sys.argv[1:4]
    want = from_sink(sink, authserv)
    got, finals = from_dump(dump, authserv)
    if not want:
        print("Postfix delivered no Authentication-Results of %s" % authserv)
        return 1
    if finals and finals[-1] not in "ac":
        print("loadgen's last reply was %r, Postfix accepted the message" % finals[-1])
        return 1
    if want != got:
        print("differ: Postfix delivered %r; loadgen got %r" % (want, got))
        return 1
    print("%d Authentication-Results identical (%s)" % (len(want), " | ".join(
        w[len(authserv) + 1:].strip()[:60] for w in want)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
