/*
 * The run's requests, built and signed before it starts. Each lane repeats
 * a cycle on its own records, in an order the rules accept, so every
 * request should succeed:
 *
 *   mixed   child in, shift start, read, cash, swap answer, child out,
 *           read, shift end, swap approve, read (7 writes, 3 reads)
 *   writes  the same without the reads
 *   cash    cash received, only (the simplest write)
 *   health  grpc.health.v1.Health/Check, unsigned
 *
 * Door calls (children, shifts, swap answers) are signed by the lane's
 * kiosk key, the desk's (cash, approvals, reads) by the coordinator's.
 * Reads rotate through a family's statement (its balance), the centre's
 * balances, the fund, who is present, and the latest checkpoint: reads
 * that need no Identify, whose PIN hash is slow on purpose. Requests are
 * made lane by lane in turn, so their time-ordered ids reach the server
 * roughly in order, as real clients' would.
 */
#include <stdlib.h>
#include <string.h>

#include "carebank/v1/service.pb-c.h"
#include "carebank/xalloc.h"
#include "bench.h"
#include "client.h"

#define C(m) "/carebank.v1.Coordinator/" m
#define K(m) "/carebank.v1.Kiosk/" m
#define A(m) "/carebank.v1.Audit/" m
#define HEALTH "/grpc.health.v1.Health/Check"
#define READ 0xff /* a cycle slot for the next read */

static const uint8_t mixed[] = {OP_CHILD_IN, OP_SHIFT_START, READ, OP_CASH,
    OP_SWAP_ANSWER, OP_CHILD_OUT, READ, OP_SHIFT_END, OP_SWAP_APPROVE, READ};
static const uint8_t writes[] = {OP_CHILD_IN, OP_SHIFT_START, OP_CASH,
    OP_SWAP_ANSWER, OP_CHILD_OUT, OP_SHIFT_END, OP_SWAP_APPROVE};
static const uint8_t cash[] = {OP_CASH};
static const uint8_t health[] = {OP_HEALTH};
static const uint8_t reads[] = {OP_READ_STATEMENT, OP_READ_BALANCES,
    OP_READ_FUND, OP_READ_PRESENT, OP_READ_CHECKPOINT};

/* cycle_of returns a mix's cycle. */
static const uint8_t *
cycle_of(enum bench_mix mix, size_t *n)
{
	switch (mix) {
	case MIX_MIXED:
		*n = sizeof(mixed);
		return mixed;
	case MIX_WRITES:
		*n = sizeof(writes);
		return writes;
	case MIX_CASH:
		*n = sizeof(cash);
		return cash;
	case MIX_HEALTH:
		break;
	}
	*n = sizeof(health);
	return health;
}

/* plan_cycle gives a mix's cycle length and the writes in it. */
size_t
plan_cycle(enum bench_mix mix, size_t *nwrites)
{
	size_t n;
	const uint8_t *c = cycle_of(mix, &n);

	*nwrites = 0;
	for (size_t i = 0; i < n; i++)
		if (c[i] != READ && bench_op_write(c[i]))
			(*nwrites)++;
	return n;
}

/* Where a lane is in its records. */
struct cursor {
	size_t shift, swap, read;
};

/* pack fills a write's request id and centre, and packs it. */
static void
pack(struct bench_req *q, const char *method, ProtobufCMessage *m,
    enum bench_op op, const char *centre)
{
	uint8_t id[16];

	cbt_fill_common(m, id, centre);
	bench_req_pack(q, method, m, op);
}

/* build_read makes the lane's next read. */
static void
build_read(struct bench_req *q, const struct bench_lane_ids *li,
    struct cursor *cur, const char *centre)
{
	Carebank__V1__StatementRequest sr;
	Carebank__V1__CentreRequest cr;
	uint8_t op = reads[cur->read++ % sizeof(reads)];

	carebank__v1__centre_request__init(&cr);
	cr.centre = (char *)(uintptr_t)centre;
	switch (op) {
	case OP_READ_STATEMENT:
		carebank__v1__statement_request__init(&sr);
		sr.centre = cr.centre;
		sr.family = (char *)(uintptr_t)li->family;
		bench_req_pack(q, C("GetStatement"), &sr.base, op);
		break;
	case OP_READ_BALANCES:
		bench_req_pack(q, C("Balances"), &cr.base, op);
		break;
	case OP_READ_FUND:
		bench_req_pack(q, C("Fund"), &cr.base, op);
		break;
	case OP_READ_PRESENT:
		bench_req_pack(q, C("Present"), &cr.base, op);
		break;
	default:
		bench_req_pack(q, A("GetCheckpoint"), &cr.base, op);
		break;
	}
}

/* build_door makes a kiosk's request for the lane's records. */
static void
build_door(struct bench_req *q, uint8_t op, struct bench_lane_ids *li,
    struct cursor *cur, const char *centre)
{
	Carebank__V1__ChildCheckInRequest ci;
	Carebank__V1__ChildCheckOutRequest co;
	Carebank__V1__VolunteerCheckInRequest vi;
	Carebank__V1__VolunteerCheckOutRequest vo;
	Carebank__V1__AnswerSwapRequest as;
	const int pin = CAREBANK__V1__PRESENCE__PRESENCE_PIN;

