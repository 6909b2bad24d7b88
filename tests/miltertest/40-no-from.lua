-- 40-no-from.lua - a message without From is refused; decided at the end
-- of the header, answered at end of message (end of header has no reply of
-- its own: SMFIP_NR_EOH), which is when the MTA answers the client anyway.
dofile(MT_LIB .. "/_common.lua")

case("no From header: headers and eoh CONTINUE, eom answers REPLYCODE", function()
	local conn = connect()
	envelope(conn, "<sender@example.net>", "<rcpt@example.org>")
	headers(conn, { { "To", "rcpt@example.org" }, { "Subject", "no from" },
			{ "Reply-To", "sender@example.net" } })
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), SMFIR_REPLYCODE)
	mt.disconnect(conn)
end)

case("From header named in lower case ('from') counts as a From", function()
	local conn = connect()
	envelope(conn, "<sender@example.net>", "<rcpt@example.org>")
	headers(conn, { { "from", "sender@example.net" } })
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), SMFIR_ACCEPT)
	mt.disconnect(conn)
end)

finish()
