/*
 * Coordinator.PreviewSettlement, on the writer. The preview is the Settle
 * rule itself, run on the caller's own signed call (a SettleRequest, the
 * same type, presented under Settle's method path: nothing is appended, so
 * the signature is never stored or re-checked against that path) inside a
 * nested request of the open batch that is always discarded. What the rule
 * would post tells the pool, what is paid, and each family's share.
 *
 * From rules 3 on each share is paid to the family's own subsidies account.
 * Before, each share is the subsidy posting just before the family's
 * buy-back posting; when the policy does not buy minutes back there is no
 * family posting to attribute a share to, so the preview turns buy-back on
 * in its own discarded copy of the centre's record (shares do not depend on
 * it) and reports no minutes bought.
 */
#include <stdio.h>
#include <string.h>

#include "carebank/arena.h"
#include "reads.h"

#define SETTLE_PATH "/carebank.v1.Coordinator/Settle"

/* A family above the surplus threshold, and what it would get. */
struct share {
	const char *family;
	int64_t surplus, share, bought;
};

/* eligible finds the families that share the pool, in id order. */
static int
eligible(struct srv_read *r, struct share **out, size_t *n)
{
	struct srv_record *fams;
	struct share *v;
	int64_t minutes, owed;
	size_t nf;
	int rc;

	*n = 0;
	if ((rc = srv_read_kind(r, 'f', &carebank__v1__family_state__descriptor,
		 &fams, &nf)) != 0)
		return rc;
	*out = v = cb_arena_alloc(r->arena, (nf ? nf : 1) * sizeof(*v));
	for (size_t i = 0; i < nf; i++) {
		const Carebank__V1__FamilyState *f = fams[i].msg;

		if (f->left)
			continue;
		if ((rc = srv_read_family_balances(r, fams[i].id, &minutes,
			 &owed)) != 0)
			return rc;
		if (minutes <= r->policy->surplus_threshold_minutes)
			continue;
		v[(*n)++] = (struct share){.family = fams[i].id,
		    .surplus = minutes - r->policy->surplus_threshold_minutes};
	}
	return 0;
}

/* force_buy_back turns buy-back on in the nested request's copy. */
static int
force_buy_back(struct srv_read *r)
{
	uint8_t buf[1024];
	size_t len;

	r->state->policy->buy_back = 1;
	len = carebank__v1__centre_state__get_packed_size(r->state);
	if (len > sizeof(buf))
		return CB_ECORRUPT;
	carebank__v1__centre_state__pack(r->state, buf);
	return r->kv.put(r->kv.ctx, "centre", 6, buf, len);
}

/* share_of finds the share of the family an account names with the given
 * last part ("/minutes"), or NULL. */
static struct share *
share_of(const char *a, const char *what, struct share *v, size_t n)
{
	const char *slash;
	size_t len;

	if (strncmp(a, "family/", 7) != 0 ||
	    (slash = strchr(a + 7, '/')) == NULL || strcmp(slash, what) != 0)
		return NULL;
	len = (size_t)(slash - a - 7);
	for (size_t k = 0; k < n; k++)
		if (strlen(v[k].family) == len &&
		    strncmp(v[k].family, a + 7, len) == 0)
			return &v[k];
	return NULL;
}

/* attribute reads each family's share and buy-back off the postings: from
 * rules 3 on a share is paid to the family's own account; before, it is
 * the centre/subsidies posting just before the family's buy-back. */
static void
attribute(const cb_entry *e, struct share *v, size_t n, bool buy_back)
{
	int64_t last = 0;

	for (size_t i = 0; i < e->n_postings; i++) {
		const cb_posting *p = e->postings[i];
		struct share *s;

		if (strcmp(p->account, "centre/subsidies") == 0)
			last = p->amount;
		else if ((s = share_of(p->account, "/subsidies", v, n)))
			s->share = p->amount;
		else if ((s = share_of(p->account, "/minutes", v, n))) {
			if (last != 0)
				s->share = last;
			s->bought = buy_back ? -p->amount : 0;
		}
	}
}

