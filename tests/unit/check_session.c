/*
 * check_session.c - sessions and the daemon state they come from: a fresh
 * configuration snapshot per message (a reload applies from the next
 * message, the one in flight keeps its own), message memory released at
 * message end, queue ids, session ids (unique, truncated safely), and the
 * daemon's reload (kept on failure, with every error logged), connection
 * count and drain.
 */
#include <pthread.h>
#include <time.h>

#include "util/arena.h"
#include "daemon/daemon.h"
#include "unit.h"

START_TEST(session_snapshot_per_message)
{
	struct config_slot slot;
	struct config *c1 = unit_config_ok("max_headers = 11\n");
	struct config *c2 = unit_config_ok("max_headers = 22\n");
	struct session *s;

	config_slot_init(&slot, c1);
	s = session_new("s", &slot, NULL, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_eq(s->cfg, c1);
	ck_assert_int_eq(session_message_begin(s), 0);
	ck_assert_int_eq(s->cfg->max_headers, 11);
	ck_assert_int_eq(atomic_load(&c1->refs), 2);	/* slot + session */

	config_slot_swap(&slot, c2);			/* reload mid-message */
	ck_assert_ptr_eq(s->cfg, c1);
	ck_assert_int_eq(s->cfg->max_headers, 11);
	ck_assert_int_eq(atomic_load(&c1->refs), 1);

	session_message_end(s, "eom");
	ck_assert_int_eq(session_message_begin(s), 0);	/* the next message */
	ck_assert_ptr_eq(s->cfg, c2);			/* c1 is gone (LSan, ASan) */
	ck_assert_int_eq(s->cfg->max_headers, 22);
	ck_assert_int_eq(atomic_load(&c2->refs), 2);
	session_free(s);
	ck_assert_int_eq(atomic_load(&c2->refs), 1);
	config_slot_destroy(&slot);
}
END_TEST

START_TEST(session_message_memory_released)
{
	struct session *s = unit_session(unit_config_defaults(), NULL);
	size_t base = arena_bytes(s->msg_arena);
	char value[1000];

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(session_message_begin(s), 0);
		for (int i = 0; i < 200; i++)
			ck_assert_int_eq(session_add_header(s, "X-Fill", value, strlen(value), true), 0);
		ck_assert_uint_gt(arena_bytes(s->msg_arena), base + 200 * 1000);
		session_message_end(s, "eom");
		ck_assert_uint_eq(arena_bytes(s->msg_arena), base);
		ck_assert(!s->msg.active);
		ck_assert_uint_eq(s->msg.nheaders, 0);
	}
	/* connection data survives message ends */
	ck_assert_int_eq(engine_connect(s, "mx.example.net", "192.0.2.7"), GH_ACT_CONTINUE);
	ck_assert_int_eq(session_message_begin(s), 0);
	session_message_end(s, "abort");
	ck_assert_str_eq(s->client_ip, "192.0.2.7");
	session_free(s);
}
END_TEST

START_TEST(session_header_values_with_nul)
{
	struct session *s = unit_session(unit_config_defaults(), NULL);

	ck_assert_int_eq(session_message_begin(s), 0);
	ck_assert_int_eq(session_add_header(s, "X-Bin", "a\0b\0", 4, true), 0);
	ck_assert_uint_eq(s->msg.headers[0].value_len, 4);
	ck_assert(memcmp(s->msg.headers[0].value, "a\0b\0", 5) == 0);
	session_free(s);
}
END_TEST

