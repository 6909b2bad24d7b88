/*
 * unit.h - helpers shared by the Check unit tests (tests/unit/check_*.c)
 *
 * Each check_*.c is its own program; these helpers are static inline so a
 * program that uses only some of them still builds with -Werror. They give a
 * test: a configuration (built-in defaults or a temporary file), a logger
 * whose lines land in memory so a test can assert on them, a session on that
 * configuration, and short forms of the engine calls that take argv arrays.
 * Every helper fails the running test (ck_assert) instead of returning an
 * error, so a test body reads as the scenario it checks.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "conf/config.h"
#include "engine/engine.h"
#include "util/log.h"
#include "engine/session.h"

/* unit_run - run SUITE (CK_FORK from the environment) and turn the result
 * into an exit status */
static inline int unit_run(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* unit_write_file - LEN bytes of DATA in a new temporary file; returns its
 * path (malloc'd; the caller unlinks and frees it) */
static inline char *unit_write_file(const void *data, size_t len)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	FILE *fp;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	ck_assert(asprintf(&path, "%s/gatehouse-unit-XXXXXX", dir) > 0);
	fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp %s failed", path);
	fp = fdopen(fd, "wb");
	ck_assert(fp != NULL);
	ck_assert(fwrite(data, 1, len, fp) == len);
	ck_assert(fclose(fp) == 0);
	return path;
}

/* unit_remove_file - unlink and free a path from unit_write_file */
static inline void unit_remove_file(char *path)
{
	if (path == NULL)
		return;
	unlink(path);
	free(path);
}

/* unit_config_defaults - the built-in defaults; fails the test on any error */
static inline struct config *unit_config_defaults(void)
{
	struct diag errs = { 0 };
	struct config *c = config_load(NULL, &errs);

	ck_assert_msg(c != NULL, "defaults do not load: %s", errs.n ? errs.lines[0] : "?");
	ck_assert_uint_eq(errs.n, 0);
	diag_clear(&errs);
	return c;
}

/* unit_config_text - load TEXT written to a temporary file. Errors go to
 * ERRS (the caller clears them); *PATH_OUT, when not NULL, receives the
 * file's path (the caller removes it), else the file is removed here. */
static inline struct config *unit_config_text(const char *text, struct diag *errs,
					      char **path_out)
{
	char *path = unit_write_file(text, strlen(text));
	struct config *c = config_load(path, errs);

	if (path_out != NULL)
		*path_out = path;
	else
		unit_remove_file(path);
	return c;
}

/* unit_config_ok - load TEXT and fail the test if it does not load */
static inline struct config *unit_config_ok(const char *text)
{
	struct diag errs = { 0 };
	struct config *c = unit_config_text(text, &errs, NULL);

	ck_assert_msg(c != NULL, "config does not load: %s", errs.n ? errs.lines[0] : "?");
	ck_assert_uint_eq(errs.n, 0);
	diag_clear(&errs);
	return c;
}

/* A logger whose lines go to memory (open_memstream) for assertions. */
struct unit_log {
	struct logger log;
	char *buf;
	size_t len;
};

/* unit_log_open - a STDERR-sink logger at LEVEL writing into UL->buf */
static inline void unit_log_open(struct unit_log *ul, int level)
{
	memset(ul, 0, sizeof(*ul));
	log_init(&ul->log, LOG_SINK_STDERR, level, LOG_MAIL);
	ul->log.fp = open_memstream(&ul->buf, &ul->len);
	ck_assert(ul->log.fp != NULL);
}

/* unit_log_text - everything logged so far, NUL-terminated */
static inline const char *unit_log_text(struct unit_log *ul)
{
	ck_assert(fflush(ul->log.fp) == 0);
	return ul->buf != NULL ? ul->buf : "";
}

/* unit_log_close - close the stream and free the text */
static inline void unit_log_close(struct unit_log *ul)
{
	if (ul->log.fp != NULL)
		fclose(ul->log.fp);
	free(ul->buf);
	memset(ul, 0, sizeof(*ul));
}

/* unit_log_none - a logger that writes nothing */
static inline void unit_log_none(struct logger *log)
{
	log_init(log, LOG_SINK_NONE, LOG_DEBUG, LOG_MAIL);
}

/* unit_session - a session called "t" on CFG (its reference moves in) */
static inline struct session *unit_session(struct config *cfg, const struct logger *log)
{
	struct session *s = session_new("t", NULL, cfg, log);

	ck_assert(s != NULL);
	return s;
}

/* unit_count - occurrences of NEEDLE in HAY */
static inline size_t unit_count(const char *hay, const char *needle)
{
	size_t n = 0, nlen = strlen(needle);

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += nlen)
		n++;
	return n;
}

/* Engine calls with a single path argument, as the MTA gives them. */
static inline enum gh_action unit_mail(struct session *s, const char *path)
{
	const char *argv[] = { path, NULL };

	return engine_mail(s, argv, NULL);
}

static inline enum gh_action unit_rcpt(struct session *s, const char *path)
{
	const char *argv[] = { path, NULL };

	return engine_rcpt(s, argv);
}

/* unit_header - a header field whose value is a C string */
static inline enum gh_action unit_header(struct session *s, const char *name,
					 const char *value)
{
	return engine_header(s, name, value, strlen(value));
}

/* unit_connect - connect and HELO from a well-behaved client */
static inline void unit_connect(struct session *s)
{
	ck_assert_int_eq(engine_connect(s, "mx.example.net", "192.0.2.1"), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_helo(s, "mx.example.net"), GH_ACT_CONTINUE);
}

/* unit_envelope - MAIL FROM, one RCPT and DATA, each answered continue */
static inline void unit_envelope(struct session *s, const char *from, const char *rcpt)
{
	ck_assert_int_eq(unit_mail(s, from), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, rcpt), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_data(s), GH_ACT_CONTINUE);
}

#endif
