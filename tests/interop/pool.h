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

/*
 * pool_spawn runs fn(arg) on a thread of its own, for jobs that may block
 * for long (a stream waiting for a slow reader) and must not hold a worker.
 */
void pool_spawn(struct pool *p, void (*fn)(void *), void *arg);

/* pool_free finishes queued jobs, waits for spawned ones, joins, frees. */
void pool_free(struct pool *p);

#endif
