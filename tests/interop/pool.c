/*
 * A fixed pool of worker threads fed by one mutex-protected job list. Jobs
 * run in submission order as workers free up. Jobs that may block for long
 * get a detached thread each, counted so that pool_free can wait for them;
 * pool_free lets the queue run dry, then joins every worker.
 */
#include <pthread.h>
#include <stdlib.h>

#include "carebank/xalloc.h"

#include "pool.h"

struct job {
	struct job *next;
	struct pool *pool;
	void (*fn)(void *);
	void *arg;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, **tail;
	int stop;
	unsigned spawned; /* detached threads still running */
	unsigned n;
	pthread_t *threads;
};

/* worker takes jobs until the pool stops and the queue is empty. */
static void *
worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&p->mu);
		while (p->head == NULL && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if ((j = p->head) == NULL) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		if ((p->head = j->next) == NULL)
			p->tail = &p->head;
		pthread_mutex_unlock(&p->mu);
		j->fn(j->arg);
		free(j);
	}
}

/* pool_new starts the workers. */
struct pool *
pool_new(unsigned n)
{
	struct pool *p = cb_xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->tail = &p->head;
	p->n = n;
	p->threads = cb_xcalloc(n, sizeof(*p->threads));
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
			abort();
	return p;
}

/* pool_submit queues a job. */
void
pool_submit(struct pool *p, void (*fn)(void *), void *arg)
{
	struct job *j = cb_xmalloc(sizeof(*j));

	j->next = NULL;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&p->mu);
	*p->tail = j;
	p->tail = &j->next;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* solo runs one spawned job and counts it out. */
static void *
solo(void *arg)
{
	struct job *j = arg;
	struct pool *p = j->pool;

	j->fn(j->arg);
	pthread_mutex_lock(&p->mu);
	p->spawned--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	free(j);
	return NULL;
}

/* pool_spawn starts a detached thread for one job. */
void
pool_spawn(struct pool *p, void (*fn)(void *), void *arg)
{
	struct job *j = cb_xmalloc(sizeof(*j));
	pthread_attr_t attr;
	pthread_t t;

	j->next = NULL;
	j->pool = p;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&p->mu);
	p->spawned++;
	pthread_mutex_unlock(&p->mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, solo, j) != 0)
		abort();
	pthread_attr_destroy(&attr);
}

/* pool_free drains and joins. */
void
pool_free(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	while (p->spawned > 0)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p);
}
