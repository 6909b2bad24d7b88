/*
 * dkimcheck.c - `gatehouse dkim-check [-c CONF] [--dns-fixture FILE]`
 * (see dkimcheck.h)
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/dkimcheck.h"
#include "dns/dns.h"
#include "engine/snapshot.h"
#include "outbound/dkim_keycheck.h"
#include "outbound/dkim_tables.h"
#include "outbound/outbound.h"
#include "util/diag.h"

static void dkimcheck_usage(FILE *fp)
{
	fputs("usage: gatehouse dkim-check [-c FILE] [--dns-fixture FILE]\n"
	      "  checks that every key of dkim_key_table is published in DNS and matches\n"
	      "  exit: 0 all match, 1 one does not, 2 DNS failure, 3 configuration, 4 usage\n",
	      fp);
}

int dkimcheck_main(int argc, char **argv)
{
	static const struct option longopts[] = { { "config", required_argument, NULL, 'c' },
						  { "dns-fixture", required_argument, NULL, 'F' },
						  { "help", no_argument, NULL, 'h' },
						  { NULL, 0, NULL, 0 } };
	const char *path = NULL, *fixture = NULL;
	struct diag errs = { 0 }, warns = { 0 };
	struct dns_options dopts = { 0 };
	struct dns_resolver *r;
	struct config *c;
	const struct dkim_tables *t;
	int ch, status = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'F':
			fixture = optarg;
			break;
		case 'h':
			dkimcheck_usage(stdout);
			return 0;
		default:
			dkimcheck_usage(stderr);
			return 4;
		}
	}
	if (optind != argc) {
		dkimcheck_usage(stderr);
		return 4;
	}
	if (path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = CONFIG_DEFAULT_PATH;
	c = snapshot_load(path, &errs, &warns);
	for (size_t i = 0; i < warns.n; i++)
		printf("warning: %s\n", warns.lines[i]);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	diag_clear(&warns);
	diag_clear(&errs);
	if (c == NULL)
		return 3;
	t = c->outbound ? c->outbound->dkim : NULL;
	if (dkim_tables_nkeys(t) == 0) {
		fprintf(stderr, "%s: no dkim_key_table keys to check\n", c->path);
		config_unref(c);
		return 3;
	}
	dopts.timeout_ms = c->dns_timeout_ms;
	dopts.forwarders = c->dns_forwarders;
	dopts.trust_anchor_file = c->dns_trust_anchor_file;
	dopts.fixture_file = fixture ? fixture : c->dns_fixture;
	r = dns_resolver_new(&dopts, &errs);
	if (r == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		diag_clear(&errs);
		config_unref(c);
		return 3;
	}
	for (size_t i = 0; i < dkim_tables_nkeys(t); i++) {
		const struct dkim_key *k = dkim_tables_key(t, i);
		const char *why = NULL;
		enum dkim_keycheck_result res = dkim_keycheck(r, NULL, k, &why);

		printf("%s %s._domainkey.%s %s %d bits: %s%s%s\n", k->name, k->selector, k->domain,
		       dkim_key_alg_name(k->alg), k->bits, dkim_keycheck_name(res),
		       why ? " - " : "", why ? why : "");
		if (res != DKIM_KEYCHECK_MATCH && res != DKIM_KEYCHECK_DNS_TEMPFAIL)
			printf("  publish: %s._domainkey.%s TXT \"v=DKIM1; k=%s; p=%s\"\n",
			       k->selector, k->domain, dkim_key_type_name(k->alg), k->pub_b64);
		if (res == DKIM_KEYCHECK_DNS_TEMPFAIL) {
			if (status == 0)
				status = 2;
		} else if (res != DKIM_KEYCHECK_MATCH) {
			status = 1;
		}
	}
	dns_resolver_free(r);
	config_unref(c);
	return status;
}
