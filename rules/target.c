/*
 * target.c - the table of rule targets (see rule_target.h)
 */
#include <string.h>

#include "rules/rule_target.h"

#define T(name, id, kind, phase, doc)                      \
	{                                                  \
		name, id, kind, phase, false, NULL, 0, doc \
	}
#define TS(name, id, kind, phase, doc)                    \
	{                                                 \
		name, id, kind, phase, true, NULL, 0, doc \
	}
#define TA(name, id, arg, doc)                                   \
	{                                                        \
		name, id, RK_TEXT, GH_PH_EOH, false, arg, 0, doc \
	}
#define TN(name, id, kind, need, doc)                             \
	{                                                         \
		name, id, kind, GH_PH_EOM, false, NULL, need, doc \
	}

static const struct rule_target_info targets[] = {
	T("client.ip", TGT_CLIENT_IP, RK_IP, GH_PH_CONNECT,
	  "The client's IP address; `in` compares with networks (192.0.2.0/24, 2001:db8::/32)."),
	T("client.host", TGT_CLIENT_HOST, RK_TEXT, GH_PH_CONNECT,
	  "The client's host name as the MTA resolved it, or [IP] when it has none."),
	T("helo", TGT_HELO, RK_TEXT, GH_PH_HELO, "The HELO/EHLO name."),
	T("auth", TGT_AUTH, RK_TEXT, GH_PH_MAIL,
	  "The SMTP AUTH login name; empty when not authenticated."),
	T("authenticated", TGT_AUTHENTICATED, RK_BOOL, GH_PH_MAIL,
	  "The client logged in with SMTP AUTH."),
	T("inbound", TGT_INBOUND, RK_BOOL, GH_PH_MAIL,
	  "Neither authenticated nor from internal_networks."),
	T("outbound", TGT_OUTBOUND, RK_BOOL, GH_PH_MAIL,
	  "Authenticated, or from internal_networks."),
	TS("macro.", TGT_MACRO, RK_TEXT, GH_PH_MAIL,
	   "An MTA macro: macro.j, macro.daemon_name (for {daemon_name}); known from MAIL FROM "
	   "on."),
	T("mail.from", TGT_MAIL_FROM, RK_TEXT, GH_PH_MAIL, "The envelope sender; empty for <>."),
	T("mail.from.local", TGT_MAIL_FROM_LOCAL, RK_TEXT, GH_PH_MAIL, "Its local part."),
	T("mail.from.domain", TGT_MAIL_FROM_DOMAIN, RK_TEXT, GH_PH_MAIL, "Its domain, lower case."),
	T("rcpt", TGT_RCPT, RK_TEXT, GH_PH_RCPT,
	  "The recipient being decided at RCPT; every accepted recipient in later phases."),
	T("rcpt.local", TGT_RCPT_LOCAL, RK_TEXT, GH_PH_RCPT, "The recipient's local part."),
	T("rcpt.domain", TGT_RCPT_DOMAIN, RK_TEXT, GH_PH_RCPT,
	  "The recipient's domain, lower case."),
	T("rcpt.count", TGT_RCPT_COUNT, RK_NUM, GH_PH_EOH, "How many recipients were accepted."),
	TS("header.", TGT_HEADER, RK_TEXT, GH_PH_EOH,
	   "Every field of that name, unfolded and with RFC 2047 encoded-words decoded to UTF-8."),
	TS("rawheader.", TGT_RAWHEADER, RK_TEXT, GH_PH_EOH,
	   "Every field of that name as received."),
	TS("header.count.", TGT_HEADER_COUNT, RK_NUM, GH_PH_EOH, "How many fields of that name."),
	TA("from.address", TGT_ADDR_ADDRESS, "From", "Each mailbox address in From."),
	TA("from.local", TGT_ADDR_LOCAL, "From", "Its local part."),
	TA("from.domain", TGT_ADDR_DOMAIN, "From", "Its domain, lower case."),
	TA("from.display", TGT_ADDR_DISPLAY, "From", "Its display name, decoded to UTF-8."),
	TA("reply-to.address", TGT_ADDR_ADDRESS, "Reply-To", "The same for Reply-To."),
	TA("reply-to.local", TGT_ADDR_LOCAL, "Reply-To", NULL),
	TA("reply-to.domain", TGT_ADDR_DOMAIN, "Reply-To", NULL),
	TA("reply-to.display", TGT_ADDR_DISPLAY, "Reply-To", NULL),
	TA("sender.address", TGT_ADDR_ADDRESS, "Sender", "The same for Sender."),
	TA("sender.local", TGT_ADDR_LOCAL, "Sender", NULL),
	TA("sender.domain", TGT_ADDR_DOMAIN, "Sender", NULL),
	TA("sender.display", TGT_ADDR_DISPLAY, "Sender", NULL),
	T("subject", TGT_SUBJECT, RK_TEXT, GH_PH_EOH, "The Subject, decoded like header.Subject."),
	TN("body", TGT_BODY, RK_TEXT, NEED_BODY,
	   "The text of the text/plain and text/html parts that are not attachments: transfer "
	   "encoding undone, converted to UTF-8, parts separated by a newline; at most "
	   "body_scan_limit bytes."),
	TN("body.raw", TGT_BODY_RAW, RK_TEXT, NEED_BODY_RAW,
	   "The body as received, at most body_scan_limit bytes."),
	TN("body.truncated", TGT_BODY_TRUNCATED, RK_BOOL, NEED_BODY,
	   "Part of the body was not scanned: over body_scan_limit, mime_max_depth or "
	   "mime_max_parts."),
	TN("attachment.filename", TGT_ATT_NAME, RK_TEXT, NEED_BODY,
	   "Each attachment's file name (RFC 2231 and RFC 2047 decoded)."),
	TN("attachment.type", TGT_ATT_TYPE, RK_TEXT, NEED_BODY,
	   "Each attachment's declared content type, lower case (application/pdf)."),
	TN("attachment.count", TGT_ATT_COUNT, RK_NUM, NEED_BODY, "How many attachments."),
	TN("size", TGT_SIZE, RK_NUM, 0, "Header and body bytes."),
	T("spf.mailfrom", TGT_SPF_MAILFROM, RK_TEXT, GH_PH_MAIL,
	  "The SPF result for MAIL FROM: pass, fail, softfail, neutral, none, temperror, "
	  "permerror; empty when SPF did not run (outbound mail)."),
	T("spf.helo", TGT_SPF_HELO, RK_TEXT, GH_PH_MAIL, "The SPF result for HELO."),
	TN("dkim.pass", TGT_DKIM_PASS, RK_BOOL, 0,
	   "A DKIM signature passed; with a string, one whose d= is that domain."),
	TN("dkim.result", TGT_DKIM_RESULT, RK_TEXT, 0, "Each signature's result."),
	TN("dkim.domain", TGT_DKIM_DOMAIN, RK_TEXT, 0, "Each signature's d= domain."),
	TN("dmarc.result", TGT_DMARC_RESULT, RK_TEXT, 0,
	   "pass, fail, none, temperror, permerror; empty when DMARC did not run."),
	TN("dmarc.policy", TGT_DMARC_POLICY, RK_TEXT, 0,
	   "The domain's p= (or sp=): none, quarantine, reject."),
	TN("dmarc.domain", TGT_DMARC_DOMAIN, RK_TEXT, 0, "The From domain DMARC judged."),
	T("identity.mail_from", TGT_IDENTITY_MAIL_FROM, RK_TEXT, GH_PH_MAIL,
	  "The sender identity check of MAIL FROM against the login maps: pass, fail "
	  "(seen only with sender_mismatch_action = unsigned), or none (inbound, or no map)."),
};

#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

const struct rule_target_info *rule_target_lookup(const char *name, const char **arg)
{
	const struct rule_target_info *best = NULL;
	size_t best_len = 0;

	*arg = NULL;
	for (size_t i = 0; i < NTARGETS; i++) {
		const struct rule_target_info *t = &targets[i];
		size_t len = strlen(t->name);

		if (!t->suffixed) {
			if (strcmp(name, t->name) == 0) {
				*arg = t->arg;
				return t;
			}
			continue;
		}
		/* the longest prefix wins: header.count.X before header.X */
		if (strncmp(name, t->name, len) == 0 && name[len] != '\0' && len > best_len) {
			best = t;
			best_len = len;
		}
	}
	if (best != NULL)
		*arg = name + best_len;
	return best;
}

const struct rule_target_info *rule_target_info(enum rule_target_id id)
{
	for (size_t i = 0; i < NTARGETS; i++)
		if (targets[i].id == id)
			return &targets[i];
	return NULL;
}

const struct rule_target_info *rule_targets(unsigned *n)
{
	*n = NTARGETS;
	return targets;
}
