/*
 * dns_fixture.c - DNS fixture files (see dns_fixture.h)
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <ldns/ldns.h>
#include <unbound.h>

#include "dns/dns_fixture.h"
#include "util/diag.h"
#include "util/strbuf.h"

/* fixture_error - one "FILE:LINE: message" into ERRS */
static void fixture_error(struct diag *errs, const char *path, size_t line, const char *msg,
			  const char *detail)
{
	diag_at(errs, path, line, 0, "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
}

/* normalize_name - lower-case copy of NAME without a trailing dot */
static char *normalize_name(const char *name, size_t len)
{
	char *s;

	while (len > 1 && name[len - 1] == '.')
		len--;
	s = malloc(len + 1);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)name[i]);
	s[len] = '\0';
	return s;
}

/* fault_word - TIMEOUT / SERVFAIL / REFUSED as the text a query reports */
static const char *fault_word(const char *w)
{
	if (strcasecmp(w, "TIMEOUT") == 0)
		return "timeout";
	if (strcasecmp(w, "SERVFAIL") == 0)
		return "SERVFAIL";
	if (strcasecmp(w, "REFUSED") == 0)
		return "REFUSED";
	return NULL;
}

/* fixture_fault_line - "NAME WORD" lines; 1 if LINE was one, 0 if not, -1 on OOM */
static int fixture_fault_line(const char *line, struct dns_faults *faults)
{
	char name[256], word[16], extra[2];
	const char *why;
	struct dns_fault *v;

	int got = sscanf(line, "%255s %15s %1s", name, word, extra);

	/* "NAME TIMEOUT", optionally followed by a "; comment" */
	if (got < 2 || (got == 3 && extra[0] != ';') || (why = fault_word(word)) == NULL)
		return 0;
	v = realloc(faults->v, (faults->n + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	faults->v = v;
	v[faults->n].why = why;
	v[faults->n].name = normalize_name(name, strlen(name));
	if (v[faults->n].name == NULL)
		return -1;
	faults->n++;
	return 1;
}

/* fixture_record_line - check LINE with ldns, then hand it to libunbound */
static int fixture_record_line(struct ub_ctx *ctx, const char *line, const char *path,
			       size_t lineno, struct diag *errs)
{
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, line, 3600, NULL, NULL);
	char *canonical;
	int rc;

	if (st != LDNS_STATUS_OK) {
		fixture_error(errs, path, lineno, "bad record", ldns_get_errorstr_by_id(st));
		return -1;
	}
	if (ldns_rr_get_type(rr) == 0 || ldns_rr_rd_count(rr) == 0) {
		/* ldns takes "NAME WORD" as a record of an unknown type without
		 * data: most likely a mistyped fault line */
		ldns_rr_free(rr);
		fixture_error(
			errs, path, lineno, "bad record",
			"no type or no data (a fault line is NAME TIMEOUT, SERVFAIL or REFUSED)");
		return -1;
	}
	/* ldns's own rendering of the record: fully qualified, one line, the
	 * form libunbound's local-data parser accepts without surprises. */
	canonical = ldns_rr2str(rr);
	ldns_rr_free(rr);
	if (canonical == NULL) {
		fixture_error(errs, path, lineno, "out of memory", NULL);
		return -1;
	}
	canonical[strcspn(canonical, "\n")] = '\0';
	rc = ub_ctx_data_add(ctx, canonical);
	free(canonical);
	if (rc != 0) {
		fixture_error(errs, path, lineno, "record refused by the resolver",
			      ub_strerror(rc));
		return -1;
	}
	return 0;
}

int dns_fixture_load(struct ub_ctx *ctx, const char *path, struct dns_faults *faults,
		     struct diag *errs)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t got;
	int bad = 0, rc;

	if (fp == NULL) {
		fixture_error(errs, path, 0, "cannot open", strerror(errno));
		return -1;
	}
	if ((rc = ub_ctx_zone_add(ctx, ".", "static")) != 0) {
		fixture_error(errs, path, 0, "cannot set up the fixture zone", ub_strerror(rc));
		fclose(fp);
		return -1;
	}
	while ((got = getline(&line, &cap, fp)) >= 0) {
		char *p = line;

		lineno++;
		/* A NUL byte anywhere is refused before the line end is cut,
		 * so a CRLF line is not mistaken for one and a line starting
		 * with NUL is not skipped as blank. */
		if (memchr(line, '\0', (size_t)got) != NULL) {
			fixture_error(errs, path, lineno, "NUL byte in line", NULL);
			bad++;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == ';' || *p == '#')
			continue;
		rc = fixture_fault_line(p, faults);
		if (rc < 0) {
			fixture_error(errs, path, lineno, "out of memory", NULL);
			bad++;
		} else if (rc == 0 && fixture_record_line(ctx, p, path, lineno, errs) != 0) {
			bad++;
		}
	}
	free(line);
	if (ferror(fp)) {
		fixture_error(errs, path, lineno, "read error", strerror(errno));
		bad++;
	}
	fclose(fp);
	return bad ? -1 : 0;
}

const struct dns_fault *dns_fixture_fault(const struct dns_faults *faults, const char *name)
{
	size_t len = strlen(name);

	while (len > 1 && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < faults->n; i++)
		if (strlen(faults->v[i].name) == len &&
		    strncasecmp(faults->v[i].name, name, len) == 0)
			return &faults->v[i];
	return NULL;
}

void dns_faults_free(struct dns_faults *faults)
{
	for (size_t i = 0; i < faults->n; i++)
		free(faults->v[i].name);
	free(faults->v);
	faults->v = NULL;
	faults->n = 0;
}
