/*
 * login_map.h - which login may use which sender address
 *
 * Two text formats, both read by table_file.h's reader:
 *  - Postfix's smtpd_sender_login_maps source format (LOGIN_MAP_POSTFIX):
 *    "ADDRESS  login1, login2" or "@DOMAIN  login", address -> owners. As in
 *    Postfix, the exact address is looked up first (then the address without
 *    a "+extension"), then "@domain"; the first key found decides alone.
 *  - gatehouse's own format (LOGIN_MAP_GATEHOUSE): "LOGIN  pattern, ...",
 *    login -> what it may use: "user@domain", "@domain" (any address there)
 *    or a glob ("*@lists.example.org", "alice+*@example.org"; fnmatch).
 *    Shared mailboxes, aliases and lists are simply more patterns.
 * Matching ignores case. login_map_owns() says whether LOGIN may use ADDR
 * and names the FILE:LINE that decided, for the log.
 *
 * Threads: built once per configuration snapshot, then read-only.
 * Memory: the map owns its entries; login_map_free() releases them.
 */
#ifndef OUTBOUND_LOGIN_MAP_H
#define OUTBOUND_LOGIN_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct diag;
struct login_map;

enum login_map_format { LOGIN_MAP_POSTFIX, LOGIN_MAP_GATEHOUSE };

/* login_map_why - the line that decided (file NULL: no line matched) */
struct login_map_why {
	const char *file;
	unsigned long line;
};

/* login_map_new - an empty map; NULL on OOM */
struct login_map *login_map_new(void);
/* login_map_free - accepts NULL */
void login_map_free(struct login_map *m);
/* login_map_load - add PATH's entries in FORMAT; 0, or -1 with FILE:LINE errors in ERRS */
int login_map_load(struct login_map *m, const char *path, enum login_map_format format,
		   struct diag *errs);
/* login_map_parse - the same from TEXT[0..LEN) named FILE (tests, fuzzing) */
int login_map_parse(struct login_map *m, const char *file, const char *text, size_t len,
		    enum login_map_format format, struct diag *errs);
/* login_map_owns - LOGIN may use ADDR ("local@domain"); WHY (may be NULL) names the deciding line */
bool login_map_owns(const struct login_map *m, const char *login, const char *addr,
		    struct login_map_why *why);
/* login_map_size - entries loaded (for logs and tests) */
size_t login_map_size(const struct login_map *m);

#endif
