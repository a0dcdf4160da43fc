/*
 * A pool of threads that check actors' call signatures, so a verifier that
 * walks a log in order (logcheck.h) is not held to one core by Ed25519: the
 * walk queues each call's check and goes on; the pool's threads verify; the
 * walk waits once at the end and learns the first bad index.
 */
#ifndef CAREBANK_SIGPOOL_H
#define CAREBANK_SIGPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/error.h"
#include "carebank/sign.h"

struct cb_sigpool;

/*
 * cb_sigpool_new starts threads (0: one per online core). Returns 0, or
 * CB_EIO if a thread could not start.
 */
int cb_sigpool_new(unsigned threads, struct cb_sigpool **out) CB_MUST_CHECK;

/* cb_sigpool_free stops the threads and frees the pool; NULL is allowed. */
void cb_sigpool_free(struct cb_sigpool *p);

/*
 * cb_sigpool_add queues the check of one call's signature by key (borrowed:
 * it must live until cb_sigpool_wait returns). The call's method, time and
 * request bytes are copied. Blocks while the queue is full.
 */
void cb_sigpool_add(struct cb_sigpool *p, const struct cb_key *key,
    uint64_t index, const char *method, int64_t client_time_ms,
    const uint8_t *request, size_t reqlen,
    const uint8_t sig[CB_ED25519_SIG_LEN]);

/*
 * cb_sigpool_wait waits for every queued check. Returns 0, or CB_ESIG with
 * *bad set to the smallest index whose signature failed. The pool can be
 * used again afterwards.
 */
int cb_sigpool_wait(struct cb_sigpool *p, uint64_t *bad) CB_MUST_CHECK;

#endif
