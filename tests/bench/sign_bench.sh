#!/usr/bin/env bash
# tests/bench/sign_bench.sh - `make bench-sign`: signing and the identity
# check per message, in process, with keys and maps made here (no root, no
# network). Prints the numbers; asserts nothing about time.
#   usage: tests/bench/sign_bench.sh path/to/sign_bench [MESSAGES]
set -eu
B=${1:?usage: $0 sign_bench [messages]}
N=${2:-100000}
T=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-signbench.XXXXXX")
trap 'rm -rf "$T"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null
chmod 600 "$T"/*.pem
printf 'rsa example.org:s1:%s\ned example.org:ed:%s\n' "$T/rsa.pem" "$T/ed.pem" >"$T/keytable"
printf '*@example.org rsa\n' >"$T/st-rsa"
printf '*@example.org ed\n' >"$T/st-ed"
printf '*@example.org rsa, ed\n' >"$T/st-dual"
# a map of 1,000 logins (and 1,000 @domain lines), alice last: a worst-case scan
{
	for i in $(seq 1 1000); do echo "user$i@example.org user$i"; echo "@d$i.example user$i"; done
	echo "alice@example.org alice"
} >"$T/logins"
for v in rsa ed dual; do
	printf 'sender_login_map = %s\ndkim_key_table = %s\ndkim_signing_table = refile:%s\n' \
		"$T/logins" "$T/keytable" "$T/st-$v" >"$T/$v.conf"
done
printf 'sender_login_map = %s\n' "$T/logins" >"$T/nosign.conf"
# a 4 KB message, as the other benchmarks' corpus
{
	printf 'From: Alice <alice@example.org>\nTo: Bob <bob@example.net>\nSubject: quarterly numbers\nDate: Mon, 23 Nov 2026 06:00:00 +0000\nMessage-ID: <bench@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n'
	for i in $(seq 1 60); do echo "Line $i of the quarterly numbers, with some words to hash and sign."; done
} >"$T/msg.eml"
echo "== in process, 4 KB message, $(nproc) CPUs, one thread"
"$B" -c "$T/nosign.conf" -m "$T/msg.eml" -n 20000
for v in rsa ed dual; do "$B" -c "$T/$v.conf" -m "$T/msg.eml" -n "$N"; done
"$B" -o "$T/rsa.pem" -a rsa -m "$T/msg.eml" -n 20000
"$B" -o "$T/ed.pem" -a ed25519 -m "$T/msg.eml" -n "$N"
"$B" -c "$T/rsa.conf" -i 1000000 -l alice -f alice@example.org
"$B" -c "$T/rsa.conf" -i 1000000 -l alice -f mallory@example.org
# Large tables, as a hosting provider has them: what a reload costs and what
# one lookup costs, with the entry looked up last in the file (for the
# SigningTable, the fourth key OpenDKIM's order tries) and with no entry at
# all (every candidate key is tried).
for n in 100000 1000000; do
	seq 1 "$n" | awk '{ print "user" $1 "@d" ($1 % 50000) ".example user" $1 }' >"$T/logins-$n"
	echo "alice@example.org alice" >>"$T/logins-$n"
	printf 'sender_login_map = %s\n' "$T/logins-$n" >"$T/logins-$n.conf"
	echo "== sender_login_map of $n lines"
	"$B" -c "$T/logins-$n.conf" -i 1000000 -l alice -f alice@example.org
	"$B" -c "$T/logins-$n.conf" -i 1000000 -l alice -f mallory@example.org
done
for n in 10000 100000; do
	{ seq 1 "$n" | awk '{ print "d" $1 ".example rsa" }'; echo ".example.org rsa"; } >"$T/st-$n"
	printf 'dkim_key_table = %s\ndkim_signing_table = %s\n' "$T/keytable" "$T/st-$n" >"$T/st-$n.conf"
	echo "== plain dkim_signing_table of $n domains"
	"$B" -c "$T/st-$n.conf" -s 1000000 -f alice@mail.example.org
	"$B" -c "$T/st-$n.conf" -s 1000000 -f alice@mail.example.net
done
