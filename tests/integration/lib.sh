# shellcheck shell=bash disable=SC2034
# lib.sh - the parts of the integration suite that are not tests: a private
# Postfix instance, an smtp-sink, a DNS server, gatehouse instances, clients,
# messages and reporting; every test file (basics.sh, reload.sh, ...) uses it.
# Sourced by run.sh; expects IT_DIR (a fresh temp dir), IT_GH (the binary),
# IT_HERE (this directory) and IT_PYTHON (a python3). Waiting, Postfix,
# smtp-sink and unbound come from tests/lib, shared with tests/bench.
#
# Layout of IT_DIR:
#   postfix/ queue/ data/ postfix.log sink/ sink.log
#                     Postfix and smtp-sink (tests/lib/postfix.sh)
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
IT_SMTPD_V2_PORT=10031		# smtpd speaking milter protocol 2 to the main instance
IT_SMTPD_V4_PORT=10032		# the same with protocol 4
IT_MILTER_RULES_PORT=8894	# gatehouse instance "rules", inet, with rules_dir
IT_DOMAIN=example.org		# the only domain this Postfix relays
IT_AUTHSERV=mx.gatehouse.test
IT_AUTHSERV_DKIM=auth.gatehouse.test	# the "dkim" instance's own authserv-id
IT_DRAIN_MS=6000		# drain_timeout_ms of the "main" instance
IT_SPF_TIMEOUT_MS=1000		# dns_timeout_ms of the "spf" and "dkim" instances

IT_BG_PIDS=()		# background clients, stopped at the end
IT_NEVER_IDS=()		# test ids of messages that must never reach the sink

# shellcheck source=../lib/common.sh source-path=SCRIPTDIR
. "$IT_HERE/../lib/common.sh"
# shellcheck source=../lib/postfix.sh source-path=SCRIPTDIR
. "$IT_HERE/../lib/postfix.sh"
# shellcheck source=../lib/unbound.sh source-path=SCRIPTDIR
. "$IT_HERE/../lib/unbound.sh"

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

# ---------------------------------------------------------------- logs

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

# postfix_setup - the suite's Postfix: one smtpd for each gatehouse instance
postfix_setup() {
	mkdir -p "$IT_DIR/msg"
	postfix_instance_setup "$IT_DIR" "$IT_DOMAIN" "$IT_SINK_PORT" <<EOF
myhostname = $IT_AUTHSERV
mydomain = gatehouse.test
inet_interfaces = loopback-only
smtpd_milters = inet:127.0.0.1:$IT_MILTER_PORT
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_client_connection_count_limit = 100
EOF
	cat >>"$IT_DIR/postfix/master.cf" <<EOF
127.0.0.1:$IT_SMTPD_PORT inet n - n - - smtpd
127.0.0.1:$IT_SMTPD_UNIX_PORT inet n - n - - smtpd
  -o smtpd_milters=unix:$IT_DIR/gh.sock
127.0.0.1:$IT_SMTPD_SPF_PORT inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$IT_MILTER_SPF_PORT
127.0.0.1:$IT_SMTPD_DKIM_PORT inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$IT_MILTER_DKIM_PORT
127.0.0.1:$IT_SMTPD_RULES_PORT inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:$IT_MILTER_RULES_PORT
127.0.0.1:$IT_SMTPD_V2_PORT inet n - n - - smtpd
  -o milter_protocol=2
127.0.0.1:$IT_SMTPD_V4_PORT inet n - n - - smtpd
  -o milter_protocol=4
EOF
}

postfix_start() {
	postfix_instance_start "$IT_DIR" "$IT_SMTPD_PORT" "$IT_SMTPD_UNIX_PORT" "$IT_SMTPD_SPF_PORT" \
		"$IT_SMTPD_DKIM_PORT" "$IT_SMTPD_RULES_PORT" "$IT_SMTPD_V2_PORT" "$IT_SMTPD_V4_PORT"
}

postfix_stop() {
	postfix_instance_stop "$IT_DIR"
}

# postqueue_empty - nothing in Postfix's queue (no message kept or deferred)
postqueue_empty() {
	postfix_instance_queue_empty "$IT_DIR"
}

