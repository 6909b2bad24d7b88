# shellcheck shell=bash
# ratelimit.sh - group o: rate limits shared by two MTA hosts through Redis.
#
# Two Postfix instances ("rla" and "rlb", each its own queue, config and
# smtpd port), each with its own gatehouse, share one private redis-server
# that this group starts (unix socket, no persistence) and stops by its
# PID. Both Postfix instances offer SMTP AUTH through Cyrus SASL (one
# user, carol, in one realm), so the login's limit is tested through
# Postfix itself; the other steps use the sender domain's limit (a fresh
# domain per step; loopback clients are outbound: internal_networks).
#
#   1. shared: 4 messages per hour for a domain; 3 through host A, then 3
#      through host B: B accepts one and answers 451 4.7.1 "try again in"
#      at RCPT for the other two, which never arrive; `gatehouse ratelimit
#      show` reads the counter in Redis, `reset` clears it.
#  1b. carol, authenticated, may send 2 an hour: one through A, one
#      through B, and the next through A gets 451 4.7.1.
#   2. Redis stopped (SIGTERM by PID): each host counts locally (the
#      default fallback) and logs that once; every message is answered
#      at once and delivered; the daemon's in-process counter is read
#      through its control socket.
#   3. reload to ratelimit_redis_fallback = tempfail and a doubled limit
#      with Redis still down: the in-process counter survives the reload
#      and is read with the new limit; the next message is answered
#      451 4.7.1 and not delivered.
#   4. Redis started again: after its backoff (1 s) each host logs that
#      Redis is back and the counting is shared again.
#   5. the login limit through test mode too: runs with host A's and host
#      B's config share one counter.
#   6. Redis hanging (SIGSTOP): the command times out, the host falls
#      back, the message is delivered.
# Every message of the group is either delivered or answered 451 4.7.1,
# and the refused ones never arrive (final.sh). Sourced by run.sh; the
# helpers are lib.sh's.

IT_RL_SMTPD_A=10051	# smtpd of Postfix instance "rla"
IT_RL_SMTPD_B=10052	# smtpd of Postfix instance "rlb"
IT_RL_MILTER_A=8897	# gatehouse "rla"
IT_RL_MILTER_B=8898	# gatehouse "rlb"
IT_RL_DIR=		# $IT_DIR/rl: redis.sock, redis.log, the Postfix instances
IT_RL_REDIS_PID=

# o_redis_start - the private redis-server on $IT_RL_DIR/redis.sock
o_redis_start() {
	rm -f "$IT_RL_DIR/redis.sock"
	redis-server --port 0 --unixsocket "$IT_RL_DIR/redis.sock" --unixsocketperm 700 \
		--save '' --appendonly no --dir "$IT_RL_DIR" --daemonize no \
		>>"$IT_RL_DIR/redis.log" 2>&1 &
	IT_RL_REDIS_PID=$!
	IT_BG_PIDS+=("$IT_RL_REDIS_PID")
	wait_until 10 test -S "$IT_RL_DIR/redis.sock"
}

# o_redis_stop - SIGTERM by PID, and wait for it
o_redis_stop() {
	[ -n "$IT_RL_REDIS_PID" ] || return 0
	stop_pid "$IT_RL_REDIS_PID"
	wait "$IT_RL_REDIS_PID" 2>/dev/null
	IT_RL_REDIS_PID=
}

# o_gh_conf NAME PORT FALLBACK [DOMAIN_LIMIT] - the config of host NAME's gatehouse
o_gh_conf() {
	gh_conf "$1" <<EOF
# gatehouse of rate-limit host $1 (group o)
socket = "inet:$2@127.0.0.1"
log_level = "info"
ratelimit_sender_domain = ${4:-4/1h}
ratelimit_login = 2/1h burst 2
ratelimit_redis = "unix:$IT_RL_DIR/redis.sock"
ratelimit_redis_timeout_ms = 300
ratelimit_redis_fallback = $3
control_socket = "$IT_RL_DIR/$1.ctl"
EOF
}

