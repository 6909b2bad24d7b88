#!/bin/bash
# metrics.sh GATEHOUSE_BINARY - what counting metrics costs per message.
#
# Two gatehouse instances from the same binary and the same configuration
# (the benchmark's: SPF, DKIM and DMARC against a local unbound, every
# message inbound), one with metrics = yes and metrics_listen set, one with
# metrics = no (nothing is built, nothing counted), driven in turn by
# loadgen with the benchmark's corpus: on, off, on, off, ... in one run, so
# both see the same machine load. Prints messages/s and the milter's CPU
# milliseconds per message of each run, the median of each side, and the
# load average; CPU per message is the number to read on a shared machine.
# The "on" instance is scraped once a second during its runs, as a
# Prometheus would (more often than usual: 15 s is the default).
#
# Root in a private network namespace (unbound on port 53):
#   unshare --net -- tests/bench/metrics.sh /abs/path/build/gatehouse
# Environment: BENCH_REPS (pairs, default 5), BENCH_MSGS (per run, 4000),
# BENCH_CONC (connections, 8). Never fails on a timing.
set -u
umask 022
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 /path/to/gatehouse" >&2
	exit 2
fi
B_HERE=$(cd "$(dirname "$0")" && pwd)
B_TOP=$(cd "$B_HERE/../.." && pwd)
B_GH=$(readlink -f "$1")
B_REPS=${BENCH_REPS:-5}
B_MSGS=${BENCH_MSGS:-4000}
B_CONC=${BENCH_CONC:-8}
B_PER_CONN=10
B_CLIENT_IP=192.0.2.25
B_HELO=mx.sender.example
B_AUTHSERV=mx.bench.example
B_METRICS_PORT=9112
PATH=$PATH:/usr/sbin:/sbin
ip link set lo up || { echo "$0: run under unshare --net" >&2; exit 2; }
B_DIR=$(mktemp -d /tmp/gatehouse-mbench.XXXXXX) || exit 2
B_BUILD=$B_DIR/build
B_LOG=$B_DIR/bench.log
B_JSON=$B_DIR/results.jsonl
B_PIDS=()
: >"$B_JSON"
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$B_HERE/lib.sh"

cleanup() {
	local p
	for p in "${B_PIDS[@]}"; do
		stop_pid "$p" 5
	done
	[ "${BENCH_KEEP:-0}" = 1 ] && echo "# kept $B_DIR" || rm -rf "$B_DIR"
}
trap cleanup EXIT

build_tools || exit 1
python3 "$B_HERE/gen_corpus.py" "$B_DIR/corpus" "$B_BUILD/dkim_sign" 50 >>"$B_LOG" 2>&1 ||
	{ echo "gen_corpus.py failed"; tail "$B_LOG"; exit 1; }
dns_start || exit 1
gh_write_conf on && printf 'metrics = yes\nmetrics_listen = "127.0.0.1:%s"\n' "$B_METRICS_PORT" \
	>>"$B_DIR/gh-on.conf" && gh_start on || exit 1
gh_write_conf off && printf 'metrics = no\n' >>"$B_DIR/gh-off.conf" && gh_start off || exit 1

# one_run NAME - loadgen against instance NAME; appends a JSON line
one_run() {
	local sock="unix:$B_DIR/gh-$1.sock" pid t0 t1 out scraper=
	pid=$(gh_pid "$1")
	if [ "$1" = on ]; then
		(while :; do curl -s -o /dev/null "http://127.0.0.1:$B_METRICS_PORT/metrics"; sleep 1; done) &
		scraper=$!
	fi
	t0=$(cpu_ticks "$pid")
	out=$("$B_BUILD/loadgen" -m "$sock" -c "$B_CONC" -n "$B_MSGS" -p "$B_PER_CONN" \
		-i "$B_CLIENT_IP" -H "$B_HELO" -j "$B_AUTHSERV" -l "$1" "$B_DIR/corpus/manifest.tsv" 2>>"$B_LOG")
	t1=$(cpu_ticks "$pid")
	[ -z "$scraper" ] || { kill "$scraper"; wait "$scraper" 2>/dev/null; }
	jq -c --arg n "$1" --argjson ticks $((t1 - t0)) --argjson hz "$(getconf CLK_TCK)" \
		'{name: $n, msgs_per_s, errors: .replies.error,
		  cpu_ms_per_msg: ($ticks * 1000 / $hz / .messages)}' <<<"$out" | tee -a "$B_JSON"
}

echo "# warm-up"
B_MSGS_SAVED=$B_MSGS B_MSGS=500
one_run on >/dev/null
one_run off >/dev/null
B_MSGS=$B_MSGS_SAVED
: >"$B_JSON"
echo "# $B_REPS pairs of $B_MSGS messages, $B_CONC connections; load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
for _ in $(seq "$B_REPS"); do
	one_run on
	one_run off
done
echo "# load average after: $(cut -d ' ' -f 1-3 /proc/loadavg), $(nproc) CPUs"
jq -rs '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	group_by(.name)[] | "\(.[0].name): median \(map(.msgs_per_s) | median) msg/s, " +
		"\(map(.cpu_ms_per_msg) | median * 1000 | round / 1000) CPU ms/msg over \(length) runs, " +
		"errors \(map(.errors) | add)"' "$B_JSON"
curl -s "http://127.0.0.1:$B_METRICS_PORT/metrics" | grep '^gatehouse_messages_total' | grep -v ' 0$'
