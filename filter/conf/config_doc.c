/*
 * config_doc.c - the configuration described from the directive table:
 * sample config, man page section, effective values (see config.h)
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf/config.h"
#include "conf/config_table.h"
#include "rules/rule_target.h"

/* print_wrapped - DOC as lines of at most ~76 columns, each starting with PREFIX */
static void print_wrapped(FILE *fp, const char *prefix, const char *doc)
{
	const char *p = doc;

	while (*p) {
		size_t col = 0, last_space = 0, i;

		for (i = 0; p[i] && col < 74; i++, col++)
			if (p[i] == ' ')
				last_space = i;
		if (p[i] && last_space > 0)
			i = last_space;
		fprintf(fp, "%s%.*s\n", prefix, (int)i, p);
		p += i;
		while (*p == ' ')
			p++;
	}
}

/* value_text - how a value is written in the config file */
static void print_value(FILE *fp, const struct config_directive *d, const char *v)
{
	if (d->type == CDIR_STR || d->type == CDIR_MODE)
		fprintf(fp, "\"%s\"", v);
	else
		fputs(v, fp);
}

static void print_range(FILE *fp, const struct config_directive *d, const char *sep)
{
	if (d->type == CDIR_INT)
		fprintf(fp, "%srange %ld..%ld", sep, d->min, d->max);
	else if (d->type == CDIR_CHOICE) {
		fprintf(fp, "%sone of", sep);
		for (const char *const *c = d->choices; *c; c++)
			fprintf(fp, " %s", *c);
	} else if (d->type == CDIR_BOOL)
		fprintf(fp, "%syes or no", sep);
	else if (d->type == CDIR_MODE)
		fprintf(fp, "%soctal 0..0777", sep);
}

void config_print_sample(FILE *fp)
{
	const char *group = NULL;

	fputs("# gatehouse.conf - sample configuration, generated from the directive table.\n"
	      "# Every directive is shown with its default, commented out. Syntax:\n"
	      "# name = value; strings in double quotes; # starts a comment.\n"
	      "# Check a file with: gatehouse -n -c /etc/gatehouse/gatehouse.conf\n",
	      fp);
	for (size_t i = 0; i < config_ndirectives; i++) {
		const struct config_directive *d = &config_directives[i];

		if (group == NULL || strcmp(group, d->group) != 0) {
			group = d->group;
			fprintf(fp, "\n## %s\n", group);
		}
		fputs("\n", fp);
		print_wrapped(fp, "# ", d->doc);
		fprintf(fp, "# Type %s",
			d->type == CDIR_STR    ? "string"
			: d->type == CDIR_INT  ? "integer"
			: d->type == CDIR_BOOL ? "boolean"
			: d->type == CDIR_MODE ? "mode"
					       : "choice");
		print_range(fp, d, ", ");
		fputs(".\n", fp);
		fprintf(fp, "#%s = ", d->name);
		print_value(fp, d, d->def);
		fputs("\n", fp);
	}
}

/* roff_escape - write S with backslashes and leading dots made safe */
static void roff_escape(FILE *fp, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", fp);
		else if (*s == '-')
			fputs("\\-", fp);
		else
			fputc(*s, fp);
	}
}

void config_print_man(FILE *fp)
{
	const char *group = NULL;

	for (size_t i = 0; i < config_ndirectives; i++) {
		const struct config_directive *d = &config_directives[i];

		if (group == NULL || strcmp(group, d->group) != 0) {
			group = d->group;
			fprintf(fp, ".SS %c%s\n", group[0] - 32, group + 1);
		}
		fprintf(fp, ".TP\n.B ");
		roff_escape(fp, d->name);
		fputs("\n(", fp);
		fputs(d->type == CDIR_STR    ? "string"
		      : d->type == CDIR_INT  ? "integer"
		      : d->type == CDIR_BOOL ? "boolean"
		      : d->type == CDIR_MODE ? "mode"
					     : "choice",
		      fp);
		print_range(fp, d, "; ");
		fputs("; default ", fp);
		if (d->def[0] == '\0')
			fputs("empty", fp);
		else {
			fputs("\\fB", fp);
			roff_escape(fp, d->def);
			fputs("\\fR", fp);
		}
		fputs(")\n", fp);
		roff_escape(fp, d->doc);
		fputs("\n", fp);
	}
}

/* print_quoted - S as a double-quoted config string that reads back as S:
 * libconfuse takes a backslash as an escape and "${" as a variable */
static void print_quoted(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == '$')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputs("\"\n", fp);
}

void config_print_effective(FILE *fp, const struct config *c)
{
	fprintf(fp, "# effective configuration from %s\n", c->path);
	for (size_t i = 0; i < config_ndirectives; i++) {
		const struct config_directive *d = &config_directives[i];
		const char *field = (const char *)c + d->offset;

		fprintf(fp, "%s = ", d->name);
		switch (d->type) {
		case CDIR_STR:
			print_quoted(fp, *(char *const *)field);
			break;
		case CDIR_INT:
			fprintf(fp, "%ld\n", *(const long *)field);
			break;
		case CDIR_BOOL:
			fprintf(fp, "%s\n", *(const bool *)field ? "yes" : "no");
			break;
		case CDIR_MODE:
			fprintf(fp, "\"%04o\"\n", *(const int *)field);
			break;
		case CDIR_CHOICE: {
			int v = *(const int *)field;
			const char *word = "?";

			for (const char *const *w = d->choices; *w; w++)
				if (d->parse(*w) == v) {
					word = *w;
					break;
				}
			fprintf(fp, "%s\n", word);
			break;
		}
		}
	}
}

void config_print_rule_targets(FILE *fp)
{
	static const char *const kinds[] = { "text", "address", "number", "yes/no" };
	unsigned n;
	const struct rule_target_info *t = rule_targets(&n);

	for (unsigned i = 0; i < n; i++) {
		fputs(".TP\n.B ", fp);
		roff_escape(fp, t[i].name);
		if (t[i].suffixed)
			fputs("\\fINAME\\fR", fp);
		fprintf(fp, "\n(%s; decided at %s)\n", kinds[t[i].kind],
			t[i].phase == GH_PH_EOM	  ? "end of message"
			: t[i].phase == GH_PH_EOH ? "end of header"
						  : verdict_phase_name(t[i].phase));
		if (t[i].doc != NULL) {
			roff_escape(fp, t[i].doc);
			fputc('\n', fp);
		}
	}
}
