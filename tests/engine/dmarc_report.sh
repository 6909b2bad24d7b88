# tests/engine/dmarc_report.sh - DMARC aggregate-report recording through
# test mode and the `gatehouse dmarc-report` command (issue 15); sourced by
# run.sh, which provides pass, fail, GH and TMP.
#
# Test mode records as the daemon does (dmarc_report_db) and flushes its
# queue before it exits, so each run's row is in the file when it returns:
# a DMARC pass and a p=reject refusal are recorded with the disposition
# applied and the published policy; a temperror, and mail whose From is
# dmarc_report_email, are not; a store that cannot be opened changes
# neither the verdict nor the exit status and is reported on stderr. The
# command's usage and configuration errors get their exit codes. The
# reports themselves are checked in tests/unit/check_dmarc_report.c and,
# through Postfix, in tests/integration/dmarc_report.sh.

DR="$TMP/dmarc-report"
mkdir -p "$DR"
cat >"$DR/zone" <<'EOF'
example.org. TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.org. TXT "v=DMARC1; p=reject; aspf=s; rua=mailto:agg@example.org!5m; fo=d"
_dmarc.temp.example. SERVFAIL
EOF
printf 'spf_received_header = no\ndmarc_report_db = "%s"\ndmarc_report_email = "reports@example.org"\n' \
	"$DR/db.sqlite" >"$DR/conf"
printf 'spf_received_header = no\ndmarc_report_db = "%s"\ndmarc_report_email = "reports@example.org"\n' \
	"$DR/no-such-dir/db.sqlite" >"$DR/conf-bad"
printf 'spf_received_header = no\ndmarc_report_db = "%s"\n' "$DR/db.sqlite" >"$DR/conf-noemail"
dr_msg() {	# dr_msg NAME FROM - a message file from FROM
	printf 'From: <%s>\nTo: <rcpt@example.net>\nSubject: report case\n\nbody\n' "$2" >"$DR/$1.eml"
	printf '%s' "$DR/$1.eml"
}
dr_run() {	# dr_run CONF MAIL_FROM FILE - test mode from 192.0.2.1; sets DR_RC
	"$GH" test -c "$1" --dns-fixture "$DR/zone" --ip 192.0.2.1 --helo mx.example.org \
		--from "$2" --rcpt rcpt@example.net "$3" >"$DR/out.txt" 2>"$DR/err.txt"
	DR_RC=$?
}
dr_rows() {	# dr_rows SQL - the rows, '|'-separated
	sqlite3 "$DR/db.sqlite" "$1" 2>&1
}

