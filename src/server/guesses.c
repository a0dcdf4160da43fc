/*
 * The PIN failure counts of cards and member codes that nobody holds
 * (kiosk.c). They lock like an adult's count, so that the answers do not
 * tell a card someone holds from one nobody does; but they are kept here,
 * in memory, not in the store, where every mistyped or made-up code would
 * leave a record for good. Adults' counts are kept here too, beside the
 * store's, for the time the store is too full to take them. The table is
 * fixed: when it is full, the count whose last failure is the oldest gives
 * way. A restart forgets them all.
 *
 * A full table would let a flood of made-up codes push out the count of
 * one code, so that it no longer locked and the answers told it from a
 * held one. So each device (the calling key) also has a budget of wrong
 * PINs, held or not: a burst of SRV_KIOSK_BURST, then one more each
 * window / SRV_KIOSK_BURST, the window being the policy's pin_lockout_ms
 * (generic cell rate: a device's "theoretical arrival time" moves on by
 * that interval at each failure, and the device is refused while it is
 * more than a window ahead of now). Every device's failures within a
 * window then stay below 2 x SRV_KIOSK_BURST, well within the table.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebank/xalloc.h"
#include "reads.h"

#define GUESS_KEY (CB_CENTRE_ID_MAX + 4 + SRV_DIR_KEY_MAX)

struct guess {
	char key[GUESS_KEY]; /* "" when the slot is free */
	struct srv_pin_count count;
};

/* A device's budget of wrong PINs. */
struct device {
	char centre[CB_CENTRE_ID_MAX + 1];
	uint8_t key[CB_KEY_ID_LEN];
	int64_t tat; /* budget spent up to here, ms: see above */
};

struct srv_guesses {
	pthread_mutex_t mu;
	size_t n, cap;
	struct guess *slot;
	struct device *dev; /* devices with failures, unordered */
	size_t ndev, devcap;
};

/* srv_guesses_new makes an empty table of cap counts. */
struct srv_guesses *
srv_guesses_new(size_t cap)
{
	struct srv_guesses *g = cb_xcalloc(1, sizeof(*g));

	pthread_mutex_init(&g->mu, NULL);
	g->cap = cap;
	g->slot = cb_xcalloc(cap, sizeof(*g->slot));
	return g;
}

/* srv_guesses_free frees the table; NULL is allowed. */
void
srv_guesses_free(struct srv_guesses *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g->slot);
	free(g->dev);
	free(g);
}

/* find returns key's slot, or NULL; called locked. */
static struct guess *
find(struct srv_guesses *g, const char *key)
{
	for (size_t i = 0; i < g->cap; i++)
		if (g->slot[i].key[0] != '\0' &&
		    strcmp(g->slot[i].key, key) == 0)
			return &g->slot[i];
	return NULL;
}

/* srv_guesses_get copies key's count into *c: zeros when there is none. */
void
srv_guesses_get(struct srv_guesses *g, const char *key,
    struct srv_pin_count *c)
{
	struct guess *s;

	pthread_mutex_lock(&g->mu);
	s = find(g, key);
	if (s != NULL)
		*c = s->count;
	else
		memset(c, 0, sizeof(*c));
	pthread_mutex_unlock(&g->mu);
}

/* srv_guesses_put keeps *c as key's count; a count of zeros forgets it. */
void
srv_guesses_put(struct srv_guesses *g, const char *key,
    const struct srv_pin_count *c)
{
	bool forget = c->failures == 0 && c->until_ms == 0;
	struct guess *s;

	pthread_mutex_lock(&g->mu);
	if ((s = find(g, key)) == NULL && !forget) {
		/* a free slot, or the one whose last failure is oldest */
		s = &g->slot[0];
		for (size_t i = 0; i < g->cap && s->key[0] != '\0'; i++)
			if (g->slot[i].key[0] == '\0' ||
			    g->slot[i].count.last_ms < s->count.last_ms)
				s = &g->slot[i];
		if (s->key[0] == '\0')
			g->n++;
		snprintf(s->key, sizeof(s->key), "%s", key);
	}
	if (s != NULL && forget) {
		memset(s, 0, sizeof(*s));
		g->n--;
	} else if (s != NULL) {
		s->count = *c;
	}
	pthread_mutex_unlock(&g->mu);
}

/* srv_guesses_count says how many counts the table holds. */
size_t
srv_guesses_count(struct srv_guesses *g)
{
	size_t n;

	pthread_mutex_lock(&g->mu);
	n = g->n;
	pthread_mutex_unlock(&g->mu);
	return n;
}

/* device finds a device's budget; NULL if it has none. Called locked. */
static struct device *
device(struct srv_guesses *g, const char *centre, const uint8_t *key)
{
	for (size_t i = 0; i < g->ndev; i++)
		if (memcmp(g->dev[i].key, key, CB_KEY_ID_LEN) == 0 &&
		    strcmp(g->dev[i].centre, centre) == 0)
			return &g->dev[i];
	return NULL;
}

/* interval is how long one failure's share of the budget lasts, in ms. */
static int64_t
interval(int64_t window_ms)
{
	return window_ms / SRV_KIOSK_BURST > 0 ? window_ms / SRV_KIOSK_BURST :
						 1;
}

/*
 * srv_guesses_kiosk_wait says how many ms the device must wait before its
 * next attempt: 0 when one more failure fits its budget. A window of 0
 * (the policy locks nothing) sets no budget.
 */
int64_t
srv_guesses_kiosk_wait(struct srv_guesses *g, const char *centre,
    const uint8_t *key, int64_t now, int64_t window_ms)
{
	struct device *d;
	int64_t wait = 0;

	if (window_ms <= 0)
		return 0;
	pthread_mutex_lock(&g->mu);
	if ((d = device(g, centre, key)) != NULL && d->tat > now)
		wait = d->tat + interval(window_ms) - window_ms - now;
	pthread_mutex_unlock(&g->mu);
	return wait > 0 ? wait : 0;
}

/* srv_guesses_kiosk_fail spends one failure of the device's budget. */
void
srv_guesses_kiosk_fail(struct srv_guesses *g, const char *centre,
    const uint8_t *key, int64_t now, int64_t window_ms)
{
	struct device *d;

	if (window_ms <= 0)
		return;
	pthread_mutex_lock(&g->mu);
	if ((d = device(g, centre, key)) == NULL) {
		/* Forget the devices whose budget is whole again. */
		size_t k = 0;

		for (size_t i = 0; i < g->ndev; i++)
			if (g->dev[i].tat > now)
				g->dev[k++] = g->dev[i];
		g->ndev = k;
		if (g->ndev == g->devcap) {
			g->devcap = g->devcap ? 2 * g->devcap : 8;
			g->dev = cb_xreallocarray(g->dev, g->devcap,
			    sizeof(*g->dev));
		}
		d = &g->dev[g->ndev++];
		memset(d, 0, sizeof(*d));
		snprintf(d->centre, sizeof(d->centre), "%s", centre);
		memcpy(d->key, key, CB_KEY_ID_LEN);
	}
	d->tat = (d->tat > now ? d->tat : now) + interval(window_ms);
	pthread_mutex_unlock(&g->mu);
}
