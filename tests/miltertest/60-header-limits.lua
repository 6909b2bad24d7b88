-- 60-header-limits.lua - max_header_line_octets (998) at the header phase.
-- A physical line is "Name: value" up to a line break; folded lines are
-- measured one by one (Postfix passes them joined with "\n"). miltertest
-- crashes on header values over about 1 KB, so the cases stay under it;
-- longer ones go through Postfix in run.sh.
dofile(MT_LIB .. "/_common.lua")

-- gatehouse negotiates no reply to header fields and end of header
-- (SMFIP_NR_HDR, SMFIP_NR_EOH), so a decision taken at a field is answered
-- at end of message: the SMTP client hears the same reply, after its final
-- dot either way.
local function one_header(name, value, want_end)
	local conn = connect()
	envelope(conn, "<sender@example.net>", "<rcpt@example.org>")
	expect(conn, "header From", mt.header(conn, "From", "sender@example.net"), SMFIR_CONTINUE)
	expect(conn, "header " .. name .. " (" .. #value .. " octets)",
	       mt.header(conn, name, value), SMFIR_CONTINUE)
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), want_end)
	mt.disconnect(conn)
end

case("header line of exactly 998 octets answers CONTINUE", function()
	-- "X-Long: " is 8 octets
	one_header("X-Long", string.rep("a", 990), SMFIR_ACCEPT)
end)

case("header line of 999 octets answers REPLYCODE (at end of message)", function()
	one_header("X-Long", string.rep("a", 991), SMFIR_REPLYCODE)
end)

case("folded header of 2 x 480 octets (LF between lines) answers CONTINUE", function()
	one_header("X-Folded", string.rep("b", 480) .. "\n\t" .. string.rep("c", 480),
		   SMFIR_ACCEPT)
end)

case("folded header of 2 x 480 octets (CRLF between lines) answers CONTINUE", function()
	one_header("X-Folded", string.rep("b", 480) .. "\r\n\t" .. string.rep("c", 480),
		   SMFIR_ACCEPT)
end)

finish()
