/*
 * Kiosk.Identify: a parent at the door scans a card or types a member
 * code, and types a PIN; the kiosk shows the family's children, balance,
 * today's charge, the parent's next shifts and the swaps offered to them.
 *
 * A worker looks the card or code up in the directory and checks the PIN
 * with scrypt (directory.c), against a dummy hash when there is no such
 * card, code or PIN, so every attempt costs the same; it wipes the PIN and,
 * on a match, builds the family's view. It does not answer. The outcome
 * goes to the writer (decide), the one place failures are counted, in its
 * batch, so guesses sent at once are still counted one by one; the answer
 * leaves only once the count is durable. A mismatch is counted and, at the
 * policy's pin_max_failures, locks for pin_lockout_ms; a match clears the
 * count; while locked every attempt is refused, right or wrong, without
 * saying which. So no guess is answered before it is counted, and a call
 * cancelled before the writer runs is neither counted nor answered.
 *
 * Failures are counted by adult for a card or code someone holds, and by
 * the lookup key for one nobody holds, so unknown cards lock like known
 * ones; a wrong PIN and an unknown card or code get the same status and
 * message after the same work. A count with no failure for pin_lockout_ms
 * is forgotten. An adult's count is kept in the directory, and in memory
 * as well (guesses.c), so that wrong PINs still lock while the store is
 * too full to keep them; the counts of cards and codes nobody holds only
 * in memory, for every mistyped code would otherwise stay in the store
 * for good. Each device (the calling key) also has a budget of wrong PINs,
 * over all cards and codes (guesses.c): one that spends it is refused,
 * whatever the PIN, until the budget refills, so a device cannot spray
 * guesses over many adults, nor flood the in-memory table to make a count
 * it holds alone give way.
 * The adult's record, L/<adult> (and the lock key of the others,
 * L/<lookup key>):
 *
 *   failures (4, big-endian) | last failure, ms (8) | locked until, ms (8)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/roster.h"
#include "carebank/xalloc.h"
#include "reads.h"

#define LOCK_LEN      20
#define GUESS_KEY_MAX (CB_CENTRE_ID_MAX + 4 + SRV_DIR_KEY_MAX)
#define PIN_MAX       64
#define CARD_MAX      64
#define CODE_MAX      32
#define NEXT_SHIFTS   10
#define MISMATCH      "the card or member code and the PIN do not match"
#define S_SCHEDULED   CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_SCHEDULED
#define S_WORKING     CAREBANK__V1__SHIFT_STATUS__SHIFT_STATUS_WORKING


/* What Identify hands from the worker to the writer. */
struct ident_job {
	struct srv_job job;             /* first: the writer sees a job */
	char lock[2 + SRV_DIR_KEY_MAX]; /* "L/" and the lock key */
	bool held;                      /* someone holds the card or code */
	bool match;
	int status;                     /* on a match: OK, view in job.reply */
	char message[160];              /* or why the family is not shown */
};

static void decide(struct srv *s, struct srv_job *j);

static const struct srv_method decide_method = {
	.path = "/carebank.v1.Kiosk/Identify",
	.request = &carebank__v1__identify_request__descriptor,
	.roles = CB_ROLES_COORDINATOR | CB_ROLES_KIOSK,
	.kind = JOB_WRITER,
	.fn = decide,
	.rpc_kind = RPC_UNARY,
};

/* lock_decode parses a lock record (absent: no failures). */
static int
lock_decode(int rc, uint8_t *buf, size_t len, struct srv_pin_count *lk)
{
	memset(lk, 0, sizeof(*lk));
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc == 0 && len != LOCK_LEN)
		rc = CB_ECORRUPT;
	if (rc == 0) {
		lk->failures = (uint32_t)srv_be_get(buf, 4);
		lk->last_ms = (int64_t)srv_be_get(buf + 4, 8);
		lk->until_ms = (int64_t)srv_be_get(buf + 12, 8);
	}
	free(buf);
	return rc;
}

