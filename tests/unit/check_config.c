/*
 * check_config.c - configuration snapshots: the built-in defaults, the
 * directive table (documented, defaults valid and landing in struct config,
 * the sample config loading as written), values read from a file, every
 * kind of bad value reported as "FILE:LINE: ..." with the right line even
 * after comments, all semantic errors of a file reported in one load,
 * unreadable files, and reference counting through config_slot swaps.
 */
#include <errno.h>
#include <pthread.h>
#include <syslog.h>

#include "conf/config_table.h"
#include "unit.h"

/* config_test_field - where directive D's value lives in C */
static const void *config_test_field(const struct config *c, const struct config_directive *d)
{
	return (const char *)c + d->offset;
}

/* config_test_assert_defaults - every field of C holds its directive's default */
static void config_test_assert_defaults(const struct config *c)
{
	for (size_t i = 0; i < config_ndirectives; i++) {
		const struct config_directive *d = &config_directives[i];
		const void *f = config_test_field(c, d);

		switch (d->type) {
		case CDIR_INT:
			ck_assert_msg(*(const long *)f == strtol(d->def, NULL, 10),
				      "%s = %ld, default %s", d->name, *(const long *)f, d->def);
			break;
		case CDIR_BOOL:
			ck_assert_msg(*(const bool *)f == (strcmp(d->def, "yes") == 0),
				      "%s: default %s not applied", d->name, d->def);
			break;
		case CDIR_MODE:
			ck_assert_msg(*(const int *)f == (int)strtol(d->def, NULL, 8),
				      "%s = %o, default %s", d->name, *(const int *)f, d->def);
			break;
		case CDIR_CHOICE:
			ck_assert_msg(*(const int *)f == d->parse(d->def),
				      "%s = %d, default %s", d->name, *(const int *)f, d->def);
			break;
		case CDIR_STR:
			if (strcmp(d->name, "authserv_id") == 0 && d->def[0] == '\0')
				break;	/* "" means this host's name: checked elsewhere */
			ck_assert_msg(strcmp(*(char *const *)f, d->def) == 0, "%s = '%s', default '%s'",
				      d->name, *(char *const *)f, d->def);
			break;
		}
	}
}

START_TEST(config_defaults_load)
{
	struct config *c = unit_config_defaults();

	ck_assert_int_eq(atomic_load(&c->refs), 1);
	ck_assert_str_eq(c->path, "(defaults)");
	config_test_assert_defaults(c);
	/* the ones the rest of the code leans on, spelled out */
	ck_assert_str_eq(c->socket, "inet:8891@127.0.0.1");
	ck_assert_int_eq(c->socket_mode, 0660);
	ck_assert_int_eq(c->log_level, LOG_INFO);
	ck_assert_int_eq(c->log_facility, LOG_MAIL);
	ck_assert_str_eq(c->status_header, "X-Gatehouse");
	ck_assert(c->require_from);
	ck_assert(c->reject_bad_envelope);
	ck_assert_int_eq(c->max_header_line_octets, 998);
	ck_assert_int_eq(c->max_recipients, 0);
	ck_assert_int_eq(c->on_internal_error, CONFIG_ON_ERROR_TEMPFAIL);
	/* an empty authserv_id becomes this host's name */
	ck_assert_ptr_nonnull(c->authserv_id);
	ck_assert_uint_gt(strlen(c->authserv_id), 0);
	config_unref(c);
}
END_TEST

