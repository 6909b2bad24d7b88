/*
 * config.c - load a configuration snapshot with libconfuse (see config.h)
 *
 * The libconfuse option list is built from config_table.c at each load, so
 * the table is the only list of directives. Every value is checked by one
 * validator that reads its bounds from the table; a validator reports and
 * returns 0 so parsing goes on and one `gatehouse -n` shows every semantic
 * error at once. A syntax error stops libconfuse at that line.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <confuse.h>

#include "conf/config.h"
#include "conf/config_table.h"
#include "conf/rate_overrides.h"
#include "conf/rate_spec.h"
#include "rules/rule.h"
#include "util/strbuf.h"

/*
 * libconfuse's error and validation callbacks take no user pointer, so the
 * error list of the load in progress is reached through this thread-local.
 * It is set only for the duration of one cfg_parse() on the loading thread.
 */
static _Thread_local struct diag *config_load_errors;
/* Errors seen by the load in progress, counted even when they cannot be
 * stored (no list, or out of memory): any error means no snapshot. */
static _Thread_local size_t config_load_nerrors;

/* config_errfunc - libconfuse reports an error: record it as FILE:LINE: message */
static void config_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	struct strbuf sb;
	va_list aq;
	int n;
	char *msg;

	config_load_nerrors++;
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	msg = malloc((size_t)n + 1);
	if (msg == NULL)
		return;
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	strbuf_init(&sb);
	if (cfg != NULL && cfg->filename != NULL)
		strbuf_printf(&sb, "%s:%d: %s", cfg->filename, cfg->line, msg);
	else
		strbuf_puts(&sb, msg);
	diag_push(config_load_errors, strbuf_cstr(&sb));
	strbuf_free(&sb);
	free(msg);
}

/* config_parse_mode - octal permission bits "0660" -> 0660; -1 if not */
static long config_parse_mode(const char *s)
{
	char *end;
	long v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 8);
	if (errno != 0 || *end != '\0' || v < 0 || v > 0777)
		return -1;
	return v;
}

static bool choice_known(const struct config_directive *d, const char *w)
{
	for (const char *const *c = d->choices; *c; c++)
		if (strcmp(*c, w) == 0)
			return true;
	return false;
}

/* config_validate - one validator for every directive, driven by its row */
static int config_validate(cfg_t *cfg, cfg_opt_t *opt)
{
	const struct config_directive *d = config_directive_find(opt->name);
	const char *why;

	if (d == NULL)
		return 0;
	switch (d->type) {
	case CDIR_INT: {
		long v = cfg_opt_getnint(opt, 0);

		if (v < d->min || v > d->max)
			cfg_error(cfg, "%s: %ld is out of range %ld..%ld", d->name, v, d->min,
				  d->max);
		break;
	}
	case CDIR_MODE:
		if (config_parse_mode(cfg_opt_getnstr(opt, 0)) < 0)
			cfg_error(cfg, "%s: '%s' is not an octal mode between 0 and 0777", d->name,
				  cfg_opt_getnstr(opt, 0));
		break;
	case CDIR_CHOICE:
		if (!choice_known(d, cfg_opt_getnstr(opt, 0))) {
			struct strbuf sb;

			strbuf_init(&sb);
			for (const char *const *c = d->choices; *c; c++)
				strbuf_printf(&sb, "%s%s", c == d->choices ? "" : ", ", *c);
			cfg_error(cfg, "%s: unknown value '%s' (expected one of: %s)", d->name,
				  cfg_opt_getnstr(opt, 0), strbuf_cstr(&sb));
			strbuf_free(&sb);
		}
		break;
	case CDIR_STR:
		if (d->check != NULL && (why = d->check(cfg_opt_getnstr(opt, 0))) != NULL)
			cfg_error(cfg, "%s: %s", d->name, why);
		break;
	case CDIR_BOOL:
		break;
	}
	return 0; /* keep parsing: report every error in one run */
}

