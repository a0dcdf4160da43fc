/*
 * Internal: the notified queue that carries work from any thread to the
 * event loop (queue.c).
 */
#ifndef RPC_QUEUE_H
#define RPC_QUEUE_H

struct event_base;
struct rpc_queue;

/* rpc_queue_new makes a queue served by base's loop. Returns 0 or CB_EIO. */
int rpc_queue_new(struct event_base *base, struct rpc_queue **out);

/* rpc_queue_post runs fn(arg) on the loop soon. Any thread. */
void rpc_queue_post(struct rpc_queue *q, void (*fn)(void *), void *arg);

/* rpc_queue_run runs everything posted so far. Loop thread. */
void rpc_queue_run(struct rpc_queue *q);

/* rpc_queue_free runs what is left, then frees the queue. Loop; NULL ok. */
void rpc_queue_free(struct rpc_queue *q);

#endif