START_TEST(config_table_rows)
{
	ck_assert_uint_gt(config_ndirectives, 0);
	for (size_t i = 0; i < config_ndirectives; i++) {
		const struct config_directive *d = &config_directives[i];

		ck_assert_msg(d->name != NULL && d->name[0] != '\0', "row %zu has no name", i);
		ck_assert_msg(d->doc != NULL && strlen(d->doc) > 10, "%s: no documentation", d->name);
		ck_assert_msg(d->group != NULL && d->group[0] != '\0', "%s: no group", d->name);
		ck_assert_msg(d->def != NULL, "%s: no default", d->name);
		ck_assert_msg(config_directive_find(d->name) == d, "%s: find gives another row",
			      d->name);
		ck_assert_uint_lt(d->offset, sizeof(struct config));
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(d->name, config_directives[j].name) != 0,
				      "%s listed twice", d->name);
		switch (d->type) {
		case CDIR_INT: {
			char *end;
			long v = strtol(d->def, &end, 10);

			ck_assert_msg(*d->def != '\0' && *end == '\0', "%s: default '%s' is no integer",
				      d->name, d->def);
			ck_assert_msg(d->min <= d->max && v >= d->min && v <= d->max,
				      "%s: default %ld outside %ld..%ld", d->name, v, d->min, d->max);
			break;
		}
		case CDIR_BOOL:
			ck_assert_msg(strcmp(d->def, "yes") == 0 || strcmp(d->def, "no") == 0,
				      "%s: default '%s'", d->name, d->def);
			break;
		case CDIR_MODE: {
			char *end;
			long v = strtol(d->def, &end, 8);

			ck_assert_msg(*end == '\0' && v >= 0 && v <= 0777, "%s: default '%s'",
				      d->name, d->def);
			break;
		}
		case CDIR_CHOICE: {
			bool listed = false;

			ck_assert_msg(d->choices != NULL && d->parse != NULL, "%s: no choices", d->name);
			for (const char *const *w = d->choices; *w; w++) {
				listed |= strcmp(*w, d->def) == 0;
				ck_assert_msg(d->parse(*w) >= 0, "%s: choice '%s' does not parse",
					      d->name, *w);
			}
			ck_assert_msg(listed, "%s: default '%s' is not a choice", d->name, d->def);
			break;
		}
		case CDIR_STR:
			ck_assert_msg(d->check == NULL || d->check(d->def) == NULL,
				      "%s: default '%s' fails its check: %s", d->name, d->def,
				      d->check(d->def));
			break;
		}
	}
	ck_assert_ptr_null(config_directive_find("no_such_directive"));
	ck_assert_ptr_null(config_directive_find(""));
}
END_TEST

/* config_test_default_line - "name = default" as config syntax */
static void config_test_default_line(FILE *fp, const struct config_directive *d)
{
	if (d->type == CDIR_STR || d->type == CDIR_MODE)
		fprintf(fp, "%s = \"%s\"\n", d->name, d->def);
	else
		fprintf(fp, "%s = %s\n", d->name, d->def);
}

START_TEST(config_defaults_written_out_load)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct config *c;

	/* every directive set explicitly to its default validates and loads
	 * to the same values as no file at all */
	for (size_t i = 0; i < config_ndirectives; i++)
		config_test_default_line(fp, &config_directives[i]);
	fclose(fp);
	c = unit_config_ok(text);
	config_test_assert_defaults(c);
	config_unref(c);
	free(text);
}
END_TEST

START_TEST(config_sample_uncommented_loads)
{
	char *sample = NULL, *text = NULL, *line = NULL;
	size_t slen = 0, tlen = 0, cap = 0;
	FILE *in, *out;
	struct config *c;
	size_t set = 0;

	/* The sample config shows each directive as "#name = default": with
	 * those lines uncommented (and all its comments kept) it must load. */
	in = open_memstream(&sample, &slen);
	config_print_sample(in);
	fclose(in);
	in = fmemopen(sample, slen, "r");
	out = open_memstream(&text, &tlen);
	while (getline(&line, &cap, in) > 0) {
		const char *eq = strstr(line, " = ");

		if (line[0] == '#' && line[1] != ' ' && line[1] != '#' && eq != NULL) {
			fputs(line + 1, out);
			set++;
		} else {
			fputs(line, out);
		}
	}
	free(line);
	fclose(in);
	fclose(out);
	ck_assert_uint_eq(set, config_ndirectives);
	c = unit_config_ok(text);
	config_test_assert_defaults(c);
	config_unref(c);
	free(text);
	free(sample);
}
END_TEST

