/*
 * Seeded random workloads for the bank's property and model tests: a centre
 * of fifty-odd families lived through day by day (rosters published two days
 * ahead, children and volunteers at the door, swaps, cash, supplies, gifts,
 * reversals, forgotten sessions closed at night, settlements when periods
 * end, kiosks that go offline and submit late), with deliberately bad
 * requests mixed in. Every call is built, signed and run through the same
 * write path as the server's (cb_bank_execute), many calls per batch, in a
 * store opened without fsync.
 *
 * The generator steers by reading the bank's views (who is in, which swaps
 * are open) only to make plausible requests; what a call should do is the
 * business of the tests, which see each call (w->call, w->now) and its
 * outcome (w->op, w->appended).
 *
 * CB_SEED (a number, or "random") and CB_OPS choose the seed and the number
 * of calls; a failure prints both with the number of the failing call.
 */
#ifndef CAREBANK_WORKLOAD_H
#define CAREBANK_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "carebank/bank.h"

#define WL_CENTRE "huada"
#define WL_ORIGIN "carebank.example.org/huada"
#define WL_MIN    60000LL
#define WL_HOUR   3600000LL
#define WL_DAY    86400000LL

struct wl_gen;
struct wl_drv;

struct wl {
	uint64_t seed;
	uint64_t n;    /* calls made so far; the current call is number n */
	int64_t now;   /* the server clock for the current call */
	int64_t start; /* and for the first */
	struct cb_store *store;
	char *dir;
	/* The current call and, after wl_exec, its outcome. */
	cb_signed_call call;
	struct cb_bank_op op;
	struct cb_appended appended; /* when accepted */
	uint64_t size;               /* the log's size after the call */
	bool bad;                    /* the generator meant it to be wrong */
	struct wl_gen *gen;
	struct wl_drv *drv;
};

/* wl_env_u64 reads a number from the environment, or gives def. */
uint64_t wl_env_u64(const char *name, uint64_t def);

/* wl_open makes the store; the first calls create the centre. */
void wl_open(struct wl *w, uint64_t seed);

/* wl_close removes everything. */
void wl_close(struct wl *w);

/* wl_next builds and signs the next call (w->call at w->now). */
void wl_next(struct wl *w);

/* wl_exec runs the current call through the bank in the open batch. */
void wl_exec(struct wl *w);

/* wl_check commits, then verifies the log and replays it to equal views. */
void wl_check(struct wl *w);

/* wl_views gives the centre's views as the open batch sees them. */
const struct cb_kv *wl_views(struct wl *w);

/* wl_balance reads an account's balance in the open batch (0 if none). */
int64_t wl_balance(struct wl *w, const char *account);

/* wl_views_digest hashes every view record, for "nothing changed" checks. */
void wl_views_digest(struct wl *w, uint8_t digest[32]);

/*
 * Billing periods of a policy (month or week in the centre's local time)
 * by the C library's UTC calendar, as a check on the bank's own arithmetic.
 */
int64_t wl_period_start(int kind, int offset_minutes, int64_t t);
int64_t wl_period_end(int kind, int offset_minutes, int64_t start);

/* wl_fail fails the test, naming the seed and the call. */
void wl_fail(const struct wl *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif
