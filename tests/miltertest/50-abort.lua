-- 50-abort.lua - several messages on one connection: an abort in the
-- middle of a body, a refusal, and a clean message after them; nothing of
-- one message may leak into the next.
dofile(MT_LIB .. "/_common.lua")

case("abort mid-body, then a message without From is still refused, then a clean one passes", function()
	local conn = connect()
	expect(conn, "helo", mt.helo(conn, "client.example"), SMFIR_CONTINUE)

	-- 1: From and a forged status header, aborted in the middle of the body
	envelope(conn, "<one@example.net>", "<rcpt@example.org>")
	headers(conn, { { "From", "one@example.net" }, { "X-Gatehouse", "forged" } })
	expect(conn, "eoh 1", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "body 1", mt.bodystring(conn, "first half of the body\r\n"), SMFIR_CONTINUE)
	check(mt.abort(conn) == nil, "mt.abort failed")

	-- 2: no From; the From of message 1 must not count
	envelope(conn, "<two@example.net>", "<rcpt@example.org>")
	headers(conn, { { "Subject", "second" } })
	expect(conn, "eoh 2", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "eom 2", mt.eom(conn), SMFIR_REPLYCODE)

	-- 3: clean; the forged header of message 1 must not be "removed" here
	envelope(conn, "<three@example.net>", "<rcpt@example.org>")
	headers(conn, { { "From", "three@example.net" } })
	expect(conn, "eoh 3", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "body 3", mt.bodystring(conn, "whole body\r\n"), SMFIR_CONTINUE)
	expect(conn, "eom 3", mt.eom(conn), SMFIR_ACCEPT)
	local v = mt.getheader(conn, "X-Gatehouse", 0)
	check(status_value_ok(v, 3), "message 3 X-Gatehouse value: " .. tostring(v))
	check(mt.eom_check(conn, MT_HDRINSERT, "X-Gatehouse", v, 0), "message 3: no insert")
	check(not mt.eom_check(conn, MT_HDRDELETE),
	      "message 3: a header was deleted (state of message 1 leaked)")
	mt.disconnect(conn)
end)

case("two clean messages on one connection both pass, numbered .1 and .2", function()
	local conn = connect()
	for seq = 1, 2 do
		envelope(conn, "<sender@example.net>", "<rcpt@example.org>")
		headers(conn, { { "From", "sender@example.net" } })
		expect(conn, "eoh " .. seq, mt.eoh(conn), SMFIR_CONTINUE)
		expect(conn, "eom " .. seq, mt.eom(conn), SMFIR_ACCEPT)
		local v = mt.getheader(conn, "X-Gatehouse", 0)
		check(status_value_ok(v, seq), "message " .. seq .. " X-Gatehouse: " .. tostring(v))
	end
	mt.disconnect(conn)
end)

finish()
