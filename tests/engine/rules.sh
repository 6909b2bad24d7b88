# tests/engine/rules.sh - engine cases for the rule language and the shipped
# rule sets; sourced by run.sh, which provides t, u, gen, DATA and TMP.
#
# Each shipped rule has a message that must hit it and one that must not;
# the language cases show each phase deciding, each action, the variables
# in reply texts, and a pattern that hits the PCRE2 limit. Then what bounds
# rules (issue 16): a rule left without an answer by a limit, the time
# budget, the size budget; and recipient accept rules (issue 11), which
# exempt their recipient only, whatever the order.

RULES="$DATA/rules.conf"
LANG_CONF="$DATA/rules-lang.conf"
SHIPPED="$(cd "$DATA/../../rules" && pwd)"
# hit NAME ACTION: the report lists rule NAME with ACTION, from the shipped files
hit() { printf '([.rules[] | select(.name == "%s" and .action == "%s" and (.file | startswith("%s/")) and .line > 0)] | length == 1)' "$1" "$2" "$SHIPPED"; }
nohit() { printf '([.rules[] | select(.name == "%s")] | length == 0)' "$1"; }
WARN() { printf '([.headers_added[] | select(.name == "X-Gatehouse-Warning" and .value == "%s")] | length == 1)' "$1"; }

R=rules
#  name                                      exit action     code  ecode  phase  file                       args...
t "rules: executable attachment"             1 reject     550   5.7.1  eom    $R/exe-attachment.eml      -c "$RULES" -- "$(hit executable_attachment reject) and (.verdict.text | test(\"Executable\"))"
t "rules: executable name in RFC 2231"       1 reject     550   5.7.1  eom    $R/exe-rfc2231.eml         -c "$RULES" -- "$(hit executable_attachment reject)"
t "rules: executable name in RFC 2047"       1 reject     550   5.7.1  eom    $R/exe-rfc2047-name.eml    -c "$RULES" -- "$(hit executable_attachment reject)"
t "rules: pdf attachment passes"             0 accept     -     -      eom    $R/pdf-attachment.eml      -c "$RULES" -- "$(nohit executable_attachment) and .rules == []"
t "rules: executable from an outbound user"  0 accept     -     -      eom    $R/exe-attachment.eml      -c "$RULES" --auth alice -- "$(nohit executable_attachment)"
t "rules: macro office by name"              1 reject     550   5.7.1  eom    $R/macro-docm.eml          -c "$RULES" -- "$(hit macro_office_attachment reject)"
t "rules: macro office by type"              1 reject     550   5.7.1  eom    $R/macro-type-only.eml     -c "$RULES" -- "$(hit macro_office_attachment reject)"
t "rules: docx passes"                       0 accept     -     -      eom    $R/docx.eml                -c "$RULES" -- ".rules == []"
t "rules: display name spoof held"           4 quarantine -     -      eom    $R/display-spoof.eml       -c "$RULES" -- "$(hit display_name_spoof quarantine) and (.verdict.text | test(\"help@phish.example|sender@example.org\"))"
t "rules: display name from our domain"      0 accept     -     -      eom    $R/display-genuine.eml     -c "$RULES" -- "$(nohit display_name_spoof)"
t "rules: missing Date marked"               0 accept     -     -      eom    $R/no-date.eml             -c "$RULES" -- "$(hit missing_date add-header) and $(WARN 'no Date header')"
t "rules: missing Message-ID marked"         0 accept     -     -      eom    $R/no-message-id.eml       -c "$RULES" -- "$(hit missing_message_id add-header) and $(WARN 'no Message-ID header')"
t "rules: Date and Message-ID present"       0 accept     -     -      eom    plain.eml                  -c "$RULES" -- ".rules == [] and ([.headers_added[] | select(.name == \"X-Gatehouse-Warning\")] | length == 0)"
t "rules: card number out (base64)"          0 accept     -     -      eom    $R/card-number.eml         -c "$RULES" --auth alice -- "$(hit dlp_card_number monitor) and $(nohit dlp_iban)"
t "rules: card number in is not DLP"         0 accept     -     -      eom    $R/card-number.eml         -c "$RULES" -- "$(nohit dlp_card_number)"
t "rules: IBAN out (quoted-printable)"       0 accept     -     -      eom    $R/iban.eml                -c "$RULES" --auth alice -- "$(hit dlp_iban monitor)"
t "rules: SSN out (html)"                    0 accept     -     -      eom    $R/ssn.eml                 -c "$RULES" --auth alice -- "$(hit dlp_us_ssn monitor)"
t "rules: confidential label out"            0 accept     -     -      eom    $R/confidential.eml        -c "$RULES" --auth alice -- "$(hit dlp_confidential_label monitor)"
t "rules: clean outbound mail"               0 accept     -     -      eom    $R/outbound-clean.eml      -c "$RULES" --auth alice -- ".rules == []"

