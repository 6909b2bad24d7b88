/*
 * spf_servers.c - libspf2 servers kept for reuse (see spf_servers.h)
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/spf_servers.h"

struct spf_lease {
	SPF_server_t *server;
	SPF_dns_server_t layer; /* the server's DNS layer: each take copies the caller's in */
	char *receiver;		/* the rec_dom set last; NULL: libspf2's default */
	struct spf_lease *next; /* in the pool's idle list */
};

struct spf_servers {
	pthread_mutex_t lock;
	struct spf_lease *idle;
};

struct spf_servers *spf_servers_new(void)
{
	struct spf_servers *p = calloc(1, sizeof(*p));

	if (p != NULL && pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

static void spf_lease_free(struct spf_lease *l)
{
	if (l->server != NULL)
		SPF_server_free(l->server);
	free(l->receiver);
	free(l);
}

void spf_servers_free(struct spf_servers *p)
{
	if (p == NULL)
		return;
	while (p->idle != NULL) {
		struct spf_lease *l = p->idle;

		p->idle = l->next;
		spf_lease_free(l);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* spf_lease_new - a server set up as spf_servers.h says; NULL on OOM */
static struct spf_lease *spf_lease_new(void)
{
	struct spf_lease *l = calloc(1, sizeof(*l));
	SPF_response_t *ignored = NULL;

	if (l == NULL)
		return NULL;
	/* the server keeps a pointer to l->layer, which each take refills */
	if ((l->server = SPF_server_new_dns(&l->layer, 0)) == NULL) {
		free(l);
		return NULL;
	}
	SPF_server_set_explanation(l->server, "", &ignored);
	if (ignored != NULL)
		SPF_response_free(ignored);
	SPF_server_set_max_dns_mech(l->server, 100);
	SPF_server_set_max_dns_ptr(l->server, 100);
	SPF_server_set_max_dns_mx(l->server, 100);
	return l;
}

/* spf_lease_receiver - L names itself RECEIVER (NULL: the default); false on OOM */
static bool spf_lease_receiver(struct spf_lease *l, const char *receiver)
{
	char *copy = NULL;

	if (receiver != NULL && *receiver == '\0')
		receiver = NULL;
	if (receiver == NULL ? l->receiver == NULL
			     : l->receiver != NULL && strcmp(l->receiver, receiver) == 0)
		return true;
	if (receiver != NULL && (copy = strdup(receiver)) == NULL)
		return false;
	if (SPF_server_set_rec_dom(l->server, receiver) != SPF_E_SUCCESS) {
		free(copy);
		return false;
	}
	free(l->receiver);
	l->receiver = copy;
	return true;
}

struct spf_lease *spf_server_take(struct spf_servers *pool, const SPF_dns_server_t *layer,
				  const char *receiver)
{
	struct spf_lease *l = NULL;

	if (pool != NULL) {
		pthread_mutex_lock(&pool->lock);
		if ((l = pool->idle) != NULL)
			pool->idle = l->next;
		pthread_mutex_unlock(&pool->lock);
	}
	if (l == NULL && (l = spf_lease_new()) == NULL)
		return NULL;
	l->next = NULL;
	l->layer = *layer;
	if (!spf_lease_receiver(l, receiver)) {
		/* rec_dom may be gone with the failed call: not reused */
		spf_lease_free(l);
		return NULL;
	}
	return l;
}

SPF_server_t *spf_lease_server(const struct spf_lease *l)
{
	return l->server;
}

void spf_server_give(struct spf_servers *pool, struct spf_lease *l)
{
	if (l == NULL)
		return;
	if (pool == NULL) {
		spf_lease_free(l);
		return;
	}
	/* the layer's hook pointed at the caller's context, which ends now */
	memset(&l->layer, 0, sizeof(l->layer));
	pthread_mutex_lock(&pool->lock);
	l->next = pool->idle;
	pool->idle = l;
	pthread_mutex_unlock(&pool->lock);
}
