/*
 * check_milter.c - the milter protocol layer: frames, commands, macros and
 * whole conversations through the real engine (filter/milter/)
 *
 * The conversations are what Postfix sends (negotiation, macros before each
 * step, silent header and body steps), checked byte by byte on the way
 * back, and every kind of malformed input that was tried by hand against
 * libmilter: the odd macro packet that crashed it, truncated frames,
 * lengths 0, 1, 2^31-1 and 2^32-1, unterminated strings, a 1 MB macro
 * frame, unknown command bytes, commands out of order. Each must end the
 * connection (MILTER_CONV_ABORT) or be answered with well-formed frames;
 * none may crash (the suite also runs under ASan+UBSan).
 */
#include <arpa/inet.h>
#include <stdint.h>

#include "engine/services.h"
#include "milter/conv.h"
#include "milter/macros.h"
#include "milter/wire.h"
#include "unit.h"
#include "util/diag.h"
#include "util/strbuf.h"

/* ---------------------------------------------------------------- frames */

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* frame_raw - a frame whose length field says LEN whatever follows */
static void frame_raw(struct strbuf *sb, uint32_t len, char cmd)
{
	unsigned char h[5];

	put32(h, len);
	h[4] = (unsigned char)cmd;
	strbuf_append(sb, h, 5);
}

START_TEST(reader_any_split)
{
	struct strbuf sb;
	struct wire_reader r = { 0 };
	struct wire_frame f;
	const char *why = NULL;
	int got = 0;

	strbuf_init(&sb);
	wire_put(&sb, WIRE_C_HELO, "mx.example\0", 11);
	wire_put(&sb, WIRE_C_EOH, NULL, 0);
	/* one byte at a time: frames come out whole, in order */
	for (size_t i = 0; i < sb.len; i++) {
		ck_assert(wire_reader_feed(&r, sb.data + i, 1));
		while (wire_reader_next(&r, &f, &why) == 1) {
			got++;
			if (got == 1) {
				ck_assert_int_eq(f.cmd, 'H');
				ck_assert_uint_eq(f.len, 11);
				ck_assert_str_eq((const char *)f.data, "mx.example");
			} else {
				ck_assert_int_eq(f.cmd, 'N');
				ck_assert_uint_eq(f.len, 0);
			}
		}
	}
	ck_assert_int_eq(got, 2);
	ck_assert_uint_eq(wire_reader_pending(&r), 0);
	wire_reader_free(&r);
	strbuf_free(&sb);
}
END_TEST

/* reader_refuses - a length field of LEN is refused before anything is buffered */
static void reader_refuses(uint32_t len)
{
	struct strbuf sb;
	struct wire_reader r = { 0 };
	struct wire_frame f;
	const char *why = NULL;

	strbuf_init(&sb);
	frame_raw(&sb, len, 'B');
	ck_assert(wire_reader_feed(&r, sb.data, sb.len));
	ck_assert_int_eq(wire_reader_next(&r, &f, &why), -1);
	ck_assert(why != NULL);
	ck_assert_uint_le(r.cap, 1024); /* nothing was allocated for the claimed size */
	wire_reader_free(&r);
	strbuf_free(&sb);
}

START_TEST(reader_lengths)
{
	struct strbuf sb;
	struct wire_reader r = { 0 };
	struct wire_frame f;
	const char *why = NULL;

	reader_refuses(0);
	reader_refuses(0x7fffffffu);
	reader_refuses(0xffffffffu);
	reader_refuses(WIRE_DATA_MAX + 2);
	/* length 1: a command byte and no data is a whole frame */
	strbuf_init(&sb);
	frame_raw(&sb, 1, 'N');
	ck_assert(wire_reader_feed(&r, sb.data, sb.len));
	ck_assert_int_eq(wire_reader_next(&r, &f, &why), 1);
	ck_assert_int_eq(f.cmd, 'N');
	/* a truncated frame waits for the rest */
	strbuf_reset(&sb);
	frame_raw(&sb, 100, 'B');
	strbuf_append(&sb, "abc", 3);
	ck_assert(wire_reader_feed(&r, sb.data, sb.len));
	ck_assert_int_eq(wire_reader_next(&r, &f, &why), 0);
	wire_reader_free(&r);
	strbuf_free(&sb);
}
END_TEST

