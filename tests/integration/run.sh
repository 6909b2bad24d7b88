#!/bin/bash
# run.sh GATEHOUSE_BINARY - gatehouse's integration suite.
#
# Needs root and a private network namespace; the Makefile runs it as
#   unshare --net -- tests/integration/run.sh /abs/path/build/gatehouse
# It builds a private Postfix instance, an smtp-sink and gatehouse instances
# in a temp dir, sends mail with swaks, smtp-source and a small Python
# client, drives gatehouse with miltertest, and prints one line per test:
# "ok - NAME" or "not ok - NAME: WHY" (with log tails), then
# "N passed, M failed". Exit status 1 if anything failed.
#
# GH_IT_KEEP=1 keeps the temp dir (it is always kept when a test failed).
# GH_IT_ONLY=REGEX runs only the test functions whose name matches, from
# the environment or the make command line: make integration GH_IT_ONLY=rules
# runs group l (the rule language, rules.sh) alone.

set -u
umask 022

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 /path/to/gatehouse" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: needs root (a private Postfix instance); run it under unshare --net" >&2
	exit 2
fi
for tool in postfix postconf postqueue smtp-sink smtp-source swaks miltertest script ss python3 \
	ip unbound unbound-checkconf openssl make; do
	if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
		echo "$0: $tool is not installed" >&2
		exit 2
	fi
done
PATH=$PATH:/usr/sbin:/sbin
# The interpreter itself, resolved once: behind a version manager's shim
# every python3 start can cost a second on a busy machine.
IT_PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[ -x "$IT_PYTHON" ] || IT_PYTHON=python3

IT_GH=$(readlink -f "$1")
IT_HERE=$(cd "$(dirname "$0")" && pwd)
IT_MT_DIR=$(cd "$IT_HERE/../miltertest" && pwd)
IT_START_MS=

ip link set lo up || { echo "$0: cannot bring up lo (run under unshare --net)" >&2; exit 2; }

IT_DIR=$(mktemp -d /tmp/gatehouse-it.XXXXXX) || exit 2
chmod 755 "$IT_DIR"	# smtpd (user postfix) reaches the unix socket in here

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$IT_HERE/lib.sh"

IT_BG_PIDS=()
IT_NEVER_IDS=()	# test ids of messages that must never reach the sink

