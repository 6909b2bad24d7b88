#!/bin/bash
# run.sh - gatehouse as Debian installs it: the .deb built from debian/,
# checked, "installed" and started the way its systemd unit starts it.
#
# Needs root, and network and mount namespaces of its own; the Makefile
# runs it as
#   unshare --net --mount -- tests/packaging/run.sh
# Steps, one "ok"/"not ok" line each, then "N passed, M failed":
#   0. debian/control's Build-Depends name the -dev packages install-deps.sh
#      installs, no more and no fewer (add a library in both places);
#   1. copy the source tree (without build/ and .git) to a temp dir and
#      run dpkg-buildpackage -b -us -uc there, so no build output lands in
#      the checkout; DEB_BUILD_OPTIONS=nocheck unless GH_PKG_CHECK=1 (make
#      test runs make check on its own; the package's dh_auto_test runs it
#      as well when nocheck is not given);
#   2. lintian on the result: no errors;
#   3. what the package holds: the binary where the unit runs it, the
#      default configuration as a conffile, the unit, the sysusers file,
#      the man pages, the Postfix and Sendmail snippets; its postinst
#      creates the user and enables the unit;
#   4. make install PREFIX=/usr DESTDIR=... of the same build gives the
#      same tree for what the unit needs;
#   5. the package unpacked over the machine's /usr and /etc through
#      overlays in this mount namespace (the machine is not touched), the
#      user made by systemd-sysusers from the package's file; the unit
#      passes systemd-analyze verify and security;
#   6. the unit's own ExecStartPre, ExecStart and ExecReload lines, run as
#      its User= (the lines marked + as root), start the installed binary
#      with the installed configuration against a private Postfix that
#      uses the shipped snippet; a message goes through; a reload works, and
#      one the daemon's user cannot read is refused by the check; SIGTERM;
#   7. the same with README's unix socket inside a private
#      /var/spool/postfix: the unit's first line makes the directory, the
#      socket is gatehouse:postfix 0660, mail goes through.
# GH_PKG_KEEP=1 keeps the temp dir (it is kept when a test failed).

set -u
umask 022

if [ "$(id -u)" -ne 0 ]; then
	echo "$0: needs root; run it as: unshare --net --mount -- $0" >&2
	exit 2
fi
for tool in dpkg-buildpackage dpkg-deb lintian systemd-analyze systemd-sysusers setpriv postfix \
	postconf smtp-sink swaks script ss ip; do
	if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
		echo "$0: $tool is not installed (packaging/install-deps.sh)" >&2
		exit 2
	fi
done
PATH=$PATH:/usr/sbin:/sbin
PK_HERE=$(cd "$(dirname "$0")" && pwd)
PK_TOP=$(cd "$PK_HERE/../.." && pwd)

# shellcheck source=../lib/common.sh source-path=SCRIPTDIR
. "$PK_HERE/../lib/common.sh"
# shellcheck source=../lib/postfix.sh source-path=SCRIPTDIR
. "$PK_HERE/../lib/postfix.sh"

if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
	echo "$0: run it in a mount namespace of its own: unshare --net --mount -- $0" >&2
	exit 2
fi
ip link set lo up || { echo "$0: cannot bring up lo (run under unshare --net)" >&2; exit 2; }

PK_SMTPD_PORT=10043	# the private Postfix's smtpd
PK_SINK_PORT=10026	# its smtp-sink
PK_MILTER_PORT=8891	# the default configuration's socket
PK_SOCKET=/var/spool/postfix/gatehouse/gatehouse.sock	# README's
PK_UNIT=/lib/systemd/system/gatehouse.service

PK_DIR=$(mktemp -d /tmp/gatehouse-pkg.XXXXXX) || exit 2
chmod 755 "$PK_DIR"
PK_PASSED=0
PK_FAILED=0
PK_GH_PID=
PK_SINK_PID=
PK_DEB=
PK_NOTIFY_PID=

ok() {
	PK_PASSED=$((PK_PASSED + 1))
	echo "ok - $1"
}

