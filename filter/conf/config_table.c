/*
 * config_table.c - every configuration directive, with type, default,
 * bounds and documentation (see config_table.h)
 *
 * To add a directive: add a field to struct config, a row here, and use it.
 * The sample config (packaging/gatehouse.conf) and the man page section are
 * regenerated from this table by `make docs`; `make check` fails when the
 * shipped files differ from what the table says.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "conf/config.h"
#include "conf/config_table.h"
#include "util/cidr.h"
#include "util/log.h"
#include "mail/verdict.h"

static const char *const log_levels[] = { "err", "warning", "notice", "info", "debug", NULL };
static const char *const log_facilities[] = {
	"mail", "daemon", "user", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7", NULL
};
static const char *const on_error_words[] = { "tempfail", "accept", NULL };
static const char *const fault_action_words[] = {
	"reject", "tempfail", "quarantine", "discard", NULL
};

/* parse_fault_action - what to do with a message a sanity check refuses */
static int parse_fault_action(const char *w)
{
	if (strcmp(w, "reject") == 0)
		return GH_ACT_REJECT;
	if (strcmp(w, "tempfail") == 0)
		return GH_ACT_TEMPFAIL;
	if (strcmp(w, "quarantine") == 0)
		return GH_ACT_QUARANTINE;
	if (strcmp(w, "discard") == 0)
		return GH_ACT_DISCARD;
	return -1;
}

static int parse_on_error(const char *w)
{
	if (strcmp(w, "tempfail") == 0)
		return CONFIG_ON_ERROR_TEMPFAIL;
	if (strcmp(w, "accept") == 0)
		return CONFIG_ON_ERROR_ACCEPT;
	return -1;
}

/* check_socket - "inet:PORT@HOST", "inet6:PORT@HOST", "unix:/PATH" or "local:/PATH" */
static const char *check_socket(const char *s)
{
	const char *at, *p;
	long port = 0;

	if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "local:", 6) == 0) {
		p = strchr(s, ':') + 1;
		if (*p != '/')
			return "a unix socket needs an absolute path, e.g. unix:/run/gatehouse/gatehouse.sock";
		if (strlen(p) >= 108)
			return "unix socket path is longer than 107 bytes";
		return NULL;
	}
	if (strncmp(s, "inet:", 5) == 0)
		p = s + 5;
	else if (strncmp(s, "inet6:", 6) == 0)
		p = s + 6;
	else
		return "expected inet:PORT@HOST, inet6:PORT@HOST or unix:/PATH";
	at = strchr(p, '@');
	if (at == NULL || at == p || at[1] == '\0')
		return "expected PORT@HOST after inet:, e.g. inet:8891@127.0.0.1";
	for (; p < at; p++) {
		if (!isdigit((unsigned char)*p))
			return "port must be a number";
		port = port * 10 + (*p - '0');
		if (port > 65535)
			break;
	}
	if (port < 1 || port > 65535)
		return "port must be between 1 and 65535";
	return NULL;
}

/* check_header_name - RFC 5322 field name: printable ASCII but ':'; "" allowed (disables) */
static const char *check_header_name(const char *s)
{
	for (const char *p = s; *p; p++)
		if (*p < 33 || *p > 126 || *p == ':')
			return "a header name is printable ASCII without ':' or spaces";
	return strlen(s) > 64 ? "header name longer than 64 characters" : NULL;
}

/* check_word - a user, group or host name: no spaces or control characters */
static const char *check_word(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 32 || *p == 127)
			return "must not contain spaces or control characters";
	return NULL;
}

static const char *const spf_action_words[] = { "reject", "tempfail", "quarantine", "accept", NULL };
static const char *const reject_at_words[] = { "rcpt", "mail", NULL };

/* parse_spf_action - accept means accept and mark (the result is in the headers) */
static int parse_spf_action(const char *w)
{
	if (strcmp(w, "accept") == 0)
		return GH_ACT_CONTINUE;
	return strcmp(w, "discard") == 0 ? -1 : parse_fault_action(w);
}

