#!/bin/bash
# tests/dnssec/run.sh GATEHOUSE - DNSSEC validation through gatehouse's test mode.
#
# Needs root and a private network namespace; run it as
#   unshare --net -- tests/dnssec/run.sh /abs/path/build/gatehouse
# It makes a zone signed.example. (SPF TXT, A), keys for it and signed
# copies of it with ldns-keygen / ldns-signzone (Debian: ldnsutils), serves
# one copy at a time from unbound's auth-zone on 127.0.0.1@5353, and runs
# `gatehouse test` with dns_forwarders = "127.0.0.1@5353" and, or without,
# dns_trust_anchor_file = the zone's KSK (as DS or as DNSKEY). Every case
# prints "ok - NAME" or "not ok - NAME: WHY"; the last line is
# "N passed, M failed"; exit 1 if anything failed, 2 if it could not run.
#
# The zone copies (the same name, the same keys each time):
#   good      signed now, valid for 30 days
#   tampered  the TXT record changed after signing ("-all" -> "?all": still a
#             pass for 192.0.2.5, so only validation can tell it apart)
#   expired   signed with a window in the past (2020-01-01 .. 2020-02-01)
#   stripped  the unsigned zone under the same name (a downgrade: no RRSIGs)
# A second, unsigned zone plain.example. is served beside each copy: it is
# outside the trust anchor, so it must stay unvalidated (insecure), never bogus.
#
# The trust anchor is for signed.example. alone: libunbound forwards every
# query to 127.0.0.1@5353 and validates from the closest anchor above the
# name, so no chain from the root is needed, and names outside the anchor
# (plain.example.) are insecure rather than bogus.
#
# Cases d1-d4 (a trust anchor file that is missing, empty or unparsable must
# be a configuration error) fail while filter/dns/dns.c hands the path to
# ub_ctx_add_ta_file() unchecked: libunbound reads the file only at the first
# query, then fails every query ("initialization failure"), and takes an empty
# file as no anchors at all, i.e. no validation.
#
# GH_DNSSEC_KEEP=1 keeps the temp dir (it is kept anyway when a case failed).
set -u
umask 022

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 /path/to/gatehouse" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: needs root and a private network namespace: unshare --net -- $0 $1" >&2
	exit 2
fi
PATH=$PATH:/usr/sbin:/sbin
for tool in unbound ldns-keygen ldns-signzone drill jq ip ss timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$0: $tool is not installed (ldns-*, drill: Debian ldnsutils)" >&2
		exit 2
	fi
done
GH=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=5353
# shellcheck source=../lib/common.sh source-path=SCRIPTDIR
. "$HERE/../lib/common.sh"
# shellcheck source=../lib/unbound.sh source-path=SCRIPTDIR
. "$HERE/../lib/unbound.sh"

# A namespace made by unshare --net has only lo: anything else means this is
# a shared network, where the test servers do not belong.
if ip -o link show | grep -qv ': lo:'; then
	echo "$0: not in a private network namespace (interfaces besides lo): unshare --net -- $0 $1" >&2
	exit 2
fi
ip link set lo up || { echo "$0: cannot bring up lo (run under unshare --net)" >&2; exit 2; }
if [ -n "$(ss -Hlun "sport = :$PORT")" ]; then
	echo "$0: udp port $PORT is already in use: run under unshare --net" >&2
	exit 2
fi

TMP=$(mktemp -d /tmp/gatehouse-dnssec.XXXXXX) || exit 2
UB_PID='' GH_PID=''
passed=0 failed=0