# not_ok NAME WHY [FILE...] - a failed test, with the tail of each FILE
not_ok() {
	local f
	PK_FAILED=$((PK_FAILED + 1))
	echo "not ok - $1: $2"
	shift 2
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "  -- tail of ${f#"$PK_DIR"/}"
		tail -n 15 "$f" | diag
	done
}

cleanup() {
	stop_pid "$PK_GH_PID" 20
	stop_pid "$PK_NOTIFY_PID"
	postfix_instance_stop "$PK_DIR/pf"
	stop_pid "$PK_SINK_PID"
	if [ "$PK_FAILED" -eq 0 ] && [ "${GH_PKG_KEEP:-0}" != 1 ]; then
		# lazily: this shell still runs from the overlaid /usr
		umount -l /usr /etc /var/spool/postfix 2>/dev/null
		rm -rf "$PK_DIR"
	else
		echo "# kept in $PK_DIR"
	fi
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

# unit_lines KEY - the values of KEY= in the installed unit, one a line
unit_lines() {
	sed -n "s/^$1=//p" "$PK_UNIT"
}

# unit_run LINE [MAINPID] - run one Exec line of the unit the way systemd
# would: "+" as root, otherwise as User=/Group= (setpriv); "-" ignores a
# failure; $MAINPID replaced. In the background when PK_BG=1 (sets PK_BG_PID).
unit_run() {
	local line=$1 mainpid=${2:-} as_root=0 ignore=0 user group
	while :; do
		case $line in
		+*) as_root=1; line=${line#+} ;;
		-*) ignore=1; line=${line#-} ;;
		*) break ;;
		esac
	done
	line=${line//\$MAINPID/$mainpid}
	user=$(unit_lines User)
	group=$(unit_lines Group)
	local -a argv
	eval "argv=($line)"
	if [ $as_root = 0 ]; then
		argv=(setpriv --reuid="$user" --regid="$group" --init-groups -- "${argv[@]}")
	fi
	if [ "${PK_BG:-0}" = 1 ]; then
		"${argv[@]}" &
		PK_BG_PID=$!
		return 0
	fi
	"${argv[@]}" || [ $ignore = 1 ]
}

# notify_count LINE - how often the daemon sent LINE to the notify socket
notify_count() {
	local n
	n=$(grep -cx -- "$1" "$PK_DIR/notify.log" 2>/dev/null)
	echo "${n:-0}"
}

notify_at_least() {
	[ "$(notify_count "$1")" -ge "$2" ]
}

# unit_start LOG - ExecStartPre lines, then ExecStart in the background
# (PK_GH_PID), its output in LOG; waits until it logged "started" and, for
# Type=notify, until it sent one more READY=1 to the stand-in for systemd's
# notify socket (NOTIFY_SOCKET, a datagram listener writing notify.log)
unit_start() {
	local log=$1 line ready
	: >"$log"
	while IFS= read -r line; do
		if ! unit_run "$line" >>"$log" 2>&1; then
			echo "ExecStartPre=$line failed"
			return 1
		fi
	done < <(unit_lines ExecStartPre)
	ready=$(notify_count READY=1)
	NOTIFY_SOCKET=$PK_DIR/notify.sock PK_BG=1 unit_run "$(unit_lines ExecStart)" >>"$log" 2>&1
	PK_GH_PID=$PK_BG_PID
	if ! wait_until 10 grep -q ' started (config ' "$log"; then
		echo "ExecStart: no 'started' in the log"
		return 1
	fi
	if [ "$(unit_lines Type)" = notify ] && ! wait_until 10 notify_at_least READY=1 $((ready + 1)); then
		echo "Type=notify, but no READY=1 came: $(tr '\n' ' ' <"$PK_DIR/notify.log")"
		return 1
	fi
}

# unit_stop - SIGTERM (systemd's KillSignal) and the exit status
unit_stop() {
	local rc=0
	kill -TERM "$PK_GH_PID" 2>/dev/null
	wait_until 45 pid_gone "$PK_GH_PID" || kill -KILL "$PK_GH_PID" 2>/dev/null
	wait "$PK_GH_PID" 2>/dev/null || rc=$?
	PK_GH_PID=
	return $rc
}

# send ID - a message from 127.0.0.1 (an internal network by default, so
# no DNS is needed) through the private Postfix
send() {
	timeout 60 swaks --server 127.0.0.1 --port "$PK_SMTPD_PORT" --helo client.pkg.test \
		-f "$1@example.net" -t rcpt@example.org --add-header "X-Test-Id: $1" \
		--timeout 30 >"$PK_DIR/last-client.out" 2>&1
}

# summary_for ID LOG - gatehouse's summary line for the message of ID
summary_for() {
	grep -E " from=$1@example\\.net .*action=" "$2" | tail -n 1
}

summary_logged() {
	[ -n "$(summary_for "$1" "$2")" ]
}

delivered() {
	grep -lqF "X-Test-Id: $1" "$PK_DIR"/pf/sink/m.* 2>/dev/null
}

# ---------------------------------------------------------------- 0. in step

# dev_packages_of_install_deps - the -dev packages of install-deps.sh's
# PACKAGES="..." (what building needs; not the --bench extras)
dev_packages_of_install_deps() {
	awk '/^PACKAGES="/ { on = 1 } on { print } on && /"$/ && !/^PACKAGES="$/ { exit }' \
		"$PK_TOP/packaging/install-deps.sh" | tr ' "' '\n' | grep -- '-dev$' | sort -u
}

# dev_packages_of_control - the -dev packages of debian/control's Build-Depends
dev_packages_of_control() {
	sed -n '/^Build-Depends:/,/^$/p' "$PK_TOP/debian/control" | tr ' ,' '\n' |
		grep -- '-dev$' | sort -u
}

name="debian/control's Build-Depends and packaging/install-deps.sh name the same -dev packages"
drift=$(diff <(dev_packages_of_install_deps) <(dev_packages_of_control) | grep '^[<>]' | tr '\n' ' ')
if [ -n "$drift" ]; then
	not_ok "$name" "< only in install-deps.sh, > only in debian/control: $drift"
else
	ok "$name ($(dev_packages_of_control | wc -l) packages)"
fi

# ---------------------------------------------------------------- 1. build

echo "# gatehouse packaging tests in $PK_DIR"
t0=$(now_ms)
name="the .deb builds with dpkg-buildpackage -b -us -uc from a copy of the tree"
mkdir -p "$PK_DIR/src"
tar -C "$PK_TOP" --exclude=./build --exclude=./.git --exclude=./debian/build \
	--exclude=./debian/gatehouse --exclude=./debian/.debhelper -cf - . | tar -C "$PK_DIR/src" -xf -
opts="parallel=$(nproc)"
[ "${GH_PKG_CHECK:-0}" = 1 ] || opts="$opts nocheck"
if ! (cd "$PK_DIR/src" && DEB_BUILD_OPTIONS=$opts timeout 1200 dpkg-buildpackage -b -us -uc) \
	>"$PK_DIR/build.log" 2>&1; then
	not_ok "$name" "dpkg-buildpackage failed" "$PK_DIR/build.log"
	echo "$PK_PASSED passed, $PK_FAILED failed"
	exit 1
fi
PK_DEB=$(find "$PK_DIR" -maxdepth 1 -name "gatehouse_*.deb" | head -n 1)
ok "$name ($(basename "$PK_DEB"), $(( ($(now_ms) - t0) / 1000 )) s, DEB_BUILD_OPTIONS=$opts)"

# ---------------------------------------------------------------- 2. lintian

name="lintian reports no errors"
t0=$(now_ms)
lintian --fail-on error --no-tag-display-limit "$PK_DIR"/gatehouse_*.changes >"$PK_DIR/lintian.out" 2>&1
rc=$?
if [ $rc -ne 0 ] || grep -q '^E: ' "$PK_DIR/lintian.out"; then
	not_ok "$name" "lintian exit $rc: $(grep -c '^E: ' "$PK_DIR/lintian.out") errors" "$PK_DIR/lintian.out"
else
	ok "$name ($(grep -c '^W: ' "$PK_DIR/lintian.out") warnings, $(( ($(now_ms) - t0) / 1000 )) s)"
fi

# ---------------------------------------------------------------- 3. contents

name="the package holds the binary, the conffile, the unit, the sysusers file, the man pages, the snippets and the DMARC report timer example; postinst makes the user and enables the unit"
mkdir -p "$PK_DIR/root" "$PK_DIR/ctrl"
dpkg-deb -x "$PK_DEB" "$PK_DIR/root" && dpkg-deb -e "$PK_DEB" "$PK_DIR/ctrl"
missing=""
for f in usr/sbin/gatehouse etc/gatehouse/gatehouse.conf lib/systemd/system/gatehouse.service \
	usr/lib/sysusers.d/gatehouse.conf usr/share/man/man8/gatehouse.8.gz \
	usr/share/man/man5/gatehouse.conf.5.gz usr/share/man/man5/gatehouse.rules.5.gz \
	usr/share/doc/gatehouse/examples/postfix-main.cf.snippet \
	usr/share/doc/gatehouse/examples/sendmail.mc.snippet \
	usr/share/doc/gatehouse/examples/gatehouse-dmarc-report.service \
	usr/share/doc/gatehouse/examples/gatehouse-dmarc-report.timer; do
	[ -e "$PK_DIR/root/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	not_ok "$name" "missing:$missing"
elif ! grep -qx /etc/gatehouse/gatehouse.conf "$PK_DIR/ctrl/conffiles" 2>/dev/null; then
	not_ok "$name" "/etc/gatehouse/gatehouse.conf is not a conffile: $(cat "$PK_DIR/ctrl/conffiles" 2>&1)"
elif ! grep -q 'systemd-sysusers .*gatehouse\.conf' "$PK_DIR/ctrl/postinst" ||
	! grep -q 'deb-systemd-helper .*enable.*gatehouse\.service' "$PK_DIR/ctrl/postinst"; then
	not_ok "$name" "postinst does not run systemd-sysusers gatehouse.conf and enable gatehouse.service" \
		"$PK_DIR/ctrl/postinst"
else
	ok "$name"
fi

# ---------------------------------------------------------------- 4. make install

name="make install PREFIX=/usr DESTDIR=... puts binary, configuration, unit and sysusers file where the package does"
if ! make -s -C "$PK_DIR/src" BUILD=debian/build PREFIX=/usr DESTDIR="$PK_DIR/stage" install \
	>"$PK_DIR/install.log" 2>&1; then
	not_ok "$name" "make install failed" "$PK_DIR/install.log"
else
	diffs=""
	for f in usr/sbin/gatehouse etc/gatehouse/gatehouse.conf lib/systemd/system/gatehouse.service \
		usr/lib/sysusers.d/gatehouse.conf; do
		cmp -s "$PK_DIR/stage/$f" "$PK_DIR/root/$f" || diffs="$diffs $f"
	done
	# the binary is stripped in the package (its debug symbols go to -dbgsym)
	diffs=${diffs/ usr\/sbin\/gatehouse/}
	if [ ! -x "$PK_DIR/stage/usr/sbin/gatehouse" ]; then
		not_ok "$name" "no usr/sbin/gatehouse in the make install tree"
	elif [ -n "$diffs" ]; then
		not_ok "$name" "differs from the package:$diffs"
	else
		ok "$name"
	fi
fi

# ---------------------------------------------------------------- 5. installed

name="installed over the machine's /usr and /etc in this mount namespace; systemd-sysusers makes the user from the package's file"
# dpkg on this merged-/usr machine puts the package's /lib into /usr/lib
if [ -L /lib ] && [ -d "$PK_DIR/root/lib" ]; then
	cp -a "$PK_DIR/root/lib/." "$PK_DIR/root/usr/lib/"
fi
mkdir -p "$PK_DIR/ov/usr.up" "$PK_DIR/ov/usr.work" "$PK_DIR/ov/etc.up" "$PK_DIR/ov/etc.work"
if ! mount -t overlay overlay \
	-o "lowerdir=$PK_DIR/root/usr:/usr,upperdir=$PK_DIR/ov/usr.up,workdir=$PK_DIR/ov/usr.work" /usr ||
	! mount -t overlay overlay \
		-o "lowerdir=$PK_DIR/root/etc:/etc,upperdir=$PK_DIR/ov/etc.up,workdir=$PK_DIR/ov/etc.work" /etc ||
	! mount -t tmpfs -o mode=0755 tmpfs /var/spool/postfix; then
	not_ok "$name" "cannot mount the overlays or the spool"
	echo "$PK_PASSED passed, $PK_FAILED failed"
	exit 1
fi
systemd-sysusers /usr/lib/sysusers.d/gatehouse.conf >"$PK_DIR/sysusers.out" 2>&1
user=$(unit_lines User)
if [ ! -f "$PK_UNIT" ] || [ ! -x /usr/sbin/gatehouse ]; then
	not_ok "$name" "$PK_UNIT or /usr/sbin/gatehouse is not there"
elif [ "$user" != gatehouse ] || ! getent passwd gatehouse >/dev/null || ! getent group gatehouse >/dev/null; then
	not_ok "$name" "User=$user; getent: $(getent passwd gatehouse)" "$PK_DIR/sysusers.out"
else
	ok "$name ($(getent passwd gatehouse))"
fi

name="systemd-analyze verify accepts the installed unit"
if ! systemd-analyze verify "$PK_UNIT" >"$PK_DIR/verify.out" 2>&1 || [ -s "$PK_DIR/verify.out" ]; then
	not_ok "$name" "systemd-analyze verify complained" "$PK_DIR/verify.out"
else
	ok "$name"
fi

name="systemd-analyze security rates the unit 2.0 or better"
systemd-analyze security --offline=true --threshold=20 "$PK_UNIT" >"$PK_DIR/security.out" 2>&1
rc=$?
level=$(sed -n 's/.*Overall exposure level for gatehouse.service: \([0-9.]* [A-Z]*\).*/\1/p' "$PK_DIR/security.out")
if [ $rc -ne 0 ] || [ -z "$level" ]; then
	not_ok "$name" "exit $rc, level '${level:-?}'" "$PK_DIR/security.out"
else
	ok "$name ($level)"
fi

name="the unit: Restart=on-failure, RestartSec of 5 s at most, no start limit, MemoryDenyWriteExecute off, README's socket directory and dmarc_report_db writable"
# README's dmarc_report_db must lie in a directory the sandbox
# (ProtectSystem=strict) leaves writable: the unit's StateDirectory
readme_db=$(sed -n 's/^dmarc_report_db = \([^ ]*\).*/\1/p' "$PK_TOP/README.md" | head -n 1)
state_dir=/var/lib/$(unit_lines StateDirectory)
rs=$(unit_lines RestartSec)
if [ "$(unit_lines Restart)" != on-failure ] || [ "$(unit_lines StartLimitIntervalSec)" != 0 ]; then
	not_ok "$name" "Restart=$(unit_lines Restart) StartLimitIntervalSec=$(unit_lines StartLimitIntervalSec)"
elif ! [[ $rs =~ ^[1-5]s?$ ]]; then
	not_ok "$name" "RestartSec=$rs"
elif [ "$(unit_lines MemoryDenyWriteExecute)" = yes ]; then
	not_ok "$name" "MemoryDenyWriteExecute=yes disables PCRE2's JIT"
elif ! unit_lines ReadWritePaths | grep -qw -- "-\\?$(dirname "$PK_SOCKET")"; then
	not_ok "$name" "ReadWritePaths=$(unit_lines ReadWritePaths) lacks $(dirname "$PK_SOCKET")"
elif [ -z "$readme_db" ] || [ "$(dirname "$readme_db")" != "$state_dir" ]; then
	not_ok "$name" "README's dmarc_report_db '$readme_db' is not in the unit's StateDirectory ($state_dir)"
elif [ "$(unit_lines StateDirectoryMode)" != 0750 ]; then
	not_ok "$name" "StateDirectoryMode=$(unit_lines StateDirectoryMode), expected 0750"
else
	ok "$name"
fi

# ---------------------------------------------------------------- 6. started

name="the unit's ExecStartPre and ExecStart, as User=gatehouse, start the installed binary on the installed configuration ($(unit_lines Type | sed 's/^/Type=/'): READY=1 once it listens)"
python3 "$PK_HERE/../lib/syslog_sink.py" "$PK_DIR/notify.sock" "$PK_DIR/notify.log" \
	>"$PK_DIR/notify.out" 2>&1 &
PK_NOTIFY_PID=$!
wait_until 10 test -S "$PK_DIR/notify.sock"
mkdir -p "$PK_DIR/pf"
postfix_instance_setup "$PK_DIR/pf" example.org "$PK_SINK_PORT" <<EOF
myhostname = mx.pkg.test
mydomain = pkg.test
inet_interfaces = loopback-only
EOF
# the shipped snippet, parameter by parameter
grep -E '^[a-z_]+ = ' /usr/share/doc/gatehouse/examples/postfix-main.cf.snippet |
	while IFS= read -r line; do postconf -c "$PK_DIR/pf/postfix" -e "$line"; done
echo "127.0.0.1:$PK_SMTPD_PORT inet n - n - - smtpd" >>"$PK_DIR/pf/postfix/master.cf"
smtp_sink_start "$PK_DIR/pf" "$PK_SINK_PORT" 16 >"$PK_DIR/sink-start.out"
PK_SINK_PID=$SMTP_SINK_PID
if ! postfix_instance_start "$PK_DIR/pf" "$PK_SMTPD_PORT" >"$PK_DIR/pf-start.out"; then
	not_ok "$name" "the private Postfix did not start" "$PK_DIR/pf-start.out"
	echo "$PK_PASSED passed, $PK_FAILED failed"
	exit 1
fi
if ! unit_start "$PK_DIR/gh.log" >"$PK_DIR/start.out"; then
	not_ok "$name" "$(cat "$PK_DIR/start.out")" "$PK_DIR/gh.log"
elif [ "$(stat -c %U "/proc/$PK_GH_PID")" != gatehouse ]; then
	not_ok "$name" "runs as $(stat -c %U "/proc/$PK_GH_PID")"
elif ! wait_until 5 port_listening "$PK_MILTER_PORT"; then
	not_ok "$name" "nothing listens on $PK_MILTER_PORT" "$PK_DIR/gh.log"
else
	ok "$name"
fi

name="a message through the private Postfix (the shipped main.cf snippet) is checked by the installed gatehouse and delivered"
id="pkg-$$-$RANDOM"
send "$id"
rc=$?
if [ $rc -ne 0 ]; then
	not_ok "$name" "swaks exit $rc" "$PK_DIR/last-client.out" "$PK_DIR/pf/postfix.log"
elif ! wait_until 15 delivered "$id"; then
	not_ok "$name" "not delivered" "$PK_DIR/pf/postfix.log" "$PK_DIR/gh.log"
elif ! wait_until 5 summary_logged "$id" "$PK_DIR/gh.log"; then
	not_ok "$name" "no summary line in gatehouse's log" "$PK_DIR/gh.log"
else
	ok "$name"
fi

name="reload: ExecReload's check runs as gatehouse and passes, HUP reloads"
ok_reload=1
while IFS= read -r line; do
	unit_run "$line" "$PK_GH_PID" >>"$PK_DIR/reload.out" 2>&1 || ok_reload=0
done < <(unit_lines ExecReload)
if [ $ok_reload = 0 ]; then
	not_ok "$name" "an ExecReload line failed" "$PK_DIR/reload.out"
elif ! wait_until 10 grep -q 'configuration reloaded' "$PK_DIR/gh.log"; then
	not_ok "$name" "no 'configuration reloaded' in the log" "$PK_DIR/gh.log"
elif [ "$(unit_lines Type)" = notify ] && ! wait_until 10 notify_at_least RELOADING=1 1; then
	not_ok "$name" "Type=notify, but no RELOADING=1 came" "$PK_DIR/notify.log"
else
	ok "$name"
fi

name="reload of a file gatehouse's user cannot read: ExecReload's check fails (root could read it), no HUP is sent"
chmod 0600 /etc/gatehouse/gatehouse.conf
: >"$PK_DIR/reload2.out"
first=$(unit_lines ExecReload | head -n 1)
if unit_run "$first" "$PK_GH_PID" >>"$PK_DIR/reload2.out" 2>&1; then
	not_ok "$name" "the check passed" "$PK_DIR/reload2.out"
elif ! pid_alive "$PK_GH_PID"; then
	not_ok "$name" "gatehouse is gone" "$PK_DIR/gh.log"
else
	ok "$name ($(head -c 120 "$PK_DIR/reload2.out" | tr '\n' ' '))"
fi
chmod 0644 /etc/gatehouse/gatehouse.conf

name="SIGTERM: exit 0"
if unit_stop; then
	ok "$name"
else
	not_ok "$name" "exit status $?" "$PK_DIR/gh.log"
fi

# ---------------------------------------------------------------- 7. README's socket

name="README's unix socket: the unit's first ExecStartPre makes $(dirname "$PK_SOCKET") gatehouse:postfix 2750, the socket is gatehouse:postfix 0660"
printf '\n# README: a unix socket inside Postfix'"'"'s chroot\nsocket = "unix:%s"\n' "$PK_SOCKET" \
	>>/etc/gatehouse/gatehouse.conf
if ! unit_start "$PK_DIR/gh-unix.log" >"$PK_DIR/start-unix.out"; then
	not_ok "$name" "$(cat "$PK_DIR/start-unix.out")" "$PK_DIR/gh-unix.log"
else
	st_dir=$(stat -c '%a %U %G' "$(dirname "$PK_SOCKET")" 2>&1)
	st_sock=$(stat -c '%a %U %G %F' "$PK_SOCKET" 2>&1)
	if [ "$st_dir" != "2750 gatehouse postfix" ]; then
		not_ok "$name" "directory: $st_dir"
	elif [ "$st_sock" != "660 gatehouse postfix socket" ]; then
		not_ok "$name" "socket: $st_sock"
	else
		ok "$name"
	fi
fi

name="a message through Postfix (smtpd as user postfix, unchrooted: the full path) and README's socket is checked and delivered"
postconf -c "$PK_DIR/pf/postfix" -e "smtpd_milters = unix:$PK_SOCKET"
script -qec "postfix -c '$PK_DIR/pf/postfix' reload" /dev/null >/dev/null 2>&1
sleep 1	# the master restarts its children at the next connection; let the old smtpd go
id="pkg-unix-$$-$RANDOM"
send "$id"
rc=$?
if [ $rc -ne 0 ]; then
	not_ok "$name" "swaks exit $rc" "$PK_DIR/last-client.out" "$PK_DIR/pf/postfix.log"
elif ! wait_until 15 delivered "$id"; then
	not_ok "$name" "not delivered" "$PK_DIR/pf/postfix.log" "$PK_DIR/gh-unix.log"
elif ! wait_until 5 summary_logged "$id" "$PK_DIR/gh-unix.log"; then
	not_ok "$name" "no summary line in gatehouse's log" "$PK_DIR/gh-unix.log"
else
	ok "$name"
fi

name="SIGTERM: exit 0, the socket removed"
if ! unit_stop; then
	not_ok "$name" "exit status $?" "$PK_DIR/gh-unix.log"
elif [ -e "$PK_SOCKET" ]; then
	not_ok "$name" "$PK_SOCKET is still there"
else
	ok "$name"
fi

echo "$PK_PASSED passed, $PK_FAILED failed"
[ "$PK_FAILED" -eq 0 ]
