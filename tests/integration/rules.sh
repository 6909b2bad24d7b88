# shellcheck shell=bash
# rules.sh - group l of the integration suite: the rule language through
# the real Postfix and the gatehouse daemon. Sourced by run.sh; the helpers
# are in rules_lib.sh (the group's rule files, messages and checks) and
# lib.sh (ok, not_ok, new_id, msg_file, send_swaks, swaks_reply_to, ...);
# test_rules is its only entry point.
#
# The "rules" instance of gatehouse listens on IT_MILTER_RULES_PORT and is
# the milter of its own smtpd (IT_SMTPD_RULES_PORT), so its rules touch no
# other group. Its config names rules_dir = "rules-l", a path relative to
# the config file (IT_DIR), while the suite runs in another directory. DNS
# comes from a fixture (rules.zone, l_zone) that knows only the domains of
# the recipient-exemption cases: for everything else SPF is none and mail
# from 127.0.0.1 is outbound anyway, so nothing but the rules and the sanity
# checks decide. Every message has MAIL FROM <ID@example.net> (those cases:
# ID@ their domain), so its summary line is found by the id.

IT_RULES_DIR=	# IT_DIR/rules-l, set by test_rules

gh_rules_conf() {
	l_zone >"$IT_DIR/rules.zone"
	gh_conf_dns rules <<EOF
# gatehouse instance "rules" of the integration suite (group l)
socket = "inet:$IT_MILTER_RULES_PORT@127.0.0.1"
authserv_id = "$IT_AUTHSERV"
log_level = "info"
drain_timeout_ms = 3000
rules_dir = "rules-l"
# recipient exemptions: SPF answered at each RCPT, and only the rules exempt
spf_reject_at = rcpt
dmarc_exempt_recipients = ""
dns_fixture = "$IT_DIR/rules.zone"
EOF
}

