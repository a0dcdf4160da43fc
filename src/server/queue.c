/*
 * Job queues between threads: the loop hands calls to the workers, the
 * workers hand verified writes to the writer. A closed queue wakes every
 * waiter and hands out what is left, then nothing.
 */
#include <stdlib.h>

#include "srv.h"

/* srv_queue_init makes an empty queue. */
void
srv_queue_init(struct srv_queue *q)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->head = q->tail = NULL;
	q->n = 0;
	q->closed = false;
}

/* srv_queue_push appends a job and wakes one waiter. */
void
srv_queue_push(struct srv_queue *q, struct srv_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/*
 * srv_queue_pop waits for jobs and takes up to max of them as a list
 * (*n set). Returns NULL once the queue is closed and empty.
 */
struct srv_job *
srv_queue_pop(struct srv_queue *q, size_t max, size_t *n)
{
	struct srv_job *first, *last;
	size_t k = 0;

	pthread_mutex_lock(&q->mu);
	while (q->head == NULL && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	first = q->head;
	for (last = NULL; q->head != NULL && k < max; k++) {
		last = q->head;
		q->head = q->head->next;
	}
	if (last != NULL)
		last->next = NULL;
	if (q->head == NULL)
		q->tail = NULL;
	q->n -= k;
	pthread_mutex_unlock(&q->mu);
	*n = k;
	return k ? first : NULL;
}

/* srv_queue_close wakes everyone; pops drain what is left. */
void
srv_queue_close(struct srv_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* srv_queue_destroy frees the queue's locks (it must be empty). */
void
srv_queue_destroy(struct srv_queue *q)
{
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}

/* srv_job_free drops the call and frees the job. */
void
srv_job_free(struct srv_job *j)
{
	if (j == NULL)
		return;
	if (j->req != NULL)
		protobuf_c_message_free_unpacked(j->req, NULL);
	rpc_call_release(j->call, j->held);
	rpc_call_unref(j->call);
	free(j->reply);
	free(j->bytes);
	free(j);
}
