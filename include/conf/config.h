/*
 * config.h - the configuration snapshot: load, validate, share, swap
 *
 * One file in libconfuse syntax (`name = value`, # comments) describes the
 * daemon. config_load() parses it against one table of directives (see
 * config_table.c) which gives every directive its type, default, bounds and
 * documentation; the same table prints the sample config and the man page
 * section, so the three can never disagree.
 *
 * A loaded struct config is immutable and reference-counted. A connection
 * holds one reference, exchanged for the current snapshot whenever a message
 * starts (and dropped at close), so SIGHUP can build a new snapshot and swap
 * it into the config_slot while older messages finish on the old one. An idle
 * connection keeps its snapshot alive until its next message or its close. A failed load returns NULL with every
 * error as "FILE:LINE: message" and the running snapshot stays.
 *
 * Threads: config_ref/config_unref are atomic; a config_slot is a mutex-guarded
 * pointer, read by every milter thread and written by the reload path.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "conf/rate_overrides.h"
#include "util/cidr.h"
#include "util/diag.h"

struct ruleset;
struct outbound_tables;

#define CONFIG_DEFAULT_PATH "/etc/gatehouse/gatehouse.conf"

enum config_on_error { CONFIG_ON_ERROR_TEMPFAIL, CONFIG_ON_ERROR_ACCEPT };
/* ratelimit_redis_fallback: what a check answers while Redis fails */
enum config_rl_fallback {
	CONFIG_RL_FALLBACK_LOCAL,
	CONFIG_RL_FALLBACK_ACCEPT,
	CONFIG_RL_FALLBACK_TEMPFAIL
};

/* Integer directives are all long, so the table can fill them uniformly. */
struct config {
	atomic_int refs;
	char *path;		  /* file it came from; "(defaults)" without one */
	unsigned long generation; /* counts successful loads, for logs */

	/* daemon */
	char *socket;		       /* "inet:PORT@HOST" or "unix:PATH" */
	char *socket_owner;	       /* user owning a unix socket; "" keeps root */
	char *socket_group;	       /* group of a unix socket; "" keeps root's */
	int socket_mode;	       /* permission bits of a unix socket */
	char *user;		       /* drop privileges to this user; "" = stay */
	char *pid_file;		       /* "" = none */
	long drain_timeout_ms;	       /* SIGTERM: how long in-flight connections may finish */
	long milter_timeout_s;	       /* I/O timeout towards the MTA */
	long milter_session_timeout_s; /* silence inside an SMTP session */
	long listen_backlog;
	long milter_workers;	     /* threads answering commands (read at start) */
	long milter_max_connections; /* milter connections open at once (read at start) */

	/* logging */
	int log_level;	  /* LOG_ERR .. LOG_DEBUG from <syslog.h> */
	int log_facility; /* LOG_MAIL, LOG_LOCAL0, ... */

	/* DNS: one resolver for every check (changes need a restart) */
	long dns_timeout_ms;	     /* one query */
	long dns_budget_ms;	     /* all queries of one message */
	long dns_command_budget_ms;  /* all queries behind one SMTP command */
	char *dns_forwarders;	     /* "IP[@PORT], ..."; "" = /etc/resolv.conf */
	char *dns_trust_anchor_file; /* "" = no DNSSEC validation */
	char *dns_fixture;	     /* "" = real DNS; else answers only from this file */

	/* direction: outbound is an authenticated client or one of these */
	char *internal_networks;
	struct cidr_list internal_nets; /* parsed from internal_networks */
	char *trusted_forwarders;	/* forwarders whose mail SPF must not judge */
	struct cidr_list trusted_fwd;

	/* SPF: actions are enum gh_action (CONTINUE = accept and mark) */
	bool spf_check_helo;
	int spf_mailfrom_fail, spf_mailfrom_softfail, spf_mailfrom_permerror,
		spf_mailfrom_temperror;
	int spf_helo_fail, spf_helo_softfail, spf_helo_permerror, spf_helo_temperror;
	int spf_reject_at; /* GH_PH_MAIL, GH_PH_RCPT or GH_PH_EOM (dmarc) */
	bool spf_received_header;
	bool spf_explanation_in_reply;

	/* DKIM verification */
	long dkim_max_signatures;
	long dkim_min_key_bits;
	bool dkim_allow_body_length;

	/* outbound: sender identity and DKIM signing (filter/outbound/); the
	 * files are read into OUTBOUND when the snapshot is built */
	char *sender_login_map;	      /* Postfix format: address -> logins */
	char *sender_identity_map;    /* gatehouse format: login -> addresses */
	bool sender_login_is_address; /* a login that is an address owns it */
	bool sender_allow_null;	      /* null MAIL FROM from a login */
	int sender_mismatch_action;   /* enum gh_action; CONTINUE = accept unsigned */
	char *outbound_daemon_names;  /* {daemon_name} values that mean outbound */
	bool internal_sign;	      /* sign internal mail without a login */
	char *internal_allowed_from;  /* its From must match one; "" = unchecked */
	char *dkim_key_table;	      /* OpenDKIM KeyTable */
	char *dkim_signing_table;     /* OpenDKIM SigningTable, [refile:]PATH */
	long dkim_sign_min_key_bits;
	char *dkim_sign_headers, *dkim_oversign_headers;
	int dkim_body_canonicalization;	  /* 1 relaxed, 0 simple */
	long dkim_signature_expire_s;	  /* x=; 0 = none */
	bool dkim_require_published;	  /* a key signs once DNS publishes it */
	int dkim_long_line_action;	  /* enum gh_action; CONTINUE = accept unsigned */
	struct outbound_tables *outbound; /* built by snapshot_load(); may be NULL */
	void (*outbound_free)(struct outbound_tables *);