# The language: phases, actions, variables, limits.
big=$(gen big-padding.eml)
{ printf 'From: Sender <sender@example.org>\nSubject: big\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\n'; for i in $(seq 1 40); do echo "padding line $i ......................"; done; } >"$big"
small=$(gen small-padding.eml)
printf 'From: Sender <sender@example.org>\nSubject: small\n\npadding\n' >"$small"
bt=$(gen backtrack.eml)
# (\w+\s?)* can split a run of letters in 2^n ways before the ! fails it
{ printf 'From: Sender <sender@example.org>\nSubject: '; head -c 60 /dev/zero | tr '\0' a; printf '!\n\nbody\n'; } >"$bt"
hold=$(gen hold.eml)
printf 'From: Sender <sender@example.org>\nSubject: please HOLD me now\n\nbody\n' >"$hold"
blast=$(gen blast.eml)
printf 'From: Sender <sender@example.org>\nSubject: blast\n\nbody\n' >"$blast"
L="-c $LANG_CONF"
lhit() { printf '([.rules[] | select(.name == "%s" and .action == "%s")] | length == 1)' "$1" "$2"; }
# shellcheck disable=SC2086
{
t "rules: helo rule decides at helo"         1 reject     554   5.7.1  helo   plain.eml $L --helo bad.helo.example -- "$(lhit helo_block reject) and .verdict.text == \"go away bad.helo.example\""
t "rules: client.ip in IPv4 network"         1 reject     554   5.7.1  connect plain.eml $L --ip 198.51.100.7 -- "$(lhit ip_block reject) and .verdict.text == \"blocked 198.51.100.7\""
t "rules: client.ip in IPv6 network"         1 reject     554   5.7.1  connect plain.eml $L --ip 2001:db8:bad::25 -- "$(lhit ip_block reject)"
t "rules: client.ip outside the networks"    0 accept     -     -      eom    plain.eml $L --ip 198.51.101.7 -- "$(nohit ip_block)"
t "rules: rcpt rule refuses one recipient"   0 accept     -     -      eom    plain.eml $L --rcpt ok@example.net --rcpt blocked@example.net -- "$(lhit rcpt_block reject) and (.envelope.rcpts | map(select(.address == \"blocked@example.net\"))[0] | .action == \"reject\" and .smtp_code == \"550\" and .text == \"no mail for blocked@example.net\") and (.envelope.rcpts | map(select(.address == \"ok@example.net\"))[0].action == \"accept\")"
t "rules: rcpt tempfail for one domain"      0 accept     -     -      eom    plain.eml $L --rcpt ok@example.net --rcpt x@slow.example -- "(.envelope.rcpts | map(select(.address == \"x@slow.example\"))[0] | .action == \"tempfail\" and .smtp_code == \"450\" and .enhanced_code == \"4.2.1\")"
t "rules: every recipient refused"           1 reject     550   5.1.1  rcpt   plain.eml $L --rcpt blocked@example.net -- "$(lhit rcpt_block reject)"
t "rules: discard at mail"                   3 discard    -     -      mail   plain.eml $L --from x@discard.example -- "$(lhit from_discard discard)"
t "rules: quarantine decided at eoh"         4 quarantine -     -      eom    "$hold" $L -- "$(lhit subject_hold quarantine) and .verdict.text == \"held by subject_hold\""
t "rules: accept stops the rules"            0 accept     -     -      eom    "$hold" $L --from x@partner.example -- "$(lhit allow_partner accept) and $(nohit subject_hold)"
t "rules: macro and add-header"              0 accept     -     -      eom    plain.eml $L --macro daemon_name=submission -- "$(lhit via_submission add-header) and ([.headers_added[] | select(.name == \"X-Via\" and .value == \"submission from sender@example.org\")] | length == 1)"
t "rules: macro absent"                      0 accept     -     -      eom    plain.eml $L -- "$(nohit via_submission)"
t "rules: size and body together"            1 reject     552   5.3.4  eom    "$big" $L -- "$(lhit big_padding reject) and .verdict.text == \"too big for big_padding\""
t "rules: size below the limit"              0 accept     -     -      eom    "$small" $L -- "$(nohit big_padding)"
t "rules: rcpt.count at eoh"                 1 reject     550   5.7.1  eoh    "$blast" $L --rcpt a@example.net --rcpt b@example.net --rcpt c@example.net -- "$(lhit blast reject)"
t "rules: rcpt.count below"                  0 accept     -     -      eom    "$blast" $L --rcpt a@example.net --rcpt b@example.net -- "$(nohit blast)"
t "rules: reject rule at the PCRE2 limit"    2 tempfail   451   4.7.1  eoh    "$bt" $L -- "$(nohit backtrack) and .verdict.by == \"rules.limit\" and ([.checks[] | select(.name == \"rules.limit\" and (.detail | test(\"backtrack\")))] | length == 1)"
}
u "rules: broken rule file"                  78 --ip 192.0.2.1 --from sender@example.org --rcpt rcpt@example.net -c "$DATA/rules-bad.conf" "$DATA/plain.eml" -- "rules-lang/bad/broken.rules:3:30: bad regex"
u "rules: every rule error reported"         78 --ip 192.0.2.1 --from sender@example.org --rcpt rcpt@example.net -c "$DATA/rules-bad.conf" "$DATA/plain.eml" -- "rules-lang/bad/broken.rules:6:19: unknown target 'no.such'"

