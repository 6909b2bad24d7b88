/*
 * parse.c - rule files into rules (grammar in rule_ast.h)
 *
 * A recursive-descent parser over rule_lex tokens. It reports an error and
 * skips to the next item (`rule`, `define` or `list` at the start of a line
 * or after a `}`), so one run of `gatehouse -n` shows every mistake. Regexes
 * are compiled as they are read, so PCRE2's message points at the exact
 * column of the fault.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/rule_build.h"
#include "rules/rule_lex.h"
#include "util/arena.h"
#include "util/gh.h"

struct parser {
	struct rule_build *b;
	struct rule_lexer lx;
	const char *file, *basedir;
	struct rtoken tok, peek;
	bool have_peek;
	bool failed; /* the current item had an error */
	enum rtok prev_kind;
};

/* perr - report at token T and mark the item failed */
static void perr(struct parser *p, const struct rtoken *t, const char *fmt, const char *arg)
{
	if (p->failed)
		return; /* one error per item: the rest is likely a consequence */
	p->failed = true;
	rule_build_error(p->b, p->file, t->line, t->col, fmt, arg ? arg : "");
}

/* lex - the next token; lexer errors are reported and the token skipped */
static void lex(struct parser *p, struct rtoken *t)
{
	while (rule_lex_next(&p->lx, t) != 0) {
		if (!p->failed) {
			p->failed = true;
			rule_build_error(p->b, p->file, p->lx.err_line, p->lx.err_col, "%s",
					 p->lx.error);
		}
	}
}

static void next(struct parser *p)
{
	p->prev_kind = p->tok.kind;
	if (p->have_peek) {
		p->tok = p->peek;
		p->have_peek = false;
	} else {
		lex(p, &p->tok);
	}
}

static const struct rtoken *peek(struct parser *p)
{
	if (!p->have_peek) {
		lex(p, &p->peek);
		p->have_peek = true;
	}
	return &p->peek;
}

static bool is_word(const struct rtoken *t, const char *w)
{
	return t->kind == RT_IDENT && strcmp(t->text, w) == 0;
}

static bool expect(struct parser *p, enum rtok kind, const char *what)
{
	if (p->tok.kind == kind) {
		next(p);
		return true;
	}
	perr(p, &p->tok, "expected %s", what);
	return false;
}

static struct rnode *node_new(struct parser *p, enum rnode_kind kind, const struct rtoken *at)
{
	struct rnode *n = arena_alloc(p->b->a, sizeof(*n));

