# shellcheck shell=bash
# final.sh - checks over the whole run, after every group: no refused
# message was delivered late, no internal error in any gatehouse log.
# Sourced by run.sh.

# -- final checks over the whole run
test_never_delivered() {
	local name="refused messages never reached the sink (checked after every other delivery)"
	local id bad=""
	for id in "${IT_NEVER_IDS[@]}"; do
		sink_has "X-Test-Id: $id" && bad="$bad $id"
	done
	if [ -n "$bad" ]; then
		not_ok "$name" "delivered:$bad"
	else
		ok "$name"
	fi
}

test_no_internal_errors() {
	local name="no internal errors or crashes in gatehouse's logs"
	local hits
	hits=$(grep -hE 'internal error|out of memory|smfi_setreply failed|header edit on .* failed|stopped on its own|AddressSanitizer|runtime error' \
		"$IT_DIR"/gh-*.log 2>/dev/null | head -n 5)
	if [ -n "$hits" ]; then
		not_ok "$name" "$hits"
	else
		ok "$name"
	fi
}
