/*
 * check_outbound.c - the outbound tables: both login map formats (lookups
 * and every error as FILE:LINE), OpenDKIM's KeyTable and SigningTable
 * (lookup order, refile: globs, dual keys, errors), the key loader (type
 * against algorithm, size, file mode), header selection with oversigning,
 * body canonicalization vectors, and the published-key comparison; large
 * tables with keys on several lines go through the lookup index.
 */
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/dkim_canon.h"
#include "mail/header.h"
#include "outbound/dkim_key.h"
#include "outbound/dkim_keycheck.h"
#include "outbound/dkim_signer.h"
#include "outbound/dkim_tables.h"
#include "outbound/login_map.h"
#include "unit.h"
#include "util/diag.h"
#include "util/strbuf.h"

/* map - a map of FORMAT from TEXT named "map"; errors in ERRS */
static struct login_map *map(const char *text, enum login_map_format f, struct diag *errs)
{
	struct login_map *m = login_map_new();

	ck_assert_ptr_nonnull(m);
	login_map_parse(m, "map", text, strlen(text), f, errs);
	return m;
}

/* has_error - some line of ERRS starts with PREFIX and contains PART */
static bool has_error(const struct diag *errs, const char *prefix, const char *part)
{
	for (size_t i = 0; i < errs->n; i++)
		if (strncmp(errs->lines[i], prefix, strlen(prefix)) == 0 &&
		    strstr(errs->lines[i], part) != NULL)
			return true;
	return false;
}

START_TEST(postfix_format_lookups)
{
	struct diag errs = { 0 };
	struct login_map *m = map("# comment\n"
				  "alice@example.org   alice\n"
				  "shared@example.org  alice, bob\n"
				  "   carol\n" /* continues the line above */
				  "@example.org        postmaster\n"
				  "\n"
				  "@Example.COM        Dave\n",
				  LOGIN_MAP_POSTFIX, &errs);
	struct login_map_why why;

	ck_assert_uint_eq(errs.n, 0);
	ck_assert(login_map_owns(m, "alice", "alice@example.org", &why));
	ck_assert_str_eq(why.file, "map");
	ck_assert_uint_eq(why.line, 2);
	ck_assert(login_map_owns(m, "bob", "shared@example.org", NULL));
	ck_assert(login_map_owns(m, "carol", "shared@example.org", &why));
	ck_assert_uint_eq(why.line, 3);
	ck_assert(!login_map_owns(m, "bob", "alice@example.org", &why));
	ck_assert_uint_eq(why.line, 2); /* the exact key decided alone */
	/* the exact key wins over @domain, as in Postfix */
	ck_assert(!login_map_owns(m, "postmaster", "alice@example.org", NULL));
	ck_assert(login_map_owns(m, "postmaster", "other@example.org", &why));
	ck_assert_uint_eq(why.line, 5);
	ck_assert(login_map_owns(m, "ALICE", "Alice@Example.org", NULL));
	ck_assert(login_map_owns(m, "alice", "alice+news@example.org", NULL));
	ck_assert(login_map_owns(m, "dave", "x@example.com", NULL));
	ck_assert(!login_map_owns(m, "alice", "alice@example.net", &why));
	ck_assert_ptr_null(why.file);
	login_map_free(m);
}
END_TEST

START_TEST(gatehouse_format_lookups)
{
	struct diag errs = { 0 };
	struct login_map *m = map("alice  alice@example.org, @example.net\n"
				  "bob    *@lists.example.org bob+*@example.org\n",
				  LOGIN_MAP_GATEHOUSE, &errs);
	struct login_map_why why;

	ck_assert_uint_eq(errs.n, 0);
	ck_assert_uint_eq(login_map_size(m), 4);
	ck_assert(login_map_owns(m, "alice", "ALICE@example.org", NULL));
	ck_assert(login_map_owns(m, "alice", "anyone@example.net", &why));
	ck_assert_uint_eq(why.line, 1);
	ck_assert(!login_map_owns(m, "alice", "a@sub.example.net", NULL));
	ck_assert(login_map_owns(m, "bob", "news@lists.example.org", &why));
	ck_assert_uint_eq(why.line, 2);
	ck_assert(login_map_owns(m, "bob", "bob+x@example.org", NULL));
	ck_assert(!login_map_owns(m, "bob", "alice@example.org", NULL));
	ck_assert(!login_map_owns(m, "carol", "alice@example.org", NULL));
	login_map_free(m);
}
END_TEST