/* decode - FRAME's data as command CMD: the decoder's verdict */
static bool decode(char cmd, const void *data, size_t len, struct wire_cmd *c, const char **why)
{
	struct wire_frame f = { .cmd = cmd, .data = data, .len = len };

	*why = NULL;
	return wire_decode(&f, c, why);
}

START_TEST(decode_checks)
{
	struct wire_cmd c;
	const char *why;

	/* the libmilter crash: a macro name without a value */
	ck_assert(!decode('D', "M{mail_addr}\0", 13, &c, &why));
	ck_assert(strstr(why, "odd") != NULL);
	ck_assert(decode('D', "M{mail_addr}\0a@b\0", 17, &c, &why));
	ck_assert_uint_eq(c.u.macro.npairs, 1);
	ck_assert(!decode('D', "Mi\0x", 4, &c, &why)); /* unterminated */
	ck_assert(!decode('D', "M\0x\0", 4, &c, &why)); /* empty name */
	ck_assert(!decode('H', "mx", 2, &c, &why));
	ck_assert(!decode('H', "mx\0extra\0", 9, &c, &why)); /* two strings */
	ck_assert(!decode('L', "Subject\0", 8, &c, &why));  /* no value */
	ck_assert(!decode('L', "\0v\0", 3, &c, &why));	    /* no name */
	ck_assert(decode('L', "Subject\0hi\0", 11, &c, &why));
	ck_assert(!decode('M', "<a@b>", 5, &c, &why));
	ck_assert(decode('M', "<a@b>\0SIZE=10\0", 14, &c, &why));
	ck_assert_uint_eq(c.u.args.argc, 2);
	ck_assert(c.u.args.argv[2] == NULL);
	ck_assert(!decode('O', "\0\0\0\6", 4, &c, &why));
	ck_assert(!decode('Z', "", 0, &c, &why)); /* unknown command byte */
	ck_assert(!decode('C', "host\0" "4", 6, &c, &why));
	ck_assert(!decode('C', "host\0" "4\0\031" "999.1.1.1\0", 18, &c, &why));
	ck_assert(decode('C', "host\0" "4\0\031" "192.0.2.1\0", 18, &c, &why));
	ck_assert_str_eq(c.u.connect.addr, "192.0.2.1");
	ck_assert_uint_eq(c.u.connect.port, 25);
	ck_assert(decode('C', "host\0" "6\0\031" "IPv6:2001:db8::1\0", 25, &c, &why));
	ck_assert_str_eq(c.u.connect.addr, "2001:db8::1");
	ck_assert(decode('C', "localhost\0U", 11, &c, &why));
	ck_assert(c.u.connect.addr == NULL);
	ck_assert(!decode('C', "host\0" "X\0\031" "a\0", 10, &c, &why));
}
END_TEST

START_TEST(decode_bounds)
{
	size_t n = WIRE_MACROS_MAX * 2 + 2, len = n * 2;
	char *many = malloc(len + 1);
	struct wire_cmd *c = malloc(sizeof(*c));
	const char *why;

	/* more name/value pairs than a frame may carry */
	ck_assert(many != NULL && c != NULL);
	many[0] = 'M';
	for (size_t i = 0; i < n; i++) {
		many[1 + 2 * i] = 'a';
		many[2 + 2 * i] = '\0';
	}
	ck_assert(!decode('D', many, len + 1, c, &why));
	/* more MAIL arguments than WIRE_ARGS_MAX */
	ck_assert(!decode('M', many + 1, len, c, &why));
	free(many);
	free(c);
}
END_TEST

