#!/bin/sh
# install-deps.sh - install what gatehouse needs to build, test and run, from
# Debian 12's packages, non-interactively. Postfix is preseeded to "No
# configuration": no system Postfix is set up or started; the test suite runs
# its own private instance. With --bench, also the peers `make bench`
# measures gatehouse against (OpenDKIM, OpenDMARC) and perf; `make test`
# does not need them.
set -eu

PACKAGES="build-essential pkg-config clang-format
libmilter-dev libconfuse-dev libjansson-dev check libsubunit-dev
libspf2-dev libopendkim-dev libpcre2-dev libunbound-dev libevent-dev libldns-dev libidn2-dev
libgmime-3.0-dev libhyperscan-dev
postfix swaks miltertest jq iproute2 util-linux procps
python3 python3-yaml python3-spf unbound openssl ldnsutils"
if [ "${1:-}" = "--bench" ]; then
	PACKAGES="$PACKAGES opendkim opendmarc dbconfig-no-thanks linux-perf"
fi

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
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