static int parse_reject_at(const char *w)
{
	return strcmp(w, "rcpt") == 0 ? GH_PH_RCPT : strcmp(w, "mail") == 0 ? GH_PH_MAIL : -1;
}

/* check_cidrs - a list of networks as cidr.c reads them */
static const char *check_cidrs(const char *s)
{
	struct cidr_list l;
	const char *why;

	if (cidr_list_parse(s, &l, &why) != 0)
		return why;
	cidr_list_free(&l);
	return NULL;
}

/* check_forwarders - "IP[@PORT], ..." with IPv4 or IPv6 addresses */
static const char *check_forwarders(const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;
	const char *why = NULL;

	if (copy == NULL)
		return "out of memory";
	for (tok = strtok_r(copy, ", \t", &save); tok && !why; tok = strtok_r(NULL, ", \t", &save)) {
		char *at = strchr(tok, '@');
		unsigned char buf[sizeof(struct in6_addr)];

		if (at != NULL) {
			char *end;
			long port = strtol(at + 1, &end, 10);

			*at = '\0';
			if (*end != '\0' || port < 1 || port > 65535)
				why = "a forwarder's port must be 1..65535, as in 127.0.0.1@5353";
		}
		if (!why && inet_pton(AF_INET, tok, buf) != 1 && inet_pton(AF_INET6, tok, buf) != 1)
			why = "forwarders are IP addresses, as in 127.0.0.1@5353, ::1";
	}
	free(copy);
	return why;
}

static const char *check_abs_path(const char *s)
{
	return *s == '\0' || *s == '/' ? NULL : "must be an absolute path";
}

#define OFF(f) offsetof(struct config, f)

