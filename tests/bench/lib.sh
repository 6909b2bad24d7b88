# shellcheck shell=bash disable=SC2034
# lib.sh - the parts of the benchmark that are not measurements: building
# the tools, unbound, the milters, a private Postfix and smtp-sink. Sourced
# by run.sh, which sets B_DIR (temp dir), B_BUILD, B_HERE, B_TOP, B_GH,
# B_JSON, B_LOG and the B_* constants. Waiting, Postfix, smtp-sink and
# unbound come from tests/lib, shared with the integration suite.
#
# Layout of B_DIR:
#   build/                 loadgen, idle_conns, noop_milter, dkim_sign (unless BUILD is set)
#   corpus/                manifest.tsv, msg/*.eml, keys/, zone.txt (gen_corpus.py)
#   rules100/ rules1000/   *.rules (gen_rules.py)
#   dns/                   unbound.conf, logs
#   opendkim.conf/.sock/.log, opendmarc.conf/.sock/.log, noop.sock/.log
#   gh-NAME.conf/.sock/.log  gatehouse instance NAME (NAME ghlm*: the libmilter
#                          build, BENCH_GH_LIBMILTER, when given)
#   idle-NAME.out          idle_conns' output for instance NAME
#   postfix/ queue/ data/  the private Postfix; postfix.log
#   sink/                  smtp-sink's dump of every delivered message
#   results.jsonl          one JSON line per measurement; meta.json

# shellcheck source=../lib/common.sh source-path=SCRIPTDIR
. "$B_HERE/../lib/common.sh"
# shellcheck source=../lib/postfix.sh source-path=SCRIPTDIR
. "$B_HERE/../lib/postfix.sh"
# shellcheck source=../lib/unbound.sh source-path=SCRIPTDIR
. "$B_HERE/../lib/unbound.sh"

# ---------------------------------------------------------------- tools

# build_tools - loadgen, idle_conns, noop_milter, floor_milter and tests/tools/dkim_sign
# with cc, flags from pkg-config
build_tools() {
	local milter_cflags milter_libs dkim_flags
	milter_cflags=$(pkg-config --cflags milter)
	milter_libs=$(pkg-config --libs milter)
	dkim_flags=$(pkg-config --cflags --libs opendkim)
	mkdir -p "$B_BUILD"
	# shellcheck disable=SC2086 # pkg-config output is meant to be split
	if ! cc -std=c11 -O2 -g -Wall -Wextra -o "$B_BUILD/loadgen" "$B_HERE/loadgen.c" \
		"$B_HERE/mclient.c" "$B_HERE/corpus.c" $milter_cflags -pthread >>"$B_LOG" 2>&1 ||
	   ! cc -std=c11 -O2 -g -Wall -Wextra -o "$B_BUILD/idle_conns" "$B_HERE/idle_conns.c" \
		"$B_HERE/mclient.c" $milter_cflags >>"$B_LOG" 2>&1 ||
	   ! cc -std=c11 -O2 -Wall -Wextra -o "$B_BUILD/noop_milter" "$B_HERE/noop_milter.c" \
		$milter_cflags $milter_libs -pthread >>"$B_LOG" 2>&1 ||
	   ! cc -std=c11 -O2 -g -Wall -Wextra -I"$B_TOP/include" -o "$B_BUILD/floor_milter" \
		"$B_HERE/floor_milter.c" "$B_TOP/filter/milter/wire.c" "$B_TOP/filter/util/strbuf.c" \
		>>"$B_LOG" 2>&1 ||
	   ! cc -std=c11 -O2 -Wall -o "$B_BUILD/dkim_sign" "$B_TOP/tests/tools/dkim_sign.c" \
		$dkim_flags >>"$B_LOG" 2>&1; then
		echo "building the tools failed:"
		tail -n 20 "$B_LOG"
		return 1
	fi
}

# ---------------------------------------------------------------- DNS

