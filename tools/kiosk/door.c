/*
 * A parent's visit to the kiosk: the PIN (a star per key, wiped once sent),
 * Identify, then the family screen, where each possible action has one key,
 * until the parent presses 0 or Esc, or leaves the kiosk alone for the idle
 * time. When the server cannot be reached, the card or code is accepted
 * without its PIN (the server cannot check it) and the family comes from the
 * view cache; everything done is then kept pending, marked offline, and the
 * coordinator reviews it. Offline, the kiosk still refuses to hand a child
 * to an adult who was not on the child's pickup list when last seen.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"
#include "kiosk.h"
#include "queue.h"

#define ITEMS_MAX 34
#define NOTICE_MS 15000
#define HOUR_MS   (3600 * 1000)
#define SCAN_GAP_MS 35 /* a scanner types faster than this per key */

static const char keys[] = "123456789abcdefghijklmnoprstuvwxyz";

/* An entry of the family screen's menu. */
struct item {
	struct act a;
	char label[96];
};

/* keep notes the line term_choice or term_any_key read for a new visit. */
static int
keep(struct kiosk *k, int key)
{
	if (key == TERM_ARRIVAL)
		k->arrival.ready = k->arrival.line[0] != '\0';
	return key;
}

/*
 * choice reads a choice: one key, then Enter (term_choice). A line typed
 * instead, the next parent's card or code, ends this visit and is kept to
 * start the next: TERM_ARRIVAL.
 */
static int
choice(struct kiosk *k, int timeout_ms)
{
	return keep(k, term_choice(k->t, timeout_ms, &k->arrival));
}

/* notice shows a message until a key or a while: 1, or <0 to stop. */
static int
notice(struct kiosk *k, const char *head, const char *l1, const char *l2)
{
	int key;

	screen_notice(k, head, l1, l2);
	key = keep(k, term_any_key(k->t, NOTICE_MS, &k->arrival));
	return key == TERM_EOF || key == TERM_QUIT ? key : 1;
}

/*
 * identify asks the server who this is, and wipes the PIN. Returns 0 (s
 * is filled), 1 (refused, and said), 2 (no server), or <0 to stop.
 */
static int
identify(
    struct kiosk *k, struct session *s, bool card, const char *value, char *pin)
{
	Carebank__V1__IdentifyRequest q;
	struct cbt_reply r;
	uint8_t *buf;
	size_t len;
	int rc = 1;

	carebank__v1__identify_request__init(&q);
	/* Not again so soon after the server was found gone: a parent would
	 * wait for each try. And the server's view counts what the queue
	 * holds only once that is sent, so send it first. */
	if ((k->offline && !sync_try_due(k)) ||
	    (queue_pending(k->q) > 0 && sync_run(k) == SYNC_OFFLINE)) {
		cb_wipe(pin, strlen(pin));
		return 2;
	}
	q.centre = (char *)(uintptr_t)k->o.centre;
	q.card = card ? (char *)(uintptr_t)value : q.card;
	q.member_code = card ? q.member_code : (char *)(uintptr_t)value;
	q.pin = pin;
	buf = cbt_pack(&q.base, &len);
	cb_wipe(pin, strlen(pin));
	cbt_call_bytes(k->cbt, KIOSK_METHOD("Identify"), buf, len, &r);
	cb_freezero(buf, len);
	switch (r.status) {
	case 0:
		k->offline = false;
		if (fam_from_bytes(r.body, r.len, &s->f) != 0) {
			rc = notice(k, "This family cannot be shown.",
			    "Please see the staff.", NULL);
			break;
		}
		fam_overlay(&s->f, k->q);
		if (views_put(k->views, s->key, &s->f) != 0)
			kiosk_log("cannot save the family cache");
		rc = 0;
		break;
	case 14: /* UNAVAILABLE */
	case 4:  /* DEADLINE_EXCEEDED */
		sync_went_offline(k, r.message);
		rc = 2;
		break;
	case 16: /* UNAUTHENTICATED: the PIN, or the kiosk's own signature */
		if (strstr(r.message, "do not match") != NULL)
			rc = notice(k,
			    "The card or member code and the PIN "
			    "do not match.",
			    "Please try again, or ask the staff.", NULL);
		else
			rc = notice(k, "The server does not accept this kiosk.",
			    r.message,
			    "Please tell the staff (the kiosk's clock or "
			    "key).");
		break;
	case 8: /* RESOURCE_EXHAUSTED: locked, or the server is short */
		if (strstr(r.message, "too many wrong PINs") != NULL) {
			rc = notice(k, "PIN LOCKED: too many wrong PINs.",
			    r.message,
			    "Try again later, or ask the coordinator.");
			break;
		}
		/* It cannot serve the door now (a passing shortage): the
		 * door works as when it is away, and tries it again soon. */
		sync_went_offline(k, r.message);
		rc = 2;
		break;
	default:
		rc = notice(k, "You cannot be served here now.", r.message,
		    "Please see the staff.");
		break;
	}
	free(r.body);
	return rc;
}