# A pattern at its PCRE2 limit has no answer (rules-limits/): a rule that
# refuses answers rules_fault_action, one that accepts, monitors or adds a
# header counts it as no match. The value: forty a, then "!ab", which does
# match /(a+)+b/ (PCRE2 gives up first).
EVIL="$(head -c 40 /dev/zero | tr '\0' a)!ab"
lim_msg() { # lim_msg NAME HEADER-LINE... - a message with these fields
	local f
	f=$(gen "$1")
	shift
	{ printf 'From: Sender <sender@example.org>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <lim@example.org>\n'; printf '%s\n' "$@"; printf '\nbody\n'; } >"$f"
	printf '%s' "$f"
}
LIMC="$DATA/rules-limits.conf"
LIMIT_OF() { printf 'any(.checks[]; .name == "rules.limit" and .result == "fail" and .detail == "rule %s: match limit")' "$1"; }
m_evil=$(lim_msg evil-subject.eml "Subject: $EVIL")
m_watch=$(lim_msg evil-watch.eml "Subject: watch" "X-Watch: $EVIL")
m_tag=$(lim_msg evil-tag.eml "Subject: tag" "X-Tag: $EVIL")
m_allow=$(lim_msg evil-allow.eml "Subject: $EVIL" "X-Allow: $EVIL")
m_decided=$(lim_msg evil-decided.eml "Subject: decided" "X-Decided: $EVIL")
m_notdec=$(lim_msg evil-not-decided.eml "Subject: not decided" "X-Not-Decided: $EVIL")
m_body=$(gen evil-body.eml)
{ printf 'From: Sender <sender@example.org>\nSubject: body\n\n%s\n' "$EVIL"; } >"$m_body"
EVIL_TEXT='.verdict.text == "Rule evil could not be decided (match limit); try again later"'
# shellcheck disable=SC2016
{
t "limits: reject rule at the limit tempfails"   2 tempfail   451   4.7.1  eoh    "$m_evil"    -c "$LIMC" -- "$EVIL_TEXT and .verdict.by == \"rules.limit\" and $(LIMIT_OF evil) and .rules == []"
t "limits: rules_fault_action = reject"          1 reject     550   5.7.1  eoh    "$m_evil"    -c "$DATA/rules-limits-reject.conf" -- ".verdict.text == \"Rule evil could not be decided (match limit)\" and $(LIMIT_OF evil)"
t "limits: rules_fault_action = quarantine"      4 quarantine -     -      eom    "$m_evil"    -c "$DATA/rules-limits-quarantine.conf" -- ".verdict.by == \"rules.limit\" and $(LIMIT_OF evil)"
t "limits: rules_fault_action = no-match"        0 accept     -     -      eom    "$m_evil"    -c "$DATA/rules-limits-no-match.conf" -- ".rules == [] and $(LIMIT_OF evil)"
t "limits: quarantine rule on the body"          2 tempfail   451   4.7.1  eom    "$m_body"    -c "$LIMC" -- ".verdict.text == \"Rule evil_body could not be decided (match limit); try again later\" and $(LIMIT_OF evil_body)"
t "limits: monitor rule counts it as no match"   0 accept     -     -      eom    "$m_watch"   -c "$LIMC" -- ".rules == [] and $(LIMIT_OF watch)"
t "limits: add-header rule counts no match"      0 accept     -     -      eom    "$m_tag"     -c "$LIMC" -- ".rules == [] and $(LIMIT_OF tag) and ([.headers_added[] | select(.name == \"X-Tagged\")] | length == 0)"
t "limits: accept rule does not accept"          2 tempfail   451   4.7.1  eoh    "$m_allow"   -c "$LIMC" -- "$EVIL_TEXT and $(LIMIT_OF allow) and $(LIMIT_OF evil)"
t "limits: the other side of or decides"         1 reject     550   5.7.1  eoh    "$m_decided" -c "$LIMC" -- ".verdict.text == \"decided anyway\" and $(lhit decided reject) and $(LIMIT_OF decided)"
t "limits: the other side of and decides"        0 accept     -     -      eom    "$m_notdec"  -c "$LIMC" -- ".rules == [] and $(LIMIT_OF not_decided)"
}
# ...and in the text report and the log, with the rule's name and place.
"$GH" test -c "$LIMC" --dns-fixture "$DATA/dns/empty.zone" --ip 192.0.2.1 --from sender@example.org \
	--rcpt rcpt@example.net "$m_evil" >"$TMP/out.txt" 2>"$TMP/err.txt"
