-- 30-status-header.lua - the status header: inserted at the top of every
-- accepted message, and copies that arrive with the message are removed.
dofile(MT_LIB .. "/_common.lua")

case("accepted message: X-Gatehouse inserted at index 0, nothing removed", function()
	local conn = connect()
	envelope(conn, "<sender@example.net>", "<rcpt@example.org>")
	headers(conn, { { "From", "sender@example.net" }, { "Subject", "status" } })
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "body", mt.bodystring(conn, "hello\r\n"), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), SMFIR_ACCEPT)
	local v = mt.getheader(conn, "X-Gatehouse", 0)
	check(status_value_ok(v, 1), "X-Gatehouse value: " .. tostring(v))
	check(mt.eom_check(conn, MT_HDRINSERT, "X-Gatehouse", v, 0),
	      "X-Gatehouse not inserted at index 0")
	check(not mt.eom_check(conn, MT_HDRADD), "a header was appended (expected an insert)")
	check(not mt.eom_check(conn, MT_HDRDELETE), "a header was deleted")
	check(not mt.eom_check(conn, MT_HDRCHANGE), "a header was changed")
	mt.disconnect(conn)
end)

case("incoming X-Gatehouse is removed (change to empty value) and ours inserted", function()
	local conn = connect()
	envelope(conn, "<sender@example.net>", "<rcpt@example.org>")
	headers(conn, { { "X-Gatehouse", "mx.gatehouse.test (gatehouse 0.1.0); session=FORGED" },
			{ "From", "sender@example.net" } })
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), SMFIR_ACCEPT)
	check(mt.eom_check(conn, MT_HDRDELETE, "X-Gatehouse"), "incoming X-Gatehouse not deleted")
	check(mt.eom_check(conn, MT_HDRCHANGE, "X-Gatehouse", ""),
	      "no change of X-Gatehouse to an empty value")
	local v = mt.getheader(conn, "X-Gatehouse", 0)
	check(status_value_ok(v, 1), "inserted X-Gatehouse value: " .. tostring(v))
	check(mt.eom_check(conn, MT_HDRINSERT, "X-Gatehouse", v, 0),
	      "X-Gatehouse not inserted at index 0")
	mt.disconnect(conn)
end)

case("incoming status header matched without regard to case (x-gatehouse)", function()
	local conn = connect()
	envelope(conn, "<sender@example.net>", "<rcpt@example.org>")
	headers(conn, { { "From", "sender@example.net" }, { "x-gatehouse", "forged" } })
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), SMFIR_ACCEPT)
	check(mt.eom_check(conn, MT_HDRDELETE), "incoming x-gatehouse not deleted")
	mt.disconnect(conn)
end)

finish()