/* offline_identify takes the family from the cache; 0, 1, or <0. */
static int
offline_identify(struct kiosk *k, struct session *s)
{
	if (views_get(k->views, s->key, &s->f, &s->seen_ms) != 0)
		return notice(k, "The server cannot be reached.",
		    "This card or code has not been used at this kiosk "
		    "before, so the kiosk cannot tell whose it is.",
		    "Please see the staff.");
	s->offline = true;
	fam_overlay(&s->f, k->q);
	return 0;
}

/* add_item adds a menu entry. */
static void __attribute__((format(printf, 4, 5)))
add_item(struct item *it, size_t *n, const struct act *a, const char *fmt, ...)
{
	va_list ap;
	char what[80];

	if (*n == ITEMS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	it[*n].a = *a;
	snprintf(it[*n].label, sizeof(it[*n].label), "%c  %s", keys[*n], what);
	(*n)++;
}

/* shift_items adds the actions of the adult's shifts. */
static void
shift_items(const struct fam *f, struct item *it, size_t *n)
{
	int64_t now = kiosk_now_ms();
	char when[40];
	bool can_offer = false;

	for (size_t i = 0; i < f->ns; i++) {
		const struct fam_shift *x = &f->s[i];
		struct act a = {.kind = ACT_SHIFT_START};

		snprintf(a.shift, sizeof(a.shift), "%s", x->id);
		screen_time(x->start_ms, when, sizeof(when));
		if (strcmp(x->status, "working") == 0) {
			a.kind = ACT_SHIFT_END;
			add_item(it, n, &a, "End your shift (%s)", when);
		} else if (strcmp(x->status, "scheduled") == 0 &&
		           now >= x->start_ms - HOUR_MS && now < x->end_ms) {
			add_item(it, n, &a, "Start your shift (%s)", when);
		}
		if (x->swap[0] != '\0' && strcmp(x->swap, "pending") != 0) {
			a.kind = ACT_SWAP_WITHDRAW;
			snprintf(a.swap, sizeof(a.swap), "%s", x->swap);
			add_item(it, n, &a, "Withdraw your offer of %s", when);
		} else if (strcmp(x->status, "scheduled") == 0 &&
		           x->swap[0] == '\0') {
			can_offer = true;
		}
	}
	if (can_offer) {
		struct act a = {.kind = ACT_SWAP_OFFER};

		add_item(it, n, &a, "Offer a shift to another parent");
	}
}

/* items builds the family screen's menu. */
static size_t
items(const struct fam *f, struct item *it)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nc; i++) {
		struct act a = {
		    .kind = f->c[i].in ? ACT_CHILD_OUT : ACT_CHILD_IN};

		snprintf(a.child, sizeof(a.child), "%s", f->c[i].id);
		add_item(it, &n, &a, "Check %s %s", f->c[i].name,
		    f->c[i].in ? "out" : "in");
	}
	shift_items(f, it, &n);
	for (size_t i = 0; i < f->nw; i++) {
		struct act a = {.kind = ACT_SWAP_ACCEPT};

		snprintf(a.swap, sizeof(a.swap), "%s", f->w[i].id);
		add_item(it, &n, &a, "Accept swap %s", f->w[i].id);
		a.kind = ACT_SWAP_DECLINE;
		add_item(it, &n, &a, "Decline swap %s", f->w[i].id);
	}
	return n;
}

