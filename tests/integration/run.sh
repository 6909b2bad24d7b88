#!/bin/bash
# run.sh GATEHOUSE_BINARY - gatehouse's integration suite.
#
# Needs root and a private network namespace; the Makefile runs it as
#   unshare --net -- tests/integration/run.sh /abs/path/build/gatehouse
# It builds a private Postfix instance, an smtp-sink and gatehouse instances
# in a temp dir, sends mail with swaks, smtp-source and a small Python
# client, drives gatehouse with miltertest, and prints one line per test:
# "ok - NAME" or "not ok - NAME: WHY" (with log tails), then
# "N passed, M failed". Exit status 1 if anything failed.
#
# This file is the driver: it sets the suite up, runs the groups in order
# and reports. The tests are in one file per concern, sharing lib.sh (and,
# through it, tests/lib with the benchmark):
#   basics.sh      miltertest; status header, summary line, no From,
#                  envelope addresses, header limits (groups a, b, c, i)
#   reload.sh      SIGHUP, load, gatehouse down, SIGTERM drain (f, e, d, g)
#   unix.sh        the instance on a unix socket (h)
#   spf.sh         SPF with a real DNS server (j)
#   dkim_dmarc.sh  DKIM, DMARC, Authentication-Results (k; dkim_dmarc_lib.sh)
#   rules.sh       the rule language (l; rules_lib.sh)
#   sendmail.sh    a real Sendmail in front of gatehouse (m; tests/lib/sendmail.sh)
#   chroot.sh      Debian's chrooted smtpd, README's unix socket (n)
#   submission.sh  SMTP AUTH (Cyrus SASL), sender identity, DKIM signing (p)
#   metrics.sh     /metrics, gatehouse stats, the textfile, counted exactly (q)
#   dmarc_report.sh  DMARC aggregate reports: store, --out, --send (r; dmarc_report_check.py)
#   final.sh       checks over the whole run
#
# GH_IT_KEEP=1 keeps the temp dir (it is always kept when a test failed).
# GH_IT_ONLY=REGEX runs only the test functions whose name matches, from
# the environment or the make command line: make integration GH_IT_ONLY=rules
# runs group l (the rule language, rules.sh) alone.

set -u
umask 022

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 /path/to/gatehouse" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: needs root (a private Postfix instance); run it under unshare --net" >&2
	exit 2
fi
for tool in postfix postconf postqueue smtp-sink smtp-source swaks miltertest script ss python3 \
	ip unbound unbound-checkconf openssl make; do
	if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
		echo "$0: $tool is not installed" >&2
		exit 2
	fi
done
PATH=$PATH:/usr/sbin:/sbin
# The interpreter itself, resolved once: behind a version manager's shim
# every python3 start can cost a second on a busy machine.
IT_PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[ -x "$IT_PYTHON" ] || IT_PYTHON=python3

# A mount namespace of its own too (the Makefile gives the network one):
# group n mounts a private /var/spool/postfix, which nothing outside the
# suite may see and which must end with it.
if [ "${GH_IT_MOUNT_NS:-}" != 1 ]; then
	GH_IT_MOUNT_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

IT_GH=$(readlink -f "$1")
IT_HERE=$(cd "$(dirname "$0")" && pwd)
IT_MT_DIR=$(cd "$IT_HERE/../miltertest" && pwd)
IT_START_MS=

ip link set lo up || { echo "$0: cannot bring up lo (run under unshare --net)" >&2; exit 2; }

IT_DIR=$(mktemp -d /tmp/gatehouse-it.XXXXXX) || exit 2
chmod 755 "$IT_DIR"	# smtpd (user postfix) reaches the unix socket in here

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$IT_HERE/lib.sh"
# shellcheck source=basics.sh source-path=SCRIPTDIR
. "$IT_HERE/basics.sh"
# shellcheck source=reload.sh source-path=SCRIPTDIR
. "$IT_HERE/reload.sh"
# shellcheck source=unix.sh source-path=SCRIPTDIR
. "$IT_HERE/unix.sh"
# shellcheck source=daemon.sh source-path=SCRIPTDIR
. "$IT_HERE/daemon.sh"
# shellcheck source=spf.sh source-path=SCRIPTDIR
. "$IT_HERE/spf.sh"
# shellcheck source=dkim_dmarc_lib.sh source-path=SCRIPTDIR
. "$IT_HERE/dkim_dmarc_lib.sh"
# shellcheck source=dkim_dmarc.sh source-path=SCRIPTDIR
. "$IT_HERE/dkim_dmarc.sh"
# shellcheck source=rules_lib.sh source-path=SCRIPTDIR
. "$IT_HERE/rules_lib.sh"
# shellcheck source=rules.sh source-path=SCRIPTDIR
. "$IT_HERE/rules.sh"
# shellcheck source=sendmail.sh source-path=SCRIPTDIR
. "$IT_HERE/sendmail.sh"
# shellcheck source=chroot.sh source-path=SCRIPTDIR
. "$IT_HERE/chroot.sh"
# shellcheck source=ratelimit.sh source-path=SCRIPTDIR
. "$IT_HERE/ratelimit.sh"
# shellcheck source=submission.sh source-path=SCRIPTDIR
. "$IT_HERE/submission.sh"
# shellcheck source=metrics.sh source-path=SCRIPTDIR
. "$IT_HERE/metrics.sh"
# shellcheck source=dmarc_report.sh source-path=SCRIPTDIR
. "$IT_HERE/dmarc_report.sh"
# shellcheck source=final.sh source-path=SCRIPTDIR
. "$IT_HERE/final.sh"

