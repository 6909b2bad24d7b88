# shellcheck shell=bash
# tests/lib/sendmail.sh - a private Sendmail for a gatehouse test: Debian's
# own Sendmail 8.17 packages, unpacked (never installed: the machine's MTA
# stays Postfix) and run from the unpacked tree with a sendmail.cf built by
# m4 from the test's .mc, private queue and status files, on a loopback
# port. Only one domain is relayed, to an smtp-sink. Needs
# tests/lib/common.sh (wait_until, pid_gone, port_listening, diag), m4,
# dpkg-deb, unshare and python3.
#
# The packages: packaging/install-deps.sh downloads them (apt-get download
# sendmail-bin sendmail-base sendmail-cf libwrap0) into SENDMAIL_DEBS_DIR.
#
# What Sendmail needs to run this way, found by hand:
#   - the binary is setgid smmsp/mail: the copy here has the bit cleared, or
#     the loader ignores LD_LIBRARY_PATH (libwrap0 is unpacked, not installed);
#   - a fully qualified host name, or it sleeps 60 s at every start ("My
#     unqualified host name ... unknown"): it runs in a UTS namespace of its
#     own whose host name is the instance's;
#   - syslog: it logs nowhere else. It runs in a mount namespace of its own
#     whose /dev is an overlay of the real one with /dev/log linked to a
#     small listener (syslog_sink.py) writing DIR/maillog; the machine's
#     /dev is not touched;
#   - no DNS: the namespace has none, so host names come from files only
#     (service.switch), nothing is canonified and unresolvable sender
#     domains are accepted; the smart host is an address in brackets.
#
# Layout of DIR:
#   root/            the packages, unpacked (dpkg -x)
#   sendmail.mc      the configuration source; sendmail.cf built from it
#   mqueue/          QueueDirectory (root, 0700); quarantined mail is hf*
#   service.switch aliases statistics sendmail.pid   its other files
#   hostname         the instance's host name
#   log.sock maillog the syslog listener's socket, and what Sendmail logged
#   dev.up/ dev.work/  the overlay /dev of its mount namespace
#   sendmail.out     the daemon's standard output and error

SENDMAIL_DEBS_DIR=${SENDMAIL_DEBS_DIR:-/var/cache/gatehouse-tests/sendmail}
SENDMAIL_PACKAGES="sendmail-bin sendmail-base sendmail-cf libwrap0"
SENDMAIL_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# sendmail_debs_missing - the packages not in SENDMAIL_DEBS_DIR (none: empty)
sendmail_debs_missing() {
	local p out=""
	for p in $SENDMAIL_PACKAGES; do
		compgen -G "$SENDMAIL_DEBS_DIR/${p}_*.deb" >/dev/null || out="$out $p"
	done
	echo "${out# }"
}

# sendmail_bin DIR - the Sendmail binary of the instance of DIR
sendmail_bin() {
	echo "$1/root/usr/libexec/sendmail/sendmail"
}

