# shellcheck shell=bash disable=SC2034
# lib.sh - the parts of the integration suite that are not tests: a private
# Postfix instance, an smtp-sink, gatehouse instances, waiting and reporting.
# Sourced by run.sh; expects IT_DIR (a fresh temp dir), IT_GH (the binary),
# IT_HERE (this directory) and IT_PYTHON (a python3).
#
# Layout of IT_DIR:
#   postfix/          config_directory (main.cf, master.cf)
#   queue/ data/      queue_directory, data_directory
#   postfix.log       Postfix's maillog_file
#   sink/             smtp-sink, one file per message (m.<hex>)
#   sink.log          smtp-sink's own output
#   gh-NAME.conf      config of the gatehouse instance NAME
#   gh-NAME.log       its standard error (it runs with -f)
#   msg/              messages the tests send
#   dns/              the DNS server of the SPF and DKIM tests (unbound.conf, unbound.log)
#   dkim/             the DKIM tests' key (signed.pem) and messages as signed (*.txt)
#   build/            tests/tools/dkim_sign, built there by the DKIM tests
#   rules-l/          the rule files of group l's "rules" instance (rules_dir)

IT_SMTPD_PORT=10025		# smtpd whose milter is gatehouse on inet:
IT_SMTPD_UNIX_PORT=10027	# smtpd whose milter is gatehouse on a unix socket
IT_SINK_PORT=10026		# smtp-sink: where example.org is relayed to
IT_MILTER_PORT=8891		# gatehouse, inet
IT_SMTPD_SPF_PORT=10028		# smtpd whose milter is the SPF instance of gatehouse
IT_MILTER_SPF_PORT=8892		# gatehouse instance "spf", inet, with real DNS
IT_DNS_PORT=5353		# unbound, authoritative for the SPF tests' zone
IT_SPF_CLIENT_IP=192.0.2.25	# SPF test client (added to lo): libspf2 passes loopback
IT_SMTPD_DKIM_PORT=10029	# smtpd whose milter is the DKIM/DMARC instance of gatehouse
IT_MILTER_DKIM_PORT=8893	# gatehouse instance "dkim", inet, with real DNS
IT_SMTPD_RULES_PORT=10030	# smtpd whose milter is the rules instance of gatehouse
IT_MILTER_RULES_PORT=8894	# gatehouse instance "rules", inet, with rules_dir
IT_DOMAIN=example.org		# the only domain this Postfix relays
IT_AUTHSERV=mx.gatehouse.test
IT_AUTHSERV_DKIM=auth.gatehouse.test	# the "dkim" instance's own authserv-id

# ---------------------------------------------------------------- reporting

IT_PASSED=0
IT_FAILED=0
IT_FAILED_NAMES=()

ok() {
	IT_PASSED=$((IT_PASSED + 1))
	echo "ok - $1"
}

# not_ok NAME WHY - a failed test, with the last lines of every log
not_ok() {
	IT_FAILED=$((IT_FAILED + 1))
	IT_FAILED_NAMES+=("$1")
	echo "not ok - $1: $2"
	diag_logs
}

# diag - indented diagnostics (never start with "ok" or "not ok")
diag() {
	sed 's/^/    # /'
}

diag_logs() {
	local f
	for f in "$IT_DIR"/postfix.log "$IT_DIR"/gh-*.log "$IT_DIR"/sink.log; do
		[ -s "$f" ] || continue
		echo "  -- tail of ${f#"$IT_DIR"/}"
		tail -n 15 "$f" | diag
	done
	if [ -s "$IT_DIR/last-client.out" ]; then
		echo "  -- last client transcript"
		tail -n 25 "$IT_DIR/last-client.out" | diag
	fi
}

# ---------------------------------------------------------------- waiting

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

