-- 10-phases.lua - a clean message, phase by phase: every step before the
-- end of the message answers CONTINUE, the end of the message ACCEPT.
-- gatehouse negotiates away DATA and unknown commands (SMFIP_NODATA,
-- SMFIP_NOUNKNOWN: nothing it acts on) and the replies to header fields and
-- body chunks (SMFIP_NR_HDR, SMFIP_NR_BODY); miltertest then refuses to send
-- the first two and answers CONTINUE itself for the others.
dofile(MT_LIB .. "/_common.lua")

-- declined - STEP (a function) fails because gatehouse declined the step
local function declined(what, flag, step)
	local ok, err = pcall(step)
	if ok or not string.find(tostring(err), flag, 1, true) then
		error(what .. ": expected miltertest to refuse it (" .. flag .. " negotiated), got " ..
		      tostring(ok) .. " " .. tostring(err))
	end
end

case("connect, helo, mail, rcpt, header, eoh, body answer CONTINUE; eom ACCEPT; DATA not asked for", function()
	local conn = connect()
	expect(conn, "helo", mt.helo(conn, "client.example"), SMFIR_CONTINUE)
	expect(conn, "mail", mt.mailfrom(conn, "<sender@example.net>"), SMFIR_CONTINUE)
	expect(conn, "rcpt", mt.rcptto(conn, "<rcpt@example.org>"), SMFIR_CONTINUE)
	declined("data", "SMFIP_NODATA", function() return mt.data(conn) end)
	headers(conn, { { "From", "Sender <sender@example.net>" },
			{ "To", "rcpt@example.org" }, { "Subject", "phases" } })
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "body", mt.bodystring(conn, "line one\r\nline two\r\n"), SMFIR_CONTINUE)
	expect(conn, "body 2", mt.bodystring(conn, "line three\r\n"), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), SMFIR_ACCEPT)
	mt.disconnect(conn)
end)

case("unknown SMTP commands are not asked for and the message still passes", function()
	local conn = connect()
	expect(conn, "helo", mt.helo(conn, "client.example"), SMFIR_CONTINUE)
	declined("unknown", "SMFIP_NOUNKNOWN", function() return mt.unknown(conn, "XFOO bar") end)
	envelope(conn, "<sender@example.net>", "<rcpt@example.org>")
	headers(conn, { { "From", "sender@example.net" } })
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), SMFIR_ACCEPT)
	mt.disconnect(conn)
end)

case("IPv6 client answers CONTINUE at connect and passes", function()
	local conn = connect("2001:db8::25")
	envelope(conn, "<sender@example.net>", "<rcpt@example.org>")
	headers(conn, { { "From", "sender@example.net" } })
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), SMFIR_ACCEPT)
	mt.disconnect(conn)
end)

case("client of unknown address family answers CONTINUE and passes", function()
	local conn = connect("unspec")
	envelope(conn, "<sender@example.net>", "<rcpt@example.org>")
	headers(conn, { { "From", "sender@example.net" } })
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), SMFIR_ACCEPT)
	mt.disconnect(conn)
end)

case("null sender <> answers CONTINUE at MAIL", function()
	local conn = connect()
	expect(conn, "mail <>", mt.mailfrom(conn, "<>"), SMFIR_CONTINUE)
	expect(conn, "rcpt", mt.rcptto(conn, "<rcpt@example.org>"), SMFIR_CONTINUE)
	headers(conn, { { "From", "MAILER-DAEMON@example.net" } })
	expect(conn, "eoh", mt.eoh(conn), SMFIR_CONTINUE)
	expect(conn, "eom", mt.eom(conn), SMFIR_ACCEPT)
	mt.disconnect(conn)
end)

finish()
