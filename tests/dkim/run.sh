#!/usr/bin/env bash
# tests/dkim/run.sh - DKIM verification through gatehouse's test mode, on
# messages signed here with keys made here (openssl) and a DNS fixture that
# publishes their public keys.
#
# usage: tests/dkim/run.sh path/to/gatehouse path/to/dkim_sign
# Prints "ok - NAME" / "not ok - NAME" and ends with "N passed, M failed".
set -u
GH=${1:?usage: $0 gatehouse dkim_sign}
SIGN=${2:?usage: $0 gatehouse dkim_sign}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-dkim.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0

# key NAME ALG [BITS] - a private key in $TMP/NAME.pem
key() {
	if [ "$2" = ed25519 ]; then
		openssl genpkey -algorithm ed25519 -out "$TMP/$1.pem" 2>/dev/null
	else
		openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$3" -out "$TMP/$1.pem" 2>/dev/null
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
: >"$TMP/zone"
publish s1._domainkey.example.org "$(pubrec rsa rsa)"
publish k1024._domainkey.example.org "$(pubrec rsa1024 rsa)"
publish k512._domainkey.example.org "$(pubrec rsa512 rsa)"
publish ed._domainkey.example.org "$(pubrec ed ed25519)"
publish revoked._domainkey.example.org "v=DKIM1; k=rsa; p="
publish wrongtype._domainkey.example.org "$(pubrec ed ed25519)"
publish s1._domainkey.example.com "$(pubrec other rsa)"
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
t "body modified: fail" body-changed.eml "$one and .dkim[0].result == \"fail\" and (.dkim[0].reason | test(\"body\"))"
t "header modified: fail" header-changed.eml "$one and .dkim[0].result == \"fail\""
t "key missing (NXDOMAIN): permerror" nokey.eml "$one and .dkim[0].result == \"permerror\""
t "key revoked (empty p=): permerror" revoked.eml "$one and .dkim[0].result == \"permerror\""
t "key of the wrong algorithm: not a pass" wrongtype.eml "$one and (.dkim[0].result == \"permerror\" or .dkim[0].result == \"fail\")"
t "key lookup times out: temperror" slow.eml "$one and .dkim[0].result == \"temperror\""
t "rsa-sha1: policy, not a pass (RFC 8301)" sha1.eml "$one and .dkim[0].result == \"policy\" and (.dkim[0].reason | test(\"sha1\"))"
t "1024-bit key passes" k1024.eml "$one and .dkim[0].result == \"pass\" and .dkim[0].key_bits == 1024"
t "512-bit key: policy, not a pass" k512.eml "$one and .dkim[0].result != \"pass\""
t "two signatures, one bad" two.eml "(.dkim | length) == 2 and ([.dkim[] | select(.domain == \"example.org\" and .result == \"pass\")] | length) == 1 and ([.dkim[] | select(.domain == \"example.com\" and .result == \"fail\")] | length) == 1"
t "l= covering the whole body passes" l.eml "$one and .dkim[0].result == \"pass\""
t "l= with appended text: policy, not a pass" l-appended.eml "$one and .dkim[0].result == \"policy\" and (.dkim[0].reason | test(\"l=\"))"
t "40 signatures: 8 checked, 32 reported not checked" forty.eml "(.dkim | length) == 40 and ([.dkim[] | select(.result == \"pass\")] | length) == 8 and ([.dkim[] | select(.result == \"neutral\" and (.reason | test(\"not checked\")))] | length) == 32"
t "unsigned message: no DKIM results" plain.eml '(.dkim | length) == 0'
t "summary verdict stays accept (DKIM alone decides nothing)" body-changed.eml '.verdict.action == "accept"'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