port_listening() {
	[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

port_closed() {
	! port_listening "$1"
}

pid_alive() {
	kill -0 "$1" 2>/dev/null
}

pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

# log_has FILE ERE - FILE has a line matching ERE
log_has() {
	grep -Eq -- "$2" "$1" 2>/dev/null
}

# log_count FILE ERE - number of lines matching ERE
log_count() {
	local n
	n=$(grep -Ec -- "$2" "$1" 2>/dev/null)
	echo "${n:-0}"
}

log_count_at_least() {
	[ "$(log_count "$1" "$2")" -ge "$3" ]
}

# ---------------------------------------------------------------- Postfix

postfix_setup() {
	local pf=$IT_DIR/postfix
	mkdir -p "$pf" "$IT_DIR/queue" "$IT_DIR/data" "$IT_DIR/msg"
	chown postfix "$IT_DIR/data"
	cat >"$pf/main.cf" <<EOF
# Private Postfix for gatehouse's integration suite; never an open relay:
# only $IT_DOMAIN is relayed (to smtp-sink), everything else is refused.
compatibility_level = 3.6
queue_directory = $IT_DIR/queue
data_directory = $IT_DIR/data
mail_owner = postfix
myhostname = $IT_AUTHSERV
mydomain = gatehouse.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:5.1.1 local delivery is off in this test instance
default_transport = error:5.1.2 only $IT_DOMAIN is delivered in this test instance
relay_domains = $IT_DOMAIN
transport_maps = inline:{$IT_DOMAIN=relay:[127.0.0.1]:$IT_SINK_PORT}
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
# Treat our clients like remote ones: no missing From/Date/Message-Id added,
# so gatehouse sees exactly the header the client sent (Postfix's default
# permit_inet_interfaces would add a From: to a message that has none).
local_header_rewrite_clients =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_milters = inet:127.0.0.1:$IT_MILTER_PORT
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 15s
milter_content_timeout = 30s
maillog_file = $IT_DIR/postfix.log
maillog_file_prefixes = $IT_DIR
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_client_connection_count_limit = 100
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
biff = no
notify_classes =
EOF
	# The stock master.cf with chroot off everywhere, and without the
	# port 25 listener: ours listen on fixed loopback ports instead.
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
	cat >>"$pf/master.cf" <<EOF
127.0.0.1:$IT_SMTPD_PORT inet n - n - - smtpd
127.0.0.1:$IT_SMTPD_UNIX_PORT inet n - n - - smtpd
  -o smtpd_milters=unix:$IT_DIR/gh.sock
127.0.0.1:$IT_SMTPD_SPF_PORT inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$IT_MILTER_SPF_PORT
127.0.0.1:$IT_SMTPD_DKIM_PORT inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$IT_MILTER_DKIM_PORT
127.0.0.1:$IT_SMTPD_RULES_PORT inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$IT_MILTER_RULES_PORT
EOF
}

postfix_start() {
	local out
	if ! out=$(script -qec "postfix -c '$IT_DIR/postfix' start" /dev/null 2>&1); then
		echo "postfix start failed:"
		echo "$out" | diag
		return 1
	fi
	if ! wait_until 15 port_listening "$IT_SMTPD_PORT" ||
	   ! wait_until 5 port_listening "$IT_SMTPD_UNIX_PORT" ||
	   ! wait_until 5 port_listening "$IT_SMTPD_SPF_PORT" ||
	   ! wait_until 5 port_listening "$IT_SMTPD_DKIM_PORT" ||
	   ! wait_until 5 port_listening "$IT_SMTPD_RULES_PORT"; then
		echo "postfix did not listen on $IT_SMTPD_PORT, $IT_SMTPD_UNIX_PORT, $IT_SMTPD_SPF_PORT, $IT_SMTPD_DKIM_PORT and $IT_SMTPD_RULES_PORT"
		echo "$out" | diag
		return 1
	fi
}

postfix_stop() {
	local pidfile=$IT_DIR/queue/pid/master.pid pid
	[ -s "$pidfile" ] || return 0
	pid=$(tr -dc '0-9' <"$pidfile")
	script -qec "postfix -c '$IT_DIR/postfix' stop" /dev/null >/dev/null 2>&1
	if [ -n "$pid" ] && ! wait_until 10 pid_gone "$pid"; then
		script -qec "postfix -c '$IT_DIR/postfix' abort" /dev/null >/dev/null 2>&1
	fi
}

# postqueue_empty - nothing in Postfix's queue (no message kept or deferred)
postqueue_empty() {
	local out
	out=$(postqueue -c "$IT_DIR/postfix" -j 2>/dev/null) || return 1
	[ -z "$out" ]
}

# ---------------------------------------------------------------- smtp-sink

sink_start() {
	mkdir -p "$IT_DIR/sink"
	chown postfix "$IT_DIR/sink"
	smtp-sink -u postfix -d "$IT_DIR/sink/m." "127.0.0.1:$IT_SINK_PORT" 256 \
		>"$IT_DIR/sink.log" 2>&1 &
	IT_SINK_PID=$!
	wait_until 10 port_listening "$IT_SINK_PORT" || {
		echo "smtp-sink did not start"
		diag <"$IT_DIR/sink.log"
		return 1
	}
}

# sink_files_with STRING - dump files holding STRING (a fixed string)
sink_files_with() {
	grep -lF -- "$1" "$IT_DIR"/sink/m.* 2>/dev/null
}

# sink_count_with_at_least STRING N - at least N dump files hold STRING
sink_count_with_at_least() {
	[ "$(sink_files_with "$1" | wc -l)" -ge "$2" ]
}

sink_has() {
	[ -n "$(sink_files_with "$1")" ]
}

sink_count() {
	local n
	n=$(find "$IT_DIR/sink" -name 'm.*' -type f 2>/dev/null | wc -l)
	echo "$n"
}

# sink_message FILE - the message as Postfix relayed it: the dump file
# without smtp-sink's own records (X-Client-Addr ... and its 3-line Received)
sink_message() {
	awk '
		st == 2 { print; next }
		st == 0 && /^Received: / { st = 1; next }
		st == 1 && /^[ \t]/ { next }
		st == 1 { st = 2; print }
	' "$1"
}

# sink_header_block FILE - the header lines of the relayed message
sink_header_block() {
	sink_message "$1" | sed '/^$/,$d'
}

# ---------------------------------------------------------------- DNS server

udp_port_bound() {
	[ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ]
}

udp_port_free() {
	! udp_port_bound "$1"
}

# dns_setup [RECORDS on stdin] - write dns/unbound.conf: unbound as a tiny
# authoritative server on 127.0.0.1:IT_DNS_PORT for the zone example.
# (local-zone static: names without data are NXDOMAIN, nothing is recursed).
# One record a line, zone file syntax: pass.example. 300 IN TXT "v=spf1 -all"
dns_setup() {
	local d=$IT_DIR/dns rr
	mkdir -p "$d"
	{
		cat <<EOF
# unbound for gatehouse's integration suite: answers example. from local data
server:
	interface: 127.0.0.1@$IT_DNS_PORT
	do-ip4: yes
	do-ip6: no
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "$d"
	pidfile: "$d/unbound.pid"
	use-syslog: no
	logfile: "$d/unbound.log"
	log-queries: yes
	verbosity: 1
	num-threads: 1
	module-config: "iterator"
	access-control: 127.0.0.0/8 allow
	local-zone: "example." static
EOF
		# Single quotes outside: with "..." around the record, unbound
		# drops the inner escaped quotes and a TXT becomes one string a word.
		while IFS= read -r rr; do
			[ -n "$rr" ] && printf "\tlocal-data: '%s'\n" "$rr"
		done
		printf 'remote-control:\n\tcontrol-enable: no\n'
	} >"$d/unbound.conf"
	if ! unbound-checkconf "$d/unbound.conf" >"$d/checkconf.out" 2>&1; then
		echo "unbound-checkconf refused dns/unbound.conf:"
		diag <"$d/checkconf.out"
		return 1
	fi
}

# dns_answers NAME [TYPE] - the DNS server answers a query for NAME (any rcode)
dns_answers() {
	"$IT_PYTHON" "$IT_HERE/dns_probe.py" 127.0.0.1 "$IT_DNS_PORT" "$1" "${2:-TXT}" 0.3
}

# dns_start - run unbound in the foreground (IT_DNS_PID) and wait until it
# answers a query for mx.example (first for its socket: ss costs less than
# a Python start)
dns_start() {
	local d=$IT_DIR/dns
	unbound -d -c "$d/unbound.conf" >>"$d/unbound.out" 2>&1 &
	IT_DNS_PID=$!
	if ! wait_until 10 udp_port_bound "$IT_DNS_PORT" ||
	   ! wait_until 5 dns_answers mx.example A; then
		echo "unbound did not answer on 127.0.0.1:$IT_DNS_PORT within 10 s"
		cat "$d/unbound.out" "$d/unbound.log" 2>/dev/null | tail -n 20 | diag
		return 1
	fi
}

# dns_stop - SIGTERM unbound; wait (bounded) until it is gone and its UDP
# port is free
dns_stop() {
	local pid=${IT_DNS_PID:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_until 10 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	IT_DNS_PID=
	wait_until 5 udp_port_free "$IT_DNS_PORT"
}

# ---------------------------------------------------------------- gatehouse

# gh_conf NAME [directive = value lines on stdin] - write gh-NAME.conf.
# Every instance answers DNS from an empty fixture (every name NXDOMAIN):
# these tests are about the milter, not DNS, and the namespace has no DNS
# server, so SPF would (rightly) tempfail. The SPF tests start a real DNS
# server and configure dns_forwarders instead (gh_conf_dns).
gh_conf() {
	: >"$IT_DIR/empty.zone"
	{
		cat
		printf '\n# added by gh_conf: no network DNS in these tests\ndns_fixture = "%s"\n' \
			"$IT_DIR/empty.zone"
	} >"$IT_DIR/gh-$1.conf"
}

# gh_conf_dns NAME [directive = value lines on stdin] - write gh-NAME.conf
# as given, without the fixture (which would override dns_forwarders)
gh_conf_dns() {
	cat >"$IT_DIR/gh-$1.conf"
}

# gh_start NAME [EXTRA ARGS] - run gatehouse in the foreground with
# gh-NAME.conf; sets GH_PID_NAME; waits until it logged "started"
gh_start() {
	local name=$1
	shift
	local log=$IT_DIR/gh-$name.log
	: >>"$log"
	local before
	before=$(log_count "$log" ' started \(config ')
	"$IT_GH" -f -c "$IT_DIR/gh-$name.conf" "$@" >>"$log" 2>&1 &
	local pid=$!
	printf -v "GH_PID_$name" '%s' "$pid"
	if ! wait_until 10 log_count_at_least "$log" ' started \(config ' $((before + 1)); then
		echo "gatehouse $name did not start"
		tail -n 20 "$log" | diag
		return 1
	fi
	pid_alive "$pid"
}

gh_pid() {
	local v="GH_PID_$1"
	echo "${!v:-}"
}

# gh_forget NAME - the instance is gone (its exit was collected elsewhere)
gh_forget() {
	printf -v "GH_PID_$1" '%s' ""
}

# gh_hup NAME ERE - SIGHUP instance NAME, wait (10 s at most) for one more
# line matching ERE in its log
gh_hup() {
	local log=$IT_DIR/gh-$1.log n
	n=$(log_count "$log" "$2")
	kill -HUP "$(gh_pid "$1")"
	wait_until 10 log_count_at_least "$log" "$2" $((n + 1))
}

# gh_stop NAME - SIGTERM and wait (bounded) for the exit; returns its status
gh_stop() {
	local pid
	pid=$(gh_pid "$1")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	if ! wait_until 20 pid_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null
	fi
	local rc=0
	wait "$pid" 2>/dev/null || rc=$?
	gh_forget "$1"
	return $rc
}

# ---------------------------------------------------------------- clients

# send_swaks PORT [swaks args...] - run swaks against Postfix, transcript in
# last-client.out; sets SWAKS_RC. SWAKS_HELO overrides the HELO name.
send_swaks() {
	local port=$1
	shift
	timeout 60 swaks --server 127.0.0.1 --port "$port" --helo "${SWAKS_HELO:-client.gatehouse.test}" \
		--timeout 30 "$@" >"$IT_DIR/last-client.out" 2>&1
	SWAKS_RC=$?
}

# swaks_reply_to CMD_REGEX - the server's first reply line after the client
# line matching CMD_REGEX (e.g. '^ -> RCPT TO:<x@example.org>')
swaks_reply_to() {
	awk -v cmd="$1" '
		found && /^ *<[~*-]* / { sub(/^ *<[~*-]* +/, ""); print; exit }
		$0 ~ cmd { found = 1 }
	' "$IT_DIR/last-client.out"
}

# queue_id_of_swaks - the queue id from "250 2.0.0 Ok: queued as QID"
queue_id_of_swaks() {
	sed -n 's/.*250 2\.0\.0 Ok: queued as \([0-9A-Za-z]*\).*/\1/p' "$IT_DIR/last-client.out" | tail -n 1
}

# wait_delivered STRING [TIMEOUT_S] - a message holding STRING reached the sink
wait_delivered() {
	wait_until "${2:-15}" sink_has "$1"
}
