/*
 * daemon.c - shared daemon state: session ids, drain, reload (see daemon.h)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "engine/engine_metrics.h"
#include "engine/snapshot.h"
#include "util/metrics.h"

/* daemon_metrics - the services' counters, or NULL (not built yet, or metrics = no) */
static const struct engine_metrics *daemon_metrics(const struct daemon *d)
{
	return d->svc != NULL ? d->svc->metrics : NULL;
}

/* daemon_gauge - connections in use, set under d->lock so it equals d->active */
static void daemon_gauge(const struct daemon *d)
{
	const struct engine_metrics *em = daemon_metrics(d);

	if (em != NULL)
		metrics_gauge_set(em->connections, 0, 0, d->active);
}

void daemon_init(struct daemon *d, struct config *c, const char *config_path)
{
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned long seed = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);

	memset(d, 0, sizeof(*d));
	config_slot_init(&d->slot, c);
	d->config_path = config_path;
	/* Five base-32 characters from time and pid: ids from two starts of
	 * the daemon do not collide in the logs in practice. */
	for (int i = 0; i < 5; i++, seed >>= 5)
		d->id_prefix[i] = b32[seed & 31];
	d->id_prefix[5] = '\0';
	atomic_init(&d->next_session, 1);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->idle, NULL);
}

void daemon_destroy(struct daemon *d)
{
	services_free(d->svc);
	d->svc = NULL;
	config_slot_destroy(&d->slot);
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
}

void daemon_session_id(struct daemon *d, char *buf, size_t len)
{
	unsigned long n = atomic_fetch_add(&d->next_session, 1);

	snprintf(buf, len, "%s%05lX", d->id_prefix, n);
}

bool daemon_conn_opened(struct daemon *d)
{
	bool ok;

	pthread_mutex_lock(&d->lock);
	ok = !d->stopping;
	if (ok)
		d->active++;
	daemon_gauge(d);
	pthread_mutex_unlock(&d->lock);
	return ok;
}

bool daemon_draining(struct daemon *d)
{
	bool stopping;

	pthread_mutex_lock(&d->lock);
	stopping = d->stopping;
	pthread_mutex_unlock(&d->lock);
	return stopping;
}

void daemon_conn_closed(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	if (d->active > 0)
		d->active--;
	if (d->active == 0)
		pthread_cond_broadcast(&d->idle);
	daemon_gauge(d);
	pthread_mutex_unlock(&d->lock);
}

int daemon_drain(struct daemon *d, long timeout_ms)
{
	struct timespec until;
	int left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	while (d->active > 0)
		if (pthread_cond_timedwait(&d->idle, &d->lock, &until) == ETIMEDOUT)
			break;
	left = d->active;
	pthread_mutex_unlock(&d->lock);
	return left;
}

int daemon_reload(struct daemon *d)
{
	struct diag errs = { 0 }, warns = { 0 };
	struct config *fresh = snapshot_load(d->config_path, &errs, &warns);
	struct config *old;

	for (size_t i = 0; i < warns.n; i++)
		log_msg(&d->log, LOG_WARNING, "reload: %s", warns.lines[i]);
	diag_clear(&warns);

	if (fresh == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_msg(&d->log, LOG_ERR, "reload: %s", errs.lines[i]);
		log_msg(&d->log, LOG_ERR, "reload failed: keeping the running configuration");
		engine_metrics_reload(daemon_metrics(d), EM_RELOAD_FAILURE);
		diag_clear(&errs);
		return -1;
	}
	old = config_slot_get(&d->slot);
	fresh->generation = old->generation + 1;
	if (strcmp(old->socket, fresh->socket) != 0 || strcmp(old->user, fresh->user) != 0)
		log_msg(&d->log, LOG_WARNING,
			"reload: socket and user changes take effect at the next restart");
	if (old->dns_timeout_ms != fresh->dns_timeout_ms ||
	    strcmp(old->dns_forwarders, fresh->dns_forwarders) != 0 ||
	    strcmp(old->dns_trust_anchor_file, fresh->dns_trust_anchor_file) != 0 ||
	    strcmp(old->dns_fixture, fresh->dns_fixture) != 0)
		log_msg(&d->log, LOG_WARNING,
			"reload: DNS resolver changes take effect at the next restart");
	/* the counters live in the service: a new store would reset them */
	if (strcmp(old->ratelimit_redis, fresh->ratelimit_redis) != 0 ||
	    old->ratelimit_redis_timeout_ms != fresh->ratelimit_redis_timeout_ms ||
	    old->ratelimit_max_keys != fresh->ratelimit_max_keys ||
	    strcmp(old->control_socket, fresh->control_socket) != 0)
		log_msg(&d->log, LOG_WARNING,
			"reload: ratelimit_redis, ratelimit_redis_timeout_ms, ratelimit_max_keys "
			"and control_socket changes take effect at the next restart");
	/* the counters, the endpoint and the textfile's thread are built once */
	if (old->metrics != fresh->metrics ||
	    strcmp(old->metrics_listen, fresh->metrics_listen) != 0 ||
	    old->metrics_max_connections != fresh->metrics_max_connections ||
	    strcmp(old->metrics_textfile, fresh->metrics_textfile) != 0 ||
	    old->metrics_textfile_interval_s != fresh->metrics_textfile_interval_s)
		log_msg(&d->log, LOG_WARNING,
			"reload: metrics, metrics_listen, metrics_max_connections and "
			"metrics_textfile* changes take effect at the next restart");
	config_unref(old);
	log_set_level(&d->log, fresh->log_level);
	config_slot_swap(&d->slot, fresh);
	engine_metrics_reload(daemon_metrics(d), EM_RELOAD_SUCCESS);
	log_msg(&d->log, LOG_NOTICE, "configuration reloaded from %s (generation %lu)",
		d->config_path ? d->config_path : "(defaults)", fresh->generation);
	return 0;
}

static void daemon_env_session_id(void *ctx, char *buf, size_t len)
{
	daemon_session_id(ctx, buf, len);
}

static bool daemon_env_opened(void *ctx)
{
	return daemon_conn_opened(ctx);
}

static void daemon_env_closed(void *ctx)
{
	daemon_conn_closed(ctx);
}

static bool daemon_env_draining(void *ctx)
{
	return daemon_draining(ctx);
}

void daemon_milter_env(struct daemon *d, struct milter_env *env)
{
	*env = (struct milter_env){
		.slot = &d->slot,
		.log = &d->log,
		.svc = d->svc,
		.ctx = d,
		.session_id = daemon_env_session_id,
		.conn_opened = daemon_env_opened,
		.conn_closed = daemon_env_closed,
		.draining = daemon_env_draining,
	};
}
