# shellcheck shell=bash
# spf.sh - group j: SPF through Postfix with a real DNS server (unbound,
# tests/lib/unbound.sh), which is then stopped and replaced by a silent one.
# Sourced by run.sh; the helpers are lib.sh's.

# -- j: SPF with a real DNS server. The "spf" instance resolves through
# dns_forwarders to unbound on 127.0.0.1:IT_DNS_PORT (authoritative for
# example.): libunbound's real forwarding path, not the fixture. The client
# connects from IT_SPF_CLIENT_IP, an address added to lo, because libspf2
# passes every loopback client without a lookup ("localhost is always
# allowed"), whatever internal_networks says. IT_SPF_TIMEOUT_MS (lib.sh)
# is its dns_timeout_ms.

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

# spf_waiters_case - more sessions waiting on the silent DNS server than
# gatehouse has CPUs (its pollers, daemon/loop.c) do not hold up a new
# connection: the workers waiting on DNS gave their turns away
spf_waiters_case() {
	local n out ms bound=$((IT_SPF_TIMEOUT_MS / 2))
	n=$(($(nproc) + 2))
	local name="j: DNS server silent: $n sessions waiting on DNS (more than the CPUs) do not hold up a new connection: negotiated within $bound ms, all $n answered"
	out=$("$IT_PYTHON" "$IT_HERE/dns_wait_others.py" 127.0.0.1 "$IT_MILTER_SPF_PORT" "$n" \
		"$IT_SPF_CLIENT_IP" 2>&1)
	echo "# $out"
	ms=$(sed -n 's/.*optneg_ms=\([0-9]*\).*/\1/p' <<<"$out")
	if [ -z "$ms" ]; then
		not_ok "$name" "dns_wait_others.py: $out"
	elif [ "$ms" -ge "$bound" ]; then
		not_ok "$name" "the new connection waited $ms ms"
	elif [[ $out != *"answered=$n/$n"* ]]; then
		not_ok "$name" "not every waiting session was answered: $out"
	else
		ok "$name"
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

	# Forged Received-SPF fields that claim to be ours go, someone else's
	# stays, ours goes on top: the removals are sent before our insertion,
	# whose field the MTA would otherwise count as "Received-SPF #1"
	name="j: two forged Received-SPF claiming our receiver are removed, another host's is kept, ours is on top"
	id=$(new_id spfforged)
	SWAKS_HELO=mx.example send_swaks "$IT_SMTPD_SPF_PORT" --local-interface "$IT_SPF_CLIENT_IP" \
		-f "$id@pass.example" -t rcpt@example.org --add-header "X-Test-Id: $id" \
		--add-header "Received-SPF: pass (FORGED-1) receiver=$IT_AUTHSERV; client-ip=192.0.2.99;" \
		--add-header "Received-SPF: neutral (kept) receiver=mx.elsewhere.example; client-ip=192.0.2.98;" \
		--add-header "Received-SPF: pass (FORGED-2) receiver=\"$IT_AUTHSERV\"; client-ip=192.0.2.97;"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to RCPT: $(swaks_reply_to '^ -> RCPT TO:')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		hdrs=$(sink_header_block "$(delivered_file "$id")")
		rspf=$(grep -i '^received-spf:' <<<"$hdrs")
		if grep -q 'FORGED' <<<"$hdrs"; then
			not_ok "$name" "a forged field was delivered: $(grep FORGED <<<"$hdrs")"
		elif [ "$(grep -c . <<<"$rspf")" -ne 2 ]; then
			not_ok "$name" "$(grep -c . <<<"$rspf") Received-SPF fields delivered: $rspf"
		elif ! head -n 1 <<<"$rspf" | grep -Eq '^Received-SPF: pass \(mx\.gatehouse\.test: '; then
			not_ok "$name" "the first Received-SPF is not ours: $rspf"
		elif ! grep -q '^Received-SPF: neutral (kept) receiver=mx.elsewhere.example;' <<<"$rspf"; then
			not_ok "$name" "the other host's field is gone: $rspf"
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
		spf_waiters_case
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
