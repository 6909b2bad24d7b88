-- _common.lua - helpers for the miltertest scripts (not a test itself).
--
-- run.sh starts every tests/miltertest/[0-9]*.lua as
--   miltertest -D MT_SOCKET=inet:PORT@HOST -D MT_AUTHSERV=NAME -D MT_LIB=DIR -s FILE
-- and each script begins with dofile(MT_LIB .. "/_common.lua").
--
-- Every case prints one line, "PASS name" or "FAIL name -- why", which run.sh
-- turns into "ok - ..." / "not ok - ...". miltertest prints nothing when a
-- Lua error() escapes, so every case runs under pcall.
--
-- miltertest facts used here: mt.conninfo negotiates implicitly; a skipped
-- step (helo, rcpt, ...) is filled in by miltertest with made-up data;
-- mt.getreply returns the milter's last reply as a number (compare with the
-- SMFIR_* constants); header values over about 1 KB crash miltertest.

SOCKET = MT_SOCKET or "inet:8891@127.0.0.1"
AUTHSERV = MT_AUTHSERV or "mx.gatehouse.test"

local failures = 0

local function reply_name(r)
	if r == nil then
		return "nil"
	end
	local names = {
		[SMFIR_ACCEPT] = "ACCEPT", [SMFIR_CONTINUE] = "CONTINUE",
		[SMFIR_DISCARD] = "DISCARD", [SMFIR_REJECT] = "REJECT",
		[SMFIR_TEMPFAIL] = "TEMPFAIL", [SMFIR_REPLYCODE] = "REPLYCODE",
	}
	return names[r] or string.format("'%s'", string.char(math.floor(r)))
end

-- connect - a connection to gatehouse, with conninfo sent (CONTINUE expected)
function connect(ip)
	local conn = mt.connect(SOCKET, 40, 0.25)
	if conn == nil then
		error("mt.connect(" .. SOCKET .. ") failed", 2)
	end
	expect(conn, "conninfo", mt.conninfo(conn, "client.example", ip or "192.0.2.1"),
	       SMFIR_CONTINUE)
	return conn
end

-- expect - ERR is what an mt.* call returned (nil when it worked); the
-- milter's reply to it must be WANT
function expect(conn, what, err, want)
	if err ~= nil then
		error(what .. ": miltertest: " .. tostring(err), 2)
	end
	local got = mt.getreply(conn)
	if got ~= want then
		error(string.format("%s: milter replied %s, expected %s", what,
				    reply_name(got), reply_name(want)), 2)
	end
end

function check(cond, what)
	if not cond then
		error(what, 2)
	end
end

-- envelope - MAIL FROM and RCPT TO, both CONTINUE
function envelope(conn, from, rcpt)
	expect(conn, "mail " .. from, mt.mailfrom(conn, from), SMFIR_CONTINUE)
	expect(conn, "rcpt " .. rcpt, mt.rcptto(conn, rcpt), SMFIR_CONTINUE)
end

-- headers - send {name, value} pairs, each answered with CONTINUE
function headers(conn, list)
	for _, h in ipairs(list) do
		expect(conn, "header " .. h[1], mt.header(conn, h[1], h[2]), SMFIR_CONTINUE)
	end
end

-- status_value_ok - VALUE is what gatehouse puts in X-Gatehouse for message SEQ.
-- miltertest offers SMFIP_HDR_LEADSPC and gatehouse takes it (so that DKIM's
-- "simple" header canonicalization sees each field's exact bytes); the MTA
-- then adds no space of its own, and the value gatehouse sends starts with one.
function status_value_ok(value, seq)
	if value == nil then
		return false
	end
	local pat = "^ " .. AUTHSERV:gsub("%p", "%%%0") ..
		    " %(gatehouse [%w.%-]+%); session=%w+%." .. seq .. "$"
	return string.find(value, pat) ~= nil
end

-- case - run FN as one test case named NAME
function case(name, fn)
	local ok, err = pcall(fn)
	if ok then
		print("PASS " .. name)
	else
		failures = failures + 1
		print("FAIL " .. name .. " -- " .. tostring(err))
	end
end

-- finish - exit status for run.sh: 1 if any case failed
function finish()
	if failures > 0 then
		os.exit(1)
	end
	os.exit(0)
end