/* report fills the preview from an accepted run of the rule. */
static int
report(struct srv_read *r, const struct cb_bank_op *op, int64_t period,
    struct share *v, size_t n, bool buy_back,
    Carebank__V1__SettlementPreview *pv)
{
	Carebank__V1__SettlementState *st;
	char key[32];
	int rc;

	snprintf(key, sizeof(key), "z/%016llx", (unsigned long long)period);
	if ((rc = srv_read_key(r, key,
		 &carebank__v1__settlement_state__descriptor, &st)) != 0)
		return rc;
	pv->pool_fen = st->pool_fen;
	pv->paid_fen = st->paid_fen;
	attribute(op->entry, v, n, buy_back);
	pv->shares = (void *)srv_read_array(r, n, sizeof(**pv->shares));
	pv->n_shares = n;
	for (size_t i = 0; i < n; i++) {
		carebank__v1__settlement_share__init(pv->shares[i]);
		pv->shares[i]->family = (char *)(uintptr_t)v[i].family;
		pv->shares[i]->surplus = v[i].surplus;
		pv->shares[i]->share_fen = v[i].share;
		pv->shares[i]->minutes_bought = v[i].bought;
	}
	return 0;
}

/* run applies Settle to the nested request's views and fills pv. */
static int
run(struct srv *s, struct srv_job *j, struct srv_read *r,
    struct cb_bank_op *op, Carebank__V1__SettlementPreview *pv)
{
	const Carebank__V1__SettleRequest *q = (const void *)j->req;
	cb_signed_call call;
	struct share *v = NULL;
	struct cb_kv kv;
	bool buy_back;
	size_t n = 0;
	int rc;

	carebank__v1__signed_call__init(&call);
	if ((rc = cb_batch_next(s->batch, j->centre, &op->index)) != 0 ||
	    (rc = cb_batch_views(s->batch, j->centre, &kv)) != 0 ||
	    (rc = srv_read_bind(r, j->centre, &kv)) != 0 ||
	    (rc = eligible(r, &v, &n)) != 0)
		return rc;
	if (!(buy_back = r->policy->buy_back) && r->state->rules < 3 &&
	    (rc = force_buy_back(r)))
		return rc;
	call.key_id = (ProtobufCBinaryData){CB_KEY_ID_LEN, j->key_id};
	call.method = (char *)(uintptr_t)SETTLE_PATH;
	call.client_time_ms = j->client_ms;
	call.request = (ProtobufCBinaryData){j->len, j->bytes};
	call.signature = (ProtobufCBinaryData){CB_ED25519_SIG_LEN, j->sig};
	op->centre = j->centre;
	op->server_time_ms = r->now > s->last_ms ? r->now : s->last_ms;
	op->call = &call;
	if ((rc = cb_bank_apply(&kv, op)) != 0)
		return rc;
	if (op->refusal != 0) {
		pv->refusal = op->refusal;
		pv->message = cb_arena_strdup(r->arena, op->message);
		return 0;
	}
	return report(r, op, q->period_start_ms, v, n, buy_back, pv);
}

/* srv_preview_settlement previews Settle on the writer and keeps nothing. */
void
srv_preview_settlement(struct srv *s, struct srv_job *j)
{
	Carebank__V1__SettlementPreview pv;
	struct srv_read r = {0};
	struct cb_bank_op op = {0};
	int rc, end;

	carebank__v1__settlement_preview__init(&pv);
	if ((rc = cb_batch_request_begin(s->batch)) == 0) {
		rc = run(s, j, &r, &op, &pv);
		/* The reply is packed before the discard: it points into op. */
		if (rc == 0)
			srv_out_reply(j, &pv.base);
		end = cb_batch_request_end(s->batch, false);
		rc = rc ? rc : end;
	}
	if (rc != 0)
		srv_out_status(j, srv_status_of_code(rc),
		    "the settlement could not be previewed: %s",
		    cb_strerror(rc));
	cb_bank_op_free(&op);
	srv_read_close(&r);
}
