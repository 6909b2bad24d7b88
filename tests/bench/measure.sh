# shellcheck shell=bash disable=SC2034
# measure.sh - the benchmark's measurements; sourced by run.sh after lib.sh.
# Each appends JSON lines to B_JSON that report.py turns into the table.

# expected_rejects N - how many of the first N replayed messages the corpus
# marks "reject" (loadgen sends corpus entry k mod size as message k)
expected_rejects() {
	grep -v '^#' "$B_DIR/corpus/manifest.tsv" | awk -F'\t' -v n="$1" '
		{ want[NR - 1] = $5; size = NR }
		END { for (k = 0; k < n; k++) if (want[k % size] == "reject") r++; print r + 0 }'
}

# loadgen_run CONFIG KIND CONC MSGS SOCKET... - one loadgen run; its JSON
# line gets kind, config and the reject count the corpus expects.
# B_RUN_PER_CONN overrides the messages per connection, B_RUN_MANIFEST the
# manifest (outbound.sh's submissions).
loadgen_run() {
	local cfg=$1 kind=$2 conc=$3 msgs=$4 out rc m args=() pids=() t0 t1 exp
	local manifest=${B_RUN_MANIFEST:-$B_DIR/corpus/manifest.tsv}
	shift 4
	for m in "$@"; do
		args+=(-m "$m")
		pids+=("${B_SOCK_PID[$m]:-}")
	done
	t0=$(cpu_ticks "${pids[@]}")
	out=$("$B_BUILD/loadgen" "${args[@]}" -c "$conc" -n "$msgs" -p "${B_RUN_PER_CONN:-$B_PER_CONN}" \
		-i "$B_CLIENT_IP" -H "$B_HELO" -j "$B_AUTHSERV" -l "$cfg" \
		"$manifest" 2>>"$B_LOG")
	rc=$?
	t1=$(cpu_ticks "${pids[@]}")
	if [ -z "$out" ]; then
		echo "loadgen produced nothing for $cfg (exit $rc); see $B_LOG"
		B_KEEP_FOR_ERROR=1
		return 1
	fi
	# the milters' CPU time per message: steadier than messages/s when
	# the machine is shared
	# only the configurations that enforce DMARC reject anything
	case $cfg in
	opendkim | "no-op milter" | *" sign "*) exp=0 ;;
	*) exp=$(expected_rejects "$msgs") ;;
	esac
	out=$(jq -c --arg kind "$kind" --arg cfg "$cfg" --argjson exp "$exp" \
		--arg rc "$rc" --argjson ticks $((t1 - t0)) --argjson hz "$(getconf CLK_TCK)" \
		'. + {kind: $kind, config: $cfg, expected_rejects: $exp, exit: ($rc | tonumber),
		      milter_cpu_ms_per_msg: ($ticks * 1000 / $hz / .messages)}' <<<"$out")
	echo "$out" >>"$B_JSON"
	[ "$kind" = warmup ] || printf '  %-24s %-7s %s\n' "$cfg" "$kind" \
		"$(jq -r '"\(.msgs_per_s) msg/s cpu \(.milter_cpu_ms_per_msg * 1000 | floor / 1000) ms/msg p50 \(.latency_ms.p50) p99 \(.latency_ms.p99) ms rejects \(.replies.reject + .replies.replycode_5xx)/\(.expected_rejects) errors \(.replies.error)"' <<<"$out")"
	[ "$rc" -eq 0 ] || B_KEEP_FOR_ERROR=1
	return 0
}

