/*
 * A fixed pool of worker threads for the interop server, standing in for
 * carebankd's signature workers: handlers hand calls to it and the workers
 * complete them from their own threads.
 */
#ifndef INTEROP_POOL_H
#define INTEROP_POOL_H

struct pool;

/* pool_new starts n workers. */
struct pool *pool_new(unsigned n);

/* pool_submit runs fn(arg) on some worker. Any thread. */
void pool_submit(struct pool *p, void (*fn)(void *), void *arg);

/* pool_free finishes queued jobs, joins the workers and frees the pool. */
void pool_free(struct pool *p);

#endif
