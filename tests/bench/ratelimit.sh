#!/bin/sh
# tests/bench/ratelimit.sh BENCH - run ratelimit_bench in process and against
# a private redis-server (unix socket, no persistence, stopped by its PID);
# `make bench-ratelimit` runs it. No root needed. Reports, never asserts.
set -eu
BENCH=${1:?usage: $0 path/to/ratelimit_bench}
T=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-rlbench.XXXXXX")
pid=
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
	rm -rf "$T"
}
trap cleanup EXIT
if command -v redis-server >/dev/null; then
	redis-server --port 0 --unixsocket "$T/redis.sock" --unixsocketperm 700 --save '' \
		--appendonly no --dir "$T" --daemonize no >"$T/redis.log" 2>&1 &
	pid=$!
	i=0
	while [ ! -S "$T/redis.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	"$BENCH" -r "unix:$T/redis.sock" "$T"
else
	echo "# redis-server is not installed: in-process numbers only"
	"$BENCH" "$T"
fi