test_rules() {
	local name id id2 m line reply qid check check_rc rule_file bline bcol sess t_group json
	t_group=$(now_ms)
	IT_RULES_DIR=$IT_DIR/rules-l
	rule_file=$IT_RULES_DIR/10-main.rules
	mkdir -p "$IT_RULES_DIR"
	l_main_rules >"$rule_file"
	l_more_rules >"$IT_RULES_DIR/20-more.rules"
	# not *.rules: never read (it would not compile)
	printf 'rule ignored {\n    when nosuchtarget\n    reject\n}\n' >"$IT_RULES_DIR/30-off.rules.disabled"
	gh_rules_conf

	name="l: the rules instance starts with rules_dir = \"rules-l\" (relative to its config; *.rules only) and gatehouse -n accepts it"
	check=$(cd / && "$IT_GH" -n -c "$IT_DIR/gh-rules.conf" 2>&1)
	check_rc=$?
	if [ "$check_rc" -ne 0 ]; then
		not_ok "$name" "gatehouse -n on the good rules: exit $check_rc: $check"
		return
	fi
	if ! gh_start rules; then
		not_ok "$name" "the rules instance did not start"
		return
	fi
	ok "$name"

	# 1: a rcpt rule refuses one recipient of two, the other gets the message
	l_rcpt_pair "l: rcpt rule: blocked@ (second of two) refused 550 5.1.1 'no mail for blocked@example.org' at RCPT, the message delivered to good@ only" \
		"$(new_id rrcpt)" good@example.org blocked@example.org
	l_rcpt_pair "l: rcpt rule: blocked@ (first of two) refused the same way, the recipient after it accepted and delivered alone" \
		"$(new_id rrcpt1)" blocked@example.org good@example.org

	# 2: body rule on a base64-encoded text/plain part
	name="l: body rule on a base64 text/plain part (the phrase only after decoding): 550 5.7.1 'body rule body_word' at end of DATA, not delivered"
	id=$(new_id rbody)
	IT_NEVER_IDS+=("$id")
	m=$(l_base64_msg rbody "$id" FORBIDDEN-PHRASE-42)
	if grep -qi 'forbidden' "$m"; then
		not_ok "$name" "the phrase is readable in the message as sent: the test proves nothing"
	else
		send_l "$id" rcpt@example.org --data "@$m"
		if l_refused_at_dot "$name" "$id" 550 5.7.1 "body rule body_word" body_word eom; then
			ok "$name"
		fi
	fi

	name="l: gatehouse test --json on the same message names body_word (action reject, the file under rules_dir, its line)"
	json=$(cd / && ASAN_OPTIONS=detect_leaks=0 timeout 30 "$IT_GH" test -c "$IT_DIR/gh-rules.conf" --ip 192.0.2.7 \
		--helo client.gatehouse.test --from "$id@example.net" --rcpt rcpt@example.org --json "$m" 2>&1)
	check_rc=$?
	reply=$("$IT_PYTHON" -c '
import json, sys
d = json.loads(sys.stdin.read())
print(" ".join("%s:%s:%s:%s" % (h["name"], h["action"], h["file"], h["line"]) for h in d["rules"]))
' <<<"$json" 2>&1)
	if [ "$check_rc" -ne 1 ]; then
		not_ok "$name" "gatehouse test exit $check_rc, expected 1 (reject): $(head -c 400 <<<"$json")"
	elif [ "$reply" != "body_word:reject:$rule_file:$(l_rule_line body_word)" ]; then
		not_ok "$name" "rules in the JSON: '$reply', expected 'body_word:reject:$rule_file:$(l_rule_line body_word)'"
	else
		ok "$name"
	fi

	name="l: the same base64 message without the phrase is delivered"
	id=$(new_id rbodyok)
	m=$(l_base64_msg rbodyok "$id" harmless-phrase-42)
	send_l "$id" rcpt@example.org --data "@$m"
	if l_delivered "$name" "$id"; then
		line=$(l_summary "$id")
		if ! grep -q ' rules=- ' <<<"$line"; then
			not_ok "$name" "summary line lacks rules=- (a rule hit?): ${line:-none}"
		else
			ok "$name"
		fi
	fi

	name="l: body rule on a phrase after 90 KB of text in a base64 part (past the first 64 KB milter body chunk): 550 5.7.1 'body rule body_word', not delivered"
	id=$(new_id rbodybig)
	IT_NEVER_IDS+=("$id")
	m=$(l_base64_msg rbodybig "$id" forbidden-phrase-42 1500)
	send_l "$id" rcpt@example.org --data "@$m"
	if [ "$(wc -c <"$m")" -lt 120000 ]; then
		not_ok "$name" "the message has only $(wc -c <"$m") octets"
	elif l_refused_at_dot "$name" "$id" 550 5.7.1 "body rule body_word" body_word eom; then
		ok "$name ($(wc -c <"$m") octets)"
	fi

	name="l: body rule /übermäßig/iu on a quoted-printable ISO-8859-1 text/html part (a soft line break inside the word) after a text/plain one: 550 5.7.1 'charset rule', not delivered"
	id=$(new_id rhtml)
	IT_NEVER_IDS+=("$id")
	m=$(printf '%s\n' \
		'This is a multi-part message in MIME format.' \
		'' \
		'--l-alt' \
		'Content-Type: text/plain; charset=us-ascii' \
		'' \
		'Nothing here.' \
		'--l-alt' \
		'Content-Type: text/html; charset="ISO-8859-1"' \
		'Content-Transfer-Encoding: quoted-printable' \
		'' \
		'<html><body><p>Das ist =DCberm=E4=' \
		'=DFig viel.</p></body></html>' \
		'--l-alt--' |
		l_msg rhtml "$id" "newsletter" 'MIME-Version: 1.0' \
			'Content-Type: multipart/alternative; boundary="l-alt"')
	send_l "$id" rcpt@example.org --data "@$m"
	l_refused_at_dot "$name" "$id" 550 5.7.1 "charset rule" charset_word eom && ok "$name"

	# 3: header rule on an RFC 2047 Subject
	name="l: subject rule /\\bcafé\\b/iu on Subject =?UTF-8?B?...?= (\"Un café noir\"): 554 5.7.1 'subject rule' at end of DATA, not delivered"
	id=$(new_id rsubj)
	IT_NEVER_IDS+=("$id")
	m=$(l_msg rsubj "$id" "=?UTF-8?B?$(printf 'Un café noir' | base64 -w 0)?=" <<<'body')
	send_l "$id" rcpt@example.org --data "@$m"
	l_refused_at_dot "$name" "$id" 554 5.7.1 "subject rule" subject_word eoh && ok "$name"

	name="l: subject rule on Subject =?ISO-8859-1?Q?CAF=C9?= (Latin-1, quoted-printable, upper case): 554 5.7.1, not delivered"
	id=$(new_id rsubjq)
	IT_NEVER_IDS+=("$id")
	m=$(l_msg rsubjq "$id" "Le =?ISO-8859-1?Q?CAF=C9?= du coin" <<<'body')
	send_l "$id" rcpt@example.org --data "@$m"
	l_refused_at_dot "$name" "$id" 554 5.7.1 "subject rule" subject_word eoh && ok "$name"

	# MUAs split a long subject into several encoded-words, each padded on
	# its own; the rule must see the whole text. (Not in IT_NEVER_IDS: if it
	# is delivered, this test says so already.)
	name="l: subject rule on a Subject of two base64 encoded-words (each padded, the second on a continuation line) with café in the second: 554 5.7.1, not delivered"
	id=$(new_id rsubj2)
	m=$(l_msg rsubj2 "$id" "=?UTF-8?B?$(printf 'Le bon ' | base64 -w 0)?=
 =?UTF-8?B?$(printf 'café du coin' | base64 -w 0)?=" <<<'body')
	send_l "$id" rcpt@example.org --data "@$m"
	l_refused_at_dot "$name" "$id" 554 5.7.1 "subject rule" subject_word eoh && ok "$name"

	name="l: plain-ASCII Subject 'Un cafe noir' (no é) is delivered"
	id=$(new_id rsubjok)
	m=$(l_msg rsubjok "$id" "Un cafe noir" <<<'body')
	send_l "$id" rcpt@example.org --data "@$m"
	if l_delivered "$name" "$id"; then
		if ! grep -q ' rules=- ' <<<"$(l_summary "$id")"; then
			not_ok "$name" "summary line lacks rules=- (a rule hit?): $(l_summary "$id")"
		else
			ok "$name"
		fi
	fi

	# 4: add-header
	name="l: add-header rule: the delivered message carries 'X-Rule-Tag: tagged by tag_it' once"
	id=$(new_id rtag)
	m=$(l_msg rtag "$id" "please tag me" <<<'body')
	send_l "$id" rcpt@example.org --data "@$m"
	if l_delivered "$name" "$id"; then
		line=$(sink_header_block "$L_FILE" | tr -d '\r' | grep -i '^x-rule-tag:')
		if [ "$line" != "X-Rule-Tag: tagged by tag_it" ]; then
			not_ok "$name" "X-Rule-Tag fields at the sink: '${line:-none}'"
		elif ! grep -q ' rules=tag_it .*action=accept ' <<<"$(l_summary "$id")"; then
			not_ok "$name" "summary line lacks rules=tag_it ... action=accept: $(l_summary "$id")"
		else
			ok "$name"
		fi
	fi

	name="l: monitor rule: delivered unchanged (no header of the rule), the log says 'rule watch_it (FILE:LINE) matched at eoh: monitor'"
	id=$(new_id rwatch)
	m=$(l_msg rwatch "$id" "please watch me" <<<'body')
	send_l "$id" rcpt@example.org --data "@$m"
	if l_delivered "$name" "$id"; then
		line=$(l_summary "$id")
		sess=$(sed -n 's/.* info: session=\([0-9A-Z.]*\) .*/\1/p' <<<"$line")
		if ! grep -q ' rules=watch_it .*action=accept ' <<<"$line"; then
			not_ok "$name" "summary line lacks rules=watch_it ... action=accept: ${line:-none}"
		elif ! log_has "$IT_DIR/gh-rules.log" "notice: session=${sess//./\\.} .*rule watch_it \\(${IT_RULES_DIR//./\\.}/20-more\\.rules:[0-9]+\\) matched at eoh: monitor\$"; then
			not_ok "$name" "gh-rules.log has no notice 'rule watch_it ($IT_RULES_DIR/20-more.rules:N) matched at eoh: monitor' for session ${sess:-?}"
		elif grep -qi '^x-rule' "$L_FILE"; then
			not_ok "$name" "a rule header in the delivered copy: $(grep -i '^x-rule' "$L_FILE")"
		else
			ok "$name"
		fi
	fi

	name="l: helo rule: HELO blocked-helo.gatehouse.test refused 554 5.7.1 'no mail from blocked-helo.gatehouse.test' at MAIL FROM (replies negotiated at HELO), not delivered"
	id=$(new_id rhelo)
	IT_NEVER_IDS+=("$id")
	m=$(l_msg rhelo "$id" "helo test" <<<'body')
	SWAKS_HELO=blocked-helo.gatehouse.test send_l "$id" rcpt@example.org --data "@$m"
	# Postfix answers EHLO 250 and refuses at MAIL FROM with the milter's reply
	# (it delays a milter's HELO refusal, as smtpd_delay_reject does).
	reply=$(swaks_reply_to '^ -> MAIL FROM' | grep -E '^554[ -]5\.7\.1 no mail from blocked-helo\.gatehouse\.test')
	if [ "$SWAKS_RC" -eq 0 ]; then
		not_ok "$name" "swaks exit 0: the session went through; $(tail -n 4 "$IT_DIR/last-client.out" | tr '\n' ' ')"
	elif [ -z "$reply" ]; then
		not_ok "$name" "no '554 5.7.1 no mail from blocked-helo.gatehouse.test' reply (swaks exit $SWAKS_RC): $(grep -E '^ *<' "$IT_DIR/last-client.out" | tail -n 4 | tr '\n' ' ')"
	else
		ok "$name"
	fi

	# 5: quarantine -> Postfix's hold queue
	name="l: quarantine rule: accepted (250), put on Postfix's hold queue (postqueue -j: queue_name hold), not delivered"
	id=$(new_id rhold)
	IT_NEVER_IDS+=("$id")
	m=$(l_msg rhold "$id" "please hold me" <<<'body')
	send_l "$id" rcpt@example.org --data "@$m"
	qid=$(queue_id_of_swaks)
	wait_until 5 l_summary_logged "$id"
	line=$(l_summary "$id")
	if [ "$SWAKS_RC" -ne 0 ] || [ -z "$qid" ]; then
		not_ok "$name" "swaks exit $SWAKS_RC (queue id '${qid:-none}'); reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_until 10 l_held "$qid"; then
		not_ok "$name" "$qid is not in the hold queue: $(postqueue -c "$IT_DIR/postfix" -j 2>&1 | head -c 600)"
	elif ! log_has "$IT_DIR/postfix.log" "$qid: milter-hold: END-OF-MESSAGE from .*: milter triggers HOLD action"; then
		not_ok "$name" "Postfix log has no '$qid: milter-hold: END-OF-MESSAGE ...'"
	elif ! grep -q ' rules=hold_it .*action=quarantine phase=eom .*by=rule:hold_it ' <<<"$line"; then
		not_ok "$name" "summary line lacks rules=hold_it ... action=quarantine phase=eom ... by=rule:hold_it: ${line:-none}"
	elif sleep 1 && sink_has "X-Test-Id: $id"; then
		not_ok "$name" "the message reached the sink"
	else
		ok "$name"
	fi
	# nothing of this group stays in Postfix's queue
	[ -n "$qid" ] && postsuper -c "$IT_DIR/postfix" -d "$qid" hold >/dev/null 2>&1

	# 8: catastrophic backtracking in reject rules: no answer is not "no
	# match" (issue 16), the message is tempfailed (rules_fault_action)
	name="l: body of 30,000 'a' and '!' against reject rules /(a+)+\$/ (prefiltered) and /(a+)+\$/u (PCRE2 only): PCRE2's match limit leaves a rule undecided, 451 4.7.1 'Rule NAME could not be decided (match limit); try again later' at the end of DATA, not delivered, the log names the rule and its line"
	id=$(new_id rbacktrack)
	IT_NEVER_IDS+=("$id")
	m=$(l_msg rbacktrack "$id" "backtracking" <<EOF
$(head -c 30000 /dev/zero | tr '\0' a)!
EOF
)
	send_l "$id" rcpt@example.org --data "@$m"
	reply=$(swaks_reply_to '^ -> \.$')
	wait_until 5 l_summary_logged "$id"
	line=$(l_summary "$id")
	sess=$(sed -n 's/.* info: session=\([0-9A-Z.]*\) .*/\1/p' <<<"$line")
	check=$(sed -n 's/^451 4\.7\.1 Rule \(backtrack_pf\|backtrack_pcre2\) could not be decided (match limit); try again later$/\1/p' <<<"$reply")
	bline=$(l_rule_line "${check:-none}")
	if [ "$SWAKS_RC" -eq 0 ]; then
		not_ok "$name" "swaks exit 0: the message was accepted; reply to the dot: $reply"
	elif [ -z "$check" ]; then
		not_ok "$name" "reply to the final dot: '$reply'"
	elif [ -z "$sess" ]; then
		not_ok "$name" "no summary line for $id in gh-rules.log"
	elif ! log_has "$IT_DIR/gh-rules.log" "session=${sess//./\\.} .*rule $check \\(${rule_file//./\\.}:$bline\\) undecided at eom \\(match limit\\): answered tempfail \\(rules_fault_action\\)"; then
		not_ok "$name" "gh-rules.log has no 'rule $check ($rule_file:$bline) undecided at eom (match limit): answered tempfail' for session $sess"
	elif ! grep -q ' rules=- ' <<<"$line" || ! grep -q ' checks=\([^ ]*,\)\{0,1\}rules\.limit:fail' <<<"$line" ||
	     ! grep -q ' action=tempfail phase=eom code=451 ecode=4.7.1 by=rules.limit ' <<<"$line"; then
		not_ok "$name" "summary line lacks rules=- ... checks=...rules.limit:fail ... action=tempfail phase=eom code=451 ecode=4.7.1 by=rules.limit: $line"
	elif sleep 1 && sink_has "X-Test-Id: $id"; then
		not_ok "$name" "the message reached the sink"
	else
		ok "$name ($check)"
	fi

	# 6 and 7: a broken rule file: gatehouse -n refuses it, SIGHUP keeps the
	# running rules; then a good new file applies
	name="l: gatehouse -n on a rules_dir with a broken rule (unknown target) exits non-zero and prints FILE:LINE:COL"
	{
		l_main_rules
		printf '\nrule new_rule {\n    when subject ~ /brand-new-rule/\n    reject 550 5.7.1 "new rule %%{rule}"\n}\n'
		printf '\nrule broken_rule {\n    when subject ~ /x/ and  nosuchtarget == "x"\n    reject 550 5.7.1 "never"\n}\n'
	} >"$rule_file.tmp" && mv "$rule_file.tmp" "$rule_file"
	bline=$(grep -n 'nosuchtarget' "$rule_file" | cut -d : -f 1)
	bcol=$(sed -n "${bline}p" "$rule_file" | awk '{ print index($0, "nosuchtarget") }')
	check=$(cd / && "$IT_GH" -n -c "$IT_DIR/gh-rules.conf" 2>&1)
	check_rc=$?
	if [ "$check_rc" -eq 0 ]; then
		not_ok "$name" "exit 0: $check"
	elif ! grep -q "^$rule_file:$bline:$bcol: .*nosuchtarget" <<<"$check"; then
		not_ok "$name" "exit $check_rc; no line '$rule_file:$bline:$bcol: ...nosuchtarget...' in: $check"
	else
		ok "$name (exit $check_rc)"
	fi

	name="l: SIGHUP with the broken rule: 'reload failed', the log names FILE:LINE:COL, gatehouse keeps running with the old rules"
	if ! gh_hup rules 'reload failed'; then
		not_ok "$name" "no 'reload failed' in gh-rules.log within 10 s"
	elif ! log_has "$IT_DIR/gh-rules.log" "reload: ${rule_file//./\\.}:$bline:$bcol: .*nosuchtarget"; then
		not_ok "$name" "gh-rules.log has no 'reload: $rule_file:$bline:$bcol: ...nosuchtarget...'"
	elif ! pid_alive "$(gh_pid rules)"; then
		not_ok "$name" "gatehouse is gone"
	else
		id=$(new_id rhupold)
		IT_NEVER_IDS+=("$id")
		m=$(l_msg rhupold "$id" "Un =?UTF-8?B?$(printf 'café' | base64 -w 0)?=" <<<'body')
		send_l "$id" rcpt@example.org --data "@$m"
		if l_refused_at_dot "$name" "$id" 554 5.7.1 "subject rule" subject_word eoh; then
			id2=$(new_id rhupnew)
			m=$(l_msg rhupnew "$id2" "a brand-new-rule subject" <<<'body')
			send_l "$id2" rcpt@example.org --data "@$m"
			if l_delivered "$name" "$id2"; then
				ok "$name"
			fi
		fi
	fi

	name="l: rule file fixed (new_rule added, subject_word removed), SIGHUP: reloaded, the new rules apply"
	{
		l_main_rules | awk '/^rule subject_word \{/ { skip = 1 } skip && /^\}/ { skip = 0; next } !skip'
		printf '\nrule new_rule {\n    when subject ~ /brand-new-rule/\n    reject 550 5.7.1 "new rule %%{rule}"\n}\n'
	} >"$rule_file.tmp" && mv "$rule_file.tmp" "$rule_file"
	if grep -q subject_word "$rule_file"; then
		not_ok "$name" "could not remove subject_word from the file"
	elif ! gh_hup rules 'configuration reloaded from'; then
		not_ok "$name" "no 'configuration reloaded' in gh-rules.log within 10 s"
	else
		id=$(new_id rhupnew2)
		IT_NEVER_IDS+=("$id")
		m=$(l_msg rhupnew2 "$id" "a brand-new-rule subject" <<<'body')
		send_l "$id" rcpt@example.org --data "@$m"
		if l_refused_at_dot "$name" "$id" 550 5.7.1 "new rule new_rule" new_rule eoh; then
			id2=$(new_id rhupcafe)
			m=$(l_msg rhupcafe "$id2" "Un =?UTF-8?B?$(printf 'café' | base64 -w 0)?=" <<<'body')
			send_l "$id2" rcpt@example.org --data "@$m"
			if l_delivered "$name" "$id2"; then
				ok "$name"
			fi
		fi
	fi

	name="l: after the reloads the untouched rules still apply (block_rcpt refuses blocked@ at RCPT)"
	l_rcpt_pair "$name" "$(new_id rrcpt2)" good@example.org blocked@example.org

	# 9: a recipient accept rule (role_accounts) exempts its recipient only,
	# whatever the order; sent from IT_SPF_CLIENT_IP (not loopback, which
	# is internal and which libspf2 passes anyway)
	if ! ip addr replace "$IT_SPF_CLIENT_IP/32" dev lo; then
		not_ok "l: recipient exemptions" "cannot add $IT_SPF_CLIENT_IP to lo"
	else
		l_exempt_spf "l: SPF fail (spf_reject_at = rcpt), RCPT bob@ then postmaster@: bob@ refused 550 5.7.23 at RCPT, postmaster@ accepted (role_accounts), delivered to postmaster@ alone past DMARC p=reject" \
			"$(new_id rexspf1)" bob@example.org postmaster@example.org
		l_exempt_spf "l: SPF fail, RCPT postmaster@ then bob@: the same, bob@ refused, delivered to postmaster@ alone" \
			"$(new_id rexspf2)" postmaster@example.org bob@example.org
		l_exempt_dmarc "l: SPF pass, DMARC fail (p=reject), RCPT bob@ then postmaster@: both accepted at RCPT, the message refused 550 5.7.1 at the end of DATA, delivered to nobody" \
			"$(new_id rexdm1)" bob@example.org postmaster@example.org
		l_exempt_dmarc "l: DMARC fail, RCPT postmaster@ then bob@: the same" \
			"$(new_id rexdm2)" postmaster@example.org bob@example.org
	fi

	name="l: the rules instance exits 0 on SIGTERM"
	if gh_stop rules; then
		ok "$name"
	else
		not_ok "$name" "exit status $?"
	fi
	if ! postqueue_empty; then
		echo "# l: Postfix's queue is not empty after the group: $(postqueue -c "$IT_DIR/postfix" -p | head -n 5)"
	fi
	echo "# l: the rule language through Postfix took $(( $(now_ms) - t_group )) ms"
}
