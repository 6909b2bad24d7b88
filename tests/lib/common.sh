# shellcheck shell=bash
# tests/lib/common.sh - waiting, processes and ports: the helpers every suite
# that runs daemons needs (tests/integration, tests/bench, tests/dnssec).
# Sourced before tests/lib/postfix.sh and tests/lib/unbound.sh, which use it.

# diag - indented diagnostics (never start with "ok" or "not ok")
diag() {
	sed 's/^/    # /'
}

now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}

# wait_until TIMEOUT_S COMMAND... - poll COMMAND every 50 ms; 0 once it
# succeeds, 1 when TIMEOUT_S passed first
wait_until() {
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

pid_alive() {
	kill -0 "$1" 2>/dev/null
}

pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

# stop_pid PID [TIMEOUT_S] - TERM, KILL if it is still there after TIMEOUT_S
# (5) seconds, and reap it if it is a child of this shell
stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || return 0
	wait_until "${2:-5}" pid_gone "$1" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

port_listening() {
	[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

port_closed() {
	! port_listening "$1"
}

udp_port_bound() {
	[ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ]
}

udp_port_free() {
	! udp_port_bound "$1"
}