START_TEST(macros_stages)
{
	struct macro_store ms = { 0 };
	const char *conn[] = { "j", "mx.example", "{daemon_name}", "smtpd" };
	const char *mail[] = { "{auth_authen}", "bob", "i", "ABC" };
	const char *rcpt[] = { "{rcpt_addr}", "x@y" };

	ck_assert(macro_store_set(&ms, WIRE_ST_CONNECT, conn, 2));
	ck_assert(macro_store_set(&ms, WIRE_ST_MAIL, mail, 2));
	ck_assert(macro_store_set(&ms, WIRE_ST_RCPT, rcpt, 1));
	ck_assert_str_eq(macro_store_get(&ms, "{j}"), "mx.example"); /* {x} and x agree */
	ck_assert_str_eq(macro_store_get(&ms, "{i}"), "ABC");
	ck_assert_str_eq(macro_store_get(&ms, "{auth_authen}"), "bob");
	ck_assert(macro_store_get(&ms, "{nope}") == NULL);
	/* a new MAIL forgets the old message's RCPT macros */
	macro_store_clear_from(&ms, WIRE_ST_RCPT);
	ck_assert(macro_store_get(&ms, "{rcpt_addr}") == NULL);
	ck_assert_str_eq(macro_store_get(&ms, "j"), "mx.example");
	macro_store_clear_from(&ms, WIRE_ST_CONNECT);
}
END_TEST

/* ---------------------------------------------------------------- conversations */

struct fake_daemon {
	struct config_slot slot;
	struct logger log;
	struct services *svc;
	struct milter_env env;
	int opened, closed;
	bool draining;
	unsigned next_id;
};

static void fd_session_id(void *ctx, char *buf, size_t len)
{
	struct fake_daemon *d = ctx;

	snprintf(buf, len, "T%05u", ++d->next_id);
}

static bool fd_opened(void *ctx)
{
	struct fake_daemon *d = ctx;

	if (d->draining)
		return false;
	d->opened++;
	return true;
}

static void fd_closed(void *ctx)
{
	((struct fake_daemon *)ctx)->closed++;
}

static bool fd_draining(void *ctx)
{
	return ((struct fake_daemon *)ctx)->draining;
}

static char *zone_path;

/* fake_daemon_init - defaults (or TEXT) and real services on an empty DNS fixture */
static void fake_daemon_init(struct fake_daemon *d, const char *text)
{
	struct diag errs = { 0 };
	const struct services_options so = { .dns_fixture = zone_path };
	struct config *c = text ? unit_config_ok(text) : unit_config_defaults();

	memset(d, 0, sizeof(*d));
	config_slot_init(&d->slot, c);
	unit_log_none(&d->log);
	d->svc = services_new(c, &so, &errs);
	ck_assert_msg(d->svc != NULL, "%s", errs.n ? errs.lines[0] : "?");
	diag_clear(&errs);
	d->env = (struct milter_env){ .slot = &d->slot,
				      .log = &d->log,
				      .svc = d->svc,
				      .ctx = d,
				      .session_id = fd_session_id,
				      .conn_opened = fd_opened,
				      .conn_closed = fd_closed,
				      .draining = fd_draining };
}

static void fake_daemon_free(struct fake_daemon *d)
{
	services_free(d->svc);
	config_slot_destroy(&d->slot);
}

/* The frames of one conversation's answer, split out of the bytes. */
struct answer {
	char cmd[64];
	char data[64][512];
	size_t n;
};

static void answer_parse(const struct strbuf *out, struct answer *a)
{
	struct wire_reader r = { 0 };
	struct wire_frame f;
	const char *why = NULL;

	memset(a, 0, sizeof(*a));
	ck_assert(wire_reader_feed(&r, out->data, out->len));
	while (wire_reader_next(&r, &f, &why) == 1) {
		ck_assert(a->n < 64);
		a->cmd[a->n] = f.cmd;
		memcpy(a->data[a->n], f.data, f.len < 511 ? f.len : 511);
		a->n++;
	}
	ck_assert_msg(wire_reader_pending(&r) == 0, "a partial frame in the answer");
	wire_reader_free(&r);
}

/* send - frame CMD with LEN bytes of DATA into C; the status, answer in A */
static enum milter_conv_status send_cmd(struct milter_conv *c, char cmd, const void *data,
					size_t len, struct answer *a)
{
	struct strbuf in, out;
	enum milter_conv_status st;

	strbuf_init(&in);
	strbuf_init(&out);
	wire_put(&in, cmd, data, len);
	st = milter_conv_feed(c, in.data, in.len, &out);
	answer_parse(&out, a);
	strbuf_free(&in);
	strbuf_free(&out);
	return st;
}

#define SEND(c, cmd, lit, a) send_cmd((c), (cmd), (lit), sizeof(lit) - 1, (a))

/* Postfix 3.7's offer: every action, every protocol flag of version 6 */
/* negotiate_offer - version 6 with ACTIONS and PROTOCOL offered */
static void negotiate_offer(struct milter_conv *c, uint32_t actions, uint32_t protocol,
			    struct answer *a)
{
	unsigned char o[12];

	put32(o, 6);
	put32(o + 4, actions);
	put32(o + 8, protocol);
	ck_assert_int_eq(send_cmd(c, 'O', o, 12, a), MILTER_CONV_OK);
	ck_assert_uint_eq(a->n, 1);
	ck_assert_int_eq(a->cmd[0], 'O');
}

static void negotiate(struct milter_conv *c, struct answer *a)
{
	negotiate_offer(c, 0x1ff, 0x1fffff, a);
}

static uint32_t get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

START_TEST(conv_postfix_message)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;

	fake_daemon_init(&d, NULL);
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	ck_assert_uint_eq(get32(a.data[0]), 6);
	/* asked: add/change header, quarantine; no reply to connect, HELO,
	 * headers, end of header, body; no DATA, no unknown commands */
	ck_assert_uint_eq(get32(a.data[0] + 4), WIRE_A_ADDHDRS | WIRE_A_CHGHDRS | WIRE_A_QUARANTINE);
	ck_assert_uint_eq(get32(a.data[0] + 8),
			  WIRE_P_NR_CONN | WIRE_P_NR_HELO | WIRE_P_NR_HDR | WIRE_P_NR_EOH |
				  WIRE_P_NR_BODY | WIRE_P_NODATA | WIRE_P_NOUNKNOWN |
				  WIRE_P_HDR_LEADSPC);
	SEND(c, 'D', "Cj\0mx.example\0{daemon_name}\0smtpd\0", &a);
	ck_assert_uint_eq(a.n, 0);
	SEND(c, 'C', "client.example\0" "4\0\031" "192.0.2.7\0", &a);
	ck_assert_uint_eq(a.n, 0); /* silent */
	SEND(c, 'H', "client.example\0", &a);
	ck_assert_uint_eq(a.n, 0);
	SEND(c, 'M', "<alice@example.org>\0", &a);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(a.cmd[0], 'c');
	SEND(c, 'D', "Ri\0ABC123\0", &a);
	SEND(c, 'R', "<bob@example.net>\0", &a);
	ck_assert_int_eq(a.cmd[0], 'c');
	SEND(c, 'L', "From\0alice@example.org\0", &a);
	ck_assert_uint_eq(a.n, 0);
	SEND(c, 'L', "Subject\0hi\0", &a);
	SEND(c, 'N', "", &a);
	ck_assert_uint_eq(a.n, 0);
	SEND(c, 'B', "hello\r\n", &a);
	ck_assert_uint_eq(a.n, 0);
	SEND(c, 'E', "", &a);
	/* the status header and Authentication-Results inserted, then accept */
	ck_assert_uint_ge(a.n, 2);
	ck_assert_int_eq(a.cmd[a.n - 1], 'a');
	for (size_t i = 0; i + 1 < a.n; i++) {
		ck_assert_msg(a.cmd[i] == 'i' || a.cmd[i] == 'h' || a.cmd[i] == 'm',
			      "frame %zu is '%c'", i, a.cmd[i]);
		/* SMFIP_HDR_LEADSPC: the MTA adds no space; ours comes first */
		if (a.cmd[i] == 'i') {
			const char *name = a.data[i] + 4;

			ck_assert_msg(name[strlen(name) + 1] == ' ', "%s: no leading space", name);
		}
	}
	ck_assert_int_eq(SEND(c, 'Q', "", &a), MILTER_CONV_CLOSE);
	ck_assert_uint_eq(a.n, 0);
	ck_assert_int_eq(d.opened, 1);
	ck_assert_int_eq(d.closed, 1);
	milter_conv_free(c);
	fake_daemon_free(&d);
}
END_TEST