/* lock_age forgets a count whose lock, or whose last failure, is old. */
static void
lock_age(struct srv_pin_count *lk, const srv_policy *p, int64_t now)
{
	if ((lk->until_ms != 0 && lk->until_ms <= now) ||
	    (lk->until_ms == 0 && now - lk->last_ms >= p->pin_lockout_ms))
		memset(lk, 0, sizeof(*lk));
}

/* exhausted refuses an attempt RESOURCE_EXHAUSTED, from the writer or a
 * worker; returns 1. */
static int
exhausted(struct srv_job *j, bool writer, const char *msg)
{
	if (writer)
		srv_out_status(j, RPC_STATUS_RESOURCE_EXHAUSTED, "%s", msg);
	else
		srv_fail(j, RPC_STATUS_RESOURCE_EXHAUSTED, "%s", msg);
	return 1;
}

/* locked refuses an attempt while the key is locked; 1 if it did. */
static int
locked(struct srv_job *j, struct srv_pin_count *lk, const srv_policy *p, int64_t now,
    bool writer)
{
	char msg[64];

	lock_age(lk, p, now);
	if (lk->until_ms <= now)
		return 0;
	snprintf(msg, sizeof(msg), "too many wrong PINs: try again in %lld min",
	    (long long)((lk->until_ms - now + 59999) / 60000));
	return exhausted(j, writer, msg);
}

/*
 * device_over refuses an attempt while the calling device has used up its
 * budget of wrong PINs (guesses.c), right PIN or wrong; 1 if it did.
 */
static int
device_over(struct srv *s, struct srv_job *j, const srv_policy *p,
    int64_t now, bool writer)
{
	int64_t wait = srv_guesses_kiosk_wait(s->guesses, j->centre, j->key_id,
	    now, p->pin_lockout_ms);
	char msg[96];

	if (wait == 0)
		return 0;
	atomic_fetch_add(&s->stats.pin_device_refusals, 1);
	snprintf(msg, sizeof(msg),
	    "too many wrong PINs at this device: try again in %lld s",
	    (long long)((wait + 999) / 1000));
	return exhausted(j, writer, msg);
}

/* check_input refuses a request that could never identify anyone. */
static int
check_input(struct srv_job *j, const Carebank__V1__IdentifyRequest *q)
{
	const char *bad = NULL;
	bool card = q->card[0] != '\0', code = q->member_code[0] != '\0';

	if (card == code)
		bad = "scan a card or type a member code (one of them)";
	else if (strlen(q->card) > CARD_MAX ||
		 strlen(q->member_code) > CODE_MAX)
		bad = "a card is at most 64 characters, a member code 32";
	else if (q->pin[0] == '\0' || strlen(q->pin) > PIN_MAX)
		bad = "type the PIN";
	if (bad == NULL)
		return 0;
	srv_fail(j, RPC_STATUS_INVALID_ARGUMENT, "%s", bad);
	return -1;
}

/* find looks a lookup key up: the adult (or "") and their record. */
static int
find(struct srv_read *r, const char *lookup, char *adult,
    struct dir_person *p)
{
	char key[2 + SRV_ID_MAX];
	uint8_t *buf;
	size_t len;
	int rc;

	adult[0] = '\0';
	memset(p, 0, sizeof(*p));
	rc = cb_snapshot_dir_get(r->snap, r->centre, lookup, strlen(lookup),
	    &buf, &len);
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (len < SRV_ID_MAX)
		snprintf(adult, SRV_ID_MAX, "%.*s", (int)len, (const char *)buf);
	free(buf);
	if (!srv_id_valid('a', adult))
		return CB_ECORRUPT;
	snprintf(key, sizeof(key), "p/%s", adult);
	rc = cb_snapshot_dir_get(r->snap, r->centre, key, strlen(key), &buf,
	    &len);
	if (rc == CB_ENOTFOUND)
		return 0; /* held but no record: no PIN, never a match */
	if (rc != 0)
		return rc;
	rc = srv_dir_decode(buf, len, p);
	cb_wipe(buf, len);
	free(buf);
	return rc;
}

