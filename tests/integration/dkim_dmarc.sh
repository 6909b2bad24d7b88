# shellcheck shell=bash
# dkim_dmarc.sh - group k: DKIM, DMARC and Authentication-Results through
# Postfix, with a real DNS server. Sourced by run.sh; the helpers are in
# dkim_dmarc_lib.sh and lib.sh.

# -- k: DKIM, DMARC and Authentication-Results through Postfix. The "dkim"
# instance is a sibling of j's "spf" instance: the same DNS server (unbound
# on IT_DNS_PORT, here with a zone of its own), the same client address,
# dns_forwarders and internal_networks = "", but its own authserv-id
# (IT_AUTHSERV_DKIM) and its own smtpd (IT_SMTPD_DKIM_PORT). Messages are
# signed here (tests/tools/dkim_sign, built into IT_DIR/build) with a key
# made here, whose public half the zone publishes. MAIL FROM is
# <ID@nospf.example>, a name not in the zone: SPF none, so nothing is
# refused at RCPT, DMARC is decided at the end of DATA, and for
# signed.example (SPF -all) only DKIM can pass it.
test_dkim_dmarc() {
	local name id f rep ours line reply n sess mixed t_group d=$IT_DIR/dkim pub
	t_group=$(now_ms)
	mkdir -p "$d"
	name="k: signer built, key made, unbound serves signed.example's DKIM key and DMARC records; the dkim instance starts"
	if ! k_build_signer; then
		cp "$d/build.out" "$IT_DIR/last-client.out"
		not_ok "$name" "make could not build tests/tools/dkim_sign"
		return
	fi
	if ! timeout 60 openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$d/signed.pem" 2>"$d/openssl.out"; then
		cp "$d/openssl.out" "$IT_DIR/last-client.out"
		not_ok "$name" "openssl genpkey failed"
		return
	fi
	pub=$(openssl pkey -in "$d/signed.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
	if ! ip addr replace "$IT_SPF_CLIENT_IP/32" dev lo; then
		not_ok "$name" "cannot add $IT_SPF_CLIENT_IP to lo"
		return
	fi
	dns_stop	# group j's server, if it still runs: this zone replaces it
	if ! dns_setup <<EOF
mx.example. 300 IN A $IT_SPF_CLIENT_IP
mx.example. 300 IN TXT "v=spf1 a -all"
signed.example. 300 IN TXT "v=spf1 -all"
_dmarc.signed.example. 300 IN TXT "v=DMARC1; p=reject"
$(k_txt s1._domainkey.signed.example "v=DKIM1; k=rsa; p=$pub")
bank.example. 300 IN TXT "v=spf1 -all"
_dmarc.bank.example. 300 IN TXT "v=DMARC1; p=reject"
_dmarc.stray.example. 300 IN TXT "v=DMARC1; p=reject; fo:0"
_dmarc.xn--mnchen-3ya.example. 300 IN TXT "v=DMARC1; p=reject"
EOF
	then
		not_ok "$name" "bad unbound config"
		return
	fi
	if ! dns_start; then
		not_ok "$name" "unbound did not start"
		return
	fi
	reply=$(dns_answers s1._domainkey.signed.example TXT)
	if [ "$(grep '^TXT ' <<<"$reply" | tr -d '" ' | sed 's/^TXT//')" != "v=DKIM1;k=rsa;p=$pub" ]; then
		not_ok "$name" "the key record does not come back whole: $reply"
		return
	fi
	gh_dkim_conf
	if ! gh_start dkim; then
		not_ok "$name" "the dkim instance did not start"
		return
	fi
	ok "$name"

	# a: signed by signed.example -> delivered, AR of ours with dkim=pass and dmarc=pass
	name="k: signed by signed.example: delivered with one Authentication-Results of ours (dkim=pass header.d=signed.example, dmarc=pass header.from=signed.example), folded LF+TAB"
	id=$(k_new_id dkimpass)
	cat >"$d/signed.txt" <<EOF
From: Someone <someone@signed.example>
To: <rcpt@example.org>
Subject: signed by signed.example
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-ID: <$id@signed.example>
X-Test-Id: $id

Hello,
this message is signed by signed.example, and nobody changed it.
EOF
	k_sign "$d/signed.txt" "$d/pass.txt"
	send_k "$id" rcpt@example.org "$(k_msg pass)"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		rep=$(ar_report "$f")
		ours=$(ar_ours "$rep")
		n=$(grep -c . <<<"$ours")
		if [ "$n" -ne 1 ]; then
			not_ok "$name" "$n Authentication-Results of ours at the sink: $rep"
		elif ! grep -Eq '; dkim=pass header\.d=signed\.example header\.s=s1 header\.a=rsa-sha256 header\.b=[^ ;]{8}(;|$)' <<<"$ours"; then
			not_ok "$name" "no dkim=pass header.d=signed.example header.s=s1 header.a=rsa-sha256 header.b=...: $ours"
		elif ! grep -Eq '; dmarc=pass \(p=reject dis=none\) header\.from=signed\.example policy\.dmarc=reject(;|$)' <<<"$ours"; then
			not_ok "$name" "no dmarc=pass (p=reject dis=none) header.from=signed.example policy.dmarc=reject: $ours"
		elif ! grep -Eq "; spf=none (\\([^)]*\\) )?smtp\\.mailfrom=$id@${IT_K_SENDER_DOMAIN//./\\.}(;|\$)" <<<"$ours"; then
			not_ok "$name" "no spf=none smtp.mailfrom=$id@$IT_K_SENDER_DOMAIN: $ours"
		elif [ "$(cut -d ' ' -f 1 <<<"$ours")" -lt 2 ] || [ "$(cut -f 1 <<<"$ours" | cut -d ' ' -f 4)" != tab ]; then
			not_ok "$name" "not folded, or a continuation line does not start with a TAB: $(sink_header_block "$f" | grep -A6 -i '^authentication-results:' | cat -A | head -n 8)"
		elif ! grep -q ' dkim=signed\.example:pass dmarc=pass ' <<<"$(k_summary "$id")"; then
			not_ok "$name" "summary line lacks dkim=signed.example:pass dmarc=pass: $(k_summary "$id")"
		else
			ok "$name"
		fi
	fi

	# a2: "simple" signs each field's exact bytes: a field with no space
	# after its colon, or a tab, verifies only if the MTA tells us
	# (SMFIP_HDR_LEADSPC); our own fields still read "Name: value"
	name="k: signed simple/simple over \"Subject:x\" and \"To:<tab>x\": delivered with dkim=pass and dmarc=pass, those fields unchanged, ours with one space after the colon"
	id=$(k_new_id dkimsimple)
	printf 'From: Someone <someone@signed.example>\nTo:\t<rcpt@example.org>\nSubject:signed simple, no space\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@signed.example>\nX-Test-Id: %s\n\nHello,\nthe header of this message is signed as it is.\n' \
		"$id" "$id" >"$d/simple.txt"
	k_sign "$d/simple.txt" "$d/simple-signed.txt" -c simple
	send_k "$id" rcpt@example.org "$(k_msg simple-signed)"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		ours=$(ar_ours "$(ar_report "$f")")
		hdrs=$(sink_header_block "$f")
		if ! grep -Eq '; dkim=pass header\.d=signed\.example ' <<<"$ours"; then
			not_ok "$name" "no dkim=pass header.d=signed.example: $ours"
		elif ! grep -Eq '; dmarc=pass ' <<<"$ours"; then
			not_ok "$name" "no dmarc=pass: $ours"
		elif ! grep -q '^Subject:signed simple, no space' <<<"$hdrs" || ! grep -qP '^To:\t<rcpt@example.org>' <<<"$hdrs"; then
			not_ok "$name" "Subject or To changed in transit: $(grep -E '^(Subject|To):' <<<"$hdrs" | cat -A)"
		elif [ "$(grep -Ec '^(Authentication-Results|X-Gatehouse|Received-SPF): [^ \t]' <<<"$hdrs")" -ne 3 ]; then
			not_ok "$name" "our fields are not \"Name: value\": $(grep -E '^(Authentication-Results|X-Gatehouse|Received-SPF):' <<<"$hdrs" | cat -A | head -c 300)"
		else
			ok "$name"
		fi
	fi

	# b: body changed after signing -> dkim fail, dmarc fail, p=reject
	name="k: body changed after signing: 550 5.7.1 at end of DATA naming signed.example (swaks exit 26), summary dmarc=fail, not delivered"
	id=$(k_new_id dkimbody)
	IT_NEVER_IDS+=("$id")
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/signed.txt" >"$d/body.in"
	k_sign "$d/body.in" "$d/body.signed"
	sed 's/nobody changed it/somebody changed it/' "$d/body.signed" >"$d/bodychanged.txt"
	send_k "$id" rcpt@example.org "$(k_msg bodychanged)"
	if k_refused "$name" "$id" '.*signed\.example'; then
		if ! grep -q ' dkim=signed\.example:fail dmarc=fail ' <<<"$K_LINE"; then
			not_ok "$name" "summary line lacks dkim=signed.example:fail dmarc=fail: $K_LINE"
		else
			ok "$name"
		fi
	fi

	# c: unsigned mail claiming bank.example (p=reject) -> refused; to postmaster@ delivered
	name="k: unsigned From: ceo@bank.example (p=reject, SPF none): 550 5.7.1 at end of DATA naming bank.example"
	id=$(k_new_id bank)
	IT_NEVER_IDS+=("$id")
	cat >"$d/bank.txt" <<EOF
From: CEO <ceo@bank.example>
To: <rcpt@example.org>
Subject: urgent wire transfer
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-ID: <$id@bank.example>
X-Test-Id: $id

Please wire the money today.
EOF
	send_k "$id" rcpt@example.org "$(k_msg bank)"
	if k_refused "$name" "$id" '.*bank\.example'; then
		if ! grep -q ' dmarc=fail ' <<<"$K_LINE"; then
			not_ok "$name" "summary line lacks dmarc=fail: $K_LINE"
		else
			ok "$name"
		fi
	fi

	name="k: the same message to postmaster@$IT_DOMAIN is delivered (dmarc_exempt_recipients), the override logged, dmarc=fail in Authentication-Results"
	id=$(k_new_id bankpm)
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/bank.txt" >"$d/bankpm.txt"
	send_k "$id" "postmaster@$IT_DOMAIN" "$(k_msg bankpm)"
	if [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		sess=$(session_of "$f")
		ours=$(ar_ours "$(ar_report "$f")")
		line=$(k_summary "$id")
		if [ -z "$sess" ] ||
		   ! log_has "$IT_DIR/gh-dkim.log" "session=${sess//./\\.} .*dmarc bank\\.example: reject not enforced: .*postmaster@"; then
			not_ok "$name" "no 'dmarc bank.example: reject not enforced: ...postmaster@...' for session ${sess:-?} in gh-dkim.log"
		elif ! grep -q ' dmarc=fail .* action=accept' <<<"$line"; then
			not_ok "$name" "summary line lacks dmarc=fail ... action=accept: ${line:-none}"
		elif ! grep -Eq '; dmarc=fail \(p=reject dis=none[^)]*\) header\.from=bank\.example policy\.dmarc=reject(;|$)' <<<"$ours"; then
			not_ok "$name" "no dmarc=fail (p=reject dis=none) header.from=bank.example policy.dmarc=reject in ours: ${ours:-none}"
		else
			ok "$name"
		fi
	fi

	# d: no single author: two From fields, or one From with two addresses.
	# Postfix passes both to the milter as they are (no header rewriting
	# for remote clients): the reply text is gatehouse's own account of
	# what it saw.
	name="k: two From fields (a signed.example message with From: ceo@bank.example added on top): 550 5.7.1, gatehouse saw both"
	id=$(k_new_id twofrom)
	IT_NEVER_IDS+=("$id")
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/signed.txt" >"$d/twofrom.in"
	k_sign "$d/twofrom.in" "$d/twofrom.signed"
	{ echo 'From: CEO <ceo@bank.example>'; cat "$d/twofrom.signed"; } >"$d/twofrom.txt"
	send_k "$id" rcpt@example.org "$(k_msg twofrom)"
	if k_refused "$name" "$id" '.*more than one From'; then
		if ! grep -q ' dkim=signed\.example:pass ' <<<"$K_LINE"; then
			not_ok "$name" "summary line lacks dkim=signed.example:pass (was the message signed?): $K_LINE"
		else
			ok "$name"
		fi
	fi

	name="k: one From with two addresses (someone@signed.example, ceo@bank.example): 550 5.7.1, gatehouse saw both"
	id=$(k_new_id twoaddr)
	IT_NEVER_IDS+=("$id")
	sed -e "s/^X-Test-Id: .*/X-Test-Id: $id/" \
		-e 's/^From: .*/From: someone@signed.example, CEO <ceo@bank.example>/' "$d/signed.txt" >"$d/twoaddr.txt"
	send_k "$id" rcpt@example.org "$(k_msg twoaddr)"
	k_refused "$name" "$id" '.*more than one address' && ok "$name"

	# e: incoming Authentication-Results: those claiming our authserv-id go,
	# every other stays, ours comes once. From plain.example (not in the
	# zone: DMARC none), so nothing but the headers decides.
	mixed=$(k_mixed_case "$IT_AUTHSERV_DKIM")
	k_ar_case "k: incoming AR of ours in mixed case ($mixed) above a foreign one: ours removed, the foreign kept, ours added once" \
		ar-mixed 1 \
		"Authentication-Results: $mixed; dkim=pass header.d=forged.example" \
		"Authentication-Results: mx.kept.example; spf=pass smtp.mailfrom=kept.example"
	k_ar_case "k: incoming AR of ours as \"(comment) id 1;\" below a foreign one whose id only starts with ours: ours removed, the foreign kept, ours added once" \
		ar-comment 1 \
		"Authentication-Results: $IT_AUTHSERV_DKIM.kept.example; dkim=pass header.d=kept.example" \
		"Authentication-Results: (from the forger) $IT_AUTHSERV_DKIM 1; dmarc=pass header.from=forged.example"
	k_ar_case "k: two incoming ARs of ours (lower-case field name; quoted-string id) around a foreign one: both removed, the foreign kept, ours added once" \
		ar-two 2 \
		"authentication-results: $IT_AUTHSERV_DKIM; spf=pass smtp.mailfrom=forged.example" \
		"Authentication-Results: mx.kept.example; dkim=fail header.d=kept.example" \
		"Authentication-Results: \"$IT_AUTHSERV_DKIM\"; dmarc=pass header.from=forged.example"

	k_ar_case "k: incoming ARs of ours in obsolete or bare forms (space before the colon; the id on a continuation line; \"id(comment);\" without spaces) between foreign ones: all three removed, the foreign kept, ours added once" \
		ar-obs 3 \
		"Authentication-Results : $IT_AUTHSERV_DKIM; dkim=pass header.d=forged1.example" \
		"Authentication-Results: mx.kept.example; spf=pass smtp.mailfrom=kept1.example" \
		"Authentication-Results:
	$IT_AUTHSERV_DKIM; dkim=pass header.d=forged2.example" \
		"Authentication-Results:$IT_AUTHSERV_DKIM(forged3);dmarc=pass header.from=bank.example" \
		"Authentication-Results: mx.kept.example; spf=pass smtp.mailfrom=kept2.example"

	# f: 40 signatures: our results do not fit one header
	name="k: 40 DKIM signatures: delivered; several Authentication-Results of ours, no line over 998 octets, no field over 1000 characters, 40 dkim results"
	id=$(k_new_id forty)
	sed "s/^X-Test-Id: .*/X-Test-Id: $id/" "$d/signed.txt" >"$d/forty.txt"
	for _ in $(seq 1 40); do
		k_sign "$d/forty.txt" "$d/forty.txt" || break
	done
	n=$(grep -c '^DKIM-Signature:' "$d/forty.txt")
	send_k "$id" rcpt@example.org "$(k_msg forty)"
	if [ "$n" -ne 40 ]; then
		not_ok "$name" "the message has $n DKIM-Signature fields, expected 40"
	elif [ "$SWAKS_RC" -ne 0 ]; then
		not_ok "$name" "swaks exit $SWAKS_RC; reply to the dot: $(swaks_reply_to '^ -> \.$')"
	elif ! wait_delivered "$id"; then
		not_ok "$name" "message $id did not reach the sink"
	else
		f=$(delivered_file "$id")
		rep=$(ar_report "$f")
		ours=$(ar_ours "$rep")
		echo "# k: 40 signatures: $(grep -c . <<<"$ours") Authentication-Results of ours; LINES MAXLINE LENGTH of each: $(cut -f 1 <<<"$ours" | cut -d ' ' -f 1-3 | paste -sd ',')"
		if [ "$(grep -c . <<<"$ours")" -lt 2 ]; then
			not_ok "$name" "$(grep -c . <<<"$ours") Authentication-Results of ours, expected several: $rep"
		elif [ "$(grep -c . <<<"$rep")" -ne "$(grep -c . <<<"$ours")" ]; then
			not_ok "$name" "Authentication-Results that are not ours at the sink: $rep"
		elif awk '$2 > 998 { bad = 1 } END { exit !bad }' <<<"$rep"; then
			not_ok "$name" "a line over 998 octets (LINES MAXLINE LENGTH): $(cut -f 1 <<<"$rep" | paste -sd ',')"
		elif awk '$3 > 1000 { bad = 1 } END { exit !bad }' <<<"$rep"; then
			not_ok "$name" "a field over 1000 characters (LINES MAXLINE LENGTH): $(cut -f 1 <<<"$rep" | paste -sd ',')"
		elif grep -q -v '^[0-9]* [0-9]* [0-9]* tab	' <<<"$rep"; then
			not_ok "$name" "a continuation line does not start with a TAB: $(cut -f 1 <<<"$rep" | paste -sd ',')"
		elif [ "$(grep -o '; dkim=[a-z]* ' <<<"$ours" | wc -l)" -ne 40 ] ||
		     [ "$(grep -o '; dkim=pass header\.d=signed\.example ' <<<"$ours" | wc -l)" -ne 8 ] ||
		     [ "$(grep -o '; dkim=neutral (not checked[^)]*) header\.d=signed\.example ' <<<"$ours" | wc -l)" -ne 32 ]; then
			not_ok "$name" "expected 40 dkim results, 8 pass and 32 neutral (not checked): $(grep -o '; dkim=[a-z]*[^;]*' <<<"$ours" | cut -c 1-60 | sort | uniq -c | head -n 5)"
		elif [ "$(grep -o '; dmarc=pass [^;]*header\.from=signed\.example' <<<"$ours" | wc -l)" -ne 1 ]; then
			not_ok "$name" "not exactly one dmarc=pass header.from=signed.example: $ours"
		else
			ok "$name"
		fi
	fi

	k_issue11 "$d"

	name="k: the dkim instance exits 0 on SIGTERM"
	if gh_stop dkim; then
		ok "$name"
	else
		not_ok "$name" "exit status $?"
	fi
	dns_stop
	echo "# k: DKIM, DMARC and Authentication-Results through Postfix took $(( $(now_ms) - t_group )) ms"
}
