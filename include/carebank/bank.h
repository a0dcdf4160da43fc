/*
 * The bank: the time bank's rules as a deterministic state machine over a
 * centre's log. Given the centre's state (its views, kv.h), one signed call
 * and the server's time, it either refuses with a reason, or produces the
 * entry (postings with resulting balances, key changes, flags) and updates
 * the state. It does no I/O and reads no clock: the same log replayed gives
 * the same entries and the same state, byte for byte, which is how both the
 * server (replay --verify) and the auditor check a log.
 *
 * The rules are documented where they are implemented (the files of
 * src/core/bank);
 * docs/rules.md collects them for people.
 */
#ifndef CAREBANK_BANK_H
#define CAREBANK_BANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carebank/entry.h"
#include "carebank/error.h"
#include "carebank/kv.h"
#include "carebank/store.h"
#include "carebank/v1/bank.pb-c.h"

/*
 * The newest version of the bank's rules. A centre follows the version it
 * was created under until its coordinator adopts a newer one, and every
 * entry records the version it was decided by, so that a newer carebank
 * replays an older log exactly as it was decided (docs/rules.md, "Versions").
 */
#define CB_RULES 7

/* Roles, as bits, matching carebank.v1.Role. */
#define CB_ROLE_BIT(r) (1u << (r))
#define CB_ROLES_COORDINATOR CB_ROLE_BIT(CAREBANK__V1__ROLE__ROLE_COORDINATOR)
#define CB_ROLES_KIOSK       CB_ROLE_BIT(CAREBANK__V1__ROLE__ROLE_KIOSK)
#define CB_ROLES_AUDITOR     CB_ROLE_BIT(CAREBANK__V1__ROLE__ROLE_AUDITOR)

/*
 * The most a policy allows an offline kiosk's event time to lie before the
 * server's time (late_limit_ms) and after it (clock_skew_ms). An entry's
 * time is the server's, never earlier than the entry before it, or such an
 * event time; so a reader walking entries newest first is past every
 * entry of times t or later once it meets one more than the two before t.
 */
#define CB_LATE_LIMIT_MAX_MS (30 * 24 * 3600 * 1000LL)
#define CB_CLOCK_SKEW_MAX_MS (3600 * 1000LL)

/* A method that makes entries: its gRPC path, request type and roles. */
struct cb_bank_method {
	const char *path;
	const ProtobufCMessageDescriptor *request;
	unsigned roles; /* CB_ROLES_* bits that may call it */
};

/* cb_bank_method_find returns the method for a gRPC path, or NULL. */
const struct cb_bank_method *cb_bank_method_find(const char *path);

/* cb_bank_methods returns the table (and its length in *n). */
const struct cb_bank_method *cb_bank_methods(size_t *n);

/* What an accepted request did, for the receipt and the screen. */
struct cb_bank_result {
	char id[24];           /* a record the entry created: "f12", or "" */
	char family[24];       /* the family whose balances are below, or "" */
	int64_t minutes;       /* that family's minute balance after */
	int64_t owed_fen;      /* what that family owes after (negative: credit) */
	int64_t care_minutes;  /* care: the session's rounded minutes */
	int64_t covered;       /* care: of which paid with minutes */
	int64_t charge_fen;    /* care: cash charged now */
	int64_t credit;        /* volunteering: minutes credited */
	int64_t fund_fen;      /* the fund after, when it moved */
	bool ratio_warning;    /* a room is above its soft ratio */
	bool late;             /* the event happened offline */
	bool review;           /* flagged for the coordinator */
};

struct cb_arena;

/*
 * One request through the rules. The caller sets the inputs; cb_bank_apply
 * fills the outputs; cb_bank_op_free releases them.
 */
struct cb_bank_op {
	/* Inputs. */
	const char *centre;
	uint64_t index;              /* the index the entry will have */
	int64_t server_time_ms;
	const cb_signed_call *call;  /* signature already verified */
	bool flat;                   /* cb_bank_execute: no nested transaction;
					a refusal leaves the batch to be
					abandoned (replay, where one is fatal) */
	const cb_entry *logged;      /* replay: the entry being replayed (a
					centre it creates follows its rules
					version); NULL: a new call, CB_RULES */
	/* Outputs. */
	int refusal;                 /* a Carebank__V1__Refusal; 0: accepted */
	uint8_t request_id[CB_REQUEST_ID_LEN];
	char message[256];           /* why, in words for the person */
	cb_entry *entry;             /* accepted: the entry (no index yet) */
	struct cb_bank_result result;
	struct cb_arena *arena;      /* owns entry and everything in it */
};

/*
 * cb_bank_apply runs op through the rules against the centre's views kv.
 * Returns 0 with op->refusal set (accepted or refused), or a storage code.
 * On a refusal, or an error, the caller must discard what kv saw written
 * (the store's nested request transaction does).
 */
int cb_bank_apply(const struct cb_kv *kv, struct cb_bank_op *op) CB_MUST_CHECK;

/* cb_bank_op_free releases what cb_bank_apply made; the inputs are kept. */
void cb_bank_op_free(struct cb_bank_op *op);

/*
 * cb_bank_execute is the whole write path for one request in a batch: a
 * nested transaction, the rules, and on acceptance the append (with the
 * request id and cb_bank_request_hash of the call for idempotency). On
 * refusal nothing is left behind. Returns 0 (see op->refusal and, when
 * accepted, *out), or a storage code (the batch may then be poisoned).
 * A request id already used is not this function's business: look it up
 * with cb_batch_request first.
 */
int cb_bank_execute(struct cb_batch *batch, struct cb_bank_op *op,
    struct cb_appended *out) CB_MUST_CHECK;

/*
 * cb_bank_request_hash is what an idempotency record keeps of a request:
 * SHA-256 of the method's length (u32 big-endian), the method and the
 * request bytes. A request id retried with the same method and bytes gets
 * the original receipt; anything else under that id is another request.
 */
void cb_bank_request_hash(const char *method, const uint8_t *request,
    size_t len, uint8_t out[CB_HASH_LEN]);

/* cb_refusal_name names a refusal ("REFUSAL_ROOM_FULL"). */
const char *cb_refusal_name(int refusal);

#endif
