/*
 * A centre for bank tests: a real store in a temporary directory, the centre
 * "huada" created by entry 0 (signed by the coordinator key it enrols), a
 * kiosk key enrolled by entry 1, and calls that are built, signed and run
 * through the same write path the server uses (cb_bank_execute), one batch
 * per call. The server clock is t->now, which tests move.
 *
 * Beside the calls: balances read back from the views, the books of a
 * centre checked against hand-computed expectations, and a copy of every
 * view with the log's size, which proves that a refused request changed
 * nothing.
 */
#ifndef CAREBANK_TESTBANK_H
#define CAREBANK_TESTBANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carebank/bank.h"

#define TB_CENTRE "huada"
#define TB_ORIGIN "carebank.example.org/huada"
#define TB_T0     1798761600000LL /* 2027-01-01 00:00 UTC, a Friday */
#define TB_MIN    60000LL
#define TB_HOUR   3600000LL
#define TB_DAY    (24 * TB_HOUR)
/* The centre's clock is UTC+8 (the default policy): its January 2027
 * billing period starts at local midnight, 8 hours before TB_T0, and
 * February's 31 days later. */
#define TB_JAN    (TB_T0 - 8 * TB_HOUR)
#define TB_FEB    (TB_JAN + 31 * TB_DAY)

#define TB_C(m) "/carebank.v1.Coordinator/" m
#define TB_K(m) "/carebank.v1.Kiosk/" m

#define TB_R(n) CAREBANK__V1__REFUSAL__REFUSAL_##n
/* How a family that leaves below zero settles (LeaveFamilyRequest). */
#define TB_CASH  CAREBANK__V1__LEAVE_NEGATIVE__LEAVE_NEGATIVE_CASH
#define TB_WAIVE CAREBANK__V1__LEAVE_NEGATIVE__LEAVE_NEGATIVE_WAIVE

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
	const cb_entry *logged; /* passed to the rules as a replay does */
};

/*
 * tb_policy fills p (and its rounding r) with the defaults bank.proto
 * documents, written out here so that a test states what it relies on.
 */
void tb_policy(Carebank__V1__Policy *p, Carebank__V1__Rounding *r);

/* tb_key makes the key whose seed is 32 bytes of b (tb_close does not
 * free it). Seeds 1 to 3 are the coordinator's, the log's and the kiosk's. */
struct cb_key *tb_key(uint8_t b);

/*
 * tb_request_common sets the request_id and centre every request has: the
 * id is seq, big-endian in the last 8 of the 16 bytes of id, which must
 * outlive msg's use.
 */
void tb_request_common(void *msg, uint64_t seq, uint8_t id[16],
    const char *centre);

/* tb_enrol enrols a key with a role, tb_revoke revokes it; both return the
 * refusal. */
int tb_enrol(struct tb *t, const struct cb_key *key, int role);
int tb_revoke(struct tb *t, const struct cb_key *key);

/* tb_open makes the centre with policy (NULL: the defaults). */
void tb_open(struct tb *t, const Carebank__V1__Policy *policy);

/*
 * tb_open_rules makes it under an older version of the bank's rules, as
 * replaying an older log does (tb_open: CB_RULES).
 */
void tb_open_rules(struct tb *t, const Carebank__V1__Policy *policy,
    uint32_t rules);

/* tb_close removes everything. */
void tb_close(struct tb *t);

/*
 * tb_call fills req's request id and centre, signs it with key for method,
 * runs it and commits. Returns the refusal (0: accepted). Storage errors
 * fail the test. The outcome stays in t->op until the next call.
 */
int tb_call(struct tb *t, const struct cb_key *key, const char *method,
    void *req);

/*
 * tb_call_bytes signs request bytes exactly as given (nothing is filled in)
 * and runs them, as tb_call does.
 */
int tb_call_bytes(struct tb *t, const struct cb_key *key, const char *method,
    const uint8_t *bytes, size_t len);

/* tb_size is the number of entries in the centre's log. */
uint64_t tb_size(struct tb *t);

/* tb_balance reads an account's balance through a snapshot. */
int64_t tb_balance(struct tb *t, const char *account);

/* tb_minutes and tb_owed read a family's balances. */
int64_t tb_minutes(struct tb *t, const char *family);
int64_t tb_owed(struct tb *t, const char *family);

/*
 * tb_view decodes the view record at key (a state key of bank_int.h) as a
 * message of type d; NULL if there is none. The caller frees it with
 * protobuf_c_message_free_unpacked(m, NULL).
 */
void *tb_view(struct tb *t, const char *key,
    const ProtobufCMessageDescriptor *d);

/*
 * tb_subsidies copies the amounts the last accepted entry (a settlement)
 * paid as subsidies (to family/<f>/subsidies, or before rules 3 to
 * centre/subsidies) into out (at most max), in order: one per family paid,
 * in the order of the families' ids as text. Returns how many.
 */
size_t tb_subsidies(struct tb *t, int64_t *out, size_t max);

/* tb_check verifies the log and that replaying it gives the same views. */
void tb_check(struct tb *t);

/*
 * The books of a centre: each family's minutes and what it owes, and the
 * centre's accounts (subsidies: every subsidies account, the centre's and
 * the families'). tb_books_expect checks every one against want (the
 * families in the order given, at most TB_FAMILIES) and that the balances
 * of all accounts sum to zero per unit.
 */
