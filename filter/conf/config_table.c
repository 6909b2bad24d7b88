/*
 * config_table.c - every configuration directive, with type, default,
 * bounds and documentation (see config_table.h)
 *
 * To add a directive: add a field to struct config, a CDIR_ROW_* row here
 * named after that field, and use it.
 * The sample config (packaging/gatehouse.conf) and the man page section are
 * regenerated from this table by `make docs`; `make check` fails when the
 * shipped files differ from what the table says.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "conf/config_table.h"
#include "conf/outbound_spec.h"
#include "conf/rate_spec.h"
#include "mail/verdict.h"
#include "util/cidr.h"
#include "util/hostport.h"
#include "util/log.h"

static const char *const log_levels[] = { "err", "warning", "notice", "info", "debug", NULL };
static const char *const log_facilities[] = { "mail",	"daemon", "user",   "local0",
					      "local1", "local2", "local3", "local4",
					      "local5", "local6", "local7", NULL };
static const char *const on_error_words[] = { "tempfail", "accept", NULL };
static const char *const fault_action_words[] = { "reject", "tempfail", "quarantine", "discard",
						  NULL };

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
			return "a unix socket needs an absolute path, e.g. "
			       "unix:/run/gatehouse/gatehouse.sock";
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

/* check_authserv_id - printable ASCII that RFC 8601 can write as a token or,
 * with tspecials in it, as a quoted-string; quotes, backslashes and spaces
 * are refused, so that every reader takes it for the same name */
static const char *check_authserv_id(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127 || *p == '"' || *p == '\\')
			return "must be printable ASCII without spaces, quotes or backslashes "
			       "(RFC 8601 writes it as a token or a quoted-string)";
	return NULL;
}

/* check_hostport - metrics_listen: "" or HOST:PORT (util/hostport.h) */
static const char *check_hostport(const char *s)
{
	struct sockaddr_storage sa;
	socklen_t len;
	const char *why = NULL;

	return *s == '\0' || hostport_parse(s, &sa, &len, &why) == 0 ? NULL : why;
}

/* check_word - a user, group or host name: no spaces or control characters */
static const char *check_word(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 32 || *p == 127)
			return "must not contain spaces or control characters";
	return NULL;
}

static const char *const spf_action_words[] = { "reject", "tempfail", "quarantine", "accept",
						NULL };
static const char *const reject_at_words[] = { "dmarc", "rcpt", "mail", NULL };

/* parse_spf_action - accept means accept and mark (the result is in the headers) */
static int parse_spf_action(const char *w)
{
	if (strcmp(w, "accept") == 0)
		return GH_ACT_CONTINUE;
	return strcmp(w, "discard") == 0 ? -1 : parse_fault_action(w);
}

static const char *const rules_fault_words[] = { "tempfail", "reject", "quarantine", "no-match",
						 NULL };

/* parse_rules_fault - no-match is the old answer: the rule did not match */
static int parse_rules_fault(const char *w)
{
	return strcmp(w, "no-match") == 0 ? GH_ACT_CONTINUE : parse_spf_action(w);
}