# validate_one NAME PORT INDEX SOCKET... - corpus entry INDEX through
# Postfix (smtpd on PORT, whose milters are SOCKET...) and through loadgen
# in dump mode against the same milters; validate.py compares the header
# fields each way added and the final reply
validate_one() {
	local name=$1 port=$2 idx=$3 m args=() dump=$B_DIR/validate-$1-$3.dump f verdict
	shift 3
	for m in "$@"; do
		args+=(-m "$m")
	done
	sink_clear
	send_one "$port" "$idx" 1 >>"$B_LOG" 2>&1
	wait_until 30 sink_count_at_least 1
	f=$(find "$B_DIR/sink" -type f -name 'm.*' | head -n 1)
	"$B_BUILD/loadgen" "${args[@]}" -d "$idx" -i "$B_CLIENT_IP" -H "$B_HELO" -j "$B_AUTHSERV" \
		"$B_DIR/corpus/manifest.tsv" >"$dump" 2>&1
	if [ -z "$f" ]; then
		verdict="FAIL: nothing reached the sink through Postfix"
	elif verdict=$(python3 "$B_HERE/validate.py" "$f" "$dump" "$B_AUTHSERV" \
		"$B_DIR/corpus/$(manifest_field "$idx" 1)" 2>&1); then
		verdict="ok: $verdict"
	else
		verdict="FAIL: $verdict"
		B_KEEP_FOR_ERROR=1
	fi
	echo "  $name, corpus entry $idx: $verdict"
	jq -nc --arg n "$name" --argjson i "$idx" --arg v "$verdict" \
		'{kind: "validate", config: $n, index: $i, verdict: $v}' >>"$B_JSON"
}

# reject_count - milter rejects at end of message in Postfix's log
reject_count() {
	grep -c 'milter-reject: END-OF-MESSAGE' "$B_DIR/postfix.log" 2>/dev/null
}

reject_count_above() {
	[ "$(reject_count)" -gt "$1" ]
}

# validate_reject NAME PORT INDEX SOCKET... - a message the milters reject:
# the enhanced code and text Postfix logged against loadgen's final reply
validate_reject() {
	local name=$1 port=$2 idx=$3 m args=() dump=$B_DIR/validate-$1-$3.dump before want got verdict
	shift 3
	for m in "$@"; do
		args+=(-m "$m")
	done
	before=$(reject_count)
	send_one "$port" "$idx" 1 >>"$B_LOG" 2>&1
	wait_until 30 reject_count_above "$before"
	# "...: milter-reject: END-OF-MESSAGE from unknown[IP]: 5.7.1 TEXT; from=<...> to=<...> ..."
	want=$(grep 'milter-reject: END-OF-MESSAGE' "$B_DIR/postfix.log" | tail -n 1 |
		sed -e 's/^.*END-OF-MESSAGE from [^ ]*: //' -e 's/; from=<.*$//' -e 's/^[245][0-9][0-9] //')
	"$B_BUILD/loadgen" "${args[@]}" -d "$idx" -i "$B_CLIENT_IP" -H "$B_HELO" -j "$B_AUTHSERV" \
		"$B_DIR/corpus/manifest.tsv" >"$dump" 2>&1
	got=$(sed -n 's/^\(\[[0-9]\]\)\{0,1\}< y "[245][0-9][0-9] \(.*\)"$/\2/p' "$dump" | tail -n 1)
	if [ "$(reject_count)" -le "$before" ]; then
		verdict="FAIL: Postfix logged no milter reject"
		B_KEEP_FOR_ERROR=1
	elif [ -n "$want" ] && [ "$want" = "$got" ]; then
		verdict="ok: both rejected with \"$want\""
	else
		verdict="FAIL: Postfix logged \"$want\", loadgen got \"$got\""
		B_KEEP_FOR_ERROR=1
	fi
	echo "  $name, corpus entry $idx: $verdict"
	jq -nc --arg n "$name" --argjson i "$idx" --arg v "$verdict" \
		'{kind: "validate", config: $n, index: $i, verdict: $v}' >>"$B_JSON"
}