/* config_build_opts - libconfuse's option array from the table */
static cfg_opt_t *config_build_opts(void)
{
	cfg_opt_t *opts = calloc(config_ndirectives + 1, sizeof(*opts));

	if (opts == NULL)
		return NULL;
	for (size_t i = 0; i < config_ndirectives; i++) {
		const struct config_directive *d = &config_directives[i];

		switch (d->type) {
		case CDIR_INT:
			opts[i] = (cfg_opt_t)CFG_INT(d->name, strtol(d->def, NULL, 10), CFGF_NONE);
			break;
		case CDIR_BOOL:
			opts[i] = (cfg_opt_t)CFG_BOOL(
				d->name, strcmp(d->def, "yes") == 0 ? cfg_true : cfg_false,
				CFGF_NONE);
			break;
		default:
			opts[i] = (cfg_opt_t)CFG_STR(d->name, d->def, CFGF_NONE);
			break;
		}
		opts[i].validcb = config_validate;
	}
	opts[config_ndirectives] = (cfg_opt_t)CFG_END();
	return opts;
}

/* config_fill - copy parsed values into C; false when out of memory */
static bool config_fill(struct config *c, cfg_t *cfg)
{
	for (size_t i = 0; i < config_ndirectives; i++) {
		const struct config_directive *d = &config_directives[i];
		char *field = (char *)c + d->offset;

		switch (d->type) {
		case CDIR_STR: {
			char *s = strdup(cfg_getstr(cfg, d->name));

			if (s == NULL)
				return false;
			*(char **)field = s;
			break;
		}
		case CDIR_INT:
			*(long *)field = cfg_getint(cfg, d->name);
			break;
		case CDIR_BOOL:
			*(bool *)field = cfg_getbool(cfg, d->name) == cfg_true;
			break;
		case CDIR_MODE:
			*(int *)field = (int)config_parse_mode(cfg_getstr(cfg, d->name));
			break;
		case CDIR_CHOICE:
			*(int *)field = d->parse(cfg_getstr(cfg, d->name));
			break;
		}
	}
	return true;
}

/* config_derive - values computed once from the parsed strings; false on OOM
 * (the strings passed their validators, so only memory can fail here) */
static bool config_derive(struct config *c)
{
	const char *why;

	return cidr_list_parse(c->internal_networks, &c->internal_nets, &why) == 0 &&
	       cidr_list_parse(c->trusted_forwarders, &c->trusted_fwd, &why) == 0;
}

/* config_load_rules - compile rules_dir (relative: to the config file's
 * directory) into C->rules; 0, or -1 with the errors in ERRS */
static int config_load_rules(struct config *c, const char *path, struct diag *errs)
{
	struct rule_limits lim = {
		.match_limit = (unsigned long)c->rules_match_limit,
		.depth_limit = (unsigned long)c->rules_depth_limit,
		.heap_limit_kb = (unsigned long)c->rules_heap_limit_kb,
		.no_prefilter = !c->rules_prefilter,
		.max_size = (unsigned long)c->rules_max_size,
	};
	char *dir = NULL, *real;

	if (c->rules_dir[0] == '\0')
		return 0;
	if (c->rules_dir[0] != '/' && path != NULL && strchr(path, '/') != NULL) {
		if (asprintf(&dir, "%.*s/%s", (int)(strrchr(path, '/') - path), path,
			     c->rules_dir) < 0)
			return -1;
	}
	/* Canonical, so rule hits and errors name the file the same way
	 * whatever the working directory was. */
	real = realpath(dir ? dir : c->rules_dir, NULL);
	c->rules = ruleset_load(real ? real : dir ? dir : c->rules_dir, &lim, errs);
	free(real);
	free(dir);
	return c->rules != NULL ? 0 : -1;
}

static void config_free(struct config *c)
{
	if (c == NULL)
		return;
	if (c->outbound_free != NULL) /* built above conf: see engine/snapshot.c */
		c->outbound_free(c->outbound);
	ruleset_free(c->rules);
	rate_overrides_free(&c->ratelimit_override_table);
	cidr_list_free(&c->internal_nets);
	cidr_list_free(&c->trusted_fwd);
	for (size_t i = 0; i < config_ndirectives; i++)
		if (config_directives[i].type == CDIR_STR)
			free(*(char **)((char *)c + config_directives[i].offset));
	free(c->path);
	free(c);
}

