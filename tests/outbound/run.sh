#!/usr/bin/env bash
# tests/outbound/run.sh - the sender identity check and DKIM signing through
# gatehouse's test mode (`gatehouse test --auth LOGIN`), with keys made here.
#
# Every signature gatehouse makes is verified twice: by Debian's python3-dkim
# (verify.py, an independent implementation) and by gatehouse's own inbound
# check (libopendkim) in a second test-mode run with a DNS fixture that
# publishes the public keys: RSA, Ed25519 and dual, on plain, multipart,
# 8-bit, long-line and white-space-heavy messages.
#
# usage: tests/outbound/run.sh path/to/gatehouse
# Prints "ok - NAME" / "not ok - NAME" and ends with "N passed, M failed".
set -u
GH=${1:?usage: $0 gatehouse}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3 # Debian's, where python3-dkim is installed
TMP=${GH_KEEP_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-outbound.XXXXXX")}
trap '[ -n "${GH_KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
nok() { failed=$((failed + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

if ! $PY -c 'import dkim, nacl' 2>/dev/null; then
	echo "not ok - python3-dkim and python3-nacl are needed (packaging/install-deps.sh)"
	echo "0 passed, 1 failed"
	exit 1
fi

# keys: RSA 2048, Ed25519, and a second RSA key published nowhere
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$TMP/ed.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/other.pem" 2>/dev/null
chmod 600 "$TMP"/*.pem
rsa_p=$(openssl pkey -in "$TMP/rsa.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
ed_p=$(openssl pkey -in "$TMP/ed.pem" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)
publish() { # NAME RECORD [ZONE] - a TXT record, split into 250-byte strings
	$PY -c 'import sys; r=sys.argv[2]; print(sys.argv[1]+". 300 IN TXT "+" ".join("\"%s\"" % r[i:i+250] for i in range(0, len(r), 250)))' "$1" "$2" >>"${3:-$TMP/zone}"
}
: >"$TMP/zone"
publish s1._domainkey.example.org "v=DKIM1; k=rsa; p=$rsa_p"
publish ed._domainkey.example.org "v=DKIM1; k=ed25519; p=$ed_p"
publish s1._domainkey.example.com "v=DKIM1; k=rsa; p=$rsa_p"
publish ed._domainkey.example.com "v=DKIM1; k=ed25519; p=$ed_p"

cat >"$TMP/keytable" <<KT
# OpenDKIM KeyTable: name domain:selector:keypath[:algorithm]
rsa-org    example.org:s1:$TMP/rsa.pem
ed-org     example.org:ed:$TMP/ed.pem:ed25519-sha256
rsa-com    example.com:s1:$TMP/rsa.pem:rsa-sha256
ed-com     example.com:ed:$TMP/ed.pem
KT
cat >"$TMP/signtable" <<ST
# refile: globs, first match
dual@example.org  rsa-org, ed-org
*@example.org     rsa-org
*@example.com     ed-com
ST
cat >"$TMP/plain-signtable" <<ST
example.org  rsa-org
.example.com ed-com
ST
cat >"$TMP/logins" <<LM
# Postfix smtpd_sender_login_maps: address  logins
alice@example.org     alice
dual@example.org      alice
shared@example.org    alice, bob
@example.com          carol
LM
cat >"$TMP/identities" <<IM
# gatehouse: login  addresses
bob     bob@example.org, *@lists.example.org
IM
base="sender_login_map = $TMP/logins
sender_identity_map = $TMP/identities
dkim_key_table = $TMP/keytable
dkim_signing_table = refile:$TMP/signtable
internal_networks = 10.0.0.0/8"
printf '%s\n' "$base" >"$TMP/gh.conf"

msg() { # NAME FROM [extra header lines] - a message with From: FROM
	local name=$1 from=$2
	shift 2
	{
		printf 'From: Somebody <%s>\nTo: Bob <bob@example.net>,\n Carol <carol@example.net>\nSubject: numbers\nDate: Mon, 23 Nov 2026 06:00:00 +0000\nMessage-ID: <%s@example.org>\n' "$from" "$name"
		for h in "$@"; do printf '%s\n' "$h"; done
		printf '\nHello Bob,\nthe numbers  are\tattached.  \n\n\n'
	} >"$TMP/$name.eml"
}
msg plain alice@example.org
msg dual dual@example.org
msg com carol@example.com
msg shared shared@example.org
msg list news@lists.example.org
cat >"$TMP/multipart.eml" <<'MSG'
From: Alice <alice@example.org>
To: bob@example.net
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=
Date: Mon, 23 Nov 2026 06:00:00 +0000
Message-ID: <mp@example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe
--b1
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PGI+R3LDvMOfZTwvYj4K
--b1--
MSG
printf 'From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: 8-bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\303\274\303\237e aus K\303\266ln \342\202\254\n\t indented\n' >"$TMP/8bit.eml"
{
	printf 'From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: long lines\n\n'
	head -c 998 /dev/zero | tr '\0' x; printf '\n'
	head -c 5000 /dev/zero | tr '\0' 'y' | fold -w 990; printf '\n'
} >"$TMP/longline.eml"
{
	printf 'From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: too long\n\n'
	head -c 1200 /dev/zero | tr '\0' z; printf '\n'
} >"$TMP/toolong.eml"
printf 'From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: empty body\n\n' >"$TMP/empty.eml"
# a header line of exactly 998 octets with no space after its colon: within
# the limit, so signed (the space was counted whether it was there or not)
{
	printf 'From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: no space\nX-Long:'
	head -c 991 /dev/zero | tr '\0' x; printf '\n\nbody\n'
} >"$TMP/hdr998.eml"
msg sender-foreign alice@example.org "Sender: carol@example.com"
msg sender-own alice@example.org "Sender: shared@example.org"
msg two-from alice@example.org
sed -i 's/^From: .*/From: alice@example.org, carol@example.com/' "$TMP/two-from.eml"

# run NAME CONF FILE AUTH MAILFROM [IP] - test mode; the report in $TMP/NAME.json
run() {
	local name=$1 conf=$2 file=$3 auth=$4 from=$5 ip=${6:-192.0.2.10}
	local a=()
	LAST=$name
	[ -n "$auth" ] && a=(--auth "$auth")
	"$GH" test -c "$conf" --ip "$ip" --helo client.example.net --from "$from" \
		--rcpt bob@example.net "${a[@]}" --json "$TMP/$file.eml" >"$TMP/$name.json" 2>"$TMP/$name.err"
}

# check DESCRIPTION JQ - assert on the report of the last run
check() {
	if jq -e 'type == "object"' "$TMP/$LAST.json" >/dev/null 2>&1 && jq -e "$2" "$TMP/$LAST.json" >/dev/null 2>&1; then
		ok "$1"
	else
		nok "$1" "want: $2" "got: $(jq -c '{verdict, checks}' "$TMP/$LAST.json" 2>/dev/null | head -c 700) $(head -c 300 "$TMP/$LAST.err")"
	fi
}

# signed NAME FILE AUTH MAILFROM NSIGS ALGS - signed, and both verifiers agree
signed() {
	local name=$1 file=$2 auth=$3 from=$4 n=$5 algs=$6 conf=${7:-$TMP/gh.conf}
	run "$name" "$conf" "$file" "$auth" "$from"
	check "$name: accepted with $n signature(s) ($algs)" \
		"$(printf '.verdict.action == "accept" and ([.headers_added[] | select(.name == "DKIM-Signature")] | length) == %s and ([.headers_added[] | select(.name == "DKIM-Signature") | .value | capture("a=(?<a>[a-z0-9-]+);").a] | sort | join(",")) == "%s" and all(.headers_added[] | select(.name == "DKIM-Signature") | .value; (test("\\r") | not) and (test(" l=") | not) and (split("\\n") | all(length <= 78)))' "$n" "$algs")"
	if $PY "$HERE/verify.py" "$TMP/zone" "$TMP/$name.json" "$TMP/$file.eml" "$TMP/$name.signed.eml" >"$TMP/$name.py" 2>&1; then
		ok "$name: python3-dkim verifies every signature"
	else
		nok "$name: python3-dkim verifies every signature" "$(tr '\n' ' ' <"$TMP/$name.py" | head -c 600)"
	fi
	# gatehouse's own inbound check, a second instance: inbound, DNS from the fixture
	"$GH" test -c /dev/null --dns-fixture "$TMP/zone" --ip 192.0.2.77 --helo mx.example.net \
		--from "$from" --rcpt bob@example.net --json "$TMP/$name.signed.eml" \
		>"$TMP/$name.in.json" 2>"$TMP/$name.in.err"
	if jq -e "(.dkim | length) == $n and all(.dkim[]; .result == \"pass\")" "$TMP/$name.in.json" >/dev/null 2>&1; then
		ok "$name: gatehouse's inbound check (libopendkim) passes every signature"
	else
		nok "$name: gatehouse's inbound check (libopendkim) passes every signature" \
			"$(jq -c .dkim "$TMP/$name.in.json" 2>/dev/null | head -c 600) $(head -c 300 "$TMP/$name.in.err")"
	fi
}

signed rsa-plain plain alice alice@example.org 1 rsa-sha256
signed dual-plain dual alice dual@example.org 2 ed25519-sha256,rsa-sha256
signed ed-plain com carol carol@example.com 1 ed25519-sha256
signed rsa-multipart multipart alice alice@example.org 1 rsa-sha256
signed rsa-8bit 8bit alice alice@example.org 1 rsa-sha256
signed rsa-hdr998 hdr998 alice alice@example.org 1 rsa-sha256
signed rsa-longline longline alice alice@example.org 1 rsa-sha256
signed rsa-empty-body empty alice alice@example.org 1 rsa-sha256
signed shared-mailbox shared bob shared@example.org 1 rsa-sha256
run list-glob "$TMP/gh.conf" list bob news@lists.example.org
check "a glob in the gatehouse map (a list): accepted; no key for the domain, not signed" '.verdict.action == "accept" and any(.checks[]; .name == "sender" and .result == "pass" and (.detail | test("identities:2"))) and any(.checks[]; .name == "dkim.sign" and .result == "none")'
signed sender-own-shared sender-own alice alice@example.org 1 rsa-sha256
# the same messages in dual mode (one RSA and one Ed25519 signature each)
sed "s|^dual@example.org  rsa-org, ed-org|*@example.org  rsa-org, ed-org|" "$TMP/signtable" >"$TMP/dual-signtable"
printf '%s\ndkim_signing_table = refile:%s\n' "$(grep -v '^dkim_signing_table' "$TMP/gh.conf")" "$TMP/dual-signtable" >"$TMP/dual.conf"
for m in multipart 8bit longline empty; do
	signed "dual-$m" "$m" alice alice@example.org 2 ed25519-sha256,rsa-sha256 "$TMP/dual.conf"
done
# plain (non-refile) SigningTable, OpenDKIM's lookup order: domain, .parent
printf '%s\ndkim_signing_table = %s\n' "$(grep -v '^dkim_signing_table' "$TMP/gh.conf")" "$TMP/plain-signtable" >"$TMP/plain.conf"
signed plain-table plain alice alice@example.org 1 rsa-sha256 "$TMP/plain.conf"
# simple body canonicalization
printf '%s\ndkim_body_canonicalization = simple\ndkim_signature_expire_s = 86400\n' "$base" >"$TMP/simple.conf"
signed simple-body 8bit alice alice@example.org 1 rsa-sha256 "$TMP/simple.conf"
check "simple-body: c=relaxed/simple and x= one day after t=" \
	'[.headers_added[] | select(.name == "DKIM-Signature") | .value | gsub("\\s"; "")] | all(test("c=relaxed/simple;") and ((capture("t=(?<t>[0-9]+);x=(?<x>[0-9]+);") | (.x|tonumber) - (.t|tonumber)) == 86400))'

# identity: who may send as whom
REFUSED='.verdict.action == "reject" and .verdict.smtp_code == "550" and .verdict.enhanced_code == "5.7.1"'
NOSIG='([.headers_added[]? | select(.name == "DKIM-Signature")] | length) == 0'
run mail-from-foreign "$TMP/gh.conf" plain bob alice@example.org
check "bob as alice in MAIL FROM: 550 5.7.1 at MAIL naming the address" "$REFUSED and .verdict.phase == \"mail\" and (.verdict.text | test(\"alice@example.org\")) and $NOSIG"
msg from-foreign alice@example.org
run from-foreign "$TMP/gh.conf" from-foreign bob bob@example.org
check "bob as alice in From: 550 5.7.1 at end of message" "$REFUSED and .verdict.phase == \"eom\" and (.verdict.text | test(\"From <alice@example.org>\")) and $NOSIG"
run sender-foreign "$TMP/gh.conf" sender-foreign alice alice@example.org
check "a foreign Sender: refused" "$REFUSED and (.verdict.text | test(\"Sender <carol@example.com>\"))"
run two-from "$TMP/gh.conf" two-from alice alice@example.org
check "From with two addresses, one foreign: refused" "$REFUSED and (.verdict.text | test(\"carol@example.com\"))"
run null-sender "$TMP/gh.conf" plain alice ""
check "null MAIL FROM from an authenticated client: refused" "$REFUSED and .verdict.phase == \"mail\" and (.verdict.text | test(\"null sender\"))"
run map-line "$TMP/gh.conf" plain alice alice@example.org
check "the deciding map line is named (FILE:LINE)" "any(.checks[]; .name == \"sender\" and .result == \"pass\" and (.detail | test(\"logins:2\")))"
run domain-key "$TMP/gh.conf" com carol carol@example.com
check "@domain key in the Postfix map" "any(.checks[]; .name == \"sender\" and .result == \"pass\" and (.detail | test(\"logins:5\")))"
run plus-ext "$TMP/gh.conf" plain alice alice+tag@example.org
check "+extension: looked up without it, as Postfix does" ".verdict.action == \"accept\""
printf '%s\nsender_mismatch_action = unsigned\n' "$base" >"$TMP/unsigned.conf"
run mismatch-unsigned "$TMP/unsigned.conf" from-foreign bob bob@example.org
check "sender_mismatch_action = unsigned: accepted without a signature" ".verdict.action == \"accept\" and $NOSIG"
printf '%s\nsender_mismatch_action = tempfail\n' "$base" >"$TMP/tempfail.conf"
run mismatch-tempfail "$TMP/tempfail.conf" plain bob alice@example.org
check "sender_mismatch_action = tempfail: 451 4.7.1" ".verdict.action == \"tempfail\" and .verdict.smtp_code == \"451\" and .verdict.enhanced_code == \"4.7.1\""
printf '%s\nsender_login_map =\nsender_identity_map =\n' "$base" >"$TMP/nomap.conf"
run no-map "$TMP/nomap.conf" plain alice alice@example.org
check "no map: nothing enforced, nothing signed" ".verdict.action == \"accept\" and $NOSIG"
run login-is-address "$TMP/nomap.conf" plain alice@example.org alice@example.org
check "a login that is the address owns it (sender_login_is_address)" ".verdict.action == \"accept\" and ([.headers_added[] | select(.name == \"DKIM-Signature\")] | length) == 1"
run toolong "$TMP/gh.conf" toolong alice alice@example.org
check "a body line over 998 octets: refused with the reason (dkim_long_line_action)" ".verdict.action == \"reject\" and .verdict.enhanced_code == \"5.6.0\" and (.verdict.text | test(\"1200 octets\"))"
printf '%s\ndkim_long_line_action = unsigned\n' "$base" >"$TMP/long-unsigned.conf"
run toolong-unsigned "$TMP/long-unsigned.conf" toolong alice alice@example.org
check "dkim_long_line_action = unsigned: delivered unsigned" ".verdict.action == \"accept\" and $NOSIG"
run inbound "$TMP/gh.conf" plain "" alice@example.org
check "inbound mail (no login, not internal): no identity check, not signed" ".envelope.direction == \"inbound\" and $NOSIG and ([.checks[] | select(.name == \"sender\")] | length) == 0"
run internal "$TMP/gh.conf" plain "" alice@example.org 10.1.2.3
check "internal network without a login: signed (internal_sign = yes)" ".verdict.action == \"accept\" and ([.headers_added[] | select(.name == \"DKIM-Signature\")] | length) == 1"
printf '%s\ninternal_sign = no\n' "$base" >"$TMP/nosign.conf"
run internal-nosign "$TMP/nosign.conf" plain "" alice@example.org 10.1.2.3
check "internal_sign = no: not signed" ".verdict.action == \"accept\" and $NOSIG"
printf '%s\ninternal_allowed_from = @example.com\n' "$base" >"$TMP/intfrom.conf"
run internal-from "$TMP/intfrom.conf" plain "" alice@example.org 10.1.2.3
check "internal_allowed_from: a From outside the list is refused" "$REFUSED"
run internal-from-ok "$TMP/intfrom.conf" com "" carol@example.com 10.1.2.3
check "internal_allowed_from: a From in the list is signed" ".verdict.action == \"accept\" and ([.headers_added[] | select(.name == \"DKIM-Signature\")] | length) == 1"
printf '%s\noutbound_daemon_names = ORIGINATING\n' "$base" >"$TMP/daemon.conf"
"$GH" test -c "$TMP/daemon.conf" --ip 192.0.2.10 --helo c.example.net --from alice@example.org \
	--rcpt bob@example.net --macro '{daemon_name}=ORIGINATING' --json "$TMP/plain.eml" >"$TMP/daemon-name.json" 2>"$TMP/daemon-name.err"
LAST=daemon-name
check "outbound_daemon_names: {daemon_name} makes mail outbound (signed)" ".envelope.direction == \"outbound\" and ([.headers_added[] | select(.name == \"DKIM-Signature\")] | length) == 1"

# dkim_require_published: a key signs only once DNS publishes it
printf '%s\ndkim_require_published = yes\n' "$base" >"$TMP/pub.conf"
grep -v '^s1._domainkey.example.org' "$TMP/zone" >"$TMP/zone3"
LAST=pub-yes
"$GH" test -c "$TMP/pub.conf" --dns-fixture "$TMP/zone" --ip 192.0.2.10 --helo c.example.net --from alice@example.org \
	--rcpt bob@example.net --auth alice --json "$TMP/plain.eml" >"$TMP/pub-yes.json" 2>"$TMP/pub-yes.err"
check "dkim_require_published: a published key signs" "([.headers_added[] | select(.name == \"DKIM-Signature\")] | length) == 1"
LAST=pub-no
"$GH" test -c "$TMP/pub.conf" --dns-fixture "$TMP/zone3" --ip 192.0.2.10 --helo c.example.net --from dual@example.org \
	--rcpt bob@example.net --auth alice --json "$TMP/dual.eml" >"$TMP/pub-no.json" 2>"$TMP/pub-no.err"
check "dkim_require_published: an unpublished key does not sign, the published one does" ".verdict.action == \"accept\" and ([.headers_added[] | select(.name == \"DKIM-Signature\") | .value | test(\"a=ed25519-sha256\")] == [true]) and any(.checks[]; .name == \"dkim.sign\" and .result == \"skipped\" and (.detail | test(\"rsa-org.*not published\")))"

# loading: FILE:LINE errors, the key checks
bad() { # NAME FILE-CONTENT... WANT-REGEX - a config whose load fails with WANT on stderr
	local name=$1 conf=$2 want=$3
	if "$GH" test -c "$conf" --ip 192.0.2.10 --from a@example.org --rcpt b@example.net \
		"$TMP/plain.eml" >/dev/null 2>"$TMP/$name.err"; then
		nok "$name" "the load succeeded"
	elif grep -Eq -- "$want" "$TMP/$name.err"; then
		ok "$name"
	else
		nok "$name" "want: $want" "got: $(head -c 400 "$TMP/$name.err")"
	fi
}
printf 'alice@example.org\n@@example.org alice\n' >"$TMP/bad-logins"
printf '%s\nsender_login_map = %s\n' "$base" "$TMP/bad-logins" >"$TMP/bad1.conf"
bad "a broken map line is FILE:LINE" "$TMP/bad1.conf" "bad-logins:1: .*no value"
printf 'rsa-org example.org:s1:%s:ed25519-sha256\n' "$TMP/rsa.pem" >"$TMP/bad-kt"
printf '*@example.org rsa-org\n' >"$TMP/bad-st"
printf '%s\ndkim_key_table = %s\ndkim_signing_table = refile:%s\n' "$base" "$TMP/bad-kt" "$TMP/bad-st" >"$TMP/bad2.conf"
bad "an RSA key declared ed25519-sha256 is refused at load" "$TMP/bad2.conf" "bad-kt:1: .*holds an rsa key, but the algorithm is ed25519-sha256"
printf '*@example.org nosuchkey\n' >"$TMP/bad-st2"
printf '%s\ndkim_signing_table = refile:%s\n' "$base" "$TMP/bad-st2" >"$TMP/bad3.conf"
bad "a SigningTable naming an unknown key: FILE:LINE" "$TMP/bad3.conf" "bad-st2:1: .*no key called 'nosuchkey'"
printf '%s\ndkim_oversign_headers = \"From, X-Custom\"\n' "$base" >"$TMP/bad4.conf"
bad "an oversigned header that is not signed is refused" "$TMP/bad4.conf" "X-Custom is not in dkim_sign_headers"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out "$TMP/small.pem" 2>/dev/null
chmod 600 "$TMP/small.pem"
printf 'small example.org:s1:%s\n' "$TMP/small.pem" >"$TMP/small-kt"
printf '%s\ndkim_key_table = %s\ndkim_signing_table = refile:%s\n' "$base" "$TMP/small-kt" "$TMP/bad-st" >"$TMP/bad5.conf"
sed -i 's/rsa-org/small/' "$TMP/bad-st"
bad "a 512-bit RSA key is refused" "$TMP/bad5.conf" "small-kt:1: .*512-bit RSA key"
cp "$TMP/rsa.pem" "$TMP/open.pem"
chmod 644 "$TMP/open.pem"
printf 'open example.org:s1:%s\n' "$TMP/open.pem" >"$TMP/open-kt"
printf '*@example.org open\n' >"$TMP/open-st"
printf '%s\ndkim_key_table = %s\ndkim_signing_table = refile:%s\n' "$base" "$TMP/open-kt" "$TMP/open-st" >"$TMP/open.conf"
run open-key "$TMP/open.conf" plain alice alice@example.org
if grep -q "warning: .*open-kt:1: .*can be read by its group or others" "$TMP/open-key.err" && jq -e '.verdict.action == "accept"' "$TMP/open-key.json" >/dev/null; then
	ok "a world-readable key file: a warning naming the table line, still loaded"
else
	nok "a world-readable key file: a warning naming the table line, still loaded" "$(head -c 300 "$TMP/open-key.err")"
fi
# a key past RFC 8301's 4,096 bits: loaded, with a warning (receivers,
# gatehouse among them past 8,192, may refuse it)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4160 -out "$TMP/big.pem" 2>/dev/null
chmod 600 "$TMP/big.pem"
printf 'big example.org:s1:%s\n' "$TMP/big.pem" >"$TMP/big-kt"
printf '*@example.org big\n' >"$TMP/big-st"
printf '%s\ndkim_key_table = %s\ndkim_signing_table = refile:%s\n' "$base" "$TMP/big-kt" "$TMP/big-st" >"$TMP/big.conf"
run big-key "$TMP/big.conf" plain alice alice@example.org
if grep -q "warning: .*big-kt:1: .*a 4160-bit RSA key; receivers need only verify up to 4096 bits" "$TMP/big-key.err" && jq -e '.verdict.action == "accept"' "$TMP/big-key.json" >/dev/null; then
	ok "a 4160-bit RSA key: a warning naming the table line (RFC 8301's range), still loaded"
else
	nok "a 4160-bit RSA key: a warning naming the table line (RFC 8301's range), still loaded" "$(head -c 300 "$TMP/big-key.err")"
fi

# the rule language: a target compared with another target, and the
# identity check's verdict as a target
mkdir -p "$TMP/rules"
cat >"$TMP/rules/10-outbound.rules" <<'RULES'
rule from_not_envelope { when outbound and from.domain != mail.from.domain reject 550 5.7.1 "From and MAIL FROM domains differ" }
rule login_is_from { when auth == from.address add-header "X-Login-Is-From" "yes" }
rule unowned { when identity.mail_from == "fail" quarantine "sender mismatch" }
RULES
printf '%s\nrules_dir = %s\nsender_mismatch_action = unsigned\nsender_login_is_address = yes\n' "$base" "$TMP/rules" >"$TMP/rules.conf"
run rule-two-targets "$TMP/rules.conf" plain carol carol@example.com
check "rules: from.domain != mail.from.domain (two targets) refuses" '.verdict.action == "reject" and (.verdict.text | test("domains differ"))'
run rule-same-domain "$TMP/rules.conf" plain alice alice@example.org
check "rules: the same domains: the rule does not fire; identity.mail_from is pass" '.verdict.action == "accept" and ([.rules[]? | select(.name == "from_not_envelope")] | length) == 0'
run rule-identity-fail "$TMP/rules.conf" plain bob alice@example.org
check "rules: identity.mail_from == \"fail\" (sender_mismatch_action = unsigned) quarantines" '.verdict.action == "quarantine" and '"$NOSIG"
run rule-auth-eq "$TMP/rules.conf" plain alice@example.org alice@example.org
check "rules: auth == from.address" 'any(.headers_added[]; .name == "X-Login-Is-From")'
printf 'rule bad { when from.domain == rcpt.count reject }\n' >"$TMP/rules/20-bad.rules"
bad "rules: comparing with a target that is not text: FILE:LINE:COL" "$TMP/rules.conf" "20-bad.rules:1:[0-9]+: .*not a text target"
rm "$TMP/rules/20-bad.rules"

# dkim-check: every key's published record against the private key
if "$GH" dkim-check -c "$TMP/gh.conf" --dns-fixture "$TMP/zone" >"$TMP/dc.out" 2>&1; then
	ok "dkim-check: every published key matches (exit 0)"
else
	nok "dkim-check: every published key matches (exit 0)" "$(head -c 400 "$TMP/dc.out")"
fi
grep -v 's1._domainkey.example.com' "$TMP/zone" >"$TMP/zone2"
publish s1._domainkey.example.com "v=DKIM1; k=rsa; p=$(openssl pkey -in "$TMP/other.pem" -pubout -outform DER 2>/dev/null | base64 -w0)" "$TMP/zone2"
"$GH" dkim-check -c "$TMP/gh.conf" --dns-fixture "$TMP/zone2" >"$TMP/dc2.out" 2>&1
rc=$?
if [ "$rc" -ge 1 ] && [ "$rc" -le 63 ] && grep -q "rsa-com.*MISMATCH" "$TMP/dc2.out"; then
	ok "dkim-check: a published key that does not match: exit $rc, named"
else
	nok "dkim-check: a published key that does not match: exit 1..63, named" "rc=$rc $(head -c 400 "$TMP/dc2.out")"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
