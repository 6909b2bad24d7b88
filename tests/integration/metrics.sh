# shellcheck shell=bash
# metrics.sh - group q: the metrics endpoint, `gatehouse stats` and the
# textfile, scraped during a real run. Sourced by run.sh.
#
# The "met" instance takes the place of group k's "dkim" instance (its
# milter port, so the smtpd on IT_SMTPD_DKIM_PORT feeds it) with a zone of
# its own on the suite's unbound, internal_networks = "" (the clients on
# 127.0.0.1 send inbound mail), one rule, metrics_listen, a control socket
# and a textfile. It is sent a known mix: 199 messages over 5 parallel
# sessions (smtp-source) and one that hits the rule, all accepted; 3 whose
# From: is bank.example (p=reject, unsigned): refused by DMARC; 1 whose
# From: domain's DMARC lookup fails (a domain outside the zone, which the
# resolver cannot reach in this namespace): tempfailed. Then the counters
# must say exactly that, agree with the summary lines, parse with the
# Prometheus client's parser, and read the same through `gatehouse stats`
# and the textfile; the DMARC report store (dmarc_report_db) must have
# recorded the 3 evaluations that found a policy. The endpoint's refusals
# (wrong path, method, oversized request, over the connection limit),
# reloads, a port in use and a bad metrics_listen are checked too.

IT_METRICS_PORT=9112
IT_MET_DIR=
# Debian's interpreter: python3-prometheus-client is installed for it, not
# for a python3 a version manager may put first in PATH
IT_PROM_PYTHON=/usr/bin/python3

# q_conf - gh-met.conf; $1 extra lines
q_conf() {
	gh_conf_dns met <<EOF
# gatehouse instance "met" of the integration suite: metrics
socket = "inet:$IT_MILTER_DKIM_PORT@127.0.0.1"
authserv_id = "$IT_AUTHSERV_DKIM"
log_level = "info"
drain_timeout_ms = 3000
dns_forwarders = "127.0.0.1@$IT_DNS_PORT"
dns_timeout_ms = $IT_SPF_TIMEOUT_MS
internal_networks = ""
rules_dir = "$IT_MET_DIR/rules"
metrics_listen = "127.0.0.1:$IT_METRICS_PORT"
control_socket = "$IT_MET_DIR/control.sock"
metrics_textfile = "$IT_MET_DIR/gatehouse.prom"
metrics_textfile_interval_s = 1
dmarc_report_db = "$IT_MET_DIR/reports.db"
${1:-}
EOF
}

# q_scrape FILE - GET /metrics into FILE; the HTTP status on stdout
q_scrape() {
	curl -s -o "$1" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$IT_METRICS_PORT/metrics"
}

# q_val FILE SAMPLE [LABEL=VALUE...] - the value through the Prometheus parser
q_val() {
	"$IT_PROM_PYTHON" "$IT_HERE/prom_value.py" "$@" 2>>"$IT_MET_DIR/parse.err"
}

# q_msgs VERDICT - gatehouse_messages_total{direction="inbound",verdict=VERDICT} now
q_msgs() {
	q_scrape "$IT_MET_DIR/now.prom" >/dev/null
	q_val "$IT_MET_DIR/now.prom" gatehouse_messages_total direction=inbound "verdict=$1"
}

# q_summaries ACTION - the met instance's summary lines with action=ACTION
q_summaries() {
	log_count "$IT_DIR/gh-met.log" " info: session=[0-9A-Z.]+ .* action=$1( |\$)"
}

# q_summaries_at_least N - N summary lines in all
q_summaries_at_least() {
	[ "$(log_count "$IT_DIR/gh-met.log" " info: session=[0-9A-Z.]+ .* action=")" -ge "$1" ]
}

# q_idle - no milter connection in use (the gauge)
q_idle() {
	q_scrape "$IT_MET_DIR/idle.prom" >/dev/null &&
		[ "$(q_val "$IT_MET_DIR/idle.prom" gatehouse_milter_connections)" = 0 ]
}