/* id_ok says whether a typed id looks like a bank id ("a7", "r2"). */
static bool
id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n >= FAM_ID || s[0] < 'a' || s[0] > 'z')
		return false;
	return strspn(s + 1, "0123456789") == n - 1;
}

/* ask_id asks for an id; 1 with it in out, 0 cancelled, <0 to stop. */
static int
ask_id(struct kiosk *k, const char *head, const char *hint, char *out)
{
	char line[FAM_ID + 8];
	int rc;

	for (;;) {
		screen_prompt(k, head, hint, "> ");
		rc = term_line(k->t, line, sizeof(line), (int)k->idle_s * 1000,
		    false, NULL);
		if (rc != 1)
			return rc == TERM_EOF || rc == TERM_QUIT ? rc : 0;
		if (id_ok(line)) {
			memcpy(out, line, strlen(line) + 1);
			return 1;
		}
		hint = "That is not a number from the roster (a letter and "
		       "digits, like a7). Esc cancels.";
	}
}

/* pick shows numbered choices; 1 with *i chosen, 0 cancelled, <0 stop. */
static int
pick(struct kiosk *k, const char *head, char lines[][96], size_t n, size_t *i)
{
	char hint[9 * 100] = "";
	int key;

	for (size_t j = 0; j < n && j < 9; j++) {
		size_t used = strlen(hint);

		snprintf(hint + used, sizeof(hint) - used, "%s%zu  %s",
		    j ? "\n" : "", j + 1, lines[j]);
	}
	screen_prompt(
	    k, head, hint, "Press a number, then Enter (Esc cancels): ");
	key = choice(k, (int)k->idle_s * 1000);
	if (key == TERM_EOF || key == TERM_QUIT || key == TERM_ARRIVAL)
		return key;
	if (key < '1' || key > '9' || (size_t)(key - '1') >= n)
		return 0;
	*i = (size_t)(key - '1');
	return 1;
}

/* choose_room fills a check-in's room; 1, 0 cancelled, <0 to stop. */
static int
choose_room(struct kiosk *k, struct act *a)
{
	char lines[KIOSK_ROOMS_MAX][96];
	size_t i;
	int rc;

	if (k->nrooms == 1) {
		memcpy(a->room, k->rooms[0].id, sizeof(a->room));
		return 1;
	}
	if (k->nrooms == 0)
		return ask_id(k, "Which room?",
		    "Type the room's number, as on its door (like r1).",
		    a->room);
	for (i = 0; i < k->nrooms; i++)
		snprintf(lines[i], sizeof(lines[i]), "%s", k->rooms[i].label);
	if ((rc = pick(k, "Which room?", lines, k->nrooms, &i)) != 1)
		return rc;
	memcpy(a->room, k->rooms[i].id, sizeof(a->room));
	return 1;
}

/* choose_offer fills a swap offer: which shift, and to whom. */
static int
choose_offer(struct kiosk *k, const struct fam *f, struct act *a)
{
	char lines[FAM_SHIFTS][96], when[40];
	size_t idx[FAM_SHIFTS], n = 0, i;
	int rc;

	for (i = 0; i < f->ns; i++)
		if (strcmp(f->s[i].status, "scheduled") == 0 &&
		    f->s[i].swap[0] == '\0') {
			screen_time(f->s[i].start_ms, when, sizeof(when));
			snprintf(lines[n], sizeof(lines[n]), "%s", when);
			idx[n++] = i;
		}
	if ((rc = pick(k, "Which shift do you offer?", lines, n, &i)) != 1)
		return rc;
	memcpy(a->shift, f->s[idx[i]].id, sizeof(a->shift));
	return ask_id(k, "Who do you ask to cover it?",
	    "Type their number from the roster (like a7), then Enter.",
	    a->to_adult);
}