START_TEST(config_values_from_file)
{
	char *path = NULL;
	struct diag errs = { 0 };
	struct config *c = unit_config_text(
		"# a small config\n"
		"socket = \"unix:/run/gatehouse/gatehouse.sock\"\n"
		"socket_mode = \"0600\"\n"
		"log_level = debug   # every phase\n"
		"log_facility = local3\n"
		"authserv_id = \"mx.example.org\"\n"
		"status_header = \"X-Checked\"\n"
		"require_from = no\n"
		"reject_bad_envelope = false\n"
		"max_header_line_octets = 2000\n"
		"max_headers = 50\n"
		"max_header_bytes = 4096\n"
		"max_recipients = 100\n"
		"on_internal_error = accept\n", &errs, &path);

	ck_assert_msg(c != NULL, "%s", errs.n ? errs.lines[0] : "?");
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_str_eq(c->path, path);
	ck_assert_str_eq(c->socket, "unix:/run/gatehouse/gatehouse.sock");
	ck_assert_int_eq(c->socket_mode, 0600);
	ck_assert_int_eq(c->log_level, LOG_DEBUG);
	ck_assert_int_eq(c->log_facility, LOG_LOCAL3);
	ck_assert_str_eq(c->authserv_id, "mx.example.org");
	ck_assert_str_eq(c->status_header, "X-Checked");
	ck_assert(!c->require_from);
	ck_assert(!c->reject_bad_envelope);
	ck_assert_int_eq(c->max_header_line_octets, 2000);
	ck_assert_int_eq(c->max_headers, 50);
	ck_assert_int_eq(c->max_header_bytes, 4096);
	ck_assert_int_eq(c->max_recipients, 100);
	ck_assert_int_eq(c->on_internal_error, CONFIG_ON_ERROR_ACCEPT);
	/* untouched directives keep their defaults */
	ck_assert_str_eq(c->socket_group, "postfix");
	ck_assert_int_eq(c->milter_timeout_s, 300);
	ck_assert_int_eq(c->milter_session_timeout_s, 7210); /* libmilter's */
	config_unref(c);
	unit_remove_file(path);
	diag_clear(&errs);
}
END_TEST

/* One bad file: its text, the line the error must name, and a fragment of
 * the message. Three lines of comments come first in every case (see
 * config_bad_values), so a line count thrown off by comments shows. */
