/*
 * writable.c - the files the daemon writes, checked at start (see writable.h)
 *
 * faccessat(AT_EACCESS) asks with the effective ids, the ones the writer
 * threads will have, and the kernel answers for everything that decides:
 * mode bits, ACLs, a read-only mount (systemd's ProtectSystem=strict is
 * one: EROFS). Nothing is created here; a missing directory is reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/writable.h"
#include "util/diag.h"

/* The unit's writable places, for the hint (packaging/gatehouse.service). */
#define WRITABLE_UNIT_HINT                                                           \
	"under the shipped systemd unit only /var/lib/gatehouse (StateDirectory=), " \
	"/run/gatehouse and ReadWritePaths= are writable"

/* writable_one - warn when PATH's directory (of DIRECTIVE) is not
 * writable, or PATH itself when IN_PLACE (written where it is, not renamed
 * over); LOST says what goes missing then */
static void writable_one(const char *directive, const char *path, bool in_place, const char *lost,
			 struct diag *warns)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (path[0] == '\0' || slash == NULL)
		return; /* empty: off; the table only takes absolute paths */
	dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (dir == NULL) {
		diag_pushf(warns, "%s = %s: not checked (out of memory)", directive, path);
		return;
	}
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0)
		/* EROFS is the sandbox (or a read-only mount): say where to write */
		diag_pushf(warns, "%s = %s: cannot create files in %s (%s): %s%s%s", directive,
			   path, dir, strerror(errno), lost, errno == EROFS ? "; " : "",
			   errno == EROFS ? WRITABLE_UNIT_HINT : "");
	else if (in_place && faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0 && errno != ENOENT)
		diag_pushf(warns, "%s = %s: cannot write the file (%s): %s", directive, path,
			   strerror(errno), lost);
	free(dir);
}

void writable_check(const struct config *c, struct diag *warns)
{
	/* SQLite writes the file in place, its WAL and journal beside it */
	writable_one("dmarc_report_db", c->dmarc_report_db, true,
		     "no DMARC evaluation will be recorded for aggregate reports", warns);
	/* a temporary file renamed over the old one: the directory decides */
	writable_one("metrics_textfile", c->metrics_textfile, false,
		     "node_exporter will not see gatehouse's metrics", warns);
}
