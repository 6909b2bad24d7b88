#!/usr/bin/env python3
"""gen_rules.py - a rule set of a given size for the benchmark.

usage: gen_rules.py OUTDIR COUNT

Writes OUTDIR/bench.rules with COUNT rules in gatehouse's rule language:
about half on header targets (subject, from.display, header.<Name>,
mail.from) and half on the body (body, body.raw), each with a pattern
numbered so it matches nothing in the corpus, except two `monitor` rules
that match most messages, so matching work (not only the prefilter) is
measured. Actions rotate between reject, quarantine and monitor.
"""
import os
import sys

HEADER_TARGETS = ["subject", "from.display", "header.X-Mailer", "header.Reply-To", "mail.from"]
BODY_TARGETS = ["body", "body.raw"]


def rule(i):
    n = f"{i:04d}"
    if i % 2 == 0:
        target = HEADER_TARGETS[(i // 2) % len(HEADER_TARGETS)]
        pattern = {
            "subject": rf"/\bwinner-{n}\b/i",
            "from.display": rf"/^prize desk {n}$/i",
            "header.X-Mailer": rf"/^BulkMailer {n}/",
            "header.Reply-To": rf"/claims-{n}@/i",
            "mail.from": rf"/^bounce-{n}-[0-9a-f]+@/",
        }[target]
        name = "hdr"
    else:
        target = BODY_TARGETS[(i // 2) % len(BODY_TARGETS)]
        pattern = rf"/unsubscribe-zz{n}|lottery\s+{n}\b/i"
        name = "body"
    action = [f'reject 550 5.7.1 "matched %{{rule}}"', 'quarantine "bulk"', "monitor"][i % 3]
    return f"rule {name}_{n} {{\n    when {target} ~ {pattern}\n    {action}\n}}\n"


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    rules = [rule(i) for i in range(1, count - 1)]
    # the two that match: exercised on (almost) every message, harmless
    rules.append('rule seen_quarterly {\n    when body ~ /\\bquarterly\\b/i\n    monitor\n}\n')
    rules.append('rule seen_benchmailer {\n    when header.X-Mailer ~ /^BenchMailer/\n    monitor\n}\n')
    with open(os.path.join(out, "bench.rules"), "w") as f:
        f.write(f"# {count} rules made by tests/bench/gen_rules.py\n\n" + "\n".join(rules))


if __name__ == "__main__":
    main()
