# shellcheck shell=bash disable=SC2034
# outbound.sh - the signing benchmark (issue 12): gatehouse signing
# authenticated submissions next to OpenDKIM in signing mode, the login
# check's cost and RSS over 100,000 signed messages. Sourced by run.sh
# after lib.sh and measure.sh; uses their B_* variables, gh_start,
# loadgen_run, rss_kb and profile_gatehouse.
#
# The messages are the inbound corpus replayed as submissions
# (gen_outbound.py: MAIL FROM = header From, a login, the same RSA-2048
# key per domain for both milters). Every run must sign every message:
# loadgen counts the DKIM-Signature fields each milter added and a run
# with fewer is an error (the benchmark exits 1), never a number.
#
# Files in B_DIR: corpus/out/ (gen_outbound.py), gh-sign-ALG.conf,
# gh-signmem-ALG.conf, opendkim-sign-ALG.conf/.sock/.log.

# gatehouse's default dkim_sign_headers, given to OpenDKIM too
B_SIGN_HEADERS=From,Reply-To,Subject,Date,To,Cc,Resent-Date,Resent-From,Resent-To,Resent-Cc,In-Reply-To,References,List-Id,List-Help,List-Unsubscribe,List-Subscribe,List-Post,List-Owner,List-Archive,Message-ID,Sender,MIME-Version,Content-Type,Content-Transfer-Encoding,Content-ID,Content-Description

# sign_setup - gen_outbound.py's files, then OpenDKIM (RSA, Ed25519) and
# gatehouse (RSA, Ed25519) as signers
sign_setup() {
	python3 "$B_HERE/gen_outbound.py" "$B_DIR/corpus" >>"$B_LOG" 2>&1 ||
		{ echo "gen_outbound.py failed"; tail "$B_LOG"; return 1; }
	B_OUT=$B_DIR/corpus/out
	start_opendkim_signer rsa "$B_OUT/keytable-rsa" rsa-sha256 || return 1
	start_opendkim_signer ed "$B_OUT/keytable-ed-opendkim" ed25519-sha256 || return 1
	gh_write_sign_conf sign-rsa rsa && gh_start sign-rsa || return 1
	gh_write_sign_conf sign-ed ed && gh_start sign-ed || return 1
}

# sign_validate - before any timing: corpus entries 0 (plain text) and 5
# (multipart with a base64 attachment) through every signer in loadgen's
# dump mode; sign_check.py verifies what each added with python3-dkim.
# A signer whose signature does not verify stops the benchmark.
sign_validate() {
	local sock idx dump verdict fail=0
	for sock in opendkim-sign-rsa gh-sign-rsa opendkim-sign-ed gh-sign-ed; do
		for idx in 0 5; do
			dump=$B_DIR/sign-validate-$sock-$idx.dump
			"$B_BUILD/loadgen" -m "unix:$B_DIR/$sock.sock" -d "$idx" -i "$B_CLIENT_IP" -H "$B_HELO" \
				-j "$B_AUTHSERV" "$B_OUT/manifest-auth.tsv" >"$dump" 2>&1
			if verdict=$(/usr/bin/python3 "$B_HERE/sign_check.py" "$dump" \
				"$B_DIR/corpus/$(manifest_field "$idx" 1)" "$B_DIR/corpus/zone.txt" \
				"$B_OUT/zone-ed.txt" 2>&1); then
				verdict="ok: $verdict"
			else
				verdict="FAIL: $verdict"
				fail=1
			fi
			echo "  $sock, corpus entry $idx: $verdict"
			jq -nc --arg n "$sock" --argjson i "$idx" --arg v "$verdict" \
				'{kind: "sign-validate", config: $n, index: $i, verdict: $v}' >>"$B_JSON"
		done
	done
	[ "$fail" = 0 ] || { B_KEEP_FOR_ERROR=1; return 1; }
}