START_TEST(session_edits_changes_first)
{
	static const struct {
		enum hdr_edit_op op;
		const char *name;
		unsigned index;
	} want[] = {
		{ HDR_REMOVE, "Received-SPF", 2 }, { HDR_REMOVE, "Received-SPF", 1 },
		{ HDR_CHANGE, "Subject", 1 },	   { HDR_REMOVE, "X-Gatehouse", 1 },
		{ HDR_INSERT, "Received-SPF", 0 }, { HDR_ADD, "X-Rule", 0 },
		{ HDR_INSERT, "X-Gatehouse", 0 },
	};
	struct session *s = unit_session(unit_config_defaults(), NULL);

	/* added as the engine might, insertions before removals of the same
	 * name; the list must hold every change and removal first, each kind
	 * in the order added (the MTA counts a field we inserted when it
	 * looks one up by name and index) */
	ck_assert_int_eq(session_message_begin(s), 0);
	ck_assert_int_eq(session_add_edit(s, HDR_INSERT, "Received-SPF", "pass", 0), 0);
	ck_assert_int_eq(session_add_edit(s, HDR_REMOVE, "Received-SPF", NULL, 2), 0);
	ck_assert_int_eq(session_add_edit(s, HDR_ADD, "X-Rule", "1", 0), 0);
	ck_assert_int_eq(session_add_edit(s, HDR_REMOVE, "Received-SPF", NULL, 1), 0);
	ck_assert_int_eq(session_add_edit(s, HDR_CHANGE, "Subject", "new", 1), 0);
	ck_assert_int_eq(session_add_edit(s, HDR_INSERT, "X-Gatehouse", "mx", 0), 0);
	ck_assert_int_eq(session_add_edit(s, HDR_REMOVE, "X-Gatehouse", NULL, 1), 0);
	ck_assert_uint_eq(s->msg.nedits, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < s->msg.nedits; i++) {
		const struct hdr_edit *e = &s->msg.edits[i];

		ck_assert_msg(e->op == want[i].op && strcmp(e->name, want[i].name) == 0 &&
				      e->index == want[i].index,
			      "edit %zu: op %d %s #%u", i, (int)e->op, e->name, e->index);
	}
	ck_assert_str_eq(s->msg.edits[2].value, "new");
	ck_assert_str_eq(s->msg.edits[4].value, "pass");
	ck_assert_ptr_null(s->msg.edits[0].value);
	session_free(s);
}
END_TEST

START_TEST(session_qid)
{
	struct session *s = unit_session(unit_config_defaults(), NULL);

	session_set_qid(s, "BEFORE");		/* no message: ignored */
	ck_assert_int_eq(session_message_begin(s), 0);
	ck_assert_ptr_null(s->msg.qid);
	session_set_qid(s, "");
	session_set_qid(s, NULL);
	ck_assert_ptr_null(s->msg.qid);
	session_set_qid(s, "4BxYz");
	ck_assert_str_eq(s->msg.qid, "4BxYz");
	session_set_qid(s, "4BxYz");
	ck_assert_str_eq(s->msg.qid, "4BxYz");
	session_set_qid(s, "5CzZa");		/* the MTA's latest word counts */
	ck_assert_str_eq(s->msg.qid, "5CzZa");
	session_message_end(s, "eom");
	ck_assert_int_eq(session_message_begin(s), 0);
	ck_assert_ptr_null(s->msg.qid);
	session_free(s);
}
END_TEST

START_TEST(session_ids)
{
	const char *long_id = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij";
	struct session *s = session_new(long_id, NULL, unit_config_defaults(), NULL);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s->id), SESSION_ID_MAX - 1);
	ck_assert(strncmp(s->id, long_id, SESSION_ID_MAX - 1) == 0);
	for (unsigned i = 1; i <= 12; i++) {
		char want[SESSION_ID_MAX + 12];

		ck_assert_int_eq(session_message_begin(s), 0);
		snprintf(want, sizeof(want), "%s.%u", s->id, i);
		ck_assert_str_eq(s->msg.id, want);
	}
	ck_assert_int_ge(session_elapsed_ms(s), 0);
	ck_assert_int_lt(session_elapsed_ms(s), 10000);
	session_message_end(s, "eom");
	ck_assert_int_eq(session_elapsed_ms(s), 0);
	session_free(s);
}
END_TEST

START_TEST(daemon_session_ids_unique)
{
	struct daemon d;
	char a[SESSION_ID_MAX], b[SESSION_ID_MAX];

	daemon_init(&d, unit_config_defaults(), NULL);
	daemon_session_id(&d, a, sizeof(a));
	daemon_session_id(&d, b, sizeof(b));
	ck_assert_str_ne(a, b);
	ck_assert(strncmp(a, d.id_prefix, strlen(d.id_prefix)) == 0);
	ck_assert_uint_eq(strlen(d.id_prefix), 5);
	ck_assert_uint_lt(strlen(a), SESSION_ID_MAX);
	daemon_destroy(&d);
}
END_TEST

