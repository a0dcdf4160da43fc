/*
 * The crypto bound: how many Ed25519 signatures of real calls this machine
 * verifies per second with every core busy and nothing else to do. Every
 * write the server accepts costs at least one such verification, so no
 * server here can accept writes faster. Each thread checks the same signed
 * call over and over with a key built once (the server's best case: a
 * cached key), through the same cb_key_verify the server uses.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"
#include "bench.h"

struct crypto_job {
	const uint8_t *pub, *msg, *sig;
	size_t len;
	atomic_int *stop;
	uint64_t count;
	int failed;
};

/* crypto_main verifies until told to stop. */
static void *
crypto_main(void *arg)
{
	struct crypto_job *j = arg;
	struct cb_key *key;

	if (cb_key_from_public(j->pub, &key) != 0) {
		j->failed = 1;
		return NULL;
	}
	while (!atomic_load_explicit(j->stop, memory_order_relaxed)) {
		if (cb_key_verify(key, j->msg, j->len, j->sig) != 0) {
			j->failed = 1;
			break;
		}
		j->count++;
	}
	cb_key_free(key);
	return NULL;
}

/* crypto_bound returns verifications per second over threads threads. */
double
crypto_bound(unsigned threads, double seconds,
    const uint8_t pub[CB_ED25519_PUBLIC_LEN], const uint8_t *msg, size_t len,
    const uint8_t sig[CB_ED25519_SIG_LEN])
{
	pthread_t *t = cb_xcalloc(threads, sizeof(*t));
	struct crypto_job *jobs = cb_xcalloc(threads, sizeof(*jobs));
	atomic_int stop = 0;
	struct timespec nap;
	int64_t t0, t1;
	uint64_t total = 0;

	t0 = rpcc_now_ns();
	for (unsigned i = 0; i < threads; i++) {
		jobs[i] = (struct crypto_job){pub, msg, sig, len, &stop, 0, 0};
		if (pthread_create(&t[i], NULL, crypto_main, &jobs[i]) != 0)
			bench_die("cannot start a verification thread");
	}
	nap.tv_sec = (time_t)seconds;
	nap.tv_nsec = (long)((seconds - (double)nap.tv_sec) * 1e9);
	nanosleep(&nap, NULL);
	atomic_store(&stop, 1);
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		if (jobs[i].failed)
			bench_die("the sample signature does not verify");
		total += jobs[i].count;
	}
	t1 = rpcc_now_ns();
	free(t);
	free(jobs);
	return (double)total / ((double)(t1 - t0) / 1e9);
}
