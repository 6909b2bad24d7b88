# shellcheck shell=bash
# reload.sh - the "main" instance's life under load and signals: SIGHUP with
# a changed and a broken config (f), 200 messages in parallel (e), gatehouse
# stopped while Postfix needs it (d) and SIGTERM draining a message in
# flight (g). Sourced by run.sh, which runs test_unix_socket (unix.sh)
# between e and d; the helpers are lib.sh's.

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