	/* DMARC: actions are enum gh_action (CONTINUE = accept and mark) */
	char *dmarc_psl_file; /* obsolete, ignored (RFC 9989 tree walk) */
	int dmarc_reject_action, dmarc_quarantine_action;
	int dmarc_temperror_action, dmarc_permerror_action;
	int dmarc_bad_from_action;     /* no From, several From, several addresses */
	char *dmarc_exempt_recipients; /* "postmaster@, abuse@, x@y.example" */
	char *dmarc_reject_when_none;  /* domains whose p=none counts as reject */
	/* aggregate reports (report/, RFC 9990) */
	char *dmarc_report_db;	     /* SQLite file; "" = not recorded (read at start) */
	long dmarc_report_max_age;   /* days a record is kept */
	char *dmarc_report_org_name; /* "" = dmarc_report_email's domain */
	char *dmarc_report_email;    /* reporter address; required to report */
	char *dmarc_report_sendmail; /* sendmail -t -oi for --send */
	char *dmarc_report_exclude;  /* domains never reported to */

	/* identity */
	char *authserv_id;	     /* our name in added headers; default: host name */
	char *status_header;	     /* header added to passed mail; "" disables */
	bool status_header_outbound; /* and to outbound mail too */

	/* message sanity, the foundation's policy */
	bool require_from;	     /* no From header -> require_from_action */
	int require_from_action;     /* enum gh_action: reject, tempfail, quarantine, discard */
	bool reject_bad_envelope;    /* syntactically invalid MAIL FROM / RCPT TO -> reject */
	long max_header_line_octets; /* one physical header line, RFC 5322 2.1.1 */
	long max_headers;	     /* header fields per message */
	long max_header_bytes;	     /* all header fields together */
	long max_recipients;	     /* RCPT beyond this is tempfailed (452 4.5.3); 0 = no limit */
	int on_internal_error;	     /* enum config_on_error */

	/* rules (gatehouse.rules(5)) */
	char *rules_dir;      /* "" = no rules */
	long body_scan_limit; /* decoded text, and raw body, rules see */
	long mime_max_depth, mime_max_parts;
	long rules_match_limit, rules_depth_limit, rules_heap_limit_kb;
	bool rules_prefilter;
	int rules_fault_action; /* enum gh_action: a refusing rule left without an
				 * answer (a limit); CONTINUE = counted as no match */
	long rules_budget_ms;	/* rule evaluation time per message */
	long rules_max_size;	/* conditions, every define written out */
	struct ruleset *rules;	/* compiled from rules_dir; NULL when none */

	/* rate limits (outbound/ratelimit.h): "N/PERIOD [burst B]"; "" = none */
	char *ratelimit_login, *ratelimit_login_rcpt;
	char *ratelimit_sender_domain, *ratelimit_sender_domain_rcpt;
	char *ratelimit_client, *ratelimit_client_rcpt;
	char *ratelimit_redis;		 /* "unix:/path" or "host:port"; "" = in process */
	long ratelimit_redis_timeout_ms; /* connect and each command (read at start) */
	int ratelimit_redis_fallback;	 /* enum config_rl_fallback */
	long ratelimit_max_keys;	 /* in-process counters (read at start) */
	char *control_socket;		 /* unix socket for `gatehouse ratelimit`; "" = none */
	char *ratelimit_overrides;	 /* per-counter limits file; "" = none */
	struct rate_overrides ratelimit_override_table; /* loaded from it */

	/* metrics (engine_metrics.h; all read at start) */
	bool metrics;			  /* count at all */
	char *metrics_listen;		  /* HOST:PORT of /metrics; "" = no endpoint */
	long metrics_max_connections;	  /* scrapes served at once */
	char *metrics_textfile;		  /* node_exporter textfile; "" = none */
	long metrics_textfile_interval_s; /* how often it is rewritten */
};

/*
 * config_load - parse PATH (NULL: built-in defaults only) into a new snapshot
 * with one reference. On failure returns NULL and appends every error found to
 * ERRS (the caller frees them with diag_clear). One load at a time per
 * process: libconfuse 3.3's lexer state is global (the daemon loads only on
 * its main thread, at start and on SIGHUP).
 */
struct config *config_load(const char *path, struct diag *errs);
/* config_ref - take another reference; returns C */
struct config *config_ref(struct config *c);
/* config_unref - drop a reference; the last one frees; accepts NULL */
void config_unref(struct config *c);

/* config_print_sample - the sample config: every directive, its default and doc */
void config_print_sample(FILE *fp);
/* config_print_man - the DIRECTIVES section of gatehouse.conf(5), in roff */
void config_print_man(FILE *fp);
/* config_print_rule_targets - the TARGETS section of gatehouse.rules(5), in roff */
void config_print_rule_targets(FILE *fp);
/* config_print_effective - every directive with the value C holds */
void config_print_effective(FILE *fp, const struct config *c);

/* config_slot: where the current snapshot lives */
struct config_slot {
	pthread_mutex_t lock;
	struct config *current;
};

/* config_slot_init - take ownership of C's reference */
void config_slot_init(struct config_slot *, struct config *c);
/* config_slot_get - a new reference to the current snapshot */
struct config *config_slot_get(struct config_slot *);
/* config_slot_swap - install C (its reference moves in), drop the old one */
void config_slot_swap(struct config_slot *, struct config *c);
/* config_slot_destroy - drop the current snapshot */
void config_slot_destroy(struct config_slot *);

#endif
