/*
 * The kiosk's screens, laid out for a small terminal (80 columns, about 24
 * lines): a title line with the centre and the time, then the content, then
 * the keys. Each screen is built as lines and drawn whole by term.c. Times
 * are shown in the kiosk's local time, minutes as hours and minutes, money
 * in yuan with two decimals, computed from whole fen without floating
 * point, as the bank does.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kiosk.h"
#include "queue.h"

/* A screen being built. */
struct lines {
	char l[KIOSK_LINES][KIOSK_LINE];
	size_t n;
};

/* add appends a formatted line, if there is room. Names and messages come
 * from the server: their control characters show as '?', so that none
 * acts on the terminal (the screen's own sequences are term.c's). */
static void __attribute__((format(printf, 2, 3)))
add(struct lines *s, const char *fmt, ...)
{
	va_list ap;

	if (s->n == KIOSK_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(s->l[s->n], KIOSK_LINE, fmt, ap);
	va_end(ap);
	cbt_unctrl(s->l[s->n++]);
}

/* rule adds a line of c across the screen. */
static void
rule(struct kiosk *k, struct lines *s, char c)
{
	int cols = term_cols(k->t);

	if (s->n == KIOSK_LINES)
		return;
	memset(s->l[s->n], c, (size_t)cols);
	s->l[s->n++][cols] = '\0';
}

/* wrapped adds text as lines that fit the screen, broken at spaces. */
static void
wrapped(struct kiosk *k, struct lines *s, const char *text)
{
	size_t width = (size_t)term_cols(k->t) - 3;

	while (strlen(text) > width) {
		size_t cut = width;

		while (cut > width / 2 && text[cut] != ' ')
			cut--;
		if (text[cut] != ' ')
			cut = width;
		add(s, "  %.*s", (int)cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
	add(s, "  %s", text);
}

/* screen_minutes writes m minutes as "2 h 05 min", "-45 min". */
void
screen_minutes(int64_t m, char *buf, size_t len)
{
	uint64_t a = m < 0 ? 0 - (uint64_t)m : (uint64_t)m;

	if (a >= 60)
		snprintf(buf, len, "%s%" PRIu64 " h %02" PRIu64 " min",
		    m < 0 ? "-" : "", a / 60, a % 60);
	else
		snprintf(buf, len, "%s%" PRIu64 " min", m < 0 ? "-" : "", a);
}

/* screen_money writes fen as yuan: "33.33 yuan", "-10.00 yuan". */
void
screen_money(int64_t fen, char *buf, size_t len)
{
	uint64_t a = fen < 0 ? 0 - (uint64_t)fen : (uint64_t)fen;

	snprintf(buf, len, "%s%" PRIu64 ".%02" PRIu64 " yuan",
	    fen < 0 ? "-" : "", a / 100, a % 100);
}

/* screen_time writes a time: "09:12" today, else "Tue 14 May 09:12". */
void
screen_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000), now = (time_t)(kiosk_now_ms() / 1000);
	struct tm tm, today;

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    localtime_r(&now, &today) == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
		strftime(buf, len, "%H:%M", &tm);
	else
		strftime(buf, len, "%a %d %b %H:%M", &tm);
}

/* screen_room names a room by its label, or gives its id back. */
const char *
screen_room(const struct kiosk *k, const char *id)
{
	for (size_t i = 0; i < k->nrooms; i++)
		if (strcmp(k->rooms[i].id, id) == 0)
			return k->rooms[i].label;
	return id;
}

/* title adds the title line and a rule. */
static void
title(struct kiosk *k, struct lines *s)
{
	char left[KIOSK_LINE], clock[32];
	time_t now = (time_t)(kiosk_now_ms() / 1000);
	struct tm tm;
	int cols = term_cols(k->t), pad;

	snprintf(left, sizeof(left), " carebank . %s%s%s", k->o.centre,
	    k->label[0] ? " . " : "", k->label);
	clock[0] = '\0';
	if (localtime_r(&now, &tm) != NULL)
		strftime(clock, sizeof(clock), "%a %d %b %H:%M ", &tm);
	pad = cols - (int)strlen(left) - (int)strlen(clock);
	add(s, "%s%*s%s", left, pad > 1 ? pad : 1, "", clock);
	rule(k, s, '=');
}

/* news adds the state of the connection and the queue, and the banners. */
static void
news(struct kiosk *k, struct lines *s)
{
	size_t pending = k->q != NULL ? queue_pending(k->q) : 0;

	if (k->offline) {
		add(s,
		    "  OFFLINE: the server cannot be reached. The kiosk keeps");
		add(s,
		    "  working and sends what you do when the server is back.");
	}
	if (pending > 0)
		add(s, "  %zu action%s waiting to be sent.", pending,
		    pending == 1 ? " is" : "s are");
	for (size_t i = 0; i < sizeof(k->banner) / sizeof(k->banner[0]); i++)
		if (k->banner[i][0] != '\0')
			add(s, "  %s", k->banner[i]);
}

/* screen_idle draws the welcome screen. */
void
screen_idle(struct kiosk *k)
{
	struct lines s = {.n = 0};

	title(k, &s);
	add(&s, "%s", "");
	add(&s, "  Welcome!");
	add(&s, "%s", "");
	add(&s,
	    "  Scan your card, or type your member code, then press Enter.");
	add(&s, "%s", "");
	news(k, &s);
	add(&s, "%s", "");
	add(&s, "  > ");
	term_draw(k->t, s.l, s.n);
}

/* screen_prompt draws a question and leaves the cursor at its answer. */
void
screen_prompt(
    struct kiosk *k, const char *head, const char *hint, const char *prompt)
{
	struct lines s = {.n = 0};

	title(k, &s);
	add(&s, "%s", "");
	add(&s, "  %s", head);
	add(&s, "%s", "");
	/* A hint may be several lines. */
	while (hint != NULL && *hint != '\0') {
		size_t n = strcspn(hint, "\n");

		add(&s, "  %.*s", (int)n, hint);
		hint += n + (hint[n] == '\n');
		if (*hint == '\0')
			add(&s, "%s", "");
	}
	add(&s, "  %s", prompt);
	term_draw(k->t, s.l, s.n);
}

/* screen_notice draws a message that stands alone (a refused PIN...). */
void
screen_notice(
    struct kiosk *k, const char *head, const char *line1, const char *line2)
{
	struct lines s = {.n = 0};

	title(k, &s);
	add(&s, "%s", "");
	add(&s, "  %s", head);
	add(&s, "%s", "");
	if (line1 != NULL)
		wrapped(k, &s, line1);
	if (line2 != NULL)
		wrapped(k, &s, line2);
	add(&s, "%s", "");
	add(&s, "  Press any key.");
	term_draw(k->t, s.l, s.n);
}

/* children adds a line per child. */
static void
children(struct kiosk *k, struct lines *s, const struct fam *f)
{
	char when[40];

	add(s, "  Children");
	for (size_t i = 0; i < f->nc; i++) {
		const struct fam_child *c = &f->c[i];

		screen_time(c->since_ms, when, sizeof(when));
		if (c->in)
			add(s, "   %-14s IN  since %s, %s%s%s", c->name, when,
			    screen_room(k, c->room),
			    c->may_collect ? "" : "  (not on your pickup list)",
			    c->pending ? "  [pending]" : "");
		else
			add(s, "   %-14s out%s%s%s%s", c->name,
			    c->since_ms > 0 ? " since " : "",
			    c->since_ms > 0 ? when : "",
			    c->may_collect ? "" : "  (not on your pickup list)",
			    c->pending ? "  [pending]" : "");
	}
	if (f->nc == 0)
		add(s, "   none");
}

/* shifts adds the adult's next shifts and the swaps offered to them. */
static void
shifts(struct kiosk *k, struct lines *s, const struct fam *f)
{
	char from[40], to[40];

	add(s, "  Your next shifts");
	for (size_t i = 0; i < f->ns; i++) {
		const struct fam_shift *x = &f->s[i];

		screen_time(x->start_ms, from, sizeof(from));
		screen_time(x->end_ms, to, sizeof(to));
		add(s, "   %s to %s, %s: %s%s%s%s", from,
		    strlen(to) > 5 ? to + strlen(to) - 5 : to,
		    screen_room(k, x->room), x->status,
		    x->swap[0] ? ", offered in swap " : "", x->swap,
		    x->pending ? "  [pending]" : "");
	}
	if (f->ns == 0)
		add(s, "   none");
	if (f->nw == 0)
		return;
	add(s, "  Swaps offered to you");
	for (size_t i = 0; i < f->nw; i++) {
		const struct fam_offer *w = &f->w[i];

		if (w->kind == CAREBANK__V1__SWAP_KIND__SWAP_KIND_EXCHANGE)
			add(s,
			    "   %s: %s asks to trade their shift %s for "
			    "your %s",
			    w->id, w->from, w->shift, w->other);
		else
			add(s, "   %s: %s asks you to cover their shift %s",
			    w->id, w->from, w->shift);
	}
}

/* waiting adds the family's actions still in the queue. */
static void
waiting(struct kiosk *k, struct lines *s, const struct fam *f)
{
	char what[128], when[40];
	bool head = false;

	for (size_t i = 0; k->q != NULL && i < queue_count(k->q); i++) {
		const struct queue_action *a = queue_at(k->q, i);

		if (a->state != QUEUE_PENDING ||
		    strcmp(a->family, f->family) != 0)
			continue;
		if (!head)
			add(s, "  Waiting to be sent (pending)");
		head = true;
		fam_describe(f, a->method, a->req, a->len, what, sizeof(what));
		screen_time(a->made_ms, when, sizeof(when));
		add(s, "   %s  %s", when, what);
	}
}

/* menu adds the keys, in two columns when the screen is wide enough. */
static void
menu(struct kiosk *k, struct lines *s, const char *items[], size_t n)
{
	int half = term_cols(k->t) / 2;

	if (half < 32) {
		for (size_t i = 0; i < n; i++)
			add(s, "  %s", items[i]);
		return;
	}
	for (size_t i = 0; i < n; i += 2)
		add(s, "  %-*.*s%s", half - 2, half - 3, items[i],
		    i + 1 < n ? items[i + 1] : "");
}

/* screen_family draws the family, the last result and the keys. */
void
screen_family(struct kiosk *k, const struct session *ss, const char *items[],
    size_t nitems)
{
	const struct fam *f = &ss->f;
	struct lines s = {.n = 0};
	char bal[40], owed[40], today[40], seen[40];

	title(k, &s);
	screen_minutes(f->minutes, bal, sizeof(bal));
	screen_money(f->owed_fen, owed, sizeof(owed));
	screen_money(f->today_fen, today, sizeof(today));
	add(&s, "  Family %s          Hello, %s",
	    f->family_name[0] ? f->family_name : f->family,
	    f->adult_name[0] ? f->adult_name : f->adult);
	add(&s, "  Balance %s    Owed %s    Charged today %s", bal, owed,
	    today);
	if (ss->offline) {
		screen_time(ss->seen_ms, seen, sizeof(seen));
		add(&s,
		    "  OFFLINE: as last seen %s; PIN not checked. What you "
		    "do now",
		    seen);
		add(&s, "  is sent later and checked by the coordinator.");
	} else if (f->pending) {
		add(&s, "  (the balance does not count what is still "
		        "waiting to be sent)");
	}
	children(k, &s, f);
	shifts(k, &s, f);
	waiting(k, &s, f);
	rule(k, &s, '-');
	for (size_t i = 0; i < ss->nmsg; i++)
		wrapped(k, &s, ss->msg[i]);
	if (ss->nmsg > 0)
		rule(k, &s, '-');
	menu(k, &s, items, nitems);
	add(&s, "  Press a key, then Enter: ");
	term_draw(k->t, s.l, s.n);
}
