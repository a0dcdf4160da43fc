/*
 * A centre for bank tests: a real store in a temporary directory, the centre
 * "huada" created by entry 0 (signed by the coordinator key it enrols), a
 * kiosk key enrolled by entry 1, and calls that are built, signed and run
 * through the same write path the server uses (cb_bank_execute), one batch
 * per call. The server clock is t->now, which tests move.
 */
#ifndef CAREBANK_TESTBANK_H
#define CAREBANK_TESTBANK_H

#include <stdint.h>

#include "carebank/bank.h"

#define TB_CENTRE "huada"
#define TB_ORIGIN "carebank.example.org/huada"
#define TB_T0     1798761600000LL /* 2027-01-01 00:00 UTC, a Friday */
#define TB_MIN    60000LL
#define TB_HOUR   3600000LL

#define TB_C(m) "/carebank.v1.Coordinator/" m
#define TB_K(m) "/carebank.v1.Kiosk/" m

struct tb {
	char *dir;
	struct cb_store *store;
	struct cb_key *coord, *kiosk;
	int64_t now;
	uint64_t seq;
	/* The last call: its outcome and, if accepted, its entry's index. */
	struct cb_bank_op op;
	uint64_t index;
	char id[24]; /* the record it created, if any */
	char **ids;  /* ids handed out by the shorthands, freed at close */
	size_t nids;
};

/* tb_open makes the centre with policy (NULL: the defaults). */
void tb_open(struct tb *t, const Carebank__V1__Policy *policy);

/* tb_close removes everything. */
void tb_close(struct tb *t);

/*
 * tb_call fills req's request id and centre, signs it with key for method,
 * runs it and commits. Returns the refusal (0: accepted). Storage errors
 * fail the test. The outcome stays in t->op until the next call.
 */
int tb_call(struct tb *t, const struct cb_key *key, const char *method,
    void *req);

/* tb_balance reads an account's balance through a snapshot. */
int64_t tb_balance(struct tb *t, const char *account);

/* tb_minutes and tb_owed read a family's balances. */
int64_t tb_minutes(struct tb *t, const char *family);
int64_t tb_owed(struct tb *t, const char *family);

/* tb_check verifies the log and that replaying it gives the same views. */
void tb_check(struct tb *t);

/* Shorthands for set-up steps that must succeed; they return new ids. */
const char *tb_family(struct tb *t);
const char *tb_adult(struct tb *t, const char *family);
const char *tb_child(struct tb *t, const char *family, const char *pickup);
const char *tb_room(struct tb *t);
const char *tb_shift(struct tb *t, const char *room, int64_t start,
    int64_t end, const char *adult);

/* Door shorthands returning the refusal (0: accepted). */
int tb_child_in(struct tb *t, const char *child, const char *room,
    const char *adult);
int tb_child_out(struct tb *t, const char *child, const char *adult);
int tb_shift_in(struct tb *t, const char *shift, const char *adult);
int tb_shift_out(struct tb *t, const char *shift, const char *adult);

#endif