/* hdr_value - the value of header frame F ('i' or 'm': after the index) */
static const char *hdr_value(const char *f)
{
	const char *name = f + 4;

	return name + strlen(name) + 1;
}

START_TEST(conv_leading_space)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;

	/* an MTA without SMFIP_HDR_LEADSPC: not asked for, values as before */
	fake_daemon_init(&d, NULL);
	c = milter_conv_new(&d.env, "test");
	negotiate_offer(c, 0x1ff, 0x0fffff, &a);
	ck_assert_uint_eq(get32(a.data[0] + 8) & WIRE_P_HDR_LEADSPC, 0);
	SEND(c, 'C', "h\0" "4\0\031" "192.0.2.7\0", &a);
	SEND(c, 'M', "<alice@example.org>\0", &a);
	SEND(c, 'R', "<bob@example.net>\0", &a);
	SEND(c, 'L', "From\0alice@example.org\0", &a);
	SEND(c, 'N', "", &a);
	SEND(c, 'E', "", &a);
	ck_assert_int_eq(a.cmd[a.n - 1], 'a');
	ck_assert_uint_ge(a.n, 2); /* our fields were inserted */
	for (size_t i = 0; i + 1 < a.n; i++)
		if (a.cmd[i] == 'i')
			ck_assert_msg(hdr_value(a.data[i])[0] != ' ', "a space the MTA adds too");
	milter_conv_free(c);

	/* with it: values arrive raw (a forged status field with its space is
	 * still found and removed), a removal is an empty value, never a lone
	 * space, and each field we insert starts with exactly one space */
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	ck_assert_uint_ne(get32(a.data[0] + 8) & WIRE_P_HDR_LEADSPC, 0);
	SEND(c, 'C', "h\0" "4\0\031" "192.0.2.7\0", &a);
	SEND(c, 'M', "<alice@example.org>\0", &a);
	SEND(c, 'R', "<bob@example.net>\0", &a);
	SEND(c, 'L', "From\0 alice@example.org\0", &a);
	SEND(c, 'L', "Subject\0no-space\0", &a);
	SEND(c, 'L', "X-Gatehouse\0 forged\0", &a);
	SEND(c, 'N', "", &a);
	SEND(c, 'E', "", &a);
	ck_assert_int_eq(a.cmd[a.n - 1], 'a');
	{
		bool removed = false, inserted = false;

		for (size_t i = 0; i + 1 < a.n; i++)
			if (a.cmd[i] == 'm') {
				ck_assert_str_eq(hdr_value(a.data[i]), "");
				removed = true;
			} else if (a.cmd[i] == 'i') {
				const char *v = hdr_value(a.data[i]);

				ck_assert_msg(v[0] == ' ' && v[1] != ' ', "inserted \"%s\"", v);
				inserted = true;
			}
		ck_assert(removed && inserted);
	}
	milter_conv_free(c);
	fake_daemon_free(&d);
}
END_TEST