if ! grep -qx 'verdict   tempfail 451 4.7.1 Rule evil could not be decided (match limit); try again later (phase eoh)' "$TMP/out.txt"; then
	fail "limits: text report" "$(grep '^verdict' "$TMP/out.txt")"
elif ! grep -q 'check     rules.limit            fail  rule evil: match limit' "$TMP/out.txt"; then
	fail "limits: text report" "no rules.limit check: $(grep '^check' "$TMP/out.txt")"
elif ! grep -q "warning: session=test.1 rule evil ($DATA/rules-limits/limits.rules:13) undecided at eoh (match limit): answered tempfail (rules_fault_action)" "$TMP/err.txt"; then
	fail "limits: text report" "log: $(cat "$TMP/err.txt")"
else
	pass "limits: text report and log name the rule"
fi

# The time budget (rules-budget/): past rules_budget_ms the message is
# tempfailed and the rule being evaluated is named. Timing is not asserted:
# the rules take tens of milliseconds against a budget of one.
m_slow=$(gen slow-body.eml)
{ printf 'From: Sender <sender@example.org>\nSubject: slow\n\n'; head -c 30000 /dev/zero | tr '\0' a; printf '!\n'; } >"$m_slow"
t "budget: rules over rules_budget_ms tempfail"  2 tempfail   451   4.7.1  eom    "$m_slow"    -c "$DATA/rules-budget.conf" -- ".verdict.by == \"rules.budget\" and .verdict.text == \"Rules took too long for this message; try again later\" and any(.checks[]; .name == \"rules.budget\" and .result == \"fail\" and (.detail | test(\"^rule heavy[1-3]: 1 ms used up$\")))"