	if (n == NULL) {
		perr(p, at, "out of memory%s", NULL);
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = at->line;
	n->col = at->col;
	return n;
}

/* size_add - A + B, saturating: 64 nested defines would overflow otherwise */
static unsigned long long size_add(unsigned long long a, unsigned long long b)
{
	return a > ULLONG_MAX - b ? ULLONG_MAX : a + b;
}

/* node_derive - N's phase, need and size from its children (set already) */
static void node_derive(struct rnode *n)
{
	const struct rule_target_info *ti;

	switch (n->kind) {
	case RN_AND:
	case RN_OR:
		n->phase = n->l->phase > n->r->phase ? n->l->phase : n->r->phase;
		n->need = n->l->need | n->r->need;
		n->size = size_add(1, size_add(n->l->size, n->r->size));
		break;
	case RN_NOT:
		n->phase = n->l->phase;
		n->need = n->l->need;
		n->size = size_add(1, n->l->size);
		break;
	case RN_PRED:
		ti = rule_target_info(n->tgt.id);
		n->phase = ti->phase;
		n->need = ti->need;
		n->size = 1;
		break;
	}
}

static struct rule_def *find_def(struct rule_build *b, const char *name)
{
	for (size_t i = 0; i < b->ndefs; i++)
		if (strcmp(b->defs[i].name, name) == 0)
			return &b->defs[i];
	return NULL;
}

static struct rule_list *find_list(struct rule_build *b, const char *name)
{
	for (size_t i = 0; i < b->nlists; i++)
		if (strcmp(b->lists[i]->name, name) == 0)
			return b->lists[i];
	return NULL;
}

static int cmp_items(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* list_finish - lower-case, sort and de-duplicate, so lookups are a bsearch */
static void list_finish(struct rule_list *l)
{
	size_t out = 0;

	if (l->n == 0)
		return; /* an empty list: qsort must not see its NULL array */
	for (size_t i = 0; i < l->n; i++)
		for (char *c = (char *)l->items[i]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	qsort(l->items, l->n, sizeof(*l->items), cmp_items);
	for (size_t i = 0; i < l->n; i++)
		if (out == 0 || strcmp(l->items[out - 1], l->items[i]) != 0)
			l->items[out++] = l->items[i];
	l->n = out;
}

static bool list_push(struct parser *p, struct rule_list *l, size_t *cap, const char *item,
		      const struct rtoken *at)
{
	if (l->n == *cap &&
	    (l->items = arena_grow(p->b->a, l->items, cap, sizeof(*l->items))) == NULL) {
		perr(p, at, "out of memory%s", NULL);
		return false;
	}
	l->items[l->n++] = item;
	return true;
}

static struct rule_list *list_new(struct parser *p, const struct rtoken *at)
{
	struct rule_list *l = arena_alloc(p->b->a, sizeof(*l));

	if (l == NULL) {
		perr(p, at, "out of memory%s", NULL);
		return NULL;
	}
	memset(l, 0, sizeof(*l));
	l->line = at->line;
	l->col = at->col;
	l->file = p->file;
	return l;
}

/* parse_values - { value, value, ... } (the { is the current token) */
static struct rule_list *parse_values(struct parser *p)
{
	struct rule_list *l = list_new(p, &p->tok);
	size_t cap = 0;

	if (l == NULL)
		return NULL;
	next(p); /* { */
	while (p->tok.kind != RT_RBRACE) {
		if (p->tok.kind != RT_STRING && p->tok.kind != RT_WORD && p->tok.kind != RT_IDENT) {
			perr(p, &p->tok, "expected a value or '}' in the list%s", NULL);
			return NULL;
		}
		if (memchr(p->tok.text, '\0', p->tok.len) != NULL ||
		    !list_push(p, l, &cap, arena_strdup(p->b->a, p->tok.text), &p->tok))
			return NULL;
		next(p);
		if (p->tok.kind == RT_COMMA)
			next(p);
		else if (p->tok.kind != RT_RBRACE) {
			perr(p, &p->tok, "expected ',' or '}' in the list%s", NULL);
			return NULL;
		}
	}
	next(p);
	list_finish(l);
	return l;
}

/* load_list_file - one item per line; blank lines and # comments skipped */
static struct rule_list *load_list_file(struct parser *p, const struct rtoken *at)
{
	struct rule_list *l = list_new(p, at);
	char *path, *line = NULL;
	size_t cap = 0, linecap = 0;
	unsigned lineno = 0;
	ssize_t got;
	FILE *fp;

	if (l == NULL)
		return NULL;
	path = at->text[0] == '/' ? arena_strdup(p->b->a, at->text)
				  : arena_printf(p->b->a, "%s/%s", p->basedir, at->text);
	if (path == NULL || (fp = fopen(path, "r")) == NULL) {
		perr(p, at, "cannot read list file %s", path ? path : at->text);
		return NULL;
	}
	while ((got = getline(&line, &linecap, fp)) > 0) {
		char *s = line, *e;

		lineno++;
		if ((e = strchr(s, '#')) != NULL)
			*e = '\0';
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*s == '\0')
			continue;
		if (!list_push(p, l, &cap, arena_strdup(p->b->a, s), at))
			break;
	}
	free(line);
	fclose(fp);
	list_finish(l);
	return p->failed ? NULL : l;
}

/* parse_number - 123, 10K, 5M, 1G (binary multiples) */
static bool parse_number(struct parser *p, const struct rtoken *t, long long *out)
{
	char *end;
	long long v;
	long long mult = 1;

	errno = 0;
	v = strtoll(t->text, &end, 10);
	if (end == t->text || errno != 0 || v < 0) {
		perr(p, t, "'%s' is not a number", t->text);
		return false;
	}
	if (*end == 'k' || *end == 'K')
		mult = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mult = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mult = 1024LL * 1024 * 1024, end++;
	if (*end != '\0' || v > LLONG_MAX / mult) {
		perr(p, t, "'%s' is not a number (digits, optionally K, M or G)", t->text);
		return false;
	}
	*out = v * mult;
	return true;
}

static struct rnode *parse_expr(struct parser *p);

/* parse_regex_operand - the /regex/ after ~ or !~ */
static bool parse_regex_operand(struct parser *p, struct rnode *n)
{
	struct rule_regex *re;
	struct rule_build *b = p->b;

	if (p->tok.kind != RT_REGEX) {
		perr(p, &p->tok, "expected a /regex/ after '~'%s", NULL);
		return false;
	}
	re = arena_alloc(b->a, sizeof(*re));
	if (re == NULL)
		return false;
	memset(re, 0, sizeof(*re));
	re->pattern = p->tok.text;
	re->flags = p->tok.flags;
	re->line = p->tok.line;
	re->col = p->tok.col + 1;
	re->pf_slot = -1;
	re->target = n->tgt.id;
	for (const char *f = re->flags; *f; f++)
		if (strchr("imsxu", *f) == NULL) {
			struct rtoken at = p->tok;

			at.col = p->tok.flags_col + (unsigned)(f - re->flags);
			perr(p, &at, "unknown regex flag '%s' (use i, m, s, x, u)",
			     arena_memdup(b->a, f, 1));
			return false;
		}
	if (rule_regex_compile(b, re, p->file) != 0) {
		p->failed = true; /* reported by the compiler */
		return false;
	}
	n->re = re;
	next(p);
	return true;
}

/* parse_list_operand - { ... } or a list name after `in` */
static bool parse_list_operand(struct parser *p, struct rnode *n)
{
	if (p->tok.kind == RT_LBRACE) {
		n->list = parse_values(p);
	} else if (p->tok.kind == RT_IDENT) {
		n->list = find_list(p->b, p->tok.text);
		if (n->list == NULL)
			perr(p, &p->tok, "no list named '%s' (lists are declared before use)",
			     p->tok.text);
		else
			next(p);
	} else {
		perr(p, &p->tok, "expected '{' or a list name after 'in'%s", NULL);
	}
	if (n->list == NULL)
		return false;
	if (n->tkind == RK_IP && rule_list_cidrs(p->b, n->list, p->file, n->line, n->col) != 0) {
		p->failed = true;
		return false;
	}
	return true;
}

/* parse_rhs_target - `TARGET == TARGET`: the current token names a text
 * target; the node is known when both are */
static bool parse_rhs_target(struct parser *p, struct rnode *n)
{
	const char *arg;
	const struct rule_target_info *ti = rule_target_lookup(p->tok.text, &arg);

	if (ti == NULL || (ti->kind != RK_TEXT && ti->kind != RK_IP)) {
		perr(p, &p->tok, "'%s' is not a text target to compare with", p->tok.text);
		return false;
	}
	n->rhs_target = true;
	n->rhs.id = ti->id;
	n->rhs.arg = arg ? arena_strdup(p->b->a, arg) : NULL;
	if (ti->phase > n->phase)
		n->phase = ti->phase;
	n->need |= ti->need;
	return true;
}

/* parse_predicate - TARGET [operator operand] (current token: the target) */
static struct rnode *parse_predicate(struct parser *p)
{
	const struct rule_target_info *ti;
	const char *arg;
	struct rnode *n;
	struct rtoken at = p->tok;
	enum rtok op;

	ti = rule_target_lookup(at.text, &arg);
	if (ti == NULL) {
		perr(p, &at, "unknown target '%s' (see gatehouse.rules(5))", at.text);
		return NULL;
	}
	if ((n = node_new(p, RN_PRED, &at)) == NULL)
		return NULL;
	n->tgt.id = ti->id;
	n->tgt.arg = arg ? arena_strdup(p->b->a, arg) : NULL;
	n->tkind = ti->kind;
	node_derive(n);
	next(p);
	if (ti->kind == RK_BOOL) {
		n->op = ROP_TRUE;
		if (ti->id == TGT_DKIM_PASS && p->tok.kind == RT_STRING) {
			n->str = n->tgt.arg = p->tok.text;
			next(p);
		}
		if (p->tok.kind >= RT_EQ && p->tok.kind <= RT_GE) {
			perr(p, &p->tok, "'%s' is yes/no: use it alone or with 'not'", at.text);
			return NULL;
		}
		return n;
	}
	if (is_word(&p->tok, "not") && is_word(peek(p), "in")) {
		n->negate = true;
		next(p);
	}
	if (is_word(&p->tok, "in")) {
		n->op = ROP_IN;
		next(p);
		if (ti->kind == RK_NUM) {
			perr(p, &at, "'%s' is a number: compare it with < <= > >= == !=", at.text);
			return NULL;
		}
		return parse_list_operand(p, n) ? n : NULL;
	}
	op = p->tok.kind;
	switch (op) {
	case RT_MATCH:
	case RT_NMATCH:
		n->op = ROP_MATCH;
		n->negate = op == RT_NMATCH;
		if (ti->kind == RK_NUM) {
			perr(p, &p->tok,
			     "'%s' is a number: compare it with < <= > >= == !=", at.text);
			return NULL;
		}
		next(p);
		return parse_regex_operand(p, n) ? n : NULL;
	case RT_EQ:
	case RT_NE:
		n->op = ROP_EQ;
		n->negate = op == RT_NE;
		next(p);
		if (ti->kind == RK_NUM) {
			if (p->tok.kind != RT_WORD) {
				perr(p, &p->tok, "expected a number after '%s'",
				     op == RT_EQ ? "==" : "!=");
				return NULL;
			}
			if (!parse_number(p, &p->tok, &n->num))
				return NULL;
		} else if (p->tok.kind == RT_STRING || p->tok.kind == RT_WORD) {
			if (memchr(p->tok.text, '\0', p->tok.len) != NULL) {
				perr(p, &p->tok, "NUL in a string%s", NULL);
				return NULL;
			}
			n->str = p->tok.text;
		} else if (p->tok.kind == RT_IDENT && !parse_rhs_target(p, n)) {
			return NULL;
		} else if (p->tok.kind != RT_IDENT) {
			perr(p, &p->tok, "expected a \"string\" after '%s'",
			     op == RT_EQ ? "==" : "!=");
			return NULL;
		}
		next(p);
		return n;
	case RT_LT:
	case RT_LE:
	case RT_GT:
	case RT_GE:
		n->op = op == RT_LT ? ROP_LT : op == RT_LE ? ROP_LE : op == RT_GT ? ROP_GT : ROP_GE;
		if (ti->kind != RK_NUM) {
			perr(p, &p->tok, "'%s' is not a number: use ~, ==, or in", at.text);
			return NULL;
		}
		next(p);
		if (p->tok.kind != RT_WORD) {
			perr(p, &p->tok, "expected a number%s", NULL);
			return NULL;
		}
		if (!parse_number(p, &p->tok, &n->num))
			return NULL;
		next(p);
		return n;
	default:
		perr(p, &p->tok,
		     ti->kind == RK_NUM ? "expected a comparison (< <= > >= == !=) after '%s'"
					: "expected ~, !~, ==, != or in after '%s'",
		     at.text);
		return NULL;
	}
}

static struct rnode *parse_unary(struct parser *p)
{
	struct rtoken at = p->tok;
	struct rule_def *d;

	if (is_word(&at, "not")) {
		struct rnode *n = node_new(p, RN_NOT, &at);

		next(p);
		if (n == NULL || (n->l = parse_unary(p)) == NULL)
			return NULL;
		node_derive(n);
		return n;
	}
	if (at.kind == RT_LPAREN) {
		struct rnode *n;

		next(p);
		if ((n = parse_expr(p)) == NULL || !expect(p, RT_RPAREN, "')'"))
			return NULL;
		return n;
	}
	if (at.kind != RT_IDENT) {
		perr(p, &at, "expected a condition, found %s", rule_tok_name(at.kind));
		return NULL;
	}
	if ((d = find_def(p->b, at.text)) != NULL) {
		next(p);
		return d->node;
	}
	return parse_predicate(p);
}

static struct rnode *parse_binary(struct parser *p, const char *word, enum rnode_kind kind,
				  struct rnode *(*sub)(struct parser *))
{
	struct rnode *l = sub(p);

	while (l != NULL && is_word(&p->tok, word)) {
		struct rnode *n = node_new(p, kind, &p->tok);

		next(p);
		if (n == NULL)
			return NULL;
		n->l = l;
		if ((n->r = sub(p)) == NULL)
			return NULL;
		node_derive(n);
		l = n;
	}
	return l;
}

static struct rnode *parse_and(struct parser *p)
{
	return parse_binary(p, "and", RN_AND, parse_unary);
}

static struct rnode *parse_expr(struct parser *p)
{
	return parse_binary(p, "or", RN_OR, parse_and);
}

/* check_text - reply text or header value: printable, and only known %{...} */
static bool check_text(struct parser *p, const struct rtoken *t, bool reply)
{
	static const char *const vars[] = { "from", "rcpt", "ip", "rule", "helo", NULL };

	for (const char *c = t->text; *c; c++) {
		if (!reply && (unsigned char)*c >= 0x80) {
			perr(p, t, "non-ASCII byte in a header value (RFC 5322 fields are ASCII)%s",
			     NULL);
			return false;
		}
		if ((unsigned char)*c < 0x20 && *c != '\t') {
			perr(p, t, "control character in %s",
			     reply ? "a reply text" : "a header value");
			return false;
		}
		if (*c == '%' && c[1] == '{') {
			const char *end = strchr(c, '}');
			bool known = false;

			for (unsigned i = 0; end && vars[i]; i++)
				known |= (size_t)(end - c - 2) == strlen(vars[i]) &&
					 strncmp(c + 2, vars[i], strlen(vars[i])) == 0;
			if (!known) {
				perr(p, t,
				     "unknown variable in '%s' (known: %%{from} %%{rcpt} %%{ip} "
				     "%%{helo} %%{rule})",
				     t->text);
				return false;
			}
			c = end;
		}
	}
	if (t->len > 400) {
		perr(p, t,
		     reply ? "reply text longer than 400 bytes%s"
			   : "header value longer than 400 bytes%s",
		     NULL);
		return false;
	}
	return true;
}

static bool set_action(struct parser *p, struct rule *r, enum rule_action a, const struct rtoken *t)
{
	if (r->action != RA_NONE) {
		perr(p, t, "a rule has one action besides add-header; '%s' is a second one",
		     t->text);
		return false;
	}
	r->action = a;
	return true;
}

/* parse_reply - [CODE [ENHANCED]] [TEXT] after reject or tempfail */
static bool parse_reply(struct parser *p, struct rule *r, enum gh_action ga)
{
	const char *defcode = ga == GH_ACT_REJECT ? "550" : "451";
	const char *defecode = ga == GH_ACT_REJECT ? "5.7.1" : "4.7.1";

	strcpy(r->code, defcode);
	strcpy(r->ecode, defecode);
	r->text = ga == GH_ACT_REJECT
			  ? "Message refused by local policy (%{rule})"
			  : "Message deferred by local policy (%{rule}); try again later";
	if (p->tok.kind == RT_WORD) {
		if (!verdict_smtp_code_ok(ga, p->tok.text)) {
			perr(p, &p->tok,
			     ga == GH_ACT_REJECT ? "bad reject code '%s' (must be 5xx)"
						 : "bad tempfail code '%s' (must be 4xx)",
			     p->tok.text);
			return false;
		}
		strcpy(r->code, p->tok.text);
		next(p);
		if (p->tok.kind == RT_WORD) {
			if (p->tok.len >= sizeof(r->ecode) ||
			    !verdict_enhanced_code_ok(ga, p->tok.text)) {
				perr(p, &p->tok,
				     ga == GH_ACT_REJECT ? "bad enhanced code '%s' (must be 5.x.y)"
							 : "bad enhanced code '%s' (must be 4.x.y)",
				     p->tok.text);
				return false;
			}
			strcpy(r->ecode, p->tok.text);
			next(p);
		}
	}
	if (p->tok.kind == RT_STRING) {
		if (!check_text(p, &p->tok, true))
			return false;
		r->text = p->tok.text;
		next(p);
	}
	return true;
}

static bool header_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 100)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == ':')
			return false;
	return true;
}

