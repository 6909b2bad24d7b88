#!/usr/bin/env python3
"""tests/spf/rfc7208.py - the RFC 7208 (SPF) conformance suite through gatehouse's test mode

usage: tests/spf/rfc7208.py GATEHOUSE [--suite PATH] [--known FILE] [-v]
                            [--only SCENARIO/TEST ...] [--jobs N] [-c CONFIG]
                            [--exp] [--keep] [--fixtures-only]

The suite is the openspf.org one shipped by python3-spf (rfc7208-tests.yml.gz):
a multi-document YAML file, one scenario per document, each with DNS zone data
and tests. For every scenario this writes one DNS fixture file (RFC 1035
presentation format, see include/dns/dns_fixture.h) and, for every test, runs

  GATEHOUSE test -c CONFIG --dns-fixture FIXTURE --ip HOST --helo HELO
                 --from MAILFROM|'<>' --rcpt postmaster@example.net --json -

with a small message on stdin (CONFIG is an empty file unless -c is given),
then compares .spf.mailfrom.result with the test's result (a word or a list of
acceptable words). With an empty mailfrom, RFC 7208 section 2.4 makes the
MAIL FROM identity postmaster@HELO, which gatehouse does for '<>';
.spf.mailfrom.result is the result for that.

Scenarios are named by their description, lower case with '-' for anything
but letters and digits ("Initial processing" -> initial-processing); tests by
their name in the suite, so a test is SCENARIO/TEST. --only takes SCENARIO/TEST,
SCENARIO or TEST, and may be given more than once.

Zone data follows the semantics of pyspf's test driver (testspf.py), which
the suite is written for:
  - "SPF: ..." entries are records of type SPF and, when the name has no TXT
    entry, also TXT records ("auto-magic duplication", see the suite's header);
    "TXT: NONE" suppresses that and publishes no TXT record.
  - a TXT/SPF value is a string or a list of strings (several character-strings
    in one record). Strings are UTF-8; bytes outside printable ASCII become
    \\DDD, '"' and '\\' are escaped, and a string over 255 bytes is split into
    several character-strings. An empty list (a record without any
    character-string) is written as one empty string: libunbound answers
    SERVFAIL for a TXT record without any ("\\# 0"), and the SPF text is
    empty either way.
  - a bare TIMEOUT entry: a query for a type with records listed before it gets
    those records; any other type times out. The fixture format can only make a
    whole name time out, so the name gets a "NAME TIMEOUT" line unless TXT records
    come before the TIMEOUT (then only those records are written and the other
    types answer NODATA instead of timing out). Each such approximation is
    written into the fixture as a "; approx:" comment (shown with -v).
  - names not in the zone data do not exist (NXDOMAIN).

Output: "ok - SCENARIO/TEST" or "not ok - SCENARIO/TEST: expected X got Y" per
test, in suite order. Tests listed in the known-misses file (one
"SCENARIO/TEST  reason" a line, '#' comments) print
"ok - SCENARIO/TEST # known miss: reason" and do not fail; a known miss that
passes prints a note so the list can be pruned. The last lines are
"K known misses" and "N passed, M failed" (known misses count as passed);
exit 1 when M > 0, 2 on usage errors.

--exp also compares .spf.mailfrom.explanation where the suite gives an
explanation ('DEFAULT' there means none of the domain's own, null here); the
macro-expansion tests check the expansion only through it. A mismatch prints
"not ok - SCENARIO/TEST: expected explanation "X" got "Y"".

--fixtures-only checks that every scenario's fixture loads (gatehouse exits 65
on a bad fixture line) without looking at SPF results.
"""

import argparse
import concurrent.futures
import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover - the deps install python3-yaml
    print("not ok - python3-yaml is needed for the RFC 7208 suite")
    print("0 passed, 1 failed")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SUITE = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"
DEFAULT_KNOWN = os.path.join(HERE, "known-misses.txt")
RCPT = "postmaster@example.net"
TTL = 300
RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")
# pyspf's pre-RFC 7208 words (testspf.py's oldresults)
OLD_RESULTS = {"unknown": "permerror", "error": "temperror"}
# The RR types an SPF check queries (RFC 7208 section 4 and 5); SPF (99) is
# published for the suite's sake but nobody should ask for it any more.
QUERIED_TYPES = ("TXT", "A", "AAAA", "MX", "PTR")
EXIT_BAD_INPUT = 65


# --- presentation format ---------------------------------------------------

