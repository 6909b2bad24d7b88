# shellcheck shell=bash
# sendmail.sh - group m: gatehouse behind a real Sendmail 8.17 from Debian's
# packages (tests/lib/sendmail.sh: unpacked into IT_DIR/sendmail, never
# installed), its sendmail.cf built with m4 from an .mc that holds
# packaging/sendmail.mc.snippet, whose INPUT_MAIL_FILTER line must be
# README's. The same end-to-end checks as through Postfix: accepted mail
# carries our Authentication-Results at the top, a From of a p=reject
# domain that fails DMARC is refused 550, a message without From is
# refused, a quarantine action lands in Sendmail's quarantine (hf* queue
# files, mailq -qQ), and with gatehouse stopped F=T makes Sendmail answer
# 4xx; and mail through Sendmail's MSA daemon (outbound by its
# {daemon_name}) leaves DKIM-signed, its signatures still verifying after
# Sendmail's own header rewriting (which needs confMUST_QUOTE_CHARS empty:
# Sendmail otherwise quotes a display name with a "." after the milter has
# signed it). Sourced by run.sh; the helpers are lib.sh's.
#
# The "sendmail" instance of gatehouse answers DNS from a fixture file
# (bank.example publishes p=reject; every other name is NXDOMAIN) and
# treats every client as inbound (internal_networks = ""); clients send
# from IT_SPF_CLIENT_IP, HELO mx.example, MAIL FROM <ID@nospf.example>.

# shellcheck source=../lib/sendmail.sh source-path=SCRIPTDIR
. "$IT_HERE/../lib/sendmail.sh"

IT_SMTPD_SENDMAIL_PORT=10041		# the private Sendmail's MTA listener
IT_SMTPD_SENDMAIL_MSA_PORT=10042	# its MSA listener: {daemon_name} MSA, outbound
IT_MILTER_SENDMAIL_PORT=8941		# gatehouse instance "sendmail", inet
IT_SENDMAIL_HOST=mx.sendmail.test	# Sendmail's host name, the instance's authserv-id
IT_SENDMAIL_PID=
IT_SENDMAIL_SYSLOG_PID=

# m_fail NAME WHY - not_ok with the tail of Sendmail's log as well
m_fail() {
	not_ok "$1" "$2"
	if [ -s "$IT_DIR/sendmail/maillog" ]; then
		echo "  -- tail of sendmail/maillog"
		tail -n 12 "$IT_DIR/sendmail/maillog" | cut -c 1-300 | diag
	fi
}

# m_send ID FILE - FILE as DATA to the private Sendmail
m_send() {
	SWAKS_HELO=mx.example send_swaks "$IT_SMTPD_SENDMAIL_PORT" --local-interface "$IT_SPF_CLIENT_IP" \
		-f "$1@nospf.example" -t rcpt@example.org --data "@$2"
}

# m_msg NAME ID FROM SUBJECT - msg/NAME.eml; no From field when FROM is empty
m_msg() {
	{
		[ -n "$3" ] && echo "From: $3"
		echo 'To: <rcpt@example.org>'
		echo "Subject: $4"
		echo 'Date: Mon, 1 Jan 2024 00:00:00 +0000'
		echo "Message-ID: <$2@nospf.example>"
		echo "X-Test-Id: $2"
		echo
		echo "A message of group m, through Sendmail."
	} | msg_file "$1" >/dev/null
}

# m_summary ID - the sendmail instance's summary line for the message of ID
m_summary() {
	grep -E " info: session=[0-9A-Z.]+ .* from=$1@nospf\\.example .*action=" \
		"$IT_DIR/gh-sendmail.log" | tail -n 1
}

m_summary_logged() {
	[ -n "$(m_summary "$1")" ]
}

# m_ar FILE - our Authentication-Results field of the delivered FILE, unfolded
m_ar() {
	ar_report "$1" | cut -f 2 | grep -F "Authentication-Results: $IT_SENDMAIL_HOST; "
}

# m_qid - Sendmail's queue id from "250 2.0.0 QID Message accepted for delivery"
m_qid() {
	sed -n 's/^<-  250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted.*/\1/p' "$IT_DIR/last-client.out" | tail -n 1
}

