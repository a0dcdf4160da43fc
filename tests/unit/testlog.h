/*
 * A real log for tests: a store in a fresh temporary directory holding the
 * centre "huada" with its own log key, and a coordinator key whose first
 * entry enrols it. Entries are signed calls, as the server will make them.
 */
#ifndef CAREBANK_TESTLOG_H
#define CAREBANK_TESTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "carebank/store.h"

#define TL_CENTRE "huada"
#define TL_ORIGIN "carebank.example.org/huada"
#define TL_METHOD "/carebank.v1.Kiosk/CheckIn"

struct tl {
	char *dir;
	struct cb_store *store;
	struct cb_key *coord;
	uint8_t log_pub[32];
	uint64_t seq; /* makes request bytes differ */
};

/* tl_open makes the store, the centre and the keys (fixed seeds). */
void tl_open(struct tl *t, const char *tag);

/* tl_reopen closes and reopens the store, reinstalling the log key. */
void tl_reopen(struct tl *t);

/* tl_close closes the store and removes the directory. */
void tl_close(struct tl *t);

/*
 * tl_entry fills e (with buffers in the caller's scratch, freed by
 * tl_entry_free) as a signed call by the coordinator. Index 0 also enrols the
 * coordinator's key.
 */
void tl_entry(struct tl *t, uint64_t index, cb_entry *e);
void tl_entry_free(cb_entry *e);

/* tl_append appends one entry with request id seq in batch b. */
void tl_append(struct tl *t, struct cb_batch *b, struct cb_appended *out);

/* tl_fill appends n entries in batches of per and commits each batch. */
void tl_fill(struct tl *t, uint64_t n, uint64_t per);

/* tl_log_key loads the log key (seed 2) for a store. */
struct cb_key *tl_log_key(void);

#endif
