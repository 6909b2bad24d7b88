#!/usr/bin/env python3
"""gen_outbound.py - the signing benchmark's files, from gen_corpus.py's corpus.

usage: gen_outbound.py CORPUS_DIR

The outbound runs replay the same messages as the inbound ones, as an
authenticated submission: MAIL FROM is the header From address and the
client logs in. Writes into CORPUS_DIR/out/:
  manifest-auth.tsv      FILE FROM RCPT LOGIN sign (loadgen's format): the
                         login is "user-domainlabel" (alice-alpha), so the
                         identity check must find it in the login map
  manifest-internal.tsv  the same without a login: mail from an internal
                         client, signed without an identity check (the
                         baseline the login check's cost is measured from)
  logins                 the login map (Postfix's smtpd_sender_login_maps
                         format): every corpus address with its login, among
                         2,000 more lines (addresses and @domain), as a
                         host with a thousand users has
  keytable-rsa           KeyTable (OpenDKIM's format, which gatehouse reads
                         too): each sender domain's RSA-2048 key from
                         gen_corpus.py, selector sel1
  keytable-ed            gatehouse's KeyTable with an Ed25519 key per domain
                         (selector ed1; the :ed25519-sha256 field is
                         gatehouse's, OpenDKIM takes the algorithm from
                         SignatureAlgorithm)
  keytable-ed-opendkim   the same keys without that field, for OpenDKIM
  signingtable-rsa, signingtable-ed   SigningTable for refile: (*@domain NAME)
  zone-ed.txt            the Ed25519 keys' DNS records (ed1._domainkey), for
                         sign_check.py (the RSA ones are in zone.txt)
Keys are made mode 0600 (OpenDKIM refuses a key others may read).
"""
import base64
import os
import subprocess
import sys
from email import message_from_binary_file
from email.policy import default
from email.utils import getaddresses

FILLER = 1000  # map lines of other users (and as many @domain lines)


def from_address(path):
    with open(path, "rb") as f:
        msg = message_from_binary_file(f, policy=default)
    addrs = getaddresses([str(msg["From"])])
    return addrs[0][1]


def main():
    corpus = sys.argv[1]
    out = os.path.join(corpus, "out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(corpus, "manifest.tsv")) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if not line.startswith("#")]
    auth, internal, owners, domains = [], [], {}, []
    for row in rows:
        name, rcpt = row[0], row[2]
        addr = from_address(os.path.join(corpus, name))
        user, domain = addr.split("@")
        login = "%s-%s" % (user, domain.split(".")[0])
        owners[addr] = login
        if domain not in domains:
            domains.append(domain)
        # FILE is relative to the manifest's directory (corpus.h)
        auth.append("\t".join(["../" + name, addr, rcpt, login, "sign"]))
        internal.append("\t".join(["../" + name, addr, rcpt, "-", "sign"]))
    head = "# FILE\tMAIL_FROM\tRCPT\tAUTH\tEXPECT\n"
    for fname, lines in (("manifest-auth.tsv", auth), ("manifest-internal.tsv", internal)):
        with open(os.path.join(out, fname), "w") as f:
            f.write(head + "\n".join(lines) + "\n")
    with open(os.path.join(out, "logins"), "w") as f:
        f.write("# ADDRESS  LOGIN (Postfix smtpd_sender_login_maps)\n")
        for i in range(FILLER // 2):
            f.write("user%d@example.org user%d\n@d%d.example user%d\n" % (i, i, i, i))
        for addr, login in sorted(owners.items()):
            f.write("%s %s\n" % (addr, login))
        for i in range(FILLER // 2, FILLER):
            f.write("user%d@example.org user%d\n@d%d.example user%d\n" % (i, i, i, i))
    rsa, ed, ed_od, st_rsa, st_ed, zone = [], [], [], [], [], []
    for d in domains:
        label = d.split(".")[0]
        rsa_key = os.path.join(corpus, "keys", d + ".pem")
        ed_key = os.path.join(corpus, "keys", d + ".ed.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", ed_key],
                       check=True, stderr=subprocess.DEVNULL)
        for k in (rsa_key, ed_key):
            os.chmod(k, 0o600)
        # RFC 8463: p= is the raw 32-byte key, the tail of the DER SubjectPublicKeyInfo
        der = subprocess.run(["openssl", "pkey", "-in", ed_key, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        zone.append('ed1._domainkey.%s. 300 IN TXT "v=DKIM1; k=ed25519; p=%s"' % (
            d, base64.b64encode(der[-32:]).decode()))
        rsa.append("%s-rsa %s:sel1:%s" % (label, d, rsa_key))
        ed.append("%s-ed %s:ed1:%s:ed25519-sha256" % (label, d, ed_key))
        ed_od.append("%s-ed %s:ed1:%s" % (label, d, ed_key))
        st_rsa.append("*@%s %s-rsa" % (d, label))
        st_ed.append("*@%s %s-ed" % (d, label))
    for fname, lines in (("keytable-rsa", rsa), ("keytable-ed", ed),
                         ("keytable-ed-opendkim", ed_od), ("signingtable-rsa", st_rsa),
                         ("signingtable-ed", st_ed), ("zone-ed.txt", zone)):
        with open(os.path.join(out, fname), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