validate_loadgen() {
	local fail
	fail=$(grep -v '^#' "$B_DIR/corpus/manifest.tsv" | awk -F'\t' '$5 == "reject" { print NR - 1; exit }')
	validate_one opendkim "$B_PORT_DKIM" 1 "unix:$B_DIR/opendkim.sock"
	# a message whose signature fails: OpenDKIM still accepts, says dkim=fail
	validate_one opendkim "$B_PORT_DKIM" "$fail" "unix:$B_DIR/opendkim.sock"
	validate_one opendkim+opendmarc "$B_PORT_PEERS" 2 "unix:$B_DIR/opendkim.sock" \
		"unix:$B_DIR/opendmarc.sock"
	validate_one gatehouse "$B_PORT_GH" 3 "unix:$B_DIR/gh-gh.sock"
	# DMARC p=reject: the reply each gives, as Postfix logged it
	validate_reject opendkim+opendmarc "$B_PORT_PEERS" "$fail" "unix:$B_DIR/opendkim.sock" \
		"unix:$B_DIR/opendmarc.sock"
	validate_reject gatehouse "$B_PORT_GH" "$fail" "unix:$B_DIR/gh-gh.sock"
}

# postfix_leg NAME PORT CHECK - B_PF_MSGS messages through Postfix's smtpd
# on PORT: one smtp-source per sender domain (each its own corpus message),
# B_PF_SESSIONS sessions between them, one message per connection. Times
# until every client is done, then waits until the sink has them all and
# checks each carries the expected Authentication-Results (CHECK: none,
# peers, gatehouse). The milter CPU counted is that of the milter processes
# behind NAME (none for "no milter"). B_LEG_KIND names the JSON line's kind
# (default postfix: the table).
postfix_leg() {
	local name=$1 port=$2 check=$3 nsrc=4 s t0 t1 pids=() idx
	local pass=() failed=0 delivered verified p per mpids=() c0 c1 x0 x1 m0 m1 a0 a1 mt1 perf_pid='' t2 v0 v1
	per=$((B_PF_MSGS / nsrc))
	case $name in
	"no-op milter") mpids=("$B_NOOP_PID") ;;
	"floor milter") mpids=("$B_FLOOR_PID") ;;
	"floor milter + fields") mpids=("$B_FLOORE_PID") ;;
	opendkim+opendmarc) mpids=("$B_OPENDKIM_PID" "$B_OPENDMARC_PID") ;;
	gatehouse) mpids=("$(gh_pid gh)") ;;
	"gatehouse (tcp)") mpids=("$(gh_pid ghtcp)") ;;
	"gatehouse (libmilter)") mpids=("$(gh_pid ghlm)") ;;
	esac
	# the first passing message of each of the four sender domains (not
	# the authenticated one: smtp-source does not log in)
	mapfile -t pass < <(grep -v '^#' "$B_DIR/corpus/manifest.tsv" |
		awk -F'\t' '$5 == "pass" && $4 == "-" { split($2, a, "@"); if (!seen[a[2]]++) print NR - 1 }')
	sink_clear
	c0=$(cpu_ticks "${mpids[@]}")
	x0=$(ctx_switches "${mpids[@]}")
	v0=$(CTX_KIND=voluntary ctx_switches "${mpids[@]}")
	m0=$(machine_ticks)
	a0=$(machine_all_ticks)
	if [ "${BENCH_PERF_LEGS:-0}" = 1 ]; then
		B_LEG_SEQ=$((${B_LEG_SEQ:-0} + 1))
		mkdir -p "${BENCH_PERF_DIR:-$B_DIR}"
		# shellcheck disable=SC2086 # BENCH_PERF_ARGS is a list of perf options
		perf record -a ${BENCH_PERF_ARGS:--F 999 -g} -o "${BENCH_PERF_DIR:-$B_DIR}/perf-leg-$B_LEG_SEQ-${name//[^a-z0-9]/_}.data" \
			>>"$B_LOG" 2>&1 &
		perf_pid=$!
		sleep 1 # perf's start-up is not the leg's
	fi
	t0=$(date +%s%N)
	for s in $(seq 0 $((nsrc - 1))); do
		idx=${pass[$((s % ${#pass[@]}))]}
		send_one "$port" "$idx" "$per" $((B_PF_SESSIONS / nsrc)) >>"$B_LOG" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || failed=$((failed + 1))
	done
	t1=$(date +%s%N)
	c1=$(cpu_ticks "${mpids[@]}")
	x1=$(ctx_switches "${mpids[@]}")
	v1=$(CTX_KIND=voluntary ctx_switches "${mpids[@]}")
	mt1=$(machine_ticks)
	a1=$(machine_all_ticks)
	if [ -n "${perf_pid:-}" ]; then
		kill -INT "$perf_pid"
		wait "$perf_pid"
	fi
	wait_until 120 sink_count_at_least $((per * nsrc))
	m1=$(machine_ticks) # after delivery: what the messages cost the machine in all
	# when the last message reached the sink: the newest file's mtime
	t2=$(find "$B_DIR/sink" -type f -name 'm.*' -printf '%T@\n' | sort -n | tail -n 1)
	delivered=$(sink_count)
	case $check in
	none) verified=$delivered ;;
	peers)
		verified=$(grep -l -E "^Authentication-Results: $B_AUTHSERV;" -r "$B_DIR/sink" |
			xargs -r grep -l -E "dkim=pass" | xargs -r grep -l -E "dmarc=pass" | wc -l)
		;;
	gatehouse)
		verified=$(grep -l -E "^Authentication-Results: $B_AUTHSERV;" -r "$B_DIR/sink" |
			xargs -r grep -l -E "dkim=pass header\.d=" | xargs -r grep -l -E "dmarc=pass" |
			xargs -r grep -l -E "spf=pass" | wc -l)
		;;
	esac
	jq -nc --arg n "$name" --argjson m $((per * nsrc)) --argjson t0 "$t0" --argjson t1 "$t1" \
		--argjson d "$delivered" --argjson v "$verified" --argjson f "$failed" \
		--argjson ticks $((c1 - c0)) --argjson hz "$(getconf CLK_TCK)" \
		--argjson ctx $((x1 - x0)) --argjson vctx $((v1 - v0)) --argjson mticks $((m1 - m0)) \
		--argjson busy $((mt1 - m0)) --argjson all $((a1 - a0)) --argjson t2 "${t2:-0}" \
		--arg kind "${B_LEG_KIND:-postfix}" \
		'{kind: $kind, config: $n, messages: $m, seconds: (($t1 - $t0) / 1e9),
		  msgs_per_s: ($m / (($t1 - $t0) / 1e9)), delivered: $d, verified: $v, client_failures: $f,
		  milter_cpu_ms_per_msg: ($ticks * 1000 / $hz / $m),
		  milter_ctx_switches_per_msg: ($ctx / $m), milter_waits_per_msg: ($vctx / $m),
		  machine_cpu_ms_per_msg: ($mticks * 1000 / $hz / $m),
		  machine_busy_pct: (if $all > 0 then 100 * $busy / $all else 0 end),
		  delivered_msgs_per_s: (if $t2 * 1e9 > $t0 then $m / ($t2 - $t0 / 1e9) else 0 end)}' |
		tee -a "$B_JSON" | jq -r '"  \(.config): \(.msgs_per_s | floor) msg/s (\(.delivered_msgs_per_s | floor) delivered/s), \(.delivered) delivered, \(.verified) verified, machine CPU \(.machine_cpu_ms_per_msg * 1000 | floor / 1000) ms/msg, milter \(.milter_ctx_switches_per_msg * 10 | floor / 10) switches/msg (\(.milter_waits_per_msg * 10 | floor / 10) waits), machine \(.machine_busy_pct | floor)% busy"'
}