const struct config_directive config_directives[] = {
	{ "socket", CDIR_STR, "inet:8891@127.0.0.1", 0, 0, NULL, NULL, check_socket,
	  OFF(socket), "daemon",
	  "Where the milter listens: inet:PORT@HOST, inet6:PORT@HOST or unix:/PATH. "
	  "Postfix writes the same socket as inet:HOST:PORT or unix:/PATH in smtpd_milters." },
	{ "socket_owner", CDIR_STR, "", 0, 0, NULL, NULL, check_word,
	  OFF(socket_owner), "daemon",
	  "Owner of a unix socket. Empty keeps the user gatehouse runs as." },
	{ "socket_group", CDIR_STR, "postfix", 0, 0, NULL, NULL, check_word,
	  OFF(socket_group), "daemon",
	  "Group of a unix socket. The default lets Postfix's smtpd (group postfix) connect "
	  "with socket_mode 0660; empty keeps the primary group of the user gatehouse runs as." },
	{ "socket_mode", CDIR_MODE, "0660", 0, 0777, NULL, NULL, NULL,
	  OFF(socket_mode), "daemon",
	  "Permission bits of a unix socket, in octal. The socket is created with them "
	  "(not changed afterwards), so there is no moment in which the MTA is refused." },
	{ "user", CDIR_STR, "", 0, 0, NULL, NULL, check_word,
	  OFF(user), "daemon",
	  "After opening the socket, a daemon started as root switches to this user. "
	  "Empty: keep running as the starting user." },
	{ "pid_file", CDIR_STR, "", 0, 0, NULL, NULL, check_abs_path,
	  OFF(pid_file), "daemon",
	  "Write the daemon's process id here. Empty: no pid file." },
	{ "drain_timeout_ms", CDIR_INT, "30000", 0, 600000, NULL, NULL, NULL,
	  OFF(drain_timeout_ms), "daemon",
	  "On SIGTERM gatehouse stops accepting connections and lets those in flight finish "
	  "for at most this long, then exits 0. The MTA tempfails anything still unfinished." },
	{ "milter_timeout_s", CDIR_INT, "300", 1, 86400, NULL, NULL, NULL,
	  OFF(milter_timeout_s), "daemon",
	  "How long libmilter waits on the MTA for the next command before dropping the connection." },
	{ "listen_backlog", CDIR_INT, "128", 1, 65535, NULL, NULL, NULL,
	  OFF(listen_backlog), "daemon",
	  "Listen queue length of the milter socket." },
	{ "log_level", CDIR_CHOICE, "info", 0, 0, log_levels, log_level_parse, NULL,
	  OFF(log_level), "logging",
	  "Lowest priority written: err, warning, notice, info (one summary line per "
	  "message) or debug (every phase)." },
	{ "log_facility", CDIR_CHOICE, "mail", 0, 0, log_facilities, log_facility_parse, NULL,
	  OFF(log_facility), "logging",
	  "Syslog facility. In the foreground (-f) logs go to standard error instead." },
	{ "dns_timeout_ms", CDIR_INT, "2000", 50, 60000, NULL, NULL, NULL,
	  OFF(dns_timeout_ms), "dns",
	  "How long one DNS query may take. A query that takes longer is a temporary "
	  "error for the check that asked (SPF temperror, DKIM temperror), never a \"no record\"." },
	{ "dns_budget_ms", CDIR_INT, "10000", 100, 300000, NULL, NULL, NULL,
	  OFF(dns_budget_ms), "dns",
	  "How long all DNS queries of one message may take together, so a sender's "
	  "slow DNS cannot hold a connection for minutes." },
	{ "dns_forwarders", CDIR_STR, "", 0, 0, NULL, NULL, check_forwarders,
	  OFF(dns_forwarders), "dns",
	  "Resolvers to ask, as IP[@PORT] separated by commas (e.g. \"127.0.0.1@5353, ::1\"). "
	  "Empty: the servers in /etc/resolv.conf. All checks share one cache." },
	{ "dns_trust_anchor_file", CDIR_STR, "", 0, 0, NULL, NULL, check_abs_path,
	  OFF(dns_trust_anchor_file), "dns",
	  "A DNSSEC trust anchor file (e.g. /usr/share/dns/root.key). Set: answers are "
	  "validated and a bogus one is a temporary error. Empty: no validation." },
	{ "dns_fixture", CDIR_STR, "", 0, 0, NULL, NULL, check_abs_path,
	  OFF(dns_fixture), "dns",
	  "Answer every DNS question from this file and never use the network (zone file "
	  "lines, plus NAME TIMEOUT / SERVFAIL / REFUSED). For tests and for replaying a "
	  "message with the DNS answers it had; not for production." },
	{ "internal_networks", CDIR_STR, "127.0.0.0/8, ::1/128", 0, 0, NULL, NULL, check_cidrs,
	  OFF(internal_networks), "direction",
	  "Clients in these networks (and authenticated clients) send outbound mail: no SPF "
	  "check of their mail. IPv4 and IPv6 networks, separated by commas." },
	{ "trusted_forwarders", CDIR_STR, "", 0, 0, NULL, NULL, check_cidrs,
	  OFF(trusted_forwarders), "direction",
	  "Hosts that forward mail to you (a mailing list, a backup MX): SPF is not checked "
	  "on their mail, since a forwarder is never in the original sender's record." },
	{ "spf_check_helo", CDIR_BOOL, "yes", 0, 0, NULL, NULL, NULL,
	  OFF(spf_check_helo), "spf",
	  "Check the HELO name's SPF record as well as MAIL FROM's (RFC 7208 2.3)." },
	{ "spf_mailfrom_fail", CDIR_CHOICE, "reject", 0, 0, spf_action_words, parse_spf_action, NULL,
	  OFF(spf_mailfrom_fail), "spf",
	  "MAIL FROM fail: reject (550 5.7.23), tempfail, quarantine or accept (and mark)." },
	{ "spf_mailfrom_softfail", CDIR_CHOICE, "accept", 0, 0, spf_action_words, parse_spf_action, NULL,
	  OFF(spf_mailfrom_softfail), "spf",
	  "MAIL FROM softfail: the domain says the host is probably not allowed. Accept and "
	  "mark by default, as RFC 7208 8.5 advises." },
	{ "spf_mailfrom_permerror", CDIR_CHOICE, "accept", 0, 0, spf_action_words, parse_spf_action, NULL,
	  OFF(spf_mailfrom_permerror), "spf",
	  "MAIL FROM permerror (a broken record): accept and mark by default. A broken "
	  "record is the sending domain's mistake, not proof of forgery, and rejecting "
	  "would bounce its legitimate mail; DMARC still judges the message." },
	{ "spf_mailfrom_temperror", CDIR_CHOICE, "tempfail", 0, 0, spf_action_words, parse_spf_action, NULL,
	  OFF(spf_mailfrom_temperror), "spf",
	  "MAIL FROM temperror (DNS failed): tempfail (451 4.4.3), so the sender retries "
	  "and no mail passes unchecked." },
	{ "spf_helo_fail", CDIR_CHOICE, "reject", 0, 0, spf_action_words, parse_spf_action, NULL,
	  OFF(spf_helo_fail), "spf", "HELO fail: as spf_mailfrom_fail, for the HELO identity." },
	{ "spf_helo_softfail", CDIR_CHOICE, "accept", 0, 0, spf_action_words, parse_spf_action, NULL,
	  OFF(spf_helo_softfail), "spf", "HELO softfail." },
	{ "spf_helo_permerror", CDIR_CHOICE, "accept", 0, 0, spf_action_words, parse_spf_action, NULL,
	  OFF(spf_helo_permerror), "spf", "HELO permerror." },
	{ "spf_helo_temperror", CDIR_CHOICE, "tempfail", 0, 0, spf_action_words, parse_spf_action, NULL,
	  OFF(spf_helo_temperror), "spf", "HELO temperror." },
	{ "spf_reject_at", CDIR_CHOICE, "rcpt", 0, 0, reject_at_words, parse_reject_at, NULL,
	  OFF(spf_reject_at), "spf",
	  "Where an SPF reject or tempfail is answered: at rcpt (each recipient is refused, "
	  "which lets recipient rules exempt postmaster@ and abuse@) or at mail." },
	{ "spf_received_header", CDIR_BOOL, "yes", 0, 0, NULL, NULL, NULL,
	  OFF(spf_received_header), "spf",
	  "Add a Received-SPF header (RFC 7208 9.1) with the MAIL FROM result." },
	{ "spf_explanation_in_reply", CDIR_BOOL, "no", 0, 0, NULL, NULL, NULL,
	  OFF(spf_explanation_in_reply), "spf",
	  "Put the domain's exp= explanation into the reject text. Off by default: the text "
	  "comes from the sender's DNS and goes to whoever sent the mail. gatehouse expands "
	  "it itself (RFC 7208 7); %{p} is always \"unknown\" (RFC 7.3 allows it and it "
	  "saves lookups), and an exp= reached through redirect= is not used." },
	{ "dkim_max_signatures", CDIR_INT, "8", 1, 64, NULL, NULL, NULL,
	  OFF(dkim_max_signatures), "dkim",
	  "Check at most this many DKIM signatures per message; the others are reported "
	  "as not checked (neutral), never dropped silently. Bounds the work a message "
	  "with dozens of signatures can cause." },
	{ "dkim_min_key_bits", CDIR_INT, "1024", 512, 16384, NULL, NULL, NULL,
	  OFF(dkim_min_key_bits), "dkim",
	  "RSA keys shorter than this never give a pass (result policy); RFC 8301 sets "
	  "1024. rsa-sha1 signatures are never a pass either." },
	{ "dkim_allow_body_length", CDIR_BOOL, "no", 0, 0, NULL, NULL, NULL,
	  OFF(dkim_allow_body_length), "dkim",
	  "Let a signature with l= pass when content follows the signed length. Off: such "
	  "a signature is policy, since appending a payload to a signed message is a known "
	  "spoofing trick." },
	{ "dmarc_psl_file", CDIR_STR, "/usr/share/publicsuffix/public_suffix_list.dat", 0, 0,
	  NULL, NULL, check_abs_path, OFF(dmarc_psl_file), "dmarc",
	  "The public suffix list that finds organizational domains (Debian package "
	  "publicsuffix). Read at start." },
	{ "dmarc_reject_action", CDIR_CHOICE, "reject", 0, 0, spf_action_words, parse_spf_action,
	  NULL, OFF(dmarc_reject_action), "dmarc",
	  "A message failing DMARC whose domain publishes p=reject: reject (550 5.7.1 naming "
	  "the domain), tempfail, quarantine or accept (and mark)." },
	{ "dmarc_quarantine_action", CDIR_CHOICE, "accept", 0, 0, spf_action_words, parse_spf_action,
	  NULL, OFF(dmarc_quarantine_action), "dmarc",
	  "p=quarantine: accept and mark (Authentication-Results dmarc=fail, for the "
	  "delivery agent's junk folder), or quarantine into the MTA's hold queue, which "
	  "needs a person to release each message." },
	{ "dmarc_temperror_action", CDIR_CHOICE, "tempfail", 0, 0, spf_action_words,
	  parse_spf_action, NULL, OFF(dmarc_temperror_action), "dmarc",
	  "DNS trouble while looking up the policy: tempfail (451 4.4.3) so the sender "
	  "retries and no forgery slips through a DNS outage." },
	{ "dmarc_permerror_action", CDIR_CHOICE, "accept", 0, 0, spf_action_words,
	  parse_spf_action, NULL, OFF(dmarc_permerror_action), "dmarc",
	  "A malformed DMARC record: accept and mark by default (the domain's mistake, "
	  "and SPF/DKIM results still show in the headers)." },
	{ "dmarc_bad_from_action", CDIR_CHOICE, "reject", 0, 0, spf_action_words,
	  parse_spf_action, NULL, OFF(dmarc_bad_from_action), "dmarc",
	  "A message with no From, several From fields or a From with several addresses "
	  "has no single author to check: reject (550 5.7.1) by default; these are the "
	  "tricks behind CVE-2019-16378." },
	{ "dmarc_exempt_recipients", CDIR_STR, "postmaster@, abuse@", 0, 0, NULL, NULL, NULL,
	  OFF(dmarc_exempt_recipients), "dmarc",
	  "Recipients that always get their mail even when DMARC says reject: local parts "
	  "ending in @ (any domain) or whole addresses, separated by commas. The override "
	  "is logged and shown in Authentication-Results." },
	{ "dmarc_reject_when_none", CDIR_STR, "", 0, 0, NULL, NULL, NULL,
	  OFF(dmarc_reject_when_none), "dmarc",
	  "Domains (comma-separated) whose p=none is treated as p=reject: for heavily "
	  "spoofed domains that have not moved to enforcement yet." },
	{ "authserv_id", CDIR_STR, "", 0, 0, NULL, NULL, check_word,
	  OFF(authserv_id), "identity",
	  "The name gatehouse signs its results with (the authserv-id of RFC 8601). "
	  "Empty: this host's name." },
	{ "status_header", CDIR_STR, "X-Gatehouse", 0, 0, NULL, NULL, check_header_name,
	  OFF(status_header), "identity",
	  "Header added to every message gatehouse passes, naming the host and the session "
	  "id that is in the logs. Headers of this name that arrive with the message are "
	  "removed first, so nobody downstream sees a forged one. Empty: add none." },
	{ "require_from", CDIR_BOOL, "yes", 0, 0, NULL, NULL, NULL,
	  OFF(require_from), "sanity",
	  "Refuse a message without a From header (see require_from_action). RFC 5322 "
	  "requires one, and without it no author domain can be checked." },
	{ "require_from_action", CDIR_CHOICE, "reject", 0, 0, fault_action_words,
	  parse_fault_action, NULL, OFF(require_from_action), "sanity",
	  "What require_from does: reject (550 5.7.1), tempfail (451 4.7.1), quarantine "
	  "(accept into the MTA's hold queue for a person to look at) or discard (accept "
	  "and drop silently)." },
	{ "reject_bad_envelope", CDIR_BOOL, "yes", 0, 0, NULL, NULL, NULL,
	  OFF(reject_bad_envelope), "sanity",
	  "Reject a MAIL FROM (501 5.1.7) or RCPT TO (501 5.1.3) whose address does not "
	  "follow RFC 5321, such as a missing domain or unbalanced brackets." },
	{ "max_header_line_octets", CDIR_INT, "998", 78, 1048576, NULL, NULL, NULL,
	  OFF(max_header_line_octets), "sanity",
	  "Reject (550 5.6.0) a message with a physical header line longer than this. RFC "
	  "5322 section 2.1.1 sets 998; raise it if you must accept broken senders." },
	{ "max_headers", CDIR_INT, "1000", 10, 1000000, NULL, NULL, NULL,
	  OFF(max_headers), "sanity",
	  "Reject (552 5.3.4) a message with more header fields than this." },
	{ "max_header_bytes", CDIR_INT, "1048576", 1024, 268435456, NULL, NULL, NULL,
	  OFF(max_header_bytes), "sanity",
	  "Reject (552 5.3.4) a message whose header fields together exceed this many bytes." },
	{ "max_recipients", CDIR_INT, "0", 0, 1000000, NULL, NULL, NULL,
	  OFF(max_recipients), "sanity",
	  "Answer 452 4.5.3 to recipients beyond this count, as RFC 5321 section 4.5.3.1.10 "
	  "asks; the sender delivers them in a later transaction. 0: no limit." },
	{ "rules_dir", CDIR_STR, "", 0, 0, NULL, NULL, NULL, OFF(rules_dir), "rules",
	  "Directory of rule files: every *.rules file in it, read in name order (see "
	  "gatehouse.rules(5)). A relative path is relative to this file's directory. Empty: "
	  "no rules. A rule error fails the start, and a reload with one keeps the running rules." },
	{ "body_scan_limit", CDIR_INT, "2097152", 4096, 1073741824, NULL, NULL, NULL,
	  OFF(body_scan_limit), "rules",
	  "Bytes of decoded body text (and of raw body) that rules see per message; what is "
	  "past it is not scanned and body.truncated is true." },
	{ "mime_max_depth", CDIR_INT, "20", 1, 1000, NULL, NULL, NULL, OFF(mime_max_depth), "rules",
	  "Nesting of multiparts and attached messages the MIME walk follows; deeper parts are "
	  "not scanned (body.truncated)." },
	{ "mime_max_parts", CDIR_INT, "500", 1, 100000, NULL, NULL, NULL, OFF(mime_max_parts), "rules",
	  "MIME parts the walk looks at per message; later parts are not scanned (body.truncated)." },
	{ "rules_match_limit", CDIR_INT, "1000000", 1000, 100000000, NULL, NULL, NULL,
	  OFF(rules_match_limit), "rules",
	  "PCRE2 match limit for one pattern on one value: a pattern that needs more steps "
	  "(catastrophic backtracking) counts as no match and is logged with its rule." },
	{ "rules_depth_limit", CDIR_INT, "10000", 100, 10000000, NULL, NULL, NULL,
	  OFF(rules_depth_limit), "rules",
	  "PCRE2 backtracking depth limit (the interpreter; JIT uses its own stack), same treatment." },
	{ "rules_heap_limit_kb", CDIR_INT, "16384", 64, 4194304, NULL, NULL, NULL,
	  OFF(rules_heap_limit_kb), "rules",
	  "PCRE2 heap limit in KiB for one match, same treatment." },
	{ "rules_prefilter", CDIR_BOOL, "yes", 0, 0, NULL, NULL, NULL, OFF(rules_prefilter), "rules",
	  "Find the body patterns that may match in one Hyperscan pass before PCRE2 confirms "
	  "them. The answers are the same either way; \"no\" exists to measure the difference." },
	{ "on_internal_error", CDIR_CHOICE, "tempfail", 0, 0, on_error_words, parse_on_error, NULL,
	  OFF(on_internal_error), "sanity",
	  "What to answer when gatehouse itself fails on a message (out of memory, a broken "
	  "invariant): tempfail (451 4.3.0, the sender retries) or accept. Accept lets mail "
	  "through that policy might have rejected." },
};

const size_t config_ndirectives = sizeof(config_directives) / sizeof(config_directives[0]);

const struct config_directive *config_directive_find(const char *name)
{
	for (size_t i = 0; i < config_ndirectives; i++)
		if (strcmp(config_directives[i].name, name) == 0)
			return &config_directives[i];
	return NULL;
}