START_TEST(conv_reject_replycode)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;

	fake_daemon_init(&d, NULL);
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	SEND(c, 'C', "h\0" "4\0\031" "192.0.2.7\0", &a);
	SEND(c, 'M', "<a@@example.net>\0", &a);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(a.cmd[0], 'y');
	ck_assert_msg(strncmp(a.data[0], "501 5.1.7 ", 10) == 0, "%s", a.data[0]);
	/* the refused MAIL ends the message: a new MAIL is in order */
	SEND(c, 'M', "<a@example.net>\0", &a);
	ck_assert_int_eq(a.cmd[0], 'c');
	SEND(c, 'R', "<a..b@example.org>\0", &a);
	ck_assert_int_eq(a.cmd[0], 'y');
	/* a refused recipient leaves the message open for the next one */
	SEND(c, 'R', "<b@example.org>\0", &a);
	ck_assert_int_eq(a.cmd[0], 'c');
	SEND(c, 'A', "", &a);
	ck_assert_uint_eq(a.n, 0);
	milter_conv_free(c);
	ck_assert_int_eq(d.closed, 1); /* a dropped connection ends its session */
	fake_daemon_free(&d);
}
END_TEST

START_TEST(conv_odd_macro_then_mail)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;

	fake_daemon_init(&d, NULL);
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	SEND(c, 'C', "h\0" "4\0\031" "192.0.2.7\0", &a);
	/* libmilter stored this and crashed at the next macro lookup */
	ck_assert_int_eq(SEND(c, 'D', "M{mail_addr}\0", &a), MILTER_CONV_ABORT);
	ck_assert_uint_eq(a.n, 0);
	milter_conv_free(c);
	ck_assert_int_eq(d.closed, 1);
	fake_daemon_free(&d);
}
END_TEST

START_TEST(conv_out_of_order)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;

	fake_daemon_init(&d, NULL);
	c = milter_conv_new(&d.env, "test");
	/* MAIL before negotiation and connect */
	ck_assert_int_eq(SEND(c, 'M', "<a@b>\0", &a), MILTER_CONV_ABORT);
	milter_conv_free(c);
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	SEND(c, 'C', "h\0" "4\0\031" "192.0.2.7\0", &a);
	/* RCPT without MAIL */
	ck_assert_int_eq(SEND(c, 'R', "<a@b>\0", &a), MILTER_CONV_ABORT);
	milter_conv_free(c);
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	/* a second negotiation */
	{
		unsigned char o[12] = { 0, 0, 0, 6 };

		ck_assert_int_eq(send_cmd(c, 'O', o, 12, &a), MILTER_CONV_ABORT);
	}
	milter_conv_free(c);
	/* an unknown command byte */
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	ck_assert_int_eq(SEND(c, 'z', "", &a), MILTER_CONV_ABORT);
	milter_conv_free(c);
	fake_daemon_free(&d);
}
END_TEST

/* count_of - occurrences of NEEDLE in HAY */
static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

START_TEST(conv_helo_or_mail_in_a_message)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;
	struct unit_log ul;

	fake_daemon_init(&d, NULL);
	/* the summary line says how each message ended */
	unit_log_open(&ul, LOG_INFO);
	d.env.log = &ul.log;
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	SEND(c, 'C', "h\0" "4\0\031" "192.0.2.7\0", &a);
	SEND(c, 'H', "client.example\0", &a);
	SEND(c, 'M', "<alice@example.org>\0", &a);
	SEND(c, 'R', "<bob@example.net>\0", &a);
	ck_assert_int_eq(a.cmd[0], 'c');
	/* Postfix: EHLO in mid-transaction sends HELO before its ABORT */
	ck_assert_int_eq(SEND(c, 'H', "client.example\0", &a), MILTER_CONV_OK);
	ck_assert_uint_eq(a.n, 0); /* HELO stays silent */
	ck_assert_int_eq(count_of(unit_log_text(&ul), " action=abort "), 1);
	ck_assert_int_eq(SEND(c, 'A', "", &a), MILTER_CONV_OK);
	ck_assert_int_eq(SEND(c, 'M', "<carol@example.org>\0", &a), MILTER_CONV_OK);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(a.cmd[0], 'c');
	ck_assert_int_eq(SEND(c, 'R', "<dave@example.net>\0", &a), MILTER_CONV_OK);
	ck_assert_int_eq(a.cmd[0], 'c');
	/* a MAIL the MTA refused itself, without an ABORT, then another */
	ck_assert_int_eq(SEND(c, 'M', "<erin@example.org>\0", &a), MILTER_CONV_OK);
	ck_assert_int_eq(a.cmd[0], 'c');
	ck_assert_int_eq(count_of(unit_log_text(&ul), " action=abort "), 2);
	ck_assert_int_eq(SEND(c, 'R', "<frank@example.net>\0", &a), MILTER_CONV_OK);
	ck_assert_int_eq(a.cmd[0], 'c');
	SEND(c, 'L', "From\0erin@example.org\0", &a);
	SEND(c, 'N', "", &a);
	SEND(c, 'E', "", &a);
	ck_assert_uint_ge(a.n, 1);
	ck_assert_int_eq(a.cmd[a.n - 1], 'a');
	/* still one SMTP session, never a violation */
	ck_assert_int_eq(d.opened, 1);
	ck_assert(milter_conv_in_session(c));
	milter_conv_free(c);
	fake_daemon_free(&d);
	unit_log_close(&ul);
}
END_TEST