static const struct {
	const char *text;
	unsigned line;
	const char *msg;
} config_bad[] = {
	{ "max_headers = 9\n", 4, "max_headers: 9 is out of range 10..1000000" },
	{ "max_headers = 1000001\n", 4, "max_headers: 1000001 is out of range" },
	{ "max_header_line_octets = 77\n", 4, "max_header_line_octets: 77 is out of range" },
	{ "listen_backlog = 0\n", 4, "listen_backlog: 0 is out of range 1..65535" },
	{ "max_recipients = -1\n", 4, "max_recipients: -1 is out of range" },
	{ "drain_timeout_ms = 600001\n", 4, "drain_timeout_ms" },
	{ "\n\nmax_header_bytes = 1023\n", 6, "max_header_bytes: 1023 is out of range" },
	{ "log_level = loud\n", 4, "log_level: unknown value 'loud' (expected one of: err," },
	{ "log_facility = kern\n", 4, "log_facility: unknown value 'kern'" },
	{ "on_internal_error = reject\n", 4, "on_internal_error: unknown value 'reject'" },
	{ "socket = \"tcp:8891@localhost\"\n", 4, "socket: expected inet:PORT@HOST" },
	{ "socket = \"inet:8891\"\n", 4, "socket: expected PORT@HOST" },
	{ "socket = \"inet:@127.0.0.1\"\n", 4, "socket: expected PORT@HOST" },
	{ "socket = \"inet:0@127.0.0.1\"\n", 4, "socket: port must be between 1 and 65535" },
	{ "socket = \"inet:65536@127.0.0.1\"\n", 4, "socket: port must be between" },
	{ "socket = \"inet:88a1@127.0.0.1\"\n", 4, "socket: port must be a number" },
	{ "socket = \"unix:run/gatehouse.sock\"\n", 4, "socket: a unix socket needs an absolute path" },
	{ "socket = \"unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n", 4, "socket: unix socket path is longer" },
	{ "socket_mode = \"999\"\n", 4, "socket_mode: '999' is not an octal mode" },
	{ "socket_mode = \"01000\"\n", 4, "socket_mode: '01000' is not an octal mode" },
	{ "socket_mode = \"rw\"\n", 4, "socket_mode: 'rw' is not an octal mode" },
	{ "socket_mode = \"\"\n", 4, "socket_mode: '' is not an octal mode" },
	{ "status_header = \"X Gatehouse\"\n", 4, "status_header: a header name is printable ASCII" },
	{ "status_header = \"X-Gatehouse:\"\n", 4, "status_header: a header name" },
	{ "user = \"mail user\"\n", 4, "user: must not contain spaces" },
	{ "pid_file = \"run/gatehouse.pid\"\n", 4, "pid_file: must be an absolute path" },
	/* libconfuse's own errors name the line too */
	{ "no_such_directive = 1\n", 4, "no such option 'no_such_directive'" },
	{ "require_from = maybe\n", 4, "require_from" },
	{ "max_headers = lots\n", 4, "max_headers" },
	/* libconfuse 3.3 fails on an empty name without a word: ours has the line */
	{ "\"\" = 1\n", 4, "syntax error" },
	{ "max_headers = 20\n${GATEHOUSE_TEST_UNSET} = 1\n", 5, "syntax error" },
	/* "/ *" inside a word starts no comment (libconfuse's lexer drops the
	 * "*"): the rest of the file was silently dropped, now the "*" is named */
	{ "status_header = X-a/*b\nmax_headers = 20\n", 4, "a '*' outside quotes" },
	/* libconfuse 3.3 drops an unclosed string where a name should start,
	 * and a comment the comment pass blanked never reaches it: without a
	 * check of our own, the rest of the file was lost without a word */
	{ "max_headers = 20\n\"rules_dir = /etc\n", 5, "a quoted string opened here is never closed" },
	{ "max_headers = 20\n/* to the end\nmax_headers = 30\n", 5,
	  "a /* comment opened here is never closed" },
	/* libconfuse's lexer drops a bare "*": "@lists.example.org" was checked */
	{ "max_headers = 20\ninternal_allowed_from = *@lists.example.org\n", 5,
	  "a '*' outside quotes, which the parser drops" },
};

START_TEST(config_bad_values)
{
	const char *head = "# gatehouse.conf for a test\n// a second comment style\n/* and a third */\n";

	for (size_t i = 0; i < sizeof(config_bad) / sizeof(config_bad[0]); i++) {
		struct diag errs = { 0 };
		char *text, *path = NULL, *want;
		struct config *c;

		ck_assert(asprintf(&text, "%s%s", head, config_bad[i].text) > 0);
		c = unit_config_text(text, &errs, &path);
		ck_assert_msg(c == NULL, "'%s' was accepted", config_bad[i].text);
		ck_assert_msg(errs.n >= 1, "'%s': no error line", config_bad[i].text);
		ck_assert(asprintf(&want, "%s:%u: ", path, config_bad[i].line) > 0);
		ck_assert_msg(strncmp(errs.lines[0], want, strlen(want)) == 0,
			      "'%s': got '%s', want it to start '%s'", config_bad[i].text,
			      errs.lines[0], want);
		ck_assert_msg(strstr(errs.lines[0], config_bad[i].msg) != NULL,
			      "'%s': got '%s', want '%s' in it", config_bad[i].text, errs.lines[0],
			      config_bad[i].msg);
		free(want);
		free(text);
		unit_remove_file(path);
		diag_clear(&errs);
	}
}
END_TEST

