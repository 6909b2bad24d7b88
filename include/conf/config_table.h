/*
 * config_table.h - the one table of configuration directives
 *
 * Every directive gatehouse understands is one row here: name, type,
 * default, bounds or choices, where its value lands in struct config, and
 * its documentation. config.c builds libconfuse's option list, the
 * validators, the sample config and the man page section from these rows;
 * nothing else lists directives.
 */
#ifndef CONFIG_TABLE_H
#define CONFIG_TABLE_H

#include <stddef.h>

enum cdir_type {
	CDIR_STR,   /* free string, optionally checked by CHECK */
	CDIR_INT,   /* integer in MIN..MAX */
	CDIR_BOOL,  /* yes/no, true/false, on/off */
	CDIR_MODE,  /* octal permission bits, 0..0777 */
	CDIR_CHOICE /* one word of CHOICES, mapped by PARSE to an int */
};

/*
 * A row sets only the members its type reads (config_table.c writes each
 * row with its type's CDIR_ROW_* constructor); the others are zero.
 */
struct config_directive {
	const char *name;
	enum cdir_type type;
	const char *def;	    /* default, in config syntax */
	long min, max;		    /* CDIR_INT bounds */
	const char *const *choices; /* CDIR_CHOICE words, NULL-terminated */
	int (*parse)(const char *); /* CDIR_CHOICE: word -> value, -1 if none */
	/* CDIR_STR: returns NULL when valid, else a static reason */
	const char *(*check)(const char *);
	size_t offset;	   /* into struct config */
	const char *group; /* heading in sample config and man page */
	const char *doc;   /* one paragraph */
};

extern const struct config_directive config_directives[];
extern const size_t config_ndirectives;

/* config_directive_find - the row called NAME, or NULL */
const struct config_directive *config_directive_find(const char *name);

#endif