START_TEST(map_errors_file_line)
{
	struct diag errs = { 0 };
	struct login_map *m = map("  leading continuation\n"
				  "alice@example.org\n"
				  "alice  \n"
				  "nodomain  alice\n"
				  "a@b@example.org  alice\n"
				  "user@  alice\n"
				  "*@example.org  alice\n"
				  "user@.example.org alice\n",
				  LOGIN_MAP_POSTFIX, &errs);

	ck_assert(has_error(&errs, "map:1: ", "continuation"));
	ck_assert(has_error(&errs, "map:2: ", "no value"));
	ck_assert(has_error(&errs, "map:3: ", "no value"));
	ck_assert(has_error(&errs, "map:4: ", "no '@'"));
	ck_assert(has_error(&errs, "map:5: ", "more than one '@'"));
	ck_assert(has_error(&errs, "map:6: ", "no domain"));
	ck_assert(has_error(&errs, "map:7: ", "literal"));
	ck_assert(has_error(&errs, "map:8: ", "malformed domain"));
	ck_assert_uint_eq(errs.n, 8);
	diag_clear(&errs);
	login_map_free(m);

	m = map("alice\nbob  nodomain, @\nx,y  a@b.example\n", LOGIN_MAP_GATEHOUSE, &errs);
	ck_assert(has_error(&errs, "map:1: ", "no value"));
	ck_assert(has_error(&errs, "map:2: ", "'nodomain'"));
	ck_assert(has_error(&errs, "map:2: ", "no domain"));
	ck_assert(has_error(&errs, "map:3: ", "one login per line"));
	diag_clear(&errs);
	login_map_free(m);

	{
		static const char nul[] = "alice@example.org alice\nbad\0line x\n";
		struct login_map *n = login_map_new();

		ck_assert_int_eq(
			login_map_parse(n, "map", nul, sizeof(nul) - 1, LOGIN_MAP_POSTFIX, &errs),
			-1);
		ck_assert(has_error(&errs, "map:2: ", "NUL"));
		diag_clear(&errs);
		login_map_free(n);
	}
	m = login_map_new();
	ck_assert_int_eq(login_map_load(m, "/nonexistent/map", LOGIN_MAP_POSTFIX, &errs), -1);
	ck_assert(has_error(&errs, "/nonexistent/map:0: ", "cannot read"));
	diag_clear(&errs);
	login_map_free(m);
}
END_TEST

/* write_key - a new key of TYPE ("RSA" with BITS, or "ED25519") in a PEM file of MODE */
static char *write_key(const char *type, unsigned bits, mode_t mode)
{
	EVP_PKEY *k = strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits)
					       : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *path = unit_write_file("", 0);
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(k);
	ck_assert(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(fp);
	chmod(path, mode);
	EVP_PKEY_free(k);
	return path;
}

