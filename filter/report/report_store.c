/*
 * report_store.c - the SQLite file of DMARC evaluations (see report_store.h)
 *
 * One table, one row per message, indexed by time: aggregation is a GROUP
 * BY over a period (report_agg.c), expiry a DELETE by time. The DKIM
 * results of a message are a JSON array ([["d","s","pass"],...], jansson)
 * in one column: they are only ever read back whole, and as text they are
 * part of the GROUP BY key. A table of sent reports makes --send
 * idempotent. WAL lets the report command read while the daemon writes;
 * the busy timeout bounds how long the writer thread waits for a lock
 * (never the SMTP transaction's: the engine only queues).
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_store.h"
#include "util/strbuf.h"

#define STORE_BUSY_MS 2000 /* a lock held longer fails the batch (logged, counted) */

struct report_store {
	sqlite3 *db;
	sqlite3_stmt *ins;
};

static const char store_schema[] =
	"CREATE TABLE IF NOT EXISTS evaluation ("
	" id INTEGER PRIMARY KEY, t INTEGER NOT NULL, source_ip TEXT NOT NULL,"
	" header_from TEXT NOT NULL, envelope_from TEXT, envelope_to TEXT,"
	" policy_domain TEXT NOT NULL, p TEXT NOT NULL, sp TEXT, np TEXT, adkim TEXT,"
	" aspf TEXT, testing TEXT, discovery TEXT, fo TEXT, rua TEXT,"
	" disposition TEXT NOT NULL, dkim_aligned TEXT NOT NULL, spf_aligned TEXT NOT NULL,"
	" reason_type TEXT, reason_comment TEXT, spf_domain TEXT, spf_scope TEXT,"
	" spf_result TEXT, dkim TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS evaluation_t ON evaluation(t);"
	"CREATE TABLE IF NOT EXISTS sent_report ("
	" report_id TEXT PRIMARY KEY, policy_domain TEXT NOT NULL, sent_at INTEGER NOT NULL);";

static const char store_insert[] =
	"INSERT INTO evaluation (t, source_ip, header_from, envelope_from, envelope_to,"
	" policy_domain, p, sp, np, adkim, aspf, testing, discovery, fo, rua, disposition,"
	" dkim_aligned, spf_aligned, reason_type, reason_comment, spf_domain, spf_scope,"
	" spf_result, dkim) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

static size_t str_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* put - copy S to *AT (advancing it); NULL stays NULL */
static const char *put(char **at, const char *s)
{
	char *d = *at;
	size_t n = str_size(s);

	if (s == NULL)
		return NULL;
	memcpy(d, s, n);
	*at += n;
	return d;
}

struct report_entry *report_entry_dup(const struct report_entry *e)
{
	const char *const *f[] = {
		&e->source_ip,
		&e->header_from,
		&e->envelope_from,
		&e->envelope_to,
		&e->policy_domain,
		&e->p,
		&e->sp,
		&e->np,
		&e->adkim,
		&e->aspf,
		&e->testing,
		&e->discovery,
		&e->fo,
		&e->rua,
		&e->disposition,
		&e->dkim_aligned,
		&e->spf_aligned,
		&e->reason_type,
		&e->reason_comment,
		&e->spf_domain,
		&e->spf_scope,
		&e->spf_result,
	};
	size_t size = sizeof(struct report_entry) + e->ndkim * sizeof(struct report_dkim);
	struct report_entry *d;
	struct report_dkim *dk;
	char *at;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		size += str_size(*f[i]);
	for (size_t i = 0; i < e->ndkim; i++)
		size += str_size(e->dkim[i].domain) + str_size(e->dkim[i].selector) +
			str_size(e->dkim[i].result);
	if ((d = malloc(size)) == NULL)
		return NULL;
	*d = *e;
	dk = (struct report_dkim *)(d + 1);
	at = (char *)(dk + e->ndkim);
	/* the same fields of the copy, in the same order */
	{
		const char **g[] = {
			&d->source_ip,
			&d->header_from,
			&d->envelope_from,
			&d->envelope_to,
			&d->policy_domain,
			&d->p,
			&d->sp,
			&d->np,
			&d->adkim,
			&d->aspf,
			&d->testing,
			&d->discovery,
			&d->fo,
			&d->rua,
			&d->disposition,
			&d->dkim_aligned,
			&d->spf_aligned,
			&d->reason_type,
			&d->reason_comment,
			&d->spf_domain,
			&d->spf_scope,
			&d->spf_result,
		};

		for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
			*g[i] = put(&at, *f[i]);
	}
	for (size_t i = 0; i < e->ndkim; i++) {
		dk[i].domain = put(&at, e->dkim[i].domain);
		dk[i].selector = put(&at, e->dkim[i].selector);
		dk[i].result = put(&at, e->dkim[i].result);
	}
	d->dkim = e->ndkim > 0 ? dk : NULL;
	return d;
}

