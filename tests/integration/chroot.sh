# shellcheck shell=bash
# chroot.sh - group n: gatehouse behind a Postfix whose smtpd is chrooted as
# in Debian's default master.cf, over the unix socket exactly as README
# documents it: gatehouse listens on
# /var/spool/postfix/gatehouse/gatehouse.sock and main.cf says
# smtpd_milters = unix:/gatehouse/gatehouse.sock (relative to the chroot).
#
# The suite runs in a mount namespace of its own (run.sh), so this group
# mounts an empty tmpfs on /var/spool/postfix: the instance's queue
# directory and chroot has README's path, the machine's Postfix spool is
# neither seen nor touched, and the mount ends with the group (or the
# suite). Debian's own /usr/lib/postfix/configure-instance.sh prepares the
# chroot (etc/hosts, services, libnss, ...), as Debian's postfix service
# does before every start. gatehouse runs as an unprivileged user that is
# not in group postfix (as under packaging/gatehouse.service), in the
# socket directory README tells to make: owned by that user, group
# postfix, mode 2750, so the socket is born in group postfix. Sourced by
# run.sh; the helpers are lib.sh's.

IT_SMTPD_CHROOT_PORT=10042	# the chrooted smtpd of the "chroot" Postfix instance
IT_CHROOT_SPOOL=/var/spool/postfix
IT_CHROOT_SOCKET=$IT_CHROOT_SPOOL/gatehouse/gatehouse.sock	# README's path
IT_CHROOT_MILTER=unix:/gatehouse/gatehouse.sock			# README's main.cf value
IT_CHROOT_USER=nobody		# gatehouse's user here: no member of group postfix
IT_CHROOT_GROUP=nogroup

# n_fail NAME WHY - not_ok with the tail of the chroot instance's Postfix log
n_fail() {
	not_ok "$1" "$2"
	if [ -s "$IT_DIR/chroot/postfix.log" ]; then
		echo "  -- tail of chroot/postfix.log"
		tail -n 12 "$IT_DIR/chroot/postfix.log" | diag
	fi
}

# n_master_pid - the pid of the chroot instance's master, if it runs
n_master_pid() {
	tr -dc "0-9" 2>/dev/null <"$IT_CHROOT_SPOOL/pid/master.pid"
}

# n_smtpd_roots - "PID ROOT" of each smtpd process of the chroot instance
n_smtpd_roots() {
	local p
	for p in $(pgrep -f "smtpd -n 127\\.0\\.0\\.1:$IT_SMTPD_CHROOT_PORT "); do
		echo "$p $(readlink "/proc/$p/root")"
	done
}

# n_postfix_stop - stop the chroot instance (if it runs); abort it if its
# master is still there after 10 s
n_postfix_stop() {
	local pid
	pid=$(n_master_pid)
	[ -n "$pid" ] || return 0
	script -qec "postfix -c '$IT_DIR/chroot/postfix' stop" /dev/null >/dev/null 2>&1
	if ! wait_until 10 pid_gone "$pid"; then
		script -qec "postfix -c '$IT_DIR/chroot/postfix' abort" /dev/null >/dev/null 2>&1
		wait_until 5 pid_gone "$pid"
	fi
}

# n_teardown - stop the chroot instance and gatehouse, unmount the spool
n_teardown() {
	gh_stop chroot
	n_postfix_stop
	umount "$IT_CHROOT_SPOOL" 2>/dev/null
}

