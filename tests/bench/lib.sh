# shellcheck shell=bash disable=SC2034
# lib.sh - the parts of the benchmark that are not measurements: building
# the tools, unbound, the milters, a private Postfix and smtp-sink. Sourced
# by run.sh, which sets B_DIR (temp dir), B_BUILD, B_HERE, B_TOP, B_GH,
# B_JSON, B_LOG and the B_* constants.
#
# Layout of B_DIR:
#   build/                 loadgen, dkim_sign (unless BUILD is set)
#   corpus/                manifest.tsv, msg/*.eml, keys/, zone.txt (gen_corpus.py)
#   rules100/ rules1000/   *.rules (gen_rules.py)
#   dns/                   unbound.conf, logs
#   opendkim.conf/.sock/.log, opendmarc.conf/.sock/.log, noop.sock/.log
#   gh-NAME.conf/.sock/.log  gatehouse instance NAME
#   postfix/ queue/ data/  the private Postfix; postfix.log
#   sink/                  smtp-sink's dump of every delivered message
#   results.jsonl          one JSON line per measurement; meta.json

# ---------------------------------------------------------------- waiting

now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}

# wait_until TIMEOUT_S COMMAND... - poll COMMAND every 50 ms
wait_until() {
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

# stop_pid PID - TERM, and KILL if it is still there after 8 s (libmilter
# takes up to 5 s to notice)
stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || return 0
	wait_until 8 pid_gone "$1" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

port_listening() {
	[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# ---------------------------------------------------------------- tools

# build_tools - loadgen, noop_milter and tests/tools/dkim_sign with cc,
# flags from pkg-config
build_tools() {
	local milter_cflags milter_libs dkim_flags
	milter_cflags=$(pkg-config --cflags milter)
	milter_libs=$(pkg-config --libs milter)
	dkim_flags=$(pkg-config --cflags --libs opendkim)
	mkdir -p "$B_BUILD"
	# shellcheck disable=SC2086 # pkg-config output is meant to be split
	if ! cc -std=c11 -O2 -g -Wall -Wextra -o "$B_BUILD/loadgen" "$B_HERE/loadgen.c" \
		"$B_HERE/mclient.c" "$B_HERE/corpus.c" $milter_cflags -pthread >>"$B_LOG" 2>&1 ||
	   ! cc -std=c11 -O2 -Wall -Wextra -o "$B_BUILD/noop_milter" "$B_HERE/noop_milter.c" \
		$milter_cflags $milter_libs -pthread >>"$B_LOG" 2>&1 ||
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
	local d=$B_DIR/dns rr
	mkdir -p "$d"
	{
		cat <<EOF
# unbound for gatehouse's benchmark: the corpus zone, nothing else
server:
	interface: 127.0.0.1@53
	do-ip4: yes
	do-ip6: no
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "$d"
	pidfile: "$d/unbound.pid"
	use-syslog: no
	logfile: "$d/unbound.log"
	verbosity: 0
	num-threads: 1
	module-config: "iterator"
	access-control: 127.0.0.0/8 allow
	access-control: 192.0.2.0/24 allow
	local-zone: "example." static
EOF
		# single quotes outside, so the TXT strings keep their quotes
		while IFS= read -r rr; do
			[ -n "$rr" ] && printf "\tlocal-data: '%s'\n" "$rr"
		done <"$B_DIR/corpus/zone.txt"
		printf 'remote-control:\n\tcontrol-enable: no\n'
	} >"$d/unbound.conf"
	unbound-checkconf "$d/unbound.conf" >>"$B_LOG" 2>&1 || { echo "unbound.conf refused"; return 1; }
	unbound -d -c "$d/unbound.conf" >>"$d/unbound.out" 2>&1 &
	B_DNS_PID=$!
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

# gh_write_conf NAME [RULES_DIR] - gh-NAME.conf: SPF, DKIM, DMARC against
# the benchmark's unbound; the client network is not internal, so every
# message gets every check
gh_write_conf() {
	{
		cat <<EOF
# gatehouse instance "$1" of the benchmark
socket = "unix:$B_DIR/gh-$1.sock"
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
	} >"$B_DIR/gh-$1.conf"
}

# gh_start NAME - run gatehouse -f with gh-NAME.conf; waits for its socket
gh_start() {
	local pid
	"$B_GH" -f -c "$B_DIR/gh-$1.conf" >>"$B_DIR/gh-$1.log" 2>&1 &
	pid=$!
	printf -v "B_GH_PID_${1//[^a-z0-9]/_}" '%s' "$pid"
	B_SOCK_PID[unix:$B_DIR/gh-$1.sock]=$pid
	B_PIDS+=("$pid")
	wait_until 10 test -S "$B_DIR/gh-$1.sock" || {
		echo "gatehouse $1 did not start:"
		tail "$B_DIR/gh-$1.log"
		return 1
	}
}

gh_pid() {
	local v="B_GH_PID_${1//[^a-z0-9]/_}"
	echo "${!v:-}"
}

# ---------------------------------------------------------------- Postfix

postfix_setup() {
	local pf=$B_DIR/postfix peers
	mkdir -p "$pf" "$B_DIR/queue" "$B_DIR/data"
	chown postfix "$B_DIR/data"
	cat >"$pf/main.cf" <<EOF
# Private Postfix for gatehouse's benchmark: relays bench-rcpt.example to
# smtp-sink and nothing else
compatibility_level = 3.6
queue_directory = $B_DIR/queue
data_directory = $B_DIR/data
mail_owner = postfix
myhostname = $B_AUTHSERV
mydomain = bench.example
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:5.1.1 local delivery is off
default_transport = error:5.1.2 only bench-rcpt.example is delivered
relay_domains = bench-rcpt.example
transport_maps = inline:{bench-rcpt.example=relay:[127.0.0.1]:$B_PORT_SINK}
inet_interfaces = 127.0.0.1, $B_SMTPD_IP
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
local_header_rewrite_clients =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 15s
milter_content_timeout = 30s
maillog_file = $B_DIR/postfix.log
maillog_file_prefixes = $B_DIR
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_error_sleep_time = 0
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
in_flow_delay = 0
default_process_limit = 200
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
default_destination_concurrency_limit = 50
biff = no
notify_classes =
EOF
	# the stock master.cf with chroot off and no port 25 listener
	awk '
		/^[^#[:space:]]/ && NF >= 8 {
			if ($1 == "smtp" && $2 == "inet") { skip = 1; next }
			skip = 0
			$5 = "n"
			print
			next
		}
		/^[[:space:]]/ && skip { next }
		{ print }
	' /etc/postfix/master.cf >"$pf/master.cf"
	peers="unix:$B_DIR/opendkim.sock unix:$B_DIR/opendmarc.sock"
	cat >>"$pf/master.cf" <<EOF
$B_SMTPD_IP:$B_PORT_PLAIN inet n - n - - smtpd
$B_SMTPD_IP:$B_PORT_PEERS inet n - n - - smtpd
  -o { smtpd_milters = $peers }
$B_SMTPD_IP:$B_PORT_GH inet n - n - - smtpd
  -o smtpd_milters=unix:$B_DIR/gh-gh.sock
$B_SMTPD_IP:$B_PORT_DKIM inet n - n - - smtpd
  -o smtpd_milters=unix:$B_DIR/opendkim.sock
$B_SMTPD_IP:$B_PORT_NOOP inet n - n - - smtpd
  -o smtpd_milters=unix:$B_DIR/noop.sock
EOF
}

postfix_start() {
	local out p
	if ! out=$(script -qec "postfix -c '$B_DIR/postfix' start" /dev/null 2>&1); then
		echo "postfix start failed: $out"
		return 1
	fi
	for p in "$B_PORT_PLAIN" "$B_PORT_PEERS" "$B_PORT_GH" "$B_PORT_DKIM" "$B_PORT_NOOP"; do
		wait_until 15 port_listening "$p" || { echo "postfix does not listen on $p: $out"; return 1; }
	done
}

postfix_stop() {
	local pidfile=$B_DIR/queue/pid/master.pid pid
	[ -s "$pidfile" ] || return 0
	pid=$(tr -dc '0-9' <"$pidfile")
	script -qec "postfix -c '$B_DIR/postfix' stop" /dev/null >/dev/null 2>&1
	if [ -n "$pid" ] && ! wait_until 10 pid_gone "$pid"; then
		script -qec "postfix -c '$B_DIR/postfix' abort" /dev/null >/dev/null 2>&1
	fi
}

sink_start() {
	mkdir -p "$B_DIR/sink"
	chown postfix "$B_DIR/sink"
	smtp-sink -u postfix -d "$B_DIR/sink/m." "127.0.0.1:$B_PORT_SINK" 512 >"$B_DIR/sink.log" 2>&1 &
	B_SINK_PID=$!
	B_PIDS+=("$B_SINK_PID")
	wait_until 10 port_listening "$B_PORT_SINK" || { echo "smtp-sink did not start"; return 1; }
}

sink_count() {
	find "$B_DIR/sink" -type f -name 'm.*' | wc -l
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