# o_postfix_setup NAME SMTPD_PORT MILTER_PORT - Postfix instance NAME in
# $IT_RL_DIR/NAME, relaying example.org to the suite's sink, with SMTP
# AUTH through Cyrus SASL (sasldb, as group p does) for the user carol in
# one realm for both hosts, so both hand gatehouse the same {auth_authen}
o_postfix_setup() {
	local d=$IT_RL_DIR/$1
	mkdir -p "$d/postfix/sasl"
	printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: %s\n' \
		"$d/postfix/sasl/sasldb2" >"$d/postfix/sasl/smtpd.conf"
	echo secret-carol | saslpasswd2 -p -c -f "$d/postfix/sasl/sasldb2" -u fleet.gatehouse.test carol ||
		return 1
	chown postfix "$d/postfix/sasl/sasldb2"
	postfix_instance_setup "$d" "$IT_DOMAIN" "$IT_SINK_PORT" <<EOF
myhostname = $1.gatehouse.test
mydomain = gatehouse.test
inet_interfaces = loopback-only
smtpd_milters = inet:127.0.0.1:$3
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $d/postfix/sasl
smtpd_sasl_local_domain = fleet.gatehouse.test
smtpd_sasl_security_options = noanonymous
EOF
	echo "127.0.0.1:$2 inet n - n - - smtpd" >>"$d/postfix/master.cf"
}

# o_send PORT DOMAIN ID - one message from s@DOMAIN with X-Test-Id ID
# (with SMTP AUTH as carol when O_AUTH is set); prints the RCPT reply
o_send() {
	if [ -n "${O_AUTH:-}" ]; then
		send_swaks "$1" -f "s@$2" -t rcpt@example.org --add-header "X-Test-Id: $3" \
			--auth PLAIN --auth-user carol --auth-password secret-carol
	else
		send_swaks "$1" -f "s@$2" -t rcpt@example.org --add-header "X-Test-Id: $3"
	fi
	swaks_reply_to '^ -> RCPT TO:<rcpt@example\.org>'
}

# o_batch PORT DOMAIN N WHAT - send N messages; each id goes to
# O_DELIVER (RCPT answered 250) or O_REFUSED (answered 451 4.7.1); any
# other answer (a 5xx, none: a hang past swaks' timeout) lands in O_LOST
o_batch() {
	local i id reply
	for i in $(seq 1 "$3"); do
		id=$(new_id "rl-$4-$i")
		reply=$(o_send "$1" "$2" "$id")
		case $reply in
		250*) O_DELIVER+=("$id") ;;
		"451 4.7.1 "*)
			O_REFUSED+=("$id")
			IT_NEVER_IDS+=("$id")
			O_LAST_REFUSAL=$reply
			;;
		*) O_LOST+=("$id:$reply") ;;
		esac
	done
}

# o_all_delivered - every id in O_DELIVER reached the sink
o_all_delivered() {
	local id
	for id in "${O_DELIVER[@]}"; do
		wait_delivered "X-Test-Id: $id" 20 || return 1
	done
}

o_reset_counts() {
	O_DELIVER=()
	O_REFUSED=()
	O_LOST=()
	O_LAST_REFUSAL=
}

# o_teardown - both Postfix instances, both gatehouses, Redis
o_teardown() {
	postfix_instance_stop "$IT_RL_DIR/rla"
	postfix_instance_stop "$IT_RL_DIR/rlb"
	gh_stop rla
	gh_stop rlb
	o_redis_stop
}