def char_strings(value):
    """One TXT/SPF value (str or list of str) as presentation-format RDATA."""
    if isinstance(value, (str, bytes)):
        value = [value]
    parts = []
    for s in value:
        b = s if isinstance(s, bytes) else str(s).encode("utf-8")
        chunks = [b[i:i + 255] for i in range(0, len(b), 255)] or [b""]
        parts.extend(quote_char_string(c) for c in chunks)
    if not parts:
        # A TXT record without any character-string: libunbound answers
        # SERVFAIL to one ("\\# 0"), so it is written as one empty string,
        # which is the same (empty) text for SPF.
        return '""'
    return " ".join(parts)


def quote_char_string(b):
    out = ['"']
    for byte in b:
        c = chr(byte)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= byte <= 0x7E:
            out.append(c)
        else:
            out.append("\\%03d" % byte)
    out.append('"')
    return "".join(out)


_NAME_OK = re.compile(r"[A-Za-z0-9_\-*/:%+=,]")


def fqdn(name):
    """NAME in presentation format, fully qualified with a trailing dot."""
    name = str(name)
    if name in ("", "."):
        return "."
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    out = []
    for label in labels:
        esc = []
        for byte in label.encode("utf-8"):
            c = chr(byte)
            esc.append(c if _NAME_OK.fullmatch(c) else "\\%03d" % byte)
        out.append("".join(esc))
    return ".".join(out) + "."


def rdata(rtype, value):
    if rtype in ("TXT", "SPF"):
        return char_strings(value)
    if rtype == "MX":
        pref, target = value
        return "%d %s" % (int(pref), fqdn(target))
    if rtype in ("PTR", "CNAME", "NS"):
        return fqdn(value)
    return str(value)


# --- zone data -> fixture --------------------------------------------------

def pyspf_records(entries):
    """A name's zone data as pyspf's getrdata() sees it: a list of
    (type, value) and the string "TIMEOUT", with TXT generated from SPF."""
    out, generated, gen = [], [], True
    for m in entries:
        if not isinstance(m, dict):
            out.append(str(m))
            continue
        for t, v in m.items():
            t = str(t).upper()
            if t in ("TXT", "SPF") and not isinstance(v, list):
                v = [v]
            if t == "TXT":
                gen = False
            elif t == "SPF":
                generated.append(("TXT", v))
            if v != ["NONE"]:
                out.append((t, v))
    if gen:
        out.extend(generated)
    return out


def answers(records, qtype):
    """What pyspf's DNSLookup answers for QTYPE: a list of values, or None for a timeout."""
    got, seen = [], False
    for r in records:
        if r == "TIMEOUT":
            return got if seen else None
        if not isinstance(r, tuple):
            continue
        t, v = r
        if t == qtype:
            seen = True
            if v == "TIMEOUT":
                return None
            got.append(v)
    return got


def fixture_lines(zonedata):
    """The fixture for one scenario's zone data, and the approximations made."""
    lines, approx = [], []
    for name, entries in (zonedata or {}).items():
        entries = entries if isinstance(entries, list) else [entries]
        records = pyspf_records(entries)
        owner = fqdn(name)
        timeouts = [t for t in QUERIED_TYPES + ("SPF",) if answers(records, t) is None]
        # pyspf stops at the first bare TIMEOUT: later records are never seen
        first = records.index("TIMEOUT") if "TIMEOUT" in records else len(records)
        kept = [r for r in records[:first] if isinstance(r, tuple) and r[1] != "TIMEOUT"]
        if "TXT" in timeouts:
            lines.append("%s TIMEOUT" % owner)
            lost = sorted({t for t, _ in kept if t not in timeouts})
            if lost:
                note = "%s: every type times out; pyspf would answer %s" % (name, ", ".join(lost))
                approx.append(note)
                lines.append("; approx: " + note)
            for t, v in kept:
                lines.append("; (not served) %s %d IN %s %s" % (owner, TTL, t, rdata(t, v)))
            continue
        if timeouts:
            note = "%s: %s answer NODATA; pyspf would time out" % (name, ", ".join(timeouts))
            approx.append(note)
            lines.append("; approx: " + note)
        for t, v in kept:
            if t in ("TXT", "SPF") and v == []:
                note = "%s: %s record without character-strings written as \"\"" % (name, t)
                approx.append(note)
                lines.append("; approx: " + note)
            lines.append("%s %d IN %s %s" % (owner, TTL, t, rdata(t, v)))
    return lines, approx


# --- the suite ---------------------------------------------------------------

def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "scenario"


