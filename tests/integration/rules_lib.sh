# shellcheck shell=bash
# rules_lib.sh - the helpers of group l (rules.sh, which says what the group
# does): the rule files the "rules" instance starts with, the messages it is
# sent, and the checks of what Postfix and gatehouse made of them. Sourced
# by run.sh.

# l_main_rules - the rule file 10-main.rules as the group starts with it.
# The tests (rules.sh) name these rules and some of their lines: change
# them together.
l_main_rules() {
	cat <<'EOF'
# group l of gatehouse's integration suite
rule block_rcpt {
    when rcpt == "blocked@example.org"
    reject 550 5.1.1 "no mail for %{rcpt}"
}

rule body_word {
    when body ~ /forbidden-phrase-42/i
    reject 550 5.7.1 "body rule %{rule}"
}

rule charset_word {
    when body ~ /übermäßig/iu
    reject 550 5.7.1 "charset rule"
}

rule subject_word {
    when subject ~ /\bcafé\b/iu
    reject 554 5.7.1 "subject rule"
}

# Catastrophic backtracking on a long run of 'a' not followed by the end.
# backtrack_pf may be answered by the prefilter (Hyperscan) without PCRE2;
# the u flag keeps backtrack_pcre2 out of the prefilter, so PCRE2 runs it
# and must stop at its match limit.
rule backtrack_pf {
    when body ~ /(a+)+$/
    reject 550 5.7.1 "backtracking rule matched"
}

rule backtrack_pcre2 {
    when body ~ /(a+)+$/u
    reject 550 5.7.1 "backtracking rule matched"
}
EOF
}

# l_more_rules - 20-more.rules: actions that keep the message
l_more_rules() {
	cat <<'EOF'
# An accept at RCPT exempts that recipient only (l_exempt_spf, l_exempt_dmarc).
rule role_accounts {
    when rcpt.local in { "postmaster", "abuse" }
    accept
}

rule tag_it {
    when subject ~ /tag me/
    add-header "X-Rule-Tag" "tagged by %{rule}"
}

rule watch_it {
    when subject ~ /watch me/
    monitor
}

rule hold_it {
    when subject ~ /hold me/
    quarantine "held by %{rule}"
}

# A rule decided at HELO: with it, this instance asks the MTA to wait for
# replies at connect and HELO (without one, gatehouse lets those steps go
# unanswered), so this group runs that protocol path and group a-k the other.
rule helo_block {
    when helo == "blocked-helo.gatehouse.test"
    reject 554 5.7.1 "no mail from %{helo}"
}
EOF
}

# l_rule_line NAME - the line of "rule NAME {" in 10-main.rules
l_rule_line() {
	grep -n "^rule $1 {" "$IT_RULES_DIR/10-main.rules" | cut -d : -f 1
}

# send_l ID RCPTS [swaks args] - a message through the rules instance's
# smtpd, MAIL FROM <ID@example.net>, X-Test-Id: ID unless --data is given
send_l() {
	local id=$1 rcpts=$2
	shift 2
	send_swaks "$IT_SMTPD_RULES_PORT" -f "$id@example.net" -t "$rcpts" "$@"
}

# l_summary ID - the rules instance's summary line for the message of ID
l_summary() {
	grep -E " info: session=[0-9A-Z.]+ .* from=$1@example\\.net .*action=" \
		"$IT_DIR/gh-rules.log" | tail -n 1
}

l_summary_logged() {
	[ -n "$(l_summary "$1")" ]
}

