/*
 * dkim_sign.c - test tool: sign a message file with libopendkim, so the
 * DKIM tests can make every kind of signature they need (algorithms, key
 * sizes, l=, several signatures) with keys generated at test time.
 *
 *   dkim_sign -k KEY.pem -d DOMAIN -s SELECTOR [-a rsa-sha256|rsa-sha1|ed25519-sha256]
 *             [-l LENGTH] [-c simple|relaxed] < in.eml > out.eml
 *
 * Prints the message with one DKIM-Signature field prepended. Reads the
 * message the way tests/data files are written: LF line ends, converted to
 * CRLF for signing as an MTA would see it.
 */
#define _DEFAULT_SOURCE
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <opendkim/dkim.h>

static char *slurp(FILE *fp, size_t *len)
{
	size_t cap = 65536, n = 0, got;
	char *buf = malloc(cap);

	while (buf != NULL && (got = fread(buf + n, 1, cap - n, fp)) > 0) {
		n += got;
		if (n == cap) {
			char *p = realloc(buf, cap *= 2);

			if (p == NULL) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
	}
	*len = n;
	return buf;
}

static void die(const char *what)
{
	fprintf(stderr, "dkim_sign: %s\n", what);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *keyfile = NULL, *domain = NULL, *selector = NULL;
	dkim_alg_t alg = DKIM_SIGN_RSASHA256;
	dkim_canon_t canon = DKIM_CANON_RELAXED;
	ssize_t length = -1;
	size_t keylen, len, pos = 0, hend;
	char *key, *msg, *field = NULL;
	u_char *sighdr;
	size_t siglen;
	DKIM_LIB *lib;
	DKIM *dkim;
	DKIM_STAT st;
	FILE *kf;
	int ch;

	while ((ch = getopt(argc, argv, "k:d:s:a:l:c:")) != -1) {
		switch (ch) {
		case 'k': keyfile = optarg; break;
		case 'd': domain = optarg; break;
		case 's': selector = optarg; break;
		case 'l': length = atol(optarg); break;
		case 'c': canon = strcmp(optarg, "simple") == 0 ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED; break;
		case 'a':
			alg = strcmp(optarg, "rsa-sha1") == 0 ? DKIM_SIGN_RSASHA1 :
			      strcmp(optarg, "ed25519-sha256") == 0 ? DKIM_SIGN_ED25519SHA256 :
			      DKIM_SIGN_RSASHA256;
			break;
		default: die("usage: dkim_sign -k KEY -d DOMAIN -s SELECTOR [-a ALG] [-l LEN] [-c CANON]");
		}
	}
	if (keyfile == NULL || domain == NULL || selector == NULL)
		die("-k, -d and -s are required");
	if ((kf = fopen(keyfile, "r")) == NULL || (key = slurp(kf, &keylen)) == NULL)
		die("cannot read the key");
	fclose(kf);
	key = realloc(key, keylen + 1);
	key[keylen] = '\0';
	if ((msg = slurp(stdin, &len)) == NULL)
		die("cannot read the message");
	if ((lib = dkim_init(NULL, NULL)) == NULL)
		die("dkim_init");
	{
		/* the tests need short-key signatures to see them refused */
		u_int bits = 1;

		dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits, sizeof(bits));
	}
	dkim = dkim_sign(lib, (const u_char *)"test", NULL, (dkim_sigkey_t)key,
			 (const u_char *)selector, (const u_char *)domain, canon, canon, alg,
			 length, &st);
	if (dkim == NULL)
		die(dkim_getresultstr(st));
	/* header fields: one per unfolded field, LF ends turned into CRLF */
	for (hend = 0; hend < len && !(msg[hend] == '\n' && (hend == 0 || msg[hend - 1] == '\n')); hend++)
		;
	while (pos < hend) {
		size_t start = pos, flen = 0;
		char *f;

		while (pos < hend && !(msg[pos] == '\n' && pos + 1 < hend && msg[pos + 1] != ' ' &&
				       msg[pos + 1] != '\t'))
			pos++;
		f = malloc((pos - start) * 2 + 2);
		for (size_t i = start; i < pos; i++) {
			if (msg[i] == '\n')
				f[flen++] = '\r';
			f[flen++] = msg[i];
		}
		while (flen > 0 && (f[flen - 1] == '\r' || f[flen - 1] == '\n'))
			flen--;
		if (flen > 0 && dkim_header(dkim, (u_char *)f, flen) != DKIM_STAT_OK)
			die("dkim_header");
		free(f);
		pos++;
	}
	if (dkim_eoh(dkim) != DKIM_STAT_OK)
		die("dkim_eoh");
	for (size_t i = hend + 1; i < len; i++) {
		if (msg[i] == '\n')
			dkim_body(dkim, (u_char *)"\r", 1);
		dkim_body(dkim, (u_char *)&msg[i], 1);
	}
	if ((st = dkim_eom(dkim, NULL)) != DKIM_STAT_OK)
		die(dkim_getresultstr(st));
	if (dkim_getsighdr_d(dkim, strlen("DKIM-Signature: "), &sighdr, &siglen) != DKIM_STAT_OK)
		die("dkim_getsighdr_d");
	/* folded with CRLF+TAB by libopendkim: write LF line ends like the input */
	field = malloc(siglen + 1);
	for (size_t i = 0, j = 0; i <= siglen; i++)
		if (i == siglen || sighdr[i] != '\r')
			field[j++] = i == siglen ? '\0' : (char)sighdr[i];
	printf("DKIM-Signature: %s\n", field);
	fwrite(msg, 1, len, stdout);
	free(field);
	dkim_free(dkim);
	dkim_close(lib);
	free(key);
	free(msg);
	return 0;
}