static int parse_reject_at(const char *w)
{
	if (strcmp(w, "dmarc") == 0)
		return GH_PH_EOM; /* decided at end of message, after DMARC */
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
	for (tok = strtok_r(copy, ", \t", &save); tok && !why;
	     tok = strtok_r(NULL, ", \t", &save)) {
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

/*
 * CDIR_FIELD - offset of member F of struct config, which must have C type
 * CTYPE: config.c stores each type through a pointer of one C type (char *,
 * long, bool, int), so a member declared otherwise (an int max_foo for an
 * integer row) would be written past its end. _Generic turns that into a
 * compile error on the row instead.
 */
#define CDIR_FIELD(f, ctype) \
	_Generic(&((struct config *)0)->f, ctype * : offsetof(struct config, f))

/*
 * Row constructors, one per directive type, so a row names only what its
 * type reads: field, group, default, then the type's bounds, choices or
 * check, then the doc; the members it does not read stay zero. The
 * directive's name is its struct config field spelled out, so the two
 * cannot drift apart.
 */
#define CDIR_ROW_STR(f, grp, dflt, chk, text)                                  \
	{                                                                      \
		.name = #f, .type = CDIR_STR, .def = (dflt), .check = (chk),   \
		.offset = CDIR_FIELD(f, char *), .group = (grp), .doc = (text) \
	}
#define CDIR_ROW_INT(f, grp, dflt, lo, hi, text)                                       \
	{                                                                              \
		.name = #f, .type = CDIR_INT, .def = (dflt), .min = (lo), .max = (hi), \
		.offset = CDIR_FIELD(f, long), .group = (grp), .doc = (text)           \
	}
#define CDIR_ROW_BOOL(f, grp, dflt, text)                                                    \
	{                                                                                    \
		.name = #f, .type = CDIR_BOOL, .def = (dflt), .offset = CDIR_FIELD(f, bool), \
		.group = (grp), .doc = (text)                                                \
	}
/* the bounds 0..0777 are the type's own (config_parse_mode) */
#define CDIR_ROW_MODE(f, grp, dflt, text)                                                   \
	{                                                                                   \
		.name = #f, .type = CDIR_MODE, .def = (dflt), .offset = CDIR_FIELD(f, int), \
		.group = (grp), .doc = (text)                                               \
	}
#define CDIR_ROW_CHOICE(f, grp, dflt, words, parser, text)                                     \
	{                                                                                      \
		.name = #f, .type = CDIR_CHOICE, .def = (dflt), .choices = (words),            \
		.parse = (parser), .offset = CDIR_FIELD(f, int), .group = (grp), .doc = (text) \
	}

const struct config_directive config_directives[] = {
	CDIR_ROW_STR(
		socket, "daemon", "inet:8891@127.0.0.1", check_socket,
		"Where the milter listens: inet:PORT@HOST, inet6:PORT@HOST or unix:/PATH. "
		"Postfix writes the same socket as inet:HOST:PORT or unix:/PATH in smtpd_milters."),
	CDIR_ROW_STR(socket_owner, "daemon", "", check_word,
		     "Owner of a unix socket. Empty keeps the user gatehouse runs as."),
	CDIR_ROW_STR(
		socket_group, "daemon", "postfix", check_word,
		"Group of a unix socket. The default lets Postfix's smtpd (group postfix) connect "
		"with socket_mode 0660; empty keeps the primary group of the user gatehouse runs "
		"as."),
	CDIR_ROW_MODE(
		socket_mode, "daemon", "0660",
		"Permission bits of a unix socket, in octal. The socket is created with them "
		"(not changed afterwards), so there is no moment in which the MTA is refused."),
	CDIR_ROW_STR(user, "daemon", "", check_word,
		     "After opening the socket, a daemon started as root switches to this user. "
		     "Empty: keep running as the starting user."),
	CDIR_ROW_STR(pid_file, "daemon", "", check_abs_path,
		     "Write the daemon's process id here. Empty: no pid file."),
	CDIR_ROW_INT(
		drain_timeout_ms, "daemon", "30000", 0, 600000,
		"On SIGTERM gatehouse stops accepting connections and lets those in flight finish "
		"for at most this long, then exits 0. The MTA tempfails anything still "
		"unfinished."),
	CDIR_ROW_INT(milter_timeout_s, "daemon", "300", 1, 86400,
		     "How long gatehouse waits on the MTA for the next command outside an SMTP "
		     "session (before its CONNECT), for the rest of a command it began, or for "
		     "the MTA to take a reply, before dropping the connection (the MTA then "
		     "applies its default action). Read at start."),
	CDIR_ROW_INT(
		milter_session_timeout_s, "daemon", "7210", 1, 86400,
		"How long a milter connection inside an SMTP session (from a CONNECT gatehouse "
		"accepted to QUIT) may stay silent before gatehouse drops it; never less than "
		"milter_timeout_s. The MTA is silent while its client is: between SMTP "
		"commands (Sendmail allows an hour by default) and while the message "
		"arrives, since Postfix and Sendmail send the header and body only once "
		"the whole message is in. A client sending a large message slowly must not "
		"be cut off: the default is libmilter's timeout. Read at start."),
	CDIR_ROW_INT(
		milter_workers, "daemon", "32", 1, 1024,
		"Threads that run the checks. As many as there are CPUs wait for commands at "
		"once (the CPUs gatehouse may run on, or fewer under a CPU quota such as "
		"CPUQuota= in the unit: one per whole CPU of it, rounded up); the others stand "
		"in for those waiting on DNS or Redis. A connection "
		"costs a thread only while one of its commands is being answered (a DNS wait "
		"included); idle connections cost a descriptor and a few kilobytes. Read at "
		"start."),
	CDIR_ROW_INT(milter_max_connections, "daemon", "4096", 1, 1000000,
		     "Milter connections open at once; one more is closed at once and logged (the "
		     "MTA applies its default action). gatehouse raises its descriptor limit to "
		     "the hard limit at start (LimitNOFILE in the unit). Read at start."),
	CDIR_ROW_INT(listen_backlog, "daemon", "128", 1, 65535,
		     "Listen queue length of the milter socket."),
	CDIR_ROW_CHOICE(log_level, "logging", "info", log_levels, log_level_parse,
			"Lowest priority written: err, warning, notice, info (one summary line per "
			"message) or debug (every phase)."),
	CDIR_ROW_CHOICE(
		log_facility, "logging", "mail", log_facilities, log_facility_parse,
		"Syslog facility. In the foreground (-f) logs go to standard error instead."),
	CDIR_ROW_INT(dns_timeout_ms, "dns", "2000", 50, 60000,
		     "How long one DNS query may take. A query that takes longer is a temporary "
		     "error for the check that asked (SPF temperror, DKIM temperror), never a \"no "
		     "record\"."),
	CDIR_ROW_INT(dns_budget_ms, "dns", "10000", 100, 300000,
		     "How long all DNS queries of one message may take together, so a sender's "
		     "slow DNS cannot hold a connection for minutes."),
	CDIR_ROW_INT(
		dns_command_budget_ms, "dns", "7000", 100, 300000,
		"How long the DNS queries behind one SMTP command (one milter reply) may take "
		"together, HELO checks included, whatever the message's budget has left. With "
		"rules_budget_ms it must stay below the MTA's reply timeout: Sendmail waits 10 s "
		"by default (T=R:10s), Postfix 30 s (milter_command_timeout); gatehouse -n "
		"warns when it does not."),
	CDIR_ROW_STR(dns_forwarders, "dns", "", check_forwarders,
		     "Resolvers to ask, as IP[@PORT] separated by commas (e.g. \"127.0.0.1@5353, "
		     "::1\"). "
		     "Empty: the servers in /etc/resolv.conf. All checks share one cache."),
	CDIR_ROW_STR(dns_trust_anchor_file, "dns", "", check_abs_path,
		     "A DNSSEC trust anchor file (e.g. /usr/share/dns/root.key). Set: answers are "
		     "validated and a bogus one is a temporary error. Empty: no validation."),
	CDIR_ROW_STR(
		dns_fixture, "dns", "", check_abs_path,
		"Answer every DNS question from this file and never use the network (zone file "
		"lines, plus NAME TIMEOUT / SERVFAIL / REFUSED). For tests and for replaying a "
		"message with the DNS answers it had; not for production."),
	CDIR_ROW_STR(
		internal_networks, "direction", "127.0.0.0/8, ::1/128", check_cidrs,
		"Clients in these networks (and authenticated clients) send outbound mail: no SPF "
		"check of their mail. IPv4 and IPv6 networks, separated by commas."),
	CDIR_ROW_STR(
		trusted_forwarders, "direction", "", check_cidrs,
		"Hosts that forward mail to you (a mailing list, a backup MX): SPF is not checked "
		"on their mail, since a forwarder is never in the original sender's record."),
	CDIR_ROW_BOOL(spf_check_helo, "spf", "yes",
		      "Check the HELO name's SPF record as well as MAIL FROM's (RFC 7208 2.3)."),
	CDIR_ROW_CHOICE(
		spf_mailfrom_fail, "spf", "reject", spf_action_words, parse_spf_action,
		"MAIL FROM fail: reject (550 5.7.23), tempfail, quarantine or accept (and mark)."),
	CDIR_ROW_CHOICE(
		spf_mailfrom_softfail, "spf", "accept", spf_action_words, parse_spf_action,
		"MAIL FROM softfail: the domain says the host is probably not allowed. Accept and "
		"mark by default, as RFC 7208 8.5 advises."),
	CDIR_ROW_CHOICE(
		spf_mailfrom_permerror, "spf", "accept", spf_action_words, parse_spf_action,
		"MAIL FROM permerror (a broken record): accept and mark by default. A broken "
		"record is the sending domain's mistake, not proof of forgery, and rejecting "
		"would bounce its legitimate mail; DMARC still judges the message."),
	CDIR_ROW_CHOICE(
		spf_mailfrom_temperror, "spf", "tempfail", spf_action_words, parse_spf_action,
		"MAIL FROM temperror (DNS failed): tempfail (451 4.4.3), so the sender retries "
		"and no mail passes unchecked."),
	CDIR_ROW_CHOICE(spf_helo_fail, "spf", "reject", spf_action_words, parse_spf_action,
			"HELO fail: as spf_mailfrom_fail, for the HELO identity."),
	CDIR_ROW_CHOICE(spf_helo_softfail, "spf", "accept", spf_action_words, parse_spf_action,
			"HELO softfail."),
	CDIR_ROW_CHOICE(spf_helo_permerror, "spf", "accept", spf_action_words, parse_spf_action,
			"HELO permerror."),
	CDIR_ROW_CHOICE(spf_helo_temperror, "spf", "tempfail", spf_action_words, parse_spf_action,
			"HELO temperror."),
	CDIR_ROW_CHOICE(
		spf_reject_at, "spf", "dmarc", reject_at_words, parse_reject_at,
		"Where an SPF reject, tempfail or quarantine of MAIL FROM is answered. dmarc: at "
		"the end of the message, after DKIM and DMARC, and only when DMARC did not pass "
		"through an aligned DKIM signature, so a forwarded message that kept its "
		"signature is delivered while a forgery is still refused (with 550 5.7.23, or "
		"DMARC's own answer when DMARC refuses too); HELO's answers still come at RCPT. "
		"rcpt: at each recipient, before any signature is seen (recipient rules can "
		"exempt postmaster@ and abuse@). mail: at MAIL FROM."),
	CDIR_ROW_BOOL(spf_received_header, "spf", "yes",
		      "Add a Received-SPF header (RFC 7208 9.1) with the MAIL FROM result."),
	CDIR_ROW_BOOL(
		spf_explanation_in_reply, "spf", "no",
		"Put the domain's exp= explanation into the reject text. Off by default: the text "
		"comes from the sender's DNS and goes to whoever sent the mail. gatehouse expands "
		"it itself (RFC 7208 7); %{p} is always \"unknown\" (RFC 7.3 allows it and it "
		"saves lookups), and an exp= reached through redirect= is not used."),
	CDIR_ROW_INT(dkim_max_signatures, "dkim", "8", 1, 64,
		     "Check at most this many DKIM signatures per message; the others are reported "
		     "as not checked (neutral), never dropped silently. Bounds the work a message "
		     "with dozens of signatures can cause."),
	CDIR_ROW_INT(dkim_min_key_bits, "dkim", "1024", 512, 16384,
		     "RSA keys shorter than this never give a pass (result policy); RFC 8301 sets "
		     "1024. rsa-sha1 signatures are never a pass either."),
	CDIR_ROW_BOOL(
		dkim_allow_body_length, "dkim", "no",
		"Let a signature with l= pass when content follows the signed length. Off: such "
		"a signature is policy, since appending a payload to a signed message is a known "
		"spoofing trick."),
	CDIR_ROW_STR(
		sender_login_map, "outbound", "", outbound_spec_check_path,
		"Who may send as whom, in Postfix's smtpd_sender_login_maps text format "
		"(\"ADDRESS  login1, login2\" and \"@DOMAIN  login\"): point it at the file "
		"Postfix already uses. The exact address is looked up first, then it without a "
		"+extension, then @domain. Read into the snapshot: SIGHUP reloads it, and an "
		"error is FILE:LINE and keeps the running configuration."),
	CDIR_ROW_STR(
		sender_identity_map, "outbound", "", outbound_spec_check_path,
		"The same from the login's side: \"LOGIN  address, @domain, *@lists.example.org\" "
		"(globs allowed). Aliases, shared mailboxes and lists are more patterns. Used "
		"together with sender_login_map when both are set."),
	CDIR_ROW_BOOL(sender_login_is_address, "outbound", "yes",
		      "A login that is itself an address (alice@example.org) may send as that "
		      "address without a map line."),
	CDIR_ROW_BOOL(sender_allow_null, "outbound", "no",
		      "Let an authenticated client send with a null MAIL FROM (<>). Off: refused "
		      "like a mismatch, since bounces come from the MTA, not from users."),
	CDIR_ROW_CHOICE(sender_mismatch_action, "outbound", "reject", outbound_spec_action_words,
			outbound_spec_action_parse,
			"An authenticated client using an address its login does not own (MAIL "
			"FROM, any From address, Sender): reject (550 5.7.1 naming the address), "
			"tempfail (451 4.7.1), or unsigned (accepted, never signed). Logged with "
			"the login and the map line that decided."),
	CDIR_ROW_STR(outbound_daemon_names, "outbound", "", NULL,
		     "Values of the MTA's {daemon_name} macro that make a connection outbound, "
		     "e.g. \"ORIGINATING\" set by -o milter_macro_daemon_name=ORIGINATING on "
		     "Postfix's submission service. Mail there without a login is treated like "
		     "mail from internal_networks."),
	CDIR_ROW_BOOL(internal_sign, "outbound", "yes",
		      "Sign outbound mail that has no login (internal_networks, "
		      "outbound_daemon_names): applications and cron."),
	CDIR_ROW_STR(internal_allowed_from, "outbound", "", outbound_spec_check_patterns,
		     "Addresses such mail may use in MAIL FROM and From (user@domain, @domain, "
		     "globs); anything else gets sender_mismatch_action. Empty: not checked."),
	CDIR_ROW_STR(dkim_key_table, "outbound", "", outbound_spec_check_path,
		     "OpenDKIM's KeyTable: \"NAME  domain:selector:/path/key.pem[:algorithm]\", "
		     "algorithm rsa-sha256 or ed25519-sha256 (checked against the key). Every key "
		     "is loaded and checked at load: type, size, file mode (a warning when group "
		     "or others may read it)."),
	CDIR_ROW_STR(dkim_signing_table, "outbound", "", outbound_spec_check_signing_table,
		     "OpenDKIM's SigningTable: /PATH (OpenDKIM's lookup order) or refile:/PATH "
		     "(globs, first match). \"PATTERN  NAME[, NAME]\": two names, one RSA and "
		     "one Ed25519 key, sign twice. The address looked up is the one the identity "
		     "check accepted for the login, never the header From on its own."),
	CDIR_ROW_INT(dkim_sign_min_key_bits, "outbound", "1024", 1024, 16384,
		     "Refuse to load an RSA signing key shorter than this (2048 recommended; a "
		     "warning below it)."),
	CDIR_ROW_STR(dkim_sign_headers, "outbound",
		     "From, Reply-To, Subject, Date, To, Cc, Resent-Date, Resent-From, Resent-To, "
		     "Resent-Cc, In-Reply-To, References, List-Id, List-Help, List-Unsubscribe, "
		     "List-Subscribe, List-Post, List-Owner, List-Archive, Message-ID, Sender, "
		     "MIME-Version, Content-Type, Content-Transfer-Encoding, Content-ID, "
		     "Content-Description",
		     outbound_spec_check_headers,
		     "Header fields signed, every instance (RFC 6376 5.4.1 plus Message-ID and "
		     "the MIME fields). From is always signed."),
	CDIR_ROW_STR(dkim_oversign_headers, "outbound", "From, To, Cc, Subject, Reply-To",
		     outbound_spec_check_headers,
		     "Header fields signed once more than they occur, so none can be added "
		     "later. Each must be in dkim_sign_headers too (checked at load)."),
	CDIR_ROW_CHOICE(dkim_body_canonicalization, "outbound", "relaxed",
			outbound_spec_canon_words, outbound_spec_canon_parse,
			"Body canonicalization; header fields are always relaxed (a milter "
			"never sees their exact bytes). Never l=."),
	CDIR_ROW_INT(dkim_signature_expire_s, "outbound", "0", 0, 315360000,
		     "Add x= this many seconds after t=; 0: no x=."),
	CDIR_ROW_BOOL(dkim_require_published, "outbound", "no",
		      "Sign with a key only once DNS publishes its public key and it matches "
		      "(checked per message through the resolver and its cache, like "
		      "gatehouse dkim-check): a new or rotated key starts signing when its "
		      "record is visible, so no mail goes out with a signature nobody can "
		      "verify. Mail whose keys are all unpublished goes out unsigned."),
	CDIR_ROW_CHOICE(dkim_long_line_action, "outbound", "reject", outbound_spec_action_words,
			outbound_spec_action_parse,
			"A message to sign with a line over 998 octets, which an MTA may rewrap "
			"after signing (a milter cannot refold the body): reject (550 5.6.0 "
			"naming the line length), tempfail, or unsigned (delivered without a "
			"signature)."),
	CDIR_ROW_STR(dmarc_psl_file, "dmarc", "", check_abs_path,
		     "Obsolete and ignored: RFC 9989 finds organizational domains by a DNS tree "
		     "walk, not a public suffix list. Still accepted so that a configuration "
		     "written for an earlier gatehouse loads; remove it."),
	CDIR_ROW_CHOICE(
		dmarc_reject_action, "dmarc", "reject", spf_action_words, parse_spf_action,
		"A message failing DMARC whose domain publishes p=reject: reject (550 5.7.1 naming "
		"the domain), tempfail, quarantine or accept (and mark)."),
	CDIR_ROW_CHOICE(
		dmarc_quarantine_action, "dmarc", "accept", spf_action_words, parse_spf_action,
		"p=quarantine: accept and mark (Authentication-Results dmarc=fail, for the "
		"delivery agent's junk folder), or quarantine into the MTA's hold queue, which "
		"needs a person to release each message."),
	CDIR_ROW_CHOICE(
		dmarc_temperror_action, "dmarc", "tempfail", spf_action_words, parse_spf_action,
		"DNS trouble while looking up the policy: tempfail (451 4.4.3) so the sender "
		"retries and no forgery slips through a DNS outage."),
	CDIR_ROW_CHOICE(
		dmarc_permerror_action, "dmarc", "accept", spf_action_words, parse_spf_action,
		"A malformed DMARC record: accept and mark by default (the domain's mistake, "
		"and SPF/DKIM results still show in the headers)."),
	CDIR_ROW_CHOICE(
		dmarc_bad_from_action, "dmarc", "reject", spf_action_words, parse_spf_action,
		"A message with no From, several From fields or a From with several addresses "
		"has no single author to check: reject (550 5.7.1) by default; these are the "
		"tricks behind CVE-2019-16378."),
	CDIR_ROW_STR(
		dmarc_exempt_recipients, "dmarc", "postmaster@, abuse@", NULL,
		"Recipients that always get their mail even when DMARC says reject: local parts "
		"ending in @ (any domain) or whole addresses, separated by commas. The override "
		"is logged and shown in Authentication-Results."),
	CDIR_ROW_STR(dmarc_reject_when_none, "dmarc", "", NULL,
		     "Domains (comma-separated) whose p=none is treated as p=reject: for heavily "
		     "spoofed domains that have not moved to enforcement yet."),
	CDIR_ROW_STR(
		dmarc_report_db, "dmarc", "", check_abs_path,
		"SQLite file where each DMARC evaluation that found a policy record is recorded "
		"for aggregate reports (RFC 9990; `gatehouse dmarc-report` writes and sends "
		"them). Recording never delays mail: a full disk or a locked file is logged and "
		"counted, and the mail goes on. The daemon's user must be able to write the file "
		"and its directory (WAL); the systemd unit makes /var/lib/gatehouse for it, and "
		"`gatehouse -n` warns when it cannot write there. Empty: nothing is recorded. "
		"Read at start."),
	CDIR_ROW_INT(dmarc_report_max_age, "dmarc", "31", 1, 3650,
		     "Days a recorded evaluation is kept; older ones are deleted by the daemon "
		     "(hourly) and by `gatehouse dmarc-report`."),
	CDIR_ROW_STR(dmarc_report_org_name, "dmarc", "", NULL,
		     "org_name of the reports: the reporting organization. Empty: the domain "
		     "of dmarc_report_email."),
	CDIR_ROW_STR(dmarc_report_email, "dmarc", "", NULL,
		     "The reporter's address: email of the reports and From: of report mail. "
		     "Its domain names the receiver in report file names and in the Subject. "
		     "Mail whose From: is this address is never recorded (no report about the "
		     "reports). Required by `gatehouse dmarc-report`."),
	CDIR_ROW_STR(dmarc_report_sendmail, "dmarc", "/usr/sbin/sendmail", check_abs_path,
		     "The MTA's sendmail program that `gatehouse dmarc-report --send` pipes "
		     "each report mail to (with -t -oi)."),
	CDIR_ROW_STR(dmarc_report_exclude, "dmarc", "", NULL,
		     "Domains (comma-separated) never reported to: no report about a listed "
		     "policy domain, and no report mail to a rua address in a listed domain or "
		     "under it."),
	CDIR_ROW_STR(authserv_id, "identity", "", check_authserv_id,
		     "The name gatehouse signs its results with (the authserv-id of RFC 8601). "
		     "Empty: this host's fully qualified name (as Postfix's myhostname would be)."),
	CDIR_ROW_STR(
		status_header, "identity", "X-Gatehouse", check_header_name,
		"Header added to every message gatehouse passes, naming the host and the session "
		"id that is in the logs. Headers of this name that arrive with the message are "
		"removed first, so nobody downstream sees a forged one. Empty: add none."),
	CDIR_ROW_BOOL(
		status_header_outbound, "identity", "no",
		"Add the status header to outbound mail too. Off: outbound mail leaves without "
		"it (forged copies are still removed), so the internal host name and session "
		"ids stay inside."),
	CDIR_ROW_BOOL(require_from, "sanity", "yes",
		      "Refuse a message without a From header (see require_from_action). RFC 5322 "
		      "requires one, and without it no author domain can be checked."),
	CDIR_ROW_CHOICE(
		require_from_action, "sanity", "reject", fault_action_words, parse_fault_action,
		"What require_from does: reject (550 5.7.1), tempfail (451 4.7.1), quarantine "
		"(accept into the MTA's hold queue for a person to look at) or discard (accept "
		"and drop silently)."),
	CDIR_ROW_BOOL(
		reject_bad_envelope, "sanity", "yes",
		"Reject a MAIL FROM (501 5.1.7) or RCPT TO (501 5.1.3) whose address does not "
		"follow RFC 5321, such as a missing domain or unbalanced brackets."),
	CDIR_ROW_INT(
		max_header_line_octets, "sanity", "998", 78, 1048576,
		"Reject (550 5.6.0) a message with a physical header line longer than this. RFC "
		"5322 section 2.1.1 sets 998; raise it if you must accept broken senders."),
	CDIR_ROW_INT(max_headers, "sanity", "1000", 10, 1000000,
		     "Reject (552 5.3.4) a message with more header fields than this."),
	CDIR_ROW_INT(max_header_bytes, "sanity", "1048576", 1024, 268435456,
		     "Reject (552 5.3.4) a message whose header fields together exceed this many "
		     "bytes."),
	CDIR_ROW_INT(
		max_recipients, "sanity", "0", 0, 1000000,
		"Answer 452 4.5.3 to recipients beyond this count, as RFC 5321 section 4.5.3.1.10 "
		"asks; the sender delivers them in a later transaction. 0: no limit."),
	CDIR_ROW_STR(
		rules_dir, "rules", "", NULL,
		"Directory of rule files: every *.rules file in it, read in name order (see "
		"gatehouse.rules(5)). A relative path is relative to this file's directory. Empty: "
		"no rules. A rule error fails the start, and a reload with one keeps the running "
		"rules."),
	CDIR_ROW_INT(
		body_scan_limit, "rules", "2097152", 4096, 1073741824,
		"Bytes of decoded body text (and of raw body) that rules see per message; what is "
		"past it is not scanned and body.truncated is true."),
	CDIR_ROW_INT(mime_max_depth, "rules", "20", 1, 1000,
		     "Nesting of multiparts and attached messages the MIME walk follows; deeper "
		     "parts are "
		     "not scanned (body.truncated)."),
	CDIR_ROW_INT(mime_max_parts, "rules", "500", 1, 100000,
		     "MIME parts the walk looks at per message; later parts are not scanned "
		     "(body.truncated)."),
	CDIR_ROW_INT(
		rules_match_limit, "rules", "1000000", 1000, 100000000,
		"PCRE2 match limit for one pattern on one value: a pattern that needs more steps "
		"(catastrophic backtracking) has no answer, which rules_fault_action decides for "
		"its rule; logged with the rule."),
	CDIR_ROW_INT(rules_depth_limit, "rules", "10000", 100, 10000000,
		     "PCRE2 backtracking depth limit (the interpreter; JIT uses its own stack), "
		     "same treatment."),
	CDIR_ROW_INT(rules_heap_limit_kb, "rules", "16384", 64, 4194304,
		     "PCRE2 heap limit in KiB for one match, same treatment."),
	CDIR_ROW_CHOICE(
		rules_fault_action, "rules", "tempfail", rules_fault_words, parse_rules_fault,
		"What a rule that rejects, tempfails, discards or quarantines answers when it "
		"cannot be decided: one of its patterns hit a PCRE2 limit above (or the "
		"prefilter failed) and the rest of its condition does not decide it. tempfail "
		"(451 4.7.1) lets the sender retry while you fix the rule; reject (550 5.7.1); "
		"quarantine; no-match counts the rule as not matching, so whoever can make a "
		"pattern backtrack gets past it. Accept, monitor and add-header rules always "
		"count it as no match. Logged with the rule either way."),
	CDIR_ROW_INT(
		rules_budget_ms, "rules", "2000", 1, 60000,
		"Time all rules together may take for one message, over all its phases (at "
		"connect and helo: for each of those steps). Past it the message is tempfailed "
		"(451 4.7.1) and the rule being evaluated is logged. Keep it, together with "
		"dns_budget_ms, below the MTA's milter timeouts."),
	CDIR_ROW_INT(
		rules_max_size, "rules", "1000000", 1000, 1000000000,
		"Conditions (comparisons, and, or, not) all rules may hold with every define "
		"written out where it is named. A define costs its size at each use: `define d2 = "
		"d1 or d1` doubles d1. A larger rule set is refused at load with "
		"FILE:LINE:COL: rule set too large after expanding definitions."),
	CDIR_ROW_BOOL(
		rules_prefilter, "rules", "yes",
		"Find the body patterns that may match in one Hyperscan pass before PCRE2 confirms "
		"them. The answers are the same either way; \"no\" exists to measure the "
		"difference."),
	CDIR_ROW_STR(
		ratelimit_login, "ratelimit", "", rate_spec_check,
		"Messages one authenticated login ({auth_authen}) may send: N/PERIOD with an "
		"optional burst, e.g. 200/1h or 5000/1d burst 500 (periods in s, m, h, d). The "
		"burst is how many may go at once (default N); after it, one every PERIOD/N "
		"(GCRA: no window edges, over any span S at most burst + S*N/PERIOD). Checked at "
		"each RCPT (451 4.7.1 with the time to wait), charged at end of message only "
		"for mail accepted. Empty: no limit."),
	CDIR_ROW_STR(
		ratelimit_login_rcpt, "ratelimit", "", rate_spec_check,
		"Recipients one login may send to (accepted recipients of accepted mail), same "
		"form; the recipient that would go over gets 451 4.7.1, earlier ones stay."),
	CDIR_ROW_STR(ratelimit_sender_domain, "ratelimit", "", rate_spec_check,
		     "Outbound messages per MAIL FROM domain (authenticated or from "
		     "internal_networks), same form."),
	CDIR_ROW_STR(ratelimit_sender_domain_rcpt, "ratelimit", "", rate_spec_check,
		     "Outbound recipients per MAIL FROM domain, same form."),
	CDIR_ROW_STR(ratelimit_client, "ratelimit", "", rate_spec_check,
		     "Messages per client address for unauthenticated clients in "
		     "internal_networks (relaying hosts), same form."),
	CDIR_ROW_STR(ratelimit_client_rcpt, "ratelimit", "", rate_spec_check,
		     "Recipients per client address for the same clients, same form."),
	CDIR_ROW_STR(ratelimit_redis, "ratelimit", "", rate_spec_check_redis,
		     "Redis that holds the counters for a fleet of hosts: unix:/PATH or HOST:PORT. "
		     "Each check is one round trip (a Lua script, atomic). Empty: counters in "
		     "process memory only. Read at start."),
	CDIR_ROW_INT(
		ratelimit_redis_timeout_ms, "ratelimit", "200", 1, 10000,
		"Time to connect to Redis and for each command; past it the check falls back "
		"(ratelimit_redis_fallback) and Redis is not tried again for a second. Read at "
		"start."),
	CDIR_ROW_CHOICE(ratelimit_redis_fallback, "ratelimit", "local", rate_spec_fallback_words,
			rate_spec_fallback_parse,
			"What a check does while Redis fails: local counts in this process "
			"(each host then allows the full limit), accept lets mail through "
			"unlimited, tempfail answers 451 4.7.1. Logged when Redis goes away and "
			"when it is back."),
	CDIR_ROW_INT(ratelimit_max_keys, "ratelimit", "1000000", 1000, 100000000,
		     "Counters kept in process memory (about 100 bytes each). Idle ones are "
		     "forgotten first (that loses nothing); when all are busy, the least recently "
		     "used goes. Read at start."),
	CDIR_ROW_STR(
		control_socket, "ratelimit", "", rate_spec_check_path,
		"Unix socket (mode 0600, owned by the daemon's user) on which the daemon "
		"answers `gatehouse ratelimit show|reset` about its in-process counters. Empty: "
		"none. Read at start."),
	CDIR_ROW_STR(
		ratelimit_overrides, "ratelimit", "", rate_spec_check_path,
		"File of per-counter limits that replace the directives' for one login, domain or "
		"client: one `KIND:SCOPE:VALUE LIMIT` per line, e.g. `msg:login:newsletter "
		"20000/1d burst 2000` or `rcpt:domain:example.net none` (KIND msg or rcpt, SCOPE "
		"login, domain or client, LIMIT as above or none); # starts a comment. A domain "
		"may be written in any case and as U-labels or A-labels, a client address in any "
		"form inet_pton reads: each is the counter mail is charged to. A bad line fails "
		"the load with FILE:LINE. Empty: none."),
	CDIR_ROW_CHOICE(
		on_internal_error, "sanity", "tempfail", on_error_words, parse_on_error,
		"What to answer when gatehouse itself fails on a message (out of memory, a broken "
		"invariant): tempfail (451 4.3.0, the sender retries) or accept. Accept lets mail "
		"through that policy might have rejected."),
	CDIR_ROW_BOOL(metrics, "metrics", "yes",
		      "Count messages, check results, DNS queries and the rest for the metrics "
		      "endpoint, `gatehouse stats` and metrics_textfile. no: nothing is counted "
		      "(each count is an atomic add on a cache line of its own; the README gives "
		      "the measured cost). Read at start."),
	CDIR_ROW_STR(metrics_listen, "metrics", "", check_hostport,
		     "Serve the counters for Prometheus at http://HOST:PORT/metrics: HOST an IP "
		     "address, IPv6 in brackets (127.0.0.1:9112, [::1]:9112); a port alone (9112) "
		     "listens on loopback, 127.0.0.1. Anyone who can reach "
		     "it reads the counters (never addresses or logins): keep it on loopback or "
		     "behind a firewall. Empty: no endpoint. Read at start."),
	CDIR_ROW_INT(metrics_max_connections, "metrics", "8", 1, 1024,
		     "Connections the metrics endpoint serves at once (and from one address: half "
		     "of them, at least one); more are refused. A request is limited to 16 KB "
		     "and 10 seconds. Read at start."),
	CDIR_ROW_STR(metrics_textfile, "metrics", "", check_abs_path,
		     "Also write the counters to this file (for node_exporter's textfile "
		     "collector; name it *.prom), replaced atomically (a temporary file and a "
		     "rename in the same directory) every metrics_textfile_interval_s and at "
		     "exit. The directory must be writable by the daemon's user; under the "
		     "systemd unit, add it with ReadWritePaths= in a drop-in (`gatehouse -n` "
		     "warns otherwise). Empty: no file. Read at start."),
	CDIR_ROW_INT(metrics_textfile_interval_s, "metrics", "15", 1, 3600,
		     "Seconds between two writes of metrics_textfile. Read at start."),
};

const size_t config_ndirectives = sizeof(config_directives) / sizeof(config_directives[0]);

const struct config_directive *config_directive_find(const char *name)
{
	for (size_t i = 0; i < config_ndirectives; i++)
		if (strcmp(config_directives[i].name, name) == 0)
			return &config_directives[i];
	return NULL;
}
