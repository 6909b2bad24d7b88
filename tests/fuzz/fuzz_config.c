/*
 * fuzz_config.c - libFuzzer target: the configuration file loader.
 * The input is one gatehouse.conf, loaded by config_load() from a memfd
 * named /proc/self/fd/N (nothing is written to any file system): both
 * hand-written passes (comments blanked, ratelimit_* values quoted), then
 * libconfuse and the validators. Invariants:
 *   1. the load fails exactly when it reported errors;
 *   2. every error is "PATH:LINE: message" with LINE between 1 and the
 *      input's last line (the comment pass exists to keep libconfuse's
 *      count right). The one message without a place is config_load's
 *      "out of memory while loading the configuration" (malloc failed),
 *      accepted as it is;
 *   3. a snapshot that loaded prints (config_print_effective), and what it
 *      prints loads again, without errors, to the same text;
 *   4. the passes change line numbers, never values: when libconfuse alone
 *      (every directive a string, no validators, comments left to its
 *      lexer) also reads the input, every directive of the snapshot has the
 *      value it read. A ratelimit_* value with a space needs the quoting
 *      pass, and without it libconfuse takes the next word for a directive
 *      and fails, so such inputs are not compared.
 * config_unref() must free everything: the replay runs under ASan/LSan.
 *
 * Excluded, narrowly: inputs that set rules_dir or ratelimit_overrides are
 * skipped (the load would scan a directory or read a file anywhere: "/",
 * "/proc", "/dev/zero"; the rule language has its own target). They are
 * found by libconfuse alone, on the input as it is and with every
 * ratelimit_* line quoted; if neither reading gets through the file, an
 * input that names either directive is skipped. A snapshot that still has
 * one set (libconfuse alone would have seen it) aborts.
 * A load that leaves authserv_id empty fills in this host's name
 * (gethostname, then getaddrinfo through /etc/hosts): constant for a run,
 * as is the environment that "${VAR}" in the input reads.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <confuse.h>

#include "conf/config.h"
#include "conf/config_table.h"
#include "conf/rate_spec.h"
#include "util/diag.h"

#include "fuzz_memfd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* config.c's one message without a place: malloc failed */
static const char fz_oom[] = "out of memory while loading the configuration";

static struct fz_memfd fz_file = FZ_MEMFD_INIT;
static const char *fz_path = ""; /* the memfd's name, once written */

/* fz_write - the memfd now holds exactly DATA */
static void fz_write(const void *data, size_t size)
{
	fz_path = fz_memfd_write(&fz_file, "gatehouse.conf", data, size);
}

/* fz_check_errors - invariants 1 and 2 for one load of a file of NLINES lines */
static void fz_check_errors(const struct config *c, const struct diag *errs, size_t nlines)
{
	size_t plen = strlen(fz_path);

	if ((c == NULL) != (errs->n > 0)) {
		fprintf(stderr, "fuzz_config: load %s with %zu errors\n",
			c ? "succeeded" : "failed", errs->n);
		abort();
	}
	for (size_t i = 0; i < errs->n; i++) {
		const char *l = errs->lines[i], *p = l + plen;
		char *end;
		unsigned long line;

		if (strcmp(l, fz_oom) == 0)
			continue;
		if (strncmp(l, fz_path, plen) != 0 || *p != ':' || p[1] < '0' || p[1] > '9')
			goto bad;
		line = strtoul(p + 1, &end, 10);
		if (*end != ':' || line < 1 || line > nlines)
			goto bad;
		continue;
	bad:
		fprintf(stderr, "fuzz_config: error not PATH:LINE (1..%zu): %s\n", nlines, l);
		abort();
	}
}

static void fz_silent(cfg_t *cfg, const char *fmt, va_list ap)
{
	(void)cfg;
	(void)fmt;
	(void)ap;
}

/*
 * fz_raw_values - TEXT (LEN bytes) read by libconfuse alone, every
 * directive a string with its default: a malloc'd array of
 * config_ndirectives copies, in the table's order; NULL when libconfuse
 * refuses it. The cfg_t is gone before config_load runs: libconfuse's lexer
 * is global and only cfg_free() of a root section resets it, so a parse
 * left inside an unterminated comment would otherwise swallow the next
 * parse whole.
 */
static char **fz_raw_values(const char *text, size_t len)
{
	cfg_opt_t *opts = calloc(config_ndirectives + 1, sizeof(*opts));
	char **v = NULL;
	FILE *fp;
	cfg_t *cfg;

	if (opts == NULL)
		abort();
	for (size_t i = 0; i < config_ndirectives; i++)
		opts[i] = (cfg_opt_t)CFG_STR(config_directives[i].name, config_directives[i].def,
					     CFGF_NONE);
	opts[config_ndirectives] = (cfg_opt_t)CFG_END();
	cfg = cfg_init(opts, CFGF_NONE);
	fp = fmemopen((void *)text, len, "r");
	if (cfg == NULL || fp == NULL)
		abort();
	cfg_set_error_function(cfg, fz_silent);
	if (cfg_parse_fp(cfg, fp) == CFG_SUCCESS) {
		v = calloc(config_ndirectives, sizeof(*v));
		if (v == NULL)
			abort();
		for (size_t i = 0; i < config_ndirectives; i++)
			if ((v[i] = strdup(cfg_getstr(cfg, config_directives[i].name))) == NULL)
				abort();
	}
	fclose(fp);
	cfg_free(cfg);
	free(opts);
	return v;
}