# m_refused NAME ID REPLY_ERE - refused 550 5.7.1 at the end of DATA with a
# reply matching REPLY_ERE (decided at the end of the header or of the
# message: Sendmail hears it at the end of DATA either way), Sendmail logged
# the milter's reject, nothing delivered; the summary line in M_LINE
m_refused() {
	local name=$1 id=$2 reply
	reply=$(swaks_reply_to '^ -> \.$')
	wait_until 5 m_summary_logged "$id"
	M_LINE=$(m_summary "$id")
	if [ "$SWAKS_RC" -ne 26 ]; then
		m_fail "$name" "swaks exit $SWAKS_RC, expected 26; reply to the dot: $reply"
	elif ! grep -Eq "^550 5\\.7\\.1 $3" <<<"$reply"; then
		m_fail "$name" "reply to the final dot: '$reply', expected 550 5.7.1 $3"
	elif ! wait_until 5 log_has "$IT_DIR/sendmail/maillog" "Milter: data, reject=550 5\\.7\\.1 $3"; then
		m_fail "$name" "Sendmail's log has no 'Milter: data, reject=550 5.7.1 ...'"
	elif ! grep -Eq ' action=reject phase=eo[hm] code=550 ecode=5\.7\.1 ' <<<"$M_LINE"; then
		m_fail "$name" "summary line: ${M_LINE:-none}"
	elif sink_has "X-Test-Id: $id"; then
		m_fail "$name" "the message reached the sink"
	else
		return 0
	fi
	return 1
}

# m_stop - Sendmail and its syslog listener
m_stop() {
	sendmail_instance_stop "$IT_SENDMAIL_PID" "$IT_SENDMAIL_SYSLOG_PID"
	IT_SENDMAIL_PID=
	IT_SENDMAIL_SYSLOG_PID=
}

# m_setup - unpack, configure and start Sendmail and the "sendmail" instance
m_setup() {
	local name=$1 d=$IT_DIR/sendmail top readme_line filter missing
	top=$(cd "$IT_HERE/../.." && pwd)
	missing=$(sendmail_debs_missing)
	if [ -n "$missing" ]; then
		m_fail "$name" "not in $SENDMAIL_DEBS_DIR: $missing (packaging/install-deps.sh downloads them)"
		return 1
	fi
	# README's line, and the snippet holds it: the .mc is the snippet with
	# the suite's port in place of 8891
	readme_line=$(grep -E '^INPUT_MAIL_FILTER\(`gatehouse' "$top/README.md" | head -n 1)
	if [ -z "$readme_line" ] || ! grep -qxF -- "$readme_line" "$top/packaging/sendmail.mc.snippet"; then
		m_fail "$name" "README's INPUT_MAIL_FILTER line '$readme_line' is not in packaging/sendmail.mc.snippet"
		return 1
	fi
	case $readme_line in
	*"S=inet:8891@127.0.0.1, F=T,"*) ;;
	*)
		m_fail "$name" "README's line no longer says S=inet:8891@127.0.0.1, F=T: $readme_line"
		return 1
		;;
	esac
	if ! sendmail_unpack "$d"; then
		m_fail "$name" "dpkg-deb -x of the packages in $SENDMAIL_DEBS_DIR failed"
		return 1
	fi
	filter=$(sed "s/inet:8891@127\\.0\\.0\\.1/inet:$IT_MILTER_SENDMAIL_PORT@127.0.0.1/" \
		"$top/packaging/sendmail.mc.snippet"
		echo "DAEMON_OPTIONS(\`Family=inet, Name=MSA, Addr=127.0.0.1, Port=$IT_SMTPD_SENDMAIL_MSA_PORT')dnl")
	if ! sendmail_instance_setup "$d" "$IT_SENDMAIL_HOST" "$IT_SMTPD_SENDMAIL_PORT" "$IT_SINK_PORT" \
		"$IT_DOMAIN" <<<"$filter"; then
		m_fail "$name" "m4 could not build sendmail.cf: $(head -c 300 "$d/m4.out")"
		return 1
	fi
	if ! grep -qxF "Xgatehouse, S=inet:$IT_MILTER_SENDMAIL_PORT@127.0.0.1, F=T, T=S:30s;R:2m;E:5m" \
		"$d/sendmail.cf"; then
		m_fail "$name" "sendmail.cf has no Xgatehouse line for README's filter: $(grep '^Xgatehouse' "$d/sendmail.cf")"
		return 1
	fi
	cat >"$d/dns.zone" <<EOF
