#!/usr/bin/env python3
"""report.py - the benchmark's table, from run.sh's measurements.

usage: report.py RESULTS.jsonl META.json OUT.md [PROFILE.txt [RULES_BENCH.md]]

Prints the table (Markdown, readable as text) and writes OUT.md with the
date, the machine, the versions, the exact commands and, when given, the
profile of gatehouse, followed by ANALYSIS.md (next to this script), the
hand-written reading of that profile. Medians over repetitions with min-max as the spread;
ratios are gatehouse's median over the other's. Goals are reported as met
or not, never turned into a failure.

"gatehouse" is the build under test (its own milter protocol layer since
a0d71af); "gatehouse (libmilter)" is an older, libmilter-based build run
next to it when run.sh got BENCH_GH_LIBMILTER. Every table shows that
column only when the run measured it.
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
        p1_order = []
        for r in p1:
            if r["config"] not in p1_order:
                p1_order.append(r["config"])
        out.append("A new milter connection for every message (%d connections at a time, %d runs):" % (
            p1[0]["concurrency"], len(p1) // len(p1_order)))
        out.append("")
        out.append("| configuration | msgs/s median (min-max) | milter CPU ms/msg | p50 ms | p99 ms |")
        out.append("|---|---|---|---|---|")
        for c in p1_order:
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
    sbase = med([r["delivered_msgs_per_s"] for r in by.get("no milter", [])
                 if "delivered_msgs_per_s" in r])
    out.append("| configuration | accepted msgs/s median (min-max) | ÷ no milter | ÷ no-op milter "
               "| accepted and delivered msgs/s | ÷ no milter | milter CPU ms/msg "
               "| machine CPU ms/msg | milter waits/msg | delivered / verified / sent (each run) |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for c in order:
        rs = by[c]
        rate = [r["msgs_per_s"] for r in rs]
        checks = ", ".join("%d/%d/%d%s" % (r["delivered"], r["verified"], r["messages"],
                                           "" if r["verified"] == r["messages"] and
                                           r["client_failures"] == 0 else " WRONG")
                           for r in rs)
        cpu = med([r.get("milter_cpu_ms_per_msg", 0) for r in rs])
        mach = [r["machine_cpu_ms_per_msg"] for r in rs if "machine_cpu_ms_per_msg" in r]
        waits = [r["milter_waits_per_msg"] for r in rs if "milter_waits_per_msg" in r]
        sus = [r["delivered_msgs_per_s"] for r in rs if "delivered_msgs_per_s" in r]
        out.append("| %s | %.0f%s | %.0f%% | %s | %s | %s | %s | %s | %s | %s |" % (
            c, med(rate), spread(rate), 100 * med(rate) / base,
            "%.0f%%" % (100 * med(rate) / noop) if noop == noop else "",
            "%.0f%s" % (med(sus), spread(sus)) if sus else "-",
            "%.0f%%" % (100 * med(sus) / sbase) if sus and sbase == sbase else "-",
            "%.3f" % cpu if c != "no milter" else "",
            "%.2f" % med(mach) if mach else "-",
            "%.1f" % med(waits) if waits and c != "no milter" else "-", checks))
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


def idle_table(rows, out):
    idle = [r for r in rows if r.get("kind") == "idle"]
    if not idle:
        return
    out.append("")
    out.append("Idle milter connections: a fresh instance, warmed up (400 messages over %d connections, "
               "200 over one); idle_conns opens them, each negotiated, then sends nothing; while they "
               "are open one more connection sends 200 messages; then they close:" % (
                   next((r["concurrency"] for r in rows if r.get("kind") == "direct"), 0)))
    out.append("")
    out.append("| build | opened / wanted | VmRSS before | with them open | per connection | after closing "
               "| threads before / open | descriptor limit | 200 msgs meanwhile: msgs/s, milter CPU ms/msg, p99 ms |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for r in idle:
        load = [x for x in rows if x.get("kind") == "idle-load" and x["config"] == r["config"]]
        lat = "%.0f, %.3f, %.3f" % (load[0]["msgs_per_s"], load[0]["milter_cpu_ms_per_msg"],
                                    load[0]["latency_ms"]["p99"]) if load else ""
        per = (r["idle"]["rss_kb"] - r["before"]["rss_kb"]) / r["opened"] if r["opened"] else 0
        out.append("| %s | %d / %d | %.1f MB | %.1f MB | %.2f kB | %.1f MB | %d / %d | %s | %s |" % (
            r["config"], r["opened"], r["wanted"], r["before"]["rss_kb"] / 1024,
            r["idle"]["rss_kb"] / 1024, per, r["after"]["rss_kb"] / 1024,
            r["before"]["threads"], r["idle"]["threads"], r["nofile_limit"], lat))


LAYER_COLS = ("gatehouse", "gatehouse (libmilter)", "no-op milter")
LAYER_NAMES = {"gatehouse": "gatehouse (own layer)", "gatehouse (libmilter)": "gatehouse (libmilter)",
               "no-op milter": "no-op milter (libmilter)"}


def layer_table(rows, out):
    """Issue 17: the same measurements for the new layer, the libmilter build and the no-op milter"""
    cols = [c for c in LAYER_COLS if any(r.get("config") == c and r.get("kind") == "direct"
                                          for r in rows)]

    def pick(kind, c):
        return [r for r in rows if r.get("kind") == kind and r.get("config") == c]

    def cell(kind, c, f, fmt, spread_fmt=None):
        rs = pick(kind, c)
        if not rs:
            return "-"
        xs = [f(r) for r in rs]
        return fmt % med(xs) + (spread(xs, spread_fmt) if spread_fmt else "")

    pf_base = med([r["msgs_per_s"] for r in pick("postfix", "no milter")])
    pf_sus = med([r.get("delivered_msgs_per_s", float("nan")) for r in pick("postfix", "no milter")])
    lines = [
        ("**direct**, %s connections x %s messages: msgs/s" % (
            pick("direct", "gatehouse")[0]["concurrency"], pick("direct", "gatehouse")[0]["per_conn"]),
         lambda c: cell("direct", c, lambda r: r["msgs_per_s"], "%.0f", "{:.0f}")),
        ("direct: milter CPU ms/msg",
         lambda c: cell("direct", c, lambda r: r["milter_cpu_ms_per_msg"], "%.3f")),
        ("direct: p50 / p99 ms",
         lambda c: cell("direct", c, lambda r: r["latency_ms"]["p50"], "%.2f") + " / " +
         cell("direct", c, lambda r: r["latency_ms"]["p99"], "%.2f")),
        ("direct, a new connection per message: msgs/s",
         lambda c: cell("p1", c, lambda r: r["msgs_per_s"], "%.0f", "{:.0f}")),
        ("new connection per message: milter CPU ms/msg",
         lambda c: cell("p1", c, lambda r: r["milter_cpu_ms_per_msg"], "%.3f")),
        ("new connection per message: p50 / p99 ms",
         lambda c: cell("p1", c, lambda r: r["latency_ms"]["p50"], "%.2f") + " / " +
         cell("p1", c, lambda r: r["latency_ms"]["p99"], "%.2f")),
        ("**through Postfix**, one message per SMTP session: milter CPU ms/msg",
         lambda c: cell("postfix", c, lambda r: r["milter_cpu_ms_per_msg"], "%.3f")),
        ("Postfix msgs/s with this milter",
         lambda c: cell("postfix", c, lambda r: r["msgs_per_s"], "%.0f", "{:.0f}")),
        ("÷ Postfix with no milter (%.0f msgs/s, same run)" % pf_base,
         lambda c: cell("postfix", c, lambda r: 100 * r["msgs_per_s"] / pf_base, "%.0f%%")),
        ("Postfix accepted and delivered msgs/s (first in to last out) ÷ no milter (%.0f)" % pf_sus,
         lambda c: cell("postfix", c, lambda r: r.get("delivered_msgs_per_s", float("nan")), "%.0f") +
         " (%s)" % cell("postfix", c,
                        lambda r: 100 * r.get("delivered_msgs_per_s", float("nan")) / pf_sus, "%.0f%%")),
    ]
    idle = {r["config"]: r for r in rows if r.get("kind") == "idle"}
    if idle:
        n = next(iter(idle.values()))["wanted"]

        def idle_cell(c, f):
            return f(idle[c]) if c in idle else "-"
        lines += [
            ("**%d idle connections**: VmRSS (before -> open)" % n,
             lambda c: idle_cell(c, lambda r: "%.1f -> %.1f MB%s" % (
                 r["before"]["rss_kb"] / 1024, r["idle"]["rss_kb"] / 1024,
                 "" if r["opened"] == r["wanted"] else " (%d opened)" % r["opened"]))),
            ("idle connections: threads",
             lambda c: idle_cell(c, lambda r: "%d" % r["idle"]["threads"])),
            ("one more connection meanwhile: msgs/s, milter CPU ms/msg, p99 ms",
             lambda c: (cell("idle-load", c, lambda r: r["msgs_per_s"], "%.0f") + ", " +
                        cell("idle-load", c, lambda r: r["milter_cpu_ms_per_msg"], "%.3f") + ", " +
                        cell("idle-load", c, lambda r: r["latency_ms"]["p99"], "%.2f"))
             if pick("idle-load", c) else "-"),
        ]
    out.append("| | " + " | ".join(LAYER_NAMES[c] for c in cols) + " |")
    out.append("|---|" + "---|" * len(cols))
    for name, f in lines:
        out.append("| %s | %s |" % (name, " | ".join(f(c) for c in cols)))


def goals17(rows, direct, pf, pf_base, out):
    def met(b):
        return "met" if b else "**not met**"

    def m(rs, f):
        return med([f(r) for r in rs])

    lm = "gatehouse (libmilter)"
    gh_pf, lm_pf = pf.get("gatehouse", []), pf.get(lm, [])
    lines = []
    if gh_pf:
        cpu = m(gh_pf, lambda r: r["milter_cpu_ms_per_msg"])
        lines.append("| through Postfix (one message per SMTP session): ≤ 0.6 ms milter CPU per message "
                   "| %.3f ms | %s | %s |" % (
                       cpu, met(cpu <= 0.6),
                       "%.3f ms" % m(lm_pf, lambda r: r["milter_cpu_ms_per_msg"]) if lm_pf else "-"))
        rel = m(gh_pf, lambda r: r["msgs_per_s"]) / pf_base
        lines.append("| Postfix with gatehouse ≥ 80%% of Postfix with no milter: accepted msgs/s "
                   "| %.0f%% (%.0f vs %.0f msgs/s) | %s | %s |" % (
                       100 * rel, m(gh_pf, lambda r: r["msgs_per_s"]), pf_base, met(rel >= 0.8),
                       "%.0f%%" % (100 * m(lm_pf, lambda r: r["msgs_per_s"]) / pf_base) if lm_pf else "-"))
        base_rows = pf.get("no milter", [])
        if "delivered_msgs_per_s" in gh_pf[0] and base_rows:
            def sus(rs):
                return m(rs, lambda r: r["delivered_msgs_per_s"])
            srel = sus(gh_pf) / sus(base_rows)
            lines.append("| the same, accepted and delivered msgs/s (first message in to last one "
                         "out: the rate Postfix sustains) | %.0f%% (%.0f vs %.0f msgs/s) | %s | %s |" % (
                             100 * srel, sus(gh_pf), sus(base_rows), met(srel >= 0.8),
                             "%.0f%%" % (100 * sus(lm_pf) / sus(base_rows)) if lm_pf else "-"))
        floor = pf.get("floor milter + fields", [])
        if floor and base_rows and "delivered_msgs_per_s" in floor[0]:
            # not a goal: the most any milter negotiating as gatehouse does
            # keeps of Postfix's rates in this run (floor_milter.c)
            lines.append("| (not a goal) the floor: a milter that does nothing but negotiate as "
                         "gatehouse does and add its three fields, accepted / accepted and delivered "
                         "| %.0f%% / %.0f%% | the most any milter reaches here | - |" % (
                             100 * m(floor, lambda r: r["msgs_per_s"]) / pf_base,
                             100 * m(floor, lambda r: r["delivered_msgs_per_s"]) /
                             m(base_rows, lambda r: r["delivered_msgs_per_s"])))
    gh = direct.get("gatehouse", [])
    if gh:
        rate = m(gh, lambda r: r["msgs_per_s"])
        lines.append("| directly driven, SPF+DKIM+DMARC: ≥ 3,500 msgs/s | %.0f (%.0f-%.0f) | %s | %s |" % (
            rate, min(r["msgs_per_s"] for r in gh), max(r["msgs_per_s"] for r in gh), met(rate >= 3500),
            "%.0f" % m(direct[lm], lambda r: r["msgs_per_s"]) if direct.get(lm) else "-"))
    if direct.get(lm):
        out.append("| goal | gatehouse (own layer) | | gatehouse (libmilter), same run |")
        out.append("|---|---|---|---|")
        out.extend(lines)
    else:  # no libmilter build in this run: no column for it
        out.append("| goal | gatehouse (own layer) | |")
        out.append("|---|---|---|")
        out.extend(l.rsplit(" | ", 1)[0] + " |" for l in lines)


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


SIGN_ORDER = ("opendkim sign rsa", "gatehouse sign rsa", "gatehouse sign rsa, no login",
              "opendkim sign ed25519", "gatehouse sign ed25519")


def sign_section(rows, meta, out):
    """Issue 12: signing submissions, gatehouse next to OpenDKIM (Mode s)"""
    sign = [r for r in rows if r.get("kind") == "sign"]
    if not sign:
        return
    by = {c: [r for r in sign if r["config"] == c] for c in SIGN_ORDER}

    def m(c, f):
        return med([f(r) for r in by.get(c, [])])

    def rate(c):
        return m(c, lambda r: r["msgs_per_s"])

    def cpu(c):
        return m(c, lambda r: r["milter_cpu_ms_per_msg"])

    out.append("The same corpus as authenticated submissions (MAIL FROM = header From, {auth_type} "
               "and {auth_authen} at MAIL), %d connections, %d messages per connection, %d messages "
               "a run, %d run%s each, alternating; every message must come back signed (the run "
               "fails otherwise):" % (sign[0]["concurrency"], sign[0]["per_conn"], sign[0]["messages"],
                                    len(by[SIGN_ORDER[0]]), "s" if len(by[SIGN_ORDER[0]]) > 1 else ""))
    out.append("")
    out.append("| configuration | msgs/s median (min-max) | milter CPU ms/msg (min-max) | p50 ms | p99 ms "
               "| signed / sent (each run) | gatehouse ÷ OpenDKIM, msgs/s and CPU |")
    out.append("|---|---|---|---|---|---|---|")
    for c in SIGN_ORDER:
        rs = by[c]
        if not rs:
            continue
        alg = "ed25519" if "ed25519" in c else "rsa"
        od = "opendkim sign " + alg
        ratio = ""
        if c.startswith("gatehouse") and by.get(od):
            ratio = "%.2fx, %.2fx" % (rate(c) / rate(od), cpu(od) / cpu(c))
        cpus = [r["milter_cpu_ms_per_msg"] for r in rs]
        out.append("| %s | %.0f%s | %.3f%s | %.3f | %.3f | %s | %s |" % (
            c, rate(c), spread([r["msgs_per_s"] for r in rs]), cpu(c), spread(cpus, "{:.3f}"),
            m(c, lambda r: r["latency_ms"]["p50"]), m(c, lambda r: r["latency_ms"]["p99"]),
            ", ".join("%d/%d%s" % (r["signed"], r["messages"],
                                   "" if r["signed"] == r["messages"] else " WRONG") for r in rs),
            ratio))
    loads = [r for r in rows if r.get("kind") == "loadavg"]
    if loads:
        out.append("")
        out.append("Load average (1, 5, 15 min): " + "; ".join(
            "%s %s" % (r["when"], r["loadavg"]) for r in loads) + ". Other work shared these "
            "cores: CPU per message is the figure to compare, msgs/s and latency are rough.")
    vals = [r for r in rows if r.get("kind") == "sign-validate"]
    if vals:
        out.append("")
        out.append("Signatures checked before the runs (loadgen -d, then python3-dkim verifies what "
                   "each signer added, tests/bench/sign_check.py):")
        out.append("")
        for v in vals:
            out.append("- %s, corpus entry %d: %s" % (v["config"], v["index"], v["verdict"]))
    out.append("")
    out.append("Goals (issue 12):")
    out.append("")
    out.append("| goal | measured | |")
    out.append("|---|---|---|")

    def met(b):
        return "met" if b else "**not met**"

    g, o = "gatehouse sign rsa", "opendkim sign rsa"
    if by.get(g) and by.get(o):
        out.append("| RSA-2048 signing ≥ 3x OpenDKIM's throughput | %.2fx (%.0f vs %.0f msgs/s) | %s |" % (
            rate(g) / rate(o), rate(g), rate(o), met(rate(g) / rate(o) >= 3)))
        out.append("| (the same by milter CPU per message) | %.2fx (%.3f vs %.3f ms) | %s |" % (
            cpu(o) / cpu(g), cpu(g), cpu(o), met(cpu(o) / cpu(g) >= 3)))
    g, o = "gatehouse sign ed25519", "opendkim sign ed25519"
    if by.get(g) and by.get(o):
        out.append("| (Ed25519, not a goal) | %.2fx msgs/s, %.2fx CPU (%.3f vs %.3f ms) | |" % (
            rate(g) / rate(o), cpu(o) / cpu(g), cpu(g), cpu(o)))
    n = "gatehouse sign rsa, no login"
    if by.get(n) and by.get("gatehouse sign rsa"):
        d = cpu("gatehouse sign rsa") - cpu(n)
        out.append("| the login check's cost per message (RSA signer: a login in a map of "
                   "2,000 more lines, minus the same mail from an internal client with no login "
                   "and no check) | %+.3f ms CPU (%.3f vs %.3f), %.0f vs %.0f msgs/s | |" % (
                       d, cpu("gatehouse sign rsa"), cpu(n),
                       rate("gatehouse sign rsa"), rate(n)))
    for r in rows:
        if r.get("kind") == "sign-growth":
            d = (r["rss_big_kb"] - r["rss_small_kb"]) / 1024
            out.append("| %s: the same RSS after %d and %d signed messages (VmRSS, fresh "
                       "instance) | %.1f MB → %.1f MB (%+.1f MB; load %s) | %s |" % (
                           r["config"], r["small_msgs"], r["big_msgs"], r["rss_small_kb"] / 1024,
                           r["rss_big_kb"] / 1024, d, r["loadavg"], met(d < 1)))


def main():
    if sys.argv[1] == "--postfix-only":
        # BENCH_ONLY=postfix: the Postfix table alone, on standard output
        table = []
        postfix_table(load(sys.argv[2]), table)
        print("\n".join(table))
        return
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
    inbound = any(r.get("kind") == "direct" for r in rows)
    if inbound:
        inbound_tables(rows, meta, table)
    signing = []
    sign_section(rows, meta, signing)
    if table:
        print("\n".join(table))
    if signing:
        print("\nSigning (issue 12):\n")
        print("\n".join(signing))

    md = ["# gatehouse benchmark results", ""]
    if meta.get("quick"):
        md += ["**Quick mode (BENCH_QUICK=1): small counts, numbers are rough.**", ""]
    if not inbound:
        md += ["**Signing section only (BENCH_ONLY=outbound).**", ""]
    write_md(md, meta, table, signing, profile)


def inbound_tables(rows, meta, table):
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
    idle_table(rows, table)
    if any(r.get("kind") == "direct" and r["config"] == "gatehouse" for r in rows):
        table.append("")
        table.append("Own milter protocol layer against %s, side by side (issue 17; medians "
                     "of the runs above):" % (
                         "the libmilter build and the no-op libmilter milter"
                         if any(r.get("config") == "gatehouse (libmilter)" for r in rows)
                         else "the no-op libmilter milter (no libmilter build in this run)"))
        table.append("")
        layer_table(rows, table)
        table.append("")
        table.append("Goals (issue 17):")
        table.append("")
        goals17(rows, direct, pf, base, table)
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


def write_md(md, meta, table, signing, profile):
    md += ["Written by `make bench` (tests/bench/run.sh); do not edit by hand.", "",
           "- date: %s" % meta["date"],
           "- machine: %s cores, %s, %s RAM, Linux %s" % (meta["cores"], meta["cpu"], meta["mem"],
                                                         meta["kernel"]),
           "- gatehouse: %s" % meta["versions"]["gatehouse"],
           ] + (["- gatehouse (libmilter): %s" % meta["versions"]["gatehouse_libmilter"]]
                if meta["versions"].get("gatehouse_libmilter") else []) + [
           "- peers (Debian packages): %s; %s; libmilter %s" % (
               meta["versions"]["opendkim"], meta["versions"]["opendmarc"],
               meta["versions"]["libmilter"]),
           "- Postfix %s, unbound %s" % (meta["versions"]["postfix"], meta["versions"]["unbound"]),
           "- corpus: %s; DKIM rsa-sha256 2048-bit, SPF (one domain via include:), DMARC p=reject, "
           "served by unbound on 127.0.0.1 (warm: every configuration ran over the corpus first)"
           % meta["corpus"],
           ]
    if table:
        md += ["", "## Results", ""] + table
    if signing:
        md += ["", "## Signing: gatehouse next to OpenDKIM (issue 12)", ""] + signing
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
           "- \"gatehouse\" speaks the milter protocol itself (filter/milter/, since a0d71af); "
           "\"gatehouse (libmilter)\", when present, is the libmilter-based build named above, "
           "with the same configuration and run in the same way in the same run.",
           "- Idle connections: tests/bench/idle_conns.c opens them one after another on the "
           "milter's socket, each negotiated (SMFIC_OPTNEG and its reply), raising its own "
           "descriptor limit; VmRSS, Threads and the descriptor count come from /proc/PID of the "
           "milter once it holds them all, and again after idle_conns sent SMFIC_QUIT and closed "
           "them.",
           "- \"no-op milter\": tests/bench/noop_milter.c, a libmilter milter that takes every step, "
           "answers continue and changes nothing: the cost of the milter protocol itself, and the "
           "baseline the issue's Postfix goal is stated against.",
           "- \"floor milter\": tests/bench/floor_milter.c, one thread on gatehouse's own codec "
           "and nothing else; it negotiates the steps and actions gatehouse negotiates, answers "
           "continue and accept, and (\"+ fields\") inserts the three header fields gatehouse inserts, "
           "of the same length. What Postfix keeps behind it is the most any milter speaking the "
           "protocol as gatehouse does can reach in the same run: the cost of Postfix's own milter "
           "client and of the round trips.",
           "- Postfix: a private instance relaying to smtp-sink; the client connects from 192.0.2.25 "
           "(a route on lo), so SPF is evaluated for real (libspf2 passes loopback clients without "
           "looking). \"verified\" counts delivered messages carrying the Authentication-Results "
           "expected from those milters (dkim=pass and dmarc=pass; for gatehouse also spf=pass).",
           "- Signing (tests/bench/outbound.sh, gen_outbound.py): the corpus replayed with MAIL FROM = "
           "the header From and a login at MAIL ({auth_type}, {auth_authen}), the login found in a "
           "Postfix-format sender_login_map among 2,000 other lines. OpenDKIM 2.11: Mode s, KeyTable and "
           "SigningTable (refile:) with the same key per domain, relaxed/relaxed, From/To/Cc/Subject/"
           "Reply-To oversigned, InternalHosts left at 127.0.0.1 (it signs for the {auth_type} macro); "
           "SignatureAlgorithm ed25519-sha256 for its Ed25519 row. gatehouse: the same KeyTable and "
           "SigningTable, defaults otherwise. \"no login\" is the same gatehouse instance given the "
           "same messages without a login (its internal_networks holds the client): signed with no "
           "identity check, the baseline of the login check's cost. loadgen counts the DKIM-Signature "
           "fields each milter adds; \"signed\" is the messages that got one.",
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
