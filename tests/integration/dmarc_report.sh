# shellcheck shell=bash
# dmarc_report.sh - group r: DMARC aggregate reports (RFC 9990) through
# Postfix, with a real DNS server. Sourced by run.sh.
#
# The "rua" instance takes the DKIM instance's place behind its smtpd
# (IT_SMTPD_DKIM_PORT -> IT_MILTER_DKIM_PORT) with dmarc_report_db set. A
# run of messages with known SPF, DKIM and DMARC outcomes goes through
# Postfix; `gatehouse dmarc-report --out` must then write one report per
# policy domain that validates against RFC 9990's schema
# (tests/dmarc/rfc9990.xsd) and whose policy_published, rows and counts
# are exactly those expected (dmarc_report_check.py); a second run writes
# the same bytes. --send hands the reports to the suite's own Postfix
# (sendmail with MAIL_CONFIG) and they reach the sink, only where the
# external destination consented (a _report._dmarc record), once. A record
# older than dmarc_report_max_age goes at the next run. Neither a full disk
# (test mode, a tmpfs filled up) nor a store held locked by another process
# (the daemon) changes the answer.
#
# The senders (all from IT_SPF_CLIENT_IP, HELO mx.example):
#   rep.example    SPF pass for the client, p=reject, rua at example.org
#                  (consents); 3 aligned SPF passes, 2 MAIL FROM
#                  <..@nospf.example> (SPF none): refused; 1 From the
#                  reporter's own address: not recorded
#   signed.example p=quarantine sp=none adkim=s, rua at example.org
#                  (no consent); 2 DKIM-signed (aligned DKIM pass)
#   none.example   p=none fo=1, rua at example.org, whose consent
#                  record redirects to other@example.org; 1 failing
#   excluded.example  p=reject; in dmarc_report_exclude: 1 pass, no report

R_DB=
R_START=	# the reports' period: [R_START, R_UNTIL), around the messages sent
R_UNTIL=

gh_rua_conf() {
	{
		echo '# gatehouse instance "rua" of the integration suite: aggregate reports'
		dkim_conf_lines
		cat <<EOF
dmarc_report_db = "$R_DB"
dmarc_report_email = "reports@rep.example"
dmarc_report_org_name = "gatehouse integration suite"
dmarc_report_exclude = "excluded.example"
EOF
	} | gh_conf_dns rua
}

# r_dns PUB - unbound with the group's zone: example. and org. (the report
# addresses are at example.org, the only domain this Postfix relays)
r_dns() {
	local d=$IT_DIR/dns
	mkdir -p "$d"
	dns_stop
	{
		echo "# unbound for group r: example. and org. from local data"
		unbound_conf_server "$d" "$IT_DNS_PORT" 'log-queries: yes' 'verbosity: 1'
		unbound_conf_local_data example. <<EOF
mx.example. 300 IN A $IT_SPF_CLIENT_IP
mx.example. 300 IN TXT "v=spf1 a -all"
rep.example. 300 IN TXT "v=spf1 ip4:$IT_SPF_CLIENT_IP -all"
_dmarc.rep.example. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.org"
signed.example. 300 IN TXT "v=spf1 -all"
_dmarc.signed.example. 300 IN TXT "v=DMARC1; p=quarantine; sp=none; adkim=s; rua=mailto:agg@example.org"
$(k_txt s1._domainkey.signed.example "v=DKIM1; k=rsa; p=$1")
_dmarc.none.example. 300 IN TXT "v=DMARC1; p=none; fo=1; rua=mailto:n@example.org"
excluded.example. 300 IN TXT "v=spf1 ip4:$IT_SPF_CLIENT_IP -all"
_dmarc.excluded.example. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:x@example.org"
EOF
		unbound_conf_local_data org. <<EOF
example.org. 300 IN TXT "v=spf1 -all"
rep.example._report._dmarc.example.org. 300 IN TXT "v=DMARC1"
none.example._report._dmarc.example.org. 300 IN TXT "v=DMARC1; rua=mailto:other@example.org"
EOF
	} >"$d/unbound.conf"
	unbound-checkconf "$d/unbound.conf" >"$d/checkconf.out" 2>&1 && dns_start
}

