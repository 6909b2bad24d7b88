#!/usr/bin/env bash
# tests/engine/run.sh - engine tests through the real binary's test mode
#
# usage: tests/engine/run.sh path/to/gatehouse
#
# Each case runs `gatehouse test --json` on a message from tests/data (or one
# generated here, for bytes a text file cannot hold well: NUL, very long
# lines) and asserts, with jq, the exit status, the verdict's action, SMTP
# code, enhanced code and phase, and case-specific keys of the report. Every
# case runs with tests/data/defaults.conf (or another -c file) so a config in
# /etc cannot change the outcome, and with the empty DNS fixture (or another
# --dns-fixture) so no case depends on the network. Prints "ok - NAME" or "not ok - NAME" per
# case and ends with "N passed, M failed"; exits 1 when anything failed.
set -u

GH=${1:?usage: $0 path/to/gatehouse}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$(cd "$HERE/../data" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-engine.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

command -v jq >/dev/null || { echo "not ok - jq is needed for the engine tests"; echo "0 passed, 1 failed"; exit 1; }
[ -x "$GH" ] || { echo "not ok - $GH is not an executable"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() {
	failed=$((failed + 1))
	echo "not ok - $1"
	shift
	for line in "$@"; do echo "#   $line"; done
}

# has_opt OPT ARGS... - is OPT among ARGS?
has_opt() {
	local opt=$1 a
	shift
	for a in "$@"; do [ "$a" = "$opt" ] && return 0; done
	return 1
}

# t NAME EXIT ACTION CODE ECODE PHASE FILE [GATEHOUSE-ARGS...] [-- JQ-EXPR]
#   Runs test mode on FILE (in tests/data, or an absolute path) with the
#   default envelope, overridden by any --ip/--helo/--from/--rcpt/-c in
#   GATEHOUSE-ARGS, and checks the exit status, the verdict (CODE and ECODE
#   "-" mean null) and JQ-EXPR, which must be true for the report.
t() {
	local name=$1 want_rc=$2 action=$3 code=$4 ecode=$5 phase=$6 file=$7
	shift 7
	local args=() expr="true" rc out="$TMP/out.json" err="$TMP/err.txt" jcode jecode
	while [ $# -gt 0 ]; do
		if [ "$1" = "--" ]; then
			expr=$2
			break
		fi
		args+=("$1")
		shift
	done
	case $file in /* | -) ;; *) file="$DATA/$file" ;; esac
	has_opt -c "${args[@]+"${args[@]}"}" || args+=(-c "$DATA/defaults.conf")
	has_opt --dns-fixture "${args[@]+"${args[@]}"}" || args+=(--dns-fixture "$DATA/dns/empty.zone")
	has_opt --ip "${args[@]+"${args[@]}"}" || args+=(--ip 192.0.2.1)
	has_opt --helo "${args[@]+"${args[@]}"}" || args+=(--helo mx.example.org)
	has_opt --from "${args[@]+"${args[@]}"}" || args+=(--from sender@example.org)
	has_opt --rcpt "${args[@]+"${args[@]}"}" || args+=(--rcpt rcpt@example.net)

	"$GH" test --json "${args[@]}" "$file" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		fail "$name" "exit $rc, want $want_rc" "stderr: $(head -c 400 "$err")"
		return
	fi
	if ! jq -e 'type == "object"' "$out" >/dev/null 2>&1; then
		fail "$name" "output is not one JSON object: $(head -c 200 "$out")"
		return
	fi
	[ "$code" = "-" ] && jcode=null || jcode="\"$code\""
	[ "$ecode" = "-" ] && jecode=null || jecode="\"$ecode\""
	if ! jq -e ".verdict.action == \"$action\" and .verdict.smtp_code == $jcode and
		   .verdict.enhanced_code == $jecode and .verdict.phase == \"$phase\"" \
		"$out" >/dev/null; then
		fail "$name" "verdict $(jq -c .verdict "$out")" \
			"want action=$action smtp_code=$code enhanced_code=$ecode phase=$phase"
		return
	fi
	if ! jq -e "$expr" "$out" >/dev/null 2>"$err"; then
		fail "$name" "jq: $expr" "$(cat "$err")" "report: $(jq -c '{checks, headers_added, headers_removed, envelope, size}' "$out")"
		return
	fi
	pass "$name"
}

# u NAME EXIT ARGS... [-- STDERR-FRAGMENT]
#   Runs `gatehouse test ARGS...` with nothing else added (usage and input
#   errors) and checks the exit status and, if given, a fragment of stderr.
u() {
	local name=$1 want_rc=$2 args=() frag="" rc
	shift 2
	while [ $# -gt 0 ]; do
		if [ "$1" = "--" ]; then
			frag=$2
			break
		fi
		args+=("$1")
		shift
	done
	"$GH" test "${args[@]}" </dev/null >"$TMP/out.txt" 2>"$TMP/err.txt"
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		fail "$name" "exit $rc, want $want_rc" "stderr: $(head -c 400 "$TMP/err.txt")"
	elif [ -n "$frag" ] && ! grep -qF -- "$frag" "$TMP/err.txt"; then
		fail "$name" "stderr lacks '$frag'" "stderr: $(head -c 400 "$TMP/err.txt")"
	else
		pass "$name"
	fi
}

# Messages whose bytes are made here.
gen() { printf '%s' "$TMP/$1"; }
x_times() { head -c "$1" /dev/zero | tr '\0' x; }
{ printf 'From: Sender <sender@example.org>\nSubject: '; x_times 989; printf '\n\nbody\n'; } >"$(gen line-998.eml)"
{ printf 'From: Sender <sender@example.org>\nSubject: '; x_times 990; printf '\n\nbody\n'; } >"$(gen line-999.eml)"
# no space after the colon: the line is one octet shorter, and counted so
{ printf 'From: Sender <sender@example.org>\nSubject:'; x_times 990; printf '\n\nbody\n'; } >"$(gen line-998-nospace.eml)"
{ printf 'From: Sender <sender@example.org>\nSubject:'; x_times 991; printf '\n\nbody\n'; } >"$(gen line-999-nospace.eml)"
{ printf 'From: Sender <sender@example.org>\nX-Long: '; x_times 5000; printf '\n\nbody\n'; } >"$(gen line-5000.eml)"
{ printf 'From: Sender <sender@example.org>\nSubject: folded'; for i in 1 2 3 4 5 6 7 8 9 10; do printf '\n\t'; x_times 900; done; printf '\n\nbody\n'; } >"$(gen folded-long.eml)"
{ printf 'From: Sender <sender@example.org>\nSubject: short\n\t'; x_times 999; printf '\n\nbody\n'; } >"$(gen folded-one-long.eml)"
printf 'From: Sender <sender@example.org>\nSubject: a NUL \0 here\n\nbody\n' >"$(gen header-nul.eml)"
printf 'From: Sender <sender@example.org>\nSubject: clean\n\nbody with a NUL \0 byte\n' >"$(gen body-nul.eml)"
: >"$(gen empty.eml)"
{ printf 'From: Sender <sender@example.org>\n'; for i in $(seq 1 10); do printf 'X-Field-%d: v\n' "$i"; done; printf '\nbody\n'; } >"$(gen eleven-fields.eml)"
{ printf 'From: Sender <sender@example.org>\n'; for i in $(seq 1 9); do printf 'X-Field-%d: v\n' "$i"; done; printf '\nbody\n'; } >"$(gen ten-fields.eml)"
{ printf 'From: Sender <sender@example.org>\n'; for i in $(seq 1 900); do printf 'Received: from host%d.example by relay.example with ESMTP id %08d for <rcpt@example.net>\n' "$i" "$i"; done; printf '\nbody\n'; } >"$(gen big-header.eml)"

# Exactly one X-Gatehouse added, on top; other headers (Authentication-Results
# of inbound mail) may be added beside it.
ADDED_OURS='([.headers_added[] | select(.name == "X-Gatehouse")] | length) == 1 and ([.headers_added[] | select(.name == "X-Gatehouse")][0] | .position == 0 and (.value | test("session=test\\.1$")))'
NO_EDITS='([.headers_added[] | select(.name != "Authentication-Results")] | length) == 0 and .headers_removed == [] and .headers_changed == []'
CHECK() { printf 'any(.checks[]; .name == "%s" and .result == "%s")' "$1" "$2"; }

#  name                                  exit action     code  ecode  phase  file                       [args] [-- jq]
t "plain message accepted"               0 accept     -     -      eom    plain.eml                  -- "$ADDED_OURS and .headers_removed == [] and $(CHECK sanity.from pass)"
t "multipart message accepted"           0 accept     -     -      eom    multipart.eml              -- "$ADDED_OURS and .size.body_bytes > 500"
t "forged X-Gatehouse removed"           0 accept     -     -      eom    forged-status.eml          -- "$ADDED_OURS and .headers_removed == [{\"name\":\"X-Gatehouse\",\"index\":2},{\"name\":\"X-Gatehouse\",\"index\":1}]"
t "no status header when disabled"       0 accept     -     -      eom    forged-status.eml          -c "$DATA/no-status-header.conf" -- "$NO_EDITS"
t "outbound: forged removed, none added"  0 accept     -     -      eom    forged-status.eml          --auth alice -- "([.headers_added[] | select(.name == \"X-Gatehouse\")] | length) == 0 and .headers_removed == [{\"name\":\"X-Gatehouse\",\"index\":2},{\"name\":\"X-Gatehouse\",\"index\":1}]"
t "outbound with status_header_outbound" 0 accept     -     -      eom    forged-status.eml          --auth alice -c "$DATA/status-outbound.conf" -- "$ADDED_OURS"
t "no From refused at eoh"               1 reject     550   5.7.1  eoh    no-from.eml                -- "$NO_EDITS and .verdict.by == \"sanity.from\" and $(CHECK sanity.from fail)"
t "no From allowed by config"            0 accept     -     -      eom    no-from.eml                -c "$DATA/no-from-allowed.conf" -- "$ADDED_OURS and $(CHECK sanity.from fail)"
t "no From quarantined by config"        4 quarantine -     -      eom    no-from.eml                -c "$DATA/no-from-quarantine.conf" -- "$(CHECK sanity.from fail)"
t "no From discarded by config"          3 discard    -     -      eoh    no-from.eml                -c "$DATA/no-from-discard.conf" -- "$NO_EDITS"
t "no headers at all"                    1 reject     550   5.7.1  eoh    no-headers.eml             -- ".size.header_bytes == 0"
t "empty file"                           1 reject     550   5.7.1  eoh    "$(gen empty.eml)"         -- ".size.header_bytes == 0 and .size.body_bytes == 0"
t "line without colon ends header"       0 accept     -     -      eom    header-end-no-colon.eml    -- "$ADDED_OURS and $(CHECK input.header_end warn) and $(CHECK sanity.from pass)"
t "line without colon before From"       1 reject     550   5.7.1  eoh    no-colon-before-from.eml   -- "$(CHECK input.header_end warn) and $(CHECK sanity.from fail)"
t "header line of 998 octets"            0 accept     -     -      eom    "$(gen line-998.eml)"      -- "$ADDED_OURS"
t "header line of 999 octets"            1 reject     550   5.6.0  header "$(gen line-999.eml)"      -- "$NO_EDITS and .verdict.by == \"sanity.header\" and (.verdict.text | test(\"999\"))"
t "header line of 998 octets, no space after the colon" 0 accept - - eom "$(gen line-998-nospace.eml)" -- "$ADDED_OURS"
t "header line of 999 octets, no space after the colon" 1 reject 550 5.6.0 header "$(gen line-999-nospace.eml)" -- "$NO_EDITS and .verdict.by == \"sanity.header\" and (.verdict.text | test(\"999\"))"
t "header line of 5000 octets"           1 reject     550   5.6.0  header "$(gen line-5000.eml)"
t "folded header, every line short"      0 accept     -     -      eom    "$(gen folded-long.eml)"   -- "$ADDED_OURS"
t "folded header, one line long"         1 reject     550   5.6.0  header "$(gen folded-one-long.eml)"
t "NUL byte in a header"                 1 reject     550   5.6.0  header "$(gen header-nul.eml)"    -- "$NO_EDITS and (.verdict.text | test(\"NUL\")) and $(CHECK sanity.header fail)"
t "NUL byte in the body"                 0 accept     -     -      eom    "$(gen body-nul.eml)"      -- "$ADDED_OURS"
t "ten header fields, max_headers 10"    0 accept     -     -      eom    "$(gen ten-fields.eml)"    -c "$DATA/max-headers.conf"
t "eleven header fields, max_headers 10" 1 reject     552   5.3.4  header "$(gen eleven-fields.eml)" -c "$DATA/max-headers.conf"
t "header over 64 KiB, max 1 MiB ok"     0 accept     -     -      eom    "$(gen big-header.eml)"    -- ".size.header_bytes > 65536"
t "body of 0 bytes"                      0 accept     -     -      eom    empty-body.eml             -- "$ADDED_OURS and .size.body_bytes == 0"
t "CRLF file"                            0 accept     -     -      eom    crlf.eml                   -- "$ADDED_OURS and .size.body_bytes == 22"
t "mbox From line skipped"               0 accept     -     -      eom    mbox.eml                   -- "$ADDED_OURS and $(CHECK sanity.from pass) and (.checks | length) == 1"
t "message on standard input"            0 accept     -     -      eom    -                          -- "$ADDED_OURS" <"$DATA/plain.eml"
t "malformed --from"                     1 reject     501   5.1.7  mail   plain.eml                  --from 'sender@' -- "$NO_EDITS and .verdict.by == \"sanity.envelope_from\" and .envelope.from == null"
t "malformed --from, rcpts refused too"  1 reject     501   5.1.7  mail   plain.eml                  --from 'sender@' --rcpt a@example.net --rcpt b@example.net -- "[.envelope.rcpts[] | .address, .action, .smtp_code, .enhanced_code] == [\"a@example.net\",\"reject\",\"501\",\"5.1.7\",\"b@example.net\",\"reject\",\"501\",\"5.1.7\"]"
t "--from with unbalanced bracket"       1 reject     501   5.1.7  mail   plain.eml                  --from '<sender@example.org' -- "$NO_EDITS"
t "null sender accepted"                 0 accept     -     -      eom    plain.eml                  --from '<>' -- "$ADDED_OURS and .envelope.from == \"\""
t "malformed --rcpt"                     1 reject     501   5.1.3  rcpt   plain.eml                  --rcpt 'rcpt@' -- "$NO_EDITS and .envelope.rcpts[0].action == \"reject\""
t "--rcpt without domain"                1 reject     501   5.1.3  rcpt   plain.eml                  --rcpt 'rcpt' -- "$NO_EDITS"
t "--rcpt postmaster without domain"     0 accept     -     -      eom    plain.eml                  --rcpt postmaster -- ".envelope.rcpts[0].action == \"accept\""
t "two --rcpt, one bad"                  0 accept     -     -      eom    plain.eml                  --rcpt good@example.net --rcpt 'bad@@example.net' -- "$ADDED_OURS and .envelope.rcpts[0].action == \"accept\" and .envelope.rcpts[0].smtp_code == null and .envelope.rcpts[1].action == \"reject\" and .envelope.rcpts[1].smtp_code == \"501\" and .envelope.rcpts[1].enhanced_code == \"5.1.3\""
t "three --rcpt, max_recipients 2"       0 accept     -     -      eom    plain.eml                  -c "$DATA/max-recipients.conf" --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- "[.envelope.rcpts[].action] == [\"accept\",\"accept\",\"tempfail\"] and .envelope.rcpts[2].smtp_code == \"452\" and .envelope.rcpts[2].enhanced_code == \"4.5.3\""
t "envelope in the report"               0 accept     -     -      eom    plain.eml                  --ip 2001:db8::25 --host mx.example.org --helo helo.example.org --auth alice --qid 4BxYz1234 -- ".envelope.ip == \"2001:db8::25\" and .envelope.host == \"mx.example.org\" and .envelope.helo == \"helo.example.org\" and .envelope.auth == \"alice\" and .envelope.from == \"sender@example.org\" and .envelope.rcpts[0].address == \"rcpt@example.net\""
t "JSON report has every key"            0 accept     -     -      eom    plain.eml                  -- "(keys | contains([\"session\",\"verdict\",\"envelope\",\"spf\",\"dkim\",\"dmarc\",\"rules\",\"checks\",\"headers_added\",\"headers_removed\",\"headers_changed\",\"size\"])) and (.verdict | keys | contains([\"action\",\"smtp_code\",\"enhanced_code\",\"text\",\"phase\",\"by\"])) and (.spf.helo | has(\"result\")) and (.spf.mailfrom | has(\"result\")) and (.dkim | type == \"array\") and (.dmarc | has(\"result\")) and (.rules | type == \"array\") and (.headers_added | type == \"array\") and (.headers_removed | type == \"array\") and (.checks[0] | keys == [\"detail\",\"name\",\"result\"]) and .session == \"test.1\""
t "checks that did not run are null"     0 accept     -     -      eom    plain.eml                  --auth alice -- ".spf.helo.result == null and .spf.mailfrom.result == null and .dmarc.result == null and .dkim == [] and .rules == []"

# SPF: tests/data/dns/spf.zone gives each domain one result; the default
# envelope (192.0.2.1, mx.example.org, sender@example.org) passes both
# identities. Received-SPF is off (defaults.conf) unless a case uses spf.conf.
SPFZ="$DATA/dns/spf.zone"
SPF() { printf '.spf.helo.result == "%s" and .spf.mailfrom.result == "%s"' "$1" "$2"; }
ALL_RCPTS() { printf '(.envelope.rcpts | length) == %s and all(.envelope.rcpts[]; .action == "%s" and .smtp_code == "%s" and .enhanced_code == "%s")' "$1" "$2" "$3" "$4"; }
RSPF_ADDED='(.headers_added | map(select(.name == "Received-SPF")) | length) == 1'
RSPF() { printf '(.headers_added[] | select(.name == "Received-SPF") | .value | test("%s"))' "$1"; }
NO_SPF='.spf.helo.result == null and .spf.mailfrom.result == null and (.headers_added | map(select(.name == "Received-SPF")) | length) == 0'

#  name                                  exit action     code  ecode  phase  file                       [args] [-- jq]
t "SPF pass, both identities"            0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -- "$(SPF pass pass) and .envelope.direction == \"inbound\" and .spf.mailfrom.domain == \"example.org\" and .spf.helo.domain == \"mx.example.org\""
t "SPF pass adds Received-SPF"           0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf.conf" -- "$(SPF pass pass) and $RSPF_ADDED and $(RSPF '^pass \\(mx\\.gatehouse\\.test: ') and $(RSPF 'client-ip=192\\.0\\.2\\.1;') and $(RSPF 'envelope-from=\"sender@example\\.org\";') and $(RSPF 'identity=mailfrom;') and $(RSPF '\n\thelo=') and (.headers_added[] | select(.name == \"Received-SPF\") | .value | test(\"\\r\") | not)"
t "SPF fail refused at every rcpt"       1 reject     550   5.7.23 rcpt   plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-reject-at-rcpt.conf" --from x@fail.example --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- "$(SPF pass fail) and .verdict.by == \"spf.mailfrom\" and $(ALL_RCPTS 3 reject 550 5.7.23) and .headers_added == [] and (.verdict.text | test(\"fail\\\\.example\"))"
t "SPF fail, spf_reject_at = mail"       1 reject     550   5.7.23 mail   plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-reject-at-mail.conf" --from x@fail.example --rcpt a@example.net --rcpt b@example.net -- "$(SPF pass fail) and .verdict.by == \"spf.mailfrom\" and $(ALL_RCPTS 2 reject 550 5.7.23)"
t "SPF fail, explanation in reply"       1 reject     550   5.7.23 rcpt   plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-explain.conf" --from x@fail.example -- ".spf.mailfrom.explanation == \"192.0.2.1 may not send mail for fail.example\" and (.verdict.text | endswith(\": 192.0.2.1 may not send mail for fail.example\"))"
t "SPF fail, explanation not in reply"   1 reject     550   5.7.23 eom    plain.eml                  --dns-fixture "$SPFZ" --from x@fail.example -- ".spf.mailfrom.explanation == \"192.0.2.1 may not send mail for fail.example\" and (.verdict.text | test(\"may not send\") | not)"
t "SPF temperror is 451 4.4.3"           2 tempfail   451   4.4.3  rcpt   plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-reject-at-rcpt.conf" --from x@temperror.example --rcpt a@example.net --rcpt b@example.net -- "$(SPF pass temperror) and .verdict.by == \"spf.mailfrom\" and $(ALL_RCPTS 2 tempfail 451 4.4.3) and (.spf.mailfrom.reason | test(\"timeout\"))"
t "SPF temperror at mail"                2 tempfail   451   4.4.3  mail   plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-reject-at-mail.conf" --from x@temperror.example -- "$(SPF pass temperror)"
t "SPF HELO temperror is 451 4.4.3"      2 tempfail   451   4.4.3  rcpt   plain.eml                  --dns-fixture "$SPFZ" --helo helo-temp.example -- "$(SPF temperror pass) and .verdict.by == \"spf.helo\" and (.spf.helo.reason | test(\"SERVFAIL\"))"
t "SPF permerror accepted and marked"    0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf.conf" --from x@permerror.example -- "$(SPF pass permerror) and $RSPF_ADDED and $(RSPF '^permerror \\(') and $(RSPF 'envelope-from=\"x@permerror\\.example\";')"
t "SPF softfail accepted and marked"     0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf.conf" --from x@softfail.example -- "$(SPF pass softfail) and $(RSPF '^softfail \\(')"
t "SPF neutral accepted"                 0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" --from x@neutral.example -- "$(SPF pass neutral)"
t "SPF none: no record"                  0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" --from x@norecord.example -- "$(SPF pass none)"
t "SPF HELO fail refused"                1 reject     550   5.7.23 rcpt   plain.eml                  --dns-fixture "$SPFZ" --helo helo-fail.example -- "$(SPF fail pass) and .verdict.by == \"spf.helo\""
t "SPF HELO address literal: none"       0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" --helo '[192.0.2.1]' -- "$(SPF none pass)"
t "SPF null sender is postmaster@HELO"   1 reject     550   5.7.23 rcpt   plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-reject-at-rcpt.conf" --helo helo-fail.example --from '<>' -- "$(SPF fail fail) and .spf.mailfrom.domain == \"helo-fail.example\" and .verdict.by == \"spf.mailfrom\""
t "SPF null sender, HELO passes"         0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf.conf" --from '<>' -- "$(SPF pass pass) and $(RSPF 'envelope-from=\"postmaster@mx\\.example\\.org\";') and $(RSPF 'identity=helo;')"
t "SPF IPv6 client pass"                 0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" --ip 2001:db8::25 -- "$(SPF pass pass) and (.spf.mailfrom.reason | test(\"2001:db8::25\"))"
t "SPF IPv6 client fail"                 1 reject     550   5.7.23 rcpt   plain.eml                  --dns-fixture "$SPFZ" --ip 2001:db9::25 -- "$(SPF fail fail) and .verdict.by == \"spf.helo\""
t "SPF IPv4-mapped client as IPv4"       0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" --ip ::ffff:192.0.2.1 -- "$(SPF pass pass)"
t "SPF --auth: outbound, not checked"    0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf.conf" --auth alice --ip 198.51.100.7 --from x@fail.example -- "$NO_SPF and .envelope.direction == \"outbound\" and $(CHECK spf skipped)"
t "SPF internal network: outbound"       0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" --ip 127.0.0.1 --from x@fail.example -- "$NO_SPF and .envelope.direction == \"outbound\""
t "SPF internal IPv6 ::1: outbound"      0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" --ip ::1 --from x@fail.example -- "$NO_SPF and .envelope.direction == \"outbound\""
t "SPF trusted forwarder: not checked"   0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-forwarder.conf" --from x@fail.example -- "$NO_SPF and .envelope.direction == \"inbound\" and any(.checks[]; .name == \"spf\" and .result == \"skipped\" and .detail == \"trusted forwarder\")"
t "SPF trusted forwarder, IPv6"          0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-forwarder.conf" --ip 2001:db8::25 --from x@fail.example -- "$NO_SPF"
t "SPF fail quarantined by config"       4 quarantine -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-actions.conf" --from x@fail.example -- "$(SPF pass fail) and .verdict.by == \"spf.mailfrom\" and .envelope.rcpts[0].action == \"accept\""
t "SPF softfail rejected by config"      1 reject     550   5.7.23 rcpt   plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-actions.conf" --from x@softfail.example -- "$(SPF pass softfail)"
t "SPF permerror rejected by config"     1 reject     550   5.7.24 rcpt   plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-actions.conf" --from x@permerror.example -- "$(SPF pass permerror)"
t "SPF temperror accepted by config"     0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-actions.conf" --from x@temperror.example -- "$(SPF pass temperror)"
t "SPF HELO fail accepted by config"     0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -c "$DATA/spf-actions.conf" --helo helo-fail.example -- "$(SPF fail pass)"
# spf_reject_at = dmarc, the default: MAIL FROM's answer waits for end of
# message (DMARC may pass through an aligned DKIM signature, tests/dkim);
# every recipient is accepted at RCPT, the message refused at eom. HELO's
# answers still come at RCPT ("SPF HELO fail refused" above).
DEFERRED() { printf 'any(.checks[]; .name == "spf.deferred" and .result == "%s")' "$1"; }
t "SPF fail, default: refused at eom"    1 reject     550   5.7.23 eom    plain.eml                  --dns-fixture "$SPFZ" --from x@fail.example --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- "$(SPF pass fail) and .verdict.by == \"spf.mailfrom\" and $(ALL_RCPTS 3 accept null null | sed 's/"null"/null/g') and $(DEFERRED fail) and .headers_added == []"
t "SPF temperror, default: 451 at eom"   2 tempfail   451   4.4.3  eom    plain.eml                  --dns-fixture "$SPFZ" --from x@temperror.example -- "$(SPF pass temperror) and .envelope.rcpts[0].action == \"accept\" and $(DEFERRED fail)"
t "SPF null sender, default: at eom"     1 reject     550   5.7.23 eom    plain.eml                  --dns-fixture "$SPFZ" --helo helo-fail.example --from '<>' -- "$(SPF fail fail) and .verdict.by == \"spf.mailfrom\""
t "SPF pass, default: no deferral"       0 accept     -     -      eom    plain.eml                  --dns-fixture "$SPFZ" -- "$(SPF pass pass) and ([.checks[] | select(.name == \"spf.deferred\")] | length) == 0"

# Smaller points of issue 11: the obsolete "Name WSP* :" header form is
# read as Postfix hands it over (white space stripped); an authserv_id that
# is no token is written quoted and claimed forms of it are removed; the
# summary line counts every recipient the MTA refused.
t "obsolete 'From :' is the From field"   0 accept     -     -      eom    obs-header-space.eml       -- "$(CHECK sanity.from pass) and (.checks | length) == 1"
t "authserv_id quoted; claims removed"   0 accept     -     -      eom    forged-ar-forms.eml        -c "$DATA/authserv-quoted.conf" -- ".headers_removed == [{\"name\":\"Authentication-Results\",\"index\":3},{\"name\":\"Authentication-Results\",\"index\":1}] and any(.headers_added[]; .name == \"Authentication-Results\" and (.value | startswith(\"\\\"mx/1.example\\\";\")))"

#  name                                  exit args...
u "authserv_id not ASCII: refused"       78 --ip 192.0.2.1 --from sender@example.org --rcpt rcpt@example.net -c "$DATA/authserv-bad.conf" "$DATA/plain.eml" -- "authserv_id"
u "missing --rcpt"                       64 --ip 192.0.2.1 --from sender@example.org -c "$DATA/defaults.conf" "$DATA/plain.eml" -- "--rcpt"
u "missing --from"                       64 --ip 192.0.2.1 --rcpt rcpt@example.net -c "$DATA/defaults.conf" "$DATA/plain.eml"
u "missing --ip"                         64 --from sender@example.org --rcpt rcpt@example.net -c "$DATA/defaults.conf" "$DATA/plain.eml"
u "bad --ip"                             64 --ip 192.0.2.300 --from sender@example.org --rcpt rcpt@example.net -c "$DATA/defaults.conf" "$DATA/plain.eml" -- "192.0.2.300"
u "host name as --ip"                    64 --ip mx.example.org --from sender@example.org --rcpt rcpt@example.net -c "$DATA/defaults.conf" "$DATA/plain.eml"
u "unknown option"                       64 --ip 192.0.2.1 --from sender@example.org --rcpt rcpt@example.net --no-such-option "$DATA/plain.eml"
u "two message files"                    64 --ip 192.0.2.1 --from sender@example.org --rcpt rcpt@example.net -c "$DATA/defaults.conf" "$DATA/plain.eml" "$DATA/plain.eml"
u "missing message file"                 66 --ip 192.0.2.1 --from sender@example.org --rcpt rcpt@example.net -c "$DATA/defaults.conf" "$TMP/no-such.eml" -- "no-such.eml"
u "bad -c config"                        78 --ip 192.0.2.1 --from sender@example.org --rcpt rcpt@example.net -c "$DATA/bad-config.conf" "$DATA/plain.eml" -- "bad-config.conf:4: max_headers"
u "missing -c config"                    78 --ip 192.0.2.1 --from sender@example.org --rcpt rcpt@example.net -c "$TMP/no-such.conf" "$DATA/plain.eml" -- "no-such.conf"
u "directory as -c config"               78 --ip 192.0.2.1 --from sender@example.org --rcpt rcpt@example.net -c "$TMP" "$DATA/plain.eml"

# The rule language and the shipped rule sets.
# shellcheck source=rules.sh
. "$HERE/rules.sh"
# shellcheck source=ratelimit.sh
. "$HERE/ratelimit.sh"
# shellcheck source=dmarc_report.sh
. "$HERE/dmarc_report.sh"

# The text report (no --json) carries the same verdict.
if "$GH" test -c "$DATA/defaults.conf" --ip 192.0.2.1 --from sender@example.org \
	--rcpt rcpt@example.net "$DATA/no-from.eml" >"$TMP/out.txt" 2>&1; then
	fail "text report" "exit 0 for a message without From"
elif grep -q '^verdict   reject 550 5.7.1 .*(phase eoh)$' "$TMP/out.txt"; then
	pass "text report"
else
	fail "text report" "$(tail -n 3 "$TMP/out.txt")"
fi

# The summary line counts each recipient the MTA refused (spf_reject_at =
# rcpt refuses all three here).
if "$GH" test -v -c "$DATA/spf-reject-at-rcpt.conf" --dns-fixture "$DATA/dns/spf.zone" --ip 192.0.2.1 \
	--helo mx.example.org --from x@fail.example --rcpt a@example.net --rcpt b@example.net \
	--rcpt c@example.net "$DATA/plain.eml" 2>&1 >/dev/null | grep -q ' nrcpt=0 rcpt_refused=3 .* action=reject phase=rcpt '; then
	pass "summary: three refused recipients counted"
else
	fail "summary: three refused recipients counted"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