# n_setup NAME - the mount, the Postfix instance (stock Debian master.cf:
# smtpd chrooted), configure-instance.sh, the socket directory, gatehouse
# and Postfix started
n_setup() {
	local name=$1 d=$IT_DIR/chroot top line gh_real
	top=$(cd "$IT_HERE/../.." && pwd)
	# what README says, so this group follows it
	for line in "socket = \"unix:$IT_CHROOT_SOCKET\"" "smtpd_milters = $IT_CHROOT_MILTER"; do
		if ! grep -qF -- "$line" "$top/README.md"; then
			n_fail "$name" "README no longer says '$line': bring this group in line"
			return 1
		fi
	done
	if mountpoint -q "$IT_CHROOT_SPOOL" || ! mount -t tmpfs -o mode=0755 tmpfs "$IT_CHROOT_SPOOL"; then
		n_fail "$name" "cannot mount a private tmpfs on $IT_CHROOT_SPOOL (is the suite in its own mount namespace?)"
		return 1
	fi
	mkdir -p "$d"
	postfix_instance_setup "$d" "$IT_DOMAIN" "$IT_SINK_PORT" <<EOF
myhostname = $IT_AUTHSERV
mydomain = gatehouse.test
inet_interfaces = loopback-only
smtpd_milters = $IT_CHROOT_MILTER
EOF
	postconf -c "$d/postfix" -e "queue_directory = $IT_CHROOT_SPOOL"
	# Debian's master.cf as it comes (chroot y for smtpd and the others),
	# without the port 25 listener: ours is Debian's smtp line on a
	# loopback port, chroot column and all
	awk -v port="$IT_SMTPD_CHROOT_PORT" '
		$1 == "smtp" && $2 == "inet" { $1 = "127.0.0.1:" port; print; next }
		{ print }
	' /etc/postfix/master.cf >"$d/postfix/master.cf"
	line=$(postconf -c "$d/postfix" -M "127.0.0.1:$IT_SMTPD_CHROOT_PORT/inet" 2>&1)
	if [ "$(awk '{ print $5 }' <<<"$line")" != y ]; then
		n_fail "$name" "the smtpd of master.cf is not chrooted: $line"
		return 1
	fi
	if ! MAIL_CONFIG=$d/postfix /usr/lib/postfix/configure-instance.sh - >"$d/configure.out" 2>&1 ||
		[ ! -s "$IT_CHROOT_SPOOL/etc/hosts" ]; then
		n_fail "$name" "Debian's configure-instance.sh did not prepare the chroot: $(head -c 300 "$d/configure.out")"
		return 1
	fi
	# README: the socket directory, owned by gatehouse's user, group postfix
	install -d -o "$IT_CHROOT_USER" -g postfix -m 2750 "$(dirname "$IT_CHROOT_SOCKET")"
	gh_conf chroot <<EOF
# gatehouse instance "chroot" of the integration suite: README's unix socket
# (socket_group "postfix" and socket_mode "0660" are the defaults)
socket = "unix:$IT_CHROOT_SOCKET"
authserv_id = "$IT_AUTHSERV"
log_level = "info"
drain_timeout_ms = 3000
# the suite's client counts as inbound, so the status header (inbound mail
# only, by default) marks what went through gatehouse
internal_networks = ""
EOF
	# gatehouse as IT_CHROOT_USER: gh_start runs IT_GH, here a wrapper
	gh_real=$IT_GH
	printf '#!/bin/sh\nexec setpriv --reuid=%s --regid=%s --clear-groups -- %s "$@"\n' \
		"$IT_CHROOT_USER" "$IT_CHROOT_GROUP" "$gh_real" >"$d/gatehouse-as-user"
	chmod 755 "$d/gatehouse-as-user"
	IT_GH=$d/gatehouse-as-user
	if ! gh_start chroot; then
		IT_GH=$gh_real
		n_fail "$name" "gatehouse did not start on $IT_CHROOT_SOCKET as $IT_CHROOT_USER"
		return 1
	fi
	IT_GH=$gh_real
	if ! postfix_instance_start "$d" "$IT_SMTPD_CHROOT_PORT" >"$d/start.out"; then
		n_fail "$name" "the chroot instance did not start: $(head -c 300 "$d/start.out")"
		return 1
	fi
	IT_BG_PIDS+=("$(n_master_pid)")
}

# -- n: Postfix with Debian's chrooted smtpd, README's unix socket
test_chroot_postfix() {
	local name id f sess st roots rc t_group
	t_group=$(now_ms)
	name="n: a Postfix instance with Debian's master.cf (smtpd chrooted) on a private $IT_CHROOT_SPOOL, prepared by Debian's configure-instance.sh; gatehouse as $IT_CHROOT_USER on README's socket"
	if ! n_setup "$name"; then
		n_teardown
		return
	fi
	ok "$name"

	name="n: the socket is README's $IT_CHROOT_SOCKET, mode 0660, group postfix (inherited from the 2750 directory; $IT_CHROOT_USER is not in group postfix)"
	st=$(stat -c '%a %U %G %F' "$IT_CHROOT_SOCKET" 2>&1)
	if [ "$st" != "660 $IT_CHROOT_USER postfix socket" ]; then
		n_fail "$name" "stat says '$st', expected '660 $IT_CHROOT_USER postfix socket'"
	else
		ok "$name"
	fi

	name="n: mail through the chrooted smtpd (its root is $IT_CHROOT_SPOOL) and smtpd_milters = $IT_CHROOT_MILTER is delivered with X-Gatehouse"
	id=$(new_id chroot)
	send_swaks "$IT_SMTPD_CHROOT_PORT" -f sender@example.net -t rcpt@example.org --add-header "X-Test-Id: $id"
	roots=$(n_smtpd_roots)
	if [ "$SWAKS_RC" -ne 0 ]; then
		n_fail "$name" "swaks exit $SWAKS_RC; reply: $(grep '^<\*\*' "$IT_DIR/last-client.out" | head -n 1)"
	elif ! wait_delivered "$id"; then
		n_fail "$name" "message $id did not reach the sink"
	elif [ -z "$roots" ] || grep -qv " $IT_CHROOT_SPOOL\$" <<<"$roots"; then
		n_fail "$name" "smtpd processes and their roots: '${roots:-none}', expected $IT_CHROOT_SPOOL"
	else
		f=$(delivered_file "$id")
		sess=$(session_of "$f")
		if [ "$(status_header_count "$f")" -ne 1 ] || [ -z "$sess" ]; then
			n_fail "$name" "delivered without X-Gatehouse"
		elif [ -z "$(summary_line "$IT_DIR/gh-chroot.log" "$sess")" ]; then
			n_fail "$name" "session $sess is not in the chroot instance's log"
		else
			ok "$name (smtpd pid and root: $(head -n 1 <<<"$roots"))"
		fi
	fi

	name="n: gatehouse exits 0 on SIGTERM and removes its socket (as $IT_CHROOT_USER, owner of the directory)"
	gh_stop chroot
	rc=$?
	if [ $rc -ne 0 ]; then
		n_fail "$name" "exit status $rc"
	elif [ -e "$IT_CHROOT_SOCKET" ]; then
		n_fail "$name" "$IT_CHROOT_SOCKET still exists"
	else
		ok "$name"
	fi
	n_teardown
	echo "# n: chrooted Postfix took $(($(now_ms) - t_group)) ms"
}