# profile_gatehouse NAME CONFIG [postfix PORT] - perf samples of gatehouse
# instance NAME during one more direct run (or, with "postfix PORT", one
# more leg through Postfix's smtpd on PORT); appends the top shared objects
# and functions to profile.txt for the report. BENCH_PERF_CALLGRAPH is
# perf's --call-graph mode (fp; dwarf attributes time inside libc, e.g.
# futex waits, to their callers, at the price of much bigger perf data)
profile_gatehouse() {
	local name=$1 cfg=$2 via=${3:-direct} perf_pid data=$B_DIR/perf-$1-${3:-direct}.data what
	command -v perf >/dev/null 2>&1 || { echo "(perf is not installed: no profile)" >"$B_DIR/profile.txt"; return 0; }
	perf record -F 1999 --call-graph "${BENCH_PERF_CALLGRAPH:-fp}" -p "$(gh_pid "$name")" -o "$data" \
		>>"$B_LOG" 2>&1 &
	perf_pid=$!
	sleep 1
	if [ "$via" = postfix ]; then
		B_LEG_KIND=profile postfix_leg "$cfg" "$4" gatehouse >/dev/null
		what="one more leg through Postfix ($B_PF_MSGS messages, one per SMTP session, $B_PF_SESSIONS sessions at a time)"
	else
		loadgen_run "$cfg" profile "$B_CONC" "$B_MSGS" "unix:$B_DIR/gh-$name.sock" >/dev/null
		what="one more direct run ($B_MSGS messages, $B_CONC connections)"
	fi
	kill -INT "$perf_pid"
	wait "$perf_pid"
	{
		if [ "$via" = postfix ]; then
			echo "### $cfg, through Postfix"
		else
			echo "### $cfg"
		fi
		echo
		echo "perf record -F 1999 --call-graph ${BENCH_PERF_CALLGRAPH:-fp} -p PID during $what."
		echo "Self time by shared object, then by function (top 25):"
		echo
		perf report -i "$data" --stdio --no-children --sort dso -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -n 10 | sed 's/^/    /'
		echo
		perf report -i "$data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -n 25 | sed -e 's/ *- *- *$//' -e 's/^/    /'
		echo
		echo "Kernel time by system call and scheduler entry (children, >= 2%):"
		echo
		perf report -i "$data" --stdio --children --sort symbol -g none 2>/dev/null |
			grep -E '^ +[0-9.]+% +[0-9.]+% +\[k\] (__x64_sys_[a-z_0-9]+|schedule|finish_task_switch[.a-z0-9]*)' |
			awk '$1 + 0 >= 2' | head -n 12 | sed -e 's/ *- *- *$//' -e 's/^/    /'
		echo
	} >>"$B_DIR/profile.txt"
}