START_TEST(config_all_errors_reported)
{
	struct diag errs = { 0 };
	char *path = NULL;
	const char *want[] = {
		"4: max_headers: 5 is out of range",
		"6: log_level: unknown value 'loud'",
		"9: socket: expected inet:PORT@HOST",
		"10: socket_mode: '999' is not an octal mode",
		"12: status_header: a header name",
	};
	struct config *c = unit_config_text(
		"# several mistakes in one file\n"		/* 1 */
		"# each must be reported, on its own line\n"	/* 2 */
		"\n"						/* 3 */
		"max_headers = 5\n"				/* 4 */
		"// a comment\n"				/* 5 */
		"log_level = loud\n"				/* 6 */
		"/* a block\n"					/* 7 */
		"   comment */\n"				/* 8 */
		"socket = \"tcp:1\"\n"				/* 9 */
		"socket_mode = \"999\"   # trailing\n"		/* 10 */
		"max_recipients = 10\n"				/* 11: fine */
		"status_header = \"Bad Name\"\n",		/* 12 */
		&errs, &path);

	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < errs.n; i++) {
		char *expect;

		ck_assert(asprintf(&expect, "%s:%s", path, want[i]) > 0);
		ck_assert_msg(strncmp(errs.lines[i], expect, strlen(expect)) == 0,
			      "error %zu is '%s', want '%s...'", i, errs.lines[i], expect);
		free(expect);
	}
	unit_remove_file(path);
	diag_clear(&errs);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_null(errs.lines);
}
END_TEST

START_TEST(config_comment_chars_in_strings)
{
	/* "#", "//" and "/ *" inside quotes are part of the value, not comments */
	struct config *c = unit_config_ok(
		"# comment\n"
		"authserv_id = \"mx#1//a/*b*/\"   # comment after\n"
		"pid_file = '/run/x#y.pid' // another\n"
		"status_header = \"X-A\\\"B\"\n"
		"max_headers = 20\n");

	ck_assert_str_eq(c->authserv_id, "mx#1//a/*b*/");
	ck_assert_str_eq(c->pid_file, "/run/x#y.pid");
	ck_assert_str_eq(c->status_header, "X-A\"B");
	ck_assert_int_eq(c->max_headers, 20);
	config_unref(c);
}
END_TEST

START_TEST(config_comment_openers_inside_words)
{
	/* libconfuse reads "//" inside an unquoted word as part of it, and
	 * "${...}" as one token even in a string: the comment pass must agree,
	 * or the value is cut short without a word */
	struct config *c = unit_config_ok("dmarc_report_sendmail = /usr//sbin/sendmail\n"
					  "pid_file = /run/g.pid // a comment\n"
					  "dmarc_reject_when_none = \"a${\"}#b\"   # GATEHOUSE_TEST\n"
					  "dmarc_report_org_name = ${#:-Org}\n"
					  "internal_allowed_from = \"*@lists.example.org\"\n"
					  "max_headers = 20\n");

	ck_assert_str_eq(c->dmarc_report_sendmail, "/usr//sbin/sendmail");
	ck_assert_str_eq(c->pid_file, "/run/g.pid");
	ck_assert_str_eq(c->dmarc_reject_when_none, "a#b");
	ck_assert_str_eq(c->dmarc_report_org_name, "Org");
	ck_assert_str_eq(c->internal_allowed_from, "*@lists.example.org");
	ck_assert_int_eq(c->max_headers, 20);
	config_unref(c);
}
END_TEST

