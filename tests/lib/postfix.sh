# shellcheck shell=bash
# tests/lib/postfix.sh - a private Postfix instance and an smtp-sink, as the
# integration suite (tests/integration) and the benchmark (tests/bench) run
# them: everything under one directory DIR, never an open relay (only one
# domain is relayed, to the smtp-sink), no chroot, no port 25 listener.
# Needs tests/lib/common.sh (wait_until, pid_gone, port_listening, diag).
#
# Layout of DIR:
#   postfix/          config_directory (main.cf, master.cf)
#   queue/ data/      queue_directory, data_directory
#   postfix.log       Postfix's maillog_file
#   sink/             smtp-sink, one file per message (m.<hex>)
#   sink.log          smtp-sink's own output

# postfix_instance_setup DIR RELAY_DOMAIN SINK_PORT [main.cf lines on stdin]
# - write DIR/postfix/main.cf and master.cf. main.cf holds what every test
# instance needs: only RELAY_DOMAIN is relayed, to smtp-sink on
# 127.0.0.1:SINK_PORT; every other destination and local delivery are
# errors; IPv4 and 127.0.0.0/8 as mynetworks; no DNS; milters fail closed
# (tempfail); short retry times; the log in DIR/postfix.log. The caller's
# lines follow (myhostname, mydomain, inet_interfaces, smtpd_milters and its
# limits; none of them may repeat a parameter set here). master.cf is the
# stock one without chroot and without the smtp listener: the caller
# appends its own smtpd services to DIR/postfix/master.cf.
postfix_instance_setup() {
	local dir=$1 domain=$2 sink_port=$3 pf=$1/postfix
	mkdir -p "$pf" "$dir/queue" "$dir/data"
	chown postfix "$dir/data"
	{
		cat <<EOM
# Private Postfix of a gatehouse test: never an open relay, only $domain
# is relayed (to smtp-sink on port $sink_port), everything else is refused.
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:5.1.1 local delivery is off in this test instance
default_transport = error:5.1.2 only $domain is delivered in this test instance
relay_domains = $domain
transport_maps = inline:{$domain=relay:[127.0.0.1]:$sink_port}
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
# Treat our clients like remote ones: no missing From/Date/Message-Id added,
# so the milter sees exactly the header the client sent (Postfix's default
# permit_inet_interfaces would add a From: to a message that has none).
local_header_rewrite_clients =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 15s
milter_content_timeout = 30s
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_error_sleep_time = 0
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
biff = no
notify_classes =

# the caller's settings
EOM
		cat
	} >"$pf/main.cf"
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
}

# postfix_instance_start DIR PORT... - start the instance of DIR and wait
# (15 s at most for each) until it listens on every PORT (TCP)
postfix_instance_start() {
	local dir=$1 out p
	shift
	# postfix wants a terminal for some of its messages: script gives it one
	if ! out=$(script -qec "postfix -c '$dir/postfix' start" /dev/null 2>&1); then
		echo "postfix start failed:"
		echo "$out" | diag
		return 1
	fi
	for p in "$@"; do
		if ! wait_until 15 port_listening "$p"; then
			echo "postfix did not listen on port $p (of $*)"
			echo "$out" | diag
			return 1
		fi
	done
}

# postfix_instance_stop DIR - stop the instance of DIR (if it runs); abort
# it if its master is still there after 10 s
postfix_instance_stop() {
	local dir=$1 pidfile=$1/queue/pid/master.pid pid
	[ -s "$pidfile" ] || return 0
	pid=$(tr -dc '0-9' <"$pidfile")
	script -qec "postfix -c '$dir/postfix' stop" /dev/null >/dev/null 2>&1
	if [ -n "$pid" ] && ! wait_until 10 pid_gone "$pid"; then
		script -qec "postfix -c '$dir/postfix' abort" /dev/null >/dev/null 2>&1
	fi
}

# postfix_instance_queue_empty DIR - nothing in the queue of the instance
# (no message kept or deferred)
postfix_instance_queue_empty() {
	local out
	out=$(postqueue -c "$1/postfix" -j 2>/dev/null) || return 1
	[ -z "$out" ]
}

# smtp_sink_start DIR PORT BACKLOG - smtp-sink on 127.0.0.1:PORT (as user
# postfix) dumping every message into DIR/sink/m.*, its output in
# DIR/sink.log; sets SMTP_SINK_PID and waits until it listens
smtp_sink_start() {
	mkdir -p "$1/sink"
	chown postfix "$1/sink"
	smtp-sink -u postfix -d "$1/sink/m." "127.0.0.1:$2" "$3" >"$1/sink.log" 2>&1 &
	# shellcheck disable=SC2034 # for the caller
	SMTP_SINK_PID=$!
	if ! wait_until 10 port_listening "$2"; then
		echo "smtp-sink did not start"
		diag <"$1/sink.log"
		return 1
	fi
}

# smtp_sink_count DIR - the number of messages in DIR/sink
smtp_sink_count() {
	local n
	n=$(find "$1/sink" -name 'm.*' -type f 2>/dev/null | wc -l)
	echo "$n"
}