/* parse_action - one action; false when it is not one (or is broken) */
static bool parse_action(struct parser *p, struct rule *r)
{
	struct rtoken t = p->tok;

	if (t.kind != RT_IDENT) {
		perr(p, &t,
		     "expected an action (accept, reject, tempfail, discard, quarantine, "
		     "monitor, add-header) or '}'%s",
		     NULL);
		return false;
	}
	next(p);
	if (strcmp(t.text, "accept") == 0)
		return set_action(p, r, RA_ACCEPT, &t);
	if (strcmp(t.text, "discard") == 0)
		return set_action(p, r, RA_DISCARD, &t);
	if (strcmp(t.text, "monitor") == 0)
		return set_action(p, r, RA_MONITOR, &t);
	if (strcmp(t.text, "reject") == 0)
		return set_action(p, r, RA_REJECT, &t) && parse_reply(p, r, GH_ACT_REJECT);
	if (strcmp(t.text, "tempfail") == 0)
		return set_action(p, r, RA_TEMPFAIL, &t) && parse_reply(p, r, GH_ACT_TEMPFAIL);
	if (strcmp(t.text, "quarantine") == 0) {
		if (!set_action(p, r, RA_QUARANTINE, &t))
			return false;
		r->text = "held by rule %{rule}";
		if (p->tok.kind == RT_STRING) {
			if (!check_text(p, &p->tok, true))
				return false;
			r->text = p->tok.text;
			next(p);
		}
		return true;
	}
	if (strcmp(t.text, "add-header") == 0) {
		struct rule_header *h;
		size_t cap = r->nheaders;

		if (p->tok.kind != RT_STRING || !header_name_ok(p->tok.text)) {
			perr(p, &p->tok,
			     "add-header needs a field name (\"X-Name\": printable, no colon) "
			     "and a \"value\"%s",
			     NULL);
			return false;
		}
		if ((r->headers = arena_grow(p->b->a, r->headers, &cap, sizeof(*r->headers))) ==
		    NULL)
			return false;
		h = &r->headers[r->nheaders];
		h->name = p->tok.text;
		next(p);
		if (p->tok.kind != RT_STRING) {
			perr(p, &p->tok, "add-header needs a \"value\" after the name%s", NULL);
			return false;
		}
		if (!check_text(p, &p->tok, false))
			return false;
		h->value = p->tok.text;
		r->nheaders++;
		next(p);
		return true;
	}
	perr(p, &t,
	     "unknown action '%s' (accept, reject, tempfail, discard, quarantine, monitor, "
	     "add-header)",
	     t.text);
	return false;
}

