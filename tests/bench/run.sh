#!/bin/bash
# run.sh GATEHOUSE_BINARY - gatehouse side by side with OpenDKIM and
# OpenDMARC: milter protocol load, end to end through Postfix, memory;
# then gatehouse signing submissions next to OpenDKIM in signing mode
# (outbound.sh, issue 12).
#
# The Makefile runs it as root in a private network namespace:
#   unshare --net -- tests/bench/run.sh /abs/path/build/gatehouse
# It re-executes itself in a private mount namespace too, so that
# /etc/resolv.conf (read by OpenDMARC's resolver) can point at the
# benchmark's own unbound on 127.0.0.1 without touching the host's.
#
# Everything lives in a temp dir: the tools built from tests/bench (loadgen)
# and tests/tools (dkim_sign) with cc, a corpus and DNS zone made by
# gen_corpus.py, rule sets made by gen_rules.py, unbound, the milters, a
# private Postfix and smtp-sink. Prints one table at the end and writes it,
# with the machine, versions and commands, to tests/bench/RESULTS.md
# (report.py). Never fails on a timing; exits 1 only when something could
# not be measured at all (a milter did not start, a run had errors).
#
# Environment:
#   BENCH_QUICK=1     small counts, one repetition: for development (~1 min)
#   BENCH_REPS=N      repetitions of each direct run (default 3)
#   BENCH_KEEP=1      keep the temp dir
#   BENCH_ONLY=validate  stop after checking loadgen against Postfix
#   BENCH_ONLY=outbound  only the signing section (outbound.sh), then the report
#   BENCH_ONLY=postfix   only the legs through Postfix; prints their table and
#                     writes no report (for work on the milter layer); with
#                     BENCH_PROFILE=1 also gatehouse's perf profile of one
#                     more leg
#   BENCH_PF_LEGS=RE  only the Postfix legs whose configuration matches the
#                     extended regex RE in full (e.g. "no milter|gatehouse")
#   BENCH_PF_REPS=N   rounds of the Postfix legs (default: BENCH_REPS)
#   BENCH_RESULTS=F   write the report here instead of tests/bench/RESULTS.md
#   BUILD=DIR         build the C tools in DIR/bench (default: in the temp dir)
#   BENCH_GH_DESC=S   how the report names the gatehouse build (default: git
#                     describe of this checkout)
#   BENCH_GH_LIBMILTER=PATH  a libmilter-based gatehouse binary (a build of a
#                     commit before a0d71af) measured next to GATEHOUSE_BINARY
#                     in the same run: direct, through Postfix, idle connections.
#                     Unset: that column is absent.
#   BENCH_GH_LIBMILTER_DESC=S  how the report names it (default: git describe
#                     of the checkout the binary is in)
#   BENCH_GH_CONF=S   lines added to every gatehouse configuration (to try a
#                     directive: BENCH_GH_CONF="milter_workers = 4")
#   BENCH_PF_MSGS=N   messages per leg through Postfix (2000; quick: 200)
#   BENCH_IDLE_CONNS=N  idle milter connections for the RSS measurement (3000)
#   BENCH_PERF_LEGS=1  perf record -a during every leg through Postfix: the
#                     whole machine, perf-leg-N-CONFIG.data in BENCH_PERF_DIR;
#                     BENCH_PERF_ARGS replaces perf record's "-F 999 -g"
#                     (default: the temp dir, with BENCH_KEEP=1); read them
#                     with perf report --sort comm
#   BENCH_FS=tmpfs|ext4  the temp dir (Postfix's queue, the sink's files) on
#                     a tmpfs or a fresh journaled ext4 (a loop file) instead
#                     of /tmp's file system, whose state (a busy ext4 without
#                     journal searches past recently deleted inodes for every
#                     queue file) moves the Postfix legs by tens of percent
#   BENCH_PERF_CALLGRAPH=dwarf  perf's call-graph mode for the profiles (fp)
# B_CFG values are socket lists, split on purpose wherever they are used:
# shellcheck disable=SC2086
set -u
umask 022

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 /path/to/gatehouse" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: needs root (private Postfix, DNS on port 53, mount namespace)" >&2
	exit 2