# rss_kb PID FIELD - VmHWM or VmRSS of PID in kB
rss_kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# fd_count PID - open descriptors of PID
fd_count() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

fd_count_at_least() {
	[ "$(fd_count "$1")" -ge "$2" ]
}

fd_count_at_most() {
	[ "$(fd_count "$1")" -le "$2" ]
}

# record_hwm NAME PID [WHEN] - the milter's peak RSS so far
record_hwm() {
	jq -nc --arg n "$1" --argjson kb "$(rss_kb "$2" VmHWM || echo 0)" --arg w "${3:-direct and Postfix runs}" \
		'{kind: "hwm", config: $n, hwm_kb: $kb, when: $w}' >>"$B_JSON"
}

# memory_leg - gatehouse's RSS after B_MEM_SMALL and after B_MEM_BIG
# messages in a fresh instance, and peaks with 200 connections for it and
# for the OpenDKIM+OpenDMARC chain
memory_leg() {
	local pid small big
	gh_write_conf mem "" && gh_start mem || return 1
	pid=$(gh_pid mem)
	loadgen_run gatehouse mem "$B_CONC" "$B_MEM_SMALL" "unix:$B_DIR/gh-mem.sock" >/dev/null || return 1
	small=$(rss_kb "$pid" VmRSS)
	loadgen_run gatehouse mem "$B_CONC" $((B_MEM_BIG - B_MEM_SMALL)) "unix:$B_DIR/gh-mem.sock" >/dev/null ||
		return 1
	big=$(rss_kb "$pid" VmRSS)
	jq -nc --argjson a "$B_MEM_SMALL" --argjson b "$B_MEM_BIG" --argjson sa "$small" --argjson sb "$big" \
		'{kind: "growth", config: "gatehouse", small_msgs: $a, big_msgs: $b, rss_small_kb: $sa, rss_big_kb: $sb}' |
		tee -a "$B_JSON" | jq -r '"  gatehouse RSS after \(.small_msgs) messages \(.rss_small_kb) kB, after \(.big_msgs) \(.rss_big_kb) kB"'
	loadgen_run gatehouse conc200 200 "$B_CONC200_MSGS" "unix:$B_DIR/gh-mem.sock" >/dev/null || return 1
	record_hwm gatehouse "$pid" "200 connections"
	loadgen_run opendkim+opendmarc conc200 200 "$B_CONC200_MSGS" "unix:$B_DIR/opendkim.sock" \
		"unix:$B_DIR/opendmarc.sock" >/dev/null || return 1
	record_hwm opendkim "$B_OPENDKIM_PID" "200 connections (and everything before)"
	record_hwm opendmarc "$B_OPENDMARC_PID" "200 connections (and everything before)"
}