# r_send ID FROM_HEADER MAIL_FROM FILE_NAME - one message, swaks' exit in SWAKS_RC
r_send() {
	local f
	f=$(msg_file "$4" <<EOF
From: <$2>
To: <rcpt@example.org>
Subject: group r $1
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-ID: <$1@gatehouse.test>
X-Test-Id: $1

Hello.
EOF
)
	SWAKS_HELO=mx.example send_swaks "$IT_SMTPD_DKIM_PORT" --local-interface "$IT_SPF_CLIENT_IP" \
		-f "$3" -t rcpt@example.org --data "@$f"
}

r_db_count() {
	sqlite3 "$R_DB" 'SELECT count(*) FROM evaluation' 2>/dev/null || echo 0
}

r_db_count_is() {
	[ "$(r_db_count)" = "$1" ]
}

# r_report OUT_DIR [ARGS] - gatehouse dmarc-report over the group's period
r_report() {
	local out=$1
	shift
	MAIL_CONFIG=$IT_DIR/postfix timeout 60 "$IT_GH" dmarc-report -c "$IT_DIR/gh-rua.conf" \
		--since "$R_START" --until "$R_UNTIL" ${out:+--out "$out"} "$@"
}

test_dmarc_report() {
	local name d=$IT_DIR/rua pub id i bad f n rc
	mkdir -p "$d" "$IT_DIR/dkim"
	R_DB=$d/reports.sqlite
	R_START=$(($(date +%s) - 2))
	name="r: signer built, unbound serves the report zones (example., org.), the rua instance starts with dmarc_report_db"
	if ! k_build_signer; then
		not_ok "$name" "make could not build tests/tools/dkim_sign"
		return
	fi
	if [ ! -s "$IT_DIR/dkim/signed.pem" ] && ! timeout 60 openssl genpkey -algorithm RSA \
		-pkeyopt rsa_keygen_bits:2048 -out "$IT_DIR/dkim/signed.pem" 2>"$d/openssl.out"; then
		not_ok "$name" "openssl genpkey failed"
		return
	fi
	pub=$(openssl pkey -in "$IT_DIR/dkim/signed.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
	ip addr replace "$IT_SPF_CLIENT_IP/32" dev lo || { not_ok "$name" "cannot add $IT_SPF_CLIENT_IP"; return; }
	if ! r_dns "$pub"; then
		not_ok "$name" "unbound did not start with the group's zone: $(cat "$IT_DIR/dns/checkconf.out")"
		return
	fi
	gh_stop dkim
	gh_rua_conf
	if ! gh_start rua; then
		not_ok "$name" "the rua instance did not start"
		return
	fi
	ok "$name"

	name="r: 10 messages with known outcomes: 7 accepted, 2 refused (DMARC p=reject), 1 from the reporter; 9 recorded"
	bad=
	for i in 1 2 3; do
		id=$(new_id rpass$i)
		r_send "$id" "a@rep.example" "$id@rep.example" "rpass$i"
		[ "$SWAKS_RC" -eq 0 ] || bad="$bad rep.example pass $i: swaks $SWAKS_RC;"
	done
	for i in 1 2; do
		id=$(new_id rrej$i)
		IT_NEVER_IDS+=("$id")
		r_send "$id" "ceo@rep.example" "$id@nospf.example" "rrej$i"
		[ "$SWAKS_RC" -eq 26 ] || bad="$bad rep.example forgery $i: swaks $SWAKS_RC, expected 26;"
	done
	id=$(new_id rself)
	r_send "$id" "reports@rep.example" "$id@rep.example" rself
	[ "$SWAKS_RC" -eq 0 ] || bad="$bad reporter's own mail: swaks $SWAKS_RC;"
	for i in 1 2; do
		id=$(new_id rsig$i)
		printf 'From: <someone@signed.example>\nTo: <rcpt@example.org>\nSubject: signed %s\nX-Test-Id: %s\n\nHello.\n' \
			"$i" "$id" >"$d/sig$i.in"
		k_sign "$d/sig$i.in" "$IT_DIR/dkim/rsig$i.txt"
		SWAKS_HELO=mx.example send_swaks "$IT_SMTPD_DKIM_PORT" --local-interface "$IT_SPF_CLIENT_IP" \
			-f "$id@nospf.example" -t rcpt@example.org --data "@$(k_msg "rsig$i")"
		[ "$SWAKS_RC" -eq 0 ] || bad="$bad signed.example $i: swaks $SWAKS_RC;"
	done
	id=$(new_id rnone)
	r_send "$id" "a@none.example" "$id@nospf.example" rnone
	[ "$SWAKS_RC" -eq 0 ] || bad="$bad none.example: swaks $SWAKS_RC;"
	id=$(new_id rexcl)
	r_send "$id" "a@excluded.example" "$id@excluded.example" rexcl
	[ "$SWAKS_RC" -eq 0 ] || bad="$bad excluded.example: swaks $SWAKS_RC;"
	if [ -n "$bad" ]; then
		not_ok "$name" "$bad"
	elif ! wait_until 10 r_db_count_is 9; then
		not_ok "$name" "$(r_db_count) evaluations in $R_DB, expected 9"
	else
		ok "$name"
	fi

	R_UNTIL=$(($(date +%s) + 1))
	sleep 1	# the period ends before the report runs
	name="r: dmarc-report --out: 3 reports (rep.example, signed.example, none.example; excluded.example none), each valid against RFC 9990's schema, counts, policy_published and results exactly as sent"
	mkdir -p "$d/out1" "$d/out2"
	if ! r_report "$d/out1" >"$d/report1.out" 2>&1; then
		not_ok "$name" "dmarc-report failed: $(cat "$d/report1.out")"
	elif ! f=$("$IT_PYTHON" "$IT_HERE/dmarc_report_check.py" "$d/out1" "$IT_HERE/../dmarc/rfc9990.xsd" 2>&1); then
		not_ok "$name" "$f"
	else
		ok "$name"
	fi

	name="r: a second dmarc-report run over the same period writes the same files, byte for byte"
	if ! r_report "$d/out2" >"$d/report2.out" 2>&1; then
		not_ok "$name" "dmarc-report failed: $(cat "$d/report2.out")"
	elif [ "$(cd "$d/out1" && ls)" != "$(cd "$d/out2" && ls)" ]; then
		not_ok "$name" "other file names: $(ls "$d/out1") / $(ls "$d/out2")"
	elif ! diff -r "$d/out1" "$d/out2" >/dev/null; then
		not_ok "$name" "the files differ"
	else
		ok "$name"
	fi

	name="r: --send through Postfix's sendmail: rep.example's report to dmarc@example.org (consented), none.example's to other@example.org (redirected), none for signed.example (no consent)"
	r_report "" --send >"$d/send1.out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		not_ok "$name" "dmarc-report --send exit $rc: $(cat "$d/send1.out")"
	elif ! wait_until 15 sink_has "Report Domain: none.example" ||
		! wait_until 15 sink_has "Report Domain: rep.example"; then
		not_ok "$name" "the report mails did not reach the sink: $(cat "$d/send1.out")"
	elif ! f=$("$IT_PYTHON" "$IT_HERE/dmarc_report_check.py" --mail "$IT_DIR/sink" \
		"$IT_HERE/../dmarc/rfc9990.xsd" 2>&1); then
		not_ok "$name" "$f"
	elif ! grep -q "signed.example._report._dmarc.example.org: no v=DMARC1 record" "$d/send1.out"; then
		not_ok "$name" "no word of signed.example's missing consent: $(cat "$d/send1.out")"
	else
		ok "$name"
	fi

	name="r: --send again: both reports are already sent, no new mail"
	n=$(sink_count)
	if ! r_report "" --send >"$d/send2.out" 2>&1; then
		not_ok "$name" "dmarc-report --send failed: $(cat "$d/send2.out")"
	elif [ "$(grep -c 'already sent' "$d/send2.out")" -ne 2 ]; then
		not_ok "$name" "expected two 'already sent': $(cat "$d/send2.out")"
	else
		sleep 2
		if [ "$(sink_count)" -ne "$n" ]; then
			not_ok "$name" "$(($(sink_count) - n)) more mail(s) in the sink"
		else
			ok "$name"
		fi
	fi

	name="r: dmarc_report_max_age: a record 40 days old is deleted by the next dmarc-report run (31 days kept), the others stay"
	n=$(r_db_count)
	sqlite3 "$R_DB" "INSERT INTO evaluation (t, source_ip, header_from, policy_domain, p, disposition,
		dkim_aligned, spf_aligned, dkim) VALUES (strftime('%s','now') - 40 * 86400, '192.0.2.99',
		'old.example', 'old.example', 'none', 'none', 'fail', 'fail', '[]')"
	if ! r_db_count_is $((n + 1)); then
		not_ok "$name" "could not add the old record ($(r_db_count) rows)"
	elif ! r_report "" >"$d/expire.out" 2>&1; then
		not_ok "$name" "dmarc-report failed: $(cat "$d/expire.out")"
	elif ! grep -q '^expired 1 record(s) older than 31 days$' "$d/expire.out" || ! r_db_count_is "$n"; then
		not_ok "$name" "$(r_db_count) rows, expected $n: $(cat "$d/expire.out")"
	else
		ok "$name"
	fi

	name="r: a full disk (a 256 KB tmpfs filled up, in a mount namespace of its own): the verdict is still accept (exit 0), and stderr says what could not be recorded"
	printf 'example.org. TXT "v=spf1 ip4:192.0.2.0/24 -all"\n_dmarc.example.org. TXT "v=DMARC1; p=reject"\n' >"$d/full.zone"
	printf 'From: <a@example.org>\nTo: <b@example.net>\nSubject: full disk\n\nbody\n' >"$d/full.eml"
	mkdir -p "$d/full"
	printf 'dmarc_report_db = "%s/full/db.sqlite"\ndmarc_report_email = "reports@rep.example"\n' "$d" >"$d/full.conf"
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount -- sh -c '
		mount -t tmpfs -o size=256k tmpfs "$1/full" || exit 90
		run() { "$2" test -c "$1/full.conf" --dns-fixture "$1/full.zone" --ip 192.0.2.5 \
			--from a@example.org --rcpt b@example.net "$1/full.eml"; }
		run "$@" >"$1/full1.out" 2>&1	# creates the store, one row
		dd if=/dev/zero of="$1/full/fill" bs=4k 2>/dev/null
		run "$@" >"$1/full2.out" 2>"$1/full2.err"
		echo "$?" >"$1/full2.rc"' sh "$d" "$IT_GH"
	rc=$?
	if [ "$rc" -eq 90 ]; then
		not_ok "$name" "cannot mount a tmpfs"
	elif [ "$(cat "$d/full2.rc" 2>/dev/null)" != 0 ] || ! grep -q '^verdict   accept' "$d/full2.out"; then
		not_ok "$name" "exit $(cat "$d/full2.rc" 2>/dev/null), $(grep '^verdict' "$d/full2.out")"
	elif ! grep -Eq 'dmarc-report: 1 evaluation\(s\) not recorded in .*/full/db\.sqlite: .*(disk I/O error|database or disk is full)' "$d/full2.err"; then
		not_ok "$name" "stderr: $(head -c 400 "$d/full2.err")"
	else
		ok "$name"
	fi

	name="r: the store held locked by another process: the message is still accepted, the lost record logged ('not recorded ... database is locked'); recorded again once the lock is gone"
	n=$(r_db_count)
	( echo 'BEGIN EXCLUSIVE;'; sleep 5; echo 'COMMIT;' ) | sqlite3 "$R_DB" &
	IT_BG_PIDS+=($!)
	sleep 0.5
	id=$(new_id rlocked)
	r_send "$id" "a@rep.example" "$id@rep.example" rlocked
	rc=$SWAKS_RC
	if [ "$rc" -ne 0 ] || ! wait_delivered "$id"; then
		not_ok "$name" "swaks exit $rc, or not delivered"
	elif ! wait_until 10 log_has "$IT_DIR/gh-rua.log" "dmarc-report: 1 evaluation\\(s\\) not recorded in .*database is locked"; then
		not_ok "$name" "no 'not recorded ... database is locked' in gh-rua.log"
	else
		wait_until 10 r_db_count_is "$n" # nothing was added during the lock
		sleep 5
		id=$(new_id rafter)
		r_send "$id" "a@rep.example" "$id@rep.example" rafter
		if [ "$SWAKS_RC" -ne 0 ] || ! wait_until 10 r_db_count_is $((n + 1)); then
			not_ok "$name" "after the lock: swaks $SWAKS_RC, $(r_db_count) evaluations, expected $((n + 1))"
		else
			ok "$name"
		fi
	fi
	gh_stop rua
}
