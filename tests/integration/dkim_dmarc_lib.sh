# shellcheck shell=bash
# dkim_dmarc_lib.sh - the helpers of group k (dkim_dmarc.sh, which says what
# the group does): the "dkim" instance's config, signing messages with
# tests/tools/dkim_sign, sending them, reading the summary line, and reading
# and checking the Authentication-Results of the relayed message. Sourced by
# run.sh.

IT_DKIM_SIGN=
K_LINE=		# the summary line k_refused found
IT_K_SENDER_DOMAIN=nospf.example

# dkim_conf_lines - the directives of an instance on the DKIM port with real
# DNS and its own authserv-id (gh_dkim_conf; group r's gh_rua_conf adds to them)
dkim_conf_lines() {
	cat <<EOF
socket = "inet:$IT_MILTER_DKIM_PORT@127.0.0.1"
authserv_id = "$IT_AUTHSERV_DKIM"
log_level = "info"
drain_timeout_ms = 3000
dns_forwarders = "127.0.0.1@$IT_DNS_PORT"
dns_timeout_ms = $IT_SPF_TIMEOUT_MS
internal_networks = ""
EOF
}

gh_dkim_conf() {
	{
		echo '# gatehouse instance "dkim" of the integration suite: real DNS, its own authserv-id'
		dkim_conf_lines
	} | gh_conf_dns dkim
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

# k_sign IN OUT [SIGNER OPTIONS] - IN (LF lines) with one more
# DKIM-Signature by signed.example, selector s1
k_sign() {
	local in=$1 out=$2
	shift 2
	ASAN_OPTIONS=detect_leaks=0 timeout 30 "$IT_DKIM_SIGN" -k "$IT_DIR/dkim/signed.pem" \
		-d signed.example -s s1 "$@" <"$in" >"$out.tmp" && mv "$out.tmp" "$out"
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
		# shellcheck disable=SC2034 # read by test_dkim_dmarc
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

# send_k_from ID FROM RCPTS FILE - like send_k with MAIL FROM FROM ("<>" for
# a bounce) and RCPTS (comma-separated)
send_k_from() {
	SWAKS_HELO=mx.example send_swaks "$IT_SMTPD_DKIM_PORT" --local-interface "$IT_SPF_CLIENT_IP" \
		-f "$2" -t "$3" --data "@$4"
}

# k_plain ID FROM_HEADER - an unsigned message with X-Test-Id ID
k_plain() {
	cat <<EOF
From: $2
To: <rcpt@example.org>
Subject: issue 11 ($1)
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-ID: <$1@test.example>
X-Test-Id: $1

body
EOF
}

# k_issue11 DIR - the holes of issue 11 through Postfix: an exemption
# that must hold for every recipient, a forwarded message whose SPF fails
# but whose aligned DKIM signature passes (spf_reject_at = dmarc, the
# default), a bounce with an empty From address, a DMARC record with a
# stray token, an A-label From domain, and dkim=none for unsigned mail
k_issue11() {
	local d=$1 name id reply f ours
	name="k: forged From: ceo@bank.example to rcpt@ and postmaster@ together: 550 5.7.1 at end of DATA, delivered to neither (an exemption holds only when every recipient is exempt)"
	id=$(k_new_id exempt2)
	IT_NEVER_IDS+=("$id")
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/bank.txt" >"$d/exempt2.txt"
	send_k_from "$id" "$id@$IT_K_SENDER_DOMAIN" "rcpt@example.org,postmaster@$IT_DOMAIN" "$(k_msg exempt2)"
	k_refused "$name" "$id" '.*bank\.example' && ok "$name"

	name="k: forwarded: MAIL FROM of signed.example (SPF -all) from a host it does not list, aligned DKIM pass: delivered (spf_reject_at = dmarc)"
	id=$(k_new_id fwd)
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/signed.txt" >"$d/fwd.in"
	k_sign "$d/fwd.in" "$d/fwd.txt"
	send_k_from "$id" "$id@signed.example" rcpt@example.org "$(k_msg fwd)"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to RCPT: $(swaks_reply_to '^ -> RCPT TO'); to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		ours=$(ar_ours "$(ar_report "$(delivered_file "$id")")")
		if ! grep -q '; spf=fail ' <<<"$ours" || ! grep -q '; dmarc=pass ' <<<"$ours"; then
			not_ok "$name" "expected spf=fail and dmarc=pass in ours: $ours"
		else
			ok "$name"
		fi
	fi

	name="k: the same forward unsigned: 550 at end of DATA (SPF's refusal, held for DMARC)"
	id=$(k_new_id fwdbad)
	IT_NEVER_IDS+=("$id")
	k_plain "$id" "Someone <someone@signed.example>" >"$d/fwdbad.txt"
	send_k_from "$id" "$id@signed.example" rcpt@example.org "$(k_msg fwdbad)"
	reply=$(swaks_reply_to '^ -> \.$')
	if [ "$SWAKS_RC" -ne 26 ] || ! grep -Eq '^550 5\.7\.(1|23) ' <<<"$reply"; then
		not_ok "$name" "swaks exit $SWAKS_RC, reply to the dot: $reply"
	elif sink_has "X-Test-Id: $id"; then
		not_ok "$name" "the message reached the sink"
	else
		ok "$name"
	fi

	name="k: a bounce (MAIL FROM <>) with From: MAILER-DAEMON <>: delivered"
	id=$(k_new_id bounce)
	k_plain "$id" "MAILER-DAEMON <>" >"$d/bounce.txt"
	send_k_from "$id" "<>" rcpt@example.org "$(k_msg bounce)"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		ok "$name"
	fi

	name="k: From: a@stray.example, whose record is \"v=DMARC1; p=reject; fo:0\": 550 5.7.1 (the stray token is ignored, RFC 9989)"
	id=$(k_new_id stray)
	IT_NEVER_IDS+=("$id")
	k_plain "$id" "Someone <a@stray.example>" >"$d/stray.txt"
	send_k "$id" rcpt@example.org "$(k_msg stray)"
	k_refused "$name" "$id" '.*stray\.example' && ok "$name"

	name="k: From: user@xn--mnchen-3ya.example (p=reject): 550 5.7.1, the policy found under the A-label"
	id=$(k_new_id idn)
	IT_NEVER_IDS+=("$id")
	k_plain "$id" "User <user@xn--mnchen-3ya.example>" >"$d/idn.txt"
	send_k "$id" rcpt@example.org "$(k_msg idn)"
	k_refused "$name" "$id" '.*xn--mnchen-3ya\.example' && ok "$name"

	name="k: signed by signed.example, then junk put into b=: dkim=permerror, so DMARC fails and p=reject refuses it (550 5.7.1)"
	id=$(k_new_id bjunk)
	IT_NEVER_IDS+=("$id")
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/signed.txt" >"$d/bjunk.in"
	k_sign "$d/bjunk.in" "$d/bjunk.signed"
	sed "s/^$(printf '\t')b=/$(printf '\t')b=!#/" "$d/bjunk.signed" >"$d/bjunk.txt"
	send_k "$id" rcpt@example.org "$(k_msg bjunk)"
	if ! grep -q "$(printf '\t')b=!#" "$d/bjunk.txt"; then
		not_ok "$name" "the signature's b= line was not found to spoil"
	elif k_refused "$name" "$id" '.*signed\.example'; then
		if grep -q ' dkim=signed\.example:permerror ' <<<"$K_LINE"; then
			ok "$name"
		else
			not_ok "$name" "summary line lacks dkim=signed.example:permerror: $K_LINE"
		fi
	fi

	name="k: an unsigned message: dkim=none in our Authentication-Results"
	id=$(k_new_id unsigned)
	k_plain "$id" "Someone <someone@plain.example>" >"$d/unsigned.txt"
	send_k "$id" rcpt@example.org "$(k_msg unsigned)"
	if [ "$SWAKS_RC" -ne 0 ] || ! wait_delivered "$id"; then
		not_ok "$name" "swaks exit $SWAKS_RC, or not delivered"
	else
		f=$(delivered_file "$id")
		ours=$(ar_ours "$(ar_report "$f")")
		if grep -q '; dkim=none ' <<<"$ours"; then
			ok "$name"
		else
			not_ok "$name" "no dkim=none in ours: $ours"
		fi
	fi
}