static bool name_ok(struct parser *p, const struct rtoken *t, const char *what)
{
	const char *arg;

	if (t->kind != RT_IDENT) {
		perr(p, t, "expected a %s name", what);
		return false;
	}
	if (rule_target_lookup(t->text, &arg) != NULL || find_def(p->b, t->text) != NULL ||
	    find_list(p->b, t->text) != NULL) {
		perr(p, t, "'%s' is already a target, define or list name", t->text);
		return false;
	}
	static const char *const reserved[] = { "rule", "define", "list", "when", "and",
						"or",	"not",	  "in",	  "file", NULL };
	for (unsigned i = 0; reserved[i]; i++)
		if (strcmp(t->text, reserved[i]) == 0) {
			perr(p, t, "'%s' is a reserved word", t->text);
			return false;
		}
	return true;
}

/*
 * within_budget - does WHEN, with every define written out, still fit the
 * rule set's size budget? A define is shared, so the rule set stays small
 * in memory; but a rule's meaning is the written-out tree, and `define dN =
 * dN-1 or dN-1` doubles it per level: a rule set the budget refuses is a
 * mistake or an attack, and is said so at load instead of costing every
 * message. Reported once, at the rule that crosses the budget.
 */
static bool within_budget(struct parser *p, const struct rtoken *name, const struct rnode *when)
{
	struct rule_build *b = p->b;
	unsigned long budget = b->lim->max_size ? b->lim->max_size : RULE_DEFAULT_MAX_SIZE;
	unsigned long long total = size_add(b->size, when->size);
	char *why;

	if (total <= budget) {
		b->size = total;
		return true;
	}
	if (b->over_budget) {
		p->failed = true;
		return false;
	}
	b->over_budget = true;
	why = b->size == 0 ? arena_printf(b->a,
					  "rule set too large after expanding definitions: rule "
					  "'%s' holds %llu conditions with its defines written "
					  "out, over the budget of %lu (rules_max_size)",
					  name->text, when->size, budget)
			   : arena_printf(b->a,
					  "rule set too large after expanding definitions: rule "
					  "'%s' holds %llu conditions with its defines written "
					  "out, the rules before it %llu, over the budget of %lu "
					  "(rules_max_size)",
					  name->text, when->size, b->size, budget);
	perr(p, name, "%s", why ? why : "rule set too large after expanding definitions");
	return false;
}

