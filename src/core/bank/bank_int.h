/*
 * Inside the bank: the context of one request as it goes through the rules,
 * the state records and their keys, and the helpers every rule uses.
 *
 * State keys (all in the centre's views):
 *   centre                 CentreState (policy and its version)
 *   k/<key id, 16 hex>     KeyState
 *   f/<family>             FamilyState        a/<adult>   AdultState
 *   c/<child>              ChildState         r/<room>    RoomState
 *   s/<shift>              ShiftState         w/<swap>    SwapState
 *   b/<account>            balance, 8 bytes big-endian two's complement
 *   m/<index>              MoveState of a value-moving entry
 *   q/<family>/<period>/<rate>
 *                          cash minutes billed in a billing period at an
 *                          hourly rate (decimal fen)
 *   t/<family>/<index>     StatementLine
 *   g/<index>              FlagState (flagged for review)
 *   p/<index>              the flag is open (no review yet): empty
 *   y/<swap>               the swap is open (offered or accepted): empty
 *   z/<period>             SettlementState
 *   x/<index>              Result of an accepted entry (for receipts)
 *   h/<adult>/<end>/<shift>, o/<adult>/<swap>
 *                          the roster's indexes (roster_index.c)
 *   v                      the views' format (upgrade.c)
 * Indexes and periods (a period is its start in Unix milliseconds) are 16
 * lowercase hex digits, so keys sort in time order.
 *
 * Accounts (postings sum to zero per unit in every entry):
 *   family/<f>/minutes   minutes   the family's time balance
 *   centre/time          minutes   minutes issued: minus all family minutes
 *   family/<f>/owed      fen       what the family owes (negative: credit)
 *   centre/fund          fen       money the centre holds
 *   centre/income        fen       care charged (grows negative)
 *   centre/supplies      fen       spent on supplies
 *   family/<f>/subsidies fen       paid to the family at settlements and
 *                                  buy-backs (rules 3 on)
 *   centre/subsidies     fen       the same, before rules 3
 */
#ifndef CAREBANK_BANK_INT_H
#define CAREBANK_BANK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carebank/arena.h"
#include "carebank/bank.h"
#include "carebank/v1/state.pb-c.h"

#define BANK_REFUSED 1 /* a rule refused the request (op->refusal set) */
/* protobuf-c's structs take char * for strings the bank only reads. */
#define UNCONST(p) ((void *)(uintptr_t)(p))
#define ID_MAX       24
#define KEY_MAX      64
#define TEXT_MAX     128 /* memos, receipts, reasons */
#define LABEL_MAX    64  /* room and key labels */

#define UNIT_MINUTES CAREBANK__V1__UNIT__UNIT_MINUTES
#define UNIT_FEN     CAREBANK__V1__UNIT__UNIT_FEN

typedef Carebank__V1__Policy bank_policy;
typedef Carebank__V1__CentreState centre_state;
typedef Carebank__V1__KeyState key_state;
typedef Carebank__V1__FamilyState family_state;
typedef Carebank__V1__AdultState adult_state;
typedef Carebank__V1__ChildState child_state;
typedef Carebank__V1__RoomState room_state;
typedef Carebank__V1__ShiftState shift_state;
typedef Carebank__V1__SwapState swap_state;
typedef Carebank__V1__MoveState move_state;

/* One request on its way through the rules. */
struct bank {
	const struct cb_kv *kv;
	struct cb_bank_op *op;
	struct cb_arena *arena;
	ProtobufCAllocator alloc;
	centre_state *centre;      /* NULL only while creating the centre */
	const bank_policy *policy; /* the policy in force */
	key_state *actor;          /* the calling key's record */
	int64_t now;               /* when it happened: event or server time */
	uint64_t index;            /* the entry's index */
	/* The entry being built. */
	cb_posting **postings;
	size_t npostings, cap;
	Carebank__V1__KeyChange **keys;
	size_t nkeys;
	bool review;
	const char *review_why;
	const char *what;  /* for statements: what this entry was */
	const char *too_long; /* what to do if the entry is too large */
	move_state *move;  /* set by rules whose entries can be reversed */
};

/* A rule: returns 0 (accepted), BANK_REFUSED, or a storage code. */
typedef int (*bank_rule)(struct bank *b, const ProtobufCMessage *req);