/* today_charge sums what care charged the family on the local day. */
static int
today_charge(struct srv_read *r, const char *family, int64_t *fen)
{
	int64_t day = srv_day_start(r->policy, r->now);
	struct srv_record *lines;
	size_t n;
	int rc;

	if ((rc = srv_read_lines(r, family, day, day + SRV_DAY_MS - 1, &lines,
		 &n)) != 0)
		return rc;
	*fen = 0;
	/* Charges raise what is owed; payments and refunds lower it. */
	for (size_t i = 0; i < n; i++) {
		const Carebank__V1__StatementLine *l = lines[i].msg;

		if (l->fen > 0)
			*fen += l->fen;
	}
	return 0;
}

/* on_list says whether id is in a list of ids. */
static bool
on_list(char **list, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], id) == 0)
			return true;
	return false;
}

/* children fills each child's state and whether the adult may collect. */
static int
children(struct srv_read *r, const Carebank__V1__FamilyState *f,
    const char *adult, Carebank__V1__FamilyView *v)
{
	v->children = (void *)srv_read_array(r, f->n_children,
	    sizeof(**v->children));
	v->n_children = f->n_children;
	for (size_t i = 0; i < f->n_children; i++) {
		Carebank__V1__ChildView *cv = v->children[i];
		Carebank__V1__ChildState *c;
		int rc;

		if ((rc = srv_read_get(r, 'c', f->children[i],
			 &carebank__v1__child_state__descriptor, &c)) != 0)
			return rc;
		carebank__v1__child_view__init(cv);
		cv->id = f->children[i];
		cv->name = (char *)(uintptr_t)srv_read_name(r, f->children[i]);
		cv->checked_in = c->room[0] != '\0';
		cv->room = c->room;
		cv->since_ms = cv->checked_in ? c->in_ms : c->last_out_ms;
		cv->may_collect = on_list(c->authorised, c->n_authorised,
				      adult) &&
		    !on_list(c->refused, c->n_refused, adult);
	}
	return 0;
}

/* What the roster's indexes found for one adult: ids, then records. */
struct coming {
	struct srv_read *r;
	const char *adult;
	Carebank__V1__FamilyView *v;
	size_t shifts_cap, offers_cap;
};

/* next_shift adds one of the adult's shifts to come. */
static int
next_shift(void *ctx, const char *id)
{
	struct coming *c = ctx;
	Carebank__V1__ShiftState *st;
	Carebank__V1__ShiftView *sv;
	int rc;

	if ((rc = srv_read_get(c->r, 's', id,
		 &carebank__v1__shift_state__descriptor, &st)) != 0)
		return rc;
	/* Scheduled and the adult's, or being worked by the adult (from
	 * rules 5 perhaps one the adult handed on after starting it). */
	if (!(st->status == S_SCHEDULED && strcmp(st->adult, c->adult) == 0) &&
	    !(st->status == S_WORKING && strcmp(st->worker, c->adult) == 0))
		return 0; /* swapped away, worked, cancelled, or another's */
	sv = SRV_READ_PUSH(c->r, c->v->shifts, c->v->n_shifts, &c->shifts_cap);
	srv_view_shift(sv, cb_arena_strdup(c->r->arena, id), st);
	return 0;
}

/* offer adds a swap offered to the adult and waiting for an answer. */
static int
offer(void *ctx, const char *id)
{
	struct coming *c = ctx;
	Carebank__V1__SwapState *w;
	Carebank__V1__SwapView *wv;
	int rc;

	if ((rc = srv_read_get(c->r, 'w', id,
		 &carebank__v1__swap_state__descriptor, &w)) != 0)
		return rc;
	if (strcmp(w->to_adult, c->adult) != 0 ||
	    w->status != CAREBANK__V1__SWAP_STATUS__SWAP_STATUS_OFFERED)
		return 0; /* offered by the adult, or no longer waiting */
	wv = SRV_READ_PUSH(c->r, c->v->offers, c->v->n_offers, &c->offers_cap);
	srv_view_swap(wv, cb_arena_strdup(c->r->arena, id), w);
	return 0;
}

/*
 * roster fills the adult's next shifts and the swaps offered to them for
 * shifts not yet over, from the roster's indexes: the work follows what
 * the adult has coming. The shift the adult is on (on_shift, or "") is
 * among them even past its scheduled end: staying on is allowed, and it
 * is ended at the kiosk like any other.
 */
