/*
 * The signature pool (see sigpool.h). Checks are queued in chunks, so a
 * worker takes many at once under one lock; the queue is bounded, so a walk
 * over a large log holds at most QUEUE_MAX call copies in memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carebank/call.h"
#include "carebank/sigpool.h"
#include "carebank/xalloc.h"

#define CHUNK     64
#define QUEUE_MAX 64 /* chunks waiting: 4096 calls */

struct check {
	const struct cb_key *key;
	uint64_t index;
	uint8_t *msg; /* the signed byte string (call.h) */
	size_t len;
	uint8_t sig[CB_ED25519_SIG_LEN];
};

struct chunk {
	struct chunk *next;
	size_t n;
	struct check c[CHUNK];
};

struct cb_sigpool {
	pthread_mutex_t mu;
	pthread_cond_t work, room, idle;
	struct chunk *head, *tail; /* full chunks waiting */
	struct chunk *filling;     /* the producer's chunk */
	size_t queued;             /* chunks waiting */
	size_t busy;               /* chunks being checked */
	int stop, failed;
	uint64_t bad;
	pthread_t *threads;
	unsigned nthreads;
};

/* check_chunk verifies a chunk and records the smallest bad index. */
static void
check_chunk(struct cb_sigpool *p, struct chunk *ch)
{
	uint64_t bad = UINT64_MAX;

	for (size_t i = 0; i < ch->n; i++) {
		struct check *c = &ch->c[i];

		if (c->index < bad &&
		    cb_key_verify(c->key, c->msg, c->len, c->sig) != 0)
			bad = c->index;
		free(c->msg);
	}
	pthread_mutex_lock(&p->mu);
	if (bad != UINT64_MAX && (!p->failed || bad < p->bad)) {
		p->failed = 1;
		p->bad = bad;
	}
	pthread_mutex_unlock(&p->mu);
	free(ch);
}

/* worker takes chunks until the pool stops. */
static void *
worker(void *arg)
{
	struct cb_sigpool *p = arg;
	struct chunk *ch;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->head == NULL && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->head == NULL)
			break;
		ch = p->head;
		p->head = ch->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		p->busy++;
		pthread_cond_signal(&p->room);
		pthread_mutex_unlock(&p->mu);
		check_chunk(p, ch);
		pthread_mutex_lock(&p->mu);
		p->busy--;
		if (p->head == NULL && p->busy == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* cb_sigpool_new starts the threads. */
int
cb_sigpool_new(unsigned threads, struct cb_sigpool **out)
{
	struct cb_sigpool *p = cb_xcalloc(1, sizeof(*p));
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->room, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->nthreads = threads ? threads : (unsigned)(cores > 0 ? cores : 1);
	p->threads = cb_xcalloc(p->nthreads, sizeof(*p->threads));
	for (unsigned i = 0; i < p->nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
			p->nthreads = i;
			cb_sigpool_free(p);
			return CB_EIO;
		}
	}
	*out = p;
	return 0;
}

/* push queues the producer's chunk; the lock is held. */
static void
push(struct cb_sigpool *p)
{
	struct chunk *ch = p->filling;

	p->filling = NULL;
	while (p->queued >= QUEUE_MAX)
		pthread_cond_wait(&p->room, &p->mu);
	ch->next = NULL;
	if (p->tail != NULL)
		p->tail->next = ch;
	else
		p->head = ch;
	p->tail = ch;
	p->queued++;
	pthread_cond_signal(&p->work);
}

/* cb_sigpool_add queues one check, handing over full chunks. */
void
cb_sigpool_add(struct cb_sigpool *p, const struct cb_key *key, uint64_t index,
    const char *method, int64_t client_time_ms, const uint8_t *request,
    size_t reqlen, const uint8_t sig[CB_ED25519_SIG_LEN])
{
	struct check *c;

	if (p->filling == NULL)
		p->filling = cb_xcalloc(1, sizeof(*p->filling));
	c = &p->filling->c[p->filling->n++];
	c->key = key;
	c->index = index;
	cb_call_message(method, client_time_ms, request, reqlen, &c->msg,
	    &c->len);
	memcpy(c->sig, sig, CB_ED25519_SIG_LEN);
	if (p->filling->n == CHUNK) {
		pthread_mutex_lock(&p->mu);
		push(p);
		pthread_mutex_unlock(&p->mu);
	}
}

/* cb_sigpool_wait drains the queue and reports the first failure. */
int
cb_sigpool_wait(struct cb_sigpool *p, uint64_t *bad)
{
	int failed;

	pthread_mutex_lock(&p->mu);
	if (p->filling != NULL)
		push(p);
	while (p->head != NULL || p->busy != 0)
		pthread_cond_wait(&p->idle, &p->mu);
	failed = p->failed;
	if (failed)
		*bad = p->bad;
	p->failed = 0;
	pthread_mutex_unlock(&p->mu);
	return failed ? CB_ESIG : 0;
}

/* cb_sigpool_free stops and joins the threads. */
void
cb_sigpool_free(struct cb_sigpool *p)
{
	uint64_t bad;

	if (p == NULL)
		return;
	/* Checks still queued are finished, their outcome unwanted. */
	if (p->nthreads > 0 && cb_sigpool_wait(p, &bad) != 0)
		bad = 0;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->filling);
	free(p->threads);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->room);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