static int fail(struct strbuf *err, sqlite3 *db, const char *what)
{
	strbuf_printf(err, "%s: %s", what, db != NULL ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

struct report_store *report_store_open(const char *path, bool create, struct strbuf *err)
{
	struct report_store *st = calloc(1, sizeof(*st));
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);

	if (st == NULL) {
		strbuf_puts(err, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		fail(err, st->db, path);
		report_store_close(st);
		return NULL;
	}
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	/* WAL: readers never block the writer; NORMAL: a power cut may lose
	 * the last batch, never the file */
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, store_schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, store_insert, -1, &st->ins, NULL) != SQLITE_OK) {
		fail(err, st->db, path);
		report_store_close(st);
		return NULL;
	}
	return st;
}

void report_store_close(struct report_store *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->ins);
	sqlite3_close(st->db);
	free(st);
}

/* printable - S with every byte outside printable ASCII as '?': d= and s=
 * are whatever a sender wrote, and jansson takes UTF-8 only (NULL: OOM) */
static char *printable(const char *s)
{
	char *c = strdup(s != NULL ? s : "");

	for (char *p = c; p != NULL && *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return c;
}

/* dkim_json - E's DKIM results as the JSON text the dkim column holds */
static char *dkim_json(const struct report_entry *e)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; a != NULL && i < e->ndkim; i++) {
		char *d = printable(e->dkim[i].domain), *sel = printable(e->dkim[i].selector);
		json_t *one = d != NULL && sel != NULL
				      ? json_pack("[sss]", d, sel, e->dkim[i].result)
				      : NULL;

		free(d);
		free(sel);

		if (one == NULL || json_array_append_new(a, one) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	s = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

static int insert_one(struct report_store *st, const struct report_entry *e, struct strbuf *err)
{
	const char *v[] = { e->source_ip,
			    e->header_from,
			    e->envelope_from,
			    e->envelope_to,
			    e->policy_domain,
			    e->p,
			    e->sp,
			    e->np,
			    e->adkim,
			    e->aspf,
			    e->testing,
			    e->discovery,
			    e->fo,
			    e->rua,
			    e->disposition,
			    e->dkim_aligned,
			    e->spf_aligned,
			    e->reason_type,
			    e->reason_comment,
			    e->spf_domain,
			    e->spf_scope,
			    e->spf_result };
	char *dk = dkim_json(e);
	int rc;

	if (dk == NULL) {
		strbuf_puts(err, "out of memory");
		return -1;
	}
	sqlite3_reset(st->ins);
	sqlite3_bind_int64(st->ins, 1, e->t);
	for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++)
		sqlite3_bind_text(st->ins, i + 2, v[i], -1, SQLITE_STATIC);
	sqlite3_bind_text(st->ins, 24, dk, -1, SQLITE_STATIC);
	rc = sqlite3_step(st->ins);
	sqlite3_reset(st->ins);
	sqlite3_clear_bindings(st->ins);
	free(dk);
	return rc == SQLITE_DONE ? 0 : fail(err, st->db, "insert");
}

int report_store_insert(struct report_store *st, struct report_entry *const *e, size_t n,
			struct strbuf *err)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(err, st->db, "begin");
	for (size_t i = 0; i < n; i++) {
		if (insert_one(st, e[i], err) != 0) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fail(err, st->db, "commit");
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* one_step - prepare SQL, bind the int64 A and text T (either may be
 * absent), step once; SQLite's step result, or -1 */
static int one_step(struct report_store *st, const char *sql, const char *t1, const char *t2,
		    long long a, long long *out, struct strbuf *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
		return fail(err, st->db, "prepare");
	for (int i = 1; i <= sqlite3_bind_parameter_count(q); i++) {
		const char *name = sqlite3_bind_parameter_name(q, i);

		if (name != NULL && strcmp(name, ":a") == 0)
			sqlite3_bind_int64(q, i, a);
		else if (name != NULL && strcmp(name, ":t1") == 0)
			sqlite3_bind_text(q, i, t1, -1, SQLITE_STATIC);
		else if (name != NULL && strcmp(name, ":t2") == 0)
			sqlite3_bind_text(q, i, t2, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && out != NULL)
		*out = sqlite3_column_int64(q, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		fail(err, st->db, "query");
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? rc : -1;
}

int report_store_expire(struct report_store *st, long long before, long long *deleted,
			struct strbuf *err)
{
	if (one_step(st, "DELETE FROM evaluation WHERE t < :a", NULL, NULL, before, NULL, err) < 0)
		return -1;
	*deleted = sqlite3_changes(st->db);
	return 0;
}

int report_store_sent(struct report_store *st, const char *report_id, struct strbuf *err)
{
	long long n = 0;
	int rc = one_step(st, "SELECT count(*) FROM sent_report WHERE report_id = :t1", report_id,
			  NULL, 0, &n, err);

	return rc < 0 ? -1 : n > 0;
}

int report_store_mark_sent(struct report_store *st, const char *report_id,
			   const char *policy_domain, long long now, struct strbuf *err)
{
	return one_step(st,
			"INSERT OR IGNORE INTO sent_report (report_id, policy_domain, sent_at)"
			" VALUES (:t1, :t2, :a)",
			report_id, policy_domain, now, NULL, err) < 0
		       ? -1
		       : 0;
}

struct sqlite3 *report_store_db(struct report_store *st)
{
	return st->db;
}