/*
 * bank_refuse records a refusal and returns BANK_REFUSED. The message is for
 * the person at the door or the desk.
 */
int bank_refuse(struct bank *b, int refusal, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* bank_rules says whether the centre follows rules version v or a later one. */
static inline bool
bank_rules(const struct bank *b, uint32_t v)
{
	return b->centre->rules >= v;
}

/* bank_flag marks the entry for the coordinator's review; bank_flag_put
 * records the flag as the entry is finished (flag.c). */
void bank_flag(struct bank *b, const char *why);
int bank_flag_put(struct bank *b);

/* bank_open_flags_build marks the open flags of views without the marks
 * (flag.c, for upgrade.c). */
int bank_open_flags_build(const struct cb_kv *kv);

/* State records, decoded into the request's arena. */
int st_get(struct bank *b, const char *key,
    const ProtobufCMessageDescriptor *d, void *out);
int st_put(struct bank *b, const char *key, const void *msg);

/*
 * Shift and swap records are written only through these: a shift is
 * indexed under its adult as it is written; a new swap is indexed under
 * both its adults by bank_index_swap, with the end of the shift it offers
 * (roster_index.c).
 */
int bank_put_shift(struct bank *b, const char *id, const shift_state *s);
int bank_put_swap(struct bank *b, const char *id, const swap_state *w);
int bank_index_swap(struct bank *b, const char *id, const swap_state *w,
    int64_t end);

/* bank_roster_index_build indexes the records of views that had none. */
int bank_roster_index_build(const struct cb_kv *kv);

/* bank_open_swaps_build marks the open swaps of views without the marks
 * (format 3). */
int bank_open_swaps_build(const struct cb_kv *kv);

/* bank_views_format_put marks views as CB_VIEWS_FORMAT (upgrade.c). */
int bank_views_format_put(const struct cb_kv *kv);

/*
 * bank_text refuses a free text that is missing (when required) or longer
 * than max bytes, so that every accepted request's entry fits in a leaf.
 */
int bank_text(struct bank *b, const char *what, const char *s, int required,
    size_t max);

/* bank_logged refuses an entry index the log does not have yet. */
int bank_logged(struct bank *b, uint64_t entry);

/* bank_key formats a state key into buf (KEY_MAX bytes). */
const char *bank_key(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Record lookups that refuse with the right reason when the id is unknown
 * (and, for families and their members, when the family has left).
 */
int bank_family(struct bank *b, const char *id, family_state **out);
int bank_adult(struct bank *b, const char *id, adult_state **out);
int bank_child(struct bank *b, const char *id, child_state **out);
int bank_room(struct bank *b, const char *id, room_state **out);

/* Rooms' ratios in force, how a room stands against them (warning, flag),
 * and a new policy's check of every room (room.c). */
void bank_room_limits(const bank_policy *p, const room_state *r,
    int64_t *soft, int64_t *hard);
void bank_room_crowded(struct bank *b, const bank_policy *p,
    const room_state *r, const char *why);
int bank_rooms_fit(struct bank *b, const bank_policy *p);
int bank_shift(struct bank *b, const char *id, shift_state **out);
int bank_swap(struct bank *b, const char *id, swap_state **out);

/* bank_new_id makes the id of a record this entry creates ("f12"). */
const char *bank_new_id(struct bank *b, char kind);

/* Balances and postings. */
int bank_balance(struct bank *b, const char *account, int64_t *out);
int bank_post(struct bank *b, const char *account, int unit, int64_t amount);
const char *bank_account(struct bank *b, const char *family,
    const char *what);

/* bank_cash_of gives R(m): the fen price of m minutes, rounded half up. */
int bank_cash_of(struct bank *b, int64_t minutes, int64_t *fen);

/*
 * bank_take_minutes takes m care minutes from a family: down to the floor in
 * minutes, the rest in cash at the policy's rate, billed in the period of
 * time t by the cumulative rule. Sets *covered and *cash_minutes and
 * *charge.
 */
int bank_take_minutes(struct bank *b, const char *family, int64_t m,
    int64_t t, int64_t *covered, int64_t *cash_minutes, int64_t *charge);

/*
 * bank_untake_minutes undoes a take for a reversal: the covered minutes come
 * back and the cash minutes are unbilled from their period, at the rate
 * they were billed at (*refund is the change in what the family owes, zero
 * or negative).
 */
int bank_untake_minutes(struct bank *b, const char *family, int64_t covered,
    int64_t cash_minutes, int64_t period, int64_t rate, int64_t *refund);

/* bank_minutes_out marks a family's minutes taken by a gift or a buy-back
 * (rules 7 on); *prev gets the entry it replaced. */
int bank_minutes_out(struct bank *b, const char *family, uint64_t *prev);
/* bank_give_minutes credits m minutes to a family from centre/time. */
int bank_give_minutes(struct bank *b, const char *family, int64_t m);

/* bank_pay_subsidy pays a family fen from the fund (a settlement's share,
 * a buy-back). */
int bank_pay_subsidy(struct bank *b, const char *family, int64_t fen);

/* bank_set_result_family fills the result with a family's balances. */
int bank_set_result_family(struct bank *b, const char *family);

/* bank_move starts the reversal record of this entry. */
move_state *bank_move(struct bank *b, const char *family);

/* Periods (period.c): the billing period holding t, as its start. */
int64_t bank_period_start(const bank_policy *p, int64_t t);
int64_t bank_period_end(const bank_policy *p, int64_t start);

/* Policy (centre.c). */
void bank_policy_defaults(bank_policy *p, Carebank__V1__Rounding *r);
int bank_policy_check(struct bank *b, const bank_policy *p);

/* The rules, by file. */
int rule_create_centre(struct bank *b, const ProtobufCMessage *req);
int rule_set_policy(struct bank *b, const ProtobufCMessage *req);
int rule_adopt_rules(struct bank *b, const ProtobufCMessage *req);
int rule_enrol_key(struct bank *b, const ProtobufCMessage *req);
int rule_revoke_key(struct bank *b, const ProtobufCMessage *req);
int rule_enrol_family(struct bank *b, const ProtobufCMessage *req);
int rule_leave_family(struct bank *b, const ProtobufCMessage *req);
int rule_add_adult(struct bank *b, const ProtobufCMessage *req);
int rule_add_child(struct bank *b, const ProtobufCMessage *req);
int rule_set_pickup(struct bank *b, const ProtobufCMessage *req);
int rule_add_room(struct bank *b, const ProtobufCMessage *req);
int rule_set_room(struct bank *b, const ProtobufCMessage *req);
int rule_child_in(struct bank *b, const ProtobufCMessage *req);
int rule_child_out(struct bank *b, const ProtobufCMessage *req);
int rule_schedule_shift(struct bank *b, const ProtobufCMessage *req);
int rule_cancel_shift(struct bank *b, const ProtobufCMessage *req);
int rule_offer_swap(struct bank *b, const ProtobufCMessage *req);
int rule_answer_swap(struct bank *b, const ProtobufCMessage *req);
int rule_approve_swap(struct bank *b, const ProtobufCMessage *req);
int rule_withdraw_swap(struct bank *b, const ProtobufCMessage *req);
int rule_volunteer_in(struct bank *b, const ProtobufCMessage *req);
int rule_volunteer_out(struct bank *b, const ProtobufCMessage *req);
int rule_close_session(struct bank *b, const ProtobufCMessage *req);
int rule_record_cash(struct bank *b, const ProtobufCMessage *req);
int rule_buy_supplies(struct bank *b, const ProtobufCMessage *req);
int rule_donate(struct bank *b, const ProtobufCMessage *req);
int rule_settle(struct bank *b, const ProtobufCMessage *req);
int rule_reverse(struct bank *b, const ProtobufCMessage *req);
int rule_review_flag(struct bank *b, const ProtobufCMessage *req);

/*
 * bank_close_swap ends swap id in status st (a SwapStatus) and frees both of
 * its shifts for new offers; when st is DONE, the shifts change hands
 * (roster.c).
 */
int bank_close_swap(struct bank *b, const char *id, swap_state *w, int st);

/* Shared by check-out, closing and reversal (care.c, volunteer.c). */
int bank_end_care(struct bank *b, const char *child_id, child_state *c,
    int64_t end, const char *by);
int bank_end_shift(struct bank *b, const char *shift_id, shift_state *s,
    int64_t end);

#endif