START_TEST(conv_mid_frame)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;
	struct strbuf in, out;

	fake_daemon_init(&d, NULL);
	c = milter_conv_new(&d.env, "test");
	ck_assert(!milter_conv_mid_frame(c));
	negotiate(c, &a);
	ck_assert(!milter_conv_mid_frame(c));
	strbuf_init(&in);
	strbuf_init(&out);
	static const char conn[] = "h\0" "4\0\031" "192.0.2.7\0";

	wire_put(&in, 'C', conn, sizeof(conn) - 1);
	/* the loop gives such a connection the short limit (daemon/loop.c) */
	for (size_t cut = 1; cut < in.len; cut++) {
		struct milter_conv *p = milter_conv_new(&d.env, "test");

		negotiate(p, &a);
		ck_assert_int_eq(milter_conv_feed(p, in.data, cut, &out), MILTER_CONV_OK);
		ck_assert_msg(milter_conv_mid_frame(p), "cut at %zu", cut);
		ck_assert_int_eq(milter_conv_feed(p, in.data + cut, in.len - cut, &out),
				 MILTER_CONV_OK);
		ck_assert(!milter_conv_mid_frame(p));
		ck_assert(milter_conv_in_session(p));
		milter_conv_free(p);
	}
	strbuf_free(&in);
	strbuf_free(&out);
	milter_conv_free(c);
	fake_daemon_free(&d);
}
END_TEST

START_TEST(conv_huge_macro)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;
	struct strbuf in, out;
	size_t big = 1024 * 1024;
	char *v = malloc(big);

	ck_assert(v != NULL);
	memset(v, 'x', big);
	fake_daemon_init(&d, NULL);
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	strbuf_init(&in);
	strbuf_init(&out);
	frame_raw(&in, (uint32_t)big + 4, 'D');
	strbuf_append(&in, "Cj\0", 3);
	strbuf_append(&in, v, big - 1);
	/* refused from the length field alone, before the megabyte is held */
	ck_assert_int_eq(milter_conv_feed(c, in.data, 64, &out), MILTER_CONV_ABORT);
	strbuf_free(&in);
	strbuf_free(&out);
	free(v);
	milter_conv_free(c);
	fake_daemon_free(&d);
}
END_TEST

START_TEST(conv_quit_nc_reuse)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;

	fake_daemon_init(&d, NULL);
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	for (int round = 0; round < 2; round++) {
		SEND(c, 'C', "h\0" "4\0\031" "192.0.2.7\0", &a);
		SEND(c, 'M', "<a@example.org>\0", &a);
		ck_assert_int_eq(a.cmd[0], 'c');
		ck_assert_int_eq(SEND(c, 'K', "", &a), MILTER_CONV_OK);
		ck_assert(!milter_conv_in_session(c));
	}
	ck_assert_int_eq(d.opened, 2);
	ck_assert_int_eq(d.closed, 2);
	milter_conv_free(c);
	fake_daemon_free(&d);
}
END_TEST

