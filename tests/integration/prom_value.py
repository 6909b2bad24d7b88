#!/usr/bin/env python3
"""prom_value.py - read Prometheus text with the Prometheus client's own parser.

usage: prom_value.py FILE [NAME [LABEL=VALUE ...]]

Parses FILE (the exposition text gatehouse served) with
prometheus_client.parser.text_string_to_metric_families, Debian's
python3-prometheus-client: a file it refuses fails with exit 2 and the
parser's message. Without NAME, prints "ok N families" when the whole file
parsed. With NAME (a sample name: gatehouse_messages_total,
gatehouse_dns_query_seconds_count, ...), prints the sum of the values of the
samples of that name whose labels include every LABEL=VALUE given (0 when
none match), as an integer when it is one. Exit 3 when no family of that
sample exists at all.
"""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 64
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and others
        print("parse error: %s" % e, file=sys.stderr)
        return 2
    if len(sys.argv) == 2:
        print("ok %d families" % len(families))
        return 0
    name = sys.argv[2]
    want = dict(a.split("=", 1) for a in sys.argv[3:])
    total, seen = 0.0, False
    for fam in families:
        for s in fam.samples:
            if s.name != name:
                continue
            seen = True
            if all(s.labels.get(k) == v for k, v in want.items()):
                total += s.value
    if not seen:
        print("no sample named %s" % name, file=sys.stderr)
        return 3
    print(int(total) if total == int(total) else total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
