#!/usr/bin/env bash
# tests/dkim/run.sh - DKIM verification and DMARC through gatehouse's test
# mode, on messages signed here with keys made here (openssl) and a DNS
# fixture that publishes their public keys and DMARC records.
#
# usage: tests/dkim/run.sh path/to/gatehouse path/to/dkim_sign
# Prints "ok - NAME" / "not ok - NAME" and ends with "N passed, M failed".
set -u
GH=${1:?usage: $0 gatehouse dkim_sign}
SIGN=${2:?usage: $0 gatehouse dkim_sign}
TMP=${GH_KEEP_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-dkim.XXXXXX")}
trap '[ -n "${GH_KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
passed=0 failed=0

# key NAME ALG [BITS [PUBLIC-EXPONENT]] - a private key in $TMP/NAME.pem
key() {
	if [ "$2" = ed25519 ]; then
		openssl genpkey -algorithm ed25519 -out "$TMP/$1.pem" 2>/dev/null
	else
		openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$3" \
			-pkeyopt "rsa_keygen_pubexp:${4:-65537}" -out "$TMP/$1.pem" 2>/dev/null
	fi
}

# pubrec NAME TYPE - the DKIM key record text for key NAME (RFC 6376 / 8463)
pubrec() {
	local p
	if [ "$2" = ed25519 ]; then
		# RFC 8463: the bare 32-byte public key, not the SPKI structure
		p=$(openssl pkey -in "$TMP/$1.pem" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)
	else
		p=$(openssl pkey -in "$TMP/$1.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
	fi
	echo "v=DKIM1; k=$2; p=$p"
}

# publish NAME RECORD - a TXT record at NAME, split into 250-byte strings
publish() {
	python3 -c 'import sys; r=sys.argv[2]; print(sys.argv[1]+". 300 IN TXT "+" ".join("\"%s\"" % r[i:i+250] for i in range(0, len(r), 250)))' "$1" "$2" >>"$TMP/zone"
}

key rsa rsa 2048
key rsa1024 rsa 1024
key rsa512 rsa 512
key ed ed25519
key other rsa 2048
# A signer's choice the verifier pays for: a 2048-bit key whose public
# exponent has 1,500 bits makes each verification as dear as signing, and
# so, less so, does a modulus past 8,192 bits. e=3 (small, legal, still met
# in the wild) and e=2^31-1 (the largest taken) must keep passing.
key e3 rsa 2048 3
key e31 rsa 2048 2147483647
key bige rsa 2048 "$(python3 -c 'print((1 << 1499) | (1 << 700) | 1)')"
# a published key of 9,000 bits (any odd modulus: it is refused before any
# verification, so no key is made, which would take minutes)
bign=$(python3 -c 'import secrets; print(hex(secrets.randbits(9000) | (1 << 8999) | 1))')
printf 'asn1=SEQUENCE:pubkey\n[pubkey]\nn=INTEGER:%s\ne=INTEGER:65537\n' "$bign" >"$TMP/bign.cnf"
openssl asn1parse -genconf "$TMP/bign.cnf" -out "$TMP/bign.der" -noout
bign_p=$(openssl rsa -RSAPublicKey_in -inform DER -in "$TMP/bign.der" -pubout -outform DER 2>/dev/null | base64 -w0)
: >"$TMP/zone"
publish s1._domainkey.example.org "$(pubrec rsa rsa)"
publish k1024._domainkey.example.org "$(pubrec rsa1024 rsa)"
publish k512._domainkey.example.org "$(pubrec rsa512 rsa)"
publish ed._domainkey.example.org "$(pubrec ed ed25519)"
publish revoked._domainkey.example.org "v=DKIM1; k=rsa; p="
publish wrongtype._domainkey.example.org "$(pubrec ed ed25519)"
publish s1._domainkey.example.com "$(pubrec other rsa)"
publish e3._domainkey.example.org "$(pubrec e3 rsa)"
publish e31._domainkey.example.org "$(pubrec e31 rsa)"
publish bign._domainkey.example.org "v=DKIM1; k=rsa; p=$bign_p"
publish bige._domainkey.example.org "$(pubrec bige rsa)"
key e2p31 rsa 2048 2147483649
publish e2p31._domainkey.example.org "$(pubrec e2p31 rsa)"
# The same big-exponent key in records libopendkim reads otherwise than
# gatehouse's own reader, each under a signature only libopendkim checks
# (simple canonicalization): all must be kept from it (review of 9e325cb)
bige_p=$(pubrec bige rsa | sed 's/.*p=//')
publish bige-tags._domainkey.example.org "$(for i in $(seq 0 32); do printf 'x%d=1; ' "$i"; done)v=DKIM1; k=rsa; p=$bige_p"
publish bige-b64._domainkey.example.org "v=DKIM1; k=rsa; p=$(printf '%s' "$bige_p" | tr -d =)=A"
publish bige-ktype._domainkey.example.org "v=DKIM1; k=ed25519; p=$bige_p"
publish bige-two._domainkey.example.org "v=DKIM1; k=rsa; p=$bige_p; x=$(printf 'A%.0s' $(seq 400)); p=$(pubrec e3 rsa | sed 's/.*p=//')"
publish bige-hsha1._domainkey.example.org "v=DKIM1; h=sha1; k=rsa; p=$bige_p"
# a NUL byte after the key: libopendkim reads the record up to it
python3 -c 'import sys; r="v=DKIM1; k=rsa; p="+sys.argv[1]+";"; print("bige-nul._domainkey.example.org. 300 IN TXT "+" ".join("\"%s\"" % r[i:i+250] for i in range(0, len(r), 250))+" \"\\000x\"")' "$bige_p" >>"$TMP/zone"
# the key as RSA-PSS (another OID for RSA in SubjectPublicKeyInfo)
openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 \
	-pkeyopt "rsa_keygen_pubexp:$(python3 -c 'print((1 << 1499) | (1 << 700) | 1)')" -out "$TMP/pss.pem" 2>/dev/null
publish bige-pss._domainkey.example.org "v=DKIM1; k=rsa; p=$(openssl pkey -in "$TMP/pss.pem" -pubout -outform DER 2>/dev/null | base64 -w0)"
echo "slow._domainkey.example.org. TIMEOUT" >>"$TMP/zone"

cat >"$TMP/plain.eml" <<'MSG'
From: Alice <alice@example.org>
To: bob@example.net
Subject: quarterly numbers
Date: Mon, 23 Nov 2026 06:00:00 +0000
Message-ID: <q4@example.org>

Hello Bob,
the numbers are attached in spirit.
MSG

sign() { # OUT IN KEY DOMAIN SELECTOR [dkim_sign options]
	local out=$1 in=$2 k=$3 d=$4 s=$5
	shift 5
	# The signer is a test tool; libopendkim leaks in its Ed25519 key loading
	# (../shared/NOTES.md), which LeakSanitizer builds would report. gatehouse
	# itself (verifying) runs with leak checking on.
	ASAN_OPTIONS=detect_leaks=0 "$SIGN" -k "$TMP/$k.pem" -d "$d" -s "$s" "$@" <"$TMP/$in" >"$TMP/$out" ||
		{ echo "not ok - signing $out failed"; exit 1; }
}

sign pass.eml plain.eml rsa example.org s1
sign ed.eml plain.eml ed example.org ed -a ed25519-sha256
sign sha1.eml plain.eml rsa example.org s1 -a rsa-sha1
sign k1024.eml plain.eml rsa1024 example.org k1024
sign k512.eml plain.eml rsa512 example.org k512
sign nokey.eml plain.eml rsa example.org nosuchkey
sign revoked.eml plain.eml rsa example.org revoked
sign wrongtype.eml plain.eml rsa example.org wrongtype
sign slow.eml plain.eml rsa example.org slow
sign simple.eml plain.eml rsa example.org s1 -c simple
sign e3.eml plain.eml e3 example.org e3
sign e31.eml plain.eml e31 example.org e31
sign bign.eml plain.eml rsa example.org bign
sign bign-simple.eml plain.eml rsa example.org bign -c simple
sign bige.eml plain.eml bige example.org bige
# the same key on the paths libopendkim checks (simple, rsa-sha1)
sign bige-simple.eml plain.eml bige example.org bige -c simple
sign bige-sha1.eml plain.eml bige example.org bige -a rsa-sha1
sign e2p31.eml plain.eml e2p31 example.org e2p31
for v in tags b64 ktype two nul pss; do
	sign "bige-$v.eml" plain.eml bige example.org "bige-$v" -c simple
done
sign bige-hsha1.eml plain.eml bige example.org bige-hsha1 -a rsa-sha1
# d= with a trailing dot: libopendkim asks for the name as written
sign bige-dot.eml plain.eml bige example.org. bige -c simple
# more signatures on the key than dkim_max_signatures (8) checks
cp "$TMP/plain.eml" "$TMP/bige-ten.eml"
for i in $(seq 1 10); do
	sign tmp.eml bige-ten.eml bige example.org bige -c simple && mv "$TMP/tmp.eml" "$TMP/bige-ten.eml"
done
# fields with no space after the colon, or a tab: "simple" signs their
# exact bytes, which the MTA's SMFIP_HDR_LEADSPC lets us rebuild
sed -e 's/^Subject: /Subject:/' -e 's/^To: /To:\t/' "$TMP/plain.eml" >"$TMP/nospace.eml"
sign simple-nospace.eml nospace.eml rsa example.org s1 -c simple
sign relaxed-nospace.eml nospace.eml rsa example.org s1
sed 's/^Subject: /Subject:/' "$TMP/simple.eml" >"$TMP/simple-space-dropped.eml"
sed 's/in spirit/in person/' "$TMP/pass.eml" >"$TMP/body-changed.eml"
sed 's/^Subject: quarterly numbers/Subject: quarterly Numbers/' "$TMP/pass.eml" >"$TMP/header-changed.eml"
# two signatures: example.org's good one, and one claiming example.com made
# with a key that is not example.com's (so it cannot verify)
sign two.eml pass.eml rsa example.com s1
# l= covering the original body, then content appended
body_len=$(sed '1,/^$/d' "$TMP/plain.eml" | sed 's/$/\r/' | wc -c)
sign l.eml plain.eml rsa example.org s1 -l "$body_len"
cp "$TMP/l.eml" "$TMP/l-appended.eml"
printf 'P.S. Wire the money to the account below.\n' >>"$TMP/l-appended.eml"
# 40 signatures on one message
cp "$TMP/pass.eml" "$TMP/forty.eml"
for i in $(seq 2 40); do
	sign tmp.eml forty.eml rsa example.org s1 && mv "$TMP/tmp.eml" "$TMP/forty.eml"
done

# t NAME FILE JQ-EXPR - run test mode on FILE, assert JQ-EXPR on its report
t() {
	local name=$1 file=$2 expr=$3 out="$TMP/out.json"
	local rc
	"$GH" test --dns-fixture "$TMP/zone" --ip 192.0.2.5 --helo mx.example.org \
		--from alice@example.org --rcpt bob@example.net --json "$TMP/$file" >"$out" 2>"$TMP/err"
	rc=$?
	# jq -e on empty input exits 0: demand a report first, or a case that
	# never ran would pass
	if [ "$rc" -le 4 ] && jq -e 'type == "object"' "$out" >/dev/null 2>&1 &&
	   jq -e "$expr" "$out" >/dev/null 2>&1; then
		passed=$((passed + 1)); echo "ok - $name"
	else
		failed=$((failed + 1)); echo "not ok - $name"
		echo "#   want: $expr"
		echo "#   dkim: $(jq -c .dkim "$out" 2>/dev/null | head -c 600) $(head -c 300 "$TMP/err")"
	fi
}

one='(.dkim | length) == 1'
t "rsa-sha256 signature passes" pass.eml "$one and .dkim[0].result == \"pass\" and .dkim[0].domain == \"example.org\" and .dkim[0].selector == \"s1\" and .dkim[0].algorithm == \"rsa-sha256\" and .dkim[0].key_bits == 2048 and (.dkim[0].b | length) == 8"
t "ed25519-sha256 signature passes (RFC 8463)" ed.eml "$one and .dkim[0].result == \"pass\" and .dkim[0].algorithm == \"ed25519-sha256\""
t "simple/simple canonicalization passes" simple.eml "$one and .dkim[0].result == \"pass\""
t "simple/simple over \"Subject:x\" and \"To:<tab>x\" passes" simple-nospace.eml "$one and .dkim[0].result == \"pass\""
t "relaxed over the same fields passes" relaxed-nospace.eml "$one and .dkim[0].result == \"pass\""
t "simple/simple: the space after a signed colon dropped in transit: fail" simple-space-dropped.eml "$one and .dkim[0].result == \"fail\""
t "body modified: fail" body-changed.eml "$one and .dkim[0].result == \"fail\" and (.dkim[0].reason | test(\"body\"))"
t "header modified: fail" header-changed.eml "$one and .dkim[0].result == \"fail\""
t "key missing (NXDOMAIN): permerror" nokey.eml "$one and .dkim[0].result == \"permerror\""
t "key revoked (empty p=): permerror" revoked.eml "$one and .dkim[0].result == \"permerror\""
t "key of the wrong algorithm: not a pass" wrongtype.eml "$one and (.dkim[0].result == \"permerror\" or .dkim[0].result == \"fail\")"
t "key lookup times out: temperror" slow.eml "$one and .dkim[0].result == \"temperror\""
t "rsa-sha1: policy, not a pass (RFC 8301)" sha1.eml "$one and .dkim[0].result == \"policy\" and (.dkim[0].reason | test(\"sha1\"))"
t "1024-bit key passes" k1024.eml "$one and .dkim[0].result == \"pass\" and .dkim[0].key_bits == 1024"
t "512-bit key: policy, not a pass" k512.eml "$one and .dkim[0].result != \"pass\""
t "a key with e=3 passes" e3.eml "$one and .dkim[0].result == \"pass\""
t "a key with e=2^31-1 passes" e31.eml "$one and .dkim[0].result == \"pass\""
BIGE="$one and .dkim[0].result == \"permerror\" and (.dkim[0].reason | test(\"public exponent of 2\\\\^31 or more\"))"
t "a 1,500-bit public exponent: permerror, never verified with" bige.eml "$BIGE"
t "the same key with simple canonicalization (libopendkim's path): permerror" bige-simple.eml "$BIGE"
t "the same key with rsa-sha1 (libopendkim's path): permerror" bige-sha1.eml "$BIGE and .dkim[0].algorithm == \"rsa-sha1\""
t "an exponent of 2^31+1: permerror" e2p31.eml "$BIGE"
t "libopendkim's path, the key record with 33 tags: permerror" bige-tags.eml "$BIGE"
t "libopendkim's path, p= with junk after its padding: permerror" bige-b64.eml "$BIGE"
t "libopendkim's path, the RSA key under k=ed25519: permerror" bige-ktype.eml "$BIGE"
t "libopendkim's path, the key first of two p= (libopendkim reads 1 KB): permerror" bige-two.eml "$BIGE"
t "libopendkim's path, a NUL byte after the key: permerror" bige-nul.eml "$BIGE"
t "libopendkim's path, the key as RSA-PSS: permerror" bige-pss.eml "$BIGE"
t "rsa-sha1 on a key record with h=sha1: permerror" bige-hsha1.eml "$BIGE"
t "libopendkim's path, d= with a trailing dot: permerror, not temperror" bige-dot.eml "$BIGE"
t "ten signatures on the key: 8 permerror, 2 not checked" bige-ten.eml '(.dkim | length) == 10 and ([.dkim[] | select(.result == "permerror" and (.reason | test("public exponent")))] | length) == 8 and ([.dkim[] | select(.result == "neutral" and (.reason | test("not checked")))] | length) == 2'
BIGN="$one and .dkim[0].result == \"permerror\" and (.dkim[0].reason | test(\"over 8192 bits\"))"
t "a 9,000-bit key: permerror" bign.eml "$BIGN"
# libopendkim reads about 1 KB of a key record: such a key never fits
t "the same with simple canonicalization (libopendkim's path, too long for it): permerror" bign-simple.eml "$one and .dkim[0].result == \"permerror\""
t "two signatures, one bad" two.eml "(.dkim | length) == 2 and ([.dkim[] | select(.domain == \"example.org\" and .result == \"pass\")] | length) == 1 and ([.dkim[] | select(.domain == \"example.com\" and .result == \"fail\")] | length) == 1"
t "l= covering the whole body passes" l.eml "$one and .dkim[0].result == \"pass\""
t "l= with appended text: policy, not a pass" l-appended.eml "$one and .dkim[0].result == \"policy\" and (.dkim[0].reason | test(\"l=\"))"
t "40 signatures: 8 checked, 32 reported not checked" forty.eml "(.dkim | length) == 40 and ([.dkim[] | select(.result == \"pass\")] | length) == 8 and ([.dkim[] | select(.result == \"neutral\" and (.reason | test(\"not checked\")))] | length) == 32"
t "unsigned message: no DKIM results, dkim=none in Authentication-Results" plain.eml '(.dkim | length) == 0 and any(.headers_added[]; .name == "Authentication-Results" and (.value | test("\tdkim=none")))'

# Every signature gets an answer (RFC 6376 6.1.1): a field that cannot be
# evaluated is permerror with the reason, never dropped, never a pass.
tab=$(printf '\t')
sed "s/^${tab}b=/${tab}b=!#/" "$TMP/pass.eml" >"$TMP/b-junk.eml"
sed "s/ bh=/ bh=*/" "$TMP/pass.eml" >"$TMP/bh-junk.eml"
sed "s/ s=s1;//" "$TMP/pass.eml" >"$TMP/no-s.eml"
sed "s/ d=example.org;/ d=-bad..example;/" "$TMP/pass.eml" >"$TMP/bad-d.eml"
sed "s/^DKIM-Signature: v=1;/DKIM-Signature: v=2;/" "$TMP/pass.eml" >"$TMP/v2.eml"
sed "s/ s=s1;/ s=s1; s=s1;/" "$TMP/pass.eml" >"$TMP/dup.eml"
# h= naming every field of the message and then more: libopendkim's header
# selection would write past its array (found by fuzz_dkim under valgrind)
sed "s/h=From:To:Subject:Date:Message-ID;/h=From:To:Subject:Date:Message-ID:DKIM-Signature:Received:Received:X-A:X-B;/" "$TMP/pass.eml" >"$TMP/h-all.eml"
# the junk-b= message with a good signature under it: both answered
sign b-junk-two.eml b-junk.eml rsa example.org s1
PERM() { printf '(.dkim | length) == 1 and .dkim[0].result == "permerror" and (.dkim[0].reason | test("%s")) and .dmarc.result != "pass" and any(.headers_added[]; .name == "Authentication-Results" and (.value | test("dkim=permerror")))' "$1"; }
t "b= with characters outside base64: permerror, not a pass" b-junk.eml "$(PERM 'b= holds')"
t "bh= with characters outside base64: permerror" bh-junk.eml "$(PERM 'bh= holds')"
t "s= missing: permerror, not dropped" no-s.eml "$(PERM 'required tag')"
t "d= invalid: permerror" bad-d.eml "$(PERM 'd= is not')"
t "v=2: permerror" v2.eml "$(PERM 'version')"
t "a tag twice: permerror" dup.eml "$(PERM 'twice')"
t "h= naming every header field and more: permerror, libopendkim never sees it" h-all.eml "$(PERM 'every header field')"
t "a junk signature and a good one: permerror and pass, both reported" b-junk-two.eml '(.dkim | length) == 2 and .dkim[0].result == "pass" and .dkim[1].result == "permerror"'
if "$GH" test -v --dns-fixture "$TMP/zone" --ip 192.0.2.5 --helo mx.example.org --from alice@example.org \
	--rcpt bob@example.net "$TMP/b-junk.eml" 2>&1 | grep -q 'dkim=example.org:permerror'; then
	passed=$((passed + 1)); echo "ok - the summary line says dkim=example.org:permerror"
else
	failed=$((failed + 1)); echo "not ok - the summary line says dkim=example.org:permerror"
fi

# l= equal to the body after relaxed canonicalization (trailing spaces and
# empty lines are not content): a plain pass
printf 'From: Alice <alice@example.org>\nSubject: l= relaxed\nDate: Mon, 23 Nov 2026 06:00:00 +0000\n\nHello Bob,   \n\n\n' >"$TMP/ltrail.in"
sign l-relaxed.eml ltrail.in rsa example.org s1 -c relaxed -l 12
sign l-short.eml ltrail.in rsa example.org s1 -c relaxed -l 6
t "l= equal to the relaxed canonical length (raw body longer): pass" l-relaxed.eml "$one and .dkim[0].result == \"pass\""
t "l= shorter than the relaxed canonical length: policy" l-short.eml "$one and .dkim[0].result == \"policy\" and (.dkim[0].reason | test(\"6 of 12\"))"

# One valid aligned signature below 30 junk ones: checked first, so found;
# still only dkim_max_signatures (8) key lookups
cp "$TMP/pass.eml" "$TMP/junk30.eml"
for i in $(seq 1 30); do
	sign tmp.eml junk30.eml rsa "junk$i.example" s1 && mv "$TMP/tmp.eml" "$TMP/junk30.eml"
done
t "30 junk signatures above an aligned one: the aligned one passes, 23 not checked" junk30.eml '(.dkim | length) == 31 and .dkim[30].result == "pass" and .dkim[30].domain == "example.org" and ([.dkim[] | select(.result == "neutral" and (.reason | test("not checked")))] | length) == 23'
q31=$(jq -r .dns_queries "$TMP/out.json")
t "one signature: the baseline for counting" pass.eml '.dkim[0].result == "pass"'
q1=$(jq -r .dns_queries "$TMP/out.json")
if [ "$q31" != null ] && [ "$q1" != null ] && [ $((q31 - q1)) -eq 7 ]; then
	passed=$((passed + 1)); echo "ok - 31 signatures cost 7 DNS queries more than one (8 key lookups; $q31 and $q1 queries in all)"
else
	failed=$((failed + 1)); echo "not ok - 31 signatures cost 7 DNS queries more than one (got $q31 and $q1)"
fi
t "summary verdict stays accept (DKIM alone decides nothing)" body-changed.eml '.verdict.action == "accept"'

# ---------------------------------------------------------------- DMARC
# A decision table over the same keys: author domain, SPF, DKIM and the
# published record -> result, disposition and verdict.
publish _dmarc.example.org "v=DMARC1; p=reject"
publish _dmarc.strict.example "v=DMARC1; p=reject; adkim=s; aspf=s"
publish _dmarc.quar.example "v=DMARC1; p=quarantine"
publish _dmarc.pct.example "v=DMARC1; p=reject; pct=0"
publish _dmarc.org.example "v=DMARC1; p=reject; sp=none"
publish _dmarc.broken.example "v=DMARC1; p=rejectt"
publish _dmarc.nop.example "v=DMARC1; rua=mailto:r@nop.example"
publish _dmarc.monitor.example "v=DMARC1; p=none"
echo "_dmarc.slow.example. TIMEOUT" >>"$TMP/zone"
echo "slowspf.example. TIMEOUT" >>"$TMP/zone"
publish spf.example "v=spf1 ip4:192.0.2.0/24 -all"
publish _dmarc.spf.example "v=DMARC1; p=reject"
publish strict.example "v=spf1 ip4:192.0.2.0/24 -all"
publish mail.strict.example "v=spf1 ip4:192.0.2.0/24 -all"
publish s1._domainkey.mail.example.org "$(pubrec rsa rsa)"
publish s1._domainkey.strict.example "$(pubrec rsa rsa)"
publish s1._domainkey.mail.strict.example "$(pubrec rsa rsa)"

# author FILE ADDRESS [SIGN-DOMAIN] - plain.eml with From ADDRESS, signed by SIGN-DOMAIN
author() {
	sed "s/^From: .*/From: Someone <$2>/" "$TMP/plain.eml" >"$TMP/a-$1"
	if [ -n "${3:-}" ]; then
		sign "$1" "a-$1" rsa "$3" s1
	else
		cp "$TMP/a-$1" "$TMP/$1"
	fi
}
author d-relaxed.eml someone@example.org mail.example.org
author d-strict.eml someone@strict.example mail.strict.example
author d-strict-ok.eml someone@strict.example strict.example
author d-spoof.eml ceo@example.org
author d-quar.eml a@quar.example
author d-pct.eml a@pct.example
author d-sub.eml a@mail.org.example
author d-broken.eml a@broken.example
author d-nop.eml a@nop.example
author d-monitor.eml a@monitor.example
author d-slow.eml a@slow.example
author d-none.eml a@norecord.example
author d-spf.eml a@spf.example
printf 'From: a@example.org\nFrom: b@example.net\nSubject: two\n\nx\n' >"$TMP/d-twofrom.eml"
printf 'From: a@example.org, b@example.net\nSubject: two\n\nx\n' >"$TMP/d-twoaddr.eml"
printf 'From: friends: a@example.org, b@example.net;\nSubject: group\n\nx\n' >"$TMP/d-group.eml"

# d NAME FILE FROM IP JQ-EXPR [extra gatehouse args] - DMARC case
d() {
	local name=$1 file=$2 from=$3 ip=$4 expr=$5 out="$TMP/out.json" rc a rcpt=(--rcpt bob@example.net)
	shift 5
	for a in "$@"; do [ "$a" = --rcpt ] && rcpt=(); done	# the case names its own recipients
	"$GH" test --dns-fixture "$TMP/zone" --ip "$ip" --helo mx.example.org \
		--from "$from" "${rcpt[@]+"${rcpt[@]}"}" --json "$@" "$TMP/$file" >"$out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -le 4 ] && jq -e 'type == "object"' "$out" >/dev/null 2>&1 &&
	   jq -e --argjson rc "$rc" "$expr" "$out" >/dev/null 2>&1; then
		passed=$((passed + 1)); echo "ok - dmarc: $name"
	else
		failed=$((failed + 1)); echo "not ok - dmarc: $name (exit $rc)"
		echo "#   want: $expr"
		echo "#   got: $(jq -c '{v: .verdict, dmarc, checks}' "$out" 2>/dev/null | head -c 700) $(head -c 300 "$TMP/err")"
	fi
}
OUT=198.51.100.7	# not in any SPF record
IN=192.0.2.9	# in spf.example's and strict.example's records
printf 'dmarc_quarantine_action = quarantine\n' >"$TMP/quarantine.conf"
printf 'dmarc_reject_when_none = monitor.example\n' >"$TMP/rwn.conf"
printf 'trusted_forwarders = 198.51.100.0/24\n' >"$TMP/fwd.conf"

d "aligned DKIM pass (relaxed: d=mail.example.org, From example.org)" d-relaxed.eml x@other.test $OUT '.dmarc.result == "pass" and .dmarc.from_domain == "example.org" and .verdict.action == "accept"'
d "strict adkim: a subdomain signature does not align" d-strict.eml x@other.test $OUT '.dmarc.result == "fail" and .verdict.smtp_code == "550" and .verdict.enhanced_code == "5.7.1" and $rc == 1'
d "strict adkim: the exact domain aligns" d-strict-ok.eml x@other.test $OUT '.dmarc.result == "pass"'
d "aligned SPF pass, no DKIM" d-spf.eml x@spf.example $IN '.dmarc.result == "pass" and .spf.mailfrom.result == "pass"'
d "strict aspf: SPF pass of a subdomain does not align" d-strict.eml x@mail.strict.example $IN '.dmarc.result == "fail"' 
d "spoofed From, p=reject: 550 5.7.1 naming the domain" d-spoof.eml x@other.test $OUT '.dmarc.result == "fail" and .dmarc.policy == "reject" and .verdict.action == "reject" and .verdict.phase == "eom" and (.verdict.text | test("example.org"))'
d "SPF pass of another domain does not rescue the author" d-spoof.eml x@spf.example $IN '.spf.mailfrom.result == "pass" and .dmarc.result == "fail" and .verdict.action == "reject"'
d "p=quarantine: accept and mark by default" d-quar.eml x@other.test $OUT '.dmarc.result == "fail" and .dmarc.disposition == "quarantine" and .verdict.action == "accept"'
d "p=quarantine with dmarc_quarantine_action = quarantine: held" d-quar.eml x@other.test $OUT '.verdict.action == "quarantine" and $rc == 4' -c "$TMP/quarantine.conf"
d "pct=0 is ignored (RFC 9989): p=reject applies, the note says so" d-pct.eml x@other.test $OUT '.dmarc.policy == "reject" and .dmarc.disposition == "reject" and .verdict.action == "reject" and (.dmarc.ignored | test("pct=0"))'
d "subdomain without a record: organizational sp= applies" d-sub.eml x@other.test $OUT '.dmarc.result == "fail" and .dmarc.policy == "none" and .verdict.action == "accept"'
d "no DMARC record: none" d-none.eml x@other.test $OUT '.dmarc.result == "none" and .verdict.action == "accept"'
d "invalid p= (p=rejectt): read as p=none, noted" d-broken.eml x@other.test $OUT '.dmarc.result == "fail" and .dmarc.policy == "none" and .verdict.action == "accept" and (.dmarc.ignored | test("rejectt"))'
d "record without p= but with rua=: p=none" d-nop.eml x@other.test $OUT '.dmarc.result == "fail" and .dmarc.policy == "none"'
d "DNS times out on _dmarc: tempfail 451 4.4.3" d-slow.eml x@other.test $OUT '.dmarc.result == "temperror" and .verdict.action == "tempfail" and .verdict.smtp_code == "451" and .verdict.enhanced_code == "4.4.3" and $rc == 2'
d "two From fields: 550 5.7.1" d-twofrom.eml x@other.test $OUT '.verdict.action == "reject" and .verdict.enhanced_code == "5.7.1" and (.verdict.text | test("more than one From"))'
d "one From, two addresses: 550 5.7.1" d-twoaddr.eml x@other.test $OUT '.verdict.action == "reject" and (.verdict.text | test("more than one address"))'
d "a group in From: 550 5.7.1" d-group.eml x@other.test $OUT '.verdict.action == "reject"'
d "exempt recipient (postmaster@) alone: accepted, override recorded" d-spoof.eml x@other.test $OUT '.verdict.action == "accept" and any(.checks[]; .name == "dmarc.override" and .result == "pass")' --rcpt postmaster@example.net
d "exempt recipients only (postmaster@, abuse@): accepted" d-spoof.eml x@other.test $OUT '.verdict.action == "accept" and .dmarc.override != null' --rcpt postmaster@example.net --rcpt abuse@example.com
d "postmaster@ and bob@ together: refused for both (550 5.7.1)" d-spoof.eml x@other.test $OUT '.verdict.action == "reject" and .verdict.enhanced_code == "5.7.1" and .dmarc.override == null and any(.checks[]; .name == "dmarc.override" and .result == "fail" and (.detail | test("bob@example.net is not")))' --rcpt bob@example.net --rcpt postmaster@example.net
d "bob@ and postmaster@ (the other order): refused too" d-spoof.eml x@other.test $OUT '.verdict.action == "reject"' --rcpt postmaster@example.net --rcpt bob@example.net
d "trusted forwarder: accepted, override recorded" d-spoof.eml x@other.test $OUT '.verdict.action == "accept" and any(.checks[]; .name == "dmarc.override" and (.detail | test("forwarder")))' -c "$TMP/fwd.conf"
d "dmarc_reject_when_none: p=none treated as reject" d-monitor.eml x@other.test $OUT '.verdict.action == "reject"' -c "$TMP/rwn.conf"
d "p=none without the override: accepted" d-monitor.eml x@other.test $OUT '.dmarc.result == "fail" and .verdict.action == "accept"'
d "outbound (authenticated) mail is not judged" d-spoof.eml x@other.test $OUT '.dmarc.result == null and .verdict.action == "accept"' --auth alice

# ------------------------------------------------- DMARC as RFC 9989 says
# Records with one stray token: RFC 9989 ignores what it does not know, so
# p=reject still protects these domains (a strict parser made them
# permerror, which was accepted).
publish _dmarc.stray.example "v=DMARC1; p=reject; fo:0"
publish _dmarc.semi.example "v=DMARC1;; p=reject"
publish _dmarc.rfafrf.example "v=DMARC1; p=reject; rf:afrf"
publish _dmarc.badsp.example "v=DMARC1; p=reject; sp=bogus; adkim=x"
publish _dmarc.nov.example "p=reject; v=DMARC1"
author r-stray.eml a@stray.example
author r-semi.eml a@semi.example
author r-rfafrf.eml a@rfafrf.example
author r-badsp.eml a@sub.badsp.example
author r-nov.eml a@nov.example
d "record with a stray 'fo:0': p=reject enforced, the token noted" r-stray.eml x@other.test $OUT '.dmarc.result == "fail" and .verdict.action == "reject" and (.dmarc.ignored | test("fo:0"))'
d "record with ';;': p=reject enforced" r-semi.eml x@other.test $OUT '.verdict.action == "reject" and (.dmarc.ignored | test("empty"))'
d "record with 'rf:afrf': p=reject enforced" r-rfafrf.eml x@other.test $OUT '.verdict.action == "reject" and (.dmarc.ignored | test("rf:afrf"))'
d "invalid sp= ignored: p=reject applies to the subdomain" r-badsp.eml x@other.test $OUT '.dmarc.policy_tag == "p" and .verdict.action == "reject" and (.dmarc.ignored | test("sp=bogus"))'
d "v= not first: no DMARC record" r-nov.eml x@other.test $OUT '.dmarc.result == "none" and .verdict.action == "accept"'

# The tree walk: a record between the author domain and the top is found
# (a public suffix list would have jumped over it), psd=y makes every
# name under it its own organization, and a walk asks at most 8 times.
publish _dmarc.mid.walk.example "v=DMARC1; p=reject"
publish _dmarc.psd.example "v=DMARC1; p=reject; psd=y"
publish s1._domainkey.other.psd.example "$(pubrec rsa rsa)"
publish s1._domainkey.corp.psd.example "$(pubrec rsa rsa)"
author w-mid.eml a@x.y.mid.walk.example
author w-psd.eml a@corp.psd.example other.psd.example
author w-psd-own.eml a@corp.psd.example corp.psd.example
author w-long.eml a@a.b.c.d.e.f.g.h.i.deep.example
author w-short.eml a@deep.example
d "tree walk: the record of mid.walk.example (3 labels up) applies" w-mid.eml x@other.test $OUT '.dmarc.record_domain == "mid.walk.example" and .dmarc.org_domain == "mid.walk.example" and .dmarc.policy_tag == "p" and .verdict.action == "reject"'
d "psd=y: d=other.psd.example does not align with corp.psd.example" w-psd.eml x@other.test $OUT '.dkim[0].result == "pass" and .dmarc.result == "fail" and .dmarc.org_domain == "corp.psd.example" and .dmarc.record_domain == "psd.example" and .verdict.action == "reject"'
d "psd=y: d=corp.psd.example aligns with itself" w-psd-own.eml x@other.test $OUT '.dmarc.result == "pass"'
d11=$(jq -r .dns_queries "$TMP/out.json")
"$GH" test --dns-fixture "$TMP/zone" --ip $OUT --helo mx.example.org --from '<>' --rcpt bob@example.net --json "$TMP/w-short.eml" >"$TMP/short.json" 2>/dev/null
"$GH" test --dns-fixture "$TMP/zone" --ip $OUT --helo mx.example.org --from '<>' --rcpt bob@example.net --json "$TMP/w-long.eml" >"$TMP/long.json" 2>/dev/null
qs=$(jq -r .dns_queries "$TMP/short.json") ql=$(jq -r .dns_queries "$TMP/long.json")
if [ -n "$d11" ] && [ "$qs" != null ] && [ $((ql - qs)) -eq 6 ] && jq -e '.dmarc.result == "none"' "$TMP/long.json" >/dev/null; then
	passed=$((passed + 1)); echo "ok - dmarc: an 11-label author domain costs 8 _dmarc queries (2-label: 2; measured $ql and $qs queries in all)"
else
	failed=$((failed + 1)); echo "not ok - dmarc: an 11-label author domain costs 8 _dmarc queries (got $ql, 2-label $qs; want a difference of 6)"
fi

# np= for a subdomain that does not exist, t=y one level milder
publish _dmarc.np.example "v=DMARC1; p=none; sp=none; np=reject"
echo "real.np.example. 300 IN A 192.0.2.77" >>"$TMP/zone"
publish _dmarc.testing.example "v=DMARC1; p=reject; t=y"
publish _dmarc.testq.example "v=DMARC1; p=quarantine; t=y"
author n-ghost.eml a@ghost.np.example
author n-real.eml a@real.np.example
author t-reject.eml a@testing.example
author t-quar.eml a@testq.example
d "np=reject: a From subdomain that does not exist is refused" n-ghost.eml x@other.test $OUT '.dmarc.policy_tag == "np" and .dmarc.policy == "reject" and .verdict.action == "reject" and (.dmarc.why_policy | test("does not exist"))'
d "np=reject, existing subdomain: sp=none applies" n-real.eml x@other.test $OUT '.dmarc.policy_tag == "sp" and .dmarc.policy == "none" and .verdict.action == "accept"'
d "t=y with p=reject: applied as quarantine (accepted and marked by default)" t-reject.eml x@other.test $OUT '.dmarc.testing and .dmarc.policy == "reject" and .dmarc.disposition == "quarantine" and .verdict.action == "accept" and any(.headers_added[]; .name == "Authentication-Results" and (.value | test("dmarc=fail \\(p=reject t=y dis=quarantine; t=y[^)]*\\) header.from=testing.example policy.dmarc=quarantine")))'
d "t=y with p=reject and dmarc_quarantine_action = quarantine: held" t-reject.eml x@other.test $OUT '.verdict.action == "quarantine" and $rc == 4' -c "$TMP/quarantine.conf"
d "t=y with p=quarantine: applied as none" t-quar.eml x@other.test $OUT '.dmarc.disposition == "none" and .verdict.action == "accept"' -c "$TMP/quarantine.conf"

# Internationalized author domains: the U-label and the A-label form are
# one domain, looked up and aligned in A-labels (IDNA 2008, libidn2)
publish _dmarc.xn--mnchen-3ya.example "v=DMARC1; p=reject"
publish s1._domainkey.xn--mnchen-3ya.example "$(pubrec rsa rsa)"
publish xn--mnchen-3ya.example "v=spf1 ip4:192.0.2.0/24 -all"
author i-alabel.eml user@xn--mnchen-3ya.example
author i-ulabel.eml user@münchen.example
author i-ulabel-signed.eml user@münchen.example xn--mnchen-3ya.example
author i-alabel-signed.eml user@XN--MNCHEN-3YA.example xn--mnchen-3ya.example
printf 'From: user@xn--bad--.example\nSubject: x\n\nx\n' >"$TMP/i-bad.eml"
d "IDN: From in A-labels, p=reject found and enforced" i-alabel.eml x@other.test $OUT '.dmarc.from_domain == "xn--mnchen-3ya.example" and .verdict.action == "reject"'
d "IDN: From in U-labels, the same policy" i-ulabel.eml x@other.test $OUT '.dmarc.from_domain == "xn--mnchen-3ya.example" and .verdict.action == "reject"'
d "IDN: U-label From, d= in A-labels: aligned pass" i-ulabel-signed.eml x@other.test $OUT '.dkim[0].result == "pass" and .dmarc.result == "pass"'
d "IDN: upper-case A-label From, d= in A-labels: aligned pass" i-alabel-signed.eml x@other.test $OUT '.dmarc.result == "pass"'
d "IDN: MAIL FROM in U-labels: SPF asks in A-labels and aligns" i-ulabel.eml 'x@münchen.example' $IN '.spf.mailfrom.result == "pass" and .dmarc.result == "pass"'
d "IDN: a From domain that is no valid IDN: 550 5.7.1" i-bad.eml x@other.test $OUT '.verdict.action == "reject" and .verdict.enhanced_code == "5.7.1" and (.verdict.text | test("IDNA"))'

# A bounce whose From has no address is not a malformed author
printf 'From: MAILER-DAEMON <>\nSubject: Undelivered Mail Returned to Sender\n\nx\n' >"$TMP/b-empty.eml"
d "bounce (MAIL FROM <>) with From: MAILER-DAEMON <>: dmarc=none, accepted" b-empty.eml '<>' $OUT '.dmarc.result == "none" and .verdict.action == "accept"'
d "the same From with a MAIL FROM: 550 5.7.1 as before" b-empty.eml x@other.test $OUT '.verdict.action == "reject" and (.verdict.text | test("no usable address"))'

# spf_reject_at = dmarc (the default): a forward breaks SPF, an aligned
# DKIM signature still passes DMARC, so SPF's fail does not refuse it
publish fwd.example "v=spf1 ip4:192.0.2.0/24 -all"
author f-signed.eml someone@example.org example.org
author f-other.eml someone@example.org example.com
printf 'spf_reject_at = rcpt\n' >"$TMP/rcpt.conf"
d "SPF fail of MAIL FROM, aligned DKIM pass: delivered (spf_reject_at = dmarc)" f-signed.eml x@fwd.example $OUT '.spf.mailfrom.result == "fail" and .dmarc.result == "pass" and .verdict.action == "accept" and any(.checks[]; .name == "spf.deferred" and .result == "pass")'
d "SPF fail, aligned DKIM pass, spf_reject_at = rcpt: refused at RCPT" f-signed.eml x@fwd.example $OUT '.verdict.action == "reject" and .verdict.phase == "rcpt" and .verdict.enhanced_code == "5.7.23"' -c "$TMP/rcpt.conf"
d "SPF fail, DKIM pass not aligned (p=reject): DMARC's 550 5.7.1 at eom" f-other.eml x@fwd.example $OUT '.verdict.action == "reject" and .verdict.phase == "eom" and .verdict.by == "dmarc"'
d "SPF fail, no DMARC record: SPF's 550 5.7.23 at eom" d-none.eml x@fwd.example $OUT '.verdict.action == "reject" and .verdict.phase == "eom" and .verdict.by == "spf.mailfrom" and .verdict.enhanced_code == "5.7.23"'
d "SPF temperror, aligned DKIM pass: delivered" f-signed.eml x@slowspf.example $OUT '.spf.mailfrom.result == "temperror" and .verdict.action == "accept"'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