# The size budget: 27 nested defines are refused at load, where they are.
if "$GH" -n -c "$DATA/rules-deep.conf" >"$TMP/out.txt" 2>&1; then
	fail "size: gatehouse -n refuses 27 nested defines" "exit 0: $(head -c 300 "$TMP/out.txt")"
elif ! grep -q "rules-deep/deep.rules:30:6: rule set too large after expanding definitions: rule 'deep' holds 268435455 conditions" "$TMP/out.txt"; then
	fail "size: gatehouse -n refuses 27 nested defines" "$(head -c 300 "$TMP/out.txt")"
else
	pass "size: gatehouse -n refuses 27 nested defines (FILE:LINE:COL)"
fi

# Recipient accept rules (rules-rcpt/, spf_reject_at = rcpt, DNS from
# rules-rcpt.zone): an accept for postmaster@ or abuse@ exempts that
# recipient only; the others get what they would get without it, in either
# order. A decision for the whole message (DMARC) counts the exemption only
# when every recipient left is exempt.
RC="-c $DATA/rules-rcpt.conf --dns-fixture $DATA/rules-rcpt.zone"
R() { printf '[.envelope.rcpts[] | [.address, .action, .smtp_code]] == %s' "$1"; }
BOB_SPF='["bob@example.net","reject","550"]'
PM='["postmaster@example.net","accept",null]'
BOB='["bob@example.net","accept",null]'
# shellcheck disable=SC2086
{
t "exempt: SPF fail, bob then postmaster"       0 accept     -     -      eom    rules/from-spf-fail.eml $RC --from x@spf-fail.example --rcpt bob@example.net --rcpt postmaster@example.net -- "$(R "[$BOB_SPF,$PM]") and .dmarc.result == \"fail\" and $(lhit exempt_role accept) and (.envelope.rcpts[0].enhanced_code == \"5.7.23\")"
t "exempt: SPF fail, postmaster then bob"       0 accept     -     -      eom    rules/from-spf-fail.eml $RC --from x@spf-fail.example --rcpt postmaster@example.net --rcpt bob@example.net -- "$(R "[$PM,$BOB_SPF]") and .dmarc.result == \"fail\" and (.envelope.rcpts[1].enhanced_code == \"5.7.23\")"
t "exempt: SPF fail, bob alone"                 1 reject     550   5.7.23 rcpt   rules/from-spf-fail.eml $RC --from x@spf-fail.example --rcpt bob@example.net -- "$(nohit exempt_role)"
t "exempt: DMARC fail, bob then postmaster"     1 reject     550   5.7.1  eom    rules/from-spf-pass.eml $RC --from x@relay.example --rcpt bob@example.net --rcpt postmaster@example.net -- ".verdict.by == \"dmarc\" and $(lhit exempt_role accept)"
t "exempt: DMARC fail, postmaster then bob"     1 reject     550   5.7.1  eom    rules/from-spf-pass.eml $RC --from x@relay.example --rcpt postmaster@example.net --rcpt bob@example.net -- ".verdict.by == \"dmarc\""
t "exempt: DMARC fail, postmaster alone"        0 accept     -     -      eom    rules/from-spf-pass.eml $RC --from x@relay.example --rcpt postmaster@example.net -- ".dmarc.result == \"fail\" and $(lhit exempt_role accept)"
t "exempt: DMARC fail, postmaster and abuse"    0 accept     -     -      eom    rules/from-spf-pass.eml $RC --from x@relay.example --rcpt postmaster@example.net --rcpt abuse@example.net -- ".dmarc.result == \"fail\""
t "exempt: the next recipient gets its rules"   0 accept     -     -      eom    rules/from-spf-pass.eml $RC --from x@relay.example --rcpt postmaster@example.net --rcpt blocked@example.net --rcpt abuse@example.net -- "$(R "[$PM,[\"blocked@example.net\",\"reject\",\"550\"],[\"abuse@example.net\",\"accept\",null]]") and $(lhit block reject)"
t "exempt: no exemption, both delivered"        0 accept     -     -      eom    rules/from-spf-pass.eml $RC --from x@spf-pass.example --rcpt bob@example.net --rcpt postmaster@example.net -- "$(R "[$BOB,$PM]") and .dmarc.result == \"pass\""
}
