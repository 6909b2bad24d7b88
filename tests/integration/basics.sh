# shellcheck shell=bash
# basics.sh - the milter's basics, through the "main" instance: miltertest
# phase by phase (no MTA), then through Postfix the status header (a), the
# summary log line (i), a message without From (b), malformed envelope
# addresses, EHLO in mid-transaction and older milter protocols (c) and
# header line limits. Sourced by run.sh; the helpers are
# lib.sh's.

# -- miltertest: gatehouse phase by phase, no MTA
test_miltertest() {
	local f name out rc line any
	for f in "$IT_MT_DIR"/[0-9]*.lua; do
		name=$(basename "$f" .lua)
		out=$(timeout 60 miltertest -D "MT_SOCKET=inet:$IT_MILTER_PORT@127.0.0.1" \
			-D "MT_AUTHSERV=$IT_AUTHSERV" -D "MT_LIB=$IT_MT_DIR" -s "$f" 2>&1)
		rc=$?
		any=0
		while IFS= read -r line; do
			case $line in
			"PASS "*) ok "miltertest $name: ${line#PASS }"; any=1 ;;
			"FAIL "*)
				line=${line#FAIL }
				not_ok "miltertest $name: ${line%% -- *}" "${line#* -- }"
				any=1
				;;
			esac
		done <<<"$out"
		if [ $rc -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; then
			echo "$out" | tail -n 20 >"$IT_DIR/last-client.out"
			not_ok "miltertest $name" "miltertest exited $rc without a FAIL line (crash or Lua error outside a case)"
		elif [ $any -eq 0 ]; then
			not_ok "miltertest $name" "no PASS/FAIL lines"
		fi
	done
}

# -- a: accepted message gets X-Gatehouse, forged copies are removed
ACCEPT_ID=
test_accept_status_header() {
	local name="a: accepted message delivered with X-Gatehouse on top, forged X-Gatehouse removed"
	local id f hdrs first
	id=$(new_id accept)
	ACCEPT_ID=$id
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t rcpt@example.org \
		--add-header "X-Gatehouse: $IT_AUTHSERV (gatehouse 0.1.0); session=FORGED1.1" \
		--add-header "x-gatehouse: forged-lowercase" \
		--add-header "X-Test-Id: $id"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 0"
		return
	fi
	if ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink in 15 s"
		return
	fi
	f=$(delivered_file "$id")
	hdrs=$(sink_header_block "$f")
	first=$(head -n 1 <<<"$hdrs")
	if grep -qi 'forged' "$f"; then
		not_ok "$name" "a forged X-Gatehouse is still in the delivered copy: $(grep -i forged "$f")"
	elif [ "$(status_header_count "$f")" -ne 1 ]; then
		not_ok "$name" "expected exactly 1 X-Gatehouse, found $(status_header_count "$f")"
	elif ! grep -Eq "$STATUS_RE" <<<"$hdrs"; then
		not_ok "$name" "X-Gatehouse does not match $STATUS_RE: $(grep -i '^x-gatehouse' <<<"$hdrs")"
	elif ! grep -Eq "$STATUS_RE" <<<"$first"; then
		not_ok "$name" "X-Gatehouse is not the first header; first is: $first"
	else
		ok "$name"
	fi
}

# -- i: the summary line of that message carries qid, session, ip, from, action
test_summary_qid() {
	local name="i: summary log line has qid= (Postfix queue id), session=, ip=, from=, action=accept"
	local f sess qid line
	if [ -z "$ACCEPT_ID" ] || [ -z "$(delivered_file "$ACCEPT_ID")" ]; then
		not_ok "$name" "needs the message of test a, which was not delivered"
		return
	fi
	f=$(delivered_file "$ACCEPT_ID")
	sess=$(session_of "$f")
	qid=$(sink_message "$f" | sed -n 's/^[[:space:]]*by .* (Postfix) with E\{0,1\}SMTP id \([0-9A-Za-z]*\).*/\1/p' | head -n 1)
	line=$(summary_line "$IT_DIR/gh-main.log" "$sess")
	if [ -z "$sess" ] || [ -z "$qid" ]; then
		not_ok "$name" "no session ($sess) or queue id ($qid) in the delivered copy"
	elif [ -z "$line" ]; then
		not_ok "$name" "no summary line for session=$sess in gh-main.log"
	elif ! grep -q " qid=$qid " <<<"$line"; then
		not_ok "$name" "summary line lacks qid=$qid: $line"
	elif ! grep -Eq " ip=127\.0\.0\.1 " <<<"$line" ||
	     ! grep -Eq " from=sender@example\.net " <<<"$line" ||
	     ! grep -Eq " rcpts=rcpt@example\.org " <<<"$line" ||
	     ! grep -Eq " action=accept( |$)" <<<"$line" ||
	     ! grep -Eq " ms=[0-9]+$" <<<"$line"; then
		not_ok "$name" "summary line lacks ip=/from=/rcpts=/action=accept/ms=: $line"
	elif ! log_has "$IT_DIR/postfix.log" "$qid: to=<rcpt@example.org>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$IT_SINK_PORT, .*status=sent"; then
		not_ok "$name" "Postfix log has no status=sent for $qid"
	else
		ok "$name"
	fi
}

# -- b: no From -> 550 5.7.1 at the end of DATA, nothing delivered
test_no_from() {
	local name="b: message without From refused 550 5.7.1 at end of DATA (swaks exit 26), not delivered"
	local id m reply
	id=$(new_id nofrom)
	IT_NEVER_IDS+=("$id")
	m=$(msg_file nofrom <<EOF
To: <rcpt@example.org>
Subject: no From header here
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-ID: <$id@client.gatehouse.test>
X-Test-Id: $id

body
EOF
)
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t rcpt@example.org --data "@$m"
	reply=$(swaks_reply_to '^ -> \.$')
	if [ "$SWAKS_RC" -ne 26 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 26; reply to the dot: $reply"
	elif ! grep -Eq '^550 5\.7\.1 .*From' <<<"$reply"; then
		not_ok "$name" "reply to the final dot: '$reply', expected 550 5.7.1 ...From..."
	elif ! log_has "$IT_DIR/postfix.log" "milter-reject: END-OF-MESSAGE from .*: 5\.7\.1 "; then
		not_ok "$name" "Postfix log has no milter-reject at END-OF-MESSAGE"
	elif sink_has "X-Test-Id: $id"; then
		not_ok "$name" "the message reached the sink"
	elif ! postqueue_empty; then
		not_ok "$name" "Postfix kept something in its queue: $(postqueue -c "$IT_DIR/postfix" -p)"
	else
		ok "$name"
	fi
}

# -- c: malformed sender refused at MAIL, malformed recipient at RCPT.
# Postfix passes MAIL FROM / RCPT TO arguments to the milter exactly as the
# client wrote them, and itself lets <a@@example.net> and <a..b@example.org>
# through (it refuses e.g. <a@example..org> with the same 501 codes, so the
# Postfix log must say milter-reject to prove gatehouse answered).
test_bad_mail_from() {
	local name="c: malformed MAIL FROM <a@@example.net> refused 501 5.1.7 at MAIL (swaks exit 23)"
	local id reply
	id=$(new_id badfrom)
	IT_NEVER_IDS+=("$id")
	send_swaks "$IT_SMTPD_PORT" -f 'a@@example.net' -t rcpt@example.org --add-header "X-Test-Id: $id"
	reply=$(swaks_reply_to '^ -> MAIL FROM:<a@@example\.net>')
	if [ "$SWAKS_RC" -ne 23 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 23; reply to MAIL: $reply"
	elif ! grep -Eq '^501 5\.1\.7 Bad sender address syntax' <<<"$reply"; then
		not_ok "$name" "reply to MAIL: '$reply'"
	elif ! log_has "$IT_DIR/postfix.log" 'milter-reject: MAIL from .*: 501 5\.1\.7 Bad sender address syntax'; then
		not_ok "$name" "Postfix log has no milter-reject at MAIL (was it Postfix's own check?)"
	else
		ok "$name"
	fi
}

# -- c: EHLO in the middle of a transaction: Postfix sends the milter the
# HELO before the ABORT that resets the transaction; the next message in the
# same SMTP session must still be checked and delivered
test_ehlo_mid_transaction() {
	local name="c: EHLO between RCPT and DATA resets the transaction; the next message in the session is checked and delivered"
	local id out n
	id=$(new_id ehloagain)
	n=$(log_count "$IT_DIR/gh-main.log" 'protocol violation')
	if ! out=$("$IT_PYTHON" "$IT_HERE/ehlo_again.py" "$IT_SMTPD_PORT" "$id" 2>&1); then
		not_ok "$name" "the message after the second EHLO was not accepted: $(tr '\n' ' ' <<<"$out")"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	elif [ "$(status_header_count "$(delivered_file "$id")")" -ne 1 ]; then
		not_ok "$name" "the delivered message has no X-Gatehouse: gatehouse did not check it"
	elif [ "$(log_count "$IT_DIR/gh-main.log" 'protocol violation')" -ne "$n" ]; then
		not_ok "$name" "gatehouse logged: $(grep 'protocol violation' "$IT_DIR/gh-main.log" | tail -n 1)"
	else
		ok "$name"
	fi
}

test_bad_rcpt() {
	local name="c: malformed RCPT TO <a..b@example.org> refused 501 5.1.3 at RCPT (swaks exit 24)"
	local id reply
	id=$(new_id badrcpt)
	IT_NEVER_IDS+=("$id")
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t 'a..b@example.org' --add-header "X-Test-Id: $id"
	reply=$(swaks_reply_to '^ -> RCPT TO:<a\.\.b@example\.org>')
	if [ "$SWAKS_RC" -ne 24 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 24; reply to RCPT: $reply"
	elif ! grep -Eq '^501 5\.1\.3 Bad recipient address syntax' <<<"$reply"; then
		not_ok "$name" "reply to RCPT: '$reply'"
	elif ! log_has "$IT_DIR/postfix.log" 'milter-reject: RCPT from .*: 501 5\.1\.3 Bad recipient address syntax'; then
		not_ok "$name" "Postfix log has no milter-reject at RCPT"
	else
		ok "$name"
	fi
}

test_bad_rcpt_only_that_one() {
	local name="c: malformed recipient refused alone; the message goes to the good recipient"
	local id reply_good reply_bad f
	id=$(new_id mixedrcpt)
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t 'good@example.org,a..b@example.org' \
		--add-header "X-Test-Id: $id"
	reply_good=$(swaks_reply_to '^ -> RCPT TO:<good@example\.org>')
	reply_bad=$(swaks_reply_to '^ -> RCPT TO:<a\.\.b@example\.org>')
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 0"
	elif ! grep -q '^250 ' <<<"$reply_good" || ! grep -q '^501 5\.1\.3 ' <<<"$reply_bad"; then
		not_ok "$name" "RCPT replies: good '$reply_good', bad '$reply_bad'"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		if [ "$(grep -c '^X-Rcpt-Args:' "$f")" -ne 1 ] || ! grep -q '^X-Rcpt-Args: <good@example.org>' "$f"; then
			not_ok "$name" "recipients at the sink: $(grep '^X-Rcpt-Args:' "$f" | tr '\n' ' ')"
		else
			ok "$name"
		fi
	fi
}

# -- header line limits through Postfix (miltertest cannot send > ~1 KB)
test_long_header_line() {
	local name="header line of 1200 octets refused 550 5.6.0 at end of DATA"
	local id m reply
	id=$(new_id longhdr)
	IT_NEVER_IDS+=("$id")
	m=$(msg_file longhdr <<EOF
From: <sender@example.net>
To: <rcpt@example.org>
Subject: long header line
X-Long: $(printf 'x%.0s' $(seq 1 1192))
X-Test-Id: $id

body
EOF
)
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t rcpt@example.org --data "@$m"
	reply=$(swaks_reply_to '^ -> \.$')
	if [ "$SWAKS_RC" -ne 26 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 26; reply to the dot: $reply"
	elif ! grep -Eq '^550 5\.6\.0 Header line too long' <<<"$reply"; then
		not_ok "$name" "reply to the final dot: '$reply'"
	elif sink_has "X-Test-Id: $id"; then
		not_ok "$name" "the message reached the sink"
	else
		ok "$name"
	fi
}

test_long_folded_header() {
	local name="folded header of 3 x 600 octets (each line < 998) accepted and delivered"
	local id m a
	id=$(new_id foldhdr)
	a=$(printf 'y%.0s' $(seq 1 590))
	m=$(msg_file foldhdr <<EOF
From: <sender@example.net>
To: <rcpt@example.org>
Subject: long folded header
X-Folded: $a
	$a
	$a
X-Test-Id: $id

body
EOF
)
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t rcpt@example.org --data "@$m"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 0; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	elif [ "$(status_header_count "$(delivered_file "$id")")" -ne 1 ]; then
		not_ok "$name" "delivered without exactly one X-Gatehouse"
	else
		ok "$name"
	fi
}

# -- c: an older milter protocol, as guides written for OpenDKIM still set
# (milter_protocol = 2 or 4): no steps skipped or left unanswered, no
# leading space, and the message is still checked, our field on top of
# the header and a forged copy removed
test_old_milter_protocol() {
	local v port id f hdrs first
	for v in 2 4; do
		local name="c: Postfix with milter_protocol = $v: checked and delivered, X-Gatehouse on top, a forged one removed"
		[ "$v" = 2 ] && port=$IT_SMTPD_V2_PORT || port=$IT_SMTPD_V4_PORT
		id=$(new_id "proto$v")
		send_swaks "$port" -f sender@example.net -t rcpt@example.org --add-header "X-Test-Id: $id" \
			--add-header "X-Gatehouse: $IT_AUTHSERV (gatehouse 0.1.0); session=FORGED"
		if [ "$SWAKS_RC" -ne 0 ]; then
			not_ok "$name" "swaks exit $SWAKS_RC; reply: $(grep '^<\*\*' "$IT_DIR/last-client.out" | head -n 1)"
			continue
		elif ! wait_delivered "$id"; then
			not_ok "$name" "message $id did not reach the sink"
			continue
		fi
		f=$(delivered_file "$id")
		hdrs=$(sink_header_block "$f")
		# the first field below the sink's own Received and Postfix's
		first=$(grep -v -E '^(X-Client-|X-Helo-|X-Mail-|X-Rcpt-|Received:|[[:space:]])' <<<"$hdrs" | head -n 1)
		if grep -q 'FORGED' <<<"$hdrs"; then
			not_ok "$name" "the forged X-Gatehouse was delivered"
		elif [ "$(status_header_count "$f")" -ne 1 ]; then
			not_ok "$name" "$(status_header_count "$f") X-Gatehouse fields delivered"
		elif ! grep -Eq "^X-Gatehouse: $IT_AUTHSERV \(gatehouse " <<<"$hdrs"; then
			not_ok "$name" "X-Gatehouse is not \"Name: value\": $(grep '^X-Gatehouse' <<<"$hdrs" | cat -A)"
		elif ! [[ $first == X-Gatehouse:* ]]; then
			not_ok "$name" "the first field after the Received lines is: $first"
		else
			ok "$name"
		fi
	done
}