name="dmarc report: test mode records an aligned SPF pass (disposition pass, policy and rua= as published)"
dr_run "$DR/conf" sender@example.org "$(dr_msg pass sender@example.org)"
got=$(dr_rows "SELECT source_ip, header_from, envelope_from, envelope_to, policy_domain, p, aspf,
	discovery, fo, rua, disposition, dkim_aligned, spf_aligned, spf_domain, spf_scope, spf_result, dkim
	FROM evaluation")
want='192.0.2.1|example.org|example.org|example.net|example.org|reject|s|treewalk|d|mailto:agg@example.org!5242880|pass|fail|pass|example.org|mfrom|pass|[]'
if [ "$DR_RC" -ne 0 ]; then
	fail "$name" "exit $DR_RC" "$(tail -n 3 "$DR/err.txt")"
elif [ "$got" != "$want" ]; then
	fail "$name" "row: $got" "want: $want"
else
	pass "$name"
fi

name="dmarc report: a p=reject failure refused at eom (exit 1) is recorded with disposition reject"
dr_run "$DR/conf" x@elsewhere.example "$(dr_msg fail ceo@example.org)"
got=$(dr_rows "SELECT disposition, dkim_aligned, spf_aligned, envelope_from, spf_domain, spf_result
	FROM evaluation ORDER BY id DESC LIMIT 1")
if [ "$DR_RC" -ne 1 ] || ! grep -q '^verdict   reject 550 5.7.1 ' "$DR/out.txt"; then
	fail "$name" "exit $DR_RC: $(grep '^verdict' "$DR/out.txt")"
elif [ "$got" != "reject|fail|fail|elsewhere.example|elsewhere.example|none" ]; then
	fail "$name" "row: $got"
else
	pass "$name"
fi

name="dmarc report: not recorded: a DMARC temperror (tempfail), and mail From the reporter's own address"
n=$(dr_rows "SELECT count(*) FROM evaluation")
dr_run "$DR/conf" sender@example.org "$(dr_msg temp a@temp.example)"
rc1=$DR_RC
dr_run "$DR/conf" sender@example.org "$(dr_msg self reports@example.org)"
if [ "$rc1" -ne 2 ] || [ "$DR_RC" -ne 0 ]; then
	fail "$name" "exits $rc1 and $DR_RC, want 2 (tempfail) and 0"
elif [ "$(dr_rows "SELECT count(*) FROM evaluation")" != "$n" ]; then
	fail "$name" "$(dr_rows "SELECT count(*) FROM evaluation") rows, want $n"
else
	pass "$name"
fi

name="dmarc report: a store that cannot be opened: the verdict stands (accept, exit 0), stderr says what was not recorded"
dr_run "$DR/conf-bad" sender@example.org "$DR/pass.eml"
if [ "$DR_RC" -ne 0 ] || ! grep -q '^verdict   accept' "$DR/out.txt"; then
	fail "$name" "exit $DR_RC: $(grep '^verdict' "$DR/out.txt")"
elif ! grep -q "dmarc-report: 1 evaluation(s) not recorded in $DR/no-such-dir/db.sqlite: " "$DR/err.txt"; then
	fail "$name" "stderr: $(head -c 300 "$DR/err.txt")"
else
	pass "$name"
fi

name="dmarc report: gatehouse dmarc-report lists today's report (2 messages) and writes it with --out"
mkdir -p "$DR/out"
today=$(date -u +%Y-%m-%d)
if ! "$GH" dmarc-report -c "$DR/conf" --since "$today" >"$DR/list.txt" 2>&1; then
	fail "$name" "exit $?: $(cat "$DR/list.txt")"
elif ! grep -Eq "^example\\.org!example\\.org![0-9]+![0-9]+![0-9a-f]{32}\\.xml\\.gz \\(2 messages, 2 records\\)$" "$DR/list.txt"; then
	fail "$name" "listing: $(cat "$DR/list.txt")"
elif ! "$GH" dmarc-report -c "$DR/conf" --since "$today" --out "$DR/out" >/dev/null 2>&1 ||
	[ "$(find "$DR/out" -name 'example.org!example.org!*.xml.gz' | wc -l)" -ne 1 ]; then
	fail "$name" "no file in $DR/out: $(ls "$DR/out")"
else
	pass "$name"
fi

name="dmarc report: command errors: a bad --since (64), --out with --send (64), no dmarc_report_email (2)"
"$GH" dmarc-report -c "$DR/conf" --since yesterday >/dev/null 2>"$DR/e1.txt"
rc1=$?
"$GH" dmarc-report -c "$DR/conf" --out "$DR/out" --send >/dev/null 2>&1
rc2=$?
"$GH" dmarc-report -c "$DR/conf-noemail" >/dev/null 2>"$DR/e3.txt"
rc3=$?
if [ "$rc1" -ne 64 ] || ! grep -q -- '--since yesterday: not a time' "$DR/e1.txt"; then
	fail "$name" "bad --since: exit $rc1: $(cat "$DR/e1.txt")"
elif [ "$rc2" -ne 64 ]; then
	fail "$name" "--out with --send: exit $rc2"
elif [ "$rc3" -ne 2 ] || ! grep -q 'dmarc_report_email (local@domain) must be set' "$DR/e3.txt"; then
	fail "$name" "no email: exit $rc3: $(cat "$DR/e3.txt")"
else
	pass "$name"
fi
