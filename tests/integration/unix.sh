# shellcheck shell=bash
# unix.sh - group h: a second gatehouse instance ("unix") on a unix socket
# with owner group postfix and mode 0660, its pid_file, mail through it and
# a clean SIGTERM. Sourced by run.sh; the helpers are lib.sh's.

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

# -- h: a slow client: Postfix sends the milter the message only once all of
# it is in, so the milter connection is silent for as long as the client
# takes (pauses of 4 s here, with milter_timeout_s = 2): inside an SMTP
# session the longer milter_session_timeout_s applies, and the message is
# checked and delivered (it was tempfailed after the final dot)
test_slow_client() {
	local name="h: a client pausing 4 s before DATA and 4 s inside the message (milter_timeout_s = 2): checked and delivered"
	local id out
	gh_conf slow <<EOF
socket = "unix:$IT_DIR/gh.sock"
socket_group = "postfix"
socket_mode = "0660"
authserv_id = "$IT_AUTHSERV"
log_level = "info"
milter_timeout_s = 2
EOF
	if ! gh_start slow; then
		not_ok "$name" "gatehouse did not start on $IT_DIR/gh.sock"
		return
	fi
	id=$(new_id slow)
	if ! out=$("$IT_PYTHON" "$IT_HERE/slow_data.py" "$IT_SMTPD_UNIX_PORT" "$id" 4 2>&1); then
		not_ok "$name" "the message was not accepted: $(tr '\n' ' ' <<<"$out")"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	elif [ "$(status_header_count "$(delivered_file "$id")")" -ne 1 ]; then
		not_ok "$name" "delivered without X-Gatehouse: gatehouse did not check it"
	elif log_has "$IT_DIR/gh-slow.log" 'connection idle'; then
		not_ok "$name" "gatehouse closed a connection: $(grep 'connection idle' "$IT_DIR/gh-slow.log" | head -n 1)"
	else
		ok "$name"
	fi
	gh_stop slow
}