test_ratelimit_fleet() {
	local pre="o: rate limits across two hosts through Redis"
	local out n conf before
	IT_RL_DIR=$IT_DIR/rl
	mkdir -p "$IT_RL_DIR"
	if ! command -v redis-server >/dev/null; then
		not_ok "$pre: set-up" "redis-server is not installed (packaging/install-deps.sh)"
		return
	fi
	if ! o_redis_start; then
		not_ok "$pre: set-up" "redis-server did not start"
		diag <"$IT_RL_DIR/redis.log"
		return
	fi
	o_gh_conf rla "$IT_RL_MILTER_A" local
	o_gh_conf rlb "$IT_RL_MILTER_B" local
	if ! o_postfix_setup rla "$IT_RL_SMTPD_A" "$IT_RL_MILTER_A" ||
		! o_postfix_setup rlb "$IT_RL_SMTPD_B" "$IT_RL_MILTER_B" || ! gh_start rla || ! gh_start rlb || ! postfix_instance_start "$IT_RL_DIR/rla" "$IT_RL_SMTPD_A" ||
		! postfix_instance_start "$IT_RL_DIR/rlb" "$IT_RL_SMTPD_B"; then
		not_ok "$pre: set-up" "a gatehouse or a Postfix instance did not start"
		o_teardown
		return
	fi

	# 1. one counter for both hosts
	o_reset_counts
	o_batch "$IT_RL_SMTPD_A" rl1.test 3 a
	o_batch "$IT_RL_SMTPD_B" rl1.test 3 b
	if [ "${#O_DELIVER[@]}" -ne 4 ] || [ "${#O_REFUSED[@]}" -ne 2 ] || [ "${#O_LOST[@]}" -ne 0 ]; then
		not_ok "$pre: 4/1h holds across hosts" "delivered ${#O_DELIVER[@]} (want 4), 451 ${#O_REFUSED[@]} (want 2), other: ${O_LOST[*]}"
	elif ! grep -q 'try again in [0-9]* s' <<<"$O_LAST_REFUSAL"; then
		not_ok "$pre: 4/1h holds across hosts" "refusal text: $O_LAST_REFUSAL"
	elif ! o_all_delivered; then
		not_ok "$pre: 4/1h holds across hosts" "an accepted message did not reach the sink"
	elif ! log_has "$IT_DIR/gh-rlb.log" 'ratelimit: refused key=msg:domain:rl1\.test limit=4/3600s burst=4 asked=1 available=0 wait=[0-9]+s'; then
		not_ok "$pre: 4/1h holds across hosts" "host B logged no refusal with key and counts"
	else
		ok "$pre: 4/1h holds across hosts (3 via A, 1 of 3 via B, 451 4.7.1 for 2)"
	fi
	# 1b. a login's limit (2/1h) across both hosts, through SMTP AUTH
	O_AUTH=1
	o_reset_counts
	o_batch "$IT_RL_SMTPD_A" rl1b.test 1 login-a
	o_batch "$IT_RL_SMTPD_B" rl1b.test 1 login-b
	o_batch "$IT_RL_SMTPD_A" rl1b.test 1 login-a2
	O_AUTH=
	if [ "${#O_DELIVER[@]}" -ne 2 ] || [ "${#O_REFUSED[@]}" -ne 1 ] || [ "${#O_LOST[@]}" -ne 0 ] || ! o_all_delivered; then
		not_ok "$pre: a login's limit holds across hosts (SMTP AUTH)" "delivered ${#O_DELIVER[@]} (want 2), 451 ${#O_REFUSED[@]} (want 1), other: ${O_LOST[*]}"
	elif ! log_has "$IT_DIR/gh-rla.log" 'ratelimit: refused key=msg:login:carol@fleet\.gatehouse\.test limit=2/3600s burst=2 asked=1 available=0 wait=[0-9]+s'; then
		not_ok "$pre: a login's limit holds across hosts (SMTP AUTH)" "host A logged no refusal of carol's login"
	else
		ok "$pre: a login's limit holds across hosts (SMTP AUTH: A, B, then A refused 451 4.7.1)"
	fi
	# the counter named as an admin may write it: the CLI asks for the
	# form mail is charged to (domains lower case, in A-labels)
	out=$("$IT_GH" ratelimit -c "$IT_DIR/gh-rla.conf" show domain:RL1.Test 2>&1)
	if grep -q '^msg:domain:rl1\.test available=0/4 full-in=3[0-9]*\.[0-9]*s limit=4/3600s burst=4$' <<<"$out" &&
		"$IT_GH" ratelimit -c "$IT_DIR/gh-rla.conf" reset domain:rl1.TEST >/dev/null 2>&1 &&
		[ "$(o_send "$IT_RL_SMTPD_B" rl1.test "$(new_id rl-after-reset)" | cut -c1-3)" = 250 ]; then
		ok "$pre: ratelimit show reads Redis, reset unblocks"
	else
		not_ok "$pre: ratelimit show reads Redis, reset unblocks" "show: $out"
	fi
	# a name that is no counter is refused, not answered "ok 0"
	out=$("$IT_GH" ratelimit -c "$IT_DIR/gh-rla.conf" show client:rl1.test 2>&1)
	rc=$?
	if [ "$rc" -eq 64 ] && grep -q 'client:rl1\.test: the client counter names no IP address' <<<"$out"; then
		ok "$pre: ratelimit refuses a counter name that names nothing (exit 64)"
	else
		not_ok "$pre: ratelimit refuses a counter name that names nothing (exit 64)" "exit $rc: $out"
	fi

	# 2. Redis gone: local counting, at once, nothing lost
	o_redis_stop
	o_reset_counts
	o_batch "$IT_RL_SMTPD_A" rl2.test 3 down-a
	o_batch "$IT_RL_SMTPD_B" rl2.test 3 down-b
	if [ "${#O_DELIVER[@]}" -ne 6 ] || [ "${#O_LOST[@]}" -ne 0 ] || ! o_all_delivered; then
		not_ok "$pre: Redis down, local fallback" "delivered ${#O_DELIVER[@]} (want 6), 451 ${#O_REFUSED[@]}, other: ${O_LOST[*]}"
	elif [ "$(log_count "$IT_DIR/gh-rla.log" 'ratelimit: redis failed .*: counting locally')" -ne 1 ]; then
		not_ok "$pre: Redis down, local fallback" "host A logged the outage $(log_count "$IT_DIR/gh-rla.log" 'ratelimit: redis failed') times (want 1)"
	else
		ok "$pre: Redis down: each host counts locally, all 6 delivered, outage logged once"
	fi
	# the in-process counter, through host A's control socket
	sed '/^ratelimit_redis = /d' "$IT_DIR/gh-rla.conf" >"$IT_RL_DIR/ctl-only.conf"
	out=$("$IT_GH" ratelimit -c "$IT_RL_DIR/ctl-only.conf" show domain:rl2.test 2>&1)
	if grep -q '^msg:domain:rl2\.test available=1/4 ' <<<"$out" && grep -q '^ok 1$' <<<"$out"; then
		ok "$pre: ratelimit show reads a daemon's in-process counter (control socket)"
	else
		not_ok "$pre: ratelimit show reads a daemon's in-process counter (control socket)" "$out"
	fi

	# 3. a reload to fallback = tempfail and a doubled domain limit, Redis
	# still down: the counter survives the reload and is read with the new
	# limit (3 of 4 used an hour's worth: 2 of 8 left, not 8 of 8); the
	# next message gets 451 4.7.1 and is not delivered
	o_gh_conf rla "$IT_RL_MILTER_A" tempfail 8/1h
	o_reset_counts
	if ! gh_hup rla 'configuration reloaded'; then
		not_ok "$pre: fallback tempfail after a reload" "host A did not log the reload"
	else
		sed '/^ratelimit_redis = /d' "$IT_DIR/gh-rla.conf" >"$IT_RL_DIR/ctl-only.conf"
		out=$("$IT_GH" ratelimit -c "$IT_RL_DIR/ctl-only.conf" show domain:rl2.test 2>&1)
		if grep -q '^msg:domain:rl2\.test available=2/8 .* limit=8/3600s burst=8$' <<<"$out"; then
			ok "$pre: a reload keeps the counters and applies its new limit to them"
		else
			not_ok "$pre: a reload keeps the counters and applies its new limit to them" "$out"
		fi
		o_batch "$IT_RL_SMTPD_A" rl3.test 1 tempfail
		if [ "${#O_REFUSED[@]}" -ne 1 ]; then
			not_ok "$pre: fallback tempfail after a reload" "delivered ${#O_DELIVER[@]}, other: ${O_LOST[*]} (want one 451 4.7.1)"
		else
			ok "$pre: Redis down, fallback tempfail (by SIGHUP): 451 4.7.1, not delivered"
		fi
	fi

	# 4. Redis back: shared counting resumes (after the 1 s backoff); both
	# hosts with the same limit again
	o_gh_conf rla "$IT_RL_MILTER_A" tempfail
	gh_hup rla 'configuration reloaded'
	o_redis_start
	sleep 1.2
	o_reset_counts
	o_batch "$IT_RL_SMTPD_A" rl4.test 2 back-a
	o_batch "$IT_RL_SMTPD_B" rl4.test 3 back-b
	if [ "${#O_DELIVER[@]}" -ne 4 ] || [ "${#O_REFUSED[@]}" -ne 1 ] || [ "${#O_LOST[@]}" -ne 0 ] || ! o_all_delivered; then
		not_ok "$pre: Redis back, shared again" "delivered ${#O_DELIVER[@]} (want 4), 451 ${#O_REFUSED[@]} (want 1), other: ${O_LOST[*]}"
	elif ! log_has "$IT_DIR/gh-rlb.log" 'ratelimit: redis is back: shared counting'; then
		not_ok "$pre: Redis back, shared again" "host B did not log that Redis is back"
	else
		ok "$pre: Redis back: counting shared again (2 via A, 2 of 3 via B)"
	fi

	# 5. the login limit (2/1h), through test mode with each host's config
	printf 'From: <s@rl5.test>\nTo: <rcpt@example.org>\nSubject: rl\n\nbody\n' >"$IT_RL_DIR/login.eml"
	out=""
	for conf in rla rlb rla; do
		"$IT_GH" test -c "$IT_DIR/gh-$conf.conf" --json --ip 192.0.2.9 --from s@rl5.test \
			--rcpt rcpt@example.org --auth carol "$IT_RL_DIR/login.eml" >"$IT_RL_DIR/login.json" 2>/dev/null
		out="$out $(jq -r .verdict.action "$IT_RL_DIR/login.json")"
	done
	n=$(jq -r '.checks[] | select(.name == "ratelimit") | .detail' "$IT_RL_DIR/login.json")
	if [ "$out" = " accept accept tempfail" ] && [ "$n" = "msg:login:carol over 2/3600s, wait 1800s" ]; then
		ok "$pre: login limit shared by test-mode runs of both hosts' configs"
	else
		not_ok "$pre: login limit shared by test-mode runs of both hosts' configs" "verdicts:$out; $n"
	fi

	# 6. Redis hanging (SIGSTOP): the command times out after
	# ratelimit_redis_timeout_ms, the host falls back, the message goes
	# through; nothing waits for Redis to wake up
	before=$(log_count "$IT_DIR/gh-rlb.log" 'ratelimit: redis failed \(command')
	kill -STOP "$IT_RL_REDIS_PID"
	o_reset_counts
	o_batch "$IT_RL_SMTPD_B" rl6.test 1 stopped
	kill -CONT "$IT_RL_REDIS_PID"
	if [ "${#O_DELIVER[@]}" -ne 1 ] || ! o_all_delivered; then
		not_ok "$pre: Redis hanging: timeout, then local fallback" "delivered ${#O_DELIVER[@]} (want 1), 451 ${#O_REFUSED[@]}, other: ${O_LOST[*]}"
	elif [ "$(log_count "$IT_DIR/gh-rlb.log" 'ratelimit: redis failed \(command')" -le "$before" ]; then
		not_ok "$pre: Redis hanging: timeout, then local fallback" "host B logged no failed command"
	else
		ok "$pre: Redis hanging (SIGSTOP): command timeout, local fallback, delivered"
	fi
	o_teardown
}
