/*
 * fuzz_message.c - libFuzzer target: one whole SMTP transaction through the
 * engine with every check on: SPF, DKIM, DMARC and Authentication-Results
 * through the shared services (DNS answers from message.zone), and the
 * shipped rule sets (message.conf). The first line of the input is the MAIL
 * FROM path, the second a RCPT TO path, the rest the message file as test
 * mode would read it. The engine must answer every input without crashing,
 * leaking or reading out of bounds, and a message it answers must leave the
 * session clean for the next one.
 *
 * The configuration and services are built once per process (as the daemon
 * does) from tests/fuzz/message.conf and tests/fuzz/message.zone, relative
 * to the working directory (the repository's top, where make runs the
 * target); GH_FUZZ_CONF and GH_FUZZ_ZONE override the paths.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "util/diag.h"
#include "mail/eml.h"
#include "engine/engine.h"
#include "engine/services.h"
#include "util/log.h"
#include "engine/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_header(void *ctx, const char *n, const char *v, size_t len)
{
	return verdict_is_final(engine_header_raw(ctx, n, v, len));
}

static int fz_eoh(void *ctx)
{
	return verdict_is_final(engine_eoh(ctx));
}

static int fz_body(void *ctx, const unsigned char *c, size_t len)
{
	return verdict_is_final(engine_body(ctx, c, len));
}

/* fz_line - copy of the next line of DATA (NUL-terminated), advancing *OFF */
static char *fz_line(const uint8_t *data, size_t size, size_t *off)
{
	size_t start = *off, end = start;
	char *s;

	while (end < size && data[end] != '\n')
		end++;
	s = malloc(end - start + 1);
	if (s == NULL)
		abort();
	memcpy(s, data + start, end - start);
	s[end - start] = '\0';
	*off = end < size ? end + 1 : end;
	return s;
}

/* fz_world - the snapshot and services, built on the first input and kept
 * (a fuzzer process is one daemon run); exits when they cannot be built */
static void fz_world(struct config **cfg, struct services **svc)
{
	static struct config *c;
	static struct services *v;

	if (c == NULL) {
		const char *path = getenv("GH_FUZZ_CONF"), *zone = getenv("GH_FUZZ_ZONE");
		const struct services_options so = {
			.dns_fixture = zone ? zone : "tests/fuzz/message.zone",
		};
		struct diag errs = { 0 };

		c = config_load(path ? path : "tests/fuzz/message.conf", &errs);
		if (c != NULL)
			v = services_new(c, &so, &errs);
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "fuzz_message: %s\n", errs.lines[i]);
		diag_clear(&errs);
		if (c == NULL || v == NULL)
			exit(2);
	}
	*cfg = c;
	*svc = v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct eml_callbacks cb = { fz_header, fz_eoh, fz_body };
	struct logger log = { .sink = LOG_SINK_NONE };
	struct config *cfg;
	struct services *svc;
	struct session *s;
	struct eml_stats st;
	size_t off = 0;
	char *from, *rcpt;
	FILE *fp;

	fz_world(&cfg, &svc);
	s = session_new("fuzz", NULL, config_ref(cfg), &log);
	if (s == NULL)
		abort();
	services_attach(svc, s);
	from = fz_line(data, size, &off);
	rcpt = fz_line(data, size, &off);
	{
		const char *fargv[] = { from, NULL }, *rargv[] = { rcpt, NULL };

		engine_connect(s, "fuzz.example", "192.0.2.1");
		engine_helo(s, "fuzz.example");
		for (int round = 0; round < 2; round++) {
			/* Twice on one session: the second round must not see the first. */
			if (verdict_is_final(engine_mail(s, fargv, NULL)) ||
			    verdict_is_final(engine_rcpt(s, rargv)) ||
			    verdict_is_final(engine_data(s)))
				continue;
			if (s->msg.nheaders != 0 || s->msg.nedits != 0)
				abort();
			fp = fmemopen((void *)(data + off), size - off, "rb");
			if (fp == NULL)
				continue;	/* fmemopen refuses size 0 on old glibc */
			if (eml_feed(fp, &cb, s, &st) == 0 && !st.stopped)
				engine_eom(s);
			fclose(fp);
			if (round == 0)
				engine_abort(s);
		}
	}
	free(from);
	free(rcpt);
	session_free(s);
	return 0;
}
