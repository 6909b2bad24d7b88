/*
 * fuzz_milter.c - libFuzzer target: arbitrary bytes from a milter peer,
 * split arbitrarily, through the protocol layer and the engine with every
 * service built (SPF, DKIM, DMARC on tests/fuzz/message.zone; the shipped
 * rule sets, as fuzz_message.c).
 *
 * The first input byte chooses how the rest is cut into reads (1 to 256
 * bytes, varying), as a socket might deliver it. Invariants checked after
 * every read:
 *  - the answer is a sequence of whole frames, each a reply or modification
 *    the protocol defines, a reply code "4xx " / "5xx " (or "4xx-"/"5xx-")
 *    and NUL-terminated, a negotiation reply at least 12 bytes long;
 *  - once the conversation says close or abort, nothing more is fed (the
 *    daemon closes the socket);
 *  - every SMTP session counted as opened is closed when the connection
 *    ends, whatever the bytes were.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "engine/services.h"
#include "milter/conv.h"
#include "milter/wire.h"
#include "util/diag.h"
#include "util/log.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_daemon {
	int opened, closed;
	unsigned ids;
};

static void fz_id(void *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "F%05u", ++((struct fz_daemon *)ctx)->ids);
}

static bool fz_opened(void *ctx)
{
	((struct fz_daemon *)ctx)->opened++;
	return true;
}

static void fz_closed(void *ctx)
{
	((struct fz_daemon *)ctx)->closed++;
}

static bool fz_draining(void *ctx)
{
	(void)ctx;
	return false;
}

/* fz_world - snapshot slot and services, built once per process like the daemon's */
static void fz_world(struct config_slot **slot, struct services **svc)
{
	static struct config_slot s;
	static struct services *v;
	static bool built;

	if (!built) {
		const char *path = getenv("GH_FUZZ_CONF"), *zone = getenv("GH_FUZZ_ZONE");
		const struct services_options so = {
			.dns_fixture = zone ? zone : "tests/fuzz/message.zone",
		};
		struct diag errs = { 0 };
		struct config *c = config_load(path ? path : "tests/fuzz/message.conf", &errs);

		if (c != NULL)
			v = services_new(c, &so, &errs);
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "fuzz_milter: %s\n", errs.lines[i]);
		diag_clear(&errs);
		if (c == NULL || v == NULL)
			exit(2);
		config_slot_init(&s, c);
		built = true;
	}
	*slot = &s;
	*svc = v;
}

/* fz_check_answer - OUT must be whole, well-formed reply frames */
static void fz_check_answer(const struct strbuf *out)
{
	struct wire_reader r = { 0 };
	struct wire_frame f;
	const char *why = NULL;
	int rc;

	if (out->len == 0)
		return;
	if (!wire_reader_feed(&r, out->data, out->len))
		abort();
	while ((rc = wire_reader_next(&r, &f, &why)) == 1) {
		switch (f.cmd) {
		case WIRE_R_ACCEPT:
		case WIRE_R_CONTINUE:
		case WIRE_R_DISCARD:
		case WIRE_R_REJECT:
		case WIRE_R_TEMPFAIL:
			if (f.len != 0)
				abort();
			break;
		case WIRE_R_REPLYCODE:
			if (f.len < 5 || (f.data[0] != '4' && f.data[0] != '5') ||
			    (f.data[3] != ' ' && f.data[3] != '-') || f.data[f.len - 1] != '\0' ||
			    memchr(f.data, '\0', f.len) != f.data + f.len - 1)
				abort();
			break;
		case WIRE_C_OPTNEG:
			if (f.len < 12)
				abort();
			break;
		case WIRE_R_ADDHEADER:
		case WIRE_R_INSHEADER:
		case WIRE_R_CHGHEADER:
		case WIRE_R_QUARANTINE:
			if (f.len == 0 || f.data[f.len - 1] != '\0')
				abort();
			break;
		default:
			abort(); /* nothing else is ever sent */
		}
	}
	if (rc != 0 || wire_reader_pending(&r) != 0)
		abort();
	wire_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_daemon d = { 0 };
	struct logger log = { .sink = LOG_SINK_NONE };
	struct milter_env env = { .log = &log,
				  .ctx = &d,
				  .session_id = fz_id,
				  .conn_opened = fz_opened,
				  .conn_closed = fz_closed,
				  .draining = fz_draining };
	struct milter_conv *c;
	struct strbuf out;
	unsigned seed;
	size_t off = 1;

	if (size == 0)
		return 0;
	fz_world(&env.slot, (struct services **)&env.svc);
	c = milter_conv_new(&env, "fuzz");
	if (c == NULL)
		abort();
	seed = data[0];
	strbuf_init(&out);
	while (off < size) {
		size_t n = 1 + (seed % 256);
		enum milter_conv_status st;

		if (n > size - off)
			n = size - off;
		strbuf_reset(&out);
		st = milter_conv_feed(c, data + off, n, &out);
		fz_check_answer(&out);
		off += n;
		seed = seed * 1103515245u + 12345u;
		if (st != MILTER_CONV_OK)
			break;
	}
	strbuf_free(&out);
	milter_conv_free(c);
	if (d.opened != d.closed)
		abort();
	return 0;
}