static void parse_rule(struct parser *p)
{
	struct rule_build *b = p->b;
	struct rtoken kw = p->tok, name;
	struct rule r = { 0 };

	next(p);
	name = p->tok;
	if (name.kind != RT_IDENT) {
		perr(p, &name, "expected a rule name after 'rule'%s", NULL);
		return;
	}
	for (size_t i = 0; i < b->nrules; i++)
		if (strcmp(b->rules[i].name, name.text) == 0) {
			perr(p, &name, "a rule named '%s' already exists", name.text);
			return;
		}
	next(p);
	if (!expect(p, RT_LBRACE, "'{' after the rule name"))
		return;
	if (!is_word(&p->tok, "when")) {
		perr(p, &p->tok, "a rule starts with 'when' and a condition%s", NULL);
		return;
	}
	next(p);
	if ((r.when = parse_expr(p)) == NULL)
		return;
	while (p->tok.kind != RT_RBRACE && !p->failed) {
		if (p->tok.kind == RT_EOF) {
			perr(p, &kw, "rule '%s' has no closing '}'", name.text);
			return;
		}
		if (!parse_action(p, &r))
			return;
	}
	if (p->failed)
		return;
	if (r.action == RA_NONE && r.nheaders == 0) {
		perr(p, &p->tok, "rule '%s' has no action", name.text);
		return;
	}
	if (r.action == RA_MONITOR && r.nheaders > 0) {
		perr(p, &kw, "rule '%s': monitor changes nothing, so it cannot add headers",
		     name.text);
		return;
	}
	if (!within_budget(p, &name, r.when))
		return;
	next(p); /* } */
	r.name = name.text;
	r.file = p->file;
	r.line = kw.line;
	if (b->nrules == b->rules_cap &&
	    (b->rules = arena_grow(b->a, b->rules, &b->rules_cap, sizeof(*b->rules))) == NULL)
		return;
	r.index = (unsigned)b->nrules;
	b->rules[b->nrules++] = r;
}