# q_reports_recorded N - the scrape says N DMARC evaluations recorded
q_reports_recorded() {
	q_scrape "$IT_MET_DIR/rep.prom" >/dev/null &&
		[ "$(q_val "$IT_MET_DIR/rep.prom" gatehouse_dmarc_report_records_total outcome=recorded)" = "$1" ]
}

# q_textfile_has N - the textfile says N accepted
q_textfile_has() {
	[ "$(q_val "$IT_MET_DIR/gatehouse.prom" gatehouse_messages_total direction=inbound \
		verdict=accept 2>/dev/null)" = "$1" ]
}

# q_send ID FROM_HEADER BODY_LINE - one message through the met instance's
# smtpd, MAIL FROM <ID@nospf.example>; sets SWAKS_RC
q_send() {
	msg_file "$1" >/dev/null <<EOF
From: Sender <$2>
To: <rcpt@example.org>
Subject: metrics test $1
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-ID: <$1@nospf.example>
X-Test-Id: $1

$3
EOF
	SWAKS_HELO=mx.example send_swaks "$IT_SMTPD_DKIM_PORT" -f "$1@nospf.example" \
		-t rcpt@example.org --data "@$IT_DIR/msg/$1.eml"
}

test_metrics() {
	local name id subj out rc f n v i code want t0
	IT_MET_DIR=$IT_DIR/met
	mkdir -p "$IT_MET_DIR/rules"
	t0=$(now_ms)

	name="q: the met instance starts with metrics_listen, a control socket and a textfile; unbound serves its zone"
	gh_stop dkim	# group k's instance: met takes its milter port
	dns_stop
	cat >"$IT_MET_DIR/rules/10-metrics.rules" <<'EOF'
rule metrics_tag {
    when body ~ /metrics-rule-hit-7/
    add-header "X-Metrics-Rule" "hit"
}
EOF
	q_conf
	if ! dns_setup <<EOF
mx.example. 300 IN A $IT_SPF_CLIENT_IP
bank.example. 300 IN TXT "v=spf1 -all"
_dmarc.bank.example. 300 IN TXT "v=DMARC1; p=reject"
EOF
	then
		not_ok "$name" "bad unbound config"
		return
	elif ! dns_start; then
		not_ok "$name" "unbound did not start"
		return
	elif ! gh_start met; then
		not_ok "$name" "the met instance did not start"
		return
	fi
	ok "$name"

	name="q: a fresh scrape: 200, Content-Type text/plain; version=0.0.4, parsed by the Prometheus client's parser, every message counter 0, build_info 1"
	code=$(curl -s -D "$IT_MET_DIR/first.hdr" -o "$IT_MET_DIR/first.prom" -w '%{http_code}' \
		--max-time 10 "http://127.0.0.1:$IT_METRICS_PORT/metrics")
	out=$(q_val "$IT_MET_DIR/first.prom")
	if [ "$code" != 200 ]; then
		not_ok "$name" "HTTP $code"
	elif ! grep -qi '^content-type: text/plain; version=0\.0\.4' "$IT_MET_DIR/first.hdr"; then
		not_ok "$name" "headers: $(tr -d '\r' <"$IT_MET_DIR/first.hdr" | tr '\n' '|')"
	elif [ "${out%% *}" != ok ]; then
		not_ok "$name" "the parser refused it: $(tail -n 1 "$IT_MET_DIR/parse.err")"
	elif [ "$(q_val "$IT_MET_DIR/first.prom" gatehouse_messages_total)" != 0 ]; then
		not_ok "$name" "messages counted before any was sent: $(grep '^gatehouse_messages_total' "$IT_MET_DIR/first.prom" | grep -v ' 0$')"
	elif [ "$(q_val "$IT_MET_DIR/first.prom" gatehouse_build_info)" != 1 ]; then
		not_ok "$name" "no gatehouse_build_info 1"
	else
		ok "$name ($out)"
	fi

	name="q: the mix is answered as sent: 199 + 1 (rule) delivered, 3 refused 550 by DMARC, 1 tempfailed 451 by a DNS failure"
	subj=$(new_id metload)
	out=$(timeout 300 smtp-source -s 5 -m 199 -d -f "load@nospf.example" \
		-t load@example.org -S "$subj" "127.0.0.1:$IT_SMTPD_DKIM_PORT" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "$out" >"$IT_DIR/last-client.out"
		not_ok "$name" "smtp-source exit $rc"
		return
	fi
	id=$(new_id metrule)
	q_send "$id" "someone@nospf.example" "this one says metrics-rule-hit-7"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "the rule's message: swaks exit $SWAKS_RC; $(swaks_reply_to '^ -> \.$')"
		return
	fi
	for i in 1 2 3; do
		id=$(new_id metdmarc)
		IT_NEVER_IDS+=("$id")
		q_send "$id" "ceo@bank.example" "wire the money"
		out=$(swaks_reply_to '^ -> \.$')
		if [ "$SWAKS_RC" -ne 26 ] || ! grep -q '^550 5\.7\.1 ' <<<"$out"; then
			not_ok "$name" "DMARC message $i: swaks exit $SWAKS_RC, reply to the dot '$out'"
			return
		fi
	done
	id=$(new_id metdns)
	IT_NEVER_IDS+=("$id")
	q_send "$id" "someone@dnsfail.net" "the resolver cannot reach net."
	out=$(swaks_reply_to '^ -> \.$')
	if ! grep -q '^451 ' <<<"$out"; then
		not_ok "$name" "DNS failure message: swaks exit $SWAKS_RC, reply to the dot '$out'"
		return
	fi
	if ! wait_until 120 sink_count_with_at_least "Subject: $subj" 199; then
		not_ok "$name" "only $(sink_files_with "Subject: $subj" | wc -l) of 199 reached the sink"
		return
	fi
	if ! wait_until 20 q_summaries_at_least 204 || ! wait_until 20 q_idle; then
		not_ok "$name" "$(log_count "$IT_DIR/gh-met.log" ' action=') summary lines, connections in use: $(grep '^gatehouse_milter_connections ' "$IT_MET_DIR/idle.prom")"
		return
	fi
	ok "$name ($(( $(now_ms) - t0 )) ms so far)"

	name="q: scraped: messages_total inbound accept 200, reject 3, tempfail 1, nothing else; each equals the summary lines' count"
	q_scrape "$IT_MET_DIR/mix.prom" >/dev/null
	f=$IT_MET_DIR/mix.prom
	out=""
	for v in accept:200 reject:3 tempfail:1 discard:0 quarantine:0 aborted:0; do
		n=$(q_val "$f" gatehouse_messages_total direction=inbound "verdict=${v%%:*}")
		[ "$n" = "${v#*:}" ] || out="$out ${v%%:*}=$n (want ${v#*:})"
		[ "$(q_summaries "${v%%:*}")" = "${v#*:}" ] ||
			out="$out summary lines action=${v%%:*}: $(q_summaries "${v%%:*}")"
	done
	n=$(q_val "$f" gatehouse_messages_total direction=outbound)
	[ "$n" = 0 ] || out="$out outbound=$n"
	if [ -n "$out" ]; then
		not_ok "$name" "$out"
	else
		ok "$name"
	fi

	name="q: scraped: DMARC fail 3 and temperror 1, rule metrics_tag hit once, DNS: a failed query counted and latencies observed, eom timed 204 times"
	out=""
	v=$(q_val "$f" gatehouse_dmarc_results_total result=fail)
	[ "$v" = 3 ] || out="$out dmarc fail=$v"
	v=$(q_val "$f" gatehouse_dmarc_results_total result=temperror)
	[ "$v" = 1 ] || out="$out dmarc temperror=$v"
	v=$(q_val "$f" gatehouse_rule_hits_total rule=metrics_tag)
	[ "$v" = 1 ] || out="$out rule_hits{metrics_tag}=$v"
	v=$(( $(q_val "$f" gatehouse_dns_queries_total outcome=error) + $(q_val "$f" gatehouse_dns_queries_total outcome=timeout) ))
	[ "$v" -ge 1 ] || out="$out dns error+timeout=$v"
	v=$(q_val "$f" gatehouse_dns_query_seconds_count)
	[ "$v" -ge 1 ] || out="$out dns_query_seconds_count=$v"
	v=$(q_val "$f" gatehouse_phase_seconds_count phase=eom)
	[ "$v" = 204 ] || out="$out phase_seconds_count{eom}=$v"
	v=$(q_val "$f" gatehouse_spf_results_total)
	[ "$v" = 204 ] || out="$out spf results=$v (want one per message)"
	if [ -n "$out" ]; then
		not_ok "$name" "$out"
	else
		ok "$name"
	fi

	name="q: the DMARC report store's totals: 3 recorded (the p=reject failures; no record, no temperror), nothing dropped"
	if ! wait_until 10 q_reports_recorded 3; then
		not_ok "$name" "recorded: $(q_val "$IT_MET_DIR/rep.prom" gatehouse_dmarc_report_records_total outcome=recorded)"
	elif [ "$(q_val "$IT_MET_DIR/rep.prom" gatehouse_dmarc_report_records_total)" != 3 ]; then
		not_ok "$name" "$(grep '^gatehouse_dmarc_report_records_total' "$IT_MET_DIR/rep.prom" | tr '\n' ' ')"
	else
		ok "$name"
	fi

	name="q: gatehouse stats prints what the endpoint serves (every line but the connection gauge)"
	"$IT_GH" stats -c "$IT_DIR/gh-met.conf" >"$IT_MET_DIR/stats.prom" 2>"$IT_MET_DIR/stats.err"
	rc=$?
	q_scrape "$IT_MET_DIR/again.prom" >/dev/null
	if [ $rc -ne 0 ]; then
		not_ok "$name" "exit $rc: $(cat "$IT_MET_DIR/stats.err")"
	elif ! diff <(grep -v '^gatehouse_milter_connections ' "$IT_MET_DIR/stats.prom") \
		<(grep -v '^gatehouse_milter_connections ' "$IT_MET_DIR/again.prom") >"$IT_MET_DIR/stats.diff"; then
		not_ok "$name" "differs: $(head -n 6 "$IT_MET_DIR/stats.diff" | tr '\n' '|')"
	elif [ "$(q_val "$IT_MET_DIR/stats.prom" gatehouse_messages_total verdict=accept)" != 200 ]; then
		not_ok "$name" "stats does not say 200 accepted"
	else
		ok "$name"
	fi

	name="q: the textfile (metrics_textfile_interval_s = 1) says 200 accepted and parses"
	if ! wait_until 10 q_textfile_has 200; then
		not_ok "$name" "it says $(q_val "$IT_MET_DIR/gatehouse.prom" gatehouse_messages_total verdict=accept)"
	elif ls "$IT_MET_DIR"/gatehouse.prom.*.tmp >/dev/null 2>&1; then
		not_ok "$name" "a temporary file is left beside it"
	else
		ok "$name"
	fi

	name="q: the endpoint answers 404 elsewhere, 405 with Allow to POST, HEAD without a body, refuses a 32 KB header, and serves on"
	out=""
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$IT_METRICS_PORT/")
	[ "$code" = 404 ] || out="$out /=$code"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$IT_METRICS_PORT/metrics/x")
	[ "$code" = 404 ] || out="$out /metrics/x=$code"
	code=$(curl -s -D "$IT_MET_DIR/post.hdr" -o /dev/null -w '%{http_code}' --max-time 10 \
		-X POST --data-binary 'x=1' "http://127.0.0.1:$IT_METRICS_PORT/metrics")
	[ "$code" = 405 ] || out="$out POST=$code"
	grep -qi '^allow: GET, HEAD' "$IT_MET_DIR/post.hdr" || out="$out no Allow header on 405"
	code=$(curl -s -I -o "$IT_MET_DIR/head.out" -w '%{http_code} %{size_download}' --max-time 10 \
		"http://127.0.0.1:$IT_METRICS_PORT/metrics")
	[ "$code" = "200 0" ] || out="$out HEAD=$code"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		-H "X-Big: $(head -c 32768 /dev/zero | tr '\0' a)" "http://127.0.0.1:$IT_METRICS_PORT/metrics")
	[[ $code == 4[0-9][0-9] ]] || out="$out 32 KB header=$code"
	code=$(q_scrape "$IT_MET_DIR/after.prom")
	[ "$code" = 200 ] || out="$out then GET=$code"
	if [ -n "$out" ]; then
		not_ok "$name" "$out"
	else
		ok "$name"
	fi

	name="q: metrics_max_connections = 8 holds: with 4 idle connections open from 127.0.0.1 (half, the per-address limit) a fifth is refused; closed, a scrape works again"
	exec 5<>"/dev/tcp/127.0.0.1/$IT_METRICS_PORT" 6<>"/dev/tcp/127.0.0.1/$IT_METRICS_PORT" \
		7<>"/dev/tcp/127.0.0.1/$IT_METRICS_PORT" 8<>"/dev/tcp/127.0.0.1/$IT_METRICS_PORT"
	sleep 0.5	# the library's thread takes the four in
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$IT_METRICS_PORT/metrics")
	exec 5>&- 6>&- 7>&- 8>&-
	if [ "$code" = 200 ]; then
		not_ok "$name" "the fifth connection was served"
	elif ! wait_until 10 q_idle; then
		not_ok "$name" "no scrape after the four were closed"
	else
		ok "$name (the fifth got HTTP '$code')"
	fi

	name="q: reloads counted: SIGHUP success 1, a broken file failure 1 (the running configuration stays)"
	out=""
	if ! gh_hup met 'configuration reloaded from'; then
		out="$out no reload logged"
	fi
	cp "$IT_DIR/gh-met.conf" "$IT_MET_DIR/good.conf"
	echo 'no_such_directive = 1' >>"$IT_DIR/gh-met.conf"
	if ! gh_hup met 'reload failed: keeping the running configuration'; then
		out="$out broken reload not logged"
	fi
	cp "$IT_MET_DIR/good.conf" "$IT_DIR/gh-met.conf"
	q_scrape "$IT_MET_DIR/reload.prom" >/dev/null
	v=$(q_val "$IT_MET_DIR/reload.prom" gatehouse_config_reloads_total outcome=success)
	[ "$v" = 1 ] || out="$out success=$v"
	v=$(q_val "$IT_MET_DIR/reload.prom" gatehouse_config_reloads_total outcome=failure)
	[ "$v" = 1 ] || out="$out failure=$v"
	if [ -n "$out" ]; then
		not_ok "$name" "$out"
	else
		ok "$name"
	fi

	name="q: a second daemon on the same metrics_listen does not start and says the port is in use"
	sed -e "s/^socket = .*/socket = \"inet:8899@127.0.0.1\"/" \
		-e "s|^control_socket = .*|control_socket = \"\"|" -e "s|^metrics_textfile = .*|metrics_textfile = \"\"|" \
		"$IT_DIR/gh-met.conf" >"$IT_MET_DIR/second.conf"
	timeout 20 "$IT_GH" -f -c "$IT_MET_DIR/second.conf" >"$IT_MET_DIR/second.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
		not_ok "$name" "exit $rc"
	elif ! grep -q "metrics_listen 127\\.0\\.0\\.1:$IT_METRICS_PORT: cannot listen: Address already in use" "$IT_MET_DIR/second.log"; then
		not_ok "$name" "exit $rc, log: $(tail -n 3 "$IT_MET_DIR/second.log" | tr '\n' '|')"
	else
		ok "$name (exit $rc)"
	fi

	name="q: a bad metrics_listen fails gatehouse -n with FILE:LINE: message"
	printf 'log_level = "info"\nmetrics_listen = "localhost:9112"\n' >"$IT_MET_DIR/bad.conf"
	out=$("$IT_GH" -n -c "$IT_MET_DIR/bad.conf" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		not_ok "$name" "accepted: $out"
	elif ! grep -q "^${IT_MET_DIR}/bad\\.conf:2: metrics_listen: HOST must be an IP address" <<<"$out"; then
		not_ok "$name" "exit $rc: $out"
	else
		ok "$name"
	fi

	gh_stop met
	dns_stop
}