START_TEST(daemon_reload_swaps_or_keeps)
{
	struct daemon d;
	struct unit_log ul;
	const char *text = "log_level = debug\nmax_headers = 33\n";
	char *path = unit_write_file(text, strlen(text));
	struct config *c;
	FILE *fp;

	unit_log_open(&ul, LOG_INFO);
	daemon_init(&d, unit_config_defaults(), path);
	d.log = ul.log;
	ck_assert_int_eq(daemon_reload(&d), 0);
	c = config_slot_get(&d.slot);
	ck_assert_int_eq(c->max_headers, 33);
	ck_assert_uint_eq(c->generation, 1);
	config_unref(c);
	ck_assert_int_eq(atomic_load(&d.log.level), LOG_DEBUG);
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "generation 1"));

	/* a broken file: the running snapshot stays, every error is logged */
	fp = fopen(path, "w");
	fputs("# broken\nmax_headers = 3\nlog_level = loud\n", fp);
	fclose(fp);
	ck_assert_int_eq(daemon_reload(&d), -1);
	c = config_slot_get(&d.slot);
	ck_assert_int_eq(c->max_headers, 33);
	config_unref(c);
	/* d.log writes to the same stream as ul.log */
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), ":2: max_headers: 3 is out of range"));
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), ":3: log_level: unknown value 'loud'"));
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "keeping the running configuration"));

	/* and a file that went away */
	unlink(path);
	ck_assert_int_eq(daemon_reload(&d), -1);
	c = config_slot_get(&d.slot);
	ck_assert_int_eq(c->max_headers, 33);
	config_unref(c);
	daemon_destroy(&d);
	free(path);
	unit_log_close(&ul);
}
END_TEST

static void *daemon_test_close_later(void *arg)
{
	struct daemon *d = arg;
	struct timespec ts = { 0, 50 * 1000000L };

	nanosleep(&ts, NULL);
	daemon_conn_closed(d);
	return NULL;
}

START_TEST(daemon_drain_waits)
{
	struct daemon d;
	pthread_t t;
	struct timespec a, b;

	daemon_init(&d, unit_config_defaults(), NULL);
	ck_assert_int_eq(daemon_drain(&d, 10), 0);	/* idle: returns at once */
	ck_assert(!daemon_conn_opened(&d));		/* draining: new ones refused */
	ck_assert_int_eq(d.active, 0);
	daemon_destroy(&d);

	daemon_init(&d, unit_config_defaults(), NULL);
	ck_assert(daemon_conn_opened(&d));
	ck_assert(daemon_conn_opened(&d));
	daemon_conn_closed(&d);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(daemon_drain(&d, 100), 1);	/* one still open: timeout */
	clock_gettime(CLOCK_MONOTONIC, &b);
	ck_assert_int_ge((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000, 90);
	/* the last connection closing wakes the drain before its timeout */
	ck_assert_int_eq(pthread_create(&t, NULL, daemon_test_close_later, &d), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(daemon_drain(&d, 10000), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ck_assert_int_lt(b.tv_sec - a.tv_sec, 5);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert(d.stopping);
	daemon_conn_closed(&d);				/* never below zero */
	ck_assert_int_eq(d.active, 0);
	daemon_destroy(&d);
}
END_TEST

static Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, session_snapshot_per_message);
	tcase_add_test(tc, session_message_memory_released);
	tcase_add_test(tc, session_header_values_with_nul);
	tcase_add_test(tc, session_edits_changes_first);
	tcase_add_test(tc, session_qid);
	tcase_add_test(tc, session_ids);
	tcase_add_test(tc, daemon_session_ids_unique);
	tcase_add_test(tc, daemon_reload_swaps_or_keeps);
	tcase_add_test(tc, daemon_drain_waits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(session_suite());
}