# start_opendkim_signer ALG KEYTABLE SIGNATURE_ALGORITHM - Debian's
# opendkim signing only (Mode s), keys by KeyTable and SigningTable. It
# signs for an authenticated client ({auth_type} at MAIL, which loadgen
# sends as Postfix does) and for InternalHosts, left at its default
# (127.0.0.1): loadgen's client 192.0.2.25 is not in it, so a signature
# means OpenDKIM took the login as gatehouse does. Header choices as
# gatehouse's defaults: relaxed/relaxed, the same header list (OpenDKIM's
# own default signs fewer fields), From/To/Cc/Subject/Reply-To oversigned.
start_opendkim_signer() {
	local alg=$1 conf=$B_DIR/opendkim-sign-$1.conf pid
	cat >"$conf" <<EOF
# OpenDKIM as a submission server's signer (minus syslog)
Mode			s
Socket			local:$B_DIR/opendkim-sign-$alg.sock
PidFile			$B_DIR/opendkim-sign-$alg.pid
UMask			000
Background		no
Syslog			no
KeyTable		file:$2
SigningTable		refile:$B_OUT/signingtable-$alg
SignatureAlgorithm	$3
Canonicalization	relaxed/relaxed
SignHeaders		$B_SIGN_HEADERS
OversignHeaders		From,To,Cc,Subject,Reply-To
SoftwareHeader		no
# the keys are 0600 but live below /tmp, which anyone may write: OpenDKIM's
# check of every directory above a key file would refuse them (tempfail)
RequireSafeKeys		no
EOF
	opendkim -f -x "$conf" >>"$B_DIR/opendkim-sign-$alg.log" 2>&1 &
	pid=$!
	printf -v "B_ODSIGN_PID_$alg" '%s' "$pid"
	B_SOCK_PID["unix:$B_DIR/opendkim-sign-$alg.sock"]=$pid
	B_PIDS+=("$pid")
	wait_until 10 test -S "$B_DIR/opendkim-sign-$alg.sock" || {
		echo "opendkim ($alg signer) did not start:"
		tail "$B_DIR/opendkim-sign-$alg.log"
		return 1
	}
}

# gh_write_sign_conf NAME ALG - gh-NAME.conf: gatehouse signing with the
# ALG keys (rsa, ed), the login map on. The client network is internal
# too, so that the same instance signs manifest-internal.tsv's mail (no
# login: no identity check) for the login check's baseline; an
# authenticated client's mail is checked against the map either way.
gh_write_sign_conf() {
	cat >"$B_DIR/gh-$1.conf" <<EOF
# gatehouse instance "$1" of the benchmark: an outbound signer
socket = "unix:$B_DIR/gh-$1.sock"
socket_group = ""
socket_mode = "0666"
authserv_id = "$B_AUTHSERV"
internal_networks = "192.0.2.0/24"
dns_forwarders = "127.0.0.1"
log_level = "notice"
drain_timeout_ms = 1000
sender_login_map = "$B_OUT/logins"
dkim_key_table = "$B_OUT/keytable-$2"
dkim_signing_table = "refile:$B_OUT/signingtable-$2"
EOF
}

# sign_run CONFIG KIND MSGS SOCKET [MANIFEST] - loadgen_run over the
# submissions (manifest-auth.tsv unless MANIFEST), then the check that
# every message was accepted and signed
sign_run() {
	local cfg=$1 kind=$2 msgs=$3 sock=$4 manifest=${5:-$B_OUT/manifest-auth.tsv} line out
	# loadgen_run's own line is printed below, with the signature count
	out=$(B_RUN_MANIFEST=$manifest loadgen_run "$cfg" "$kind" "$B_CONC" "$msgs" "$sock") ||
		{ echo "$out"; return 1; }
	line=$(tail -n 1 "$B_JSON")
	if [ "$(jq -r '.signed == .messages and .replies.error == 0' <<<"$line")" != true ]; then
		echo "  FAIL: $cfg ($kind) signed $(jq -r '"\(.signed) of \(.messages) messages (replies \(.replies | tostring))"' <<<"$line")"
		echo "  see $B_DIR/$(sign_log "$sock") and $B_LOG"
		B_KEEP_FOR_ERROR=1
		return 1
	fi
	[ "$kind" = sign-warmup ] || [ "$kind" = sign-mem ] || printf '  %-34s %s\n' "$cfg" \
		"$(jq -r '"\(.msgs_per_s) msg/s cpu \(.milter_cpu_ms_per_msg * 1000 | floor / 1000) ms/msg p50 \(.latency_ms.p50) p99 \(.latency_ms.p99) ms signed \(.signed)/\(.messages)"' <<<"$line")"
}