# dns_start - unbound on 127.0.0.1:53 answering the corpus zone from
# local-data (every name under example. is static: unknown names are
# NXDOMAIN, nothing is recursed); waits until it answers
dns_start() {
	local d=$B_DIR/dns
	mkdir -p "$d"
	{
		echo "# unbound for gatehouse's benchmark: the corpus zone, nothing else"
		unbound_conf_server "$d" 53 'verbosity: 0' 'access-control: 192.0.2.0/24 allow'
		unbound_conf_local_data example. <"$B_DIR/corpus/zone.txt"
	} >"$d/unbound.conf"
	unbound-checkconf "$d/unbound.conf" >>"$B_LOG" 2>&1 || { echo "unbound.conf refused"; return 1; }
	unbound_start "$d/unbound.conf" "$d/unbound.out" 53
	B_DNS_PID=$UNBOUND_PID
	B_PIDS+=("$B_DNS_PID")
	wait_until 10 drill -Q @127.0.0.1 TXT _dmarc.alpha.example || {
		echo "unbound did not answer"
		tail "$d/unbound.out" "$d/unbound.log" 2>/dev/null
		return 1
	}
}

# ---------------------------------------------------------------- milters

# the milter process behind each socket, for CPU accounting
declare -A B_SOCK_PID=()

# cpu_ticks PID... - user + system CPU of the processes, in clock ticks
cpu_ticks() {
	local p t=0 f
	for p in "$@"; do
		# fields 14 and 15 of /proc/PID/stat, counted after the ")" that
		# ends the command name (which may hold spaces)
		f=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		t=$((t + ${f:-0}))
	done
	echo "$t"
}

