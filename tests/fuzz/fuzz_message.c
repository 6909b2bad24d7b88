/*
 * fuzz_message.c - libFuzzer target: one whole SMTP transaction through the
 * engine. The first line of the input is the MAIL FROM path, the second a
 * RCPT TO path, the rest the message file as test mode would read it. The
 * engine must answer every input without crashing, leaking or reading out
 * of bounds, and a message it answers must leave the session clean for the
 * next one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "mail/eml.h"
#include "engine/engine.h"
#include "util/log.h"
#include "engine/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_header(void *ctx, const char *n, const char *v, size_t len)
{
	return verdict_is_final(engine_header(ctx, n, v, len));
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct eml_callbacks cb = { fz_header, fz_eoh, fz_body };
	struct logger log = { .sink = LOG_SINK_NONE };
	struct config *cfg = config_load(NULL, NULL);
	struct session *s;
	struct eml_stats st;
	size_t off = 0;
	char *from, *rcpt;
	FILE *fp;

	if (cfg == NULL)
		abort();
	s = session_new("fuzz", NULL, cfg, &log);
	if (s == NULL)
		abort();
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
