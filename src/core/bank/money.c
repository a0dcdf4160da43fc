/*
 * Money and gifts of time. Cash a family pays goes into the fund and off
 * what it owes; supplies (each with a memo and a receipt reference) are
 * bought from the fund and never for more than it holds; a family may give
 * minutes it has to another family, up to the policy's cap per gift (a cap
 * of 0 means none).
 */
#include <stdio.h>
#include <string.h>

#include "bank_int.h"

#define R(n) CAREBANK__V1__REFUSAL__REFUSAL_##n

/* rule_record_cash takes cash from a family (even one that has left). */
int
rule_record_cash(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__RecordCashRequest *r = (const void *)req;
	family_state *f;
	move_state *mv;
	char key[KEY_MAX];
	int rc;

	if (r->amount_fen <= 0)
		return bank_refuse(b, R(AMOUNT_NOT_POSITIVE),
		    "an amount of cash is more than 0 fen");
	if ((rc = bank_text(b, "receipt reference", r->receipt, 0,
		 TEXT_MAX)) != 0)
		return rc;
	/* A family that has left may still pay what it owes. */
	rc = st_get(b, bank_key(key, "f/%s", r->family),
	    &carebank__v1__family_state__descriptor, &f);
	if (rc == CB_ENOTFOUND || strchr(r->family, '/') != NULL)
		return bank_refuse(b, R(UNKNOWN_FAMILY),
		    "there is no family %s here", r->family);
	if (rc != 0)
		return rc;
	if ((rc = bank_post(b, bank_account(b, r->family, "owed"), UNIT_FEN,
		 -r->amount_fen)) != 0 ||
	    (rc = bank_post(b, "centre/fund", UNIT_FEN, r->amount_fen)) != 0)
		return rc;
	mv = bank_move(b, r->family);
	mv->amount = r->amount_fen;
	b->what = cb_arena_printf(b->arena, "cash received, receipt %s",
	    r->receipt);
	if ((rc = bank_balance(b, "centre/fund", &b->op->result.fund_fen)))
		return rc;
	return bank_set_result_family(b, r->family);
}

/* rule_buy_supplies spends from the fund. */
int
rule_buy_supplies(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__BuySuppliesRequest *r = (const void *)req;
	move_state *mv;
	int64_t fund;
	int rc;

	if (r->amount_fen <= 0)
		return bank_refuse(b, R(AMOUNT_NOT_POSITIVE),
		    "a purchase costs more than 0 fen");
	if ((rc = bank_text(b, "memo", r->memo, 1, TEXT_MAX)) != 0 ||
	    (rc = bank_text(b, "receipt reference", r->receipt, 1,
		 TEXT_MAX)) != 0 ||
	    (rc = bank_balance(b, "centre/fund", &fund)) != 0)
		return rc;
	if (fund < r->amount_fen)
		return bank_refuse(b, R(FUND_TOO_SMALL),
		    "the fund holds %lld fen, less than %lld",
		    (long long)fund, (long long)r->amount_fen);
	if ((rc = bank_post(b, "centre/fund", UNIT_FEN, -r->amount_fen)) != 0 ||
	    (rc = bank_post(b, "centre/supplies", UNIT_FEN, r->amount_fen)) !=
		0)
		return rc;
	mv = bank_move(b, "");
	mv->amount = r->amount_fen;
	b->what = cb_arena_printf(b->arena, "supplies: %s (receipt %s)",
	    r->memo, r->receipt);
	return bank_balance(b, "centre/fund", &b->op->result.fund_fen);
}

/* rule_donate gives minutes from one family to another. */
int
rule_donate(struct bank *b, const ProtobufCMessage *req)
{
	const Carebank__V1__DonateRequest *r = (const void *)req;
	family_state *from, *to;
	move_state *mv;
	int64_t bal, cap = b->policy->donation_cap_minutes;
	int rc;

	if (r->minutes <= 0)
		return bank_refuse(b, R(AMOUNT_NOT_POSITIVE),
		    "a gift is more than 0 minutes");
	if ((rc = bank_family(b, r->from_family, &from)) != 0 ||
	    (rc = bank_family(b, r->to_family, &to)) != 0)
		return rc;
	if (strcmp(r->from_family, r->to_family) == 0)
		return bank_refuse(b, R(SAME_FAMILY),
		    "a family cannot give minutes to itself");
	if (cap != 0 && r->minutes > cap)
		return bank_refuse(b, R(DONATION_CAP),
		    "a gift is at most %lld minutes here", (long long)cap);
	if ((rc = bank_balance(b, bank_account(b, r->from_family, "minutes"),
		 &bal)) != 0)
		return rc;
	if (bal < r->minutes)
		return bank_refuse(b, R(INSUFFICIENT_MINUTES),
		    "family %s has %lld minutes to give, not %lld",
		    r->from_family, (long long)(bal > 0 ? bal : 0),
		    (long long)r->minutes);
	if ((rc = bank_post(b, bank_account(b, r->from_family, "minutes"),
		 UNIT_MINUTES, -r->minutes)) != 0 ||
	    (rc = bank_post(b, bank_account(b, r->to_family, "minutes"),
		 UNIT_MINUTES, r->minutes)) != 0)
		return rc;
	mv = bank_move(b, r->from_family);
	mv->amount = r->minutes;
	mv->to_family = r->to_family;
	if ((rc = bank_minutes_out(b, r->from_family, &mv->prev_out)) != 0)
		return rc;
	b->what = cb_arena_printf(b->arena, "gift of %lld minutes, %s to %s",
	    (long long)r->minutes, r->from_family, r->to_family);
	return bank_set_result_family(b, r->from_family);
}