# idle_leg NAME CONFIG BINARY - what B_IDLE_CONNS idle milter connections
# cost a fresh gatehouse instance NAME run from BINARY: VmRSS, threads and
# descriptors after a warm-up (400 messages over B_CONC connections, then
# 200 over one), then with the connections open (idle_conns: each
# negotiated, then silent), and again after they closed. While they are
# open, one more connection sends 200 messages (kind "idle-load", the
# warm-up's second run again): they must not be starved.
idle_leg() {
	local name=$1 cfg=$2 bin=$3 pid cpid out=$B_DIR/idle-$1.out opened=0 secs=0 want=$B_IDLE_CONNS
	local rss0 thr0 fds0 rss1 thr1 fds1 rss2 thr2 fds2 limit
	gh_write_conf "$name" "" && gh_start "$name" "$bin" || return 1
	pid=$(gh_pid "$name")
	# the same runs as before and during the measurement, so that every
	# worker thread and malloc arena they touch is counted in "before"
	loadgen_run "$cfg" idle-warmup "$B_CONC" 400 "unix:$B_DIR/gh-$name.sock" >/dev/null || return 1
	loadgen_run "$cfg" idle-warmup 1 200 "unix:$B_DIR/gh-$name.sock" >/dev/null || return 1
	sleep 1
	rss0=$(rss_kb "$pid" VmRSS) thr0=$(rss_kb "$pid" Threads) fds0=$(fd_count "$pid")
	limit=$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")
	"$B_BUILD/idle_conns" -n "$want" "unix:$B_DIR/gh-$name.sock" >"$out" 2>>"$B_LOG" &
	cpid=$!
	wait_until 180 grep -q '^open' "$out"
	read -r _ opened _ secs < <(grep '^open' "$out") || :
	# every accepted connection is a descriptor in the milter: wait until
	# it holds them all, then let it settle
	wait_until 30 fd_count_at_least "$pid" $((fds0 + ${opened:-0}))
	sleep 2
	rss1=$(rss_kb "$pid" VmRSS) thr1=$(rss_kb "$pid" Threads) fds1=$(fd_count "$pid")
	loadgen_run "$cfg" idle-load 1 200 "unix:$B_DIR/gh-$name.sock" || return 1
	kill -TERM "$cpid" 2>/dev/null
	wait "$cpid"
	wait_until 30 fd_count_at_most "$pid" $((fds0 + 2))
	sleep 2
	rss2=$(rss_kb "$pid" VmRSS) thr2=$(rss_kb "$pid" Threads) fds2=$(fd_count "$pid")
	jq -nc --arg c "$cfg" --argjson want "$want" --argjson opened "${opened:-0}" --argjson secs "${secs:-0}" \
		--argjson rss0 "$rss0" --argjson thr0 "$thr0" --argjson fds0 "$fds0" \
		--argjson rss1 "$rss1" --argjson thr1 "$thr1" --argjson fds1 "$fds1" \
		--argjson rss2 "$rss2" --argjson thr2 "$thr2" --argjson fds2 "$fds2" --arg limit "$limit" \
		'{kind: "idle", config: $c, wanted: $want, opened: $opened, open_seconds: $secs, nofile_limit: $limit,
		  before: {rss_kb: $rss0, threads: $thr0, fds: $fds0},
		  idle: {rss_kb: $rss1, threads: $thr1, fds: $fds1},
		  after: {rss_kb: $rss2, threads: $thr2, fds: $fds2}}' |
		tee -a "$B_JSON" | jq -r '"  \(.config): \(.opened)/\(.wanted) idle connections open: VmRSS \(.before.rss_kb) -> \(.idle.rss_kb) kB (\(.idle.threads) threads, \(.idle.fds) fds), after closing \(.after.rss_kb) kB"'
	stop_pid "$pid" 8
}

