/*
 * A multi-producer queue of closures drained on the event-loop thread. A
 * producer appends under a mutex and, if the queue was empty, activates a
 * libevent event (thread-safe once libevent runs with pthreads locking), which
 * wakes the loop; the loop takes the whole list at once and runs it in order,
 * so a burst of completions costs one wake-up.
 */
#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "carebank/error.h"
#include "carebank/xalloc.h"

#include "queue.h"

struct task {
	struct task *next;
	void (*fn)(void *);
	void *arg;
};

struct rpc_queue {
	pthread_mutex_t mu;
	struct task *head, **tail;
	int armed; /* the event is active: no need to wake */
	struct event *ev;
};

/* wake is the event callback: drain the queue. */
static void
wake(evutil_socket_t fd, short what, void *arg)
{
	rpc_queue_run(arg);
}

/* rpc_queue_new creates the queue and its wake-up event. */
int
rpc_queue_new(struct event_base *base, struct rpc_queue **out)
{
	struct rpc_queue *q = cb_xcalloc(1, sizeof(*q));

	q->tail = &q->head;
	if ((q->ev = event_new(base, -1, 0, wake, q)) == NULL) {
		free(q);
		return CB_EIO;
	}
	pthread_mutex_init(&q->mu, NULL);
	*out = q;
	return 0;
}

/* rpc_queue_post appends a task and wakes the loop if it was idle. */
void
rpc_queue_post(struct rpc_queue *q, void (*fn)(void *), void *arg)
{
	struct task *t = cb_xmalloc(sizeof(*t));

	t->next = NULL;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_lock(&q->mu);
	*q->tail = t;
	q->tail = &t->next;
	if (!q->armed) {
		q->armed = 1;
		event_active(q->ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&q->mu);
}

/* rpc_queue_run runs the tasks present now; later ones wake again. */
void
rpc_queue_run(struct rpc_queue *q)
{
	struct task *t, *next;

	pthread_mutex_lock(&q->mu);
	t = q->head;
	q->head = NULL;
	q->tail = &q->head;
	q->armed = 0;
	pthread_mutex_unlock(&q->mu);
	for (; t != NULL; t = next) {
		next = t->next;
		t->fn(t->arg);
		free(t);
	}
}

/* rpc_queue_free drains and frees the queue. */
void
rpc_queue_free(struct rpc_queue *q)
{
	if (q == NULL)
		return;
	while (q->head != NULL)
		rpc_queue_run(q);
	event_free(q->ev);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
