# shellcheck shell=bash
# tests/lib/unbound.sh - unbound as the small DNS server of a test: the
# integration suite (local data for example.), the benchmark (the corpus
# zone) and the DNSSEC tests (auth-zone copies of a signed zone). Needs
# tests/lib/common.sh (wait_until, pid_alive, stop_pid, udp_port_bound/free).
#
# An unbound.conf is written in pieces:
#   { unbound_conf_server DIR PORT 'verbosity: 1' ...
#     unbound_conf_local_data example. <records
#     ...any other clause (auth-zone: ...)
#   } >DIR/unbound.conf

# unbound_conf_server DIR PORT [LINE...] - the "server:" clause every test
# unbound shares: 127.0.0.1@PORT, IPv4 only, in the foreground, no chroot,
# no user change, one thread, the iterator only (no validation), its
# directory DIR, pid and log files DIR/unbound.pid and DIR/unbound.log;
# each LINE ("name: value") is one more option of the clause
unbound_conf_server() {
	local dir=$1 port=$2 line
	shift 2
	cat <<EOM
server:
	interface: 127.0.0.1@$port
	do-ip4: yes
	do-ip6: no
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "$dir"
	pidfile: "$dir/unbound.pid"
	use-syslog: no
	logfile: "$dir/unbound.log"
	num-threads: 1
	module-config: "iterator"
	access-control: 127.0.0.0/8 allow
EOM
	for line in "$@"; do
		printf '\t%s\n' "$line"
	done
}

# unbound_conf_local_data ZONE [RECORDS on stdin] - more of the "server:"
# clause: unbound answers ZONE from local data (local-zone static: names
# without data are NXDOMAIN, nothing is recursed). One record a line, zone
# file syntax: pass.example. 300 IN TXT "v=spf1 -all"
unbound_conf_local_data() {
	local rr
	printf '\tlocal-zone: "%s" static\n' "$1"
	# Single quotes outside: with "..." around the record, unbound
	# drops the inner escaped quotes and a TXT becomes one string a word.
	while IFS= read -r rr; do
		[ -n "$rr" ] && printf "\tlocal-data: '%s'\n" "$rr"
	done
	return 0
}

# unbound_start CONF OUT PORT - run unbound -d -c CONF in the background,
# its standard output and error appended to OUT; sets UNBOUND_PID; 0 once
# it has bound 127.0.0.1:PORT (UDP), 1 if it did not within 10 s or exited.
# Whether it answers what the caller needs is the caller's to check.
unbound_start() {
	unbound -d -c "$1" >>"$2" 2>&1 &
	UNBOUND_PID=$!
	wait_until 10 unbound_up "$UNBOUND_PID" "$3" && udp_port_bound "$3"
}

# unbound_up PID PORT - PORT is bound, or PID is gone (no use waiting)
unbound_up() {
	udp_port_bound "$2" || ! pid_alive "$1"
}

# unbound_stop PID PORT - stop unbound (KILL after 10 s), wait (5 s at
# most) until its UDP port is free
unbound_stop() {
	[ -n "$1" ] || return 0
	stop_pid "$1" 10
	wait_until 5 udp_port_free "$2"
}
