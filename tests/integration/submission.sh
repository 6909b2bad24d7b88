# shellcheck shell=bash
# submission.sh - group p: a submission service with real SMTP AUTH.
#
# A Postfix instance of its own ("sub", in $IT_DIR/sub) whose smtpd offers
# AUTH PLAIN through Cyrus SASL (Debian's libsasl2 with the sasldb auxprop
# plugin, users made here with saslpasswd2: the library Postfix links, no
# mock), so gatehouse gets {auth_authen} from Postfix itself. The "sub"
# gatehouse reads a Postfix-format sender_login_map, an OpenDKIM KeyTable
# and SigningTable (one RSA and one Ed25519 key: dual signing) and
# internal_allowed_from for unauthenticated loopback mail. Mail is relayed
# to the suite's smtp-sink.
#
#   p1. alice sends as herself: 250, delivered with two DKIM-Signature
#       fields (rsa-sha256, ed25519-sha256), both verified on the delivered
#       bytes by python3-dkim against the keys made here.
#   p2. alice as bob in MAIL FROM: 550 5.7.1 at MAIL FROM, not delivered.
#   p3. alice as bob in From: 550 5.7.1 at end of data, not delivered.
#   p4. alice with Sender: bob: refused, not delivered.
#   p5. alice with a null MAIL FROM: refused, not delivered.
#   p6. alice as sales@ (an alias the map gives her): signed, delivered.
#   p7, p8. no login, from internal_networks: From app@
#       (internal_allowed_from) signed and delivered; alice@ refused.
#   p9, p10. SIGHUP reads the map again; a broken map fails the reload
#       with FILE:LINE and the running map stays.
# Sourced by run.sh; the helpers are lib.sh's.

IT_SUB_SMTPD=10060	# smtpd of Postfix instance "sub", AUTH offered
IT_SUB_MILTER=8900	# gatehouse "sub"
IT_SUB_DIR=		# $IT_DIR/sub