fi
B_HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "${BENCH_IN_NS:-}" ]; then
	# a private mount namespace: the resolv.conf bind mount below dies with it
	exec unshare --mount --propagation private -- env BENCH_IN_NS=1 "$B_HERE/run.sh" "$@"
fi
PATH=$PATH:/usr/sbin:/sbin
for tool in postfix postconf smtp-sink smtp-source unbound unbound-checkconf drill opendkim \
	opendmarc openssl python3 cc pkg-config ip ss script; do
	command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool is not installed (make deps)" >&2; exit 2; }
done

B_GH=$(readlink -f "$1")
B_GHLM=
if [ -n "${BENCH_GH_LIBMILTER:-}" ]; then
	if [ ! -x "$BENCH_GH_LIBMILTER" ]; then
		echo "$0: BENCH_GH_LIBMILTER=$BENCH_GH_LIBMILTER is not an executable" >&2
		exit 2
	fi
	B_GHLM=$(readlink -f "$BENCH_GH_LIBMILTER")
fi
B_IDLE_CONNS=${BENCH_IDLE_CONNS:-3000}
B_TOP=$(cd "$B_HERE/../.." && pwd)
B_QUICK=${BENCH_QUICK:-0}
B_RESULTS=${BENCH_RESULTS:-$B_HERE/RESULTS.md}
if [ "$B_QUICK" = 1 ]; then
	B_REPS=${BENCH_REPS:-1}
	B_MSGS=600		# per direct run
	B_PF_MSGS=200		# through Postfix, per configuration
	B_MEM_SMALL=1000 B_MEM_BIG=5000
	B_CONC200_MSGS=1000
else
	B_REPS=${BENCH_REPS:-3}
	B_MSGS=4000
	B_PF_MSGS=2000
	B_MEM_SMALL=10000 B_MEM_BIG=100000
	B_CONC200_MSGS=6000
fi
B_PF_MSGS=${BENCH_PF_MSGS:-$B_PF_MSGS}
B_CONC=8			# connections of every direct run
B_PER_CONN=10			# messages per milter connection
B_PF_SESSIONS=20		# smtp-source sessions, one message each
B_CLIENT_IP=192.0.2.25		# SMTP client address; the SPF records allow 192.0.2.0/24
B_HELO=mx.sender.example
B_AUTHSERV=mx.bench.example
B_SMTPD_IP=127.0.0.2		# Postfix listens here; connections to it come from B_CLIENT_IP
B_PORT_PLAIN=10025 B_PORT_PEERS=10026 B_PORT_GH=10027 B_PORT_DKIM=10028 B_PORT_NOOP=10031 B_PORT_SINK=10030
B_PORT_GHLM=10032		# gatehouse (libmilter), only with BENCH_GH_LIBMILTER
# gatehouse on TCP, as its default socket (inet:8891@127.0.0.1) has it: the
# smtpd port, and gatehouse's own port
B_PORT_GHTCP=10033 B_PORT_GHTCP_MILTER=10041
B_PORT_FLOOR=10034 B_PORT_FLOORE=10035	# floor_milter.c: as is, and adding gatehouse's fields

ip link set lo up || { echo "$0: cannot bring up lo (run under unshare --net)" >&2; exit 2; }
# The SMTP client address for the Postfix leg: smtp-source cannot bind a
# source address, so the route to Postfix's listener says which source to
# use. (libspf2 passes loopback clients without looking at the record, so
# a loopback client would skip the SPF work being measured.)
ip addr add "$B_CLIENT_IP/32" dev lo
ip addr add "$B_SMTPD_IP/32" dev lo
ip route replace local "$B_SMTPD_IP" dev lo proto kernel scope host src "$B_CLIENT_IP" table local

B_DIR=$(mktemp -d /tmp/gatehouse-bench.XXXXXX) || exit 2
chmod 755 "$B_DIR"
# BENCH_FS: what Postfix's queue and the sink's files live on (experiment)
# (the mount lives in this private mount namespace and dies with it)
case ${BENCH_FS:-} in
"") ;;
tmpfs) { mount -t tmpfs -o size=4g tmpfs "$B_DIR" && chmod 755 "$B_DIR"; } || exit 2 ;;
ext4)
	{ truncate -s 4G "$B_DIR.img" && mkfs.ext4 -q -F "$B_DIR.img" &&
		mount -o loop "$B_DIR.img" "$B_DIR" && chmod 755 "$B_DIR"; } || exit 2 ;;
