#!/usr/bin/env python3
"""report.py - the benchmark's table, from run.sh's measurements.

usage: report.py RESULTS.jsonl META.json OUT.md [PROFILE.txt]

Prints the table (Markdown, readable as text) and writes OUT.md with the
date, the machine, the versions, the exact commands and, when given, the
profile of gatehouse, followed by ANALYSIS.md (next to this script), the
hand-written reading of that profile. Medians over repetitions with min-max as the spread;
ratios are gatehouse's median over the other's. Goals are reported as met
or not, never turned into a failure.
"""
import json
import os
import statistics
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs, fmt="{:.0f}"):
    if len(xs) < 2:
        return ""
    return " (" + fmt.format(min(xs)) + "-" + fmt.format(max(xs)) + ")"


def direct_table(rows, out):
    direct = [r for r in rows if r.get("kind") == "direct"]
    order = []
    for r in direct:
        if r["config"] not in order:
            order.append(r["config"])
    by = {c: [r for r in direct if r["config"] == c] for c in order}
    gh = med([r["msgs_per_s"] for r in by.get("gatehouse", [])])
    chain = med([r["msgs_per_s"] for r in by.get("opendkim+opendmarc", [])])
    out.append("| configuration | msgs/s median (min-max) | milter CPU ms/msg | p50 ms | p90 ms | p99 ms | rejects seen/expected | headers added per msg | ratio (msgs/s) |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for c in order:
        rs = by[c]
        rate = [r["msgs_per_s"] for r in rs]
        rej = [r["replies"]["reject"] + r["replies"]["replycode_5xx"] for r in rs]
        exp = rs[0]["expected_rejects"]
        ok = all(x == exp for x in rej) and all(r["replies"]["error"] == 0 for r in rs)
        mods = med([(r["mods"]["addheader"] + r["mods"]["insheader"]) / r["messages"] for r in rs])
        if c == "gatehouse":
            ratio = "%.2fx the chain" % (gh / chain)
        elif c.startswith("gatehouse"):
            ratio = "%.2fx the chain" % (med(rate) / chain)
        else:
            ratio = "gatehouse is %.2fx this" % (gh / med(rate))
        cpu = [r.get("milter_cpu_ms_per_msg", float("nan")) for r in rs]
        out.append("| %s | %.0f%s | %.3f | %.3f | %.3f | %.3f | %s/%s%s | %.2f | %s |" % (
            c, med(rate), spread(rate), med(cpu), med([r["latency_ms"]["p50"] for r in rs]),
            med([r["latency_ms"]["p90"] for r in rs]), med([r["latency_ms"]["p99"] for r in rs]),
            rej[0], exp, "" if ok else " WRONG", mods, ratio))
    lg = [r["loadgen_cpu_s"] / r["seconds"] for r in direct if "loadgen_cpu_s" in r]
    if lg:
        out.append("")
        out.append("loadgen itself kept %.2f cores busy during these runs (median); the milters "
                   "and the kernel had the rest." % med(lg))
    for r in rows:
        if r.get("kind") == "na":
            out.append("| %s | n/a (rules not available: %s) | | | | | | | |" % (r["config"], r["why"]))
    p1 = [r for r in rows if r.get("kind") == "p1"]
    if p1:
        out.append("")
        out.append("A new milter connection for every message (%d connections at a time, %d runs):" % (
            p1[0]["concurrency"], len(p1) // 2))
        out.append("")
        out.append("| configuration | msgs/s median (min-max) | milter CPU ms/msg | p50 ms | p99 ms |")
        out.append("|---|---|---|---|---|")
        for c in ("opendkim+opendmarc", "gatehouse"):
            rs = [r for r in p1 if r["config"] == c]
            if not rs:
                continue
            rate = [r["msgs_per_s"] for r in rs]
            out.append("| %s | %.0f%s | %.3f | %.3f | %.3f |" % (
                c, med(rate), spread(rate), med([r["milter_cpu_ms_per_msg"] for r in rs]),
                med([r["latency_ms"]["p50"] for r in rs]), med([r["latency_ms"]["p99"] for r in rs])))
    c1 = [r for r in rows if r.get("kind") == "c1"]
    if c1:
        out.append("")
        out.append("One connection (latency without queueing):")
        out.append("")
        out.append("| configuration | msgs/s | p50 ms | p90 ms | p99 ms |")
        out.append("|---|---|---|---|---|")
        for r in c1:
            out.append("| %s | %.0f | %.3f | %.3f | %.3f |" % (
                r["config"], r["msgs_per_s"], r["latency_ms"]["p50"], r["latency_ms"]["p90"],
                r["latency_ms"]["p99"]))
    return by


def postfix_table(rows, out):
    pf = [r for r in rows if r.get("kind") == "postfix"]
    order = []
    for r in pf:
        if r["config"] not in order:
            order.append(r["config"])
    by = {c: [r for r in pf if r["config"] == c] for c in order}
    base = med([r["msgs_per_s"] for r in by.get("no milter", [])])
    noop = med([r["msgs_per_s"] for r in by.get("no-op milter", [])])
    out.append("| configuration | msgs/s median (min-max) | ÷ no milter | ÷ no-op milter | milter CPU ms/msg | delivered / verified / sent (each run) |")
    out.append("|---|---|---|---|---|---|")
    for c in order:
        rs = by[c]
        rate = [r["msgs_per_s"] for r in rs]
        checks = ", ".join("%d/%d/%d%s" % (r["delivered"], r["verified"], r["messages"],
                                           "" if r["verified"] == r["messages"] and
                                           r["client_failures"] == 0 else " WRONG")
                           for r in rs)
        cpu = med([r.get("milter_cpu_ms_per_msg", 0) for r in rs])
        out.append("| %s | %.0f%s | %.0f%% | %s | %s | %s |" % (
            c, med(rate), spread(rate), 100 * med(rate) / base,
            "%.0f%%" % (100 * med(rate) / noop) if noop == noop else "",
            "%.3f" % cpu if c != "no milter" else "", checks))
    return by, base, noop


def memory_table(rows, out):
    out.append("| milter | peak RSS (VmHWM) | when |")
    out.append("|---|---|---|")
    for r in rows:
        if r.get("kind") == "hwm":
            out.append("| %s | %.1f MB | %s |" % (r["config"], r["hwm_kb"] / 1024, r["when"]))
    for r in rows:
        if r.get("kind") == "growth":
            out.append("")
            out.append("gatehouse RSS (fresh instance): %.1f MB after %d messages, %.1f MB after %d "
                       "(%+.1f MB)" % (r["rss_small_kb"] / 1024, r["small_msgs"],
                                       r["rss_big_kb"] / 1024, r["big_msgs"],
                                       (r["rss_big_kb"] - r["rss_small_kb"]) / 1024))


def goals(rows, direct, pf, pf_base, pf_noop, out):
    def rate(c):
        return med([r["msgs_per_s"] for r in direct.get(c, [])])

    gh, chain = rate("gatehouse"), rate("opendkim+opendmarc")
    p99 = med([r["latency_ms"]["p99"] for r in direct.get("gatehouse", [])])
    c1 = [r for r in rows if r.get("kind") == "c1" and r["config"] == "gatehouse"]
    pfg = med([r["msgs_per_s"] for r in pf.get("gatehouse", [])])
    hwm200 = [r["hwm_kb"] for r in rows if r.get("kind") == "hwm" and r["config"] == "gatehouse"
              and r["when"].startswith("200")]
    growth = [r for r in rows if r.get("kind") == "growth"]

    def met(b):
        return "met" if b else "**not met**"

    out.append("| goal | measured | |")
    out.append("|---|---|---|")
    out.append("| direct SPF+DKIM+DMARC ≥ 3x OpenDKIM+OpenDMARC | %.2fx (%.0f vs %.0f msgs/s) | %s |" % (
        gh / chain, gh, chain, met(gh / chain >= 3)))
    cpu_gh = med([r.get("milter_cpu_ms_per_msg", float("nan")) for r in direct.get("gatehouse", [])])
    cpu_chain = med([r.get("milter_cpu_ms_per_msg", float("nan"))
                     for r in direct.get("opendkim+opendmarc", [])])
    out.append("| (the same by milter CPU per message) | %.2fx (%.3f vs %.3f ms) | %s |" % (
        cpu_chain / cpu_gh, cpu_gh, cpu_chain, met(cpu_chain / cpu_gh >= 3)))
    out.append("| p99 < 2 ms (at %d connections) | %.3f ms | %s |" % (
        direct["gatehouse"][0]["concurrency"], p99, met(p99 < 2)))
    if c1:
        out.append("| p99 < 2 ms (one connection) | %.3f ms | %s |" % (
            c1[0]["latency_ms"]["p99"], met(c1[0]["latency_ms"]["p99"] < 2)))
    if pf_noop == pf_noop:
        out.append("| through Postfix ≥ 95%% of Postfix with a no-op milter | %.0f%% | %s |" % (
            100 * pfg / pf_noop, met(pfg / pf_noop >= 0.95)))
    if pf_base:
        out.append("| (the same against Postfix with no milter at all) | %.0f%% | %s |" % (
            100 * pfg / pf_base, met(pfg / pf_base >= 0.95)))
    if hwm200:
        out.append("| peak RSS < 64 MB at 200 connections | %.1f MB | %s |" % (
            hwm200[0] / 1024, met(hwm200[0] < 64 * 1024)))
    if growth:
        g = growth[0]
        d = (g["rss_big_kb"] - g["rss_small_kb"]) / 1024
        out.append("| no growth %d → %d messages | %+.1f MB | %s |" % (
            g["small_msgs"], g["big_msgs"], d, met(d < 1)))


def main():
    rows = load(sys.argv[1])
    with open(sys.argv[2]) as f:
        meta = json.load(f)
    profile = None
    if len(sys.argv) > 4:
        try:
            with open(sys.argv[4]) as f:
                profile = f.read()
        except OSError:
            profile = None
    table = []
    table.append("Direct milter protocol, %d connections, %d messages per connection, %d messages "
                 "a run, %d run%s each, alternating:" % (
                     meta["conc"], meta["per_conn"], meta["msgs"], meta["reps"],
                     "s" if meta["reps"] > 1 else ""))
    table.append("")
    direct = direct_table(rows, table)
    table.append("")
    table.append("Through Postfix (smtp-source, %d messages over %d parallel sessions, one message "
                 "per connection):" % (meta["pf_msgs"], meta["pf_sessions"]))
    table.append("")
    pf, base, noop = postfix_table(rows, table)
    table.append("")
    table.append("Memory:")
    table.append("")
    memory_table(rows, table)
    table.append("")
    table.append("Goals (issue 6):")
    table.append("")
    goals(rows, direct, pf, base, noop, table)
    vals = [r for r in rows if r.get("kind") == "validate"]
    if vals:
        table.append("")
        table.append("Load generator checked against Postfix (same message, same milters; every "
                     "added header field and the final reply compared):")
        table.append("")
        for v in vals:
            table.append("- %s, corpus entry %d: %s" % (v["config"], v["index"], v["verdict"]))
    print("\n".join(table))

    md = ["# gatehouse benchmark results", ""]
    if meta.get("quick"):
        md += ["**Quick mode (BENCH_QUICK=1): small counts, numbers are rough.**", ""]
    md += ["Written by `make bench` (tests/bench/run.sh); do not edit by hand.", "",
           "- date: %s" % meta["date"],
           "- machine: %s cores, %s, %s RAM, Linux %s" % (meta["cores"], meta["cpu"], meta["mem"],
                                                         meta["kernel"]),
           "- gatehouse: %s" % meta["versions"]["gatehouse"],
           "- peers (Debian packages): %s; %s; libmilter %s" % (
               meta["versions"]["opendkim"], meta["versions"]["opendmarc"],
               meta["versions"]["libmilter"]),
           "- Postfix %s, unbound %s" % (meta["versions"]["postfix"], meta["versions"]["unbound"]),
           "- corpus: %s; DKIM rsa-sha256 2048-bit, SPF (one domain via include:), DMARC p=reject, "
           "served by unbound on 127.0.0.1 (warm: every configuration ran over the corpus first)"
           % meta["corpus"],
           "", "## Results", ""] + table
    md += ["", "## How it was measured", "",
           "- Every milter on a unix socket; loadgen (tests/bench/loadgen.c) talks milter protocol 6 "
           "as Postfix does: option negotiation honoured, macros j, {daemon_name}, _, {mail_addr}, "
           "i (from RCPT on), the client 192.0.2.25, Postfix's own Received field first, body in "
           "65535-byte chunks, SMFIC_ABORT between messages. A chain gets the envelope phases in "
           "order and then the whole content phase milter by milter, with the header fields earlier "
           "milters added (that is how OpenDMARC sees OpenDKIM's Authentication-Results under Postfix). "
           "Latency is MAIL to the final end-of-message reply.",
           "- OpenDKIM: Mode v, Nameservers 127.0.0.1. OpenDMARC: SPFSelfValidate, "
           "TrustedAuthservIDs = the same authserv-id, RejectFailures, IgnoreAuthenticatedClients. "
           "gatehouse: internal_networks empty, dns_forwarders 127.0.0.1. Per-message logging off "
           "for all three (Syslog no; gatehouse log_level notice).",
           "- \"milter CPU ms/msg\": user + system time of the milter processes (/proc/PID/stat) "
           "during the run over the messages; steadier than msgs/s on a shared machine.",
           "- \"rejects seen/expected\": the corpus has messages that fail DMARC p=reject; every "
           "DMARC-enforcing configuration must reject exactly those (OpenDKIM alone rejects none). "
           "WRONG marks a run whose work differs from the corpus' truth.",
           "- \"no-op milter\": tests/bench/noop_milter.c, a libmilter milter that takes every step, "
           "answers continue and changes nothing: the cost of the milter protocol itself, and the "
           "baseline the issue's Postfix goal is stated against.",
           "- Postfix: a private instance relaying to smtp-sink; the client connects from 192.0.2.25 "
           "(a route on lo), so SPF is evaluated for real (libspf2 passes loopback clients without "
           "looking). \"verified\" counts delivered messages carrying the Authentication-Results "
           "expected from those milters (dkim=pass and dmarc=pass; for gatehouse also spf=pass).",
           "", "Commands:", ""] + ["    " + c for c in meta["commands"]]
    rules_bench = ""
    if len(sys.argv) > 5 and os.path.exists(sys.argv[5]):
        with open(sys.argv[5]) as f:
            rules_bench = f.read().strip()
    if rules_bench:
        md += ["", "## Rules in the engine", "",
               "tests/bench/rules_bench.c (`make bench-rules`): every message through the engine's "
               "phase calls, no MTA and no DNS, so the cost is parsing, the MIME walk (quoted-printable "
               "text and base64 HTML decoded) and the rules; about 40% header and 60% body patterns, "
               "a few matching; 1,000 rules once with the Hyperscan prefilter and once with PCRE2 "
               "alone (rules_prefilter = no). Median of 5 passes.", "", rules_bench]
    if profile:
        md += ["", "## Where gatehouse's time goes", "", profile.rstrip()]
    # the hand-written reading of the profile, kept next to this script
    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ANALYSIS.md")
    if os.path.exists(analysis):
        with open(analysis) as f:
            md += ["", f.read().rstrip()]
    with open(sys.argv[3], "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