cleanup() {
	local p n
	for p in "${IT_BG_PIDS[@]}"; do
		stop_pid "$p"
	done
	for n in main unix spf dkim rules sendmail chroot met rua; do
		stop_pid "$(gh_pid "$n")"
	done
	[ -z "${IT_RL_DIR:-}" ] || o_teardown	# ratelimit.sh: its two Postfix instances
	stop_pid "$(gh_pid sub)"
	[ -z "${IT_SUB_DIR:-}" ] || postfix_instance_stop "$IT_SUB_DIR"	# submission.sh
	stop_pid "${IT_DNS_PID:-}"
	postfix_stop
	stop_pid "${IT_SINK_PID:-}"
	if [ "$IT_FAILED" -eq 0 ] && [ "${GH_IT_KEEP:-0}" != 1 ]; then
		rm -rf "$IT_DIR"
	else
		echo "# logs and mail kept in $IT_DIR"
	fi
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

# setup - the private Postfix, smtp-sink and the "main" gatehouse instance
setup() {
	local port
	IT_START_MS=$(now_ms)
	for port in "$IT_SMTPD_PORT" "$IT_SMTPD_UNIX_PORT" "$IT_SMTPD_SPF_PORT" "$IT_SMTPD_DKIM_PORT" \
		"$IT_SMTPD_RULES_PORT" "$IT_SMTPD_V2_PORT" "$IT_SMTPD_V4_PORT" "$IT_SINK_PORT" \
		"$IT_MILTER_PORT" "$IT_MILTER_SPF_PORT" \
		"$IT_MILTER_DKIM_PORT" "$IT_MILTER_RULES_PORT"; do
		if port_listening "$port"; then
			echo "port $port is already in use: run the suite under unshare --net"
			return 1
		fi
	done
	postfix_setup
	sink_start || return 1
	gh_main_conf 0
	gh_start main || return 1
	postfix_start || return 1
}

# ================================================================ main

echo "# gatehouse integration suite: $IT_GH"
echo "# temp dir $IT_DIR"
if ! setup; then
	echo "not ok - setup: the private Postfix, smtp-sink or gatehouse did not start"
	IT_FAILED=1
	diag_logs
	echo "0 passed, 1 failed"
	exit 1
fi
echo "# setup done in $(( $(now_ms) - IT_START_MS )) ms"

# the test functions in the order they run (the comments name their files)
IT_TESTS=(
	test_miltertest	# basics.sh
	test_accept_status_header
	test_summary_qid
	test_no_from
	test_bad_mail_from
	test_ehlo_mid_transaction
	test_old_milter_protocol
	test_bad_rcpt
	test_bad_rcpt_only_that_one
	test_long_header_line
	test_long_folded_header
	test_sighup	# reload.sh
	test_load
	test_unix_socket	# unix.sh
	test_slow_client
	test_daemon_start	# daemon.sh
	test_writable_warnings
	test_sd_notify
	test_cpu_quota
	test_idle_flood
	test_idle_timeout
	test_out_of_descriptors
	test_milter_down	# reload.sh
	test_sigterm_drain
	test_spf_dns	# spf.sh
	test_dkim_dmarc	# dkim_dmarc.sh
	test_rules	# rules.sh
	test_sendmail	# sendmail.sh
	test_chroot_postfix	# chroot.sh
	test_ratelimit_fleet	# ratelimit.sh
	test_submission	# submission.sh
	test_dmarc_report	# dmarc_report.sh
	test_metrics	# metrics.sh
	test_never_delivered	# final.sh
	test_no_internal_errors
)
for t in "${IT_TESTS[@]}"; do
	if [ -n "${GH_IT_ONLY:-}" ] && ! [[ $t =~ $GH_IT_ONLY ]]; then
		continue
	fi
	"$t"
done

echo "# total $(( $(now_ms) - IT_START_MS )) ms"
echo "$IT_PASSED passed, $IT_FAILED failed"
[ "$IT_FAILED" -eq 0 ]