START_TEST(config_quoting_follows_strings)
{
	/* a ratelimit_* line inside a string that an earlier line opened is
	 * part of the string: quoting it would end the string there */
	struct config *c = unit_config_ok("dmarc_reject_when_none = \"a\n"
					  "ratelimit_login = 5/1d burst 5\n"
					  "\"\nmax_headers = 20\n");
	struct diag errs = { 0 };
	char *path = NULL;

	ck_assert_str_eq(c->dmarc_reject_when_none, "a\nratelimit_login = 5/1d burst 5\n");
	ck_assert_str_eq(c->ratelimit_login, "");
	ck_assert_int_eq(c->max_headers, 20);
	config_unref(c);
	/* a quote in a value is left to the lexer, which opens a string there
	 * (in which "#" is no comment): quoting the value would change that */
	c = unit_config_text("ratelimit_redis = a' b\n# c\nmax_headers = 1\n", &errs, &path);
	ck_assert_ptr_null(c);
	ck_assert_uint_ge(errs.n, 1);
	for (size_t i = 0; i < errs.n; i++) {
		unsigned long line = strtoul(errs.lines[i] + strlen(path) + 1, NULL, 10);

		ck_assert_msg(line >= 1 && line <= 4, "past the end: %s", errs.lines[i]);
	}
	ck_assert_ptr_nonnull(strstr(errs.lines[errs.n - 1], ":1: a quoted string opened here"));
	unit_remove_file(path);
	diag_clear(&errs);
}
END_TEST

START_TEST(config_nul_byte_refused)
{
	/* libconfuse ends a name or a value at a NUL without a word */
	static const char text[] = "status_header = \"X-A\0B\"\nmax_headers = 20\n";
	char *path = unit_write_file(text, sizeof(text) - 1), *want;
	struct diag errs = { 0 };
	struct config *c = config_load(path, &errs);

	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert(asprintf(&want, "%s:1: ", path) > 0);
	ck_assert_msg(strncmp(errs.lines[0], want, strlen(want)) == 0, "%s", errs.lines[0]);
	ck_assert_ptr_nonnull(strstr(errs.lines[0], "NUL"));
	free(want);
	unit_remove_file(path);
	diag_clear(&errs);
}
END_TEST

START_TEST(config_errors_appended)
{
	struct diag errs = { 0 };
	struct config *c;

	c = unit_config_text("max_headers = 1\n", &errs, NULL);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 1);
	/* a second failed load adds to the list instead of replacing it */
	c = unit_config_text("listen_backlog = 0\n", &errs, NULL);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_ptr_nonnull(strstr(errs.lines[0], "max_headers"));
	ck_assert_ptr_nonnull(strstr(errs.lines[1], "listen_backlog"));
	/* and a good load with old errors in the list still succeeds */
	c = unit_config_text("max_headers = 100\n", &errs, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(errs.n, 2);
	config_unref(c);
	diag_clear(&errs);
}
END_TEST

START_TEST(config_errors_without_list)
{
	/* no list to report into: a bad file still does not load */
	const char *text = "max_headers = 1\nlog_level = loud\n";
	char *path = unit_write_file(text, strlen(text));
	struct config *c = config_load(path, NULL);

	ck_assert_ptr_null(c);
	unit_remove_file(path);
	c = config_load("/nonexistent/gatehouse.conf", NULL);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(config_unreadable_file)
{
	struct diag errs = { 0 };
	const char *path = "/nonexistent/dir/gatehouse.conf";
	struct config *c = config_load(path, &errs);

	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strncmp(errs.lines[0], "/nonexistent/dir/gatehouse.conf:", strlen(path) + 1) == 0,
		      "%s", errs.lines[0]);
	ck_assert_ptr_nonnull(strstr(errs.lines[0], strerror(ENOENT)));
	diag_clear(&errs);
	/* a directory opens but does not read: an error, not an exit */
	c = config_load("/", &errs);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strncmp(errs.lines[0], "/:0: ", 5) == 0, "%s", errs.lines[0]);
	ck_assert_ptr_nonnull(strstr(errs.lines[0], strerror(EISDIR)));
	diag_clear(&errs);
}
END_TEST