; DNS answers of the "sendmail" instance; every other name is NXDOMAIN
bank.example. TXT "v=spf1 -all"
_dmarc.bank.example. TXT "v=DMARC1; p=reject"
EOF
	mkdir -p "$d/rules"
	cat >"$d/rules/10-m.rules" <<'EOF'
# group m: what Sendmail does with a quarantine
rule hold_it {
    when subject ~ /^please hold me$/
    quarantine "held by %{rule}"
}
EOF
	# signing keys for example.com, as tests/integration/submission.sh makes them
	mkdir -p "$d/keys"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/keys/rsa.pem" 2>/dev/null &&
		openssl genpkey -algorithm ed25519 -out "$d/keys/ed.pem" 2>/dev/null || return 1
	chmod 600 "$d"/keys/*.pem
	printf 'rsa  example.com:s1:%s\ned   example.com:ed:%s:ed25519-sha256\n' \
		"$d/keys/rsa.pem" "$d/keys/ed.pem" >"$d/KeyTable"
	echo '*@example.com  rsa, ed' >"$d/SigningTable"
	gh_conf_dns sendmail <<EOF
# gatehouse instance "sendmail" of the integration suite, behind Sendmail
socket = "inet:$IT_MILTER_SENDMAIL_PORT@127.0.0.1"
authserv_id = "$IT_SENDMAIL_HOST"
log_level = "info"
drain_timeout_ms = 3000
internal_networks = ""
outbound_daemon_names = "MSA"
dkim_key_table = "$d/KeyTable"
dkim_signing_table = "refile:$d/SigningTable"
dns_fixture = "$d/dns.zone"
rules_dir = "$d/rules"
EOF
	if ! ip addr replace "$IT_SPF_CLIENT_IP/32" dev lo; then
		m_fail "$name" "cannot add $IT_SPF_CLIENT_IP to lo"
		return 1
	fi
	if ! gh_start sendmail; then
		m_fail "$name" "the sendmail instance of gatehouse did not start"
		return 1
	fi
	if ! PYTHON=$IT_PYTHON sendmail_instance_start "$d" "$IT_SMTPD_SENDMAIL_PORT" >"$d/start.out"; then
		IT_SENDMAIL_PID=$SENDMAIL_PID
		IT_SENDMAIL_SYSLOG_PID=$SENDMAIL_SYSLOG_PID
		m_fail "$name" "Sendmail did not start: $(head -c 600 "$d/start.out")"
		return 1
	fi
	IT_SENDMAIL_PID=$SENDMAIL_PID
	IT_SENDMAIL_SYSLOG_PID=$SENDMAIL_SYSLOG_PID
	IT_BG_PIDS+=("$IT_SENDMAIL_PID" "$IT_SENDMAIL_SYSLOG_PID")
}

# -- m: Sendmail
test_sendmail() {
	local name id f hdr ours qid line reply t_group d=$IT_DIR/sendmail before
	t_group=$(now_ms)
	name="m: Debian's Sendmail 8.17, unpacked into a private root, runs with a sendmail.cf built by m4 from packaging/sendmail.mc.snippet (README's INPUT_MAIL_FILTER line)"
	if ! m_setup "$name"; then
		m_stop
		gh_stop sendmail
		return
	fi
	ok "$name ($(grep -m 1 -o 'starting daemon ([0-9.]*)' "$d/maillog"))"

	name="m: accepted through Sendmail: our Authentication-Results is the first field of the delivered message (above Sendmail's Received), the summary line has Sendmail's queue id"
	id=$(new_id smaccept)
	m_msg smaccept "$id" 'Someone <someone@plain.example>' 'through sendmail'
	m_send "$id" "$IT_DIR/msg/smaccept.eml"
	qid=$(m_qid)
	if [ "$SWAKS_RC" -ne 0 ] || [ -z "$qid" ]; then
		m_fail "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		m_fail "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		hdr=$(sink_header_block "$f" | tr -d '\r')
		ours=$(grep -ci '^authentication-results:' <<<"$hdr")
		line=$(m_summary "$id")
		if ! head -n 1 <<<"$hdr" | grep -qxF "Authentication-Results: $IT_SENDMAIL_HOST;"; then
			m_fail "$name" "the first field is not 'Authentication-Results: $IT_SENDMAIL_HOST;': $(head -n 3 <<<"$hdr")"
		elif [ "$ours" -ne 1 ]; then
			m_fail "$name" "$ours Authentication-Results fields at the sink"
		elif ! grep -Eq "; spf=none (\\([^)]*\\) )?smtp\\.mailfrom=$id@nospf\\.example;" <<<"$(m_ar "$f")" ||
		     ! grep -Eq '; dmarc=none header\.from=plain\.example(;|$)' <<<"$(m_ar "$f")"; then
			m_fail "$name" "no spf=none smtp.mailfrom=$id@nospf.example and dmarc=none header.from=plain.example: $(m_ar "$f")"
		elif ! grep -Eq "^Received: from mx\\.example .*" <<<"$hdr"; then
			m_fail "$name" "no Received field of Sendmail's at the sink"
		elif ! grep -q " qid=$qid .*action=accept " <<<"$line"; then
			m_fail "$name" "summary line without qid=$qid ... action=accept: ${line:-none}"
		else
			ok "$name"
		fi
	fi

	name="m: From: ceo@bank.example (p=reject, SPF -all, unsigned) through Sendmail: 550 5.7.1 at the end of DATA naming bank.example, not delivered"
	id=$(new_id smbank)
	IT_NEVER_IDS+=("$id")
	m_msg smbank "$id" 'CEO <ceo@bank.example>' 'urgent wire transfer'
	m_send "$id" "$IT_DIR/msg/smbank.eml"
	if m_refused "$name" "$id" '.*bank\.example'; then
		if ! grep -q ' dmarc=fail ' <<<"$M_LINE"; then
			m_fail "$name" "summary line lacks dmarc=fail: $M_LINE"
		else
			ok "$name"
		fi
	fi

	name="m: no From field through Sendmail: 550 5.7.1 at the end of DATA, not delivered (Sendmail hands the header on as it came)"
	id=$(new_id smnofrom)
	IT_NEVER_IDS+=("$id")
	m_msg smnofrom "$id" '' 'no author'
	m_send "$id" "$IT_DIR/msg/smnofrom.eml"
	if m_refused "$name" "$id" '.*[Nn]o From'; then
		if ! grep -q ' checks=sanity\.from:fail ' <<<"$M_LINE"; then
			m_fail "$name" "summary line lacks checks=sanity.from:fail: $M_LINE"
		else
			ok "$name"
		fi
	fi

	name="m: a quarantine rule through Sendmail: 250, the message is in Sendmail's quarantine (hf file, mailq -qQ shows the reason), not delivered"
	id=$(new_id smhold)
	IT_NEVER_IDS+=("$id")
	m_msg smhold "$id" 'Someone <someone@plain.example>' 'please hold me'
	m_send "$id" "$IT_DIR/msg/smhold.eml"
	qid=$(m_qid)
	if [ "$SWAKS_RC" -ne 0 ] || [ -z "$qid" ]; then
		m_fail "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_until 5 sendmail_quarantined "$d" "$qid"; then
		m_fail "$name" "$qid is not quarantined: queue files $(sendmail_queue_files "$d" | tr '\n' ' '); mailq -qQ: $(sendmail_cmd "$d" -bp -qQ 2>&1 | tr '\n' ' ')"
	elif ! reply=$(sendmail_quarantined "$d" "$qid") || [ "$reply" != "QUARANTINE: held by hold_it" ]; then
		m_fail "$name" "mailq -qQ says '$reply', expected 'QUARANTINE: held by hold_it'"
	elif ! grep -q " qid=$qid .*rules=hold_it .*action=quarantine " <<<"$(m_summary "$id")"; then
		m_fail "$name" "summary line: $(m_summary "$id")"
	elif sink_has "X-Test-Id: $id"; then
		m_fail "$name" "the message reached the sink"
	else
		ok "$name"
	fi

	name="m: through Sendmail's MSA (outbound by {daemon_name}), a message from example.com is signed RSA and Ed25519, and both signatures verify on the delivered bytes"
	id=$(new_id sm-sign)
	{
		echo 'From: J. R. Doe <app@example.com>'
		echo 'To: Rcpt Example <rcpt@example.org>'
		echo 'Subject: signed through Sendmail'
		echo 'Date: Mon, 1 Jan 2024 00:00:00 +0000'
		echo "Message-ID: <$id@example.com>"
		echo "X-Test-Id: $id"
		echo
		echo "A message of group m, signed behind Sendmail."
	} | msg_file smsign >/dev/null
	SWAKS_HELO=app.example.com send_swaks "$IT_SMTPD_SENDMAIL_MSA_PORT" -f app@example.com \
		-t rcpt@example.org --data "@$IT_DIR/msg/smsign.eml"
	if [ "$SWAKS_RC" -ne 0 ]; then
		m_fail "$name" "swaks exit $SWAKS_RC; reply: $(grep '^<\*\*' "$IT_DIR/last-client.out" | head -n 1)"
	elif ! wait_delivered "$id"; then
		m_fail "$name" "message $id did not reach the sink"
	elif ! reply=$(/usr/bin/python3 "$IT_HERE/submission_verify.py" "$(delivered_file "$id")" "$d/keys" 2>&1) ||
		[ "$reply" != "ed25519-sha256,rsa-sha256" ]; then
		m_fail "$name" "python3-dkim: $reply"
	else
		ok "$name ($reply)"
	fi

	name="m: gatehouse stopped: Sendmail (F=T) answers 451 4.3.2, queues and delivers nothing"
	id=$(new_id smdown)
	IT_NEVER_IDS+=("$id")
	if ! gh_stop sendmail || port_listening "$IT_MILTER_SENDMAIL_PORT"; then
		m_fail "$name" "the sendmail instance did not stop cleanly"
	else
		m_msg smdown "$id" 'Someone <someone@plain.example>' 'while gatehouse is down'
		before=$(sendmail_queue_files "$d" | sort | tr '\n' ' ')
		m_send "$id" "$IT_DIR/msg/smdown.eml"
		reply=$(grep -E '^<\*\* ' "$IT_DIR/last-client.out" | head -n 1)
		if [ "$SWAKS_RC" -eq 0 ]; then
			m_fail "$name" "the message was accepted without the milter"
		elif ! grep -Eq '^<\*\* +451 4\.3\.2 ' <<<"$reply"; then
			m_fail "$name" "swaks exit $SWAKS_RC; first error reply '$reply', expected 451 4.3.2"
		elif ! wait_until 5 log_has "$d/maillog" 'Milter \(gatehouse\): error connecting to filter'; then
			m_fail "$name" "Sendmail's log does not say it could not reach gatehouse"
		elif [ "$(sendmail_queue_files "$d" | sort | tr '\n' ' ')" != "$before" ]; then
			m_fail "$name" "Sendmail queued something: $(sendmail_queue_files "$d" | tr '\n' ' ')"
		else
			ok "$name ($(swaks_reply_to '^ -> MAIL FROM' | cut -c 1-9) to MAIL FROM)"
		fi
	fi

	name="m: Sendmail stops on SIGTERM"
	m_stop
	if sendmail_queue_files "$d" | grep -q '^qf'; then
		m_fail "$name" "messages left in Sendmail's queue: $(sendmail_queue_files "$d" | tr '\n' ' ')"
	elif port_listening "$IT_SMTPD_SENDMAIL_PORT"; then
		m_fail "$name" "port $IT_SMTPD_SENDMAIL_PORT is still open"
	else
		ok "$name"
	fi
	echo "# m: Sendmail took $(($(now_ms) - t_group)) ms"
}