# sendmail_unpack DIR - unpack the packages into DIR/root; the copy of the
# binary loses its setgid bit (see above)
sendmail_unpack() {
	local dir=$1 deb
	mkdir -p "$dir/root"
	for deb in "$SENDMAIL_DEBS_DIR"/*.deb; do
		dpkg-deb -x "$deb" "$dir/root" || return 1
	done
	chmod g-s "$(sendmail_bin "$dir")"
	[ -x "$(sendmail_bin "$dir")" ]
}

# sendmail_instance_setup DIR HOSTNAME PORT SINK_PORT RELAY_DOMAIN [.mc
# lines on stdin] - write DIR/sendmail.mc and build DIR/sendmail.cf with m4
# from the unpacked cf/ tree. The .mc holds what every test instance needs
# (the private files, no DNS, only RELAY_DOMAIN relayed, every message to
# smtp-sink on 127.0.0.1:SINK_PORT, the MTA listener on 127.0.0.1:PORT and
# no submission port); the caller's lines (INPUT_MAIL_FILTER and the like)
# come before the MAILER lines. m4's errors are in DIR/m4.out.
sendmail_instance_setup() {
	local dir=$1 host=$2 port=$3 sink_port=$4 domain=$5 cfdir
	cfdir=$dir/root/usr/share/sendmail/cf
	mkdir -p "$dir/mqueue" "$dir/dev.up" "$dir/dev.work"
	chmod 0700 "$dir/mqueue"
	printf 'hosts files\naliases files\n' >"$dir/service.switch"
	: >"$dir/aliases"
	echo "$host" >"$dir/hostname"
	{
		# Quoted: the .mc is m4, whose quotes are ` and '.
		sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@SINK_PORT@|$sink_port|g" \
			-e "s|@DOMAIN@|$domain|g" <<'EOM'
divert(-1)
# A private Sendmail of a gatehouse test (tests/lib/sendmail.sh): only
# @DOMAIN@ is relayed, to the smtp-sink on 127.0.0.1:@SINK_PORT@.
divert(0)dnl
OSTYPE(`linux')dnl
define(`QUEUE_DIR', `@DIR@/mqueue')dnl
define(`confPID_FILE', `@DIR@/sendmail.pid')dnl
define(`STATUS_FILE', `@DIR@/statistics')dnl
define(`ALIAS_FILE', `@DIR@/aliases')dnl
define(`confHOST_STATUS_DIRECTORY', `')dnl
define(`confSERVICE_SWITCH_FILE', `@DIR@/service.switch')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`SMART_HOST', `relay:[127.0.0.1]')dnl
define(`RELAY_MAILER_ARGS', `TCP $h @SINK_PORT@')dnl
FEATURE(`no_default_msa')dnl
FEATURE(`nocanonify')dnl
FEATURE(`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(`Family=inet, Name=MTA, Addr=127.0.0.1, Port=@PORT@')dnl
RELAY_DOMAIN(`@DOMAIN@')dnl
dnl the caller's lines
EOM
		cat
		printf '%s\n' "MAILER(\`local')dnl" "MAILER(\`smtp')dnl"
	} >"$dir/sendmail.mc"
	m4 -D_CF_DIR_="$cfdir/" "$cfdir/m4/cf.m4" "$dir/sendmail.mc" >"$dir/sendmail.cf" 2>"$dir/m4.out" &&
		[ ! -s "$dir/m4.out" ]
}

# sendmail_cmd DIR ARGS... - run the instance's binary with its sendmail.cf
# the way the daemon runs (its host name, libwrap from the unpacked tree),
# e.g. sendmail_cmd DIR -bp -qQ
sendmail_cmd() {
	local dir=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --uts -- /bin/sh -c 'hostname "$1" && shift && exec "$@"' sh "$(cat "$dir/hostname")" \
		env LD_LIBRARY_PATH="$dir/root/usr/lib/x86_64-linux-gnu" \
		"$(sendmail_bin "$dir")" -C "$dir/sendmail.cf" "$@"
}

# sendmail_instance_start DIR PORT - the syslog listener and the daemon
# (sendmail -bD: in the foreground, no queue runs) in its own UTS and mount
# namespaces; waits (15 s at most) until it listens on PORT. Sets
# SENDMAIL_PID and SENDMAIL_SYSLOG_PID.
sendmail_instance_start() {
	local dir=$1 port=$2
	: >>"$dir/maillog"
	"${PYTHON:-python3}" "$SENDMAIL_LIB_DIR/syslog_sink.py" "$dir/log.sock" "$dir/maillog" \
		>"$dir/syslog.out" 2>&1 &
	# shellcheck disable=SC2034 # for the caller
	SENDMAIL_SYSLOG_PID=$!
	if ! wait_until 10 test -S "$dir/log.sock"; then
		echo "the syslog listener did not start"
		diag <"$dir/syslog.out"
		return 1
	fi
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --uts --mount -- /bin/sh -c '
		dir=$1
		hostname "$(cat "$dir/hostname")" &&
		mount -t overlay overlay -o "lowerdir=/dev,upperdir=$dir/dev.up,workdir=$dir/dev.work" /dev &&
		ln -sf "$dir/log.sock" /dev/log &&
		LD_LIBRARY_PATH=$dir/root/usr/lib/x86_64-linux-gnu exec "$2" -C "$dir/sendmail.cf" -bD' \
		sh "$dir" "$(sendmail_bin "$dir")" >"$dir/sendmail.out" 2>&1 &
	# shellcheck disable=SC2034 # for the caller
	SENDMAIL_PID=$!
	if ! wait_until 15 port_listening "$port"; then
		echo "sendmail did not listen on port $port"
		cat "$dir/sendmail.out" "$dir/maillog" | tail -n 20 | diag
		return 1
	fi
}

# sendmail_instance_stop PID SYSLOG_PID - SIGTERM the daemon and wait
# (bounded) until it is gone, then the syslog listener
sendmail_instance_stop() {
	stop_pid "$1" 10
	stop_pid "$2"
}

# sendmail_quarantined DIR QID - message QID sits in Sendmail's quarantine:
# its queue file is hfQID (not qfQID) and mailq -qQ lists it with the
# QUARANTINE line; prints that line
sendmail_quarantined() {
	local dir=$1 qid=$2 out
	[ -f "$dir/mqueue/hf$qid" ] && [ ! -e "$dir/mqueue/qf$qid" ] || return 1
	out=$(sendmail_cmd "$dir" -bp -qQ 2>&1) || return 1
	grep -A1 "^$qid" <<<"$out" | grep -E '^ +QUARANTINE: ' | sed 's/^ *//'
	grep -A1 "^$qid" <<<"$out" | grep -Eq '^ +QUARANTINE: '
}

# sendmail_queue_files DIR - the queue files (qf, df, hf, ...) Sendmail holds
sendmail_queue_files() {
	find "$1/mqueue" -type f -printf '%f\n' 2>/dev/null
}