START_TEST(config_empty_file)
{
	struct config *c = unit_config_ok("");

	config_test_assert_defaults(c);
	config_unref(c);
	c = unit_config_ok("# only comments\n\n// here\n");
	config_test_assert_defaults(c);
	config_unref(c);
}
END_TEST

START_TEST(config_refcount)
{
	struct config *c = unit_config_defaults();

	ck_assert_ptr_eq(config_ref(c), c);
	ck_assert_int_eq(atomic_load(&c->refs), 2);
	config_unref(c);
	ck_assert_int_eq(atomic_load(&c->refs), 1);
	/* still usable: ASan reports it if the unref above freed it */
	ck_assert_str_eq(c->status_header, "X-Gatehouse");
	config_unref(c);
	config_unref(NULL);
}
END_TEST

START_TEST(config_slot_swap_keeps_old_alive)
{
	struct config_slot slot;
	struct config *old = unit_config_ok("max_headers = 11\n");
	struct config *fresh = unit_config_ok("max_headers = 22\n");
	struct config *held, *now;

	config_slot_init(&slot, old);
	held = config_slot_get(&slot);		/* a message in flight */
	ck_assert_ptr_eq(held, old);
	ck_assert_int_eq(atomic_load(&old->refs), 2);

	config_slot_swap(&slot, fresh);		/* SIGHUP */
	/* the message keeps its snapshot, intact */
	ck_assert_int_eq(atomic_load(&held->refs), 1);
	ck_assert_int_eq(held->max_headers, 11);
	ck_assert_str_eq(held->socket, "inet:8891@127.0.0.1");

	now = config_slot_get(&slot);		/* the next message */
	ck_assert_ptr_eq(now, fresh);
	ck_assert_int_eq(now->max_headers, 22);
	ck_assert_int_eq(atomic_load(&fresh->refs), 2);

	config_unref(held);			/* the old snapshot goes here (LSan) */
	config_unref(now);
	ck_assert_int_eq(atomic_load(&fresh->refs), 1);
	config_slot_destroy(&slot);
	ck_assert_ptr_null(slot.current);
}
END_TEST

/* Readers take and drop references while the main thread swaps. */
struct config_test_reader {
	struct config_slot *slot;
	atomic_bool *stop;
	long seen;
};

static void *config_test_read(void *arg)
{
	struct config_test_reader *r = arg;

	while (!atomic_load(r->stop)) {
		struct config *c = config_slot_get(r->slot);

		r->seen += c->max_headers > 0;
		config_unref(c);
	}
	return NULL;
}

START_TEST(config_slot_concurrent)
{
	struct config_slot slot;
	atomic_bool stop = false;
	struct config_test_reader r[4];
	pthread_t t[4];

	config_slot_init(&slot, unit_config_defaults());
	for (int i = 0; i < 4; i++) {
		r[i] = (struct config_test_reader){ &slot, &stop, 0 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, config_test_read, &r[i]), 0);
	}
	for (int i = 0; i < 200; i++)
		config_slot_swap(&slot, unit_config_defaults());
	atomic_store(&stop, true);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	ck_assert_int_eq(atomic_load(&slot.current->refs), 1);
	config_slot_destroy(&slot);
}
END_TEST

