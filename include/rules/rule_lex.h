/*
 * rule_lex.h - tokens of the rule language
 *
 * The lexer turns one rule file into tokens with their line and column
 * (1-based, columns count bytes), which every later error message quotes as
 * FILE:LINE:COL. It knows no keywords: `rule`, `when`, `reject` are
 * identifiers and the parser gives them meaning, so a new keyword never
 * changes the lexer. Whitespace and newlines only separate tokens; `#`
 * starts a comment to the end of the line.
 *
 * Token forms:
 *   identifier  [A-Za-z_][A-Za-z0-9_.-]*   subject, header.X-Mailer, add-header
 *   word        [0-9:] then [0-9A-Za-z:./_-]*   550, 5.7.1, 10M, 192.0.2.0/24, ::1
 *   string      "..." with \" \\ \t \n escapes; never spans lines
 *   regex       /.../flags; the pattern is kept as written (\/ stays \/,
 *               which PCRE2 reads as /); never spans lines
 *   punctuation { } ( ) , = == != ~ !~ < <= > >=
 *
 * Memory: string and regex texts are copied into the arena given at init.
 */
#ifndef RULE_LEX_H
#define RULE_LEX_H

#include <stddef.h>

struct arena;

enum rtok {
	RT_EOF = 0,
	RT_IDENT,
	RT_WORD,
	RT_STRING,
	RT_REGEX,
	RT_LBRACE,
	RT_RBRACE,
	RT_LPAREN,
	RT_RPAREN,
	RT_COMMA,
	RT_ASSIGN,
	RT_EQ,
	RT_NE,
	RT_MATCH,
	RT_NMATCH,
	RT_LT,
	RT_LE,
	RT_GT,
	RT_GE
};

struct rtoken {
	enum rtok kind;
	const char *text;  /* NUL-terminated: identifier, word, unescaped string, pattern */
	size_t len;	   /* bytes in text (a string may hold no NUL: rejected) */
	const char *flags; /* regex only: the letters after the closing / */
	unsigned line, col;
	unsigned flags_col; /* regex only: column of the first flag letter */
};

struct rule_lexer {
	const char *src;
	size_t len, pos;
	unsigned line, col;
	struct arena *arena;
	const char *error; /* set when rule_lex_next fails */
	unsigned err_line, err_col;
};

/* rule_lex_init - tokens of SRC[0..LEN) into ARENA */
void rule_lex_init(struct rule_lexer *lx, const char *src, size_t len, struct arena *arena);
/* rule_lex_next - the next token into T; 0, or -1 with lx->error and its position */
int rule_lex_next(struct rule_lexer *lx, struct rtoken *t);
/* rule_tok_name - what a token kind is called in error messages */
const char *rule_tok_name(enum rtok kind);

#endif
