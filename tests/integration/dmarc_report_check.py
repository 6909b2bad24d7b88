#!/usr/bin/env python3
"""dmarc_report_check.py - group r's checks of DMARC aggregate reports.

  dmarc_report_check.py DIR XSD          the report files gatehouse wrote
  dmarc_report_check.py --mail SINK XSD  the report mails in smtp-sink's dumps

Each report is validated with xmllint against XSD (RFC 9990's schema) and
compared with what group r sent (dmarc_report.sh): the file name (RFC
9990's ABNF), report_metadata, policy_published and every record with its
count, exactly. With --mail: the mails' From, To, Subject (RFC 9990's
ABNF) and the application/gzip attachment named as the file. Prints what
differs and exits 1; silent and 0 when all is as expected.
"""
import argparse
import email
import email.policy
import glob
import gzip
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NS = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}
IP = "192.0.2.25"
RECEIVER = "rep.example"  # the domain of dmarc_report_email
NAME_RE = re.compile(r"^([A-Za-z0-9.-]+)!([A-Za-z0-9.-]+)!([0-9]+)!([0-9]+)!([A-Za-z0-9]+)\.xml\.gz$")

# policy domain -> (policy_published, {record key: count})
# record key: (source_ip, disposition, dkim, spf, reason type, header_from,
#              envelope_from, envelope_to, ((dkim domain, selector, result),...),
#              (spf domain, scope, result))
SPF_NONE = ("nospf.example", "mfrom", "none")
EXPECT = {
    "rep.example": (
        {"domain": "rep.example", "p": "reject", "adkim": "r", "aspf": "r",
         "discovery_method": "treewalk", "testing": "n"},
        {(IP, "pass", "fail", "pass", None, "rep.example", "rep.example", "example.org", (),
          ("rep.example", "mfrom", "pass")): 3,
         (IP, "reject", "fail", "fail", None, "rep.example", "nospf.example", "example.org", (),
          SPF_NONE): 2},
    ),
    "signed.example": (
        {"domain": "signed.example", "p": "quarantine", "sp": "none", "adkim": "s", "aspf": "r",
         "discovery_method": "treewalk", "testing": "n"},
        {(IP, "pass", "pass", "fail", None, "signed.example", "nospf.example", "example.org",
          (("signed.example", "s1", "pass"),), SPF_NONE): 2},
    ),
    "none.example": (
        {"domain": "none.example", "p": "none", "adkim": "r", "aspf": "r", "fo": "1",
         "discovery_method": "treewalk", "testing": "n"},
        {(IP, "none", "fail", "fail", None, "none.example", "nospf.example", "example.org", (),
          SPF_NONE): 1},
    ),
}
MAIL_TO = {"rep.example": ["dmarc@example.org"], "none.example": ["other@example.org"]}


def text(el, path):
    found = el.find(path, NS)
    return None if found is None else found.text


