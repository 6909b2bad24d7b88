/*
 * noop_milter.c - a milter that does nothing, the baseline of the issue's
 * goal "Postfix's throughput with a no-op milter".
 *
 *   noop_milter unix:/path/to/socket
 *
 * It is built on libmilter like the milters it stands for, takes every
 * protocol step (no SMFIP_NO* or SMFIP_NR_* asked for), answers continue
 * to each and changes nothing, so what it costs is the milter protocol
 * itself: libmilter on one side, the MTA's milter client on the other.
 * The socket is created world-writable so Postfix's smtpd can use it.
 * Runs in the foreground until SIGTERM.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <libmilter/mfapi.h>

static sfsistat noop_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx, (void)host, (void)addr;
	return SMFIS_CONTINUE;
}

static sfsistat noop_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx, (void)helo;
	return SMFIS_CONTINUE;
}

static sfsistat noop_argv(SMFICTX *ctx, char **argv)
{
	(void)ctx, (void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat noop_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx, (void)name, (void)value;
	return SMFIS_CONTINUE;
}

static sfsistat noop_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx, (void)chunk, (void)len;
	return SMFIS_CONTINUE;
}

static sfsistat noop_unknown(SMFICTX *ctx, const char *cmd)
{
	(void)ctx, (void)cmd;
	return SMFIS_CONTINUE;
}

static sfsistat noop_step(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
	struct smfiDesc desc = {
		.xxfi_name = "noop",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = 0,
		.xxfi_connect = noop_connect,
		.xxfi_helo = noop_helo,
		.xxfi_envfrom = noop_argv,
		.xxfi_envrcpt = noop_argv,
		.xxfi_header = noop_header,
		.xxfi_eoh = noop_step,
		.xxfi_body = noop_body,
		.xxfi_eom = noop_step,
		.xxfi_abort = noop_step,
		.xxfi_close = noop_step,
		.xxfi_unknown = noop_unknown,
		.xxfi_data = noop_step,
	};

	if (argc != 2) {
		fprintf(stderr, "usage: noop_milter unix:/path\n");
		return 2;
	}
	umask(0);
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "noop_milter: cannot set up %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
