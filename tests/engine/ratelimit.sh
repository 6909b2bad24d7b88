# tests/engine/ratelimit.sh - rate limits through test mode (issue 13);
# sourced by run.sh, which provides t, u, pass, fail, GH, DATA and TMP.
#
# In process, the counters live for one run: each run starts fresh, and the
# limits act within it (the recipient that would go over gets 451 4.7.1,
# earlier ones stay). With ratelimit_redis, consecutive runs share the
# counters through a private redis-server started here (unix socket, no
# persistence, stopped by its PID): the third message of a 2/1h login is
# tempfailed; `gatehouse ratelimit reset` unblocks it; with Redis stopped
# each ratelimit_redis_fallback answers as configured, at once.

RL="$TMP/ratelimit"
mkdir -p "$RL"
rlconf() {	# rlconf NAME LINES... - a config file in $RL
	local f="$RL/$1.conf"
	shift
	printf 'spf_received_header = no\n' >"$f"
	printf '%s\n' "$@" >>"$f"
	printf '%s' "$f"
}
RCPT_OVER='(.envelope.rcpts | map(.action)) == ["accept", "accept", "tempfail"]'
RL_CHECK() { printf 'any(.checks[]; .name == "ratelimit" and .result == "fail" and .detail == "%s")' "$1"; }

c=$(rlconf login 'ratelimit_login = 1/1h')
t "ratelimit: in process, a fresh run"       0 accept     -     -      eom    plain.eml -c "$c" --auth alice
t "ratelimit: in process, fresh again"       0 accept     -     -      eom    plain.eml -c "$c" --auth alice
c=$(rlconf rcpt 'ratelimit_login_rcpt = 2/1h')
t "ratelimit: third recipient over: 451"     0 accept     -     -      eom    plain.eml -c "$c" --auth alice --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- "$RCPT_OVER and (.envelope.rcpts[2].smtp_code == \"451\") and (.envelope.rcpts[2].enhanced_code == \"4.7.1\") and (.envelope.rcpts[2].text | test(\"try again in 1800 s\")) and $(RL_CHECK 'rcpt:login:alice over 2/3600s, wait 1800s')"
t "ratelimit: inbound mail is not limited"   0 accept     -     -      eom    plain.eml -c "$c" --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- '[.envelope.rcpts[].action] | all(. == "accept")'
c=$(rlconf domain 'ratelimit_sender_domain_rcpt = 1/1d burst 2' 'internal_networks = 192.0.2.0/24')
t "ratelimit: sender domain, internal net"   0 accept     -     -      eom    plain.eml -c "$c" --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- "$RCPT_OVER and $(RL_CHECK 'rcpt:domain:example.org over 1/86400s, wait 86400s')"
c=$(rlconf client 'ratelimit_client_rcpt = 2/1m' 'internal_networks = 192.0.2.0/24')
t "ratelimit: client address, internal net"  0 accept     -     -      eom    plain.eml -c "$c" --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- "$RCPT_OVER and $(RL_CHECK 'rcpt:client:192.0.2.1 over 2/60s, wait 30s')"
t "ratelimit: an authenticated client is not keyed by address" 0 accept - - eom plain.eml -c "$c" --auth alice --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- '[.envelope.rcpts[].action] | all(. == "accept")'
# per-counter overrides (ratelimit_overrides): less, none, the rest as the directive says
printf '# exceptions\nrcpt:login:alice 1/1h\nrcpt:login:bulk none\n' >"$RL/overrides"
c=$(rlconf overrides 'ratelimit_login_rcpt = 2/1h' "ratelimit_overrides = $RL/overrides")
t "ratelimit: an override gives alice less"  0 accept     -     -      eom    plain.eml -c "$c" --auth alice --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- "(.envelope.rcpts | map(.action)) == [\"accept\", \"tempfail\", \"tempfail\"] and $(RL_CHECK 'rcpt:login:alice over 1/3600s, wait 3600s')"
t "ratelimit: an override of none"           0 accept     -     -      eom    plain.eml -c "$c" --auth bulk --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- '[.envelope.rcpts[].action] | all(. == "accept")'
t "ratelimit: other logins: the directive"   0 accept     -     -      eom    plain.eml -c "$c" --auth carol --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- "$RCPT_OVER"
printf 'rcpt:login:alice 1/1h\nrcpt:login:bob 1/1fortnight\n' >"$RL/overrides-bad"
c=$(rlconf overrides-bad "ratelimit_overrides = $RL/overrides-bad")
u "ratelimit: a bad override is FILE:LINE"  78 --ip 192.0.2.1 --from a@example.org --rcpt b@example.net -c "$c" "$DATA/plain.eml" -- "$RL/overrides-bad:2: a period needs a unit"
c=$(rlconf bad 'ratelimit_login = 200/1h' 'ratelimit_client = 5/1w')
u "ratelimit: bad period is FILE:LINE"      78 --ip 192.0.2.1 --from a@example.org --rcpt b@example.net -c "$c" "$DATA/plain.eml" -- "$c:3"