def load_suite(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fp:
        docs = [d for d in yaml.safe_load_all(fp) if d]
    scenarios, used = [], set()
    for i, doc in enumerate(docs):
        sname = slug(doc.get("description", "scenario-%d" % (i + 1)))
        if sname in used:
            sname = "%s-%d" % (sname, i + 1)
        used.add(sname)
        tests = []
        for tname, t in (doc.get("tests") or {}).items():
            expected = t.get("result")
            expected = expected if isinstance(expected, list) else [expected]
            expected = [OLD_RESULTS.get(str(e), str(e)) for e in expected]
            tests.append({
                "id": "%s/%s" % (sname, tname),
                "name": str(tname),
                "host": str(t.get("host", "")),
                "helo": str(t.get("helo", "")),
                "mailfrom": "" if t.get("mailfrom") is None else str(t.get("mailfrom")),
                "expected": expected,
                "spec": t.get("spec"),
                "explanation": None if t.get("explanation") is None else str(t.get("explanation")),
            })
        scenarios.append({"name": sname, "zonedata": doc.get("zonedata") or {}, "tests": tests})
    return scenarios


def load_known(path):
    known = {}
    if not path or not os.path.exists(path):
        return known
    with open(path, encoding="utf-8") as fp:
        for line in fp:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            known[parts[0]] = parts[1].strip() if len(parts) > 1 else "(no reason given)"
    return known


def selected(test, only):
    if not only:
        return True
    sname = test["id"].split("/", 1)[0]
    return any(o in (test["id"], sname, test["name"]) for o in only)


def message(test):
    return ("From: <rfc7208-suite@example.net>\r\n"
            "To: <%s>\r\n"
            "Subject: RFC 7208 %s\r\n"
            "Message-ID: <%s@rfc7208.example.net>\r\n"
            "\r\n"
            "SPF conformance test %s (spec %s).\r\n"
            % (RCPT, test["id"], slug(test["id"]), test["id"], test["spec"])).encode()


def command(gh, config, fixture, test):
    cmd = [gh, "test"]
    if config:
        cmd += ["-c", config]
    cmd += ["--dns-fixture", fixture, "--ip", test["host"], "--helo", test["helo"],
            "--from", test["mailfrom"] or "<>", "--rcpt", RCPT, "--json", "-"]
    return cmd


def run_test(gh, config, fixture, test, timeout):
    """(result word or None, error text or None, command, stderr, reason or None, explanation or None)"""
    cmd = command(gh, config, fixture, test)
    try:
        p = subprocess.run(cmd, input=message(test), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "no answer in %d s" % timeout, cmd, "", None, None
    except OSError as e:
        return None, str(e), cmd, "", None, None
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode >= 64:
        first = err.strip().splitlines()[0] if err.strip() else ""
        return None, "exit %d: %s" % (p.returncode, first), cmd, err, None, None
    try:
        report = json.loads(p.stdout.decode("utf-8", "replace"))
        mailfrom = (report.get("spf") or {}).get("mailfrom") or {}
        result, reason = mailfrom.get("result"), mailfrom.get("reason")
        explanation = mailfrom.get("explanation")
        if result is None and (report.get("verdict") or {}).get("phase") == "mail":
            reason = "refused at MAIL FROM by %s: %s" % (report["verdict"].get("by"),
                                                        report["verdict"].get("text"))
    except (ValueError, AttributeError, TypeError) as e:
        return None, "bad JSON (exit %d): %s" % (p.returncode, e), cmd, err, None, None
    return result, None, cmd, err, reason, explanation


def explanation_matches(expected, got):
    """The suite's explanation against gatehouse's. The suite's driver sets
    the default explanation to 'DEFAULT'; gatehouse has none (null)."""
    if expected == "DEFAULT":
        return not got
    return got == expected


def shell_quote(cmd):
    return " ".join(shlex.quote(a) for a in cmd)


def main(argv):
    ap = argparse.ArgumentParser(description="RFC 7208 SPF conformance suite through gatehouse test mode")
    ap.add_argument("gatehouse")
    ap.add_argument("--suite", default=DEFAULT_SUITE)
    ap.add_argument("--known", default=DEFAULT_KNOWN,
                    help="known misses, 'SCENARIO/TEST  reason' a line (default: %(default)s)")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    ap.add_argument("--only", action="append", default=[], metavar="SCENARIO/TEST")
    ap.add_argument("-j", "--jobs", type=int, default=8)
    ap.add_argument("-c", "--config", default=None,
                    help="gatehouse config for every run (default: an empty file, every default applies)")
    ap.add_argument("--exp", action="store_true",
                    help="also compare exp= explanations where the suite gives one "
                         "(the macro tests check expansion only through them)")
    ap.add_argument("--timeout", type=int, default=30, help="seconds per gatehouse run")
    ap.add_argument("--keep", action="store_true", help="keep the fixture directory and say where")
    ap.add_argument("--fixtures-only", action="store_true",
                    help="only check that every scenario's fixture loads")
    args = ap.parse_args(argv)

    gh = args.gatehouse
    if not (os.path.isfile(gh) and os.access(gh, os.X_OK)):
        print("not ok - %s is not an executable" % gh)
        print("0 passed, 1 failed")
        return 1
    try:
        scenarios = load_suite(args.suite)
    except (OSError, yaml.YAMLError) as e:
        print("not ok - cannot read the suite %s: %s" % (args.suite, e))
        print("0 passed, 1 failed")
        return 1
    known = load_known(args.known)

    tmp = tempfile.mkdtemp(prefix="gatehouse-rfc7208.")
    try:
        if args.config is None:
            # an empty config, so no /etc/gatehouse/gatehouse.conf changes the outcome
            args.config = os.path.join(tmp, "empty.conf")
            with open(args.config, "w", encoding="ascii") as fp:
                fp.write("# rfc7208.py: every default applies\n")
        jobs = []  # (test, fixture)
        for sc in scenarios:
            tests = [t for t in sc["tests"] if selected(t, args.only)]
            if args.fixtures_only:
                tests = sc["tests"][:1]
            if not tests:
                continue
            fixture = os.path.join(tmp, sc["name"] + ".zone")
            lines, approx = fixture_lines(sc["zonedata"])
            with open(fixture, "w", encoding="ascii") as fp:
                fp.write("; RFC 7208 suite scenario: %s\n" % sc["name"])
                fp.write("\n".join(lines) + "\n")
            if args.verbose:
                for a in approx:
                    print("# %s: approx: %s" % (sc["name"], a))
            jobs.extend((t, fixture) for t in tests)
        if args.only and not jobs:
            print("not ok - --only %s matches no test" % " ".join(args.only))
            print("0 passed, 1 failed")
            return 1

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
            futures = [ex.submit(run_test, gh, args.config, fx, t, args.timeout) for t, fx in jobs]
            outcomes = [f.result() for f in futures]

        passed = failed = nknown = 0
        for (t, fixture), (result, error, cmd, err, reason, explanation) in zip(jobs, outcomes):
            if args.fixtures_only:
                name = "fixture " + t["id"].split("/", 1)[0]
                if error and error.startswith("exit %d" % EXIT_BAD_INPUT):
                    failed += 1
                    print("not ok - %s: %s" % (name, error))
                    for line in err.strip().splitlines():
                        print("#   %s" % line)
                else:
                    passed += 1
                    print("ok - %s%s" % (name, "" if error is None else " # " + error))
                continue
            got = error if error else ("null" if result is None else str(result))
            good = error is None and result in t["expected"]
            want = " or ".join(t["expected"])
            if good and args.exp and t["explanation"] is not None and \
                    not explanation_matches(t["explanation"], explanation):
                good = False
                want = "explanation %s" % json.dumps(t["explanation"])
                got = json.dumps(explanation)
            if t["id"] in known:
                passed += 1
                if good:
                    print("ok - %s # known miss passes now, prune it from %s: %s"
                          % (t["id"], os.path.basename(args.known), known[t["id"]]))
                else:
                    nknown += 1
                    print("ok - %s # known miss: %s" % (t["id"], known[t["id"]]))
            elif good:
                passed += 1
                print("ok - %s" % t["id"])
            else:
                failed += 1
                print("not ok - %s: expected %s got %s" % (t["id"], want, got))
            if args.verbose and (not good or args.verbose > 1):
                print("#   spec %s; %s" % (t["spec"], shell_quote(cmd)))
                if reason:
                    print("#   reason: %s" % reason)
                for line in err.strip().splitlines()[:20]:
                    print("#   stderr: %s" % line)
        if not args.only and not args.fixtures_only:
            ids = {t["id"] for sc in scenarios for t in sc["tests"]}
            for k in sorted(set(known) - ids):
                print("# known miss %s is not in the suite: prune it" % k)
        if args.keep:
            print("# fixtures kept in %s" % tmp)
        print("%d known misses" % nknown)
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