# ---------------------------------------------------------------- smtp-sink

sink_start() {
	local rc=0
	smtp_sink_start "$IT_DIR" "$IT_SINK_PORT" 256 || rc=1
	IT_SINK_PID=$SMTP_SINK_PID
	return $rc
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
	smtp_sink_count "$IT_DIR"
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

# dns_setup [RECORDS on stdin] - write dns/unbound.conf: unbound as a tiny
# authoritative server on 127.0.0.1:IT_DNS_PORT for the zone example.,
# answering from local data (tests/lib/unbound.sh), its queries logged.
# One record a line, zone file syntax: pass.example. 300 IN TXT "v=spf1 -all"
dns_setup() {
	local d=$IT_DIR/dns
	mkdir -p "$d"
	{
		echo "# unbound for gatehouse's integration suite: answers example. from local data"
		unbound_conf_server "$d" "$IT_DNS_PORT" 'log-queries: yes' 'verbosity: 1'
		unbound_conf_local_data example.
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
	local d=$IT_DIR/dns ok=0
	unbound_start "$d/unbound.conf" "$d/unbound.out" "$IT_DNS_PORT" && ok=1
	IT_DNS_PID=$UNBOUND_PID
	if [ $ok = 0 ] || ! wait_until 5 dns_answers mx.example A; then
		echo "unbound did not answer on 127.0.0.1:$IT_DNS_PORT within 10 s"
		cat "$d/unbound.out" "$d/unbound.log" 2>/dev/null | tail -n 20 | diag
		return 1
	fi
}

# dns_stop - SIGTERM unbound; wait (bounded) until it is gone and its UDP
# port is free
dns_stop() {
	unbound_stop "${IT_DNS_PID:-}" "$IT_DNS_PORT"
	IT_DNS_PID=
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
		# The suite's clients are on loopback, which internal_networks
		# counts as outbound, and outbound mail gets no status header by
		# default: these tests read it to see that gatehouse checked a
		# message, so ask for it.
		printf 'status_header_outbound = yes\n'
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

# gh_main_conf MAX_RECIPIENTS - gh-main.conf, the "main" instance's config
gh_main_conf() {
	gh_conf main <<EOF
# gatehouse instance "main" of the integration suite
socket = "inet:$IT_MILTER_PORT@127.0.0.1"
authserv_id = "$IT_AUTHSERV"
log_level = "info"
drain_timeout_ms = $IT_DRAIN_MS
max_recipients = $1
EOF
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

# ---------------------------------------------------------------- messages

# new_id NAME - a test id (X-Test-Id) for a message of NAME, unique to the run
new_id() {
	echo "it-$1-$$-$RANDOM$RANDOM"
}

# msg_file NAME - write msg/NAME.eml from stdin (LF lines), CRLF on disk
msg_file() {
	sed 's/$/\r/' >"$IT_DIR/msg/$1.eml"
	echo "$IT_DIR/msg/$1.eml"
}

# delivered_file ID - the one sink file of the message with X-Test-Id ID
delivered_file() {
	sink_files_with "X-Test-Id: $1" | head -n 1
}

# status_header_count FILE - X-Gatehouse fields in the relayed message (any case)
status_header_count() {
	local n
	n=$(sink_header_block "$1" | grep -ci '^x-gatehouse:')
	echo "${n:-0}"
}

# STATUS_RE - the X-Gatehouse field the "main" instance adds (an ERE)
STATUS_RE="^X-Gatehouse: ${IT_AUTHSERV//./\\.} \\(gatehouse [0-9][0-9A-Za-z.~+-]*\\); session=[0-9A-Z]+\\.[0-9]+\$"

# session_of FILE - the session id in the X-Gatehouse header of FILE
session_of() {
	sink_header_block "$1" | sed -n 's/^X-Gatehouse: .*; session=\([0-9A-Z.]*\)$/\1/p' | head -n 1
}

# summary_line LOG SESSION - gatehouse's summary line for message SESSION
summary_line() {
	grep -E " info: session=$2 .*action=" "$1" | tail -n 1
}
