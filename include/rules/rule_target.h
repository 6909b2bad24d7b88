/*
 * rule_target.h - what a rule can look at, and when it is known
 *
 * One table names every target of the rule language, its kind (text values,
 * a number, a yes/no), and the earliest SMTP phase at which its value is
 * final. A rule is decided at the latest phase among its targets, so a rule
 * on helo and client.ip is decided at HELO and one on body at end of
 * message. Targets with a name suffix (header.X-Mailer, rawheader.Subject,
 * macro.daemon_name) carry the suffix as their argument.
 *
 * Text targets may have several values (every recipient, every Received
 * header, every attachment name); a comparison holds when it holds for any
 * value, and its negation (!~, !=, not in) when it holds for none.
 */
#ifndef RULE_TARGET_H
#define RULE_TARGET_H

#include <stdbool.h>

#include "mail/verdict.h"

enum rule_target_id {
	TGT_CLIENT_IP,
	TGT_CLIENT_HOST,
	TGT_HELO,
	TGT_AUTH,
	TGT_AUTHENTICATED,
	TGT_INBOUND,
	TGT_OUTBOUND,
	TGT_MACRO,
	TGT_MAIL_FROM,
	TGT_MAIL_FROM_LOCAL,
	TGT_MAIL_FROM_DOMAIN,
	TGT_RCPT,
	TGT_RCPT_LOCAL,
	TGT_RCPT_DOMAIN,
	TGT_RCPT_COUNT,
	TGT_HEADER,
	TGT_RAWHEADER,
	TGT_HEADER_COUNT,
	TGT_ADDR_ADDRESS,
	TGT_ADDR_LOCAL,
	TGT_ADDR_DOMAIN,
	TGT_ADDR_DISPLAY, /* arg: From, Reply-To, Sender */
	TGT_SUBJECT,
	TGT_BODY,
	TGT_BODY_RAW,
	TGT_BODY_TRUNCATED,
	TGT_ATT_NAME,
	TGT_ATT_TYPE,
	TGT_ATT_COUNT,
	TGT_SIZE,
	TGT_SPF_MAILFROM,
	TGT_SPF_HELO,
	TGT_DKIM_PASS,
	TGT_DKIM_RESULT,
	TGT_DKIM_DOMAIN,
	TGT_DMARC_RESULT,
	TGT_DMARC_POLICY,
	TGT_DMARC_DOMAIN,
	TGT_IDENTITY_MAIL_FROM,
	TGT_COUNT_
};

enum rule_kind { RK_TEXT, RK_IP, RK_NUM, RK_BOOL };

/* What the engine must collect for a rule set to be evaluable. */
enum rule_need {
	NEED_BODY = 1,	  /* decoded text and attachments: run the MIME walk */
	NEED_BODY_RAW = 2 /* keep the raw body (up to body_scan_limit) */
};

struct rule_target_ref {
	enum rule_target_id id;
	const char *arg; /* header or macro name, From/Reply-To/Sender; or NULL */
};

struct rule_target_info {
	const char *name; /* "subject", or a prefix "header." for suffixed ones */
	enum rule_target_id id;
	enum rule_kind kind;
	enum gh_phase phase;
	bool suffixed;	 /* the name is a prefix and the rest is the argument */
	const char *arg; /* fixed argument (From for from.display) */
	unsigned need;
	const char *doc; /* one line for gatehouse.rules(5) */
};

/*
 * rule_target_lookup - the target NAME denotes, its argument in *ARG (points
 * into NAME), or NULL when there is none. DKIM_PASS takes an optional string
 * operand and is a yes/no.
 */
const struct rule_target_info *rule_target_lookup(const char *name, const char **arg);
/* rule_target_info - the row of ID */
const struct rule_target_info *rule_target_info(enum rule_target_id id);
/* rule_targets - the whole table, for documentation; *N rows */
const struct rule_target_info *rule_targets(unsigned *n);

#endif