static void parse_define(struct parser *p)
{
	struct rule_build *b = p->b;
	struct rtoken name;
	struct rnode *n;

	next(p);
	name = p->tok;
	if (!name_ok(p, &name, "define"))
		return;
	next(p);
	if (!expect(p, RT_ASSIGN, "'=' after the define name") || (n = parse_expr(p)) == NULL)
		return;
	if (b->ndefs == b->defs_cap &&
	    (b->defs = arena_grow(b->a, b->defs, &b->defs_cap, sizeof(*b->defs))) == NULL)
		return;
	/* Its answer is cached per message (eval.c); `define b = a` shares a's slot. */
	if (n->def_slot == 0)
		n->def_slot = ++b->ndef_slots;
	b->defs[b->ndefs].name = name.text;
	b->defs[b->ndefs++].node = n;
}

static void parse_list(struct parser *p)
{
	struct rule_build *b = p->b;
	struct rtoken name;
	struct rule_list *l = NULL;

	next(p);
	name = p->tok;
	if (!name_ok(p, &name, "list"))
		return;
	next(p);
	if (!expect(p, RT_ASSIGN, "'=' after the list name"))
		return;
	if (p->tok.kind == RT_LBRACE) {
		l = parse_values(p);
	} else if (is_word(&p->tok, "file")) {
		next(p);
		if (p->tok.kind != RT_STRING) {
			perr(p, &p->tok, "expected a \"file name\" after 'file'%s", NULL);
			return;
		}
		l = load_list_file(p, &p->tok);
		next(p);
	} else {
		perr(p, &p->tok, "expected '{' or 'file' after '='%s", NULL);
	}
	if (l == NULL)
		return;
	l->name = name.text;
	if (b->nlists == b->lists_cap &&
	    (b->lists = arena_grow(b->a, b->lists, &b->lists_cap, sizeof(*b->lists))) == NULL)
		return;
	b->lists[b->nlists++] = l;
}