/* config_default_authserv_id - this host's fully qualified name, when
 * authserv_id is empty: gethostname() when it has a dot, else the canonical
 * name the resolver (/etc/hosts first) gives for it, else the short name.
 * Postfix's myhostname comes out the same way, so our Authentication-Results
 * and Postfix's Received lines name one host. */
static char *config_default_authserv_id(void)
{
	char host[HOST_NAME_MAX + 1];
	struct addrinfo hints = { .ai_flags = AI_CANONNAME, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char *name;

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		return strdup("localhost");
	host[sizeof(host) - 1] = '\0';
	if (strchr(host, '.') != NULL)
		return strdup(host);
	if (getaddrinfo(host, NULL, &hints, &res) == 0 && res != NULL &&
	    res->ai_canonname != NULL && strchr(res->ai_canonname, '.') != NULL)
		name = strdup(res->ai_canonname);
	else
		name = strdup(host);
	if (res != NULL)
		freeaddrinfo(res);
	return name;
}

/*
 * config_read_uncommented - PATH's text with every comment blanked out
 * (newlines kept) in a malloc'd buffer of *LEN bytes, and in *IN_TOKEN a
 * malloc'd byte per line, set when the line begins inside a quoted string
 * or a "${...}" token; NULL with errno set. *SCAN names two things
 * libconfuse 3.3 would pass over without a word: a string or a block
 * comment the text never closes (it drops an unclosed string where a
 * directive should start, and never sees a comment this pass blanked, so
 * the rest of the file would be lost), and a "*" outside quotes and
 * comments (its lexer drops it: `internal_allowed_from = *@*.example.org`
 * would check "@.example.org").
 *
 * libconfuse 3.3 counts a one-line comment as three lines and a block
 * comment as one too many, so every error after a comment named the wrong
 * line. Without comments its count is right. The scan follows its lexer:
 * outside quoted strings "#" and "//" run to the end of the line and a
 * block comment to the first "*" "/"; in a string a backslash escapes the
 * next character. The lexer takes the longest token, so inside an unquoted
 * word "//" is part of the word ("/usr//sbin/sendmail") and "/" "*" opens
 * no comment (the word ends at the "*", which the lexer drops); and
 * "${NAME}" (an environment variable, in a double-quoted string too) is one
 * token up to its "}", quotes, "#" and newlines included.
 */
struct config_scan {
	unsigned long unclosed; /* the line it opened on; 0: all is closed */
	const char *what;	/* what is not closed */
	unsigned long star;	/* the first line with a bare "*"; 0: none */
};

static char *config_read_uncommented(const char *path, size_t *len, unsigned char **in_token,
				     struct config_scan *scan)
{
	/* what ends an unquoted word in the lexer (a NUL fails the load anyway) */
	static const char word_end[] = " #\"'\t\n\r={}()+,*";
	enum { CODE, DQ, SQ, ENV, LINE, BLOCK } st = CODE, env_from = CODE;
	bool word = false; /* in CODE, inside an unquoted word */
	FILE *fp = fopen(path, "r");
	struct strbuf sb;
	char chunk[4096];
	size_t n, line = 0, nlines = 1, opened = 0;
	char *p, *last_brace;

	if (fp == NULL)
		return NULL;
	strbuf_init(&sb);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		strbuf_append(&sb, chunk, n);
	if (ferror(fp) || sb.failed) {
		int e = ferror(fp) ? errno : ENOMEM;

		fclose(fp);
		strbuf_free(&sb);
		errno = e;
		return NULL;
	}
	fclose(fp);
	strbuf_putc(&sb, '\0'); /* a buffer even for an empty file */
	if (sb.failed) {
		strbuf_free(&sb);
		errno = ENOMEM;
		return NULL;
	}
	p = sb.data;
	n = sb.len - 1;
	for (size_t i = 0; i < n; i++)
		nlines += p[i] == '\n';
	if ((*in_token = calloc(nlines, 1)) == NULL) {
		strbuf_free(&sb);
		errno = ENOMEM;
		return NULL;
	}
	last_brace = memrchr(p, '}', n);
	for (size_t i = 0; i < n; i++) {
		char next = p[i + 1]; /* the added NUL at the end */
		/* "${" opens a variable only when a "}" closes it */
		bool env = p[i] == '$' && next == '{' && last_brace != NULL && p + i < last_brace;

		switch (st) {
		case CODE:
			if (!word && env) {
				env_from = CODE;
				st = ENV;
				i++;
			} else if (p[i] == '"') {
				st = DQ;
				opened = line + 1;
			} else if (p[i] == '\'') {
				st = SQ;
				opened = line + 1;
			} else if (p[i] == '#' || (!word && p[i] == '/' && next == '/')) {
				st = LINE;
				p[i] = ' ';
			} else if (!word && p[i] == '/' && next == '*') {
				st = BLOCK;
				opened = line + 1;
				p[i++] = ' ';
				p[i] = ' ';
			} else if (p[i] == '*' && scan->star == 0) {
				scan->star = line + 1;
			}
			word = st == CODE && p[i] != '\0' && strchr(word_end, p[i]) == NULL;
			break;
		case DQ:
			if (env) {
				env_from = DQ;
				st = ENV;
				i++;
			} else if (p[i] == '\\') {
				i++;
			} else if (p[i] == '"') {
				st = CODE;
			}
			break;
		case SQ:
			if (p[i] == '\\')
				i++;
			else if (p[i] == '\'')
				st = CODE;
			break;
		case ENV:
			if (p[i] == '}')
				st = env_from;
			break;
		case LINE:
			if (p[i] == '\n')
				st = CODE;
			else
				p[i] = ' ';
			break;
		case BLOCK:
			if (p[i] == '*' && next == '/') {
				p[i++] = ' ';
				p[i] = ' ';
				st = CODE;
			} else if (p[i] != '\n') {
				p[i] = ' ';
			}
			break;
		}
		/* P[I] is the last character this round took (an escaped newline
		 * too); a line inside a comment starts, once blanked, in code */
		if (p[i] == '\n')
			(*in_token)[++line] = st == DQ || st == SQ || st == ENV;
	}
	if (st == DQ || st == SQ || st == BLOCK) {
		scan->unclosed = opened;
		scan->what = st == BLOCK ? "a /* comment" : "a quoted string";
	}
	*len = n;
	return p;
}

/* config_nul_line - the line of TEXT's first NUL byte, 0 when it has none:
 * libconfuse would end a name or a value there without a word */
static unsigned long config_nul_line(const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len);
	unsigned long line = 1;

	if (nul == NULL)
		return 0;
	for (const char *p = text; (p = memchr(p, '\n', (size_t)(nul - p))) != NULL; p++)
		line++;
	return line;
}

