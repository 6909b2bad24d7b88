/*
 * outbound.c - build the outbound tables from a snapshot; the identity
 * check (see outbound.h)
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/config.h"
#include "outbound/dkim_tables.h"
#include "outbound/outbound.h"
#include "outbound/table_file.h"
#include "util/diag.h"

static void outbound_words_free(char **w)
{
	for (size_t i = 0; w && w[i]; i++)
		free(w[i]);
	free(w);
}

/* outbound_words - TEXT split at commas and white space, NULL-terminated */
static char **outbound_words(const char *text)
{
	const char *p = text;
	size_t n = 0;
	char **w = calloc(strlen(text) / 2 + 2, sizeof(*w)), *one;
	int oom;

	if (w == NULL)
		return NULL;
	while ((one = table_file_next_word(&p, &oom)) != NULL)
		w[n++] = one;
	if (oom) {
		outbound_words_free(w);
		return NULL;
	}
	return w;
}

static bool outbound_has(char **list, const char *name)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcasecmp(list[i], name) == 0)
			return true;
	return false;
}

void outbound_tables_free(struct outbound_tables *t)
{
	if (t == NULL)
		return;
	login_map_free(t->logins);
	login_map_free(t->internal);
	dkim_tables_free(t->dkim);
	outbound_words_free(t->sign_headers);
	outbound_words_free(t->oversign_headers);
	outbound_words_free(t->daemon_names);
	free(t);
}

/* outbound_internal_list - internal_allowed_from as a gatehouse-format map
 * of the login "" (no login), so one matcher serves both */
static struct login_map *outbound_internal_list(const char *patterns, struct diag *errs)
{
	struct login_map *m = login_map_new();
	char *text = NULL;

	if (m == NULL || asprintf(&text, "-  %s\n", patterns) < 0 ||
	    login_map_parse(m, "internal_allowed_from", text, strlen(text), LOGIN_MAP_GATEHOUSE,
			    errs) != 0) {
		free(text);
		login_map_free(m);
		return NULL;
	}
	free(text);
	return m;
}

struct outbound_tables *outbound_tables_build(const struct config *c, struct diag *errs,
					      struct diag *warns)
{
	struct outbound_tables *t = calloc(1, sizeof(*t));
	size_t before = errs ? errs->n : 0;

	if (t == NULL)
		goto oom;
	if (c->sender_login_map[0] != '\0' || c->sender_identity_map[0] != '\0') {
		if ((t->logins = login_map_new()) == NULL)
			goto oom;
		if (c->sender_login_map[0] != '\0')
			login_map_load(t->logins, c->sender_login_map, LOGIN_MAP_POSTFIX, errs);
		if (c->sender_identity_map[0] != '\0')
			login_map_load(t->logins, c->sender_identity_map, LOGIN_MAP_GATEHOUSE,
				       errs);
	}
	if (c->internal_allowed_from[0] != '\0' &&
	    (t->internal = outbound_internal_list(c->internal_allowed_from, errs)) == NULL)
		goto fail;
	if ((t->sign_headers = outbound_words(c->dkim_sign_headers)) == NULL ||
	    (t->oversign_headers = outbound_words(c->dkim_oversign_headers)) == NULL ||
	    (t->daemon_names = outbound_words(c->outbound_daemon_names)) == NULL)
		goto oom;
	if (!outbound_has(t->sign_headers, "From"))
		diag_pushf(errs, "%s: dkim_sign_headers must contain From (RFC 6376 5.4)", c->path);
	for (size_t i = 0; t->oversign_headers[i]; i++)
		if (!outbound_has(t->sign_headers, t->oversign_headers[i]))
			diag_pushf(errs,
				   "%s: dkim_oversign_headers: %s is not in dkim_sign_headers "
				   "(an oversigned field must be signed too)",
				   c->path, t->oversign_headers[i]);
	if ((c->dkim_key_table[0] != '\0') != (c->dkim_signing_table[0] != '\0'))
		diag_pushf(errs, "%s: dkim_key_table and dkim_signing_table go together", c->path);
	else if (c->dkim_key_table[0] != '\0')
		t->dkim = dkim_tables_load(c->dkim_key_table, c->dkim_signing_table,
					   c->dkim_sign_min_key_bits, errs, warns);
	if (errs != NULL && errs->n > before)
		goto fail;
	return t;
oom:
	diag_pushf(errs, "%s: out of memory while loading the outbound tables", c->path);
fail:
	outbound_tables_free(t);
	return NULL;
}

enum outbound_identity_result outbound_identity(const struct outbound_tables *t,
						const struct config *c, const char *login,
						const char *addr, struct login_map_why *why)
{
	if (why != NULL)
		*why = (struct login_map_why){ NULL, 0 };
	if (login == NULL) {
		if (t == NULL || t->internal == NULL)
			return OUTBOUND_ID_NONE;
		return login_map_owns(t->internal, "-", addr, why) ? OUTBOUND_ID_PASS
								   : OUTBOUND_ID_FAIL;
	}
	if (c->sender_login_is_address && strcasecmp(login, addr) == 0) {
		if (why != NULL)
			*why = (struct login_map_why){ "(sender_login_is_address)", 0 };
		return OUTBOUND_ID_PASS;
	}
	if (t == NULL || t->logins == NULL)
		return OUTBOUND_ID_NONE; /* no map: nothing to enforce (and nothing signed) */
	return login_map_owns(t->logins, login, addr, why) ? OUTBOUND_ID_PASS : OUTBOUND_ID_FAIL;
}

bool outbound_daemon_is_outbound(const struct outbound_tables *t, const char *name)
{
	return t != NULL && name != NULL && *name != '\0' && outbound_has(t->daemon_names, name);
}