static int
roster(struct srv_read *r, const char *adult, const char *on_shift,
    Carebank__V1__FamilyView *v)
{
	struct coming c = {r, adult, v, 0, 0};
	bool seen = on_shift[0] == '\0';
	int rc;

	if ((rc = cb_roster_shifts(&r->kv, adult, r->now, next_shift, &c)))
		return rc;
	for (size_t i = 0; i < v->n_shifts && !seen; i++)
		seen = strcmp(v->shifts[i]->id, on_shift) == 0;
	if (!seen && (rc = next_shift(&c, on_shift)) != 0)
		return rc;
	if (v->n_shifts > 1)
		qsort(v->shifts, v->n_shifts, sizeof(*v->shifts),
		    srv_view_by_start);
	if (v->n_shifts > NEXT_SHIFTS)
		v->n_shifts = NEXT_SHIFTS;
	return cb_roster_swaps(&r->kv, adult, r->now, offer, &c);
}

/*
 * family_view builds what the kiosk shows an identified adult into c's
 * reply, or says in c why it cannot. Returns 0 or a storage code.
 */
static int
family_view(struct srv_read *r, const char *adult, struct ident_job *c)
{
	Carebank__V1__FamilyView v;
	Carebank__V1__AdultState *a;
	Carebank__V1__FamilyState *f;
	int rc;

	carebank__v1__family_view__init(&v);
	if ((rc = srv_read_get(r, 'a', adult,
		 &carebank__v1__adult_state__descriptor, &a)) != 0 ||
	    (rc = srv_read_get(r, 'f', a->family,
		 &carebank__v1__family_state__descriptor, &f)) != 0)
		return rc;
	if (f->left) {
		c->status = RPC_STATUS_FAILED_PRECONDITION;
		snprintf(c->message, sizeof(c->message),
		    "family %s has left the centre", a->family);
		return 0;
	}
	v.family = a->family;
	v.family_name = (char *)(uintptr_t)srv_read_name(r, a->family);
	v.adult = (char *)(uintptr_t)adult;
	v.adult_name = (char *)(uintptr_t)srv_read_name(r, adult);
	if ((rc = children(r, f, adult, &v)) != 0 ||
	    (rc = srv_read_family_balances(r, a->family, &v.minutes,
		 &v.owed_fen)) != 0 ||
	    (rc = today_charge(r, a->family, &v.today_charge_fen)) != 0 ||
	    (rc = roster(r, adult, a->on_shift, &v)) != 0)
		return rc;
	c->status = RPC_STATUS_OK;
	c->job.replylen = carebank__v1__family_view__get_packed_size(&v);
	c->job.reply = cb_xmalloc(c->job.replylen ? c->job.replylen : 1);
	carebank__v1__family_view__pack(&v, c->job.reply);
	return 0;
}

/* guess_key names a count in the in-memory table: centre and lock key
 * ("L/" and the adult, or the lookup key of a card nobody holds). */
static void
guess_key(const char *centre, const char *lock, char buf[GUESS_KEY_MAX])
{
	snprintf(buf, GUESS_KEY_MAX, "%s/%s", centre, lock);
}

/*
 * lock_get reads a failure count: an adult's from snap, or from the
 * writer's batch when snap is NULL, unless memory holds a newer one (see
 * lock_put); an unheld card's from memory.
 */
static int
lock_get(struct srv *s, struct ident_job *c, struct cb_snapshot *snap,
    struct srv_pin_count *lk)
{
	struct srv_pin_count mem;
	uint8_t *buf = NULL;
	size_t len = 0;
	char gk[GUESS_KEY_MAX];
	int rc;