#define TB_FAMILIES 12
struct tb_books {
	int64_t minutes[TB_FAMILIES];
	int64_t owed[TB_FAMILIES];
	int64_t time, fund, income, supplies, subsidies;
};
void tb_books_expect(struct tb *t, const char *const *families, size_t n,
    const struct tb_books *want);

/*
 * A copy of every view of the centre and the log's size. tb_state_same
 * fails the test, naming the first record that differs, unless the centre
 * is exactly as it was.
 */
struct tb_state;
struct tb_state *tb_state_take(struct tb *t);
void tb_state_same(struct tb *t, const struct tb_state *before);
void tb_state_free(struct tb_state *s);

/* tb_state_rec gives record i of a copy (key order); false past the end. */
bool tb_state_rec(const struct tb_state *s, size_t i, const uint8_t **key,
    size_t *klen, const uint8_t **val, size_t *vlen);

/*
 * tb_roster_check (testroster.c) checks the roster's indexes against the
 * shift and swap records, worked out here independently of the bank, and
 * that views stripped of them (as an older carebank wrote them) are brought
 * back to exactly these by cb_views_upgrade. tb_check runs it.
 */
void tb_roster_check(struct tb *t);

/*
 * tb_views_as takes the views (copied in st) back to an older format: it
 * removes the records of each kind in kinds ("ho": h/... and o/...) and
 * sets the format record to format, or removes it for format 0.
 * tb_roster_strip takes them back to format 0, before the roster's
 * indexes and the open swaps' marks.
 */
void tb_views_as(struct tb *t, const struct tb_state *st, const char *kinds,
    unsigned format);
void tb_roster_strip(struct tb *t, const struct tb_state *st);

/*
 * TB_REFUSED runs call (any call through t that returns a refusal) and
 * checks that it was refused with want and changed nothing: the same views
 * byte for byte, the same log size, and its request id still free.
 */
#define TB_REFUSED(t, want, call)                                          \
	do {                                                               \
		struct tb_state *tb_before_ = tb_state_take(t);            \
		int tb_got_ = (call);                                      \
		tb_refused_check((t), #call, tb_got_, (want), tb_before_); \
		tb_state_free(tb_before_);                                 \
	} while (0)
void tb_refused_check(struct tb *t, const char *call, int got, int want,
    const struct tb_state *before);

/* tb_id returns the id the last accepted call created ("w14"), kept until
 * tb_close. */
const char *tb_id(struct tb *t);

/* Shorthands for set-up steps that must succeed; they return new ids. */
const char *tb_family(struct tb *t);
const char *tb_adult(struct tb *t, const char *family);
const char *tb_child(struct tb *t, const char *family, const char *pickup);
const char *tb_room(struct tb *t);
const char *tb_shift(struct tb *t, const char *room, int64_t start,
    int64_t end, const char *adult);

/* The same steps returning the refusal: tb_pickup replaces a child's lists
 * (up to two authorised adults and one refused, NULL for none). */
int tb_pickup(struct tb *t, const char *child, const char *auth1,
    const char *auth2, const char *refused);
int tb_schedule(struct tb *t, const char *room, int64_t start, int64_t end,
    const char *adult);
int tb_cancel(struct tb *t, const char *shift);

/*
 * tb_earn has adult volunteer in room for the given minutes, starting now,
 * in shifts of at most a day scheduled for the purpose; t->now moves on.
 */
void tb_earn(struct tb *t, const char *room, const char *adult,
    int64_t minutes);

/* Door shorthands returning the refusal (0: accepted). The _at forms carry
 * an offline kiosk's event time (0: now). */
int tb_child_in(struct tb *t, const char *child, const char *room,
    const char *adult);
int tb_child_in_at(struct tb *t, const char *child, const char *room,
    const char *adult, int64_t event);
int tb_child_out(struct tb *t, const char *child, const char *adult);
int tb_child_out_at(struct tb *t, const char *child, const char *adult,
    int64_t event);
int tb_shift_in(struct tb *t, const char *shift, const char *adult);
int tb_shift_in_at(struct tb *t, const char *shift, const char *adult,
    int64_t event);
int tb_shift_out(struct tb *t, const char *shift, const char *adult);
int tb_shift_out_at(struct tb *t, const char *shift, const char *adult,
    int64_t event);

/* Swaps, returning the refusal. tb_offer offers a cover when other is
 * NULL, an exchange for other otherwise. */
int tb_offer(struct tb *t, const char *shift, const char *to,
    const char *other);
int tb_answer(struct tb *t, const char *swap, const char *adult, int accept);
int tb_approve(struct tb *t, const char *swap, int approve);
int tb_withdraw(struct tb *t, const char *swap);
/* The same as a kiosk does them, naming the adult who acts ("": none). */
int tb_offer_by(struct tb *t, const char *adult, const char *shift,
    const char *to, const char *other);
int tb_withdraw_by(struct tb *t, const char *swap, const char *adult);

/* Coordinator shorthands, returning the refusal. */
int tb_cash(struct tb *t, const char *family, int64_t fen);
int tb_supplies(struct tb *t, int64_t fen);
int tb_donate(struct tb *t, const char *from, const char *to,
    int64_t minutes);
int tb_settle(struct tb *t, int64_t period_start);
int tb_reverse(struct tb *t, uint64_t entry);
int tb_leave(struct tb *t, const char *family, int negative);
int tb_close_child(struct tb *t, const char *child, int64_t end,
    int settle);
int tb_close_shift(struct tb *t, const char *shift, int64_t end,
    int settle);
int tb_set_policy(struct tb *t, const Carebank__V1__Policy *p);

#endif
