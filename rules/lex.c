/*
 * lex.c - the rule language's tokens (see rule_lex.h)
 */
#include <string.h>

#include "rules/rule_lex.h"
#include "util/arena.h"

void rule_lex_init(struct rule_lexer *lx, const char *src, size_t len, struct arena *arena)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->arena = arena;
}

const char *rule_tok_name(enum rtok kind)
{
	static const char *const names[] = {
		[RT_EOF] = "end of file",
		[RT_IDENT] = "a name",
		[RT_WORD] = "a number or address",
		[RT_STRING] = "a string",
		[RT_REGEX] = "a /regex/",
		[RT_LBRACE] = "'{'",
		[RT_RBRACE] = "'}'",
		[RT_LPAREN] = "'('",
		[RT_RPAREN] = "')'",
		[RT_COMMA] = "','",
		[RT_ASSIGN] = "'='",
		[RT_EQ] = "'=='",
		[RT_NE] = "'!='",
		[RT_MATCH] = "'~'",
		[RT_NMATCH] = "'!~'",
		[RT_LT] = "'<'",
		[RT_LE] = "'<='",
		[RT_GT] = "'>'",
		[RT_GE] = "'>='",
	};
	return kind <= RT_GE ? names[kind] : "a token";
}

static int peek(const struct rule_lexer *lx, size_t ahead)
{
	return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

/* advance - consume one byte, keeping line and column */
static void advance(struct rule_lexer *lx)
{
	if (lx->src[lx->pos] == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->pos++;
}

static int fail(struct rule_lexer *lx, unsigned line, unsigned col, const char *msg)
{
	lx->error = msg;
	lx->err_line = line;
	lx->err_col = col;
	return -1;
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* skip_space - whitespace and # comments */
static void skip_space(struct rule_lexer *lx)
{
	for (;;) {
		int c = peek(lx, 0);

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
			advance(lx);
		} else if (c == '#') {
			while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
				advance(lx);
		} else {
			return;
		}
	}
}

/* lex_run - identifiers and words: a run of bytes KIND allows */
static int lex_run(struct rule_lexer *lx, struct rtoken *t, enum rtok kind)
{
	size_t start = lx->pos;

	for (;;) {
		int c = peek(lx, 0);

		if (c == -1 || !(is_alpha(c) || is_digit(c) || c == '.' || c == '-' ||
				 (kind == RT_WORD && (c == ':' || c == '/'))))
			break;
		advance(lx);
	}
	t->kind = kind;
	t->len = lx->pos - start;
	t->text = arena_memdup(lx->arena, lx->src + start, t->len);
	return t->text ? 0 : fail(lx, t->line, t->col, "out of memory");
}

/* lex_string - "..." with a few escapes; the text is unescaped. The end is
 * found first so the copy is the string's size, not the rest of the file's. */
static int lex_string(struct rule_lexer *lx, struct rtoken *t)
{
	size_t end = lx->pos + 1, n = 0;
	char *out;

	while (end < lx->len && lx->src[end] != '"' && lx->src[end] != '\n')
		end += lx->src[end] == '\\' && end + 1 < lx->len && lx->src[end + 1] != '\n' ? 2
											     : 1;
	if ((out = arena_alloc(lx->arena, end - lx->pos + 1)) == NULL)
		return fail(lx, t->line, t->col, "out of memory");
	advance(lx); /* the opening quote */
	for (;;) {
		int c = peek(lx, 0);

		if (c == -1 || c == '\n')
			return fail(lx, t->line, t->col, "unterminated string");
		if (c == 0) {
			advance(lx);
			return fail(lx, lx->line, lx->col - 1, "NUL byte in string");
		}
		if (c == '"') {
			advance(lx);
			break;
		}
		if (c == '\\') {
			unsigned l = lx->line, col = lx->col;

			advance(lx);
			c = peek(lx, 0);
			if (c == '"' || c == '\\')
				out[n++] = (char)c;
			else if (c == 't')
				out[n++] = '\t';
			else if (c == 'n')
				out[n++] = '\n';
			else
				return fail(lx, l, col,
					    "unknown escape in string (use \\\" \\\\ \\t \\n)");
			advance(lx);
			continue;
		}
		out[n++] = (char)c;
		advance(lx);
	}
	out[n] = '\0';
	t->kind = RT_STRING;
	t->text = out;
	t->len = n;
	return 0;
}

/* lex_regex - /pattern/flags: the pattern as written, up to an unescaped / */
static int lex_regex(struct rule_lexer *lx, struct rtoken *t)
{
	size_t start;

	advance(lx);
	start = lx->pos;
	for (;;) {
		int c = peek(lx, 0);

		if (c == -1 || c == '\n')
			return fail(lx, t->line, t->col,
				    "unterminated regex (a / inside it is written \\/)");
		if (c == 0) {
			advance(lx);
			return fail(lx, lx->line, lx->col - 1, "NUL byte in regex (write \\x00)");
		}
		if (c == '\\' && peek(lx, 1) != -1 && peek(lx, 1) != '\n') {
			advance(lx);
			advance(lx);
			continue;
		}
		if (c == '/')
			break;
		advance(lx);
	}
	t->kind = RT_REGEX;
	t->len = lx->pos - start;
	t->text = arena_memdup(lx->arena, lx->src + start, t->len);
	advance(lx); /* the closing / */
	t->flags_col = lx->col;
	start = lx->pos;
	while (peek(lx, 0) != -1 && (is_alpha(peek(lx, 0)) || is_digit(peek(lx, 0))))
		advance(lx);
	t->flags = arena_memdup(lx->arena, lx->src + start, lx->pos - start);
	if (t->text == NULL || t->flags == NULL)
		return fail(lx, t->line, t->col, "out of memory");
	return 0;
}

int rule_lex_next(struct rule_lexer *lx, struct rtoken *t)
{
	int c, c2;

	skip_space(lx);
	memset(t, 0, sizeof(*t));
	t->line = lx->line;
	t->col = lx->col;
	c = peek(lx, 0);
	if (c == -1) {
		t->kind = RT_EOF;
		t->text = "";
		return 0;
	}
	if (is_alpha(c))
		return lex_run(lx, t, RT_IDENT);
	if (is_digit(c) || c == ':')
		return lex_run(lx, t, RT_WORD);
	if (c == '"')
		return lex_string(lx, t);
	if (c == '/')
		return lex_regex(lx, t);
	c2 = peek(lx, 1);
	t->text = "";
	switch (c) {
	case '{':
		t->kind = RT_LBRACE;
		break;
	case '}':
		t->kind = RT_RBRACE;
		break;
	case '(':
		t->kind = RT_LPAREN;
		break;
	case ')':
		t->kind = RT_RPAREN;
		break;
	case ',':
		t->kind = RT_COMMA;
		break;
	case '~':
		t->kind = RT_MATCH;
		break;
	case '=':
		t->kind = c2 == '=' ? RT_EQ : RT_ASSIGN;
		break;
	case '!':
		if (c2 == '=')
			t->kind = RT_NE;
		else if (c2 == '~')
			t->kind = RT_NMATCH;
		else {
			advance(lx); /* so the caller can go on past it */
			return fail(lx, t->line, t->col,
				    "'!' must be followed by '=' or '~' (or use 'not')");
		}
		break;
	case '<':
		t->kind = c2 == '=' ? RT_LE : RT_LT;
		break;
	case '>':
		t->kind = c2 == '=' ? RT_GE : RT_GT;
		break;
	default:
		advance(lx);
		return fail(lx, t->line, t->col,
			    c >= 0x20 && c < 0x7f ? "unexpected character"
						  : "unexpected byte (not printable ASCII)");
	}
	advance(lx);
	if (t->kind == RT_EQ || t->kind == RT_NE || t->kind == RT_NMATCH || t->kind == RT_LE ||
	    t->kind == RT_GE)
		advance(lx);
	return 0;
}