if ! command -v redis-server >/dev/null; then
	fail "ratelimit: redis-server is needed (packaging/install-deps.sh installs redis-server)"
else
	redis-server --port 0 --unixsocket "$RL/redis.sock" --unixsocketperm 700 --save '' \
		--appendonly no --dir "$RL" --daemonize no >"$RL/redis.log" 2>&1 &
	RL_REDIS_PID=$!
	for _ in $(seq 1 50); do [ -S "$RL/redis.sock" ] && break; sleep 0.1; done
	c=$(rlconf redis 'ratelimit_login = 2/1h' "ratelimit_redis = unix:$RL/redis.sock")
	t "ratelimit redis: 1st run"              0 accept     -     -      eom    plain.eml -c "$c" --auth alice
	t "ratelimit redis: 2nd run"              0 accept     -     -      eom    plain.eml -c "$c" --auth alice
	# the wait counts from the first run: 1800 s less the seconds the runs
	# took (a loaded machine takes a few), so anything down to 1740 s
	W='(1800|17[4-9][0-9])'
	t "ratelimit redis: 3rd run shares: 451"  2 tempfail   451   4.7.1  rcpt   plain.eml -c "$c" --auth alice -- "any(.checks[]; .name == \"ratelimit\" and .result == \"fail\" and (.detail | test(\"^msg:login:alice over 2/3600s, wait ${W}s$\"))) and (.verdict.text | test(\"rate limit reached for this login, try again in $W s\"))"
	t "ratelimit redis: another login"        0 accept     -     -      eom    plain.eml -c "$c" --auth bob
	if "$GH" ratelimit -c "$c" show login:alice >"$RL/show.txt" 2>&1 &&
		grep -q '^msg:login:alice available=0/2 full-in=3[0-9][0-9][0-9]\.[0-9]*s limit=2/3600s burst=2$' "$RL/show.txt" &&
		grep -q '^ok 1 (redis)$' "$RL/show.txt"; then
		pass "ratelimit redis: show login:alice"
	else
		fail "ratelimit redis: show login:alice" "$(cat "$RL/show.txt")"
	fi
	if "$GH" ratelimit -c "$c" show >"$RL/show-all.txt" 2>&1 && grep -q '^msg:login:bob ' "$RL/show-all.txt" &&
		grep -q '^ok 2 (redis)$' "$RL/show-all.txt"; then
		pass "ratelimit redis: show all"
	else
		fail "ratelimit redis: show all" "$(cat "$RL/show-all.txt")"
	fi
	if "$GH" ratelimit -c "$c" reset login:alice >"$RL/reset.txt" 2>&1 && grep -q '^ok 1 (redis)$' "$RL/reset.txt"; then
		pass "ratelimit redis: reset login:alice"
	else
		fail "ratelimit redis: reset login:alice" "$(cat "$RL/reset.txt")"
	fi
	t "ratelimit redis: unblocked by reset"   0 accept     -     -      eom    plain.eml -c "$c" --auth alice
	kill "$RL_REDIS_PID"
	wait "$RL_REDIS_PID" 2>/dev/null
	# Redis gone: each fallback, answered at once (a missing socket)
	t "ratelimit redis down: local fallback"  0 accept     -     -      eom    plain.eml -c "$c" --auth alice
	c=$(rlconf redis-tempfail 'ratelimit_login = 2/1h' "ratelimit_redis = unix:$RL/redis.sock" 'ratelimit_redis_fallback = tempfail')
	t "ratelimit redis down: tempfail"        2 tempfail   451   4.7.1  rcpt   plain.eml -c "$c" --auth alice -- "any(.checks[]; .name == \"ratelimit\" and .result == \"temperror\")"
	t "ratelimit redis down: inbound unaffected" 0 accept  -     -      eom    plain.eml -c "$c"
	c=$(rlconf redis-accept 'ratelimit_login = 2/1h' "ratelimit_redis = unix:$RL/redis.sock" 'ratelimit_redis_fallback = accept')
	t "ratelimit redis down: accept"          0 accept     -     -      eom    plain.eml -c "$c" --auth alice
	if "$GH" ratelimit -c "$c" show >"$RL/down.txt" 2>&1; then
		fail "ratelimit redis down: show fails" "$(cat "$RL/down.txt")"
	elif grep -q 'gatehouse ratelimit: redis: ' "$RL/down.txt"; then
		pass "ratelimit redis down: show fails"
	else
		fail "ratelimit redis down: show fails" "$(cat "$RL/down.txt")"
	fi
fi