START_TEST(key_loader)
{
	struct diag errs = { 0 }, warns = { 0 };
	char *rsa = write_key("RSA", 2048, 0600), *ed = write_key("ED25519", 0, 0640),
	     *small = write_key("RSA", 1024, 0644);
	struct dkim_key k = { 0 };

	ck_assert_int_eq(dkim_key_load(&k, rsa, DKIM_KEY_ANY, 1024, "kt", 1, &errs, &warns), 0);
	ck_assert_int_eq(k.alg, DKIM_KEY_RSA_SHA256);
	ck_assert_int_eq(k.bits, 2048);
	ck_assert_uint_eq(errs.n + warns.n, 0);
	dkim_key_clear(&k);
	/* the trap libopendkim falls into: an RSA key used as Ed25519 */
	ck_assert_int_eq(
		dkim_key_load(&k, rsa, DKIM_KEY_ED25519_SHA256, 1024, "kt", 2, &errs, &warns), -1);
	ck_assert(has_error(&errs, "kt:2: ", "holds an rsa key, but the algorithm is ed25519"));
	dkim_key_clear(&k);
	ck_assert_int_eq(dkim_key_load(&k, ed, DKIM_KEY_RSA_SHA256, 1024, "kt", 3, &errs, &warns),
			 -1);
	ck_assert(has_error(&errs, "kt:3: ", "holds an ed25519 key"));
	dkim_key_clear(&k);
	ck_assert_int_eq(dkim_key_load(&k, ed, DKIM_KEY_ANY, 1024, "kt", 4, &errs, &warns), 0);
	ck_assert_int_eq(k.alg, DKIM_KEY_ED25519_SHA256);
	ck_assert_uint_eq(strlen(k.pub_b64), 44); /* the bare 32 bytes, RFC 8463 */
	ck_assert(has_error(&warns, "kt:4: ", "group or others"));
	dkim_key_clear(&k);
	ck_assert_int_eq(dkim_key_load(&k, small, DKIM_KEY_ANY, 2048, "kt", 5, &errs, &warns), -1);
	ck_assert(has_error(&errs, "kt:5: ", "1024-bit RSA key"));
	dkim_key_clear(&k);
	ck_assert_int_eq(
		dkim_key_load(&k, "/nonexistent.pem", DKIM_KEY_ANY, 1024, "kt", 6, &errs, &warns),
		-1);
	ck_assert(has_error(&errs, "kt:6: ", "/nonexistent.pem"));
	dkim_key_clear(&k);
	diag_clear(&errs);
	diag_clear(&warns);
	unlink(rsa);
	unlink(ed);
	unlink(small);
	free(rsa);
	free(ed);
	free(small);
}
END_TEST