# p_setup - keys, maps, SASL users, the "sub" gatehouse and Postfix instance
p_setup() {
	IT_SUB_DIR=$IT_DIR/sub
	# Debian's Postfix reads smtpd.conf from $config_directory/sasl
	mkdir -p "$IT_SUB_DIR/postfix/sasl" "$IT_SUB_DIR/keys"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$IT_SUB_DIR/keys/rsa.pem" 2>/dev/null &&
		openssl genpkey -algorithm ed25519 -out "$IT_SUB_DIR/keys/ed.pem" 2>/dev/null || return 1
	chmod 600 "$IT_SUB_DIR"/keys/*.pem
	printf 'rsa  example.com:s1:%s\ned   example.com:ed:%s:ed25519-sha256\n' \
		"$IT_SUB_DIR/keys/rsa.pem" "$IT_SUB_DIR/keys/ed.pem" >"$IT_SUB_DIR/KeyTable"
	echo '*@example.com  rsa, ed' >"$IT_SUB_DIR/SigningTable"
	# Postfix hands gatehouse the SASL login with its realm
	# (smtpd_sasl_local_domain), as smtpd_sender_login_maps sees it too
	L=@sub.gatehouse.test
	printf 'alice@example.com   alice%s\nsales@example.com   alice%s, bob%s\nbob@example.com     bob%s\n' \
		"$L" "$L" "$L" "$L" >"$IT_SUB_DIR/sender_login_maps"
	# Cyrus SASL for smtpd: the sasldb auxprop plugin, users in a private db
	printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: %s\n' \
		"$IT_SUB_DIR/postfix/sasl/sasldb2" >"$IT_SUB_DIR/postfix/sasl/smtpd.conf"
	for u in alice bob; do
		echo "secret-$u" | saslpasswd2 -p -c -f "$IT_SUB_DIR/postfix/sasl/sasldb2" -u sub.gatehouse.test "$u" ||
			return 1
	done
	chown postfix "$IT_SUB_DIR/postfix/sasl/sasldb2"
	printf '%s\n' "# gatehouse of the submission tests (group p)" \
		"socket = \"inet:$IT_SUB_MILTER@127.0.0.1\"" \
		'log_level = "info"' \
		"sender_login_map = \"$IT_SUB_DIR/sender_login_maps\"" \
		"dkim_key_table = \"$IT_SUB_DIR/KeyTable\"" \
		"dkim_signing_table = \"refile:$IT_SUB_DIR/SigningTable\"" \
		'internal_allowed_from = "app@example.com"' | gh_conf sub
	gh_start sub || return 1
	printf '%s\n' "myhostname = sub.gatehouse.test" "mydomain = gatehouse.test" \
		"inet_interfaces = loopback-only" "smtpd_milters = inet:127.0.0.1:$IT_SUB_MILTER" \
		"smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = cyrus" "smtpd_sasl_path = smtpd" \
		"cyrus_sasl_config_path = $IT_SUB_DIR/postfix/sasl" \
		"smtpd_sasl_local_domain = sub.gatehouse.test" \
		"smtpd_sasl_security_options = noanonymous" |
		postfix_instance_setup "$IT_SUB_DIR" "$IT_DOMAIN" "$IT_SINK_PORT"
	echo "127.0.0.1:$IT_SUB_SMTPD inet n - n - - smtpd" >>"$IT_SUB_DIR/postfix/master.cf"
	postfix_instance_start "$IT_SUB_DIR" "$IT_SUB_SMTPD"
}

# p_verify FILE - python3-dkim verifies every DKIM-Signature of the
# delivered FILE against the keys made here; prints the algorithms
p_verify() {
	/usr/bin/python3 "$IT_HERE/submission_verify.py" "$1" "$IT_SUB_DIR/keys"
}

# p_send NAME USER [swaks args] - one message; AUTH as USER unless USER is -
p_send() {
	local name=$1 user=$2
	shift 2
	P_ID=$(new_id "p-$name")
	if [ "$user" = - ]; then
		send_swaks "$IT_SUB_SMTPD" -t rcpt@example.org --add-header "X-Test-Id: $P_ID" "$@"
	else
		send_swaks "$IT_SUB_SMTPD" -t rcpt@example.org --add-header "X-Test-Id: $P_ID" \
			--auth PLAIN --auth-user "$user" --auth-password "secret-$user" "$@"
	fi
}

# p_refused NAME CMD_REGEX - the reply to CMD was 550 5.7.1; the message
# never arrives (final.sh checks that after every other delivery)
p_refused() {
	local reply
	reply=$(swaks_reply_to "$2")
	IT_NEVER_IDS+=("$P_ID")
	case $reply in
	"550 5.7.1 "*) ok "$1 ($reply)" ;;
	*) not_ok "$1" "reply to $2: '$reply' (swaks exit $SWAKS_RC)" ;;
	esac
}

# p_signed NAME WANT_ALGS - delivered, and the signatures verify
p_signed() {
	local f algs
	if ! wait_delivered "X-Test-Id: $P_ID" 20; then
		not_ok "$1" "not delivered (swaks exit $SWAKS_RC: $(tail -n 3 "$IT_DIR/last-client.out" | tr '\n' ' '))"
		return
	fi
	f=$(delivered_file "$P_ID")
	if algs=$(p_verify "$f" 2>&1) && [ "$algs" = "$2" ]; then
		ok "$1 (python3-dkim: $algs)"
	else
		not_ok "$1" "signatures: '$algs', want '$2'"
	fi
}

test_submission() {
	if ! command -v saslpasswd2 >/dev/null; then
		not_ok "group p: submission with SMTP AUTH" "saslpasswd2 (sasl2-bin) is not installed"
		return
	fi
	if ! p_setup; then
		not_ok "group p: submission set-up" "see the logs"
		return
	fi
	p_send own alice -f alice@example.com --header "From: Alice <alice@example.com>"
	p_signed "p1. an authenticated login sends as its own address: delivered, dual-signed" \
		"ed25519-sha256,rsa-sha256"
	p_send mailfrom alice -f bob@example.com --header "From: Bob <bob@example.com>"
	p_refused "p2. alice as bob in MAIL FROM: refused at MAIL" '^ -> MAIL FROM:<bob@example\.com>'
	p_send from alice -f alice@example.com --header "From: Bob <bob@example.com>"
	p_refused "p3. alice as bob in From: refused at end of data" '^ -> \.$'
	p_send sender alice -f alice@example.com --header "From: Alice <alice@example.com>" \
		--add-header "Sender: bob@example.com"
	p_refused "p4. alice with Sender: bob: refused" '^ -> \.$'
	p_send null alice -f '<>' --header "From: Alice <alice@example.com>"
	p_refused "p5. a null sender from an authenticated client: refused" '^ -> MAIL FROM:<>'
	p_send alias alice -f sales@example.com --header "From: Sales <sales@example.com>"
	p_signed "p6. an alias the map gives the login: delivered, signed" "ed25519-sha256,rsa-sha256"
	p_send internal - -f app@example.com --header "From: App <app@example.com>"
	p_signed "p7. no login, internal network, From in internal_allowed_from: signed" \
		"ed25519-sha256,rsa-sha256"
	p_send internal-bad - -f alice@example.com --header "From: Alice <alice@example.com>"
	p_refused "p8. no login, internal network, a From not in internal_allowed_from: refused" \
		'^ -> MAIL FROM:<alice@example\.com>'
	p_reload
	postfix_instance_stop "$IT_SUB_DIR"
	gh_stop sub >/dev/null
}

# p_reload - the login map lives in the configuration snapshot: SIGHUP
# reads it again; a broken map fails the reload with FILE:LINE and the
# running snapshot (and map) stays
p_reload() {
	local map=$IT_SUB_DIR/sender_login_maps
	cp "$map" "$map.orig"
	echo "carol@example.com   alice@sub.gatehouse.test" >>"$map"
	if gh_hup sub 'configuration reloaded from'; then
		p_send reload alice -f carol@example.com --header "From: Carol <carol@example.com>"
		p_signed "p9. SIGHUP reloads the login map: a line added is used at once" \
			"ed25519-sha256,rsa-sha256"
	else
		not_ok "p9. SIGHUP reloads the login map" "no reload logged"
	fi
	echo "broken-line-without-a-login" >>"$map"
	if gh_hup sub 'reload failed: keeping the running configuration' &&
		log_has "$IT_DIR/gh-sub.log" "sender_login_maps:5: .*no value"; then
		p_send reload-kept alice -f carol@example.com --header "From: Carol <carol@example.com>"
		p_signed "p10. a broken map fails the reload (FILE:LINE) and the running map stays" \
			"ed25519-sha256,rsa-sha256"
	else
		not_ok "p10. a broken map fails the reload with FILE:LINE" "$(grep -i reload "$IT_DIR/gh-sub.log" | tail -n 3)"
	fi
	cp "$map.orig" "$map"
}
