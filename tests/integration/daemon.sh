# shellcheck shell=bash
# daemon.sh - group o: gatehouse as a service: a start without -f that
# fails is reported on stderr with a non-zero status and one that succeeds
# detaches with 0; --help and --version; -n notes a missing socket
# directory, which the start creates; the sd_notify protocol (READY,
# RELOADING, STOPPING, WATCHDOG) against a stand-in for systemd's socket;
# a cgroup CPU quota lowers the workers waiting for events at once.
# Sourced by run.sh; the helpers are lib.sh's.

# notify_count FILE LINE - how many times LINE was notified
notify_count() {
	grep -cxF "$2" "$1" 2>/dev/null || true
}

notify_at_least() {
	[ "$(notify_count "$1" "$2")" -ge "$3" ]
}

test_daemon_start() {
	local name conf=$IT_DIR/gh-daemon.conf out rc pid budget_warns
	name="o: --version and --help answer on stdout with status 0"
	out=$("$IT_GH" --version 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || ! [[ $out =~ ^gatehouse\ [0-9] ]]; then
		not_ok "$name" "--version: exit $rc, '$out'"
	elif ! "$IT_GH" --help 2>&1 | grep -q -- '--foreground'; then
		not_ok "$name" "--help does not list --foreground"
	else
		ok "$name"
	fi

	name="o: without -f, a socket in use is reported on stderr and the exit status is not 0"
	gh_conf daemon <<EOF2
socket = "inet:$IT_MILTER_PORT@127.0.0.1"
pid_file = "$IT_DIR/gh-daemon.pid"
EOF2
	out=$("$IT_GH" -c "$conf" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		not_ok "$name" "exit 0 although port $IT_MILTER_PORT is taken by the main instance"
	elif ! [[ $out == *"Address already in use"* ]]; then
		not_ok "$name" "exit $rc, but stderr says: $out"
	else
		ok "$name"
	fi

	name="o: -n notes a missing socket directory (and budgets past the MTA's timeout); the start creates it (0750) and detaches with 0"
	gh_conf daemon <<EOF2
socket = "unix:$IT_DIR/rundir/gh.sock"
socket_group = "postfix"
pid_file = "$IT_DIR/gh-daemon.pid"
log_level = "info"
EOF2
	rm -rf "$IT_DIR/rundir"
	out=$("$IT_GH" -n -c "$conf" 2>&1)
	if ! [[ $out == *"socket directory $IT_DIR/rundir does not exist"* ]]; then
		not_ok "$name" "-n says: $out"
		return
	fi
	out=$("$IT_GH" -c "$conf" 2>&1)
	rc=$?
	pid=$(cat "$IT_DIR/gh-daemon.pid" 2>/dev/null)
	budget_warns=$(printf 'dns_command_budget_ms = 9000\n' |
		"$IT_GH" -n -c /dev/stdin 2>&1 | grep -c "Sendmail's default reply timeout")
	if [ $rc -ne 0 ]; then
		not_ok "$name" "exit $rc: $out"
	elif [ -z "$pid" ] || ! pid_alive "$pid"; then
		not_ok "$name" "no daemon running after the start (pid file: '$pid')"
	elif [ "$(stat -c '%a %G' "$IT_DIR/rundir" 2>&1)" != "750 postfix" ]; then
		not_ok "$name" "the directory is $(stat -c '%a %G' "$IT_DIR/rundir" 2>&1), expected 750 postfix"
	elif [ ! -S "$IT_DIR/rundir/gh.sock" ]; then
		not_ok "$name" "no socket at $IT_DIR/rundir/gh.sock"
	elif [ "$budget_warns" != 1 ]; then
		not_ok "$name" "-n did not warn that 9 s of DNS + 2 s of rules outlast Sendmail's 10 s"
	else
		ok "$name"
	fi
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait_until 10 pid_gone "$pid"
}

# The files the daemon writes from threads that only log a failure: -n
# and the start (after the privilege drop, as the writers run) must say
# when that user cannot write them. Without the warning the first sign
# would be an empty report store a day later.
test_writable_warnings() {
	local name conf=$IT_DIR/gh-writable.conf log=$IT_DIR/gh-writable.log out pid
	name="o: -n and the start (as 'user') warn of a dmarc_report_db or metrics_textfile they cannot write"
	rm -rf "$IT_DIR/wr-missing" "$IT_DIR/wr-rootonly"
	install -d -m 0755 "$IT_DIR/wr-rootonly"
	gh_conf writable <<EOF2
socket = "unix:$IT_DIR/gh-writable.sock"
socket_group = ""
user = "nobody"
dmarc_report_db = "$IT_DIR/wr-missing/db.sqlite"
metrics_textfile = "$IT_DIR/wr-rootonly/gh.prom"
EOF2
	out=$("$IT_GH" -n -c "$conf" 2>&1)
	if ! grep -q "warning: dmarc_report_db = $IT_DIR/wr-missing/db.sqlite: cannot create files in $IT_DIR/wr-missing (No such file or directory): no DMARC evaluation will be recorded" <<<"$out"; then
		not_ok "$name" "-n (as root) says: $out"
		return
	fi
	if grep -q "metrics_textfile" <<<"$out"; then
		not_ok "$name" "-n as root warned of a directory root can write: $out"
		return
	fi
	: >"$log"
	"$IT_GH" -f -c "$conf" >>"$log" 2>&1 &
	pid=$!
	if ! wait_until 10 grep -q ' started (config ' "$log"; then
		not_ok "$name" "no start" "$log"
	elif ! wait_until 5 grep -q "metrics_textfile = $IT_DIR/wr-rootonly/gh.prom: cannot create files in $IT_DIR/wr-rootonly (Permission denied): node_exporter will not see" "$log"; then
		not_ok "$name" "the daemon, as nobody, did not warn of $IT_DIR/wr-rootonly" "$log"
	elif ! grep -q "dmarc_report_db = $IT_DIR/wr-missing/db.sqlite: cannot create files" "$log"; then
		not_ok "$name" "the daemon did not warn of the missing directory" "$log"
	else
		ok "$name"
	fi
	kill -TERM "$pid" 2>/dev/null && wait_until 10 pid_gone "$pid"
	wait "$pid" 2>/dev/null
}

test_sd_notify() {
	local name nsock=$IT_DIR/notify.sock nout=$IT_DIR/notify.out npid pid log=$IT_DIR/gh-notify.log
	name="o: sd_notify: READY=1 once listening, RELOADING=1 then READY=1 on SIGHUP, WATCHDOG=1, STOPPING=1 on SIGTERM"
	: >"$nout"
	"$IT_PYTHON" "$IT_HERE/notify_listen.py" "$nsock" "$nout" &
	npid=$!
	IT_BG_PIDS+=("$npid")
	if ! wait_until 5 test -S "$nsock"; then
		not_ok "$name" "the stand-in notify socket did not appear"
		return
	fi
	gh_conf notify <<EOF2
socket = "unix:$IT_DIR/gh-notify.sock"
socket_group = ""
drain_timeout_ms = 2000
EOF2
	# WATCHDOG_PID names the process systemd would have started: $BASHPID
	# of the subshell that execs gatehouse
	(
		export NOTIFY_SOCKET=$nsock WATCHDOG_USEC=1000000
		WATCHDOG_PID=$BASHPID
		export WATCHDOG_PID
		exec "$IT_GH" -f -c "$IT_DIR/gh-notify.conf" >>"$log" 2>&1
	) &
	pid=$!
	if ! wait_until 10 notify_at_least "$nout" "READY=1" 1; then
		not_ok "$name" "no READY=1 ($(tr '\n' ' ' <"$nout"))"
	elif [ ! -S "$IT_DIR/gh-notify.sock" ]; then
		not_ok "$name" "READY=1 came before the socket existed"
	elif ! wait_until 5 notify_at_least "$nout" "WATCHDOG=1" 2; then
		not_ok "$name" "no WATCHDOG=1 at half of WATCHDOG_USEC=1 s ($(tr '\n' ' ' <"$nout"))"
	else
		kill -HUP "$pid"
		if ! wait_until 10 notify_at_least "$nout" "READY=1" 2; then
			not_ok "$name" "no READY=1 after SIGHUP ($(tr '\n' ' ' <"$nout"))"
		elif [ "$(notify_count "$nout" "RELOADING=1")" -ne 1 ]; then
			not_ok "$name" "RELOADING=1 seen $(notify_count "$nout" "RELOADING=1") times"
		else
			kill -TERM "$pid"
			if ! wait_until 10 notify_at_least "$nout" "STOPPING=1" 1; then
				not_ok "$name" "no STOPPING=1 on SIGTERM ($(tr '\n' ' ' <"$nout"))"
			elif ! grep -q '^EXTEND_TIMEOUT_USEC=[0-9]' "$nout"; then
				not_ok "$name" "STOPPING=1 without EXTEND_TIMEOUT_USEC"
			else
				ok "$name"
			fi
		fi
	fi
	kill -TERM "$pid" 2>/dev/null
	wait_until 10 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	stop_pid "$npid"
}

# -- o: milter_timeout_s and milter_session_timeout_s: the clock's sweep
# shuts a silent connection down; inside an SMTP session the MTA is as
# silent as its client (while the message arrives, say), so the longer
# limit applies there, except inside a frame the MTA began
test_idle_timeout() {
	local name out log=$IT_DIR/gh-idle.log s m x
	name="o: milter_timeout_s = 2: silent before CONNECT or inside a frame closed after 2-4 s; silent in a session (milter_session_timeout_s = 5) after 5-7.5 s; one that keeps sending stays"
	gh_conf idle <<EOF2
socket = "unix:$IT_DIR/gh-idle.sock"
milter_timeout_s = 2
milter_session_timeout_s = 5
log_level = "info"
EOF2
	if ! gh_start idle; then
		not_ok "$name" "gatehouse did not start"
		return
	fi
	out=$("$IT_PYTHON" "$IT_HERE/idle_timeout.py" "$IT_DIR/gh-idle.sock" 2 5 2>&1)
	if ! [[ $out =~ silent_closed_after=([0-9.]+)\ midframe_closed_after=([0-9.]+)\ session_closed_after=([0-9.]+)\ talker_open=yes ]]; then
		not_ok "$name" "$out"
		gh_stop idle
		return
	fi
	s=${BASH_REMATCH[1]} m=${BASH_REMATCH[2]} x=${BASH_REMATCH[3]}
	if ! awk -v t="$s" 'BEGIN { exit !(t >= 1.9 && t <= 4.5) }'; then
		not_ok "$name" "the silent connection was closed after $s s"
	elif ! awk -v t="$m" 'BEGIN { exit !(t >= 1.9 && t <= 4.5) }'; then
		not_ok "$name" "the connection stopped inside a frame was closed after $m s"
	elif ! awk -v t="$x" 'BEGIN { exit !(t >= 4.9 && t <= 7.5) }'; then
		not_ok "$name" "the connection silent inside a session was closed after $x s"
	elif ! wait_until 5 log_count_at_least "$log" 'connection idle for 2 s: closing' 2; then
		not_ok "$name" "no log lines say why the connections were closed after 2 s"
	elif ! log_has "$log" 'connection idle for 5 s: closing'; then
		not_ok "$name" "no log line says why the session's connection was closed"
	else
		ok "$name"
	fi
	gh_stop idle
}

# -- o: 1,100 idle milter connections from a local process: Postfix's mail
# still gets its answers (libmilter spent a thread and, at the default
# descriptor limit of 1,024, every slot on them: each message waited 15 s
# and was tempfailed)
test_idle_flood() {
	local name fpid ready=$IT_DIR/flood.ready id n
	name="o: 1,100 idle milter connections: a message through Postfix is still checked and delivered"
	"$IT_PYTHON" "$IT_HERE/idle_flood.py" "$IT_MILTER_PORT" 1100 "$ready" &
	fpid=$!
	IT_BG_PIDS+=("$fpid")
	if ! wait_until 30 test -s "$ready"; then
		not_ok "$name" "the flood did not open its connections"
		stop_pid "$fpid"
		return
	fi
	n=$(cat "$ready")
	id=$(new_id flood)
	send_swaks "$IT_SMTPD_PORT" -f sender@example.net -t rcpt@example.org --add-header "X-Test-Id: $id"
	if [ "$n" -lt 1100 ]; then
		not_ok "$name" "only $n connections could be opened"
	elif [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply: $(grep '^<\*\*' "$IT_DIR/last-client.out" | head -n 1)"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	elif [ "$(status_header_count "$(delivered_file "$id")")" -ne 1 ]; then
		not_ok "$name" "the delivered message has no X-Gatehouse: gatehouse did not check it"
	else
		ok "$name"
	fi
	stop_pid "$fpid"
}

# cgroup_cpu_new DIR_VAR - a new cgroup of the cpu controller (v2 where the
# cpu controller is on the unified hierarchy, else v1's), its directory in
# DIR_VAR and its kind in CG_KIND; 1 when neither can be made
cgroup_cpu_new() {
	local -n dir=$1
	local v1
	if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
		grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control ||
			echo +cpu >/sys/fs/cgroup/cgroup.subtree_control || return 1
		dir=/sys/fs/cgroup/gh-it-cpu-$$
		CG_KIND=v2
	else
		for v1 in /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/cpu; do
			[ -f "$v1/cpu.cfs_quota_us" ] && break
		done
		[ -f "$v1/cpu.cfs_quota_us" ] || return 1
		dir=$v1/gh-it-cpu-$$
		CG_KIND=v1
	fi
	mkdir -p "$dir"
}

# cgroup_cpu_quota DIR PERCENT - at most PERCENT of one CPU for DIR
cgroup_cpu_quota() {
	if [ "$CG_KIND" = v2 ]; then
		echo "$(($2 * 1000)) 100000" >"$1/cpu.max"
	else
		echo 100000 >"$1/cpu.cfs_period_us" && echo "$(($2 * 1000))" >"$1/cpu.cfs_quota_us"
	fi
}

# -- o: a CPU quota (systemd's CPUQuota=) that affinity does not show sets
# how many workers wait for events at once, as the CPUs do without one
test_cpu_quota() {
	local name cg='' real=$IT_GH n log=$IT_DIR/gh-quota.log want
	name="o: under a cgroup CPU quota of 50%, one worker waits for events; without one, one per CPU"
	n=$(nproc)
	if [ "$n" -lt 2 ]; then
		not_ok "$name" "this machine has $n CPU: a quota of one CPU cannot be told from it"
		return
	fi
	if ! cgroup_cpu_new cg; then
		not_ok "$name" "no cgroup of the cpu controller could be made under /sys/fs/cgroup"
		return
	fi
	gh_conf quota <<EOF2
socket = "unix:$IT_DIR/gh-quota.sock"
pid_file = ""
log_level = "info"
EOF2
	: >"$log"
	gh_start quota || { not_ok "$name" "gatehouse did not start"; rmdir "$cg"; return; }
	gh_stop quota
	# one per CPU, at most one per worker (32 by default)
	[ "$n" -le 32 ] || n=32
	want="milter: [0-9]+ workers, $n waiting for events at once"
	if ! log_has "$log" "$want"; then
		not_ok "$name" "without a quota: no '$want' in the log: $(grep -m1 'waiting for events' "$log")"
		rmdir "$cg"
		return
	fi
	cgroup_cpu_quota "$cg" 50
	# gh_start runs IT_GH: here a wrapper that joins the cgroup first
	printf '#!/bin/sh\necho $$ >%s/cgroup.procs && exec %s "$@"\n' "$cg" "$real" >"$IT_DIR/gatehouse-in-cgroup"
	chmod 755 "$IT_DIR/gatehouse-in-cgroup"
	IT_GH=$IT_DIR/gatehouse-in-cgroup
	: >"$log"
	if ! gh_start quota; then
		IT_GH=$real
		not_ok "$name" "gatehouse did not start in $cg ($CG_KIND)"
		rmdir "$cg"
		return
	fi
	IT_GH=$real
	if ! grep -qx "$(gh_pid quota)" "$cg/cgroup.procs"; then
		not_ok "$name" "gatehouse is not in $cg ($CG_KIND)"
	elif ! log_has "$log" "milter: [0-9]+ workers, 1 waiting for events at once"; then
		not_ok "$name" "with a quota of 50% ($CG_KIND): $(grep -m1 'waiting for events' "$log")"
	else
		ok "$name"
	fi
	gh_stop quota
	rmdir "$cg"
}

# -- o: out of descriptors (a hard limit below milter_max_connections):
# accept() fails while connections wait in the backlog; the listening
# socket is paused and retried each second instead of waking the workers
# over and over (a spin, one log line per attempt), and it serves again
# once descriptors are free
# proc_cpu_ticks PID - user and system CPU ticks PID has used
proc_cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

test_out_of_descriptors() {
	local name port=8895 log=$IT_DIR/gh-nofd.log ready=$IT_DIR/nofd.ready fpid n real=$IT_GH t0 t1
	name="o: out of descriptors (hard limit 48): logged once, no busy loop, served again once the flood is gone"
	gh_conf nofd <<EOF2
socket = "inet:$port@127.0.0.1"
pid_file = ""
milter_max_connections = 1000
log_level = "info"
EOF2
	printf '#!/bin/sh\nexec prlimit --nofile=48:48 -- %s "$@"\n' "$real" >"$IT_DIR/gatehouse-48fd"
	chmod 755 "$IT_DIR/gatehouse-48fd"
	IT_GH=$IT_DIR/gatehouse-48fd
	if ! gh_start nofd; then
		IT_GH=$real
		not_ok "$name" "gatehouse did not start with 48 descriptors"
		return
	fi
	IT_GH=$real
	rm -f "$ready"
	"$IT_PYTHON" "$IT_HERE/idle_flood.py" "$port" 100 "$ready" &
	fpid=$!
	IT_BG_PIDS+=("$fpid")
	if ! wait_until 30 test -s "$ready"; then
		not_ok "$name" "the flood did not open its connections"
		stop_pid "$fpid"
		gh_stop nofd
		return
	fi
	# the backlog holds what could not be accepted: a worker woken for it
	# over and over (the spin) burns a CPU; paused, the daemon sleeps
	t0=$(proc_cpu_ticks "$(gh_pid nofd)")
	sleep 3
	t1=$(proc_cpu_ticks "$(gh_pid nofd)")
	n=$(log_count "$log" ' accept .*: Too many open files')
	stop_pid "$fpid"
	if [ "$n" -ne 1 ]; then
		not_ok "$name" "$n log lines for the failed accept (want 1): $(grep -m 2 'accept:' "$log")"
	elif [ $((t1 - t0)) -gt $(($(getconf CLK_TCK) / 2)) ]; then
		not_ok "$name" "busy while out of descriptors: $((t1 - t0)) CPU ticks in 3 s (a spin on the listening socket)"
	elif ! pid_alive "$(gh_pid nofd)"; then
		not_ok "$name" "gatehouse died"
	elif ! wait_until 10 "$IT_PYTHON" "$IT_HERE/negotiate_once.py" "$port"; then
		not_ok "$name" "no option negotiation answered on port $port after the flood ended"
	else
		ok "$name"
	fi
	gh_stop nofd
}