/* sync - after an error: on to the next item */
static void sync_item(struct parser *p)
{
	while (p->tok.kind != RT_EOF) {
		if ((is_word(&p->tok, "rule") || is_word(&p->tok, "define") ||
		     is_word(&p->tok, "list")) &&
		    (p->tok.col == 1 || p->prev_kind == RT_RBRACE))
			return;
		next(p);
	}
}

void rule_parse_file(struct rule_build *b, const char *file, const char *basedir, const char *text,
		     size_t len)
{
	struct parser p = { .b = b, .file = file, .basedir = basedir };

	rule_lex_init(&p.lx, text, len, b->a);
	next(&p);
	while (p.tok.kind != RT_EOF && b->nerrors <= RULE_MAX_ERRORS) {
		p.failed = false;
		if (is_word(&p.tok, "rule"))
			parse_rule(&p);
		else if (is_word(&p.tok, "define"))
			parse_define(&p);
		else if (is_word(&p.tok, "list"))
			parse_list(&p);
		else
			perr(&p, &p.tok, "expected 'rule', 'define' or 'list', found %s",
			     p.tok.kind == RT_IDENT ? p.tok.text : rule_tok_name(p.tok.kind));
		if (p.failed) {
			if (p.tok.kind != RT_EOF)
				next(&p);
			sync_item(&p);
		}
	}
}