/* fz_raw_quoted - DATA with every ratelimit_* line quoted, read by
 * libconfuse alone (see fz_raw_values) */
static char **fz_raw_quoted(const uint8_t *data, size_t size)
{
	size_t len = size;
	char *text = malloc(size + 1), **v;

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	text = rate_spec_quote_values(text, &len, NULL);
	if (text == NULL)
		abort();
	v = fz_raw_values(text, len);
	free(text);
	return v;
}

static void fz_raw_free(char **v)
{
	for (size_t i = 0; v != NULL && i < config_ndirectives; i++)
		free(v[i]);
	free(v);
}

/* fz_sets_files - RAW sets a directive that opens files */
static bool fz_sets_files(char **raw)
{
	const struct config_directive *rd = config_directive_find("rules_dir");
	const struct config_directive *ro = config_directive_find("ratelimit_overrides");

	return raw != NULL &&
	       (raw[rd - config_directives][0] != '\0' || raw[ro - config_directives][0] != '\0');
}

/* fz_skip - the input may make config_load open files (see the top) */
static bool fz_skip(const uint8_t *data, size_t size, char **raw)
{
	char **quoted = fz_raw_quoted(data, size);
	bool skip = fz_sets_files(raw) || fz_sets_files(quoted) ||
		    (raw == NULL && quoted == NULL &&
		     (memmem(data, size, "rules_dir", 9) != NULL ||
		      memmem(data, size, "ratelimit_overrides", 19) != NULL));

	fz_raw_free(quoted);
	return skip;
}

/* fz_same_values - invariant 4: C holds what libconfuse alone read */
static void fz_same_values(const struct config *c, char **raw)
{
	for (size_t i = 0; i < config_ndirectives; i++) {
		const struct config_directive *d = &config_directives[i];
		const char *field = (const char *)c + d->offset;
		const char *s = raw[i];
		bool same = true;

		switch (d->type) {
		case CDIR_STR:
			if (strcmp(d->name, "authserv_id") == 0 && s[0] == '\0')
				break; /* this host's name */
			same = strcmp(*(char *const *)field, s) == 0;
			break;
		case CDIR_INT:
			same = *(const long *)field == strtol(s, NULL, 0);
			break;
		case CDIR_BOOL:
			same = *(const bool *)field == (cfg_parse_boolean(s) == 1);
			break;
		case CDIR_MODE:
			same = *(const int *)field == (int)strtol(s, NULL, 8);
			break;
		case CDIR_CHOICE:
			same = *(const int *)field == d->parse(s);
			break;
		}
		if (!same) {
			fprintf(stderr, "fuzz_config: %s: libconfuse alone read '%s'\n", d->name,
				s);
			config_print_effective(stderr, c);
			abort();
		}
	}
}

/* fz_effective - what config_print_effective prints for C, malloc'd */
static char *fz_effective(const struct config *c, size_t *len)
{
	char *text = NULL;
	FILE *fp = open_memstream(&text, len);

	if (fp == NULL)
		abort();
	config_print_effective(fp, c);
	if (fclose(fp) != 0)
		abort();
	return text;
}

/* fz_reload - invariant 3: EFF (the effective text of a snapshot) loads
 * without errors and prints as EFF again */
static void fz_reload(const char *eff, size_t len)
{
	struct diag errs = { 0 };
	struct config *again;
	char *eff2;
	size_t len2;

	fz_write(eff, len);
	again = config_load(fz_path, &errs);
	if (again == NULL || errs.n != 0) {
		fprintf(stderr, "fuzz_config: the effective configuration does not load: %s\n%s",
			errs.n ? errs.lines[0] : "?", eff);
		abort();
	}
	eff2 = fz_effective(again, &len2);
	if (len2 != len || memcmp(eff, eff2, len) != 0) {
		fprintf(stderr, "fuzz_config: reloaded, it prints otherwise:\n%s\n--\n%s", eff,
			eff2);
		abort();
	}
	free(eff2);
	config_unref(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag errs = { 0 };
	char **raw;
	struct config *c;
	size_t nlines = 1;

	raw = fz_raw_values((const char *)data, size);
	if (fz_skip(data, size, raw)) {
		fz_raw_free(raw);
		return -1;
	}
	for (size_t i = 0; i < size; i++)
		nlines += data[i] == '\n';
	fz_write(data, size);
	c = config_load(fz_path, &errs);
	fz_check_errors(c, &errs, nlines);
	if (c != NULL) {
		size_t len;
		char *eff = fz_effective(c, &len);

		if (c->rules_dir[0] != '\0' || c->ratelimit_overrides[0] != '\0') {
			fprintf(stderr, "fuzz_config: loaded a file directive libconfuse "
					"alone did not see\n");
			abort();
		}
		if (raw != NULL)
			fz_same_values(c, raw);
		fz_reload(eff, len);
		free(eff);
		config_unref(c);
	}
	diag_clear(&errs);
	fz_raw_free(raw);
	return 0;
}
