#!/usr/bin/env python3
"""gen_corpus.py - the benchmark's corpus, keys and DNS zone, made here.

usage: gen_corpus.py OUTDIR DKIM_SIGN [COUNT]

Writes into OUTDIR:
  keys/DOMAIN.pem     an RSA-2048 key per sender domain (openssl)
  msg/NNN.eml         COUNT messages (default 50), 2-60 KB, LF line ends:
                      plain text, multipart/alternative text+HTML, and
                      multipart/mixed with a base64 attachment; each signed
                      rsa-sha256 by its From domain with DKIM_SIGN
                      (tests/tools/dkim_sign)
  manifest.tsv        FILE MAIL_FROM RCPT AUTH EXPECT (loadgen's format; EXPECT
                      is pass or reject: what DMARC p=reject must make of it;
                      one message comes from an authenticated client, AUTH
                      set, which loadgen announces with {auth_authen})
  zone.txt            one DNS record a line (zone file syntax): SPF, DKIM
                      and DMARC records of every sender domain and the HELO
                      name's SPF, for unbound's local-data
Deterministic: the same COUNT gives the same messages (keys differ per run).
Two messages in 50 fail DMARC on purpose (body changed after signing, and
MAIL FROM outside the author's domain), so the reject path is measured too.
"""
import base64
import os
import random
import subprocess
import sys
from email.message import EmailMessage
from email.policy import SMTP

CLIENT_NET = "192.0.2.0/24"      # loadgen's connect address 192.0.2.25 is in it
HELO = "mx.sender.example"
RCPT_DOMAIN = "bench-rcpt.example"
DOMAINS = ["alpha.example", "beta.example", "gamma.example", "delta.example"]
SELECTOR = "sel1"

WORDS = ("account invoice meeting schedule project quarterly report figures attached "
         "review draft please find below regards team update status shipment order "
         "delivery customer support ticket release notes agenda minutes budget "
         "forecast travel booking confirmation password policy reminder thanks "
         "tomorrow office building parking holiday calendar").split()