# l_msg NAME ID SUBJECT [MIME header lines] - msg/NAME.eml: a message from
# ID@example.net with SUBJECT (as written, so it may be encoded) and the
# body on stdin (LF lines)
l_msg() {
	local name=$1 id=$2 subject=$3
	shift 3
	{
		echo "From: <$id@example.net>"
		echo 'To: <rcpt@example.org>'
		echo "Subject: $subject"
		echo 'Date: Mon, 1 Jan 2024 00:00:00 +0000'
		echo "Message-ID: <$id@client.gatehouse.test>"
		echo "X-Test-Id: $id"
		[ $# -gt 0 ] && printf '%s\n' "$@"
		echo
		cat
	} | msg_file "$name"
}

# l_base64_msg NAME ID WORD [FILLER_LINES] - msg/NAME.eml: multipart/mixed,
# a text/plain part in base64 whose text holds WORD (after FILLER_LINES lines
# of l_filler), and a binary attachment
l_base64_msg() {
	l_msg "$1" "$2" "quarterly figures" 'MIME-Version: 1.0' \
		'Content-Type: multipart/mixed; boundary="l-boundary"' <<EOF
This is a multi-part message in MIME format.

--l-boundary
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

$({ l_filler "${4:-0}"; printf 'Hello,\nthe word of the day is %s, in a sentence.\nBye\n' "$3"; } | base64 -w 76)
--l-boundary
Content-Type: application/octet-stream; name="data.bin"
Content-Transfer-Encoding: base64

$(printf 'binary stuff' | base64)
--l-boundary--
EOF
}

# l_filler N - N lines of harmless text, about 60 octets each
l_filler() {
	local i
	for ((i = 0; i < $1; i++)); do
		printf 'line %05d of filler text, nothing to see here, move along\n' "$i"
	done
}

# l_refused_at_dot NAME ID CODE ECODE TEXT RULE PHASE - the message of ID was
# refused at the end of DATA with "CODE ECODE TEXT" (TEXT a fixed string) by
# RULE, decided at PHASE (eoh for header rules, eom for body rules: Postfix
# answers both at the final dot), and nothing was delivered
l_refused_at_dot() {
	local name=$1 id=$2 code=$3 ecode=$4 text=$5 rule=$6 phase=$7 reply line
	reply=$(swaks_reply_to '^ -> \.$')
	wait_until 5 l_summary_logged "$id"
	line=$(l_summary "$id")
	if [ "$SWAKS_RC" -ne 26 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 26; reply to the dot: $reply"
	elif [ "$reply" != "$code $ecode $text" ]; then
		not_ok "$name" "reply to the final dot: '$reply', expected '$code $ecode $text'"
	elif ! log_has "$IT_DIR/postfix.log" "milter-reject: END-OF-MESSAGE from .*: ${ecode//./\\.} .*from=<$id@example\\.net>"; then
		not_ok "$name" "Postfix log has no milter-reject at END-OF-MESSAGE for <$id@example.net>"
	elif ! grep -q " rules=\\([^ ]*,\\)\\{0,1\\}${rule}[ ,]" <<<"$line" ||
	     ! grep -q " action=reject phase=$phase code=$code ecode=$ecode by=rule:$rule " <<<"$line"; then
		not_ok "$name" "summary line lacks rules=...$rule... action=reject phase=$phase code=$code ecode=$ecode by=rule:$rule: ${line:-none}"
	elif sink_has "X-Test-Id: $id"; then
		not_ok "$name" "the message reached the sink"
	else
		return 0
	fi
	return 1
}

# l_delivered NAME ID - the message of ID was accepted and reached the sink
# (sets L_FILE to its dump file)
l_delivered() {
	L_FILE=
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$1" "swaks exit $SWAKS_RC, expected 0; reply to the dot: $(swaks_reply_to '^ -> \.$')"
		return 1
	fi
	if ! wait_delivered "$2"; then
		not_ok "$1" "message $2 did not reach the sink"
		return 1
	fi
	# shellcheck disable=SC2034 # read by test_rules
	L_FILE=$(delivered_file "$2")
	wait_until 5 l_summary_logged "$2"
}

# l_held QID - Postfix's queue shows QID in the hold queue
l_held() {
	postqueue -c "$IT_DIR/postfix" -j 2>/dev/null |
		grep -F "\"queue_id\": \"$1\"" | grep -qF '"queue_name": "hold"'
}

# l_rcpt_pair NAME ID FIRST SECOND - one message to FIRST and SECOND, of
# which blocked@example.org is refused at RCPT by block_rcpt, the other
# delivered alone
l_rcpt_pair() {
	local name=$1 id=$2 first=$3 second=$4 good rg rb f line
	good=$first
	[ "$good" = blocked@example.org ] && good=$second
	send_l "$id" "$first,$second" --add-header "X-Test-Id: $id"
	rg=$(swaks_reply_to "^ -> RCPT TO:<${good//./\\.}>")
	rb=$(swaks_reply_to '^ -> RCPT TO:<blocked@example\.org>')
	wait_until 5 l_summary_logged "$id"
	line=$(l_summary "$id")
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 0; RCPT replies: $good '$rg', blocked '$rb'"
	elif [ "$rb" != "550 5.1.1 no mail for blocked@example.org" ]; then
		not_ok "$name" "reply to RCPT TO:<blocked@example.org>: '$rb', expected '550 5.1.1 no mail for blocked@example.org'"
	elif ! grep -q '^250 ' <<<"$rg"; then
		not_ok "$name" "reply to RCPT TO:<$good>: '$rg', expected 250"
	elif ! log_has "$IT_DIR/postfix.log" "milter-reject: RCPT from .*: 550 5\\.1\\.1 no mail for blocked@example\\.org; from=<$id@example\\.net> to=<blocked@example\\.org>"; then
		not_ok "$name" "Postfix log has no milter-reject at RCPT for <blocked@example.org>"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		if [ "$(sink_files_with "X-Test-Id: $id" | wc -l)" -ne 1 ] ||
		   [ "$(grep -c '^X-Rcpt-Args:' "$f")" -ne 1 ] ||
		   ! grep -q "^X-Rcpt-Args: <$good>" "$f"; then
			not_ok "$name" "copies at the sink: $(sink_files_with "X-Test-Id: $id" | wc -l); recipients: $(sink_files_with "X-Test-Id: $id" | xargs grep -h '^X-Rcpt-Args:' | tr -d '\r' | tr '\n' ' ')"
		elif ! grep -q " rcpts=$good nrcpt=1 rcpt_refused=1 .* rules=block_rcpt .*action=accept " <<<"$line"; then
			not_ok "$name" "summary line lacks rcpts=$good nrcpt=1 rcpt_refused=1 ... rules=block_rcpt ... action=accept: ${line:-none}"
		else
			ok "$name"
		fi
	fi
}

# l_zone - the rules instance's DNS fixture: spf-fail.example fails SPF from
# anywhere, spf-pass.example and relay.example pass from IT_SPF_CLIENT_IP;
# both From domains ask DMARC receivers to reject
l_zone() {
	cat <<EOF
spf-fail.example. TXT "v=spf1 -all"
_dmarc.spf-fail.example. TXT "v=DMARC1; p=reject"
spf-pass.example. TXT "v=spf1 ip4:$IT_SPF_CLIENT_IP -all"
_dmarc.spf-pass.example. TXT "v=DMARC1; p=reject"
relay.example. TXT "v=spf1 ip4:$IT_SPF_CLIENT_IP -all"
EOF
}

# l_exempt_send ID ENVDOMAIN FROMDOMAIN FIRST SECOND - one message from
# IT_SPF_CLIENT_IP, MAIL FROM <ID@ENVDOMAIN>, From: <ID@FROMDOMAIN>, RCPT
# FIRST then SECOND; sets L_LINE to its summary line
l_exempt_send() {
	local id=$1 m
	m=$(printf '%s\n' "From: <$id@$3>" "To: <$4>, <$5>" "Subject: exemption test" \
		'Date: Mon, 1 Jan 2024 00:00:00 +0000' "Message-ID: <$id@client.gatehouse.test>" \
		"X-Test-Id: $id" '' 'body' | msg_file "$id")
	send_swaks "$IT_SMTPD_RULES_PORT" --local-interface "$IT_SPF_CLIENT_IP" -f "$id@$2" \
		-t "$4,$5" --data "@$m"
	wait_until 5 l_exempt_logged "$id"
	L_LINE=$(grep -E " info: session=[0-9A-Z.]+ .* from=$id@[a-z.-]+ .*action=" \
		"$IT_DIR/gh-rules.log" | tail -n 1)
}

l_exempt_logged() {
	grep -qE " info: session=[0-9A-Z.]+ .* from=$1@[a-z.-]+ .*action=" "$IT_DIR/gh-rules.log"
}

# l_exempt_spf NAME ID FIRST SECOND - MAIL FROM spf-fail.example to bob@ and
# postmaster@ (in the order given): bob@ refused at RCPT for SPF,
# postmaster@ exempt, the message delivered to postmaster@ alone
l_exempt_spf() {
	local name=$1 id=$2 rb rp f
	l_exempt_send "$id" spf-fail.example spf-fail.example "$3" "$4"
	rb=$(swaks_reply_to '^ -> RCPT TO:<bob@example\.org>')
	rp=$(swaks_reply_to '^ -> RCPT TO:<postmaster@example\.org>')
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 0; RCPT replies: bob '$rb', postmaster '$rp'"
	elif ! grep -Eq '^550 5\.7\.23 SPF fail: spf-fail\.example does not allow ' <<<"$rb"; then
		not_ok "$name" "reply to RCPT TO:<bob@example.org>: '$rb'"
	elif ! grep -q '^250 ' <<<"$rp"; then
		not_ok "$name" "reply to RCPT TO:<postmaster@example.org>: '$rp', expected 250"
	elif ! wait_delivered "X-Test-Id: $id"; then
		not_ok "$name" "message $id did not reach the sink; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	else
		f=$(delivered_file "$id")
		if [ "$(sink_files_with "X-Test-Id: $id" | wc -l)" -ne 1 ] ||
		   [ "$(grep -c '^X-Rcpt-Args:' "$f")" -ne 1 ] ||
		   ! grep -q '^X-Rcpt-Args: <postmaster@example.org>' "$f"; then
			not_ok "$name" "copies at the sink: $(sink_files_with "X-Test-Id: $id" | wc -l); recipients: $(sink_files_with "X-Test-Id: $id" | xargs grep -h '^X-Rcpt-Args:' | tr -d '\r' | tr '\n' ' ')"
		elif ! grep -q " rcpts=postmaster@example.org nrcpt=1 rcpt_refused=1 .* spf=fail .*dmarc=fail .*rules=role_accounts .*action=accept " <<<"$L_LINE"; then
			not_ok "$name" "summary line lacks rcpts=postmaster@example.org nrcpt=1 rcpt_refused=1 ... spf=fail ... dmarc=fail ... rules=role_accounts ... action=accept: ${L_LINE:-none}"
		else
			ok "$name"
		fi
	fi
}

# l_exempt_dmarc NAME ID FIRST SECOND - MAIL FROM relay.example (SPF pass),
# From: spf-pass.example (DMARC fail, p=reject) to bob@ and postmaster@:
# both accepted at RCPT, the message refused at the dot, delivered to nobody
l_exempt_dmarc() {
	local name=$1 id=$2 rb rp reply
	IT_NEVER_IDS+=("$id")
	l_exempt_send "$id" relay.example spf-pass.example "$3" "$4"
	rb=$(swaks_reply_to '^ -> RCPT TO:<bob@example\.org>')
	rp=$(swaks_reply_to '^ -> RCPT TO:<postmaster@example\.org>')
	reply=$(swaks_reply_to '^ -> \.$')
	if [ "$SWAKS_RC" -ne 26 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 26; RCPT replies: bob '$rb', postmaster '$rp'; dot: '$reply'"
	elif ! grep -q '^250 ' <<<"$rb" || ! grep -q '^250 ' <<<"$rp"; then
		not_ok "$name" "RCPT replies: bob '$rb', postmaster '$rp'; expected 250 for both"
	elif ! grep -Eq '^550 5\.7\.1 DMARC: spf-pass\.example asks receivers to reject' <<<"$reply"; then
		not_ok "$name" "reply to the final dot: '$reply'"
	elif ! grep -q ' dmarc=fail .*action=reject phase=eom code=550 ecode=5.7.1 by=dmarc ' <<<"$L_LINE"; then
		not_ok "$name" "summary line lacks dmarc=fail ... action=reject phase=eom code=550 ecode=5.7.1 by=dmarc: ${L_LINE:-none}"
	elif sleep 1 && sink_has "X-Test-Id: $id"; then
		not_ok "$name" "the message reached the sink"
	else
		ok "$name"
	fi
}