	guess_key(c->job.centre, c->lock, gk);
	srv_guesses_get(s->guesses, gk, &mem);
	if (!c->held) {
		*lk = mem;
		return 0;
	}
	if (snap != NULL)
		rc = cb_snapshot_dir_get(snap, c->job.centre, c->lock,
		    strlen(c->lock), &buf, &len);
	/* A batch that an earlier write filled reads nothing more: the
	 * count is then the committed one, so the attempt is still judged
	 * and counted (in memory) as ever. */
	else if ((rc = cb_batch_dir_get(s->batch, c->job.centre, c->lock,
		      strlen(c->lock), &buf, &len)) == CB_EFULL)
		rc = cb_store_dir_get(s->store, c->job.centre, c->lock,
		    strlen(c->lock), &buf, &len);
	if ((rc = lock_decode(rc, buf, len, lk)) == 0 &&
	    (mem.last_ms > lk->last_ms ||
		(mem.last_ms == lk->last_ms && mem.failures > lk->failures)))
		*lk = mem;
	return rc;
}

/* check_pin looks the card or code up and checks the PIN; 0 or a code. */
static int
check_pin(struct srv *s, struct srv_read *r, struct srv_job *j,
    const Carebank__V1__IdentifyRequest *q, struct ident_job *c,
    char *adult)
{
	struct dir_person p;
	struct srv_pin_count lk;
	char lookup[SRV_DIR_KEY_MAX];
	uint8_t hash[DIR_HASH_LEN];
	bool card = q->card[0] != '\0';
	int rc;

	srv_dir_lookup_key(j->centre, card, card ? q->card : q->member_code,
	    lookup, hash);
	if ((rc = find(r, lookup, adult, &p)) != 0)
		return rc;
	snprintf(c->lock, sizeof(c->lock), "L/%s", adult[0] ? adult : lookup);
	c->held = adult[0] != '\0';
	if ((rc = lock_get(s, c, r->snap, &lk)) != 0)
		return rc;
	/* Already locked: no need to hash what will be refused anyway. */
	if (device_over(s, j, r->policy, r->now, false) ||
	    locked(j, &lk, r->policy, r->now, false))
		return 1;
	c->match = srv_dir_pin_check(adult[0] && p.has_pin ? &p.pin : NULL,
	    q->pin, strlen(q->pin));
	cb_wipe(&p.pin, sizeof(p.pin));
	return 0;
}

/*
 * srv_identify (Kiosk.Identify) runs on a worker: it checks the PIN and
 * builds the view, then leaves the answer to the writer (decide).
 */
void
srv_identify(struct srv *s, struct srv_job *j)
{
	Carebank__V1__IdentifyRequest *q = (void *)j->req;
	struct srv_read r = {0};
	struct ident_job *c = NULL;
	char adult[SRV_ID_MAX];
	int rc;

	if (check_input(j, q) != 0 || srv_read_open(s, j, &r) != 0)
		goto out;
	c = (struct ident_job *)srv_job_continue(j, &decide_method,
	    sizeof(*c));
	rc = check_pin(s, &r, j, q, c, adult);
	cb_wipe(q->pin, strlen(q->pin));
	cb_wipe(j->bytes, j->len);
	if (rc == 0 && c->match)
		rc = family_view(&r, adult, c);
	if (rc < 0)
		srv_read_fail(j, rc, "the directory");
	if (rc != 0)
		goto out;
	srv_queue_push(&s->write, &c->job);
	c = NULL;
out:
	cb_wipe(q->pin, strlen(q->pin));
	cb_wipe(j->bytes, j->len);
	srv_job_free(c != NULL ? &c->job : NULL);
	srv_read_close(&r);
}

/*
 * lock_put keeps a failure count: an unheld card's in memory; an adult's
 * in the writer's batch and in memory too. The batch may yet fail to
 * commit (a full store), and then memory still has the count, the newer
 * of the two by its last failure, so wrong PINs lock the card all the
 * same until a restart.
 */
static int
lock_put(struct srv *s, struct ident_job *c, const struct srv_pin_count *lk)
{
	uint8_t v[LOCK_LEN];
	char gk[GUESS_KEY_MAX];
	int rc;

	guess_key(c->job.centre, c->lock, gk);
	srv_guesses_put(s->guesses, gk, lk);
	if (!c->held)
		return 0;
	if (lk->failures == 0 && lk->until_ms == 0) {
		rc = cb_batch_dir_del(s->batch, c->job.centre, c->lock,
		    strlen(c->lock));
		return rc == CB_ENOTFOUND ? 0 : rc;
	}
	srv_be_put(v, lk->failures, 4);
	srv_be_put(v + 4, (uint64_t)lk->last_ms, 8);
	srv_be_put(v + 12, (uint64_t)lk->until_ms, 8);
	return cb_batch_dir_put(s->batch, c->job.centre, c->lock,
	    strlen(c->lock), v, sizeof(v));
}