struct config *config_load(const char *path, struct diag *errs)
{
	cfg_opt_t *opts = config_build_opts();
	struct config *c = NULL;
	size_t before = errs ? errs->n : 0;
	cfg_t *cfg;
	int rc = CFG_SUCCESS;
	bool rules_failed = false;

	if (opts == NULL)
		return NULL;
	cfg = cfg_init(opts, CFGF_NONE);
	if (cfg == NULL) {
		free(opts);
		return NULL;
	}
	cfg_set_error_function(cfg, config_errfunc);
	config_load_errors = errs;
	config_load_nerrors = 0;
	if (path != NULL) {
		size_t len = 0;
		unsigned long nul;
		unsigned char *in_token = NULL;
		struct config_scan scan = { 0, NULL, 0 };
		char *text = config_read_uncommented(path, &len, &in_token, &scan);
		/* `ratelimit_login = 5000/1d burst 500` reads as written */
		text = rate_spec_quote_values(text, &len, in_token);
		FILE *fp = text ? fmemopen(text, len, "r") : NULL;

		free(in_token);
		if (fp == NULL) {
			struct strbuf sb;

			strbuf_init(&sb);
			strbuf_printf(&sb, "%s:0: cannot open: %s", path, strerror(errno));
			diag_push(errs, strbuf_cstr(&sb));
			strbuf_free(&sb);
			rc = CFG_FILE_ERROR;
		} else if ((nul = config_nul_line(text, len)) != 0) {
			diag_at(errs, path, nul, 0, "a NUL byte: the configuration must be text");
			rc = CFG_PARSE_ERROR;
		} else if (scan.unclosed != 0 || scan.star != 0) {
			if (scan.star != 0)
				diag_at(errs, path, scan.star, 0,
					"a '*' outside quotes, which the parser drops: "
					"quote the value (\"*@example.org\")");
			if (scan.unclosed != 0)
				diag_at(errs, path, scan.unclosed, 0,
					"%s opened here is never closed", scan.what);
			rc = CFG_PARSE_ERROR;
		} else if ((cfg->filename = strdup(path)) == NULL) {
			diag_push(errs, "out of memory while loading the configuration");
			rc = CFG_FILE_ERROR;
		} else {
			/* cfg_free() frees cfg->filename */
			rc = cfg_parse_fp(cfg, fp);
		}
		if (fp != NULL)
			fclose(fp);
		free(text);
	} else {
		/* Run the validators over the defaults too: a bad default is a bug. */
		for (size_t i = 0; i < config_ndirectives; i++)
			config_validate(cfg, cfg_getopt(cfg, config_directives[i].name));
	}
	config_load_errors = NULL;
	if (rc == CFG_SUCCESS && config_load_nerrors == 0) {
		c = calloc(1, sizeof(*c));
		if (c != NULL) {
			atomic_init(&c->refs, 1);
			c->path = strdup(path ? path : "(defaults)");
			if (c->path == NULL || !config_fill(c, cfg) || !config_derive(c)) {
				config_free(c);
				c = NULL;
			} else if (rate_overrides_load(c->ratelimit_overrides,
						       &c->ratelimit_override_table, errs) != 0) {
				config_free(c);
				c = NULL;
				rules_failed = true; /* its errors are in ERRS already */
			} else if (config_load_rules(c, path, errs) != 0) {
				config_free(c);
				c = NULL;
				rules_failed = true;
			} else if (c->authserv_id[0] == '\0') {
				free(c->authserv_id);
				c->authserv_id = config_default_authserv_id();
				if (c->authserv_id == NULL) {
					config_free(c);
					c = NULL;
				}
			}
		}
		if (c == NULL && !rules_failed)
			diag_push(errs, "out of memory while loading the configuration");
	} else if (rc != CFG_SUCCESS && errs != NULL && errs->n == before) {
		/* libconfuse 3.3 fails without a word on an empty directive name
		 * ("" = 1, or ${UNSET} = 1) and when memory runs out; where it
		 * stopped is still known */
		diag_at(errs, path ? path : "(defaults)", (unsigned long)cfg->line, 0,
			"syntax error (an empty directive name?)");
	}
	cfg_free(cfg);
	free(opts);
	return c;
}

struct config *config_ref(struct config *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void config_unref(struct config *c)
{
	if (c == NULL)
		return;
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		config_free(c);
}

void config_slot_init(struct config_slot *s, struct config *c)
{
	pthread_mutex_init(&s->lock, NULL);
	s->current = c;
}

struct config *config_slot_get(struct config_slot *s)
{
	struct config *c;

	/* The lock covers reading the pointer and taking the reference, so a
	 * concurrent swap cannot free the snapshot in between. */
	pthread_mutex_lock(&s->lock);
	c = config_ref(s->current);
	pthread_mutex_unlock(&s->lock);
	return c;
}

void config_slot_swap(struct config_slot *s, struct config *c)
{
	struct config *old;

	pthread_mutex_lock(&s->lock);
	old = s->current;
	s->current = c;
	pthread_mutex_unlock(&s->lock);
	config_unref(old);
}

void config_slot_destroy(struct config_slot *s)
{
	config_unref(s->current);
	s->current = NULL;
	pthread_mutex_destroy(&s->lock);
}