# (stop_pid, the helper of cleanup below, is tests/lib/common.sh's)
stop_unbound() {
	unbound_stop "$UB_PID" "$PORT"
	UB_PID=
}
cleanup() {
	stop_pid "$GH_PID"
	stop_unbound
	if [ "$failed" -eq 0 ] && [ "${GH_DNSSEC_KEEP:-0}" != 1 ]; then
		rm -rf "$TMP"
	fi
}
# summary - the last line: "N passed, M failed" (and where the files are kept)
summary() {
	if [ "$failed" -ne 0 ] || [ "${GH_DNSSEC_KEEP:-0}" = 1 ]; then
		echo "# files kept in $TMP"
	fi
	echo "$passed passed, $failed failed"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1: $2"; failed=$((failed + 1)); }
die() { echo "not ok - setup: $*"; failed=$((failed + 1)); summary; exit 2; }

# ---- the zone, its keys and its copies -------------------------------------

cd "$TMP" || die "cd $TMP"
cat >zone <<'ZONE'
$ORIGIN signed.example.
$TTL 300
@	IN SOA	ns.signed.example. hostmaster.signed.example. 1 3600 900 604800 300
@	IN NS	ns.signed.example.
ns	IN A	127.0.0.1
@	IN A	192.0.2.10
@	IN TXT	"v=spf1 ip4:192.0.2.0/24 -all"
ZONE
cat >plain.zone <<'ZONE'
$ORIGIN plain.example.
$TTL 300
@	IN SOA	ns.plain.example. hostmaster.plain.example. 1 3600 900 604800 300
@	IN NS	ns.plain.example.
ns	IN A	127.0.0.1
@	IN TXT	"v=spf1 ip4:192.0.2.0/24 -all"
ZONE

# ECDSA P-256 (algorithm 13): small and fast; libunbound validates it.
KSK=$(ldns-keygen -a ECDSAP256SHA256 -k signed.example) || die "ldns-keygen (KSK)"
ZSK=$(ldns-keygen -a ECDSAP256SHA256 signed.example) || die "ldns-keygen (ZSK)"
# A key the zone is never signed with: its DS is a wrong trust anchor.
OTHER=$(ldns-keygen -a ECDSAP256SHA256 -k signed.example) || die "ldns-keygen (other)"

now=$(date +%s)
ldns-signzone -o signed.example -i $((now - 86400)) -e $((now + 30 * 86400)) \
	-f good.zone zone "$ZSK" "$KSK" || die "ldns-signzone (good)"
ldns-signzone -o signed.example -i 20200101000000 -e 20200201000000 \
	-f expired.zone zone "$ZSK" "$KSK" || die "ldns-signzone (expired)"
sed 's|"v=spf1 ip4:192.0.2.0/24 -all"|"v=spf1 ip4:192.0.2.0/24 ?all"|' good.zone >tampered.zone
[ "$(grep -c '?all' tampered.zone)" = 1 ] || die "tampering with the TXT record"
cp zone stripped.zone

# Trust anchors: the KSK as a DS record, the KSK as a DNSKEY record, and the
# DS of a key the zone does not use.
cp "$KSK.ds" ta.ds
cp "$KSK.key" ta.dnskey
cp "$OTHER.ds" wrong-key.ds
: >empty.ta
echo "this is not a trust anchor" >garbage.ta
{ grep -q 'IN[[:space:]]*DS' ta.ds && grep -q 'DNSKEY[[:space:]]*257' ta.dnskey; } ||
	die "unexpected key files: $(cat ta.ds ta.dnskey)"

# conf NAME [TRUST_ANCHOR_FILE] - a gatehouse configuration $TMP/NAME.conf
conf() {
	{
		echo "dns_forwarders = \"127.0.0.1@$PORT\""
		echo "dns_timeout_ms = 3000"
		[ $# -lt 2 ] || echo "dns_trust_anchor_file = \"$2\""
	} >"$TMP/$1.conf"
}
conf nota
conf ta "$TMP/ta.ds"
conf ta-dnskey "$TMP/ta.dnskey"
conf wrong-key "$TMP/wrong-key.ds"
conf missing "$TMP/no-such-dir/ta.ds"
conf empty "$TMP/empty.ta"
conf garbage "$TMP/garbage.ta"
{ cat "$TMP/missing.conf"; echo 'socket_group = ""'; } >"$TMP/daemon-missing.conf"

cat >msg.eml <<'MSG'
From: Sender <x@signed.example>
To: rcpt@example.net
Subject: dnssec test
Message-ID: <dnssec-test@signed.example>

hello
MSG

# ---- the server -------------------------------------------------------------

# serve COPY - unbound serving COPY.zone as signed.example. (and plain.example.),
# its files in $TMP/unbound-COPY/ (tests/lib/unbound.sh)
serve() {
	local d=$TMP/unbound-$1
	stop_unbound
	mkdir -p "$d"
	{
		unbound_conf_server "$d" "$PORT" 'verbosity: 1'
		cat <<CONF
auth-zone:
	name: "signed.example."
	zonefile: "$TMP/$1.zone"
	for-downstream: yes
	for-upstream: no
auth-zone:
	name: "plain.example."
	zonefile: "$TMP/plain.zone"
	for-downstream: yes
	for-upstream: no
CONF
	} >"$d/unbound.conf"
	unbound_start "$d/unbound.conf" "$d/unbound.out" "$PORT"
	UB_PID=$UNBOUND_PID
	udp_port_bound "$PORT" ||
		die "unbound ($1) did not start: $(cat "$d/unbound.out" "$d/unbound.log" 2>/dev/null | tail -5)"
	# Ready, and it serves what the case needs: RRSIGs to a DO query (none
	# for the stripped copy).
	timeout 10 drill -D -p "$PORT" @127.0.0.1 signed.example TXT >"$TMP/drill-$1.txt" 2>&1 ||
		die "unbound ($1) does not answer: $(cat "$TMP/drill-$1.txt")"
	if [ "$1" = stripped ]; then
		! grep -q 'RRSIG' "$TMP/drill-$1.txt" || die "the stripped copy has RRSIGs"
	else
		grep -q 'RRSIG[[:space:]]*TXT' "$TMP/drill-$1.txt" ||
			die "unbound's auth-zone gave no RRSIG to a DO query: $(cat "$TMP/drill-$1.txt")"
	fi
}

# ---- the cases --------------------------------------------------------------

# gh CONF IP FROM [HELO] - run gatehouse test; sets RC, OUT (json), ERR (stderr)
gh() {
	OUT=$TMP/out.json ERR=$TMP/err.txt
	timeout 30 "$GH" test --ip "$2" --helo "${4:-mx.plain.example}" --from "$3" \
		--rcpt rcpt@example.net --json -c "$TMP/$1.conf" "$TMP/msg.eml" >"$OUT" 2>"$ERR"
	RC=$?
}
# field JQ - a field of the last result ("" if there is no JSON)
field() { jq -r "$1 // empty" "$OUT" 2>/dev/null; }

# expect_spf NAME CONF IP FROM RESULT [REASON_REGEX] - .spf.mailfrom
expect_spf() {
	local name=$1 conf=$2 ip=$3 from=$4 want=$5 why=${6:-} res reason
	gh "$conf" "$ip" "$from"
	res=$(field .spf.mailfrom.result) reason=$(field .spf.mailfrom.reason)
	if [ "$res" != "$want" ]; then
		not_ok "$name" "spf mailfrom is '$res' ($reason), want $want; exit $RC; $(head -c 400 "$ERR")"
	elif [ -n "$why" ] && ! grep -Eq "$why" <<<"$reason"; then
		not_ok "$name" "reason '$reason' does not match /$why/"
	else
		ok "$name ($res: $reason)"
	fi
}

# expect_config_error NAME CONF - gatehouse refuses to run, and says why
expect_config_error() {
	local name=$1 conf=$2
	gh "$conf" 192.0.2.5 x@signed.example
	if [ "$RC" -lt 64 ] || [ "$RC" -eq 124 ]; then
		not_ok "$name" "exit $RC (want a configuration error, 64 or more); spf mailfrom: $(field .spf.mailfrom.result) ($(field .spf.mailfrom.reason)); stderr: $(head -c 300 "$ERR" | tr '\n' ' ')"
	elif ! grep -qi 'trust anchor' "$ERR"; then
		not_ok "$name" "exit $RC but stderr does not name the trust anchor: $(head -c 300 "$ERR")"
	elif [ -s "$OUT" ]; then
		not_ok "$name" "exit $RC but a result was printed anyway"
	else
		ok "$name (exit $RC: $(grep -i 'trust anchor' "$ERR" | head -1))"
	fi
}

DNSSEC='DNSSEC'

serve good
# a: validation succeeds: the answers are used as they are.
expect_spf "a1: good zone, DS trust anchor: validated TXT gives pass" ta 192.0.2.5 x@signed.example pass
expect_spf "a2: good zone, DNSKEY trust anchor: pass" ta-dnskey 192.0.2.5 x@signed.example pass
expect_spf "a3: good zone, trust anchor, 198.51.100.1: fail" ta 198.51.100.1 x@signed.example fail
# A validated denial of existence (NSEC) is "no record", not a DNS error.
expect_spf "a4: good zone, trust anchor, nonexistent name: none (NSEC proof validated)" \
	ta 192.0.2.5 x@nohost.signed.example none
# A zone outside the trust anchor is unvalidated (insecure), not bogus.
expect_spf "a5: unsigned zone outside the trust anchor: pass (insecure, not bogus)" \
	ta 192.0.2.5 x@plain.example pass
# e: the pass above depends on the anchor matching the zone's key.
expect_spf "e1: good zone, trust anchor of another key: temperror (bogus)" \
	wrong-key 192.0.2.5 x@signed.example temperror "$DNSSEC"
expect_spf "c0: good zone, no trust anchor: pass" nota 192.0.2.5 x@signed.example pass

serve tampered
expect_spf "b1: TXT changed after signing, trust anchor: temperror (bogus)" \
	ta 192.0.2.5 x@signed.example temperror "$DNSSEC"
expect_spf "b1k: TXT changed after signing, DNSKEY trust anchor: temperror" \
	ta-dnskey 192.0.2.5 x@signed.example temperror "$DNSSEC"
expect_spf "c1: TXT changed after signing, no trust anchor: pass (not validated)" \
	nota 192.0.2.5 x@signed.example pass

serve expired
expect_spf "b2: signatures expired, trust anchor: temperror (bogus)" \
	ta 192.0.2.5 x@signed.example temperror "$DNSSEC"
expect_spf "c2: signatures expired, no trust anchor: pass (not validated)" \
	nota 192.0.2.5 x@signed.example pass

serve stripped
expect_spf "b3: signatures stripped, trust anchor: temperror (bogus, no downgrade)" \
	ta 192.0.2.5 x@signed.example temperror "$DNSSEC"
expect_spf "c3: signatures stripped, no trust anchor: pass" \
	nota 192.0.2.5 x@signed.example pass

# d: a trust anchor that cannot be used is a configuration error, never a
# resolver that fails every query or, worse, one that validates nothing
# (served: the stripped copy, which only validation rejects).
expect_config_error "d1: trust anchor file that does not exist: configuration error" missing
expect_config_error "d2: empty trust anchor file: configuration error (else validation is off)" empty
expect_config_error "d3: unparsable trust anchor file: configuration error" garbage
# The daemon builds the same resolver: it must refuse to start too. It either
# exits at once or logs "started"; wait for one of the two (10 s at most).
"$GH" -f -c "$TMP/daemon-missing.conf" -p "unix:$TMP/gh.sock" >"$TMP/daemon.out" 2>&1 &
GH_PID=$!
for _ in $(seq 100); do
	kill -0 "$GH_PID" 2>/dev/null || break
	grep -q ' started ' "$TMP/daemon.out" && break
	sleep 0.1
done
if kill -0 "$GH_PID" 2>/dev/null; then
	stop_pid "$GH_PID"
	not_ok "d4: the daemon refuses to start with a missing trust anchor file" \
		"it started: $(grep -m1 ' started ' "$TMP/daemon.out")"
else
	wait "$GH_PID"
	rc=$?
	if [ "$rc" -ge 64 ] && grep -qi 'trust anchor' "$TMP/daemon.out"; then
		ok "d4: the daemon refuses to start with a missing trust anchor file (exit $rc)"
	else
		not_ok "d4: the daemon refuses to start with a missing trust anchor file" \
			"exit $rc: $(tail -3 "$TMP/daemon.out" | tr '\n' ' ')"
	fi
fi
GH_PID=

summary
[ "$failed" -eq 0 ]