/* choose completes an action with what the parent picks; 1 to run it. */
static int
choose(struct kiosk *k, struct session *s, struct act *a)
{
	s->nmsg = 0;
	if (a->kind == ACT_CHILD_IN)
		return choose_room(k, a);
	if (a->kind == ACT_SWAP_OFFER)
		return choose_offer(k, &s->f, a);
	return 1;
}

/* family runs the family screen until the parent is done; 0 or <0. */
static int
family(struct kiosk *k, struct session *s)
{
	struct item *it = cb_xcalloc(ITEMS_MAX, sizeof(*it));
	const char *labels[ITEMS_MAX + 1];
	size_t n = 0;
	bool redraw = true;
	int key, rc = 0;

	for (;;) {
		if (redraw) {
			n = items(&s->f, it);
			for (size_t i = 0; i < n; i++)
				labels[i] = it[i].label;
			labels[n] = "0  Finished";
			screen_family(k, s, labels, n + 1);
		}
		redraw = false;
		key = choice(k, (int)k->idle_s * 1000);
		if (key == TERM_EOF || key == TERM_QUIT) {
			rc = key;
			break;
		}
		if (key == TERM_ARRIVAL || key == TERM_TIMEOUT || key == '0' ||
		    key == TERM_ESC)
			break;
		for (size_t i = 0; i < n; i++) {
			struct act a;

			if (keys[i] != key)
				continue;
			a = it[i].a;
			rc = choose(k, s, &a);
			if (rc == 1) {
				act_run(k, s, &a);
				/* Keys pressed while it ran were pressed at
				 * the menu before it: it has changed. */
				term_flush(k->t);
			}
			redraw = true;
			break;
		}
		if (rc < 0)
			break;
		rc = 0;
	}
	free(it);
	return rc;
}

/*
 * door_card says whether a line is a scanned card (its value after the
 * card prefix) or a typed code.
 */
bool
door_card(const struct kiosk *k, char *line, const struct term_typed *typed,
    const char **value)
{
	size_t n = strlen(k->card_prefix);

	*value = line;
	if (n > 0) {
		if (strncmp(line, k->card_prefix, n) != 0)
			return false;
		*value = line + n;
		return true;
	}
	/* No prefix set: a scanner types a whole line in a burst. */
	return typed->n >= 4 && typed->max_gap_ms < SCAN_GAP_MS;
}

/*
 * door_visit serves the parent who scanned a card (card) or typed a member
 * code. Returns 0 when the kiosk should go back to idle, or TERM_EOF or
 * TERM_QUIT when it should stop.
 */
int
door_visit(struct kiosk *k, bool card, const char *value)
{
	struct session *s = cb_xcalloc(1, sizeof(*s));
	/* As long as a card with its prefix: one may come here instead. */
	char pin[sizeof(k->arrival.line)];
	struct term_typed typed;
	const char *next;
	int rc;

	screen_prompt(k, card ? "Card read." : "Member code typed.",
	    "Type your PIN and press Enter. Esc cancels.", "PIN: ");
	rc = term_line(
	    k->t, pin, sizeof(pin), (int)k->idle_s * 1000, true, &typed);
	if (rc == 1 && k->card_prefix[0] != '\0' &&
	    door_card(k, pin, &typed, &next)) {
		/* No PIN but a card (its prefix tells), scanned at a prompt
		 * left open: the next parent's. Nothing is asked with the
		 * last one's. Without a prefix a PIN typed fast would look
		 * like a card, so the line is a PIN. */
		snprintf(k->arrival.line, sizeof(k->arrival.line), "%s", pin);
		k->arrival.typed = typed;
		k->arrival.ready = true;
		rc = 0;
	} else if (rc == 1) {
		views_key(card, value, s->key);
		rc = identify(k, s, card, value, pin);
		if (rc == 2)
			rc = offline_identify(k, s);
		if (rc == 0)
			rc = family(k, s);
	}
	cb_wipe(pin, sizeof(pin));
	cb_freezero(s, sizeof(*s));
	return rc == TERM_EOF || rc == TERM_QUIT ? rc : 0;
}