# sign_log SOCKET - the log file of the milter behind SOCKET
sign_log() {
	local f=${1#unix:"$B_DIR"/}
	echo "${f%.sock}.log"
}

loadavg_mark() {
	jq -nc --arg w "$1" --arg l "$(cut -d' ' -f1-3 /proc/loadavg)" \
		'{kind: "loadavg", when: $w, loadavg: $l}' >>"$B_JSON"
}

# sign_leg - the direct signing runs: each signer B_REPS times over
# B_MSGS submissions, alternating; the login check's baseline (gatehouse,
# no login) among them; a profile of gatehouse signing RSA
sign_leg() {
	local c
	declare -gA B_SIGN_CFG=(
		["opendkim sign rsa"]="unix:$B_DIR/opendkim-sign-rsa.sock"
		["gatehouse sign rsa"]="unix:$B_DIR/gh-sign-rsa.sock"
		["gatehouse sign rsa, no login"]="unix:$B_DIR/gh-sign-rsa.sock"
		["opendkim sign ed25519"]="unix:$B_DIR/opendkim-sign-ed.sock"
		["gatehouse sign ed25519"]="unix:$B_DIR/gh-sign-ed.sock"
	)
	local order=("opendkim sign rsa" "gatehouse sign rsa" "gatehouse sign rsa, no login"
		"opendkim sign ed25519" "gatehouse sign ed25519")
	loadavg_mark "signing runs start"
	say "signing: warm-up, every signer once over the corpus"
	for c in "${order[@]}"; do
		sign_run "$c" sign-warmup 100 "${B_SIGN_CFG[$c]}" "$(sign_manifest "$c")" || return 1
	done
	say "signing: ${#order[@]} configurations x $B_REPS, $B_MSGS submissions, $B_CONC connections"
	for _ in $(seq 1 "$B_REPS"); do
		for c in "${order[@]}"; do
			sign_run "$c" sign "$B_MSGS" "${B_SIGN_CFG[$c]}" "$(sign_manifest "$c")" || return 1
		done
	done
	loadavg_mark "signing runs end"
	say "profile of gatehouse signing (perf)"
	B_RUN_MANIFEST=$B_OUT/manifest-auth.tsv profile_gatehouse sign-rsa "gatehouse sign rsa"
}

# sign_manifest CONFIG - the submissions CONFIG is driven with
sign_manifest() {
	case $1 in
	*"no login"*) echo "$B_OUT/manifest-internal.tsv" ;;
	*) echo "$B_OUT/manifest-auth.tsv" ;;
	esac
}

# sign_memory_leg ALG - VmRSS of a fresh gatehouse signing with ALG keys
# after B_MEM_SMALL and after B_MEM_BIG submissions (the issue's leak
# criterion: the same RSS)
sign_memory_leg() {
	local alg=$1 name=signmem-$1 pid small big cfg
	cfg="gatehouse sign $([ "$1" = ed ] && echo ed25519 || echo rsa)"
	gh_write_sign_conf "$name" "$alg" && gh_start "$name" || return 1
	pid=$(gh_pid "$name")
	sign_run "$cfg" sign-mem "$B_MEM_SMALL" "unix:$B_DIR/gh-$name.sock" || return 1
	small=$(rss_kb "$pid" VmRSS)
	sign_run "$cfg" sign-mem $((B_MEM_BIG - B_MEM_SMALL)) "unix:$B_DIR/gh-$name.sock" || return 1
	big=$(rss_kb "$pid" VmRSS)
	jq -nc --arg c "$cfg" --argjson a "$B_MEM_SMALL" --argjson b "$B_MEM_BIG" --argjson sa "$small" \
		--argjson sb "$big" --arg l "$(cut -d' ' -f1-3 /proc/loadavg)" \
		'{kind: "sign-growth", config: $c, small_msgs: $a, big_msgs: $b, rss_small_kb: $sa,
		  rss_big_kb: $sb, loadavg: $l}' |
		tee -a "$B_JSON" | jq -r '"  \(.config): VmRSS after \(.small_msgs) signed messages \(.rss_small_kb) kB, after \(.big_msgs) \(.rss_big_kb) kB"'
	stop_pid "$pid" 8
}