START_TEST(signing_table_lookups)
{
	static const char kt[] = "rsa example.org:s1:/k/rsa.pem\n"
				 "ed  example.org:ed:/k/ed.pem:ed25519-sha256\n"
				 "com example.com:s1:/k/com.pem:rsa\n";
	static const char plain[] = "alice@example.org  rsa, ed\n"
				    "example.org        rsa\n"
				    ".example.com       com\n"
				    "*                  ed\n";
	static const char re[] =
		"dual@example.org rsa ed\n*@example.org rsa\n*@*.example.com com\n";
	struct diag errs = { 0 };
	const struct dkim_key *keys[DKIM_TABLES_MAX_KEYS];
	struct dkim_tables *t = dkim_tables_parse("kt", kt, strlen(kt), "st", plain, strlen(plain),
						  0, 0, 1024, &errs, NULL);

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(dkim_tables_nkeys(t), 3);
	ck_assert_uint_eq(dkim_tables_lookup(t, "alice@example.org", keys), 2);
	ck_assert_str_eq(keys[0]->name, "rsa");
	ck_assert_str_eq(keys[1]->name, "ed");
	ck_assert_uint_eq(dkim_tables_lookup(t, "Bob@Example.org", keys), 1);
	ck_assert_str_eq(keys[0]->name, "rsa");
	ck_assert_uint_eq(dkim_tables_lookup(t, "x@mail.example.com", keys), 1);
	ck_assert_str_eq(keys[0]->name, "com");
	ck_assert_uint_eq(dkim_tables_lookup(t, "x@elsewhere.net", keys), 1);
	ck_assert_str_eq(keys[0]->name, "ed"); /* "*" comes last */
	dkim_tables_free(t);

	t = dkim_tables_parse("kt", kt, strlen(kt), "st", re, strlen(re), 1, 0, 1024, &errs, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(dkim_tables_lookup(t, "dual@example.org", keys), 2);
	ck_assert_uint_eq(dkim_tables_lookup(t, "other@example.org", keys), 1);
	ck_assert_uint_eq(dkim_tables_lookup(t, "x@a.example.com", keys), 1);
	ck_assert_uint_eq(dkim_tables_lookup(t, "x@example.com", keys), 0);
	dkim_tables_free(t);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

/* Large maps go through the index (util/strindex.h): every line is found,
 * a key on several lines keeps Postfix's and OpenDKIM's answers (every
 * owner of the key; the first SigningTable line), and the line named is the
 * one that decided. */
START_TEST(large_tables_repeated_keys)
{
	enum { N = 20000 };
	struct strbuf pf, gh, kt, st;
	struct diag errs = { 0 };
	struct login_map *m;
	struct login_map_why why;
	struct dkim_tables *t;
	const struct dkim_key *keys[DKIM_TABLES_MAX_KEYS];
	char a[64], l[32];

	strbuf_init(&pf);
	strbuf_init(&gh);
	strbuf_init(&kt);
	strbuf_init(&st);
	strbuf_puts(&pf, "shared@example.org alice\n"); /* line 1 */
	for (size_t i = 2; i < N; i++) {
		strbuf_printf(&pf, "user%zu@d%zu.example user%zu\n", i, i % 100, i);
		strbuf_printf(&gh, "user%zu user%zu@d%zu.example\n", i, i, i % 100);
	}
	strbuf_puts(&pf, "shared@example.org bob\n@d7.example postmaster\n");
	strbuf_puts(&gh, "user5 @example.net\n");
	m = map(strbuf_cstr(&pf), LOGIN_MAP_POSTFIX, &errs);
	ck_assert_uint_eq(errs.n, 0);
	for (size_t i = 2; i < N; i += 97) {
		snprintf(a, sizeof(a), "user%zu@d%zu.example", i, i % 100);
		snprintf(l, sizeof(l), "user%zu", i);
		ck_assert(login_map_owns(m, l, a, &why));
		ck_assert_uint_eq(why.line, i);
		ck_assert(!login_map_owns(m, "user1", a, NULL));
	}
	ck_assert(login_map_owns(m, "alice", "shared@example.org", &why));
	ck_assert_uint_eq(why.line, 1);
	ck_assert(login_map_owns(m, "bob", "shared@example.org", &why));
	ck_assert_uint_eq(why.line, N);
	ck_assert(!login_map_owns(m, "carol", "shared@example.org", &why));
	ck_assert_uint_eq(why.line, 1); /* the key's first line decided */
	ck_assert(login_map_owns(m, "postmaster", "nobody@d7.example", &why));
	ck_assert_uint_eq(why.line, N + 1);
	ck_assert(!login_map_owns(m, "postmaster", "user7@d7.example", NULL));
	login_map_free(m);

	m = map(strbuf_cstr(&gh), LOGIN_MAP_GATEHOUSE, &errs);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert(login_map_owns(m, "user5", "user5@d5.example", &why));
	ck_assert_uint_eq(why.line, 4);
	ck_assert(login_map_owns(m, "user5", "x@example.net", &why));
	ck_assert_uint_eq(why.line, N - 1);
	ck_assert(!login_map_owns(m, "user6", "x@example.net", NULL));
	ck_assert(login_map_owns(m, "USER19999", "user19999@d99.example", NULL));
	login_map_free(m);

	for (size_t i = 0; i < 200; i++)
		strbuf_printf(&kt, "k%zu d%zu.example:s:/k/%zu.pem\n", i, i, i);
	for (size_t i = 0; i < N; i++)
		strbuf_printf(&st, "d%zu.example k%zu\n", i, i % 200);
	strbuf_puts(&st, "d5.example k7\n.example k0\n");
	t = dkim_tables_parse("kt", strbuf_cstr(&kt), kt.len, "st", strbuf_cstr(&st), st.len, 0,
			      0, 1024, &errs, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(dkim_tables_nkeys(t), 200);
	for (size_t i = 0; i < N; i += 89) {
		snprintf(a, sizeof(a), "x@d%zu.example", i);
		snprintf(l, sizeof(l), "k%zu", i % 200);
		ck_assert_uint_eq(dkim_tables_lookup(t, a, keys), 1);
		ck_assert_str_eq(keys[0]->name, l);
	}
	ck_assert_uint_eq(dkim_tables_lookup(t, "x@d5.example", keys), 1);
	ck_assert_str_eq(keys[0]->name, "k5"); /* the first line, not the repeat */
	ck_assert_uint_eq(dkim_tables_lookup(t, "x@mail.d5.example", keys), 1);
	ck_assert_str_eq(keys[0]->name, "k0"); /* ".example": no line for ".d5.example" */
	ck_assert_uint_eq(dkim_tables_lookup(t, "x@d5.example.net", keys), 0);
	dkim_tables_free(t);
	ck_assert_uint_eq(errs.n, 0);
	strbuf_free(&pf);
	strbuf_free(&gh);
	strbuf_free(&kt);
	strbuf_free(&st);
}
END_TEST

START_TEST(table_errors_file_line)
{
	static const char kt[] = "a example.org:s1\n"
				 "b example.org:s 1:/k\n"
				 "c example.org:s1:/k:dsa\n"
				 "d %:s1:/k\n"
				 "e example.org:s1:/k\n"
				 "e example.org:s2:/k\n"
				 "f example.org:s3:/k:ed25519\n"
				 "g example.org:s4:\n";
	static const char st[] = "x@example.org nosuch\n"
				 "y@example.org e, e\n"
				 "*@example.org e\n"
				 "z@example.org\n";
	struct diag errs = { 0 };

	ck_assert_ptr_null(dkim_tables_parse("kt", kt, strlen(kt), "st", st, strlen(st), 0, 0, 1024,
					     &errs, NULL));
	ck_assert(has_error(&errs, "kt:1: ", "expected domain:selector:keypath"));
	ck_assert(has_error(&errs, "kt:2: ", "is not a selector"));
	ck_assert(has_error(&errs, "kt:3: ", "unknown algorithm 'dsa'"));
	ck_assert(has_error(&errs, "kt:4: ", "not a signing domain"));
	ck_assert(has_error(&errs, "kt:6: ", "defined twice"));
	ck_assert(has_error(&errs, "kt:8: ", "no key file"));
	ck_assert(has_error(&errs, "st:1: ", "no key called 'nosuch'"));
	ck_assert(has_error(&errs, "st:2: ", "two rsa keys"));
	ck_assert(has_error(&errs, "st:3: ", "refile:"));
	ck_assert(has_error(&errs, "st:4: ", "names no key"));
	diag_clear(&errs);
}
END_TEST

/* hash_b64 - base64 SHA-256 of the canonical body of TEXT (RELAXED or simple) */
static void body_b64(const char *text, bool relaxed, size_t split, char out[64])
{
	struct dkim_body *b = dkim_body_new(relaxed, NULL);
	unsigned char h[32];
	size_t n = strlen(text);

	ck_assert_ptr_nonnull(b);
	/* fed in two chunks split anywhere: the result must not depend on it */
	if (split > n)
		split = n;
	ck_assert_int_eq(dkim_body_update(b, (const unsigned char *)text, split), 0);
	ck_assert_int_eq(dkim_body_update(b, (const unsigned char *)text + split, n - split), 0);
	ck_assert_int_eq(dkim_body_final(b, h), 0);
	EVP_EncodeBlock((unsigned char *)out, h, 32);
	dkim_body_free(b);
}

static void sha_b64(const char *canon, char out[64])
{
	unsigned char h[32];
	unsigned int n;

	EVP_Digest(canon, strlen(canon), h, &n, EVP_sha256(), NULL);
	EVP_EncodeBlock((unsigned char *)out, h, 32);
}

START_TEST(body_canonicalization)
{
	static const struct {
		const char *in, *relaxed, *simple;
	} v[] = {
		{ "", "", "\r\n" },
		{ "\r\n\r\n", "", "\r\n" },
		{ "Hello  Bob \r\n\r\n\r\n", "Hello Bob\r\n", "Hello  Bob \r\n" },
		{ " a\t b \r\n  \r\nc", " a b\r\n\r\nc\r\n", " a\t b \r\n  \r\nc\r\n" },
		{ "lf only\nline\n\n", "lf only\r\nline\r\n", "lf only\r\nline\r\n" },
		{ "cr\rinside\r\n", "cr\rinside\r\n", "cr\rinside\r\n" },
		{ "\xc3\xbc 8bit\r\n", "\xc3\xbc 8bit\r\n", "\xc3\xbc 8bit\r\n" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (size_t split = 0; split <= strlen(v[i].in); split++) {
			char got[64], want[64];

			body_b64(v[i].in, true, split, got);
			sha_b64(v[i].relaxed, want);
			ck_assert_msg(strcmp(got, want) == 0, "relaxed #%zu split %zu", i, split);
			body_b64(v[i].in, false, split, got);
			sha_b64(v[i].simple, want);
			ck_assert_msg(strcmp(got, want) == 0, "simple #%zu split %zu", i, split);
		}
}
END_TEST

/* ref_canon - RFC 6376 3.4.3/3.4.4 the plain way, line by line, as the
 * reference for the streaming canonicalizer: CRLF and bare LF end a line,
 * a bare CR is content; returns the canonical body in a malloc'd string */
static char *ref_canon(const char *in, size_t n, bool relaxed)
{
	char *out = malloc(2 * n + 3), *line = malloc(n + 1);
	size_t o = 0, held = 0, i = 0;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(line);
	while (i < n) {
		size_t l = 0;

		while (i < n && in[i] != '\n' && !(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n'))
			line[l++] = in[i++];
		i += i < n ? (in[i] == '\r' ? 2 : 1) : 0;
		if (relaxed) {
			size_t k = 0;
			bool prev_wsp = false;

			for (size_t j = 0; j < l; j++) {
				bool w = line[j] == ' ' || line[j] == '\t';

				if (!w)
					line[k++] = line[j];
				else if (!prev_wsp)
					line[k++] = ' '; /* a run of white space is one space */
				prev_wsp = w;
			}
			while (k > 0 && line[k - 1] == ' ')
				k--;
			l = k;
		}
		if (l == 0) {
			held++; /* an empty line counts only if content follows */
			continue;
		}
		for (; held > 0; held--)
			o += (size_t)sprintf(out + o, "\r\n");
		memcpy(out + o, line, l);
		o += l;
		o += (size_t)sprintf(out + o, "\r\n");
	}
	if (o == 0 && !relaxed)
		o += (size_t)sprintf(out + o, "\r\n");
	out[o] = '\0';
	free(line);
	return out;
}

/* Random bodies of text, spaces, tabs, CRs and LFs, split at random, hash
 * as the line-by-line reference does (the run scan skips bytes in bulk) */
START_TEST(body_canonicalization_random)
{
	static const char alphabet[] = "ab  \t\r\n\r\n";
	unsigned long long seed = 0x9e3779b97f4a7c15ULL;

	for (int round = 0; round < 3000; round++) {
		char in[64], got[64], want[64];
		size_t n, split;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		n = (size_t)(seed >> 33) % sizeof(in);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			in[i] = alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
		}
		in[n] = '\0';
		split = n == 0 ? 0 : (size_t)(seed >> 40) % (n + 1);
		for (int relaxed = 0; relaxed < 2; relaxed++) {
			char *ref = ref_canon(in, n, relaxed);

			body_b64(in, relaxed, split, got);
			sha_b64(ref, want);
			ck_assert_msg(strcmp(got, want) == 0, "%s round %d split %zu: want \"%s\"",
				      relaxed ? "relaxed" : "simple", round, split, ref);
			free(ref);
		}
	}
}
END_TEST

START_TEST(header_canonicalization)
{
	struct strbuf sb;

	strbuf_init(&sb);
	dkim_canon_header_relaxed(&sb, "SubJect", " Hello \n\t  World  ", 18, true);
	ck_assert_str_eq(strbuf_cstr(&sb), "subject:Hello World\r\n");
	strbuf_free(&sb);
}
END_TEST

START_TEST(header_selection)
{
	static const struct header_field h[] = {
		{ "Received", "by x", 4 },     { "From", "a@example.org", 13 },
		{ "To", "b@example.net", 13 }, { "X-Mailer", "m", 1 },
		{ "to", "c@example.net", 13 }, { "Subject", "s", 1 },
	};
	static const char *const sign[] = { "From", "To", "Cc", "Subject", "Date", NULL };
	static const char *const over[] = { "From", "To", "Cc", NULL };
	char *rsa = write_key("RSA", 2048, 0600);
	struct diag errs = { 0 };
	struct dkim_key k = { .domain = "example.org", .selector = "s1" };
	unsigned char bh[32] = { 0 };
	struct dkim_sign_request r = { .headers = h,
				       .nheaders = 6,
				       .sign = sign,
				       .oversign = over,
				       .body_hash = bh,
				       .body_relaxed = true,
				       .now = 1000,
				       .expire_s = 60 };
	char *v, *flat, *w;

	ck_assert_int_eq(dkim_key_load(&k, rsa, DKIM_KEY_ANY, 1024, "kt", 1, &errs, NULL), 0);
	r.key = &k;
	v = dkim_sign_header(&r);
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_null(strchr(v, '\r'));
	ck_assert_ptr_null(strstr(v, " l="));
	/* unfold to look at the tags */
	flat = strdup(v);
	w = flat;
	for (const char *p = v; *p; p++)
		if (*p != '\n' && *p != '\t')
			*w++ = *p;
	*w = '\0';
	/* From once plus once oversigned; both To fields plus one; Cc only
	 * oversigned; Subject once; Date absent; X-Mailer and Received never */
	ck_assert_msg(strstr(flat, "h=From:From:To:To:To:Cc:Subject;") != NULL, "%s", flat);
	ck_assert(strstr(flat, "t=1000;") != NULL && strstr(flat, "x=1060;") != NULL);
	ck_assert(strncmp(flat, "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;", 58) ==
		  0);
	for (const char *line = v; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		ck_assert_uint_le(strcspn(line, "\n"), 78);
	free(flat);
	free(v);
	k.domain = k.selector = NULL; /* not owned here */
	dkim_key_clear(&k);
	unlink(rsa);
	free(rsa);
}
END_TEST

START_TEST(published_key_comparison)
{
	char *rsa = write_key("RSA", 2048, 0600), *ed = write_key("ED25519", 0, 0600),
	     *other = write_key("RSA", 2048, 0600);
	struct dkim_key kr = { 0 }, ke = { 0 }, ko = { 0 };
	const char *why;
	char *rec;

	ck_assert_int_eq(dkim_key_load(&kr, rsa, DKIM_KEY_ANY, 1024, "kt", 1, NULL, NULL), 0);
	ck_assert_int_eq(dkim_key_load(&ke, ed, DKIM_KEY_ANY, 1024, "kt", 2, NULL, NULL), 0);
	ck_assert_int_eq(dkim_key_load(&ko, other, DKIM_KEY_ANY, 1024, "kt", 3, NULL, NULL), 0);
	ck_assert_int_gt(asprintf(&rec, "v=DKIM1; k=rsa; p=%s", kr.pub_b64), 0);
	ck_assert_int_eq(dkim_keycheck_record(&kr, rec, &why), DKIM_KEYCHECK_MATCH);
	ck_assert_int_eq(dkim_keycheck_record(&ko, rec, &why), DKIM_KEYCHECK_MISMATCH);
	ck_assert_int_eq(dkim_keycheck_record(&ke, rec, &why), DKIM_KEYCHECK_BAD_RECORD);
	free(rec);
	ck_assert_int_gt(
		asprintf(&rec, "v=DKIM1;k=ed25519;p=%.20s %s", ke.pub_b64, ke.pub_b64 + 20), 0);
	ck_assert_int_eq(dkim_keycheck_record(&ke, rec, &why), DKIM_KEYCHECK_MATCH);
	free(rec);
	ck_assert_int_eq(dkim_keycheck_record(&kr, "v=DKIM1; k=rsa; p=", &why),
			 DKIM_KEYCHECK_REVOKED);
	ck_assert_int_eq(dkim_keycheck_record(&kr, "v=DKIM1; k=rsa; p=!!!!", &why),
			 DKIM_KEYCHECK_BAD_RECORD);
	dkim_key_clear(&kr);
	dkim_key_clear(&ke);
	dkim_key_clear(&ko);
	unlink(rsa);
	unlink(ed);
	unlink(other);
	free(rsa);
	free(ed);
	free(other);
}
END_TEST

static Suite *outbound_suite(void)
{
	Suite *s = suite_create("outbound");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, postfix_format_lookups);
	tcase_add_test(tc, gatehouse_format_lookups);
	tcase_add_test(tc, map_errors_file_line);
	tcase_add_test(tc, key_loader);
	tcase_add_test(tc, signing_table_lookups);
	tcase_add_test(tc, large_tables_repeated_keys);
	tcase_add_test(tc, table_errors_file_line);
	tcase_add_test(tc, body_canonicalization);
	tcase_add_test(tc, body_canonicalization_random);
	tcase_add_test(tc, header_canonicalization);
	tcase_add_test(tc, header_selection);
	tcase_add_test(tc, published_key_comparison);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(outbound_suite());
}