def paragraph(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def text_of_size(rng, size):
    out = []
    n = 0
    while n < size:
        p = paragraph(rng, rng.randint(30, 90))
        # wrap at about 72 columns, as a mail client does
        line, lines = "", []
        for w in p.split():
            if len(line) + len(w) + 1 > 72:
                lines.append(line)
                line = w
            else:
                line = (line + " " + w).strip()
        lines.append(line)
        out.append("\n".join(lines))
        n += len(out[-1]) + 2
    return "\n\n".join(out) + "\n"


def build(rng, i, domain, kind, size):
    m = EmailMessage(policy=SMTP.clone(linesep="\n"))
    user = rng.choice(["alice", "bob", "carol", "dave", "news", "billing"])
    m["From"] = f"{user.capitalize()} <{user}@{domain}>"
    m["To"] = f"Recipient {i} <user{i}@{RCPT_DOMAIN}>"
    m["Subject"] = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i:03d}"
    m["Date"] = f"Mon, 23 Nov 2026 {i % 24:02d}:{i % 60:02d}:00 +0000"
    m["Message-ID"] = f"<bench.{i:03d}.{rng.randrange(1 << 30):x}@{domain}>"
    m["MIME-Version"] = "1.0"
    if i % 7 == 0:
        m["X-Mailer"] = "BenchMailer 1.0"
    text = text_of_size(rng, size if kind == "plain" else size // 2)
    m.set_content(text)
    if kind in ("alternative", "attachment"):
        html = "<html><body>\n" + "".join(
            f"<p>{p}</p>\n" for p in text.split("\n\n")) + "</body></html>\n"
        m.add_alternative(html, subtype="html")
    if kind == "attachment":
        blob = bytes(rng.randrange(256) for _ in range(size // 2))
        m.add_attachment(blob, maintype="application", subtype="octet-stream",
                         filename="report.bin")
    return user, m.as_string()


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def txt_record(name, text):
    # TXT strings are at most 255 bytes: split long ones (DKIM keys)
    parts = " ".join('"%s"' % text[i:i + 250] for i in range(0, len(text), 250))
    return f"{name}. 300 IN TXT {parts}"


def main():
    out, signer = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    rng = random.Random(6)
    for d in ("keys", "msg"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    zone = [txt_record(HELO, f"v=spf1 ip4:{CLIENT_NET} -all"),
            f"{HELO}. 300 IN A 192.0.2.25"]
    for d in DOMAINS:
        key = os.path.join(out, "keys", d + ".pem")
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", key], stderr=subprocess.DEVNULL)
        der = run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                  capture_output=True).stdout
        zone.append(txt_record(f"{SELECTOR}._domainkey.{d}",
                               "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()))
        zone.append(txt_record(f"_dmarc.{d}", "v=DMARC1; p=reject; adkim=r; aspf=r"))
        if d == "delta.example":
            # one domain through include:, the common real-world shape
            zone.append(txt_record(d, "v=spf1 include:_spf.delta.example -all"))
            zone.append(txt_record(f"_spf.{d}", f"v=spf1 ip4:198.51.100.0/24 ip4:{CLIENT_NET} -all"))
        else:
            zone.append(txt_record(d, f"v=spf1 ip4:{CLIENT_NET} -all"))
        zone.append(f"{d}. 300 IN MX 10 mx.{d}.")
    # MAIL FROM of the two DMARC failures: SPF passes there but is not
    # aligned with the author, so every milter reaches end of message
    zone.append(txt_record("elsewhere.example", f"v=spf1 ip4:{CLIENT_NET} -all"))
    manifest = ["# FILE\tMAIL_FROM\tRCPT\tAUTH\tEXPECT"]
    for i in range(count):
        domain = DOMAINS[i % len(DOMAINS)]
        kind = ("attachment" if i == 5 else
                "alternative" if i % 2 else "plain")
        size = rng.randint(2000, 50000) if i != 5 else 30000
        user, text = build(rng, i, domain, kind, size)
        raw = os.path.join(out, "msg", f"{i:03d}.raw")
        with open(raw, "w") as f:
            f.write(text)
        name = f"msg/{i:03d}.eml"
        with open(raw) as fin, open(os.path.join(out, name), "w") as fout:
            run([signer, "-k", os.path.join(out, "keys", domain + ".pem"), "-d", domain,
                 "-s", SELECTOR], stdin=fin, stdout=fout)
        os.unlink(raw)
        mail_from, expect = f"{user}@{domain}", "pass"
        if i == count // 2:
            # body changed after signing (DKIM fails) and MAIL FROM of
            # another domain (SPF unaligned): DMARC fails, p=reject
            with open(os.path.join(out, name), "a") as f:
                f.write("\nP.S. added in transit\n")
            mail_from, expect = "bounce@elsewhere.example", "reject"
        elif i == count // 2 + 1:
            # signed by another domain (a DKIM pass, not aligned) and MAIL
            # FROM elsewhere: no aligned pass at all
            other = DOMAINS[(i + 1) % len(DOMAINS)]
            with open(raw, "w") as f:
                f.write(text)
            with open(raw) as fin, open(os.path.join(out, name), "w") as fout:
                run([signer, "-k", os.path.join(out, "keys", other + ".pem"), "-d", other,
                     "-s", SELECTOR], stdin=fin, stdout=fout)
            os.unlink(raw)
            mail_from, expect = "bounce@elsewhere.example", "reject"
        # one submission from an authenticated user: gatehouse and OpenDMARC
        # treat it as outbound and skip their checks, as in real traffic
        auth = user if i == 10 else "-"
        manifest.append(f"{name}\t{mail_from}\tuser{i}@{RCPT_DOMAIN}\t{auth}\t{expect}")
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    with open(os.path.join(out, "zone.txt"), "w") as f:
        f.write("\n".join(zone) + "\n")


if __name__ == "__main__":
    main()