# write_meta - the machine, versions and commands, for the report
write_meta() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	jq -n --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" --arg cpu "$cpu" --arg cores "$(nproc)" \
		--arg mem "$(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)" \
		--arg kernel "$(uname -r)" \
		--arg gh "$("$B_GH" -V 2>&1 | head -n 1) (${BENCH_GH_DESC:-$(git -C "$B_TOP" describe --always --dirty 2>/dev/null || echo '?')})" \
		--arg ghlm "$([ -z "$B_GHLM" ] || echo "$("$B_GHLM" -V 2>&1 | head -n 1) (${BENCH_GH_LIBMILTER_DESC:-$(git -C "$(dirname "$B_GHLM")" describe --always --dirty 2>/dev/null || echo '?')}), $B_GHLM")" \
		--arg opendkim "$(opendkim -V 2>&1 | head -n 1)" \
		--arg opendmarc "$(opendmarc -V 2>&1 | head -n 1)" \
		--arg libmilter "$(dpkg-query -W -f='${Version}' libmilter1.0.1 2>/dev/null)" \
		--arg postfix "$(postconf -d -h mail_version 2>/dev/null)" \
		--arg unbound "$(unbound -V 2>&1 | head -n 1)" \
		--arg quick "$B_QUICK" --argjson reps "$B_REPS" --argjson msgs "$B_MSGS" \
		--argjson conc "$B_CONC" --argjson perconn "$B_PER_CONN" --argjson pfmsgs "$B_PF_MSGS" \
		--argjson pfsess "$B_PF_SESSIONS" --argjson idle "$B_IDLE_CONNS" --arg corpus "$(corpus_summary)" \
		--arg cmd_run "unshare --net -- tests/bench/run.sh $B_GH   (what make bench runs$([ "$B_QUICK" = 1 ] && echo ', BENCH_QUICK=1'))" \
		--arg cmd_loadgen "loadgen -m SOCKET [-m SOCKET2] -c $B_CONC -n $B_MSGS -p $B_PER_CONN -i $B_CLIENT_IP -H $B_HELO -j $B_AUTHSERV -l CONFIG corpus/manifest.tsv" \
		--arg cmd_source "smtp-source -s $((B_PF_SESSIONS / 4)) -m $((B_PF_MSGS / 4)) -M $B_HELO -f FROM -t RCPT -F corpus/msg/NNN.eml $B_SMTPD_IP:PORT  (x 4 in parallel, one per sender domain)" \
		'{date: $date, cpu: $cpu, cores: $cores, mem: $mem, kernel: $kernel,
		  versions: {gatehouse: $gh, gatehouse_libmilter: $ghlm, opendkim: $opendkim, opendmarc: $opendmarc, libmilter: $libmilter,
		             postfix: $postfix, unbound: $unbound},
		  quick: ($quick == "1"), reps: $reps, msgs: $msgs, conc: $conc, per_conn: $perconn,
		  pf_msgs: $pfmsgs, pf_sessions: $pfsess, corpus: $corpus, idle_conns: $idle,
		  commands: [$cmd_run, $cmd_loadgen, $cmd_source]}' >"$B_DIR/meta.json"
}

corpus_summary() {
	local n total min max
	n=$(grep -vc '^#' "$B_DIR/corpus/manifest.tsv")
	read -r total min max < <(find "$B_DIR/corpus/msg" -name '*.eml' -printf '%s\n' |
		awk '{ t += $1; if (!m || $1 < m) m = $1; if ($1 > x) x = $1 } END { print t, m, x }')
	echo "$n messages, $((min / 1024))-$((max / 1024)) KB (mean $((total / n / 1024)) KB), $(expected_rejects "$n") failing DMARC p=reject"
}