START_TEST(config_docs_list_every_directive)
{
	char *sample = NULL, *man = NULL, *eff = NULL;
	size_t n1 = 0, n2 = 0, n3 = 0;
	FILE *fp;
	struct config *c = unit_config_ok("max_headers = 4242\n");

	fp = open_memstream(&sample, &n1);
	config_print_sample(fp);
	fclose(fp);
	fp = open_memstream(&man, &n2);
	config_print_man(fp);
	fclose(fp);
	fp = open_memstream(&eff, &n3);
	config_print_effective(fp, c);
	fclose(fp);
	for (size_t i = 0; i < config_ndirectives; i++) {
		const char *name = config_directives[i].name;

		ck_assert_msg(strstr(sample, name) != NULL, "sample lacks %s", name);
		ck_assert_msg(strstr(eff, name) != NULL, "effective config lacks %s", name);
		char *tag;

		ck_assert_msg(strstr(sample, name) != NULL, "sample lacks %s", name);
		ck_assert_msg(strstr(eff, name) != NULL, "effective config lacks %s", name);
		ck_assert(asprintf(&tag, ".TP\n.B %s\n", name) > 0);
		ck_assert_msg(strstr(man, tag) != NULL, "man page lacks %s", name);
		free(tag);
	}
	ck_assert_ptr_nonnull(strstr(eff, "4242"));
	config_unref(c);
	free(sample);
	free(man);
	free(eff);
}
END_TEST

START_TEST(config_effective_reloads)
{
	char *eff = NULL;
	size_t n = 0;
	FILE *fp;
	struct config *c = unit_config_ok("socket = \"unix:/run/g.sock\"\nsocket_mode = \"0640\"\n"
					  "log_facility = local5\nrequire_from = no\n"
					  "max_recipients = 7\n"
					  "dmarc_reject_when_none = \"mx\\\\a\\\"b\\${HOME}#c//d\"\n");
	struct config *again;

	/* what -n prints is itself a config that loads to the same values */
	fp = open_memstream(&eff, &n);
	config_print_effective(fp, c);
	fclose(fp);
	again = unit_config_ok(eff);
	for (size_t i = 0; i < config_ndirectives; i++) {
		const struct config_directive *d = &config_directives[i];
		const void *a = config_test_field(c, d), *b = config_test_field(again, d);

		switch (d->type) {
		case CDIR_STR:
			ck_assert_str_eq(*(char *const *)a, *(char *const *)b);
			break;
		case CDIR_INT:
			ck_assert_int_eq(*(const long *)a, *(const long *)b);
			break;
		case CDIR_BOOL:
			ck_assert_int_eq(*(const bool *)a, *(const bool *)b);
			break;
		default:
			ck_assert_int_eq(*(const int *)a, *(const int *)b);
			break;
		}
	}
	ck_assert_int_eq(again->socket_mode, 0640);
	ck_assert_str_eq(c->dmarc_reject_when_none, "mx\\a\"b${HOME}#c//d");
	/* quotes, backslashes and "${" come back as they were (a free-text
	 * directive: authserv_id refuses quotes and backslashes) */
	ck_assert_str_eq(again->dmarc_reject_when_none, "mx\\a\"b${HOME}#c//d");
	config_unref(again);
	config_unref(c);
	free(eff);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, config_defaults_load);
	tcase_add_test(tc, config_table_rows);
	tcase_add_test(tc, config_defaults_written_out_load);
	tcase_add_test(tc, config_sample_uncommented_loads);
	tcase_add_test(tc, config_values_from_file);
	tcase_add_test(tc, config_bad_values);
	tcase_add_test(tc, config_all_errors_reported);
	tcase_add_test(tc, config_comment_chars_in_strings);
	tcase_add_test(tc, config_comment_openers_inside_words);
	tcase_add_test(tc, config_quoting_follows_strings);
	tcase_add_test(tc, config_nul_byte_refused);
	tcase_add_test(tc, config_errors_appended);
	tcase_add_test(tc, config_errors_without_list);
	tcase_add_test(tc, config_unreadable_file);
	tcase_add_test(tc, config_empty_file);
	tcase_add_test(tc, config_refcount);
	tcase_add_test(tc, config_slot_swap_keeps_old_alive);
	tcase_add_test(tc, config_slot_concurrent);
	tcase_add_test(tc, config_docs_list_every_directive);
	tcase_add_test(tc, config_effective_reloads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(config_suite());
}