# ctx_switches PID... - context switches (voluntary and not) of every
# thread of the processes: each is a wakeup or a preemption
ctx_switches() {
	local p t=0 f
	for p in "$@"; do
		f=$(cat /proc/"$p"/task/*/status 2>/dev/null |
			awk -v k="${CTX_KIND:-(non)?voluntary}" '$1 ~ "^" k "_ctxt_switches:$" { n += $2 } END { print n + 0 }')
		t=$((t + ${f:-0}))
	done
	echo "$t"
}

# machine_ticks - CPU ticks the whole machine spent busy (all of /proc/stat's
# first line but idle and iowait): the leg's cost to everything it ran
machine_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# machine_all_ticks - the same with idle and iowait: busy / all is how busy
# the machine was
machine_all_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}

# start_noop - the no-op milter (noop_milter.c), the protocol's own cost
start_noop() {
	"$B_BUILD/noop_milter" "unix:$B_DIR/noop.sock" >>"$B_DIR/noop.log" 2>&1 &
	B_NOOP_PID=$!
	B_PIDS+=("$B_NOOP_PID")
	B_SOCK_PID[unix:$B_DIR/noop.sock]=$B_NOOP_PID
	wait_until 10 test -S "$B_DIR/noop.sock" || {
		echo "noop_milter did not start:"
		tail "$B_DIR/noop.log"
		return 1
	}
}

# start_floor - the floor milter (floor_milter.c) twice: as is, and adding
# the three header fields gatehouse adds (-e); the least any milter negotiating as
# gatehouse does can cost Postfix
start_floor() {
	local sock opt
	for sock in floor floore; do
		opt=()
		[ $sock = floor ] || opt=(-e)
		"$B_BUILD/floor_milter" "${opt[@]}" "unix:$B_DIR/$sock.sock" \
			>>"$B_DIR/floor.log" 2>&1 &
		B_PIDS+=("$!")
		B_SOCK_PID[unix:$B_DIR/$sock.sock]=$!
		if [ $sock = floor ]; then B_FLOOR_PID=$!; else B_FLOORE_PID=$!; fi
		wait_until 10 test -S "$B_DIR/$sock.sock" || {
			echo "floor_milter did not start:"
			tail "$B_DIR/floor.log"
			return 1
		}
	done
}

# start_opendkim - Debian's opendkim, verify only, on a unix socket, asking
# the benchmark's unbound (its libunbound takes Nameservers)
start_opendkim() {
	cat >"$B_DIR/opendkim.conf" <<EOF
# OpenDKIM as a verifier, as a Debian MX would run it (minus syslog)
Mode			v
Socket			local:$B_DIR/opendkim.sock
PidFile			$B_DIR/opendkim.pid
UMask			000
Background		no
Syslog			no
AuthservID		$B_AUTHSERV
Nameservers		127.0.0.1
MinimumKeyBits		1024
Canonicalization	relaxed/simple
SoftwareHeader		no
EOF
	opendkim -f -x "$B_DIR/opendkim.conf" >>"$B_DIR/opendkim.log" 2>&1 &
	B_OPENDKIM_PID=$!
	B_SOCK_PID[unix:$B_DIR/opendkim.sock]=$B_OPENDKIM_PID
	B_PIDS+=("$B_OPENDKIM_PID")
	wait_until 10 test -S "$B_DIR/opendkim.sock" || {
		echo "opendkim did not start:"
		tail "$B_DIR/opendkim.log"
		return 1
	}
}

# start_opendmarc - Debian's opendmarc checking SPF itself and taking DKIM
# results from OpenDKIM's Authentication-Results (same authserv-id)
start_opendmarc() {
	cat >"$B_DIR/opendmarc.conf" <<EOF
# OpenDMARC as a Debian MX would run it next to OpenDKIM (minus syslog)
Socket			local:$B_DIR/opendmarc.sock
PidFile			$B_DIR/opendmarc.pid
UMask			000
Background		false
Syslog			false
AuthservID		$B_AUTHSERV
TrustedAuthservIDs	$B_AUTHSERV
SPFSelfValidate		true
SPFIgnoreResults	true
IgnoreAuthenticatedClients true
RejectFailures		true
RequiredHeaders		false
FailureReports		false
PublicSuffixList	/usr/share/publicsuffix/public_suffix_list.dat
SoftwareHeader		false
EOF
	opendmarc -f -c "$B_DIR/opendmarc.conf" >>"$B_DIR/opendmarc.log" 2>&1 &
	B_OPENDMARC_PID=$!
	B_SOCK_PID[unix:$B_DIR/opendmarc.sock]=$B_OPENDMARC_PID
	B_PIDS+=("$B_OPENDMARC_PID")
	wait_until 10 test -S "$B_DIR/opendmarc.sock" || {
		echo "opendmarc did not start:"
		tail "$B_DIR/opendmarc.log"
		return 1
	}
}

# gh_write_conf NAME [RULES_DIR [SOCKET]] - gh-NAME.conf: SPF, DKIM, DMARC
# against the benchmark's unbound; the client network is not internal, so
# every message gets every check. SOCKET: default unix:gh-NAME.sock
gh_write_conf() {
	{
		cat <<EOF
# gatehouse instance "$1" of the benchmark
socket = "${3:-unix:$B_DIR/gh-$1.sock}"
socket_group = ""
socket_mode = "0666"
authserv_id = "$B_AUTHSERV"
internal_networks = ""
dns_forwarders = "127.0.0.1"
log_level = "notice"
drain_timeout_ms = 1000
EOF
		if [ -n "${2:-}" ]; then
			printf 'rules_dir = "%s"\n' "$2"
		fi
		# BENCH_GH_CONF: directives to try, e.g. "milter_workers = 4"
		[ -z "${BENCH_GH_CONF:-}" ] || printf '%s\n' "$BENCH_GH_CONF"
	} >"$B_DIR/gh-$1.conf"
}

# gh_start NAME [BINARY] - run gatehouse (B_GH, or BINARY: the libmilter
# build) -f with gh-NAME.conf; waits for its socket
gh_start() {
	local pid
	"${2:-$B_GH}" -f -c "$B_DIR/gh-$1.conf" >>"$B_DIR/gh-$1.log" 2>&1 &
	pid=$!
	printf -v "B_GH_PID_${1//[^a-z0-9]/_}" '%s' "$pid"
	B_SOCK_PID[unix:$B_DIR/gh-$1.sock]=$pid
	B_PIDS+=("$pid")
	wait_until 10 gh_listening "$1" || {
		echo "gatehouse $1 did not start:"
		tail "$B_DIR/gh-$1.log"
		return 1
	}
}

# gh_listening NAME - instance NAME's socket is there (a unix socket file,
# or for ghtcp the TCP port)
gh_listening() {
	if [ "$1" = ghtcp ]; then
		port_listening "$B_PORT_GHTCP_MILTER"
	else
		test -S "$B_DIR/gh-$1.sock"
	fi
}

gh_pid() {
	local v="B_GH_PID_${1//[^a-z0-9]/_}"
	echo "${!v:-}"
}

# ---------------------------------------------------------------- Postfix

# postfix_setup - the benchmark's Postfix (tests/lib/postfix.sh): relays
# bench-rcpt.example to smtp-sink and nothing else; one smtpd per milter
# configuration, on B_SMTPD_IP (the libmilter build's only when B_GHLM is set)
postfix_setup() {
	local peers
	postfix_instance_setup "$B_DIR" bench-rcpt.example "$B_PORT_SINK" <<EOF
myhostname = $B_AUTHSERV
mydomain = bench.example
inet_interfaces = 127.0.0.1, $B_SMTPD_IP
smtpd_milters =
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = 200
default_destination_concurrency_limit = 50
EOF
	peers="unix:$B_DIR/opendkim.sock unix:$B_DIR/opendmarc.sock"
	cat >>"$B_DIR/postfix/master.cf" <<EOF
$B_SMTPD_IP:$B_PORT_PLAIN inet n - n - - smtpd
$B_SMTPD_IP:$B_PORT_PEERS inet n - n - - smtpd
  -o { smtpd_milters = $peers }
$B_SMTPD_IP:$B_PORT_GH inet n - n - - smtpd
  -o smtpd_milters=unix:$B_DIR/gh-gh.sock
$B_SMTPD_IP:$B_PORT_GHTCP inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$B_PORT_GHTCP_MILTER
$B_SMTPD_IP:$B_PORT_DKIM inet n - n - - smtpd
  -o smtpd_milters=unix:$B_DIR/opendkim.sock
$B_SMTPD_IP:$B_PORT_NOOP inet n - n - - smtpd
  -o smtpd_milters=unix:$B_DIR/noop.sock
$B_SMTPD_IP:$B_PORT_FLOOR inet n - n - - smtpd
  -o smtpd_milters=unix:$B_DIR/floor.sock
$B_SMTPD_IP:$B_PORT_FLOORE inet n - n - - smtpd
  -o smtpd_milters=unix:$B_DIR/floore.sock
EOF
	if [ -n "$B_GHLM" ]; then
		cat >>"$B_DIR/postfix/master.cf" <<EOF
$B_SMTPD_IP:$B_PORT_GHLM inet n - n - - smtpd
  -o smtpd_milters=unix:$B_DIR/gh-ghlm.sock
EOF
	fi
}

postfix_start() {
	postfix_instance_start "$B_DIR" "$B_PORT_PLAIN" "$B_PORT_PEERS" "$B_PORT_GH" "$B_PORT_GHTCP" "$B_PORT_DKIM" \
		"$B_PORT_NOOP" "$B_PORT_FLOOR" "$B_PORT_FLOORE" ${B_GHLM:+"$B_PORT_GHLM"}
}

postfix_stop() {
	postfix_instance_stop "$B_DIR"
}

sink_start() {
	local rc=0
	smtp_sink_start "$B_DIR" "$B_PORT_SINK" 512 || rc=1
	B_SINK_PID=$SMTP_SINK_PID
	B_PIDS+=("$B_SINK_PID")
	return $rc
}

sink_count() {
	smtp_sink_count "$B_DIR"
}

sink_count_at_least() {
	[ "$(sink_count)" -ge "$1" ]
}

sink_clear() {
	find "$B_DIR/sink" -type f -name 'm.*' -delete
}

# manifest_field INDEX FIELD - field FIELD (1-based) of corpus entry INDEX
manifest_field() {
	grep -v '^#' "$B_DIR/corpus/manifest.tsv" | sed -n "$(($1 + 1))p" | cut -f "$2"
}

# send_one PORT INDEX COUNT [SESSIONS] - smtp-source: COUNT copies of
# corpus entry INDEX, one per connection, SESSIONS (1) at a time, from
# B_CLIENT_IP
send_one() {
	smtp-source -s "${4:-1}" -m "$3" -M "$B_HELO" -f "$(manifest_field "$2" 2)" \
		-t "$(manifest_field "$2" 3)" -F "$B_DIR/corpus/$(manifest_field "$2" 1)" \
		"$B_SMTPD_IP:$1"
}