cleanup() {
	local p n
	for p in "${IT_BG_PIDS[@]}"; do
		stop_pid "$p"
	done
	for n in main unix spf dkim rules; do
		stop_pid "$(gh_pid "$n")"
	done
	stop_pid "${IT_DNS_PID:-}"
	postfix_stop
	stop_pid "${IT_SINK_PID:-}"
	if [ "$IT_FAILED" -eq 0 ] && [ "${GH_IT_KEEP:-0}" != 1 ]; then
		rm -rf "$IT_DIR"
	else
		echo "# logs and mail kept in $IT_DIR"
	fi
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

new_id() {
	echo "it-$1-$$-$RANDOM$RANDOM"
}

# ---------------------------------------------------------------- messages

# msg_file NAME - write msg/NAME.eml from stdin (LF lines), CRLF on disk
msg_file() {
	sed 's/$/\r/' >"$IT_DIR/msg/$1.eml"
	echo "$IT_DIR/msg/$1.eml"
}

# delivered_file ID - the one sink file of the message with X-Test-Id ID
delivered_file() {
	sink_files_with "X-Test-Id: $1" | head -n 1
}

# status_header_count FILE - X-Gatehouse fields in the relayed message (any case)
status_header_count() {
	local n
	n=$(sink_header_block "$1" | grep -ci '^x-gatehouse:')
	echo "${n:-0}"
}

STATUS_RE="^X-Gatehouse: ${IT_AUTHSERV//./\\.} \\(gatehouse [0-9][0-9A-Za-z.~+-]*\\); session=[0-9A-Z]+\\.[0-9]+\$"

# session_of FILE - the session id in the X-Gatehouse header of FILE
session_of() {
	sink_header_block "$1" | sed -n 's/^X-Gatehouse: .*; session=\([0-9A-Z.]*\)$/\1/p' | head -n 1
}

# summary_line LOG SESSION - gatehouse's summary line for message SESSION
summary_line() {
	grep -E " info: session=$2 .*action=" "$1" | tail -n 1
}

# ---------------------------------------------------------------- setup

gh_main_conf() {
	# $1: max_recipients; the rest of the main instance's config is fixed
	gh_conf main <<EOF
# gatehouse instance "main" of the integration suite
socket = "inet:$IT_MILTER_PORT@127.0.0.1"
authserv_id = "$IT_AUTHSERV"
log_level = "info"
drain_timeout_ms = $IT_DRAIN_MS
max_recipients = $1
EOF
}

IT_DRAIN_MS=6000

setup() {
	local port
	IT_START_MS=$(now_ms)
	for port in "$IT_SMTPD_PORT" "$IT_SMTPD_UNIX_PORT" "$IT_SMTPD_SPF_PORT" "$IT_SMTPD_DKIM_PORT" \
		"$IT_SMTPD_RULES_PORT" "$IT_SINK_PORT" "$IT_MILTER_PORT" "$IT_MILTER_SPF_PORT" \
		"$IT_MILTER_DKIM_PORT" "$IT_MILTER_RULES_PORT"; do
		if port_listening "$port"; then
			echo "port $port is already in use: run the suite under unshare --net"
			return 1
		fi
	done
	postfix_setup
	sink_start || return 1
	gh_main_conf 0
	gh_start main || return 1
	postfix_start || return 1
}

# ================================================================ tests

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

# -- f: SIGHUP applies a changed config; a broken one keeps the old config
# rcpt_pair_replies: send one message to two recipients; sets R1, R2, SWAKS_RC
rcpt_pair() {
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t "one@example.org,two@example.org" \
		--add-header "X-Test-Id: $1"
	R1=$(swaks_reply_to '^ -> RCPT TO:<one@example\.org>')
	R2=$(swaks_reply_to '^ -> RCPT TO:<two@example\.org>')
}

# hup_and_wait ERE - SIGHUP the main instance, wait for one more log line matching ERE
hup_and_wait() {
	gh_hup main "$1"
}

test_sighup() {
	local name id conf=$IT_DIR/gh-main.conf line check check_rc
	id=$(new_id hup0)
	name="f: before SIGHUP, max_recipients = 0 accepts both recipients"
	rcpt_pair "$id"
	if [ "$SWAKS_RC" -eq 0 ] && grep -q '^250 ' <<<"$R1" && grep -q '^250 ' <<<"$R2"; then
		ok "$name"
	else
		not_ok "$name" "swaks exit $SWAKS_RC; RCPT replies '$R1' / '$R2'"
	fi

	name="f: SIGHUP with max_recipients = 1: second recipient gets 452 4.5.3"
	gh_main_conf 1
	if ! hup_and_wait 'configuration reloaded from'; then
		not_ok "$name" "no 'configuration reloaded' in the log within 10 s"
	else
		id=$(new_id hup1)
		rcpt_pair "$id"
		if [ "$SWAKS_RC" -ne 0 ] || ! grep -q '^250 ' <<<"$R1" || ! grep -Eq '^452 4\.5\.3 ' <<<"$R2"; then
			not_ok "$name" "swaks exit $SWAKS_RC; RCPT replies '$R1' / '$R2'"
		elif ! wait_delivered "$id"; then
			not_ok "$name" "message $id (first recipient) did not reach the sink"
		else
			ok "$name"
		fi
	fi

	name="f: SIGHUP with a broken config: -n and the log name FILE:LINE, old config kept"
	gh_main_conf 1
	printf 'max_recipients = "many"\n' >>"$conf"
	line=$(wc -l <"$conf")
	check=$("$IT_GH" -n -c "$conf" 2>&1)
	check_rc=$?
	if [ "$check_rc" -ne 78 ] || ! grep -q "^$conf:$line: " <<<"$check"; then
		not_ok "$name" "gatehouse -n on the broken file: exit $check_rc, output: $check"
	elif ! hup_and_wait 'reload failed'; then
		not_ok "$name" "no 'reload failed' in the log within 10 s"
	elif ! log_has "$IT_DIR/gh-main.log" "reload: ${conf//./\\.}:$line: "; then
		not_ok "$name" "log has no 'reload: $conf:$line: ...' line"
	else
		id=$(new_id hup2)
		rcpt_pair "$id"
		if [ "$SWAKS_RC" -ne 0 ] || ! grep -q '^250 ' <<<"$R1" || ! grep -Eq '^452 4\.5\.3 ' <<<"$R2"; then
			not_ok "$name" "old config (max_recipients = 1) not in force: swaks exit $SWAKS_RC; RCPT replies '$R1' / '$R2'"
		elif ! wait_delivered "$id"; then
			not_ok "$name" "message $id did not reach the sink after the failed reload"
		elif [ "$(status_header_count "$(delivered_file "$id")")" -ne 1 ]; then
			not_ok "$name" "message after the failed reload has no X-Gatehouse"
		else
			ok "$name"
		fi
	fi

	name="f: SIGHUP back to max_recipients = 0: both recipients accepted again, mail still served"
	gh_main_conf 0
	if ! hup_and_wait 'configuration reloaded from'; then
		not_ok "$name" "no 'configuration reloaded' in the log within 10 s"
	else
		id=$(new_id hup3)
		rcpt_pair "$id"
		if [ "$SWAKS_RC" -ne 0 ] || ! grep -q '^250 ' <<<"$R1" || ! grep -q '^250 ' <<<"$R2"; then
			not_ok "$name" "swaks exit $SWAKS_RC; RCPT replies '$R1' / '$R2'"
		elif ! wait_delivered "$id"; then
			not_ok "$name" "message $id did not reach the sink"
		elif ! pid_alive "$(gh_pid main)"; then
			not_ok "$name" "gatehouse is gone"
		else
			ok "$name"
		fi
	fi
}

# -- e: 200 messages over 10 parallel connections
test_load() {
	local name="e: 200 messages over 10 parallel SMTP sessions (smtp-source) all delivered with X-Gatehouse"
	local subj out rc files n_with n_sum t0
	subj=$(new_id load)
	t0=$(now_ms)
	out=$(timeout 120 smtp-source -s 10 -m 200 -d -f load-sender@example.net \
		-t load@example.org -S "$subj" "127.0.0.1:$IT_SMTPD_PORT" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "$out" >"$IT_DIR/last-client.out"
		not_ok "$name" "smtp-source exit $rc"
		return
	fi
	if ! wait_until 60 sink_count_with_at_least "Subject: $subj" 200; then
		not_ok "$name" "only $(sink_files_with "Subject: $subj" | wc -l) of 200 messages reached the sink in 60 s"
		return
	fi
	files=$(sink_files_with "Subject: $subj")
	n_with=$(echo "$files" | xargs grep -l '^X-Gatehouse: ' | wc -l)
	n_sum=$(log_count "$IT_DIR/gh-main.log" ' from=load-sender@example\.net .*action=accept ')
	if [ "$(echo "$files" | wc -l)" -ne 200 ]; then
		not_ok "$name" "$(echo "$files" | wc -l) copies at the sink, expected exactly 200"
	elif [ "$n_with" -ne 200 ]; then
		not_ok "$name" "only $n_with of 200 delivered copies have X-Gatehouse"
	elif [ "$n_sum" -ne 200 ]; then
		not_ok "$name" "$n_sum summary lines with action=accept, expected 200"
	else
		ok "$name ($(( $(now_ms) - t0 )) ms)"
	fi
}

# -- h: unix socket with group postfix and mode 0660
test_unix_socket() {
	local name sock=$IT_DIR/gh.sock id f st sess rc t0
	name="h: unix socket created with mode 0660 and group postfix; pid_file written"
	gh_conf unix <<EOF
# gatehouse instance "unix" of the integration suite
socket = "unix:$sock"
socket_group = "postfix"
socket_mode = "0660"
pid_file = "$IT_DIR/gh-unix.pid"
authserv_id = "$IT_AUTHSERV"
log_level = "info"
drain_timeout_ms = 3000
EOF
	if ! gh_start unix; then
		not_ok "$name" "gatehouse did not start on $sock"
		return
	fi
	st=$(stat -c '%a %G %F' "$sock" 2>&1)
	if [ "$st" != "660 postfix socket" ]; then
		not_ok "$name" "stat says '$st', expected '660 postfix socket'"
	elif [ "$(cat "$IT_DIR/gh-unix.pid" 2>/dev/null)" != "$(gh_pid unix)" ]; then
		not_ok "$name" "pid_file holds '$(cat "$IT_DIR/gh-unix.pid" 2>&1)', expected $(gh_pid unix)"
	else
		ok "$name"
	fi

	name="h: Postfix (smtpd as user postfix) delivers through the unix socket"
	id=$(new_id unix)
	send_swaks "$IT_SMTPD_UNIX_PORT" -f sender@example.net -t rcpt@example.org --add-header "X-Test-Id: $id"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply: $(grep '^<\*\*' "$IT_DIR/last-client.out" | head -n 1)"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		sess=$(session_of "$f")
		if [ "$(status_header_count "$f")" -ne 1 ] || [ -z "$sess" ]; then
			not_ok "$name" "delivered without X-Gatehouse"
		elif [ -z "$(summary_line "$IT_DIR/gh-unix.log" "$sess")" ]; then
			not_ok "$name" "session $sess is not in the unix instance's log"
		else
			ok "$name"
		fi
	fi

	name="h: SIGTERM with nothing in flight: exit 0, socket file and pid_file removed"
	t0=$(now_ms)
	gh_stop unix
	rc=$?
	if [ $rc -ne 0 ]; then
		not_ok "$name" "exit status $rc"
	elif [ -e "$sock" ]; then
		not_ok "$name" "$sock still exists"
	elif [ -e "$IT_DIR/gh-unix.pid" ]; then
		not_ok "$name" "the pid_file still exists"
	else
		ok "$name (exit after $(( $(now_ms) - t0 )) ms)"
	fi
}

# -- d: gatehouse stopped -> Postfix answers 451 4.7.1 and nothing is lost
test_milter_down() {
	local name id reply rc
	name="d: gatehouse stopped: Postfix answers 451 4.7.1, nothing queued or delivered"
	gh_stop main
	rc=$?
	if [ $rc -ne 0 ] || port_listening "$IT_MILTER_PORT"; then
		not_ok "$name" "gatehouse did not stop cleanly (exit $rc)"
		return
	fi
	id=$(new_id down)
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t rcpt@example.org --add-header "X-Test-Id: $id"
	reply=$(grep -E '^<\*\* ' "$IT_DIR/last-client.out" | head -n 1)
	if [ "$SWAKS_RC" -eq 0 ]; then
		not_ok "$name" "the message was accepted without the milter"
	elif ! grep -Eq '^<\*\* +451 4\.7\.1 ' <<<"$reply"; then
		not_ok "$name" "swaks exit $SWAKS_RC; first error reply '$reply', expected 451 4.7.1"
	elif ! postqueue_empty; then
		not_ok "$name" "Postfix queued something: $(postqueue -c "$IT_DIR/postfix" -p)"
	elif sink_has "X-Test-Id: $id"; then
		not_ok "$name" "the message reached the sink without the milter"
	else
		ok "$name (swaks exit $SWAKS_RC)"
	fi

	name="d: after gatehouse is back, the retried message is delivered exactly once with X-Gatehouse"
	if ! gh_start main; then
		not_ok "$name" "gatehouse did not start again"
		return
	fi
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t rcpt@example.org --add-header "X-Test-Id: $id"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC on the retry"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "the retried message did not reach the sink"
	elif [ "$(sink_files_with "X-Test-Id: $id" | wc -l)" -ne 1 ]; then
		not_ok "$name" "$(sink_files_with "X-Test-Id: $id" | wc -l) copies at the sink"
	elif [ "$(status_header_count "$(delivered_file "$id")")" -ne 1 ]; then
		not_ok "$name" "delivered without X-Gatehouse"
	else
		ok "$name"
	fi
}

# -- g: SIGTERM drain: a session in the middle of a message finishes
test_sigterm_drain() {
	local name id pid client t_term t_exit ready=$IT_DIR/slow.ready go=$IT_DIR/slow.go
	local client_rc gh_rc reply alive_after bound
	pid=$(gh_pid main)
	id=$(new_id drain)
	rm -f "$ready" "$go"
	"$IT_PYTHON" "$IT_HERE/slow_client.py" "$IT_SMTPD_PORT" sender@example.net rcpt@example.org \
		"$id" "$ready" "$go" 30 >"$IT_DIR/slow.out" 2>&1 &
	client=$!
	IT_BG_PIDS+=("$client")
	name="g: SIGTERM while a message is in flight: gatehouse keeps running (draining)"
	if ! wait_until 15 test -e "$ready"; then
		cp "$IT_DIR/slow.out" "$IT_DIR/last-client.out"
		not_ok "$name" "the slow client did not reach the middle of its message"
		kill "$client" 2>/dev/null
		return
	fi
	t_term=$(now_ms)
	kill -TERM "$pid"
	if ! wait_until 5 log_has "$IT_DIR/gh-main.log" 'SIGTERM: no new connections'; then
		not_ok "$name" "no 'SIGTERM: no new connections' in the log"
	elif ! pid_alive "$pid"; then
		not_ok "$name" "gatehouse exited with a connection in flight"
	else
		ok "$name"
	fi

	name="g: during the drain a new SMTP connection gets a 4xx from Postfix while gatehouse still runs"
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t rcpt@example.org \
		--add-header "X-Test-Id: $(new_id drainnew)"
	reply=$(grep -E '^<\*\* ' "$IT_DIR/last-client.out" | head -n 1)
	alive_after=no
	pid_alive "$pid" && alive_after=yes
	if ! grep -Eq '^<\*\* +4[0-9][0-9] ' <<<"$reply"; then
		not_ok "$name" "swaks exit $SWAKS_RC; first error reply '$reply', expected a 4xx"
	elif [ "$alive_after" != yes ]; then
		not_ok "$name" "the 4xx came only after gatehouse had exited ($(( $(now_ms) - t_term )) ms after SIGTERM): new connections were not refused during the drain"
	else
		ok "$name ($reply)"
	fi

	name="g: the message in flight at SIGTERM completes and is delivered with X-Gatehouse"
	touch "$go"
	wait_until 40 pid_gone "$client"
	wait "$client"
	client_rc=$?
	cp "$IT_DIR/slow.out" "$IT_DIR/last-client.out"
	if [ "$client_rc" -ne 0 ]; then
		not_ok "$name" "the server did not accept it (client exit $client_rc): $(grep '^<- ' "$IT_DIR/slow.out" | tail -n 2 | head -n 1)"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	elif [ "$(status_header_count "$(delivered_file "$id")")" -ne 1 ]; then
		not_ok "$name" "delivered without X-Gatehouse"
	else
		ok "$name"
	fi

	name="g: gatehouse exits 0 within drain_timeout_ms + 5 s of SIGTERM"
	bound=$((IT_DRAIN_MS + 5000))
	wait_until $(( (bound - ($(now_ms) - t_term)) / 1000 + 1 )) pid_gone "$pid"
	t_exit=$(now_ms)
	if pid_alive "$pid"; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		gh_forget main
		not_ok "$name" "still running $((t_exit - t_term)) ms after SIGTERM; killed"
		return
	fi
	wait "$pid"
	gh_rc=$?
	gh_forget main
	if [ "$gh_rc" -ne 0 ]; then
		not_ok "$name" "exit status $gh_rc"
	elif [ $((t_exit - t_term)) -gt "$bound" ]; then
		not_ok "$name" "took $((t_exit - t_term)) ms"
	elif log_has "$IT_DIR/gh-main.log" 'drain timeout: [0-9]+ connection\(s\) cut'; then
		not_ok "$name" "exit 0 after $((t_exit - t_term)) ms, but only because the drain timed out: $(grep 'drain timeout' "$IT_DIR/gh-main.log" | tail -n 1)"
	else
		ok "$name ($((t_exit - t_term)) ms)"
	fi
}

# -- j: SPF with a real DNS server. The "spf" instance resolves through
# dns_forwarders to unbound on 127.0.0.1:IT_DNS_PORT (authoritative for
# example.): libunbound's real forwarding path, not the fixture. The client
# connects from IT_SPF_CLIENT_IP, an address added to lo, because libspf2
# passes every loopback client without a lookup ("localhost is always
# allowed"), whatever internal_networks says.
IT_SPF_TIMEOUT_MS=1000

# gh_spf_conf REJECT_AT - the config of the "spf" instance
gh_spf_conf() {
	gh_conf_dns spf <<EOF
# gatehouse instance "spf" of the integration suite: real DNS, no fixture
socket = "inet:$IT_MILTER_SPF_PORT@127.0.0.1"
authserv_id = "$IT_AUTHSERV"
log_level = "info"
drain_timeout_ms = 3000
dns_forwarders = "127.0.0.1@$IT_DNS_PORT"
dns_timeout_ms = $IT_SPF_TIMEOUT_MS
internal_networks = ""
spf_reject_at = $1
EOF
}

# send_spf ID FROM - one message from IT_SPF_CLIENT_IP, HELO mx.example,
# through the smtpd whose milter is the "spf" instance; sets SWAKS_RC and
# SPF_MS (wall time of the whole SMTP session)
send_spf() {
	local t0
	t0=$(now_ms)
	SWAKS_HELO=mx.example send_swaks "$IT_SMTPD_SPF_PORT" --local-interface "$IT_SPF_CLIENT_IP" \
		-f "$2" -t rcpt@example.org --add-header "X-Test-Id: $1"
	SPF_MS=$(( $(now_ms) - t0 ))
}

# spf_summary FROM - the spf instance's last summary line for sender FROM
spf_summary() {
	grep -E " info: session=[0-9A-Z.]+ .* from=${1//./\\.} .*action=" "$IT_DIR/gh-spf.log" | tail -n 1
}

spf_summary_logged() {
	[ -n "$(spf_summary "$1")" ]
}

# spf_tempfail_case NAME ID FROM WHAT - a temperror within the deadline
spf_tempfail_case() {
	local name=$1 id=$2 from=$3 reply line gh_ms bound=$((3 * IT_SPF_TIMEOUT_MS))
	IT_NEVER_IDS+=("$id")
	send_spf "$id" "$from"
	reply=$(swaks_reply_to "^ -> RCPT TO:<rcpt@example\\.org>")
	wait_until 5 spf_summary_logged "$from"
	line=$(spf_summary "$from")
	gh_ms=$(sed -n 's/.* ms=\([0-9]*\)$/\1/p' <<<"$line")
	echo "# $4: SMTP session with the 451 took $SPF_MS ms (gatehouse's own ms=${gh_ms:-?}); dns_timeout_ms = $IT_SPF_TIMEOUT_MS, bound $bound ms"
	if [ "$SWAKS_RC" -ne 24 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 24; reply to RCPT: $reply"
	elif ! grep -Eq "^451 4\\.4\\.3 SPF temperror: .*${from#*@}" <<<"$reply"; then
		not_ok "$name" "reply to RCPT: '$reply', expected 451 4.4.3 SPF temperror ... ${from#*@}"
	elif ! log_has "$IT_DIR/postfix.log" "milter-reject: RCPT from .*: 451 4\\.4\\.3 .* from=<${from//./\\.}>"; then
		not_ok "$name" "Postfix log has no milter-reject 451 4.4.3 at RCPT for <$from>"
	elif [ "$SPF_MS" -ge "$bound" ]; then
		not_ok "$name" "the answer took $SPF_MS ms, more than 3 x dns_timeout_ms ($bound ms)"
	elif ! grep -q ' spf=temperror ' <<<"$line"; then
		not_ok "$name" "summary line lacks spf=temperror: $line"
	elif ! grep -q ' spf_helo=pass ' <<<"$line"; then
		not_ok "$name" "HELO mx.example (cached before the outage) did not pass: $line"
	else
		ok "$name ($SPF_MS ms)"
	fi
}

test_spf_dns() {
	local name id f hdrs line reply rspf n bh ready=$IT_DIR/dns/blackhole.ready t_group
	t_group=$(now_ms)
	name="j: unbound serves the test zone on 127.0.0.1:$IT_DNS_PORT; the spf instance starts with dns_forwarders"
	if ! ip addr replace "$IT_SPF_CLIENT_IP/32" dev lo; then
		not_ok "$name" "cannot add $IT_SPF_CLIENT_IP to lo"
		return
	fi
	if ! dns_setup <<EOF
mx.example. 300 IN A $IT_SPF_CLIENT_IP
mx.example. 300 IN TXT "v=spf1 a -all"
pass.example. 300 IN TXT "v=spf1 ip4:$IT_SPF_CLIENT_IP -all"
pass2.example. 300 IN TXT "v=spf1 ip4:$IT_SPF_CLIENT_IP -all"
pass3.example. 300 IN TXT "v=spf1 ip4:$IT_SPF_CLIENT_IP -all"
fail.example. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
fail2.example. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
EOF
	then
		not_ok "$name" "bad unbound config"
		return
	fi
	if ! dns_start; then
		not_ok "$name" "unbound did not start"
		return
	fi
	reply=$(dns_answers pass.example TXT)
	if ! grep -qxF "TXT \"v=spf1 ip4:$IT_SPF_CLIENT_IP -all\"" <<<"$reply"; then
		not_ok "$name" "TXT of pass.example is not one string: $reply"
		return
	fi
	gh_spf_conf rcpt
	if ! gh_start spf; then
		not_ok "$name" "the spf instance did not start"
		return
	fi
	ok "$name"

	# a: fail -> 550 5.7.23 at RCPT
	name="j: SPF fail (fail.example) refused 550 5.7.23 at RCPT (swaks exit 24), summary spf=fail"
	id=$(new_id spffail)
	IT_NEVER_IDS+=("$id")
	send_spf "$id" "$id@fail.example"
	reply=$(swaks_reply_to '^ -> RCPT TO:<rcpt@example\.org>')
	wait_until 5 spf_summary_logged "$id@fail.example"
	line=$(spf_summary "$id@fail.example")
	if [ "$SWAKS_RC" -ne 24 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 24; reply to RCPT: $reply"
	elif ! grep -Eq "^550 5\\.7\\.23 SPF fail: fail\\.example does not allow ${IT_SPF_CLIENT_IP//./\\.} " <<<"$reply"; then
		not_ok "$name" "reply to RCPT: '$reply'"
	elif ! log_has "$IT_DIR/postfix.log" "milter-reject: RCPT from .*\\[${IT_SPF_CLIENT_IP//./\\.}\\]: 550 5\\.7\\.23 .* from=<$id@fail\\.example>"; then
		not_ok "$name" "Postfix log has no milter-reject at RCPT from $IT_SPF_CLIENT_IP"
	elif ! grep -q ' spf=fail ' <<<"$line" || ! grep -q ' action=reject phase=rcpt code=550 ecode=5.7.23 ' <<<"$line"; then
		not_ok "$name" "summary line: ${line:-none}"
	elif sink_has "X-Test-Id: $id"; then
		not_ok "$name" "the message reached the sink"
	else
		ok "$name"
	fi

	name="j: gatehouse's queries went to the DNS server (its query log has fail.example TXT)"
	if log_has "$IT_DIR/dns/unbound.log" ' 127\.0\.0\.1 fail\.example\. TXT IN$'; then
		ok "$name"
	else
		not_ok "$name" "no 'fail.example. TXT IN' in dns/unbound.log: $(tail -n 5 "$IT_DIR/dns/unbound.log")"
	fi

	# b: pass -> delivered with one Received-SPF: pass
	name="j: SPF pass (pass.example) delivered with exactly one Received-SPF: pass"
	id=$(new_id spfpass)
	send_spf "$id" "$id@pass.example"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to RCPT: $(swaks_reply_to '^ -> RCPT TO:')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		hdrs=$(sink_header_block "$f")
		n=$(grep -ci '^received-spf:' <<<"$hdrs")
		# the field with its continuation lines, unfolded
		rspf=$(awk 'tolower($0) ~ /^received-spf:/ { on = 1; printf "%s", $0; next }
			on && /^[ \t]/ { printf " %s", $0; next } { on = 0 }' <<<"$hdrs")
		line=$(spf_summary "$id@pass.example")
		if [ "$n" -ne 1 ]; then
			not_ok "$name" "$n Received-SPF fields in the delivered copy"
		elif ! grep -Eq '^Received-SPF: pass \(' <<<"$rspf"; then
			not_ok "$name" "Received-SPF: $rspf"
		elif ! grep -q "client-ip=$IT_SPF_CLIENT_IP;" <<<"$rspf" ||
		     ! grep -q "envelope-from=\"$id@pass.example\";" <<<"$rspf" ||
		     ! grep -q 'identity=mailfrom;' <<<"$rspf"; then
			not_ok "$name" "Received-SPF lacks client-ip=, envelope-from= or identity=mailfrom: $rspf"
		elif ! grep -q ' spf_helo=pass spf=pass ' <<<"$line"; then
			not_ok "$name" "summary line lacks spf_helo=pass spf=pass: ${line:-none}"
		else
			ok "$name"
		fi
	fi

	# c: DNS server down, a name not in the cache -> 451 4.4.3 within the deadline
	dns_stop
	if udp_port_bound "$IT_DNS_PORT"; then
		not_ok "j: DNS server stopped" "UDP port $IT_DNS_PORT still bound"
		return
	fi
	spf_tempfail_case "j: DNS server stopped: pass2.example (not cached) tempfailed 451 4.4.3 at RCPT within 3 x dns_timeout_ms" \
		"$(new_id spfdown)" "down@pass2.example" "server stopped (port closed)"

	# c': a server that takes queries and never answers: only the deadline ends them
	"$IT_PYTHON" "$IT_HERE/dns_probe.py" --blackhole 127.0.0.1 "$IT_DNS_PORT" "$ready" \
		>"$IT_DIR/dns/blackhole.out" 2>&1 &
	bh=$!
	IT_BG_PIDS+=("$bh")
	if ! wait_until 5 test -e "$ready"; then
		not_ok "j: silent DNS server" "the blackhole did not bind 127.0.0.1:$IT_DNS_PORT: $(cat "$IT_DIR/dns/blackhole.out")"
	else
		spf_tempfail_case "j: DNS server silent: pass3.example tempfailed 451 4.4.3 at RCPT within 3 x dns_timeout_ms" \
			"$(new_id spfsilent)" "silent@pass3.example" "server silent"
	fi
	stop_pid "$bh"
	wait "$bh" 2>/dev/null
	wait_until 5 udp_port_free "$IT_DNS_PORT"

	# d: spf_reject_at = mail (SIGHUP), server back: a fail is refused at MAIL
	name="j: server back, SIGHUP with spf_reject_at = mail: fail2.example refused 550 5.7.23 at MAIL (swaks exit 23)"
	if ! dns_start; then
		not_ok "$name" "unbound did not start again"
		return
	fi
	gh_spf_conf mail
	if ! gh_hup spf 'configuration reloaded from'; then
		not_ok "$name" "no 'configuration reloaded' in gh-spf.log within 10 s"
	else
		id=$(new_id spfmail)
		IT_NEVER_IDS+=("$id")
		send_spf "$id" "$id@fail2.example"
		reply=$(swaks_reply_to "^ -> MAIL FROM:<$id@fail2\\.example>")
		wait_until 5 spf_summary_logged "$id@fail2.example"
		line=$(spf_summary "$id@fail2.example")
		if grep -q '^451 4\.4\.3 ' <<<"$reply"; then
			# After about 12 s without answers libunbound fails queries to
			# that forwarder at once and probes it only now and then.
			not_ok "$name" "temperror at MAIL after the server was back (does libunbound still think the forwarder is down?): $reply"
		elif [ "$SWAKS_RC" -ne 23 ]; then
			not_ok "$name" "swaks exit $SWAKS_RC, expected 23; reply to MAIL: $reply"
		elif ! grep -Eq '^550 5\.7\.23 SPF fail: fail2\.example ' <<<"$reply"; then
			not_ok "$name" "reply to MAIL: '$reply'"
		elif ! log_has "$IT_DIR/postfix.log" "milter-reject: MAIL from .*\\[${IT_SPF_CLIENT_IP//./\\.}\\]: 550 5\\.7\\.23 .* from=<$id@fail2\\.example>"; then
			not_ok "$name" "Postfix log has no milter-reject at MAIL"
		elif ! grep -q ' spf=fail ' <<<"$line" || ! grep -q ' action=reject phase=mail ' <<<"$line"; then
			not_ok "$name" "summary line: ${line:-none}"
		else
			ok "$name ($SPF_MS ms)"
		fi
	fi

	name="j: the spf instance (resolver thread running) exits 0 on SIGTERM"
	if gh_stop spf; then
		ok "$name"
	else
		not_ok "$name" "exit status $?"
	fi
	dns_stop
	echo "# j: SPF with a real DNS server took $(( $(now_ms) - t_group )) ms"
}

# -- k: DKIM, DMARC and Authentication-Results through Postfix. The "dkim"
# instance is a sibling of j's "spf" instance: the same DNS server (unbound
# on IT_DNS_PORT, here with a zone of its own), the same client address,
# dns_forwarders and internal_networks = "", but its own authserv-id
# (IT_AUTHSERV_DKIM) and its own smtpd (IT_SMTPD_DKIM_PORT). Messages are
# signed here (tests/tools/dkim_sign, built into IT_DIR/build) with a key
# made here, whose public half the zone publishes. MAIL FROM is
# <ID@nospf.example>, a name not in the zone: SPF none, so nothing is
# refused at RCPT, DMARC is decided at the end of DATA, and for
# signed.example (SPF -all) only DKIM can pass it.
IT_DKIM_SIGN=
K_LINE=		# the summary line k_refused found
IT_K_SENDER_DOMAIN=nospf.example

gh_dkim_conf() {
	gh_conf_dns dkim <<EOF
# gatehouse instance "dkim" of the integration suite: real DNS, its own authserv-id
socket = "inet:$IT_MILTER_DKIM_PORT@127.0.0.1"
authserv_id = "$IT_AUTHSERV_DKIM"
log_level = "info"
drain_timeout_ms = 3000
dns_forwarders = "127.0.0.1@$IT_DNS_PORT"
dns_timeout_ms = $IT_SPF_TIMEOUT_MS
internal_networks = ""
EOF
}

# k_new_id NAME - like new_id, but of one length for a NAME whatever the
# pid and the random numbers: the ids go into MAIL FROM and so into
# Authentication-Results, and how gatehouse splits those into several
# headers must not change from one run to the next
k_new_id() {
	printf 'it-%s-%07d-%010d\n' "$1" "$$" $((RANDOM * 32768 + RANDOM))
}

# k_build_signer - tests/tools/dkim_sign into IT_DIR/build through the
# project's Makefile (about 0.3 s; "make integration" builds only the
# daemon). Without the caller's make variables: a plain build whatever
# SANITIZER the daemon under test was built with.
k_build_signer() {
	local top
	top=$(cd "$IT_HERE/../.." && pwd)
	IT_DKIM_SIGN=$IT_DIR/build/tests/dkim_sign
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS timeout 120 \
		make -s -C "$top" BUILD="$IT_DIR/build" "$IT_DKIM_SIGN" >"$IT_DIR/dkim/build.out" 2>&1 &&
		[ -x "$IT_DKIM_SIGN" ]
}

# k_sign IN OUT - IN (LF lines) with one more DKIM-Signature by
# signed.example, selector s1
k_sign() {
	ASAN_OPTIONS=detect_leaks=0 timeout 30 "$IT_DKIM_SIGN" -k "$IT_DIR/dkim/signed.pem" \
		-d signed.example -s s1 <"$1" >"$2.tmp" && mv "$2.tmp" "$2"
}

# k_txt NAME RECORD - a zone line: TXT RECORD at NAME in strings of at most
# 250 octets (RFC 1035: 255 at most)
k_txt() {
	local r=$2 out="$1. 300 IN TXT"
	while [ -n "$r" ]; do
		out="$out \"${r:0:250}\""
		r=${r:250}
	done
	echo "$out"
}

# k_msg NAME - msg/NAME.eml (CRLF) from dkim/NAME.txt (LF, as signed)
k_msg() {
	msg_file "$1" <"$IT_DIR/dkim/$1.txt"
}

# send_k ID RCPT FILE - FILE as DATA from IT_SPF_CLIENT_IP, HELO mx.example,
# MAIL FROM <ID@nospf.example>, through the smtpd of the "dkim" instance
send_k() {
	SWAKS_HELO=mx.example send_swaks "$IT_SMTPD_DKIM_PORT" --local-interface "$IT_SPF_CLIENT_IP" \
		-f "$1@$IT_K_SENDER_DOMAIN" -t "$2" --data "@$3"
}

# k_summary ID - the dkim instance's summary line for the message of ID
k_summary() {
	grep -E " info: session=[0-9A-Z.]+ .* from=$1@${IT_K_SENDER_DOMAIN//./\\.} .*action=" \
		"$IT_DIR/gh-dkim.log" | tail -n 1
}

k_summary_logged() {
	[ -n "$(k_summary "$1")" ]
}

# ar_report FILE - one line per Authentication-Results field of the relayed
# message (any case): "LINES MAXLINE LENGTH FOLD<TAB>FIELD". MAXLINE is its
# longest line in octets (CRLF not counted), LENGTH its size from the name
# to the end with one octet per line break (as gatehouse writes it: LF+TAB),
# FOLD "tab" when every continuation line starts with a TAB (else "other"),
# FIELD the field unfolded (each line break and its white space one space).
ar_report() {
	sink_header_block "$1" | tr -d '\r' | LC_ALL=C awk '
		function out() {
			if (on)
				printf "%d %d %d %s\t%s\n", n, maxl, len, fold, text
			on = 0
		}
		on && /^[ \t]/ {
			n++
			if (length($0) > maxl)
				maxl = length($0)
			len += 1 + length($0)
			if (substr($0, 1, 1) != "\t")
				fold = "other"
			t = $0
			sub(/^[ \t]+/, "", t)
			text = text " " t
			next
		}
		{ out() }
		tolower($0) ~ /^authentication-results:/ {
			on = 1; n = 1; maxl = length($0); len = length($0); fold = "tab"; text = $0
		}
		END { out() }'
}

# ar_ours REPORT - the lines of an ar_report that are ours: the authserv-id
# right after the name, exactly (gatehouse writes "ID;")
ar_ours() {
	grep -F "	Authentication-Results: $IT_AUTHSERV_DKIM; " <<<"$1"
}

# k_mixed_case STRING - STRING with every other letter in upper case
k_mixed_case() {
	LC_ALL=C awk '{ for (i = 1; i <= length($0); i++) printf "%s", i % 2 ? toupper(substr($0, i, 1)) : substr($0, i, 1); print "" }' <<<"$1"
}

# k_refused NAME ID REPLY_ERE - the message of ID was refused 550 5.7.1 at
# the end of DATA with a reply matching REPLY_ERE, nothing delivered
k_refused() {
	local name=$1 id=$2 reply line
	reply=$(swaks_reply_to '^ -> \.$')
	wait_until 5 k_summary_logged "$id"
	line=$(k_summary "$id")
	if [ "$SWAKS_RC" -ne 26 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC, expected 26; reply to the dot: $reply"
	elif ! grep -Eq "^550 5\\.7\\.1 $3" <<<"$reply"; then
		not_ok "$name" "reply to the final dot: '$reply', expected 550 5.7.1 $3"
	elif ! log_has "$IT_DIR/postfix.log" "milter-reject: END-OF-MESSAGE from .*\\[${IT_SPF_CLIENT_IP//./\\.}\\]: 5\\.7\\.1 .* from=<$id@${IT_K_SENDER_DOMAIN//./\\.}>"; then
		not_ok "$name" "Postfix log has no milter-reject at END-OF-MESSAGE for <$id@$IT_K_SENDER_DOMAIN>"
	elif ! grep -q ' action=reject phase=eom code=550 ecode=5.7.1 ' <<<"$line"; then
		not_ok "$name" "summary line: ${line:-none}"
	elif sink_has "X-Test-Id: $id"; then
		not_ok "$name" "the message reached the sink"
	else
		K_LINE=$line
		return 0
	fi
	return 1
}

# k_ar_case NAME MSG NFORGED FIELD... - send a message (From plain.example,
# not in the zone: DMARC none; unsigned) carrying the FIELDs, incoming
# Authentication-Results: NFORGED of them claim our authserv-id and hold
# the word "forged", the others hold "kept". At the sink: no "forged"
# anywhere, every kept field as it was sent, ours exactly once and first.
k_ar_case() {
	local name=$1 msg=$2 nforged=$3 id f rep ours sess hdr nkept=0 missing=""
	shift 3
	id=$(k_new_id "$msg")
	{
		echo 'From: Someone <someone@plain.example>'
		echo 'To: <rcpt@example.org>'
		echo "Subject: results from elsewhere ($msg)"
		echo 'Date: Mon, 1 Jan 2024 00:00:00 +0000'
		echo "Message-ID: <$id@plain.example>"
		printf '%s\n' "$@"
		echo "X-Test-Id: $id"
		echo
		echo 'body'
	} >"$IT_DIR/dkim/$msg.txt"
	send_k "$id" rcpt@example.org "$(k_msg "$msg")"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
		return
	fi
	if ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
		return
	fi
	f=$(delivered_file "$id")
	sess=$(session_of "$f")
	rep=$(ar_report "$f")
	ours=$(ar_ours "$rep")
	for hdr in "$@"; do
		case $hdr in
		*kept*)
			nkept=$((nkept + 1))
			sink_header_block "$f" | tr -d '\r' | grep -qxF -- "$hdr" || missing="$missing [$hdr]"
			;;
		esac
	done
	if grep -qi 'forged' "$f"; then
		not_ok "$name" "a forged result is still there: $(grep -i forged "$f" | tr -d '\r')"
	elif [ -n "$missing" ]; then
		not_ok "$name" "foreign fields not delivered as sent:$missing; Authentication-Results at the sink: $rep"
	elif [ "$(grep -c . <<<"$rep")" -ne $((nkept + 1)) ]; then
		not_ok "$name" "$(grep -c . <<<"$rep") Authentication-Results at the sink, expected $((nkept + 1)): $rep"
	elif [ "$(grep -c . <<<"$ours")" -ne 1 ] ||
	     ! grep -Eq "; spf=none (\\([^)]*\\) )?smtp\\.mailfrom=$id@${IT_K_SENDER_DOMAIN//./\\.}(;|\$)" <<<"$ours"; then
		not_ok "$name" "not exactly one Authentication-Results of ours with spf=none smtp.mailfrom=$id@$IT_K_SENDER_DOMAIN: $rep"
	elif [ "$(head -n 1 <<<"$rep")" != "$ours" ]; then
		not_ok "$name" "ours is not the first Authentication-Results: $rep"
	elif ! log_has "$IT_DIR/gh-dkim.log" "session=${sess//./\\.} .*removed $nforged Authentication-Results[^;]* claiming to be from ${IT_AUTHSERV_DKIM//./\\.}\$"; then
		not_ok "$name" "gh-dkim.log has no 'removed $nforged Authentication-Results claiming to be from $IT_AUTHSERV_DKIM' for session ${sess:-?}"
	else
		ok "$name"
	fi
}

test_dkim_dmarc() {
	local name id f rep ours line reply n sess mixed t_group d=$IT_DIR/dkim pub
	t_group=$(now_ms)
	mkdir -p "$d"
	name="k: signer built, key made, unbound serves signed.example's DKIM key and DMARC records; the dkim instance starts"
	if ! k_build_signer; then
		cp "$d/build.out" "$IT_DIR/last-client.out"
		not_ok "$name" "make could not build tests/tools/dkim_sign"
		return
	fi
	if ! timeout 60 openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$d/signed.pem" 2>"$d/openssl.out"; then
		cp "$d/openssl.out" "$IT_DIR/last-client.out"
		not_ok "$name" "openssl genpkey failed"
		return
	fi
	pub=$(openssl pkey -in "$d/signed.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
	if ! ip addr replace "$IT_SPF_CLIENT_IP/32" dev lo; then
		not_ok "$name" "cannot add $IT_SPF_CLIENT_IP to lo"
		return
	fi
	dns_stop	# group j's server, if it still runs: this zone replaces it
	if ! dns_setup <<EOF
mx.example. 300 IN A $IT_SPF_CLIENT_IP
mx.example. 300 IN TXT "v=spf1 a -all"
signed.example. 300 IN TXT "v=spf1 -all"
_dmarc.signed.example. 300 IN TXT "v=DMARC1; p=reject"
$(k_txt s1._domainkey.signed.example "v=DKIM1; k=rsa; p=$pub")
bank.example. 300 IN TXT "v=spf1 -all"
_dmarc.bank.example. 300 IN TXT "v=DMARC1; p=reject"
EOF
	then
		not_ok "$name" "bad unbound config"
		return
	fi
	if ! dns_start; then
		not_ok "$name" "unbound did not start"
		return
	fi
	reply=$(dns_answers s1._domainkey.signed.example TXT)
	if [ "$(grep '^TXT ' <<<"$reply" | tr -d '" ' | sed 's/^TXT//')" != "v=DKIM1;k=rsa;p=$pub" ]; then
		not_ok "$name" "the key record does not come back whole: $reply"
		return
	fi
	gh_dkim_conf
	if ! gh_start dkim; then
		not_ok "$name" "the dkim instance did not start"
		return
	fi
	ok "$name"

	# a: signed by signed.example -> delivered, AR of ours with dkim=pass and dmarc=pass
	name="k: signed by signed.example: delivered with one Authentication-Results of ours (dkim=pass header.d=signed.example, dmarc=pass header.from=signed.example), folded LF+TAB"
	id=$(k_new_id dkimpass)
	cat >"$d/signed.txt" <<EOF
From: Someone <someone@signed.example>
To: <rcpt@example.org>
Subject: signed by signed.example
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-ID: <$id@signed.example>
X-Test-Id: $id

Hello,
this message is signed by signed.example, and nobody changed it.
EOF
	k_sign "$d/signed.txt" "$d/pass.txt"
	send_k "$id" rcpt@example.org "$(k_msg pass)"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		rep=$(ar_report "$f")
		ours=$(ar_ours "$rep")
		n=$(grep -c . <<<"$ours")
		if [ "$n" -ne 1 ]; then
			not_ok "$name" "$n Authentication-Results of ours at the sink: $rep"
		elif ! grep -Eq '; dkim=pass header\.d=signed\.example header\.s=s1 header\.a=rsa-sha256 header\.b=[^ ;]{8}(;|$)' <<<"$ours"; then
			not_ok "$name" "no dkim=pass header.d=signed.example header.s=s1 header.a=rsa-sha256 header.b=...: $ours"
		elif ! grep -Eq '; dmarc=pass \(p=reject dis=none\) header\.from=signed\.example policy\.dmarc=reject(;|$)' <<<"$ours"; then
			not_ok "$name" "no dmarc=pass (p=reject dis=none) header.from=signed.example policy.dmarc=reject: $ours"
		elif ! grep -Eq "; spf=none (\\([^)]*\\) )?smtp\\.mailfrom=$id@${IT_K_SENDER_DOMAIN//./\\.}(;|\$)" <<<"$ours"; then
			not_ok "$name" "no spf=none smtp.mailfrom=$id@$IT_K_SENDER_DOMAIN: $ours"
		elif [ "$(cut -d ' ' -f 1 <<<"$ours")" -lt 2 ] || [ "$(cut -f 1 <<<"$ours" | cut -d ' ' -f 4)" != tab ]; then
			not_ok "$name" "not folded, or a continuation line does not start with a TAB: $(sink_header_block "$f" | grep -A6 -i '^authentication-results:' | cat -A | head -n 8)"
		elif ! grep -q ' dkim=signed\.example:pass dmarc=pass ' <<<"$(k_summary "$id")"; then
			not_ok "$name" "summary line lacks dkim=signed.example:pass dmarc=pass: $(k_summary "$id")"
		else
			ok "$name"
		fi
	fi

	# b: body changed after signing -> dkim fail, dmarc fail, p=reject
	name="k: body changed after signing: 550 5.7.1 at end of DATA naming signed.example (swaks exit 26), summary dmarc=fail, not delivered"
	id=$(k_new_id dkimbody)
	IT_NEVER_IDS+=("$id")
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/signed.txt" >"$d/body.in"
	k_sign "$d/body.in" "$d/body.signed"
	sed 's/nobody changed it/somebody changed it/' "$d/body.signed" >"$d/bodychanged.txt"
	send_k "$id" rcpt@example.org "$(k_msg bodychanged)"
	if k_refused "$name" "$id" '.*signed\.example'; then
		if ! grep -q ' dkim=signed\.example:fail dmarc=fail ' <<<"$K_LINE"; then
			not_ok "$name" "summary line lacks dkim=signed.example:fail dmarc=fail: $K_LINE"
		else
			ok "$name"
		fi
	fi

	# c: unsigned mail claiming bank.example (p=reject) -> refused; to postmaster@ delivered
	name="k: unsigned From: ceo@bank.example (p=reject, SPF none): 550 5.7.1 at end of DATA naming bank.example"
	id=$(k_new_id bank)
	IT_NEVER_IDS+=("$id")
	cat >"$d/bank.txt" <<EOF
From: CEO <ceo@bank.example>
To: <rcpt@example.org>
Subject: urgent wire transfer
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-ID: <$id@bank.example>
X-Test-Id: $id

Please wire the money today.
EOF
	send_k "$id" rcpt@example.org "$(k_msg bank)"
	if k_refused "$name" "$id" '.*bank\.example'; then
		if ! grep -q ' dmarc=fail ' <<<"$K_LINE"; then
			not_ok "$name" "summary line lacks dmarc=fail: $K_LINE"
		else
			ok "$name"
		fi
	fi

	name="k: the same message to postmaster@$IT_DOMAIN is delivered (dmarc_exempt_recipients), the override logged, dmarc=fail in Authentication-Results"
	id=$(k_new_id bankpm)
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/bank.txt" >"$d/bankpm.txt"
	send_k "$id" "postmaster@$IT_DOMAIN" "$(k_msg bankpm)"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		sess=$(session_of "$f")
		ours=$(ar_ours "$(ar_report "$f")")
		line=$(k_summary "$id")
		if [ -z "$sess" ] ||
		   ! log_has "$IT_DIR/gh-dkim.log" "session=${sess//./\\.} .*dmarc bank\\.example: reject not enforced: .*postmaster@"; then
			not_ok "$name" "no 'dmarc bank.example: reject not enforced: ...postmaster@...' for session ${sess:-?} in gh-dkim.log"
		elif ! grep -q ' dmarc=fail .* action=accept' <<<"$line"; then
			not_ok "$name" "summary line lacks dmarc=fail ... action=accept: ${line:-none}"
		elif ! grep -Eq '; dmarc=fail \(p=reject dis=none[^)]*\) header\.from=bank\.example policy\.dmarc=reject(;|$)' <<<"$ours"; then
			not_ok "$name" "no dmarc=fail (p=reject dis=none) header.from=bank.example policy.dmarc=reject in ours: ${ours:-none}"
		else
			ok "$name"
		fi
	fi

	# d: no single author: two From fields, or one From with two addresses.
	# Postfix passes both to the milter as they are (no header rewriting
	# for remote clients): the reply text is gatehouse's own account of
	# what it saw.
	name="k: two From fields (a signed.example message with From: ceo@bank.example added on top): 550 5.7.1, gatehouse saw both"
	id=$(k_new_id twofrom)
	IT_NEVER_IDS+=("$id")
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/signed.txt" >"$d/twofrom.in"
	k_sign "$d/twofrom.in" "$d/twofrom.signed"
	{ echo 'From: CEO <ceo@bank.example>'; cat "$d/twofrom.signed"; } >"$d/twofrom.txt"
	send_k "$id" rcpt@example.org "$(k_msg twofrom)"
	if k_refused "$name" "$id" '.*more than one From'; then
		if ! grep -q ' dkim=signed\.example:pass ' <<<"$K_LINE"; then
			not_ok "$name" "summary line lacks dkim=signed.example:pass (was the message signed?): $K_LINE"
		else
			ok "$name"
		fi
	fi

	name="k: one From with two addresses (someone@signed.example, ceo@bank.example): 550 5.7.1, gatehouse saw both"
	id=$(k_new_id twoaddr)
	IT_NEVER_IDS+=("$id")
	sed -e "s/^X-Test-Id: .*/X-Test-Id: $id/" \
		-e 's/^From: .*/From: someone@signed.example, CEO <ceo@bank.example>/' "$d/signed.txt" >"$d/twoaddr.txt"
	send_k "$id" rcpt@example.org "$(k_msg twoaddr)"
	k_refused "$name" "$id" '.*more than one address' && ok "$name"

	# e: incoming Authentication-Results: those claiming our authserv-id go,
	# every other stays, ours comes once. From plain.example (not in the
	# zone: DMARC none), so nothing but the headers decides.
	mixed=$(k_mixed_case "$IT_AUTHSERV_DKIM")
	k_ar_case "k: incoming AR of ours in mixed case ($mixed) above a foreign one: ours removed, the foreign kept, ours added once" \
		ar-mixed 1 \
		"Authentication-Results: $mixed; dkim=pass header.d=forged.example" \
		"Authentication-Results: mx.kept.example; spf=pass smtp.mailfrom=kept.example"
	k_ar_case "k: incoming AR of ours as \"(comment) id 1;\" below a foreign one whose id only starts with ours: ours removed, the foreign kept, ours added once" \
		ar-comment 1 \
		"Authentication-Results: $IT_AUTHSERV_DKIM.kept.example; dkim=pass header.d=kept.example" \
		"Authentication-Results: (from the forger) $IT_AUTHSERV_DKIM 1; dmarc=pass header.from=forged.example"
	k_ar_case "k: two incoming ARs of ours (lower-case field name; quoted-string id) around a foreign one: both removed, the foreign kept, ours added once" \
		ar-two 2 \
		"authentication-results: $IT_AUTHSERV_DKIM; spf=pass smtp.mailfrom=forged.example" \
		"Authentication-Results: mx.kept.example; dkim=fail header.d=kept.example" \
		"Authentication-Results: \"$IT_AUTHSERV_DKIM\"; dmarc=pass header.from=forged.example"

	k_ar_case "k: incoming ARs of ours in obsolete or bare forms (space before the colon; the id on a continuation line; \"id(comment);\" without spaces) between foreign ones: all three removed, the foreign kept, ours added once" \
		ar-obs 3 \
		"Authentication-Results : $IT_AUTHSERV_DKIM; dkim=pass header.d=forged1.example" \
		"Authentication-Results: mx.kept.example; spf=pass smtp.mailfrom=kept1.example" \
		"Authentication-Results:
	$IT_AUTHSERV_DKIM; dkim=pass header.d=forged2.example" \
		"Authentication-Results:$IT_AUTHSERV_DKIM(forged3);dmarc=pass header.from=bank.example" \
		"Authentication-Results: mx.kept.example; spf=pass smtp.mailfrom=kept2.example"

	# f: 40 signatures: our results do not fit one header
	name="k: 40 DKIM signatures: delivered; several Authentication-Results of ours, no line over 998 octets, no field over 1000 characters, 40 dkim results"
	id=$(k_new_id forty)
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/signed.txt" >"$d/forty.txt"
	for _ in $(seq 1 40); do
		k_sign "$d/forty.txt" "$d/forty.txt" || break
	done
	n=$(grep -c '^DKIM-Signature:' "$d/forty.txt")
	send_k "$id" rcpt@example.org "$(k_msg forty)"
	if [ "$n" -ne 40 ]; then
		not_ok "$name" "the message has $n DKIM-Signature fields, expected 40"
	elif [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		rep=$(ar_report "$f")
		ours=$(ar_ours "$rep")
		echo "# k: 40 signatures: $(grep -c . <<<"$ours") Authentication-Results of ours; LINES MAXLINE LENGTH of each: $(cut -f 1 <<<"$ours" | cut -d ' ' -f 1-3 | paste -sd ',')"
		if [ "$(grep -c . <<<"$ours")" -lt 2 ]; then
			not_ok "$name" "$(grep -c . <<<"$ours") Authentication-Results of ours, expected several: $rep"
		elif [ "$(grep -c . <<<"$rep")" -ne "$(grep -c . <<<"$ours")" ]; then
			not_ok "$name" "Authentication-Results that are not ours at the sink: $rep"
		elif awk '$2 > 998 { bad = 1 } END { exit !bad }' <<<"$rep"; then
			not_ok "$name" "a line over 998 octets (LINES MAXLINE LENGTH): $(cut -f 1 <<<"$rep" | paste -sd ',')"
		elif awk '$3 > 1000 { bad = 1 } END { exit !bad }' <<<"$rep"; then
			not_ok "$name" "a field over 1000 characters (LINES MAXLINE LENGTH): $(cut -f 1 <<<"$rep" | paste -sd ',')"
		elif grep -q -v '^[0-9]* [0-9]* [0-9]* tab	' <<<"$rep"; then
			not_ok "$name" "a continuation line does not start with a TAB: $(cut -f 1 <<<"$rep" | paste -sd ',')"
		elif [ "$(grep -o '; dkim=[a-z]* ' <<<"$ours" | wc -l)" -ne 40 ] ||
		     [ "$(grep -o '; dkim=pass header\.d=signed\.example ' <<<"$ours" | wc -l)" -ne 8 ] ||
		     [ "$(grep -o '; dkim=neutral (not checked[^)]*) header\.d=signed\.example ' <<<"$ours" | wc -l)" -ne 32 ]; then
			not_ok "$name" "expected 40 dkim results, 8 pass and 32 neutral (not checked): $(grep -o '; dkim=[a-z]*[^;]*' <<<"$ours" | cut -c 1-60 | sort | uniq -c | head -n 5)"
		elif [ "$(grep -o '; dmarc=pass [^;]*header\.from=signed\.example' <<<"$ours" | wc -l)" -ne 1 ]; then
			not_ok "$name" "not exactly one dmarc=pass header.from=signed.example: $ours"
		else
			ok "$name"
		fi
	fi

	name="k: the dkim instance exits 0 on SIGTERM"
	if gh_stop dkim; then
		ok "$name"
	else
		not_ok "$name" "exit status $?"
	fi
	dns_stop
	echo "# k: DKIM, DMARC and Authentication-Results through Postfix took $(( $(now_ms) - t_group )) ms"
}

# -- final checks over the whole run
test_never_delivered() {
	local name="refused messages never reached the sink (checked after every other delivery)"
	local id bad=""
	for id in "${IT_NEVER_IDS[@]}"; do
		sink_has "X-Test-Id: $id" && bad="$bad $id"
	done
	if [ -n "$bad" ]; then
		not_ok "$name" "delivered:$bad"
	else
		ok "$name"
	fi
}

test_no_internal_errors() {
	local name="no internal errors or crashes in gatehouse's logs"
	local hits
	hits=$(grep -hE 'internal error|out of memory|smfi_setreply failed|header edit on .* failed|stopped on its own|AddressSanitizer|runtime error' \
		"$IT_DIR"/gh-*.log 2>/dev/null | head -n 5)
	if [ -n "$hits" ]; then
		not_ok "$name" "$hits"
	else
		ok "$name"
	fi
}

# -- l: the rule language through Postfix (its own file)
# shellcheck source=rules.sh source-path=SCRIPTDIR
. "$IT_HERE/rules.sh"

# ================================================================ main

echo "# gatehouse integration suite: $IT_GH"
echo "# temp dir $IT_DIR"
if ! setup; then
	echo "not ok - setup: the private Postfix, smtp-sink or gatehouse did not start"
	IT_FAILED=1
	diag_logs
	echo "0 passed, 1 failed"
	exit 1
fi
echo "# setup done in $(( $(now_ms) - IT_START_MS )) ms"

IT_TESTS=(
	test_miltertest
	test_accept_status_header
	test_summary_qid
	test_no_from
	test_bad_mail_from
	test_bad_rcpt
	test_bad_rcpt_only_that_one
	test_long_header_line
	test_long_folded_header
	test_sighup
	test_load
	test_unix_socket
	test_milter_down
	test_sigterm_drain
	test_spf_dns
	test_dkim_dmarc
	test_rules
	test_never_delivered
	test_no_internal_errors
)
for t in "${IT_TESTS[@]}"; do
	if [ -n "${GH_IT_ONLY:-}" ] && ! [[ $t =~ $GH_IT_ONLY ]]; then
		continue
	fi
	"$t"
done

echo "# total $(( $(now_ms) - IT_START_MS )) ms"
echo "$IT_PASSED passed, $IT_FAILED failed"
[ "$IT_FAILED" -eq 0 ]