START_TEST(conv_draining)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;

	fake_daemon_init(&d, NULL);
	d.draining = true;
	c = milter_conv_new(&d.env, "test");
	negotiate(c, &a);
	/* draining at negotiation: connect keeps its reply, and it is 421 */
	ck_assert_uint_eq(get32(a.data[0] + 8) & WIRE_P_NR_CONN, 0);
	SEND(c, 'C', "h\0" "4\0\031" "192.0.2.7\0", &a);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(a.cmd[0], 'y');
	ck_assert(strncmp(a.data[0], "421 4.3.2 ", 10) == 0);
	/* and nothing after it passes */
	SEND(c, 'M', "<a@example.org>\0", &a);
	ck_assert_int_eq(a.cmd[0], 'y');
	ck_assert(strncmp(a.data[0], "451 4.3.0 ", 10) == 0);
	milter_conv_free(c);
	ck_assert_int_eq(d.opened, 0);
	fake_daemon_free(&d);
}
END_TEST

START_TEST(conv_no_actions_tempfails)
{
	struct fake_daemon d;
	struct milter_conv *c;
	struct answer a;

	fake_daemon_init(&d, NULL);
	c = milter_conv_new(&d.env, "test");
	/* an MTA that allows no header changes: mail that needs them must not pass */
	negotiate_offer(c, WIRE_A_QUARANTINE, 0x1fffff, &a);
	SEND(c, 'C', "h\0" "4\0\031" "192.0.2.7\0", &a);
	SEND(c, 'M', "<a@example.org>\0", &a);
	SEND(c, 'R', "<b@example.org>\0", &a);
	SEND(c, 'L', "From\0a@example.org\0", &a);
	SEND(c, 'E', "", &a);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(a.cmd[0], 'y');
	ck_assert(strncmp(a.data[0], "451 4.3.0 ", 10) == 0);
	milter_conv_free(c);
	fake_daemon_free(&d);
}
END_TEST

START_TEST(replycode_lines)
{
	struct strbuf out;
	struct answer a;

	strbuf_init(&out);
	wire_put_replycode(&out, "550", "5.7.1", "first line\nsecond 100% sure\r\x01");
	answer_parse(&out, &a);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_str_eq(a.data[0], "550-5.7.1 first line\r\n550 5.7.1 second 100%% sure");
	strbuf_free(&out);
}
END_TEST

static Suite *milter_suite(void)
{
	Suite *s = suite_create("milter");
	TCase *tc = tcase_create("wire");

	tcase_add_test(tc, reader_any_split);
	tcase_add_test(tc, reader_lengths);
	tcase_add_test(tc, decode_checks);
	tcase_add_test(tc, decode_bounds);
	tcase_add_test(tc, macros_stages);
	tcase_add_test(tc, replycode_lines);
	suite_add_tcase(s, tc);
	tc = tcase_create("conv");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, conv_postfix_message);
	tcase_add_test(tc, conv_leading_space);
	tcase_add_test(tc, conv_reject_replycode);
	tcase_add_test(tc, conv_odd_macro_then_mail);
	tcase_add_test(tc, conv_out_of_order);
	tcase_add_test(tc, conv_helo_or_mail_in_a_message);
	tcase_add_test(tc, conv_mid_frame);
	tcase_add_test(tc, conv_huge_macro);
	tcase_add_test(tc, conv_quit_nc_reuse);
	tcase_add_test(tc, conv_draining);
	tcase_add_test(tc, conv_no_actions_tempfails);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	char path[] = "/tmp/gatehouse-unit-zone-XXXXXX";
	int fd = mkstemp(path);

	/* outside a test: ck_assert cannot report here */
	if (fd < 0 || write(fd, "; every name is NXDOMAIN\n", 25) != 25 || close(fd) != 0)
		return EXIT_FAILURE;
	zone_path = strdup(path);
	rc = unit_run(milter_suite());
	unlink(zone_path);
	free(zone_path);
	return rc;
}