*) echo "$0: BENCH_FS is tmpfs or ext4" >&2; exit 2 ;;
esac
B_BUILD=${BUILD:+$BUILD/bench}	# make passes its BUILD: keep the tools apart
B_BUILD=${B_BUILD:-$B_DIR/build}
B_LOG=$B_DIR/bench.log		# everything the helpers print
B_JSON=$B_DIR/results.jsonl	# one JSON line per measurement
: >"$B_JSON"
B_PIDS=()

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$B_HERE/lib.sh"
# shellcheck source=measure.sh source-path=SCRIPTDIR
. "$B_HERE/measure.sh"
# shellcheck source=outbound.sh source-path=SCRIPTDIR
. "$B_HERE/outbound.sh"

cleanup() {
	local p
	# all at once: libmilter takes up to 5 s to notice a SIGTERM
	for p in "${B_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${B_PIDS[@]}"; do
		stop_pid "$p" 8	# libmilter takes up to 5 s to notice
	done
	postfix_stop
	if [ "${BENCH_KEEP:-0}" = 1 ] || [ "${B_KEEP_FOR_ERROR:-0}" = 1 ]; then
		echo "# temp dir kept: $B_DIR"
	else
		[ -z "${BENCH_FS:-}" ] || umount "$B_DIR" 2>/dev/null
		rm -rf "$B_DIR" "$B_DIR.img"
	fi
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

say() {
	printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"
}

# write_report - report.py's table and RESULTS.md; 1 when a run had errors
write_report() {
	say "writing the report"
	write_meta
	python3 "$B_HERE/report.py" "$B_JSON" "$B_DIR/meta.json" "$B_RESULTS" "$B_DIR/profile.txt" \
		"$B_DIR/rules_bench.md" || return 1
	if [ "${B_KEEP_FOR_ERROR:-0}" = 1 ]; then
		echo "bench: a run had errors, a signer did not sign or loadgen disagreed with Postfix (see above and $B_LOG)"
		return 1
	fi
}

# pf_leg CONFIG PORT CHECK - postfix_leg, unless BENCH_PF_LEGS leaves CONFIG out
pf_leg() {
	[[ $1 =~ ^(${BENCH_PF_LEGS:-.*})$ ]] || return 0
	postfix_leg "$@"
}

# postfix_section - every configuration through Postfix, B_REPS times over
postfix_section() {
	say "through Postfix: $B_PF_MSGS messages over $B_PF_SESSIONS sessions per configuration"
	# the TCP instance had no direct runs: one unmeasured leg fills its DNS cache
	B_LEG_KIND=warmup pf_leg "gatehouse (tcp)" "$B_PORT_GHTCP" gatehouse >/dev/null
	for _ in $(seq 1 "${BENCH_PF_REPS:-$B_REPS}"); do
		pf_leg "no milter" "$B_PORT_PLAIN" none
		pf_leg "no-op milter" "$B_PORT_NOOP" none
		pf_leg "floor milter" "$B_PORT_FLOOR" none
		pf_leg "floor milter + fields" "$B_PORT_FLOORE" none
		pf_leg "opendkim+opendmarc" "$B_PORT_PEERS" peers
		pf_leg "gatehouse" "$B_PORT_GH" gatehouse
		pf_leg "gatehouse (tcp)" "$B_PORT_GHTCP" gatehouse
		[ -z "$B_GHLM" ] || pf_leg "gatehouse (libmilter)" "$B_PORT_GHLM" gatehouse
	done
}

# ---------------------------------------------------------------- setup

say "building loadgen and dkim_sign in $B_BUILD"
build_tools || exit 1
say "generating corpus, keys and zone"
python3 "$B_HERE/gen_corpus.py" "$B_DIR/corpus" "$B_BUILD/dkim_sign" 50 >>"$B_LOG" 2>&1 ||
	{ echo "gen_corpus.py failed"; tail "$B_LOG"; exit 1; }
for n in 100 1000; do
	python3 "$B_HERE/gen_rules.py" "$B_DIR/rules$n" "$n" >>"$B_LOG" 2>&1 ||
		{ echo "gen_rules.py failed"; tail "$B_LOG"; exit 1; }
done

say "starting unbound on 127.0.0.1:53 and pointing /etc/resolv.conf at it"
dns_start || exit 1
printf 'nameserver 127.0.0.1\noptions attempts:1 timeout:2\n' >"$B_DIR/resolv.conf"
mount --bind "$B_DIR/resolv.conf" /etc/resolv.conf || { echo "cannot bind-mount resolv.conf"; exit 1; }

say "starting the milters"
start_noop || exit 1
start_floor || exit 1
start_opendkim || exit 1
start_opendmarc || exit 1
gh_write_conf gh "" && gh_start gh || exit 1
gh_write_conf ghtcp "" "inet:$B_PORT_GHTCP_MILTER@127.0.0.1" && gh_start ghtcp || exit 1
if [ -n "$B_GHLM" ]; then
	gh_write_conf ghlm "" && gh_start ghlm "$B_GHLM" || exit 1
fi
B_RULES_OK=()
for n in 100 1000; do
	gh_write_conf "gh$n" "$B_DIR/rules$n"
	if "$B_GH" -n -c "$B_DIR/gh-gh$n.conf" >"$B_DIR/gh-gh$n.check" 2>&1; then
		gh_start "gh$n" || exit 1
		B_RULES_OK+=("$n")
	else
		say "gatehouse refuses the $n-rule configuration: rules runs are n/a"
		sed 's/^/    /' "$B_DIR/gh-gh$n.check" | head -n 5
		jq -nc --arg c "gatehouse+$n rules" --arg w "$(head -n 1 "$B_DIR/gh-gh$n.check" | cut -c1-160)" \
			'{kind: "na", config: $c, why: $w}' >>"$B_JSON"
	fi
done

# ---------------------------------------------------------------- validation

say "validating loadgen against OpenDKIM under Postfix"
postfix_setup && sink_start && postfix_start || exit 1
validate_loadgen
[ "${BENCH_ONLY:-}" = validate ] && exit 0
if [ "${BENCH_ONLY:-}" = postfix ]; then
	# one unmeasured leg per milter first: DNS caches, smtpd processes
	B_LEG_KIND=warmup postfix_leg "no-op milter" "$B_PORT_NOOP" none >/dev/null
	B_LEG_KIND=warmup postfix_leg "gatehouse" "$B_PORT_GH" gatehouse >/dev/null
	postfix_section
	python3 "$B_HERE/report.py" --postfix-only "$B_JSON"
	rc=$?
	if [ -n "${BENCH_PROFILE:-}" ]; then
		say "profile of gatehouse through Postfix (perf)"
		: >"$B_DIR/profile.txt"
		profile_gatehouse gh gatehouse postfix "$B_PORT_GH"
		cat "$B_DIR/profile.txt"
	fi
	exit $rc
fi

# ---------------------------------------------------------------- signing

# Outbound (issue 12): the same corpus as authenticated submissions, signed
# by gatehouse and by OpenDKIM (Mode s), RSA-2048 and Ed25519; the login
# check's cost; RSS after B_MEM_SMALL and B_MEM_BIG signed messages.
# About 5 x B_REPS x B_MSGS messages plus 2 x B_MEM_BIG for the RSS.
: >"$B_DIR/profile.txt"	# profile_gatehouse appends
say "signing: starting OpenDKIM (Mode s) and gatehouse as signers"
sign_setup || exit 1
say "signing: every signer's signatures checked with python3-dkim"
sign_validate || exit 1
sign_leg || exit 1
say "signing: gatehouse's RSS after $B_MEM_SMALL and $B_MEM_BIG signed messages (fresh instances)"
sign_memory_leg rsa || exit 1
sign_memory_leg ed || exit 1
if [ "${BENCH_ONLY:-}" = outbound ]; then
	write_report
	exit $?
fi

# ---------------------------------------------------------------- direct

# configurations of the direct runs: name and milter sockets (a chain in order)
declare -A B_CFG=(
	[no-op milter]="unix:$B_DIR/noop.sock"
	[opendkim]="unix:$B_DIR/opendkim.sock"
	[opendmarc]="unix:$B_DIR/opendmarc.sock"
	[opendkim+opendmarc]="unix:$B_DIR/opendkim.sock unix:$B_DIR/opendmarc.sock"
	[gatehouse]="unix:$B_DIR/gh-gh.sock"
)
B_ORDER=("no-op milter" opendkim opendmarc opendkim+opendmarc gatehouse)
B_GH_CFGS=(gatehouse)		# the gatehouse builds: new layer, libmilter
if [ -n "$B_GHLM" ]; then
	B_CFG["gatehouse (libmilter)"]="unix:$B_DIR/gh-ghlm.sock"
	B_ORDER+=("gatehouse (libmilter)")
	B_GH_CFGS+=("gatehouse (libmilter)")
fi
for n in "${B_RULES_OK[@]}"; do
	B_CFG[gatehouse+$n rules]="unix:$B_DIR/gh-gh$n.sock"
	B_ORDER+=("gatehouse+$n rules")
done

say "warm-up: every configuration once over the corpus (fills DNS caches)"
for c in "${B_ORDER[@]}"; do
	# shellcheck disable=SC2086
	loadgen_run "$c" warmup 2 100 ${B_CFG[$c]} >/dev/null || exit 1
done

say "direct milter protocol: ${#B_ORDER[@]} configurations x $B_REPS, $B_MSGS messages, $B_CONC connections"
for _ in $(seq 1 "$B_REPS"); do
	for c in "${B_ORDER[@]}"; do
		loadgen_run "$c" "direct" "$B_CONC" "$B_MSGS" ${B_CFG[$c]} || exit 1
	done
done
say "unloaded latency: one connection"
for c in opendkim+opendmarc "${B_GH_CFGS[@]}"; do
	loadgen_run "$c" "c1" 1 $((B_MSGS / 4)) ${B_CFG[$c]} || exit 1
done
say "a new connection for every message (as most inbound MX traffic comes)"
for _ in $(seq 1 "$B_REPS"); do
	for c in "no-op milter" opendkim+opendmarc "${B_GH_CFGS[@]}"; do
		B_RUN_PER_CONN=1 loadgen_run "$c" "p1" "$B_CONC" $((B_MSGS / 2)) ${B_CFG[$c]} || exit 1
	done
done

say "profile of gatehouse (perf)"
profile_gatehouse gh gatehouse
for n in "${B_RULES_OK[@]}"; do
	[ "$n" = 1000 ] && profile_gatehouse gh1000 "gatehouse+1000 rules"
done

# ---------------------------------------------------------------- Postfix

postfix_section
say "profile of gatehouse through Postfix (perf)"
profile_gatehouse gh gatehouse postfix "$B_PORT_GH"

# ---------------------------------------------------------------- memory

say "memory: peak RSS of every milter so far"
record_hwm "no-op milter" "$B_NOOP_PID"
record_hwm opendkim "$B_OPENDKIM_PID"
record_hwm opendmarc "$B_OPENDMARC_PID"
record_hwm gatehouse "$(gh_pid gh)"
[ -z "$B_GHLM" ] || record_hwm "gatehouse (libmilter)" "$(gh_pid ghlm)"
for n in "${B_RULES_OK[@]}"; do
	record_hwm "gatehouse+$n rules" "$(gh_pid "gh$n")"
done
memory_leg
say "memory: $B_IDLE_CONNS idle milter connections (a fresh instance of each gatehouse build)"
idle_leg idle gatehouse "$B_GH" || exit 1
[ -z "$B_GHLM" ] || idle_leg ghlmidle "gatehouse (libmilter)" "$B_GHLM" || exit 1

# ---------------------------------------------------------------- report

# ---------------------------------------------------------------- rules in the engine

# What rules cost per 50 KB message with no MTA and no DNS (tests/bench/rules_bench.c,
# also `make bench-rules`); the Makefile passes the binary.
: >"$B_DIR/rules_bench.md"
if [ -n "${RULES_BENCH:-}" ] && [ -x "$RULES_BENCH" ]; then
	say "rules in the engine: 0, 100, 1000 rules over 50 KB messages"
	"$RULES_BENCH" -n 20 -k 50 "$B_DIR/rules-bench" >"$B_DIR/rules_bench.md" || : >"$B_DIR/rules_bench.md"
	cat "$B_DIR/rules_bench.md"
fi

write_report