/* srv_kiosk_forget forgets an adult's count in memory (see srv.h). */
void
srv_kiosk_forget(struct srv *s, const char *centre, const char *adult)
{
	const struct srv_pin_count none = {0};
	char lock[2 + SRV_DIR_KEY_MAX], gk[GUESS_KEY_MAX];

	snprintf(lock, sizeof(lock), "L/%s", adult);
	guess_key(centre, lock, gk);
	srv_guesses_put(s->guesses, gk, &none);
}

/* count records the outcome of one attempt in the lock record. */
static int
count(struct srv *s, struct ident_job *c, const srv_policy *p, int64_t now)
{
	struct srv_pin_count lk;
	int rc;

	if ((rc = lock_get(s, c, NULL, &lk)) != 0)
		return rc;
	if (device_over(s, &c->job, p, now, true) ||
	    locked(&c->job, &lk, p, now, true))
		return 0;
	if (c->match) {
		memset(&lk, 0, sizeof(lk));
	} else {
		lk.failures++;
		lk.last_ms = now;
		atomic_fetch_add(&s->stats.pin_failures, 1);
		srv_guesses_kiosk_fail(s->guesses, c->job.centre,
		    c->job.key_id, now, p->pin_lockout_ms);
		if (lk.failures >= (uint32_t)p->pin_max_failures) {
			lk.until_ms = now + p->pin_lockout_ms;
			atomic_fetch_add(&s->stats.pin_lockouts, 1);
		}
		srv_out_status(&c->job, RPC_STATUS_UNAUTHENTICATED, MISMATCH);
	}
	return lock_put(s, c, &lk);
}

/*
 * count_apart counts the attempt in a nested transaction of its own, as
 * every other write of the batch is made: a store too full for the count
 * then spoils that transaction alone, and the batch still reads (a retry
 * behind it finds its receipt, an Identify its count). In a batch that
 * failed already nothing more is written, and the count is kept in memory.
 */
static int
count_apart(struct srv *s, struct ident_job *c, const srv_policy *p,
    int64_t now)
{
	int rc, end;

	if ((rc = cb_batch_request_begin(s->batch)) != 0)
		return rc == CB_EFULL ? count(s, c, p, now) : rc;
	rc = count(s, c, p, now);
	end = cb_batch_request_end(s->batch, rc == 0);
	return rc != 0 ? rc : end;
}

/* decide counts the attempt in the writer's batch and sets the answer. */
static void
decide(struct srv *s, struct srv_job *j)
{
	struct ident_job *c = (struct ident_job *)j;
	struct srv_read r = {0};
	struct cb_kv kv;
	int rc;

	if ((rc = cb_batch_views(s->batch, j->centre, &kv)) == 0 &&
	    (rc = srv_read_bind(&r, j->centre, &kv)) == 0) {
		/* Memory holds the count too (lock_put): a store too full
		 * to keep it changes no answer, nor may it, or a full store
		 * would tell a held card (a count to write) from another. */
		if ((rc = count_apart(s, c, r.policy, r.now)) == CB_EFULL)
			rc = 0;
		j->full_ok = rc == 0;
	}
	if (rc != 0) {
		srv_out_status(j, srv_status_of_code(rc),
		    "cannot record the attempt: %s", cb_strerror(rc));
	} else if (j->out != OUT_NONE) {
		/* refused, or counted as a mismatch */
	} else if (!c->match) {
		/* never left unanswered: no view without the PIN */
		srv_out_status(j, RPC_STATUS_UNAUTHENTICATED, MISMATCH);
	} else if (c->status == RPC_STATUS_OK) {
		j->out = OUT_REPLY;
	} else {
		srv_out_status(j, c->status, "%s", c->message);
	}
	srv_read_close(&r);
}
