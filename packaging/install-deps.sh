#!/bin/sh
# install-deps.sh - install what gatehouse needs to build, test and run, from
# Debian 12's packages, non-interactively. Postfix is preseeded to "No
# configuration": no system Postfix is set up or started; the test suite runs
# its own private instance. With --bench, also the peers `make bench`
# measures gatehouse against (OpenDKIM, OpenDMARC) and perf; `make test`
# does not need them.
set -eu

PACKAGES="build-essential pkg-config clang-format
libconfuse-dev libjansson-dev libsystemd-dev libhiredis-dev libssl-dev check libsubunit-dev
libspf2-dev libopendkim-dev libpcre2-dev libunbound-dev libevent-dev libldns-dev libidn2-dev
libgmime-3.0-dev libhyperscan-dev libsqlite3-dev libxml2-dev zlib1g-dev libmicrohttpd-dev
postfix swaks miltertest jq iproute2 util-linux procps
python3 python3-yaml python3-spf python3-dkim python3-nacl sasl2-bin unbound openssl ldnsutils
libxml2-utils sqlite3"
# The metrics endpoint: libmicrohttpd serves it (in the list above, which
# debian/control must match); the tests scrape it with curl and read it with
# the Prometheus client's own parser.
PACKAGES="$PACKAGES curl python3-prometheus-client"
# Rate limits shared by a fleet: redis-server (the binary is in redis-tools)
# for the tests, which start a private instance of their own (hiredis, to
# build, is in the list above, which debian/control must match).
PACKAGES="$PACKAGES redis-server"
if [ "${1:-}" = "--bench" ]; then
	PACKAGES="$PACKAGES opendkim opendmarc dbconfig-no-thanks linux-perf libmilter-dev"
fi
# The Sendmail tests build sendmail.cf with m4 and run Debian's Sendmail,
# which needs libldap (Sendmail itself is downloaded, never installed: see
# sendmail_debs); the package tests build the .deb and run lintian on it.
PACKAGES="$PACKAGES m4 libldap-2.5-0 debhelper lintian"

# sendmail_debs - Debian's Sendmail packages for tests/lib/sendmail.sh,
# downloaded (not installed: the machine's MTA stays Postfix) into
# SENDMAIL_DEBS_DIR unless they are there already
SENDMAIL_DEBS_DIR=${SENDMAIL_DEBS_DIR:-/var/cache/gatehouse-tests/sendmail}
sendmail_debs() {
	set -- sendmail-bin sendmail-base sendmail-cf libwrap0
	for p in "$@"; do
		ls "$SENDMAIL_DEBS_DIR/${p}_"*.deb >/dev/null 2>&1 || break
		shift
	done
	[ $# -gt 0 ] || return 0
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: not downloading Sendmail for the tests (needs root)" >&2
		return 0
	fi
	mkdir -p "$SENDMAIL_DEBS_DIR"
	dl="apt-get download -q -o APT::Sandbox::User=root sendmail-bin sendmail-base sendmail-cf libwrap0"
	(cd "$SENDMAIL_DEBS_DIR" && { $dl >/dev/null || { apt-get update -qq && $dl >/dev/null; }; })
	echo "install-deps: downloaded Sendmail's packages into $SENDMAIL_DEBS_DIR"
}

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	sendmail_debs
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$missing; run as root (or: sudo $0)" >&2
	exit 1
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: installed$missing"
sendmail_debs