	switch (op) {
	case OP_CHILD_IN:
		carebank__v1__child_check_in_request__init(&ci);
		ci.child = li->child;
		ci.room = li->room;
		ci.adult = li->guardian;
		ci.presence = pin;
		pack(q, K("CheckInChild"), &ci.base, op, centre);
		break;
	case OP_CHILD_OUT:
		carebank__v1__child_check_out_request__init(&co);
		co.child = li->child;
		co.adult = li->guardian;
		co.presence = pin;
		pack(q, K("CheckOutChild"), &co.base, op, centre);
		break;
	case OP_SHIFT_START:
		carebank__v1__volunteer_check_in_request__init(&vi);
		vi.shift = li->vshifts[cur->shift];
		vi.adult = li->volunteer;
		vi.presence = pin;
		pack(q, K("StartShift"), &vi.base, op, centre);
		break;
	case OP_SHIFT_END:
		carebank__v1__volunteer_check_out_request__init(&vo);
		vo.shift = li->vshifts[cur->shift++];
		vo.adult = li->volunteer;
		vo.presence = pin;
		pack(q, K("EndShift"), &vo.base, op, centre);
		break;
	default:
		carebank__v1__answer_swap_request__init(&as);
		as.swap = li->swaps[cur->swap];
		as.adult = li->taker;
		as.accept = true;
		pack(q, K("AnswerSwap"), &as.base, op, centre);
		break;
	}
}

/* build_desk makes a coordinator's write for the lane's records. */
static void
build_desk(struct bench_req *q, uint8_t op, struct bench_lane_ids *li,
    struct cursor *cur, const char *centre)
{
	Carebank__V1__RecordCashRequest rc;
	Carebank__V1__ApproveSwapRequest ap;

	if (op == OP_CASH) {
		carebank__v1__record_cash_request__init(&rc);
		rc.family = li->family;
		rc.amount_fen = 2000;
		rc.receipt = "bench";
		pack(q, C("RecordCash"), &rc.base, op, centre);
		return;
	}
	carebank__v1__approve_swap_request__init(&ap);
	ap.swap = li->swaps[cur->swap++];
	ap.approve = true;
	pack(q, C("ApproveSwap"), &ap.base, op, centre);
}

/* is_door says whether an op is a kiosk's. */
static bool
is_door(uint8_t op)
{
	return op == OP_CHILD_IN || op == OP_CHILD_OUT ||
	       op == OP_SHIFT_START || op == OP_SHIFT_END ||
	       op == OP_SWAP_ANSWER;
}

/* plan_build makes per_lane requests for each lane and signs them. */
void
plan_build(enum bench_mix mix, const struct bench_setup *st,
    const struct cb_key *coord, const char *centre, size_t per_lane,
    struct bench_plan *p)
{
	struct cursor *cur = cb_xcalloc(st->lanes ? st->lanes : 1,
	    sizeof(*cur));
	int64_t t0 = rpcc_now_ns(), now = bench_wall_ms();
	size_t ncycle;
	const uint8_t *cycle = cycle_of(mix, &ncycle);

	memset(p, 0, sizeof(*p));
	/* Lanes start their reads at different places in the rotation. */
	for (size_t i = 0; i < st->lanes; i++)
		cur[i].read = i;
	p->lanes = st->lanes;
	p->lane = cb_xcalloc(p->lanes ? p->lanes : 1, sizeof(*p->lane));
	p->n = cb_xcalloc(p->lanes ? p->lanes : 1, sizeof(*p->n));
	for (size_t i = 0; i < p->lanes; i++)
		p->lane[i] = cb_xcalloc(per_lane ? per_lane : 1,
		    sizeof(struct bench_req));
	for (size_t k = 0; k < per_lane; k++) {
		for (size_t i = 0; i < p->lanes; i++) {
			struct bench_req *q = &p->lane[i][k];
			uint8_t op = cycle[k % ncycle];
			struct bench_lane_ids *li = mix == MIX_HEALTH ? NULL :
									&st->ids[i];

			if (op == OP_HEALTH) {
				bench_req_pack(q, HEALTH, NULL, OP_HEALTH);
			} else if (op == READ) {
				build_read(q, li, &cur[i], centre);
				bench_req_sign(q, coord, centre, now);
			} else if (is_door(op)) {
				build_door(q, op, li, &cur[i], centre);
				bench_req_sign(q, st->kiosk[i % st->kiosks],
				    centre, now);
			} else {
				build_desk(q, op, li, &cur[i], centre);
				bench_req_sign(q, coord, centre, now);
			}
			p->n[i]++;
			p->total++;
		}
	}
	free(cur);
	p->seconds = (double)(rpcc_now_ns() - t0) / 1e9;
}

/* plan_free frees every request. */
void
plan_free(struct bench_plan *p)
{
	for (size_t i = 0; i < p->lanes; i++) {
		for (size_t k = 0; k < p->n[i]; k++)
			bench_req_clear(&p->lane[i][k]);
		free(p->lane[i]);
	}
	free(p->lane);
	free(p->n);
}