def check_xml(name, data, xsd, problems):
    """One report: schema, name, contents. Returns the policy domain."""
    m = NAME_RE.match(name)
    if not m:
        problems.append(f"{name}: not an RFC 9990 file name")
        return None
    receiver, domain, begin, end, uid = m.groups()
    with tempfile.NamedTemporaryFile(suffix=".xml") as tmp:
        tmp.write(data)
        tmp.flush()
        r = subprocess.run(["xmllint", "--noout", "--schema", xsd, tmp.name],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            problems.append(f"{name}: xmllint: {r.stderr.strip()}")
    root = ET.fromstring(data)
    if root.tag != "{urn:ietf:params:xml:ns:dmarc-2.0}feedback":
        problems.append(f"{name}: root element {root.tag}")
    md = "d:report_metadata/d:"
    if receiver != RECEIVER or text(root, md + "email") != "reports@rep.example":
        problems.append(f"{name}: receiver {receiver}, email {text(root, md + 'email')}")
    if text(root, md + "org_name") != "gatehouse integration suite":
        problems.append(f"{name}: org_name {text(root, md + 'org_name')}")
    if text(root, md + "report_id") != uid:
        problems.append(f"{name}: report_id {text(root, md + 'report_id')} is not the file's {uid}")
    if (text(root, md + "date_range/d:begin"), text(root, md + "date_range/d:end")) != (begin, end):
        problems.append(f"{name}: date_range is not the file name's")
    if domain not in EXPECT:
        problems.append(f"{name}: a report about {domain}, which expects none")
        return domain
    want_pol, want_rec = EXPECT[domain]
    pol = {c.tag.split("}")[1]: c.text for c in root.find("d:policy_published", NS)}
    if pol != want_pol:
        problems.append(f"{name}: policy_published {pol}, expected {want_pol}")
    got = {}
    for rec in root.findall("d:record", NS):
        key = (text(rec, "d:row/d:source_ip"), text(rec, "d:row/d:policy_evaluated/d:disposition"),
               text(rec, "d:row/d:policy_evaluated/d:dkim"),
               text(rec, "d:row/d:policy_evaluated/d:spf"),
               text(rec, "d:row/d:policy_evaluated/d:reason/d:type"),
               text(rec, "d:identifiers/d:header_from"), text(rec, "d:identifiers/d:envelope_from"),
               text(rec, "d:identifiers/d:envelope_to"),
               tuple((text(k, "d:domain"), text(k, "d:selector"), text(k, "d:result"))
                     for k in rec.findall("d:auth_results/d:dkim", NS)),
               tuple(text(rec, "d:auth_results/d:spf/d:" + t) for t in ("domain", "scope", "result")))
        if key in got:
            problems.append(f"{name}: two records for {key}")
        got[key] = int(text(rec, "d:row/d:count"))
    if got != want_rec:
        problems.append(f"{name}: records {got}, expected {want_rec}")
    return domain


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mail", action="store_true")
    ap.add_argument("where")
    ap.add_argument("xsd")
    a = ap.parse_args()
    problems = []
    seen = []
    if not a.mail:
        for path in sorted(glob.glob(os.path.join(a.where, "*"))):
            with open(path, "rb") as f:
                seen.append(check_xml(os.path.basename(path), gzip.decompress(f.read()), a.xsd,
                                      problems))
        if sorted(d for d in seen if d) != sorted(EXPECT):
            problems.append(f"reports about {sorted(seen)}, expected {sorted(EXPECT)}")
    else:
        for path in sorted(glob.glob(os.path.join(a.where, "m.*"))):
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            subj = str(msg.get("Subject", ""))
            if not subj.startswith("Report Domain:"):
                continue
            sm = re.fullmatch(r"Report\s+Domain:\s+(\S+)\s+Submitter:\s+(\S+)\s+Report-ID:\s+<([A-Za-z0-9]+)>",
                              " ".join(subj.split()))
            if not sm:
                problems.append(f"{path}: Subject {subj!r} is not RFC 9990's")
                continue
            domain, submitter, rid = sm.groups()
            to = sorted(str(x.addr_spec) for x in msg["To"].addresses) if msg["To"] else []
            if to != MAIL_TO.get(domain):
                problems.append(f"{path}: To {to} for {domain}, expected {MAIL_TO.get(domain)}")
            if "reports@rep.example" not in str(msg["From"]) or submitter != RECEIVER:
                problems.append(f"{path}: From {msg['From']}, submitter {submitter}")
            atts = [p for p in msg.iter_attachments() if p.get_content_type() == "application/gzip"]
            if len(atts) != 1:
                problems.append(f"{path}: {len(atts)} application/gzip attachments")
                continue
            fname = atts[0].get_filename()
            if not fname or not fname.endswith(f"!{rid}.xml.gz"):
                problems.append(f"{path}: attachment named {fname}, Report-ID {rid}")
            seen.append(check_xml(fname or "?", gzip.decompress(atts[0].get_content()), a.xsd,
                                  problems))
        if sorted(d for d in seen if d) != sorted(MAIL_TO):
            problems.append(f"report mails about {sorted(d for d in seen if d)}, expected {sorted(MAIL_TO)}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
